import json
import subprocess
import sys
import tempfile

import gymnasium as gym
import numpy as np
import psutil
import pytest
from gymnasium.utils.env_checker import check_env

from similar_gym.actions import DISCRETE_TYPES
from similar_gym.tasks import own_task_ids

STATIC_MINIWOB = "miniwob/click-checkboxes"


def _same_obs(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            assert a[k] == b[k], k


def test_import_is_cheap():
    code = (
        "import sys, similar_gym, gymnasium as gym; "
        "assert 'Similar/Web-v0' in gym.registry; "
        "bad = [m for m in ('torch', 'playwright', 'similar_gym.web_env') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_check_env_text_mode(make_env):
    env = make_env(task=STATIC_MINIWOB)
    check_env(env.unwrapped)


def test_check_env_discrete_mode(make_env):
    env = make_env(task=own_task_ids()[:2], action_mode="discrete", screenshot_size=(96, 128))
    check_env(env.unwrapped)
    assert isinstance(env.action_space, gym.spaces.MultiDiscrete)
    assert list(env.action_space.nvec) == [len(DISCRETE_TYPES), 64, 16]
    assert env.observation_space["screenshot"].shape == (96, 128, 3)


def test_observation_contents(make_env):
    env = make_env()
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    assert obs["screenshot"].dtype == np.uint8 and obs["screenshot"].shape == (480, 640, 3)
    assert obs["instruction"] and obs["last_action_error"] == ""
    assert obs["url"].startswith("http://similar.test/apps/")
    assert "[1]" in obs["page_text"]
    assert info["task_id"] in own_task_ids() and info["step"] == 0
    assert {"success", "valid_actions", "text_slots", "action_error"} <= info.keys()
    assert "noop()" in info["valid_actions"]


@pytest.mark.parametrize("task", [None, STATIC_MINIWOB])
def test_same_seed_same_observation(make_env, task):
    env_a, env_b = make_env(task=task), make_env(task=task)
    obs_a, info_a = env_a.reset(seed=11)
    obs_b, info_b = env_b.reset(seed=11)
    _same_obs(obs_a, obs_b)
    assert info_a["task_id"] == info_b["task_id"]
    env_a.reset(seed=12)
    obs_c, _ = env_a.reset(seed=11)
    _same_obs(obs_a, obs_c)


def test_seeds_draw_different_tasks_and_instances(make_env):
    env = make_env()
    seen = {env.reset(seed=s)[1]["task_id"] for s in range(30)}
    assert len(seen) >= 8


def test_snapshot_restore_then_step_equals_original_step_own(make_env):
    env = make_env(task=own_task_ids()[0])
    base = env.unwrapped
    env.reset(seed=5)
    env.step(base.oracle_step(0))
    snap = base.snapshot()
    action = base.oracle_step(1)
    first = env.step(action)
    env.step("scroll(down)")
    env.step(base.valid_actions()[-1])
    restored_obs = base.restore(snap)
    second = env.step(action)
    _same_obs(first[0], second[0])
    assert first[1:4] == second[1:4]
    assert first[4]["step"] == second[4]["step"] == 2
    assert restored_obs["url"] == first[0]["url"] or restored_obs["page_text"]


def test_snapshot_restore_then_step_equals_original_step_miniwob(make_env):
    env = make_env(task=STATIC_MINIWOB)
    base = env.unwrapped
    env.reset(seed=2)
    boxes = [e["id"] for e in base.elements if e["role"] == "checkbox"]
    env.step(f"click({boxes[0]})")
    snap = base.snapshot()
    action = f"click({boxes[-1]})"
    first = env.step(action)
    env.step(f"click({boxes[0]})")
    base.restore(snap)
    second = env.step(action)
    _same_obs(first[0], second[0])
    assert first[1:4] == second[1:4]


def test_bad_text_actions_never_raise(make_env):
    env = make_env(task=STATIC_MINIWOB, viewport=(320, 240))
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    pieces = [
        "click(",
        "fill(",
        "select(",
        ")",
        ",",
        '"',
        "'",
        "\\",
        "99999",
        "-1",
        "1.5",
        "noop",
        "scroll",
        "press(",
        "Enter",
        "\x00",
        "é",
        "\n",
        " ",
        "eval",
        "__import__",
    ]
    errors = 0
    for i in range(300):
        if i % 2:
            text = "".join(rng.choice(pieces, size=rng.integers(1, 8)))
        else:
            text = "".join(chr(c) for c in rng.integers(32, 0x2FF, size=rng.integers(0, 30)))
        obs, reward, terminated, truncated, info = env.step(text)
        if info["action_error"]:
            errors += 1
            assert obs["last_action_error"]
        if terminated or truncated:
            env.reset(seed=i)
    assert errors > 200


def test_bad_discrete_actions_never_raise(make_env):
    env = make_env(task=own_task_ids()[:3], action_mode="discrete", screenshot_size=(60, 80))
    env.reset(seed=0)
    rng = np.random.default_rng(1)
    outcomes = {"ok": 0, "error": 0}
    for i in range(300):
        action = rng.integers(-3, 70, size=3) if i % 3 == 0 else env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(action)
        outcomes["error" if info["action_error"] else "ok"] += 1
        if terminated or truncated:
            env.reset(seed=i)
    assert outcomes["ok"] > 0 and outcomes["error"] > 0
    with pytest.raises(Exception, match=r"three integers|out of range"):
        env.unwrapped.decode_action("click(1)")


def test_actions_sampled_under_the_mask_never_name_an_empty_slot(make_env):
    env = make_env(
        task=["miniwob/login-user", "settings/privacy-setting"],
        action_mode="discrete",
        max_elements=32,
        max_text_slots=4,
        screenshot_size=(60, 80),
    )
    env.reset(seed=0)
    space = env.action_space
    space.seed(0)
    nvec = list(space.nvec)
    for i in range(60):
        mask = env.unwrapped.action_masks()
        assert mask.shape == (sum(nvec),) and mask.dtype == bool
        parts = np.split(mask, np.cumsum(nvec)[:-1])
        action = [np.random.default_rng(i).choice(np.flatnonzero(p)) for p in parts]
        *_, terminated, truncated, info = env.step(np.array(action))
        assert "empty" not in (info["action_error"] or ""), (action, info["action_error"])
        if terminated or truncated:
            env.reset(seed=i)
    text_env = make_env(task=STATIC_MINIWOB)
    text_env.reset(seed=0)
    with pytest.raises(RuntimeError, match="discrete"):
        text_env.unwrapped.action_masks()


def test_step_after_the_end_explains(make_env):
    env = make_env(task=own_task_ids()[0], max_steps=2)
    env.reset(seed=0)
    env.step("noop()")
    *_, terminated, truncated, _ = env.step("noop()")
    assert truncated and not terminated
    obs, reward, terminated, truncated, info = env.step("noop()")
    assert reward == 0.0 and "episode is over" in info["action_error"]


def test_unknown_element_and_wrong_verb_are_reported(make_env):
    env = make_env(task=STATIC_MINIWOB)
    env.reset(seed=0)
    _, _, _, _, info = env.step("click(999)")
    assert "no element with id 999" in info["action_error"]
    label = next(e["id"] for e in env.unwrapped.elements if e["role"] == "button")
    _, _, _, _, info = env.step(f'select({label}, "x")')
    assert "not a <select>" in info["action_error"]


def test_unknown_task_has_a_helpful_error():
    with pytest.raises(KeyError, match="did you mean miniwob/click-test"):
        gym.make("Similar/Web-v0", task="miniwob/click-tst")


def test_render_rgb_array(make_env):
    env = make_env(task=STATIC_MINIWOB, render_mode="rgb_array", viewport=(320, 240))
    obs, _ = env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (240, 320, 3)
    np.testing.assert_array_equal(frame, obs["screenshot"])


def test_browser_crash_is_reported_and_relaunched(make_env):
    env = make_env(task=STATIC_MINIWOB)
    env.reset(seed=0)
    psutil.Process(env.unwrapped.browser.pid).kill()
    _, reward, terminated, truncated, info = env.step("noop()")
    assert truncated and not terminated and reward == 0.0
    assert "browser_error" in info
    obs, info = env.reset(seed=0)
    assert info.get("browser_relaunched") is True
    assert obs["instruction"]
    env.step("noop()")


def test_async_vector_env_text_mode():
    make = [lambda: gym.make("Similar/Web-v0", task=STATIC_MINIWOB, viewport=(320, 240))] * 2
    # Text fields go through shared memory character by character; the README advises False.
    envs = gym.vector.AsyncVectorEnv(make, shared_memory=False)
    try:
        obs, infos = envs.reset(seed=[0, 1])
        assert obs["screenshot"].shape == (2, 240, 320, 3)
        assert len(obs["instruction"]) == 2
        obs, rewards, terminated, truncated, infos = envs.step(["noop()", "click(1)"])
        assert rewards.shape == (2,)
    finally:
        envs.close()


def test_async_vector_env_discrete_numeric_shared_memory():
    def make():
        return gym.make(
            "Similar/Web-v0",
            task=STATIC_MINIWOB,
            action_mode="discrete",
            screenshot_size=(60, 80),
        )

    envs = gym.vector.AsyncVectorEnv([make, make], shared_memory=True)
    try:
        obs, _ = envs.reset(seed=0)
        assert obs["element_features"].shape == (2, 64, 8)
        obs, rewards, *_ = envs.step(envs.action_space.sample())
        assert rewards.shape == (2,)
    finally:
        envs.close()


def test_twenty_envs_leave_no_chromium_behind(tmp_path, monkeypatch):
    # Every process of a session's browser carries its profile folder, orphans included. The
    # profiles go to a folder of this test's own, so that browsers other jobs on the machine
    # start meanwhile do not count.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def live_chromium():
        out = set()
        for p in psutil.process_iter(["status", "cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            if f"{tmp_path}/similar-chromium-" in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
                out.add(p.pid)
        return out

    for i in range(20):
        env = gym.make("Similar/Web-v0", task=STATIC_MINIWOB, viewport=(160, 120))
        env.reset(seed=i)
        if i == 0:
            assert live_chromium(), "the browser's processes are found by their profile"
        env.step("noop()")
        env.close()
    leaked = live_chromium()
    assert not leaked, f"{len(leaked)} Chromium processes left behind"


def test_tasks_cli_lists_every_task():
    out = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "tasks", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = json.loads(out)
    own = [r for r in rows if r["suite"] == "own"]
    assert len(own) >= 16 and len({r["app"] for r in own}) >= 4
    assert all(3 <= r["oracle_length"] <= 12 for r in own)
    assert sum(r["suite"] == "miniwob" for r in rows) >= 100
    assert {"id", "suite", "app", "oracle_length"} <= rows[0].keys()


def test_sb3_ppo_trains_on_the_discrete_mode():
    from stable_baselines3 import PPO

    env = gym.make(
        "Similar/Web-v0",
        task=own_task_ids()[:2],
        action_mode="discrete",
        screenshot_size=(48, 64),
        max_steps=8,
    )
    try:
        model = PPO("MultiInputPolicy", env, n_steps=16, batch_size=16, n_epochs=1, seed=0)
        model.learn(total_timesteps=32)
        action, _ = model.predict(env.reset(seed=0)[0])
        assert env.action_space.contains(action)
    finally:
        env.close()
