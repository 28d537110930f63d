"""Property tests of parse → detect → extract on generated and mutated input.

- ``parse_feed`` on arbitrary bytes, on XML-like token soup and on mutated copies of the
  feeds in tests/fixtures/feeds: only ParseError may escape; a result keeps its invariants.
- ``worker.text`` on arbitrary text: no exception, plain one-paragraph-per-line output.
- ``Engine.analyse`` (detect, and extract for mediation) and ``extract`` on its own on
  arbitrary and mediation-flavoured text: nothing escapes; score in [0, 1], a valid label,
  mediators and parties disjoint, event_date None or an ISO date.

Bounded and reproducible: at most 200 examples per test, no deadline, derandomized.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from worker.engine import Engine
from worker.errors import ParseError
from worker.models import Entry, Story
from worker.parse import ParsedFeed, find_feed_links, parse_feed
from worker.text import clean_whitespace, html_to_text, split_sentences

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
FIXTURES = sorted(p for p in FEEDS.iterdir() if p.suffix in (".xml", ".rdf"))
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@functools.cache
def engine() -> Engine:
    return Engine()


@functools.cache
def fixture_bytes() -> tuple[bytes, ...]:
    return tuple(path.read_bytes() for path in FIXTURES)


# -- parse ---------------------------------------------------------------------------------

MARKUP = [
    "<",
    ">",
    "</",
    "/>",
    "&",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&lt;",
    ";",
    '"',
    "'",
    "=",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?xml version='1.0' encoding='utf-16'?>",
    "<?xml version='1.0' encoding='bogus'?>",
    "<!DOCTYPE rss [",
    "]>",
    "<!ENTITY a 'x'>",
    "<!ENTITY % p SYSTEM 'file:///etc/passwd'>",
    "&a;",
    "%p;",
    "<rss version='2.0'>",
    "</rss>",
    "<channel>",
    "</channel>",
    "<item>",
    "</item>",
    "<entry>",
    "</entry>",
    "<feed xmlns='http://www.w3.org/2005/Atom'>",
    "</feed>",
    "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>",
    "<title>",
    "</title>",
    "<title type='html'>",
    "<link>",
    "</link>",
    "<link href='javascript:alert(1)'/>",
    "<link href='//x'/>",
    "<guid>",
    "</guid>",
    "<pubDate>",
    "</pubDate>",
    "Tue, 31 Feb 2023 25:61:61 +9999",
    "9999-99-99T99:99:99Z",
    "0001-01-01T00:00:00Z",
    "<description>",
    "</description>",
    "<content:encoded xmlns:content='http://purl.org/rss/1.0/modules/content/'>",
    "<ttl>",
    "99999999999999999999",
    "<script>",
    "\x00",
    "\ufeff",
    "\ud800",
    "\u202e",
    " xml:base='http://[::1'",
    "http://[::1",
]


def soup() -> st.SearchStrategy[str]:
    token = st.one_of(st.sampled_from(MARKUP), st.text(max_size=12))
    return st.lists(token, max_size=60).map("".join)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A fixture feed with a few random edits: flips, cuts, inserts, repeats."""
    data = bytearray(draw(st.sampled_from(fixture_bytes())))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "truncate"]))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            piece = draw(st.one_of(st.sampled_from(MARKUP), st.text(max_size=8)))
            data[at:at] = piece.encode("utf-8", "surrogatepass")
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 200))] * draw(st.integers(1, 4))
        else:
            del data[at:]
    return bytes(data)


HEADERS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "Content-Type": st.sampled_from(
                [
                    "application/rss+xml",
                    "text/xml; charset=utf-16",
                    "text/html; charset=bogus",
                    "application/xml; charset='gb2312'",
                    "text/plain",
                    "application/atom+xml; charset=utf-7",
                ]
            )
        }
    ),
)


def check_parsed(feed: ParsedFeed) -> None:
    assert feed.warning is None or "\n" not in feed.warning
    assert feed.ttl_seconds is None or feed.ttl_seconds > 0
    for entry in feed.entries:
        assert isinstance(entry.key, str) and entry.key
        assert isinstance(entry.title, str) and isinstance(entry.summary, str)
        assert entry.title or entry.summary or entry.url
        assert entry.published.tzinfo is not None and entry.published <= NOW
        assert entry.url is None or entry.url.startswith(("http://", "https://"))


def parse_or_refuse(data: bytes, headers: dict[str, str] | None = None) -> ParsedFeed | None:
    try:
        feed = parse_feed(
            data, feed_url="https://fuzz.example/feed", fetched_at=NOW, headers=headers
        )
    except ParseError as exc:
        assert "\n" not in str(exc)
        return None
    check_parsed(feed)
    return feed


@FUZZ
@given(st.binary(max_size=4096), HEADERS)
def test_parse_arbitrary_bytes(data: bytes, headers: dict[str, str] | None) -> None:
    parse_or_refuse(data, headers)


