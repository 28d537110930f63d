"""A real local HTTP server that serves feeds for tests and benchmarks.

:class:`FeedServer` runs ``http.server.ThreadingHTTPServer`` on ``127.0.0.1`` (a free port) in
a background thread. Register routes (bytes + content type) and it serves them with ETag and
Last-Modified, answers ``If-None-Match`` / ``If-Modified-Since`` with 304, gzips when asked,
redirects, returns any status, and records every request. Routes can be changed while it
runs (a feed that updates), and the server counts requests in flight per host so tests can
observe concurrency bounds. ``localhost`` and ``127.0.0.1`` reach the same server but count
as different hosts (:meth:`FeedServer.url` takes ``host=``).

Example::

    from tests.support.feedserver import FeedServer

    with FeedServer() as server:
        url = server.serve("/feed.xml", b"<rss ...>", content_type="application/rss+xml")
        server.redirect("/old", "/feed.xml", status=301)
        ...                                   # fetch server.url("/old") twice
        assert server.count("/feed.xml") == 2
        assert server.requests_for("/feed.xml")[1].headers["if-none-match"]
        server.serve("/feed.xml", new_bytes)  # the feed changes; a new ETag goes with it

As a pytest fixture::

    @pytest.fixture
    def feed_server() -> Iterator[FeedServer]:
        with FeedServer() as server:
            yield server

Hostile or slow servers: ``trickle=0.05`` sends the body a few bytes every 0.05 s;
``hold=threading.Event()`` makes the response wait for the event; ``release_in_groups=n``
answers requests in groups of ``n`` (each waits until ``n`` requests, to any route and host,
have arrived in its group), so a client bounded at ``n`` shows exactly ``n`` in flight, with
no sleeps (route every URL of the test this way, and make the total a multiple of ``n``).
A request counts as in flight from its arrival until the server starts its response.
Stopping the server releases every waiting handler.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

AUTO: Final = "auto"
"""``etag=AUTO`` (the default) derives a strong ETag from the body."""

_SAFETY_WAIT = 10.0  # seconds a held handler waits at most, so a broken test cannot hang


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server saw it; ``headers`` has lower-case keys."""

    method: str
    path: str
    host: str
    headers: Mapping[str, str]
    at: float = field(repr=False)


@dataclass(slots=True)
class Route:
    """What one path answers. Build with :meth:`FeedServer.serve` and friends."""

    body: bytes = b""
    content_type: str | None = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    trickle: float | None = None
    hold: threading.Event | None = None
    release_in_groups: int | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FeedServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.server.owner._handle(self, send_body=True)

    def do_HEAD(self) -> None:
        self.server.owner._handle(self, send_body=False)


