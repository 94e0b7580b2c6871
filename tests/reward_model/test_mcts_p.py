"""MCTS-P: the score formulas, one annotated instance on a real env, and preference pairs."""

import numpy as np
import pytest

from reward_model.dimensions import CODES, TOTAL_RANGE, total
from reward_model.judges import OracleJudge
from reward_model.mcts_p import accumulate, annotate_instance, efficiency, helpfulness
from reward_model.pairs import build_pairs
from similar_gym.policies import make_proposer
from similar_gym.records import StepContext
from similar_gym.srm_data import step_row
from similar_gym.web_env import WebEnv


def test_helpfulness_golden_path():
    """A 4-step successful path: each step gets 1/4 of what is left, AC reaches 1 at the end."""
    ac, hs = 0.0, []
    for i in range(1, 5):
        h = helpfulness(ac, 4, i, True)
        hs.append(h)
        ac = accumulate(ac, h)
    assert hs == pytest.approx([0.25, 0.25, 0.25, 0.25])
    assert ac == pytest.approx(1.0)


def test_helpfulness_failure_and_late_steps():
    assert helpfulness(0.5, 4, 3, False) == pytest.approx(-0.25)
    assert accumulate(0.5, -0.25) == 0.5  # harmful steps do not lower AC
    assert helpfulness(0.0, 3, 7, True) == pytest.approx(1.0)  # past M the denominator is 1


def test_efficiency():
    assert efficiency(4, 3, 4) == pytest.approx(0.25)
    assert efficiency(4, 4, 4) == 0.0  # a detour that still succeeds
    assert efficiency(4, None, 4) == pytest.approx(-0.25)  # no success after: one step lost
    assert efficiency(2, 30, 2) == -1.0  # clipped


@pytest.fixture(scope="module")
def env():
    e = WebEnv(task=["mail/archive-from", "calendar/delete-event"])
    yield e
    e.close()


def _annotate_archive(env):
    return annotate_instance(
        env,
        "mail/archive-from",
        0,
        proposer=make_proposer("oracle:0*1+near-miss*1+random*2"),
        rollout_policy=make_proposer("oracle:0.1"),
        judge=OracleJudge(),
        rng=np.random.default_rng(0),
        num_candidates=4,
        rollouts_per_candidate=2,
        root_rollouts=2,
        max_depth=6,
    )


@pytest.fixture(scope="module")
def annotated(env):
    return _annotate_archive(env)


def test_annotated_instance_follows_the_oracle_to_success(annotated):
    assert annotated.pruned == ""
    followed = [s for s in annotated.steps if s["followed"]]
    assert len(followed) == 3  # the oracle's length
    for s in followed:
        assert s["scores"]["OS"] == 1.0 and s["scores"]["H"] > 0 and s["scores"]["TR"] == 1.0
    assert annotated.trajectories, "successful rollouts are kept"
    assert all(len(t["actions"]) >= 3 for t in annotated.trajectories)


def test_annotated_scores_are_in_range_and_contexts_complete(annotated):
    for s in annotated.steps:
        ctx = s["context"]
        assert isinstance(ctx, StepContext)
        assert ctx.instruction and ctx.page_text and ctx.action
        assert isinstance(ctx.screenshot, bytes) and ctx.screenshot[:4] == b"\x89PNG"
        sc = s["scores"]
        assert set(sc) == set(CODES)
        assert 0 <= sc["OS"] <= 1 and -1 <= sc["H"] <= 1 and -1 <= sc["E"] <= 1
        assert sc["TR"] in (0, 1) and sc["C"] in (0, 1)
        assert TOTAL_RANGE[0] <= total(sc) <= TOTAL_RANGE[1]
    nodes = {s["node"] for s in annotated.steps}
    for node in nodes:
        cands = [s for s in annotated.steps if s["node"] == node]
        assert len({s["context"].action for s in cands}) == len(cands), "candidates are distinct"
        assert sum(s["followed"] for s in cands) == 1
        best = max(cands, key=lambda s: total(s["scores"]))
        assert total(best["scores"]) == total(next(s for s in cands if s["followed"])["scores"])


