"""Configuration of Triple-M training (``similar train-rm``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from reward_model.config_base import JsonConfig, help_field
from reward_model.modeling_config import TEXT_STYLES

if TYPE_CHECKING:
    import torch

#: The stage-1 learning-rate schedules (see :func:`lr_factor`).
LR_SCHEDULES = ("constant", "linear", "cosine")


def lr_factor(step: int, total: int, schedule: str, warmup_ratio: float = 0.0) -> float:
    """Returns the multiplier of the base learning rate at optimizer step ``step``.

    The schedules of Hugging Face's ``get_scheduler`` of the same names, as a pure function of
    the step, so a resumed run needs no scheduler state.

    Args:
        step: Optimizer steps taken so far (0 for the first).
        total: Optimizer steps of the whole schedule.
        schedule: One of :data:`LR_SCHEDULES`.
        warmup_ratio: Share of ``total`` with a linear rise from 0.

    Returns:
        A factor in [0, 1].

    >>> [lr_factor(s, 4, "linear") for s in range(4)]
    [1.0, 0.75, 0.5, 0.25]
    >>> lr_factor(1, 10, "constant", warmup_ratio=0.2)
    0.5
    """
    warmup = int(warmup_ratio * total)
    if step < warmup:
        return step / warmup
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if schedule == "linear":
        return max(0.0, 1.0 - progress)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def resolve_device(device: str, check: bool = True) -> torch.device:
    """Returns the torch device that :attr:`TrainRMConfig.device` names.

    Args:
        device: ``"auto"`` (the first CUDA GPU when torch sees one, else the CPU), ``"cpu"``
            or a torch device string (``"cuda:1"``).
        check: Also check that the device is there.

    Raises:
        ValueError: If the string names no device, or (with ``check``) a GPU torch cannot use.
    """
    import torch  # here, so that reading a config does not start torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if check and resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: torch sees no CUDA GPU on this machine")
    return resolved


@dataclass
class TrainRMConfig(JsonConfig):
    """What Triple-M trains on and how.

    Stage 1 fits the LoRA adapters, the vision encoder, the fusion layer and the 5-way
    regression head with MSE on the scaled targets ``3*H, 5*OS, 5*E, TR, C`` of SRMTrain's step
    records. Stage 2 freezes all of that and fits the gating MLP with a Bradley-Terry loss on
    SRMTrain's pairs.
    """

    train_dir: str = help_field(
        "runs/srmtrain",
        "SRMTrain run folder of `similar collect` (reads srmtrain/steps.parquet and "
        "srmtrain/pairs.parquet).",
    )
    eval_pairs: str = help_field(
        "", "SRMEval pairs file scored after every epoch; empty = the shipped SRMEval-Web v2."
    )
    out: str = help_field("runs/rm", "Output folder: checkpoints, TensorBoard logs, final model.")
    stage1_epochs: int = help_field(6, "Epochs of stage 1 (regression).")
    stage2_epochs: int = help_field(10, "Epochs of stage 2 (gate, on cached hidden states).")
    batch_size: int = help_field(16, "Step records per stage-1 batch.")
    lr: float = help_field(3e-4, "Learning rate of stage 1 (AdamW).")
    lr_schedule: str = help_field(
        "constant",
        "Learning-rate schedule of stage 1: constant, or linear / cosine decay to 0 at the last "
        "stage-1 step.",
    )
    warmup_ratio: float = help_field(
        0.0, "Share of the stage-1 steps over which the learning rate rises linearly from 0."
    )
    rank_weight: float = help_field(
        0.0,
        "Weight of a pairwise Bradley-Terry loss in stage 1 beside the MSE: for every two "
        "candidates of one state and every dimension where their targets differ, the better "
        "one's score should be higher. With > 0 a batch holds whole states (about batch_size "
        "steps). 0 = MSE only, the paper's stage 1.",
    )
    gate_lr: float = help_field(1e-3, "Learning rate of stage 2 (AdamW).")
    weight_decay: float = help_field(0.01, "AdamW weight decay.")
    eval_max_pairs: int = help_field(
        0, "Score at most this many SRMEval pairs per epoch (0 = all)."
    )
    seed: int = help_field(0, "Seed of initialisation and shuffling.")
    threads: int = help_field(0, "Torch CPU threads (0 = torch's default).")
    device: str = help_field(
        "auto",
        "Device to train on: 'auto' (the first CUDA GPU if torch sees one, else the CPU), "
        "'cpu', or a torch device such as 'cuda:1'.",
    )
    use_image: bool = help_field(True, "Multi-modal: read the screenshot.")
    use_history: bool = help_field(True, "Multi-step: read the earlier steps.")
    stage2: bool = help_field(True, "Multi-objective: train the gate (stage 2).")
    max_length: int = help_field(
        48,
        "Tokens of the text input; 48 scores 2.5x faster than 128 on 2 CPU cores (README).",
    )
    backbone_layers: int = help_field(
        0, "Keep only the text backbone's first N transformer layers (0 = all of them)."
    )
    text_style: str = help_field(
        "compact",
        "How steps are written for the model: 'compact' (no element ids, step number, latest "
        "steps first) or 'verbose' (the layout of checkpoints made before 2026-12).",
    )

    RESUMABLE_FIELDS: ClassVar[tuple[str, ...]] = ("threads", "eval_max_pairs", "device")

    def __post_init__(self) -> None:
        for name in ("batch_size",):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainRMConfig.{name} must be >= 1")
        for name in (
            "stage1_epochs",
            "stage2_epochs",
            "eval_max_pairs",
            "threads",
            "backbone_layers",
        ):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"TrainRMConfig.{name} must be >= 0")
        if self.text_style not in TEXT_STYLES:
            raise ValueError(
                f"TrainRMConfig.text_style must be one of {', '.join(TEXT_STYLES)}, "
                f"got {self.text_style!r}"
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"TrainRMConfig.lr_schedule must be one of {', '.join(LR_SCHEDULES)}, "
                f"got {self.lr_schedule!r}"
            )
        try:
            resolve_device(self.device, check=False)
        except (RuntimeError, ValueError):
            raise ValueError(
                f"TrainRMConfig.device must be 'auto', 'cpu' or a torch device, got {self.device!r}"
            ) from None
        if not self.rank_weight >= 0.0:
            raise ValueError(f"TrainRMConfig.rank_weight must be >= 0, got {self.rank_weight}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(
                f"TrainRMConfig.warmup_ratio must be in [0, 1), got {self.warmup_ratio}"
            )
