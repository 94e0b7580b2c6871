"""What every agent trainer shares: the env it learns on and the reward it learns from.

:class:`AgentEnvConfig` is the base of :class:`agents.ppo.PPOConfig` and
:class:`agents.grpo.GRPOConfig`; :func:`make_env` builds one env from it:
``Similar/Web-v0`` in discrete action mode (numeric observations), with

* ``reward="sparse"``: the env's own reward (success);
* ``reward="similar"``: the env's reward plus ``similar_scale`` x the Similar reward of every
  step (:class:`wrappers.SimilarRewardWrapper`, mode ``"add"``);
* ``reward="similar-only"``: ``similar_scale`` x the Similar reward alone (mode ``"replace"``).

``similar_shaping="potential"`` turns the Similar reward into a potential difference
(:class:`wrappers.RewardMix`), discounted by the agent's ``gamma`` (1 for GRPO).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from reward_model.config_base import JsonConfig, help_field
from wrappers.similar_reward import SHAPINGS

#: The values of ``AgentEnvConfig.reward``.
REWARDS = ("sparse", "similar", "similar-only")


@dataclass
class AgentEnvConfig(JsonConfig):
    """The env an agent learns on (fields shared by the PPO and GRPO configs)."""

    task: str = help_field(
        "miniwob/enter-text", "Similar/Web-v0 task id, or a comma-separated list of ids."
    )
    reward: str = help_field(
        "sparse",
        "sparse (the env's reward), similar (env + scale x Similar reward) or similar-only.",
    )
    similar_model: str = help_field(
        "default", "Reward model for similar rewards: 'default' or a checkpoint folder."
    )
    similar_scale: float = help_field(0.1, "Factor on the Similar reward.")
    similar_shaping: str = help_field(
        "none",
        "none (each step's score is its reward) or potential (the score is the potential of "
        "the next state; the reward is gamma x its change: cannot be collected by looping).",
    )
    max_steps: int = help_field(10, "Step limit of an episode (truncation).")
    max_elements: int = help_field(16, "Element slots of the discrete action (and observation).")
    max_text_slots: int = help_field(4, "Text slots of the discrete action (and observation).")
    screenshot_size: tuple[int, ...] = help_field(
        (96, 128), "Screenshot (height, width); the reward model reads 96 x 128."
    )
    action_masks: bool = help_field(
        True,
        "Mask impossible actions (empty element and text slots; WebEnv.action_masks). "
        "PPO: sb3-contrib's MaskablePPO when on, SB3's PPO when off.",
    )

    def __post_init__(self) -> None:
        if self.reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {self.reward!r}")
        if self.similar_shaping not in SHAPINGS:
            raise ValueError(
                f"similar_shaping must be one of {SHAPINGS}, got {self.similar_shaping!r}"
            )
        if len(self.screenshot_size) != 2:
            raise ValueError(f"screenshot_size must be (height, width), got {self.screenshot_size}")
        self.screenshot_size = tuple(int(v) for v in self.screenshot_size)

    @property
    def tasks(self) -> list[str]:
        """The task ids of :attr:`task`."""
        return [t.strip() for t in self.task.split(",") if t.strip()]


def make_env(config: AgentEnvConfig, model: Any = None) -> gym.Env:
    """Builds the env of ``config``, with the Similar reward when ``config.reward`` asks for it.

    Args:
        config: The env and reward settings.
        model: A loaded reward model to share between envs; default: load
            ``config.similar_model`` (only when the reward needs it).
    """
    tasks = config.tasks
    env = gym.make(
        "Similar/Web-v0",
        task=tasks[0] if len(tasks) == 1 else tasks,
        action_mode="discrete",
        max_steps=config.max_steps,
        max_elements=config.max_elements,
        max_text_slots=config.max_text_slots,
        screenshot_size=config.screenshot_size,
    )
    if config.reward == "sparse":
        return env
    from wrappers.similar_reward import SimilarRewardWrapper

    mode = "add" if config.reward == "similar" else "replace"
    return SimilarRewardWrapper(
        env,
        model=model or config.similar_model,
        mode=mode,
        scale=config.similar_scale,
        shaping=config.similar_shaping,
        gamma=float(getattr(config, "gamma", 1.0)),
    )