@FUZZ
@given(soup(), st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-7"]), HEADERS)
def test_parse_markup_soup(text: str, encoding: str, headers: dict[str, str] | None) -> None:
    parse_or_refuse(text.encode(encoding, "replace"), headers)


@FUZZ
@given(mutated(), HEADERS)
def test_parse_mutated_fixtures(data: bytes, headers: dict[str, str] | None) -> None:
    parse_or_refuse(data, headers)


@FUZZ
@given(st.one_of(st.binary(max_size=2048), soup().map(lambda s: s.encode("utf-8", "replace"))))
def test_find_feed_links_never_fails(page: bytes) -> None:
    for link in find_feed_links(page, "https://fuzz.example/a/"):
        assert link.startswith(("http://", "https://"))


def test_unmutated_fixtures_give_entries() -> None:
    # The fuzzing starts from real feeds: the fixtures themselves must parse with entries.
    for data in fixture_bytes():
        feed = parse_or_refuse(data)
        assert feed is not None and feed.entries


# -- text ----------------------------------------------------------------------------------


@FUZZ
@given(st.one_of(st.text(max_size=400), soup()))
def test_text_functions(text: str) -> None:
    cleaned = clean_whitespace(text)
    assert isinstance(cleaned, str)
    assert clean_whitespace(cleaned) == cleaned
    plain = html_to_text(text)
    assert isinstance(plain, str)
    assert "<script" not in plain.lower() or "<script" in text.lower()
    for sentence in split_sentences(plain):
        assert isinstance(sentence, str)


# -- detect and extract ----------------------------------------------------------------------

MEDIATION_WORDS = [
    "Qatar",
    "Egypt",
    "Turkey",
    "the United Nations",
    "the African Union",
    "Norway",
    "Hamas",
    "Israel",
    "Russia",
    "Ukraine",
    "Sudan",
    "the RSF",
    "Ethiopia",
    "Tigray",
    "mediated",
    "brokered",
    "talks",
    "ceasefire",
    "truce",
    "peace deal",
    "between",
    "and",
    "in Doha",
    "in Jeddah",
    "on Monday",
    "on 12 March 2023",
    "last week",
    "said",
    "President",
    "Foreign Minister",
    "envoy",
    "“We are close to an agreement,”",
    '"Talks failed,"',
    "offered to mediate",
    "rejected",
    "welcomed",
    ".",
    ",",
    "\n",
]


def sentences() -> st.SearchStrategy[str]:
    word = st.one_of(st.sampled_from(MEDIATION_WORDS), st.text(max_size=10))
    return st.lists(word, max_size=50).map(" ".join)


def entries() -> st.SearchStrategy[Entry]:
    text = st.one_of(st.text(max_size=300), sentences(), soup())
    return st.builds(
        Entry,
        key=st.text(min_size=1, max_size=20),
        title=text,
        summary=text,
        published=st.just(NOW),
        url=st.one_of(st.none(), st.just("https://fuzz.example/story")),
        content=st.one_of(st.none(), text),
        source=st.one_of(st.none(), st.text(max_size=20)),
    )


def check_story(story: Story) -> None:
    record: dict[str, Any] = story.to_dict()
    mediation = record["mediation"]
    assert 0.0 <= mediation["score"] <= 1.0
    assert mediation["label"] in ("mediation", "other")
    facts = record["facts"]
    assert not set(facts["mediators"]) & set(facts["parties"])
    if facts["event_date"] is not None:
        assert date.fromisoformat(facts["event_date"]).isoformat() == facts["event_date"]


ODD_ENTRY = Entry(
    key="odd",
    title="Qatar mediated talks \ud800 between Israel and Hamas",  # a lone surrogate (JSON)
    summary="Egypt brokered a truce on 12 March 2023 \udfff.",
    published=NOW,
    url="http://[::1",  # does not even split
)


@FUZZ
@given(entries())
@example(ODD_ENTRY)
def test_engine_analyse(entry: Entry) -> None:
    check_story(engine().analyse(entry))


@FUZZ
@given(entries())
@example(ODD_ENTRY)
def test_extract_on_any_text(entry: Entry) -> None:
    from worker.extract import extract
    from worker.models import Detection, Facts

    facts = extract(entry, engine().gazetteer, evidence=())
    assert isinstance(facts, Facts)
    story = Story(
        id="fuzz",
        title=entry.title,
        published=entry.published,
        detection=Detection(label="mediation", score=1.0),
        facts=facts,
    )
    check_story(story)


@FUZZ
@given(mutated())
def test_parse_then_analyse(data: bytes) -> None:
    feed = parse_or_refuse(data)
    if feed is not None:
        for entry in feed.entries:
            check_story(engine().analyse(entry))
