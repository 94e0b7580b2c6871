"""The settings of a GRPO run (:func:`agents.grpo.train_grpo`), importable without torch."""

from __future__ import annotations

from dataclasses import dataclass

from agents.env_config import AgentEnvConfig
from reward_model.config_base import help_field


@dataclass
class GRPOConfig(AgentEnvConfig):
    """Settings of :func:`train_grpo` (the env fields come from :class:`AgentEnvConfig`).

    Raises:
        ValueError: A field is out of range (the message names it).
    """

    total_timesteps: int = help_field(
        2048, "Env steps to train for (the last update finishes its groups)."
    )
    group_size: int = help_field(8, "G: rollouts per group, all of one task instance.")
    groups_per_update: int = help_field(2, "Groups (task instances) per policy update.")
    learning_rate: float = help_field(3e-4, "Adam's learning rate (constant).")
    clip_coef: float = help_field(0.2, "PPO clipping range of the probability ratio.")
    update_epochs: int = help_field(4, "Passes over an update's steps.")
    minibatch_size: int = help_field(64, "Steps per gradient step.")
    ent_coef: float = help_field(0.01, "Weight of the entropy bonus.")
    max_grad_norm: float = help_field(0.5, "Gradient norm clipping.")
    kl_coef: float = help_field(
        0.0, "Weight of the KL to a frozen copy of the initial policy (0: no reference)."
    )
    process_weight: float = help_field(
        1.0,
        "With a Similar reward: w in w x process advantage + (1 - w) x outcome (success) "
        "advantage; 1 = process supervision alone, 0 = outcome alone.",
    )
    process_to_go: bool = help_field(
        True,
        "Process advantage of a step = its normalised reward summed to the end of the rollout "
        "(process-supervised GRPO); off: the step's own normalised reward.",
    )
    process_decay_steps: int = help_field(
        0,
        "Env steps over which process_weight falls linearly to 0, after which the outcome "
        "alone teaches (0: constant weight). The dense reward then shapes the early updates "
        "only.",
    )
    seed: int = help_field(0, "Seed of torch, of the instance seeds and so of the whole run.")
    embed_dim: int = help_field(32, "Word-embedding size of the features extractor.")
    use_screenshot: bool = help_field(True, "Read the screenshot with a small CNN.")
    output_dir: str = help_field(
        "runs/agents/grpo", "Run folder: episodes, TensorBoard logs, checkpoint, final policy."
    )
    checkpoint_every: int = help_field(
        512, "Env steps between checkpoints, written after an update (0: only at the end)."
    )
    log_window: int = help_field(20, "Episodes in the running success rate.")

    def __post_init__(self) -> None:
        super().__post_init__()
        positive = (
            "total_timesteps",
            "groups_per_update",
            "learning_rate",
            "clip_coef",
            "update_epochs",
            "minibatch_size",
            "max_grad_norm",
            "embed_dim",
            "log_window",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("ent_coef", "kl_coef", "seed", "checkpoint_every", "process_decay_steps"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0.0 <= self.process_weight <= 1.0:
            raise ValueError(f"process_weight must be in [0, 1], got {self.process_weight!r}")
        if self.group_size < 2:
            raise ValueError(f"group_size must be >= 2 to compare rollouts, got {self.group_size}")
        if self.similar_shaping == "potential" and self.process_to_go and self.reward != "sparse":
            raise ValueError(
                "similar_shaping='potential' with process_to_go: a potential difference summed to "
                "the end is -Phi of the step's start state, the same whatever the step did; use "
                "process_to_go=False (each step's own change) or similar_shaping='none'"
            )
        if not self.output_dir:
            raise ValueError("output_dir must be a folder name, got ''")
