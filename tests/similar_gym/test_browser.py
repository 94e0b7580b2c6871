import contextlib
import http.server
import threading
import time
import typing
from pathlib import Path

import pytest

from similar_gym.browser import (
    BrowserConfig,
    BrowserCrashed,
    BrowserError,
    BrowserSession,
    default_executable,
)

PROBE_JS = """async (port) => {
  const results = {};
  const attempt = async (name, fn) => {
    try { await fn(); results[name] = 'reached'; } catch (e) { results[name] = 'blocked'; }
  };
  const load = (tag, url) => new Promise((ok, fail) => {
    const el = document.createElement(tag);
    el.onload = ok; el.onerror = fail; el.src = url; document.body.appendChild(el);
    setTimeout(() => fail(new Error('timeout')), 3000);
  });
  await attempt('fetch-ip', () => fetch(`http://127.0.0.1:${port}/fetch`));
  await attempt('fetch-localhost', () => fetch(`http://localhost:${port}/fetch2`));
  await attempt('fetch-public', () => fetch('https://example.com/'));
  await attempt('image', () => load('img', `http://127.0.0.1:${port}/img.png`));
  await attempt('script', () => load('script', `http://127.0.0.1:${port}/x.js`));
  await attempt('websocket', () => new Promise((ok, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.onopen = ok; ws.onerror = fail; setTimeout(() => fail(new Error('timeout')), 3000);
  }));
  await attempt('beacon', async () => {
    if (!navigator.sendBeacon(`http://127.0.0.1:${port}/beacon`, 'x')) throw new Error('no');
    await new Promise((r) => setTimeout(r, 300));
    throw new Error('beacon result is checked on the server side');
  });
  await attempt('traversal', async () => {
    const r = await fetch('/site/%2e%2e/%2e%2e/etc/passwd');
    if (!r.ok) throw new Error(String(r.status));
  });
  await attempt('served', async () => {
    const r = await fetch('/site/data.txt');
    if ((await r.text()) !== 'local') throw new Error('wrong body');
  });
  return results;
}"""


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: typing.ClassVar[list[str]] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"reached")

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    _CountingHandler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(tmp_path):
    (tmp_path / "index.html").write_text("<html><body><p>hello</p></body></html>")
    (tmp_path / "data.txt").write_text("local")
    return tmp_path


def test_page_reaches_only_served_files(local_server, site):
    port = local_server.server_address[1]
    session = BrowserSession(mounts={"site": site})
    try:
        session.goto("/site/index.html")
        results = session.evaluate(PROBE_JS, port)
        # Nor can it reach the DevTools endpoint that drives the browser.
        devtools = session.evaluate(PROBE_JS, session.devtools_port)
        # A page-initiated navigation away is blocked too.
        session.evaluate(f"() => {{ location.href = 'http://127.0.0.1:{port}/nav'; }}")
        time.sleep(0.5)
    finally:
        session.close()
    assert results.pop("served") == "reached"
    assert set(results.values()) == {"blocked"}, results
    assert devtools.pop("served") == "reached"
    assert set(devtools.values()) == {"blocked"}, devtools
    assert _CountingHandler.hits == [], "a request reached the local server"
    assert any(f"127.0.0.1:{port}" in u for u in session.blocked_requests)


def test_watchdog_kills_a_hung_page_and_relaunch_recovers(site):
    session = BrowserSession(BrowserConfig(timeout_s=2.0), mounts={"site": site})
    try:
        session.goto("/site/index.html")
        start = time.monotonic()
        with pytest.raises(BrowserCrashed):
            session.evaluate("() => { while (true) {} }")
        assert time.monotonic() - start < 8
        assert not session.alive
        session.relaunch()
        session.goto("/site/index.html")
        assert session.evaluate("() => document.body.innerText") == "hello"
    finally:
        session.close()
    assert session.pid is None


