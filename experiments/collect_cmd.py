"""``similar collect``: run MCTS-P and write the SRM data (see :mod:`reward_model.collect`).

Examples::

    similar collect --preset smoke --out runs/smoke
    similar collect --preset srmeval-web-v2 --out runs/srmeval-web-v2 --workers 2
    similar collect --tasks shop/buy-product mail/* --instances-per-task 2 --out runs/mine
    similar collect --preset srmeval-web-v2 --out runs/srmeval-web-v2 --ship   # into the package

Run the same command again to resume an interrupted run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from experiments.config_args import add_config_arguments, given_fields


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Adds the options of ``similar collect``: one per config field, plus run options."""
    from reward_model.mcts_p_config import PRESETS, MCTSPConfig

    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="start from a named config; options given explicitly override it",
    )
    p.add_argument("--out", required=True, help="run folder (an existing one is resumed)")
    p.add_argument("--max-units", type=int, help="stop after this many new task instances")
    p.add_argument(
        "--no-finalize", action="store_true", help="do not merge the parts into the SRM files"
    )
    p.add_argument(
        "--ship",
        action="store_true",
        help="copy the run's SRMEval pairs and manifest into the package as SRMEval-Web v2 "
        "(similar_gym/data/srmeval-web-v2/)",
    )
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    add_config_arguments(p, MCTSPConfig, "MCTS-P config (MCTSPConfig)")


def config_from_args(args: argparse.Namespace) -> Any:
    """Builds the MCTSPConfig: the preset (if any), then every option given explicitly."""
    from reward_model.mcts_p_config import MCTSPConfig, preset

    given = given_fields(args, MCTSPConfig)
    return preset(args.preset, **given) if args.preset else MCTSPConfig(**given)


def run(args: argparse.Namespace) -> int:
    """Runs ``similar collect``."""
    from reward_model.collect import collect, finalize
    from similar_gym.srm_data import SHIPPED_SRMEVAL

    out = Path(args.out)
    try:
        config = config_from_args(args)
        report = collect(config, out, max_units=args.max_units)
    except (ValueError, KeyError) as e:
        print(f"similar collect: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished task instances are kept in {out}/parts; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    print(
        f"collect: {report.done} task instances annotated this run, {report.skipped} resumed, "
        f"{report.records} step records in {report.seconds:.0f} s "
        f"({report.records_per_minute:.1f} annotated steps/min)"
    )
    if args.no_finalize:
        return 0
    manifest = finalize(out, command=["similar", *sys.argv[1:]])
    if args.json:
        print(json.dumps(manifest, indent=2))
    else:
        print(
            f"SRM data in {out}: {manifest['steps']} step records, {manifest['pairs']} pairs "
            f"({manifest['units_done']}/{manifest['units']} task instances done, "
            f"{manifest['units_pruned']} pruned)"
        )
        for name, size in manifest["files"].items():
            print(f"  {out / name}  {size / 1e6:.2f} MB")
    if args.ship:
        src = out / "srmeval" / "pairs.parquet"
        if not src.exists():
            print(f"similar collect: {src} does not exist; nothing to ship", file=sys.stderr)
            return 2
        SHIPPED_SRMEVAL.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, SHIPPED_SRMEVAL)
        shutil.copyfile(out / "manifest.json", SHIPPED_SRMEVAL.with_name("manifest.json"))
        print(f"shipped {SHIPPED_SRMEVAL} ({SHIPPED_SRMEVAL.stat().st_size / 1e6:.2f} MB)")
    return 0
