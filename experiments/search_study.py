"""The inference-search study: a weak policy alone, with MCTSWrapper, and with a blind search.

Every condition plays the same episodes (the held-out own-suite templates, which no reward
model trained on, round-robin, instance seeds from ``--first-seed``):

* ``base``: the policy alone (default a noisy oracle, ``oracle:0.5``: the right action half of
  the time, a random valid one otherwise);
* ``search``: the same policy inside :class:`~wrappers.MCTSWrapper`; the candidates are the
  policy's action and more independent draws of the same policy (``samples:POLICY``), valued
  by the reward model (default: the shipped checkpoint);
* ``control``: the same search with a random value function (uniform draws), which shows what
  the extra candidates alone are worth;
* ``oracle-value`` (on demand): the same search valued by the task's oracle (1 for the oracle's
  next action, 0 otherwise), the ceiling a perfect reward model would reach with these
  candidates.

Writes to ``--out``: ``episodes.jsonl`` (one line per episode and condition, so an interrupted
run resumes where it stopped), ``results.json`` (success rate with a 95% Wilson interval, mean
steps, seconds per step, per task), ``table.md`` and ``success.png``.

Example::

    python -m experiments.search_study --episodes 100 --out runs/search_study
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.bench_common import positive_int
from reward_model.dimensions import CODES
from reward_model.mcts_p_config import HELDOUT_TEMPLATES
from similar_gym.files import write_text_atomic

CONDITIONS = ("base", "search", "control", "oracle-value")
#: The conditions run when ``--conditions`` is not given.
DEFAULT_CONDITIONS = ("base", "search", "control")


class RandomValueModel:
    """The control's value function: an independent uniform draw for every scored step.

    Args:
        seed: Seeds the draws.
    """

    config = type("Config", (), {"use_image": False})()

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def score(self, contexts: Sequence[Any]) -> dict[str, np.ndarray]:
        """Random values in [0, 1) for every dimension and the reward."""
        v = self.rng.random(len(contexts))
        return {**{c: v for c in CODES}, "total": v, "reward": v}


class OracleValueModel:
    """The ceiling's value function: 1 for the oracle's next action at the env's state, else 0.

    Args:
        env: The (wrapped) ``Similar/Web-v0`` env whose oracle judges.
    """

    config = type("Config", (), {"use_image": False})()

    def __init__(self, env: Any):
        self.env = env.unwrapped

    def score(self, contexts: Sequence[Any]) -> dict[str, np.ndarray]:
        """1.0 where the context's action is the oracle's next action, 0.0 elsewhere."""
        best = self.env.oracle_next()
        v = np.array([float(c.action == best) for c in contexts])
        return {**{c: v for c in CODES}, "total": v, "reward": v}


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a success rate (95% by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, mid - half), min(1.0, mid + half))


def play(env: Any, policy: Any, rng: np.random.Generator, task: str, seed: int) -> dict[str, Any]:
    """Plays one episode: ``policy`` proposes one action per step, ``env`` (maybe wrapped) acts."""
    start = time.perf_counter()
    obs, info = env.reset(seed=seed, options={"task": task})
    steps, agent_kept, success = 0, 0, False
    while True:
        action = policy(obs, info, env.unwrapped, rng, 1)[0]
        obs, _reward, terminated, truncated, info = env.step(action)
        steps += 1
        agent_kept += int(info.get("search", {}).get("chosen", 0) == 0)
        if terminated or truncated:
            success = bool(info["success"])
            break
    seconds = time.perf_counter() - start
    return {"success": success, "steps": steps, "agent_kept": agent_kept, "seconds": seconds}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Success rate (with its Wilson interval), steps and time of a list of episodes."""
    n = len(rows)
    wins = sum(r["success"] for r in rows)
    steps = sum(r["steps"] for r in rows)
    lo, hi = wilson(wins, n)
    return {
        "episodes": n,
        "success_rate": wins / n if n else 0.0,
        "ci95": [lo, hi],
        "mean_steps": steps / n if n else 0.0,
        "agent_action_kept": sum(r["agent_kept"] for r in rows) / steps if steps else 0.0,
        "seconds_per_step": sum(r["seconds"] for r in rows) / steps if steps else 0.0,
    }


