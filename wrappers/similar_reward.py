"""Dense step-wise rewards from the Similar reward model, for any env.

:class:`SimilarRewardWrapper` wraps one env; :class:`SimilarRewardVectorWrapper` wraps a vector
env and calls the model once per vector step on the whole batch. Both turn every step into a
:class:`~similar_gym.records.StepContext` through an adapter (:mod:`wrappers.adapters`), score
it, and mix the Similar reward with the env's own reward (:class:`RewardMix`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import gymnasium as gym
import numpy as np

from reward_model.dimensions import CODES
from similar_gym.records import StepContext, describe_action
from wrappers.adapters import AdapterError, StepAdapter, default_adapter
from wrappers.scoring import check_overlap, early_scorer

#: Keys of ``info["similar"]``: the five raw dimension estimates, the Similar reward (before
#: any shaping) and the reward the wrapper returned.
SIMILAR_KEYS: tuple[str, ...] = (*CODES, "similar", "mixed")

#: The values of :attr:`RewardMix.shaping`.
SHAPINGS: tuple[str, ...] = ("none", "potential")


@dataclass(frozen=True)
class RewardMix:
    """How the Similar reward is made and mixed with the env's reward.

    Attributes:
        mode: ``"add"``: env reward + scale * Similar reward; ``"replace"``: scale * Similar
            reward alone.
        scale: Factor on the Similar reward.
        weights: Per-dimension weights on the raw estimates (``{"OS": 1.0, "TR": 0.5}``, codes
            of :data:`reward_model.dimensions.CODES`); ``None`` uses the model's own mixed
            reward (the gated reward of Triple-M).
        shaping: ``"none"``: the Similar reward of a step is the model's score of it;
            ``"potential"``: the score of step t is read as the potential of the state it
            leads to, Phi(s_t+1) = score_t with Phi(s_0) = 0 and Phi = 0 once the episode
            ends (terminated or truncated), and the Similar reward is
            ``gamma * Phi(s_t+1) - Phi(s_t)`` (potential-based shaping, Ng, Harada & Russell
            1999). It moves credit between the steps of an episode but adds nothing to the
            episode's total (exactly nothing with ``gamma=1``; ``(gamma - 1) * Phi`` per step
            otherwise), so no episode, however long, earns more from it than another: an
            agent cannot collect it by looping over well-scored steps or by running into the
            step limit.
        gamma: The discount of the potential difference; use the agent's discount.
    """

    mode: str = "add"
    scale: float = 1.0
    weights: Mapping[str, float] | None = field(default=None)
    shaping: str = "none"
    gamma: float = 1.0

    def __post_init__(self) -> None:
        _finite(self.scale)
        if self.mode not in ("add", "replace"):
            raise ValueError(f"mode must be 'add' or 'replace', got {self.mode!r}")
        if self.shaping not in SHAPINGS:
            raise ValueError(f"shaping must be one of {SHAPINGS}, got {self.shaping!r}")
        if not 0.0 < float(self.gamma) <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma!r}")
        if self.weights is not None:
            unknown = sorted(set(self.weights) - set(CODES))
            if unknown:
                raise ValueError(f"unknown dimensions in weights: {unknown}; use {CODES}")

    def similar(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        """The Similar reward of each scored step, from the model's ``score`` output."""
        if self.weights is None:
            return np.asarray(scores["reward"], dtype=np.float64)
        return sum(
            (w * np.asarray(scores[c], dtype=np.float64) for c, w in self.weights.items()),
            np.zeros(len(scores["reward"])),
        )

    def shape(
        self, similar: np.ndarray, potential: np.ndarray, ended: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Applies :attr:`shaping` to one step of each episode.

        Args:
            similar: The Similar reward of each step (:meth:`similar`).
            potential: Phi of each step's start state (0 at an episode's first step).
            ended: Whether each step ended its episode (terminated or truncated).

        Returns:
            The shaped Similar rewards and Phi of each step's next state.

        Example:
            >>> mix = RewardMix(shaping="potential")
            >>> r, phi = mix.shape(np.array([0.5]), np.zeros(1), np.array([False]))
            >>> r.tolist(), phi.tolist()
            ([0.5], [0.5])
            >>> mix.shape(np.array([0.75]), phi, np.array([True]))[0].tolist()
            [-0.5]
        """
        similar = np.asarray(similar, dtype=np.float64)
        if self.shaping == "none":
            return similar, np.zeros_like(similar)
        following = np.where(np.asarray(ended, dtype=bool), 0.0, similar)
        return self.gamma * following - np.asarray(potential, dtype=np.float64), following

    def mix(self, env_reward: np.ndarray | float, similar: np.ndarray) -> np.ndarray:
        """The reward returned to the agent."""
        base = np.asarray(env_reward, dtype=np.float64) if self.mode == "add" else 0.0
        return base + self.scale * similar


def _finite(scale: float) -> float:
    value = float(scale)
    if not np.isfinite(value):
        raise ValueError(f"scale must be a finite number, got {scale!r}")
    return value


def load_model(model: Any, dtype: str | None = None) -> Any:
    """Returns a model object with ``score(contexts)``: ``model`` itself, or loaded.

    Args:
        model: An object with ``score``, ``"default"`` (the shipped checkpoint) or a folder.
        dtype: The dtype a loaded model scores in (see
            :func:`reward_model.modeling.resolve_dtype`); a model object is used as it is.
    """
    if hasattr(model, "score"):
        return model
    from reward_model.modeling import SimilarRewardModel

    return SimilarRewardModel.from_pretrained(model, dtype=dtype)


def _needs_screenshot(model: Any) -> bool:
    config = getattr(model, "config", None)
    return bool(getattr(config, "use_image", False))


def check_context(ctx: Any, model: Any, adapter: StepAdapter) -> StepContext:
    """Returns ``ctx`` if ``model`` can score it.

    Raises:
        AdapterError: If the adapter returned something else than a :class:`StepContext`, or
            no screenshot for a model that reads screenshots.
    """
    if not isinstance(ctx, StepContext):
        raise AdapterError(f"{type(adapter).__name__}.context returned {type(ctx).__name__}")
    if ctx.screenshot is None and _needs_screenshot(model):
        raise AdapterError(
            f"the observation has no screenshot ({type(adapter).__name__} found none, e.g. no "
            "obs['screenshot']): this reward model reads screenshots; keep the screenshot in "
            "the observation or use a text-only model (use_image=False)"
        )
    return ctx


def action_previewer(env: Any) -> Callable[[Any], dict[str, Any]] | None:
    """The env's ``action_info`` (what a step's info will say about an action), if it has one."""
    preview = getattr(getattr(env, "unwrapped", None), "action_info", None)
    return preview if callable(preview) else None


def _info_dict(
    scores: Mapping[str, np.ndarray], similar: np.ndarray, mixed: np.ndarray, i: int
) -> dict[str, float]:
    out = {c: float(scores[c][i]) for c in CODES}
    out.update(similar=float(similar[i]), mixed=float(mixed[i]))
    return out


class SimilarRewardWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Adds the Similar reward model's step-wise reward to an env's reward.

    At every step it builds the step's :class:`StepContext` (the observation before the action,
    the action, the episode's earlier steps) with ``adapter``, scores it, and returns the env's
    reward mixed with the Similar reward (:class:`RewardMix`). ``info["similar"]`` holds the five
    raw dimension estimates, the Similar reward and the returned reward.

    Args:
        env: The env to wrap.
        model: ``"default"`` (the shipped checkpoint), a checkpoint folder, or a model object
            with ``score(contexts) -> {"H", ..., "C", "reward"}`` arrays.
        adapter: Builds contexts from this env's steps; default the built-in adapter for the env
            (:func:`wrappers.adapters.default_adapter`).
        mode: ``"add"`` or ``"replace"`` (see :class:`RewardMix`).
        scale: Factor on the Similar reward.
        weights: Per-dimension weights; ``None`` uses the model's mixed reward.
        shaping: ``"none"`` or ``"potential"`` (potential-based shaping; see
            :class:`RewardMix`).
        gamma: The discount of potential-based shaping (the agent's discount).
        overlap: Score each step while the env executes it, when the env can describe an
            action before stepping (``Similar/Web-v0`` can; see :mod:`wrappers.scoring`):
            ``True`` scores in a child process when ``model`` is a name or folder and in a
            thread for a model object; ``"thread"`` or ``"process"`` choose; ``False`` scores
            after the step. Rewards are the same either way (up to float rounding across
            processes).
        dtype: The dtype a model loaded by name scores in: ``"auto"`` (bfloat16 on CPUs that
            multiply it natively, float32 elsewhere; see
            :func:`reward_model.modeling.resolve_dtype` for how close the two are),
            ``"float32"`` (the dtype of ``similar eval``'s figures) or ``"bfloat16"``. A model
            object is used as it is.

    Raises:
        AdapterError: No built-in adapter fits the env, or an observation lacks what the adapter
            or the model needs (the message names it).

    Example:
        >>> import gymnasium as gym
        >>> import similar_gym
        >>> from wrappers import SimilarRewardWrapper
        >>> env = SimilarRewardWrapper(gym.make("Similar/Web-v0", task="mail/send-mail"))
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step("noop()")
        >>> reward == info["similar"]["mixed"]
        True
        >>> sorted(info["similar"])
        ['C', 'E', 'H', 'OS', 'TR', 'mixed', 'similar']
        >>> env.close()
    """

    def __init__(
        self,
        env: gym.Env,
        model: Any = "default",
        adapter: StepAdapter | None = None,
        mode: str = "add",
        scale: float = 1.0,
        weights: Mapping[str, float] | None = None,
        overlap: bool | str = True,
        dtype: str | None = "auto",
        shaping: str = "none",
        gamma: float = 1.0,
    ):
        gym.utils.RecordConstructorArgs.__init__(
            self,
            model=model,
            adapter=adapter,
            mode=mode,
            scale=scale,
            weights=weights,
            overlap=overlap,
            dtype=dtype,
            shaping=shaping,
            gamma=gamma,
        )
        gym.Wrapper.__init__(self, env)
        check_overlap(overlap)
        self.adapter = adapter or default_adapter(env)
        self.mix = RewardMix(mode, scale, weights, shaping, gamma)
        self.model = load_model(model, dtype)
        self._preview = action_previewer(env) if overlap else None
        self._early = (
            early_scorer(overlap, self.model, model, dtype) if self._preview is not None else None
        )
        self._obs: Any = None
        self._info: dict[str, Any] = {}
        self._history: list[str] = []
        self._potential = np.zeros(1)

    def set_scale(self, scale: float) -> None:
        """Changes the factor on the Similar reward from the next step on (for schedules).

        PPO's ``similar_decay_steps`` calls it through ``VecEnv.env_method`` between rollouts.

        Raises:
            ValueError: If ``scale`` is not a finite number.
        """
        self.mix = replace(self.mix, scale=_finite(scale))

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Resets the env and the episode's history."""
        obs, info = self.env.reset(**kwargs)
        self._obs, self._info, self._history = obs, info, []
        self._potential = np.zeros(1)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Steps the env; returns the mixed reward and ``info["similar"]``."""
        if self._obs is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        early = None
        if self._early is not None and self._preview is not None:
            early = self._early.submit([self._context(action, self._preview(action))])
        obs, reward, terminated, truncated, info = self.env.step(action)
        if early is not None and self._early is not None:
            self._early.prefetch([_screenshot(self.adapter, obs)])
        ctx = self._context(action, info)
        if self._early is not None:
            scores = self._early.settle(early, [ctx]) if early else self._early.score([ctx])
        else:
            scores = self.model.score([ctx])
        similar = self.mix.similar(scores)
        ended = np.array([terminated or truncated])
        shaped, self._potential = self.mix.shape(similar, self._potential, ended)
        mixed = self.mix.mix(reward, shaped)
        info = dict(info)
        info["similar"] = _info_dict(scores, similar, mixed, 0)
        self._history.append(describe_action(ctx.action, ctx.target))
        self._obs, self._info = obs, info
        return obs, float(mixed[0]), terminated, truncated, info

    def _context(self, action: Any, next_info: Mapping[str, Any]) -> StepContext:
        ctx = self.adapter.context(
            self._obs, self._info, action, next_info, tuple(self._history), len(self._history)
        )
        return check_context(ctx, self.model, self.adapter)

    def close(self) -> None:
        """Closes the env and the scoring thread."""
        if self._early is not None:
            self._early.close()
            self._early = None
        super().close()


def _screenshot(adapter: StepAdapter, obs: Any) -> Any:
    """The screenshot ``adapter`` will put in the next context, if it can say."""
    screenshot = getattr(adapter, "screenshot", None)
    return screenshot(obs) if callable(screenshot) else None


def _unbatch_obs(obs: Any, i: int) -> Any:
    """Sub-env ``i``'s observation from a batched one (dicts and arrays)."""
    if isinstance(obs, Mapping):
        return {k: _unbatch_obs(v, i) for k, v in obs.items()}
    return obs[i]


