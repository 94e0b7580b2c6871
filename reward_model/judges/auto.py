"""The auto judge: the oracle where there is task metadata, embeddings elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reward_model.judges.base import Judge, Judgement, JudgeRequest
from reward_model.judges.embedding import EmbeddingJudge
from reward_model.judges.oracle import OracleJudge

# ------------------------------------------------------------------------------- auto


class AutoJudge(Judge):
    """The oracle for requests with task metadata, embeddings for the others.

    Args:
        oracle: The judge for requests with metadata (a new :class:`OracleJudge` if ``None``).
        embedding: The judge for the rest (a new :class:`EmbeddingJudge` if ``None``, made
            with ``embedding_kwargs`` and only when first needed).
        **embedding_kwargs: Arguments of :class:`EmbeddingJudge` (``threshold``,
            ``model_path``...).
    """

    name = "auto"

    def __init__(
        self,
        oracle: Judge | None = None,
        embedding: Judge | None = None,
        **embedding_kwargs: Any,
    ) -> None:
        self.oracle = oracle or OracleJudge()
        self._embedding = embedding
        self._embedding_kwargs = embedding_kwargs

    @property
    def embedding(self) -> Judge:
        """The judge for requests without metadata."""
        if self._embedding is None:
            self._embedding = EmbeddingJudge(**self._embedding_kwargs)
        return self._embedding

    def judge(self, requests: Sequence[JudgeRequest]) -> list[Judgement]:
        """Judges a batch: one call to each judge, results in request order."""
        with_meta = [i for i, r in enumerate(requests) if r.meta is not None]
        without = [i for i, r in enumerate(requests) if r.meta is None]
        results: list[Judgement | None] = [None] * len(requests)
        for idx, judge in ((with_meta, self.oracle), (without, None)):
            if not idx:
                continue
            judge = judge or self.embedding
            for i, j in zip(idx, judge.judge([requests[i] for i in idx]), strict=True):
                results[i] = j
        return [r for r in results if r is not None]
