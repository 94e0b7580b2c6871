"""Steps as the judges see them, and the coherence rules every rule-based judge shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reward_model.judges.base import JudgeRequest
from similar_gym.actions import Action, ActionError, parse_action
from similar_gym.records import describe_element

# ---------------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class _Step:
    """One action as the rules see it: parsed, with what is known of its element."""

    text: str
    action: Action | None
    element: Mapping[str, Any] | None
    desc: str

    @property
    def verb(self) -> str | None:
        return self.action.verb if self.action else None

    @property
    def key(self) -> str | None:
        return (self.element or {}).get("key") or None

    @property
    def role(self) -> str:
        if self.element:
            return str(self.element.get("role") or self.element.get("tag") or "")
        m = _DESC_RE.match(self.desc)
        return m.group(1) if m else ""

    def same_element(self, other: _Step) -> bool:
        """Whether two steps name the same element: by data-key, else by role and name."""
        if self.key and other.key:
            return self.key == other.key
        a, b = _identity(self.desc), _identity(other.desc)
        return bool(a) and a == b


_DESC_RE = re.compile(r'^(\S+) "')
_VALUE_RE = re.compile(r' value=".*"$', re.DOTALL)
_TARGETLESS = ("noop", "scroll", "press", "type", "click_at", "drag")
_TOGGLE_ROLES = ("checkbox", "switch", "menuitemcheckbox")
_RADIO_ROLES = ("radio", "menuitemradio")
_STEPPER_RE = re.compile(
    r"(^|\b|[-_])(next|prev|previous|older|newer|more|forward|increase|decrease|increment|"
    r"decrement)(\b|[-_]|$)|^\s*[-+−‹›«»<>←→↑↓]\s*$",
    re.IGNORECASE,
)


def _identity(desc: str) -> str:
    """A described element without its value: ``textbox "To"``, the same before and after."""
    return _VALUE_RE.sub("", desc.strip())


def _parse(text: str) -> Action | None:
    try:
        return parse_action(text)
    except ActionError:
        return None


def _split_described(entry: str) -> tuple[str, str]:
    """Splits ``click(12) on button "Buy"`` into the action and the target description."""
    start = 0
    while (i := entry.find(" on ", start)) >= 0:
        if _parse(entry[:i]) is not None:
            return entry[:i], entry[i + 4 :]
        start = i + 1
    return entry, ""


def _current_step(req: JudgeRequest) -> _Step:
    ctx = req.context
    desc = describe_element(req.target) if req.target else ctx.target
    return _Step(ctx.action, _parse(ctx.action), req.target, desc)


def _history_steps(req: JudgeRequest) -> list[_Step]:
    """The earlier steps, oldest first, from ``history_actions`` or ``context.history``."""
    steps = []
    if req.history_actions:
        for i, text in enumerate(req.history_actions):
            el = req.history_targets[i] if i < len(req.history_targets) else None
            desc = describe_element(el) if el else ""
            if not desc and i < len(req.context.history):
                desc = _split_described(req.context.history[i])[1]
            steps.append(_Step(text, _parse(text), el, desc))
        return steps
    for i, entry in enumerate(req.context.history):
        text, desc = _split_described(entry)
        el = req.history_targets[i] if i < len(req.history_targets) else None
        steps.append(_Step(text, _parse(text), el, describe_element(el) if el else desc))
    return steps


def _norm(text: str | None) -> str:
    return " ".join(str(text or "").split())


# ------------------------------------------------------------------------ coherence rules


def coherence_rules(request: JudgeRequest) -> tuple[int, str]:
    """Applies the shared coherence rules to one action.

    ``C = 0`` when the action

    * cannot be parsed in the action grammar;
    * names a disabled element, or selects an option the ``<select>`` does not have;
    * exactly repeats the immediately preceding action on the same element (clicks on
      stepper controls such as "Next month" or "+" are exempt: repeating them is how one moves
      on);
    * fills or selects a field (same data-key, else same role and name) that an earlier action
      set to a different value: an undo or a contradiction;
    * clicks a checkbox or switch that earlier actions clicked an odd number of times (undoes
      it), or a radio button clicked earlier with no other radio clicked since (redundant).

    Otherwise ``C = 1``. Target-less actions (``scroll``, ``press``, ``noop``...) are coherent
    unless they repeat a ``press("Enter")`` or ``type`` right away.

    Args:
        request: The action with its history.

    Returns:
        ``(C, reason)``.
    """
    step = _current_step(request)
    if step.action is None:
        return 0, "the action does not parse"
    history = _history_steps(request)
    prev = history[-1] if history else None
    el = step.element or {}
    verb = step.verb
    if el.get("disabled"):
        return 0, "acts on a disabled element"
    if verb == "select" and el.get("options") and step.action.text not in el["options"]:
        return 0, f"selects {step.action.text!r}, which is not an option"
    if prev is not None and prev.action == step.action:
        if verb in ("type",) or (verb == "press" and step.action.text == "Enter"):
            return 0, "repeats the previous action"
        if (
            verb not in _TARGETLESS
            and step.same_element(prev)
            and not (verb == "click" and _is_stepper(step))
        ):
            return 0, "repeats the previous action on the same element"
    if verb in ("fill", "select"):
        text = _norm(step.action.text)
        for old in reversed(history):
            if old.verb in ("fill", "select") and old.same_element(step):
                if _norm(old.action.text) != text:  # type: ignore[union-attr]
                    return 0, f"overwrites {old.action.text!r} set earlier"  # type: ignore[union-attr]
                break
    if verb == "click" and step.desc:
        role = step.role
        if role in _TOGGLE_ROLES:
            clicks = sum(1 for old in history if old.verb == "click" and old.same_element(step))
            if clicks % 2 == 1:
                return 0, "clicks the toggle again, undoing the earlier click"
        elif role in _RADIO_ROLES:
            for old in reversed(history):
                if old.verb != "click" or old.role not in _RADIO_ROLES:
                    continue
                if old.same_element(step):
                    return 0, "clicks a radio button that is already selected"
                break
    return 1, "follows from the earlier steps"


def _is_stepper(step: _Step) -> bool:
    name = str((step.element or {}).get("name") or "") or _identity(step.desc)
    return bool(_STEPPER_RE.search(name) or _STEPPER_RE.search(step.key or ""))
