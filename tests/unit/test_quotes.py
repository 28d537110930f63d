"""Quote finding and speaker attribution."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.paths import shared_path
from worker.models import Quote
from worker.quotes import find_quotes


def pairs(text: str) -> list[tuple[str | None, str]]:
    return [(q.speaker, q.text) for q in find_quotes(text)]


# (text, expected [(speaker, quote text), ...])
CASES: list[tuple[str, list[tuple[str | None, str | None]]]] = [
    # Attribution after the quote: name + verb, verb + name, title stripped.
    (
        "“We are ready to host a new round of talks in Istanbul,” Erdogan told reporters.",
        [("Erdogan", "We are ready to host a new round of talks in Istanbul")],
    ),
    (
        '"The corridor must stay open for grain ships," said Foreign Minister Dmytro Kuleba.',
        [("Dmytro Kuleba", "The corridor must stay open for grain ships")],
    ),
    (
        "“The pause will hold as long as the exchanges continue,” Qatari foreign ministry "
        "spokesman Majed al-Ansari said on Tuesday.",
        [("Majed al-Ansari", "The pause will hold as long as the exchanges continue")],
    ),
    (
        "“We saw no sign that Moscow wants to negotiate,” John Kirby, a White House "
        "spokesman, said.",
        [("John Kirby", "We saw no sign that Moscow wants to negotiate")],
    ),
    (
        "“Both sides have agreed to a seven-day ceasefire,” the Saudi Foreign Ministry said.",
        [("Saudi Foreign Ministry", "Both sides have agreed to a seven-day ceasefire")],
    ),
    (
        "“The talks ended without any agreement on a truce,” according to the Kremlin.",
        [("Kremlin", "The talks ended without any agreement on a truce")],
    ),
    # Attribution before the quote in the same sentence.
    (
        "Kremlin spokesman Dmitry Peskov told reporters that Moscow saw "
        '"no basis for a ceasefire at this stage."',
        [("Dmitry Peskov", "no basis for a ceasefire at this stage.")],
    ),
    (
        "According to the Egyptian presidency, Cairo is working to "
        "“extend the humanitarian pause by two more days.”",
        [("Egyptian presidency", None)],
    ),
    (
        "The Sudanese army rejected the proposal on Monday, saying the paramilitary force "
        "“must first leave civilian homes in Khartoum.”",
        [("Sudanese army", "must first leave civilian homes in Khartoum.")],
    ),
    # Full name from elsewhere in the text; titles and "Mr." removed.
    (
        "Secretary of State Antony Blinken arrived in Jeddah on Saturday. "
        "“Saudi Arabia has been an indispensable partner in these talks,” Mr. Blinken said.",
        [("Antony Blinken", "Saudi Arabia has been an indispensable partner in these talks")],
    ),
    # Possessive organisation, lowercase role, then the name.
    (
        "“We will not accept a plan that divides Gaza,” said Hamas’ political bureau chief "
        "Ismail Haniyeh.",
        [("Ismail Haniyeh", "We will not accept a plan that divides Gaza")],
    ),
    # A role with no name is no speaker; a short quote without a speaker is dropped.
    ("Strikes will not win ‘respect’, says UK education secretary", []),
    (
        "“The army will keep its positions until the paramilitaries withdraw,” says the "
        "Sudanese army spokesman in a televised address.",
        [(None, "The army will keep its positions until the paramilitaries withdraw")],
    ),
    # A quote opening its paragraph: the speaker of the previous sentence.
    (
        "On Telegram, Zelensky said the call with the Chinese leader had been long.\n"
        "“We discussed every point of the peace formula in detail.”",
        [("Zelensky", "We discussed every point of the peace formula in detail.")],
    ),
    # "he said" resolves to the person the previous sentence is about.
    (
        "Egyptian President Abdel Fattah el-Sisi welcomed the exchange. "
        "“This must become a permanent ceasefire,” he said.",
        [("Abdel Fattah el-Sisi", "This must become a permanent ceasefire")],
    ),
    # Unnamed sources give no speaker.
    (
        "“We expect more hostages to be freed in the coming days,” a senior official said.",
        [(None, "We expect more hostages to be freed in the coming days")],
    ),
    # Scare quotes are not quotes; a one-word quote with a direct attribution is.
    ("The talks were 'frank' and “constructive”, the envoy noted.", []),
    ("Officials called the offer a “cynical ploy” on Friday.", []),
    ("“No,” Netanyahu said when asked about a truce.", [("Netanyahu", "No")]),
    # Guillemets and long single curly quotes.
    (
        "«The mediation will continue until the last prisoner is home», the Vatican said.",
        [("Vatican", "The mediation will continue until the last prisoner is home")],
    ),
    (
        "‘We have always believed that dialogue is the only path to a durable settlement,’ "
        "Prince Faisal bin Farhan said.",
        [
            (
                "Faisal bin Farhan",
                "We have always believed that dialogue is the only path to a durable settlement",
            )
        ],
    ),
    # Apostrophes do not close single curly quotes; short single-quoted words are ignored.
    ("Zelensky’s ‘peace formula’ won support at the meeting in Jeddah.", []),
    # Whitespace normalised; duplicates dropped; text order kept.
    (
        "“We  want   the guns to fall\tsilent,” Guterres said. “Second quote comes after "
        "the first,” he added. “We want the guns to fall silent,” Guterres repeated.",
        [
            ("Guterres", "We want the guns to fall silent"),
            ("Guterres", "Second quote comes after the first"),
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_find_quotes(text: str, expected: list[tuple[str | None, str | None]]) -> None:
    got = pairs(text)
    assert [speaker for speaker, _ in got] == [speaker for speaker, _ in expected]
    for (_, got_text), (_, want_text) in zip(got, expected, strict=True):
        if want_text is not None:
            assert got_text == want_text


def test_returns_quote_objects_without_marks() -> None:
    quotes = find_quotes("“A lasting peace needs both sides at the table,” Lula said.")
    assert quotes == [Quote(speaker="Lula", text="A lasting peace needs both sides at the table")]


def test_seed_story_quotes_and_speakers() -> None:
    path = shared_path("seeds", "000_1f32e1f8f4bd38d7.txt")
    quotes = find_quotes(path.read_text(encoding="utf-8"))
    first = next(q for q in quotes if q.text.startswith("I had a long and meaningful phone call"))
    assert first.speaker == "Volodymyr Zelensky"
    ministry = next(q for q in quotes if q.text.startswith("President Xi pointed out"))
    assert ministry.speaker == "Chinese Foreign Ministry"
    kirby = next(q for q in quotes if q.text.startswith("Now, whether that"))
    assert kirby.speaker == "John Kirby"
    # Scare-quoted single words in the story are not reported as quotes.
    assert all(len(q.text.split()) >= 4 for q in quotes)


@pytest.mark.parametrize(
    "hostile",
    [
        '"' * 200_000,
        "“an opening quote that never closes " * 20_000,
        "‘word " * 100_000,
        "said " * 100_000 + '"and then a short quote here"',
        "“" + "x, " * 200_000 + "”",
        ("“one two three four,” said " + "Name " * 50) * 2_000,
        "»«" * 100_000,
    ],
)
def test_hostile_input_returns_quickly(hostile: str) -> None:
    started = time.perf_counter()
    quotes = find_quotes(hostile)
    assert time.perf_counter() - started < 5
    assert all(q.text == " ".join(q.text.split()) for q in quotes)


def test_unbalanced_quotes_stay_within_a_paragraph() -> None:
    text = 'He said "this never closes\nThe next paragraph has "a real quoted passage here" too.'
    assert [q.text for q in find_quotes(text)] == ["a real quoted passage here"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab C"“”‘’«», .\nsaid')), max_size=200))
def test_never_raises_and_strips_marks(text: str) -> None:
    for quote in find_quotes(text):
        assert quote.text and quote.text == quote.text.strip()
        assert quote.speaker is None or quote.speaker.strip() == quote.speaker
