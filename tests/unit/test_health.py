"""Feed health text, the failing-24h selection and the ops notice's shape (injected now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from worker.health import FAILING_THRESHOLD, failing_feeds, health, ops_notice

NOW = datetime(2025, 2, 14, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    id: int
    url: str
    name: str | None
    error_since: datetime | None
    last_error: str | None = None


@pytest.mark.parametrize(
    ("since", "text"),
    [
        (None, "ok"),
        (NOW - timedelta(hours=3), "failing since 2025-02-14T06:00:00+00:00"),
        (NOW - timedelta(hours=23, minutes=59), "failing since 2025-02-13T09:01:00+00:00"),
        (NOW - timedelta(hours=24), "failing > 24h"),
        (NOW - timedelta(days=9), "failing > 24h"),
    ],
)
def test_health(since: datetime | None, text: str) -> None:
    assert health(since, NOW) == text


def test_failing_feeds_keeps_only_those_past_the_threshold() -> None:
    rows = [
        Row(1, "https://a.example/feed", "A", None),
        Row(2, "https://b.example/feed", "B", NOW - timedelta(hours=30), "HTTP 503"),
        Row(3, "https://c.example/feed", None, NOW - timedelta(hours=2), "timed out"),
        Row(4, "https://d.example/feed", "D", NOW - timedelta(days=3), "not a feed"),
        Row(5, "https://e.example/feed", "E", NOW - FAILING_THRESHOLD, "HTTP 404"),
    ]
    found = failing_feeds(rows, NOW)
    assert [f.feed_id for f in found] == [4, 2, 5]  # longest failing first
    assert found[1].last_error == "HTTP 503"
    assert [f.feed_id for f in failing_feeds(rows, NOW, timedelta(hours=1))] == [4, 2, 5, 3]
    assert failing_feeds(rows, NOW - timedelta(days=5)) == []


def test_ops_notice_is_a_story_object_stable_per_episode() -> None:
    since = NOW - timedelta(hours=26)
    [feed] = failing_feeds([Row(7, "https://wire.example/rss", "Wire", since, "HTTP 502")], NOW)
    notice = ops_notice(feed, NOW)
    assert set(notice) == {"id", "url", "title", "source", "published", "mediation", "facts"}
    assert notice["title"] == "[PeaceWatch ops] Feed failing for 24 h: Wire"
    assert notice["mediation"]["label"] == "other"
    [evidence] = notice["mediation"]["evidence"]
    assert "HTTP 502" in evidence and "(26 h)" in evidence
    assert ops_notice(feed, NOW + timedelta(hours=5))["id"] == notice["id"]
    again = Row(7, "https://wire.example/rss", "Wire", NOW + timedelta(hours=1), "HTTP 502")
    [later] = failing_feeds([again], NOW + timedelta(days=2))
    assert ops_notice(later, NOW)["id"] != notice["id"]  # a new episode, a new notice
