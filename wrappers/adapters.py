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

from similar_gym.actions import Action
from similar_gym.records import StepContext, describe_element


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


#: Farama MiniWoB++ element tags as the roles of Similar-Gym's text view.
_FARAMA_ROLES = {
    "a": "link",
    "button": "button",
    "input_button": "button",
    "input_submit": "button",
    "input_text": "textbox",
    "input_password": "textbox",
    "input_number": "spinbutton",
    "textarea": "textbox",
    "input_checkbox": "checkbox",
    "input_radio": "radio",
    "select": "combobox",
    "label": "label",
    "canvas": "canvas",
}


class FaramaMiniWoBAdapter:
    """For the Farama ``miniwob`` package's envs (``gym.make("miniwob/click-test-v1")``).

    The instruction is ``obs["utterance"]``. The page's text view is made from
    ``obs["dom_elements"]`` in Similar-Gym's form (``[ref] role "text"``, elements without text
    or a control role left out). An action dict becomes Similar-Gym's action grammar where one
    exists (``click(ref)``, ``fill(ref, "text")``, ``type("text")``, ``press("Enter")``,
    ``click_at(x, y)``, ``scroll("down")``), with the element it names as the target.

    Args:
        env: The Farama env (its ``action_space_config`` names the action types), or ``None``
            for the package's default preset.
    """

    def __init__(self, env: gym.Env | None = None):
        base = getattr(env, "unwrapped", None)
        config = getattr(base, "action_space_config", None)
        if config is None:
            from miniwob.action import ActionSpaceConfig

            config = ActionSpaceConfig.get_preset()
        self.action_config = config

    @staticmethod
    def _element(el: Mapping[str, Any]) -> dict[str, Any]:
        role = _FARAMA_ROLES.get(str(el.get("tag", "")), "text")
        name, value = str(el.get("text") or ""), str(el.get("value") or "")
        return {"id": int(el["ref"]), "role": role, "name": name, "value": value}

    def page_text(self, obs: Mapping[str, Any]) -> str:
        """The text view of ``obs["dom_elements"]``."""
        lines = []
        for el in obs.get("dom_elements", ()):
            e = self._element(el)
            if e["name"] or e["role"] != "text":
                lines.append(f"[{e['id']}] {describe_element(e)}")
        return "\n".join(lines)

    def action(self, obs: Mapping[str, Any], action: Mapping[str, Any]) -> Action | str:
        """A Farama action dict as a Similar-Gym :class:`Action`, or a plain description."""
        kind = self.action_config.action_types[int(action["action_type"])].name
        ref = int(action.get("ref", 0))
        text = str(action.get("text", ""))
        if kind in ("TYPE_FIELD", "FOCUS_ELEMENT_AND_TYPE_FIELD"):
            fields = [str(v) for _, v in obs.get("fields", ())]
            field = int(action.get("field", 0))
            text = fields[field] if 0 <= field < len(fields) else ""
        x, y = (float(c) for c in action.get("coords", (0.0, 0.0)))
        if kind == "PRESS_KEY":
            keys = self.action_config.allowed_keys
            return Action("press", text=keys[int(action.get("key", 0))].strip("<>"))
        known = {
            "NONE": Action("noop"),
            "CLICK_ELEMENT": Action("click", element=ref),
            "CLICK_COORDS": Action("click_at", coords=(x, y)),
            "TYPE_TEXT": Action("type", text=text),
            "TYPE_FIELD": Action("type", text=text),
            "FOCUS_ELEMENT_AND_TYPE_TEXT": Action("fill", element=ref, text=text),
            "FOCUS_ELEMENT_AND_TYPE_FIELD": Action("fill", element=ref, text=text),
            "SCROLL_UP_COORDS": Action("scroll", text="up"),
            "SCROLL_DOWN_COORDS": Action("scroll", text="down"),
        }
        return known.get(kind) or f"{kind.lower()}({x:g}, {y:g})"

    def context(
        self,
        obs: Any,
        info: Mapping[str, Any],
        action: Any,
        next_info: Mapping[str, Any],
        history: Sequence[str],
        step_idx: int,
    ) -> StepContext:
        """Returns the context of one Farama MiniWoB++ step (see the class docstring)."""
        if not isinstance(obs, Mapping) or "utterance" not in obs:
            raise AdapterError(
                "the observation has no 'utterance': FaramaMiniWoBAdapter reads the miniwob "
                "package's observations; pass an adapter for this env"
            )
        parsed = self.action(obs, action)
        target = ""
        if isinstance(parsed, Action) and parsed.element is not None:
            for el in obs.get("dom_elements", ()):
                if int(el["ref"]) == parsed.element:
                    target = describe_element(self._element(el))
        return StepContext(
            instruction=str(obs["utterance"]),
            history=tuple(history),
            screenshot=obs.get("screenshot"),
            page_text=self.page_text(obs),
            action=str(parsed),
            target=target,
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
    if type(base).__module__.startswith("miniwob."):
        return FaramaMiniWoBAdapter(env)
    spec = getattr(env, "spec", None)
    name = spec.id if spec is not None else type(base).__name__
    raise AdapterError(
        f"no built-in adapter for {name}: pass adapter=... (an object with "
        "context(obs, info, action, next_info, history, step_idx) -> StepContext; "
        "see wrappers.adapters)"
    )
