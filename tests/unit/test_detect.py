"""Mediation detection: table-driven cases written for these tests, plus the dev-set floors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.paths import shared_path
from worker.detect import detect, explain
from worker.gazetteer import Gazetteer
from worker.models import Entry

PUBLISHED = datetime(2023, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.default()


def _entry(title: str, summary: str = "", content: str | None = None) -> Entry:
    return Entry(key=title, title=title, summary=summary, published=PUBLISHED, content=content)


POSITIVES = [
    (
        "Hostage deal: Qatar mediates four-day pause in Gaza fighting",
        "Israel and Hamas agreed to free some captives in exchange for Palestinian prisoners "
        "after weeks of talks brokered by Qatar and Egypt.",
    ),
    (
        "Sudan's army and RSF return to talks in Jeddah",
        "Saudi Arabia and the United States are hosting the warring sides for a new round of "
        "negotiations on a ceasefire.",
    ),
    (
        "Russia agrees to extend Black Sea grain deal for 60 days",
        "The arrangement, brokered by Turkey and the United Nations, lets Ukraine ship wheat "
        "through the Black Sea.",
    ),
    (
        "Saudi Arabia and Iran agree to restore diplomatic ties in deal brokered by China",
        "The rivals will reopen embassies within two months after talks in Beijing.",
    ),
    (
        "Vatican peace envoy travels to Kyiv and Moscow",
        "Cardinal Zuppi is on a mission for Pope Francis to ease the war in Ukraine.",
    ),
    (
        "Kremlin rejects Ukraine's peace plan as unrealistic",
        "Moscow said it would not negotiate on the basis of Kyiv's ten-point formula.",
    ),
    (
        "Talks between Colombia and ELN rebels collapse",
        "The government suspended the peace process after an attack on a military base.",
    ),
    (
        "UN chief Guterres calls for immediate humanitarian ceasefire in Gaza",
        "The secretary-general appealed to Israel and Hamas to stop the fighting.",
    ),
    (
        "Armenia and Azerbaijan swap prisoners in goodwill gesture",
        "The exchange of detained soldiers was seen as a step towards a peace treaty.",
    ),
]

NEGATIVES = [
    (
        "Divorcing couples urged to try mediation before going to court",
        "Family lawyers say mediation sessions can spare children a long custody battle.",
    ),
    (
        "Rail strike: unions and operators agree to mediation at Acas",
        "Talks on pay and conditions will resume next week, the RMT said.",
    ),
    (
        "Judge orders mediation in drug-pricing lawsuit",
        "The court told the drugmakers and insurers to settle their dispute.",
    ),
    (
        "EU and US agree truce in steel tariff dispute",
        "The trade truce suspends duties on aluminium and steel for two years.",
    ),
    (
        "Coalition talks stall as Dutch parties argue over budget",
        "Negotiators failed to agree a programme for a new government.",
    ),
    (
        "Climate talks in Dubai run into overtime",
        "Negotiators at COP28 are still split over fossil fuel language.",
    ),
    (
        "Minister says the bill will be passed immediately",
        "The announcement spread quickly on social media.",
    ),
    (
        "Russian forces shell Kherson as Ukraine pushes east",
        "Artillery fire killed three people overnight, regional officials said.",
    ),
    (
        "Pop star sues record label in contract dispute",
        "Her lawyers said talks with the company had broken down.",
    ),
]


@pytest.mark.parametrize(("title", "summary"), POSITIVES)
def test_mediation_stories_are_detected(gazetteer: Gazetteer, title: str, summary: str) -> None:
    detection = detect(_entry(title, summary), gazetteer)
    assert detection.label == "mediation", detection
    assert 0.5 <= detection.score <= 1.0
    assert detection.evidence
    assert len(detection.evidence) <= 4
    for phrase in detection.evidence:
        assert phrase.strip("…") in title + " " + summary or phrase.startswith("…")


@pytest.mark.parametrize(("title", "summary"), NEGATIVES)
def test_other_stories_are_not(gazetteer: Gazetteer, title: str, summary: str) -> None:
    detection = detect(_entry(title, summary), gazetteer)
    assert detection.label == "other", detection
    assert 0.0 <= detection.score < 0.5


def test_threshold_is_respected(gazetteer: Gazetteer) -> None:
    entry = _entry(*POSITIVES[0])
    score = detect(entry, gazetteer).score
    assert detect(entry, gazetteer, threshold=score).label == "mediation"
    assert detect(entry, gazetteer, threshold=min(1.0, score + 0.001)).label == "other"
    assert detect(entry, gazetteer, threshold=0.0).label == "mediation"


def test_same_input_same_output(gazetteer: Gazetteer) -> None:
    entry = _entry(*POSITIVES[3])
    assert detect(entry, gazetteer) == detect(entry, gazetteer)


def test_evidence_is_in_reading_order(gazetteer: Gazetteer) -> None:
    title, summary = POSITIVES[0]
    evidence = detect(_entry(title, summary), gazetteer).evidence
    text = title + "\n" + summary
    positions = [text.find(p.strip("…")[:40]) for p in evidence]
    assert all(p >= 0 for p in positions)
    assert positions == sorted(positions)


def test_full_text_does_no_worse_than_the_summary(gazetteer: Gazetteer) -> None:
    title, summary = POSITIVES[1]
    tail = " ".join(
        "Elsewhere, markets were calm and the weather was mild on the coast." for _ in range(80)
    )
    full = detect(_entry(title, summary, content=summary + " " + tail), gazetteer)
    assert full.label == "mediation"
    negative_title, negative_summary = NEGATIVES[7]
    buried = negative_summary + " " + tail + " Diplomats later mentioned peace talks in passing."
    assert detect(_entry(negative_title, negative_summary, buried), gazetteer).label == "other"


def test_explain_adds_up_to_the_score(gazetteer: Gazetteer) -> None:
    import math

    entry = _entry(*POSITIVES[2])
    terms = explain(entry, gazetteer)
    assert terms[0][0] == "bias"
    assert any(name.startswith("settle:") for name, _ in terms)
    logit = sum(value for _, value in terms)
    assert detect(entry, gazetteer).score == pytest.approx(1 / (1 + math.exp(-logit)), abs=1e-3)


def test_a_settlement_years_before_publication_counts_less(gazetteer: Gazetteer) -> None:
    recent = _entry("Rebels and government sign ceasefire in the north", "Fighting stopped.")
    old = _entry("Rebels and government signed 1994 ceasefire in the north", "Fighting stopped.")
    assert detect(old, gazetteer).score < detect(recent, gazetteer).score


def test_photo_captions_in_summaries_are_ignored(gazetteer: Gazetteer) -> None:
    entry = _entry(
        "Minister tours flood-hit region",
        "Leaders mend ties at a summit in 2019. (Photo by Jane Doe/AFP via Getty Images)",
    )
    assert detect(entry, gazetteer).label == "other"


def test_full_text_page_furniture_is_skipped(gazetteer: Gazetteer) -> None:
    title, summary = POSITIVES[2]
    content = "By Jane Smith\nAdvertisement\nUpdated 3 hours ago\n" + summary + " More follows."
    full = detect(_entry(title, summary, content=content), gazetteer)
    assert full.label == "mediation"
    assert all("Advertisement" not in phrase for phrase in full.evidence)


def test_empty_entry_is_other(gazetteer: Gazetteer) -> None:
    detection = detect(_entry(""), gazetteer)
    assert detection.label == "other"
    assert detection.evidence == ()


@pytest.mark.shared_data
def test_dev_set_floors(gazetteer: Gazetteer) -> None:
    dev = shared_path("data", "labeled", "dev.jsonl")
    from worker.records import read_records

    tp = fp = fn = 0
    for record in read_records(dev):
        if record.borderline:
            continue
        predicted = detect(record.entry, gazetteer).label == "mediation"
        gold = record.label == "mediation"
        tp += predicted and gold
        fp += predicted and not gold
        fn += gold and not predicted
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    assert precision >= 0.90, (precision, tp, fp, fn)
    assert recall >= 0.85, (recall, tp, fp, fn)
