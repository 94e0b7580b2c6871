"""The one action grammar of Similar-Gym: parsing, formatting and the discrete encoding.

Text actions are calls with literal arguments, parsed by a small tokenizer and a
recursive-descent parser (nothing is ever ``eval``-ed)::

    click(12)                 click the centre of element 12 (ids come from the page text view)
    fill(7, "Ada Lovelace")   focus element 7, replace its content with the text
    select(9, "Blue")         choose the option labelled "Blue" in <select> 9
    hover(4)                  move the mouse over element 4
    press("Enter")            press a key (Playwright key names: "Tab", "Escape", "Control+a")
    type("hello")             type text into whatever has focus
    scroll("down")            scroll the page by most of a screen ("up" or "down"; quotes optional)
    click_at(80, 120)         click a page coordinate (canvas tasks of MiniWoB++)
    drag(10, 10, 80, 120)     press at the first point, move, release at the second
    noop()                    do nothing for a step

Strings use double or single quotes with JSON-style escapes. :meth:`Action.to_text` gives the
canonical form, and ``parse_action(a.to_text()) == a`` for every action.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Verb = Literal[
    "click", "fill", "select", "hover", "press", "type", "scroll", "click_at", "drag", "noop"
]

#: Argument kinds of each verb: "id" element id, "str" string, "num" coordinate, "dir" direction.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "click": ("id",),
    "fill": ("id", "str"),
    "select": ("id", "str"),
    "hover": ("id",),
    "press": ("str",),
    "type": ("str",),
    "scroll": ("dir",),
    "click_at": ("num", "num"),
    "drag": ("num", "num", "num", "num"),
    "noop": (),
}

MAX_ACTION_LENGTH = 2000
MAX_TEXT_LENGTH = 1000
_KEY_RE = re.compile(r"^[A-Za-z0-9+]{1,40}$")


class ActionError(ValueError):
    """An action that cannot be parsed or does not fit the grammar; the message says why."""


@dataclass(frozen=True)
class Action:
    """One parsed action.

    Attributes:
        verb: The action verb (see the module docstring).
        element: The element id for ``click``, ``fill``, ``select`` and ``hover``.
        text: The text for ``fill``/``type``, the option for ``select``, the key for ``press``,
            ``"up"``/``"down"`` for ``scroll``.
        coords: Page coordinates for ``click_at`` (x, y) and ``drag`` (x1, y1, x2, y2).
    """

    verb: Verb
    element: int | None = None
    text: str | None = None
    coords: tuple[float, ...] = ()

    def to_text(self) -> str:
        """Returns the canonical text form, which :func:`parse_action` reads back."""
        args: list[str] = []
        for kind in SIGNATURES[self.verb]:
            if kind == "id":
                args.append(str(self.element))
            elif kind in ("str", "dir"):
                args.append(json.dumps(self.text, ensure_ascii=False))
        args.extend(_format_number(c) for c in self.coords)
        return f"{self.verb}({', '.join(args)})"

    def __str__(self) -> str:
        return self.to_text()


def _format_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
      | (?P<dq>"(?:[^"\\]|\\.)*")
      | (?P<sq>'(?:[^'\\]|\\.)*')
      | (?P<punct>[(),])
    )""",
    re.VERBOSE | re.DOTALL,
)


