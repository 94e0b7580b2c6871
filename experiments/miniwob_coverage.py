"""MiniWoB++ coverage of ``Similar/Web-v0``: which of the pages the ``miniwob`` package ships work.

For every MiniWoB++ task id the script plays a few seeded episodes with a random policy through
the env's public API, twice per seed (the second time as a slower agent that waits a moment
before its first action), and checks that

* ``reset`` works, the instruction is not empty and the page text view lists elements;
* the same seed gives the same instruction, and the same seed and actions give the same page
  text, rewards, terminations and screenshots (up to a few antialiased pixels, which Chromium
  renders differently now and then), however fast the agent acts;
* different seeds usually give different instances (a page that ignores the seed is noted);
* random valid actions (those ``info["valid_actions"]`` lists, plus random ``hover``,
  ``click_at``, ``drag`` and ``type``) step without an exception and inside the observation
  space;
* the outcome is read from the page: rewards lie in [-1, 1], and an episode that the page ends
  terminates with the page's reward (MiniWoB's wall-clock timer is off, so only the random
  policy ends episodes; those it does not end are noted).

Each task is then classified:

* ``broken``: a reset or step raised, the browser crashed, the instruction is empty, the page
  lists no element, a reward or observation is out of bounds;
* ``flaky``: runs of the same seed and actions differ in instruction, page text, reward,
  termination or screenshot (real-time animation, timers, clocks, drags that depend on speed);
* ``works``: everything else. Notes say what else was seen.

Writes ``miniwob_coverage.json`` and ``miniwob_coverage.md`` under ``--out``::

    python -m experiments.miniwob_coverage --seeds 3 --steps 5 --out runs/miniwob_coverage
    python -m experiments.miniwob_coverage --tasks "miniwob/click-*" --seeds 2
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import similar_gym  # noqa: F401  (registers Similar/Web-v0)
from similar_gym.actions import Action
from similar_gym.files import write_text_atomic
from similar_gym.tasks import list_miniwob_ids

WORKS, FLAKY, BROKEN = "works", "flaky", "broken"

#: Page area that MiniWoB++ tasks draw in (CSS pixels), where random coordinates land.
TASK_AREA = (160, 210)

#: Share of random actions that are hover, coordinate or typing actions rather than listed ones.
FREE_ACTION_SHARE = 0.25

#: Two screenshots show the same picture if at most ``NOISE_PIXELS`` pixels differ by more than
#: ``NOISE_LEVEL`` in a channel: Chromium now and then rasterizes antialiased edges a level or two
#: differently, and a rounded corner by more. (A text caret is 15 pixels, an icon more.)
NOISE_LEVEL = 2
NOISE_PIXELS = 8


@dataclass
class Rollout:
    """One seeded episode under the random policy.

    Attributes:
        seed: The reset seed.
        instruction: The instance's goal.
        elements: Elements the page text view listed after the reset.
        actions: The actions taken, as text.
        page_texts: The page text view after reset and after every step.
        screenshots: The screenshots, aligned with ``page_texts``.
        rewards: Reward of every step.
        terminated: Whether the page ended the episode.
        action_errors: Number of steps whose action reported an error.
        problems: Why the rollout is broken (empty if it is not).
        reset_seconds: Wall-clock time of the reset.
        step_seconds: Wall-clock time of all steps.
    """

    seed: int
    instruction: str = ""
    elements: int = 0
    actions: list[str] = field(default_factory=list)
    page_texts: list[str] = field(default_factory=list)
    screenshots: list[np.ndarray] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    terminated: bool = False
    action_errors: int = 0
    problems: list[str] = field(default_factory=list)
    reset_seconds: float = 0.0
    step_seconds: float = 0.0

    def differences(self, other: Rollout) -> list[str]:
        """Says how a rerun of the same seed differs from this rollout (empty if it does not)."""
        diffs: list[str] = []
        if self.instruction != other.instruction:
            diffs.append("different instruction")
        for what, mine, theirs, same in (
            ("page text", self.page_texts, other.page_texts, str.__eq__),
            ("screenshot", self.screenshots, other.screenshots, same_picture),
            ("reward", self.rewards, other.rewards, float.__eq__),
        ):
            step = _first_difference(mine, theirs, same)
            if step is not None:
                diffs.append(f"different {what} at step {step}")
        if self.terminated != other.terminated or len(self.rewards) != len(other.rewards):
            diffs.append("different termination")
        return [f"seed {self.seed} rerun: {d}" for d in diffs]

    def same_start(self, other: Rollout) -> bool:
        """Whether another seed's first observation equals this one's (the seed is ignored)."""
        return (
            self.instruction == other.instruction
            and self.page_texts[0] == other.page_texts[0]
            and same_picture(self.screenshots[0], other.screenshots[0])
        )

    def pixel_noise(self, other: Rollout) -> bool:
        """Whether a rerun's screenshot differs from this rollout's by rendering noise only."""
        pairs = zip(self.screenshots, other.screenshots, strict=False)
        return any(not np.array_equal(a, b) and same_picture(a, b) for a, b in pairs)


def same_picture(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two screenshots show the same picture, up to rendering noise."""
    if a.shape != b.shape:
        return False
    changed = (np.abs(a.astype(np.int16) - b.astype(np.int16)) > NOISE_LEVEL).any(axis=-1)
    return int(np.count_nonzero(changed)) <= NOISE_PIXELS


