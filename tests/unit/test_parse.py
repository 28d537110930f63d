"""worker.parse: feed bytes to plain-text entries. Fixtures in tests/fixtures/feeds/ are our own."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.paths import shared_path
from worker.errors import ParseError
from worker.models import Entry
from worker.parse import ParsedFeed, find_feed_links, parse_feed

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
FETCHED_AT = datetime(2023, 11, 28, 12, 0, tzinfo=UTC)


def parse(name: str, **options: object) -> ParsedFeed:
    kwargs: dict[str, object] = {
        "feed_url": f"https://feeds.example/x/{name}",
        "fetched_at": FETCHED_AT,
    }
    kwargs.update(options)
    return parse_feed((FEEDS / name).read_bytes(), **kwargs)  # type: ignore[arg-type]


def by_title(feed: ParsedFeed, start: str) -> Entry:
    matches = [e for e in feed.entries if e.title.startswith(start)]
    assert len(matches) == 1, [e.title for e in feed.entries]
    return matches[0]


# formats ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormatCase:
    file: str
    title: str
    link: str
    ttl: int | None
    count: int
    first_title: str


FORMAT_CASES = [
    FormatCase(
        "rss091.xml", "Old Wire Digest", "http://oldwire.example/", None, 2, "Black Sea grain"
    ),
    FormatCase(
        "rss10.rdf", "RDF Diplomacy Notes", "https://rdfnews.example/", 1800, 2, "Sudan’s warring"
    ),
    FormatCase(
        "rss20.xml",
        "Mediation Monitor & Friends",
        "https://monitor.example/",
        1800,
        5,
        "Qatar and Egypt broker",
    ),
    FormatCase("atom10.xml", "Atom Peace Desk", "https://atom.example/", None, 2, "Saudi Arabia"),
]


@pytest.mark.parametrize("case", FORMAT_CASES, ids=lambda c: c.file)
def test_formats(case: FormatCase) -> None:
    feed = parse(case.file)
    assert feed.title == case.title
    assert feed.link == case.link
    assert feed.ttl_seconds == case.ttl
    assert feed.warning is None
    assert len(feed.entries) == case.count
    assert feed.entries[0].title.startswith(case.first_title)
    for entry in feed.entries:
        assert entry.source == case.title
        assert entry.feed_url == f"https://feeds.example/x/{case.file}"
        assert entry.published.tzinfo is not None
        assert entry.published.utcoffset() == timedelta(0)
        assert entry.summary


def test_source_given_by_caller_wins() -> None:
    feed = parse("rss20.xml", source="Monitor")
    assert {e.source for e in feed.entries} == {"Monitor"}


# text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "title", "field", "expected"),
    [
        # CDATA HTML with a <script>: tags and script gone, &amp; decoded
        (
            "rss20.xml",
            "Qatar and Egypt",
            "summary",
            "Israel and Hamas agreed to a four-day pause & an exchange of hostages for "
            "prisoners, mediators in Doha said.",
        ),
        ("rss20.xml", "Mediation Monitor", "feed_title", "Mediation Monitor & Friends"),
        # numeric character reference in a title
        ("rss10.rdf", "Sudan", "title", "Sudan’s warring sides meet in Jeddah"),
        # escaped HTML in an Atom html summary
        (
            "atom10.xml",
            "Saudi Arabia",
            "summary",
            "After talks in Beijing, the two rivals said they would reopen embassies within "
            "two months.",
        ),
        # double-escaped ampersand in an html title
        ("atom10.xml", "Saudi Arabia", "title", "Saudi Arabia & Iran agree to restore ties"),
        # a plain-text title keeps a literal "<again>"
        ("atom10.xml", "Grain deal", "title", "Grain deal extended <again>"),
        # a raw ISO-8859-1 byte and an entity, in a feed declared as ISO-8859-1
        ("rss091.xml", "Black Sea", "summary_contains", "Café owners in Odesa"),
        ("rss091.xml", "Joint centre", "summary_contains", "a step towards détente."),
    ],
)
def test_text_is_plain(file: str, title: str, field: str, expected: str) -> None:
    feed = parse(file)
    if field == "feed_title":
        assert feed.title == expected
        return
    entry = by_title(feed, title)
    if field == "summary_contains":
        assert expected in entry.summary
    else:
        assert getattr(entry, field) == expected
    for text in (entry.title, entry.summary, entry.content or ""):
        assert "<p>" not in text and "<b>" not in text and "&amp;" not in text
        assert "alert(" not in text


@pytest.mark.parametrize(
    ("file", "title", "has_content", "content_part"),
    [
        ("rss20.xml", "Qatar and Egypt", True, "Aid lorries were expected to cross at Rafah"),
        ("atom10.xml", "Saudi Arabia", True, "China’s top diplomat Wang Yi hosted"),
        ("atom10.xml", "Grain deal", False, ""),
        ("rss20.xml", "Prisoner exchange", False, ""),
    ],
)
def test_content_only_when_clearly_longer(
    file: str, title: str, has_content: bool, content_part: str
) -> None:
    entry = by_title(parse(file), title)
    if has_content:
        assert entry.content is not None
        assert content_part in entry.content
        assert len(entry.content) > len(entry.summary) * 1.2
        assert "\n" in entry.content  # paragraphs become lines
        assert entry.text == entry.content
    else:
        assert entry.content is None
        assert entry.text == entry.summary


def test_content_without_summary_becomes_the_summary() -> None:
    doc = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><id>e1</id>'
        b"<title>Envoys return</title><content type='html'>&lt;p&gt;Norway hosted another "
        b"round.&lt;/p&gt;</content></entry></feed>"
    )
    (entry,) = parse_feed(doc, feed_url="https://a.example/f", fetched_at=FETCHED_AT).entries
    assert entry.summary == "Norway hosted another round."
    assert entry.content is None


# dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "title", "expected"),
    [
        ("rss20.xml", "Qatar and Egypt", datetime(2023, 11, 22, 6, 30, tzinfo=UTC)),  # +0300
        ("rss20.xml", "Prisoner exchange", datetime(2023, 9, 18, 14, 5, tzinfo=UTC)),  # GMT
        ("rss20.xml", "Colombia", datetime(2023, 8, 1, 5, 0, tzinfo=UTC)),  # -0500
        ("rss10.rdf", "Sudan", datetime(2023, 5, 21, 1, 45, tzinfo=UTC)),  # dc:date -04:00
        ("rss10.rdf", "Ethiopia", datetime(2022, 11, 2, 16, 30, tzinfo=UTC)),
        ("atom10.xml", "Saudi Arabia", datetime(2023, 3, 10, 15, 15, tzinfo=UTC)),  # published
        ("atom10.xml", "Grain deal", datetime(2023, 3, 18, 19, 40, tzinfo=UTC)),  # updated only
        ("rss091.xml", "Black Sea", FETCHED_AT),  # RSS 0.91 items carry no date
        ("rss20.xml", "Leaked schedule", FETCHED_AT),  # year 2100 is capped at fetched_at
        ("malformed.xml", "Second item", FETCHED_AT),  # unparseable date
    ],
)
def test_dates_are_utc(file: str, title: str, expected: datetime) -> None:
    published = by_title(parse(file), title).published
    assert published == expected
    assert published.tzinfo is UTC


def test_fetched_at_in_another_zone_is_converted() -> None:
    local = datetime(2023, 11, 28, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    entry = by_title(parse("rss091.xml", fetched_at=local), "Black Sea")
    assert entry.published == FETCHED_AT
    assert entry.published.tzinfo is UTC


# keys and links ------------------------------------------------------------------------------


def _sha1(text: str) -> str:
    return "sha1:" + hashlib.sha1(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("file", "title", "key", "url"),
    [
        # guid wins over link
        (
            "rss20.xml",
            "Qatar and Egypt",
            "monitor-2023-0001",
            "https://monitor.example/2023/11/gaza-pause",
        ),
        # no guid: the link, resolved against the feed URL
        (
            "rss20.xml",
            "Prisoner exchange",
            "https://feeds.example/2023/09/prisoner-exchange",
            "https://feeds.example/2023/09/prisoner-exchange",
        ),
        # neither: a hash of the title and the date as written
        (
            "rss20.xml",
            "Colombia",
            _sha1("Colombia and ELN extend ceasefire\nTue, 01 Aug 2023 00:00:00 -0500"),
            None,
        ),
        # a bare guid is a key but not a link (feedparser would make it one)
        ("rss20.xml", "Leaked schedule", "monitor-future-1", None),
        # Atom id; link resolved against xml:base
        (
            "atom10.xml",
            "Saudi Arabia",
            "tag:atom.example,2023:saudi-iran",
            "https://atom.example/news/2023/03/saudi-iran",
        ),
        (
            "rss10.rdf",
            "Ethiopia",
            "https://rdfnews.example/pretoria-deal",
            "https://rdfnews.example/pretoria-deal",
        ),
        # a guid in a malformed feed is not turned into a URL either
        ("malformed.xml", "Talks in Geneva", "sloppy-1", "https://sloppy.example/a1"),
    ],
)
def test_keys_and_urls(file: str, title: str, key: str, url: str | None) -> None:
    entry = by_title(parse(file), title)
    assert entry.key == key
    assert entry.url == url


def test_keys_are_stable_across_polls_and_feed_moves() -> None:
    first = parse("rss20.xml", fetched_at=FETCHED_AT)
    later = parse(
        "rss20.xml",
        fetched_at=FETCHED_AT + timedelta(hours=3),
        feed_url="https://new-home.example/feed",
    )
    keys_first = [e.key for e in first.entries]
    keys_later = [e.key for e in later.entries]
    assert len(set(keys_first)) == len(keys_first)
    # only the key taken from a relative link follows the feed's location
    moved = {i for i, (a, b) in enumerate(zip(keys_first, keys_later, strict=True)) if a != b}
    assert [first.entries[i].title for i in moved] == [
        "Prisoner exchange between Washington and Tehran completed"
    ]


def test_untitled_item_is_kept_and_empty_item_skipped() -> None:
    feed = parse("rss20.xml")
    untitled = [e for e in feed.entries if not e.title]
    assert [e.summary for e in untitled] == [
        "Untitled brief: envoys met again without a breakthrough."
    ]
    assert untitled[0].key == _sha1("Untitled brief: envoys met again without a breakthrough.")
    assert len(feed.entries) == 5  # the sixth item has nothing but an empty guid


def test_unsafe_links_are_dropped() -> None:
    doc = (
        b'<rss version="2.0"><channel><title>T</title><item><title>Envoy visits</title>'
        b"<link>javascript:alert(1)</link><guid>k1</guid></item></channel></rss>"
    )
    (entry,) = parse_feed(doc, feed_url="https://a.example/f", fetched_at=FETCHED_AT).entries
    assert entry.url is None
    assert entry.key == "k1"


# malformed and not-a-feed --------------------------------------------------------------------


def test_malformed_feed_gives_entries_and_a_warning() -> None:
    feed = parse("malformed.xml")
    assert feed.warning is not None
    assert feed.warning.startswith("malformed feed, read anyway:")
    assert "\n" not in feed.warning
    assert [e.title for e in feed.entries] == [
        "Talks in Geneva & Vienna resume",
        "Second item survives the broken markup",
    ]
    assert "prisoner lists and access for aid" in feed.entries[0].summary
    assert feed.entries[1].summary == "Unclosed bold text and a stray end tag."


NOT_FEEDS = [
    (
        (FEEDS / "page.html").read_bytes(),
        "text/html; charset=utf-8",
        "not a feed: got an HTML page (text/html)",
    ),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png", "not a feed: got a PNG image (image/png)"),
    (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": []}',
        "application/json",
        "not a feed: got JSON (application/json)",
    ),
    (b"", None, "not a feed: the document is empty"),
    (b"  \n\t ", "text/xml", "not a feed: the document is empty (text/xml)"),
    (
        b"<?xml version='1.0'?><catalog><book id='1'/></catalog>",
        "application/xml",
        "not a feed: no RSS or Atom element found (application/xml)",
    ),
    (
        b"Service temporarily unavailable, try later",
        "text/plain",
        "not a feed: got text that is not XML (text/plain)",
    ),
]


@pytest.mark.parametrize(("content", "content_type", "message"), NOT_FEEDS)
def test_not_a_feed_is_a_parse_error(
    content: bytes, content_type: str | None, message: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else None
    with pytest.raises(ParseError) as info:
        parse_feed(content, feed_url="https://a.example/", fetched_at=FETCHED_AT, headers=headers)
    assert str(info.value) == message


def test_empty_but_valid_feed_is_not_an_error() -> None:
    doc = b'<rss version="2.0"><channel><title>Quiet desk</title></channel></rss>'
    feed = parse_feed(doc, feed_url="https://a.example/f", fetched_at=FETCHED_AT)
    assert feed.title == "Quiet desk"
    assert feed.entries == ()
    assert feed.warning is None


def test_content_is_never_read_as_a_file_name(tmp_path: Path) -> None:
    # feedparser opens a bytes argument as a *file name* when such a file exists.
    secret = tmp_path / "secret.xml"
    secret.write_bytes(
        b'<rss version="2.0"><channel><title>Local file</title>'
        b"<item><title>leaked</title><guid>x</guid></item></channel></rss>"
    )
    with pytest.raises(ParseError):
        parse_feed(str(secret).encode(), feed_url="https://a.example/", fetched_at=FETCHED_AT)


# encodings -----------------------------------------------------------------------------------

UTF8_NO_DECLARATION = (
    "<rss version='2.0'><channel><title>Dépêches</title><item><guid>1</guid>"
    "<title>Médiation à Doha</title></item></channel></rss>"
).encode()


@pytest.mark.parametrize(
    ("headers", "warning"),
    [
        (None, False),
        ({"Content-Type": "text/xml"}, False),  # RFC 3023 would say US-ASCII
        ({"Content-Type": "text/html; charset=utf-8"}, False),  # a common misconfiguration
        ({"Content-Type": "application/rss+xml; charset=UTF-8"}, False),
        ({"content-type": "application/octet-stream"}, False),
    ],
)
def test_utf8_without_declaration(headers: dict[str, str] | None, warning: bool) -> None:
    feed = parse_feed(
        UTF8_NO_DECLARATION, feed_url="https://a.example/", fetched_at=FETCHED_AT, headers=headers
    )
    assert feed.title == "Dépêches"
    assert feed.entries[0].title == "Médiation à Doha"
    assert (feed.warning is not None) is warning


def test_declared_charset_is_used() -> None:
    doc = (
        "<rss version='2.0'><channel><title>Nouvelles</title><item><guid>1</guid>"
        "<title>Trêve à Gaza</title></item></channel></rss>"
    )
    feed = parse_feed(
        doc.encode("iso-8859-1"),
        feed_url="https://a.example/",
        fetched_at=FETCHED_AT,
        headers={"Content-Type": "text/xml; charset=ISO-8859-1"},
    )
    assert feed.entries[0].title == "Trêve à Gaza"


# feed discovery ------------------------------------------------------------------------------


def test_find_feed_links() -> None:
    links = find_feed_links((FEEDS / "page.html").read_bytes(), "https://monitor.example/a/b")
    assert links == [
        "https://monitor.example/feeds/all.rss",
        "https://monitor.example/feeds/africa.atom",
        "https://monitor.example/a/feeds/all.rss",
    ]


def test_find_feed_links_honours_base_and_rel_lists() -> None:
    page = (
        b'<html><head><base href="https://cdn.example/site/">'
        b'<LINK REL="Alternate Feed" TYPE="application/atom+xml" HREF="news.atom"/>'
        b'<link rel="alternate" type="application/rss+xml; charset=utf-8" href="//x.example/r">'
        b"</head><body></body></html>"
    )
    assert find_feed_links(page, "https://www.example/") == [
        "https://cdn.example/site/news.atom",
        "https://x.example/r",
    ]


def test_find_feed_links_on_a_page_without_any() -> None:
    assert (
        find_feed_links(b"<html><head><title>x</title></head></html>", "https://a.example/") == []
    )


# the feedparser test suite: nothing but ParseError may escape --------------------------------

_HEADER = re.compile(rb"^Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", re.M)


@pytest.mark.shared_data
def test_feedparser_suite_never_crashes() -> None:
    root = shared_path("data", "feedparser-tests")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert len(files) > 1000
    parsed = errors = with_entries = 0
    for path in files:
        content = path.read_bytes()
        headers = {k.decode(): v.decode("latin-1") for k, v in _HEADER.findall(content[:2000])}
        try:
            feed = parse_feed(
                content,
                feed_url=f"http://127.0.0.1:9/{path.relative_to(root).as_posix()}",
                fetched_at=FETCHED_AT,
                headers=headers or None,
            )
        except ParseError as exc:
            errors += 1
            assert str(exc).startswith(("not a feed:", "cannot parse the feed:")), path
            assert "\n" not in str(exc)
            continue
        parsed += 1
        with_entries += bool(feed.entries)
        for entry in feed.entries:
            assert entry.key, path
            assert entry.title or entry.summary or entry.url, path
            assert entry.published.tzinfo is UTC
            assert entry.published <= FETCHED_AT
            assert entry.url is None or entry.url.startswith(("http://", "https://")), path
    assert parsed > 1000
    assert with_entries > 300
    assert errors < 50
