"""`peacewatch feeds add URL`: a site URL finds its feed through <link rel="alternate">; a
feed URL is added as it is; a page without a feed, an error page or an unreachable URL is
refused in one line (unless --no-check). Against a real local server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Result, run_cli
from tests.support.feedserver import FeedServer
from worker.discover import feed_from_document
from worker.errors import InputError

FEED = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
    b"<title>Lakeside desk</title><link>https://lakeside.example/</link>"
    b"<item><title>Talks resume by the lake</title><guid>l-1</guid></item>"
    b"</channel></rss>\n"
)
SITE = b"""<!DOCTYPE html>
<html><head><title>Lakeside</title>
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/atom+xml" title="All" href="/news/feed.xml">
<link rel="alternate" type="application/rss+xml" title="Region" href="/region.rss">
</head><body><p>Welcome to the lakeside news desk.</p></body></html>"""
NO_FEED = b"<!DOCTYPE html><html><head><title>Plain</title></head><body>Hi</body></html>"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


def add(tmp_path: Path, *args: str) -> Result:
    config = tmp_path / "pw.toml"
    config.write_text(
        f'feeds = []\n[storage]\nurl = "sqlite:///{tmp_path}/pw.db"\n'
        "[fetch]\nallow_private_networks = true\ntimeout = 5\n"
    )
    return run_cli("feeds", "add", *args, "--config", str(config), cwd=tmp_path)


def listed(tmp_path: Path) -> list[str]:
    result = run_cli("feeds", "list", "--json", "--config", str(tmp_path / "pw.toml"), cwd=tmp_path)
    assert result.code == 0, result.stderr
    return [row["url"] for row in result.json_lines()]


def test_a_site_url_adds_the_feed_it_announces(server: FeedServer, tmp_path: Path) -> None:
    site = server.serve("/", SITE, content_type="text/html; charset=utf-8")
    feed = server.serve("/news/feed.xml", FEED)
    result = add(tmp_path, site)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == f"added {feed} (found on {site})"
    assert listed(tmp_path) == [feed]
    assert server.count("/") == 1 and server.count("/news/feed.xml") == 0  # fetched once


def test_a_feed_url_is_added_as_it_is(server: FeedServer, tmp_path: Path) -> None:
    feed = server.serve("/feed.xml", FEED)
    result = add(tmp_path, feed, "--name", "Lakeside")
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == f"added {feed}"
    assert listed(tmp_path) == [feed]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "expect"),
    [
        ("/plain", NO_FEED, "text/html", 200, "announces no feed"),
        ("/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png", 200, "PNG"),
        ("/broken", b"oops", "text/plain", 500, "HTTP 500"),
    ],
)
def test_no_feed_is_refused_in_one_line(
    server: FeedServer,
    tmp_path: Path,
    path: str,
    body: bytes,
    content_type: str,
    status: int,
    expect: str,
) -> None:
    url = server.serve(path, body, content_type=content_type, status=status)
    result = add(tmp_path, url)
    assert result.code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and expect in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert listed(tmp_path) == []


def test_no_check_adds_without_fetching(server: FeedServer, tmp_path: Path) -> None:
    url = server.url("/not-yet")
    result = add(tmp_path, url, "--no-check")
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == f"added {url}"
    assert server.count() == 0


def test_feed_from_document_without_network() -> None:
    found = feed_from_document(
        "https://lakeside.example/",
        SITE,
        final_url="https://www.lakeside.example/home",
        headers={"Content-Type": "text/html"},
    )
    assert found.feed_url == "https://www.lakeside.example/news/feed.xml"
    assert found.site_url == "https://lakeside.example/"
    assert found.others == ("https://www.lakeside.example/region.rss",)
    same = feed_from_document("https://l.example/f", FEED, final_url="https://l.example/f")
    assert same.feed_url == "https://l.example/f" and same.site_url is None
    with pytest.raises(InputError, match="not a feed"):
        feed_from_document("https://l.example/j", b'{"a": 1}', final_url="https://l.example/j")
