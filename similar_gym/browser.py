"""The one place that talks to Chromium.

A :class:`BrowserSession` owns one headless Chromium (Playwright's sync API driving Debian's
``chromium-headless-shell``, else its ``/usr/bin/chromium``, or any Chromium given by path) with
one page that is reused across episodes.

Lockdown: the page reaches only the files the session serves. Chromium is started with the
session's :class:`~similar_gym.serving.PageServer` as its proxy for every address, loopback
included, and with a host resolver that resolves nothing, so every request the page makes arrives
at that server: requests to the session's origin (``http://similar.test/``) are answered from the
mounted folders, everything else (other hosts and ports, HTTPS and WebSocket tunnels) is refused
and recorded in :attr:`BrowserSession.blocked_requests`.

The hot path (evaluating the page agent, loading pages, mouse events, screenshots) goes over a
DevTools WebSocket of the session's own (:class:`_DevTools`), one per tab, instead of through
Playwright's driver process: a round trip then costs about a millisecond instead of four to five,
several times per env step, and commands that belong together (a mouse press and release;
reading the page and capturing it) go out together. Chromium listens for it on a loopback port
(:attr:`BrowserSession.devtools_port`) that the page itself cannot reach (its requests all go to
the proxy, which refuses them); other processes of this machine can, as with any debugging port.
Playwright keeps launching Chromium, opening tabs, the keyboard and the lifecycle.

Frames on request: with a headless shell, tabs are created under begin-frame control. Chromium
then draws no frame on its own; a screenshot asks for one (``HeadlessExperimental.beginFrame``)
and gets it at once, with every change made before it, instead of waiting for the frame clock;
a mouse move, which Chromium hands to the page only in a frame, brings frames that draw nothing
until the page has taken it. No frames are drawn between steps, so an env that waits (for its
agent, or for the CPU that another env's browser is using) costs nothing. A ``<select>``'s
option list, which Chromium draws in a popup whose frame never comes, is closed again by the
action that opened it (see ``BrowserSession._escape``). See ``BrowserConfig.begin_frames``.

Bounded waits: every call into the browser runs under a watchdog. If a call outlives its time
limit (a page stuck in an infinite loop, a hung renderer), the watchdog kills the browser, the
call fails with :class:`BrowserCrashed`, and the session reports itself dead so its owner can
:meth:`relaunch` it. :meth:`close` kills whatever Chromium processes the session started.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import psutil
from PIL import Image

from similar_gym.serving import ORIGIN, Mounts, PageServer

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    # No GPU process: software compositing runs in the browser process, which saves the hop
    # between processes on every frame (a screenshot step costs about 2 ms less CPU).
    "--in-process-gpu",
    "--disable-gpu-compositing",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    # Chromium's own calls home would only be refused by the proxy; do not even try.
    "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,"
    # A navigation reuses the frame instead of building a new one (15 ms less per MiniWoB
    # reset), and no old page is kept for a back button nobody presses.
    "RenderDocument,BackForwardCache",
    "--disable-dev-shm-usage",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--mute-audio",
    "--hide-scrollbars",
    "--font-render-hinting=none",
    # A change re-rasters whole tiles, not just the changed part of one: with partial raster,
    # the edge of a gradient box could differ by a few pixels depending on which earlier
    # changes had touched its tile, so one page state gave two screenshots (seen after
    # restore(), in 4 of 16 tries on shop's promo banner; 0 of 32 with this flag).
    "--disable-partial-raster",
    # Screenshots wait for the next frame; see BrowserConfig.frame_rate_limit.
    "--disable-gpu-vsync",
    # Every request goes to the session's proxy (loopback too); no host resolves; no UDP.
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
)

#: Frames as fast as Chromium draws them (``BrowserConfig.frame_rate_limit=False``, the default).
UNLIMITED_FRAMES = "--disable-frame-rate-limit"

#: Flags of a browser whose frames are drawn on request only (``BrowserConfig.begin_frames``).
BEGIN_FRAME_FLAGS = (
    "--enable-begin-frame-control",
    # The frame a screenshot asks for carries every change made before it (layout, paint,
    # scrolling), not the one before.
    "--run-all-compositor-stages-before-draw",
    "--disable-threaded-animation",
    "--disable-threaded-scrolling",
    "--disable-checker-imaging",
)

_PAGE_AGENT = (Path(__file__).parent / "js" / "page_agent.js").read_text(encoding="utf-8")


class BrowserError(RuntimeError):
    """A browser operation failed; the session is still usable."""


class BrowserCrashed(BrowserError):
    """The browser died or hung and was killed; :meth:`BrowserSession.relaunch` it."""


def default_executable() -> str | None:
    """Returns the Chromium to use: ``$SIMILAR_CHROMIUM``, else Debian's, else Playwright's own.

    Of Debian's builds, ``chromium-headless-shell`` (Chromium's headless-only browser, the one
    Playwright itself runs headless) comes first: the same engine without the desktop browser's
    user interface layers costs about a fifth less CPU per screenshot step and a third less
    per reset. The full ``chromium`` is the fallback.
    """
    env = os.environ.get("SIMILAR_CHROMIUM")
    if env:
        return env
    for name in (
        "/usr/lib/chromium/chromium-headless-shell",  # not /usr/bin's wrapper script: one process
        "/usr/bin/chromium-headless-shell",
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
    ):
        if os.path.exists(name):
            return name
    return shutil.which("chromium")


def use_system_chromium_everywhere() -> None:
    """Makes every Playwright ``chromium.launch`` of this process start :func:`default_executable`.

    For other packages' envs that launch Playwright's bundled Chromium themselves (BrowserGym),
    which ``playwright install`` may not be able to fetch: their launches then default to the
    system Chromium and get :data:`CHROMIUM_FLAGS` in front of their own arguments.
    Idempotent and process-wide; Similar-Gym's own sessions do not need it.
    """
    from playwright.sync_api import BrowserType

    if getattr(BrowserType.launch, "_similar_patched", False):
        return
    original = BrowserType.launch
    executable = default_executable()

    def launch(self: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("executable_path", executable)
        kwargs["args"] = [
            *CHROMIUM_FLAGS,
            UNLIMITED_FRAMES,  # as Similar-Gym's own sessions run by default
            *(kwargs.get("args") or ()),
        ]
        return original(self, **kwargs)

    launch._similar_patched = True  # type: ignore[attr-defined]
    BrowserType.launch = launch  # type: ignore[method-assign]


@dataclass
class BrowserConfig:
    """How a session starts Chromium.

    Attributes:
        viewport: Page size in CSS pixels, ``(width, height)``.
        executable_path: Chromium binary; ``None`` picks :func:`default_executable`.
        timeout_s: Time limit of one browser call (an action, an observation, a page load).
        launch_timeout_s: Time limit of starting Chromium (each attempt).
        launch_attempts: How many times to try starting Chromium. A start that fails (on a
            busy machine Chromium now and then dies at start-up, before it opens a page) is
            tried again with a fresh profile; the error of the last attempt is raised.
        max_tabs: Pages kept loaded for :meth:`BrowserSession.open`.
        preload: Let :meth:`BrowserSession.preload` load the next fresh copy of a page in a
            spare tab, so that the next fresh open of that page (a MiniWoB++ reset) does not
            wait for a whole load. Costs one renderer process.
        frame_rate_limit: Keep Chromium's 60 Hz frame clock. Off (the default), frames come as
            fast as Chromium can draw them, and a screenshot, which waits for the next frame,
            waits less: a single env steps about twice as fast. On a machine with fewer free
            cores than browsers (a vector of envs on 2 cores), the unlimited frame loop spends
            the CPU the other browser needs; there, turning the limit on gave more env-steps/s
            in all (see the README's speed section). Only used without ``begin_frames``.
        begin_frames: Draw a frame only when a screenshot asks for one
            (DevTools' ``HeadlessExperimental.beginFrame``): a screenshot waits for no frame
            clock, and no frames are drawn between steps, which leaves the CPU to other
            browsers and envs. Only a headless shell (``chromium-headless-shell``) offers
            it. ``None`` (the default) turns it on when the executable's name says it is one.
            A page then runs ``requestAnimationFrame`` callbacks and CSS animations only in
            the frames that screenshots and mouse moves draw.
    """

    viewport: tuple[int, int] = (640, 480)
    executable_path: str | None = None
    timeout_s: float = 10.0
    launch_timeout_s: float = 30.0
    launch_attempts: int = 3
    max_tabs: int = 6
    preload: bool = True
    frame_rate_limit: bool = False
    begin_frames: bool | None = None
    extra_args: tuple[str, ...] = ()


class _Driver:
    """One Playwright driver per process, shared by every session of that process.

    A forked child (``AsyncVectorEnv`` workers on Linux) inherits the parent's driver object but
    not a usable connection to it, so the driver remembers its process and a child starts its own.
    """

    _lock = threading.Lock()
    _instance: Any = None
    _manager: Any = None
    _owner_pid: int | None = None
    _users = 0

    @classmethod
    def acquire(cls) -> Any:
        with cls._lock:
            if cls._owner_pid != os.getpid():
                cls._instance = cls._manager = None
                cls._users = 0
            if cls._instance is None:
                from playwright.sync_api import sync_playwright

                cls._manager = sync_playwright()
                cls._instance = cls._manager.start()
                cls._owner_pid = os.getpid()
            cls._users += 1
            return cls._instance

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            if cls._owner_pid != os.getpid():
                return
            cls._users -= 1
            if cls._users <= 0 and cls._instance is not None:
                with contextlib.suppress(Exception):
                    cls._instance.stop()
                cls._instance = None
                cls._manager = None
                cls._users = 0


class _Watchdog:
    """One thread per session that kills the browser when an armed deadline passes.

    Arming and disarming cost a lock, not a thread: a browser call is guarded several times per
    env step.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._pid: int | None = None
        self._fired = False
        self._closed = False
        self._wakes_at = float("inf")
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, pid: int | None) -> None:
        """Kills ``pid``'s process tree unless :meth:`disarm` comes within ``seconds``."""
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="similar-watchdog", daemon=True
                )
                self._thread.start()
            self._deadline = time.monotonic() + seconds
            self._pid, self._fired = pid, False
            if self._deadline < self._wakes_at:
                self._cond.notify()

    def disarm(self) -> bool:
        """Cancels the deadline; returns whether it had already fired."""
        with self._cond:
            self._deadline = None
            return self._fired

    def close(self) -> None:
        """Stops the thread (idempotent)."""
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._deadline is None or self._deadline > now:
                    self._wakes_at = float("inf") if self._deadline is None else self._deadline
                    self._cond.wait(None if self._deadline is None else self._deadline - now)
                    continue
                pid, self._deadline, self._fired = self._pid, None, True
                self._cond.release()
                try:
                    _kill_tree(pid)
                finally:
                    self._cond.acquire()


