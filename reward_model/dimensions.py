"""The five dimensions of the Similar reward, defined once.

Every module that names, scales or sums the dimensions imports them from here: MCTS-P writes
scores under these codes, the SRM data stores them, the model predicts them and the wrappers
report them.

>>> from reward_model.dimensions import DIMENSIONS, total, scaled
>>> [d.code for d in DIMENSIONS]
['H', 'OS', 'E', 'TR', 'C']
>>> scaled({"H": 0.2, "OS": 1.0, "E": 0.25, "TR": 1, "C": 1})
{'H': 0.6000000000000001, 'OS': 5.0, 'E': 1.25, 'TR': 1.0, 'C': 1.0}
>>> round(total({"H": 0.2, "OS": 1.0, "E": 0.25, "TR": 1, "C": 1}), 4)
8.85
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Dimension:
    """One dimension of the step reward.

    Attributes:
        code: Short code used as a column and dict key (``"OS"``).
        name: Human name (``"odds of success"``).
        low: Smallest raw value.
        high: Largest raw value.
        scale: Factor of the paper's training target (``5*OS, 5*E, 3*H, TR, C``).
        binary: Whether the raw value is 0/1.
        description: What the dimension measures.
    """

    code: str
    name: str
    low: float
    high: float
    scale: float
    binary: bool
    description: str


HELPFULNESS = Dimension(
    "H",
    "helpfulness",
    -1.0,
    1.0,
    3.0,
    False,
    "How much the step contributes to finishing the task: "
    "H_i = (1 - AC_{i-1}) / (M - i + 1) * (2 r_i - 1).",
)
ODDS_OF_SUCCESS = Dimension(
    "OS",
    "odds of success",
    0.0,
    1.0,
    5.0,
    False,
    "Share of rollouts from after the step that end in success.",
)
EFFICIENCY = Dimension(
    "E",
    "efficiency",
    -1.0,
    1.0,
    5.0,
    False,
    "How much the step shortens the remaining successful path: (Len_{i-1} - Len_i) / Len_0.",
)
TASK_RELEVANCE = Dimension(
    "TR",
    "task relevance",
    0.0,
    1.0,
    1.0,
    True,
    "Whether the action is about the task at all (0/1).",
)
COHERENCE = Dimension(
    "C",
    "coherence",
    0.0,
    1.0,
    1.0,
    True,
    "Whether the action follows sensibly from the earlier ones (0/1).",
)

#: The five dimensions in their canonical order (the order of every score vector).
DIMENSIONS: tuple[Dimension, ...] = (
    HELPFULNESS,
    ODDS_OF_SUCCESS,
    EFFICIENCY,
    TASK_RELEVANCE,
    COHERENCE,
)
#: Codes of the five dimensions, canonical order.
CODES: tuple[str, ...] = tuple(d.code for d in DIMENSIONS)
#: The preference types of SRMEval: the five dimensions and their weighted total.
TOTAL = "total"
PAIR_TYPES: tuple[str, ...] = (*CODES, TOTAL)
#: Paper target scaling in canonical order.
SCALES: tuple[float, ...] = tuple(d.scale for d in DIMENSIONS)
#: Range of the total, from the ranges and scales of the dimensions.
TOTAL_RANGE: tuple[float, float] = (
    sum(d.low * d.scale for d in DIMENSIONS),
    sum(d.high * d.scale for d in DIMENSIONS),
)

_BY_CODE = {d.code: d for d in DIMENSIONS}


def get(code: str) -> Dimension:
    """Returns the dimension with this code.

    Raises:
        KeyError: If the code is not one of ``H, OS, E, TR, C``.
    """
    try:
        return _BY_CODE[code]
    except KeyError:
        raise KeyError(f"unknown dimension {code!r}; expected one of {', '.join(CODES)}") from None


def _check(scores: Mapping[str, float]) -> None:
    missing = [c for c in CODES if c not in scores]
    if missing:
        raise KeyError(f"scores lack dimension(s) {', '.join(missing)}")


def scaled(scores: Mapping[str, float]) -> dict[str, float]:
    """Returns the paper's training targets ``3*H, 5*OS, 5*E, TR, C`` keyed by code."""
    _check(scores)
    return {d.code: float(scores[d.code]) * d.scale for d in DIMENSIONS}


def total(scores: Mapping[str, float]) -> float:
    """Returns the total ``5*OS + 5*E + 3*H + TR + C`` of raw scores."""
    return sum(scaled(scores).values())


def as_vector(scores: Mapping[str, float]) -> list[float]:
    """Returns raw scores as a list in canonical order ``H, OS, E, TR, C``."""
    _check(scores)
    return [float(scores[c]) for c in CODES]


def value(scores: Mapping[str, float], kind: str) -> float:
    """Returns one preference type's value: a dimension's raw score or the total."""
    return total(scores) if kind == TOTAL else float(scores[get(kind).code])
