"""Proposal policies: where candidate actions come from.

A proposer looks at the current state of a :class:`~similar_gym.web_env.WebEnv` and returns up
to ``n`` distinct candidate actions in the action grammar. MCTS-P samples candidates with one
and rolls them out with another (asking for ``n=1``); the MCTS wrapper and the agents use the
same ones. Every proposer draws its randomness from the generator it is given, so a seeded
generator gives the same candidates.

>>> import numpy as np
>>> from similar_gym.policies import FunctionProposer
>>> propose = FunctionProposer(lambda obs, info: ["noop()", "click(3)", "noop()"])
>>> propose({}, {}, None, np.random.default_rng(0), 2)
['noop()', 'click(3)']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from similar_gym.actions import Action

if TYPE_CHECKING:
    from similar_gym.web_env import WebEnv

#: Actions that change nothing a task checks; proposers keep at most one of them.
IDLE_ACTIONS = ("noop()", 'scroll("down")', 'scroll("up")')


class Proposer(Protocol):
    """Returns up to ``n`` distinct candidate actions at the env's current state.

    Args:
        obs: The current observation.
        info: The info dict that came with it (``valid_actions``, ``text_slots``...).
        env: The unwrapped env (``None`` allowed for proposers that only read ``obs``/``info``).
        rng: The only source of randomness.
        n: How many candidates to return at most.
    """

    def __call__(
        self,
        obs: dict[str, Any],
        info: dict[str, Any],
        env: WebEnv | None,
        rng: np.random.Generator,
        n: int,
    ) -> list[str]:
        """Returns the candidates, best first where the proposer ranks them."""
        ...


def _distinct(actions: Sequence[str], n: int) -> list[str]:
    out: list[str] = []
    for a in actions:
        if a not in out:
            out.append(a)
        if len(out) == n:
            break
    return out


def _sample(pool: Sequence[str], k: int, rng: np.random.Generator) -> list[str]:
    if k <= 0 or not pool:
        return []
    idx = rng.permutation(len(pool))[:k]
    return [pool[int(i)] for i in idx]


class RandomProposer:
    """Distinct random actions from ``info["valid_actions"]``, with idle actions down-weighted.

    Args:
        idle_share: Chance that one of the candidates is an idle action (``noop``/``scroll``);
            the rest act on elements.
    """

    def __init__(self, idle_share: float = 0.1):
        self.idle_share = idle_share

    def __call__(
        self,
        obs: dict[str, Any],
        info: dict[str, Any],
        env: WebEnv | None,
        rng: np.random.Generator,
        n: int,
    ) -> list[str]:
        """Returns up to ``n`` distinct random valid actions."""
        valid = list(info.get("valid_actions") or [])
        active = [a for a in valid if a not in IDLE_ACTIONS and a != 'press("Enter")']
        idle = [a for a in valid if a not in active]
        picks = _sample(active, n, rng)
        if idle and (len(picks) < n or rng.random() < self.idle_share):
            picks = picks[: n - 1] + _sample(idle, 1, rng)
        return _distinct(picks, n)


class NoisyOracleProposer:
    """The oracle's next action with probability ``1 - epsilon``, random valid actions otherwise.

    The oracle continues from wherever the episode is (:meth:`WebEnv.oracle_next`); off the
    plan's path, or on tasks without an oracle, it proposes random actions only.

    Args:
        epsilon: Chance to replace the oracle's action by a random one.
        random: The proposer for the random part.
    """

    def __init__(self, epsilon: float = 0.2, random: RandomProposer | None = None):
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.epsilon = epsilon
        self.random = random or RandomProposer()

    def __call__(
        self,
        obs: dict[str, Any],
        info: dict[str, Any],
        env: WebEnv | None,
        rng: np.random.Generator,
        n: int,
    ) -> list[str]:
        """Returns up to ``n`` distinct candidates, the oracle's first when it is drawn."""
        best = env.oracle_next() if env is not None else None
        use_oracle = best is not None and rng.random() >= self.epsilon
        rest = self.random(obs, info, env, rng, n)
        return _distinct(([best] if use_oracle else []) + rest, n)


class NearMissProposer:
    """Candidates that look right but are wrong: the traps of the task's metadata.

    Acts on the instance's distractor elements (look-alike items, plausible wrong buttons),
    fills the goal's fields with decoy strings, selects the wrong options of the goal's selects.
    Without metadata (MiniWoB++), it proposes actions on elements whose names share a word with
    the instruction, the usual near-misses of those pages.
    """

    def __call__(
        self,
        obs: dict[str, Any],
        info: dict[str, Any],
        env: WebEnv | None,
        rng: np.random.Generator,
        n: int,
    ) -> list[str]:
        """Returns up to ``n`` distinct near-miss candidates (possibly fewer, or none)."""
        if env is None:
            return []
        instance = env.instance
        meta = instance.meta if instance is not None else None
        slots = list(info.get("text_slots") or [])
        pool: list[str] = []
        words = {w.lower().strip('".,:') for w in str(info.get("instruction", "")).split()}
        for el in env.elements:
            if el.get("disabled"):
                continue
            key = el.get("key")
            if meta is not None:
                if key in meta.distractors:
                    pool.append(Action("click", element=el["id"]).to_text())
                if key in meta.fields:
                    want = meta.fields[key]
                    wrong = [o for o in (el.get("options") or slots) if o != want]
                    verb = "select" if el.get("options") else "fill"
                    pool.extend(
                        Action(verb, element=el["id"], text=t).to_text()
                        for t in _sample(wrong, 2, rng)
                    )
            elif words & {w.lower() for w in str(el.get("name", "")).split()}:
                pool.append(Action("click", element=el["id"]).to_text())
        return _distinct(_sample(pool, len(pool), rng), n)


