"""The Farama miniwob adapter on the miniwob package's own env (Selenium + chromedriver)."""

import os
import shutil

import gymnasium as gym
import numpy as np
import pytest

from wrappers import FaramaMiniWoBAdapter, SimilarRewardWrapper

DRIVER = os.environ.get("MINIWOB_CHROMEDRIVER") or shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    DRIVER is None, reason="chromedriver missing: `bash scripts/setup.sh` installs it"
)


class RecordingModel:
    config = type("Config", (), {"use_image": True})()

    def __init__(self):
        self.contexts = []

    def score(self, contexts):
        self.contexts += contexts
        n = len(contexts)
        out = {c: np.zeros(n) for c in ("H", "OS", "E", "TR", "C", "total")}
        out["reward"] = np.full(n, 0.5)
        return out


@pytest.fixture(scope="module")
def farama_env():
    import miniwob  # noqa: F401  (registers miniwob/*)

    os.environ.setdefault("MINIWOB_CHROMEDRIVER", DRIVER)
    os.environ.setdefault("MINIWOB_CHROME_BINARY", shutil.which("chromium") or "/usr/bin/chromium")
    env = gym.make("miniwob/login-user-v1", disable_env_checker=True)
    yield env
    env.close()


def test_farama_steps_become_similar_contexts(farama_env):
    model = RecordingModel()
    env = SimilarRewardWrapper(farama_env, model=model)
    assert isinstance(env.adapter, FaramaMiniWoBAdapter)
    obs, _ = env.reset(seed=0)
    types = [t.name for t in env.adapter.action_config.action_types]
    textbox = next(el for el in obs["dom_elements"] if el["tag"] == "input_text")
    action = env.action_space.sample()
    action.update(
        action_type=types.index("FOCUS_ELEMENT_AND_TYPE_FIELD"), ref=textbox["ref"], field=0
    )
    _, reward, _, _, info = env.step(action)
    ctx = model.contexts[-1]
    user = dict(obs["fields"])["username"]
    assert ctx.instruction == obs["utterance"]
    assert ctx.action == f'fill({textbox["ref"]}, "{user}")' and ctx.target.startswith("textbox")
    assert f"[{textbox['ref']}] textbox" in ctx.page_text
    assert np.array_equal(ctx.screenshot, obs["screenshot"])
    assert reward == pytest.approx(info["similar"]["mixed"]) and info["similar"]["similar"] == 0.5
    action.update(action_type=types.index("PRESS_KEY"), key=0)
    env.step(action)
    assert model.contexts[-1].action == 'press("Enter")'
    assert model.contexts[-1].history == (f"{ctx.action} on {ctx.target}",)
