"""Decompression bombs, endless and trickling bodies, loops: limits hold, memory stays low.

Each bomb inflates to 1 GiB; the fetcher must stop just past ``max_bytes`` with TooLarge,
quickly, and without ever holding much more than ``max_bytes`` in memory (tracemalloc peak).
"""

from __future__ import annotations

import asyncio
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support import hostile as hostile_module
from tests.support.hostile import INFLATED_SIZE, PNG, HostileServer
from worker.errors import FetchError, FetchTimeout, TooLarge
from worker.fetch import Fetcher, FetchResult

MiB = 1 << 20


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer(trickle_interval=0.05) as server:
        yield server


async def _fetch(url: str, **options: Any) -> FetchResult:
    options.setdefault("allow_private_networks", True)  # the hostile server is on 127.0.0.1
    async with Fetcher(**options) as fetcher:
        return await fetcher.fetch(url)


BOMBS: list[tuple[str, Callable[[], bytes]]] = [
    ("/gzip-bomb", hostile_module.gzip_bomb),
    ("/deflate-bomb", hostile_module.deflate_bomb),
    ("/brotli-bomb", hostile_module.brotli_bomb),
    ("/zstd-bomb", hostile_module.zstd_bomb),
]


@pytest.mark.parametrize(("path", "build"), BOMBS, ids=[p for p, _ in BOMBS])
def test_bomb_is_too_large_quickly_with_low_memory(
    hostile: HostileServer, path: str, build: Callable[[], bytes]
) -> None:
    bomb = build()  # built before measuring: the server's copy is not the client's memory
    assert len(bomb) <= 1.1 * MiB
    assert INFLATED_SIZE // MiB == 1024
    max_bytes = 15_000_000
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(TooLarge, match="larger than 15,000,000 bytes") as info:
            asyncio.run(_fetch(hostile.url(path), max_bytes=max_bytes, timeout=20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    took = time.monotonic() - started
    assert info.value.status == 200
    assert took < 10.0
    # Everything decoded is held until the cap is passed; nothing near the inflated size.
    assert peak < max_bytes + 24 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert hostile.count(path) == 1


def test_gzip_bomb_under_a_small_cap_stops_after_little_work(hostile: HostileServer) -> None:
    hostile_module.gzip_bomb()
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge):
            asyncio.run(_fetch(hostile.url("/gzip-bomb"), max_bytes=100_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB, f"peak {peak / MiB:.1f} MiB"


def test_endless_body_is_too_large(hostile: HostileServer) -> None:
    started = time.monotonic()
    with pytest.raises(TooLarge, match="larger than 1,000,000 bytes"):
        asyncio.run(_fetch(hostile.url("/endless"), max_bytes=1_000_000, timeout=10))
    assert time.monotonic() - started < 5.0


def test_trickle_is_stopped_by_the_whole_response_deadline(hostile: HostileServer) -> None:
    # A byte every 50 ms: no read ever times out, only the deadline for the whole response.
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=r"within 0\.5 s"):
        asyncio.run(_fetch(hostile.url("/trickle"), timeout=0.5))
    took = time.monotonic() - started
    assert 0.45 <= took < 2.0
    assert 1 <= hostile.trickled < 10_000


def test_redirect_loop_is_an_error(hostile: HostileServer) -> None:
    with pytest.raises(FetchError, match="redirect loop"):
        asyncio.run(_fetch(hostile.url("/loop-a")))
    assert hostile.count() == 2


def test_endless_redirects_stop_at_the_limit(hostile: HostileServer) -> None:
    with pytest.raises(FetchError, match=r"too many redirects \(more than 5\)"):
        asyncio.run(_fetch(hostile.url("/forever/0")))
    assert hostile.count() == 6


def test_server_error_is_a_fetch_error_with_status(hostile: HostileServer) -> None:
    with pytest.raises(FetchError) as info:
        asyncio.run(_fetch(hostile.url("/error")))
    assert str(info.value) == "HTTP 500 Internal Server Error"
    assert info.value.status == 500


def test_png_is_fetched_as_bytes_with_its_type(hostile: HostileServer) -> None:
    # Whether an image is a feed is the parser's call; the fetch itself succeeds.
    result = asyncio.run(_fetch(hostile.url("/image.png")))
    assert result.content == PNG
    assert result.content_type == "image/png"


def test_xml_attack_documents_are_served_as_bytes(hostile: HostileServer) -> None:
    laughs = asyncio.run(_fetch(hostile.url("/billion-laughs.xml")))
    remote = asyncio.run(_fetch(hostile.url("/xxe-remote.xml")))
    assert laughs.content is not None and b"<!ENTITY lol9" in laughs.content
    assert remote.content is not None and hostile.url("/xxe-canary").encode() in remote.content
    assert hostile.count("/xxe-canary") == 0


def test_stopping_the_server_ends_a_trickle() -> None:
    server = HostileServer(trickle_interval=30.0).start()
    outcome: list[BaseException] = []
    done = threading.Event()

    def fetch() -> None:
        try:
            asyncio.run(_fetch(server.url("/trickle"), timeout=20))
        except BaseException as exc:  # recorded for the assertion below
            outcome.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=fetch)
    worker.start()
    assert server.trickle_started.wait(10)
    server.stop()
    assert done.wait(10)
    worker.join()
    assert outcome and isinstance(outcome[0], FetchError)
    assert not isinstance(outcome[0], FetchTimeout)  # ended by the server, not the deadline
