"""SimilarRewardModel: inputs, outputs, checkpoints that load without pickle, clear errors."""

import json
import os
from dataclasses import replace

import numpy as np
import pytest
import torch

from reward_model.dimensions import CODES
from reward_model.evaluation import get_scorer
from reward_model.modeling import (
    SimilarRewardModel,
    compact_step,
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
    history = ('fill(2, "hat") on textbox "Search"', 'click(5) on link "Hats"')
    step = ctx(history=history)
    verbose = SimilarRMConfig(**{**tiny, "text_style": "verbose"})
    full = format_text(step, verbose)
    assert "Goal: Buy the red hat." in full and 'Action: click(3) on button "Buy"' in full
    assert "Earlier: fill(2" in full
    assert "Earlier" not in format_text(step, SimilarRMConfig(**{**tiny, "use_history": False}))
    assert full.startswith("Action: click(3)"), "a long goal must not cut the action off"
    saved = SimilarRMConfig(**tiny).to_dict()
    del saved["text_order"], saved["text_style"]  # a checkpoint saved before the fields existed
    old = SimilarRMConfig.from_dict(saved)
    assert (old.text_order, old.text_style) == ("goal-first", "verbose")
    assert format_text(step, old).startswith("Goal: Buy the red hat.\nAction: click(3)")
    with pytest.raises(ValueError, match="text_order"):
        SimilarRMConfig(**{**tiny, "text_order": "page-first"})
    with pytest.raises(ValueError, match="text_style"):
        SimilarRMConfig(**{**tiny, "text_style": "terse"})


def test_compact_text_drops_element_ids_and_puts_the_latest_step_first(tiny):
    history = ('fill(2, "hat ) on") on textbox "Search"', 'click(5) on link "Hats"')
    step = replace(ctx(history=history), step_idx=2)
    text = format_text(step, SimilarRMConfig(**tiny))
    assert SimilarRMConfig(**tiny).text_style == "compact"
    assert text.splitlines()[:3] == [
        'Action: click button "Buy"',
        "Goal: Buy the red hat.",
        'Step 3. Before, newest first: click link "Hats" | fill textbox "Search" with "hat ) on"',
    ]
    first = format_text(ctx(), SimilarRMConfig(**tiny)).splitlines()[2]
    assert first == "Step 1. Before, newest first: none"
    assert compact_step("not an action") == "not an action"
    assert compact_step('select(9, "Blue") on combobox "Colour"') == (
        'select combobox "Colour" with "Blue"'
    )
    assert compact_step("click(9)") == "click element", "an unknown element keeps its verb"


def test_action_pooling_reads_the_action_tokens_in_context(tiny):
    torch.manual_seed(0)
    m = SimilarRewardModel(SimilarRMConfig(**tiny))
    assert m.config.pooling == "action+mean" and m.backbone.hidden_size == 2 * 384
    steps = [ctx(), ctx('fill(2, "hat")', 'textbox "Search"')]
    enc = m.encode(steps)
    tok = m.backbone.tokenizer
    rows = zip(enc["input_ids"], enc["action_mask"], strict=True)
    picked = [tok.decode(ids[mask.bool()]) for ids, mask in rows]
    assert picked == [
        'action : click button " buy "',
        'action : fill textbox " search " with " hat "',
    ]
    h = m.backbone(**dict(enc))
    assert h.shape == (2, 768)
    saved = SimilarRMConfig(**tiny).to_dict()
    del saved["pooling"]  # a checkpoint saved before the field existed
    old = SimilarRewardModel(SimilarRMConfig.from_dict(saved))
    assert old.config.pooling == "mean" and old.backbone.hidden_size == 384
    assert "action_mask" not in old.encode(steps)
    with pytest.raises(ValueError, match="pooling"):
        SimilarRMConfig(**{**tiny, "pooling": "max"})


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


@pytest.mark.parametrize("preset", [None, "true"])
def test_tokenizers_run_serially_unless_the_user_chose(tiny, monkeypatch, preset):
    if preset is None:
        monkeypatch.delenv("TOKENIZERS_PARALLELISM", raising=False)
    else:
        monkeypatch.setenv("TOKENIZERS_PARALLELISM", preset)
    SimilarRewardModel(SimilarRMConfig(**tiny))
    assert os.environ["TOKENIZERS_PARALLELISM"] == (preset or "false")
