"""A real local HTTP server that misbehaves on purpose, for the fetch guard tests.

:class:`HostileServer` runs ``http.server.ThreadingHTTPServer`` on ``127.0.0.1`` (a free port)
in a background thread. Every response closes its connection, so every fetch opens a new one
(and resolves the host again). It counts accepted connections as well as requests, so a test
can assert that a refused URL caused *zero* traffic.

Fixed endpoints:

=====================  =======================================================================
``/feed.xml``          a small valid RSS feed
``/gzip-bomb``         ``Content-Encoding: gzip``, about 1 MiB that inflates to 1 GiB of zeros
``/deflate-bomb``      the same as zlib-wrapped ``deflate``
``/brotli-bomb``       ``br``, a few hundred kB inflating to 1 GiB (needs ``brotli``)
``/zstd-bomb``         ``zstd``, inflating to 1 GiB (needs ``zstandard``)
``/endless``           a chunked body of zeros that never ends (until the client goes)
``/trickle``           one byte every ``trickle_interval`` seconds (waits on the stop event)
``/loop-a``            302 to ``/loop-b``, which 302s back to ``/loop-a``
``/forever/N``         302 to ``/forever/N+1``, without end
``/to-metadata``       302 to ``http://169.254.169.254/latest/meta-data/``
``/to-private``        302 to ``http://10.0.0.1/feed.xml``
``/to-localhost``      302 to ``http://localhost:PORT/feed.xml`` (this very server)
``/image.png``         a small valid PNG (``image/png``)
``/error``             500 Internal Server Error
``/billion-laughs.xml`` the entity-expansion ("billion laughs") document :data:`BILLION_LAUGHS`
``/xxe-file.xml``      an XXE document reading ``file:///etc/passwd`` (:data:`XXE_FILE`)
``/xxe-remote.xml``    an XXE document whose external entity is this server's ``/xxe-canary``;
                       ``count("/xxe-canary")`` shows whether a parser fetched it
=====================  =======================================================================

More redirects: :meth:`HostileServer.redirect`. The bombs are built once per process (the
gzip and deflate ones in well under a second, by repeating one full-flushed deflate block).

Example::

    with HostileServer() as server:
        ...  # fetch server.url("/gzip-bomb")
        assert server.count("/gzip-bomb") == 1
        assert server.connections == 1
"""

from __future__ import annotations

import functools
import importlib
import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

INFLATED_SIZE = 1 << 30
"""What every bomb inflates to: 1 GiB."""

_BLOCK = 1 << 20

FEED = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
    b"<title>Harbour desk</title><link>https://example.org/</link>"
    b"<item><title>Envoys meet at the harbour</title><guid>h-1</guid></item>"
    b"</channel></rss>\n"
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>Laughing desk</title>
<item><title>&lol9;</title><guid>bl-1</guid></item>
</channel></rss>
"""
"""Ten levels of ten-fold entity expansion: 10^9 "lol"s if a parser expands entities."""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY secret SYSTEM "file:///etc/passwd">
]>
<rss version="2.0"><channel><title>Curious desk</title>
<item><title>Leak: &secret;</title><guid>xxe-1</guid></item>
</channel></rss>
"""
"""An external entity reading a local file; a safe parser must not include its content."""


def xxe_remote(canary_url: str) -> bytes:
    """An XXE document whose external entity is ``canary_url`` (a request there = a leak)."""
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n  <!ENTITY ping SYSTEM "'
        + canary_url.encode("ascii")
        + b'">\n]>\n<rss version="2.0"><channel><title>Calling desk</title>\n'
        b"<item><title>Ping: &ping;</title><guid>xxe-2</guid></item>\n</channel></rss>\n"
    )


def _png() -> bytes:
    """A valid 1x1 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


PNG = _png()


@functools.cache
def _raw_deflate_zeros() -> tuple[bytes, int, int]:
    """Raw deflate of ``INFLATED_SIZE`` zero bytes, with its CRC-32 and Adler-32.

    One 1 MiB block of zeros is compressed after a full flush (which resets the history), so
    its compressed form is the same every time: the stream is that block repeated.
    """
    block = bytes(_BLOCK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    middle = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(block) + compressor.flush()
    blocks = INFLATED_SIZE // _BLOCK
    raw = first + middle * (blocks - 2) + last
    crc, adler = 0, 1
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
        adler = zlib.adler32(block, adler)
    return raw, crc & 0xFFFFFFFF, adler & 0xFFFFFFFF


@functools.cache
def gzip_bomb() -> bytes:
    """About 1 MiB of gzip that inflates to 1 GiB of zeros."""
    raw, crc, _adler = _raw_deflate_zeros()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + raw + struct.pack("<II", crc, INFLATED_SIZE & 0xFFFFFFFF)


@functools.cache
def deflate_bomb() -> bytes:
    """About 1 MiB of zlib-wrapped deflate that inflates to 1 GiB of zeros."""
    raw, _crc, adler = _raw_deflate_zeros()
    return b"\x78\xda" + raw + struct.pack(">I", adler)


@functools.cache
def brotli_bomb() -> bytes:
    """Brotli that inflates to 1 GiB of zeros (``brotli`` must be installed)."""
    brotli: Any = importlib.import_module("brotli")
    compressor = brotli.Compressor(quality=1)
    block = bytes(_BLOCK)
    parts = [compressor.process(block) for _ in range(INFLATED_SIZE // _BLOCK)]
    parts.append(compressor.finish())
    return b"".join(parts)


@functools.cache
def zstd_bomb() -> bytes:
    """Zstandard that inflates to 1 GiB of zeros (``zstandard`` must be installed)."""
    zstandard: Any = importlib.import_module("zstandard")
    compressor = zstandard.ZstdCompressor(level=1).compressobj()
    block = bytes(_BLOCK)
    parts = [compressor.compress(block) for _ in range(INFLATED_SIZE // _BLOCK)]
    parts.append(compressor.flush())
    return b"".join(parts)


_BOMBS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "/gzip-bomb": ("gzip", gzip_bomb),
    "/deflate-bomb": ("deflate", deflate_bomb),
    "/brotli-bomb": ("br", brotli_bomb),
    "/zstd-bomb": ("zstd", zstd_bomb),
}


@dataclass(frozen=True, slots=True)
class HostileRequest:
    path: str
    host: str
    """The Host header without the port."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HostileServer

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.owner._connected()
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.close_connection = True
        try:
            self.server.owner._handle(self)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            return


