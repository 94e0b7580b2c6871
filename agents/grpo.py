"""GRPO (Group Relative Policy Optimization) for gymnasium envs, in one file.

GRPO (Shao et al., 2024, "DeepSeekMath") is PPO without a value network: the policy rolls out a
*group* of ``G`` episodes from the same start and each rollout is judged against its group. Here a
group is ``G`` rollouts of one task instance (every rollout of the group resets the env with the
same ``instance_seed``), the actions sampled from the current policy. Two variants, chosen by
``GRPOConfig.reward``:

* **Outcome supervision** (``reward="sparse"``): ``R_g = float(info["success"])`` at the end of
  rollout ``g``; its advantage ``(R_g - mean(R)) / (std(R) + eps)`` is applied to every step of
  the rollout (:func:`outcome_advantages`).
* **Process supervision** (``reward="similar"`` or ``"similar-only"``): the step rewards ``r_t``
  are what ``env.step`` returns, i.e. the :class:`wrappers.SimilarRewardWrapper` reward
  ``info["similar"]["mixed"]``. All step rewards of the group are normalised together by their
  mean and std over all steps, and the advantage of step ``t`` is the sum of the normalised rewards
  from ``t`` to the end of its rollout (:func:`process_advantages`). With ``"similar"`` the
  wrapper adds the env reward, so the outcome (success) is already in the last step's reward;
  ``"similar-only"`` learns from the Similar reward alone.
* **Both** (a Similar reward and ``process_weight < 1``): the advantage of step ``t`` is
  ``w * process_t + (1 - w) * outcome`` with ``w = process_weight``: the success decides which
  rollouts of the group are pushed up, the step rewards say which of their steps more
  (:func:`group_advantages`). With ``process_to_go=False`` a step's process part is its own
  normalised reward rather than the sum to the end: the Similar reward already judges a step
  by where it leads, and a sum over the steps left favours short rollouts whenever the step
  rewards sit under the group's mean. Mix with ``reward="similar-only"``: with ``"similar"``
  the process part also carries the env reward, and where a wrong submit costs -1 while every
  step earns a positive Similar reward, stalling until truncation pays (README, "Session 15").
  With ``process_decay_steps > 0`` the weight falls linearly from ``process_weight`` to 0 over
  that many env steps (:func:`process_weight_at`): the dense reward shapes the first updates,
  the success alone the later ones.

``std`` is the population standard deviation (``ddof=0``); a group whose rewards are all equal
gets zero advantages. The loss of each step is PPO's clipped objective with
``ratio = exp(new_logprob - old_logprob)`` (old: at rollout time), minus ``ent_coef`` x entropy,
plus ``kl_coef`` x the KL to a frozen copy of the initial policy when ``kl_coef > 0`` (the
``k3`` estimator of DeepSeekMath). An update uses ``groups_per_update`` groups and
``update_epochs`` passes over their steps; the learning rate is constant.

Outputs in ``output_dir``: ``episodes.jsonl`` and TensorBoard ``charts/*`` (one row per episode,
:class:`agents.episode_log.EpisodeLogger`), ``losses/*`` and ``charts/learning_rate`` per update,
``checkpoint/`` (after the update that passes each ``checkpoint_every`` env steps, and at the
end; written without pickle by :mod:`agents.checkpoint`, with the numpy and torch RNG states and
the instance seeds), the final ``policy.safetensors`` and ``summary.json``. A resumed run
(``train_grpo(config, resume=True)``) continues from the checkpoint and, as every group starts
from a seeded reset, repeats what an uninterrupted run would have done.

Example::

    from agents.grpo import GRPOConfig, train_grpo

    summary = train_grpo(GRPOConfig(task="miniwob/click-test", total_timesteps=5000))
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from safetensors.torch import save_model
from torch import nn
from torch.distributions import Categorical
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from agents.checkpoint import check_resumable, clear_run, load_checkpoint, save_checkpoint
from agents.env_config import make_env
from agents.episode_log import EpisodeLogger, truncate_episodes
from agents.features import WebFeaturesExtractor
from agents.grpo_config import GRPOConfig
from agents.schedules import linear_decay
from similar_gym.files import write_text_atomic

#: Added to a group's standard deviation before dividing by it.
EPS = 1e-8

#: The logit of a masked-out action index (finite, so entropies stay finite).
_MASKED = -1e8


# ----------------------------------------------------------------------------------------------
# Advantages
# ----------------------------------------------------------------------------------------------


def outcome_advantages(returns: np.ndarray | list[float]) -> np.ndarray:
    """Outcome-supervision advantages of one group: ``(R - mean(R)) / (std(R) + eps)``.

    Args:
        returns: ``(G,)`` outcome of each rollout of the group (success as 0/1).

    Returns:
        ``(G,)`` float64 advantages, applied to every step of their rollout; zeros when all
        rollouts of the group have the same outcome.
    """
    r = np.asarray(returns, dtype=np.float64)
    return (r - r.mean()) / (r.std() + EPS)


def process_advantages(
    step_rewards: list[np.ndarray] | list[list[float]], to_go: bool = True
) -> list[np.ndarray]:
    """Process-supervision advantages of one group.

    Every step reward of the group is normalised by the mean and std of all the group's step
    rewards; the advantage of a step is the sum of the normalised rewards from it to the end of
    its rollout (or, with ``to_go=False``, its own normalised reward).

    Args:
        step_rewards: One ``(T_g,)`` array of step rewards per rollout of the group.
        to_go: Sum the normalised rewards from each step to the end of its rollout.

    Returns:
        One ``(T_g,)`` float64 array of advantages per rollout; zeros when all step rewards of the
        group are equal.
    """
    rewards = [np.asarray(r, dtype=np.float64) for r in step_rewards]
    flat = np.concatenate(rewards) if rewards else np.zeros(0)
    if flat.size == 0:
        return rewards
    mean, std = flat.mean(), flat.std()
    normalised = [(r - mean) / (std + EPS) for r in rewards]
    if not to_go:
        return normalised
    return [np.cumsum(z[::-1])[::-1].copy() for z in normalised]


# ----------------------------------------------------------------------------------------------
# Policy
# ----------------------------------------------------------------------------------------------


def obs_to_tensors(observations: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Stacks observations into a batch of tensors (dtypes kept: the screenshot stays ``uint8``).

    Args:
        observations: ``B`` observations of a ``Dict`` space, each a dict of numpy arrays.

    Returns:
        One ``(B, ...)`` tensor per key.
    """
    return {
        key: torch.as_tensor(np.stack([o[key] for o in observations])) for key in observations[0]
    }


