"""MCTSWrapper on real Similar-Gym envs, with value functions whose best choice is known."""

import gymnasium as gym
import numpy as np
import pytest

from reward_model.dimensions import CODES
from wrappers import MCTSWrapper, SimilarWebAdapter


class TableModel:
    """Scores a step ``value(context)``; remembers every context it was given."""

    config = type("Config", (), {"use_image": True})()

    def __init__(self, value):
        self.value = value
        self.contexts = []

    def score(self, contexts):
        self.contexts += contexts
        v = np.array([self.value(c) for c in contexts], dtype=np.float64)
        return {**{c: v for c in CODES}, "total": v, "reward": v}


def test_best_of_n_follows_the_value_and_solves_the_task(make_env):
    env = make_env(task="mail/send-mail")
    base = env.unwrapped
    model = TableModel(lambda c: float(c.action == base.oracle_next()))
    search = MCTSWrapper(env, model=model, proposer="oracle:0", num_candidates=3, seed=0)
    obs, info = search.reset(seed=3)
    steps = 0
    while steps < 20:
        obs, reward, terminated, truncated, info = search.step("noop()")
        steps += 1
        s = info["search"]
        assert s["candidates"][0] == "noop()" and len(s["candidates"]) == 3
        assert s["chosen"] == int(np.argmax(s["values"])) and s["visits"] == [0, 0, 0]
        assert s["lookahead_steps"] == 0 and s["nodes"] == 1
        assert info["action"] == s["candidates"][s["chosen"]]
        if terminated or truncated:
            break
    assert terminated and reward == 1.0 and info["success"]
    assert steps == len(base.oracle_plan())
    # Every scored context is a candidate at its state, with the history of executed steps.
    last = model.contexts[-1]
    assert last.step_idx == steps - 1 and len(last.history) == steps - 1
    assert last.target or last.action in ("noop()",) or last.action.startswith(("press", "scroll"))


def test_lookahead_finds_the_rewarding_action_and_puts_the_env_back(make_env):
    env = make_env(task="miniwob/click-test")
    zero = TableModel(lambda c: 0.0)
    blind = MCTSWrapper(env, model=zero, proposer="random", num_candidates=8, seed=0)
    blind.reset(seed=0)
    _, _, terminated, _, info = blind.step("noop()")
    assert info["search"]["chosen"] == 0 and not terminated  # all values tie: the agent's

    search = MCTSWrapper(
        env, model=zero, proposer="random", num_candidates=8, depth=1, num_simulations=12, seed=0
    )
    search.reset(seed=0)
    _, reward, terminated, _, info = search.step("noop()")
    s = info["search"]
    assert s["lookahead_steps"] > 0 and s["nodes"] > 1 and sum(s["visits"]) == 12
    assert s["q"][s["chosen"]] > 0, "the lookahead saw the page's reward"
    assert terminated and reward > 0 and info["success"]


def test_the_env_after_a_lookahead_step_is_the_env_after_the_chosen_action(make_env):
    env = make_env(task="shop/buy-product")
    model = TableModel(lambda c: len(c.action) / 100)
    search = MCTSWrapper(
        env, model=model, proposer="random", num_candidates=4, depth=2, num_simulations=8, seed=1
    )
    search.reset(seed=5)
    obs, _, _, _, info = search.step("noop()")
    assert info["search"]["lookahead_steps"] > 1
    fresh = make_env(task="shop/buy-product")
    fresh.reset(seed=5)
    obs2, _, _, _, info2 = fresh.step(info["search"]["candidates"][info["search"]["chosen"]])
    assert info["page_text"] == info2["page_text"] and info["step"] == info2["step"] == 1
    assert np.array_equal(obs["screenshot"], obs2["screenshot"])


def test_bad_setups_are_refused(make_env):
    zero = TableModel(lambda c: 0.0)
    with pytest.raises(ValueError, match="action_mode='text'"):
        MCTSWrapper(make_env(task="shop/buy-product", action_mode="discrete"), model=zero)
    cartpole = gym.make("CartPole-v1")
    with pytest.raises(ValueError, match="snapshot"):
        MCTSWrapper(cartpole, model=zero, adapter=SimilarWebAdapter(), depth=1)
    with pytest.raises(gym.error.ResetNeeded):
        MCTSWrapper(cartpole, model=zero, adapter=SimilarWebAdapter()).step(0)
    with pytest.raises(ValueError, match="num_candidates"):
        MCTSWrapper(cartpole, model=zero, adapter=SimilarWebAdapter(), num_candidates=0)


def test_a_model_loaded_by_name_scores_in_the_dtype_asked(make_env):
    import torch

    from reward_model.modeling import resolve_dtype

    env = make_env(task="mail/send-mail")
    exact = MCTSWrapper(env, model="default", dtype="float32", num_candidates=2, seed=0)
    assert exact.model.head.weight.dtype == torch.float32
    given = MCTSWrapper(env, model=exact.model, num_candidates=2, seed=0)
    assert given.model is exact.model, "a model object is used as it is"
    auto = MCTSWrapper(env, model="default", num_candidates=2, seed=0)
    assert auto.model.head.weight.dtype == resolve_dtype("auto"), "dtype='auto' by default"
    _, info = exact.reset(seed=0)
    _, _, _, _, info = exact.step("noop()")
    assert np.isfinite(info["search"]["values"]).all()
