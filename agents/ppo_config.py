"""The settings of a PPO run (:func:`agents.ppo.train_ppo`), importable without torch."""

from __future__ import annotations

from dataclasses import dataclass

from agents.env_config import AgentEnvConfig
from reward_model.config_base import help_field


@dataclass
class PPOConfig(AgentEnvConfig):
    """Settings of a PPO run (the env fields come from :class:`AgentEnvConfig`)."""

    total_timesteps: int = help_field(2048, "Env steps to train for (all envs together).")
    num_envs: int = help_field(1, "Envs stepped together (more than 1: one process each).")
    n_steps: int = help_field(128, "Steps per env in each rollout.")
    batch_size: int = help_field(64, "Minibatch size of the updates.")
    n_epochs: int = help_field(4, "Passes over each rollout.")
    learning_rate: float = help_field(3e-4, "Adam learning rate.")
    gamma: float = help_field(0.95, "Discount factor.")
    gae_lambda: float = help_field(0.95, "GAE lambda.")
    clip_range: float = help_field(0.2, "PPO clipping of the probability ratio.")
    ent_coef: float = help_field(0.01, "Entropy bonus.")
    net_arch: tuple[int, ...] = help_field((64,), "Hidden layers of the policy and value heads.")
    embed_dim: int = help_field(32, "Word-embedding size of the features extractor.")
    use_screenshot: bool = help_field(True, "Feed the screenshot through a small CNN.")
    seed: int = help_field(0, "Seed of the policy, the updates and the envs' task instances.")
    output_dir: str = help_field("runs/agents/ppo", "Run folder (logs, checkpoints, summary).")
    checkpoint_every: int = help_field(512, "Env steps between checkpoints.")
    log_window: int = help_field(20, "Episodes in the running success rate.")
    similar_decay_steps: int = help_field(
        0,
        "With a Similar reward: env steps over which its scale falls linearly to 0, updated "
        "at every rollout (0: constant).",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("total_timesteps", "num_envs", "n_steps", "batch_size", "n_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.similar_decay_steps < 0:
            raise ValueError(f"similar_decay_steps must be >= 0, got {self.similar_decay_steps}")
        if not 0.0 < self.gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma}")
        self.net_arch = tuple(int(v) for v in self.net_arch)
