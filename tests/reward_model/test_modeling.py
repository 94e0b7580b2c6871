"""SimilarRewardModel: inputs, outputs, checkpoints that load without pickle, clear errors."""

import json

import numpy as np
import pytest
import torch

from reward_model.dimensions import CODES
from reward_model.evaluation import get_scorer
from reward_model.modeling import (
    SimilarRewardModel,
    format_text,
    native_bfloat16,
    resolve_dtype,
)
from reward_model.modeling_config import SimilarRMConfig
from similar_gym.records import StepContext


def ctx(action="click(3)", target='button "Buy"', history=(), seed=0):
    rng = np.random.default_rng(seed)
    shot = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    return StepContext("Buy the red hat.", tuple(history), shot, '[3] button "Buy"', action, target)


@pytest.fixture(scope="module")
def tiny(tiny_model_kwargs):
    return tiny_model_kwargs


@pytest.fixture(scope="module")
def model(tiny):
    torch.manual_seed(0)
    return SimilarRewardModel(SimilarRMConfig(**tiny))


def test_score_shapes_and_gated_reward(model):
    steps = [ctx(), ctx("click(4)", 'link "Help"', seed=1), ctx(history=("click(1) on link X",))]
    out = model.score(steps, batch_size=2)
    assert set(out) == {*CODES, "total", "reward"}
    assert all(v.shape == (3,) and np.isfinite(v).all() for v in out.values())
    again = model.score(steps)
    assert all(np.allclose(out[k], again[k], atol=1e-6) for k in out), "batching changes nothing"
    enc = model.encode(steps)
    res = model(**enc)
    assert torch.allclose(res.weights.sum(-1), torch.ones(3), atol=1e-6)
    assert torch.allclose(res.reward, (res.weights * res.scores).sum(-1))
    assert model.score([])["reward"].shape == (0,)


def test_text_input_follows_the_ablation_switches(tiny):
    step = ctx(history=('fill(2, "hat") on textbox "Search"',))
    full = format_text(step, SimilarRMConfig(**tiny))
    assert "Goal: Buy the red hat." in full and 'Action: click(3) on button "Buy"' in full
    assert "Earlier: fill(2" in full
    assert "Earlier" not in format_text(step, SimilarRMConfig(**{**tiny, "use_history": False}))
    assert full.startswith("Action: click(3)"), "a long goal must not cut the action off"
    saved = SimilarRMConfig(**tiny).to_dict()
    del saved["text_order"]  # a checkpoint saved before the field existed
    old = SimilarRMConfig.from_dict(saved)
    assert old.text_order == "goal-first"
    assert format_text(step, old).startswith("Goal: Buy the red hat.\nAction: click(3)")
    with pytest.raises(ValueError, match="text_order"):
        SimilarRMConfig(**{**tiny, "text_order": "page-first"})


def test_text_only_model_needs_no_screenshot(tiny):
    m = SimilarRewardModel(SimilarRMConfig(**{**tiny, "use_image": False}))
    assert not hasattr(m, "vision")
    assert "vit_pixel_values" not in m.encode([ctx()])
    assert m.score([ctx()])["reward"].shape == (1,)


def test_a_shallower_backbone_keeps_its_depth_through_a_checkpoint(tiny, tmp_path):
    torch.manual_seed(0)
    shallow = SimilarRewardModel(SimilarRMConfig(**{**tiny, "backbone_layers": 2}))
    layers = shallow.backbone.model.get_base_model().encoder.layer
    assert len(layers) == 2
    shallow.save_pretrained(tmp_path)
    loaded = SimilarRewardModel.from_pretrained(tmp_path)
    assert len(loaded.backbone.model.get_base_model().encoder.layer) == 2
    a, b = shallow.eval().score([ctx()]), loaded.score([ctx()])
    assert np.allclose(a["reward"], b["reward"], atol=1e-5)
    with pytest.raises(ValueError, match="backbone_layers"):
        SimilarRMConfig(**{**tiny, "backbone_layers": -1})


def test_checkpoint_naming_no_lora_targets_loads_as_saved(tiny, tmp_path):
    """Configs saved before the default targets grew (2026-11-22) left the list empty."""
    torch.manual_seed(0)
    old = SimilarRewardModel(SimilarRMConfig(**{**tiny, "lora_target_modules": ("query", "value")}))
    for name, p in old.backbone.model.named_parameters():
        if "lora_B" in name:  # trained adapters: B is no longer zero
            torch.nn.init.normal_(p, std=0.05)
    old.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["lora_target_modules"] == ["query", "value"]
    saved["lora_target_modules"] = []
    (tmp_path / "config.json").write_text(json.dumps(saved))
    loaded = SimilarRewardModel.from_pretrained(tmp_path)
    assert loaded.config.lora_target_modules == ("query", "key", "value", "dense")
    a, b = old.eval().score([ctx()]), loaded.score([ctx()])
    assert np.allclose(a["reward"], b["reward"], atol=1e-5)


