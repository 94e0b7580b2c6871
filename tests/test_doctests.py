"""The examples in the docstrings run (those marked ``+SKIP`` need a setup a test cannot give)."""

import doctest
import importlib

import pytest

MODULES = [
    "similar_gym",
    "similar_gym.files",
    "similar_gym.policies",
    "similar_gym.srm_data",
    "similar_gym.srmeval_env",
    "similar_gym.tasks",
    "similar_gym.tasks.miniwob_oracles",
    "similar_gym.web_env",
    "agents.schedules",
    "reward_model.dimensions",
    "reward_model.evaluation",
    "reward_model.judges",
    "reward_model.judges.embedding",
    "reward_model.mcts_p",
    "wrappers",
    "wrappers.mcts",
    "wrappers.scoring",
    "wrappers.search",
    "wrappers.similar_reward",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
