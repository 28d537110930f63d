"""Fetch feeds and pages over HTTP(S) with httpx: the only module here that talks to the network.

One :class:`Fetcher` owns one ``httpx.AsyncClient`` and gives every fetch the same rules:

- conditional GET: pass the stored ``etag`` / ``last_modified``; a 304 comes back as a result
  with ``not_modified`` true and no content;
- compression (gzip, deflate, br, zstd) decoded here from the raw stream, in bounded steps,
  so a decompression bomb stops as soon as the *decoded* size passes ``max_bytes``
  (:class:`~worker.errors.TooLarge`) without ever inflating far beyond it;
- the SSRF guard (:mod:`worker.netguard`): every hop's host is checked as written before any
  request, and every TCP connection goes only to an address the policy allowed, resolved
  once by the fetcher's resolver at connect time (so DNS rebinding cannot slip through);
  refused targets raise :class:`~worker.errors.BlockedAddress`;
- one deadline for the whole fetch -- connect, headers, body and every redirect hop
  (:class:`~worker.errors.FetchTimeout`), on top of httpx's per-phase timeouts;
- redirects followed by hand, one request per hop, at most ``max_redirects``; every hop's URL
  goes through :meth:`Fetcher.check_hop` (the single place where a target is validated);
  a chain of 301/308 from the start gives ``permanent_url``, the URL to store instead;
- concurrency bounded overall (``max_connections``) and per host (``per_host``), so a scan
  can start every feed at once;
- any failure is one :class:`~worker.errors.FetchError` with a one-line message.

Example::

    async with Fetcher() as fetcher:
        result = await fetcher.fetch(url, etag=feed.etag, last_modified=feed.last_modified)
        if not result.not_modified:
            parsed = parse_feed(result.content, feed_url=result.final_url, ...)
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import importlib
import importlib.util
import re
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Protocol

import httpcore
import httpx

from worker import PROJECT_URL, __version__
from worker.errors import BlockedAddress, FetchError, FetchTimeout, TooLarge
from worker.netguard import AddressPolicy, Resolver, parse_ip, system_resolver

DEFAULT_USER_AGENT = f"peacewatch/{__version__} (+{PROJECT_URL})"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


def _bounded_brotli() -> Any | None:
    """The ``brotli`` module if it can decode with an output limit (brotli >= 1.2)."""
    if importlib.util.find_spec("brotli") is None:
        return None
    module = importlib.import_module("brotli")
    try:
        module.Decompressor().process(b"", output_buffer_limit=1)
    except (AttributeError, TypeError):
        return None
    return module


def _zstandard() -> Any | None:
    if importlib.util.find_spec("zstandard") is None:
        return None
    return importlib.import_module("zstandard")


_BROTLI = _bounded_brotli()
_ZSTD = _zstandard()


def _accept_encoding() -> str:
    """The codings we can decode in bounded steps (br and zstd need optional packages)."""
    codings = ["gzip", "deflate"]
    if _BROTLI is not None:
        codings.append("br")
    if _ZSTD is not None:
        codings.append("zstd")
    return ", ".join(codings)


ACCEPT_ENCODING = _accept_encoding()

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})

HopCheck = Callable[[httpx.URL], None]
"""Validates one request target; raises :class:`FetchError` (or a subclass) to refuse it."""


def allow_http_only(url: httpx.URL) -> None:
    """The default hop check: only absolute ``http``/``https`` URLs with a host."""
    if url.scheme not in ("http", "https"):
        raise FetchError(
            f"refusing to fetch a {url.scheme or 'relative'} URL: only http and https are allowed",
            url=str(url),
        )
    if not url.host:
        raise FetchError("URL has no host", url=str(url))


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one successful fetch (2xx, or 304 when the caller sent validators)."""

    url: str
    """The URL that was asked for."""
    final_url: str
    """The URL the content came from, after redirects."""
    status: int
    content: bytes | None
    """The decoded body; ``None`` when not modified."""
    headers: Mapping[str, str] = field(repr=False)
    """The final response's headers, lower-case keys (repeated headers joined by commas)."""
    etag: str | None = None
    """The validator to store: the response's, or on a 304 without one, the one sent."""
    last_modified: str | None = None
    permanent_url: str | None = None
    """Set when the redirects from the start up to some hop were all 301/308: the URL after
    the last of them, to be stored in place of ``url``."""
    elapsed: float = 0.0
    """Seconds from the first request to the end of the body."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(status: int, phrase: str) -> str:
    if not phrase:
        with contextlib.suppress(ValueError):
            phrase = HTTPStatus(status).phrase
    return f"HTTP {status} {phrase}".strip()


_SENDABLE = re.compile(r"[\x20-\x7e]{1,1024}")


def _sendable(value: str) -> bool:
    """Printable ASCII only (no CR/LF), of a sane length: safe as a request header value."""
    return _SENDABLE.fullmatch(value) is not None


def _host_key(url: httpx.URL) -> str:
    return url.host.lower()


def _transport_message(exc: httpx.TransportError, url: httpx.URL) -> str:
    """A one-line reason for a connection, DNS, TLS or protocol failure."""
    where = f"{url.host}:{url.port}" if url.port else url.host
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 8:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or "certificate verification failed"
            return f"TLS certificate of {where} not accepted: {detail}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with {where} failed: {_one_line(cause.reason or str(cause))}"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host {url.host}"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {where}"
        if isinstance(cause, ConnectionResetError):
            return f"connection reset by {where}"
        cause = cause.__cause__ or cause.__context__
        seen += 1
    text = _one_line(str(exc))
    lowered = text.lower()
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return f"cannot resolve host {url.host}"
    if "connection refused" in lowered:
        return f"connection refused by {where}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {where}: {text or type(exc).__name__}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{where} broke the HTTP protocol: {text or 'connection closed early'}"
    return f"fetching from {where} failed: {text or type(exc).__name__}"


# --- bounded decoding ------------------------------------------------------------------------
# httpx decodes each received chunk whole, so one compressed chunk could inflate to gigabytes
# before any size check. We read the raw stream and decode here, never producing more than
# ``_STEP`` bytes per step, so the caller can stop as soon as ``max_bytes`` is passed.

_STEP = 64 * 1024
_ZSTD_SLICE = 128  # compressed bytes per zstd step: at most ~4 MiB out (128 KiB per 4 bytes)
_ZSTD_MAX_WINDOW = 1 << 24


class _DecodeFailed(Exception):
    """The body is not what its Content-Encoding says (internal; becomes a FetchError)."""


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def finish(self) -> Iterator[bytes]: ...


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def finish(self) -> Iterator[bytes]:
        return iter(())


class _Zlib:
    """gzip (``gzip=True``) or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, *, gzip: bool) -> None:
        self._gzip = gzip
        self._started = False
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def _step(self, data: bytes) -> bytes:
        try:
            out = self._obj.decompress(data, _STEP)
        except zlib.error as exc:
            if self._gzip or self._started:
                raise _DecodeFailed(f"{'gzip' if self._gzip else 'deflate'}: {exc}") from exc
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate without a header
            try:
                out = self._obj.decompress(data, _STEP)
            except zlib.error as raw_exc:
                raise _DecodeFailed(f"deflate: {raw_exc}") from raw_exc
        self._started = True
        return out

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data or self._obj.eof:
            return
        out = self._step(data)
        while True:
            if out:
                yield out
            # Either input is left over, or the output limit was hit and more may be pending.
            if not self._obj.unconsumed_tail and len(out) < _STEP:
                return
            if self._obj.eof:
                return
            out = self._step(self._obj.unconsumed_tail)

    def finish(self) -> Iterator[bytes]:
        # A truncated stream is not an error (as with httpx): keep what was decoded.
        return iter(())


