"""``similar bench rm``: how fast the reward model scores steps on this machine.

Measures a :class:`~reward_model.modeling.SimilarRewardModel` on real steps: the candidates of
the first pairs of an SRM pairs file (default the shipped SRMEval), with their screenshots
decoded to arrays beforehand, as an env hands them to ``SimilarRewardWrapper``. Reports

* **batched** throughput: scored steps per second of ``model.score(steps, batch_size=B)``;
* **single-step latency**: median and 90th percentile of ``model.score([step])``, the cost a
  wrapper around one env pays per step.

Examples::

    similar bench rm                        # the shipped default checkpoint
    similar bench rm --model runs/rm/final --json --out runs/bench_rm.json
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import time
from typing import Any

from experiments.bench_common import add_dtype_argument, dtype_name, emit_report, positive_int

#: Target throughput of the issue: scored steps per second, batched, on 2 CPU cores.
TARGET_STEPS_PER_S = 100.0


def _steps(data: str | None, n: int) -> list[Any]:
    """The first ``n`` distinct candidate steps of a pairs file, screenshots as arrays."""
    from reward_model.evaluation import context_key
    from similar_gym.srm_data import SHIPPED_SRMEVAL, pair_contexts, read_pairs

    table = read_pairs(data or SHIPPED_SRMEVAL)
    seen: set[bytes] = set()
    steps = []
    for row in table.to_pylist():
        for ctx in pair_contexts(row):
            key = context_key(ctx)
            if key in seen:
                continue
            seen.add(key)
            steps.append(dataclasses.replace(ctx, screenshot=ctx.image()))
            if len(steps) == n:
                return steps
    if not steps:
        raise ValueError(f"{data or SHIPPED_SRMEVAL} has no pairs")
    return steps


def measure(
    model_name: str = "default",
    data: str | None = None,
    n_steps: int = 512,
    batch_size: int = 64,
    n_single: int = 50,
    threads: int = 0,
    dtype: str = "float32",
) -> dict[str, Any]:
    """Loads the model and times batched scoring and single-step latency.

    Args:
        model_name: ``"default"`` or a checkpoint folder.
        data: SRM pairs file the steps come from (default the shipped SRMEval).
        n_steps: Steps scored in the batched measurement.
        batch_size: Batch size of the batched measurement.
        n_single: Single-step calls timed.
        threads: Torch CPU threads (0 = torch's default).
        dtype: The dtype the model scores in (``"auto"`` as the wrappers load it).

    Returns:
        The report: ``meta`` (machine, versions, model) and ``results``.
    """
    import torch

    from reward_model.modeling import SimilarRewardModel

    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    model = SimilarRewardModel.from_pretrained(model_name, dtype=dtype)
    load_s = time.perf_counter() - t0
    steps = _steps(data, n_steps)
    load_before = os.getloadavg()
    model.score(steps[:batch_size], batch_size=batch_size)  # warm-up
    t = time.perf_counter()
    model.score(steps, batch_size=batch_size)
    batched_s = time.perf_counter() - t
    latencies = []
    for i in range(n_single + 3):
        t = time.perf_counter()
        model.score([steps[i % len(steps)]])
        if i >= 3:  # the first calls warm up the single-row path
            latencies.append(time.perf_counter() - t)
    latencies.sort()
    steps_per_s = len(steps) / batched_s
    return {
        "meta": {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": model_name,
            "dtype": dtype_name(model),
            "model_config": model.config.to_dict(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg_before": load_before,
            "load_avg_after": os.getloadavg(),
        },
        "results": {
            "load_s": load_s,
            "n_steps": len(steps),
            "batch_size": batch_size,
            "batched_steps_per_s": steps_per_s,
            "n_single": n_single,
            "single_ms_p50": 1000 * statistics.median(latencies),
            "single_ms_p90": 1000 * latencies[int(0.9 * (len(latencies) - 1))],
        },
        "target": {
            "batched_steps_per_s": TARGET_STEPS_PER_S,
            "met": steps_per_s >= TARGET_STEPS_PER_S,
        },
    }


def run(args: argparse.Namespace) -> int:
    """Runs ``similar bench rm`` from parsed arguments."""
    report = measure(
        args.model, args.data, args.steps, args.batch_size, args.single, args.threads, args.dtype
    )
    if emit_report(report, args.out, args.json):
        return 0
    r, m = report["results"], report["meta"]
    print(f"model {m['model']} ({m['dtype']})  torch {m['torch']}  threads {m['torch_threads']}")
    print(
        f"batched   {r['batched_steps_per_s']:.1f} steps/s "
        f"({r['n_steps']} steps, batch {r['batch_size']}); "
        f"target >= {TARGET_STEPS_PER_S:.0f}: {'met' if report['target']['met'] else 'NOT MET'}"
    )
    print(f"single    p50 {r['single_ms_p50']:.1f} ms, p90 {r['single_ms_p90']:.1f} ms")
    load = max(m["load_avg_before"][0], m["load_avg_after"][0])
    if load > (m["cpu_count"] or 1):
        print(f"warning: load average {load:.1f}; the machine was busy and timings are noisy")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options of ``similar bench rm`` to ``parser``."""
    parser.add_argument(
        "--model", default="default", help="'default' or a checkpoint folder (default: default)"
    )
    parser.add_argument(
        "--data", default=None, help="SRM pairs file the steps come from (default: shipped)"
    )
    parser.add_argument(
        "--steps", type=positive_int, default=512, help="steps scored batched (default: 512)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=64, help="batch size (default: 64)"
    )
    parser.add_argument(
        "--single", type=positive_int, default=50, help="single-step calls timed (default: 50)"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (default: torch's)"
    )
    add_dtype_argument(parser, "float32", "similar eval")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--out", default=None, help="also write the JSON report here")


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.bench_rm``."""
    parser = argparse.ArgumentParser(prog="similar bench rm", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