def _first_difference(xs: list[Any], ys: list[Any], same: Callable[[Any, Any], bool]) -> int | None:
    return next((i for i, (x, y) in enumerate(zip(xs, ys, strict=False)) if not same(x, y)), None)


@dataclass
class TaskReport:
    """The verdict on one task.

    Attributes:
        task_id: The task id.
        status: ``"works"``, ``"flaky"`` or ``"broken"``.
        reasons: Why the task is flaky or broken.
        notes: Other observations (seed-independent instances, episodes never ended...).
        instructions: The instructions drawn, one per seed.
        elements: Elements the page text view listed after each reset.
        episodes: Rollouts played (reruns included).
        episodes_ended: Rollouts the page ended.
        rewards_at_end: Rewards of the ended rollouts.
        seconds: Wall-clock time spent on the task.
        seconds_per_reset: Mean wall-clock time of one reset.
        seconds_per_step: Mean wall-clock time of one step.
    """

    task_id: str
    status: str
    reasons: list[str]
    notes: list[str]
    instructions: list[str]
    elements: list[int]
    episodes: int
    episodes_ended: int
    rewards_at_end: list[float]
    seconds: float
    seconds_per_reset: float
    seconds_per_step: float


def random_action(rng: random.Random, info: dict[str, Any], elements: list[int]) -> str:
    """Draws one action: mostly a listed valid one, sometimes a hover, coordinate or typing one.

    Args:
        rng: The policy's generator.
        info: The info dict of the last reset or step (valid actions, text slots).
        elements: Ids of the elements the page text view lists.
    """
    if rng.random() >= FREE_ACTION_SHARE:
        return rng.choice(info["valid_actions"])
    w, h = TASK_AREA
    kind = rng.choice(("hover", "click_at", "drag", "type"))
    if kind == "type":
        return Action("type", text=rng.choice([*info["text_slots"], "abc", "42"])).to_text()
    if kind == "hover" and elements:
        return Action("hover", element=rng.choice(elements)).to_text()
    n = 2 if kind == "click_at" else 4
    coords = tuple(float(rng.randrange(w if i % 2 == 0 else h)) for i in range(n))
    return Action(kind, coords=coords).to_text()  # type: ignore[arg-type]


