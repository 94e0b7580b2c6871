"""The one record of a step: :class:`StepContext`.

MCTS-P writes it, the SRM data stores it, the reward model reads it, the wrappers build it
and SRMEval serves it. It holds what a judge of one action needs to see: the goal, what was
done before, the screen, the page's text view and the candidate action.

Actions are kept twice: ``action`` in the grammar of :mod:`similar_gym.actions`
(``click(12)``) and ``target``, the element the action names as the page showed it
(``button "Add to cart"``), because element ids mean nothing once the page is gone.
:meth:`StepContext.describe` joins the two, and earlier steps are stored already described.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from similar_gym.actions import Action, ActionError, parse_action

#: Longest element name kept in a target description.
MAX_TARGET_NAME = 80


def describe_element(element: Mapping[str, Any] | None) -> str:
    """Returns how an element looks in the text view, without its id: ``button "Buy"``.

    Args:
        element: An element of ``WebEnv.elements`` (``role``, ``name``, optional ``value``),
            or ``None``.
    """
    if not element:
        return ""
    name = " ".join(str(element.get("name") or "").split())
    if len(name) > MAX_TARGET_NAME:
        name = name[: MAX_TARGET_NAME - 1] + "…"
    text = f'{element.get("role") or element.get("tag") or "element"} "{name}"'
    if element.get("value"):
        text += f' value="{" ".join(str(element["value"]).split())[:MAX_TARGET_NAME]}"'
    return text


def find_target(action: str | Action, elements: Sequence[Mapping[str, Any]]) -> dict | None:
    """Returns the element an action names, or ``None`` (no element, unknown id, bad action)."""
    try:
        parsed = action if isinstance(action, Action) else parse_action(action)
    except ActionError:
        return None
    if parsed.element is None:
        return None
    for el in elements:
        if el.get("id") == parsed.element:
            return dict(el)
    return None


def describe_action(action: str, target: str = "") -> str:
    """Returns an action with the element it names: ``click(12) on button "Buy"``."""
    return f"{action} on {target}" if target else action


def split_described(described: str) -> tuple[str, str]:
    """Splits what :func:`describe_action` wrote back into the action and its target.

    >>> split_described('fill(7, "a ) on b") on textbox "Name"')
    ('fill(7, "a ) on b")', 'textbox "Name"')
    >>> split_described("noop()")
    ('noop()', '')
    """
    quote, escaped = "", False
    for i, ch in enumerate(described):
        if quote:
            if ch == quote and not escaped:
                quote = ""
            escaped = not escaped and ch == "\\"
        elif ch in "\"'":
            quote = ch
        elif ch == ")":
            rest = described[i + 1 :]
            return described[: i + 1], rest[4:] if rest.startswith(" on ") else rest.strip()
    return described, ""


@dataclass(frozen=True)
class StepContext:
    """Everything a reward model sees of one candidate action.

    Attributes:
        instruction: The task's goal in natural language.
        history: Earlier actions of the episode, oldest first, each described with
            :func:`describe_action`.
        screenshot: The screen before the action: ``uint8`` H×W×3 array, PNG/JPEG bytes, or
            ``None`` when there is none.
        page_text: The page's text view before the action (``[n] role "name"`` lines).
        action: The candidate action in the action grammar.
        target: The element the action names, described as in :func:`describe_element`
            (empty for actions without one).
        task_id: The task id (``"shop/buy-product"``).
        step_idx: Index of the step in its episode, from 0.
        extras: Free-form extras that adapters and judges may attach (not stored in SRM data).
    """

    instruction: str
    history: tuple[str, ...]
    screenshot: np.ndarray | bytes | None
    page_text: str
    action: str
    target: str = ""
    task_id: str = ""
    step_idx: int = 0
    extras: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def describe(self) -> str:
        """Returns the candidate action with its target: ``click(12) on button "Buy"``."""
        return describe_action(self.action, self.target)

    def with_action(self, action: str, target: str = "") -> StepContext:
        """Returns a copy for another candidate action at the same state."""
        return replace(self, action=action, target=target)

    def image(self) -> np.ndarray | None:
        """Returns the screenshot as a ``uint8`` H×W×3 array (decoding bytes), or ``None``."""
        if self.screenshot is None:
            return None
        if isinstance(self.screenshot, np.ndarray):
            return self.screenshot
        return decode_image(self.screenshot)

    def image_bytes(self) -> bytes | None:
        """Returns the screenshot encoded as PNG bytes, or ``None``."""
        if self.screenshot is None:
            return None
        if isinstance(self.screenshot, bytes | bytearray):
            return bytes(self.screenshot)
        return encode_png(self.screenshot)


def encode_png(image: np.ndarray) -> bytes:
    """Encodes an ``uint8`` H×W×3 array as PNG bytes (deterministic for equal arrays)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def decode_image(data: bytes) -> np.ndarray:
    """Decodes PNG/JPEG bytes into an ``uint8`` H×W×3 array."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)
