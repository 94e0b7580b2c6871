"""What the ``similar bench`` commands share: a positive-integer option, the JSON report."""

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
