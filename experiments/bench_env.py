"""``similar bench env``: env speed (steps/s, reset time) of Similar-Gym beside peer systems.

Every (system, task, mode) is measured in a fresh subprocess (fair start, a crash stays
contained); the parent collects one JSON record per measurement, computes the ratios and checks
the targets. Systems:

* ``similar``: ``gym.make("Similar/Web-v0", task=...)`` with its default observation (screenshot
  + instruction + page text view + URL + last error) at ``--viewport``.
* ``raw-playwright``: the reference limit, a bare Playwright page on the same MiniWoB++ file and
  the same viewport and Chromium, one ``mouse.click`` + ``screenshot()`` + PNG decode per step.
* ``farama``: the ``miniwob`` package's own envs (``miniwob/<name>-v1``: Selenium driving
  Debian's ``chromium`` through ``chromium-driver``), default observation (utterance, DOM
  elements, fields, 160x210 screenshot).
* ``browsergym``: ``browsergym-miniwob`` (``browsergym/miniwob.<name>``), default observation
  (screenshot, DOM snapshot, accessibility tree, extra properties, chat), its own MiniWoB
  viewport (332x214, screenshots at 1.5x). Its sleeps are turned off (``slow_mo=0``,
  ``pre_observation_delay=0``): they are waits, not work, and would otherwise dominate (100 ms
  per Playwright call plus 500 ms per step). It launches Playwright's bundled Chromium, which
  may not be installed; the worker points it at the system Chromium instead.

Modes: ``single`` (one env) and ``vector2`` (``gymnasium.vector.AsyncVectorEnv`` of 2, steps/s
counts env-steps of both). All systems run with ``shared_memory=False``. Finding: ``Text``
spaces *can* go into shared memory in gymnasium >= 1.0 (as int32 character indices,
``max_length`` per string), so Similar-Gym's text observations work there, but writing and
reading them runs per character in Python: for our 10,500 characters of ``Text`` capacity that
costs about 4 ms per env-step, more than pickling the whole observation through the worker pipe
(about 1 ms plus the copy). The peers' ``Sequence`` and custom spaces cannot be shared at all.

Equal work: every step of every system is one click at the same point followed by the
system's full observation. On MiniWoB++ pages the point is inside the instruction bar
(``MINIWOB_CLICK``), where a click changes nothing, so no episode ends while stepping and
steps/s measures the step alone (``max_steps`` of Similar-Gym is raised for the same reason);
resets are timed on their own, ``--resets`` of them with fixed seeds after the stepping, each
after ``--reset-gap`` untimed steps (the end of an episode, as an RL loop meets a reset: a
system may use an episode's time to prepare the next one, as Similar-Gym's MiniWoB++ envs do by
loading the next page in a spare tab), then as many again back to back (the worst case, reported
beside it as ``median_reset_b2b_ms``).
Own-suite tasks (Similar-Gym only) click the centre of the page's first heading or text.
``--warmup`` steps after the first reset are not timed; neither is start-up (reported apart).

Examples::

    similar bench env                              # everything, human table
    similar bench env --json --out runs/bench_env.json
    python -m experiments.bench_env --systems similar raw-playwright --tasks miniwob/click-test
    python -m experiments.bench_env --peer-python /tmp/peers-venv/bin/python   # peers' venv
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from experiments.bench_common import emit_report, positive_int

SYSTEMS = ("similar", "raw-playwright", "farama", "browsergym")
"""Every system the bench knows, ours first."""

PEERS = ("farama", "browsergym")
"""The peer systems that the speed-up target compares against."""

MODES = {"single": 1, "vector2": 2}
"""Mode name -> number of envs (``vector2`` is an ``AsyncVectorEnv`` of 2)."""

DEFAULT_MINIWOB = (
    "click-test",
    "click-button",
    "click-checkboxes",
    "enter-text",
    "click-link",
    "focus-text",
)
"""Static MiniWoB++ tasks measured by default (every system can run them)."""

MAX_DEFAULT_OWN = 4
"""Own-suite tasks measured by default: the first task of each app, at most this many."""

MINIWOB_CLICK = (80.0, 25.0)
"""Page point of the bench's click on MiniWoB++ pages: inside the instruction bar, a no-op."""

