"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Studies, collectors and trainers resume from what they wrote before, and several processes may
share one output folder (two study processes with different ``--rewards``). Each write goes to
a temporary file with a name unique to the writer, in the target's folder, and is then moved
over the target with :func:`os.replace`, which is atomic on POSIX and Windows.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_text_atomic(folder / "settings.json", '{"seed": 0}')
>>> (folder / "settings.json").read_text()
'{"seed": 0}'
>>> sorted(p.name for p in folder.iterdir())  # no temporary file is left behind
['settings.json']
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path to write; on success it replaces ``path``, on error it is removed.

    The temporary file lies in ``path``'s folder (made if missing), so the final move never
    crosses file systems, and its name is unique, so concurrent writers never share it.

    Args:
        path: The file to create or replace.

    Example::

        with atomic_path(out / "table.parquet") as tmp:
            pq.write_table(table, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its files are private (0600); the writer creates this one under the umask.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Writes ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
