"""Adapters: what an env's observation, info and action say about one step, as a StepContext.

The reward model reads :class:`~similar_gym.records.StepContext`; envs speak their own
observation and action formats. An adapter turns one step of an env into a context:

* ``obs`` and ``info``: what the agent saw *before* acting (from ``reset`` or the last ``step``);
* ``action``: what the agent sent to ``step``;
* ``next_info``: the ``info`` that ``step`` returned (envs often report there what the action
  became, e.g. Similar-Gym's ``info["action"]`` and ``info["action_target"]``);
* ``history``: the earlier steps of the episode, already described (the wrapper keeps them);
* ``step_idx``: the index of this step in its episode.

Writing one for another env is a class (or any object) with that one method::

    class MyAdapter:
        def context(self, obs, info, action, next_info, history, step_idx):
            return StepContext(
                instruction=info["goal"], history=tuple(history), screenshot=obs["pixels"],
                page_text=obs["dom_text"], action=str(action), target="", step_idx=step_idx,
            )

:func:`default_adapter` picks the built-in adapter for an env, or says that one is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym

from similar_gym.records import StepContext


class AdapterError(ValueError):
    """An observation or info lacks what the adapter needs; the message names what is missing."""


@runtime_checkable
class StepAdapter(Protocol):
    """Builds the :class:`StepContext` of one step of one env (see the module docstring)."""

    def context(
        self,
        obs: Any,
        info: Mapping[str, Any],
        action: Any,
        next_info: Mapping[str, Any],
        history: Sequence[str],
        step_idx: int,
    ) -> StepContext:
        """Returns the context of taking ``action`` where ``obs``/``info`` were observed."""
        ...


class SimilarWebAdapter:
    """For ``Similar/Web-v0`` in either action mode and either observation mode.

    The instruction and the page's text view come from ``info`` (present in every mode), the
    screenshot from ``obs["screenshot"]``, and the action as executed (canonical text, also for
    discrete actions) and its target element from the ``info`` that ``step`` returned. An action
    the env rejected keeps its raw form, so the model can score it as the mistake it was.
    """

    def context(
        self,
        obs: Any,
        info: Mapping[str, Any],
        action: Any,
        next_info: Mapping[str, Any],
        history: Sequence[str],
        step_idx: int,
    ) -> StepContext:
        """Returns the context of one Similar-Gym step (see the class docstring)."""
        missing = [k for k in ("instruction", "page_text") if k not in info]
        if missing:
            raise AdapterError(
                f"info has no {', '.join(map(repr, missing))}: SimilarWebAdapter reads "
                "Similar/Web-v0's info; pass an adapter for this env"
            )
        screenshot = obs.get("screenshot") if isinstance(obs, Mapping) else None
        executed = next_info.get("action")
        if executed is None:
            executed = action if isinstance(action, str) else f"invalid action {action!r}"
        return StepContext(
            instruction=str(info["instruction"]),
            history=tuple(history),
            screenshot=screenshot,
            page_text=str(info["page_text"]),
            action=str(executed),
            target=str(next_info.get("action_target") or ""),
            task_id=str(info.get("task_id", "")),
            step_idx=step_idx,
        )


def default_adapter(env: gym.Env | Any) -> StepAdapter:
    """Returns the built-in adapter for ``env``.

    Raises:
        AdapterError: If no built-in adapter fits; the message says how to pass one.
    """
    from similar_gym.web_env import WebEnv

    base = getattr(env, "unwrapped", env)
    if isinstance(base, WebEnv):
        return SimilarWebAdapter()
    spec = getattr(env, "spec", None)
    name = spec.id if spec is not None else type(base).__name__
    raise AdapterError(
        f"no built-in adapter for {name}: pass adapter=... (an object with "
        "context(obs, info, action, next_info, history, step_idx) -> StepContext; "
        "see wrappers.adapters)"
    )
