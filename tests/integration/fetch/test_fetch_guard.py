"""The SSRF guard of worker.fetch against a real local hostile server.

A test resolver (the ``resolver`` seam) says what a name resolves to, so redirect-to-private
and DNS-rebinding cases run without leaving the machine: an allowlist entry for 127.0.0.1
stands in for "a public address" where a test needs to reach the local server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.hostile import FEED, HostileServer
from worker.errors import BlockedAddress, FetchError
from worker.fetch import Fetcher, FetchResult, fetch_sync


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


class ScriptedResolver:
    """Answers each name from a script: a list of answers, one per lookup (the last repeats)."""

    def __init__(self, answers: dict[str, Sequence[Sequence[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        script = self.answers[host]
        index = min(self.calls.count(host), len(script)) - 1
        return list(script[index])


async def _fetch(url: str, **options: Any) -> FetchResult:
    async with Fetcher(timeout=5, **options) as fetcher:
        return await fetcher.fetch(url)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "localhost",
        "[::ffff:127.0.0.1]",
    ],
)
def test_loopback_spellings_of_the_server_make_zero_requests(
    hostile: HostileServer, host: str
) -> None:
    url = hostile.url("/feed.xml", host=host)
    with pytest.raises(BlockedAddress) as info:
        asyncio.run(_fetch(url))
    assert str(info.value).startswith("blocked: ")
    assert "loopback" in str(info.value)
    assert info.value.url == url
    assert hostile.connections == 0
    # The same URL is fetched when private networks are allowed (the spelling reaches it).
    if host not in ("[::ffff:127.0.0.1]",):
        assert asyncio.run(_fetch(url, allow_private_networks=True)).content == FEED


def test_octal_spelling_is_refused_too(hostile: HostileServer) -> None:
    # httpx itself rejects a leading-zero IPv4 as an invalid URL; the guard would refuse it.
    with pytest.raises(FetchError, match=r"invalid URL|loopback"):
        asyncio.run(_fetch(hostile.url("/feed.xml", host="0177.0.0.1")))
    assert hostile.connections == 0


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://[::1]/feed.xml", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/feed.xml", "private"),
        ("http://10.255.1.2:8080/feed.xml", "private"),
        ("http://192.168.1.1/feed.xml", "private"),
        ("http://[fe80::1]/feed.xml", "link-local"),
        ("http://100.64.0.1/feed.xml", "carrier-grade NAT"),
        ("http://0.0.0.0/feed.xml", "unspecified"),
    ],
)
def test_non_public_literals_are_refused_before_any_lookup_or_connect(url: str, kind: str) -> None:
    resolver = ScriptedResolver({})
    started = time.monotonic()
    with pytest.raises(BlockedAddress, match=kind):
        asyncio.run(_fetch(url, resolver=resolver))
    assert resolver.calls == []
    assert time.monotonic() - started < 1.0  # no connect attempt (that would hang or fail)


def test_name_resolving_to_a_private_address_is_refused_at_connect(
    hostile: HostileServer,
) -> None:
    resolver = ScriptedResolver({"intranet.test": [["127.0.0.1"]]})
    with pytest.raises(BlockedAddress) as info:
        asyncio.run(_fetch(hostile.url("/feed.xml", host="intranet.test"), resolver=resolver))
    assert str(info.value) == (
        "blocked: intranet.test resolves to 127.0.0.1, a loopback address "
        "(set fetch.allow_private_networks = true or add it to fetch.allowlist to allow)"
    )
    assert resolver.calls == ["intranet.test"]
    assert hostile.connections == 0


@pytest.mark.parametrize("allow", [["feeds.test"], ["127.0.0.1"], ["127.0.0.0/8"]])
def test_allowlist_host_ip_or_cidr_lifts_the_guard(
    hostile: HostileServer, allow: list[str]
) -> None:
    resolver = ScriptedResolver({"feeds.test": [["127.0.0.1"]]})
    url = hostile.url("/feed.xml", host="feeds.test")
    result = asyncio.run(_fetch(url, allowlist=allow, resolver=resolver))
    assert result.content == FEED
    assert hostile.requests[0].host == "feeds.test"


def test_only_allowed_addresses_of_a_name_are_connected_to(hostile: HostileServer) -> None:
    # 10.0.0.1 comes first but is refused; the allowed address is used instead.
    resolver = ScriptedResolver({"mixed.test": [["10.0.0.1", "127.0.0.1"]]})
    url = hostile.url("/feed.xml", host="mixed.test")
    result = asyncio.run(_fetch(url, allowlist=["127.0.0.1/32"], resolver=resolver))
    assert result.content == FEED
    assert hostile.connections == 1


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/to-metadata", "169.254.169.254 is a link-local address"),
        ("/to-private", "10.0.0.1 is a private address"),
        ("/to-localhost", "localhost is a loopback name"),
    ],
)
def test_redirect_to_a_private_target_is_refused_at_the_hop(
    hostile: HostileServer, path: str, kind: str
) -> None:
    resolver = ScriptedResolver({"public.test": [["127.0.0.1"]]})
    url = hostile.url(path, host="public.test")
    with pytest.raises(BlockedAddress) as info:
        asyncio.run(_fetch(url, allowlist=["public.test"], resolver=resolver))
    message = str(info.value)
    assert kind in message and message.endswith("(redirect target)")
    assert info.value.url == url
    assert [r.path for r in hostile.requests] == [path]
    assert hostile.connections == 1


def test_redirect_to_a_name_that_resolves_privately_is_refused(hostile: HostileServer) -> None:
    resolver = ScriptedResolver({"public.test": [["127.0.0.1"]], "internal.test": [["127.0.0.1"]]})
    start = hostile.redirect("/out", hostile.url("/feed.xml", host="internal.test"))
    start = start.replace("127.0.0.1", "public.test")
    with pytest.raises(BlockedAddress, match=r"internal\.test resolves to 127\.0\.0\.1"):
        asyncio.run(_fetch(start, allowlist=["public.test"], resolver=resolver))
    assert resolver.calls == ["public.test", "internal.test"]
    assert hostile.count("/feed.xml") == 0
    assert hostile.connections == 1


def test_dns_rebinding_between_connections_is_refused(hostile: HostileServer) -> None:
    # rebind.test answers "127.0.0.1" (allowlisted: stands in for a public address) first,
    # then 127.0.0.2. The redirect to the same name needs a new connection (the server closes
    # each one), which resolves again, sees the private answer and is refused: the address
    # connected to is always the one just checked.
    resolver = ScriptedResolver({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]})
    start = hostile.redirect("/first", hostile.url("/feed.xml", host="rebind.test"))
    start = start.replace("127.0.0.1", "rebind.test")
    with pytest.raises(BlockedAddress, match=r"rebind\.test resolves to 127\.0\.0\.2, a loopback"):
        asyncio.run(_fetch(start, allowlist=["127.0.0.1/32"], resolver=resolver))
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert [r.path for r in hostile.requests] == ["/first"]
    assert hostile.connections == 1


def test_one_lookup_per_connection(hostile: HostileServer) -> None:
    resolver = ScriptedResolver({"feeds.test": [["127.0.0.1"]]})
    url = hostile.url("/feed.xml", host="feeds.test")

    async def three() -> None:
        async with Fetcher(allowlist=["127.0.0.1"], resolver=resolver) as fetcher:
            for _ in range(3):
                await fetcher.fetch(url)

    asyncio.run(three())
    assert hostile.connections == 3
    assert resolver.calls == ["feeds.test"] * 3


def test_unresolvable_name_through_the_seam_is_a_fetch_error() -> None:
    import socket

    async def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(FetchError, match=r"cannot resolve host nowhere\.test"):
        asyncio.run(_fetch("http://nowhere.test/feed.xml", resolver=failing))


def test_fetch_sync_takes_the_guard_options(hostile: HostileServer) -> None:
    url = hostile.url("/feed.xml")
    with pytest.raises(BlockedAddress):
        fetch_sync(url)
    assert hostile.connections == 0
    assert fetch_sync(url, allowlist=["127.0.0.1"]).content == FEED


def test_check_command_refuses_a_loopback_url(hostile: HostileServer, tmp_path: Path) -> None:
    url = hostile.url("/feed.xml")
    result = run_cli("check", url, cwd=tmp_path)
    assert result.code != 0
    assert "blocked: 127.0.0.1 is a loopback address" in result.stderr + result.stdout
    assert "fetch.allow_private_networks = true" in result.stderr + result.stdout
    assert hostile.connections == 0


def test_scan_with_default_settings_contacts_no_private_feed(
    hostile: HostileServer, tmp_path: Path
) -> None:
    feeds = [
        hostile.url("/feed.xml"),
        hostile.url("/feed.xml", host="localhost"),
        hostile.url("/feed.xml", host="[::1]"),
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/feed.xml",
        "http://192.168.0.10/feed.xml",
    ]
    config = tmp_path / "peacewatch.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path}/pw.db"\n[fetch]\ntimeout = 5\n'
        + "".join(f'[[feeds]]\nurl = "{u}"\nname = "Feed {i}"\n' for i, u in enumerate(feeds))
    )
    scan = run_cli("scan", "--json", "--config", str(config), cwd=tmp_path)
    assert scan.code == 0, scan.stderr
    assert hostile.connections == 0
    status = {
        row["url"]: row
        for row in run_cli("status", "--json", "--config", str(config), cwd=tmp_path).json_lines()
    }
    assert len(status) == len(feeds)
    for row in status.values():
        assert row["last_error"].startswith("blocked: "), row
        assert row["consecutive_errors"] == 1
