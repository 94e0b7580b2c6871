"""The oracle judge: task relevance and coherence from the own suite's task metadata."""

from __future__ import annotations

from collections.abc import Sequence

from reward_model.judges.base import Judge, Judgement, JudgeRequest
from reward_model.judges.rules import (
    _TOGGLE_ROLES,
    _current_step,
    _history_steps,
    _norm,
    coherence_rules,
)
from similar_gym.tasks.base import TaskMeta

# ---------------------------------------------------------------------------- the oracle

_TRUE = ("checked", "true", "on", "yes", "1")
_FALSE = ("unchecked", "false", "off", "no", "0")


class OracleJudge(Judge):
    """Judges from the own suite's task metadata (exact where the metadata is).

    ``TR = 1`` when the element's data-key is one the goal needs (``meta.elements`` or
    ``meta.fields``), also for a fill or select with a wrong value into such a field;
    ``press("Enter")`` is relevant right after a fill or ``type`` into a relevant element, and
    ``type`` right after acting on one. ``scroll``, ``noop``, ``hover``, coordinate actions,
    other keys, distractors and unrelated elements get ``TR = 0``. A key that is both needed
    and listed as a distractor counts as needed.

    ``C`` follows :func:`coherence_rules`, and is also 0 for a fill or select that puts a value
    other than the required one into a field of ``meta.fields``, and for a click on a
    checkbox or switch of ``meta.fields`` already in its required state (it would undo it).
    """

    name = "oracle"

    def judge(self, requests: Sequence[JudgeRequest]) -> list[Judgement]:
        """Judges a batch; every request needs ``meta``.

        Raises:
            ValueError: If a request has no task metadata.
        """
        out = []
        for i, req in enumerate(requests):
            if req.meta is None:
                raise ValueError(
                    f"OracleJudge needs task metadata (JudgeRequest.meta), request {i} has none; "
                    "use the 'embedding' or 'auto' judge for tasks without it"
                )
            out.append(self._judge(req, req.meta))
        return out

    def _judge(self, req: JudgeRequest, meta: TaskMeta) -> Judgement:
        relevance, why_r = self.relevance(req, meta)
        coherence, why_c = coherence_rules(req)
        if coherence:
            coherence, why_c = self._goal_coherence(req, meta, why_c)
        return Judgement(relevance, coherence, f"TR: {why_r}; C: {why_c}", self.name)

    @staticmethod
    def relevance(req: JudgeRequest, meta: TaskMeta) -> tuple[int, str]:
        """Returns ``(TR, reason)`` of one request from the metadata."""
        step = _current_step(req)
        if step.action is None:
            return 0, "the action does not parse"
        needed = set(meta.elements) | set(meta.fields)
        verb = step.verb
        if verb in ("press", "type"):
            history = _history_steps(req)
            prev = history[-1] if history else None
            if prev is None or prev.key not in needed:
                return 0, f"{verb} not right after acting on an element of the goal"
            if verb == "type" or (step.action.text == "Enter" and prev.verb in ("fill", "type")):
                return 1, f"{verb} right after acting on {prev.key!r}"
            return 0, f"press({step.action.text!r}) does not serve the goal"
        if verb in ("noop", "scroll", "hover", "click_at", "drag"):
            return 0, f"{verb} does not serve the goal"
        key = step.key
        if key is None:
            return 0, "the element has no data-key the goal names"
        if key in needed:
            return 1, f"{key!r} is an element of the goal"
        if key in meta.distractors:
            return 0, f"{key!r} is a distractor"
        return 0, f"{key!r} is not an element of the goal"

    @staticmethod
    def _goal_coherence(req: JudgeRequest, meta: TaskMeta, why: str) -> tuple[int, str]:
        step = _current_step(req)
        key = step.key
        if key is None or key not in meta.fields or step.action is None:
            return 1, why
        want = _norm(meta.fields[key])
        if step.verb in ("fill", "select") and _norm(step.action.text) != want:
            return 0, f"sets {key!r} to {step.action.text!r}, the goal wants {want!r}"
        checked = (step.element or {}).get("checked")
        if step.verb == "click" and step.role in _TOGGLE_ROLES and checked is not None:
            state = True if want.lower() in _TRUE else False if want.lower() in _FALSE else None
            if state is not None and bool(checked) == state:
                return 0, f"{key!r} is already {want!r}; clicking undoes it"
        return 1, why
