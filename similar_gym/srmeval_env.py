"""SRMEval as a gymnasium environment: ``gym.make("Similar/SRMEval-v0")``.

One episode is one preference pair of an SRM pairs file (:mod:`similar_gym.srm_data`): the agent
sees the state (instruction, earlier steps, screenshot, page text) and two candidate actions
``A`` and ``B``, picks one, gets reward 1 if it picked the pair's ``chosen`` action (else 0), and
the episode ends. The mean reward over one pass is SRMEval accuracy, the number
``similar eval`` reports.

Order of play:

* Pairs are served in file order (after the ``split`` / ``types`` filters), cycling: the k-th
  episode after a seeded reset serves pair ``k mod n``.
* ``reset(seed=s)`` reseeds the env and starts the pass again at the first pair, so equal seeds
  replay equal episodes; with ``shuffle=True`` it also draws a new permutation of the pairs from
  the seed.
* ``reset(options={"index": i})`` serves pair ``i`` (of the filtered order); later resets go on
  from ``i + 1``.
* Which of ``chosen`` / ``rejected`` is shown as ``A`` is drawn from the env's ``np_random`` at
  every reset (``info["chosen_index"]`` after the step says which it was).

Observation (``Dict``): ``instruction``, ``history`` (earlier steps, one per line),
``page_text``, ``action_a``, ``action_b`` (described actions, ``click(12) on button "Buy"``) as
printable text, ``screenshot`` (``uint8`` H×W×3, resized to ``image_size``; zeros when a pair has
no image) and ``type``, the pair's preference type as an index into
:data:`~similar_gym.srm_data.PAIR_TYPES` (``H, OS, E, TR, C, total``), a ``Discrete(6)`` so that
array-only policies take it. Action: ``Discrete(2)``, 0 picks ``A``, 1 picks ``B``.

Example:
    >>> import gymnasium as gym
    >>> import similar_gym  # noqa: F401
    >>> env = gym.make("Similar/SRMEval-v0", split="heldout-templates")  # doctest: +SKIP
    >>> obs, info = env.reset(seed=0)  # doctest: +SKIP
    >>> obs["action_a"], obs["action_b"], info["type"]  # doctest: +SKIP
    ('click(7) on button "Milk"', 'click(9) on link "Help"', 'OS')
    >>> obs, reward, terminated, truncated, info = env.step(0)  # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from gymnasium import spaces

from similar_gym.records import StepContext
from similar_gym.spaces import MAX_INSTRUCTION_CHARS, sanitize, text_space
from similar_gym.srm_data import (
    PAIR_TYPES,
    SHIPPED_SRMEVAL,
    image_bytes,
    pair_contexts,
    read_pairs,
)

#: Screenshot size ``(height, width)`` when the data's images differ in size or there are none
#: (the default screenshot of ``Similar/Web-v0``).
DEFAULT_IMAGE_SIZE: tuple[int, int] = (480, 640)
#: Longest ``history`` text (earlier steps beyond it are cut from the front).
MAX_HISTORY_CHARS = 4000
#: Longest described action.
MAX_ACTION_CHARS = 1000
#: Decoded screenshots kept in memory (pairs of one state share a screenshot).
_IMAGE_CACHE_SIZE = 32


class SRMEvalEnv(gym.Env[dict[str, Any], np.int64]):
    """Pick the better of two candidate actions; one preference pair per episode.

    See the module docstring for the order of play, the observation and the action.

    Args:
        path: An SRM pairs file (Parquet or the paper's CSV) or a folder holding
            ``pairs.parquet``; default the shipped SRMEval file
            (:data:`~similar_gym.srm_data.SHIPPED_SRMEVAL`).
        split: Only pairs of this split (or these splits).
        types: Only pairs of these preference types (``"H"``, ..., ``"total"``).
        image_size: ``(height, width)`` the screenshots are resized to; default the size of the
            data's images when they all share one, else :data:`DEFAULT_IMAGE_SIZE`.
        shuffle: Serve the pairs in a random order drawn at each seeded reset instead of file
            order.
        page_text_max_chars: Longest page text view.
        render_mode: ``None`` or ``"rgb_array"`` (the screenshot).

    Raises:
        FileNotFoundError: The pairs file does not exist.
        ValueError: The file is unreadable, or the filters leave no pair.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 1}

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        split: str | Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        image_size: tuple[int, int] | None = None,
        shuffle: bool = False,
        page_text_max_chars: int = 6000,
        render_mode: str | None = None,
    ):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.path = SHIPPED_SRMEVAL if path is None else path
        if path is None and not SHIPPED_SRMEVAL.is_file():
            raise FileNotFoundError(
                f"the shipped SRMEval file {SHIPPED_SRMEVAL} does not exist yet; "
                "pass path= to an SRM pairs file"
            )
        table = read_pairs(self.path)
        n_all = table.num_rows
        if split is not None:
            splits = [split] if isinstance(split, str) else list(split)
            table = table.filter(pc.is_in(table.column("split"), pa.array(splits, pa.string())))
        if types is not None:
            unknown = sorted(set(types) - set(PAIR_TYPES))
            if unknown:
                raise ValueError(f"unknown pair type(s) {unknown}; expected {PAIR_TYPES}")
            table = table.filter(pc.is_in(table.column("type"), pa.array(list(types))))
        if table.num_rows == 0:
            raise ValueError(
                f"{self.path}: no pair left of {n_all} (split={split!r}, types={types!r})"
            )
        self.split = split
        self.types = None if types is None else tuple(types)
        self.shuffle = shuffle
        self.page_text_max_chars = page_text_max_chars
        self.render_mode = render_mode
        self._table = table
        self._rows: list[dict[str, Any]] = table.drop_columns(["image"]).to_pylist()
        self._images = table.column("image")
        self.image_size: tuple[int, int] = (
            tuple(image_size) if image_size is not None else self._common_size()  # type: ignore[assignment]
        )
        h, w = self.image_size
        self.observation_space = spaces.Dict(
            {
                "instruction": text_space(MAX_INSTRUCTION_CHARS),
                "history": text_space(MAX_HISTORY_CHARS),
                "page_text": text_space(page_text_max_chars),
                "screenshot": spaces.Box(0, 255, shape=(h, w, 3), dtype=np.uint8),
                "action_a": text_space(MAX_ACTION_CHARS),
                "action_b": text_space(MAX_ACTION_CHARS),
                "type": spaces.Discrete(len(PAIR_TYPES)),
            }
        )
        self.action_space = spaces.Discrete(2)
        self._order = np.arange(len(self._rows))
        self._next = 0
        self._current: int | None = None
        self._chosen_index = 0
        self._done = True
        self._screenshot: np.ndarray | None = None
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()

    # ------------------------------------------------------------------------------ public

    @property
    def num_pairs(self) -> int:
        """Number of pairs served (after the filters)."""
        return len(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def table(self) -> pa.Table:
        """The served pairs (:data:`~similar_gym.srm_data.SRM_PAIR_SCHEMA`), in file order."""
        return self._table

    def pair(self, index: int) -> dict[str, Any]:
        """Returns pair ``index`` (file order after the filters) as a row dict, image included."""
        return {**self._rows[index], "image": self._images[index].as_py()}

    def candidate_contexts(self) -> tuple[StepContext, StepContext]:
        """Returns the current episode's candidates ``(A, B)`` as contexts for a scorer.

        The screenshot is the original image bytes, not the resized observation.

        Raises:
            RuntimeError: Before the first reset.
        """
        if self._current is None:
            raise RuntimeError("call reset() first")
        chosen, rejected = pair_contexts(self.pair(self._current))
        return (chosen, rejected) if self._chosen_index == 0 else (rejected, chosen)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Starts the episode of the next pair (see the module docstring for the order).

        Args:
            seed: Reseeds the A/B draws (and the shuffle) and restarts at the first pair.
            options: ``{"index": i}`` serves pair ``i`` of the filtered file order.

        Returns:
            The observation and ``info`` (``pair_id``, ``index``, ``type``, ``split``,
            ``task``).
        """
        super().reset(seed=seed)
        if seed is not None:
            self._next = 0
            if self.shuffle:
                self._order = self.np_random.permutation(len(self._rows))
        if options and options.get("index") is not None:
            index = int(options["index"])
            if not 0 <= index < len(self._rows):
                raise IndexError(f"pair index {index} out of range [0, {len(self._rows)})")
            pos = int(np.flatnonzero(self._order == index)[0])
        else:
            pos = self._next % len(self._rows)
            index = int(self._order[pos])
        self._next = pos + 1
        self._current = index
        self._chosen_index = int(self.np_random.integers(2))
        self._done = False
        self._screenshot = self._load_image(index)
        return self._last_obs(), self._info(index)

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Picks ``A`` (0) or ``B`` (1); reward 1 for the chosen action, and the episode ends.

        Returns:
            The unchanged observation, the reward, ``terminated=True``, ``truncated=False`` and
            ``info`` with ``correct`` and ``chosen_index`` (which of A/B was ``chosen``) added.

        Raises:
            RuntimeError: Without a running episode (before reset, or after the step).
            ValueError: The action is not 0 or 1.
        """
        if self._done or self._current is None:
            raise RuntimeError("the episode is over (one step per pair); call reset()")
        pick = int(action)
        if pick not in (0, 1):
            raise ValueError(f"action must be 0 (A) or 1 (B), got {action!r}")
        self._done = True
        correct = pick == self._chosen_index
        info = {**self._info(self._current), "correct": correct, "chosen_index": self._chosen_index}
        return self._last_obs(), float(correct), True, False, info

    def render(self) -> np.ndarray | None:
        """Returns the current screenshot (``render_mode="rgb_array"``), else ``None``."""
        if self.render_mode != "rgb_array" or self._screenshot is None:
            return None
        return self._screenshot.copy()

    # ----------------------------------------------------------------------------- helpers

    def _info(self, index: int) -> dict[str, Any]:
        row = self._rows[index]
        return {
            "pair_id": row["id"],
            "index": index,
            "type": row["type"],
            "split": row["split"],
            "task": row["task"],
        }

    def _last_obs(self) -> dict[str, Any]:
        assert self._current is not None
        # A/B as drawn at reset.
        row = self._rows[self._current]
        chosen, rejected = row["chosen"], row["rejected"]
        a, b = (chosen, rejected) if self._chosen_index == 0 else (rejected, chosen)
        return {
            "instruction": sanitize(row["instruction"] or "", MAX_INSTRUCTION_CHARS),
            "history": _tail(sanitize("\n".join(row["reason_steps"] or ()), 10**9)),
            "page_text": sanitize(row["page_text"] or "", self.page_text_max_chars),
            "screenshot": self._screenshot.copy(),
            "action_a": sanitize(a, MAX_ACTION_CHARS),
            "action_b": sanitize(b, MAX_ACTION_CHARS),
            "type": np.int64(PAIR_TYPES.index(row["type"])),
        }

    def _image_bytes(self, index: int) -> bytes | None:
        return image_bytes(self._images[index].as_py())

    def _common_size(self) -> tuple[int, int]:
        from PIL import Image

        sizes: set[tuple[int, int]] = set()
        seen: set[int] = set()
        for i in range(len(self._rows)):
            data = self._image_bytes(i)
            if data is None:
                continue
            key = hash(data)
            if key in seen:
                continue
            seen.add(key)
            try:
                with Image.open(io.BytesIO(data)) as im:
                    sizes.add((im.height, im.width))
            except OSError:
                continue
            if len(sizes) > 1:
                return DEFAULT_IMAGE_SIZE
        return sizes.pop() if len(sizes) == 1 else DEFAULT_IMAGE_SIZE

    def _load_image(self, index: int) -> np.ndarray:
        h, w = self.image_size
        data = self._image_bytes(index)
        if data is None:
            return np.zeros((h, w, 3), dtype=np.uint8)
        cached = self._cache.get(data)
        if cached is not None:
            self._cache.move_to_end(data)
            return cached
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as im:
                im = im.convert("RGB")
                if im.size != (w, h):
                    im = im.resize((w, h), Image.Resampling.BILINEAR)
                arr = np.asarray(im, dtype=np.uint8).copy()
        except OSError:
            arr = np.zeros((h, w, 3), dtype=np.uint8)
        arr.setflags(write=False)
        self._cache[data] = arr
        if len(self._cache) > _IMAGE_CACHE_SIZE:
            self._cache.popitem(last=False)
        return arr


def _tail(text: str) -> str:
    return text if len(text) <= MAX_HISTORY_CHARS else text[-MAX_HISTORY_CHARS:]
