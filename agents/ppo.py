"""PPO on ``Similar/Web-v0`` through stable-baselines3, with sparse or Similar rewards.

:class:`agents.ppo_config.PPOConfig` holds every setting (help text on each field);
:func:`train_ppo` builds the envs (:func:`agents.env_config.make_env`), SB3's
``PPO("MultiInputPolicy", ...)`` with :class:`agents.features.WebFeaturesExtractor`, and
trains. By default it is sb3-contrib's ``MaskablePPO``, the same algorithm with impossible
actions masked out (``WebEnv.action_masks``: empty element and text slots; a page lists 5
elements, the action space has 16 slots); ``action_masks=False`` gives plain PPO. A run
folder gets:

* ``tensorboard/``: ``charts/episodic_return``, ``charts/episodic_length``,
  ``charts/success_rate`` per episode, and SB3's training figures under CleanRL's names
  (``losses/policy_loss``, ``losses/value_loss``, ``losses/entropy``, ``losses/approx_kl``,
  ``losses/clipfrac``, ``losses/explained_variance``, ``charts/learning_rate``, ``charts/SPS``);
* ``episodes.jsonl`` (one line per episode), ``config.json``, ``summary.json``;
* ``checkpoint/`` every ``checkpoint_every`` env steps and ``policy.safetensors`` at the end,
  written without pickle (:mod:`agents.checkpoint`). ``train_ppo(config, resume=True)`` goes on
  from the checkpoint; episodes that were running when it was written are replayed from a reset,
  so a resumed run matches a straight one in budget, not bit for bit.

With a Similar reward, ``similar_decay_steps`` lets its scale fall linearly to 0
(:func:`agents.schedules.linear_decay`, set at every rollout through the wrapper's
``set_scale`` and logged as ``charts/similar_scale``): the dense reward shapes the first
rollouts and the env's own reward teaches the rest.

From the shell: ``similar train-agent --algo ppo --reward similar --task miniwob/enter-text``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from safetensors.torch import save_model
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from agents.checkpoint import check_resumable, clear_run, load_checkpoint, save_checkpoint
from agents.env_config import make_env
from agents.episode_log import EpisodeLogger, truncate_episodes
from agents.features import WebFeaturesExtractor
from agents.ppo_config import PPOConfig
from agents.schedules import linear_decay
from similar_gym.files import write_text_atomic

#: SB3's logger keys and the CleanRL names they are written under (sign, name).
_RENAMES = {
    "train/policy_gradient_loss": (1.0, "losses/policy_loss"),
    "train/value_loss": (1.0, "losses/value_loss"),
    "train/entropy_loss": (-1.0, "losses/entropy"),
    "train/approx_kl": (1.0, "losses/approx_kl"),
    "train/clip_fraction": (1.0, "losses/clipfrac"),
    "train/explained_variance": (1.0, "losses/explained_variance"),
    "train/loss": (1.0, "losses/loss"),
    "train/learning_rate": (1.0, "charts/learning_rate"),
    "time/fps": (1.0, "charts/SPS"),
}


class _CleanRLNames(TensorBoardOutputFormat):
    """SB3's TensorBoard output with CleanRL's metric names; per-episode charts come elsewhere."""

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0):
        """Writes the renamed scalars of one SB3 log dump."""
        for key, value in key_values.items():
            if key in _RENAMES:
                sign, name = _RENAMES[key]
                self.writer.add_scalar(name, sign * float(value), step)
        self.writer.flush()


class _Episodes(BaseCallback):
    """Logs finished episodes and writes checkpoints between rollouts."""

    def __init__(
        self, config: PPOConfig, log: EpisodeLogger, started: float, progress: bool = True
    ):
        super().__init__()
        self.config, self.log, self.started = config, log, started
        self.saved_at = 0
        self.progress = progress
        self.bar: Any = None

    def _on_training_start(self) -> None:
        self.saved_at = self.num_timesteps
        self.bar = tqdm(
            total=self.config.total_timesteps,
            initial=self.num_timesteps,
            desc="PPO",
            disable=not self.progress,
        )

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            if done and "episode" in info:
                ep = info["episode"]
                self.log.log(
                    self.num_timesteps, float(ep["r"]), int(ep["l"]), bool(info.get("success"))
                )
                self.bar.set_postfix(success=f"{self.log.success_rate:.2f}")
        self.bar.update(self.training_env.num_envs)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()

    def _on_rollout_start(self) -> None:
        if self.num_timesteps - self.saved_at >= self.config.checkpoint_every:
            self.save()
        self._schedule_similar_scale()

    def _schedule_similar_scale(self) -> None:
        """Sets the Similar reward's scale for this rollout (``similar_decay_steps``)."""
        config = self.config
        if config.reward == "sparse" or config.similar_decay_steps <= 0:
            return
        scale = linear_decay(config.similar_scale, config.similar_decay_steps, self.num_timesteps)
        self.training_env.env_method("set_scale", scale)
        self.log.writer.add_scalar("charts/similar_scale", scale, self.num_timesteps)

    def save(self) -> None:
        """Writes the checkpoint of the current step."""
        state = {
            "num_timesteps": int(self.num_timesteps),
            "n_updates": int(self.model._n_updates),
            "episodes": self.log.episodes,
            "seconds": time.monotonic() - self.started,
        }
        policy = self.model.policy
        folder = Path(self.config.output_dir) / "checkpoint"
        save_checkpoint(folder, policy, policy.optimizer, state, self.config)
        self.saved_at = self.num_timesteps