def _kill_tree(pid: int | None) -> None:
    if pid is None:
        return
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(procs, timeout=5)


class _DevTools:
    """A DevTools protocol connection of the session's own to one page (a tab).

    Commands can be pipelined: :meth:`send` writes one and returns its id, :meth:`result` reads
    until that id's answer arrives (keeping answers to other ids for later). No domain is
    enabled on this connection, so no events arrive on it.

    Args:
        url: The page's ``ws://127.0.0.1:<port>/devtools/page/<target id>`` address.
        timeout_s: Socket time limit (the session's watchdog bounds each call first).
    """

    def __init__(self, url: str, timeout_s: float):
        import websocket

        self._errors: tuple[type[BaseException], ...] = (websocket.WebSocketException, OSError)
        try:
            self._ws = websocket.create_connection(
                url,
                timeout=timeout_s,
                # Chromium refuses WebSocket handshakes that carry an Origin it was not told of.
                suppress_origin=True,
                # Answers are JSON from Chromium; validating their UTF-8 in Python costs more
                # than a screenshot's capture.
                skip_utf8_validation=True,
                sockopt=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
            )
        except self._errors as e:
            raise BrowserError(f"could not connect to the page's DevTools endpoint: {e}") from e
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}

    def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        """Writes one command; returns its id for :meth:`result`."""
        self._next_id += 1
        message = json.dumps({"id": self._next_id, "method": method, "params": params or {}})
        try:
            self._ws.send(message)
        except self._errors as e:
            raise ConnectionError(f"DevTools connection closed: {e}") from e
        return self._next_id

    def result(self, command_id: int) -> dict[str, Any]:
        """Waits for the answer to command ``command_id``.

        Raises:
            BrowserError: Chromium answered with an error.
            ConnectionError: The connection closed (the browser or the tab died).
        """
        while command_id not in self._answers:
            try:
                message = json.loads(self._ws.recv())
            except self._errors as e:
                raise ConnectionError(f"DevTools connection closed: {e}") from e
            if "id" in message:
                self._answers[message["id"]] = message
        answer = self._answers.pop(command_id)
        if "error" in answer:
            raise BrowserError(f"{answer['error'].get('message', answer['error'])}")
        return answer.get("result", {})

    def answered(self, command_id: int) -> bool:
        """Whether the answer to ``command_id`` has arrived (among what was read so far)."""
        return command_id in self._answers

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Sends one command and waits for its answer."""
        return self.result(self.send(method, params))

    def batch(self, *commands: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Sends several ``(method, params)`` commands at once and returns their answers in order.

        Chromium runs them in order; all answers are read before the first error is raised, so
        none is left behind.
        """
        ids = [self.send(method, params) for method, params in commands]
        answers: list[Any] = []
        for command_id in ids:
            try:
                answers.append(self.result(command_id))
            except Exception as e:
                answers.append(e)
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        return answers

    def close(self) -> None:
        """Closes the connection (idempotent)."""
        with contextlib.suppress(Exception):
            self._ws.close()


