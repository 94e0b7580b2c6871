"""Proposal policies: distinct candidates, seeded randomness, the oracle's place in the plan."""

import numpy as np
import pytest

from similar_gym.policies import (
    FunctionProposer,
    MixtureProposer,
    NearMissProposer,
    NoisyOracleProposer,
    RandomProposer,
    SampledProposer,
    make_proposer,
)
from similar_gym.web_env import WebEnv

INFO = {"valid_actions": ["noop()", 'scroll("down")', "click(1)", "click(2)", "click(3)"]}


def test_random_proposer_is_distinct_valid_and_seeded():
    p = RandomProposer()
    a = p({}, INFO, None, np.random.default_rng(5), 3)
    assert len(a) == len(set(a)) == 3 and set(a) <= set(INFO["valid_actions"])
    assert a == p({}, INFO, None, np.random.default_rng(5), 3)
    assert p({}, {"valid_actions": []}, None, np.random.default_rng(0), 3) == []


def test_function_and_mixture_proposers_dedupe():
    f = FunctionProposer(lambda obs, info: ["click(1)", "click(1)", "click(2)"])
    assert f({}, INFO, None, np.random.default_rng(0), 5) == ["click(1)", "click(2)"]
    mix = MixtureProposer([(f, 1), (RandomProposer(), 3)])
    got = mix({}, INFO, None, np.random.default_rng(0), 4)
    assert got[0] == "click(1)" and len(got) == len(set(got)) == 4


def test_make_proposer_specs():
    assert isinstance(make_proposer("random"), RandomProposer)
    assert make_proposer("oracle:0.3").epsilon == 0.3
    assert isinstance(make_proposer("oracle:0*1+near-miss*1+random*2"), MixtureProposer)
    with pytest.raises(ValueError, match="unknown proposer"):
        make_proposer("greedy")
    with pytest.raises(ValueError, match="epsilon"):
        NoisyOracleProposer(1.5)


@pytest.fixture(scope="module")
def env():
    e = WebEnv(task="shop/filter-and-add")
    yield e
    e.close()


def test_oracle_keeps_its_place_after_a_detour(env):
    """Plan progress counts executed plan steps, so a harmless detour does not derail it."""
    obs, info = env.reset(seed=3)
    plan = env.oracle_plan()
    first = env.oracle_next()
    assert env.plan_progress == 0 and first == env.oracle_step(0)
    env.step("noop()")
    assert env.plan_progress == 0 and env.oracle_next() == first
    snap = env.snapshot()
    env.step(first)
    assert env.plan_progress == 1
    env.restore(snap)
    assert env.plan_progress == 0, "restore puts the progress back"
    oracle = NoisyOracleProposer(epsilon=0.0)
    rng = np.random.default_rng(0)
    for _ in range(len(plan) + 2):
        action = oracle(obs, info, env, rng, 1)[0]
        obs, reward, terminated, truncated, info = env.step(action)
        if terminated:
            break
    assert info["success"] and env.plan_progress == len(plan)
    assert env.oracle_next() is None


def test_near_miss_proposes_the_task_traps(env):
    obs, info = env.reset(seed=3)
    meta = env.instance.meta
    rng = np.random.default_rng(0)
    # Walk the plan until a distractor or a goal field is on the page.
    for _ in range(len(env.oracle_plan())):
        keys = {el.get("key") for el in env.elements}
        if keys & (set(meta.distractors) | set(meta.fields)):
            break
        obs, _, _, _, info = env.step(env.oracle_next())
    cands = NearMissProposer()(obs, info, env, rng, 4)
    assert cands, "a page with traps gives near-miss candidates"
    by_id = {el["id"]: el for el in env.elements}
    oracle = env.oracle_next()
    for c in cands:
        assert c != oracle
        el = by_id[int(c[c.index("(") + 1 :].split(",")[0].rstrip(")"))]
        assert el.get("key") in set(meta.distractors) | set(meta.fields)


def test_sampled_proposer_draws_one_action_at_a_time_until_enough_are_distinct():
    draws = iter(["a", "a", "b", "a", "c", "d"])
    asked = []

    def policy(obs, info, env, rng, n):
        asked.append(n)
        return [next(draws)]

    sampled = SampledProposer(policy, draws_per_candidate=2)
    assert sampled({}, {}, None, np.random.default_rng(0), 3) == ["a", "b", "c"]
    assert asked == [1, 1, 1, 1, 1], "stops once 3 distinct actions are in"
    always_a = SampledProposer(lambda *args: ["a"], draws_per_candidate=3)
    assert always_a({}, {}, None, np.random.default_rng(0), 2) == ["a"], "at most 6 draws"
    spec = make_proposer("samples:oracle:0.5")
    assert isinstance(spec, SampledProposer) and spec.policy.epsilon == 0.5
    with pytest.raises(ValueError, match="draws_per_candidate"):
        SampledProposer(policy, draws_per_candidate=0)