def test_evaluate_passes_arguments_as_data_and_reports_page_errors(site):
    session = BrowserSession(mounts={"site": site})
    try:
        session.goto("/site/index.html")
        tricky = "\"); document.title = 'owned'; (\"\u2028</script>"
        assert session.evaluate("(s) => s", tricky) == tricky
        assert session.evaluate("() => document.title") == ""
        assert session.evaluate("([a, b]) => ({sum: a + b})", [2, 3]) == {"sum": 5}
        assert session.evaluate("async () => undefined") is None
        with pytest.raises(BrowserError, match="boom"):
            session.evaluate("() => { throw new Error('boom'); }")
        assert session.alive
        text, image = session.observe("() => document.body.innerText", size=(24, 32))
        assert text == "hello"
        assert image is not None and image.shape == (24, 32, 3)
        text, image = session.observe("() => 7", screenshot=False)
        assert (text, image) == (7, None)
        # A missing file is a clear error, not a hang; the next load works.
        with pytest.raises(BrowserError, match="could not load"):
            session.goto("/site/missing.html")
        session.goto("/site/index.html")
        assert session.url.endswith("/site/index.html")
        assert session.evaluate("() => document.body.innerText") == "hello"
    finally:
        session.close()


def test_preload_readies_the_next_fresh_copy_in_a_spare_tab(site):
    (site / "other.html").write_text("<html><body><p>other</p></body></html>")
    session = BrowserSession(mounts={"site": site})
    origin = "() => performance.timeOrigin"
    try:
        session.open("/site/index.html", fresh=True)
        session.evaluate("() => { window.mark = 1; document.body.innerText = 'changed'; }")
        session.preload()
        time.sleep(0.5)
        before = time.time() * 1000
        session.open("/site/index.html", fresh=True)
        # A new document, loaded before this open began: the spare's copy.
        assert session.evaluate(origin) < before
        assert session.evaluate("() => [window.mark ?? null, document.body.innerText]") == [
            None,
            "hello",
        ]
        assert session.url.endswith("/site/index.html")
        # Another page: the spare (now loading index.html again) does not stand in for it.
        session.preload()
        session.open("/site/other.html", fresh=True)
        assert session.evaluate("() => document.body.innerText") == "other"
        session.preload()
        session.open("/site/other.html", fresh=True)
        assert session.evaluate("() => document.body.innerText") == "other"
        # Opened back to back, the next copy is waited for, not skipped.
        session.preload()
        session.evaluate("() => { window.mark = 2; }")
        session.open("/site/other.html", fresh=True)
        assert session.evaluate("() => window.mark ?? null") is None
    finally:
        session.close()
    plain = BrowserSession(BrowserConfig(preload=False), mounts={"site": site})
    try:
        plain.open("/site/index.html", fresh=True)
        plain.preload()
        time.sleep(0.5)
        before = time.time() * 1000
        plain.open("/site/index.html", fresh=True)
        assert plain.evaluate(origin) >= before - 1
    finally:
        plain.close()


HOVER_PAGE = """<html><head><style>
  body { margin: 0; } #box { width: 100px; height: 100px; background: rgb(0, 0, 255); }
  #box:hover { background: rgb(255, 0, 0); }
</style></head><body><div id="box"></div><script>
  window.moves = 0; document.addEventListener('mousemove', () => { window.moves++; });
  document.addEventListener('click', () => { document.body.style.background = 'rgb(0, 255, 0)'; });
</script></body></html>"""

# Frames drawn on request, and Chromium's own frame clock with and without its 60 Hz limit.
FRAME_MODES = [
    pytest.param({"begin_frames": True}, id="begin-frames"),
    pytest.param({"begin_frames": False, "frame_rate_limit": False}, id="clock-unlimited"),
    pytest.param({"begin_frames": False, "frame_rate_limit": True}, id="clock-60hz"),
]


@contextlib.contextmanager
def page_session(tmp_path, html, mode):
    """A 200x150 session in frame ``mode`` showing ``html``."""
    (tmp_path / "page.html").write_text(html)
    session = BrowserSession(BrowserConfig(viewport=(200, 150), **mode), mounts={"site": tmp_path})
    try:
        session.goto("/site/page.html")
        yield session
    finally:
        session.close()


