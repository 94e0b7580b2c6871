"""``similar bench wrapper``: what SimilarRewardWrapper adds to an env step.

Times the same action sequence on a bare ``Similar/Web-v0`` env and on the env wrapped with
:class:`~wrappers.SimilarRewardWrapper` (one env) or :class:`~wrappers.SimilarRewardVectorWrapper`
(an ``AsyncVectorEnv`` of 2), and reports the ratio of the step times. The issue's target is a
ratio of at most 1.5.

Examples::

    similar bench wrapper
    similar bench wrapper --task mail/send-mail --steps 200 --json --out runs/bench_wrapper.json
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from experiments.bench_common import add_dtype_argument, dtype_name, emit_report, positive_int

#: Target of the issue: wrapped step time / bare step time.
TARGET_RATIO = 1.5
_ACTIONS = ('scroll("down")', 'scroll("up")')


def _time_steps(env: Any, steps: int, n_envs: int) -> float:
    """Seconds per step (per vector step) over ``steps`` steps after a seeded reset."""
    env.reset(seed=0)
    for i in range(3):  # warm-up
        env.step(_action(i, n_envs))
    start = time.perf_counter()
    for i in range(steps):
        _, _, terminated, truncated, _ = env.step(_action(i, n_envs))
        if n_envs == 1 and (terminated or truncated):
            env.reset()
    return (time.perf_counter() - start) / steps


def _action(i: int, n_envs: int) -> Any:
    a = _ACTIONS[i % 2]
    return a if n_envs == 1 else np.array([a] * n_envs, dtype=object)


def measure(
    task: str, steps: int, model_name: str, dtype: str = "auto", overlap: bool | str = True
) -> dict[str, Any]:
    """Times bare and wrapped steps, single env and vector of 2.

    Args:
        task: The task id.
        steps: Timed steps per setup.
        model_name: ``"default"`` or a checkpoint folder.
        dtype: The dtype the model scores in, as the wrappers' ``dtype`` (default theirs).
        overlap: The wrappers' ``overlap`` (default theirs: a scoring process).
    """
    import gymnasium as gym

    import similar_gym  # noqa: F401  (registers Similar/Web-v0)
    from wrappers import SimilarRewardVectorWrapper, SimilarRewardWrapper

    kwargs = {"task": task, "max_steps": steps + 10}
    setups = {
        "single": (lambda: gym.make("Similar/Web-v0", **kwargs), SimilarRewardWrapper, 1),
        "vector2": (
            lambda: gym.vector.AsyncVectorEnv(
                [lambda: gym.make("Similar/Web-v0", **kwargs) for _ in range(2)],
                shared_memory=False,
            ),
            SimilarRewardVectorWrapper,
            2,
        ),
    }
    results: dict[str, Any] = {}
    scored_dtype = ""
    for mode, (make, wrap, n_envs) in setups.items():
        env = make()
        wrapped_env = None
        try:
            bare = _time_steps(env, steps, n_envs)
            wrapped_env = wrap(env, model=model_name, dtype=dtype, overlap=overlap)
            scored_dtype = dtype_name(wrapped_env.model)
            wrapped = _time_steps(wrapped_env, steps, n_envs)
        finally:
            (wrapped_env or env).close()
        results[mode] = {"bare_ms": 1000 * bare, "wrapped_ms": 1000 * wrapped}
    for r in results.values():
        r["ratio"] = r["wrapped_ms"] / r["bare_ms"]
        r["met"] = r["ratio"] <= TARGET_RATIO
    return {
        "meta": {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "task": task,
            "steps": steps,
            "model": model_name,
            "dtype": scored_dtype,
            "overlap": overlap,
            "cpu_count": os.cpu_count(),
            "load_avg_after": os.getloadavg(),
        },
        "results": results,
        "target_ratio": TARGET_RATIO,
    }


def run(args: argparse.Namespace) -> int:
    """Runs ``similar bench wrapper`` from parsed arguments."""
    overlap = {"auto": True, "none": False}.get(args.overlap, args.overlap)
    report = measure(args.task, args.steps, args.model, args.dtype, overlap)
    if emit_report(report, args.out, args.json):
        return 0
    for mode, r in report["results"].items():
        verdict = "met" if r["met"] else "NOT MET"
        print(
            f"{mode:8s} bare {r['bare_ms']:.1f} ms/step, wrapped {r['wrapped_ms']:.1f} ms/step, "
            f"ratio {r['ratio']:.2f} (target <= {TARGET_RATIO}: {verdict})"
        )
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options of ``similar bench wrapper`` to ``parser``."""
    parser.add_argument("--task", default="shop/buy-product", help="task id (default: %(default)s)")
    parser.add_argument(
        "--steps", type=positive_int, default=100, help="timed steps (default: 100)"
    )
    parser.add_argument("--model", default="default", help="'default' or a checkpoint folder")
    add_dtype_argument(parser, "auto", "the wrappers")
    parser.add_argument(
        "--overlap",
        default="auto",
        choices=("auto", "process", "thread", "none"),
        help="where the wrappers score during the env's step; auto = a scoring process for a "
        "named model (default: %(default)s, as the wrappers)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--out", default=None, help="also write the JSON report here")


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.bench_wrapper``."""
    parser = argparse.ArgumentParser(prog="similar bench wrapper", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
