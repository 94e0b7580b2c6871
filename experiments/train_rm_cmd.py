"""``similar train-rm``: Triple-M training of the Similar reward model.

Examples::

    similar collect --preset srmtrain --out runs/srmtrain --workers 2
    similar train-rm --train-dir runs/srmtrain --out runs/rm
    similar train-rm --train-dir runs/srmtrain --out runs/rm-text --no-use-image   # ablation
    similar train-rm --train-dir runs/srmtrain --out runs/rm --ship   # into the package
    tensorboard --logdir runs/rm/tensorboard

Running the same command again resumes after the last finished epoch (a finished run only
re-scores its final model), so adding ``--ship`` to a finished run's command ships that model.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from pathlib import Path

from experiments.config_args import add_config_arguments, given_fields


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Adds the options of ``similar train-rm`` (one per :class:`TrainRMConfig` field)."""
    from reward_model.train_config import TrainRMConfig

    p.add_argument("--json", action="store_true", help="print the final SRMEval report as JSON")
    p.add_argument(
        "--ship",
        action="store_true",
        help="copy the final model into the package as the default checkpoint "
        "(reward_model/checkpoints/default), with a manifest: command, configs, data manifest",
    )
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
    if args.ship:
        dest = ship(Path(config.out), config.train_dir, result, command_line(args))
        size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
        print(f"shipped {dest} ({size / 1e6:.2f} MB)", file=sys.stderr if args.json else sys.stdout)
    return 0


def command_line(args: argparse.Namespace) -> str:
    """The ``similar train-rm`` command with the options given on this run's command line."""
    from reward_model.train_config import TrainRMConfig

    parts = ["similar", "train-rm"]
    for name, value in given_fields(args, TrainRMConfig).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else "--no-" + flag[2:])
        else:
            parts += [flag, str(value)]
    return shlex.join([*parts, "--ship"])


def ship(out: Path, train_dir: str, result: dict, command: str) -> Path:
    """Copies ``out/final`` to the package's default checkpoint folder, with ``manifest.json``.

    The manifest holds the command line, the training config, the SRMTrain manifest of the data
    it trained on, the SRMEval figures of the run and the library versions.
    """
    import peft
    import torch
    import transformers

    from reward_model.modeling import DEFAULT_CHECKPOINT

    data_manifest = Path(train_dir) / "manifest.json"
    manifest = {
        "command": command,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "train_config": json.loads((out / "train_config.json").read_text()),
        "srmtrain_manifest": (
            json.loads(data_manifest.read_text()) if data_manifest.is_file() else None
        ),
        "srmeval_during_training": result.get("accuracy"),
        "train_seconds": result.get("train_seconds"),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
        },
    }
    tmp = DEFAULT_CHECKPOINT.with_name(DEFAULT_CHECKPOINT.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(out / "final", tmp, ignore=shutil.ignore_patterns("README.md"))
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(DEFAULT_CHECKPOINT, ignore_errors=True)
    tmp.rename(DEFAULT_CHECKPOINT)
    return DEFAULT_CHECKPOINT
