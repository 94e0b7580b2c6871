"""``similar train-rm``: Triple-M training of the Similar reward model.

Examples::

    similar collect --preset srmtrain --out runs/srmtrain --workers 2
    similar train-rm --train-dir runs/srmtrain --out runs/rm
    similar train-rm --train-dir runs/srmtrain --out runs/rm-text --no-use-image   # ablation
    tensorboard --logdir runs/rm/tensorboard

Running the same command again resumes after the last finished epoch.
"""

from __future__ import annotations

import argparse
import json
import sys

from experiments.config_args import add_config_arguments, given_fields


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Adds the options of ``similar train-rm`` (one per :class:`TrainRMConfig` field)."""
    from reward_model.train_config import TrainRMConfig

    p.add_argument("--json", action="store_true", help="print the final SRMEval report as JSON")
    add_config_arguments(p, TrainRMConfig, "training config (TrainRMConfig)")


def run(args: argparse.Namespace) -> int:
    """Runs ``similar train-rm``."""
    from reward_model.train_config import TrainRMConfig
    from reward_model.trainer import TripleMTrainer

    try:
        config = TrainRMConfig(**given_fields(args, TrainRMConfig))
        trainer = TripleMTrainer(config)
        result = trainer.train()
    except (ValueError, FileNotFoundError) as e:
        print(f"similar train-rm: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: the last finished epoch is in {config.out}/last; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(trainer.report.format_table())
        print(f"model: {config.out}/final   TensorBoard: {config.out}/tensorboard")
    return 0
