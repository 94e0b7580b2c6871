"""The SRMEval study: reward models and baselines side by side, and the Triple-M ablations.

Scores every model on the same SRMEval pairs (default the shipped SRMEval-Web v1) and writes
``results.json`` (every report, as ``similar eval --json`` prints it) and ``table.md``: accuracy
per type and the average over the six types, on all pairs and on each split, one row per model.

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
import sys
import time
from pathlib import Path
from typing import Any

from reward_model.dimensions import PAIR_TYPES

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


def run(models: list[str], data: str | None, out: Path) -> dict[str, Any]:
    """Evaluates every ``LABEL=NAME`` and writes ``results.json`` and ``table.md`` to ``out``."""
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
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "table.md").write_text(markdown_table(reports, splits))
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
