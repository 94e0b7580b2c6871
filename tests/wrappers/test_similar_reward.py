"""SimilarRewardWrapper and its vector form on real Similar-Gym envs."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from reward_model.dimensions import CODES
from reward_model.modeling import resolve_dtype
from similar_gym.records import StepContext
from wrappers import (
    AdapterError,
    RewardMix,
    SimilarRewardVectorWrapper,
    SimilarRewardWrapper,
    SimilarWebAdapter,
)

TASK = "shop/buy-product"


class RecordingModel:
    """Scores a step by its action's length; remembers every batch it was given."""

    def __init__(self, use_image=True):
        self.batches: list[list[StepContext]] = []
        self.config = type("Config", (), {"use_image": use_image})()

    def score(self, contexts):
        self.batches.append(list(contexts))
        n = np.array([len(c.action) for c in contexts], dtype=np.float64)
        out = {c: n * (i + 1) / 100 for i, c in enumerate(CODES)}
        out["reward"] = n / 10
        out["total"] = n
        return out


def test_reward_is_env_reward_plus_the_similar_reward_with_history(make_env):
    model = RecordingModel()
    env = SimilarRewardWrapper(make_env(task=TASK), model=model, scale=2.0)
    obs, info = env.reset(seed=0)
    first = next(a for a in info["valid_actions"] if a.startswith("click("))
    obs1, reward, _, _, info1 = env.step(first)
    ctx = model.batches[-1][0]
    assert ctx.action == first and ctx.history == () and ctx.step_idx == 0
    assert ctx.instruction == info["instruction"] and ctx.page_text == info["page_text"]
    assert np.array_equal(ctx.screenshot, obs["screenshot"]), "the screen before the action"
    assert ctx.target and ctx.target == info1["action_target"]
    assert reward == pytest.approx(0.0 + 2.0 * len(first) / 10)
    assert info1["similar"]["similar"] == pytest.approx(len(first) / 10)
    assert info1["similar"]["mixed"] == pytest.approx(reward)
    assert set(info1["similar"]) == {*CODES, "similar", "mixed"}
    env.step("scroll(down)")
    ctx2 = model.batches[-1][0]
    assert ctx2.history == (f"{first} on {ctx.target}",) and ctx2.step_idx == 1
    assert np.array_equal(ctx2.screenshot, obs1["screenshot"])
    env.reset(seed=1)
    env.step("noop()")
    assert model.batches[-1][0].history == (), "a new episode starts a new history"


def test_replace_mode_weights_and_invalid_actions(make_env):
    model = RecordingModel()
    env = SimilarRewardWrapper(
        make_env(task=TASK), model=model, mode="replace", weights={"OS": 1.0, "TR": -1.0}
    )
    env.reset(seed=0)
    _, reward, _, _, info = env.step("this is not an action")
    ctx = model.batches[-1][0]
    assert ctx.action == "this is not an action" and info["action_error"]
    n = len(ctx.action)
    assert reward == pytest.approx(n * 2 / 100 - n * 4 / 100)
    assert gym.utils.RecordConstructorArgs in type(env).__mro__
    assert env.spec is None or env.spec.kwargs is not None
    with pytest.raises(ValueError, match="mode"):
        RewardMix(mode="multiply")
    with pytest.raises(ValueError, match="unknown dimensions"):
        RewardMix(weights={"XX": 1.0})
    with pytest.raises(ValueError, match="finite"):
        RewardMix(scale=float("nan"))


def test_set_scale_changes_the_factor_from_the_next_step(make_env):
    env = SimilarRewardWrapper(make_env(task=TASK), model=RecordingModel(), mode="replace")
    env.reset(seed=0)
    _, full, *_ = env.step("noop()")
    env.set_scale(0.25)
    _, quarter, *_ = env.step("noop()")
    assert full == pytest.approx(len("noop()") / 10) and quarter == pytest.approx(full / 4)
    with pytest.raises(ValueError, match="finite"):
        env.set_scale(float("inf"))
    assert env.mix.scale == 0.25 and env.mix.mode == "replace"


def test_potential_shaping_rewards_the_change_of_the_score_and_resets_per_episode(make_env):
    env = SimilarRewardWrapper(
        make_env(task=TASK), model=RecordingModel(), mode="replace", shaping="potential", gamma=0.9
    )
    env.reset(seed=0)
    _, first, *_ = env.step("noop()")
    _, second, _, _, info = env.step('scroll("down")')
    assert first == pytest.approx(0.9 * 0.6), "Phi(s_0) = 0"
    assert second == pytest.approx(0.9 * 1.4 - 0.6)
    assert info["similar"]["similar"] == pytest.approx(1.4), "the score before shaping"
    env.reset(seed=1)
    _, again, *_ = env.step("noop()")
    assert again == pytest.approx(first), "a new episode starts from Phi = 0"
    assert env.mix.shaping == "potential" and env.mix.gamma == 0.9
    with pytest.raises(ValueError, match="shaping"):
        RewardMix(shaping="difference")
    with pytest.raises(ValueError, match="gamma"):
        RewardMix(shaping="potential", gamma=0.0)