def play(env: gym.Env, task_id: str, seed: int, steps: int, pause: float = 0.0) -> Rollout:
    """Plays one episode of ``task_id`` with the random policy seeded by task and seed.

    Args:
        env: A ``Similar/Web-v0`` env whose tasks include ``task_id``.
        task_id: The task to play.
        seed: The reset seed.
        steps: Most steps to take.
        pause: Seconds to wait between the reset and the first action (a slow agent).

    Returns:
        The rollout; exceptions are caught and recorded in ``problems``.
    """
    out = Rollout(seed=seed)
    rng = random.Random(f"{task_id}/{seed}")
    space = env.observation_space
    t0 = time.perf_counter()
    try:
        obs, info = env.reset(seed=seed, options={"task": task_id})
        out.reset_seconds = time.perf_counter() - t0
        out.instruction = obs["instruction"]
        out.page_texts.append(obs["page_text"])
        out.screenshots.append(obs["screenshot"])
        if not out.instruction.strip():
            out.problems.append("empty instruction")
        out.elements = len(env.unwrapped.elements)
        if not out.elements:
            out.problems.append("the page text view lists no element")
        time.sleep(pause)
        for _ in range(steps):
            ids = [el["id"] for el in env.unwrapped.elements]
            action = random_action(rng, info, ids)
            out.actions.append(action)
            obs, reward, terminated, truncated, info = env.step(action)
            out.page_texts.append(obs["page_text"])
            out.screenshots.append(obs["screenshot"])
            out.rewards.append(float(reward))
            out.action_errors += info["action_error"] is not None
            if "browser_error" in info:
                out.problems.append(f"browser error after {action}: {info['browser_error']}")
            if not math.isfinite(reward) or not -1.0 <= reward <= 1.0:
                out.problems.append(f"reward {reward} outside [-1, 1]")
            if not space.contains(obs):
                out.problems.append(f"observation outside the observation space after {action}")
            if terminated or truncated:
                out.terminated = bool(terminated)
                break
    except Exception as e:  # any failure is a finding about this task
        step = len(out.actions)
        out.problems.append(
            f"{'reset' if step == 0 else f'step {step}'} raised "
            f"{type(e).__name__}: {str(e).strip()[:200]}"
        )
    out.step_seconds = time.perf_counter() - t0 - out.reset_seconds - pause
    return out


def check_task(
    env: gym.Env, task_id: str, seeds: int, steps: int, pause: float = 0.5
) -> TaskReport:
    """Plays ``seeds`` seeds of one task twice each and classifies the task.

    Args:
        env: A ``Similar/Web-v0`` env whose tasks include ``task_id``.
        task_id: The task to check.
        seeds: Number of seeds (0, 1, ...).
        steps: Most random steps per episode.
        pause: Seconds the rerun of a seed waits before its first action.
    """
    t0 = time.perf_counter()
    firsts: list[Rollout] = []
    reasons: list[str] = []
    notes: list[str] = []
    flaky: list[str] = []
    played = 0
    noisy = False
    for seed in range(seeds):
        first = play(env, task_id, seed, steps)
        firsts.append(first)
        reasons.extend(p for p in first.problems if p not in reasons)
        if first.problems:
            played += 1
            continue
        rerun = play(env, task_id, seed, steps, pause)
        played += 2
        reasons.extend(p for p in rerun.problems if p not in reasons)
        flaky.extend(first.differences(rerun))
        noisy = noisy or first.pixel_noise(rerun)
    ok = [r for r in firsts if not r.problems]
    if len(ok) > 1 and all(r.same_start(ok[0]) for r in ok[1:]):
        notes.append("every seed gives the same instance")
    if noisy:
        notes.append("reruns' screenshots differ by rendering noise (a few antialiased pixels)")
    ended = [r for r in firsts if r.terminated]
    if ok and not ended:
        notes.append(f"no episode ended within {steps} random steps")
    errors = sum(r.action_errors for r in firsts)
    actions = sum(len(r.actions) for r in firsts)
    if actions and errors:
        notes.append(f"{errors}/{actions} random actions reported an error")
    status = BROKEN if reasons else FLAKY if flaky else WORKS
    return TaskReport(
        task_id=task_id,
        status=status,
        reasons=reasons + flaky,
        notes=notes,
        instructions=[r.instruction for r in firsts],
        elements=[r.elements for r in firsts],
        episodes=played,
        episodes_ended=len(ended),
        rewards_at_end=[r.rewards[-1] for r in ended],
        seconds=round(time.perf_counter() - t0, 2),
        seconds_per_reset=_mean(r.reset_seconds for r in firsts),
        seconds_per_step=round(sum(r.step_seconds for r in firsts) / max(actions, 1), 3),
    )


def _mean(xs: Iterable[float]) -> float:
    values = list(xs)
    return round(sum(values) / max(len(values), 1), 3)


def select_tasks(patterns: Sequence[str] | None) -> list[str]:
    """Returns the MiniWoB++ task ids matching any of ``patterns`` (ids or globs; all if None).

    Raises:
        KeyError: If a pattern matches no MiniWoB++ task.
    """
    every = list_miniwob_ids()
    if patterns is None:
        return every
    chosen: dict[str, None] = {}
    for pattern in patterns:
        pattern = pattern if pattern.startswith("miniwob/") else f"miniwob/{pattern}"
        hits = fnmatch.filter(every, pattern)
        if not hits:
            raise KeyError(f"{pattern!r} matches no MiniWoB++ task")
        chosen.update(dict.fromkeys(hits))
    return list(chosen)


