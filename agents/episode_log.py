"""Per-episode logging shared by the trainers: TensorBoard ``charts/*`` and ``episodes.jsonl``.

CleanRL's names: ``charts/episodic_return``, ``charts/episodic_length`` and
``charts/success_rate`` (success share of the last ``window`` episodes), each at the global env
step the episode ended. ``episodes.jsonl`` keeps one line per episode (step, return, length,
success), which the studies turn into success-against-steps curves; it survives a resume.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

from similar_gym.files import write_text_atomic


class EpisodeLogger:
    """Writes every finished episode to TensorBoard and to ``out/episodes.jsonl``.

    Args:
        out: The run folder (``tensorboard/`` and ``episodes.jsonl`` go inside).
        window: Episodes in the running success rate.
        writer: A ``SummaryWriter`` to share; default one in ``out/tensorboard``.
    """

    def __init__(self, out: str | Path, window: int = 20, writer: Any = None):
        from torch.utils.tensorboard import SummaryWriter

        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.path = self.out / "episodes.jsonl"
        self.writer = writer or SummaryWriter(str(self.out / "tensorboard"))
        self.recent: deque[float] = deque(maxlen=window)
        self.episodes = 0
        if self.path.exists():
            for row in load_episodes(self.path):
                self.recent.append(float(row["success"]))
                self.episodes += 1

    def log(self, step: int, episodic_return: float, length: int, success: bool, **extra: Any):
        """Records one finished episode that ended at global env step ``step``."""
        self.recent.append(float(success))
        self.episodes += 1
        rate = sum(self.recent) / len(self.recent)
        self.writer.add_scalar("charts/episodic_return", episodic_return, step)
        self.writer.add_scalar("charts/episodic_length", length, step)
        self.writer.add_scalar("charts/success_rate", rate, step)
        row = {
            "step": int(step),
            "return": float(episodic_return),
            "length": int(length),
            "success": bool(success),
            **extra,
        }
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")

    @property
    def success_rate(self) -> float:
        """Success share of the last ``window`` episodes (0 before any)."""
        return sum(self.recent) / len(self.recent) if self.recent else 0.0

    def close(self) -> None:
        """Flushes and closes the TensorBoard writer."""
        self.writer.close()


def load_episodes(path: str | Path) -> list[dict[str, Any]]:
    """Reads an ``episodes.jsonl``; a torn last line (an interrupted write) is skipped."""
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def truncate_episodes(path: str | Path, max_step: int) -> None:
    """Drops the episodes that ended after ``max_step`` (the steps a resumed run redoes)."""
    path = Path(path)
    if path.exists():
        keep = [r for r in load_episodes(path) if r["step"] <= max_step]
        write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in keep))
