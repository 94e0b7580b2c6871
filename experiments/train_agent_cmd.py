"""``similar train-agent``: PPO (stable-baselines3) or GRPO on ``Similar/Web-v0``.

Examples::

    similar train-agent --algo ppo --reward sparse --task miniwob/enter-text
    similar train-agent --algo grpo --reward similar --task miniwob/click-tab --group-size 8
    similar train-agent --algo ppo --reward similar --output-dir runs/ppo-x --resume

Every field of :class:`agents.ppo.PPOConfig` and :class:`agents.grpo.GRPOConfig` is an option;
``--resume`` goes on from the run folder's checkpoint. TensorBoard: ``tensorboard --logdir``
the run folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from experiments.config_args import add_config_arguments, given_fields


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Adds the options of ``similar train-agent``: the run options and every config field."""
    from agents.env_config import AgentEnvConfig
    from agents.grpo_config import GRPOConfig
    from agents.ppo_config import PPOConfig

    p.add_argument("--algo", choices=["ppo", "grpo"], default="ppo", help="the learner")
    p.add_argument("--resume", action="store_true", help="go on from the run's checkpoint")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    env, ppo, grpo = _fields(AgentEnvConfig), _fields(PPOConfig), _fields(GRPOConfig)
    shared = (ppo & grpo) - env
    add_config_arguments(p, AgentEnvConfig, "env and reward (both algorithms)")
    add_config_arguments(p, PPOConfig, "both algorithms (defaults: PPO's)", skip=ppo - shared)
    add_config_arguments(p, PPOConfig, "PPO only (PPOConfig)", skip=env | shared)
    add_config_arguments(p, GRPOConfig, "GRPO only (GRPOConfig)", skip=env | shared)


def config_from_args(args: argparse.Namespace) -> Any:
    """The chosen algorithm's config from the options given.

    Raises:
        ValueError: An option of the other algorithm was given.
    """
    from agents.grpo_config import GRPOConfig
    from agents.ppo_config import PPOConfig

    cls, other = (PPOConfig, GRPOConfig) if args.algo == "ppo" else (GRPOConfig, PPOConfig)
    foreign = sorted(given_fields(args, other).keys() - _fields(cls))
    if foreign:
        flags = ", ".join("--" + f.replace("_", "-") for f in foreign)
        raise ValueError(f"{flags}: not an option of --algo {args.algo}")
    given = given_fields(args, cls)
    if "output_dir" not in given:
        task = given.get("task", cls().task).replace("/", "_").replace(",", "+")
        given["output_dir"] = f"runs/agents/{args.algo}-{given.get('reward', 'sparse')}-{task}"
    return cls(**given)


def run(args: argparse.Namespace) -> int:
    """Runs ``similar train-agent``."""
    try:
        config = config_from_args(args)
    except ValueError as e:
        raise SystemExit(f"similar train-agent: {e}") from None
    if args.algo == "ppo":
        from agents.ppo import train_ppo as train
    else:
        from agents.grpo import train_grpo as train
    summary = train(config, resume=args.resume, progress=not args.no_progress)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{args.algo} {config.reward} on {config.task}: {summary['global_step']} steps, "
            f"{summary['episodes']} episodes, success rate (last {config.log_window}) "
            f"{summary['final_success_rate']:.2f}, {summary['seconds']} s\n"
            f"run folder: {summary['output_dir']}  "
            f"(tensorboard --logdir {summary['output_dir']})"
        )
    return 0
