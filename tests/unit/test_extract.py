"""Fact extraction: who mediates, who the parties are, what happened and when.

Fixture stories are short texts written for these tests, describing real events.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field

import pytest

from tests.support.paths import shared_path
from worker.extract import extract
from worker.gazetteer import Gazetteer
from worker.models import Entry, Facts

UTC = datetime.UTC


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.default()


def _entry(title: str, summary: str, published: datetime.datetime) -> Entry:
    return Entry(key=title, title=title, summary=summary, published=published)


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    summary: str
    published: datetime.datetime
    mediators: set[str]
    parties: set[str]
    types_include: set[str] = field(default_factory=set)
    types_exclude: set[str] = field(default_factory=set)
    date: str | None = None
    conflict: str | None = None


CASES = [
    Case(
        "qatar-egypt-hostage-truce",
        "Qatar and Egypt broker four-day truce between Israel and Hamas",
        "Qatar, working alongside Egypt and the United States, mediated a deal under which "
        "Hamas will free 50 hostages held in Gaza in exchange for 150 Palestinian prisoners. "
        "The pause in fighting is due to begin on Friday.",
        datetime.datetime(2023, 11, 22, 9, 0, tzinfo=UTC),  # a Wednesday
        mediators={"QA", "EG", "US"},
        parties={"IL", "hamas"},
        types_include={"ceasefire", "agreement"},
        date="2023-11-24",
        conflict="Israel–Gaza war",
    ),
    Case(
        "jeddah-sudan-talks",
        "Sudan's warring sides resume talks in Jeddah",
        "Envoys of the Sudanese army and the paramilitary Rapid Support Forces resumed "
        "negotiations in the Saudi city on Thursday, in talks facilitated by Saudi Arabia "
        "and the United States.",
        datetime.datetime(2023, 10, 27, 8, 0, tzinfo=UTC),  # a Friday
        mediators={"SA", "US"},
        parties={"SD", "rsf"},
        types_include={"talks"},
        date="2023-10-26",
        conflict="Sudan war",
    ),
    Case(
        "grain-deal-exit",
        "Russia quits Black Sea grain deal",
        "Moscow said on Monday it would stop taking part in the UN and Turkey-brokered "
        "arrangement that let Ukraine ship grain from its ports.",
        datetime.datetime(2023, 7, 17, 12, 0, tzinfo=UTC),
        mediators={"un", "TR"},
        parties={"RU", "UA"},
        types_include={"breakdown"},
        types_exclude={"agreement"},
        date="2023-07-17",
    ),
    Case(
        "vatican-envoy",
        "Pope's peace envoy arrives in Moscow",
        "Cardinal Matteo Zuppi, sent by Pope Francis on a peace mission, arrived in Moscow "
        "on Wednesday for talks on the return of Ukrainian children.",
        datetime.datetime(2023, 6, 28, 15, 0, tzinfo=UTC),
        mediators={"VA"},
        parties={"RU", "UA"},
        types_include={"envoy", "meeting"},
        date="2023-06-28",
    ),
    Case(
        "uae-prisoner-swap",
        "Russia and Ukraine swap prisoners in UAE-mediated exchange",
        "Dozens of prisoners of war returned home on Tuesday in a swap mediated by the "
        "United Arab Emirates, Kyiv said.",
        datetime.datetime(2023, 8, 8, 18, 0, tzinfo=UTC),
        mediators={"AE"},
        parties={"RU", "UA"},
        types_include={"agreement"},
        date="2023-08-08",
    ),
    Case(
        "china-brokered-saudi-iran",
        "Iran and Saudi Arabia agree to restore ties after talks in Beijing",
        "The regional rivals will reopen embassies within two months under the deal.",
        datetime.datetime(2023, 3, 10, 14, 0, tzinfo=UTC),
        mediators={"CN"},
        parties={"IR", "SA"},
        types_include={"agreement", "talks"},
        conflict="Saudi Arabia–Iran rivalry",
    ),
    Case(
        "turkish-appeal",
        "Erdogan urges Putin to declare a ceasefire in Ukraine",
        "The Turkish president pressed his Russian counterpart in a phone call to halt "
        "the fighting for the holidays.",
        datetime.datetime(2023, 1, 5, 10, 0, tzinfo=UTC),
        mediators={"TR"},
        parties={"RU", "UA"},
        types_include={"appeal", "call"},
    ),
    Case(
        "security-council-appeal",
        "UN Security Council calls for humanitarian pauses in Gaza",
        "The council adopted a resolution urging extended humanitarian pauses in the "
        "fighting between Israel and Hamas.",
        datetime.datetime(2023, 11, 15, 23, 0, tzinfo=UTC),
        mediators=set(),
        parties={"IL", "hamas"},
        types_include={"appeal"},
        types_exclude={"ceasefire"},
    ),
    Case(
        "eu-hosts-caucasus-leaders",
        "EU's Michel hosts Pashinyan and Aliyev in Brussels",
        "European Council President Charles Michel hosted Armenian Prime Minister Nikol "
        "Pashinyan and Azerbaijani President Ilham Aliyev for talks on a peace treaty.",
        datetime.datetime(2023, 7, 15, 20, 0, tzinfo=UTC),
        mediators={"eu"},
        parties={"AM", "AZ"},
        types_include={"meeting"},
    ),
    Case(
        "unilateral-truce-rejected",
        "Putin orders 36-hour truce, Kyiv dismisses it as a ploy",
        "The Russian leader told his troops to hold fire over Orthodox Christmas.",
        datetime.datetime(2023, 1, 5, 16, 0, tzinfo=UTC),
        mediators=set(),
        parties={"RU", "UA"},
        types_include={"ceasefire", "rejection"},
    ),
    Case(
        "commentator-is-not-a-mediator",
        "US welcomes Qatar-brokered truce in Gaza",
        "The White House said the pause was a first step.",
        datetime.datetime(2023, 11, 22, 18, 0, tzinfo=UTC),
        mediators={"QA"},
        parties={"IL", "hamas"},
        types_include={"ceasefire"},
    ),
    Case(
        "announcer-of-a-truce",
        "Gaza truce extended by two days, Qatar says",
        "More hostages and prisoners are expected to be exchanged under the extension.",
        datetime.datetime(2023, 11, 27, 18, 0, tzinfo=UTC),
        mediators={"QA"},
        parties={"IL", "hamas"},
        types_include={"ceasefire"},
    ),
    Case(
        "actor-alone-means-its-war",
        "Netanyahu agrees to four-day pause after US pressure",
        "",
        datetime.datetime(2023, 11, 22, 6, 0, tzinfo=UTC),
        mediators=set(),
        parties={"IL", "hamas"},
        types_include={"ceasefire"},
    ),
    Case(
        "headline-pair",
        "Colombia, ELN agree six-month ceasefire at Havana talks",
        "",
        datetime.datetime(2023, 6, 9, tzinfo=UTC),
        mediators={"CU"},
        parties={"CO", "eln"},
        types_include={"ceasefire", "talks"},
    ),
    Case(
        "broker-named-after-a-possessive",
        "Saudi Arabia and Iran restore ties",
        "The deal was brokered by Washington's main rival, China, after secret talks.",
        datetime.datetime(2023, 3, 11, tzinfo=UTC),
        mediators={"CN"},
        parties={"SA", "IR"},
        types_include={"agreement"},
    ),
    Case(
        "ambassador-is-not-an-envoy",
        "Ukraine summons Russia's envoy over ceasefire violations",
        "",
        datetime.datetime(2023, 1, 7, tzinfo=UTC),
        mediators=set(),
        parties={"UA", "RU"},
        types_include={"ceasefire"},
        types_exclude={"envoy"},
    ),
    Case(
        "regional-bloc-delegation",
        "ECOWAS delegation arrives in Niamey for talks with Niger's junta",
        "",
        datetime.datetime(2023, 8, 19, tzinfo=UTC),
        mediators={"ecowas"},
        parties={"NE"},
        types_include={"talks"},
    ),
    Case(
        "organisation-meeting-the-parties",
        "UN chief meets Zelensky and Putin in bid to save grain deal",
        "",
        datetime.datetime(2023, 4, 26, tzinfo=UTC),
        mediators={"un"},
        parties={"UA", "RU"},
        types_include={"meeting"},
    ),
    Case(
        "lender-is-not-a-broker",
        "IMF begins talks with Kyiv on a loan as war grinds on",
        "",
        datetime.datetime(2023, 3, 13, tzinfo=UTC),
        mediators=set(),
        parties={"UA", "RU"},
    ),
    Case(
        "court-mediation",
        "Judge orders mediation in patent fight",
        "A federal judge sent the two chipmakers to mediation over their licensing dispute.",
        datetime.datetime(2023, 6, 1, tzinfo=UTC),
        mediators=set(),
        parties=set(),
    ),
    Case(
        "trade-truce",
        "US and China agree truce in tariff war",
        "Washington and Beijing agreed to pause new tariffs while negotiators keep talking.",
        datetime.datetime(2023, 6, 1, tzinfo=UTC),
        mediators=set(),
        parties={"US", "CN"},
    ),
    Case(
        "dateline-is-not-a-host",
        "Iran says prisoner swap with US is close",
        "DUBAI, United Arab Emirates — Iran's foreign minister said on Sunday that an "
        "exchange of prisoners with the United States could happen soon.",
        datetime.datetime(2023, 3, 13, 8, 0, tzinfo=UTC),
        mediators=set(),
        parties={"IR", "US"},
        types_include={"talks"},
        date="2023-03-12",
    ),
    Case(
        "one-side-named",
        "Zelensky rules out giving up land in any peace deal",
        "",
        datetime.datetime(2023, 2, 17, tzinfo=UTC),
        mediators=set(),
        parties={"UA", "RU"},
        types_include={"rejection"},
        types_exclude={"agreement"},
    ),
    Case(
        "rebels-imply-the-other-side",
        "Congo accuses rebels of breaking truce brokered by Angola",
        "",
        datetime.datetime(2023, 3, 22, tzinfo=UTC),
        mediators={"AO"},
        parties={"CD", "m23"},
        types_include={"ceasefire"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_extract(gaz: Gazetteer, case: Case) -> None:
    facts = extract(_entry(case.title, case.summary, case.published), gaz)
    assert set(facts.mediators) == case.mediators
    assert set(facts.parties) == case.parties
    assert case.types_include <= set(facts.event_types), facts.event_types
    assert not case.types_exclude & set(facts.event_types), facts.event_types
    if case.date is not None:
        assert facts.event_date == case.date
    if case.conflict is not None:
        assert facts.conflict == case.conflict
    assert not set(facts.mediators) & set(facts.parties)
    assert set(facts.event_types) <= {
        "offer", "appeal", "call", "meeting", "talks", "proposal", "envoy", "ceasefire",
        "agreement", "rejection", "breakdown",
    }  # fmt: skip


def test_title_actors_come_first(gaz: Gazetteer) -> None:
    facts = extract(
        _entry(
            "Qatar brokers hostage release",
            "Egypt also helped mediate the deal between Israel and Hamas, officials said.",
            datetime.datetime(2023, 10, 20, tzinfo=UTC),
        ),
        gaz,
    )
    assert facts.mediators[:2] == ("QA", "EG")


def test_people_quotes_and_stances(gaz: Gazetteer) -> None:
    body = (
        "Chinese President Xi Jinping spoke with Ukrainian President Volodymyr Zelenskyy on "
        "Tuesday, offering to help broker talks with Moscow. "
        '"We are ready to facilitate dialogue," Xi said. '
        "The White House opposed any ceasefire that would freeze the front line. "
        "Russia's foreign ministry welcomed the call."
    )
    facts = extract(
        _entry(
            "Xi holds first call with Zelensky", body, datetime.datetime(2023, 4, 26, tzinfo=UTC)
        ),
        gaz,
    )
    assert facts.mediators == ("CN",)
    assert set(facts.parties) == {"UA", "RU"}
    names = {p.name: (p.actor, p.role) for p in facts.people}
    assert names["Xi Jinping"] == ("CN", "President")
    assert names["Volodymyr Zelensky"] == ("UA", "President")
    assert [q.speaker for q in facts.quotes] == ["Xi Jinping"]
    stances = {s.actor: s.stance for s in facts.stances}
    assert stances == {"US": "opposes", "RU": "welcomes"}
    assert facts.event_date == "2023-04-25"
    assert "call" in facts.event_types


def test_extract_is_deterministic(gaz: Gazetteer) -> None:
    case = CASES[0]
    entry = _entry(case.title, case.summary, case.published)
    first: Facts = extract(entry, gaz)
    assert all(extract(entry, gaz) == first for _ in range(3))


def test_empty_story(gaz: Gazetteer) -> None:
    facts = extract(_entry("", "", datetime.datetime(2023, 1, 1, tzinfo=UTC)), gaz)
    assert facts == Facts()


def test_user_actor_from_config_is_extracted(gaz: Gazetteer) -> None:
    extra = gaz.with_extra(
        [{"id": "example-front", "name": "Example Liberation Front", "kind": "nonstate"}]
    )
    facts = extract(
        _entry(
            "Example Liberation Front joins talks hosted by Norway",
            "",
            datetime.datetime(2023, 5, 2, tzinfo=UTC),
        ),
        extra,
    )
    assert facts.mediators == ("NO",)
    assert "example-front" in facts.parties


# ----------------------------------------------------------------- real data, if present


@pytest.mark.shared_data
def test_seed_story(gaz: Gazetteer) -> None:
    lines = shared_path("seeds", "000_1f32e1f8f4bd38d7.txt").read_text(encoding="utf-8").split("\n")
    entry = _entry(
        lines[0],
        "\n".join(lines[1:]).strip(),
        datetime.datetime(2023, 4, 26, 19, 30, tzinfo=UTC),
    )
    facts = extract(entry, gaz)
    assert facts.mediators == ("CN",)
    assert set(facts.parties) == {"UA", "RU"}
    assert "call" in facts.event_types
    assert {"offer", "envoy"} & set(facts.event_types)
    assert facts.event_date == "2023-04-26"
    speakers = {q.speaker for q in facts.quotes}
    assert {"Volodymyr Zelensky", "John Kirby"} <= speakers
    assert {"US", "RU"} <= {s.actor for s in facts.stances}
    assert any((p.name, p.actor, p.role) == ("Xi Jinping", "CN", "President") for p in facts.people)


@pytest.mark.shared_data
def test_dev_set_floors(gaz: Gazetteer) -> None:
    """Micro-averaged set F1 on gold mediation records stays above the project floors."""
    from worker.records import read_records

    counts = {k: [0, 0, 0] for k in ("mediators", "parties", "event_types")}
    dated = correct = 0
    for record in read_records(shared_path("data", "labeled", "dev.jsonl")):
        if record.label != "mediation" or record.borderline:
            continue
        facts = extract(record.entry, gaz).to_dict()
        for key, tally in counts.items():
            if key in record.facts:
                want, got = set(record.facts[key] or ()), set(facts[key])
                tally[0] += len(want & got)
                tally[1] += len(got - want)
                tally[2] += len(want - got)
        if "event_date" in record.facts:
            dated += 1
            correct += facts["event_date"] == record.facts["event_date"]
    floors = {"mediators": 0.80, "parties": 0.80, "event_types": 0.78}
    for key, (tp, fp, fn) in counts.items():
        f1 = 2 * tp / (2 * tp + fp + fn)
        assert f1 >= floors[key], (key, f1, json.dumps(counts))
    assert dated and correct / dated >= 0.75
