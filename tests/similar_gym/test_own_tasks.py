"""Every own task template: solved by its oracle on 3 seeds, not by a random policy."""

import numpy as np
import pytest

from similar_gym.tasks import get_task, own_task_ids

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def env(make_env):
    return make_env(viewport=(640, 480))


def test_suite_shape():
    ids = own_task_ids()
    assert len(ids) >= 16
    apps = {get_task(i).app for i in ids}
    assert len(apps) >= 4
    for app in apps:
        assert sum(get_task(i).app == app for i in ids) >= 2


@pytest.mark.parametrize("task_id", own_task_ids())
def test_oracle_solves_on_three_seeds(env, task_id):
    base = env.unwrapped
    for seed in SEEDS:
        obs, info = env.reset(seed=seed, options={"task": task_id})
        plan = base.oracle_plan()
        assert 3 <= len(plan) <= 12
        assert base.instance.meta is not None and base.instance.meta.elements
        for i in range(len(plan)):
            assert not info["success"], f"{task_id} seed {seed}: solved before step {i}"
            obs, reward, terminated, truncated, info = env.step(base.oracle_step(i))
            assert info["action_error"] is None, (task_id, seed, i, info["action_error"])
        assert info["success"] and terminated and reward == 1.0, (task_id, seed)


def test_random_policy_rarely_succeeds(env):
    rng = np.random.default_rng(0)
    base = env.unwrapped
    wins, episodes = 0, 0
    for task_id in own_task_ids():
        for seed in SEEDS[:2]:
            _, info = env.reset(seed=100 + seed, options={"task": task_id})
            for _ in range(get_task(task_id).max_steps):
                _, _, terminated, truncated, info = env.step(str(rng.choice(base.valid_actions())))
                if terminated or truncated:
                    break
            wins += int(info["success"])
            episodes += 1
    assert wins / episodes <= 0.1, f"random policy solved {wins}/{episodes}"
