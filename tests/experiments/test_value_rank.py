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


def test_the_greedy_policy_of_an_oracle_value_solves_the_task(env):
    from experiments.value_rank import greedy_episode
    from similar_gym.policies import AllValidProposer, make_proposer
    from wrappers import MCTSWrapper

    play = gym.make("Similar/Web-v0", task="mail/send-mail")
    base = play.unwrapped
    search = MCTSWrapper(play, model=_Values(base.oracle_next), proposer=AllValidProposer(),
                         num_candidates=10_000, seed=0)  # fmt: skip
    try:
        assert greedy_episode(search, "mail/send-mail", 3) == {"success": True, "steps": 5}
        _, info = search.reset(seed=3)
        offered = AllValidProposer()({}, info, base, np.random.default_rng(0), 10_000)
        assert offered == list(dict.fromkeys(info["valid_actions"])), "every valid action, once"
        assert isinstance(make_proposer("all"), AllValidProposer)
        flat = MCTSWrapper(play, model=_Values(lambda: None), proposer=AllValidProposer(),
                           num_candidates=10_000, seed=0)  # fmt: skip
        assert greedy_episode(flat, "mail/send-mail", 3)["success"] is False
    finally:
        search.close()


def test_cli_adds_the_greedy_columns(tmp_path, capsys):
    out = tmp_path / "greedy"
    args = ["--tasks", "mail/send-mail", "--instances", "1", "--greedy-episodes", "1",
            "--max-steps", "3", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())["by_task"]["mail/send-mail"]
    assert res["greedy_episodes"] == 1 and 1 <= res["greedy_steps"] <= 3
    assert "greedy success %" in capsys.readouterr().out
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["--tasks", "mail/send-mail", "--greedy-episodes", "-1", "--out", str(out)])
    assert "must be at least 0, got -1" in capsys.readouterr().err
