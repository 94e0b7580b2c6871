"""Shared fixtures of the command-line tests."""

import numpy as np
import pytest

from similar_gym.records import encode_png
from similar_gym.srm_data import PAIR_TYPES, write_pairs


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    """24 pairs, 4 per type, half "train" and half "heldout-templates"; chosen names the goal."""
    rng = np.random.default_rng(0)
    image = encode_png(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    rows = [
        {
            "id": f"p{i}",
            "step_idx": 0,
            "instruction": "buy the red shirt",
            "type": PAIR_TYPES[i % 6],
            "reason_steps": [],
            "image": image,
            "chosen": f'click({i}) on button "red shirt"',
            "rejected": f'click({i + 50}) on link "help"',
            "split": ("train", "heldout-templates")[(i // 6) % 2],
        }
        for i in range(24)
    ]
    path = tmp_path_factory.mktemp("cli") / "pairs.parquet"
    write_pairs(rows, path)
    return path