class _Brotli:
    def __init__(self, module: Any) -> None:
        self._module = module
        self._obj = module.Decompressor()

    def _process(self, data: bytes) -> bytes:
        try:
            return bytes(self._obj.process(data, output_buffer_limit=_STEP))
        except self._module.error as exc:
            raise _DecodeFailed(f"brotli: {exc}") from exc

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data or self._obj.is_finished():
            return
        out = self._process(data)
        while True:
            if out:
                yield out
            if self._obj.can_accept_more_data() or self._obj.is_finished():
                return
            out = self._process(b"")

    def finish(self) -> Iterator[bytes]:
        return iter(())


class _Zstd:
    def __init__(self, module: Any) -> None:
        self._module = module
        self._obj = module.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW).decompressobj()

    def feed(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), _ZSTD_SLICE):
            if self._obj.eof:
                return
            try:
                out = self._obj.decompress(data[start : start + _ZSTD_SLICE])
            except self._module.ZstdError as exc:
                raise _DecodeFailed(f"zstd: {exc}") from exc
            if out:
                yield bytes(out)

    def finish(self) -> Iterator[bytes]:
        return iter(())


def _decoder_for(coding: str) -> _Decoder | None:
    if coding in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if coding == "deflate":
        return _Zlib(gzip=False)
    if coding == "br" and _BROTLI is not None:
        return _Brotli(_BROTLI)
    if coding == "zstd" and _ZSTD is not None:
        return _Zstd(_ZSTD)
    return None  # identity, or an unknown coding passed through as httpx does


