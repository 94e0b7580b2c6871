"""``similar eval``: SRMEval accuracy of a reward model or a baseline scorer.

Scores both candidates of every preference pair of an SRM pairs file (default the shipped
SRMEval file) and prints accuracy per type (``H, OS, E, TR, C, total``) and their average, per
split, with 95% intervals (:mod:`reward_model.evaluation`).

Examples::

    similar eval --model heuristic
    similar eval --model minilm --split heldout-templates --json
    similar eval --model random --seed 1 --data runs/srm/pairs.parquet
    python -m experiments.eval_rm --model heuristic --data paper_srmeval.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from reward_model.evaluation import SCORER_HELP, evaluate, get_scorer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options of ``similar eval`` to ``parser``."""
    models = "; ".join(f"{k}: {v}" for k, v in SCORER_HELP.items()).replace("%", "%%")
    parser.add_argument(
        "--model",
        required=True,
        metavar="NAME",
        help=f"scorer to evaluate ({models}), or a model folder of similar train-rm",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="SRM pairs file (Parquet, or the paper's CSV schema) or a folder with "
        "pairs.parquet (default: the shipped similar_gym/data/srmeval-web-v2/pairs.parquet)",
    )
    parser.add_argument("--split", default=None, help="evaluate only the pairs of this split")
    parser.add_argument("--seed", type=int, default=0, help="seed of random scorers (default: 0)")
    parser.add_argument(
        "--batch-size", type=int, default=64, help="contexts per scoring batch (default: 64)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    """Runs ``similar eval``; returns the exit status (2 for bad input)."""
    import pyarrow.compute as pc

    from similar_gym.srm_data import SHIPPED_SRMEVAL, read_pairs

    path = args.data if args.data is not None else SHIPPED_SRMEVAL
    try:
        scorer = get_scorer(args.model, seed=args.seed)
        table = read_pairs(path)
    except (ValueError, FileNotFoundError) as e:
        print(f"similar eval: {e}", file=sys.stderr)
        return 2
    if args.split is not None:
        table = table.filter(pc.equal(table.column("split"), args.split))
        if table.num_rows == 0:
            print(f"similar eval: no pair of split {args.split!r} in {path}", file=sys.stderr)
            return 2
    report = evaluate(
        scorer, table, batch_size=args.batch_size, progress=not args.no_progress, name=args.model
    )
    report.data = str(path)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format_table())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``python -m experiments.eval_rm``."""
    parser = argparse.ArgumentParser(prog="eval_rm", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