def _tokenize(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    end = len(source.rstrip())
    while pos < end:
        m = _TOKEN_RE.match(source, pos)
        if m is None or m.end() == pos:
            pos += len(source[pos:]) - len(source[pos:].lstrip())
            raise ActionError(f"unexpected character {source[pos]!r} at position {pos}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


_ESCAPES = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    "/": "/",
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
}


def _decode_string(raw: str) -> str:
    """Decodes a quoted literal (either quote) with JSON-style escapes."""
    out: list[str] = []
    i, end = 1, len(raw) - 1
    while i < end:
        c = raw[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt == "u":
            digits = raw[i + 2 : i + 6]
            if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                raise ActionError(f"bad \\u escape in string literal {raw!r}")
            code = int(digits, 16)
            if 0xD800 <= code <= 0xDFFF:
                raise ActionError(f"surrogate code point in string literal {raw!r}")
            out.append(chr(code))
            i += 6
        elif nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            raise ActionError(f"bad escape \\{nxt} in string literal {raw!r}")
    return "".join(out)


def parse_action(source: str) -> Action:
    """Parses one text action.

    Args:
        source: The action, e.g. ``'fill(7, "Ada")'``. Surrounding white space is ignored.

    Returns:
        The parsed :class:`Action`.

    Raises:
        ActionError: If the text is not a call of a known verb with the right arguments; the
            message names the problem and the expected signature.
    """
    if not isinstance(source, str):
        raise ActionError(f"a text action must be a str, got {type(source).__name__}")
    if len(source) > MAX_ACTION_LENGTH:
        raise ActionError(f"action longer than {MAX_ACTION_LENGTH} characters")
    tokens = _tokenize(source)
    if not tokens:
        raise ActionError("empty action; expected something like click(3) or noop()")
    kind, verb = tokens[0]
    if kind != "name":
        raise ActionError(f"an action starts with a verb, got {verb!r}")
    if verb not in SIGNATURES:
        raise ActionError(f"unknown verb {verb!r}; known verbs: {', '.join(SIGNATURES)}")
    if len(tokens) < 3 or tokens[1] != ("punct", "(") or tokens[-1] != ("punct", ")"):
        raise ActionError(f"expected {_usage(verb)}")
    args: list[tuple[str, str]] = []
    inner = tokens[2:-1]
    for i, tok in enumerate(inner):
        if i % 2 == 1:
            if tok != ("punct", ","):
                raise ActionError(f"expected ',' between arguments of {_usage(verb)}")
        elif tok[0] == "punct":
            raise ActionError(f"missing argument in {_usage(verb)}")
        else:
            args.append(tok)
    if inner and len(inner) % 2 == 0:
        raise ActionError(f"trailing ',' in {_usage(verb)}")
    return _build(verb, args)


def _usage(verb: str) -> str:
    names = {"id": "element_id", "str": '"text"', "num": "number", "dir": '"up"|"down"'}
    return f"{verb}({', '.join(names[k] for k in SIGNATURES[verb])})"


def _build(verb: str, args: list[tuple[str, str]]) -> Action:
    sig = SIGNATURES[verb]
    if len(args) != len(sig):
        raise ActionError(f"{verb} takes {len(sig)} argument(s): {_usage(verb)}")
    element: int | None = None
    text: str | None = None
    coords: list[float] = []
    for (kind, raw), want in zip(args, sig, strict=True):
        if want == "id":
            if kind != "num" or not re.fullmatch(r"\d{1,9}", raw):
                raise ActionError(f"element id must be a non-negative integer, got {raw!r}")
            element = int(raw)
        elif want == "num":
            if kind != "num":
                raise ActionError(f"coordinate must be a number, got {raw!r}")
            value = float(raw)
            if not (-1e6 <= value <= 1e6):
                raise ActionError(f"coordinate out of range: {raw}")
            coords.append(value)
        elif want == "dir":
            value_s = _decode_string(raw) if kind in ("dq", "sq") else raw
            if value_s not in ("up", "down"):
                raise ActionError(f'scroll direction must be "up" or "down", got {raw!r}')
            text = value_s
        else:
            if kind not in ("dq", "sq"):
                raise ActionError(f"expected a quoted string in {_usage(verb)}, got {raw!r}")
            text = _decode_string(raw)
            if len(text) > MAX_TEXT_LENGTH:
                raise ActionError(f"text longer than {MAX_TEXT_LENGTH} characters")
            if verb == "press" and not _KEY_RE.match(text):
                raise ActionError(f'not a key name: {text!r} (e.g. "Enter", "Control+a")')
    return Action(verb=verb, element=element, text=text, coords=tuple(coords))  # type: ignore[arg-type]


#: The action types of the discrete mode, in the order of the first ``MultiDiscrete`` axis.
DISCRETE_TYPES: tuple[str, ...] = (
    "noop",
    "click",
    "fill",
    "select",
    "press_enter",
    "scroll_down",
    "scroll_up",
)


@dataclass(frozen=True)
class DiscreteActionCodec:
    """Maps ``MultiDiscrete([n_types, max_elements, max_text_slots])`` actions to text actions.

    An action ``(t, e, k)`` means: action type ``DISCRETE_TYPES[t]`` on the ``e``-th element of
    the page text view (elements in the order they are listed), with text slot ``k``:

    * ``fill``: the ``k``-th string of the episode's text slots (``info["text_slots"]``);
    * ``select``: the ``k``-th option of the chosen ``<select>`` element;
    * other types ignore the slots they do not use (``noop`` ignores both).

    Attributes:
        max_elements: Number of element slots (elements past it cannot be acted on).
        max_text_slots: Number of text slots.
    """

    max_elements: int = 64
    max_text_slots: int = 16

    @property
    def nvec(self) -> tuple[int, int, int]:
        """The ``MultiDiscrete`` sizes."""
        return (len(DISCRETE_TYPES), self.max_elements, self.max_text_slots)

    def masks(
        self, n_elements: int, n_text_slots: int, option_counts: Sequence[int] = ()
    ) -> np.ndarray:
        """Which index of each action dimension can name something at a state.

        The layout is sb3-contrib's ``MaskablePPO`` for ``MultiDiscrete``: the masks of the
        three dimensions, concatenated. A type is possible unless it needs what the state lacks
        (``fill``: a text slot; ``select``: a ``<select>``); an element slot if the page lists
        that many elements; a text slot if the task has that many strings or a ``<select>``
        that many options. Slot 0 of each dimension is always possible, so no dimension is
        empty (the indices a type ignores decode fine).

        Args:
            n_elements: Elements the page text view lists.
            n_text_slots: Strings in the task's text slots.
            option_counts: Number of options of each ``<select>`` on the page.
        """
        types = np.ones(len(DISCRETE_TYPES), dtype=bool)
        types[DISCRETE_TYPES.index("fill")] = n_text_slots > 0
        types[DISCRETE_TYPES.index("select")] = any(option_counts)
        elements = np.arange(self.max_elements) < max(n_elements, 1)
        slots = np.arange(self.max_text_slots) < max(n_text_slots, *option_counts, 1)
        return np.concatenate([types, elements, slots])

    def decode(
        self,
        action: tuple[int, int, int] | list[int],
        element_ids: list[int],
        text_slots: list[str],
        options: dict[int, list[str]],
    ) -> Action:
        """Turns one discrete action into an :class:`Action`.

        Args:
            action: The three indices ``(type, element slot, text slot)``.
            element_ids: Element ids of the current text view, in slot order.
            text_slots: The episode's text slots.
            options: Option labels of each ``<select>`` element, by element id.

        Raises:
            ActionError: If an index is out of range or names an empty slot.
        """
        try:
            t, e, k = (int(x) for x in action)
        except (TypeError, ValueError):
            raise ActionError(f"a discrete action is three integers, got {action!r}") from None
        for name, value, size in zip(
            ("type", "element", "text"), (t, e, k), self.nvec, strict=True
        ):
            if not 0 <= value < size:
                raise ActionError(f"{name} index {value} out of range [0, {size})")
        kind = DISCRETE_TYPES[t]
        if kind == "noop":
            return Action("noop")
        if kind == "press_enter":
            return Action("press", text="Enter")
        if kind in ("scroll_down", "scroll_up"):
            return Action("scroll", text=kind.removeprefix("scroll_"))
        if e >= len(element_ids):
            raise ActionError(f"element slot {e} is empty: the page lists {len(element_ids)}")
        element = element_ids[e]
        if kind == "click":
            return Action("click", element=element)
        if kind == "fill":
            if k >= len(text_slots):
                raise ActionError(f"text slot {k} is empty: the task has {len(text_slots)}")
            return Action("fill", element=element, text=text_slots[k])
        labels = options.get(element)
        if not labels:
            raise ActionError(f"element {element} is not a <select>")
        if k >= len(labels):
            raise ActionError(f"element {element} has {len(labels)} options, not {k + 1}")
        return Action("select", element=element, text=labels[k])
