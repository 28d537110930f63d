"""worker.fetch against a real local HTTP server (tests.support.feedserver): no HTTP mocks."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import pytest

from tests.support.feedserver import FeedServer
from worker.errors import BlockedAddress, FetchError, FetchTimeout, TooLarge
from worker.fetch import DEFAULT_USER_AGENT, Fetcher, FetchResult, allow_http_only, fetch_sync

T = TypeVar("T")

FEED = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
    b"<title>Test wire</title><link>https://example.org/</link>"
    b"<item><title>Talks resume</title><guid>t-1</guid></item>"
    b"</channel></rss>\n"
)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch_once(url: str, **options: Any) -> FetchResult:
    fetch_options = {k: options.pop(k) for k in ("etag", "last_modified", "accept") if k in options}
    options.setdefault("allow_private_networks", True)  # the test server is on 127.0.0.1
    async with Fetcher(**options) as fetcher:
        return await fetcher.fetch(url, **fetch_options)


def test_200_returns_body_headers_and_validators(feed_server: FeedServer) -> None:
    url = feed_server.serve("/feed.xml", FEED, last_modified="Wed, 15 Nov 2023 10:00:00 GMT")
    result = run(fetch_once(url))
    assert result.status == 200
    assert not result.not_modified
    assert result.content == FEED
    assert result.final_url == url
    assert result.permanent_url is None
    assert result.etag is not None and result.etag.startswith('"')
    assert result.last_modified == "Wed, 15 Nov 2023 10:00:00 GMT"
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert result.elapsed > 0
    seen = feed_server.requests_for("/feed.xml")[0].headers
    assert seen["user-agent"] == DEFAULT_USER_AGENT
    assert "gzip" in seen["accept-encoding"] and "br" in seen["accept-encoding"]
    assert "application/rss+xml" in seen["accept"]
    assert "if-none-match" not in seen


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
def test_second_fetch_with_validators_is_304(feed_server: FeedServer, validator: str) -> None:
    etag = None if validator == "last_modified" else '"v1"'
    url = feed_server.serve(
        "/feed.xml", FEED, etag=etag, last_modified="Wed, 15 Nov 2023 10:00:00 GMT"
    )

    async def twice() -> tuple[FetchResult, FetchResult]:
        async with Fetcher(user_agent="peacewatch-test/1", allow_private_networks=True) as fetcher:
            first = await fetcher.fetch(url)
            kwargs = {validator: getattr(first, validator)}
            return first, await fetcher.fetch(url, **kwargs)

    first, second = run(twice())
    assert first.status == 200 and first.content == FEED
    assert second.status == 304
    assert second.not_modified and second.content is None
    assert second.etag == first.etag
    assert second.last_modified == first.last_modified
    sent = feed_server.requests_for("/feed.xml")[1].headers
    header = "if-none-match" if validator == "etag" else "if-modified-since"
    assert sent[header] == getattr(first, validator)
    assert sent["user-agent"] == "peacewatch-test/1"


def test_changed_feed_is_fetched_again_with_new_validator(feed_server: FeedServer) -> None:
    url = feed_server.serve("/feed.xml", FEED)

    async def poll_update_poll() -> tuple[FetchResult, FetchResult]:
        async with Fetcher(allow_private_networks=True) as fetcher:
            first = await fetcher.fetch(url)
            feed_server.serve("/feed.xml", FEED.replace(b"Talks resume", b"Talks stall"))
            return first, await fetcher.fetch(url, etag=first.etag)

    first, second = run(poll_update_poll())
    assert second.status == 200
    assert second.content is not None and b"Talks stall" in second.content
    assert second.etag != first.etag


def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    body = FEED * 200
    url = feed_server.serve("/big.xml", body, gzip=True)
    result = run(fetch_once(url))
    assert result.content == body
    assert result.headers["content-encoding"] == "gzip"
    assert int(result.headers["content-length"]) < len(body) / 10


def test_permanent_redirects_give_permanent_url(feed_server: FeedServer) -> None:
    feed_server.serve("/new.xml", FEED)
    feed_server.redirect("/mid", "/new.xml", status=308)
    start = feed_server.redirect("/old", "/mid", status=301)
    result = run(fetch_once(start))
    assert result.content == FEED
    assert result.url == start
    assert result.final_url == feed_server.url("/new.xml")
    assert result.permanent_url == feed_server.url("/new.xml")
    assert [r.path for r in feed_server.requests] == ["/old", "/mid", "/new.xml"]


def test_permanent_then_temporary_stores_only_the_permanent_part(
    feed_server: FeedServer,
) -> None:
    feed_server.serve("/today.xml", FEED)
    feed_server.redirect("/feed", "/today.xml", status=302)
    start = feed_server.redirect("/old", "/feed", status=301)
    result = run(fetch_once(start))
    assert result.final_url == feed_server.url("/today.xml")
    assert result.permanent_url == feed_server.url("/feed")


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_sets_no_permanent_url(feed_server: FeedServer, status: int) -> None:
    feed_server.serve("/new.xml", FEED)
    feed_server.redirect("/moved", "/perm", status=status)
    feed_server.redirect("/perm", "/new.xml", status=301)
    result = run(fetch_once(feed_server.url("/moved")))
    assert result.content == FEED
    assert result.final_url == feed_server.url("/new.xml")
    assert result.permanent_url is None


def test_redirect_across_hosts_is_followed(feed_server: FeedServer) -> None:
    feed_server.serve("/feed.xml", FEED)
    start = feed_server.redirect(
        "/elsewhere", feed_server.url("/feed.xml", host="localhost"), status=301
    )
    result = run(fetch_once(start))
    assert result.final_url == feed_server.url("/feed.xml", host="localhost")
    assert feed_server.requests_for("/feed.xml")[0].host == "localhost"


def _chain(server: FeedServer, hops: int) -> str:
    server.serve("/end.xml", FEED)
    for i in range(hops):
        target = "/end.xml" if i == hops - 1 else f"/hop{i + 1}"
        server.redirect(f"/hop{i}", target, status=302)
    return server.url("/hop0")


def test_five_redirects_are_allowed(feed_server: FeedServer) -> None:
    result = run(fetch_once(_chain(feed_server, 5)))
    assert result.content == FEED
    assert feed_server.count() == 6


def test_six_redirects_are_an_error(feed_server: FeedServer) -> None:
    with pytest.raises(FetchError, match="too many redirects") as info:
        run(fetch_once(_chain(feed_server, 6)))
    assert info.value.status == 302
    assert feed_server.count("/end.xml") == 0
    assert feed_server.count() == 6


def test_redirect_limit_is_configurable(feed_server: FeedServer) -> None:
    with pytest.raises(FetchError, match="more than 1"):
        run(fetch_once(_chain(feed_server, 2), max_redirects=1))


def test_redirect_loop_is_an_error(feed_server: FeedServer) -> None:
    feed_server.redirect("/a", "/b", status=301)
    feed_server.redirect("/b", "/a", status=302)
    with pytest.raises(FetchError, match="redirect loop"):
        run(fetch_once(feed_server.url("/a")))
    assert feed_server.count() == 2


def test_redirect_without_location_is_an_error(feed_server: FeedServer) -> None:
    feed_server.status("/broken", 302)
    with pytest.raises(FetchError, match="without a Location") as info:
        run(fetch_once(feed_server.url("/broken")))
    assert info.value.status == 302


def test_redirect_to_other_scheme_is_refused_by_the_hop_check(feed_server: FeedServer) -> None:
    feed_server.redirect("/sneaky", "file:///etc/passwd", status=302)
    with pytest.raises(FetchError, match="only http and https"):
        run(fetch_once(feed_server.url("/sneaky")))


def test_every_hop_goes_through_the_hop_check(feed_server: FeedServer) -> None:
    feed_server.serve("/end.xml", FEED)
    feed_server.redirect("/start", "/end.xml", status=301)
    checked: list[str] = []

    def record(url: httpx.URL) -> None:
        allow_http_only(url)
        checked.append(url.path)

    run(fetch_once(feed_server.url("/start"), check_hop=record))
    assert checked == ["/start", "/end.xml"]


@pytest.mark.parametrize("url", ["ftp://example.org/feed", "file:///etc/passwd", "/relative"])
def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        run(fetch_once(url))


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (503, "HTTP 503 Service Unavailable"),
        (500, "HTTP 500 Internal Server Error"),
        (404, "HTTP 404 Not Found"),
        (410, "HTTP 410 Gone"),
        (429, "HTTP 429 Too Many Requests"),
    ],
)
def test_http_errors_raise_with_status(feed_server: FeedServer, status: int, message: str) -> None:
    url = feed_server.status("/feed.xml", status, b"sorry\n")
    with pytest.raises(FetchError) as info:
        run(fetch_once(url))
    assert str(info.value) == message
    assert info.value.status == status
    assert info.value.url == url
    assert not isinstance(info.value, (FetchTimeout, TooLarge))


def test_connection_refused_is_a_clear_fetch_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(FetchError) as info:
            run(fetch_once(f"http://127.0.0.1:{port}/feed.xml"))
    message = str(info.value)
    assert message == f"connection refused by 127.0.0.1:{port}"
    assert info.value.status is None
    assert "\n" not in message


def test_unresolvable_host_is_a_clear_fetch_error() -> None:
    with pytest.raises(FetchError, match=r"cannot resolve host|cannot connect"):
        run(fetch_once("http://no-such-host.invalid/feed.xml", timeout=5))


def test_body_over_max_bytes_is_too_large(feed_server: FeedServer) -> None:
    url = feed_server.serve("/huge.xml", b"x" * 50_000)
    with pytest.raises(TooLarge, match="larger than 10,000 bytes") as info:
        run(fetch_once(url, max_bytes=10_000))
    assert info.value.status == 200


def test_max_bytes_counts_decoded_bytes(feed_server: FeedServer) -> None:
    # 200 kB of one byte gzips to a few hundred bytes: only the decoded size counts.
    url = feed_server.serve("/bomb.xml", b"a" * 200_000, gzip=True)
    with pytest.raises(TooLarge):
        run(fetch_once(url, max_bytes=100_000))
    assert run(fetch_once(url, max_bytes=200_000)).content == b"a" * 200_000


def test_whole_response_deadline_with_a_trickling_server(feed_server: FeedServer) -> None:
    # Bytes keep arriving every 50 ms, so no per-read timeout fires; only the deadline for
    # the whole response can stop this.
    url = feed_server.serve("/slow.xml", b"<rss>" + b" " * 20_000, trickle=0.05)
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=r"within 0\.5 s") as info:
        run(fetch_once(url, timeout=0.5))
    took = time.monotonic() - started
    assert 0.45 <= took < 2.0
    assert info.value.url == url


def test_deadline_covers_waiting_for_headers(feed_server: FeedServer) -> None:
    gate = threading.Event()
    url = feed_server.serve("/stuck.xml", FEED, hold=gate)
    started = time.monotonic()
    try:
        with pytest.raises(FetchTimeout):
            run(fetch_once(url, timeout=0.3))
    finally:
        gate.set()
    assert time.monotonic() - started < 2.0


def test_per_host_bound_is_observed_at_the_server(feed_server: FeedServer) -> None:
    # The server answers requests in groups of 4 (each waits until 4 have arrived). With
    # the bound at 2 per host, a group fills only with 2 requests from each host name (same
    # server), so the server sees exactly 2 per host at once; more if the bound leaked.
    for i in range(8):
        feed_server.serve(f"/f{i}.xml", FEED, release_in_groups=4)
    urls = [
        feed_server.url(f"/f{i}.xml", host=h) for i in range(8) for h in ("127.0.0.1", "localhost")
    ]

    async def scan() -> list[FetchResult]:
        async with Fetcher(per_host=2, max_connections=16, allow_private_networks=True) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch(u) for u in urls)))

    started = time.monotonic()
    results = run(scan())
    assert time.monotonic() - started < 5.0  # no request hit the server's safety wait
    assert all(r.content == FEED for r in results)
    assert feed_server.count() == 16
    assert feed_server.max_in_flight("127.0.0.1") == 2
    assert feed_server.max_in_flight("localhost") == 2
    assert feed_server.max_in_flight() == 4


def test_overall_bound_is_observed_at_the_server(feed_server: FeedServer) -> None:
    for i in range(12):
        feed_server.serve(f"/g{i}.xml", FEED, release_in_groups=3)
    urls = [feed_server.url(f"/g{i}.xml") for i in range(12)]

    async def scan() -> list[FetchResult]:
        async with Fetcher(per_host=10, max_connections=3, allow_private_networks=True) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch(u) for u in urls)))

    started = time.monotonic()
    results = run(scan())
    assert time.monotonic() - started < 5.0
    assert all(r.content == FEED for r in results)
    assert feed_server.max_in_flight() == 3


def test_fetch_sync_uses_the_given_accept_header(feed_server: FeedServer) -> None:
    url = feed_server.serve("/page.html", b"<html><body>hi</body></html>", content_type="text/html")
    result = fetch_sync(url, accept="text/html", allow_private_networks=True)
    assert result.content == b"<html><body>hi</body></html>"
    assert feed_server.requests_for("/page.html")[0].headers["accept"] == "text/html"


def _brotli(data: bytes) -> bytes:
    import brotli

    return bytes(brotli.compress(data))


def _zstd(data: bytes) -> bytes:
    import zstandard

    return bytes(zstandard.ZstdCompressor().compress(data))


def _deflate(data: bytes) -> bytes:
    import zlib

    return zlib.compress(data)


@pytest.mark.parametrize(
    ("coding", "compress"), [("br", _brotli), ("zstd", _zstd), ("deflate", _deflate)]
)
def test_other_content_codings_are_decoded(
    feed_server: FeedServer, coding: str, compress: Any
) -> None:
    body = FEED * 50
    url = feed_server.serve(f"/{coding}.xml", compress(body), headers={"Content-Encoding": coding})
    result = run(fetch_once(url))
    assert result.content == body
    assert coding in feed_server.requests[0].headers["accept-encoding"]


def test_a_hop_check_can_block_with_its_own_error(feed_server: FeedServer) -> None:
    feed_server.serve("/internal.xml", FEED)
    start = feed_server.redirect("/out", "/internal.xml", status=302)

    def block_internal(url: httpx.URL) -> None:
        allow_http_only(url)
        if url.path.startswith("/internal"):
            raise BlockedAddress("refusing an internal address", url=str(url))

    with pytest.raises(BlockedAddress):
        run(fetch_once(start, check_hop=block_internal))
    assert feed_server.count("/internal.xml") == 0


def test_cookies_are_not_carried_between_requests(feed_server: FeedServer) -> None:
    url = feed_server.serve("/feed.xml", FEED, headers={"Set-Cookie": "session=abc; Path=/"})

    async def twice() -> None:
        async with Fetcher(allow_private_networks=True) as fetcher:
            await fetcher.fetch(url)
            await fetcher.fetch(url)

    run(twice())
    assert [r.headers.get("cookie") for r in feed_server.requests] == [None, None]


def test_body_that_is_not_what_content_encoding_says(feed_server: FeedServer) -> None:
    url = feed_server.serve("/lies.xml", FEED, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match=r"cannot decode the response body from 127\.0\.0\.1"):
        run(fetch_once(url))


@pytest.mark.parametrize("etag", ['"caf\u00e9"', '"a"\r\nX-Injected: 1', "x" * 2000])
def test_unsendable_validators_are_dropped(feed_server: FeedServer, etag: str) -> None:
    url = feed_server.serve("/feed.xml", FEED)
    result = run(fetch_once(url, etag=etag))
    assert result.status == 200
    sent = feed_server.requests[0].headers
    assert "if-none-match" not in sent and "x-injected" not in sent