BROWSERGYM_SCALE = 1.5
"""BrowserGym's MiniWoB++ screenshots are 1.5x the page; its ``mouse_click`` takes their pixels."""

TARGET_STEPS_PER_S = 30.0
TARGET_MEDIAN_RESET_MS = 100.0
TARGET_PEER_SPEEDUP = 5.0

REPO_ROOT = Path(__file__).resolve().parents[1]

_INSTALL_HINT = {
    "similar": "install similar-gym",
    "raw-playwright": "pip install playwright",
    "farama": "pip install miniwob; apt-get install chromium-driver",
    "browsergym": "pip install 'similar-gym[peers]' (browsergym-miniwob)",
}
_VERSIONED = ("similar-gym", "gymnasium", "playwright", "miniwob", "selenium", "browsergym-core")


class Unavailable(RuntimeError):
    """A system cannot run here at all (not installed, no driver); the bench skips it."""


@dataclass(frozen=True)
class Job:
    """One measurement: a system on a task in a mode, with its budgets.

    Attributes:
        system: One of :data:`SYSTEMS`.
        task: Similar-Gym task id (``"miniwob/click-test"``, ``"shop/buy-product"``).
        mode: One of :data:`MODES`.
        steps: Timed steps per env.
        resets: Timed resets (after a gap, and as many again back to back).
        reset_gap: Untimed steps before each gapped timed reset.
        warmup: Untimed steps after the first reset.
        seed: Seed of the first reset; timed reset ``i`` uses ``seed + 100 * (i + 1)``.
        viewport: ``(width, height)`` for the systems that take one (Similar-Gym, raw loop).
    """

    system: str
    task: str
    mode: str
    steps: int
    resets: int
    reset_gap: int
    warmup: int
    seed: int
    viewport: tuple[int, int]

    @property
    def n_envs(self) -> int:
        """Number of envs stepped together."""
        return MODES[self.mode]


# ---------------------------------------------------------------------- systems (worker side)


def _miniwob_name(task: str) -> str:
    if not task.startswith("miniwob/"):
        raise Unavailable(f"{task} is not a MiniWoB++ task; only Similar-Gym has the own suite")
    return task.removeprefix("miniwob/")


def _chromium() -> str:
    from similar_gym.browser import default_executable

    exe = default_executable()
    if not exe:
        raise Unavailable("no Chromium found (install Debian's chromium or set SIMILAR_CHROMIUM)")
    return exe


def _miniwob_page(name: str) -> Path:
    from similar_gym.tasks.miniwob import miniwob_html_dir

    html = miniwob_html_dir()
    if html is None:
        raise Unavailable("the miniwob package (which ships the MiniWoB++ pages) is missing")
    return html / "miniwob" / f"{name}.html"


class RawPlaywrightEnv(gym.Env[np.ndarray, np.ndarray]):
    """The reference loop as an env: one Playwright page, a click and a screenshot per step.

    Args:
        page: The MiniWoB++ page file.
        viewport: Page size ``(width, height)``.
    """

    _START = "(s) => { Math.seedrandom(String(s)); core.startEpisodeReal(); }"

    def __init__(self, page: Path, viewport: tuple[int, int]):
        from playwright.sync_api import sync_playwright

        w, h = viewport
        self.observation_space = gym.spaces.Box(0, 255, (h, w, 3), np.uint8)
        self.action_space = gym.spaces.Box(0.0, float(max(w, h)), (2,), np.float32)
        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(
            executable_path=_chromium(), headless=True, args=["--no-sandbox"]
        )
        self._page = self._browser.new_page(viewport={"width": w, "height": h})
        self._page.goto(page.as_uri())

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Starts a seeded episode on the loaded page and takes a screenshot."""
        super().reset(seed=seed)
        self._page.evaluate(self._START, 0 if seed is None else seed)
        return self._shot(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Clicks at ``action`` (x, y) and takes a screenshot."""
        self._page.mouse.click(float(action[0]), float(action[1]))
        return self._shot(), 0.0, False, False, {}

    def close(self) -> None:
        """Closes the browser and the Playwright driver."""
        self._browser.close()
        self._pw.stop()

    def _shot(self) -> np.ndarray:
        import io

        from PIL import Image

        png = self._page.screenshot()
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