def test_potential_shaping_adds_nothing_to_an_episodes_total():
    scores = [0.3, 2.0, 2.0, 2.0, -0.5]
    for gamma, expected in ((1.0, 0.0), (0.9, -0.1 * (0.3 + 2.0 + 2.0 + 2.0))):
        mix = RewardMix(shaping="potential", gamma=gamma)
        phi, total = np.zeros(1), 0.0
        for t, score in enumerate(scores):
            ended = np.array([t == len(scores) - 1])
            shaped, phi = mix.shape(np.array([score]), phi, ended)
            total += float(shaped[0])
        assert total == pytest.approx(expected), "looping on well-scored steps earns nothing"
    mix = RewardMix(shaping="potential")
    running = mix.shape(np.array([2.0]), np.array([0.3]), np.array([False]))
    assert running[0].tolist() == [1.7] and running[1].tolist() == [2.0], "mid-episode: change"
    plain = RewardMix().shape(np.array([0.3, 2.0]), np.array([5.0, 5.0]), np.array([True, False]))
    assert plain[0].tolist() == [0.3, 2.0], "no shaping: the score itself"


def test_discrete_actions_are_scored_as_the_text_they_became(make_env):
    model = RecordingModel()
    env = SimilarRewardWrapper(make_env(task=TASK, action_mode="discrete"), model=model)
    env.reset(seed=0)
    env.action_space.seed(0)
    _, _, _, _, info = env.step(env.action_space.sample())
    ctx = model.batches[-1][0]
    assert ctx.action == (info["action"] or ctx.action)
    assert not ctx.action.startswith("(") or info["action"] is None


def test_the_default_model_scores_a_real_step(make_env):
    env = SimilarRewardWrapper(make_env(task=TASK))
    assert env.model.head.weight.dtype == resolve_dtype("auto"), "dtype='auto' by default"
    _, info = env.reset(seed=0)
    action = info["valid_actions"][0]
    _, reward, _, _, info = env.step(action)
    assert np.isfinite(reward) and all(np.isfinite(v) for v in info["similar"].values())
    assert reward == pytest.approx(info["similar"]["mixed"])
    exact = SimilarRewardWrapper(make_env(task=TASK), dtype="float32")
    assert exact.model.head.weight.dtype == torch.float32
    exact.reset(seed=0)
    _, exact_reward, _, _, _ = exact.step(action)
    assert reward == pytest.approx(exact_reward, abs=0.1)


def test_scoring_during_the_step_gives_what_scoring_after_it_gives(make_env):
    actions = ["click(3)", "this is not an action", 'scroll("down")', "click(5)", "noop()"]
    seen = {}
    for overlap in (True, False):
        model = RecordingModel()
        env = SimilarRewardWrapper(make_env(task=TASK), model=model, overlap=overlap)
        env.reset(seed=0)
        rewards = [env.step(a)[1] for a in actions]
        steps = [(c.action, c.target, c.history) for batch in model.batches for c in batch]
        seen[overlap] = (rewards, steps)
        assert (env._early is not None) == overlap
        env.close()
    assert seen[True] == seen[False]
    assert len(seen[True][1]) == len(actions), "one model call per step, none wasted"

    # A preview that guesses wrong costs a second call, never a wrong reward.
    base = make_env(task=TASK)
    base.unwrapped.action_info = lambda action: {"action": "noop()", "action_target": ""}
    model = RecordingModel()
    env = SimilarRewardWrapper(base, model=model)
    env.reset(seed=0)
    assert env.step("click(3)")[1] == pytest.approx(len("click(3)") / 10)
    assert [b[0].action for b in model.batches] == ["noop()", "click(3)"]
    env.close()


def test_clear_errors_for_a_missing_screenshot_or_adapter(make_env):
    no_shot = gym.wrappers.FilterObservation(
        make_env(task=TASK), ["instruction", "page_text", "url", "last_action_error"]
    )
    env = SimilarRewardWrapper(no_shot, model=RecordingModel())
    env.reset(seed=0)
    with pytest.raises(AdapterError, match="no screenshot"):
        env.step("noop()")
    text_only = SimilarRewardWrapper(no_shot, model=RecordingModel(use_image=False))
    text_only.reset(seed=0)
    assert text_only.step("noop()")[4]["similar"]
    with pytest.raises(AdapterError, match="no built-in adapter for CartPole-v1"):
        SimilarRewardWrapper(gym.make("CartPole-v1"), model=RecordingModel())
    cart = SimilarRewardWrapper(
        gym.make("CartPole-v1"), model=RecordingModel(), adapter=SimilarWebAdapter()
    )
    cart.reset(seed=0)
    with pytest.raises(AdapterError, match="info has no 'instruction', 'page_text'"):
        cart.step(0)


