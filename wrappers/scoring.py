"""Scoring a step while the env executes it: in a background thread or in a child process.

A step's context (the observation before the action, the action, the history) is known before
the env runs the action, when the env can say what its ``info`` will report about the action
(``WebEnv.action_info``, or an adapter's ``preview``). The wrappers then start scoring first and
step the env meanwhile; after the step, :meth:`EarlyScorer.settle` checks the guess against the
real ``info`` and rescores only a wrong guess, so the rewards are those of scoring after the step.

Where the early scoring runs:

* ``"thread"``: a thread of this process. It works with any model object, but the model's Python
  code competes with the env's for the interpreter lock: on 2 cores a Similar/Web-v0 step took
  1.6–1.8× the bare step this way.
* ``"process"``: :class:`ScoringProcess`, a child process that loads the same checkpoint (so only
  for models given by name or folder) and scores on one thread. Nothing is shared but a pipe.

Example:
    >>> from similar_gym.records import StepContext
    >>> from wrappers.scoring import ScoringProcess
    >>> scorer = ScoringProcess("default", dtype="float32")
    >>> ctx = StepContext("Buy boots", (), None, '[1] button "Buy"', "click(1)", 'button "Buy"')
    >>> sorted(scorer.score([ctx]))
    ['C', 'E', 'H', 'OS', 'TR', 'reward', 'total']
    >>> scorer.close()
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from similar_gym.records import StepContext

_MISSING = object()

#: How a wrapper may overlap scoring with the env's step (``overlap=`` of the wrappers).
OVERLAP_MODES: tuple[str, ...] = ("thread", "process")

#: Whether :class:`ScoringProcess` can run here: it hands pipe descriptors to the child
#: (``pass_fds``), which only POSIX systems do. Elsewhere ``overlap=True`` scores in a thread.
PROCESS_SUPPORTED: bool = os.name == "posix"


class ScoringError(RuntimeError):
    """The scoring process failed (its traceback is in the message)."""


class _Reply:
    """The pending answer of :meth:`ScoringProcess.submit` (``result()`` as a future's)."""

    def __init__(self, handle: ScoringProcess, request: int):
        self._handle = handle
        self.request = request
        self._value: dict[str, np.ndarray] | None = None

    def result(self) -> dict[str, np.ndarray]:
        if self._value is None:
            self._value = self._handle._receive(self)
        return self._value


class _Child:
    """One scoring child process and its pipes, shared by every handle onto it.

    Requests and answers carry a number, so handles may interleave them; an answer read by one
    handle for another waits in ``_stash`` until its owner asks. Locks make it safe to use from
    several threads.
    """

    def __init__(self, source: str, dtype: str | None, threads: int):
        self.source = source
        self.owner = os.getpid()
        self.handles = 0
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        args = [sys.executable, "-m", "wrappers.scoring", "--source", source]
        args += ["--dtype", str(dtype), "--threads", str(threads)]
        args += ["--fd-in", str(to_child_r), "--fd-out", str(from_child_w)]
        self.process = subprocess.Popen(
            args, pass_fds=(to_child_r, from_child_w), env=env, stdin=subprocess.DEVNULL
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        self._send_lock, self._recv_lock = threading.Lock(), threading.Lock()
        self._ready = False
        self._failed: str | None = None
        self._next = 0
        self._stash: dict[int, tuple[str, Any]] = {}

    def alive(self) -> bool:
        return self.process.poll() is None and self._failed is None

    def send(self, contexts: list[StepContext]) -> int:
        """Sends one request; returns its number."""
        self.check()
        with self._send_lock:
            self._next += 1
            request = self._next
            self._send.send((request, contexts))
        return request

    def receive(self, request: int) -> dict[str, np.ndarray]:
        """Waits for the answer to ``request``, keeping the others' answers for them."""
        while True:
            with self._recv_lock:
                if request in self._stash:
                    kind, payload = self._stash.pop(request)
                    break
                kind, number, payload = self._read()
                if number == request:
                    break
                self._stash[number] = (kind, payload)
        if kind == "error":
            raise ScoringError(f"the scoring process failed:\n{payload}")
        return payload

    def _read(self) -> tuple[str, int, Any]:
        while True:
            if self._failed is not None:
                raise ScoringError(self._failed)
            try:
                kind, number, payload = self._recv.recv()
            except (EOFError, OSError):
                code = self.process.wait()
                self._failed = (
                    f"the scoring process for {self.source!r} exited with code {code} "
                    "(its error is printed above)"
                )
                continue
            if kind == "ready":
                self._ready = True
                continue
            if number is None:  # it failed before it could answer anything: a load error
                self._failed = f"the scoring process failed:\n{payload}"
                continue
            return kind, number, payload

    def check(self) -> None:
        if self._failed is not None:
            raise ScoringError(self._failed)
        if self.process.poll() is not None:
            raise ScoringError(
                f"the scoring process for {self.source!r} has exited "
                f"(code {self.process.returncode})"
            )

    def close(self) -> None:
        """Stops the child (it finishes the request it is on)."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self._send.send(None)
        for conn in (self._send, self._recv):
            conn.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __del__(self) -> None:
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.kill()


#: The children of this process, one per (model, dtype, threads); an entry goes when its last
#: handle is closed or collected.
_CHILDREN: weakref.WeakValueDictionary[tuple[str, str | None, int], _Child] = (
    weakref.WeakValueDictionary()
)
_CHILDREN_LOCK = threading.Lock()


def _child_key(source: str | os.PathLike[str]) -> str:
    """The same model under two spellings (a relative and an absolute folder) shares a child."""
    path = Path(source)
    return str(path.resolve()) if path.exists() else str(source)


class ScoringProcess:
    """A reward model scoring in a child process, fed through a pipe.

    The child loads ``source`` itself (``SimilarRewardModel.from_pretrained``), uses ``threads``
    torch threads and answers one request at a time. It starts at once and loads while the
    caller goes on; the first answer waits for the load. Every ``ScoringProcess`` of one
    process for the same ``(source, dtype, threads)`` is a handle onto one child (so several
    wrappers given ``model="default"`` load it once more, not once each); the child exits when
    its last handle is closed or collected, or when this process ends (the pipe closes). A
    process forked from this one starts its own.

    Args:
        source: ``"default"`` or a checkpoint folder.
        dtype: The dtype it scores in (``from_pretrained``'s ``dtype``).
        threads: Torch threads of the child; 1 leaves the other core to the env's browser.

    Raises:
        OSError: On a system that is not POSIX (see :data:`PROCESS_SUPPORTED`).
        ScoringError: On the first answer, if the child failed to load the model or died.
    """

    def __init__(self, source: str | os.PathLike[str], dtype: str | None = None, threads: int = 1):
        if not PROCESS_SUPPORTED:
            raise OSError(
                "ScoringProcess passes pipe descriptors to its child, which needs a POSIX "
                f"system (this is {os.name!r}); score in a thread instead (overlap='thread')"
            )
        self.source, self.dtype, self.threads = str(source), dtype, threads
        key = (_child_key(source), dtype, threads)
        with _CHILDREN_LOCK:
            child = _CHILDREN.get(key)
            if child is None or child.owner != os.getpid() or not child.alive():
                child = _Child(self.source, dtype, threads)
                _CHILDREN[key] = child
            child.handles += 1
        self._child: _Child | None = child
        self._pending: _Reply | None = None

    @property
    def child(self) -> subprocess.Popen:
        """The child process (shared with the other handles onto it)."""
        return self._live().process

    def _live(self) -> _Child:
        if self._child is None:
            raise ScoringError("this ScoringProcess is closed")
        return self._child

    def submit(self, contexts: list[StepContext]) -> _Reply:
        """Sends ``contexts`` to be scored; ``.result()`` of the reply waits for the scores."""
        if self._pending is not None:  # one request of this handle in flight at a time
            self._pending.result()
        request = self._live().send([replace(c, extras={}) for c in contexts])
        self._pending = _Reply(self, request)
        return self._pending

    def score(self, contexts: list[StepContext]) -> dict[str, np.ndarray]:
        """Scores ``contexts`` and waits: the model's ``score`` output."""
        return self.submit(contexts).result()

    def _receive(self, reply: _Reply) -> dict[str, np.ndarray]:
        if reply is not self._pending:
            raise RuntimeError("a newer request replaced this one before its result was read")
        try:
            return self._live().receive(reply.request)
        finally:
            self._pending = None

    def close(self) -> None:
        """Lets go of the child; the last handle to close stops it (after its current request)."""
        child, self._child = self._child, None
        if child is None:
            return
        if self._pending is not None:  # read this handle's answer so no one waits for it
            with contextlib.suppress(ScoringError, OSError):
                child.receive(self._pending.request)
            self._pending = None
        with _CHILDREN_LOCK:
            child.handles -= 1
            last = child.handles <= 0
            if last:
                for key, value in list(_CHILDREN.items()):
                    if value is child:
                        del _CHILDREN[key]
        if last:
            child.close()


class EarlyScorer:
    """Scores steps while the env executes them, from guessed contexts checked afterwards.

    Args:
        model: The model object (``score``); the thread backend scores with it.
        process: A :class:`ScoringProcess` to score in instead of a thread of this process.
    """

    def __init__(self, model: Any, process: ScoringProcess | None = None):
        self.model = model
        self.process = process
        self._pool = (
            None if process else ThreadPoolExecutor(max_workers=1, thread_name_prefix="similar")
        )
        self._prefetched: list[tuple[Any, Any]] = []

    def score(self, contexts: list[StepContext]) -> dict[str, np.ndarray]:
        """Scores ``contexts`` now, where early scores are made (the same numbers)."""
        if self.process is not None:
            return self.process.score(self._shrunk(contexts))
        return self.model.score(contexts)

    def prefetch(self, screenshots: Sequence[Any]) -> None:
        """Shrinks the screenshots the next steps will show, ahead of time (process only).

        Wrappers call it right after the env's step, while the process is still scoring that
        step; the next :meth:`submit` then sends these without resizing them on its way.
        """
        shrink = getattr(self.model, "shrink", None)
        if self.process is None or not callable(shrink):
            return
        self._prefetched = [
            (shot, shrink(StepContext("", (), shot, "", "")).screenshot)
            for shot in screenshots
            if shot is not None
        ]

    def _shrunk(self, contexts: list[StepContext]) -> list[StepContext]:
        """What to send the process: contexts cut to what the model reads, when it can say."""
        shrink = getattr(self.model, "shrink", None)
        if not callable(shrink):
            return contexts
        out = []
        for c in contexts:
            small = next((s for shot, s in self._prefetched if shot is c.screenshot), _MISSING)
            out.append(shrink(c) if small is _MISSING else replace(c, screenshot=small, extras={}))
        return out

    def submit(self, contexts: list[StepContext]) -> tuple[list[StepContext], Any]:
        """Starts scoring ``contexts``; pass the result to :meth:`settle`."""
        if self.process is not None:
            return contexts, self.process.submit(self._shrunk(contexts))
        assert self._pool is not None
        future: Future = self._pool.submit(self.model.score, contexts)
        return contexts, future

    def settle(
        self, early: tuple[list[StepContext], Any], contexts: list[StepContext]
    ) -> dict[str, np.ndarray]:
        """The scores of ``contexts``: the early ones if the steps are the same, else fresh."""
        guessed, pending = early
        scores = pending.result()  # also when unused: one model call at a time
        same = len(guessed) == len(contexts) and all(
            (g.action, g.target) == (c.action, c.target)
            for g, c in zip(guessed, contexts, strict=True)
        )
        return scores if same else self.score(contexts)

    def close(self) -> None:
        """Stops the thread or the process."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self.process is not None:
            self.process.close()


def check_overlap(overlap: Any) -> None:
    """Raises ``ValueError`` unless ``overlap`` is True, False, ``"thread"`` or ``"process"``."""
    if overlap is not True and overlap is not False and overlap not in OVERLAP_MODES:
        raise ValueError(f"overlap must be True, False or one of {OVERLAP_MODES}, got {overlap!r}")


def early_scorer(overlap: bool | str, model: Any, source: Any, dtype: str | None) -> EarlyScorer:
    """The early scorer a wrapper's ``overlap`` asks for.

    Args:
        overlap: ``True`` (a process when the model was given by name or folder and the system
            is POSIX, else a thread), ``"thread"`` or ``"process"``.
        model: The loaded model.
        source: What the user passed as the model (a name, a folder or a model object).
        dtype: The dtype the model was loaded in.

    Raises:
        ValueError: For an unknown mode, or ``"process"`` with a model object or on a system
            that is not POSIX.
    """
    check_overlap(overlap)
    named = isinstance(source, str | os.PathLike)
    if overlap == "process" and not named:
        raise ValueError(
            "overlap='process' loads the model again in a child process: pass the model by "
            "name or folder (model='default'), or use overlap='thread' for a model object"
        )
    if overlap == "process" and not PROCESS_SUPPORTED:
        raise ValueError(
            f"overlap='process' needs a POSIX system (this is {os.name!r}); use overlap=True "
            "or 'thread'"
        )
    if overlap == "thread" or not named or not PROCESS_SUPPORTED:
        return EarlyScorer(model)
    return EarlyScorer(model, ScoringProcess(source, dtype))


def _serve(source: str, dtype: str | None, threads: int, conn_in: Connection, out: Connection):
    """The child's loop: load, say ready, then answer each numbered request until ``None``."""
    import traceback

    try:
        import torch

        torch.set_num_threads(threads)
        from reward_model.modeling import SimilarRewardModel

        model = SimilarRewardModel.from_pretrained(source, dtype=dtype)
    except Exception:
        out.send(("error", None, traceback.format_exc()))
        return
    out.send(("ready", None, None))
    while True:
        try:
            message = conn_in.recv()
        except EOFError:
            return
        if message is None:
            return
        request, contexts = message
        try:
            scores: Mapping[str, np.ndarray] = model.score(contexts)
            out.send(("scores", request, dict(scores)))
        except Exception:
            out.send(("error", request, traceback.format_exc()))


def main(argv: list[str] | None = None) -> int:
    """The child process's entry point (``python -m wrappers.scoring``); not for users."""
    parser = argparse.ArgumentParser(prog="python -m wrappers.scoring")
    parser.add_argument("--source", required=True)
    parser.add_argument("--dtype", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--fd-in", type=int, required=True)
    parser.add_argument("--fd-out", type=int, required=True)
    args = parser.parse_args(argv)
    dtype = None if args.dtype == "None" else args.dtype
    conn_in = Connection(args.fd_in, writable=False)
    out = Connection(args.fd_out, readable=False)
    _serve(args.source, dtype, args.threads, conn_in, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
