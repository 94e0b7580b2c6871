"""Agents that learn on ``Similar/Web-v0`` (and other gymnasium envs).

* :class:`agents.features.WebFeaturesExtractor`: stable-baselines3 features extractor for the
  numeric observations of the discrete action mode.
* :mod:`agents.ppo`: PPO through stable-baselines3 (:class:`~agents.ppo_config.PPOConfig`,
  :func:`~agents.ppo.train_ppo`).
* :mod:`agents.grpo`: GRPO for gymnasium envs, outcome and process variants
  (:class:`~agents.grpo_config.GRPOConfig`, :func:`~agents.grpo.train_grpo`).
* :mod:`agents.checkpoint`, :mod:`agents.env_config`, :mod:`agents.episode_log`,
  :mod:`agents.schedules`: what both trainers share (checkpoints without pickle, the env and
  reward, per-episode logs, the decay of a dense reward's weight).

Imports are lazy: ``import agents`` starts no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "WebFeaturesExtractor": "agents.features",
    "PPOConfig": "agents.ppo_config",
    "train_ppo": "agents.ppo",
    "GRPOConfig": "agents.grpo_config",
    "train_grpo": "agents.grpo",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")