def _http_date(value: str | datetime | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return format_datetime(value, usegmt=True)


def _etag_matches(header: str, etag: str) -> bool:
    bare = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False


def _not_modified_since(header: str, last_modified: str) -> bool:
    try:
        since = parsedate_to_datetime(header)
        modified = parsedate_to_datetime(last_modified)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None or modified.tzinfo is None:
        return False
    return modified <= since


class FeedServer:
    """A threaded local HTTP server with programmable routes; a context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._log: list[RecordedRequest] = []
        self._in_flight: dict[str, int] = defaultdict(int)
        self._arrived = 0
        self._max_in_flight: dict[str, int] = defaultdict(int)
        self._in_flight_total = 0
        self._max_in_flight_total = 0
        self.released = threading.Event()
        """Set on :meth:`stop`; every waiting handler wakes up and finishes."""
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.owner = self
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> FeedServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"feedserver:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        with self._lock:
            holds = [r.hold for r in self._routes.values() if r.hold is not None]
            self._changed.notify_all()
        for hold in holds:
            hold.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # routes ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        """The absolute URL of ``path``; ``host="localhost"`` reaches the same server."""
        if not path.startswith("/"):
            path = "/" + path
        return f"http://{host or self.host}:{self.port}{path}"

    def route(self, path: str, route: Route) -> str:
        """Add or replace the route at ``path`` (may include a query string); returns its URL."""
        with self._lock:
            self._routes[path] = route
        return self.url(path)

    def serve(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str | None = "application/rss+xml; charset=utf-8",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        etag: str | None = AUTO,
        last_modified: str | datetime | None = None,
        gzip: bool = False,
        trickle: float | None = None,
        hold: threading.Event | None = None,
        release_in_groups: int | None = None,
    ) -> str:
        """Serve ``body`` at ``path``; returns the URL.

        ``etag``: ``AUTO`` derives one from the body, ``None`` sends none, or give your own
        (quoted) value. ``last_modified``: an HTTP date string or an aware datetime.
        ``gzip``: compress when the request accepts gzip. ``headers`` are sent last and
        override the others.
        """
        data = body.encode("utf-8") if isinstance(body, str) else body
        if etag == AUTO:
            etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        return self.route(
            path,
            Route(
                body=data,
                content_type=content_type,
                status=status,
                headers=dict(headers or {}),
                etag=etag,
                last_modified=_http_date(last_modified),
                gzip=gzip,
                trickle=trickle,
                hold=hold,
                release_in_groups=release_in_groups,
            ),
        )

    def redirect(self, path: str, to: str, *, status: int = 301) -> str:
        """Redirect ``path`` to ``to`` (a path or an absolute URL); returns the URL of ``path``."""
        return self.route(
            path,
            Route(status=status, content_type=None, headers={"Location": to}),
        )

    def status(
        self,
        path: str,
        status: int,
        body: bytes = b"",
        *,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Answer ``path`` with ``status`` (e.g. 503) and an optional body."""
        return self.route(
            path,
            Route(
                status=status,
                body=body,
                content_type="text/plain; charset=utf-8",
                headers=dict(headers or {}),
            ),
        )

    def remove(self, path: str) -> None:
        with self._lock:
            self._routes.pop(path, None)

    # observations ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._log if r.path == path]

    def count(self, path: str | None = None) -> int:
        """How many requests were made (to ``path``, or in all)."""
        with self._lock:
            if path is None:
                return len(self._log)
            return sum(1 for r in self._log if r.path == path)

    def max_in_flight(self, host: str | None = None) -> int:
        """The most requests in flight at once, for one host name (``Host`` header without
        the port) or across all hosts."""
        with self._lock:
            if host is None:
                return self._max_in_flight_total
            return self._max_in_flight[host]

    def reset(self) -> None:
        """Forget the request log and the in-flight maxima (routes stay)."""
        with self._lock:
            self._log.clear()
            self._max_in_flight.clear()
            self._max_in_flight_total = 0
            self._arrived = 0

    # the handler -------------------------------------------------------------------------

    def _enter(self, handler: _Handler) -> tuple[Route | None, str, int]:
        host_header = handler.headers.get("Host", "")
        host = urlsplit("//" + host_header).hostname or host_header
        with self._lock:
            self._log.append(
                RecordedRequest(
                    method=handler.command,
                    path=handler.path,
                    host=host,
                    headers={k.lower(): v for k, v in handler.headers.items()},
                    at=time.monotonic(),
                )
            )
            arrival = self._arrived
            self._arrived += 1
            self._in_flight[host] += 1
            self._in_flight_total += 1
            self._max_in_flight[host] = max(self._max_in_flight[host], self._in_flight[host])
            self._max_in_flight_total = max(self._max_in_flight_total, self._in_flight_total)
            self._changed.notify_all()
            route = self._routes.get(handler.path) or self._routes.get(urlsplit(handler.path).path)
        return route, host, arrival

    def _leave(self, host: str) -> None:
        with self._lock:
            self._in_flight[host] -= 1
            self._in_flight_total -= 1
            self._changed.notify_all()

    def _wait_for_group(self, arrival: int, size: int) -> None:
        wanted = (arrival // size + 1) * size
        with self._lock:
            self._changed.wait_for(
                lambda: self._arrived >= wanted or self.released.is_set(),
                timeout=_SAFETY_WAIT,
            )

    def _handle(self, handler: _Handler, *, send_body: bool) -> None:
        route, host, arrival = self._enter(handler)
        left = False

        def leave() -> None:
            nonlocal left
            if not left:
                left = True
                self._leave(host)

        try:
            self._respond(handler, route, host, arrival, send_body, leave)
        except (ConnectionError, TimeoutError, OSError):
            handler.close_connection = True
        finally:
            leave()

    def _respond(
        self,
        handler: _Handler,
        route: Route | None,
        host: str,
        arrival: int,
        send_body: bool,
        leave: Callable[[], None],
    ) -> None:
        if route is None:
            leave()
            self._plain(handler, 404, b"no such route\n", send_body)
            return
        if route.release_in_groups:
            self._wait_for_group(arrival, route.release_in_groups)
        if route.hold is not None:
            route.hold.wait(timeout=_SAFETY_WAIT)
        leave()  # the response starts: this request no longer counts as in flight

        headers = {k.lower(): v for k, v in handler.headers.items()}
        if route.status == 200 and self._is_not_modified(route, headers):
            handler.send_response(304)
            if route.etag:
                handler.send_header("ETag", route.etag)
            if route.last_modified:
                handler.send_header("Last-Modified", route.last_modified)
            for name, value in route.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            return

        body = route.body
        handler.send_response(route.status)
        if route.content_type:
            handler.send_header("Content-Type", route.content_type)
        if route.etag:
            handler.send_header("ETag", route.etag)
        if route.last_modified:
            handler.send_header("Last-Modified", route.last_modified)
        if route.gzip:
            handler.send_header("Vary", "Accept-Encoding")
            if "gzip" in headers.get("accept-encoding", ""):
                body = gzip.compress(body)
                handler.send_header("Content-Encoding", "gzip")
        for name, value in route.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not send_body or not body:
            return
        if route.trickle is None:
            handler.wfile.write(body)
            return
        step = 16
        for start in range(0, len(body), step):
            handler.wfile.write(body[start : start + step])
            handler.wfile.flush()
            if self.released.wait(route.trickle):
                handler.close_connection = True
                return

    @staticmethod
    def _is_not_modified(route: Route, headers: Mapping[str, str]) -> bool:
        if_none_match = headers.get("if-none-match")
        if if_none_match is not None:
            return route.etag is not None and _etag_matches(if_none_match, route.etag)
        if_modified_since = headers.get("if-modified-since")
        if if_modified_since and route.last_modified:
            return _not_modified_since(if_modified_since, route.last_modified)
        return False

    @staticmethod
    def _plain(handler: _Handler, status: int, body: bytes, send_body: bool) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if send_body:
            handler.wfile.write(body)
