"""The contract every task of the own suite follows.

A task *template* (``shop/buy-product``) draws a task *instance* from a seed: the data the web
app renders, the goal, the natural-language instruction, the success check and an oracle plan.

Python owns the semantics, the page owns the rendering:

* :meth:`AppTemplate.sample` builds every random choice from a seeded ``numpy`` generator and
  returns JSON-able params. ``params["data"]`` is handed to the app page as ``SIM.reset(data)``;
  the page itself draws no random numbers and reads no clock, so a seed fixes the page exactly.
* :meth:`AppTemplate.check` decides success from the app's state (``SIM.getState()``), never from
  the action history.
* :meth:`AppTemplate.oracle` returns a plan of :class:`OracleStep` that name elements by their
  semantic ``data-key`` attribute; the env resolves keys to the element ids of its text view.
* :meth:`AppTemplate.meta` says which elements and fields the goal concerns (for later judges).

The page side of the contract (``apps/common/simapp.js``) is documented in that file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

OracleVerb = Literal["click", "fill", "select", "press", "scroll", "hover"]


@dataclass(frozen=True)
class OracleStep:
    """One step of an oracle plan.

    The element acted on is named by its ``data-key`` (the own apps' pages carry them) or, on
    pages without keys (MiniWoB++), by its role and accessible name: the ``nth`` interactive
    element of the page view that has them.

    Attributes:
        verb: The action verb of :mod:`similar_gym.actions` (``click``, ``fill``, ``select``,
            ``press``, ``scroll`` or ``hover``).
        key: The ``data-key`` of the element acted on (``None`` for ``press`` and ``scroll``,
            and for elements named by ``role``/``name``).
        text: The text to fill, the option label to select, the key to press
            (``"Enter"``) or the scroll direction (``"down"``/``"up"``).
        role: Without ``key``: the element's role (``"button"``, ``"textbox"``...), if it counts.
        name: Without ``key``: the element's accessible name, if it counts.
        nth: Which of the matching elements, from 0 in page order (keys are unique: 0).
    """

    verb: OracleVerb
    key: str | None = None
    text: str | None = None
    role: str | None = None
    name: str | None = None
    nth: int = 0

    def matches(self, element: dict[str, Any]) -> bool:
        """Returns whether ``element`` (a row of ``WebEnv.elements``) could be this step's.

        With a ``key``, the element must carry it; otherwise it must be interactive and have
        the step's role and name where they are given. ``nth`` then picks among the matches.
        """
        if self.key is not None:
            return element.get("key") == self.key
        if self.role is None and self.name is None:
            return False
        return (
            bool(element.get("interactive"))
            and (self.role is None or element.get("role") == self.role)
            and (self.name is None or element.get("name") == self.name)
        )


@dataclass(frozen=True)
class TaskMeta:
    """What the goal of one task instance concerns, for judges of task relevance and coherence.

    Attributes:
        elements: ``data-key`` s of the elements the goal needs touched (buttons, links, inputs).
        fields: Form fields the goal sets, as ``data-key`` -> required value.
        distractors: ``data-key`` s of traps: look-alike items, wrong-but-plausible buttons.
    """

    elements: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)
    distractors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-able copy."""
        return {
            "elements": list(self.elements),
            "fields": dict(self.fields),
            "distractors": list(self.distractors),
        }


class AppTemplate(ABC):
    """A task template on one of the own web apps.

    Subclasses set the class attributes and implement the five abstract methods. Everything
    must be a pure function of its arguments: same ``rng`` state, same params.

    Attributes:
        app: Name of the app folder under ``similar_gym/tasks/apps/`` (``"shop"``).
        name: Template name, unique within the app (``"buy-product"``).
        description: One line for ``similar tasks``.
        max_steps: Episode step limit (truncation) for this template.
    """

    app: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str] = ""
    max_steps: ClassVar[int] = 20

    @property
    def id(self) -> str:
        """The task id, ``"<app>/<name>"``."""
        return f"{self.app}/{self.name}"

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws one task instance.

        Args:
            rng: The episode's generator; the only source of randomness.

        Returns:
            JSON-able params. ``params["data"]`` is passed to the page's ``SIM.reset``; any other
            keys (the goal, the target item...) are for :meth:`instruction`, :meth:`check`,
            :meth:`oracle` and :meth:`meta`.
        """

    @abstractmethod
    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in natural language, as a user would phrase it."""

    @abstractmethod
    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """Returns whether the app state satisfies the goal.

        Args:
            params: The instance from :meth:`sample`.
            state: The app state, as returned by the page's ``SIM.getState()``.
        """

    @abstractmethod
    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Returns a plan that solves the instance from its initial state (3 to 12 steps)."""

    @abstractmethod
    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Returns the elements and fields the goal concerns."""

    def text_slots(self, params: dict[str, Any]) -> list[str]:
        """Returns the strings a discrete-action agent may type or select.

        The default is every text the oracle fills or selects plus :meth:`decoys`, sorted, so
        the slot order reveals nothing about the answer.
        """
        texts = {s.text for s in self.oracle(params) if s.verb in ("fill", "select") and s.text}
        texts.update(self.decoys(params))
        return sorted(texts)

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """Returns plausible but wrong strings for the discrete text slots (default: none)."""
        return []
