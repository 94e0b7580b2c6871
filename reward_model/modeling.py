"""The Similar reward model: one hidden state from text and screen, five scores, one reward.

:class:`SimilarRewardModel` reads a batch of :class:`~similar_gym.records.StepContext`:

* **text** (instruction, candidate action, earlier steps, page text view) through a pretrained
  backbone with LoRA adapters (peft, :mod:`reward_model.backbones`); default the packaged
  all-MiniLM-L6-v2, mean-pooled;
* **screen** through a small ViT built from a transformers ``ViTConfig`` and trained from
  scratch (CLS token); or, when the backbone is a vision-language model (Qwen2-VL), through
  that model itself;
* a fusion layer makes the hidden state ``h``; a linear **regression head** predicts the five
  scaled targets ``3*H, 5*OS, 5*E, TR, C`` (stage 1), and a small **gating MLP** mixes them into
  one reward, ``softmax(gate(h)) . scores`` (stage 2).

Checkpoints follow Hugging Face conventions and load without pickle: ``config.json``,
``model.safetensors`` (vision encoder, fusion, heads), and ``adapter/`` (the peft adapter of the
backbone). The backbone's own weights are not copied: they come from the backbone named in
the config. A model loaded for scoring folds its adapters into the backbone and may run in
bfloat16 (``from_pretrained(..., dtype="auto")``, see :func:`resolve_dtype`).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from reward_model.backbones import load_backbone
from reward_model.dimensions import CODES, SCALES
from reward_model.modeling_config import SimilarRMConfig
from similar_gym.actions import ActionError, parse_action
from similar_gym.records import StepContext, split_described

#: Folder of the checkpoint ``from_pretrained("default")`` loads.
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "default"
_WEIGHTS = "model.safetensors"
#: Screenshots whose resized tensors :meth:`SimilarRewardModel.encode` keeps.
PIXEL_CACHE_SIZE = 1024
_ADAPTER = "adapter"
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices natively (AVX512-BF16 or AMX)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """The torch dtype a model is scored in.

    Args:
        dtype: ``None`` or ``"float32"`` (exact), ``"bfloat16"``, ``"float16"``, a torch dtype,
            or ``"auto"``: bfloat16 where the CPU multiplies it natively (:func:`native_bfloat16`),
            float32 elsewhere. On SRMEval, with the two latest shipped models, bfloat16 scored
            in half the time; its dimension estimates stayed within 0.014 of float32's and its
            mixed reward within 0.13, and 1–2 % of the pairs changed their verdict.

    Raises:
        ValueError: For any other value.
    """
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype) and dtype in _DTYPES.values():
        return dtype
    if dtype == "auto":
        return torch.bfloat16 if native_bfloat16() else torch.float32
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    names = ", ".join(map(repr, _DTYPES))
    raise ValueError(f"dtype must be 'auto', {names} or None, got {dtype!r}")


def compact_step(described: str) -> str:
    """Writes a described step without its element id: ``click button "Buy"``.

    Element ids are the page's numbering and mean nothing to a reader of another page; the
    verb, the element as the page shows it and the text typed or chosen are what a step is.

    Args:
        described: A step as :meth:`~similar_gym.records.StepContext.describe` writes it
            (``fill(7, "Ada") on textbox "Name"``); text that does not parse is kept as it is.

    >>> compact_step('fill(7, "Ada") on textbox "Name" value=""')
    'fill textbox "Name" value="" with "Ada"'
    >>> compact_step('press("Enter")'), compact_step("click_at(80, 120)"), compact_step("noop()")
    ('press Enter', 'click_at 80 120', 'noop')
    """
    call, target = split_described(described)
    try:
        action = parse_action(call)
    except ActionError:
        return described
    words = [action.verb]
    if action.element is not None:
        words.append(target or "element")
    words.extend(_format_coord(c) for c in action.coords)
    if action.text is not None:
        text = json.dumps(action.text, ensure_ascii=False)
        if action.element is not None:
            words.append(f"with {text}")
        else:  # a key or a direction reads plain; typed text keeps its quotes
            words.append(text if action.verb == "type" else action.text)
    return " ".join(words)


def _format_coord(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def format_step(ctx: StepContext, config: SimilarRMConfig) -> tuple[str, tuple[int, int]]:
    """Returns :func:`format_text` and the character span of its action line.

    The span is what ``pooling="action+mean"`` averages over (before truncation to tokens).
    """
    compact = config.text_style == "compact"
    described = compact_step(ctx.describe()) if compact else ctx.describe()
    goal, action = f"Goal: {ctx.instruction}", f"Action: {described}"
    first = config.text_order == "action-first"
    parts = [action, goal] if first else [goal, action]
    start = 0 if first else len(goal) + 1
    if config.use_history:
        recent = list(ctx.history[-config.max_history :] if config.max_history else ())
        if compact:
            steps = " | ".join(compact_step(h) for h in reversed(recent)) or "none"
            parts.append(f"Step {ctx.step_idx + 1}. Before, newest first: {steps}")
        else:
            parts.append("Earlier: " + (" | ".join(recent) if recent else "(none)"))
    parts.append("Page: " + " ".join(ctx.page_text.split())[: config.page_text_chars])
    return "\n".join(parts), (start, start + len(action))


def format_text(ctx: StepContext, config: SimilarRMConfig) -> str:
    """Returns the text input of one step; the page text comes last, so it is cut first.

    With ``config.text_style == "compact"`` actions lose their element ids
    (:func:`compact_step`), the step number follows the goal, and the earlier steps come newest
    first; ``"verbose"`` is the layout of older checkpoints.
    """
    return format_step(ctx, config)[0]


def _resized(ctx: StepContext, size: tuple[int, int]) -> np.ndarray | None:
    """The screenshot resized to ``(H, W)``, ``uint8``; ``None`` if the step has none."""
    from PIL import Image

    image = ctx.image()
    if image is None:
        return None
    im = Image.fromarray(image).resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.uint8)


def image_tensor(ctx: StepContext, size: tuple[int, int]) -> torch.Tensor:
    """Returns the screenshot as a ``(3, H, W)`` float tensor in ``[-1, 1]`` (zeros if none)."""
    image = _resized(ctx, size)
    if image is None:
        return torch.zeros(3, *size)
    arr = image.astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


@dataclass
class RewardOutput:
    """What the model computes for a batch.

    Attributes:
        scores: ``(B, 5)`` predicted scaled targets ``3*H, 5*OS, 5*E, TR, C``.
        weights: ``(B, 5)`` gate weights (softmax).
        reward: ``(B,)`` the mixed reward ``weights . scores``.
        hidden: ``(B, fusion_hidden)`` the fused hidden state.
    """

    scores: torch.Tensor
    weights: torch.Tensor
    reward: torch.Tensor
    hidden: torch.Tensor


class SimilarRewardModel(nn.Module):
    """The Similar reward model (see the module docstring).

    Build a fresh one with ``SimilarRewardModel(SimilarRMConfig(...))``, or load a trained one
    with :meth:`from_pretrained`.

    Args:
        config: The architecture.
    """

    def __init__(self, config: SimilarRMConfig):
        super().__init__()
        from transformers import ViTConfig, ViTModel

        self.config = config
        self.backbone = load_backbone(config)
        in_dim = self.backbone.hidden_size
        if config.use_image and not self.backbone.reads_image:
            self.vision = ViTModel(
                ViTConfig(
                    image_size=config.image_size,
                    patch_size=config.patch_size,
                    hidden_size=config.vision_hidden,
                    num_hidden_layers=config.vision_layers,
                    num_attention_heads=config.vision_heads,
                    intermediate_size=2 * config.vision_hidden,
                ),
                add_pooling_layer=False,
            )
            in_dim += config.vision_hidden
        self.fusion = nn.Sequential(
            nn.Linear(in_dim, config.fusion_hidden), nn.GELU(), nn.LayerNorm(config.fusion_hidden)
        )
        self.head = nn.Linear(config.fusion_hidden, len(CODES))
        self.gate = nn.Sequential(
            nn.Linear(config.fusion_hidden, config.gate_hidden),
            nn.GELU(),
            nn.Linear(config.gate_hidden, len(CODES)),
        )
        self._pixel_cache: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self._merged = False
        self.register_buffer("scales", torch.tensor(SCALES, dtype=torch.float32), persistent=False)

    # ------------------------------------------------------------------ inputs and forward

    def encode(
        self,
        contexts: Sequence[StepContext],
        formatted: Sequence[tuple[str, tuple[int, int]]] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Turns steps into model inputs (the backbone's, plus pixel values for the ViT).

        Args:
            contexts: The steps.
            formatted: Their :func:`format_step`, when the caller already has it.
        """
        if formatted is None:
            formatted = [format_step(c, self.config) for c in contexts]
        texts = [text for text, _ in formatted]
        if self.backbone.reads_image:
            if not self.config.use_image:
                return self.backbone.encode(texts)
            black = np.zeros((*self.config.image_size, 3), dtype=np.uint8)
            images = [_resized(c, self.config.image_size) for c in contexts]
            return self.backbone.encode(texts, [black if i is None else i for i in images])
        batch = self.backbone.encode(texts, spans=[span for _, span in formatted])
        if not self.config.use_image:
            return batch
        batch["vit_pixel_values"] = torch.stack([self._pixels(c) for c in contexts])
        return batch

    def shrink(self, ctx: StepContext) -> StepContext:
        """``ctx`` with its screenshot as small as this model reads it; the same scores.

        The screenshot becomes the ``uint8`` array at ``config.image_size`` that the model
        resizes it to anyway (``None`` for a text-only model), and ``extras`` are dropped: what
        a scoring process is sent (:class:`wrappers.scoring.ScoringProcess`).
        """
        image = _resized(ctx, self.config.image_size) if self.config.use_image else None
        return replace(ctx, screenshot=image, extras={})

    def _pixels(self, ctx: StepContext) -> torch.Tensor:
        """The screenshot tensor, cached per encoded screenshot (pairs share their state's)."""
        if not isinstance(ctx.screenshot, bytes):
            return image_tensor(ctx, self.config.image_size)
        key = hashlib.sha1(ctx.screenshot).digest()
        hit = self._pixel_cache.get(key)
        if hit is None:
            hit = self._pixel_cache[key] = image_tensor(ctx, self.config.image_size)
            if len(self._pixel_cache) > PIXEL_CACHE_SIZE:
                self._pixel_cache.popitem(last=False)
        return hit

    def forward(
        self, vit_pixel_values: torch.Tensor | None = None, **inputs: torch.Tensor
    ) -> RewardOutput:
        """Computes scores, gate weights and reward for a batch from :meth:`encode`.

        Inputs may sit on the CPU (as :meth:`encode` makes them): they move to the model's
        device here.
        """
        dtype, device = self.dtype, self.device
        inputs = {k: v.to(device) if torch.is_tensor(v) else v for k, v in inputs.items()}
        feats = [self.backbone(**inputs).to(dtype)]
        if hasattr(self, "vision"):
            if vit_pixel_values is None:
                raise ValueError("this model reads screenshots: pass vit_pixel_values")
            pixels = vit_pixel_values.to(device=device, dtype=dtype)
            feats.append(self.vision(pixel_values=pixels).last_hidden_state[:, 0])
        hidden = self.fusion(torch.cat(feats, dim=-1))
        scores = self.head(hidden)
        weights = torch.softmax(self.gate(hidden), dim=-1)
        return RewardOutput(scores, weights, (weights * scores).sum(-1), hidden)

    @torch.inference_mode()
    def score(self, contexts: Sequence[StepContext], batch_size: int = 32) -> dict[str, np.ndarray]:
        """Scores steps; the inference entry point of the wrappers and of ``similar eval``.

        Steps are batched by similar text length (less padding) and returned in input order.

        Returns:
            ``{"H", "OS", "E", "TR", "C"}`` raw dimension estimates (scaled predictions divided
            by their scale), ``"total"`` (the sum of the scaled predictions) and ``"reward"``,
            the one mixed reward: the gated mix once stage 2 trained the gate
            (``config.gate_trained``), the total before. Each an ``(n,)`` array.
        """
        n = len(contexts)
        if not n:
            empty = np.zeros(0, dtype=np.float32)
            return {**{c: empty for c in CODES}, "total": empty, "reward": empty}
        was_training = self.training
        if was_training:  # switching modes walks every submodule: not per call when scoring
            self.eval()
        formatted = [format_step(c, self.config) for c in contexts]
        order = sorted(range(n), key=lambda i: len(formatted[i][0]))
        scores = torch.empty(n, len(CODES))
        rewards = torch.empty(n)
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            out = self(**self.encode([contexts[i] for i in rows], [formatted[i] for i in rows]))
            scores[rows] = out.scores.float().cpu()
            rewards[rows] = out.reward.float().cpu()
        if was_training:
            self.train()
        raw = (scores / self.scales.float()).numpy()
        result = {c: raw[:, i] for i, c in enumerate(CODES)}
        result["total"] = scores.sum(-1).numpy()
        result["reward"] = rewards.numpy() if self.config.gate_trained else result["total"]
        return result

    def merge_adapters(self) -> None:
        """Folds the LoRA adapters into the backbone's weights and drops them, for scoring.

        Scoring then runs the backbone's plain layers (about a fifth faster on a CPU than
        adapters kept beside merged weights). :meth:`from_pretrained` does this unless told
        ``merge=False``; a merged model scores but can no longer train or be saved.
        """
        if not self._merged:
            self.backbone.model.merge_and_unload()
            self._merged = True

    def _check_unmerged(self, what: str) -> None:
        if getattr(self, "_merged", False):
            raise RuntimeError(
                f"cannot {what} a model whose adapters were merged for scoring; load it with "
                "SimilarRewardModel.from_pretrained(path, merge=False)"
            )

    def train(self, mode: bool = True) -> SimilarRewardModel:
        """Sets training mode.

        Raises:
            RuntimeError: For training mode on a model merged for scoring (:meth:`merge_adapters`).
        """
        if mode:
            self._check_unmerged("train")
        return super().train(mode)

    # ------------------------------------------------------------------ checkpoints

    def _own_state(self) -> dict[str, torch.Tensor]:
        """Weights that are not the backbone's (vision, fusion, heads)."""
        return {
            k: v.detach().cpu().contiguous()
            for k, v in self.state_dict().items()
            if not k.startswith("backbone.")
        }

    def save_pretrained(self, directory: str | Path) -> None:
        """Writes ``config.json``, ``model.safetensors`` and the peft ``adapter/`` folder.

        Raises:
            RuntimeError: For a model merged for scoring (its adapters are gone).
        """
        from safetensors.torch import save_file

        self._check_unmerged("save")

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.save_to(directory)
        save_file(self._own_state(), str(directory / _WEIGHTS), metadata={"format": "pt"})
        # The adapter names its base as the config does ("minilm"), not by this machine's path.
        for peft_config in self.backbone.model.peft_config.values():
            peft_config.base_model_name_or_path = self.config.backbone
        self.backbone.model.save_pretrained(str(directory / _ADAPTER), save_embedding_layers=False)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path = "default",
        merge: bool = True,
        dtype: str | torch.dtype | None = None,
    ) -> SimilarRewardModel:
        """Loads a checkpoint folder written by :meth:`save_pretrained` (no pickle involved).

        Args:
            name_or_path: ``"default"`` for the checkpoint shipped with the package, or a folder.
            merge: Fold the adapters into the backbone (:meth:`merge_adapters`) for scoring;
                ``False`` keeps the adapters apart, to train further or save.
            dtype: The dtype to score in (:func:`resolve_dtype`; ``"auto"``: bfloat16 on CPUs
                that do it natively). ``None`` keeps the dtypes as loaded: float32, the dtype
                of every figure ``similar eval`` reports (a vision-language backbone keeps
                ``config.torch_dtype``). Dtypes other than float32 need ``merge=True``.

        Raises:
            FileNotFoundError: If the folder, its config, weights or adapter is missing.
            ValueError: If a file is corrupt or does not fit the config, or for a dtype
                other than float32 with ``merge=False``.
        """
        torch_dtype = resolve_dtype(dtype)
        if torch_dtype != torch.float32 and not merge:
            raise ValueError(f"dtype {dtype!r} is for scoring: load with merge=True")
        from peft import set_peft_model_state_dict
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        directory = DEFAULT_CHECKPOINT if str(name_or_path) == "default" else Path(name_or_path)
        if not directory.is_dir():
            hint = (
                " (the default checkpoint is not trained yet)" if name_or_path == "default" else ""
            )
            raise FileNotFoundError(f"{directory}: no such model folder{hint}")
        config = SimilarRMConfig.load(directory / "config.json")
        model = cls(config)
        adapter = directory / _ADAPTER / "adapter_model.safetensors"
        for path in (directory / _WEIGHTS, adapter):
            if not path.is_file():
                raise FileNotFoundError(f"{directory}: missing {path.relative_to(directory)}")
        try:
            own = load_file(str(directory / _WEIGHTS))
            lora = load_file(str(adapter))
        except (SafetensorError, OSError) as e:
            raise ValueError(f"{directory}: corrupt weights ({e})") from None
        try:
            missing, unexpected = model.load_state_dict(own, strict=False)
        except RuntimeError as e:
            raise ValueError(f"{directory}: weights do not fit config.json ({e})") from None
        missing = [k for k in missing if not k.startswith("backbone.")]
        if missing or unexpected:
            raise ValueError(
                f"{directory}: weights do not fit config.json "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        result = set_peft_model_state_dict(model.backbone.model, lora)
        if getattr(result, "unexpected_keys", None):
            raise ValueError(f"{directory}: adapter does not fit ({result.unexpected_keys[:3]})")
        model.eval()
        if merge:
            model.merge_adapters()
            if dtype is not None:  # None keeps each part's own dtype (a VLM's torch_dtype)
                model.to(torch_dtype)
        return model

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the model scores in (that of its heads; see :meth:`from_pretrained`)."""
        return self.head.weight.dtype

    @property
    def device(self) -> torch.device:
        """The device the model runs on (that of its heads)."""
        return self.head.weight.device

    def trainable_parameters(self) -> int:
        """Number of parameters that training updates (adapters, vision, fusion, heads)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def __repr__(self) -> str:
        return (
            f"SimilarRewardModel(backbone={self.config.backbone!r} "
            f"({type(self.backbone).__name__}), "
            f"use_image={self.config.use_image}, use_history={self.config.use_history}, "
            f"trainable={self.trainable_parameters():,})"
        )
