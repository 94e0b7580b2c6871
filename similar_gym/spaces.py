"""Observation spaces of :class:`~similar_gym.web_env.WebEnv` and the numeric encoding of text.

Two observation modes:

* ``"text"``: the screenshot plus the instruction, the page text view, the URL and the last
  action's error as strings (:class:`PageText`: printable Unicode).
* ``"numeric"``: only arrays, so stable-baselines3's ``MultiInputPolicy`` takes it as is. Words are
  hashed into ``VOCAB_SIZE`` buckets (0 is padding): ``instruction`` (``INSTRUCTION_TOKENS``),
  ``element_tokens`` (``max_elements`` x ``ELEMENT_TOKENS``, the role and name of each element
  slot), ``element_features`` (``max_elements`` x ``len(ELEMENT_FEATURES)``, floats in [0, 1]) and
  ``text_slot_tokens`` (``max_text_slots`` x ``SLOT_TOKENS``). Element slots follow the order of
  the page text view, the same order the discrete actions use.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

import numpy as np
from gymnasium import spaces

VOCAB_SIZE = 4096
INSTRUCTION_TOKENS = 32
ELEMENT_TOKENS = 8
SLOT_TOKENS = 6
ELEMENT_FEATURES = ("present", "interactive", "x", "y", "width", "height", "checked", "has_value")
MAX_INSTRUCTION_CHARS = 2000
MAX_URL_CHARS = 2000
MAX_ERROR_CHARS = 500

_WORD = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")


_SAMPLE_CHARSET = "".join(chr(c) for c in range(0x20, 0x7F)) + "\n"


def _allowed(c: str) -> bool:
    return c.isprintable() or c in "\n\t"


class PageText(spaces.Text):
    """A ``Text`` space whose members are any printable Unicode string (plus newlines and tabs).

    ``gymnasium.spaces.Text`` checks membership against an explicit character set; a set of all
    printable characters costs a third of a second to build and megabytes to pickle into vector
    workers. This space keeps a small ASCII set for :meth:`sample` and checks membership with
    ``str.isprintable`` instead.
    """

    def __init__(self, max_length: int):
        super().__init__(max_length=max_length, min_length=0, charset=_SAMPLE_CHARSET)

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a printable string of at most ``max_length`` characters."""
        return isinstance(x, str) and len(x) <= self.max_length and all(map(_allowed, x))

    def __repr__(self) -> str:
        return f"PageText({self.max_length})"


def sanitize(text: str, max_chars: int) -> str:
    """Cuts ``text`` to ``max_chars`` and replaces unprintable characters by ``?``."""
    text = text[:max_chars]
    if all(map(_allowed, text)):
        return text
    return "".join(c if _allowed(c) else "?" for c in text)


def text_space(max_chars: int) -> PageText:
    """A :class:`PageText` space of up to ``max_chars`` characters."""
    return PageText(max_chars)


def hash_tokens(text: str, length: int) -> np.ndarray:
    """Lower-cased words of ``text`` hashed into ``[1, VOCAB_SIZE)``, zero-padded to ``length``."""
    out = np.zeros(length, dtype=np.int64)
    words = _WORD.findall(text.lower())[:length]
    for i, w in enumerate(words):
        out[i] = 1 + zlib.crc32(w.encode("utf-8")) % (VOCAB_SIZE - 1)
    return out


def observation_space(
    mode: str,
    screenshot_shape: tuple[int, int, int],
    page_text_max_chars: int,
    max_elements: int,
    max_text_slots: int,
) -> spaces.Dict:
    """Builds the observation space of one mode (see the module docstring)."""
    image = spaces.Box(0, 255, shape=screenshot_shape, dtype=np.uint8)
    if mode == "text":
        return spaces.Dict(
            {
                "screenshot": image,
                "instruction": text_space(MAX_INSTRUCTION_CHARS),
                "page_text": text_space(page_text_max_chars),
                "url": text_space(MAX_URL_CHARS),
                "last_action_error": text_space(MAX_ERROR_CHARS),
            }
        )
    if mode == "numeric":
        tok = VOCAB_SIZE - 1
        return spaces.Dict(
            {
                "screenshot": image,
                "instruction": spaces.Box(0, tok, (INSTRUCTION_TOKENS,), np.int64),
                "element_tokens": spaces.Box(0, tok, (max_elements, ELEMENT_TOKENS), np.int64),
                "element_features": spaces.Box(
                    0.0, 1.0, (max_elements, len(ELEMENT_FEATURES)), np.float32
                ),
                "text_slot_tokens": spaces.Box(0, tok, (max_text_slots, SLOT_TOKENS), np.int64),
            }
        )
    raise ValueError(f"observation_mode must be 'text' or 'numeric', got {mode!r}")


def encode_numeric(
    instruction: str,
    elements: list[dict[str, Any]],
    text_slots: tuple[str, ...],
    viewport: tuple[int, int],
    max_elements: int,
    max_text_slots: int,
) -> dict[str, np.ndarray]:
    """Encodes the text parts of an observation as arrays (all but the screenshot)."""
    w, h = viewport
    tokens = np.zeros((max_elements, ELEMENT_TOKENS), dtype=np.int64)
    feats = np.zeros((max_elements, len(ELEMENT_FEATURES)), dtype=np.float32)
    for i, el in enumerate(elements[:max_elements]):
        tokens[i] = hash_tokens(f"{el['role']} {el['name']}", ELEMENT_TOKENS)
        x, y, bw, bh = el["box"]
        feats[i] = (
            1.0,
            float(el["interactive"]),
            x / w,
            y / h,
            bw / w,
            bh / h,
            float(el.get("checked", False)),
            float(bool(el.get("value"))),
        )
    np.clip(feats, 0.0, 1.0, out=feats)
    slots = np.zeros((max_text_slots, SLOT_TOKENS), dtype=np.int64)
    for i, s in enumerate(text_slots[:max_text_slots]):
        slots[i] = hash_tokens(s, SLOT_TOKENS)
    return {
        "instruction": hash_tokens(instruction, INSTRUCTION_TOKENS),
        "element_tokens": tokens,
        "element_features": feats,
        "text_slot_tokens": slots,
    }