class HostileServer:
    """A threaded local HTTP server with the hostile endpoints above; a context manager."""

    def __init__(self, host: str = "127.0.0.1", *, trickle_interval: float = 0.05) -> None:
        self.trickle_interval = trickle_interval
        self._lock = threading.Lock()
        self._requests: list[HostileRequest] = []
        self._connections = 0
        self._redirects: dict[str, tuple[int, str]] = {}
        self.trickled = 0
        """Bytes the ``/trickle`` endpoint has sent so far."""
        self.trickle_started = threading.Event()
        """Set once ``/trickle`` has sent its first byte."""
        self.stopped = threading.Event()
        """Set on :meth:`stop`: trickling and endless responses end."""
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.owner = self
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="hostile-server",
            daemon=True,
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests use ----------------------------------------------------------------------

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        """``http://HOST:PORT/path``; ``host`` may be a name a test resolver maps here."""
        return f"http://{host or self.host}:{self.port}{path}"

    def redirect(self, path: str, location: str, *, status: int = 302) -> str:
        """Answer ``path`` with a redirect to ``location``; returns the URL of ``path``."""
        with self._lock:
            self._redirects[path] = (status, location)
        return self.url(path)

    @property
    def requests(self) -> list[HostileRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        with self._lock:
            return self._connections

    def count(self, path: str | None = None) -> int:
        """Requests received (for ``path``, or in all)."""
        with self._lock:
            return sum(1 for r in self._requests if path is None or r.path == path)

    # -- the handler side ----------------------------------------------------------------------

    def _connected(self) -> None:
        with self._lock:
            self._connections += 1

    def _handle(self, handler: _Handler) -> None:
        path = urlsplit(handler.path).path
        host = (handler.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        with self._lock:
            self._requests.append(HostileRequest(path, host))
            redirect = self._redirects.get(path)
        if redirect is not None:
            self._redirect(handler, redirect[1], redirect[0])
        elif path in _BOMBS:
            coding, build = _BOMBS[path]
            self._send(handler, build(), "application/rss+xml", {"Content-Encoding": coding})
        elif path == "/feed.xml":
            self._send(handler, FEED, "application/rss+xml; charset=utf-8")
        elif path == "/endless":
            self._endless(handler)
        elif path == "/trickle":
            self._trickle(handler)
        elif path == "/loop-a":
            self._redirect(handler, "/loop-b")
        elif path == "/loop-b":
            self._redirect(handler, "/loop-a")
        elif path.startswith("/forever/") and path.removeprefix("/forever/").isdigit():
            self._redirect(handler, f"/forever/{int(path.removeprefix('/forever/')) + 1}")
        elif path == "/to-metadata":
            self._redirect(handler, "http://169.254.169.254/latest/meta-data/")
        elif path == "/to-private":
            self._redirect(handler, "http://10.0.0.1/feed.xml")
        elif path == "/to-localhost":
            self._redirect(handler, self.url("/feed.xml", host="localhost"))
        elif path == "/image.png":
            self._send(handler, PNG, "image/png")
        elif path == "/error":
            self._send(handler, b"internal trouble\n", "text/plain", status=500)
        elif path == "/billion-laughs.xml":
            self._send(handler, BILLION_LAUGHS, "application/rss+xml")
        elif path == "/xxe-file.xml":
            self._send(handler, XXE_FILE, "application/rss+xml")
        elif path == "/xxe-remote.xml":
            self._send(handler, xxe_remote(self.url("/xxe-canary")), "application/rss+xml")
        elif path == "/xxe-canary":
            self._send(handler, b"canary", "text/plain")
        else:
            self._send(handler, b"not here\n", "text/plain", status=404)

    def _send(
        self,
        handler: _Handler,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        *,
        status: int = 200,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _redirect(self, handler: _Handler, location: str, status: int = 302) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.send_header("Connection", "close")
        handler.end_headers()

    def _endless(self, handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, bytes(64 * 1024))
        while not self.stopped.is_set():
            handler.wfile.write(chunk)

    def _trickle(self, handler: _Handler) -> None:
        body = b"<rss>" + b" " * 10_000 + b"</rss>"
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        for index in range(len(body)):
            handler.wfile.write(body[index : index + 1])
            handler.wfile.flush()
            with self._lock:
                self.trickled += 1
            self.trickle_started.set()
            if self.stopped.wait(self.trickle_interval):
                return
