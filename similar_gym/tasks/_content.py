"""Shared content and helpers for the shop and mail task templates.

Everything here is plain data plus small pure functions. Random choices always go through a
``numpy`` generator handed in by the caller, and every value returned is a built-in Python type,
so task params stay JSON-able.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

# fmt: off
FIRST_NAMES: tuple[str, ...] = (
    "Amara", "Bruno", "Chloe", "Dana", "Elif", "Felix", "Grace", "Hugo", "Ines", "Jonas",
    "Keiko", "Liam", "Maya", "Nikhil", "Olivia", "Pavel", "Quinn", "Rosa", "Samir", "Tessa",
    "Umar", "Vera", "Wes", "Yara", "Zane", "Priya", "Marco", "Leah", "Tomas", "Hana",
)

LAST_NAMES: tuple[str, ...] = (
    "Whitfield", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Castillo", "Brennan", "Novak",
    "Haddad", "Fischer", "Kowalski", "Mensah", "Duarte", "Ivanova", "Sato", "Ferreira",
    "Gallagher", "Nair", "Rahman", "Bianchi", "Oduya", "Holm", "Varga", "Pereira",
)

CITIES: tuple[str, ...] = (
    "Leeds", "Porto", "Lyon", "Utrecht", "Graz", "Aarhus", "Bologna", "Gdansk", "Cork", "Ghent",
    "Tampere", "Valencia",
)

STREETS: tuple[str, ...] = (
    "Harbour Road", "Elm Street", "Mill Lane", "Station Avenue", "Orchard Close", "Kingsway",
    "Canal Street", "Beech Grove", "Market Square", "Willow Walk",
)
# fmt: on


def pick(rng: np.random.Generator, seq: Sequence[T]) -> T:
    """Returns one element of ``seq``, uniformly at random.

    Args:
        rng: The generator to draw from.
        seq: A non-empty sequence.
    """
    return seq[int(rng.integers(len(seq)))]


def pick_k(rng: np.random.Generator, seq: Sequence[T], k: int) -> list[T]:
    """Returns ``k`` distinct elements of ``seq`` in random order.

    Args:
        rng: The generator to draw from.
        seq: A sequence with at least ``k`` elements.
        k: How many to draw.
    """
    return [seq[int(i)] for i in rng.permutation(len(seq))[:k]]


def shuffled(rng: np.random.Generator, seq: Sequence[T]) -> list[T]:
    """Returns the elements of ``seq`` in random order."""
    return pick_k(rng, seq, len(seq))


def person_names(rng: np.random.Generator, k: int) -> list[str]:
    """Returns ``k`` full names whose first and last names are all distinct.

    Args:
        rng: The generator to draw from.
        k: How many names (at most the shorter of the two name lists).
    """
    firsts = pick_k(rng, FIRST_NAMES, k)
    lasts = pick_k(rng, LAST_NAMES, k)
    return [f"{f} {s}" for f, s in zip(firsts, lasts, strict=True)]


def street_address(rng: np.random.Generator) -> tuple[str, str]:
    """Returns a random ``(street line, city)`` pair such as ``("14 Mill Lane", "Graz")``."""
    return f"{int(rng.integers(2, 120))} {pick(rng, STREETS)}", pick(rng, CITIES)


def slug(text: str) -> str:
    """Returns a lowercase, dash-separated form of ``text`` for use in ``data-key`` s."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def norm(text: object) -> str:
    """Normalises free text for lenient comparison: lowercase, single spaces, no edge spaces."""
    return " ".join(str(text or "").split()).lower()