class MixtureProposer:
    """Concatenates several proposers, each asked for its share of the candidates.

    Args:
        parts: ``(proposer, count)`` pairs, asked in order; duplicates are dropped and the
            last part fills any shortfall.
    """

    def __init__(self, parts: Sequence[tuple[Proposer, int]]):
        if not parts:
            raise ValueError("MixtureProposer needs at least one part")
        self.parts = list(parts)

    def __call__(
        self,
        obs: dict[str, Any],
        info: dict[str, Any],
        env: WebEnv | None,
        rng: np.random.Generator,
        n: int,
    ) -> list[str]:
        """Returns up to ``n`` distinct candidates from the parts, in part order."""
        out: list[str] = []
        for i, (proposer, count) in enumerate(self.parts):
            want = n - len(out) if i == len(self.parts) - 1 else min(count, n - len(out))
            if want <= 0:
                continue
            # Ask for extra so that duplicates of earlier parts can be dropped.
            got = proposer(obs, info, env, rng, want + len(out))
            out = _distinct(out + got, len(out) + want)
        return out[:n]


class SampledProposer:
    """Samples a stochastic policy again and again: ``n`` independent draws of one action each.

    This is how an agent that samples (an LLM at a temperature, a noisy policy) proposes
    several candidates: each draw asks ``policy`` for one action; duplicates are dropped, so
    fewer than ``n`` come back when the policy keeps drawing the same action.

    Args:
        policy: The proposer drawn from, asked for ``n=1`` each time.
        draws_per_candidate: Draws per wanted candidate (at most ``n * draws_per_candidate``
            draws, fewer once ``n`` distinct actions are in).
    """

    def __init__(self, policy: Proposer, draws_per_candidate: int = 1):
        if draws_per_candidate < 1:
            raise ValueError(f"draws_per_candidate must be >= 1, got {draws_per_candidate}")
        self.policy = policy
        self.draws_per_candidate = draws_per_candidate

    def __call__(
        self,
        obs: dict[str, Any],
        info: dict[str, Any],
        env: WebEnv | None,
        rng: np.random.Generator,
        n: int,
    ) -> list[str]:
        """Returns up to ``n`` distinct actions, in the order they were first drawn."""
        out: list[str] = []
        for _ in range(n * self.draws_per_candidate):
            if len(out) == n:
                break
            out = _distinct(out + self.policy(obs, info, env, rng, 1), n)
        return out


class AllValidProposer:
    """Every valid action of the state (``info["valid_actions"]``), in the env's order.

    With it, :class:`~wrappers.MCTSWrapper` at depth 0 executes the value's favourite of all
    the actions on offer: the greedy policy of a reward model.
    """

    def __call__(
        self,
        obs: dict[str, Any],
        info: dict[str, Any],
        env: WebEnv | None,
        rng: np.random.Generator,
        n: int,
    ) -> list[str]:
        """Returns the first ``n`` distinct valid actions."""
        return _distinct(list(info.get("valid_actions") or []), n)


class FunctionProposer:
    """Wraps any callable ``fn(obs, info) -> list[str]`` (an LLM agent, a script) as a proposer.

    Args:
        fn: Returns candidate actions, best first; the first ``n`` distinct ones are kept.
    """

    def __init__(self, fn: Callable[[dict[str, Any], dict[str, Any]], Sequence[str]]):
        self.fn = fn

    def __call__(
        self,
        obs: dict[str, Any],
        info: dict[str, Any],
        env: WebEnv | None,
        rng: np.random.Generator,
        n: int,
    ) -> list[str]:
        """Returns the first ``n`` distinct actions of ``fn(obs, info)``."""
        return _distinct([str(a) for a in self.fn(obs, info)], n)


def make_proposer(spec: str) -> Proposer:
    """Builds a proposer from a short spec.

    Args:
        spec: ``"random"``, ``"all"`` (every valid action), ``"oracle:EPS"`` (noisy oracle,
            e.g. ``"oracle:0.2"``),
            ``"near-miss"``, ``"samples:SPEC"`` (independent single draws of ``SPEC``, see
            :class:`SampledProposer`; e.g. ``"samples:oracle:0.5"``), or ``"+"``-joined
            ``name*count`` parts for a mixture (``"oracle:0*1+near-miss*2+random*1"``).

    Raises:
        ValueError: If the spec names no known proposer.
    """
    if "+" in spec or "*" in spec:
        parts: list[tuple[Proposer, int]] = []
        for part in spec.split("+"):
            name, _, count = part.partition("*")
            try:
                parts.append((make_proposer(name), int(count or 1)))
            except ValueError as e:
                raise ValueError(f"bad proposer part {part!r} in {spec!r}: {e}") from None
        return MixtureProposer(parts)
    name, _, arg = spec.partition(":")
    if name == "random":
        return RandomProposer()
    if name == "all":
        return AllValidProposer()
    if name == "oracle":
        return NoisyOracleProposer(float(arg) if arg else 0.2)
    if name == "near-miss":
        return NearMissProposer()
    if name == "samples" and arg:
        return SampledProposer(make_proposer(arg))
    raise ValueError(
        f"unknown proposer {spec!r}: use random, all, oracle:EPS, near-miss, samples:SPEC or "
        "a mixture"
    )
