"""Fixtures for the store tests: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from tests.support.db import store_url  # noqa: F401  (parametrised sqlite / postgresql)
from worker.models import Detection, Entry, Facts, Label, Person, Quote, Story
from worker.store import Store, open_store

NOW = datetime(2023, 4, 27, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:  # noqa: F811
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def now() -> datetime:
    return NOW


def entry(key: str, published: datetime = NOW, **fields: str | None) -> Entry:
    """An entry with plain, made-up text (fields override the defaults)."""
    values: dict[str, str | None] = {
        "title": f"Envoys meet for ceasefire talks ({key})",
        "summary": "Negotiators from both sides met a third-party envoy in a neutral capital.",
        "url": f"https://news.example.org/{key}",
        "content": None,
    }
    values.update(fields)
    return Entry(
        key=key,
        title=values["title"] or "",
        summary=values["summary"] or "",
        published=published,
        url=values["url"],
        content=values["content"],
    )


def story(story_id: str, published: datetime = NOW, label: Label = "mediation") -> Story:
    """A story with made-up facts."""
    return Story(
        id=story_id,
        title=f"Mediator offers to host talks ({story_id})",
        published=published,
        detection=Detection(label=label, score=0.875, evidence=("offered to host talks",)),
        facts=Facts(
            event_types=("offer",),
            mediators=("QA",),
            parties=("hamas", "IL"),
            people=(Person(name="A. Spokesperson", actor="QA", role="Spokesperson"),),
            quotes=(Quote(speaker=None, text="We stand ready to help – again."),),
            event_date=published.date().isoformat(),
        ),
        url=f"https://news.example.org/story/{story_id}",
        source="Example Wire",
    )


@pytest.fixture
def make_entry() -> Callable[..., Entry]:
    return entry


@pytest.fixture
def make_story() -> Callable[..., Story]:
    return story
