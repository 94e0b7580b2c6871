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

    def __init__(self, process: ScoringProcess):
        self._process = process
        self._value: dict[str, np.ndarray] | None = None

    def result(self) -> dict[str, np.ndarray]:
        if self._value is None:
            self._value = self._process._receive(self)
        return self._value


class ScoringProcess:
    """A reward model scoring in a child process, fed through a pipe.

    The child loads ``source`` itself (``SimilarRewardModel.from_pretrained``), uses ``threads``
    torch threads and answers one request at a time. It starts at once and loads while the
    caller goes on; the first answer waits for the load. It exits when :meth:`close` is called
    or this process ends (the pipe closes).

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
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        args = [sys.executable, "-m", "wrappers.scoring", "--source", self.source]
        args += ["--dtype", str(dtype), "--threads", str(threads)]
        args += ["--fd-in", str(to_child_r), "--fd-out", str(from_child_w)]
        self._child = subprocess.Popen(
            args, pass_fds=(to_child_r, from_child_w), env=env, stdin=subprocess.DEVNULL
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        self._ready = False
        self._pending: _Reply | None = None

    def submit(self, contexts: list[StepContext]) -> _Reply:
        """Sends ``contexts`` to be scored; ``.result()`` of the reply waits for the scores."""
        if self._pending is not None:  # one request in flight at a time
            self._pending.result()
        self._check_alive()
        self._send.send([replace(c, extras={}) for c in contexts])
        self._pending = _Reply(self)
        return self._pending

    def score(self, contexts: list[StepContext]) -> dict[str, np.ndarray]:
        """Scores ``contexts`` and waits: the model's ``score`` output."""
        return self.submit(contexts).result()

    def _receive(self, reply: _Reply) -> dict[str, np.ndarray]:
        if reply is not self._pending:
            raise RuntimeError("a newer request replaced this one before its result was read")
        try:
            if not self._ready:
                self._expect("ready")
                self._ready = True
            return self._expect("scores")
        finally:
            self._pending = None

    def _expect(self, kind: str) -> Any:
        try:
            got, payload = self._recv.recv()
        except (EOFError, OSError):
            code = self._child.wait()
            raise ScoringError(
                f"the scoring process for {self.source!r} exited with code {code} "
                "(its error is printed above)"
            ) from None
        if got == "error":
            raise ScoringError(f"the scoring process failed:\n{payload}")
        if got != kind:
            raise ScoringError(f"the scoring process answered {got!r}, expected {kind!r}")
        return payload

    def _check_alive(self) -> None:
        if self._child.poll() is not None:
            raise ScoringError(
                f"the scoring process for {self.source!r} has exited "
                f"(code {self._child.returncode})"
            )

    def close(self) -> None:
        """Stops the child (it finishes the request it is on)."""
        if self._child.poll() is None:
            with contextlib.suppress(OSError):
                self._send.send(None)
        for conn in (self._send, self._recv):
            conn.close()
        try:
            self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()

    def __del__(self) -> None:
        child = getattr(self, "_child", None)
        if child is not None and child.poll() is None:
            child.kill()


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
    """The child's loop: load, say ready, then score each list of contexts until ``None``."""
    import traceback

    try:
        import torch

        torch.set_num_threads(threads)
        from reward_model.modeling import SimilarRewardModel

        model = SimilarRewardModel.from_pretrained(source, dtype=dtype)
    except Exception:
        out.send(("error", traceback.format_exc()))
        return
    out.send(("ready", None))
    while True:
        try:
            contexts = conn_in.recv()
        except EOFError:
            return
        if contexts is None:
            return
        try:
            scores: Mapping[str, np.ndarray] = model.score(contexts)
            out.send(("scores", dict(scores)))
        except Exception:
            out.send(("error", traceback.format_exc()))


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