class GRPOPolicy(nn.Module):
    """A stochastic policy over ``MultiDiscrete`` actions, with no value network.

    :class:`agents.features.WebFeaturesExtractor`, one hidden layer, then one linear head of
    ``Categorical`` logits per action dimension (the dimensions are sampled independently).

    Args:
        observation_space: The env's numeric ``Dict`` observation space.
        action_space: The env's ``MultiDiscrete`` action space.
        embed_dim: Word-embedding size of the features extractor.
        use_screenshot: Read the screenshot with a small CNN.
        hidden: Width of the hidden layer.

    Raises:
        ValueError: ``action_space`` is not a one-dimensional ``MultiDiscrete``.
    """

    def __init__(
        self,
        observation_space: gym.spaces.Dict,
        action_space: gym.spaces.MultiDiscrete,
        embed_dim: int = 32,
        use_screenshot: bool = True,
        hidden: int = 64,
    ):
        super().__init__()
        if not isinstance(action_space, gym.spaces.MultiDiscrete) or action_space.nvec.ndim != 1:
            raise ValueError(
                f"GRPOPolicy needs a 1-D MultiDiscrete action space, got {action_space}"
            )
        self.features = WebFeaturesExtractor(
            observation_space, embed_dim=embed_dim, use_screenshot=use_screenshot
        )
        self.body = nn.Sequential(nn.Linear(self.features.features_dim, hidden), nn.Tanh())
        self.heads = nn.ModuleList(nn.Linear(hidden, int(n)) for n in action_space.nvec)

    def distributions(
        self, obs: dict[str, torch.Tensor], masks: torch.Tensor | None = None
    ) -> list[Categorical]:
        """One ``Categorical`` per action dimension for a batch of observations.

        Args:
            obs: A batch of observations (:func:`obs_to_tensors`).
            masks: ``(B, sum(nvec))`` booleans, the dimensions' masks concatenated
                (``WebEnv.action_masks``); masked-out indices get (almost) zero probability.
        """
        h = self.body(self.features(obs))
        logits = [head(h) for head in self.heads]
        if masks is not None:
            parts = torch.split(masks.bool(), [lg.shape[-1] for lg in logits], dim=-1)
            logits = [lg.masked_fill(~m, _MASKED) for lg, m in zip(logits, parts, strict=True)]
        return [Categorical(logits=lg) for lg in logits]

    @torch.no_grad()
    def act(
        self, obs: dict[str, np.ndarray], mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        """Samples an action for one observation.

        Args:
            obs: One observation (a dict of numpy arrays, no batch axis).
            mask: Its action mask (see :meth:`distributions`), or ``None``.

        Returns:
            The action as an ``int64`` array (one entry per dimension) and its log-probability.
        """
        masks = None if mask is None else torch.as_tensor(mask)[None]
        dists = self.distributions(obs_to_tensors([obs]), masks)
        action = torch.stack([d.sample() for d in dists], -1)
        logprob = sum(d.log_prob(action[:, i]) for i, d in enumerate(dists))
        return action[0].numpy().astype(np.int64), float(logprob[0])

    def logprob_entropy(
        self, obs: dict[str, torch.Tensor], actions: torch.Tensor, masks: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities and entropies of a batch of actions.

        Args:
            obs: A batch of observations (:func:`obs_to_tensors`).
            actions: ``(B, n_dims)`` integer actions.
            masks: The action masks the actions were sampled under, or ``None``.

        Returns:
            ``(B,)`` log-probabilities of the actions and ``(B,)`` entropies of the policy, both
            summed over the action dimensions.
        """
        dists = self.distributions(obs, masks)
        logprob = torch.stack([d.log_prob(actions[:, i]) for i, d in enumerate(dists)]).sum(0)
        entropy = torch.stack([d.entropy() for d in dists]).sum(0)
        return logprob, entropy


# ----------------------------------------------------------------------------------------------
# Rollouts
# ----------------------------------------------------------------------------------------------


@dataclass
class Rollout:
    """One episode: what the update needs from it.

    Attributes:
        observations: The ``T`` observations the actions were taken in.
        actions: ``(T, n_dims)`` actions.
        logprobs: ``(T,)`` log-probabilities of the actions at rollout time.
        rewards: ``(T,)`` rewards ``env.step`` returned.
        success: Whether the episode reached its goal.
        masks: ``(T, sum(nvec))`` action masks, or ``None`` when unmasked.
    """

    observations: list[dict[str, np.ndarray]]
    actions: np.ndarray
    logprobs: np.ndarray
    rewards: np.ndarray
    success: bool
    masks: np.ndarray | None = None


def run_episode(env: gym.Env, policy: GRPOPolicy, seed: int, masked: bool = True) -> Rollout:
    """Plays one episode of the task instance ``seed`` with actions sampled from ``policy``.

    Args:
        env: The env (discrete actions).
        policy: The policy that acts.
        seed: The task instance.
        masked: Sample under the env's ``action_masks()`` (when it has one).
    """
    mask_fn = _mask_fn(env) if masked else None
    obs, info = env.reset(seed=seed)
    observations, actions, logprobs, rewards, masks = [], [], [], [], []
    done = False
    while not done:
        mask = mask_fn() if mask_fn else None
        action, logprob = policy.act(obs, mask)
        masks.append(mask)
        observations.append(obs)
        actions.append(action)
        logprobs.append(logprob)
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(float(reward))
        done = terminated or truncated
    return Rollout(
        observations,
        np.stack(actions),
        np.asarray(logprobs, dtype=np.float32),
        np.asarray(rewards, dtype=np.float64),
        bool(info.get("success", False)),
        np.stack(masks) if mask_fn else None,
    )


def _mask_fn(env: gym.Env) -> Any:
    """The env's ``action_masks`` method (through wrappers), or ``None`` if it has none."""
    try:
        return env.get_wrapper_attr("action_masks")
    except AttributeError:
        return None


def group_advantages(
    group: list[Rollout], process: bool, process_weight: float = 1.0, to_go: bool = True
) -> list[np.ndarray]:
    """Per-step advantages of a group's rollouts.

    Args:
        group: The rollouts of one task instance.
        process: Whether the step rewards carry a process reward (Similar's); without one the
            advantages are the outcome's alone.
        process_weight: ``w`` in ``w * process + (1 - w) * outcome`` when ``process`` is set
            (1: process supervision alone).
        to_go: Process part summed to the end of the rollout (:func:`process_advantages`).

    Returns:
        One ``(T_g,)`` float64 array per rollout.
    """
    outcome = outcome_advantages([float(r.success) for r in group])
    outcome_steps = [np.full(len(r.rewards), a) for r, a in zip(group, outcome, strict=True)]
    if not process:
        return outcome_steps
    steps = process_advantages([r.rewards for r in group], to_go)
    w = process_weight
    return [w * p + (1.0 - w) * o for p, o in zip(steps, outcome_steps, strict=True)]


def process_weight_at(weight: float, decay_steps: int, step: int) -> float:
    """The process weight ``w`` of the groups collected from env step ``step`` on.

    Args:
        weight: ``GRPOConfig.process_weight``, the weight at step 0.
        decay_steps: ``GRPOConfig.process_decay_steps``: the weight reaches 0 there and stays
            (0: ``weight`` throughout).
        step: Env steps done before the group.

    Returns:
        ``weight * max(0, 1 - step / decay_steps)``, or ``weight`` without decay
        (:func:`agents.schedules.linear_decay`).
    """
    return linear_decay(weight, decay_steps, step)


# ----------------------------------------------------------------------------------------------
# Checkpoints (safetensors + JSON, no pickle)
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------


def train_grpo(
    config: GRPOConfig, resume: bool = False, model: Any = None, progress: bool = True
) -> dict[str, Any]:
    """Trains a :class:`GRPOPolicy` with GRPO (module docstring) and writes the run folder.

    Args:
        config: The run's settings.
        resume: Continue from ``output_dir/checkpoint``; otherwise start afresh (an earlier
            ``episodes.jsonl`` in ``output_dir`` is cleared).
        model: An already-loaded reward model for the Similar reward (see
            :func:`agents.env_config.make_env`).
        progress: Show a tqdm bar over env steps.

    Returns:
        ``{"global_step", "episodes", "final_success_rate", "seconds", "output_dir"}``, also
        written to ``output_dir/summary.json``.

    Raises:
        FileNotFoundError: ``resume`` without a checkpoint.
        ValueError: ``resume`` with a checkpoint made by a different config.
    """
    start_time = time.time()
    out = Path(config.output_dir)
    if resume:
        check_resumable(out / "checkpoint", config)
    out.mkdir(parents=True, exist_ok=True)
    process = config.reward != "sparse"

    # Seeding: torch (init, sampling, minibatch order) and numpy (instance seeds).
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    with contextlib.ExitStack() as cleanup:  # closes the env, the logger and the bar
        env = make_env(config, model=model)
        cleanup.callback(env.close)
        policy = GRPOPolicy(
            env.observation_space,
            env.action_space,
            embed_dim=config.embed_dim,
            use_screenshot=config.use_screenshot,
        )
        reference = None
        if config.kl_coef > 0:
            reference = copy.deepcopy(policy).requires_grad_(False)
        optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate, eps=1e-5)

        global_step, update, instance_seeds = 0, 0, []
        episodes_path = out / "episodes.jsonl"
        if resume:
            state, extra = load_checkpoint(out / "checkpoint", policy, optimizer)
            global_step, update = state["global_step"], state["update"]
            instance_seeds = list(state["instance_seeds"])
            rng.bit_generator.state = state["numpy_rng"]
            torch.set_rng_state(extra["rng.torch"])
            if reference is not None:
                prefix = "reference."
                reference.load_state_dict(
                    {k[len(prefix) :]: v for k, v in extra.items() if k.startswith(prefix)}
                )
            truncate_episodes(episodes_path, global_step)
        else:
            clear_run(out)
        config.save(out / "config.json")
        saved_at = global_step

        # purge_step hides the TensorBoard events a resumed run redoes (or an earlier run's).
        writer = SummaryWriter(str(out / "tensorboard"), purge_step=global_step + 1)
        logger = EpisodeLogger(out, window=config.log_window, writer=writer)
        cleanup.callback(logger.close)

        def checkpoint() -> None:
            state = {
                "global_step": global_step,
                "update": update,
                "numpy_rng": rng.bit_generator.state,
                "instance_seeds": instance_seeds,
            }
            extra = {"rng.torch": torch.get_rng_state()}
            if reference is not None:
                extra.update({f"reference.{k}": v for k, v in reference.state_dict().items()})
            save_checkpoint(out / "checkpoint", policy, optimizer, state, config, extra)

        bar = cleanup.enter_context(
            tqdm(
                total=config.total_timesteps, initial=global_step, disable=not progress, desc="GRPO"
            )
        )
        while global_step < config.total_timesteps:
            # 1. Rollouts: groups of G episodes, each group on one task instance.
            rollouts: list[Rollout] = []
            advantages: list[np.ndarray] = []
            weight = process_weight_at(
                config.process_weight, config.process_decay_steps, global_step
            )
            for _ in range(config.groups_per_update):
                instance_seed = int(rng.integers(2**31 - 1))
                instance_seeds.append(instance_seed)
                group = []
                for _ in range(config.group_size):
                    rollout = run_episode(env, policy, instance_seed, config.action_masks)
                    length = len(rollout.rewards)
                    global_step += length
                    bar.update(length)
                    logger.log(global_step, float(rollout.rewards.sum()), length, rollout.success)
                    group.append(rollout)
                bar.set_postfix(success=f"{logger.success_rate:.2f}", episodes=logger.episodes)
                rollouts += group
                advantages += group_advantages(group, process, weight, config.process_to_go)

            # 2. Flatten the steps of the update.
            obs = obs_to_tensors([o for r in rollouts for o in r.observations])
            actions = torch.as_tensor(np.concatenate([r.actions for r in rollouts]))
            old_logprobs = torch.as_tensor(np.concatenate([r.logprobs for r in rollouts]))
            masks = None
            if rollouts[0].masks is not None:
                masks = torch.as_tensor(np.concatenate([r.masks for r in rollouts]))
            adv = torch.as_tensor(np.concatenate(advantages), dtype=torch.float32)
            n_steps = len(adv)

            # 3. Clipped policy-gradient epochs.
            stats: dict[str, list[float]] = {
                name: [] for name in ("policy_loss", "entropy", "approx_kl", "clipfrac", "kl_ref")
            }
            for _ in range(config.update_epochs):
                order = torch.randperm(n_steps)
                for start in range(0, n_steps, config.minibatch_size):
                    idx = order[start : start + config.minibatch_size]
                    mb_obs = {k: v[idx] for k, v in obs.items()}
                    mb_masks = None if masks is None else masks[idx]
                    logprob, entropy = policy.logprob_entropy(mb_obs, actions[idx], mb_masks)
                    logratio = logprob - old_logprobs[idx]
                    ratio = logratio.exp()
                    mb_adv = adv[idx]
                    clipped = torch.clamp(ratio, 1 - config.clip_coef, 1 + config.clip_coef)
                    pg_loss = -torch.min(ratio * mb_adv, clipped * mb_adv).mean()
                    loss = pg_loss - config.ent_coef * entropy.mean()
                    if reference is not None:
                        with torch.no_grad():
                            ref_logprob, _ = reference.logprob_entropy(
                                mb_obs, actions[idx], mb_masks
                            )
                        diff = ref_logprob - logprob
                        kl_ref = (diff.exp() - diff - 1).mean()
                        loss = loss + config.kl_coef * kl_ref
                        stats["kl_ref"].append(kl_ref.item())
                    optimizer.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
                    optimizer.step()
                    with torch.no_grad():
                        stats["policy_loss"].append(pg_loss.item())
                        stats["entropy"].append(entropy.mean().item())
                        stats["approx_kl"].append(((ratio - 1) - logratio).mean().item())
                        stats["clipfrac"].append(
                            ((ratio - 1).abs() > config.clip_coef).float().mean().item()
                        )
            update += 1

            # 4. Log and checkpoint.
            for name, values in stats.items():
                if values:
                    writer.add_scalar(f"losses/{name}", float(np.mean(values)), global_step)
            writer.add_scalar("charts/learning_rate", optimizer.param_groups[0]["lr"], global_step)
            if process:
                writer.add_scalar("charts/process_weight", weight, global_step)
            finished = global_step >= config.total_timesteps
            due = config.checkpoint_every and global_step - saved_at >= config.checkpoint_every
            if finished or due:
                checkpoint()
                saved_at = global_step

    save_model(policy, str(out / "policy.safetensors"))
    summary = {
        "global_step": global_step,
        "episodes": logger.episodes,
        "final_success_rate": logger.success_rate,
        "seconds": time.time() - start_time,
        "output_dir": str(out),
    }
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


__all__ = [
    "GRPOConfig",
    "GRPOPolicy",
    "Rollout",
    "group_advantages",
    "obs_to_tensors",
    "outcome_advantages",
    "process_advantages",
    "run_episode",
    "train_grpo",
]
