"""Wrappers that put the Similar reward model back into envs.

* :class:`SimilarRewardWrapper` / :class:`SimilarRewardVectorWrapper`: dense step-wise rewards.
* :class:`MCTSWrapper`: inference-time search over candidate actions with the model as value
  (the search itself: :func:`wrappers.search.search`, plain functions).
* :mod:`wrappers.adapters`: how an env's steps become :class:`~similar_gym.records.StepContext`.
* :mod:`wrappers.scoring`: where the wrappers score while the env steps (a thread, or a child
  process for a model given by name).

Imports are lazy (as in gymnasium's ``wrappers/__init__.py``): ``import wrappers`` starts no
torch until a wrapper is used.

>>> import wrappers
>>> wrappers.SimilarRewardWrapper.__name__, "SimilarRewardVectorWrapper" in wrappers.__all__
('SimilarRewardWrapper', True)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wrappers.adapters import (
        AdapterError,
        BrowserGymAdapter,
        FaramaMiniWoBAdapter,
        SimilarWebAdapter,
        StepAdapter,
    )
    from wrappers.mcts import MCTSWrapper
    from wrappers.similar_reward import (
        RewardMix,
        SimilarRewardVectorWrapper,
        SimilarRewardWrapper,
    )

_LAZY = {
    "AdapterError": "wrappers.adapters",
    "BrowserGymAdapter": "wrappers.adapters",
    "FaramaMiniWoBAdapter": "wrappers.adapters",
    "SimilarWebAdapter": "wrappers.adapters",
    "StepAdapter": "wrappers.adapters",
    "MCTSWrapper": "wrappers.mcts",
    "RewardMix": "wrappers.similar_reward",
    "SimilarRewardWrapper": "wrappers.similar_reward",
    "SimilarRewardVectorWrapper": "wrappers.similar_reward",
}

__all__ = [
    "AdapterError",
    "BrowserGymAdapter",
    "FaramaMiniWoBAdapter",
    "MCTSWrapper",
    "RewardMix",
    "SimilarRewardVectorWrapper",
    "SimilarRewardWrapper",
    "SimilarWebAdapter",
    "StepAdapter",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'wrappers' has no attribute {name!r}")
