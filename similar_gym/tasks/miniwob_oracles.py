"""Oracle plans for the MiniWoB++ pages of the SRM splits.

A MiniWoB++ page draws its instance in its own JavaScript, so a plan is read from the goal the
page states (with the ``miniwob`` package's field extractors, as the env's text slots are) and
names elements by role and accessible name (:class:`~similar_gym.tasks.base.OracleStep`), since
the pages carry no ``data-key`` s. A plan is the shortest action sequence that solves the
instance; MCTS-P rolls it out to score the odds of success and the efficiency of a candidate,
and ``oracle:EPS`` policies follow it on these pages as on the own apps.

Pages without a plan here have no oracle (:func:`miniwob_plan` returns ``None``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from similar_gym.tasks.base import OracleStep


def _click(role: str, name: str | None = None, nth: int = 0) -> OracleStep:
    return OracleStep("click", role=role, name=name, nth=nth)


def _fill(nth: int, text: str) -> OracleStep:
    return OracleStep("fill", role="textbox", nth=nth, text=text)


def _ordinal(text: str) -> int:
    """Returns the 0-based index of ``"2"``, ``"2nd"`` or ``"second"``-style ordinals."""
    words = ("first", "second", "third", "fourth", "fifth", "sixth")
    text = text.strip().lower()
    if text in words:
        return words.index(text)
    digits = re.match(r"\d+", text)
    if digits is None:
        raise ValueError(f"not an ordinal: {text!r}")
    return int(digits.group()) - 1


def _dialog_button(label: str) -> str:
    # The dialog's title-bar "x" is jQuery UI's close button, named "Close".
    return "Close" if label == "x" else label


_Plan = Callable[[dict[str, str]], list[OracleStep]]

#: Page name -> plan from the goal's fields (``target``, ``username``, ``password``).
PLANS: dict[str, _Plan] = {
    "click-button": lambda f: [_click("button", f["target"])],
    "click-button-sequence": lambda f: [_click("button", "ONE"), _click("button", "TWO")],
    "click-dialog": lambda f: [_click("button", "Close")],
    "click-dialog-2": lambda f: [_click("button", _dialog_button(f["target"]))],
    "click-link": lambda f: [_click("text", f["target"])],
    "click-tab": lambda f: [_click("tab", f"Tab #{f['target']}")],
    "choose-list": lambda f: [
        OracleStep("select", role="combobox", text=f["target"]),
        _click("button", "Submit"),
    ],
    "enter-password": lambda f: [
        _fill(0, f["target"]),
        _fill(1, f["target"]),
        _click("button", "Submit"),
    ],
    "enter-text": lambda f: [_fill(0, f["target"]), _click("button", "Submit")],
    "focus-text": lambda f: [_click("textbox")],
    "focus-text-2": lambda f: [_click("textbox", nth=_ordinal(f["target"]))],
    "login-user": lambda f: [
        _fill(0, f["username"]),
        _fill(1, f["password"]),
        _click("button", "Login"),
    ],
}


def miniwob_plan(name: str, fields: dict[str, str]) -> list[OracleStep] | None:
    """Returns the oracle plan of one instance of page ``name``, or ``None`` without one.

    Args:
        name: Page name, e.g. ``"login-user"``.
        fields: The goal's fields as the ``miniwob`` package's extractor of the page reads them.

    Raises:
        ValueError: If the page has a plan but the goal lacks a field the plan needs.

    >>> [s.text for s in miniwob_plan("login-user", {"username": "ann", "password": "pw"})]
    ['ann', 'pw', None]
    >>> miniwob_plan("focus-text-2", {"target": "3"})[0].nth
    2
    """
    plan = PLANS.get(name)
    if plan is None:
        return None
    try:
        return plan(fields)
    except KeyError as e:
        raise ValueError(f"miniwob/{name}: the goal has no field {e.args[0]!r}") from None
