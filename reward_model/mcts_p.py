"""MCTS-P: annotate the steps of one task instance with the five dimensions, from rollouts.

For one instance ``(task, seed)``:

1. Root rollouts from the initial state estimate ``Len_0``, the mean length of a successful run
   (also ``M`` of the helpfulness formula). An instance none of them solves is pruned.
2. At every state of the followed path, the proposer samples ``N`` distinct candidates. Each is
   executed from the restored state and rolled out ``K`` times from there, which gives its odds
   of success ``OS`` (share of successful rollouts), ``Len_i`` (mean steps those successful
   rollouts still needed) and so ``H`` and ``E`` by the formulas of :func:`helpfulness` and
   :func:`efficiency`. A judge gives ``TR`` and ``C``.
3. The path follows the candidate with the highest total; it stops at success, at the depth
   limit, or when no candidate can succeed any more (the branch is pruned).

Successful rollouts are kept as extra trajectories. Everything random comes from the generator
passed in, and the env is deterministic for a seed, so an instance annotates the same way on
every run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reward_model.dimensions import total
from reward_model.judges import Judge, JudgeRequest
from similar_gym.policies import Proposer
from similar_gym.records import (
    StepContext,
    describe_action,
    describe_element,
    encode_png,
    find_target,
)
from similar_gym.web_env import EnvSnapshot, WebEnv


def helpfulness(ac_prev: float, m: float, i: int, r: bool) -> float:
    """Returns ``H_i = (1 - AC_{i-1}) / (M - i + 1) * (2 r_i - 1)``.

    Args:
        ac_prev: Contribution accumulated before the step, ``AC_{i-1}``.
        m: Expected length of a successful run, ``M``.
        i: The step's index, from 1.
        r: Whether rollouts through the step succeed (``OS`` reaches the success threshold).

    The denominator is floored at 1: past the expected length every step is "the last one".

    >>> helpfulness(0.0, 4, 1, True)
    0.25
    >>> helpfulness(0.25, 4, 2, False)
    -0.25
    """
    return (1.0 - ac_prev) / max(m - i + 1.0, 1.0) * (2.0 * float(r) - 1.0)


def accumulate(ac_prev: float, h: float) -> float:
    """Returns ``AC_i = max(AC_{i-1}, AC_{i-1} + H_i)``: only helpful steps accumulate."""
    return max(ac_prev, ac_prev + h)


def efficiency(len_prev: float, len_i: float | None, len_0: float) -> float:
    """Returns ``E_i = (Len_{i-1} - Len_i) / Len_0``, clipped to ``[-1, 1]``.

    Args:
        len_prev: Mean successful remaining length before the step, ``Len_{i-1}``.
        len_i: Mean successful remaining length after it; ``None`` when no rollout from after
            the step succeeded, scored as one step lost (``Len_i = Len_{i-1} + 1``).
        len_0: The successful length from the initial state.

    >>> efficiency(4.0, 3.0, 4.0)
    0.25
    >>> efficiency(4.0, None, 4.0)
    -0.25
    """
    after = len_prev + 1.0 if len_i is None else len_i
    return float(np.clip((len_prev - after) / max(len_0, 1.0), -1.0, 1.0))


@dataclass
class Rollout:
    """One rollout: its actions (the candidate first when it starts at a candidate) and outcome."""

    actions: list[str]
    success: bool


@dataclass
class InstanceResult:
    """What annotating one instance produced.

    Attributes:
        task_id: The task.
        seed: The instance seed.
        steps: Step records: a :class:`StepContext` (under ``"context"``) with its scores,
            ids and flags; see :func:`annotate_instance`.
        trajectories: Successful rollouts as full action sequences from the initial state.
        pruned: Why the instance or its path stopped early (``""`` when it reached success).
        env_steps: Env steps taken.
        seconds: Wall-clock time.
    """

    task_id: str
    seed: int
    steps: list[dict[str, Any]] = field(default_factory=list)
    trajectories: list[dict[str, Any]] = field(default_factory=list)
    pruned: str = ""
    env_steps: int = 0
    seconds: float = 0.0


class _Counter:
    def __init__(self, env: WebEnv):
        self.env = env
        self.steps = 0

    def step(self, action: str) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        self.steps += 1
        return self.env.step(action)


def _rollout(
    env: _Counter,
    policy: Proposer,
    rng: np.random.Generator,
    obs: dict[str, Any],
    info: dict[str, Any],
    budget: int,
) -> Rollout:
    actions: list[str] = []
    for _ in range(budget):
        picks = policy(obs, info, env.env, rng, 1)
        action = picks[0] if picks else "noop()"
        obs, _r, terminated, truncated, info = env.step(action)
        actions.append(action)
        if terminated or truncated:
            return Rollout(actions, bool(info["success"]))
    return Rollout(actions, False)


def annotate_instance(
    env: WebEnv,
    task_id: str,
    seed: int,
    *,
    proposer: Proposer,
    rollout_policy: Proposer,
    judge: Judge,
    rng: np.random.Generator,
    num_candidates: int = 4,
    rollouts_per_candidate: int = 2,
    root_rollouts: int = 4,
    max_depth: int = 12,
    rollout_max_steps: int = 16,
    success_threshold: float = 0.5,
) -> InstanceResult:
    """Annotates one task instance with MCTS-P (see the module docstring).

    Args:
        env: An unwrapped env whose tasks include ``task_id`` (text actions and observations).
        task_id: The task to annotate.
        seed: The instance seed (``env.reset(seed=seed)``).
        proposer: Samples the candidates at every state.
        rollout_policy: Acts in the rollouts (asked for one action per step).
        judge: Gives ``TR`` and ``C``.
        rng: The only source of randomness.
        num_candidates: ``N``.
        rollouts_per_candidate: ``K``.
        root_rollouts: Rollouts from the initial state.
        max_depth: Most steps annotated on the followed path.
        rollout_max_steps: Step budget of a rollout.
        success_threshold: ``OS`` at which ``r_i`` of the helpfulness formula is 1.

    Returns:
        The step records (one per candidate per state of the path) with keys ``id``, ``node``,
        ``candidate``, ``context`` (:class:`StepContext`, PNG screenshot), ``scores``
        (``H, OS, E, TR, C``), ``len_after``, ``followed``, ``judge_reason``; and the extra
        trajectories.
    """
    if env.action_mode != "text" or env.observation_mode != "text":
        raise ValueError("MCTS-P needs an env with text actions and text observations")
    start = time.perf_counter()
    result = InstanceResult(task_id, seed)
    counter = _Counter(env)
    env.capture_screenshots = True
    obs, info = env.reset(seed=seed, options={"task": task_id})
    instance = env.instance
    assert instance is not None
    root = env.snapshot()
    env.capture_screenshots = False

    def restore(snap: EnvSnapshot) -> dict[str, Any]:
        return env.restore(snap)

    # 1. Root rollouts: can the instance be solved at all, and in how many steps?
    lengths = []
    for k in range(root_rollouts):
        o = obs if k == 0 else restore(root)
        ro = _rollout(counter, rollout_policy, rng, o, info, rollout_max_steps)
        if ro.success:
            lengths.append(len(ro.actions))
            result.trajectories.append({"actions": ro.actions, "source": "root"})
    if not lengths:
        result.pruned = "no root rollout succeeded"
        result.env_steps, result.seconds = counter.steps, time.perf_counter() - start
        return result
    len_0 = float(np.mean(lengths))
    m = len_0

    # 2. Walk the followed path.
    node_snap, node_obs, node_info = root, obs, info
    restore(root)
    node_elements = env.elements
    history: list[str] = []
    history_actions: list[str] = []
    history_targets: list[dict[str, Any] | None] = []
    ac, len_prev = 0.0, len_0
    image = encode_png(node_obs["screenshot"])
    for i in range(1, max_depth + 1):
        node_id = f"{task_id}@{seed}/{i - 1}"
        candidates = proposer(node_obs, node_info, env, rng, num_candidates)
        if len(candidates) < 2:
            result.pruned = f"fewer than 2 candidates at step {i}"
            break
        outcomes: list[tuple[float, float | None, list[Rollout]]] = []
        for c in candidates:
            restore(node_snap)
            o1, _r, terminated, truncated, i1 = counter.step(c)
            if terminated or truncated:
                rollouts = [Rollout([c], bool(i1["success"]))] * rollouts_per_candidate
            else:
                after = env.snapshot()
                rollouts = []
                for k in range(rollouts_per_candidate):
                    o = o1 if k == 0 else restore(after)
                    ro = _rollout(counter, rollout_policy, rng, o, i1, rollout_max_steps)
                    rollouts.append(Rollout([c, *ro.actions], ro.success))
            wins = [len(ro.actions) - 1 for ro in rollouts if ro.success]
            os_ = sum(ro.success for ro in rollouts) / len(rollouts)
            outcomes.append((os_, float(np.mean(wins)) if wins else None, rollouts))
            for ro in {id(r): r for r in rollouts}.values():  # a final step is one rollout
                if ro.success:
                    result.trajectories.append(
                        {"actions": [*history_actions, *ro.actions], "source": f"step {i}"}
                    )
        targets = [find_target(c, node_elements) for c in candidates]
        base = StepContext(
            instruction=instance.instruction,
            history=tuple(history),
            screenshot=image,
            page_text=node_obs["page_text"],
            action="",
            task_id=task_id,
            step_idx=i - 1,
        )
        contexts = [
            base.with_action(c, describe_element(t))
            for c, t in zip(candidates, targets, strict=False)
        ]
        verdicts = judge.judge(
            [
                JudgeRequest(
                    context=ctx,
                    target=t,
                    history_actions=tuple(history_actions),
                    history_targets=tuple(history_targets),
                    meta=instance.meta,
                )
                for ctx, t in zip(contexts, targets, strict=False)
            ]
        )
        scored = []
        for (os_, len_i, _), verdict in zip(outcomes, verdicts, strict=False):
            h = helpfulness(ac, m, i, os_ >= success_threshold)
            scores = {
                "H": h,
                "OS": os_,
                "E": efficiency(len_prev, len_i, len_0),
                "TR": float(verdict.relevance),
                "C": float(verdict.coherence),
            }
            scored.append(scores)
        best = max(range(len(candidates)), key=lambda j: (total(scored[j]), -j))
        for j, (ctx, scores, verdict) in enumerate(zip(contexts, scored, verdicts, strict=False)):
            result.steps.append(
                {
                    "id": f"{node_id}/c{j}",
                    "node": node_id,
                    "candidate": j,
                    "context": ctx,
                    "scores": scores,
                    "len_after": outcomes[j][1],
                    "followed": j == best,
                    "judge_reason": verdict.reason,
                }
            )
        if outcomes[best][0] == 0.0:
            result.pruned = f"no candidate can succeed at step {i}"
            break
        # 3. Follow the best candidate.
        ac = accumulate(ac, scored[best]["H"])
        len_after = outcomes[best][1]
        len_prev = len_after if len_after is not None else len_prev + 1.0
        restore(node_snap)
        env.capture_screenshots = True
        node_obs, _r, terminated, truncated, node_info = counter.step(candidates[best])
        env.capture_screenshots = False
        history.append(describe_action(candidates[best], describe_element(targets[best])))
        history_actions.append(candidates[best])
        history_targets.append(targets[best])
        if terminated or truncated:
            if not node_info["success"]:
                result.pruned = f"episode ended without success at step {i}"
            break
        node_snap = env.snapshot()
        node_elements = env.elements
        image = encode_png(node_obs["screenshot"])
    else:
        result.pruned = f"depth limit {max_depth} reached"
    result.env_steps, result.seconds = counter.steps, time.perf_counter() - start
    return result
