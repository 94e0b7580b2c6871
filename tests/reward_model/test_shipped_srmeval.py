"""The shipped SRMEval-Web v2: its size and make-up, and that MCTS-P regenerates its rows."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from reward_model.collect import collect, finalize
from reward_model.dimensions import PAIR_TYPES
from reward_model.mcts_p_config import MCTSPConfig
from similar_gym.srm_data import SHIPPED_SRMEVAL, SHIPPED_SRMEVAL_MANIFEST, read_pairs

pytestmark = pytest.mark.skipif(not SHIPPED_SRMEVAL.exists(), reason="SRMEval not shipped yet")


@pytest.fixture(scope="module")
def shipped():
    return read_pairs(SHIPPED_SRMEVAL).to_pylist()


@pytest.fixture(scope="module")
def manifest():
    return json.loads(SHIPPED_SRMEVAL_MANIFEST.read_text())


def test_shipped_benchmark_make_up(shipped, manifest):
    assert len(shipped) >= 2000
    assert SHIPPED_SRMEVAL.stat().st_size <= 30 * 2**20
    assert len({p["id"] for p in shipped}) == len(shipped)
    splits = {p["split"] for p in shipped}
    assert splits == {"heldout-templates", "heldout-miniwob"}
    for split in splits:
        assert {p["type"] for p in shipped if p["split"] == split} == set(PAIR_TYPES)
    config = MCTSPConfig(**manifest["config"])
    assert {p["task"] for p in shipped} <= set(config.heldout_templates) | set(
        config.heldout_miniwob
    )
    assert manifest["command"].startswith("similar collect")
    assert manifest["pairs_by_split_type"]


def _decode(image):
    return np.asarray(Image.open(io.BytesIO(image["bytes"])).convert("RGB"), dtype=np.int16)


def _regenerate_and_compare(task, seed, shipped, manifest, tmp_path):
    config = MCTSPConfig(
        **{
            **manifest["config"],
            "tasks": (task,),
            "first_instance_seed": seed,
            "instances_per_task": 1,
            "miniwob_instances_per_task": 1,
            "workers": 1,
        }
    )
    collect(config, tmp_path, progress=False)
    finalize(tmp_path)
    fresh = read_pairs(tmp_path / "srmeval" / "pairs.parquet").to_pylist()
    want = [p for p in shipped if p["task"] == task and p["seed"] == seed]
    assert want, f"the shipped file has no rows of {task} seed {seed}"
    assert [p["id"] for p in fresh] == [p["id"] for p in want]
    for a, b in zip(fresh, want, strict=True):
        assert {k: v for k, v in a.items() if k != "image"} == {
            k: v for k, v in b.items() if k != "image"
        }
        # Chromium may anti-alias a handful of pixels differently from run to run.
        x, y = _decode(a["image"]), _decode(b["image"])
        assert x.shape == y.shape
        assert (np.abs(x - y).max(axis=-1) > 0).mean() < 1e-3


def _first(shipped, split):
    row = next(p for p in shipped if p["split"] == split)
    return row["task"], row["seed"]


def test_regenerates_a_miniwob_slice(shipped, manifest, tmp_path):
    task, seed = _first(shipped, "heldout-miniwob")
    _regenerate_and_compare(task, seed, shipped, manifest, tmp_path)


@pytest.mark.slow
def test_regenerates_an_own_suite_slice(shipped, manifest, tmp_path):
    task, seed = _first(shipped, "heldout-templates")
    _regenerate_and_compare(task, seed, shipped, manifest, tmp_path)
