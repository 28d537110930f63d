"""Feed documents (bytes) to :class:`ParsedFeed` of plain-text :class:`~worker.models.Entry`.

Pure: no network, no file system, no clock (``fetched_at`` is passed in). feedparser is given
the bytes wrapped in a ``BytesIO`` -- never a URL or a ``str``/``bytes`` value, which it would
treat as a URL or a *file name* to open -- with HTML sanitising on and relative-URI rewriting
inside HTML off (the HTML becomes plain text here anyway).

feedparser is given no base URL: it would resolve every ``<guid>`` (``isPermaLink`` defaults
to true) against it, so entry keys would change whenever the feed moved. Links are resolved
here against ``feed_url`` instead (after any ``xml:base``, which feedparser applies).

Reads RSS 0.9x, RSS 1.0 (RDF), RSS 2.0 and Atom 0.3/1.0 (and whatever else feedparser reads).

XML safety (hostile feeds): the document is first converted to UTF-8 the way feedparser
converts it (so no encoding trick, e.g. UTF-7 or UTF-16, hides a declaration), then any
DOCTYPE *internal subset* (``[ ... ]``: ENTITY, ATTLIST, parameter entities) in the prolog is
removed, keeping the DOCTYPE itself. Entity references then stay literal text (``&lol9;``):
no billion laughs, no quadratic blow-up, no ``SYSTEM "file:///etc/passwd"`` entity. External
DTDs and entities are never fetched: feedparser switches off external general entities and
the XML reader is pinned to the standard library's expat reader (not libxml2 or whatever
``PY_SAX_PARSER`` names). A DOCTYPE whose internal subset never ends is refused. Numeric
character references to surrogates or beyond U+10FFFF become U+FFFD (feedparser's loose
parser would otherwise lose the whole feed to one of them).
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import feedparser.api
from feedparser.encodings import convert_to_utf8

from worker.errors import ParseError
from worker.models import Entry
from worker.text import clean_whitespace, html_to_text

__all__ = ["ParsedFeed", "find_feed_links", "parse_feed"]


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """One parsed feed document.

    ``ttl_seconds`` is the feed's own hint of how often to poll (RSS ``<ttl>`` or the
    syndication module's ``updatePeriod``/``updateFrequency``), ``None`` when absent.
    ``warning`` is set (one line) when the document was malformed but still gave entries.
    """

    title: str | None
    link: str | None
    ttl_seconds: int | None
    entries: tuple[Entry, ...]
    warning: str | None = None


_CONTENT_LONGER = 1.2  # content is kept when its text is this much longer than the summary
_CONTENT_EXTRA = 40  # ... and at least this many characters longer

_SY_PERIODS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}
_MAX_TTL = 30 * 86400
_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)

# The strict parser is always the standard library's expat reader, which honours feedparser's
# "no external general entities" setting (a libxml2 driver found first might not).
feedparser.api.PREFERRED_XML_PARSERS = ["xml.sax.expatreader"]


def parse_feed(
    content: bytes,
    *,
    feed_url: str,
    fetched_at: datetime,
    source: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ParsedFeed:
    """Parse one feed document.

    ``feed_url`` is the URL the bytes came from (after redirects): relative links resolve
    against it. ``fetched_at`` (aware) stands in for entries without a date and caps dates
    in the future. ``source`` names the outlet (default: the feed's title). ``headers`` are
    the response headers (``Content-Type`` gives the character encoding).

    Raises :class:`ParseError` when the document is not a feed at all.
    """
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    else:
        fetched_at = fetched_at.astimezone(UTC)
    lowered = {k.lower(): v for k, v in headers.items()} if headers else {}
    content_type = lowered.get("content-type")
    if not content or not content.strip():
        raise ParseError(f"not a feed: the document is empty{_ct(content_type)}")
    obvious = _sniff_not_feed(content)
    if obvious:
        raise ParseError(f"not a feed: got {obvious}{_ct(content_type)}")

    fp_headers = _feedparser_headers(lowered)
    content, pre_warning = _defuse(content, fp_headers)
    if pre_warning is not None:
        fp_headers = {**fp_headers, "content-type": "application/xml; charset=utf-8"}
    try:
        result = feedparser.parse(
            io.BytesIO(content),
            response_headers=fp_headers,
            resolve_relative_uris=False,
            sanitize_html=False,  # we keep text only (html_to_text); sanitising doubles the cost
        )
    except Exception as exc:  # feedparser's own bugs on hostile input must not escape
        raise ParseError(f"cannot parse the feed: {type(exc).__name__}: {exc}") from exc

    raw_entries: list[Any] = result.get("entries") or []
    version: str = result.get("version") or ""
    if not version and not raw_entries:
        raise ParseError(f"not a feed: {_not_feed_reason(content)}{_ct(content_type)}")

    feed: Mapping[str, Any] = result.get("feed") or {}
    title = _text(feed.get("title"), feed.get("title_detail")) or None
    link = _http_url(feed.get("link"), feed_url)
    source_name = source or title
    warning = _warning(result) if result.get("bozo") else None
    if pre_warning is not None:
        warning = pre_warning if warning is None else f"{pre_warning}; {warning}"

    entries: list[Entry] = []
    for raw in raw_entries:
        # A plain dict copy: FeedParserDict.get aliases keys (updated_parsed falls back to
        # published_parsed with a DeprecationWarning); the copy skips that machinery.
        fields = dict(raw) if isinstance(raw, dict) else {}
        entry = _entry(fields, feed_url=feed_url, fetched_at=fetched_at, source=source_name)
        if entry is not None:
            entries.append(entry)
    return ParsedFeed(
        title=title,
        link=link,
        ttl_seconds=_ttl_seconds(feed),
        entries=tuple(entries),
        warning=warning,
    )


def _entry(
    raw: dict[str, Any], *, feed_url: str, fetched_at: datetime, source: str | None
) -> Entry | None:
    title = _text(raw.get("title"), raw.get("title_detail"))
    summary = _text(raw.get("summary"), raw.get("summary_detail"))
    content = _content(raw.get("content"), summary)
    if content and not summary:
        summary, content = content, None
    url = _http_url(raw.get("link"), feed_url)
    if url and raw.get("guidislink") and not _is_absolute_http(raw.get("link")):
        url = None  # a bare <guid> that is not a URL: feedparser copied it into "link"
    if not (title or summary or url):
        return None
    published = _published(raw, fetched_at)
    return Entry(
        key=_key(raw, url, title, summary),
        title=title,
        summary=summary,
        published=published,
        url=url,
        content=content,
        source=source,
        feed_url=feed_url,
    )


def _text(value: Any, detail: Any = None) -> str:
    """Plain text of a feedparser text construct (HTML stripped, entities decoded)."""
    if not value or not isinstance(value, str):
        return ""
    kind = detail.get("type") if isinstance(detail, Mapping) else None
    if kind == "text/plain" and "<" in value:
        # Already plain (the XML parser decoded it); "<" here is a literal character.
        return clean_whitespace(html.unescape(value) if "&" in value else value)
    return html_to_text(value)


def _content(values: Any, summary: str) -> str | None:
    """The longest ``content`` value as text, when clearly longer than the summary."""
    if not values or not isinstance(values, list):
        return None
    longest = ""
    for item in values:
        value = item.get("value") if isinstance(item, Mapping) else None
        if isinstance(value, str) and len(value) > len(longest):
            longest = value
    if not longest:
        return None
    text = html_to_text(longest)
    if len(text) >= len(summary) * _CONTENT_LONGER and len(text) >= len(summary) + _CONTENT_EXTRA:
        return text
    if not summary:
        return text or None
    return None


def _published(raw: Mapping[str, Any], fetched_at: datetime) -> datetime:
    """The entry's date in UTC; ``fetched_at`` when it has none or claims a later one.

    A date after ``fetched_at`` cannot be true (the entry was already there); feeds that
    write local times as UTC or schedule posts produce them, and a future date would pin
    the entry to the top of every list, so it is capped.
    """
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = raw.get(name)
        if parsed is None:
            continue
        try:
            when = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            continue
        return min(when, fetched_at)
    return fetched_at


def _key(raw: Mapping[str, Any], url: str | None, title: str, summary: str) -> str:
    """guid / id, else link, else a hash of title and the date as written: stable across
    polls as long as the feed does not rewrite the item."""
    guid = raw.get("id")
    if isinstance(guid, str):
        guid = guid.strip()
        if guid:
            return guid
    if url:
        return url
    date = raw.get("published") or raw.get("updated") or raw.get("created") or ""
    basis = f"{title}\n{date}" if (title or date) else summary
    return "sha1:" + hashlib.sha1(basis.encode("utf-8", "surrogatepass")).hexdigest()


def _http_url(value: Any, base: str) -> str | None:
    """An absolute http(s) URL, resolved against ``base``; ``None`` for anything else."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    try:
        absolute = urljoin(base, value)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    return absolute if scheme in ("http", "https") else None


def _is_absolute_http(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def _ttl_seconds(feed: Mapping[str, Any]) -> int | None:
    ttl = feed.get("ttl")
    if isinstance(ttl, str) and ttl.strip().isdigit():
        minutes = int(ttl.strip())
        if minutes > 0:
            return min(minutes * 60, _MAX_TTL)
    period = feed.get("sy_updateperiod")
    if isinstance(period, str) and period.strip().lower() in _SY_PERIODS:
        frequency = feed.get("sy_updatefrequency")
        times = 1
        if isinstance(frequency, str) and frequency.strip().isdigit():
            times = max(1, int(frequency.strip()))
        return max(60, _SY_PERIODS[period.strip().lower()] // times)
    return None


def _feedparser_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for feedparser: the charset the server declared, and the language.

    The media type is always given as ``application/xml``. feedparser follows RFC 3023
    literally: ``text/xml`` without a charset means US-ASCII and a missing Content-Type
    means ISO-8859-1 (silent mojibake for UTF-8 without an XML declaration), and a feed
    served as ``text/html`` is flagged as malformed. ``application/xml`` makes it use the
    declared charset, else the XML declaration, else UTF-8.
    """
    out = {"content-type": "application/xml"}
    charset = _CHARSET.search(headers.get("content-type", ""))
    if charset:
        out["content-type"] += f"; charset={charset.group(1)}"
    language = headers.get("content-language")
    if language:
        out["content-language"] = language
    return out


def _warning(result: Mapping[str, Any]) -> str:
    exc = result.get("bozo_exception")
    if exc is None:
        return "the feed is malformed"
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text.removeprefix("<unknown>:")
    if len(text) > 200:
        text = text[:199] + "…"
    return f"malformed feed, read anyway: {text}"


# XML safety: the DOCTYPE internal subset -------------------------------------------------------

# Tokens of a DOCTYPE declaration before its internal subset, and inside the subset.
_DOCTYPE_HEAD = re.compile(r"\"[^\"]*\"|'[^']*'|\[|>|[^\"'\[>]+")
_SUBSET = re.compile(r"\"[^\"]*\"|'[^']*'|<!--.*?-->|<\?.*?\?>|\]|[^\"'<\]]+|<", re.S)
_PROLOG_SPACE = re.compile(r"[\s\ufeff]*")


def _defuse(content: bytes, headers: Mapping[str, str]) -> tuple[bytes, str | None]:
    """The document with every DOCTYPE internal subset removed and numeric character
    references to surrogates or beyond U+10FFFF replaced by U+FFFD, and a note when it was
    changed.

    The unchanged bytes come back (note ``None``) when there was nothing to change. Otherwise
    the result is UTF-8 (converted as feedparser would) and the note is the feed's warning;
    the caller then declares the charset as UTF-8.
    """
    if b"<" not in content:
        return content, None
    # feedparser's conversion to UTF-8 (header charset, XML declaration, BOM, fallbacks):
    # what its XML parser will see. Done here so the scan sees the same characters.
    state: dict[str, Any] = {}
    try:
        converted = convert_to_utf8(dict(headers), content, state)
    except Exception:  # a failing codec on hostile bytes: scan the bytes as they are
        converted = content
    if not isinstance(converted, bytes):
        converted = content
    if not state.get("encoding"):
        converted = content  # feedparser falls back to its loose parser on these bytes
    # latin-1 maps every byte to one character and back: positions and bytes are preserved,
    # and the markup characters are ASCII in UTF-8 (and in whatever feedparser falls back to).
    text = converted.decode("latin-1")
    notes = []
    stripped = _strip_internal_subsets(text)
    if stripped is not None:
        text = stripped
        notes.append("the feed's DTD entity declarations were ignored")
    fixed = _BAD_CHARREF.sub(_replace_bad_charref, text)
    if fixed != text:
        text = fixed
        notes.append("invalid character references replaced")
    if not notes:
        return content, None
    note = "; ".join(notes)
    exc = state.get("bozo_exception")
    if exc is not None:
        note += f" ({' '.join(str(exc).split())[:150]})"
    return text.encode("latin-1"), note


# Numeric character references that may be out of Unicode's range or a surrogate (which
# feedparser's loose parser cannot encode: one would cost the whole feed).
_BAD_CHARREF = re.compile(r"&#(?:[xX]0*([0-9a-fA-F]{4,})|0*([0-9]{5,}));")


def _replace_bad_charref(match: re.Match[str]) -> str:
    hexa, decimal = match.group(1), match.group(2)
    digits = hexa or decimal
    if len(digits) > 8:
        return "&#xFFFD;"
    value = int(hexa, 16) if hexa else int(decimal)
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return "&#xFFFD;"
    return match.group()


def _strip_internal_subsets(text: str) -> str | None:
    """``text`` without the internal subsets of the DOCTYPEs in its prolog; ``None`` if it
    has none. Raises ParseError for a DOCTYPE or internal subset that never ends."""
    pos = 0
    cuts: list[tuple[int, int]] = []
    length = len(text)
    while True:
        match = _PROLOG_SPACE.match(text, pos)
        pos = match.end() if match else pos
        if text.startswith("\xef\xbb\xbf", pos):  # a UTF-8 BOM seen as latin-1
            pos += 3
            continue
        if text.startswith("<?", pos):
            end = text.find("?>", pos + 2)
            if end < 0:
                break
            pos = end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            if end < 0:
                break
            pos = end + 3
        elif text[pos : pos + 9].upper() == "<!DOCTYPE":
            pos, cut = _doctype(text, pos + 9)
            if cut is not None:
                cuts.append(cut)
        else:
            break  # the root element (or junk the parser will report)
        if pos >= length:
            break
    if not cuts:
        return None
    pieces: list[str] = []
    last = 0
    for start, end in cuts:
        pieces.append(text[last:start])
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _doctype(text: str, pos: int) -> tuple[int, tuple[int, int] | None]:
    """Scan one DOCTYPE from just after ``<!DOCTYPE``: (position after its ``>``, the span of
    its internal subset or None)."""
    cut: tuple[int, int] | None = None
    while True:
        token = _DOCTYPE_HEAD.match(text, pos)
        if token is None:
            raise ParseError("not a feed: the DOCTYPE declaration never ends")
        value = token.group()
        if value == ">":
            return token.end(), cut
        if value == "[" and cut is None:
            start = token.start()
            pos = _subset_end(text, token.end())
            cut = (start, pos)
            continue
        if value[0] in "\"'" and (len(value) < 2 or value[-1] != value[0]):
            raise ParseError("not a feed: the DOCTYPE declaration never ends")
        pos = token.end()


def _subset_end(text: str, pos: int) -> int:
    """The position just after the ``]`` that closes an internal subset starting at ``pos``."""
    while True:
        token = _SUBSET.match(text, pos)
        if token is None:
            raise ParseError("not a feed: the DOCTYPE internal subset never ends")
        if token.group() == "]":
            return token.end()
        pos = token.end()


def _ct(content_type: str | None) -> str:
    return f" ({content_type.split(';')[0].strip()})" if content_type else ""


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
)


def _sniff_not_feed(content: bytes) -> str | None:
    """A description of content that cannot be a feed, recognised by its first bytes."""
    for magic, what in _MAGIC:
        if content.startswith(magic):
            return what
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "a WebP image"
    return None


def _not_feed_reason(content: bytes) -> str:
    head = content[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"{", b"[")):
        return "got JSON"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head or b"<body" in head:
        return "got an HTML page"
    if not head.startswith(b"<"):
        return "got text that is not XML"
    return "no RSS or Atom element found"


# Feed discovery in HTML ---------------------------------------------------------------------

_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})


class _LinkFinder(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base_url
        self.found: list[str] = []
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "body":
            self.done = True
            return
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "base" and values.get("href"):
            self.base = urljoin(self.base, values["href"].strip())
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            kind = values.get("type", "").split(";")[0].strip().lower()
            href = values.get("href", "").strip()
            if "alternate" in rels and kind in _FEED_TYPES and href:
                url = _http_url(href, self.base)
                if url and url not in self.found:
                    self.found.append(url)

    handle_startendtag = handle_starttag


def find_feed_links(html_page: bytes, base_url: str) -> list[str]:
    """Feed URLs announced by ``<link rel="alternate" type="application/rss+xml" ...>`` (or
    Atom, or RDF) in an HTML page's head: absolute, in document order, without repeats."""
    text = html_page[:1_000_000].decode("utf-8", "replace")
    finder = _LinkFinder(base_url)
    try:
        finder.feed(text)
        finder.close()
    except (AssertionError, ValueError):  # pragma: no cover - HTMLParser is very lenient
        pass
    return finder.found
