"""Shared fixtures: browser-backed envs closed per module, a tiny reward-model config."""

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


@pytest.fixture(scope="session")
def tiny_model_kwargs():
    """A SimilarRMConfig small enough to build and train in seconds (MiniLM stays the backbone)."""
    return dict(
        image_size=(32, 48),
        vision_hidden=32,
        vision_layers=1,
        vision_heads=2,
        fusion_hidden=32,
        gate_hidden=8,
        lora_r=2,
        lora_alpha=4,  # scale 2: the toy tasks train at lr 3e-3 on every linear layer
        max_length=48,
    )
