"""Inference-time search: the Similar model picks among candidate actions before each step.

:class:`MCTSWrapper` takes the agent's action as one proposal, adds a proposer's candidates,
scores them with the reward model, optionally looks ahead through the env's
``snapshot``/``restore`` (the search itself is :func:`wrappers.search.search`), and executes
the best. ``info["search"]`` reports the candidates, their values and visits, and the choice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from similar_gym.policies import Proposer, make_proposer
from similar_gym.records import StepContext, describe_action
from wrappers.adapters import StepAdapter, default_adapter
from wrappers.search import Expansion, SearchConfig, search
from wrappers.similar_reward import RewardMix, action_previewer, check_context, load_model


@dataclass
class _State:
    """A searched state: how to get back to it and what its candidates are."""

    snapshot: Any
    contexts: list[StepContext]
    actions: list[Any]


class _Lookahead:
    """The ``expand`` function of :func:`wrappers.search.search` over a real env.

    Node ``i`` of the tree is ``states[i]``; expanding an edge restores its parent (unless the
    env is already there), steps the edge's action and expands the state it reaches.

    Args:
        wrapper: The wrapper whose env, proposer and model are used.
        root: The root state (snapshot, candidate contexts and actions).
    """

    def __init__(self, wrapper: MCTSWrapper, root: _State):
        self.wrapper = wrapper
        self.base = wrapper.env.unwrapped
        self.states = [root]
        self.at = 0  # the node the env is in
        self.steps = 0  # env steps taken

    def __call__(self, parent: int, a: int) -> Expansion:
        """Steps edge ``a`` of node ``parent``; returns the node it reaches."""
        state = self.states[parent]
        if self.at != parent:
            self.base.restore(state.snapshot)
        obs, reward, terminated, truncated, info = self.base.step(state.actions[a])
        self.steps += 1
        self.at = len(self.states)
        edge = state.contexts[a]
        history = (*edge.history, describe_action(edge.action, edge.target))
        if terminated or truncated:
            self.states.append(_State(None, [], []))
            return Expansion((), np.zeros(0), reward=float(reward), terminal=True)
        actions, contexts, values = self.wrapper._expand(obs, info, [], history)
        self.states.append(_State(self.base.snapshot(), contexts, actions))
        return Expansion([str(x) for x in actions], values, reward=float(reward))

    def finish(self) -> None:
        """Puts the env back at the root if the search moved it."""
        if self.steps:
            self.base.restore(self.states[0].snapshot)


class MCTSWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Executes the best of several candidate actions, judged by the Similar reward model.

    At every step the candidates are the agent's action (always candidate 0, executed in the
    form the agent gave it) and up to ``num_candidates - 1`` distinct others from
    ``proposer``. Each is scored at the current state with the model (the value: the model's
    mixed reward, or ``weights`` on its dimensions). With ``depth=0`` the best-scored candidate
    is executed: best-of-N, the paper's released inference mode. With ``depth > 0`` the
    wrapper runs ``num_simulations`` UCT/PUCT simulations (:func:`wrappers.search.search`),
    stepping the unwrapped env through candidates and putting it back with its
    ``snapshot``/``restore``; wrappers between this one and the base env do not see those
    lookahead steps.

    ``info["search"]`` holds ``candidates`` (as text), ``values`` (model values), ``q`` (the
    search's value of each root candidate), ``visits``, ``chosen`` (its index; 0 is the
    agent's), ``nodes`` (tree size), ``lookahead_steps`` (env steps spent looking ahead) and
    ``seconds``.

    Args:
        env: The env; lookahead needs ``snapshot()``/``restore()`` on ``env.unwrapped``, as
            ``Similar/Web-v0`` has. Proposed candidates must be actions ``env.step`` takes
            (text actions for ``Similar/Web-v0``).
        model: ``"default"``, a checkpoint folder, or an object with ``score(contexts)``.
        proposer: Where the extra candidates come from: a
            :class:`~similar_gym.policies.Proposer` or a spec of
            :func:`~similar_gym.policies.make_proposer` (``"random"``, ``"oracle:0.5"``...).
        num_candidates: Candidates per searched state, the agent's action included.
        depth: Lookahead depth; 0 = best-of-N.
        num_simulations: Simulations per step when ``depth > 0``.
        rule: ``"puct"`` or ``"uct"``.
        exploration: The exploration constant of the rule.
        lookahead_weight: How much a candidate's value trusts what lies behind it.
        weights: Per-dimension weights of the value; ``None``: the model's mixed reward.
        adapter: Builds contexts from this env's steps; default the env's built-in adapter.
        seed: Seeds the proposer's generator; a ``reset(seed=s)`` reseeds it from ``(seed, s)``.
        dtype: The dtype a model loaded by name scores in, as for
            :class:`~wrappers.SimilarRewardWrapper` (``"auto"``, ``"float32"``,
            ``"bfloat16"``); a model object is used as it is.

    Raises:
        ValueError: For a discrete-action ``Similar/Web-v0`` (proposed text actions cannot be
            stepped), or lookahead on an env without ``snapshot``/``restore``.

    Example:
        >>> import gymnasium as gym
        >>> import similar_gym
        >>> from wrappers import MCTSWrapper
        >>> env = MCTSWrapper(gym.make("Similar/Web-v0", task="mail/send-mail"), seed=0)
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step("noop()")
        >>> info["search"]["candidates"][0], len(info["search"]["candidates"])
        ('noop()', 5)
        >>> info["search"]["chosen"] == int(np.argmax(info["search"]["values"]))
        True
        >>> env.close()
    """

    def __init__(
        self,
        env: gym.Env,
        model: Any = "default",
        proposer: Proposer | str = "random",
        num_candidates: int = 5,
        depth: int = 0,
        num_simulations: int = 16,
        rule: str = "puct",
        exploration: float = 1.0,
        lookahead_weight: float = 0.5,
        weights: Mapping[str, float] | None = None,
        adapter: StepAdapter | None = None,
        seed: int | None = None,
        dtype: str | None = "auto",
    ):
        gym.utils.RecordConstructorArgs.__init__(
            self,
            model=model,
            proposer=proposer,
            num_candidates=num_candidates,
            depth=depth,
            num_simulations=num_simulations,
            rule=rule,
            exploration=exploration,
            lookahead_weight=lookahead_weight,
            weights=weights,
            adapter=adapter,
            seed=seed,
            dtype=dtype,
        )
        gym.Wrapper.__init__(self, env)
        if num_candidates < 1:
            raise ValueError(f"num_candidates must be >= 1, got {num_candidates}")
        base = env.unwrapped
        if getattr(base, "action_mode", "text") != "text":
            raise ValueError(
                "MCTSWrapper steps proposed text actions: make the env with action_mode='text'"
            )
        self.config = SearchConfig(
            depth=depth,
            num_simulations=num_simulations,
            rule=rule,
            exploration=exploration,
            lookahead_weight=lookahead_weight,
        )
        if depth > 0 and not (hasattr(base, "snapshot") and hasattr(base, "restore")):
            raise ValueError(
                f"lookahead (depth={depth}) needs snapshot()/restore() on the unwrapped env; "
                f"{type(base).__name__} has none: use depth=0 (best-of-N)"
            )
        self.proposer = make_proposer(proposer) if isinstance(proposer, str) else proposer
        self.num_candidates = num_candidates
        self.adapter = adapter or default_adapter(env)
        self._action_info = action_previewer(env)
        self.mix = RewardMix(weights=weights)
        self.model = load_model(model, dtype)
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._obs: Any = None
        self._info: dict[str, Any] = {}
        self._history: list[str] = []

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Resets the env and the episode's history (and reseeds the proposer if seeded)."""
        obs, info = self.env.reset(**kwargs)
        if kwargs.get("seed") is not None:
            key = [kwargs["seed"]] if self._seed is None else [self._seed, kwargs["seed"]]
            self._rng = np.random.default_rng(key)
        self._obs, self._info, self._history = obs, info, []
        return obs, info

    # ------------------------------------------------------------------ one state's candidates

    def _expand(
        self, obs: Any, info: Mapping[str, Any], agent: list[Any], history: Sequence[str]
    ) -> tuple[list[Any], list[StepContext], np.ndarray]:
        """Candidates at a state (``agent``'s first), their contexts and model values."""
        want = self.num_candidates - len(agent)
        proposed = self.proposer(obs, dict(info), self.env.unwrapped, self._rng, want + len(agent))
        actions, contexts, seen = [], [], set()
        for a in [*agent, *proposed]:
            preview = self._action_info(a) if self._action_info is not None else {}
            key = preview.get("action") or str(a)
            if key in seen or len(actions) == self.num_candidates:
                continue
            seen.add(key)
            ctx = self.adapter.context(obs, info, a, preview, tuple(history), len(history))
            actions.append(a)
            contexts.append(check_context(ctx, self.model, self.adapter))
        values = self.mix.similar(self.model.score(contexts)) if contexts else np.zeros(0)
        return actions, contexts, values

    # ------------------------------------------------------------------ gymnasium API

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Searches over the candidates, executes the chosen one; ``info["search"]`` says how."""
        if self._obs is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        start = time.perf_counter()
        actions, contexts, values = self._expand(self._obs, self._info, [action], self._history)
        root = Expansion(actions=[str(a) for a in actions], values=values)
        lookahead = None
        if self.config.depth > 0 and self.config.num_simulations > 0:
            snapshot = self.env.unwrapped.snapshot()
            lookahead = _Lookahead(self, _State(snapshot, contexts, actions))
        out = search(root, lookahead, self.config)
        if lookahead is not None:
            lookahead.finish()
        chosen = actions[out.action_index]
        obs, reward, terminated, truncated, info = self.env.step(chosen)
        info = dict(info)
        info["search"] = {
            **out.summary(),
            "lookahead_steps": lookahead.steps if lookahead is not None else 0,
            "seconds": time.perf_counter() - start,
        }
        ctx = contexts[out.action_index]
        self._history.append(describe_action(ctx.action, ctx.target))
        self._obs, self._info = obs, info
        return obs, reward, terminated, truncated, info
