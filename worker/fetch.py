"""Fetch feeds and pages over HTTP(S) with httpx: the only module here that talks to the network.

One :class:`Fetcher` owns one ``httpx.AsyncClient`` and gives every fetch the same rules:

- conditional GET: pass the stored ``etag`` / ``last_modified``; a 304 comes back as a result
  with ``not_modified`` true and no content;
- compression (gzip, deflate, br, zstd) decoded while streaming; the *decoded* size is capped
  at ``max_bytes`` (:class:`~worker.errors.TooLarge`);
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
import importlib.util
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType

import httpx

from worker import PROJECT_URL, __version__
from worker.errors import FetchError, FetchTimeout, TooLarge

DEFAULT_USER_AGENT = f"peacewatch/{__version__} (+{PROJECT_URL})"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


def _accept_encoding() -> str:
    """The codings httpx can decode here (br and zstd need optional packages)."""
    codings = ["gzip", "deflate"]
    if importlib.util.find_spec("brotli") or importlib.util.find_spec("brotlicffi"):
        codings.append("br")
    if importlib.util.find_spec("zstandard"):
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


class Fetcher:
    """An async HTTP client for feeds and pages; use as ``async with Fetcher(...) as f``.

    ``timeout`` is the deadline for one whole fetch (all hops, headers and body);
    ``max_bytes`` caps the decoded body; ``max_connections`` bounds fetches in flight
    overall and ``per_host`` per host name; ``check_hop`` validates every request target.
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
        self._overall = asyncio.Semaphore(max_connections)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        # No cookies are kept between requests: one feed's cookies never reach another.
        no_cookies = http.cookiejar.CookieJar(
            policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
        )
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=min(max_connections, 32),
            ),
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
        """Validate one request target (the first URL and every redirect target)."""
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
            self.check_hop(target)
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
            size = 0
            chunks: list[bytes] = []
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise self._too_large(url, status)
                chunks.append(chunk)
            return _Response(status, phrase, lower, b"".join(chunks))
        finally:
            await response.aclose()

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
) -> FetchResult:
    """Fetch one URL from synchronous code (``peacewatch check URL``); same rules as ``fetch``."""

    async def run() -> FetchResult:
        async with Fetcher(
            timeout=timeout,
            max_bytes=max_bytes,
            user_agent=user_agent,
            max_redirects=max_redirects,
            check_hop=check_hop,
        ) as fetcher:
            return await fetcher.fetch(url, etag=etag, last_modified=last_modified, accept=accept)

    return asyncio.run(run())
