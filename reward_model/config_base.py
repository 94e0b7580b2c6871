"""What every config dataclass of ``reward_model`` shares: help text on fields, JSON files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, TypeVar

from similar_gym.files import write_text_atomic

T = TypeVar("T", bound="JsonConfig")


def help_field(default: Any, help: str) -> Any:
    """A dataclass field with an immutable default and its help text (``metadata["help"]``)."""
    return dataclasses.field(default=default, metadata={"help": help})


class JsonConfig:
    """Mixin for config dataclasses stored as JSON (sequences: tuples in Python, lists in JSON)."""

    def to_dict(self) -> dict[str, Any]:
        """Returns the config as a JSON-able dict."""
        return json.loads(json.dumps(dataclasses.asdict(self)))  # type: ignore[call-overload]

    def save(self, path: str | Path) -> None:
        """Writes the config as JSON, atomically (a reader never sees half a file)."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_dict(cls: type[T], data: Any, where: str = "config") -> T:
        """Builds the config from a dict; unknown fields are an error.

        Raises:
            ValueError: If ``data`` is not a dict or has fields the config does not know.
        """
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"{where}: unknown {cls.__name__} field(s) {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def load(cls: type[T], path: str | Path) -> T:
        """Reads a config written by :meth:`save`.

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If it is not JSON or has unknown fields.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such config file")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        return cls.from_dict(data, str(path))
