"""Configuration of :class:`~reward_model.modeling.SimilarRewardModel` (its ``config.json``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reward_model.config_base import JsonConfig, help_field

#: ``model_type`` written to and expected in ``config.json``.
MODEL_TYPE = "similar-reward-model"
#: Values of :attr:`SimilarRMConfig.text_style`.
TEXT_STYLES = ("compact", "verbose")
#: Values of :attr:`SimilarRMConfig.pooling`.
POOLINGS = ("action+mean", "mean")
#: ``backbone`` value that names the packaged all-MiniLM-L6-v2 text encoder.
MINILM = "minilm"


@dataclass
class SimilarRMConfig(JsonConfig):
    """Architecture of the Similar reward model: what it reads and how big each part is."""

    backbone: str = help_field(
        MINILM,
        "Backbone: 'minilm' for the packaged all-MiniLM-L6-v2, or a local Hugging Face model "
        "directory: a text encoder, or a vision-language model (Qwen2-VL family) that then "
        "reads the screenshot itself.",
    )
    backbone_layers: int = help_field(
        0,
        "Keep only the first N transformer layers of a text backbone (0 = all): fewer layers, "
        "cheaper scoring.",
    )
    torch_dtype: str = help_field(
        "float32", "dtype a vision-language backbone is loaded in (e.g. bfloat16 on a GPU)."
    )
    max_length: int = help_field(
        48, "Tokens of the text input (instruction, action, history, page; cut from the end)."
    )
    use_image: bool = help_field(True, "Read the screenshot (multi-modal); False for text only.")
    use_history: bool = help_field(
        True, "Read the earlier steps (multi-step); False for the action only."
    )
    text_order: str = help_field(
        "action-first",
        "Order of the text input: 'action-first' (action, goal, history, page: a long goal never "
        "cuts the action off) or 'goal-first' (goal, action, ...: checkpoints made before this "
        "field existed).",
    )
    text_style: str = help_field(
        "compact",
        "How steps are written: 'compact' (actions without element ids, which mean nothing on "
        "another page; the step number; the earlier steps newest first, so that the ones the "
        "token budget keeps are the latest) or 'verbose' (`click(12) on button \"Buy\"`, "
        "earlier steps oldest first: checkpoints made before this field existed).",
    )
    pooling: str = help_field(
        "action+mean",
        "How a text backbone's tokens become one vector: 'action+mean' (the mean over the "
        "candidate action's tokens beside the mean over all tokens) or 'mean' (all tokens: "
        "checkpoints made before this field existed). A vision-language backbone always takes "
        "its last token.",
    )
    max_history: int = help_field(4, "Most recent earlier steps put in the text input.")
    page_text_chars: int = help_field(
        400, "Characters of the page text view put in the text input."
    )
    lora_r: int = help_field(16, "LoRA rank of the backbone's adapters.")
    lora_alpha: int = help_field(32, "LoRA alpha.")
    lora_dropout: float = help_field(0.05, "LoRA dropout.")
    lora_target_modules: tuple[str, ...] = help_field(
        (),
        "Backbone modules that get LoRA adapters; empty = the backbone's usual ones (every "
        "linear layer of a text encoder's blocks, q_proj/v_proj of a vision-language model).",
    )
    image_size: tuple[int, int] = help_field(
        (96, 128), "Height and width the screenshot is resized to."
    )
    patch_size: int = help_field(16, "Patch size of the vision encoder.")
    vision_hidden: int = help_field(
        192, "Hidden size of the vision encoder (a small ViT, trained here)."
    )
    vision_layers: int = help_field(4, "Transformer layers of the vision encoder.")
    vision_heads: int = help_field(3, "Attention heads of the vision encoder.")
    fusion_hidden: int = help_field(384, "Size of the fused hidden state h.")
    gate_hidden: int = help_field(64, "Hidden size of the gating MLP of stage 2.")
    gate_trained: bool = help_field(
        False,
        "Whether stage 2 trained the gate; until then the reward is the plain total of the "
        "scaled scores.",
    )

    def __post_init__(self) -> None:
        self.lora_target_modules = tuple(self.lora_target_modules)
        self.image_size = tuple(int(x) for x in self.image_size)  # type: ignore[assignment]
        if len(self.image_size) != 2 or min(self.image_size) < self.patch_size:
            raise ValueError(
                f"image_size must be (H, W) of at least one patch, got {self.image_size}"
            )
        if any(s % self.patch_size for s in self.image_size):
            raise ValueError(f"image_size {self.image_size} must be a multiple of patch_size")
        if self.vision_hidden % self.vision_heads:
            raise ValueError("vision_hidden must be a multiple of vision_heads")
        if self.text_order not in ("action-first", "goal-first"):
            raise ValueError(
                f"text_order must be 'action-first' or 'goal-first', got {self.text_order!r}"
            )
        if self.text_style not in TEXT_STYLES:
            raise ValueError(
                f"text_style must be one of {', '.join(TEXT_STYLES)}, got {self.text_style!r}"
            )
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        if self.torch_dtype not in ("float32", "float16", "bfloat16"):
            raise ValueError(
                f"torch_dtype must be float32, float16 or bfloat16, got {self.torch_dtype!r}"
            )
        if self.backbone_layers < 0:
            raise ValueError("SimilarRMConfig.backbone_layers must be >= 0 (0 = all layers)")
        for name in ("max_length", "lora_r", "fusion_hidden", "gate_hidden"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"SimilarRMConfig.{name} must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        """Returns the JSON-able config, with ``model_type``."""
        return {"model_type": MODEL_TYPE, **super().to_dict()}

    def save_to(self, directory: str | Path) -> None:
        """Writes ``config.json`` into ``directory``."""
        self.save(Path(directory) / "config.json")

    @classmethod
    def from_dict(cls, data: Any, where: str = "config") -> SimilarRMConfig:
        """Builds the config from ``config.json``'s content, checking ``model_type``.

        Raises:
            ValueError: If it is not a Similar reward model config or has unknown fields.
        """
        if not isinstance(data, dict) or data.get("model_type") != MODEL_TYPE:
            raise ValueError(f"{where}: model_type is not {MODEL_TYPE!r}")
        fields = {k: v for k, v in data.items() if k != "model_type"}
        fields.setdefault("text_order", "goal-first")  # saved before the field existed
        fields.setdefault("text_style", "verbose")  # likewise
        fields.setdefault("pooling", "mean")  # likewise
        return super().from_dict(fields, where)
