import numpy as np
import pytest

from reward_model.dimensions import CODES


class FakeRewardModel:
    """Scores a step by its action's length (as tests/wrappers/test_similar_reward.py does)."""

    def __init__(self):
        self.config = type("Config", (), {"use_image": False})()
        self.calls = 0

    def score(self, contexts):
        self.calls += 1
        n = np.array([len(c.action) for c in contexts], dtype=np.float64)
        out = {c: n * (i + 1) / 100 for i, c in enumerate(CODES)}
        out["reward"] = n / 10
        return out


@pytest.fixture
def fake_model():
    return FakeRewardModel()
