"""Durations and OPML: the small parsers behind config and `feeds import/export`."""

from __future__ import annotations

import pytest

from worker.durations import format_duration, parse_duration
from worker.errors import InputError
from worker.opml import OpmlFeed, export_opml, parse_opml


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("1h30m", 5400),
        ("2d", 172800),
        ("45", 45),
        (600, 600),
        ("1.5h", 5400),
        ("250ms", 0.25),
    ],
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "10 minutes", "5x", "m10", "-5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|negative"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for seconds in (45, 600, 5400, 90061):
        assert parse_duration(format_duration(seconds)) == seconds


def test_opml_round_trip_with_nested_folders() -> None:
    doc = b"""<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
      <outline text="News"><outline text="Mediation desk" xmlUrl="https://a.example/rss"/>
      <outline title="Second" text="t" xmlUrl="https://b.example/atom"/></outline>
      <outline text="folder without feed"/>
      <outline text="dup" xmlUrl="https://a.example/rss"/></body></opml>"""
    feeds = parse_opml(doc, "mine.opml")
    assert feeds == [
        OpmlFeed("https://a.example/rss", "Mediation desk"),
        OpmlFeed("https://b.example/atom", "Second"),
    ]
    assert parse_opml(export_opml(feeds).encode(), "again.opml") == feeds


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (b"<opml><body><outline", "not a valid OPML"),
        (b"<rss><channel/></rss>", "root element <rss>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<opml><body><outline text="&x;" xmlUrl="https://a.example/"/></body></opml>',
            "not a valid OPML",
        ),
    ],
)
def test_bad_opml_is_one_input_error(doc: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as caught:
        parse_opml(doc, "bad.opml")
    assert "bad.opml" in str(caught.value)