def test_vector_wrapper_scores_the_batch_in_one_call_and_skips_reset_steps():
    model = RecordingModel()
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("Similar/Web-v0", task=TASK, max_steps=2) for _ in range(2)]
    )
    env = SimilarRewardVectorWrapper(envs, model=model)
    try:
        env.reset(seed=[0, 1])
        actions = np.array(['scroll("down")', "noop()"], dtype=object)
        _, rewards, _, trunc, infos = env.step(actions)
        assert len(model.batches) == 1 and [c.action for c in model.batches[0]] == list(actions)
        assert rewards == pytest.approx([len('scroll("down")') / 10, len("noop()") / 10])
        assert infos["_similar"].all() and infos["similar"]["mixed"] == pytest.approx(rewards)
        _, rewards, _, trunc, infos = env.step(actions)
        assert trunc.all(), "max_steps=2 ends both episodes"
        assert [len(c.history) for c in model.batches[1]] == [1, 1]
        _, rewards, _, _, infos = env.step(actions)  # both sub-envs reset on this step
        assert len(model.batches) == 2 and not infos["_similar"].any()
        assert rewards == pytest.approx([0.0, 0.0])
        env.step(actions)
        assert [len(c.history) for c in model.batches[2]] == [0, 0]
    finally:
        env.close()


def test_vector_wrapper_keeps_one_potential_per_sub_env_and_resets_it():
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("Similar/Web-v0", task=TASK, max_steps=2) for _ in range(2)]
    )
    env = SimilarRewardVectorWrapper(
        envs, model=RecordingModel(), mode="replace", shaping="potential"
    )
    try:
        env.reset(seed=[0, 1])
        actions = np.array(['scroll("down")', "noop()"], dtype=object)
        _, rewards, *_ = env.step(actions)
        assert rewards == pytest.approx([1.4, 0.6])
        _, rewards, _, trunc, _ = env.step(actions)
        assert trunc.all() and rewards == pytest.approx([-1.4, -0.6]), "Phi = 0 at the end"
        env.step(actions)  # the reset step
        _, rewards, *_ = env.step(actions)
        assert rewards == pytest.approx([1.4, 0.6]), "each new episode starts from Phi = 0"
    finally:
        env.close()


def test_vector_wrapper_around_async_workers():
    model = RecordingModel()
    envs = gym.vector.AsyncVectorEnv(
        [lambda: gym.make("Similar/Web-v0", task=TASK) for _ in range(2)], shared_memory=False
    )
    env = SimilarRewardVectorWrapper(envs, model=model)
    try:
        obs, _ = env.reset(seed=[0, 1])
        _, rewards, _, _, infos = env.step(np.array(["noop()", 'scroll("down")'], dtype=object))
        ctxs = model.batches[0]
        assert [c.action for c in ctxs] == ["noop()", 'scroll("down")']
        assert np.array_equal(ctxs[1].screenshot, obs["screenshot"][1])
        assert infos["similar"]["mixed"] == pytest.approx(rewards)
    finally:
        env.close()


def test_vector_wrapper_scores_its_guesses_during_the_step_and_rewards_do_not_change():
    steps = [
        np.array(["click(3)", 'fill(2, "boots")'], dtype=object),
        np.array(["not an action", "click(5)"], dtype=object),
        np.array(['scroll("down")', "click(7)"], dtype=object),
    ]
    seen = {}
    for overlap in (True, False):
        model = RecordingModel()
        envs = gym.vector.SyncVectorEnv(
            [lambda: gym.make("Similar/Web-v0", task=TASK) for _ in range(2)]
        )
        env = SimilarRewardVectorWrapper(envs, model=model, overlap=overlap)
        try:
            env.reset(seed=[0, 1])
            rewards = [env.step(a)[1].tolist() for a in steps]
        finally:
            env.close()
        contexts = [(c.action, c.target, c.history) for b in model.batches for c in b]
        seen[overlap] = (rewards, contexts, len(model.batches))
    assert seen[True] == seen[False]
    assert seen[True][2] == len(steps), "every guess was right: one model call per step"
    assert any(target for _, target, _ in seen[True][1]), "element targets were guessed"


def test_similar_adapter_guesses_what_the_step_reports(make_env):
    env = make_env(task="settings/update-profile")
    _, info = env.reset(seed=0)
    for action in [*info["valid_actions"], "click(999)", "bogus("]:
        guess = SimilarWebAdapter.preview(info, action)
        real = env.unwrapped.action_info(action)
        assert (guess["action"], guess["action_target"]) == (real["action"], real["action_target"])
    assert SimilarWebAdapter.preview(info, np.array([0, 1, 0])) is None, "not a text action"
