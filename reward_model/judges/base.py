"""The judge contract: requests, judgements, the batched :class:`Judge` interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from similar_gym.records import StepContext
from similar_gym.tasks.base import TaskMeta


class JudgeError(RuntimeError):
    """A judge could not produce a judgement (an LLM endpoint failed or kept answering badly)."""


@dataclass(frozen=True)
class JudgeRequest:
    """One action to judge, with what the judges need beyond its :class:`StepContext`.

    Attributes:
        context: The step: instruction, described history, screen, page text, action.
        target: The element the action names (an entry of ``WebEnv.elements``), or ``None``.
        history_actions: Earlier actions in grammar text, oldest first. When empty, the judges
            read them back from ``context.history`` (``click(12) on button "Buy"``).
        history_targets: The elements the earlier actions named, in the same order (``None``
            where there was none or it is unknown).
        meta: The own suite's task metadata; ``None`` for MiniWoB++ and foreign envs.
    """

    context: StepContext
    target: dict | None = None
    history_actions: tuple[str, ...] = ()
    history_targets: tuple[dict | None, ...] = ()
    meta: TaskMeta | None = None


@dataclass(frozen=True)
class Judgement:
    """A judge's verdict on one action.

    Attributes:
        relevance: Task relevance ``TR``, 0 or 1.
        coherence: Coherence ``C``, 0 or 1.
        reason: Why, in a few words.
        judge: Name of the judge that produced it.
    """

    relevance: int
    coherence: int
    reason: str = ""
    judge: str = ""


class Judge(ABC):
    """Judges task relevance and coherence of candidate actions, in batches.

    Attributes:
        name: Short name of the judge (the spec :func:`make_judge` knows it by).
    """

    name: str = "judge"

    @abstractmethod
    def judge(self, requests: Sequence[JudgeRequest]) -> list[Judgement]:
        """Judges a batch of actions.

        Args:
            requests: The actions to judge, with their contexts.

        Returns:
            One :class:`Judgement` per request, in order.
        """

    def judge_one(self, request: JudgeRequest) -> Judgement:
        """Judges a single action (a batch of one)."""
        return self.judge([request])[0]
