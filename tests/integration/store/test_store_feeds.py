"""Feeds: upsert/merge, removal, due feeds, poll outcomes, redirects, status output."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from worker.errors import InputError, StorageError
from worker.models import Entry, Story
from worker.store import FeedRow, Store
from worker.store.schema import entries, stories

A = "https://a.example.org/feed"
B = "https://b.example.org/rss"
C = "https://c.example.org/atom.xml"


def _poll(store: Store, feed: FeedRow, now: datetime, **outcome: Any) -> FeedRow:
    values: dict[str, Any] = {
        "now": now,
        "status": 200,
        "etag": None,
        "last_modified": None,
        "error": None,
        "not_modified": False,
        "next_poll": now + timedelta(minutes=15),
    }
    values.update(outcome)
    row = store.record_poll(feed.id, **values)
    assert row is not None
    return row


def test_upsert_creates_a_feed_with_empty_state(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(A, name="A news", interval_seconds=600, now=now)
    assert (feed.url, feed.name, feed.interval_seconds, feed.source) == (A, "A news", 600, "user")
    assert (feed.last_polled, feed.next_poll, feed.etag, feed.last_status) == (None,) * 4
    assert (feed.consecutive_errors, feed.entries_seen) == (0, 0)
    assert feed.created == now and feed.created.tzinfo is not None
    assert store.get_feed(A) == feed
    assert store.get_feed_by_id(feed.id) == feed


def test_upsert_merges_config_into_existing_state(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(A, name="Old name", interval_seconds=600, now=now)
    _poll(store, feed, now, etag='"abc"', last_modified="Thu, 27 Apr 2023 09:00:00 GMT")
    later = now + timedelta(hours=1)

    merged = store.upsert_feed(A, name="New name", interval_seconds=300, source="config", now=later)
    assert merged.id == feed.id
    assert (merged.name, merged.interval_seconds, merged.source) == ("New name", 300, "config")
    assert (merged.etag, merged.last_status, merged.last_polled) == ('"abc"', 200, now)
    assert (merged.created, merged.updated) == (now, later)

    # None keeps what is stored; a user upsert does not turn a config feed into a user feed
    again = store.upsert_feed(A, source="user", now=later)
    assert (again.name, again.interval_seconds, again.source) == ("New name", 300, "config")
    assert len(store.list_feeds()) == 1


@pytest.mark.parametrize(
    ("url", "interval", "message"),
    [("  ", None, "empty"), (A, 0, "positive"), (A, -5, "positive")],
)
def test_upsert_rejects_bad_input(
    store: Store, url: str, interval: int | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        store.upsert_feed(url, interval_seconds=interval)
    assert store.list_feeds() == []


def test_lookup_of_unknown_feeds(store: Store) -> None:
    assert store.get_feed(A) is None
    assert store.get_feed_by_id(12345) is None
    assert store.remove_feed(A) is False


def test_list_feeds_in_insertion_order(store: Store, now: datetime) -> None:
    for url in (B, A, C):
        store.upsert_feed(url, now=now)
    assert [feed.url for feed in store.list_feeds()] == [B, A, C]


def test_remove_feed_drops_entries_and_keeps_stories(
    store: Store,
    now: datetime,
    make_entry: Callable[..., Entry],
    make_story: Callable[..., Story],
) -> None:
    gone = store.upsert_feed(A, now=now)
    kept = store.upsert_feed(B, now=now)
    [(gone_entry, _)] = store.insert_entries(gone.id, [make_entry("x")], now)
    [(kept_entry, _)] = store.insert_entries(kept.id, [make_entry("x")], now)
    store.save_stories([(gone_entry, make_story("s-gone")), (kept_entry, make_story("s-kept"))])

    assert store.remove_feed(A) is True
    assert [feed.url for feed in store.list_feeds()] == [B]
    with store.engine.connect() as conn:
        remaining = conn.execute(sa.select(entries.c.id)).scalars().all()
        links = {row.id: row.entry_id for row in conn.execute(sa.select(stories))}
    assert remaining == [kept_entry]
    assert links == {"s-gone": None, "s-kept": kept_entry}
    assert {payload["id"] for payload in store.list_stories(None, 10)} == {"s-gone", "s-kept"}

    # added again, the feed starts afresh: its old entries are new again
    again = store.upsert_feed(A, now=now)
    assert again.id != gone.id and again.entries_seen == 0
    assert len(store.insert_entries(again.id, [make_entry("x")], now)) == 1


@pytest.mark.parametrize(
    ("include_all", "expected"),
    [
        (False, ["never", "overdue", "exactly-now"]),
        (True, ["never", "overdue", "exactly-now", "later"]),
    ],
)
def test_due_feeds(store: Store, now: datetime, include_all: bool, expected: list[str]) -> None:
    schedule = {
        "later": now + timedelta(seconds=1),
        "exactly-now": now,
        "overdue": now - timedelta(hours=2),
        "never": None,
    }
    for name, next_poll in schedule.items():
        feed = store.upsert_feed(f"https://{name}.example.org/feed", name=name, now=now)
        if next_poll is not None:
            _poll(store, feed, now - timedelta(hours=3), next_poll=next_poll)
    due = store.due_feeds(now, include_all=include_all)
    assert [feed.name for feed in due] == expected


def test_due_feeds_compares_instants_not_wall_clocks(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(A, now=now)
    _poll(store, feed, now, next_poll=now + timedelta(minutes=30))
    east = timezone(timedelta(hours=5))
    # 14:50 at +05:00 is 09:50 UTC: 20 minutes early, not five hours late
    assert store.due_feeds((now + timedelta(minutes=20)).astimezone(east)) == []
    assert [f.url for f in store.due_feeds((now + timedelta(minutes=30)).astimezone(east))] == [A]


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(StorageError, match="naive datetime"):
        store.due_feeds(datetime(2023, 4, 27, 9, 30))


def test_poll_outcomes_update_validators_and_error_run(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(A, now=now)
    t = [now + timedelta(minutes=15 * i) for i in range(6)]

    ok = _poll(store, feed, t[0], etag='"e1"', last_modified="Thu, 27 Apr 2023 09:00:00 GMT")
    assert (ok.etag, ok.last_modified, ok.last_status, ok.last_polled) == (
        '"e1"',
        "Thu, 27 Apr 2023 09:00:00 GMT",
        200,
        t[0],
    )
    assert ok.next_poll == t[0] + timedelta(minutes=15)

    unchanged = _poll(store, feed, t[1], status=304, not_modified=True, etag='"other"')
    assert (unchanged.etag, unchanged.last_status) == ('"e1"', 304)

    first_error = _poll(store, feed, t[2], status=503, error="HTTP 503 Service Unavailable")
    assert (first_error.consecutive_errors, first_error.error_since) == (1, t[2])
    assert first_error.last_error == "HTTP 503 Service Unavailable"
    assert first_error.etag == '"e1"'

    second_error = _poll(store, feed, t[3], status=None, error="connection refused\n  retrying")
    assert (second_error.consecutive_errors, second_error.error_since) == (2, t[2])
    assert (second_error.last_error, second_error.last_status) == (
        "connection refused retrying",
        None,
    )

    recovered = _poll(store, feed, t[4], etag=None, last_modified=None)
    assert (recovered.consecutive_errors, recovered.error_since, recovered.last_error) == (
        0,
        None,
        None,
    )
    # a 200 without validators drops the old ones (the server stopped sending them)
    assert (recovered.etag, recovered.last_modified) == (None, None)


def test_long_errors_are_cut(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(A, now=now)
    row = _poll(store, feed, now, status=None, error="x" * 5000)
    assert row.last_error is not None and len(row.last_error) <= 1000


def test_permanent_redirect_moves_the_feed(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(A, name="A", now=now)
    moved = _poll(store, feed, now, status=200, new_url=C)
    assert (moved.id, moved.url, moved.last_error, moved.consecutive_errors) == (
        feed.id,
        C,
        None,
        0,
    )
    assert (feed.original_url, moved.original_url) == (A, A)
    # the old URL still names the feed (the config file and users may keep using it)
    assert store.get_feed(A) == moved
    assert store.get_feed(C) == moved
    # a redirect to where it already is changes nothing
    same = _poll(store, moved, now, status=200, new_url=C)
    assert (same.url, same.last_error) == (C, None)


def test_permanent_redirect_onto_another_feed_is_an_error(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(A, now=now)
    other = store.upsert_feed(B, now=now)
    row = _poll(store, feed, now, status=200, etag='"e"', new_url=B)
    assert row.url == A
    assert row.last_error is not None and B in row.last_error
    assert (row.consecutive_errors, row.error_since) == (1, now)
    assert store.get_feed(B) == other


def test_record_poll_of_a_removed_feed_returns_none(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(A, now=now)
    store.remove_feed(A)
    assert (
        store.record_poll(
            feed.id,
            now=now,
            status=200,
            etag=None,
            last_modified=None,
            error=None,
            not_modified=False,
            next_poll=now,
        )
        is None
    )


def test_feed_status_has_the_contract_keys(
    store: Store, now: datetime, make_entry: Callable[..., Entry]
) -> None:
    polled = store.upsert_feed(A, name="A news", now=now)
    store.upsert_feed(B, now=now)
    store.insert_entries(polled.id, [make_entry("1"), make_entry("2")], now)
    plus_two = timezone(timedelta(hours=2))
    _poll(
        store,
        polled,
        now.astimezone(plus_two),
        status=500,
        error="HTTP 500",
        next_poll=(now + timedelta(minutes=30)).astimezone(plus_two),
    )

    status = store.feed_status()
    assert status == [
        {
            "url": A,
            "name": "A news",
            "last_polled": "2023-04-27T09:30:00+00:00",
            "last_status": 500,
            "last_error": "HTTP 500",
            "next_poll": "2023-04-27T10:00:00+00:00",
            "consecutive_errors": 1,
            "entries": 2,
        },
        {
            "url": B,
            "name": None,
            "last_polled": None,
            "last_status": None,
            "last_error": None,
            "next_poll": None,
            "consecutive_errors": 0,
            "entries": 0,
        },
    ]
    assert datetime.fromisoformat(status[0]["last_polled"]).utcoffset() == timedelta(0)
