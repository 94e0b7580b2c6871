"""What the env needs of a task, whichever suite it comes from.

A :class:`Task` knows how to start an instance on a :class:`~similar_gym.browser.BrowserSession`
from a seed, how to read the outcome from the page, and how to put a page back to a snapshot.
:class:`AppTask` serves the own suite (templates of :mod:`similar_gym.tasks.base`);
:class:`~similar_gym.tasks.miniwob.MiniWoBTask` serves the MiniWoB++ pages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from similar_gym.browser import BrowserSession
from similar_gym.tasks.base import AppTemplate, OracleStep, TaskMeta

APPS_DIR = Path(__file__).parent / "apps"


@dataclass(frozen=True)
class TaskInstance:
    """One drawn task instance: everything fixed by the task id and the seed.

    Attributes:
        task_id: The task id (``"shop/buy-product"``, ``"miniwob/click-test"``).
        seed: The instance seed.
        instruction: The goal in natural language.
        text_slots: Strings a discrete-action agent may type or select.
        params: Suite-specific parameters (own suite: the template's params).
        meta: Elements and fields the goal concerns (own suite only).
    """

    task_id: str
    seed: int
    instruction: str
    text_slots: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    meta: TaskMeta | None = None


@dataclass(frozen=True)
class Outcome:
    """The task's verdict after a step.

    Attributes:
        reward: The task reward of this step.
        success: Whether the goal is reached.
        done: Whether the episode is over (success, or a failure the task declares final).
    """

    reward: float
    success: bool
    done: bool


class Task(ABC):
    """A task the env can run.

    Attributes:
        id: Task id.
        suite: ``"own"`` or ``"miniwob"``.
        app: The app (own suite) or page name (MiniWoB++).
        description: One line for listings.
        max_steps: Default step limit of an episode.
        oracle_length: Steps of the oracle solution, ``None`` if there is no oracle.
        page: Path of the page under the session origin.
        status_js: JavaScript function expression, evaluated after every step, whose result
            :meth:`outcome` reads.
    """

    id: str
    suite: str
    app: str
    description: str
    max_steps: int
    oracle_length: int | None
    page: str
    status_js: str

    @abstractmethod
    def start(self, session: BrowserSession, seed: int) -> TaskInstance:
        """Loads the page if needed and starts the instance drawn from ``seed``."""

    @abstractmethod
    def outcome(self, instance: TaskInstance, status: Any) -> Outcome:
        """Reads the verdict from the result of :attr:`status_js`."""

    @abstractmethod
    def page_state(self, session: BrowserSession) -> Any:
        """Returns what :meth:`restore_page` needs to put the page back (``None``: replay)."""

    @abstractmethod
    def restore_page(self, session: BrowserSession, instance: TaskInstance, state: Any) -> bool:
        """Puts the page back; returns ``False`` if the env must replay actions instead."""

    def oracle(self, instance: TaskInstance) -> list[OracleStep] | None:
        """Returns the oracle plan of the instance, or ``None`` if the task has none."""
        return None

    def ensure_page(self, session: BrowserSession) -> None:
        """Shows :attr:`page`, reusing the session's tab that has it loaded."""
        session.open(self.page)

    def info(self) -> dict[str, Any]:
        """Returns the listing row of ``similar tasks --json``."""
        return {
            "id": self.id,
            "suite": self.suite,
            "app": self.app,
            "oracle_length": self.oracle_length,
            "max_steps": self.max_steps,
            "description": self.description,
        }


class AppTask(Task):
    """A task of the own suite: one :class:`~similar_gym.tasks.base.AppTemplate` on its app."""

    suite = "own"
    status_js = "() => window.SIM.getState()"

    def __init__(self, template: AppTemplate):
        self.template = template
        self.id = template.id
        self.app = template.app
        self.description = template.description
        self.max_steps = template.max_steps
        self.page = f"/apps/{template.app}/index.html"
        self.oracle_length = len(template.oracle(template.sample(np.random.default_rng(0))))

    def start(self, session: BrowserSession, seed: int) -> TaskInstance:
        """Draws the instance from ``seed`` and hands its data to the app page."""
        params = self.template.sample(np.random.default_rng(seed))
        self.ensure_page(session)
        session.evaluate("(d) => window.SIM.reset(d)", params.get("data", {}))
        return TaskInstance(
            task_id=self.id,
            seed=seed,
            instruction=self.template.instruction(params),
            text_slots=tuple(self.template.text_slots(params)),
            params=params,
            meta=self.template.meta(params),
        )

    def outcome(self, instance: TaskInstance, status: Any) -> Outcome:
        """Success is the template's check of the app state; reward 1 on success."""
        ok = bool(status) and self.template.check(instance.params, status)
        return Outcome(reward=1.0 if ok else 0.0, success=ok, done=ok)

    def page_state(self, session: BrowserSession) -> Any:
        """The app's own snapshot (state, scroll, focus)."""
        return session.evaluate("() => window.SIM.snapshot()")

    def restore_page(self, session: BrowserSession, instance: TaskInstance, state: Any) -> bool:
        """Restores the app's snapshot."""
        self.ensure_page(session)
        session.evaluate("(s) => window.SIM.restore(s)", state)
        return True

    def oracle(self, instance: TaskInstance) -> list[OracleStep]:
        """The template's plan for this instance."""
        return self.template.oracle(instance.params)
