"""The mediation lexicon: loading, scanning, look-alikes, the gate and event patterns."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.errors import ConfigError
from worker.lexicon import Lexicon


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.default()


def _found(lexicon: Lexicon, text: str) -> list[tuple[str, str]]:
    return [(cue.term.category, cue.text.lower()) for cue in lexicon.scan(text)]


@pytest.mark.parametrize(
    ("text", "category", "surface"),
    [
        ("Rivals agree a ceasefire along the border", "settle", "ceasefire"),
        ("A cease-fire took hold on Sunday", "settle", "cease-fire"),
        ("Kyiv and Moscow swap 100 prisoners of war", "settle", "swap 100 prisoners"),
        ("The two capitals agreed to restore diplomatic ties", "settle", "restore diplomatic ties"),
        ("Turkey hopes to extend the grain deal", "settle", "grain deal"),
        ("Qatar brokered the exchange", "facilitate", "brokered"),
        ("Envoys met for talks in Jeddah on Saturday", "facilitate", "in jeddah"),
        ("The UN chief urged both sides to stop", "appeal", "urged"),
        ("Moscow rejected the proposal", "reject", "rejected"),
        ("Rail unions walked out", "negative", "unions"),
    ],
)
def test_scan_finds_cues(lexicon: Lexicon, text: str, category: str, surface: str) -> None:
    assert (category, surface) in _found(lexicon, text)


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("An Olympic truce was declared for the games", "settle"),
        ("The EU and US agreed a steel truce", "settle"),
        ("Police reacted immediately", "facilitate"),
        ("Posts spread on social media", "facilitate"),
        ("An intermediate report came out", "facilitate"),
        ("She won the Nobel Peace Prize", "process"),
        ("The insurance broker lost the case", "facilitate"),
    ],
)
def test_look_alikes_are_not_cues(lexicon: Lexicon, text: str, absent: str) -> None:
    assert absent not in {category for category, _ in _found(lexicon, text)}


def test_cue_offsets_point_into_the_original_text(lexicon: Lexicon) -> None:
    text = "ISTANBUL — Grain Deal talks RESUMED after Turkey MEDIATED"
    for cue in lexicon.scan(text):
        assert text[cue.start : cue.end] == cue.text


@pytest.mark.parametrize(
    "text",
    [
        "Ceasefire holds in the north",
        "Hostage negotiations continue",
        "Seoul seeks rapprochement",
        "Beijing brokered it",
        "They resumed peace talks",
    ],
)
def test_gate_lets_settlement_texts_through(lexicon: Lexicon, text: str) -> None:
    assert lexicon.may_matter(text)


def test_gate_stops_texts_without_any_gating_cue(lexicon: Lexicon) -> None:
    assert not lexicon.may_matter("Stocks rose on Tuesday as inflation cooled in Europe")


def test_default_lexicon_takes_the_fast_path(lexicon: Lexicon) -> None:
    assert lexicon.fully_indexed


def test_a_pattern_without_a_known_start_still_matches() -> None:
    lexicon = Lexicon.from_toml(
        "[[term]]\nname='x'\ncategory='settle'\npatterns=['\\w+-brokered truce']"
    )
    assert not lexicon.fully_indexed
    assert [c.text for c in lexicon.scan("An Angola-brokered truce")] == ["Angola-brokered truce"]
    assert lexicon.may_matter("An Angola-brokered truce")
    assert not lexicon.may_matter("A quiet day")


@pytest.mark.parametrize(
    ("text", "category", "surface"),
    [
        ("Workers went on strike", "negative", "strike"),
        ("The case was settled out of court", "negative", "court"),
        ("Peace talks held in Doha", "facilitate", "held in doha"),
        ("A deal reached with the help of Qatar", "facilitate", "help of"),
    ],
)
def test_context_sensitive_cues(lexicon: Lexicon, text: str, category: str, surface: str) -> None:
    assert (category, surface) in _found(lexicon, text)


def test_event_patterns_are_offered(lexicon: Lexicon) -> None:
    ceasefire = lexicon.event_pattern("ceasefire")
    assert ceasefire is not None and ceasefire.search("A TRUCE was agreed")
    proposal = lexicon.event_pattern("proposal")
    assert proposal is not None and proposal.search("Beijing's 12-point plan")
    assert lexicon.event_pattern("no-such-event") is None
    assert "rejection" in lexicon.events


def test_user_terms_extend_the_vocabulary() -> None:
    lexicon = Lexicon.from_toml(
        """
        venues = ["lomé"]
        [[term]]
        name = "sulh"
        category = "settle"
        weight = 4.0
        patterns = ['sulh']
        [[term]]
        name = "host"
        category = "facilitate"
        patterns = ['talks in (?:{venues})']
        """
    )
    assert [c.term.name for c in lexicon.scan("A sulh after talks in Lomé")] == ["sulh", "host"]
    assert lexicon.may_matter("a sulh was agreed")


def test_the_packaged_lexicon_can_be_extended() -> None:
    lexicon = Lexicon.extended(
        [{"name": "musalaha", "category": "settle", "weight": 4.0, "patterns": ["musalaha"]}],
        venues=["lomé"],
    )
    found = [(c.term.name, c.text) for c in lexicon.scan("Musalaha after talks in Lomé")]
    assert ("musalaha", "Musalaha") in found
    assert ("host", "in Lomé") in found
    assert ("ceasefire", "ceasefire") in [(c.term.name, c.text) for c in lexicon.scan("ceasefire")]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[[term]]\nname='x'\ncategory='bogus'\npatterns=['a']", "unknown category"),
        ("[[term]]\nname='x'\ncategory='settle'\npatterns=['(a']", "bad pattern"),
        ("[[term]]\nname='x'\ncategory='settle'\npatterns=['(a)']", "capturing"),
        ("[[term]]\nname='x'\ncategory='negative'\npatterns=['a']", "domain"),
        ("[[term]]\nname='x'\ncategory='settle'\npatterns='a'", "list of strings"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_lexicons_are_config_errors(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Lexicon.from_toml(toml)


_PIECES = [
    "ceasefire",
    "cease-fire",
    "Truce",
    "talks",
    "peace",
    "peace talks",
    "prisoner swap",
    "swapped 40 prisoners",
    "restore ties",
    "normalisation",
    "grain deal",
    "brokered",
    "mediation",
    "mediators",
    "envoy",
    "in Doha",
    "Jeddah",
    "hostages",
    "humanitarian pause",
    "de-escalation",
    "12-point plan",
    "Olympic truce",
    "steel",
    "union",
    "court",
    "the",
    "of",
    "Russia’s",
    "war",
    "and",
    "said",
    ",",
    ".",
    "rebels",
    "deal",
    "negotiations",
    "dialogue",
    "détente",
    "rapprochement",
    "end the war",
    "calls for peace",
    "Gaza",
    "wars",
    "warning",
    "(war)",
    "war-torn",
    "U.N.-brokered",
    "Qatar-mediated",
    "cease‑fire",
    "peace-making",
    "end to the war",
    "lay down their arms",
    "hostages freed",
    "swap for",
    "in a swap for",
    "talks in Jeddah",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=25))
@settings(max_examples=500, deadline=None)
def test_gate_never_drops_a_text_with_a_gating_cue(pieces: list[str]) -> None:
    lexicon = Lexicon.default()
    text = " ".join(pieces)
    if any(cue.term.gate for cue in lexicon.scan(text)):
        assert lexicon.may_matter(text)