def markdown_table(results: dict[str, Any], tasks: Sequence[str]) -> str:
    """Success (%) and its interval per condition, overall and per task."""
    head = ["condition", "success % (95% CI)", *tasks, "mean steps", "s/step"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, res in results["conditions"].items():
        lo, hi = res["all"]["ci95"]
        cells = [f"{100 * res['all']['success_rate']:.1f} ({100 * lo:.0f}–{100 * hi:.0f})"]
        cells += [f"{100 * res['tasks'][t]['success_rate']:.0f}" for t in tasks]
        cells += [f"{res['all']['mean_steps']:.1f}", f"{res['all']['seconds_per_step']:.3f}"]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], tasks: Sequence[str], path: Path) -> None:
    """Bars of success rate per condition, overall (with 95% intervals) and per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conds = list(results["conditions"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 2]})
    rates = [100 * results["conditions"][c]["all"]["success_rate"] for c in conds]
    ci = np.array([results["conditions"][c]["all"]["ci95"] for c in conds]) * 100
    err = np.abs(ci.T - np.array(rates))
    ax1.bar(
        conds,
        rates,
        yerr=err,
        capsize=6,
        color=["#999999", "#1f77b4", "#ff7f0e", "#2ca02c"][: len(conds)],
    )
    ax1.set_ylabel("success rate (%)")
    ax1.set_title(f"all held-out episodes ({results['conditions'][conds[0]]['all']['episodes']})")
    ax1.set_ylim(0, 100)
    width = 0.8 / len(conds)
    x = np.arange(len(tasks))
    for i, c in enumerate(conds):
        per = [100 * results["conditions"][c]["tasks"][t]["success_rate"] for t in tasks]
        ax2.bar(x + i * width - 0.4 + width / 2, per, width, label=c)
    ax2.set_xticks(x, [t.split("/")[-1] for t in tasks], rotation=15)
    ax2.set_ylim(0, 100)
    ax2.set_title("per held-out template")
    ax2.legend()
    fig.suptitle(
        f"policy {results['policy']}, {results['candidates']} candidates, depth {results['depth']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _load_done(path: Path) -> dict[tuple[str, int], dict[str, Any]]:
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                done[(row["condition"], row["episode"])] = row
    return done


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Plays every condition's episodes (resuming from ``episodes.jsonl``), writes the results."""
    import gymnasium as gym
    from tqdm import tqdm

    import similar_gym  # noqa: F401  (registers Similar/Web-v0)
    from similar_gym.policies import SampledProposer, make_proposer
    from wrappers import MCTSWrapper

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "episodes.jsonl"
    settings = {
        k: getattr(args, k)
        for k in ("policy", "candidates", "depth", "simulations", "model", "first_seed", "seed")
    }
    settings["tasks"] = list(args.tasks)
    if args.dtype != "float32":  # runs before the option existed scored in float32
        settings["dtype"] = args.dtype
    meta = out / "settings.json"
    if meta.exists() and json.loads(meta.read_text()) != settings:
        raise SystemExit(f"{out} holds a run with other settings ({meta}); use another --out")
    write_text_atomic(meta, json.dumps(settings, indent=2) + "\n")
    done = _load_done(log)

    policy = make_proposer(args.policy)
    env = gym.make("Similar/Web-v0", task=list(args.tasks))
    search_kwargs = dict(
        proposer=SampledProposer(policy, draws_per_candidate=2),
        num_candidates=args.candidates,
        depth=args.depth,
        num_simulations=args.simulations,
        seed=args.seed,
    )
    envs: dict[str, Any] = {"base": env}
    if "search" in args.conditions:
        envs["search"] = MCTSWrapper(env, model=args.model, dtype=args.dtype, **search_kwargs)
    if "control" in args.conditions:
        envs["control"] = MCTSWrapper(env, model=RandomValueModel(args.seed), **search_kwargs)
    if "oracle-value" in args.conditions:
        envs["oracle-value"] = MCTSWrapper(env, model=OracleValueModel(env), **search_kwargs)
    conds = [c for c in CONDITIONS if c in args.conditions]
    todo = [(c, i) for i in range(args.episodes) for c in conds if (c, i) not in done]
    try:
        with log.open("a", encoding="utf-8") as f:
            for cond, i in tqdm(todo, desc="episodes", unit="ep", disable=args.quiet):
                task, seed = args.tasks[i % len(args.tasks)], args.first_seed + i
                rng = np.random.default_rng([args.seed, seed])
                row = play(envs[cond], policy, rng, task, seed)
                row.update(condition=cond, episode=i, task=task, seed=seed)
                done[(cond, i)] = row
                f.write(json.dumps(row) + "\n")
                f.flush()
    finally:
        env.close()

    results: dict[str, Any] = {**settings, "conditions": {}}
    # Every condition played to the end so far (also by earlier runs into this folder).
    complete = [c for c in CONDITIONS if all((c, i) in done for i in range(args.episodes))]
    for cond in complete:
        rows = [done[(cond, i)] for i in range(args.episodes)]
        results["conditions"][cond] = {
            "all": summarize(rows),
            "tasks": {t: summarize([r for r in rows if r["task"] == t]) for t in args.tasks},
        }
    write_text_atomic(out / "results.json", json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_text_atomic(out / "table.md", markdown_table(results, args.tasks), encoding="utf-8")
    plot(results, args.tasks, out / "success.png")
    return results


def build_parser() -> argparse.ArgumentParser:
    """The study's command line."""
    p = argparse.ArgumentParser(
        prog="python -m experiments.search_study",
        description="A weak policy alone, with MCTSWrapper + a reward model, and with a "
        "random-value search, on the held-out own-suite templates.",
    )
    p.add_argument("--episodes", type=positive_int, default=100, help="episodes per condition")
    p.add_argument("--policy", default="oracle:0.5", help="the base policy (a proposer spec)")
    p.add_argument("--candidates", type=positive_int, default=5, help="candidates per step")
    p.add_argument("--depth", type=int, default=0, help="lookahead depth (0 = best-of-N)")
    p.add_argument("--simulations", type=int, default=16, help="simulations when depth > 0")
    p.add_argument("--model", default="default", help="reward model: 'default' or a folder")
    p.add_argument(
        "--dtype",
        default="float32",
        choices=("auto", "float32", "bfloat16"),
        help="dtype the model scores in (default: %(default)s, as similar eval)",
    )
    p.add_argument("--tasks", nargs="+", default=list(HELDOUT_TEMPLATES), help="task ids")
    p.add_argument("--first-seed", type=int, default=1000, help="instance seed of episode 0")
    p.add_argument("--seed", type=int, default=0, help="seeds the policy and the proposer")
    p.add_argument(
        "--conditions",
        nargs="+",
        choices=CONDITIONS,
        default=list(DEFAULT_CONDITIONS),
        help="what to run (results cover every condition played in --out)",
    )
    p.add_argument("--out", default="runs/search_study", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the study and prints its table."""
    args = build_parser().parse_args(argv)
    results = run(args)
    print(markdown_table(results, args.tasks), end="")
    print(f"wrote {Path(args.out).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
