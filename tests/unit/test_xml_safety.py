"""Hostile XML in feeds: entity expansion, XXE, external DTDs, encoding tricks.

parse_feed removes any DOCTYPE internal subset before feedparser sees the document (see the
worker.parse module doc), so entity references stay literal text; nothing is fetched. Every
attack here must end as a ParseError or as harmless text, fast and with bounded memory.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import feedparser.api
import pytest

from tests.support.feedserver import FeedServer
from worker.errors import ParseError
from worker.parse import ParsedFeed, parse_feed

NOW = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
MAX_SECONDS = 2.0
MAX_PEAK_BYTES = 32 * 1024 * 1024


def nested_entities(value: str, levels: int = 9, fanout: int = 10) -> str:
    """DTD declarations of ``e0`` = value and ``eN`` = ``fanout`` x ``e(N-1)``."""
    lines = [f'<!ENTITY e0 "{value}">']
    for level in range(1, levels + 1):
        lines.append(f'<!ENTITY e{level} "{f"&e{level - 1};" * fanout}">')
    return "\n".join(lines)


def rss(subset: str, title: str, *, declaration: str = '<?xml version="1.0"?>') -> str:
    return (
        f"{declaration}\n<!DOCTYPE rss [\n{subset}\n]>\n"
        '<rss version="2.0"><channel><title>Harbour desk</title>'
        f"<item><guid>h-1</guid><title>{title}</title>"
        f"<description>Mediators met again. {title}</description></item>"
        "</channel></rss>"
    )


LAUGHS = rss(nested_entities("ha"), "&e9;")
LAUGHS_WITH_MARKUP = rss(nested_entities("<b>ha</b>"), "&e9;")  # elements in every expansion
QUADRATIC = rss(f'<!ENTITY big "{"x" * 100_000}">', "&big;" * 2_000)
PARAMETER = rss(
    "<!ENTITY % p \"<!ENTITY q '&#x26;#x26;#x26;'>\">\n%p;\n" + nested_entities("ho"), "&e9;"
)
XXE = rss('<!ENTITY pw SYSTEM "file:///etc/passwd">', "Envoys &pw; meet")
XXE_ONE_LINE = XXE.replace("[\n<!ENTITY", "[<!ENTITY")

ATTACKS = {
    "billion-laughs": LAUGHS.encode(),
    "billion-laughs-markup": LAUGHS_WITH_MARKUP.encode(),
    "quadratic-blowup": QUADRATIC.encode(),
    "parameter-entities": PARAMETER.encode(),
    "xxe": XXE.encode(),
    "xxe-one-line": XXE_ONE_LINE.encode(),
    "xxe-utf16": XXE.replace('version="1.0"?>', 'version="1.0" encoding="utf-16"?>').encode(
        "utf-16"
    ),
    "xxe-utf16-no-bom": XXE.replace('version="1.0"?>', 'version="1.0" encoding="utf-16"?>').encode(
        "utf-16-le"
    ),
    "xxe-utf7": XXE.replace('version="1.0"?>', 'version="1.0" encoding="utf-7"?>').encode("utf-7"),
    "laughs-utf7": LAUGHS_WITH_MARKUP.replace(
        'version="1.0"?>', 'version="1.0" encoding="utf-7"?>'
    ).encode("utf-7"),
}


def texts(feed: ParsedFeed) -> str:
    parts = [feed.title or "", feed.link or "", feed.warning or ""]
    for entry in feed.entries:
        parts += [entry.key, entry.title, entry.summary, entry.content or "", entry.url or ""]
    return "\n".join(parts)


def measured(call: Callable[[], object]) -> tuple[object, float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        try:
            result: object = call()
        except ParseError as exc:
            result = exc
        return result, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_entity_attacks_are_harmless(name: str) -> None:
    result, seconds, peak = measured(
        lambda: parse_feed(ATTACKS[name], feed_url="https://h.example/f", fetched_at=NOW)
    )
    assert seconds < MAX_SECONDS, f"{name} took {seconds:.1f} s"
    assert peak < MAX_PEAK_BYTES, f"{name} peaked at {peak / 2**20:.0f} MiB"
    if isinstance(result, ParseError):
        return
    assert isinstance(result, ParsedFeed)
    text = texts(result)
    assert "root:" not in text and "/bin/" not in text
    assert "haha" not in text and "hoho" not in text and "xxxxxxxxxx" not in text
    assert len(text) < 2 * len(ATTACKS[name])  # no expansion: at most the literal text
    (entry,) = result.entries
    assert entry.key == "h-1"
    assert "Mediators met again." in entry.summary  # the rest of the feed is still read


def test_an_entity_reference_stays_literal_text_with_a_warning() -> None:
    doc = rss('<!ENTITY desk "Harbour desk">', "&desk; report").encode()
    feed = parse_feed(doc, feed_url="https://h.example/f", fetched_at=NOW)
    (entry,) = feed.entries
    assert entry.title == "&desk; report"
    assert feed.warning is not None and "entity declarations were ignored" in feed.warning
    assert "\n" not in feed.warning


def test_a_subset_with_tricky_quotes_and_comments_is_removed_whole() -> None:
    subset = (
        "<!-- a comment with ]> inside -->\n"
        '<!ENTITY a "value with ]> and \' inside">\n'
        "<?pi with ]> inside?>\n"
        "<!ENTITY b 'single \"quoted\" ]>'>"
    )
    feed = parse_feed(rss(subset, "&a;&b;").encode(), feed_url="https://h.example/", fetched_at=NOW)
    text = texts(feed)
    assert "value with" not in text and "single" not in text and "inside" not in text
    assert feed.entries[0].key == "h-1"


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "never closed"><rss version="2.0">',
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "open quote><rss/>',
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "never closed><rss/>',
    ],
)
def test_a_doctype_that_never_ends_is_refused(doc: bytes) -> None:
    with pytest.raises(ParseError, match="never ends"):
        parse_feed(doc, feed_url="https://h.example/", fetched_at=NOW)


def test_a_doctype_without_subset_is_untouched() -> None:
    doc = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS '
        b'0.91//EN" "http://my.netscape.invalid/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>Old desk</title><link>https://o.example/</link>'
        b"<description>d</description><language>en</language><item><title>Truce holds</title>"
        b"<link>https://o.example/1</link></item></channel></rss>"
    )
    feed = parse_feed(doc, feed_url="https://o.example/rss", fetched_at=NOW)
    assert feed.warning is None
    assert [e.title for e in feed.entries] == ["Truce holds"]


def test_the_xml_reader_is_pinned_to_expat() -> None:
    assert feedparser.api.PREFERRED_XML_PARSERS == ["xml.sax.expatreader"]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


def test_external_dtds_and_entities_are_never_fetched(server: FeedServer) -> None:
    dtd = server.serve("/ext.dtd", b'<!ENTITY remote "from the server">', content_type="text/plain")
    ent = server.serve("/ent.txt", b"from the server", content_type="text/plain")
    param = server.serve("/param.dtd", b'<!ENTITY % x "">', content_type="text/plain")
    docs = [
        f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{dtd}">\n'
        '<rss version="2.0"><channel><title>t</title><item><guid>1</guid>'
        "<title>a &remote; b</title></item></channel></rss>",
        rss(f'<!ENTITY ext SYSTEM "{ent}">', "a &ext; b"),
        rss(f'<!ENTITY % p SYSTEM "{param}">\n%p;', "a b"),
        rss(f'<!ENTITY ext SYSTEM "{ent}">', "a &ext; b").replace(
            'version="1.0"?>', 'version="1.0" encoding="utf-16"?>'
        ),
    ]
    for doc in docs:
        encoded = doc.encode("utf-16" if "utf-16" in doc else "utf-8")
        try:
            feed = parse_feed(encoded, feed_url=server.url("/feed"), fetched_at=NOW)
        except ParseError:
            continue
        assert "from the server" not in texts(feed)
    assert server.count() == 0, [r.path for r in server.requests]


@pytest.mark.parametrize(
    "ref", [b"&#xD800;", b"&#56000;", b"&#x0000DFFF;", b"&#x110000;", b"&#99999999999999999999;"]
)
def test_a_bad_character_reference_costs_one_character_not_the_feed(ref: bytes) -> None:
    doc = (
        b'<rss version="2.0"><channel><title>Desk</title><item><guid>c-1</guid><title>Talks '
        + ref
        + b" resume</title></item><item><guid>c-2</guid><title>Envoys return &bogus;</title>"
        b"</item></channel></rss>"
    )
    feed = parse_feed(doc, feed_url="https://c.example/", fetched_at=NOW)
    assert [e.title for e in feed.entries] == ["Talks \ufffd resume", "Envoys return &bogus;"]
    assert feed.warning is not None and "character references" in feed.warning


def test_valid_character_references_are_kept() -> None:
    doc = (
        b'<rss version="2.0"><channel><item><guid>1</guid><title>Accord &#x1F54A; &#233;'
        b" &#10004;</title></item></channel></rss>"
    )
    feed = parse_feed(doc, feed_url="https://c.example/", fetched_at=NOW)
    assert feed.entries[0].title == "Accord \U0001f54a é ✔"
    assert feed.warning is None
