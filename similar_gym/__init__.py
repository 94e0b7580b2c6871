"""Similar-Gym: GUI tasks as gymnasium environments.

Importing the package registers the environments and is cheap: no browser and no torch start
until an environment is made.

>>> import gymnasium as gym
>>> import similar_gym  # registers Similar/Web-v0 and Similar/SRMEval-v0
>>> "Similar/Web-v0" in gym.registry and "Similar/SRMEval-v0" in gym.registry
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gymnasium.envs.registration import register, registry

if TYPE_CHECKING:
    from similar_gym.actions import Action, ActionError, parse_action
    from similar_gym.records import StepContext
    from similar_gym.srmeval_env import SRMEvalEnv
    from similar_gym.web_env import WebEnv

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ActionError",
    "SRMEvalEnv",
    "StepContext",
    "WebEnv",
    "__version__",
    "parse_action",
    "register_envs",
]

_LAZY = {
    "Action": "similar_gym.actions",
    "ActionError": "similar_gym.actions",
    "parse_action": "similar_gym.actions",
    "WebEnv": "similar_gym.web_env",
    "SRMEvalEnv": "similar_gym.srmeval_env",
    "StepContext": "similar_gym.records",
}


def register_envs() -> None:
    """Registers the ``Similar/*`` environment ids with gymnasium (idempotent)."""
    if "Similar/Web-v0" not in registry:
        register(id="Similar/Web-v0", entry_point="similar_gym.web_env:WebEnv")
    if "Similar/SRMEval-v0" not in registry:
        register(id="Similar/SRMEval-v0", entry_point="similar_gym.srmeval_env:SRMEvalEnv")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'similar_gym' has no attribute {name!r}")


register_envs()