class ClickOnText(gym.ActionWrapper):
    """Own-suite tasks: any action becomes a click on the centre of the page's first heading.

    Falls back to the first text element. Headings and plain text are not interactive, so the
    click changes nothing and the bench can step without ending the episode.
    """

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Resets and finds the point to click on the new page."""
        obs, info = self.env.reset(**kwargs)
        width, height = self.env.unwrapped.viewport
        points = [
            (e["role"] != "heading", x + w / 2, y + h / 2)
            for e in self.env.unwrapped.elements
            if not e.get("interactive")
            for x, y, w, h in [e["box"]]
            if 0 <= x + w / 2 < width and 0 <= y + h / 2 < height
        ]
        if not points:
            raise RuntimeError("the page shows no text element to click")
        _, cx, cy = min(points, key=lambda p: p[0])
        self._click = f"click_at({cx:.0f}, {cy:.0f})"
        return obs, info

    def action(self, action: Any) -> str:
        """Returns the click (the given action is ignored)."""
        return self._click


def _make_similar(task: str, viewport: tuple[int, int]) -> gym.Env:
    import similar_gym  # noqa: F401  (registers Similar/Web-v0)

    env = gym.make(
        "Similar/Web-v0",
        task=task,
        viewport=viewport,
        max_steps=10**9,
        disable_env_checker=True,
    )
    return env if task.startswith("miniwob/") else ClickOnText(env)


def _make_raw(task: str, viewport: tuple[int, int]) -> gym.Env:
    return RawPlaywrightEnv(_miniwob_page(_miniwob_name(task)), viewport)


def _make_farama(task: str, viewport: tuple[int, int]) -> gym.Env:
    del viewport  # the Selenium window keeps its default size; observations are 160x210 crops
    import miniwob  # noqa: F401  (registers miniwob/*)

    driver = os.environ.get("MINIWOB_CHROMEDRIVER") or shutil.which("chromedriver")
    if not driver:
        raise Unavailable("chromedriver not found (apt-get install chromium-driver)")
    os.environ.setdefault("MINIWOB_CHROME_BINARY", _chromium())
    os.environ.setdefault("MINIWOB_CHROMEDRIVER", driver)
    return gym.make(f"miniwob/{_miniwob_name(task)}-v1", disable_env_checker=True)


def _make_browsergym(task: str, viewport: tuple[int, int]) -> gym.Env:
    del viewport  # BrowserGym's MiniWoB++ tasks set their own (332x214)
    import logging

    import browsergym.miniwob  # noqa: F401  (registers browsergym/miniwob.*)
    from browsergym.core.action.highlevel import HighLevelActionSet

    name = _miniwob_name(task)
    os.environ.setdefault("MINIWOB_URL", _miniwob_page(name).parent.as_uri() + "/")
    logging.getLogger("browsergym").setLevel(logging.ERROR)
    from similar_gym.browser import use_system_chromium_everywhere

    use_system_chromium_everywhere()
    return gym.make(
        f"browsergym/miniwob.{name}",
        disable_env_checker=True,
        slow_mo=0,
        pre_observation_delay=0.0,
        action_mapping=HighLevelActionSet(subsets=["coord"]).to_python_code,
    )


_FACTORIES: dict[str, Callable[[str, tuple[int, int]], gym.Env]] = {
    "similar": _make_similar,
    "raw-playwright": _make_raw,
    "farama": _make_farama,
    "browsergym": _make_browsergym,
}


def _click_action(system: str, space: gym.Space[Any]) -> Any:
    """The bench's click in ``system``'s action format (one env's action)."""
    x, y = MINIWOB_CLICK
    if system == "similar":
        return f"click_at({x:.0f}, {y:.0f})"
    if system == "raw-playwright":
        return np.array([x, y], dtype=np.float32)
    if system == "browsergym":
        return f"mouse_click({x * BROWSERGYM_SCALE}, {y * BROWSERGYM_SCALE})"
    from miniwob.action import ActionSpaceConfig, ActionTypes

    action = space.sample()
    action["action_type"] = ActionSpaceConfig.get_preset().action_types.index(
        ActionTypes.CLICK_COORDS
    )
    action["coords"] = np.array([x, y], dtype=np.float32)
    return action


def _check_available(system: str) -> None:
    """Raises :class:`Unavailable` if ``system``'s package cannot be imported here."""
    module = {
        "similar": "similar_gym.web_env",
        "raw-playwright": "playwright.sync_api",
        "farama": "miniwob.environment",
        "browsergym": "browsergym.miniwob",
    }[system]
    try:
        __import__(module)
    except ImportError as e:
        raise Unavailable(f"{system} is not installed ({e}); {_INSTALL_HINT[system]}") from e


# ---------------------------------------------------------------------- measurement (worker)


def _ms(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (seconds) in milliseconds."""
    return float(np.quantile(np.asarray(values), q) * 1000.0)


def measure(job: Job) -> dict[str, Any]:
    """Runs one measurement in this process.

    Returns:
        The record: ``steps_per_s``, ``median_reset_ms`` and ``p90_reset_ms`` (after
        ``reset_gap`` steps), ``median_reset_b2b_ms`` (back to back), step latency
        quantiles, ``startup_s`` (construction + first reset), counts and observation keys.

    Raises:
        Unavailable: If the system cannot run here.
    """
    _check_available(job.system)
    make = _FACTORIES[job.system]
    start = time.perf_counter()
    if job.n_envs == 1:
        env: Any = make(job.task, job.viewport)
        space = env.action_space
    else:
        if job.system != "similar":  # fail fast here, not inside the vector's processes
            _miniwob_name(job.task)
        env = gym.vector.AsyncVectorEnv(
            [lambda: make(job.task, job.viewport)] * job.n_envs, shared_memory=False
        )
        space = env.single_action_space
    try:
        space.seed(job.seed)
        action = _click_action(job.system, space)
        if job.n_envs > 1:
            action = gym.vector.utils.concatenate(
                space,
                [action] * job.n_envs,
                gym.vector.utils.create_empty_array(space, job.n_envs),
            )
        obs, _ = env.reset(seed=job.seed)
        startup_s = time.perf_counter() - start
        ends = 0

        def step() -> float:
            nonlocal ends
            t = time.perf_counter()
            _, _, terminated, truncated, _ = env.step(action)
            elapsed = time.perf_counter() - t
            if np.any(np.logical_or(terminated, truncated)):
                ends += 1
                if job.n_envs == 1:  # a vector env resets itself
                    env.reset()
            return elapsed

        for _ in range(job.warmup):
            step()
        step_times = [step() for _ in range(job.steps)]
        reset_times, b2b_times = [], []
        for i in range(job.resets):
            for _ in range(job.reset_gap):
                env.step(action)
            t = time.perf_counter()
            env.reset(seed=job.seed + 100 * (i + 1))
            reset_times.append(time.perf_counter() - t)
        for i in range(job.resets):
            t = time.perf_counter()
            env.reset(seed=job.seed + 100 * (job.resets + i + 1))
            b2b_times.append(time.perf_counter() - t)
    finally:
        env.close()
    return {
        "status": "ok",
        "steps_per_s": job.n_envs * job.steps / sum(step_times),
        "median_reset_ms": _ms(reset_times, 0.5),
        "p90_reset_ms": _ms(reset_times, 0.9),
        "median_reset_b2b_ms": _ms(b2b_times, 0.5),
        "step_ms_p50": _ms(step_times, 0.5),
        "step_ms_p90": _ms(step_times, 0.9),
        "startup_s": startup_s,
        "n_steps": job.n_envs * job.steps,
        "n_resets": job.resets,
        "episodes_ended": ends,
        "load_avg_1m": os.getloadavg()[0],
        "observation": _describe(obs, job.n_envs),
        "versions": _versions(),
    }


def _describe(obs: Any, n_envs: int) -> dict[str, Any]:
    """Keys of an observation and the shape of one env's screenshot."""
    if not isinstance(obs, dict):
        return {"keys": [], "screenshot": list(np.shape(obs))[int(n_envs > 1) :]}
    shot = obs.get("screenshot")
    shape = list(np.shape(shot))[int(n_envs > 1) :] if shot is not None else None
    return {"keys": sorted(obs), "screenshot": shape}


def _versions() -> dict[str, str]:
    out = {}
    for name in _VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def _worker(spec: str, out: Path) -> int:
    """Measures the job ``spec`` (JSON) and writes its record to ``out``."""
    fields = json.loads(spec)
    job = Job(**{**fields, "viewport": tuple(fields["viewport"])})
    try:
        record = measure(job)
    except Unavailable as e:
        record = {"status": "skipped", "reason": str(e), "unavailable": True}
    except Exception as e:
        record = {"status": "skipped", "reason": f"failed: {type(e).__name__}: {e}"[:500]}
    out.write_text(json.dumps({**_job_fields(job), **record}), encoding="utf-8")
    return 0


# ---------------------------------------------------------------------- orchestration (parent)


def _job_fields(job: Job) -> dict[str, Any]:
    return {"system": job.system, "task": job.task, "mode": job.mode, "n_envs": job.n_envs}


def _skipped(job: Job, reason: str) -> dict[str, Any]:
    return {**_job_fields(job), "status": "skipped", "reason": reason}


def spawn(job: Job, python: str, timeout_s: float) -> dict[str, Any]:
    """Runs ``job`` in a fresh ``python`` process and returns its record (never raises).

    The worker gets its own process group, which is killed once it is done, so nothing it
    started (drivers, browsers that stayed in the group) outlives it.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="similar-bench-") as tmp:
        out = Path(tmp) / "record.json"
        cmd = [
            python,
            "-m",
            "experiments.bench_env",
            "--worker",
            json.dumps(asdict(job)),
            "--worker-out",
            str(out),
        ]
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=tmp,
                start_new_session=True,
            )
        except OSError as e:
            return _skipped(job, f"could not start {python}: {e}")
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.communicate()
            return _skipped(job, f"timed out after {timeout_s:.0f} s")
        _kill_group(proc.pid)
        if not out.exists():
            tail = (err or "").strip().splitlines()[-1:] or ["no output"]
            return _skipped(job, f"worker exited with code {proc.returncode}: {tail[0][:300]}")
        return json.loads(out.read_text(encoding="utf-8"))


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def default_tasks() -> tuple[list[str], str | None]:
    """The default tasks: the first own task of each app (up to 4), then :data:`DEFAULT_MINIWOB`.

    Returns:
        The task ids and, when the own suite could not be listed, why.
    """
    from similar_gym.tasks import list_miniwob_ids, own_task_ids

    note = None
    try:
        own = own_task_ids()
    except Exception as e:  # the own suite failing to load must not stop the bench
        own, note = [], f"own tasks unavailable: {type(e).__name__}: {e}"
    firsts: dict[str, str] = {}
    for task in own:
        firsts.setdefault(task.split("/")[0], task)
    miniwob = set(list_miniwob_ids())
    picked = [f"miniwob/{n}" for n in DEFAULT_MINIWOB if f"miniwob/{n}" in miniwob]
    return [*list(firsts.values())[:MAX_DEFAULT_OWN], *picked], note


def plan(args: argparse.Namespace, tasks: Sequence[str]) -> list[Job]:
    """All jobs of a run: tasks x modes x systems (peers and the raw loop: MiniWoB++ only).

    The systems of one task and mode run back to back, so that a change in the machine's load
    during the run hits the systems that a ratio compares alike.
    """
    return [
        Job(
            system=system,
            task=task,
            mode=mode,
            steps=args.peer_steps if system in PEERS else args.steps,
            resets=args.peer_resets if system in PEERS else args.resets,
            reset_gap=args.reset_gap,
            warmup=args.warmup,
            seed=args.seed,
            viewport=args.viewport,
        )
        for task in tasks
        for mode in args.modes
        for system in args.systems
        if system == "similar" or task.startswith("miniwob/")
    ]


def _geomean(values: Sequence[float]) -> float | None:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else None


def summarize(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Ratios of Similar-Gym's steps/s to every other system, and the targets.

    Args:
        results: The measurement records.

    Returns:
        ``{"ratios": {"similar/<system>": {mode: {task: ratio, ..., "geomean": g}}},
        "targets": {...}}``; a target is ``met: None`` when nothing measured it.
    """
    ok = {(r["system"], r["task"], r["mode"]): r for r in results if r["status"] == "ok"}
    ratios: dict[str, dict[str, dict[str, float | None]]] = {}
    for system in SYSTEMS[1:]:
        per_mode = {}
        for mode in MODES:
            row = {
                task: ok[("similar", task, mode)]["steps_per_s"] / r["steps_per_s"]
                for (s, task, m), r in ok.items()
                if s == system and m == mode and ("similar", task, mode) in ok
            }
            if row:
                per_mode[mode] = {**row, "geomean": _geomean(list(row.values()))}
        if per_mode:
            ratios[f"similar/{system}"] = per_mode
    ours = [r for (s, _, m), r in ok.items() if s == "similar" and m == "single"]
    speeds = {r["task"]: r["steps_per_s"] for r in ours}
    resets = {r["task"]: r["median_reset_ms"] for r in ours}
    targets: dict[str, Any] = {
        "single_env_steps_per_s": _target(speeds, TARGET_STEPS_PER_S, at_least=True),
        "median_reset_ms": _target(resets, TARGET_MEDIAN_RESET_MS, at_least=False),
    }
    for peer in PEERS:
        geo = {m: row["geomean"] for m, row in ratios.get(f"similar/{peer}", {}).items()}
        targets[f"speedup_vs_{peer}"] = {
            "threshold": TARGET_PEER_SPEEDUP,
            "geomean": geo,
            "met": all(g >= TARGET_PEER_SPEEDUP for g in geo.values()) if geo else None,
        }
    return {"ratios": ratios, "targets": targets}


def _target(values: dict[str, float], threshold: float, at_least: bool) -> dict[str, Any]:
    """Checks every task's value against ``threshold``; reports the worst task."""
    if not values:
        return {"threshold": threshold, "met": None}
    pick = min if at_least else max
    worst = pick(values, key=values.__getitem__)
    value = values[worst]
    return {
        "threshold": threshold,
        "worst": value,
        "worst_task": worst,
        "geomean": _geomean(list(values.values())),
        "met": value >= threshold if at_least else value <= threshold,
    }


def _meta(
    args: argparse.Namespace, note: str | None, load_before: tuple[float, ...]
) -> dict[str, Any]:
    from similar_gym.browser import default_executable

    exe = default_executable()
    chromium = None
    if exe:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
            chromium = done.stdout.strip() or None
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "peer_python": args.peer_python,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_avg_before": load_before,
        "load_avg_after": os.getloadavg(),
        "chromium": chromium,
        "viewport": list(args.viewport),
        "budgets": {
            "steps": args.steps,
            "resets": args.resets,
            "peer_steps": args.peer_steps,
            "peer_resets": args.peer_resets,
            "reset_gap": args.reset_gap,
            "warmup": args.warmup,
            "seed": args.seed,
        },
        "note": note,
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_report(report: dict[str, Any]) -> str:
    """The report as plain-text tables."""
    rows = [
        (
            "system",
            "task",
            "mode",
            "steps/s",
            "reset p50 ms",
            "reset p90 ms",
            "reset b2b ms",
            "steps",
            "resets",
            "note",
        )
    ]
    for r in report["results"]:
        ok = r["status"] == "ok"
        rows.append(
            (
                r["system"],
                r["task"],
                r["mode"],
                _fmt(r.get("steps_per_s")),
                _fmt(r.get("median_reset_ms")),
                _fmt(r.get("p90_reset_ms")),
                _fmt(r.get("median_reset_b2b_ms")),
                str(r.get("n_steps", "-")),
                str(r.get("n_resets", "-")),
                "" if ok else f"skipped: {r['reason']}"[:90],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]
    summary = report["summary"]
    for name, per_mode in summary["ratios"].items():
        lines.append(f"\n{name} (steps/s ratio)")
        for mode, row in per_mode.items():
            cells = ", ".join(f"{t}: {_fmt(v, 2)}" for t, v in row.items() if t != "geomean")
            lines.append(f"  {mode:<8} geomean {_fmt(row['geomean'], 2)}   ({cells})")
    lines.append("\ntargets")
    for name, t in summary["targets"].items():
        verdict = {True: "MET", False: "NOT MET", None: "not measured"}[t["met"]]
        if "worst" in t:
            detail = f"worst {_fmt(t['worst'])} ({t['worst_task']}), threshold {t['threshold']}"
        elif t.get("geomean"):
            geo = ", ".join(f"{m} {_fmt(g, 2)}x" for m, g in t["geomean"].items())
            detail = f"geomean {geo}, threshold {t['threshold']}x"
        else:
            detail = f"threshold {t['threshold']}"
        lines.append(f"  {name:<24} {verdict:<13} {detail}")
    meta = report["meta"]
    if meta["note"]:
        lines.append(f"\nnote: {meta['note']}")
    load = max(meta["load_avg_before"][0], meta["load_avg_after"][0])
    if load > meta["cpu_count"]:
        lines.append(
            f"\nwarning: load average {load:.1f} on {meta['cpu_count']} cores; "
            "the machine was busy and these timings are noisy"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Runs the bench as ``args`` say; prints a table (or JSON) and writes ``--out``.

    Returns:
        0, or 1 if a Similar-Gym measurement failed (peers may be skipped; ours may not).
    """
    from similar_gym.tasks import resolve_tasks

    load_before = os.getloadavg()
    if args.tasks:
        tasks, note = [t.id for t in resolve_tasks(args.tasks)], None
    else:
        tasks, note = default_tasks()
    jobs = plan(args, tasks)
    results: list[dict[str, Any]] = []
    unavailable: dict[str, str] = {}
    bar = tqdm(jobs, file=sys.stderr, unit="run", dynamic_ncols=True)
    for job in bar:
        bar.set_description(f"{job.system} {job.task} {job.mode}")
        if job.system in unavailable:
            results.append(_skipped(job, unavailable[job.system]))
            continue
        python = sys.executable
        if job.system in PEERS and args.peer_python:
            # Absolute but not resolved: a venv's python is a link that must stay the venv's.
            python = os.path.abspath(args.peer_python)
        record = spawn(job, python, args.timeout)
        if record.pop("unavailable", False):
            unavailable[job.system] = record["reason"]
        results.append(record)
    report = {
        "meta": _meta(args, note, load_before),
        "results": results,
        "summary": summarize(results),
    }
    if not emit_report(report, args.out, args.json):
        print(format_report(report))
    ours_failed = any(r["system"] == "similar" and r["status"] != "ok" for r in results)
    return 1 if ours_failed else 0


def _viewport(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"viewport must look like 640x480, got {text!r}") from e
    return w, h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options of ``similar bench env`` to ``parser``."""
    parser.add_argument(
        "--systems",
        nargs="+",
        choices=SYSTEMS,
        default=list(SYSTEMS),
        help="systems to measure (default: all)",
    )
    parser.add_argument(
        "--tasks",
        nargs="+",
        metavar="TASK",
        help="task ids or globs (default: the first own task of each app, "
        f"and miniwob/{{{','.join(DEFAULT_MINIWOB)}}})",
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=list(MODES),
        default=list(MODES),
        help="single env and/or AsyncVectorEnv of 2 (default: both)",
    )
    parser.add_argument(
        "--steps", type=positive_int, default=200, help="timed steps per env (default: %(default)s)"
    )
    parser.add_argument(
        "--resets", type=positive_int, default=20, help="timed resets (default: %(default)s)"
    )
    parser.add_argument(
        "--peer-steps",
        type=positive_int,
        default=40,
        help="timed steps per env of the slower peers (default: %(default)s)",
    )
    parser.add_argument(
        "--peer-resets",
        type=positive_int,
        default=5,
        help="timed resets of the peers (default: %(default)s)",
    )
    parser.add_argument(
        "--reset-gap",
        type=int,
        default=3,
        help="untimed steps before each timed reset, as at an episode's end (default: "
        "%(default)s); as many resets again are timed back to back",
    )
    parser.add_argument(
        "--warmup", type=int, default=5, help="untimed steps before timing (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="first reset seed (default: 0)")
    parser.add_argument(
        "--viewport",
        type=_viewport,
        default=(640, 480),
        help="WxH of Similar-Gym and the raw loop (default: 640x480)",
    )
    parser.add_argument(
        "--peer-python",
        metavar="PATH",
        help="Python that runs the peers, e.g. a venv with the [peers] extra (default: this one)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="time limit of one measurement in seconds (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--out", metavar="FILE", help="also write the JSON report here")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m experiments.bench_env``: the bench, or one measurement with ``--worker``."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.bench_env", description=__doc__.splitlines()[0]
    )
    add_arguments(parser)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker, args.worker_out)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
