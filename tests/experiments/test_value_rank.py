"""The value-rank study: a value that knows the oracle ranks it first, a flat one never does."""

import json

import gymnasium as gym
import numpy as np
import pytest

import similar_gym  # noqa: F401
from experiments.value_rank import VALUES, main, rank_episode, summarize
from reward_model.dimensions import CODES
from wrappers.adapters import SimilarWebAdapter


class _Values:
    """Scores 1 for the action ``pick`` names at the env's state, 0 for the others."""

    def __init__(self, pick):
        self.pick = pick

    def score(self, contexts):
        v = np.array([float(c.action == self.pick()) for c in contexts])
        return {**{c: v for c in CODES}, "total": v, "reward": v}


@pytest.fixture(scope="module")
def env():
    e = gym.make("Similar/Web-v0", task="mail/send-mail").unwrapped
    yield e
    e.close()


def test_oracle_value_is_always_first_and_a_flat_one_never(env):
    obs, info = env.reset(seed=3)
    rows = rank_episode(
        env, obs, info, _Values(env.oracle_next), SimilarWebAdapter(), np.random.default_rng(0), 3
    )
    assert len(rows) == 5, "one row per state of the oracle's 5-step run"
    summary = summarize(rows)
    assert all(summary[v] == 1.0 for v in VALUES)
    assert 0.25 <= summary["blind"] <= 0.5, "1 / (1 + up to 3 others)"

    obs, info = env.reset(seed=3)
    flat = rank_episode(env, obs, info, _Values(lambda: None), SimilarWebAdapter(),
                        np.random.default_rng(0), 3)  # fmt: skip
    assert summarize(flat)["reward"] == 0.0, "a tie is not a first place"


def test_cli_writes_its_table_and_results(tmp_path, capsys):
    out = tmp_path / "rank"
    args = ["--tasks", "mail/send-mail", "--instances", "1", "--out", str(out), "--quiet"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["all"]["states"] == 5 and set(VALUES) <= set(results["all"])
    assert "| mail/send-mail | 5 |" in capsys.readouterr().out
    assert (out / "table.md").read_text().startswith("| tasks | states | blind pick | reward")
