"""Event-date resolution: weekdays, relative days, explicit dates, tense, event_date()."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.paths import shared_path
from worker.dates import DateMention, event_date, find_dates
from worker.text import split_sentences


def utc(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


WED = utc(2023, 11, 22)  # a Wednesday
SAT = utc(2023, 3, 11)  # a Saturday


def resolved(sentence: str, published: dt.datetime) -> list[tuple[str, bool]]:
    return [(m.date.isoformat(), m.scheduled) for m in find_dates(sentence, published)]


# (sentence, published, expected [(iso date, scheduled), ...])
CASES: list[tuple[str, dt.datetime, list[tuple[str, bool]]]] = [
    # Past weekdays resolve to the most recent such day; scheduled ones to the coming day.
    (
        "Qatar said on Tuesday that the truce between Israel and Hamas would start Friday at 7am",
        WED,
        [("2023-11-21", False), ("2023-11-24", True)],
    ),
    ("Saudi Arabia and Iran agreed on Friday to restore ties", SAT, [("2023-03-10", False)]),
    # A passive after "be" and "starting" look ahead; "have been freed" looks back.
    ("Thirteen hostages are to be freed Friday under the deal", WED, [("2023-11-24", True)]),
    ("The pause starting Friday at noon will last four days", WED, [("2023-11-24", True)]),
    ("Ten prisoners have been freed Monday in the swap", WED, [("2023-11-20", False)]),
    ("The Russian ceasefire began Friday at noon Moscow time", SAT, [("2023-03-10", False)]),
    # Weekday equal to the publication weekday: that same day, past or scheduled.
    ("Xi and Zelensky spoke by phone on Wednesday", WED, [("2023-11-22", False)]),
    ("The White House said Wednesday it welcomed the call", WED, [("2023-11-22", False)]),
    ("Negotiators will meet again on Wednesday in Doha", WED, [("2023-11-22", True)]),
    ("Talks are set to resume next Wednesday in Jeddah", WED, [("2023-11-29", True)]),
    ("The envoy last visited Khartoum last Wednesday", WED, [("2023-11-15", False)]),
    ("The truce starts Friday", WED, [("2023-11-24", True)]),
    ("The pause is due to take effect on Thursday morning", WED, [("2023-11-23", True)]),
    (
        "The ceasefire was supposed to start on Friday, but shelling went on",
        SAT,
        [("2023-03-10", False)],
    ),
    ("Monday night's strikes hit the port of Odesa", WED, [("2023-11-20", False)]),
    # Relative days.
    ("Hamas released a second group of hostages yesterday", WED, [("2023-11-21", False)]),
    ("The mediators will present the plan tomorrow", WED, [("2023-11-23", True)]),
    ("The cabinet approved the deal last night", WED, [("2023-11-21", False)]),
    ("The cabinet meets today to vote on the deal", WED, [("2023-11-22", False)]),
    # Explicit dates, with and without a year.
    ("The deal was signed in Beijing on March 10, 2023.", SAT, [("2023-03-10", False)]),
    ("The deal was signed in Beijing on 10 March 2023.", SAT, [("2023-03-10", False)]),
    ("The record is dated 2023-03-10 in the archive.", SAT, [("2023-03-10", False)]),
    ("Ukraine and Russia swapped prisoners on March 7", SAT, [("2023-03-07", False)]),
    ("The two ministers met on Jan. 6 in Geneva", SAT, [("2023-01-06", False)]),
    ("The grain corridor expires on March 18 unless renewed", SAT, [("2023-03-18", True)]),
    ("The summit is scheduled for May 19 in Hiroshima", SAT, [("2023-05-19", True)]),
    # Year boundary: the year nearest publication (past for past tense).
    (
        "Russia and Ukraine swapped prisoners on December 30",
        utc(2023, 1, 2),
        [("2022-12-30", False)],
    ),
    ("The envoy will visit Kyiv on January 3", utc(2022, 12, 30), [("2023-01-03", True)]),
    # "accused of planning" is no future tense; a yearless date ~11 months ahead is unlikely.
    (
        "Lula accused supporters of his predecessor of planning the January 8 riots",
        utc(2023, 2, 3),
        [("2023-01-08", False)],
    ),
    # February 29 exists only in leap years: no crash, a real date.
    ("The vote will be held on February 29", utc(2025, 3, 10), [("2024-02-29", False)]),
    ("The vote will be held on February 29", utc(2024, 1, 10), [("2024-02-29", True)]),
    # "on the 10th" only when the ordinal closes the phrase.
    ("The hostages were freed on the 10th.", utc(2023, 3, 22), [("2023-03-10", False)]),
    ("Crowds marked the 10th anniversary of the accord", SAT, []),
    # Not event dates: spans, months and years alone, times, counts, named days.
    ("The war has raged since February 2022", SAT, []),
    ("Beijing published a 12-point peace plan in February", SAT, []),
    ("Fighting has continued since Monday", SAT, []),
    ("The talks first began in 2014 and stalled last year", SAT, []),
    ("Officials met several times last week", SAT, []),
    ("Voting opens at 10am and closes at 8pm", SAT, []),
    ("More than 1,500 March protesters were detained", SAT, []),
    ("The Good Friday Agreement turns 25", SAT, []),
    ("No date appears in this sentence at all.", SAT, []),
    # A weekday next to an explicit date adds nothing.
    ("The accord was announced on Friday, March 10", SAT, [("2023-03-10", False)]),
]


@pytest.mark.parametrize(("sentence", "published", "expected"), CASES)
def test_find_dates(
    sentence: str, published: dt.datetime, expected: list[tuple[str, bool]]
) -> None:
    assert resolved(sentence, published) == expected


def test_mentions_carry_offsets_and_surface() -> None:
    sentence = "Qatar said on Tuesday that the truce would start Friday"
    mentions = find_dates(sentence, WED)
    assert [m.surface for m in mentions] == ["on Tuesday", "Friday"]
    for m in mentions:
        assert isinstance(m, DateMention)
        assert sentence[m.start : m.end] == m.surface


def test_today_is_the_utc_date_of_published() -> None:
    # 01:30 at UTC+5 on Thursday is still Wednesday in UTC.
    late = dt.datetime(2023, 11, 23, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert resolved("The call took place on Wednesday", late) == [("2023-11-22", False)]
    stamped_late = utc(2023, 11, 22, 23, 45)
    assert resolved("The call took place today", stamped_late) == [("2023-11-22", False)]


# --------------------------------------------------------------------------- event_date


def test_event_date_prefers_focus_sentences() -> None:
    sentences = [
        "Truce deal reached in Doha",
        "Qatar said on Tuesday that talks had made progress.",
        "The pause starts Friday at 7am.",
    ]
    assert event_date(sentences, WED, focus=(2,)) == dt.date(2023, 11, 24)
    assert event_date(sentences, WED) == dt.date(2023, 11, 21)


def test_event_date_prefers_title_over_body() -> None:
    sentences = ["Sudan's warring sides sign truce on Saturday", "Fighting raged on Monday."]
    assert event_date(sentences, utc(2023, 5, 21)) == dt.date(2023, 5, 20)


def test_event_date_skips_the_date_a_statement_was_made() -> None:
    sentences = ["Qatar said on Tuesday that the truce would start Friday."]
    assert event_date(sentences, WED) == dt.date(2023, 11, 24)


def test_event_date_ignores_background_dates() -> None:
    sentences = ["Russia invaded on February 24, 2022.", "Talks continue."]
    assert event_date(sentences, utc(2023, 4, 26)) is None


def test_event_date_none_without_dates_and_does_not_default() -> None:
    assert event_date(["Mediators push for a truce", "Talks continue in Cairo."], WED) is None
    assert event_date([], WED) is None
    assert event_date(["Talks continue."], WED, focus=(5, -1)) is None


def test_seed_story_resolves_to_its_publication_wednesday() -> None:
    path = shared_path("seeds", "000_1f32e1f8f4bd38d7.txt")
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    sentences = split_sentences(title) + split_sentences(body)
    assert event_date(sentences, utc(2023, 4, 26, 16)) == dt.date(2023, 4, 26)


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "hostile",
    [
        "on Monday " * 100_000,
        "March 10, " * 100_000,
        "9" * 500_000,
        "since " * 100_000 + "Friday",
        "was supposed to " * 50_000 + "start Friday",
    ],
)
def test_hostile_input_returns_quickly(hostile: str) -> None:
    started = time.perf_counter()
    mentions = find_dates(hostile, WED)
    event_date([hostile, hostile], WED)
    assert time.perf_counter() - started < 5
    assert all(m.start < m.end <= len(hostile) for m in mentions)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_and_offsets_are_consistent(sentence: str) -> None:
    for m in find_dates(sentence, WED):
        assert sentence[m.start : m.end] == m.surface
        assert dt.date(1900, 1, 1) <= m.date <= dt.date(2100, 12, 31)
