"""Schedules of the weight a dense reward gets during training, as pure functions of the step.

GRPO's process weight (``GRPOConfig.process_decay_steps``) and PPO's Similar scale
(``PPOConfig.similar_decay_steps``) both fall linearly to 0: the dense reward shapes the first
updates and the task's own success teaches the rest. A schedule is computed from the env step
alone, so a resumed run needs no schedule state.

>>> [linear_decay(0.4, 100, s) for s in (0, 50, 100, 150)]
[0.4, 0.2, 0.0, 0.0]
>>> linear_decay(0.4, 0, 10**6)  # no decay
0.4
"""

from __future__ import annotations


def linear_decay(value: float, decay_steps: int, step: int) -> float:
    """``value`` at env step ``step``, falling linearly to 0 at ``decay_steps``.

    Args:
        value: The value at step 0.
        decay_steps: The step where it reaches 0 and stays; 0 or less: ``value`` throughout.
        step: Env steps done so far.

    Returns:
        ``value * max(0, 1 - step / decay_steps)``, or ``value`` without decay.
    """
    if decay_steps <= 0:
        return value
    return value * max(0.0, 1.0 - step / decay_steps)
