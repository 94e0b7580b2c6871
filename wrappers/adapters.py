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

:func:`default_adapter` picks the built-in adapter for an env (Similar-Gym's ``WebEnv``, the
Farama ``miniwob`` package, BrowserGym), or says that one is needed.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym

from similar_gym.actions import MAX_ACTION_LENGTH, Action, ActionError, parse_action
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


def _page_line(page_text: str, element: int) -> dict[str, str] | None:
    """Role, name and value of element ``[element]`` read back from a Similar-Gym text view."""
    prefix = f"[{element}] "
    for line in page_text.splitlines():
        if not line.startswith(prefix):
            continue
        role, _, rest = line[len(prefix) :].partition(" ")
        decoder = json.JSONDecoder()
        try:
            name, end = decoder.raw_decode(rest)
            value = ""
            if rest[end:].startswith(" value="):
                value, _ = decoder.raw_decode(rest[end + len(" value=") :])
        except json.JSONDecodeError:
            return None
        return {"role": role, "name": str(name), "value": str(value)}
    return None


class SimilarWebAdapter:
    """For ``Similar/Web-v0`` in either action mode and either observation mode.

    The instruction and the page's text view come from ``info`` (present in every mode), the
    screenshot from ``obs["screenshot"]``, and the action as executed (canonical text, also for
    discrete actions) and its target element from the ``info`` that ``step`` returned. An action
    the env rejected keeps its raw form, so the model can score it as the mistake it was.
    """

    @staticmethod
    def preview(info: Mapping[str, Any], action: Any) -> dict[str, Any] | None:
        """A guess, before the step, of what its ``info`` will say about a text ``action``.

        The canonical action text comes from the action grammar and the target from the
        element's line in ``info["page_text"]``. Wrappers score this guess while the env
        steps and check it against the real ``info`` afterwards (see
        :class:`~wrappers.scoring.EarlyScorer`), so a wrong guess costs time, never
        a wrong reward.

        Returns:
            ``{"action", "action_target"}``, or ``None`` for a non-text action.
        """
        if not isinstance(action, str):
            return None
        try:
            parsed = parse_action(action)
        except ActionError:
            return {"action": None, "action_target": ""}
        target = ""
        if parsed.element is not None:
            line = _page_line(str(info.get("page_text", "")), parsed.element)
            target = describe_element(line) if line else ""
        return {"action": parsed.to_text(), "action_target": target}

    @staticmethod
    def screenshot(obs: Any) -> Any:
        """The screenshot the next step's context will carry (``obs["screenshot"]``, or None).

        Optional for adapters: wrappers that score in a process use it to shrink the next
        screenshot while they wait for the model (:meth:`wrappers.scoring.EarlyScorer.prefetch`).
        """
        return obs.get("screenshot") if isinstance(obs, Mapping) else None

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
        screenshot = self.screenshot(obs)
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


#: BrowserGym actions that map one-to-one onto Similar-Gym's grammar: the verb and the
#: parameter names of the BrowserGym call (all of them, so a call with more arguments keeps its
#: raw form: ``click('12', button='right')`` is no ``click(12)``).
_BROWSERGYM_EXACT: dict[str, tuple[str, tuple[str, ...]]] = {
    "click": ("click", ("bid",)),
    "hover": ("hover", ("bid",)),
    "fill": ("fill", ("bid", "value")),
    "select_option": ("select", ("bid", "options")),
    "keyboard_press": ("press", ("key",)),
    "keyboard_type": ("type", ("text",)),
    "noop": ("noop", ()),
}

#: BrowserGym actions on an element: the name of their first parameter, which holds its bid.
_BROWSERGYM_BID_PARAM: dict[str, str] = {
    **dict.fromkeys(
        (
            "click",
            "dblclick",
            "hover",
            "fill",
            "press",
            "focus",
            "clear",
            "check",
            "uncheck",
            "select_option",
            "upload_file",
        ),
        "bid",
    ),
    "drag_and_drop": "from_bid",
}


