"""Does a reward model put the right step first? Its rank of the oracle's action along oracle runs.

Search with a reward model as the value (:class:`~wrappers.MCTSWrapper`) helps only where the
model scores the step that makes progress above the others on offer. This study measures that
directly, without a search: it walks the oracle's own trajectory of each episode and, at every
state, scores the oracle's next action against up to ``--others`` distinct random valid actions
(the proposer of MCTS-P's random candidates, :class:`~similar_gym.policies.RandomProposer`). For
each value (the model's mixed reward, its total, each of its five dimension estimates) it
reports how often the oracle's action comes strictly first, and the share a blind pick would
get (the mean of 1 / candidates).

With ``--greedy-episodes N`` it also plays, per task, ``N`` episodes of the model's *greedy
policy*: at every state the model scores every valid action and the best is executed
(:class:`~wrappers.MCTSWrapper` at depth 0 with :class:`~similar_gym.policies.AllValidProposer`).
Its success rate bounds what the model's values can teach or pick on their own: a dense reward
whose favourite step fails the task teaches the failure, and a search that trusts it repeats it.

Writes ``results.json`` and ``table.md`` to ``--out``.

Example::

    python -m experiments.value_rank --model default --instances 10 --out runs/value_rank
    python -m experiments.value_rank --tasks miniwob/enter-text --greedy-episodes 20
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.bench_common import non_negative_int, positive_int
from reward_model.dimensions import CODES
from reward_model.mcts_p_config import HELDOUT_TEMPLATES

#: The values ranked, in table order: the model's mixed reward, its total and the dimensions.
VALUES = ("reward", "total", *CODES)


def rank_episode(
    env: Any,
    obs: Any,
    info: dict[str, Any],
    model: Any,
    adapter: Any,
    rng: np.random.Generator,
    others: int,
) -> list[dict[str, Any]]:
    """Walks the oracle's run of the env's current episode; one row per state.

    Args:
        env: An unwrapped ``Similar/Web-v0`` env just reset (text actions).
        obs: What ``reset`` returned.
        info: Likewise.
        model: An object with ``score(contexts)``.
        adapter: Builds the candidates' contexts (:class:`~wrappers.adapters.SimilarWebAdapter`).
        rng: Draws the random candidates.
        others: Most random candidates beside the oracle's action.

    Returns:
        Per state: ``{"candidates": n, "first": {value: bool}}``.
    """
    from similar_gym.policies import RandomProposer

    propose = RandomProposer()
    rows: list[dict[str, Any]] = []
    history: list[str] = []
    while True:
        best = env.oracle_next()
        if best is None:
            break
        actions = [best]
        for a in propose(obs, info, env, rng, others + 1):
            if a != best and len(actions) <= others:
                actions.append(a)
        contexts = [
            adapter.context(obs, info, a, env.action_info(a), tuple(history), len(history))
            for a in actions
        ]
        scores = model.score(contexts)
        rows.append(
            {
                "candidates": len(actions),
                "first": {
                    v: bool(len(actions) > 1 and scores[v][0] > np.max(scores[v][1:]))
                    for v in VALUES
                },
            }
        )
        history.append(contexts[0].describe())
        obs, _r, terminated, truncated, info = env.step(best)
        if terminated or truncated:
            break
    return rows


def greedy_episode(search: Any, task: str, seed: int) -> dict[str, Any]:
    """Plays one episode of a model's greedy policy.

    Args:
        search: An :class:`~wrappers.MCTSWrapper` with depth 0 whose proposer offers every
            valid action (it executes the model's favourite; the agent's ``noop()`` is one of
            the candidates).
        task: The task id.
        seed: The instance seed.

    Returns:
        ``{"success": bool, "steps": int}``.
    """
    search.reset(seed=seed, options={"task": task})
    steps = 0
    while True:
        _obs, _r, terminated, truncated, info = search.step("noop()")
        steps += 1
        if terminated or truncated:
            return {"success": bool(info.get("success")), "steps": steps}


def summarize_greedy(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Success rate and mean length of greedy episodes (empty dict for none)."""
    if not rows:
        return {}
    return {
        "greedy_episodes": len(rows),
        "greedy_success": float(np.mean([r["success"] for r in rows])),
        "greedy_steps": float(np.mean([r["steps"] for r in rows])),
    }


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Share of states where each value ranks the oracle's action first, and a blind pick's."""
    rows = [r for r in rows if r["candidates"] > 1]
    out: dict[str, Any] = {"states": len(rows)}
    if rows:
        out["blind"] = float(np.mean([1.0 / r["candidates"] for r in rows]))
        out.update({v: float(np.mean([r["first"][v] for r in rows])) for v in VALUES})
    return out


def markdown_table(results: dict[str, Any]) -> str:
    """One row per task (and one for all), one column per value."""
    greedy = bool(results.get("greedy_episodes"))
    head = ["tasks", "states", "blind pick", *VALUES]
    head += ["greedy success %", "greedy steps"] if greedy else []
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, res in [*results["by_task"].items(), ("all", results["all"])]:
        ranked = bool(res.get("states"))  # tasks without an oracle have no states to rank
        cells = [name, str(res["states"]), f"{100 * res['blind']:.1f}" if ranked else "-"]
        cells += [f"{100 * res[v]:.1f}" if ranked else "-" for v in VALUES]
        if greedy:
            cells += [f"{100 * res['greedy_success']:.1f}", f"{res['greedy_steps']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def play_greedy(args: argparse.Namespace, model: Any) -> dict[str, list[dict[str, Any]]]:
    """Plays ``args.greedy_episodes`` greedy episodes per task; per task, their rows."""
    import gymnasium as gym
    from tqdm.auto import tqdm

    from similar_gym.policies import AllValidProposer
    from wrappers import MCTSWrapper

    kwargs = {} if args.max_steps is None else {"max_steps": args.max_steps}
    env = gym.make("Similar/Web-v0", task=list(args.tasks), **kwargs)
    search = MCTSWrapper(
        env, model=model, proposer=AllValidProposer(), num_candidates=10_000, seed=args.seed
    )
    n = args.greedy_episodes
    games = [(t, args.first_seed + i) for t in args.tasks for i in range(n)]
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in args.tasks}
    try:
        for task, seed in tqdm(games, desc="greedy episodes", disable=args.quiet):
            out[task].append(greedy_episode(search, task, seed))
    finally:
        search.close()
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the study and writes its files; returns the results."""
    import gymnasium as gym
    from tqdm.auto import tqdm

    import similar_gym  # noqa: F401  (registers the envs)
    from wrappers.adapters import SimilarWebAdapter
    from wrappers.similar_reward import load_model

    model = load_model(args.model, dtype=args.dtype)
    adapter = SimilarWebAdapter()
    env = gym.make("Similar/Web-v0", task=list(args.tasks)).unwrapped
    env.capture_screenshots = True
    rng = np.random.default_rng(args.seed)
    by_task: dict[str, list] = {t: [] for t in args.tasks}
    jobs = [(t, args.first_seed + i) for t in args.tasks for i in range(args.instances)]
    try:
        for task, seed in tqdm(jobs, desc="episodes", disable=args.quiet):
            obs, info = env.reset(seed=seed, options={"task": task})
            by_task[task] += rank_episode(env, obs, info, model, adapter, rng, args.others)
    finally:
        env.close()
    greedy = play_greedy(args, model) if args.greedy_episodes else {t: [] for t in args.tasks}
    by_task_out = {t: {**summarize(r), **summarize_greedy(greedy[t])} for t, r in by_task.items()}
    results = {
        "model": args.model,
        "dtype": args.dtype,
        "others": args.others,
        "instances": args.instances,
        "first_seed": args.first_seed,
        "greedy_episodes": args.greedy_episodes,
        "max_steps": args.max_steps,
        "by_task": by_task_out,
        "all": {
            **summarize([r for rows in by_task.values() for r in rows]),
            **summarize_greedy([g for rows in greedy.values() for g in rows]),
        },
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "table.md").write_text(markdown_table(results))
    return results


def build_parser() -> argparse.ArgumentParser:
    """The study's command-line options."""
    p = argparse.ArgumentParser(
        prog="python -m experiments.value_rank", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--model", default="default", help="reward model: 'default' or a folder")
    p.add_argument(
        "--dtype", default=None, help="dtype to score in (default float32, as similar eval)"
    )
    p.add_argument("--tasks", nargs="+", default=list(HELDOUT_TEMPLATES), help="task ids")
    p.add_argument("--instances", type=positive_int, default=10, help="episodes per task")
    p.add_argument("--first-seed", type=int, default=1000, help="instance seed of episode 0")
    p.add_argument("--others", type=positive_int, default=4, help="random candidates per state")
    p.add_argument("--seed", type=int, default=0, help="seeds the random candidates")
    p.add_argument(
        "--greedy-episodes",
        type=non_negative_int,
        default=0,
        help="episodes per task of the model's greedy policy (default 0: none)",
    )
    p.add_argument(
        "--max-steps", type=positive_int, default=None, help="step limit of greedy episodes"
    )
    p.add_argument("--out", default="runs/value_rank", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: prints the table."""
    args = build_parser().parse_args(argv)
    results = run(args)
    sys.stdout.write(markdown_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
