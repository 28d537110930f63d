"""Turn what a user hands to ``peacewatch check`` into Entry values.

SOURCE is an http(s) URL (fetched; a feed is parsed, a page has its main text extracted),
``-`` for standard input, or a local file: an RSS/Atom document (each entry), a labelled
JSONL file (each record), an HTML page (main text) or plain text (first line is the title
unless ``--title`` is given).
"""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from worker.errors import FetchError, InputError, ParseError
from worker.fulltext import extract_main_text
from worker.models import Entry
from worker.parse import parse_feed
from worker.records import read_records
from worker.settings import Settings
from worker.text import clean_whitespace, html_to_text

_FEED_MARKERS = (b"<rss", b"<feed", b"<rdf:rdf", b"<rdf", b"<channel")
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<body", b"<p>", b"<div", b"<article")


def sniff(data: bytes) -> str:
    """'feed', 'html' or 'text' from the first kilobytes of a document."""
    head = data[:4096].lstrip().lower()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if any(marker in head for marker in _FEED_MARKERS):
        return "feed"
    if any(marker in head for marker in _HTML_MARKERS):
        return "html"
    return "text"


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise InputError(f"{where}: not a text document") from exc


def _article(
    body: str, *, title: str | None, published: datetime, source: str | None, url: str | None
) -> Entry:
    text = clean_whitespace(body)
    if title is None:
        first, _, rest = text.partition("\n")
        title, text = first.strip(), rest.strip()
    else:
        title = clean_whitespace(title)
        if text.startswith(title):
            text = text[len(title) :].strip()
    if not title and not text:
        raise InputError("nothing to analyse: the input is empty")
    key = url or hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()
    lead, _, _rest = text.partition("\n")
    long_text = len(text) > 600
    return Entry(
        key=key,
        title=title,
        summary=lead if long_text else text,
        content=text if long_text else None,
        published=published,
        url=url,
        source=source,
    )


def entries_from_bytes(
    data: bytes,
    *,
    where: str,
    title: str | None,
    published: datetime,
    source: str | None,
    url: str | None = None,
) -> list[Entry]:
    kind = sniff(data)
    if kind == "feed":
        try:
            parsed = parse_feed(data, feed_url=url or where, fetched_at=published, source=source)
        except ParseError as exc:
            raise InputError(f"{where}: {exc}") from exc
        return list(parsed.entries)
    if kind == "html":
        page_title, text = extract_main_text(data, url)
        return [
            _article(
                text,
                title=title or page_title,
                published=published,
                source=source,
                url=url,
            )
        ]
    return [
        _article(
            html_to_text(_decode(data, where)) if b"&" in data else _decode(data, where),
            title=title,
            published=published,
            source=source,
            url=url,
        )
    ]


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.lower() in ("http", "https")


def load_entries(
    source: str,
    *,
    settings: Settings,
    title: str | None,
    published: datetime,
    source_name: str | None,
) -> list[Entry]:
    """The entries to analyse for one ``check`` SOURCE."""
    if source == "-":
        return entries_from_bytes(
            sys.stdin.buffer.read(),
            where="<stdin>",
            title=title,
            published=published,
            source=source_name,
        )
    if is_url(source):
        from worker.fetch import fetch_sync

        fetch = settings.fetch
        try:
            result = fetch_sync(
                source,
                timeout=fetch.timeout,
                max_bytes=fetch.max_bytes,
                user_agent=fetch.user_agent,
                max_redirects=fetch.max_redirects,
                allow_private_networks=fetch.allow_private_networks,
                allowlist=fetch.allowlist,
                accept="text/html,application/xhtml+xml,application/rss+xml,"
                "application/atom+xml,application/xml;q=0.9,*/*;q=0.5",
            )
        except FetchError as exc:
            raise FetchError(f"{source}: {exc}", status=exc.status, url=source) from exc
        return entries_from_bytes(
            result.content or b"",
            where=source,
            title=title,
            published=published,
            source=source_name or urlsplit(result.final_url).hostname,
            url=result.final_url,
        )
    if "://" in source:
        raise InputError(f"{source}: only http and https URLs can be checked")
    path = Path(source)
    if path.suffix.lower() == ".jsonl":
        return [record.entry for record in read_records(path)]
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{source}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{source}: is a directory, not a file") from exc
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    return entries_from_bytes(
        data, where=source, title=title, published=published, source=source_name
    )