def _parse_call(text: str) -> tuple[str, tuple[Any, ...], dict[str, Any]] | None:
    """One call of a plain name with literal arguments, read with :mod:`ast` (never run).

    Returns ``(name, args, kwargs)``, or ``None`` for anything else: several calls, attribute
    calls, expressions or names as arguments, ``*args``/``**kwargs``, Python code.
    """
    if len(text) > MAX_ACTION_LENGTH:
        return None
    try:
        call = ast.parse(text, mode="eval").body
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
            return None
        if any(kw.arg is None for kw in call.keywords):
            return None
        args = tuple(ast.literal_eval(a) for a in call.args)
        kwargs = {str(kw.arg): ast.literal_eval(kw.value) for kw in call.keywords}
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return None
    return call.func.id, args, kwargs


def _bind(params: Sequence[str], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict | None:
    """The call's arguments by parameter name, or ``None`` if they do not fit ``params``."""
    if len(args) > len(params):
        return None
    bound = dict(zip(params, args, strict=False))
    for name, value in kwargs.items():
        if name not in params or name in bound:
            return None
        bound[name] = value
    return bound


def _ax_value(node: Mapping[str, Any], key: str) -> str:
    """The ``{"value": ...}`` of an accessibility-tree node's ``key``, as text (``""`` if none)."""
    field = node.get(key)
    return str(field.get("value", "")) if isinstance(field, Mapping) else ""


class BrowserGymAdapter:
    """For BrowserGym envs (``gym.make("browsergym/miniwob.click-test")`` and the others).

    Reads these keys of BrowserGym's observation (the one before the action):

    * ``"goal_object"`` (its text messages) or else ``"goal"``: the instruction;
    * ``"axtree_object"``, flattened with ``browsergym.utils.obs.flatten_axtree_to_str`` into
      BrowserGym's own text view (``[bid] role 'name'`` lines), or else ``"dom_object"`` with
      ``flatten_dom_to_str``: the page text, cut to ``max_page_chars``;
    * ``"screenshot"``: the screenshot (``None`` where the env has none).

    The action is a string of BrowserGym's high-level action set. It is parsed, never
    evaluated; a single call whose meaning Similar-Gym's grammar has exactly becomes that
    :class:`~similar_gym.actions.Action` (``click('12')`` -> ``click(12)``, ``fill('12', 'x')``
    -> ``fill(12, "x")``, ``select_option``, ``hover``, ``keyboard_press`` -> ``press``,
    ``keyboard_type`` -> ``type``, ``noop()``). Similar-Gym's element ids are integers, so only
    bids written as plain decimal numbers (those of a page's main frame) map; every other
    action (bids such as ``'a12'`` in frames, ``press('12', 'Enter')``, ``scroll(0, 100)``,
    coordinate actions, several calls, Python code) keeps its raw string. The target is the
    element whose bid the action names, described from its node in ``"axtree_object"``
    (``textbox "Username"``), or else from its line in the page text.

    BrowserGym is imported only to flatten an observation, so this module needs no BrowserGym.

    Args:
        env: The BrowserGym env (its spec id becomes the contexts' ``task_id``), or ``None``.
        max_page_chars: Longest page text; a longer one is cut with a marker line.
    """

    def __init__(self, env: gym.Env | None = None, max_page_chars: int = 6000):
        spec = getattr(env, "spec", None)
        self.task_id = str(spec.id) if spec is not None else ""
        self.max_page_chars = int(max_page_chars)

    @staticmethod
    def instruction(obs: Mapping[str, Any]) -> str:
        """The goal's text messages, else ``obs["goal"]``.

        Raises:
            AdapterError: If the observation has neither.
        """
        texts = [
            str(m["text"])
            for m in obs.get("goal_object") or ()
            if isinstance(m, Mapping) and m.get("type") == "text" and "text" in m
        ]
        if texts:
            return "\n".join(texts)
        if "goal" in obs:
            return str(obs["goal"])
        raise AdapterError(
            "the observation has no 'goal_object' or 'goal': BrowserGymAdapter reads "
            "BrowserGym's observations; pass an adapter for this env"
        )

    def page_text(self, obs: Mapping[str, Any]) -> str:
        """The flattened ``obs["axtree_object"]`` (else ``obs["dom_object"]``), cut.

        Raises:
            AdapterError: If the observation has neither (e.g. ``use_raw_page_output=True``).
            ImportError: If BrowserGym is not installed in this Python.
        """
        try:
            from browsergym.utils import obs as bgym_obs
        except ImportError as e:
            raise ImportError(
                "BrowserGymAdapter flattens BrowserGym's observations with "
                f"browsergym.utils.obs, which does not import here ({e}); install browsergym-core "
                "in the env's Python"
            ) from e
        if obs.get("axtree_object"):
            text = bgym_obs.flatten_axtree_to_str(obs["axtree_object"])
        elif obs.get("dom_object"):
            text = bgym_obs.flatten_dom_to_str(obs["dom_object"])
        else:
            raise AdapterError(
                "the observation has no 'axtree_object' or 'dom_object': BrowserGymAdapter "
                "makes the page text from them (is the env made with use_raw_page_output=True?)"
            )
        if len(text) > self.max_page_chars:
            text = text[: self.max_page_chars] + "\n... (page text truncated)"
        return text

    @staticmethod
    def action(action: Any) -> Action | str:
        """A BrowserGym action string as Similar-Gym's :class:`Action`, or its raw form.

        An action maps only when both say the same (see the class docstring) and the result
        reads back unchanged with :func:`~similar_gym.actions.parse_action` (so a key name or
        text the grammar does not take keeps the raw form too).
        """
        raw = str(action).strip()
        call = _parse_call(raw)
        if call is None or call[0] not in _BROWSERGYM_EXACT:
            return raw
        name, args, kwargs = call
        verb, params = _BROWSERGYM_EXACT[name]
        bound = _bind(params, args, kwargs)
        if bound is None or len(bound) != len(params):
            return raw
        bid = bound.pop("bid", None)
        if bid is not None and not (
            isinstance(bid, str) and bid.isascii() and bid.isdigit() and str(int(bid)) == bid
        ):
            return raw
        texts = list(bound.values())
        if not all(isinstance(t, str) for t in texts):
            return raw
        mapped = Action(
            verb,  # type: ignore[arg-type]
            element=int(bid) if bid is not None else None,
            text=texts[0] if texts else None,
        )
        try:
            exact = parse_action(mapped.to_text()) == mapped
        except ActionError:
            exact = False
        return mapped if exact else raw

    @staticmethod
    def bid(action: Any) -> str | None:
        """The bid of the element a BrowserGym action acts on, or ``None``."""
        call = _parse_call(str(action).strip())
        if call is None or call[0] not in _BROWSERGYM_BID_PARAM:
            return None
        name, args, kwargs = call
        bid = kwargs.get(_BROWSERGYM_BID_PARAM[name], args[0] if args else None)
        return bid if isinstance(bid, str) else None

    @staticmethod
    def element(obs: Mapping[str, Any], bid: str, page_text: str = "") -> str:
        """The element with ``bid``, described like Similar-Gym's targets, or ``""``."""
        axtree = obs.get("axtree_object")
        for node in axtree.get("nodes", ()) if isinstance(axtree, Mapping) else ():
            if node.get("browsergym_id") == bid:
                return describe_element({k: _ax_value(node, k) for k in ("role", "name", "value")})
        line = re.search(rf"^\s*\[{re.escape(bid)}\] (.+)$", page_text, re.MULTILINE)
        return line.group(1).strip() if line else ""

    def context(
        self,
        obs: Any,
        info: Mapping[str, Any],
        action: Any,
        next_info: Mapping[str, Any],
        history: Sequence[str],
        step_idx: int,
    ) -> StepContext:
        """Returns the context of one BrowserGym step (see the class docstring)."""
        if not isinstance(obs, Mapping):
            raise AdapterError(
                f"the observation is a {type(obs).__name__}, not BrowserGym's dict: "
                "BrowserGymAdapter reads BrowserGym's observations; pass an adapter for this env"
            )
        instruction = self.instruction(obs)
        page_text = self.page_text(obs)
        bid = self.bid(action)
        return StepContext(
            instruction=instruction,
            history=tuple(history),
            screenshot=obs.get("screenshot"),
            page_text=page_text,
            action=str(self.action(action)),
            target=self.element(obs, bid, page_text) if bid is not None else "",
            task_id=self.task_id,
            step_idx=step_idx,
            extras={"browsergym_action": str(action)},
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
    if type(base).__module__.startswith("browsergym."):
        return BrowserGymAdapter(env)
    spec = getattr(env, "spec", None)
    name = spec.id if spec is not None else type(base).__name__
    raise AdapterError(
        f"no built-in adapter for {name}: pass adapter=... (an object with "
        "context(obs, info, action, next_info, history, step_idx) -> StepContext; "
        "see wrappers.adapters)"
    )
