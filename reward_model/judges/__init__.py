"""Judges of the two binary dimensions: task relevance (``TR``) and coherence (``C``).

MCTS-P asks a judge, for every candidate action, whether the action is about the task at all
(``TR``) and whether it follows sensibly from the earlier ones (``C``). Four judges share one
batched interface, :meth:`Judge.judge`:

* :class:`OracleJudge` (``"oracle"``) reads the own suite's :class:`~similar_gym.tasks.TaskMeta`:
  exact for the tasks that have it.
* :class:`EmbeddingJudge` (``"embedding"``) compares the instruction with the target element by
  sentence embeddings (all-MiniLM-L6-v2, offline): for tasks without metadata.
* :class:`AutoJudge` (``"auto"``) uses the oracle where there is metadata, else embeddings.
* :class:`LLMJudge` (``"llm"``) asks a vision-language model behind an OpenAI-compatible
  chat-completions endpoint, with the screenshot, and can fall back to another judge.

The oracle and embedding judges share one rule set for coherence, :func:`coherence_rules`.

>>> from similar_gym.records import StepContext
>>> from similar_gym.tasks import TaskMeta
>>> ctx = StepContext("Send the mail.", (), None, "", "click(3)", 'button "Send"')
>>> req = JudgeRequest(ctx, {"id": 3, "role": "button", "name": "Send", "key": "send"},
...                    meta=TaskMeta(elements=("send",)))
>>> j = make_judge("oracle").judge([req])[0]
>>> (j.relevance, j.coherence)
(1, 1)
"""

from __future__ import annotations

from typing import Any

from reward_model.judges.auto import AutoJudge
from reward_model.judges.base import Judge, JudgeError, Judgement, JudgeRequest
from reward_model.judges.embedding import EmbeddingJudge, clauses
from reward_model.judges.llm import LLMJudge
from reward_model.judges.oracle import OracleJudge
from reward_model.judges.rules import coherence_rules

__all__ = [
    "AutoJudge",
    "EmbeddingJudge",
    "Judge",
    "JudgeError",
    "JudgeRequest",
    "Judgement",
    "LLMJudge",
    "OracleJudge",
    "clauses",
    "coherence_rules",
    "make_judge",
]


# ----------------------------------------------------------------------------- factory

_SPECS = ("oracle", "embedding", "auto", "llm")


def make_judge(spec: str, **kwargs: Any) -> Judge:
    """Makes a judge by name.

    Args:
        spec: ``"oracle"``, ``"embedding"``, ``"auto"`` or ``"llm"``.
        **kwargs: The judge's constructor arguments (for ``"llm"``: ``url``, ``model``,
            ``api_key``, ``timeout``, ``retries``, ``fallback``...).

    Raises:
        ValueError: For an unknown spec.
    """
    kind = spec.strip().lower()
    if kind == "oracle":
        return OracleJudge(**kwargs)
    if kind == "embedding":
        return EmbeddingJudge(**kwargs)
    if kind == "auto":
        return AutoJudge(**kwargs)
    if kind == "llm":
        return LLMJudge(**kwargs)
    raise ValueError(f"unknown judge {spec!r}; expected one of {', '.join(_SPECS)}")
