"""WebFeaturesExtractor on real observation spaces (no browser: spaces and arrays only)."""

import numpy as np
import pytest
import torch

from agents.features import WebFeaturesExtractor
from similar_gym.spaces import encode_numeric, observation_space

M, S = 6, 3


def space():
    return observation_space("numeric", (48, 64, 3), 1000, M, S)


def observation(instruction, names, slots):
    elements = [
        {"role": "button", "name": n, "box": (10, 10 * i, 50, 8), "interactive": True}
        for i, n in enumerate(names)
    ]
    obs = encode_numeric(instruction, elements, tuple(slots), (64, 48), M, S)
    obs["screenshot"] = np.zeros((48, 64, 3), dtype=np.uint8)
    return {k: torch.as_tensor(v)[None] for k, v in obs.items()}


def test_output_shape_and_overlap_feature_points_at_the_named_element():
    torch.manual_seed(0)
    ext = WebFeaturesExtractor(space(), embed_dim=8, screenshot_dim=16)
    obs = observation('Click the "Submit order" button', ["Cancel", "Submit order"], ["Ada"])
    feats = ext(obs)
    assert feats.shape == (1, ext.features_dim) == (1, 2 * 8 + 16 + 2 * M + 2 * S)
    overlap = feats[0, 16 + 16 + M : 16 + 16 + 2 * M]
    # "Cancel" shares "button" with the instruction, "Submit order" shares all three words.
    assert overlap[:2].tolist() == pytest.approx([0.5, 1.0])
    assert overlap[2:].tolist() == [-1.0] * (M - 2), "absent slots are marked -1"
    slot_overlap = feats[0, -S:]
    assert slot_overlap.tolist() == [0.0, -1.0, -1.0]


def test_sb3_preprocessed_input_gives_the_same_features():
    torch.manual_seed(0)
    ext = WebFeaturesExtractor(space(), embed_dim=8, screenshot_dim=16)
    obs = observation("Enter Ada", ["Name"], ["Ada"])
    obs["screenshot"][:] = 200
    sb3 = {k: v.float() for k, v in obs.items()}
    sb3["screenshot"] = obs["screenshot"].permute(0, 3, 1, 2).float() / 255.0
    torch.testing.assert_close(ext(obs), ext(sb3))


def test_without_screenshot_and_bad_space():
    ext = WebFeaturesExtractor(space(), embed_dim=4, use_screenshot=False)
    assert ext.features_dim == 2 * 4 + 2 * M + 2 * S
    text_space = observation_space("text", (48, 64, 3), 1000, M, S)
    with pytest.raises(ValueError, match="numeric"):
        WebFeaturesExtractor(text_space)
