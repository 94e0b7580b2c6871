"""The SRMEval study: reward models and baselines side by side, and the Triple-M ablations.

Scores every model on the same SRMEval pairs (default the shipped SRMEval-Web v2) and writes
``results.json`` (every report, as ``similar eval --json`` prints it), ``table.md`` (accuracy
per type and the average over the six types, on all pairs and on each split, one row per model)
and ``accuracy.png`` (the same as bars with 95% intervals, one panel per split).

A model is ``LABEL=NAME``: NAME is a baseline (``random``, ``heuristic``, ``minilm``),
``default`` (the shipped checkpoint) or a folder of ``similar train-rm``. Add ``:stage1`` to a
folder to score it as stage 1 alone: the same weights with the gate ignored, so that the reward
(the ``total`` type) is the plain sum of the scaled scores. The ablation runs come from::

    similar train-rm --out runs/rm --stage1-epochs 6 --stage2-epochs 10 --eval-max-pairs 600
    similar train-rm --out runs/rm-text-only --no-use-image   (same epochs)
    similar train-rm --out runs/rm-no-history --no-use-history   (same epochs)

Example::

    python -m experiments.srmeval_study --out runs/srmeval_study --models
        random=random heuristic=heuristic "Triple-M=runs/rm/final"
        "stage 1 only=runs/rm/final:stage1" "text only=runs/rm-text-only/final"
        "no history=runs/rm-no-history/final"

(one command line)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from reward_model.dimensions import PAIR_TYPES
from similar_gym.files import write_text_atomic

_COLUMNS = (*PAIR_TYPES, "average")

_STAGE1 = ":stage1"


def _scorer(name: str) -> Any:
    from reward_model.evaluation import ModelScorer, get_scorer
    from reward_model.modeling import SimilarRewardModel

    if not name.endswith(_STAGE1):
        return get_scorer(name)
    model = SimilarRewardModel.from_pretrained(name[: -len(_STAGE1)])
    model.config.gate_trained = False  # reward = the plain total: what stage 1 alone gives
    return ModelScorer(model)


def markdown_table(reports: dict[str, dict[str, Any]], splits: list[str]) -> str:
    """One row per model: accuracy (%) per type and average on all pairs, averages per split."""
    head = ["model", *PAIR_TYPES, "average", *(f"average {s}" for s in splits)]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for label, rep in reports.items():
        acc = rep["accuracy"]
        cells = [f"{100 * acc['all'][k]['acc']:.1f}" for k in (*PAIR_TYPES, "average")]
        cells += [f"{100 * acc[s]['average']['acc']:.1f}" if s in acc else "-" for s in splits]
        lines.append("| " + " | ".join([label, *cells]) + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], path: Path) -> None:
    """Bar plot of SRMEval accuracy: one panel per split, bars per model, 95% intervals.

    Args:
        result: What :func:`run` returns (``models``: label -> report).
        path: The PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models = result["models"]
    splits = ["all", *sorted({s for r in models.values() for s in r["accuracy"] if s != "all"})]
    fig, axes = plt.subplots(len(splits), 1, figsize=(10, 3.2 * len(splits)), squeeze=False)
    width = 0.8 / len(models)
    x = np.arange(len(_COLUMNS))
    for ax, split in zip(axes[:, 0], splits, strict=True):
        for i, (label, rep) in enumerate(models.items()):
            cells = [rep["accuracy"].get(split, {}).get(k, {}) for k in _COLUMNS]
            acc = np.array([_pct(c.get("acc")) for c in cells])
            low = np.array([_pct(c.get("low")) for c in cells])
            high = np.array([_pct(c.get("high")) for c in cells])
            err = np.nan_to_num(np.stack([acc - low, high - acc]))
            offset = (i - (len(models) - 1) / 2) * width
            ax.bar(x + offset, acc, width, yerr=err, label=label, capsize=2)
        ax.axhline(50, color="black", linewidth=0.8, linestyle="--")
        ax.set_xticks(x, _COLUMNS)
        ax.set_ylim(0, 100)
        ax.set_ylabel("accuracy %")
        ax.set_title(f"SRMEval, {split} ({split_pairs(models, split)} pairs)", fontsize=10)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, ncol=len(models), loc="lower center")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _pct(value: float | None) -> float:
    return math.nan if value is None else 100 * value


def split_pairs(models: dict[str, Any], split: str) -> int:
    """Number of pairs of ``split`` in the reports of ``models``."""
    rep = next(iter(models.values()))
    return int(rep["accuracy"].get(split, {}).get("average", {}).get("n", 0))


def run(models: list[str], data: str | None, out: Path) -> dict[str, Any]:
    """Evaluates every ``LABEL=NAME``; writes ``results.json``, ``table.md``, ``accuracy.png``."""
    from reward_model.evaluation import evaluate
    from similar_gym.srm_data import SHIPPED_SRMEVAL, read_pairs

    table = read_pairs(data or SHIPPED_SRMEVAL)
    reports: dict[str, dict[str, Any]] = {}
    for spec in models:
        label, sep, name = spec.partition("=")
        if not sep or not name:
            raise ValueError(f"model {spec!r} is not LABEL=NAME")
        start = time.perf_counter()
        report = evaluate(_scorer(name), table, name=name).to_dict()
        report["seconds"] = round(time.perf_counter() - start, 1)
        reports[label] = report
        print(f"{label}: average {100 * report['accuracy']['all']['average']['acc']:.1f}")
    splits = sorted({s for r in reports.values() for s in r["accuracy"] if s != "all"})
    out.mkdir(parents=True, exist_ok=True)
    result = {"data": str(data or SHIPPED_SRMEVAL), "n_pairs": table.num_rows, "models": reports}
    write_text_atomic(out / "results.json", json.dumps(result, indent=2) + "\n")
    write_text_atomic(out / "table.md", markdown_table(reports, splits))
    plot(result, out / "accuracy.png")
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.srmeval_study``."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.srmeval_study",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--models", nargs="+", required=True, metavar="LABEL=NAME")
    parser.add_argument("--data", default=None, help="SRM pairs file (default: shipped SRMEval)")
    parser.add_argument("--out", default="runs/srmeval_study", help="output folder")
    args = parser.parse_args(argv)
    try:
        run(args.models, args.data, Path(args.out))
    except (ValueError, FileNotFoundError) as e:
        print(f"srmeval_study: {e}", file=sys.stderr)
        return 2
    print((Path(args.out) / "table.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