def _vec_env(config: PPOConfig, model: Any) -> DummyVecEnv | SubprocVecEnv:
    if config.num_envs == 1:
        return DummyVecEnv([lambda: Monitor(make_env(config, model))])
    return SubprocVecEnv([lambda: Monitor(make_env(config))] * config.num_envs)


def build_ppo(config: PPOConfig, env: Any) -> PPO:
    """SB3's PPO (or ``MaskablePPO``) with :class:`WebFeaturesExtractor` and ``config``."""
    policy_kwargs = {
        "features_extractor_class": WebFeaturesExtractor,
        "features_extractor_kwargs": {
            "embed_dim": config.embed_dim,
            "use_screenshot": config.use_screenshot,
        },
        "net_arch": {"pi": list(config.net_arch), "vf": list(config.net_arch)},
    }
    algo = PPO
    if config.action_masks:
        from sb3_contrib import MaskablePPO

        algo = MaskablePPO
    return algo(
        "MultiInputPolicy",
        env,
        learning_rate=config.learning_rate,
        n_steps=config.n_steps,
        batch_size=config.batch_size,
        n_epochs=config.n_epochs,
        gamma=config.gamma,
        gae_lambda=config.gae_lambda,
        clip_range=config.clip_range,
        ent_coef=config.ent_coef,
        policy_kwargs=policy_kwargs,
        seed=config.seed,
        device="cpu",
        verbose=0,
    )


def train_ppo(
    config: PPOConfig, resume: bool = False, model: Any = None, progress: bool = True
) -> dict[str, Any]:
    """Trains PPO as ``config`` says and returns the run's summary (also ``summary.json``).

    Args:
        config: The run's settings.
        resume: Go on from ``output_dir/checkpoint`` (it must exist); otherwise start afresh,
            clearing what an earlier run left in ``output_dir``.
        model: A loaded reward model for the Similar reward (single env only); default: load
            ``config.similar_model``.
        progress: Show a progress bar.

    Returns:
        ``global_step``, ``episodes``, ``final_success_rate`` (last ``log_window`` episodes),
        ``seconds`` and ``output_dir``.

    Raises:
        FileNotFoundError: ``resume`` without a checkpoint.
        ValueError: ``resume`` with a checkpoint made by another config.
    """
    out = Path(config.output_dir)
    if resume:
        check_resumable(out / "checkpoint", config)
    out.mkdir(parents=True, exist_ok=True)
    config.save(out / "config.json")
    started = time.monotonic()
    env = _vec_env(config, model)
    try:
        ppo = build_ppo(config, env)
        ppo.set_logger(Logger(str(out), [_CleanRLNames(str(out / "tensorboard"))]))
        done, spent = 0, 0.0
        if resume:
            state, _ = load_checkpoint(out / "checkpoint", ppo.policy, ppo.policy.optimizer)
            done, spent = state["num_timesteps"], state["seconds"]
            ppo.num_timesteps, ppo._n_updates = done, state["n_updates"]
            truncate_episodes(out / "episodes.jsonl", done)
        else:
            clear_run(out)
        # purge_step hides the TensorBoard events a resumed run redoes.
        writer = SummaryWriter(str(out / "tensorboard"), purge_step=done + 1)
        log = EpisodeLogger(out, window=config.log_window, writer=writer)
        callback = _Episodes(config, log, started - spent, progress)
        if config.total_timesteps > done:
            ppo.learn(config.total_timesteps - done, callback=callback, reset_num_timesteps=False)
        callback.save()
        save_model(ppo.policy, str(out / "policy.safetensors"))
        summary = {
            "algo": "ppo",
            "global_step": int(ppo.num_timesteps),
            "episodes": log.episodes,
            "final_success_rate": log.success_rate,
            "seconds": round(time.monotonic() - started + spent, 1),
            "output_dir": str(out),
        }
        log.close()
    finally:
        env.close()
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


__all__ = ["PPOConfig", "build_ppo", "train_ppo"]
