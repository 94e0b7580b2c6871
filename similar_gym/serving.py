"""The only server a session's Chromium can reach: its proxy, which serves the task pages.

Each :class:`~similar_gym.browser.BrowserSession` starts one :class:`PageServer` on a free
loopback port and launches Chromium with ``--proxy-server`` pointing at it, loopback included
(``--proxy-bypass-list=<-loopback>``) and a host resolver that resolves nothing. Every request the
browser makes therefore arrives here, in proxy form (``GET http://similar.test/apps/shop/...``).
Requests for the session origin are answered from the mounted folders; a missing file is a 404.
Anything else (another host, another port, an HTTPS or WebSocket tunnel, a request that is not a
GET or HEAD) is recorded and the connection is closed without an answer, so the page sees a
network error.

Served files carry a ``Cache-Control`` header: they never change while a session runs, so
Chromium's cache answers for them when an episode reloads its page, and reloading a page costs no
trip through Python.
"""

from __future__ import annotations

import contextlib
import http.server
import mimetypes
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

ORIGIN = "http://similar.test"
"""The origin every served page is loaded from (it exists only behind the session's proxy)."""

_CACHE_CONTROL = "max-age=86400"


@dataclass
class Mounts:
    """Folders served under :data:`ORIGIN`, with an in-memory cache of their files.

    Attributes:
        folders: URL prefix -> folder served at ``{ORIGIN}/{prefix}/...``.
        cache: Files already read, by URL path.
    """

    folders: dict[str, Path] = field(default_factory=dict)
    cache: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def resolve(self, url: str) -> tuple[bytes, str] | None:
        """Returns ``(body, content type)`` of a served URL, or ``None``.

        Paths that leave their folder (``..``, symlinks pointing out) resolve to nothing.
        """
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != ORIGIN:
            return None
        path = unquote(parts.path)
        if path in self.cache:
            return self.cache[path]
        for prefix, folder in self.folders.items():
            if not path.startswith(f"/{prefix}/"):
                continue
            file = (folder / path[len(prefix) + 2 :]).resolve()
            if not file.is_relative_to(folder.resolve()) or not file.is_file():
                return None
            mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if mime.startswith("text/") or mime.endswith("javascript"):
                mime += "; charset=utf-8"
            self.cache[path] = (file.read_bytes(), mime)
            return self.cache[path]
        return None


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PageServer

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        url = self.path
        if not url.startswith(f"{ORIGIN}/"):
            self._refuse()
            return
        found = self.server.mounts.resolve(url)
        if found is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, mime = found
        self.send_response(200)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", _CACHE_CONTROL)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _refuse(self) -> None:
        self.server.blocked.append(self.path)
        self.close_connection = True

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_CONNECT = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


class PageServer(http.server.ThreadingHTTPServer):
    """A loopback HTTP proxy that serves :class:`Mounts` and refuses everything else.

    Args:
        mounts: What the origin serves.

    Attributes:
        blocked: URLs (or ``host:port`` of tunnels) the browser asked for and did not get.
    """

    daemon_threads = True

    def __init__(self, mounts: Mounts):
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.mounts = mounts
        self.blocked: list[str] = []
        self._thread = threading.Thread(
            target=self.serve_forever, name="similar-page-server", daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> str:
        """``http://127.0.0.1:PORT``, the value for Chromium's ``--proxy-server``."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        """Stops serving and frees the port (idempotent)."""
        with contextlib.suppress(Exception):
            self.shutdown()
        self.server_close()
