"""The one place that talks to Chromium.

A :class:`BrowserSession` owns one headless Chromium (Playwright's sync API driving Debian's
``/usr/bin/chromium`` or any Chromium given by path) with one page that is reused across episodes.

Lockdown: the page reaches only the files the session serves. Chromium is started with the
session's :class:`~similar_gym.serving.PageServer` as its proxy for every address, loopback
included, and with a host resolver that resolves nothing, so every request the page makes arrives
at that server: requests to the session's origin (``http://similar.test/``) are answered from the
mounted folders, everything else (other hosts and ports, HTTPS and WebSocket tunnels) is refused
and recorded in :attr:`BrowserSession.blocked_requests`.

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
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    # Chromium's own calls home would only be refused by the proxy; do not even try.
    "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter",
    "--disable-dev-shm-usage",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--mute-audio",
    "--hide-scrollbars",
    "--font-render-hinting=none",
    # Screenshots wait for the next frame; unthrottled frames halve that wait.
    "--disable-frame-rate-limit",
    "--disable-gpu-vsync",
    # Every request goes to the session's proxy (loopback too); no host resolves; no UDP.
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
)

_PAGE_AGENT = (Path(__file__).parent / "js" / "page_agent.js").read_text(encoding="utf-8")


class BrowserError(RuntimeError):
    """A browser operation failed; the session is still usable."""


class BrowserCrashed(BrowserError):
    """The browser died or hung and was killed; :meth:`BrowserSession.relaunch` it."""


def default_executable() -> str | None:
    """Returns the Chromium to use: ``$SIMILAR_CHROMIUM``, else Debian's, else Playwright's own."""
    env = os.environ.get("SIMILAR_CHROMIUM")
    if env:
        return env
    for name in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
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
        kwargs["args"] = [*CHROMIUM_FLAGS, *(kwargs.get("args") or ())]
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
        launch_timeout_s: Time limit of starting Chromium.
        max_tabs: Pages kept loaded for :meth:`BrowserSession.open`.
        extra_args: More Chromium flags.
    """

    viewport: tuple[int, int] = (640, 480)
    executable_path: str | None = None
    timeout_s: float = 10.0
    launch_timeout_s: float = 30.0
    max_tabs: int = 6
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
        self._cdp: Any = None
        # Loaded pages by path, least recently shown first (see :meth:`open`).
        self._tabs: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
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
        self._pw = _Driver.acquire()
        self._profile = tempfile.mkdtemp(prefix="similar-chromium-")
        self._handles["profile"] = self._profile
        w, h = self.config.viewport
        try:
            self._context = self._pw.chromium.launch_persistent_context(
                self._profile,
                executable_path=executable,
                headless=True,
                args=[
                    *CHROMIUM_FLAGS,
                    f"--proxy-server={self._server.address}",
                    *self.config.extra_args,
                ],
                viewport={"width": w, "height": h},
                device_scale_factor=1,
                service_workers="block",
                accept_downloads=False,
                timeout=self.config.launch_timeout_s * 1000,
            )
        except Exception as e:
            _Driver.release()
            shutil.rmtree(self._profile, ignore_errors=True)
            raise BrowserError(
                f"could not start Chromium ({executable or 'Playwright default'}): {e}. "
                "Install Debian's `chromium` or set SIMILAR_CHROMIUM to a Chromium binary."
            ) from e
        self._pid = self._find_browser_pid()
        self._handles["pid"] = self._pid
        self._context.set_default_timeout(self.config.timeout_s * 1000)
        self._context.add_init_script(_PAGE_AGENT)
        pages = self._context.pages
        self._page = pages[0] if pages else self._context.new_page()
        self._cdp = self._context.new_cdp_session(self._page)
        self._tabs.clear()
        self._mouse_at: tuple[float, float] | None = None
        self._dead = False

    def _find_browser_pid(self) -> int | None:
        flag = f"--user-data-dir={self._profile}"
        for proc in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                cmd = proc.cmdline()
                if flag in cmd and not any(a.startswith("--type=") for a in cmd):
                    return proc.pid
        return None

    @property
    def pid(self) -> int | None:
        """Process id of the Chromium browser process (``None`` when closed)."""
        return self._pid

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
            self._context = self._page = self._cdp = None
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
        """Loads ``{ORIGIN}{path}`` (a served file) in the current tab and waits for it."""
        self._call(self._page.goto, f"{ORIGIN}{path}")

    def open(self, path: str, fresh: bool = False) -> None:
        """Shows the page at ``path``, reusing a tab that already has it loaded.

        Up to ``config.max_tabs`` pages stay loaded, so a multi-task env switches between apps
        without reloading them; the least recently shown tab is closed beyond that. A tab whose
        document has navigated elsewhere is loaded again.

        Args:
            path: Path of a served page.
            fresh: Load a new document even if the tab has one (the page's own state is reset).
        """
        if path in self._tabs:
            self._tabs.move_to_end(path)
            self._page, self._cdp = self._tabs[path]
            if fresh or urlsplit(self._page.url).path != path:
                self.goto(path)
            return
        if self._tabs:  # the first page opened takes the initial blank tab
            if len(self._tabs) >= self.config.max_tabs:
                _, (old, _) = self._tabs.popitem(last=False)
                self._call(old.close)
            self._page = self._call(self._context.new_page)
            self._cdp = self._call(self._context.new_cdp_session, self._page)
        self._tabs[path] = (self._page, self._cdp)
        self.goto(path)

    @property
    def url(self) -> str:
        """The page's current URL."""
        return self._page.url if self._page is not None else ""

    def evaluate(self, expression: str, arg: Any = None, timeout: float | None = None) -> Any:
        """Evaluates a JavaScript function expression in the page, ``(arg) => ...``."""
        return self._call(self._page.evaluate, expression, arg, timeout=timeout)

    def evaluate_json(self, expression: str, arg: Any = None, timeout: float | None = None) -> Any:
        """Like :meth:`evaluate` for a JSON-able result, moved as one JSON string.

        Playwright's value serialization walks large results value by value in Python; a single
        string is several times faster for the observation's element lists.
        """
        text = self.evaluate(f"(arg) => JSON.stringify(({expression})(arg))", arg, timeout)
        return None if text is None else json.loads(text)

    def mouse_click(self, x: float, y: float) -> None:
        """Presses and releases the left button at viewport coordinates (x, y)."""
        self._call(self._mouse, "mousePressed", x, y)
        self._call(self._mouse, "mouseReleased", x, y)

    def mouse_move(self, x: float, y: float) -> None:
        """Moves the mouse to viewport coordinates (x, y)."""
        self._call(self._mouse, "mouseMoved", x, y)

    def park_mouse(self) -> None:
        """Moves the mouse to the viewport's far corner, where it hovers over nothing.

        Costs nothing when the mouse is already there (a reset after a reset).
        """
        width, height = self.config.viewport
        if self._mouse_at != (width - 1, height - 1):
            self.mouse_move(width - 1, height - 1)

    def mouse_drag(self, x1: float, y1: float, x2: float, y2: float, steps: int = 5) -> None:
        """Drags with the left button from (x1, y1) to (x2, y2)."""
        self._call(self._mouse, "mouseMoved", x1, y1)
        self._call(self._mouse, "mousePressed", x1, y1)
        for i in range(1, steps + 1):
            t = i / steps
            self._call(self._mouse, "mouseMoved", x1 + (x2 - x1) * t, y1 + (y2 - y1) * t, 1)
        self._call(self._mouse, "mouseReleased", x2, y2)

    def _mouse(self, kind: str, x: float, y: float, buttons: int | None = None) -> None:
        params: dict[str, Any] = {"type": kind, "x": float(x), "y": float(y)}
        if kind != "mouseMoved":
            params.update(button="left", clickCount=1)
        elif buttons:
            params.update(button="left", buttons=buttons)
        self._mouse_at = None
        self._cdp.send("Input.dispatchMouseEvent", params)
        self._mouse_at = (x, y)

    def press(self, key: str) -> None:
        """Presses a key (Playwright key names, e.g. ``"Enter"``, ``"Control+a"``)."""
        self._call(self._page.keyboard.press, key)

    def insert_text(self, text: str) -> None:
        """Inserts text at the focus as one input event (fast, like pasting)."""
        self._call(self._page.keyboard.insert_text, text)

    def type_text(self, text: str) -> None:
        """Types text key by key (key events fire for every character)."""
        self._call(self._page.keyboard.type, text)

    def screenshot(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """Captures the viewport.

        Args:
            size: ``(height, width)`` to resize to; ``None`` keeps the viewport size.

        Returns:
            ``uint8`` array of shape ``(height, width, 3)``.
        """
        shot = self._call(
            self._cdp.send, "Page.captureScreenshot", {"format": "png", "optimizeForSpeed": True}
        )
        image = Image.open(io.BytesIO(base64.b64decode(shot["data"])))
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
