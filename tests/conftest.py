"""Shared fixtures: one browser-backed env per test module where tests can share it."""

import gymnasium as gym
import pytest

import similar_gym  # noqa: F401


@pytest.fixture(scope="module")
def make_env():
    """Makes envs that are closed at the end of the module."""
    made = []

    def make(**kwargs):
        env = gym.make("Similar/Web-v0", **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