def test_history_grows_along_the_followed_path(annotated):
    by_step = {}
    for s in annotated.steps:
        by_step.setdefault(s["context"].step_idx, s)
    followed = {
        s["context"].step_idx: s["context"].describe() for s in annotated.steps if s["followed"]
    }
    for i, s in by_step.items():
        assert s["context"].history == tuple(followed[j] for j in range(i))


def test_annotation_is_deterministic(env, annotated):
    again = _annotate_archive(env)
    assert [(s["id"], s["context"], s["scores"]) for s in again.steps] == [
        (s["id"], s["context"], s["scores"]) for s in annotated.steps
    ]


def test_unsolvable_instance_is_pruned(env):
    """A rollout policy that never acts cannot solve anything: the instance is pruned."""
    result = annotate_instance(
        env,
        "calendar/delete-event",
        1,
        proposer=make_proposer("random"),
        rollout_policy=lambda obs, info, env, rng, n: ["noop()"],
        judge=OracleJudge(),
        rng=np.random.default_rng(0),
        root_rollouts=2,
        rollout_max_steps=3,
    )
    assert result.steps == [] and result.pruned == "no root rollout succeeded"


def _row(node, j, action, scores):
    ctx = StepContext("Buy a hat", (), None, '[1] button "Buy"', action, 'button "X"', "t/x", 0)
    return step_row(
        f"{node}/c{j}", ctx, scores, node=node, template="t/x", suite="own", split="train", seed=0
    )


def test_pairs_per_type_ties_dropped_same_action_skipped():
    rows = [
        _row("n0", 0, "click(1)", [0.25, 1.0, 0.25, 1, 1]),
        _row("n0", 1, "click(2)", [0.25, 0.5, 0.0, 1, 0]),
        _row("n0", 2, "click(1)", [0.0, 0.0, 0.0, 0, 0]),  # same action as c0: never paired
        _row("n1", 0, "click(3)", [0.1, 1.0, 0.1, 1, 1]),  # alone at its node: no pairs
    ]
    pairs = build_pairs(rows)
    got = {(p["id"], p["chosen_action"], p["rejected_action"]) for p in pairs}
    # c0 vs c1: H and TR tie; OS, E, C and the total favour c0.
    # c1 vs c2: E and C tie; H, OS, TR and the total favour c1.
    assert got == {(f"n0/c0-c1/{t}", "click(1)", "click(2)") for t in ("OS", "E", "C", "total")} | {
        (f"n0/c1-c2/{t}", "click(2)", "click(1)") for t in ("H", "OS", "TR", "total")
    }
    for p in pairs:
        assert p["split"] == "train" and p["node"] == p["id"].split("/")[0]


def test_oracle_rollouts_rank_miniwob_candidates_cleanly(make_env):
    # With the exact oracle's rollouts, a candidate's labels say whether and how fast the task
    # can still be solved: the plan's step gains, an action that changes nothing gains nothing,
    # one that ends the episode wrongly loses everything.
    from reward_model.judges import make_judge
    from similar_gym.tasks import list_miniwob_ids

    if "miniwob/login-user" not in list_miniwob_ids():
        pytest.skip("the miniwob package is missing")
    env = make_env(task="miniwob/login-user").unwrapped
    result = annotate_instance(
        env,
        "miniwob/login-user",
        0,
        proposer=make_proposer("oracle:0*1+random*3"),
        rollout_policy=make_proposer("oracle:0"),
        judge=make_judge("embedding"),
        rng=np.random.default_rng(0),
        num_candidates=4,
        rollouts_per_candidate=2,
        root_rollouts=2,
        max_depth=4,
    )
    assert result.pruned == ""
    followed = [s for s in result.steps if s["followed"]]
    assert [s["context"].action.split("(")[0] for s in followed] == ["fill", "fill", "click"]
    for s in result.steps:
        sc, action = s["scores"], s["context"].action
        if s["followed"]:
            assert sc["OS"] == 1.0 and sc["E"] > 0, (action, sc)
        elif sc["OS"] == 1.0:
            assert sc["E"] <= 0, (action, sc)  # solvable still, but no nearer
        else:
            assert sc["OS"] == 0.0 and sc["E"] < 0, (action, sc)
