"""From a URL a user gives to ``feeds add`` to the feed URL to store.

The URL is fetched once. A feed is taken as it is; an HTML page is searched for the feeds it
announces (``<link rel="alternate" type="application/rss+xml|atom+xml|rdf+xml" href=...>``,
see :func:`worker.parse.find_feed_links`) and the first one is taken; anything else is
refused with a one-line reason. The discovered feed is not fetched again.

Example::

    found = discover_feed("https://news.example/", settings.fetch)
    found.feed_url   # "https://news.example/feed.xml"
    found.site_url   # "https://news.example/" (None when the URL was a feed already)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from worker.errors import FetchError, InputError, ParseError
from worker.parse import find_feed_links, parse_feed
from worker.settings import FetchSettings

__all__ = ["Discovered", "discover_feed", "feed_from_document"]

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.7, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class Discovered:
    """The feed URL to store; ``site_url`` is the page it was found on (None: a feed)."""

    feed_url: str
    site_url: str | None = None
    others: tuple[str, ...] = ()
    """Further feeds the page announced, in page order."""


def feed_from_document(
    url: str, content: bytes, *, final_url: str, headers: Mapping[str, str] | None = None
) -> Discovered:
    """Decide from one fetched document: ``url`` as it is when the document is a feed, else
    the first feed an HTML page announces. Raises :class:`InputError` otherwise."""
    try:
        parse_feed(content, feed_url=final_url, fetched_at=datetime.now(UTC), headers=headers)
    except ParseError as exc:
        if not _looks_like_html(content, headers):
            raise InputError(f"{url}: {exc}") from exc
    else:
        return Discovered(feed_url=url)
    links = find_feed_links(content, final_url)
    if not links:
        raise InputError(
            f"{url}: an HTML page that announces no feed "
            '(no <link rel="alternate" type="application/rss+xml"> or Atom link)'
        )
    return Discovered(feed_url=links[0], site_url=url, others=tuple(links[1:]))


def discover_feed(url: str, fetch: FetchSettings) -> Discovered:
    """Fetch ``url`` once with the configured fetch rules and decide (see module doc).

    Raises :class:`InputError` when the URL cannot be fetched or holds no feed."""
    from worker.fetch import fetch_sync

    try:
        result = fetch_sync(
            url,
            accept=ACCEPT,
            timeout=fetch.timeout,
            max_bytes=fetch.max_bytes,
            user_agent=fetch.user_agent,
            max_redirects=fetch.max_redirects,
            allow_private_networks=fetch.allow_private_networks,
            allowlist=fetch.allowlist,
        )
    except FetchError as exc:
        raise InputError(f"{url}: cannot fetch: {exc} (--no-check adds it anyway)") from exc
    return feed_from_document(
        url, result.content or b"", final_url=result.final_url, headers=result.headers
    )


def _looks_like_html(content: bytes, headers: Mapping[str, str] | None) -> bool:
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    kind = lowered.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return True
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head or b"<head" in head
