"""Scoring during the env's step: the child scoring process and the choice of backend."""

import gymnasium as gym
import numpy as np
import pytest

from similar_gym.records import StepContext
from wrappers import SimilarRewardVectorWrapper, SimilarRewardWrapper
from wrappers.scoring import ScoringError, ScoringProcess, early_scorer

TASK = "shop/buy-product"
ACTIONS = ["click(3)", 'scroll("down")', "this is not an action", 'fill(2, "boots")', "noop()"]


class ConstantModel:
    config = type("Config", (), {"use_image": True})()

    def score(self, contexts):
        return {"reward": np.ones(len(contexts))}


def _rollout(env):
    env.reset(seed=0)
    steps = [env.step(a) for a in ACTIONS]
    return [r for _, r, _, _, _ in steps], [i["similar"] for *_, i in steps]


def test_a_named_model_scores_in_a_child_process_what_it_scores_here(make_env):
    here = SimilarRewardWrapper(make_env(task=TASK), dtype="float32", overlap=False)
    there = SimilarRewardWrapper(make_env(task=TASK), dtype="float32", overlap="process")
    assert here._early is None and there._early.process is not None
    child = there._early.process.child
    try:
        rewards, infos = _rollout(there)
        shot, small = there._early._prefetched[0]
        assert shot is there._obs["screenshot"], "the next screenshot was shrunk in advance"
        assert small.shape == (*there.model.config.image_size, 3)
        expected, expected_infos = _rollout(here)
    finally:
        there.close()
    assert rewards == pytest.approx(expected, abs=1e-4)
    for got, want in zip(infos, expected_infos, strict=True):
        assert got == pytest.approx(want, abs=1e-4)
    assert child.poll() is not None, "close() stopped the child"
    # A named model gets the process by default; a model object gets the thread.
    auto = SimilarRewardWrapper(make_env(task=TASK), model=here.model)
    assert auto._early is not None and auto._early.process is None
    auto.close()


def test_the_vector_wrapper_scores_its_batches_in_the_child_too():
    model_here = None
    seen = {}
    for overlap in ("process", False):
        envs = gym.vector.SyncVectorEnv(
            [lambda: gym.make("Similar/Web-v0", task=TASK) for _ in range(2)]
        )
        env = SimilarRewardVectorWrapper(
            envs, model=model_here or "default", dtype="float32", overlap=overlap
        )
        model_here = env.model
        assert (env._early is not None and env._early.process is not None) == (overlap == "process")
        try:
            env.reset(seed=[0, 1])
            seen[overlap] = [
                env.step(np.array([a, "noop()"], dtype=object))[1].tolist() for a in ACTIONS
            ]
        finally:
            env.close()
    assert np.allclose(seen["process"], seen[False], atol=1e-4)


def test_clear_errors_for_a_bad_overlap_or_a_child_that_cannot_load(make_env, tmp_path):
    with pytest.raises(ValueError, match="overlap must be True, False or one of"):
        SimilarRewardWrapper(gym.make("CartPole-v1"), model=ConstantModel(), overlap="fork")
    with pytest.raises(ValueError, match="pass the model by name or folder"):
        SimilarRewardWrapper(make_env(task=TASK), model=ConstantModel(), overlap="process")
    model = ConstantModel()
    assert early_scorer("thread", model, "default", None).process is None
    broken = ScoringProcess(tmp_path)  # an empty folder: the child fails to load it
    ctx = StepContext("Buy boots", (), None, '[1] button "Buy"', "click(1)")
    try:
        with pytest.raises(ScoringError, match=r"config\.json"):
            broken.score([ctx])
    finally:
        broken.close()


def test_off_posix_a_named_model_scores_in_a_thread_instead(monkeypatch):
    import wrappers.scoring as scoring

    monkeypatch.setattr(scoring, "PROCESS_SUPPORTED", False)
    model = ConstantModel()
    early = early_scorer(True, model, "default", None)
    assert early.process is None and early._pool is not None
    early.close()
    with pytest.raises(ValueError, match="needs a POSIX system"):
        early_scorer("process", model, "default", None)
    with pytest.raises(OSError, match="needs a POSIX system"):
        ScoringProcess("default")


def _contexts(*actions):
    page = '[1] button "Buy"'
    return [StepContext("Buy boots", (), None, page, a, 'button "Buy"') for a in actions]


def test_handles_onto_one_model_share_one_child_and_get_their_own_answers(make_env):
    first = ScoringProcess("default", dtype="float32")
    second = ScoringProcess("default", dtype="float32")
    try:
        assert first.child is second.child, "one child for the same model, dtype and threads"
        a, b = _contexts("click(1)"), _contexts("noop()", 'scroll("down")')
        reply_a, reply_b = first.submit(a), second.submit(b)
        got_b, got_a = reply_b.result(), reply_a.result()  # read in the other order
        assert len(got_a["reward"]) == 1 and len(got_b["reward"]) == 2
        assert np.allclose(got_a["reward"], first.score(a)["reward"])
        assert np.allclose(got_b["reward"], second.score(b)["reward"])
        assert got_a["reward"][0] != got_b["reward"][0]
        child = first.child
        first.close()
        assert child.poll() is None, "the other handle still uses it"
        assert second.score(a)["reward"] == pytest.approx(got_a["reward"])
        with pytest.raises(ScoringError, match="closed"):
            first.score(a)
    finally:
        second.close()
    child.wait(timeout=10)
    assert child.poll() is not None, "the last handle stopped the child"
    # Wrappers given the model by name share it the same way.
    envs = [make_env(task=TASK) for _ in range(2)]
    wrapped = [SimilarRewardWrapper(e, dtype="float32", overlap="process") for e in envs]
    try:
        assert wrapped[0]._early.process.child is wrapped[1]._early.process.child
    finally:
        for w in wrapped:
            w.close()


def test_a_forked_process_or_another_dtype_gets_its_own_child(monkeypatch):
    import wrappers.scoring as scoring

    first = ScoringProcess("default", dtype="float32")
    try:
        other_dtype = ScoringProcess("default", dtype="bfloat16")
        assert other_dtype.child is not first.child
        other_dtype.close()
        monkeypatch.setattr(scoring.os, "getpid", lambda: -1)  # as if this were a forked child
        forked = ScoringProcess("default", dtype="float32")
        assert forked.child is not first.child
        forked.close()
    finally:
        first.close()