class _Chain:
    """The decoders for a Content-Encoding list, applied last-first."""

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        found = [_decoder_for(c) for c in reversed(codings)]
        self._decoders: list[_Decoder] = [d for d in found if d is not None] or [_Identity()]

    def _through(self, index: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
        if index == len(self._decoders):
            yield from pieces
            return
        decoder = self._decoders[index]
        for piece in pieces:
            yield from self._through(index + 1, decoder.feed(piece))

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, [data])

    def finish(self) -> Iterator[bytes]:
        for index, decoder in enumerate(self._decoders):
            yield from self._through(index + 1, decoder.finish())


# --- connect-time address guard ----------------------------------------------------------------


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, resolved once by our resolver.

    httpcore hands us the request's host; we resolve it, filter the addresses, and connect to
    an allowed IP. TLS still verifies the host name (httpcore passes it to ``start_tls``).
    """

    def __init__(
        self, policy: AddressPolicy, resolver: Resolver, inner: httpcore.AsyncNetworkBackend
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner

    async def _addresses(self, host: str, port: int) -> list[str]:
        literal = parse_ip(host)
        if literal is not None:
            return [str(literal)]
        try:
            return list(await self._resolver(host, port))
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve host {host}") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve host {host}: {exc}") from exc

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        allowed = self._policy.allowed_addresses(host, await self._addresses(host, port))
        failure: Exception | None = None
        for address in allowed:
            try:
                stream = await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            await self._verify_peer(stream, host, allowed)
            return stream
        assert failure is not None  # allowed_addresses never returns an empty list
        raise failure

    async def _verify_peer(
        self, stream: httpcore.AsyncNetworkStream, host: str, allowed: Sequence[object]
    ) -> None:
        """Belt and braces: the socket's peer must be one of the addresses that passed."""
        peer = stream.get_extra_info("server_addr")
        if not peer:
            return
        address = parse_ip(str(peer[0]))
        if address is None or address in allowed:
            return
        await stream.aclose()
        raise BlockedAddress(f"blocked: the connection to {host} reached {address} unexpectedly")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("blocked: Unix sockets are never fetched from")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool on a :class:`_GuardedBackend`."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend, limits: httpx.Limits) -> None:
        ssl_context = httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