def _unbatch_info(infos: Mapping[str, Any], i: int) -> dict[str, Any]:
    """Sub-env ``i``'s info from a vector env's info dict (arrays with ``_key`` masks)."""
    out: dict[str, Any] = {}
    for k, v in infos.items():
        if k.startswith("_"):
            continue
        mask = infos.get(f"_{k}")
        if mask is not None and not mask[i]:
            continue
        out[k] = _unbatch_info(v, i) if isinstance(v, Mapping) else v[i]
    return out


class SimilarRewardVectorWrapper(gym.vector.VectorWrapper):
    """:class:`SimilarRewardWrapper` for vector envs: one model call per vector step.

    Works with any vector env in gymnasium's default ``NEXT_STEP`` autoreset mode
    (``SyncVectorEnv``, ``AsyncVectorEnv``): the step on which a finished sub-env resets is not
    scored (its reward passes through and ``info["_similar"]`` is ``False`` for it).
    ``info["similar"]`` holds arrays, one entry per sub-env, as gymnasium's vector infos do.

    Args:
        env: The vector env.
        model: As for :class:`SimilarRewardWrapper`.
        adapter: Builds contexts from one sub-env's steps; default the built-in adapter of the
            sub-envs (read from ``env.spec`` or the first sub-env).
        mode: ``"add"`` or ``"replace"``.
        scale: Factor on the Similar reward.
        weights: Per-dimension weights; ``None`` uses the model's mixed reward.
        shaping: ``"none"`` or ``"potential"`` (potential-based shaping; see
            :class:`RewardMix`).
        gamma: The discount of potential-based shaping (the agent's discount).
        overlap: Score the steps while the sub-envs execute them, from the adapter's guess
            (``adapter.preview(info, action)``; :class:`~wrappers.adapters.SimilarWebAdapter`
            has one for text actions), checked against the real infos afterwards; ``True``,
            ``"thread"``, ``"process"`` or ``False`` as for :class:`SimilarRewardWrapper`.
        dtype: As for :class:`SimilarRewardWrapper`.
    """

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        model: Any = "default",
        adapter: StepAdapter | None = None,
        mode: str = "add",
        scale: float = 1.0,
        weights: Mapping[str, float] | None = None,
        overlap: bool | str = True,
        dtype: str | None = "auto",
        shaping: str = "none",
        gamma: float = 1.0,
    ):
        super().__init__(env)
        check_overlap(overlap)
        autoreset = env.metadata.get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP)
        if autoreset != gym.vector.AutoresetMode.NEXT_STEP:
            raise ValueError(f"autoreset mode {autoreset} is not supported; use NEXT_STEP")
        self.adapter = adapter or _vector_adapter(env)
        self.mix = RewardMix(mode, scale, weights, shaping, gamma)
        self.model = load_model(model, dtype)
        preview = getattr(self.adapter, "preview", None)
        self._preview = preview if overlap and callable(preview) else None
        self._early = (
            early_scorer(overlap, self.model, model, dtype) if self._preview is not None else None
        )
        n = env.num_envs
        self._obs: list[Any] = [None] * n
        self._info: list[dict[str, Any]] = [{} for _ in range(n)]
        self._history: list[list[str]] = [[] for _ in range(n)]
        self._resetting = np.zeros(n, dtype=bool)
        self._potential = np.zeros(n)

    def set_scale(self, scale: float) -> None:
        """Changes the factor on the Similar reward from the next step on (for schedules).

        Raises:
            ValueError: If ``scale`` is not a finite number.
        """
        self.mix = replace(self.mix, scale=_finite(scale))

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Resets every sub-env and their histories."""
        obs, infos = self.env.reset(**kwargs)
        for i in range(self.num_envs):
            self._remember(obs, infos, i)
            self._history[i] = []
        self._resetting[:] = False
        self._potential[:] = 0.0
        return obs, infos

    def _remember(self, obs: Any, infos: Mapping[str, Any], i: int, unbatched: Any = None) -> None:
        self._obs[i] = _unbatch_obs(obs, i) if unbatched is None else unbatched
        self._info[i] = _unbatch_info(infos, i)

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Steps every sub-env, scores the real steps in one batch, mixes the rewards."""
        if self._obs[0] is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        scored = [i for i in range(self.num_envs) if not self._resetting[i]]
        early = self._score_early(actions, scored)
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        ended = np.logical_or(terminated, truncated)
        contexts = [self._context(i, actions, _unbatch_info(infos, i)) for i in scored]
        next_obs = [_unbatch_obs(obs, i) for i in range(self.num_envs)]
        if early is not None and self._early is not None:
            self._early.prefetch([_screenshot(self.adapter, o) for o in next_obs])
        out_rewards = np.asarray(rewards, dtype=np.float64).copy()
        table = {k: np.zeros(self.num_envs) for k in SIMILAR_KEYS}
        if contexts:
            if self._early is None:
                scores = self.model.score(contexts)
            elif early is not None:
                scores = self._early.settle(early, contexts)
            else:
                scores = self._early.score(contexts)
            similar = self.mix.similar(scores)
            shaped, self._potential[scored] = self.mix.shape(
                similar, self._potential[scored], ended[scored]
            )
            mixed = self.mix.mix(out_rewards[scored], shaped)
            out_rewards[scored] = mixed
            for j, i in enumerate(scored):
                for k, v in _info_dict(scores, similar, mixed, j).items():
                    table[k][i] = v
                self._history[i].append(describe_action(contexts[j].action, contexts[j].target))
        infos = dict(infos)
        infos["similar"] = table
        infos["_similar"] = ~self._resetting.copy()
        for i in range(self.num_envs):
            if self._resetting[i]:
                self._history[i] = []
            self._remember(obs, infos, i, next_obs[i])
        self._resetting = ended
        return obs, out_rewards, terminated, truncated, infos

    def _context(self, i: int, actions: Any, next_info: Mapping[str, Any]) -> StepContext:
        ctx = self.adapter.context(
            self._obs[i],
            self._info[i],
            _unbatch_obs(actions, i),
            next_info,
            tuple(self._history[i]),
            len(self._history[i]),
        )
        return check_context(ctx, self.model, self.adapter)

    def _score_early(
        self, actions: Any, scored: list[int]
    ) -> tuple[list[StepContext], Future] | None:
        """Starts scoring the adapter's guesses of the steps, if it can guess them all."""
        if self._early is None or self._preview is None or not scored:
            return None
        guesses = []
        for i in scored:
            preview = self._preview(self._info[i], _unbatch_obs(actions, i))
            if preview is None:
                return None
            guesses.append(self._context(i, actions, preview))
        return self._early.submit(guesses)

    def close(self, **kwargs: Any) -> None:
        """Closes the vector env and the scoring thread."""
        if self._early is not None:
            self._early.close()
            self._early = None
        super().close(**kwargs)


def _vector_adapter(env: gym.vector.VectorEnv) -> StepAdapter:
    """The built-in adapter of a vector env's sub-envs (read in-process, or from their specs)."""
    envs: Sequence[Any] | None = getattr(env, "envs", None)
    if envs:
        return default_adapter(envs[0])
    spec = env.get_attr("spec")[0]
    if spec is not None and str(spec.entry_point) == "similar_gym.web_env:WebEnv":
        from wrappers.adapters import SimilarWebAdapter

        return SimilarWebAdapter()
    raise AdapterError(
        f"no built-in adapter for {spec.id if spec else 'these sub-envs'}: pass adapter=... "
        "(see wrappers.adapters)"
    )