def test_begin_frames_are_on_by_default_with_a_headless_shell(site):
    session = BrowserSession(mounts={"site": site})
    try:
        assert session.begin_frames == ("headless" in (default_executable() or ""))
    finally:
        session.close()


@pytest.mark.parametrize("mode", FRAME_MODES)
def test_mouse_moves_clicks_and_screenshots_agree_in_every_frame_mode(tmp_path, mode):
    with page_session(tmp_path, HOVER_PAGE, mode) as session:
        session.park_mouse()
        assert tuple(session.screenshot()[50, 50]) == (0, 0, 255)
        session.mouse_move(50, 50)  # the move reaches the page and the hover shows at once
        assert session.evaluate("() => window.moves") >= 1
        assert tuple(session.screenshot()[50, 50]) == (255, 0, 0)
        session.mouse_click(150, 120)
        shot = session.screenshot((75, 100))  # resized: (height, width)
        assert shot.shape == (75, 100, 3) and tuple(shot[60, 80]) == (0, 255, 0)
        session.mouse_drag(150, 120, 10, 10)
        assert tuple(session.screenshot()[50, 50]) == (255, 0, 0)


def test_begin_frames_on_a_browser_without_them_is_a_clear_error(site):
    full = "/usr/lib/chromium/chromium"  # Debian's full browser (no begin-frame control)
    if not Path(full).exists():
        pytest.skip("Debian's full chromium is not installed")
    with pytest.raises(BrowserError, match="begin_frames=False"):
        BrowserSession(BrowserConfig(executable_path=full, begin_frames=True))


SELECT_PAGE = """<html><body style="margin: 0">
<select id="s" style="margin: 20px; width: 120px"><option>one</option><option>two</option>
<option>three</option></select></body></html>"""


@pytest.mark.parametrize("mode", FRAME_MODES)
def test_a_select_keeps_working_and_screenshots_keep_coming_in_every_frame_mode(tmp_path, mode):
    # Under begin-frame control an open option list would stop every later frame; the session
    # closes one that a click or a key opened, and the <select> keeps the focus.
    with page_session(tmp_path, SELECT_PAGE, mode) as session:
        session.screenshot()
        value = "() => [document.activeElement.id, document.getElementById('s').value]"
        for _ in range(2):
            session.mouse_click(60, 30)
            assert session.screenshot().shape == (150, 200, 3)
            assert session.evaluate(value)[0] == "s"
        session.press("Escape")
        session.press("ArrowDown")
        assert session.screenshot().shape == (150, 200, 3)
        assert session.evaluate(value) == ["s", "two"]
        session.press("Alt+ArrowDown")  # opens the list where the window has the focus
        session.mouse_drag(60, 30, 150, 100)
        assert session.screenshot().shape == (150, 200, 3)


def test_a_browser_that_dies_at_start_up_is_started_again(site, tmp_path):
    real = default_executable()
    if real is None:
        pytest.skip("no Chromium")
    # A Chromium that dies at its first start, as Chromium now and then does on a busy machine.
    count = tmp_path / "starts"
    wrapper = tmp_path / "bin" / Path(real).name
    wrapper.parent.mkdir()
    wrapper.write_text(
        f'#!/bin/sh\necho x >> "{count}"\n'
        f'[ "$(wc -l < "{count}")" -ge 2 ] || kill -SEGV $$\nexec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    session = BrowserSession(BrowserConfig(executable_path=str(wrapper)), mounts={"site": site})
    try:
        session.goto("/site/index.html")
        assert session.evaluate("() => document.body.innerText") == "hello"
        assert len(count.read_text().split()) == 2
    finally:
        session.close()
    count.unlink()
    with pytest.raises(BrowserError, match="could not start Chromium"):
        BrowserSession(BrowserConfig(executable_path=str(wrapper), launch_attempts=1))
    with pytest.raises(ValueError, match="launch_attempts"):
        BrowserSession(BrowserConfig(launch_attempts=0))
