"""What the ``similar bench`` commands share: count options, the dtype option, the JSON report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def positive_int(text: str) -> int:
    """``argparse`` type for counts that must be at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """``argparse`` type for counts that may be 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def emit_report(report: dict[str, Any], out: str | None, as_json: bool) -> bool:
    """Writes ``report`` as JSON to ``out`` (if given) and prints it when ``as_json``.

    Returns:
        Whether the report was printed (the caller prints its human-readable form otherwise).
    """
    text = json.dumps(report, indent=2)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n", encoding="utf-8")
    if as_json:
        print(text)
    return as_json


def add_dtype_argument(parser: argparse.ArgumentParser, default: str, whose: str) -> None:
    """Adds ``--dtype``: the dtype the reward model scores in (``resolve_dtype``'s names).

    Args:
        parser: The bench's parser.
        default: The default, the dtype of what the bench stands for.
        whose: Who scores in that dtype by default, for the help text.
    """
    parser.add_argument(
        "--dtype",
        default=default,
        choices=("auto", "float32", "bfloat16"),
        help=f"dtype the model scores in; auto = bfloat16 on CPUs that do it natively "
        f"(default: %(default)s, as {whose})",
    )


def dtype_name(model: Any) -> str:
    """The dtype a loaded reward model scores in (``"bfloat16"``)."""
    return str(model.dtype).removeprefix("torch.")
