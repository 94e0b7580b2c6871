"""The vision-language backbone: a tiny random Qwen2-VL built from a config (no download)."""

import string

import numpy as np
import pytest
import torch

from reward_model.backbones import VisionLanguageBackbone, backbone_kind
from reward_model.modeling import SimilarRewardModel
from reward_model.modeling_config import SimilarRMConfig
from similar_gym.records import StepContext

SPECIALS = ["<|endoftext|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]


@pytest.fixture(scope="module")
def tiny_qwen2vl(tmp_path_factory):
    """A 2-layer Qwen2-VL with a character-level tokenizer, saved like a Hub checkpoint."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2VLConfig, Qwen2VLModel
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for ch in string.printable:
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<|endoftext|>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIALS[1:],
    )
    config = Qwen2VLConfig(
        text_config=dict(
            vocab_size=len(vocab),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=1024,
            rope_scaling={"type": "mrope", "mrope_section": [1, 1, 2], "rope_type": "default"},
        ),
        vision_config=dict(
            depth=1,
            embed_dim=32,
            hidden_size=32,
            num_heads=2,
            mlp_ratio=2,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
        ),
        image_token_id=vocab["<|image_pad|>"],
        video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"],
        vision_end_token_id=vocab["<|vision_end|>"],
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-qwen2vl")
    Qwen2VLModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 56).save_pretrained(path)
    return path


def steps():
    rng = np.random.default_rng(0)
    shots = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(2)]
    return [
        StepContext("Buy the hat.", (), shots[0], '[3] button "Buy"', "click(3)", 'button "Buy"'),
        StepContext(
            "Buy the red hat now.",
            ('fill(2, "hat") on textbox "Search"',),
            shots[1],
            '[4] link "Help"',
            "click(4)",
            'link "Help"',
        ),
    ]


def tiny_config(path, **kw):
    return SimilarRMConfig(
        backbone=str(path), fusion_hidden=16, gate_hidden=8, lora_r=2, image_size=(48, 64), **kw
    )


def test_a_qwen2vl_folder_is_read_as_a_vision_language_backbone(tiny_qwen2vl):
    assert backbone_kind(str(tiny_qwen2vl)) == "vlm"
    model = SimilarRewardModel(tiny_config(tiny_qwen2vl))
    assert isinstance(model.backbone, VisionLanguageBackbone)
    assert not hasattr(model, "vision"), "the VLM reads the screenshot itself"
    batch = model.encode(steps())
    image_id = model.backbone.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    per_image = (batch["image_grid_thw"].prod(-1) // 4).tolist()
    assert (batch["input_ids"] == image_id).sum(1).tolist() == per_image
    assert batch["mm_token_type_ids"].sum().item() == sum(per_image)
    out = model.score(steps())
    assert out["reward"].shape == (2,) and np.isfinite(out["total"]).all()
    lora = [n for n, p in model.named_parameters() if p.requires_grad and "lora_" in n]
    assert lora and all("q_proj" in n or "v_proj" in n for n in lora)


def test_the_screenshot_changes_the_score(tiny_qwen2vl):
    model = SimilarRewardModel(tiny_config(tiny_qwen2vl))
    a = steps()[0]
    b = StepContext(a.instruction, a.history, np.zeros_like(a.screenshot), a.page_text, a.action)
    b = b.with_action(a.action, a.target)
    assert model.score([a])["total"][0] != pytest.approx(model.score([b])["total"][0], abs=1e-7)


def test_lora_trains_and_the_checkpoint_round_trips(tiny_qwen2vl, tmp_path):
    torch.manual_seed(0)
    model = SimilarRewardModel(tiny_config(tiny_qwen2vl))
    before = model.score(steps())["total"]
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-2)
    for _ in range(3):
        out = model(**model.encode(steps()))
        loss = ((out.scores - torch.ones_like(out.scores)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    lora_grads = [
        p.grad for n, p in model.named_parameters() if "lora_B" in n and p.grad is not None
    ]
    assert lora_grads and any(g.abs().sum() > 0 for g in lora_grads)
    after = model.score(steps())["total"]
    assert not np.allclose(before, after)
    model.save_pretrained(tmp_path / "rm")
    assert (tmp_path / "rm" / "adapter" / "adapter_model.safetensors").is_file()
    loaded = SimilarRewardModel.from_pretrained(tmp_path / "rm")
    np.testing.assert_allclose(loaded.score(steps())["total"], after, atol=1e-5)


def test_text_only_vlm_reads_no_pixels(tiny_qwen2vl):
    model = SimilarRewardModel(tiny_config(tiny_qwen2vl, use_image=False))
    batch = model.encode(steps())
    assert "pixel_values" not in batch and "vit_pixel_values" not in batch
    assert model.score(steps())["reward"].shape == (2,)
