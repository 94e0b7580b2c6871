"""The shipped default checkpoint: loads offline without pickle, and has learned TR and C."""

import json

import pytest

from reward_model.evaluation import evaluate, get_scorer
from reward_model.modeling import DEFAULT_CHECKPOINT, SimilarRewardModel
from similar_gym.srm_data import SHIPPED_SRMEVAL, read_pairs


def test_the_default_checkpoint_is_small_safetensors_with_its_manifest():
    files = {p.relative_to(DEFAULT_CHECKPOINT).as_posix() for p in DEFAULT_CHECKPOINT.rglob("*")}
    assert {"config.json", "model.safetensors", "manifest.json"} <= files
    assert "adapter/adapter_model.safetensors" in files
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pkl", ".pth"))]
    size = sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.rglob("*") if p.is_file())
    assert size < 20e6
    manifest = json.loads((DEFAULT_CHECKPOINT / "manifest.json").read_text())
    assert manifest["command"].startswith("similar train-rm ")
    assert manifest["srmtrain_manifest"]["command"].startswith("similar collect --preset srmtrain")
    assert manifest["train_config"]["max_length"] == 80


@pytest.fixture(scope="module")
def heldout_templates_slice():
    table = read_pairs(SHIPPED_SRMEVAL)
    rows = [i for i, s in enumerate(table.column("split").to_pylist()) if s == "heldout-templates"]
    return table.take(rows[:300])


def test_the_default_model_scores_tr_and_c_well_above_chance(heldout_templates_slice):
    model = SimilarRewardModel.from_pretrained("default")
    assert model.config.gate_trained and model.config.backbone == "minilm"
    report = evaluate(get_scorer("default"), heldout_templates_slice, progress=False)
    assert report.accuracy("TR").acc >= 0.65 and report.accuracy("C").acc >= 0.6
    assert report.accuracy("average").acc > 0.55
