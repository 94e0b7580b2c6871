"""Command-line options from config dataclasses: one option per field, with its help text."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any


def add_config_arguments(
    parser: argparse.ArgumentParser, cls: type, title: str, skip: set[str] | frozenset = frozenset()
) -> None:
    """Adds ``--field-name`` for every field of the dataclass ``cls`` (default: not given).

    Args:
        parser: The parser to add to.
        cls: The config dataclass.
        title: Title of the option group.
        skip: Field names to leave out (options another group already added).
    """
    group = parser.add_argument_group(title)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        helptext = f"{f.metadata.get('help', '')} (default: {shown})".replace("%", "%%")
        if isinstance(default, bool):
            group.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=helptext
            )
        elif isinstance(default, tuple):
            kind = int if default and isinstance(default[0], int) else str
            group.add_argument(flag, nargs="+", type=kind, default=None, help=helptext)
        else:
            group.add_argument(flag, type=type(default), default=None, help=helptext)


def given_fields(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """Returns the fields of ``cls`` that were given on the command line."""
    return {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(cls)
        if getattr(args, f.name, None) is not None
    }