class Fetcher:
    """An async HTTP client for feeds and pages; use as ``async with Fetcher(...) as f``.

    ``timeout`` is the deadline for one whole fetch (all hops, headers and body);
    ``max_bytes`` caps the decoded body; ``max_connections`` bounds fetches in flight
    overall and ``per_host`` per host name; ``check_hop`` validates every request target
    (after the scheme and address checks, which always run).

    The SSRF guard refuses non-public addresses unless ``allow_private_networks`` is true;
    ``allowlist`` names hosts, IPs and CIDRs that are allowed anyway; ``resolver`` turns a host
    name into addresses (default: the system resolver) -- the seam tests use.
    """

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = 15_000_000,
        user_agent: str = DEFAULT_USER_AGENT,
        max_connections: int = 32,
        per_host: int = 4,
        max_redirects: int = 5,
        check_hop: HopCheck = allow_http_only,
        allow_private_networks: bool = False,
        allowlist: Sequence[str] = (),
        resolver: Resolver | None = None,
    ) -> None:
        if timeout <= 0 or max_bytes <= 0 or max_connections < 1 or per_host < 1:
            raise ValueError("timeout, max_bytes, max_connections and per_host must be positive")
        if max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.max_redirects = max_redirects
        self.per_host = per_host
        self._check_hop = check_hop
        self.policy = AddressPolicy.build(
            allow_private_networks=allow_private_networks, allowlist=allowlist
        )
        self._overall = asyncio.Semaphore(max_connections)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        # No cookies are kept between requests: one feed's cookies never reach another.
        no_cookies = http.cookiejar.CookieJar(
            policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
        )
        backend = _GuardedBackend(self.policy, resolver or system_resolver, httpcore.AnyIOBackend())
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=min(max_connections, 32),
        )
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            transport=_GuardedTransport(backend, limits),
            headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            cookies=no_cookies,
            trust_env=False,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def check_hop(self, url: httpx.URL) -> None:
        """Validate one request target (the first URL and every redirect target): http(s)
        only, no refused address literal or ``localhost`` name, then ``check_hop``."""
        allow_http_only(url)
        try:
            self.policy.check_host(url.host)
        except BlockedAddress as exc:
            raise BlockedAddress(str(exc), url=str(url)) from None
        self._check_hop(url)

    @contextlib.asynccontextmanager
    async def _slot(self, url: httpx.URL) -> AsyncIterator[None]:
        """Hold one per-host slot, then one overall slot (in that order, so a fetch waiting
        for a busy host never sits on an overall slot)."""
        key = _host_key(url)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = asyncio.Semaphore(self.per_host)
        async with host, self._overall:
            yield

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        """GET ``url`` (conditionally when validators are given) and read the whole body.

        Raises :class:`FetchError` for HTTP errors (with ``status``), transport failures,
        refused targets and redirect trouble; :class:`FetchTimeout` when the deadline
        passes; :class:`TooLarge` when the decoded body exceeds ``max_bytes``.
        """
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise FetchError(f"invalid URL: {_one_line(str(exc))}", url=url) from exc
        headers = {"Accept": accept}
        # Validators come back from servers; one that cannot be sent again is dropped.
        if etag and _sendable(etag):
            headers["If-None-Match"] = etag
        if last_modified and _sendable(last_modified):
            headers["If-Modified-Since"] = last_modified

        started = time.monotonic()
        deadline: float | None = None
        loop = asyncio.get_running_loop()
        visited = {str(target)}
        permanent: str | None = None
        permanent_chain = True
        hops = 0
        while True:
            try:
                self.check_hop(target)
            except BlockedAddress as exc:
                if hops:
                    raise BlockedAddress(f"{exc} (redirect target)", url=url) from None
                raise
            async with self._slot(target):
                if deadline is None:  # waiting for a slot is not part of the deadline
                    deadline = loop.time() + self.timeout
                response = await self._request(target, headers, deadline, url)
                if response.status in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(
                            f"{_reason(response.status, response.phrase)} without a Location",
                            status=response.status,
                            url=url,
                        )
                    try:
                        next_target = target.join(location.strip())
                    except (httpx.InvalidURL, ValueError) as exc:
                        raise FetchError(
                            f"redirect to an invalid URL: {_one_line(location, 120)}",
                            status=response.status,
                            url=url,
                        ) from exc
                    hops += 1
                    if hops > self.max_redirects:
                        raise FetchError(
                            f"too many redirects (more than {self.max_redirects})",
                            status=response.status,
                            url=url,
                        )
                    key = str(next_target)
                    if key in visited:
                        raise FetchError(
                            f"redirect loop at {_one_line(key, 120)}",
                            status=response.status,
                            url=url,
                        )
                    visited.add(key)
                    if permanent_chain and response.status in _PERMANENT:
                        permanent = key
                    else:
                        permanent_chain = False
                    target = next_target
                    continue
            break

        return FetchResult(
            url=url,
            final_url=str(target),
            status=response.status,
            content=response.content,
            headers=response.headers,
            etag=response.headers.get("etag") or (etag if response.status == 304 else None),
            last_modified=response.headers.get("last-modified")
            or (last_modified if response.status == 304 else None),
            permanent_url=permanent if permanent != url else None,
            elapsed=time.monotonic() - started,
        )

    async def _request(
        self, target: httpx.URL, headers: dict[str, str], deadline: float, url: str
    ) -> _Response:
        """One request/response under the deadline; translates every failure."""
        try:
            async with asyncio.timeout_at(deadline):
                return await self._exchange(target, headers, url)
        except BlockedAddress as exc:
            raise BlockedAddress(str(exc), url=url) from None
        except TimeoutError as exc:
            raise FetchTimeout(
                f"no complete response within {self.timeout:g} s from {target.host}",
                url=url,
            ) from exc
        except httpx.TimeoutException as exc:
            raise FetchTimeout(
                f"timed out ({type(exc).__name__}) after {self.timeout:g} s from {target.host}",
                url=url,
            ) from exc
        except httpx.TransportError as exc:
            raise FetchError(_transport_message(exc, target), url=url) from exc
        except httpx.DecodingError as exc:
            raise FetchError(
                f"cannot decode the response body from {target.host}: {_one_line(str(exc))}",
                url=url,
            ) from exc
        except httpx.HTTPError as exc:
            raise FetchError(
                f"fetching from {target.host} failed: {_one_line(str(exc))}", url=url
            ) from exc

    async def _exchange(self, target: httpx.URL, headers: dict[str, str], url: str) -> _Response:
        request = self._client.build_request("GET", target, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            status = response.status_code
            lower = {k.lower(): v for k, v in response.headers.items()}
            phrase = response.reason_phrase
            if status in _REDIRECTS or status == 304:
                await _drain(response)
                return _Response(status, phrase, lower, None)
            if status >= 400:
                raise FetchError(_reason(status, phrase), status=status, url=url)
            if status >= 300 or status < 200:
                raise FetchError(
                    f"{_reason(status, phrase)}: unexpected status", status=status, url=url
                )
            declared = response.headers.get("content-length", "")
            if (
                declared.isdigit()
                and int(declared) > self.max_bytes
                and response.headers.get("content-encoding", "identity") == "identity"
            ):
                raise self._too_large(url, status)
            body = await self._read_body(response, target, url)
            return _Response(status, phrase, lower, body)
        finally:
            await response.aclose()

    async def _read_body(self, response: httpx.Response, target: httpx.URL, url: str) -> bytes:
        """Read the raw body and decode it in bounded steps; stop once past ``max_bytes``."""
        status = response.status_code
        chain = _Chain(response.headers.get("content-encoding", ""))
        raw_limit = self.max_bytes + _STEP  # a compressed body is never much larger
        raw = size = 0
        chunks: list[bytes] = []
        try:
            async for data in response.aiter_raw():
                raw += len(data)
                if raw > raw_limit:
                    raise self._too_large(url, status)
                for piece in chain.feed(data):
                    size += len(piece)
                    if size > self.max_bytes:
                        raise self._too_large(url, status)
                    chunks.append(piece)
            for piece in chain.finish():
                size += len(piece)
                if size > self.max_bytes:
                    raise self._too_large(url, status)
                chunks.append(piece)
        except _DecodeFailed as exc:
            raise FetchError(
                f"cannot decode the response body from {target.host}: {_one_line(str(exc))}",
                status=status,
                url=url,
            ) from exc
        return b"".join(chunks)

    def _too_large(self, url: str, status: int) -> TooLarge:
        return TooLarge(
            f"response body larger than {self.max_bytes:,} bytes", status=status, url=url
        )


_DRAIN_LIMIT = 64 * 1024


async def _drain(response: httpx.Response) -> None:
    """Read a small body we do not need (304, redirect) so the connection can be reused.

    A body larger than ``_DRAIN_LIMIT`` is abandoned: closing then drops the connection.
    """
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read > _DRAIN_LIMIT:
            return


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    phrase: str
    headers: dict[str, str]
    content: bytes | None


def fetch_sync(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = FEED_ACCEPT,
    timeout: float = 20.0,
    max_bytes: int = 15_000_000,
    user_agent: str = DEFAULT_USER_AGENT,
    max_redirects: int = 5,
    check_hop: HopCheck = allow_http_only,
    allow_private_networks: bool = False,
    allowlist: Sequence[str] = (),
    resolver: Resolver | None = None,
) -> FetchResult:
    """Fetch one URL from synchronous code (``peacewatch check URL``); same rules as ``fetch``."""

    async def run() -> FetchResult:
        async with Fetcher(
            timeout=timeout,
            max_bytes=max_bytes,
            user_agent=user_agent,
            max_redirects=max_redirects,
            check_hop=check_hop,
            allow_private_networks=allow_private_networks,
            allowlist=allowlist,
            resolver=resolver,
        ) as fetcher:
            return await fetcher.fetch(url, etag=etag, last_modified=last_modified, accept=accept)

    return asyncio.run(run())
