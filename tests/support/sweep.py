"""The feedparser test-suite documents (../shared/data/feedparser-tests) as served feeds.

Each XML file of the suite opens with a comment holding ``Description:``, ``Expect:`` and,
for the HTTP cases, ``Header: Name: value`` lines: the headers to serve it with. This module
reads them and serves every document from a :class:`~tests.support.feedserver.FeedServer`
at its own path, and writes a config listing them all. Used by tests/e2e/test_sweep.py and
benchmarks/sweep.py.

Documents without a ``Content-type`` header are served as ``application/xml`` (``.json`` as
``application/json``), as a static file server would.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.feedserver import FeedServer

HOSTILE_PATHS: dict[str, str] = {
    "gzip bomb (1 MiB to 1 GiB)": "/gzip-bomb",
    "deflate bomb": "/deflate-bomb",
    "endless body": "/endless",
    "trickle": "/trickle",
    "redirect loop": "/loop-a",
    "endless redirects": "/forever/0",
    "redirect to localhost": "/to-localhost",
    "PNG": "/image.png",
    "HTTP 500": "/error",
    "billion laughs": "/billion-laughs.xml",
    "XXE file:///etc/passwd": "/xxe-file.xml",
    "XXE remote entity": "/xxe-remote.xml",
    "valid feed": "/feed.xml",
}
"""The hostile endpoints (tests/support/hostile.py) a sweep polls, by name. The redirects to
the metadata service and to a private address are left out: they would send traffic off
this machine."""

HOSTILE_MUST_FAIL = frozenset(
    {
        "/gzip-bomb",
        "/deflate-bomb",
        "/endless",
        "/trickle",
        "/loop-a",
        "/forever/0",
        "/image.png",
        "/error",
    }
)

_COMMENT = re.compile(rb"\A\s*(?:<\?xml[^>]*\?>\s*)?<!--(.*?)-->", re.S)
_HEADER = re.compile(r"^\s*Header:\s*([A-Za-z0-9-]+):[ \t]*(.*?)\s*$", re.M)


@dataclass(frozen=True, slots=True)
class SuiteDoc:
    """One document of the suite: its path under the suite folder, bytes and headers."""

    name: str
    body: bytes = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)


def suite_headers(body: bytes) -> dict[str, str]:
    """The ``Header:`` lines of a document's leading comment (ASCII-compatible files only)."""
    match = _COMMENT.match(body[:4096])
    if match is None:
        return {}
    text = match.group(1).decode("latin-1")
    return {name: value for name, value in _HEADER.findall(text)}


def suite_documents(root: Path) -> list[SuiteDoc]:
    """Every feed document under ``root`` (XML and JSON; the licence is left out), sorted."""
    docs = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".xml", ".json"):
            continue
        body = path.read_bytes()
        docs.append(SuiteDoc(path.relative_to(root).as_posix(), body, suite_headers(body)))
    return docs


def serve_documents(server: FeedServer, docs: Iterable[SuiteDoc]) -> dict[str, str]:
    """Serve each document at ``/suite/<name>`` with its headers; URL → document name."""
    urls: dict[str, str] = {}
    for doc in docs:
        headers = dict(doc.headers)
        content_type: str | None = (
            "application/json" if doc.name.endswith(".json") else "application/xml"
        )
        for key in list(headers):
            if key.lower() == "content-type":
                content_type = headers.pop(key)
        lowered = {k.lower() for k in headers}
        url = server.serve(
            f"/suite/{doc.name}",
            doc.body,
            content_type=content_type,
            headers=headers,
            etag=None if "etag" in lowered else "auto",
        )
        urls[url] = doc.name
    return urls


def leaked_passwd(database: Path, feed_urls: Iterable[str]) -> list[str]:
    """Entries of these feeds whose text holds a line of /etc/passwd (an XXE that worked)."""
    urls = list(feed_urls)
    if not urls:
        return []
    marks = ("root:x:0:0", "root:*:0:0", "/bin/bash", "/usr/sbin/nologin")
    with contextlib.closing(sqlite3.connect(database)) as conn:
        rows = conn.execute(
            "SELECT f.url, e.title, e.summary, coalesce(e.content, '') FROM entries e "
            f"JOIN feeds f ON f.id = e.feed_id WHERE f.url IN ({','.join('?' * len(urls))})",
            urls,
        ).fetchall()
    return [row[0] for row in rows if any(m in " ".join(row[1:]) for m in marks)]


def config_text(
    storage_url: str,
    feed_urls: Iterable[str],
    *,
    timeout: float = 20.0,
    concurrency: int = 32,
    per_host: int = 64,
    max_bytes: int = 15_000_000,
) -> str:
    """A peacewatch TOML config polling ``feed_urls`` from a local server."""
    lines = [
        f"[storage]\nurl = {_toml_string(storage_url)}\n",
        "[fetch]\nallow_private_networks = true\n"
        f"timeout = {timeout}\nconcurrency = {concurrency}\nper_host = {per_host}\n"
        f"max_bytes = {max_bytes}\n",
        '[log]\nlevel = "error"\n',
    ]
    lines += [f"[[feeds]]\nurl = {_toml_string(url)}\n" for url in feed_urls]
    return "".join(lines)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