def test_checkpoint_round_trip_without_pickle(model, tmp_path):
    model.save_pretrained(tmp_path)
    files = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert {"config.json", "model.safetensors", "adapter/adapter_model.safetensors"} <= files
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pth", ".pkl"))]
    loaded = SimilarRewardModel.from_pretrained(tmp_path)
    steps = [ctx(), ctx("click(9)", 'link "Home"', seed=2)]
    a, b = model.score(steps), loaded.score(steps)
    assert all(np.allclose(a[k], b[k], atol=1e-5) for k in a)
    # The same folder is a scorer of `similar eval`: one column per SRMEval type.
    cols = get_scorer(str(tmp_path)).score(steps)
    assert cols.shape == (2, 6)
    assert np.allclose(cols[:, -1], a["total"], atol=1e-5)


def test_a_model_loaded_for_scoring_folds_its_adapters_and_may_score_in_bfloat16(tiny, tmp_path):
    torch.manual_seed(0)
    model = SimilarRewardModel(SimilarRMConfig(**tiny))
    for name, p in model.backbone.model.named_parameters():
        if "lora_B" in name:  # adapters that change the output, so folding them shows
            torch.nn.init.normal_(p, std=0.05)
    model.save_pretrained(tmp_path)
    steps = [ctx(), ctx("click(9)", 'link "Home"', seed=2)]
    exact = model.eval().score(steps)
    merged = SimilarRewardModel.from_pretrained(tmp_path)
    assert not any("lora" in n for n, _ in merged.named_parameters()), "adapters folded away"
    assert all(np.allclose(exact[k], merged.score(steps)[k], atol=1e-5) for k in exact)
    with pytest.raises(RuntimeError, match="merge=False"):
        merged.train()
    with pytest.raises(RuntimeError, match="merge=False"):
        merged.save_pretrained(tmp_path / "again")
    resumed = SimilarRewardModel.from_pretrained(tmp_path, merge=False)
    assert resumed.train().training and resumed.trainable_parameters() > 0

    half = SimilarRewardModel.from_pretrained(tmp_path, dtype="bfloat16")
    assert half.head.weight.dtype == torch.bfloat16
    out = half.score(steps)
    assert all(v.dtype == np.float32 for v in out.values())
    assert all(np.allclose(exact[k], out[k], atol=0.05, rtol=0.02) for k in CODES)
    with pytest.raises(ValueError, match="merge=True"):
        SimilarRewardModel.from_pretrained(tmp_path, merge=False, dtype="bfloat16")
    with pytest.raises(ValueError, match="dtype must be"):
        SimilarRewardModel.from_pretrained(tmp_path, dtype="int8")


def test_auto_dtype_is_bfloat16_only_where_the_cpu_does_it_natively(monkeypatch):
    assert resolve_dtype(None) is torch.float32 and resolve_dtype("float32") is torch.float32
    assert resolve_dtype(torch.bfloat16) is torch.bfloat16
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert not native_bfloat16() and resolve_dtype("auto") is torch.float32
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert native_bfloat16() and resolve_dtype("auto") is torch.bfloat16


def test_bad_checkpoints_give_clear_errors(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        SimilarRewardModel.from_pretrained(tmp_path / "nope")
    good = tmp_path / "good"
    model.save_pretrained(good)

    bad = tmp_path / "bad-type"
    model.save_pretrained(bad)
    cfg = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**cfg, "model_type": "bert"}))
    with pytest.raises(ValueError, match="model_type"):
        SimilarRewardModel.from_pretrained(bad)

    corrupt = tmp_path / "corrupt"
    model.save_pretrained(corrupt)
    (corrupt / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="corrupt"):
        SimilarRewardModel.from_pretrained(corrupt)

    mismatch = tmp_path / "mismatch"
    model.save_pretrained(mismatch)
    (mismatch / "config.json").write_text(json.dumps({**cfg, "fusion_hidden": 16}))
    with pytest.raises(ValueError, match="do not fit"):
        SimilarRewardModel.from_pretrained(mismatch)

    missing = tmp_path / "missing"
    model.save_pretrained(missing)
    (missing / "adapter" / "adapter_model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="adapter"):
        SimilarRewardModel.from_pretrained(missing)


def test_config_validation(tiny):
    with pytest.raises(ValueError, match="multiple of patch_size"):
        SimilarRMConfig(image_size=(40, 48))
    with pytest.raises(FileNotFoundError, match="not 'minilm'"):
        SimilarRewardModel(SimilarRMConfig(**{**tiny, "backbone": "/no/such/model"}))
