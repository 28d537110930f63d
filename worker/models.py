"""Frozen value objects shared by the stages.

Stages take and return these; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Label = Literal["mediation", "other"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item (or one article given to ``check``), as plain text.

    ``title``, ``summary`` and ``content`` are plain text with entities decoded.
    ``published`` is timezone-aware UTC.
    """

    key: str
    title: str
    summary: str
    published: datetime
    url: str | None = None
    content: str | None = None
    source: str | None = None
    feed_url: str | None = None

    @property
    def text(self) -> str:
        """The body used for analysis: full text when there is some, else the summary."""
        return self.content or self.summary


@dataclass(frozen=True, slots=True)
class Detection:
    """Whether an entry is about mediation, how sure, and the phrases that decided it."""

    label: Label
    score: float
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    actor: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    speaker: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Stance:
    actor: str
    stance: str  # supports | opposes | sceptical | welcomes | rejects
    evidence: str


@dataclass(frozen=True, slots=True)
class Facts:
    """What was extracted from one story. Empty tuples and None when nothing was found."""

    event_types: tuple[str, ...] = ()
    mediators: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    conflict: str | None = None
    people: tuple[Person, ...] = ()
    places: tuple[str, ...] = ()
    event_date: str | None = None  # ISO date
    quotes: tuple[Quote, ...] = ()
    stances: tuple[Stance, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_types": list(self.event_types),
            "mediators": list(self.mediators),
            "parties": list(self.parties),
            "conflict": self.conflict,
            "people": [{"name": p.name, "actor": p.actor, "role": p.role} for p in self.people],
            "places": list(self.places),
            "event_date": self.event_date,
            "quotes": [{"speaker": q.speaker, "text": q.text} for q in self.quotes],
            "stances": [
                {"actor": s.actor, "stance": s.stance, "evidence": s.evidence} for s in self.stances
            ],
        }


@dataclass(frozen=True, slots=True)
class Story:
    """An analysed entry: the contract's story object."""

    id: str
    title: str
    published: datetime
    detection: Detection
    facts: Facts = field(default_factory=Facts)
    url: str | None = None
    source: str | None = None

    @property
    def is_mediation(self) -> bool:
        return self.detection.label == "mediation"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "source": self.source,
            "published": self.published.isoformat(),
            "mediation": {
                "label": self.detection.label,
                "score": round(self.detection.score, 3),
                "evidence": list(self.detection.evidence),
            },
            "facts": self.facts.to_dict(),
        }
