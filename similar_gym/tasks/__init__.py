"""The task registry: the own suite (4 web apps) and MiniWoB++.

>>> from similar_gym.tasks import get_task, list_tasks
>>> get_task("miniwob/click-test").suite
'miniwob'
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Sequence

from similar_gym.tasks.base import AppTemplate, OracleStep, TaskMeta
from similar_gym.tasks.miniwob import MiniWoBTask, miniwob_task_names
from similar_gym.tasks.task import AppTask, Outcome, Task, TaskInstance

__all__ = [
    "AppTask",
    "AppTemplate",
    "MiniWoBTask",
    "OracleStep",
    "Outcome",
    "Task",
    "TaskInstance",
    "TaskMeta",
    "get_task",
    "list_tasks",
    "own_task_ids",
    "resolve_tasks",
]


@functools.cache
def _own_tasks() -> dict[str, Task]:
    from similar_gym.tasks import calendar_app, mail, settings, shop

    tasks: dict[str, Task] = {}
    for module in (shop, mail, calendar_app, settings):
        for template in module.TEMPLATES:
            tasks[template.id] = AppTask(template)
    return tasks


def own_task_ids() -> list[str]:
    """Returns the ids of the own suite's tasks."""
    return list(_own_tasks())


@functools.cache
def get_task(task_id: str) -> Task:
    """Returns the task with this id.

    Raises:
        KeyError: With the closest known ids, if there is no such task.
    """
    own = _own_tasks()
    if task_id in own:
        return own[task_id]
    if task_id.startswith("miniwob/") and task_id.removeprefix("miniwob/") in miniwob_task_names():
        return MiniWoBTask(task_id.removeprefix("miniwob/"))
    import difflib

    close = difflib.get_close_matches(task_id, [*own, *list_miniwob_ids()], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `similar tasks` lists them"
    raise KeyError(f"unknown task {task_id!r}{hint}")


def list_miniwob_ids() -> list[str]:
    """Returns the ids of the MiniWoB++ tasks (empty if the ``miniwob`` package is missing)."""
    return [f"miniwob/{n}" for n in miniwob_task_names()]


def list_tasks(suite: str | None = None) -> list[Task]:
    """Returns every task, optionally of one suite (``"own"`` or ``"miniwob"``)."""
    ids = [*own_task_ids(), *list_miniwob_ids()]
    tasks = [get_task(i) for i in ids]
    return [t for t in tasks if suite is None or t.suite == suite]


def resolve_tasks(spec: str | Sequence[str] | None) -> list[Task]:
    """Turns a ``task=`` argument into tasks.

    Args:
        spec: ``None`` (the whole own suite), a task id, a glob such as ``"shop/*"`` or
            ``"miniwob/click-*"``, or a list of those.

    Raises:
        KeyError: If a pattern matches nothing.
    """
    if spec is None:
        return list(_own_tasks().values())
    patterns = [spec] if isinstance(spec, str) else list(spec)
    if not patterns:
        raise KeyError("task= is an empty list")
    out: dict[str, Task] = {}
    every: list[str] | None = None
    for pattern in patterns:
        if any(c in pattern for c in "*?["):
            every = every or [*own_task_ids(), *list_miniwob_ids()]
            hits = fnmatch.filter(every, pattern)
            if not hits:
                raise KeyError(f"task pattern {pattern!r} matches no task")
            out.update((i, get_task(i)) for i in hits)
        else:
            out[pattern] = get_task(pattern)
    return list(out.values())