def markdown(result: dict[str, Any]) -> str:
    """Renders a coverage result as a Markdown summary and table."""
    s = result["summary"]
    lines = [
        "# MiniWoB++ coverage of Similar/Web-v0",
        "",
        f"{s['tasks']} tasks, {s['seeds']} seeds x 2 runs (the second one pausing {s['pause']} s), "
        f"up to {s['steps']} random steps: "
        f"**{s['works']} work, {s['flaky']} flaky, {s['broken']} broken** "
        f"({s['seconds']:.0f} s; {s['seconds_per_reset']:.3f} s per reset, "
        f"{s['seconds_per_step']:.3f} s per step).",
        "",
        "| task | status | reasons / notes | ended | rewards at end | s |",
        "|---|---|---|---|---|---|",
    ]
    for t in result["tasks"]:
        why = "; ".join([*t["reasons"], *t["notes"]]).replace("|", "\\|")
        rewards = ", ".join(f"{r:g}" for r in t["rewards_at_end"])
        lines.append(
            f"| {t['task_id']} | {t['status']} | {why} | {t['episodes_ended']}/{s['seeds']} "
            f"| {rewards} | {t['seconds']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def run(
    tasks: list[str] | None = None,
    seeds: int = 3,
    steps: int = 5,
    out: Path | None = None,
    pause: float = 0.5,
) -> dict[str, Any]:
    """Checks MiniWoB++ tasks in one env and classifies each.

    Args:
        tasks: Task ids or globs (``"miniwob/click-*"``; the prefix may be left out); ``None``
            checks every task the ``miniwob`` package ships.
        seeds: Seeds per task; each is played twice.
        steps: Most random steps per episode.
        out: Folder to write ``miniwob_coverage.json`` and ``.md`` to; ``None`` writes nothing.
        pause: Seconds the rerun of a seed waits before its first action, so that pages that
            change on their own over time show up as flaky.

    Returns:
        ``{"summary": {...counts, timings...}, "tasks": [TaskReport as dict, ...]}``.
    """
    ids = select_tasks(tasks)
    t0 = time.perf_counter()
    reports: list[TaskReport] = []
    env = gym.make("Similar/Web-v0", task=ids, disable_env_checker=True)
    try:
        for task_id in (bar := tqdm(ids, desc="miniwob coverage", unit="task")):
            bar.set_postfix_str(task_id.removeprefix("miniwob/"))
            reports.append(check_task(env, task_id, seeds, steps, pause))
    finally:
        env.close()
    counts = {k: sum(r.status == k for r in reports) for k in (WORKS, FLAKY, BROKEN)}
    result = {
        "summary": {
            "tasks": len(reports),
            **counts,
            "seeds": seeds,
            "steps": steps,
            "pause": pause,
            "seconds": round(time.perf_counter() - t0, 1),
            "seconds_per_reset": _mean(r.seconds_per_reset for r in reports),
            "seconds_per_step": _mean(r.seconds_per_step for r in reports),
        },
        "tasks": [asdict(r) for r in reports],
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "miniwob_coverage.json", json.dumps(result, indent=1), "utf-8")
        write_text_atomic(out / "miniwob_coverage.md", markdown(result), "utf-8")
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line entry point; prints the summary and the tasks that do not work."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tasks", nargs="*", default=None, help="task ids or globs (default: every MiniWoB++ task)"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per task, each played twice")
    parser.add_argument("--steps", type=int, default=5, help="most random steps per episode")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.5,
        help="seconds a seed's rerun waits before its first action",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/miniwob_coverage"),
        help="folder for miniwob_coverage.json and .md",
    )
    args = parser.parse_args(argv)
    result = run(args.tasks, args.seeds, args.steps, args.out, args.pause)
    print(json.dumps(result["summary"]))
    for t in result["tasks"]:
        if t["status"] != WORKS:
            print(f"{t['status']:7s} {t['task_id']}: {'; '.join(t['reasons'])}")
    return result


if __name__ == "__main__":
    main()