@dataclass
class _Spare:
    """The tab that loads the next fresh copy of a page in the background (see ``preload``).

    Attributes:
        page: The Playwright page.
        devtools: The session's own connection to it.
        path: The page it is loading or has loaded; ``None`` when it holds nothing of use.
        navigation: Id of its ``Page.navigate`` command, whose answer is still to be read.
    """

    page: Any
    devtools: _DevTools
    path: str | None = None
    navigation: int | None = None


class BrowserSession:
    """A headless Chromium with one reusable page, locked down to the files it serves.

    Args:
        config: Launch settings.
        mounts: URL prefix -> folder served at ``{ORIGIN}/{prefix}/...``.

    Example:
        >>> from similar_gym.browser import BrowserSession
        >>> s = BrowserSession(mounts={"static": Path("site")})  # doctest: +SKIP
        >>> s.goto("/static/index.html")  # doctest: +SKIP
        >>> s.screenshot().shape  # doctest: +SKIP
        (480, 640, 3)
    """

    def __init__(self, config: BrowserConfig | None = None, mounts: dict[str, Path] | None = None):
        self.config = config or BrowserConfig()
        self._server = PageServer(Mounts({k: Path(v) for k, v in (mounts or {}).items()}))
        #: URLs the page asked for and did not get (anything outside the served origin).
        self.blocked_requests: list[str] = self._server.blocked
        self._pw: Any = None
        self._context: Any = None
        self._page: Any = None
        self._devtools: _DevTools | None = None
        self._browser_devtools: _DevTools | None = None
        self._begin_frames = False
        self._devtools_port: int | None = None
        # Loaded pages by path, least recently shown first (see :meth:`open`).
        self._tabs: OrderedDict[str, tuple[Any, _DevTools]] = OrderedDict()
        self._spare: _Spare | None = None
        self._last_fresh: str | None = None
        self._pid: int | None = None
        self._profile: str | None = None
        # Browser pid and profile folder, shared with the finalizer that cleans up after a
        # session nobody closed.
        self._handles: dict[str, Any] = {"pid": None, "profile": None, "server": self._server}
        self._dead = False
        self._watchdog = _Watchdog()
        self._handles["watchdog"] = self._watchdog
        weakref.finalize(self, _cleanup, self._handles)
        self.launch()

    # ------------------------------------------------------------------ lifecycle

    def launch(self) -> None:
        """Starts Chromium and opens the page (called by the constructor and :meth:`relaunch`)."""
        executable = self.config.executable_path or default_executable()
        begin_frames = self.config.begin_frames
        if begin_frames is None:
            begin_frames = _is_headless_shell(executable)
        if begin_frames:
            frames: tuple[str, ...] = BEGIN_FRAME_FLAGS
        else:
            frames = () if self.config.frame_rate_limit else (UNLIMITED_FRAMES,)
        self._begin_frames = begin_frames
        if self.config.launch_attempts < 1:
            raise ValueError(f"launch_attempts must be >= 1, got {self.config.launch_attempts}")
        self._pw = _Driver.acquire()
        w, h = self.config.viewport
        args = [
            *CHROMIUM_FLAGS,
            f"--proxy-server={self._server.address}",
            # The session's own DevTools connections (see _DevTools); loopback only.
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            *frames,
            *self.config.extra_args,
        ]
        for attempt in range(1, self.config.launch_attempts + 1):
            self._profile = tempfile.mkdtemp(prefix="similar-chromium-")
            self._handles["profile"] = self._profile
            try:
                self._context = self._pw.chromium.launch_persistent_context(
                    self._profile,
                    executable_path=executable,
                    headless=True,
                    args=args,
                    viewport={"width": w, "height": h},
                    device_scale_factor=1,
                    service_workers="block",
                    accept_downloads=False,
                    timeout=self.config.launch_timeout_s * 1000,
                )
                break
            except Exception as e:
                shutil.rmtree(self._profile, ignore_errors=True)
                missing = executable is not None and not os.path.exists(executable)
                if attempt < self.config.launch_attempts and not missing:
                    continue
                _Driver.release()
                tried = f" ({attempt} attempts)" if attempt > 1 else ""
                raise BrowserError(
                    f"could not start Chromium ({executable or 'Playwright default'}){tried}: "
                    f"{e}. Install Debian's `chromium` or set SIMILAR_CHROMIUM to a Chromium "
                    "binary."
                ) from e
        self._pid = self._find_browser_pid()
        self._handles["pid"] = self._pid
        self._context.set_default_timeout(self.config.timeout_s * 1000)
        self._context.add_init_script(_PAGE_AGENT)
        self._tabs.clear()
        self._spare = None
        self._mouse_at: tuple[float, float] | None = None
        self._dead = False
        try:
            self._devtools_port, browser_path = self._read_devtools_port()
            if begin_frames:  # tabs under begin-frame control are created over it
                self._browser_devtools = _DevTools(
                    f"ws://127.0.0.1:{self._devtools_port}{browser_path}", self.config.timeout_s
                )
            first = self._context.pages
            if first and not begin_frames:
                self._page = first[0]
            else:
                # A page with begin-frame control must be created so; the blank one goes.
                self._page = self._new_page()
                for page in first:
                    page.close()
            self._devtools = self._connect(self._page)
            if begin_frames:
                self._check_begin_frames(executable)
        except Exception:
            self._shutdown()
            raise

    def _check_begin_frames(self, executable: str | None) -> None:
        """Raises a clear error if the browser cannot draw frames on request."""
        assert self._devtools is not None
        try:
            self._devtools.call("HeadlessExperimental.beginFrame", {"noDisplayUpdates": True})
        except BrowserError as e:
            raise BrowserError(
                f"{executable or 'this Chromium'} cannot draw frames on request ({e}); only a "
                "headless shell (chromium-headless-shell) can. Use BrowserConfig(begin_frames="
                "False) with this browser."
            ) from e

    def _read_devtools_port(self) -> tuple[int, str]:
        """The port Chromium listens on and its browser endpoint's path."""
        # Chromium writes them to the profile folder once it listens.
        assert self._profile is not None
        path = Path(self._profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.config.launch_timeout_s
        while True:
            with contextlib.suppress(OSError, ValueError, IndexError):
                port, endpoint = path.read_text().split()[:2]
                return int(port), endpoint
            if time.monotonic() > deadline:
                raise BrowserError("Chromium did not open its DevTools port")
            time.sleep(0.01)

    def _new_page(self) -> Any:
        """Opens a tab (Playwright's page), under begin-frame control if the session uses it."""
        if self._browser_devtools is None:
            return self._context.new_page()
        with self._context.expect_page() as created:
            self._browser_devtools.call(
                "Target.createTarget", {"url": "about:blank", "enableBeginFrameControl": True}
            )
        return created.value

    def _connect(self, page: Any) -> _DevTools:
        """Opens the session's own DevTools connection to ``page``."""
        cdp = self._context.new_cdp_session(page)
        try:
            target = cdp.send("Target.getTargetInfo")["targetInfo"]["targetId"]
        finally:
            with contextlib.suppress(Exception):
                cdp.detach()
        url = f"ws://127.0.0.1:{self._devtools_port}/devtools/page/{target}"
        return _DevTools(url, timeout_s=self.config.timeout_s + 5.0)

    def _find_browser_pid(self) -> int | None:
        flag = f"--user-data-dir={self._profile}"
        found: dict[int, int] = {}  # pid -> parent pid, of the processes started with our profile
        for proc in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                cmd = proc.cmdline()
                if flag in cmd and not any(a.startswith("--type=") for a in cmd):
                    found[proc.pid] = proc.ppid()
        # A wrapper script (Debian's /usr/bin/chromium-headless-shell) carries the flags too;
        # the browser is the one that is not a parent of another.
        inner = [pid for pid in found if pid not in found.values()]
        return inner[0] if inner else None

    @property
    def pid(self) -> int | None:
        """Process id of the Chromium browser process (``None`` when closed)."""
        return self._pid

    @property
    def devtools_port(self) -> int | None:
        """Loopback port of Chromium's DevTools endpoint that the session's own connections use.

        Only this machine can reach it, and not the page: its requests all go to the proxy.
        """
        return self._devtools_port

    @property
    def alive(self) -> bool:
        """Whether the browser is up and answering (cheap: no round trip unless it looks dead)."""
        if self._dead or self._context is None:
            return False
        if self._pid is not None and not psutil.pid_exists(self._pid):
            self._dead = True
        return not self._dead

    def relaunch(self) -> None:
        """Kills the browser (whatever its state) and starts a fresh one."""
        self._shutdown()
        self.launch()

    def close(self) -> None:
        """Closes the browser and leaves no Chromium process behind (idempotent)."""
        self._shutdown()
        self._watchdog.close()
        self._server.close()

    def _shutdown(self) -> None:
        if self._context is not None:
            if not self._dead:
                with contextlib.suppress(Exception), self._guard(5.0):
                    self._context.close()
            _kill_tree(self._pid)
            # The current connection is one of the tabs' once a page is open.
            spare = None if self._spare is None else self._spare.devtools
            tabs = (d for _, d in self._tabs.values())
            for devtools in {self._devtools, self._browser_devtools, spare, *tabs}:
                if devtools is not None:
                    devtools.close()
            self._context = self._page = self._devtools = self._spare = None
            self._browser_devtools = None
            self._tabs.clear()
            _Driver.release()
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
        self._pid = self._profile = None
        self._handles.update(pid=None, profile=None)
        self._dead = True

    # ------------------------------------------------------------------ guarded calls

    @contextlib.contextmanager
    def _guard(self, seconds: float | None = None) -> Iterator[None]:
        """Kills the browser if the body runs longer than ``seconds``."""
        self._watchdog.arm(seconds or self.config.timeout_s, self._pid)
        try:
            yield
        finally:
            if self._watchdog.disarm():
                self._dead = True

    def _call(self, fn: Any, *args: Any, timeout: float | None = None) -> Any:
        # Only the cheap half of `alive` here: a browser that died since the last call fails
        # the call itself, and the check below sees it.
        if self._dead or self._context is None:
            raise BrowserCrashed("the browser is not running; relaunch it")
        try:
            with self._guard(timeout):
                return fn(*args)
        except Exception as e:
            if self._dead or not self.alive or _looks_dead(e):
                self._dead = True
                raise BrowserCrashed(f"the browser stopped answering: {_short(e)}") from e
            raise BrowserError(_short(e)) from e

    # ------------------------------------------------------------------ page operations

    def goto(self, path: str) -> None:
        """Loads ``{ORIGIN}{path}`` (a served file) in the current tab and waits for it.

        Raises:
            BrowserError: The page could not be loaded or did not finish loading in time.
        """
        self._call(self._load, self._devtools, f"{ORIGIN}{path}")

    def _load(self, devtools: _DevTools | None, url: str) -> None:
        self._await_load(devtools, url, self._start_load(devtools, url))

    def _start_load(self, devtools: _DevTools | None, url: str) -> int:
        """Starts loading ``url`` in a tab; returns the id of the navigation command."""
        assert devtools is not None
        # The document being left is marked, so that the wait can tell it from the new one.
        with contextlib.suppress(BrowserError):
            devtools.call("Runtime.evaluate", {"expression": "window.__similarLeaving = true"})
        return devtools.send("Page.navigate", {"url": url})

    def _await_load(self, devtools: _DevTools | None, url: str, navigation: int) -> None:
        """Waits until the load that :meth:`_start_load` started has finished."""
        assert devtools is not None
        answer = devtools.result(navigation)
        if answer.get("errorText"):
            raise BrowserError(f"could not load {url}: {answer['errorText']}")
        deadline = time.monotonic() + 0.8 * self.config.timeout_s
        while True:
            try:
                state = self._evaluate(_LOADED, None, devtools)
            except BrowserError as e:
                # The old document went away while it was being asked.
                if not _context_gone(e):
                    raise
                state = "old"
            if state == "loaded":
                return
            if isinstance(state, str) and state.startswith("HTTP "):
                raise BrowserError(f"could not load {url}: {state}")
            if time.monotonic() > deadline:
                raise BrowserError(f"{url} did not replace the page in time")
            time.sleep(0.002)

    def open(self, path: str, fresh: bool = False) -> None:
        """Shows the page at ``path``, reusing a tab that already has it loaded.

        Up to ``config.max_tabs`` pages stay loaded, so a multi-task env switches between apps
        without reloading them; the least recently shown tab is closed beyond that. A tab whose
        document has navigated elsewhere is loaded again. A fresh open shows the copy that
        :meth:`preload` prepared, if any, waiting only for what is left of its load.

        Args:
            path: Path of a served page.
            fresh: Load a new document even if the tab has one (the page's own state is reset).
        """
        shown = self._page
        if path in self._tabs:
            self._tabs.move_to_end(path)
            if self._tabs[path][0] is not shown:
                self._page, self._devtools = self._tabs[path]
                self._mouse_at = None  # the mouse of another tab may be elsewhere
            if fresh:
                if not self._take_spare(path):
                    self.goto(path)
            elif urlsplit(self.url).path != path:
                self.goto(path)
        else:
            if self._tabs:  # the first page opened takes the initial blank tab
                if len(self._tabs) >= self.config.max_tabs:
                    _, (old, old_devtools) = self._tabs.popitem(last=False)
                    old_devtools.close()
                    self._call(old.close)
                self._page = self._call(self._new_page)
                self._devtools = self._call(self._connect, self._page)
                self._mouse_at = None
            assert self._devtools is not None
            self._tabs[path] = (self._page, self._devtools)
            self.goto(path)
        if self._page is not shown:
            self._call(self._focus)
        self._last_fresh = path if fresh else None

    def _focus(self) -> None:
        """Gives the shown tab the window focus, which a newer tab takes.

        Whether a focused window's page behaves differently shows, for example, in ``<select>``
        elements: a click opens their option list only there.
        """
        assert self._devtools is not None
        self._devtools.call("Page.bringToFront")

    @property
    def _corner(self) -> tuple[int, int]:
        """The viewport's far corner, where a parked mouse hovers over nothing."""
        width, height = self.config.viewport
        return width - 1, height - 1

    def preload(self) -> None:
        """Starts loading, in a spare tab, the next fresh copy of the page last opened fresh.

        The next ``open(path, fresh=True)`` of that page then shows the spare's copy and the tab
        it replaces becomes the spare. Returns at once: the load runs while the caller goes on
        (an env calls this after observing a reset, so that the load overlaps the episode's
        steps rather than the reset's own work). Does nothing unless ``config.preload``.
        """
        if self.config.preload and self._last_fresh is not None:
            self._call(self._preload, self._last_fresh)

    def _take_spare(self, path: str) -> bool:
        """Shows the spare's copy of ``path`` in place of the current tab, if it has one."""
        spare = self._spare
        if spare is None or spare.path != path or spare.navigation is None:
            return False
        navigation, spare.path, spare.navigation = spare.navigation, None, None
        try:
            self._call(self._await_load, spare.devtools, f"{ORIGIN}{path}", navigation)
        except BrowserCrashed:
            raise
        except BrowserError:
            return False  # the current tab loads it instead
        self._spare = _Spare(self._page, self._devtools)  # type: ignore[arg-type]
        self._page, self._devtools = spare.page, spare.devtools
        self._tabs[path] = (self._page, self._devtools)
        # Where _preload put it; under begin-frame control, wherever the tab had it.
        self._mouse_at = None if self._begin_frames else self._corner
        return True

    def _preload(self, path: str) -> None:
        """Makes the spare tab load a fresh copy of ``path`` (without waiting for it)."""
        spare = self._spare
        if spare is None:
            page = self._new_page()
            spare = self._spare = _Spare(page, self._connect(page))
            self._focus()  # the new tab took the focus; the shown tab gets it back
        elif spare.navigation is not None:
            if spare.path == path:
                return
            # Let the other page finish loading first: the wait for the new one must not take
            # it for the new document.
            navigation, spare.path, spare.navigation = spare.navigation, None, None
            with contextlib.suppress(BrowserError):
                self._await_load(spare.devtools, "the spare tab's page", navigation)
        if not self._begin_frames:
            # The new document starts with the mouse where a reset parks it (see park_mouse).
            # A tab in the background draws no frames on request, so under begin-frame control
            # the mouse is parked once the tab is shown instead (see _take_spare).
            spare.devtools.call(*_mouse_event("mouseMoved", *self._corner))
        spare.navigation = self._start_load(spare.devtools, f"{ORIGIN}{path}")
        spare.path = path

    @property
    def url(self) -> str:
        """The page's current URL, as the page reports it (one round trip; ``""`` when closed)."""
        if self._devtools is None:
            return ""
        return str(self.evaluate("() => location.href"))

    def evaluate(self, expression: str, arg: Any = None, timeout: float | None = None) -> Any:
        """Calls a JavaScript function expression, ``(arg) => ...``, in the page.

        Args:
            expression: The function's source (the project's own code, never a user's).
            arg: A JSON-able argument. It reaches the page as data: a JSON string literal that
                the page parses, so no part of it is ever run as code.
            timeout: Time limit in seconds; default ``config.timeout_s``.

        Returns:
            The function's JSON-able result (awaited if it is a promise); ``None`` for
            ``undefined``.

        Raises:
            BrowserError: The function threw.
            BrowserCrashed: The browser died or the call outlived its time limit.
        """
        return self._call(self._evaluate, expression, arg, timeout=timeout)

    def evaluate_json(self, expression: str, arg: Any = None, timeout: float | None = None) -> Any:
        """Like :meth:`evaluate` for a large JSON-able result, moved as one JSON string."""
        text = self.evaluate(_as_json(expression), arg, timeout)
        return None if text is None else json.loads(text)

    def observe(
        self,
        expression: str,
        arg: Any = None,
        size: tuple[int, int] | None = None,
        screenshot: bool = True,
        timeout: float | None = None,
    ) -> tuple[Any, np.ndarray | None]:
        """:meth:`evaluate_json` and :meth:`screenshot` of one page state, in one round trip.

        Both commands go out together: the function runs while Chromium waits for the frame to
        capture, which costs most of a screenshot. The function must not change what the page
        shows (reading the page is what it is for).

        Args:
            expression: A function expression, as for :meth:`evaluate`.
            arg: Its JSON-able argument.
            size: ``(height, width)`` of the screenshot; ``None`` keeps the viewport size.
            screenshot: ``False`` skips the capture (the image is then ``None``).
            timeout: Time limit in seconds; default ``config.timeout_s``.

        Returns:
            The function's result and the screenshot.
        """
        return self._call(self._observe, expression, arg, size, screenshot, timeout=timeout)

    def _observe(
        self, expression: str, arg: Any, size: tuple[int, int] | None, screenshot: bool
    ) -> tuple[Any, np.ndarray | None]:
        assert self._devtools is not None
        read = ("Runtime.evaluate", _evaluate_params(_as_json(expression), arg))
        if screenshot:
            shot, answer = self._devtools.batch(self._capture, read)
        else:
            shot, answer = None, self._devtools.call(*read)
        text = _evaluated(answer)
        image = None if shot is None else _decode_png(_shot_data(shot), size)
        return (None if text is None else json.loads(text)), image

    def _evaluate(self, expression: str, arg: Any, devtools: _DevTools | None = None) -> Any:
        devtools = devtools or self._devtools
        assert devtools is not None
        return _evaluated(devtools.call("Runtime.evaluate", _evaluate_params(expression, arg)))

    def mouse_click(self, x: float, y: float) -> None:
        """Presses and releases the left button at viewport coordinates (x, y)."""
        self._call(self._click, x, y)

    def mouse_move(self, x: float, y: float) -> None:
        """Moves the mouse to viewport coordinates (x, y)."""
        self._call(self._mouse, "mouseMoved", x, y)

    def park_mouse(self) -> None:
        """Moves the mouse to the viewport's far corner, where it hovers over nothing.

        Costs nothing when the mouse is already there (a reset after a reset).
        """
        if self._mouse_at != self._corner:
            self.mouse_move(*self._corner)

    def mouse_drag(self, x1: float, y1: float, x2: float, y2: float, steps: int = 5) -> None:
        """Drags with the left button from (x1, y1) to (x2, y2)."""
        self._call(self._mouse, "mouseMoved", x1, y1)
        on_select = self._begin_frames and self._call(self._evaluate, _SELECT_AT, [x1, y1])
        self._call(self._mouse, "mousePressed", x1, y1)
        if on_select:
            self._call(self._close_option_list)
        for i in range(1, steps + 1):
            t = i / steps
            self._call(self._mouse, "mouseMoved", x1 + (x2 - x1) * t, y1 + (y2 - y1) * t, 1)
        self._call(self._mouse, "mouseReleased", x2, y2)

    def _mouse(self, kind: str, x: float, y: float, buttons: int | None = None) -> None:
        assert self._devtools is not None
        self._mouse_at = None
        if kind == "mouseMoved":
            self._move(self._devtools, x, y, buttons)
        else:
            self._devtools.call(*_mouse_event(kind, x, y, buttons))
        self._mouse_at = (x, y)

    def _move(self, devtools: _DevTools, x: float, y: float, buttons: int | None = None) -> None:
        """Moves the mouse in a tab.

        Chromium hands mouse moves to the page in its next frame; under begin-frame control
        the move therefore brings frames that draw nothing until the page has taken it, or it
        would wait for the next screenshot. One frame is not always enough: on a page that
        has been idle, the frame can come before the page has asked for one.
        """
        move = devtools.send(*_mouse_event("mouseMoved", x, y, buttons))
        if self._begin_frames:
            for _ in range(_MOVE_FRAMES):
                devtools.call("HeadlessExperimental.beginFrame", {"noDisplayUpdates": True})
                if devtools.answered(move):
                    break
                time.sleep(0.0005)
        devtools.result(move)

    def _click(self, x: float, y: float) -> None:
        # Press and release in one round trip: the release is queued behind the press.
        assert self._devtools is not None
        self._mouse_at = None
        click = [_mouse_event("mousePressed", x, y), _mouse_event("mouseReleased", x, y)]
        if self._begin_frames:  # is there a <select> to open under the mouse?
            click.insert(0, ("Runtime.evaluate", _evaluate_params(_SELECT_AT, [x, y])))
        answers = self._devtools.batch(*click)
        self._mouse_at = (x, y)
        if self._begin_frames and _evaluated(answers[0]):
            self._close_option_list()

    def _close_option_list(self) -> None:
        """Waits briefly for a ``<select>``'s option list to open, and closes it (see below).

        The list opens a moment after the action that opens it, and not at all in a window
        without the focus, so the wait is bounded.
        """
        deadline = time.monotonic() + _OPTION_LIST_WAIT_S
        while True:
            if self._evaluate(_OPTION_LIST_OPEN, None):
                self._escape()
                return
            if time.monotonic() > deadline:
                return
            time.sleep(0.002)

    def _key(self, fn: Any, text: str) -> None:
        """A Playwright keyboard call; under begin-frame control, closes an option list it opens."""
        on_select = self._begin_frames and self._evaluate(_SELECT_FOCUSED, None)
        fn(text)
        if on_select:
            self._close_option_list()

    def _escape(self) -> None:
        """Closes a ``<select>``'s option list with Escape, as a user would.

        Chromium draws an open option list in a popup of its own, which under begin-frame
        control never draws its frame, and every later frame of the tab waits for it. So an
        action that opens one (a click on a ``<select>``, a key that opens it) closes it again:
        the ``<select>`` keeps the focus, as after choosing an option; ``select(id, option)``
        and the arrow keys change its value. (Screenshots never showed the list: it is not
        part of the page's picture.)
        """
        assert self._devtools is not None
        key = {"key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27}
        self._devtools.batch(
            ("Input.dispatchKeyEvent", {"type": "keyDown", **key}),
            ("Input.dispatchKeyEvent", {"type": "keyUp", **key}),
        )

    def press(self, key: str) -> None:
        """Presses a key (Playwright key names, e.g. ``"Enter"``, ``"Control+a"``)."""
        self._call(self._key, self._page.keyboard.press, key)

    def insert_text(self, text: str) -> None:
        """Inserts text at the focus as one input event (fast, like pasting)."""
        assert self._devtools is not None
        self._call(self._devtools.call, "Input.insertText", {"text": text})

    def type_text(self, text: str) -> None:
        """Types text key by key (key events fire for every character)."""
        self._call(self._key, self._page.keyboard.type, text)

    def screenshot(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """Captures the viewport.

        Args:
            size: ``(height, width)`` to resize to; ``None`` keeps the viewport size.

        Returns:
            ``uint8`` array of shape ``(height, width, 3)``.
        """
        assert self._devtools is not None
        shot = self._call(self._devtools.call, *self._capture)
        return _decode_png(_shot_data(shot), size)

    @property
    def _capture(self) -> tuple[str, dict[str, Any]]:
        """The command that captures the viewport: a frame drawn for it, or the next one."""
        if self._begin_frames:
            return "HeadlessExperimental.beginFrame", {"screenshot": _CAPTURE}
        return "Page.captureScreenshot", _CAPTURE

    @property
    def begin_frames(self) -> bool:
        """Whether frames are drawn only on request (see ``BrowserConfig.begin_frames``)."""
        return self._begin_frames


_CAPTURE = {"format": "png", "optimizeForSpeed": True}

#: Whether a ``<select>``'s option list is open (``:open`` is recent; older engines: false).
_OPTION_LIST_OPEN = """() => {
  try { return document.querySelector('select:open') !== null; } catch (e) { return false; }
}"""

#: Whether the mouse at ``[x, y]`` is over a ``<select>`` (whose option list a click opens).
_SELECT_AT = """([x, y]) => {
  const el = document.elementFromPoint(x, y);
  return el !== null && el.closest('select') !== null;
}"""

#: Whether a ``<select>`` has the focus (whose option list some keys open).
_SELECT_FOCUSED = "() => document.activeElement instanceof HTMLSelectElement"

#: How long an action that may open an option list waits for it (see ``_close_option_list``).
_OPTION_LIST_WAIT_S = 0.25

#: Most frames a mouse move brings under begin-frame control before it waits for its answer.
_MOVE_FRAMES = 200


def _is_headless_shell(executable: str | None) -> bool:
    """Whether ``executable`` names a Chromium headless shell (which has begin-frame control)."""
    if not executable:
        return False
    return "headless-shell" in executable or "headless_shell" in executable


def _shot_data(answer: dict[str, Any]) -> str:
    """The base64 PNG of a capture command's answer."""
    data = answer.get("data") or answer.get("screenshotData")
    if not data:
        raise BrowserError("Chromium drew no frame to capture")
    return data


def _mouse_event(
    kind: str, x: float, y: float, buttons: int | None = None
) -> tuple[str, dict[str, Any]]:
    """An ``Input.dispatchMouseEvent`` command with the left button (held if ``buttons``)."""
    params: dict[str, Any] = {"type": kind, "x": float(x), "y": float(y)}
    if kind != "mouseMoved":
        params.update(button="left", clickCount=1)
    elif buttons:
        params.update(button="left", buttons=buttons)
    return "Input.dispatchMouseEvent", params


# Waits for the load event of a document that :meth:`BrowserSession._start_load` did not mark.
# 'old' while the document being left is still there, then 'loaded', or 'HTTP <status>' when the
# server answered with an error (the headless shell shows an error response's body as a page,
# where the full browser's navigation fails).
_LOADED = """() => window.__similarLeaving ? 'old' : new Promise((done) => {
  const finish = () => {
    const entry = performance.getEntriesByType('navigation')[0];
    const status = entry ? entry.responseStatus : 0;
    done(status >= 400 ? `HTTP ${status}` : 'loaded');
  };
  if (document.readyState === 'complete') finish();
  else window.addEventListener('load', finish, {once: true});
})"""


def _context_gone(e: Exception) -> bool:
    text = str(e).lower()
    return "context was destroyed" in text or "navigated or closed" in text


def _evaluate_params(expression: str, arg: Any) -> dict[str, Any]:
    """``Runtime.evaluate`` parameters that call ``expression`` with ``arg`` as data."""
    # The argument travels as a JSON string literal that the page parses: data, never code.
    literal = json.dumps(json.dumps(arg))
    return {
        "expression": f"({expression})(JSON.parse({literal}))",
        "returnByValue": True,
        "awaitPromise": True,
    }


def _evaluated(answer: dict[str, Any]) -> Any:
    """The value of a ``Runtime.evaluate`` answer; raises :class:`BrowserError` if it threw."""
    if "exceptionDetails" in answer:
        details = answer["exceptionDetails"]
        thrown = details.get("exception", {}).get("description") or details.get("text", "")
        raise BrowserError(f"the page's script failed: {thrown}")
    return answer.get("result", {}).get("value")


def _as_json(expression: str) -> str:
    """A function expression whose result comes back as one JSON string.

    Returning a large result by value costs more than serializing it in the page.
    """
    return f"(arg) => JSON.stringify(({expression})(arg))"


def _decode_png(data: str, size: tuple[int, int] | None) -> np.ndarray:
    """A base64 PNG as ``uint8`` RGB, resized to ``size = (height, width)`` if given."""
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    if image.mode != "RGB":
        image = image.convert("RGB")
    if size is not None and image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def _looks_dead(e: Exception) -> bool:
    text = str(e).lower()
    return any(
        s in text
        for s in (
            "target closed",
            "has been closed",
            "browser has disconnected",
            "connection closed",
            "target page, context or browser",
            "crashed",
        )
    )


def _short(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__


def _cleanup(handles: dict[str, Any]) -> None:
    """Finalizer: kills a forgotten session's browser, removes its profile, stops its threads."""
    _kill_tree(handles["pid"])
    if handles["profile"]:
        shutil.rmtree(handles["profile"], ignore_errors=True)
    handles["watchdog"].close()
    handles["server"].close()
