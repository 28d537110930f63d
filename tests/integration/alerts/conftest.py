"""Shared fixtures for the alert tests: a fresh store on SQLite and PostgreSQL, stories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from tests.support.db import store_url  # noqa: F401  (parametrised sqlite / postgresql)
from worker.models import Detection, Facts, Story
from worker.store import Store, open_store

ALERT_T0 = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def delivery_store(store_url: str) -> Iterator[Store]:  # noqa: F811
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


def alert_story(story_id: str, score: float = 0.8, title: str | None = None) -> Story:
    """A made-up mediation story."""
    return Story(
        id=story_id,
        title=title or f"Envoy shuttles between delegations ({story_id})",
        published=ALERT_T0,
        detection=Detection(label="mediation", score=score, evidence=("shuttled between",)),
        facts=Facts(event_types=("talks",), mediators=("EG",), parties=("hamas", "IL")),
        url=f"https://wire.example.net/{story_id}",
        source="Example Wire",
    )


@pytest.fixture
def make_alert_story() -> Callable[..., Story]:
    return alert_story
