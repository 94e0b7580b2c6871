"""Shared fixtures of the reward-model tests."""

import pytest


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
        max_length=48,
    )
