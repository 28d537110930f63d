"""The whole feedparser test suite (2,100 documents) polled through the pipeline in one scan.

Every document of ../shared/data/feedparser-tests is served from a local server at its own
path with the ``Header:`` lines of its leading comment as response headers, together with
the hostile endpoints of tests/support/hostile.py (bombs, endless and trickling bodies,
redirect loops, a PNG, a 500, billion laughs, XXE). One
``peacewatch scan --all --json`` polls them all; it must exit 0 without a crash, and then
``status --json`` must report every feed as one of:

- ``stored``: entries > 0 (entries were stored);
- ``error``: ``last_error`` set (a one-line per-feed reason: not a feed, HTTP 500, ...);
- ``empty``: ``last_status`` 200, no error and zero entries: a well-formed feed without
  items (most of the suite checks feed-level elements and has no ``<item>``/``<entry>``).

Anything else (never polled, no status) fails the test, which lists the documents.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.feedserver import FeedServer
from tests.support.hostile import HostileServer
from tests.support.paths import shared_path
from tests.support.sweep import (
    HOSTILE_MUST_FAIL,
    HOSTILE_PATHS,
    config_text,
    leaked_passwd,
    serve_documents,
    suite_documents,
)

SCAN_TIMEOUT = 240.0  # seconds for the whole scan subprocess (the target is 4 minutes)
HOSTILE_FETCH_TIMEOUT = 3.0  # the trickle endpoint is cut by this deadline


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


def classify(row: dict[str, Any] | None) -> str:
    if row is None:
        return "unreported"
    if row.get("entries"):
        return "stored"
    if row.get("last_error"):
        return "error"
    if row.get("last_status") == 200:
        return "empty"
    return "unreported"


def test_feedparser_suite_in_one_scan(server: FeedServer, tmp_path: Path) -> None:
    root = shared_path("data", "feedparser-tests")
    docs = suite_documents(root)
    assert len(docs) >= 2000, f"expected the 2,100 documents of the suite, found {len(docs)}"
    urls = serve_documents(server, docs)
    with HostileServer(trickle_interval=0.5) as hostile:
        hostile_urls = {hostile.url(path): path for path in HOSTILE_PATHS.values()}
        urls.update({url: f"hostile:{path}" for url, path in hostile_urls.items()})
        config = tmp_path / "peacewatch.toml"
        config.write_text(
            config_text(f"sqlite:///{tmp_path}/sweep.db", urls, timeout=HOSTILE_FETCH_TIMEOUT)
        )
        started = time.monotonic()
        scan = run_cli(
            "scan", "--all", "--json", "--config", str(config), cwd=tmp_path, timeout=SCAN_TIMEOUT
        )
        elapsed = time.monotonic() - started
        canary_requests = hostile.count("/xxe-canary")
    assert scan.code == 0, scan.stderr[-3000:]
    assert "Traceback" not in scan.stderr, scan.stderr[-3000:]
    assert "internal error" not in scan.stderr, scan.stderr[-3000:]
    status = run_cli("status", "--json", "--config", str(config), cwd=tmp_path)
    assert status.code == 0, status.stderr
    rows = {row["url"]: row for row in status.json_lines()}

    kinds = {name: classify(rows.get(url)) for url, name in urls.items()}
    missing = sorted(name for name, kind in kinds.items() if kind == "unreported")
    assert not missing, f"{len(missing)} documents without an outcome: {missing}"
    counts = Counter(kinds.values())
    # Not a blanket pass: the suite has hundreds of documents with items, and a few that
    # are not feeds at all.
    assert counts["stored"] > 400, counts
    assert counts["error"] >= len(HOSTILE_MUST_FAIL), counts
    multiline = [name for url, name in urls.items() if "\n" in (rows[url].get("last_error") or "")]
    assert not multiline, multiline

    outcome = {path: rows[url] for url, path in hostile_urls.items()}
    wrong = {p: outcome[p] for p in HOSTILE_MUST_FAIL if classify(outcome[p]) != "error"}
    assert not wrong, wrong
    assert classify(outcome["/feed.xml"]) == "stored", outcome["/feed.xml"]
    assert "larger than" in outcome["/gzip-bomb"]["last_error"], outcome["/gzip-bomb"]
    assert canary_requests == 0  # the remote XXE entity was never fetched
    assert leaked_passwd(tmp_path / "sweep.db", urls) == []
    assert elapsed < SCAN_TIMEOUT
    print(f"sweep: {len(urls)} feeds in {elapsed:.1f} s: {dict(counts)}")
