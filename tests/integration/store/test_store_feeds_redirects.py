"""Feeds after a permanent redirect: the URL first added keeps reaching the moved feed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from worker.models import Entry
from worker.store import FeedRow, Store
from worker.store.schema import feeds

OLD = "https://old.example.org/feed"
NEW = "https://new.example.org/feed.xml"
OTHER = "https://other.example.org/rss"


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


def _moved(store: Store, now: datetime) -> FeedRow:
    """A config feed added as OLD that was permanently redirected to NEW."""
    feed = store.upsert_feed(OLD, name="Old name", interval_seconds=600, source="config", now=now)
    moved = _poll(store, feed, now, etag='"e1"', new_url=NEW)
    assert (moved.id, moved.url, moved.original_url, moved.last_error) == (feed.id, NEW, OLD, None)
    return moved


def test_new_feeds_remember_the_url_they_were_added_under(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(OLD, now=now)
    assert feed.original_url == OLD == feed.url
    merged = store.upsert_feed(OLD, name="Named later", now=now)
    assert merged.original_url == OLD


@pytest.mark.parametrize("merge", ["upsert_feed", "sync_config_feeds"])
def test_config_merge_after_a_redirect_reaches_the_moved_feed(
    store: Store, now: datetime, merge: str
) -> None:
    moved = _moved(store, now)
    later = now + timedelta(hours=1)
    # the next start: the config file still lists the OLD URL, with new settings
    if merge == "upsert_feed":
        store.upsert_feed(OLD, name="New name", interval_seconds=900, source="config", now=later)
    else:
        store.sync_config_feeds([(OLD, "New name", 900)], now=later)

    [feed] = store.list_feeds()
    assert (feed.id, feed.url, feed.original_url) == (moved.id, NEW, OLD)
    assert (feed.name, feed.interval_seconds, feed.source) == ("New name", 900, "config")
    assert (feed.etag, feed.last_polled, feed.updated) == ('"e1"', now, later)
    assert store.due_feeds(later, include_all=True) == [feed]


def test_user_add_of_either_url_merges_into_the_moved_feed(store: Store, now: datetime) -> None:
    moved = _moved(store, now)
    assert store.upsert_feed(NEW, name="By new URL", now=now).id == moved.id
    again = store.upsert_feed(OLD, interval_seconds=60, now=now)
    assert (again.id, again.name, again.interval_seconds, again.source) == (
        moved.id,
        "By new URL",
        60,
        "config",
    )
    assert len(store.list_feeds()) == 1


@pytest.mark.parametrize("name_used", ["old", "new"])
def test_remove_by_either_url(
    store: Store, now: datetime, make_entry: Callable[..., Entry], name_used: str
) -> None:
    moved = _moved(store, now)
    kept = store.upsert_feed(OTHER, now=now)
    store.insert_entries(moved.id, [make_entry("x")], now)
    assert store.remove_feed(OLD if name_used == "old" else NEW) is True
    assert store.list_feeds() == [kept]
    assert store.get_feed(OLD) is None and store.get_feed(NEW) is None
    assert store.remove_feed(OLD) is False and store.remove_feed(NEW) is False
    # added again under the old URL, it is a new feed that starts afresh
    fresh = store.upsert_feed(OLD, now=now)
    assert fresh.id != moved.id and (fresh.url, fresh.original_url) == (OLD, OLD)
    assert len(store.insert_entries(fresh.id, [make_entry("x")], now)) == 1


def test_redirect_back_to_the_original_url(store: Store, now: datetime) -> None:
    moved = _moved(store, now)
    back = _poll(store, moved, now, new_url=OLD)
    assert (back.id, back.url, back.original_url, back.last_error) == (moved.id, OLD, OLD, None)
    assert store.get_feed(OLD) == back
    assert store.get_feed(NEW) is None


def test_current_url_wins_over_an_original_one(store: Store, now: datetime) -> None:
    moved = _moved(store, now)
    # a row written outside the Store (no original_url) that is polled at OLD now
    with store.engine.begin() as conn:
        conn.execute(feeds.insert().values(url=OLD, name="Outside", created=now, updated=now))
    found = store.get_feed(OLD)
    assert found is not None and (found.name, found.original_url) == ("Outside", None)
    assert store.upsert_feed(OLD, interval_seconds=30, now=now).id == found.id
    assert store.get_feed_by_id(moved.id) == moved
    assert store.remove_feed(OLD) is True
    assert store.list_feeds() == [moved]


def test_redirect_onto_another_feeds_original_url_is_a_collision(
    store: Store, now: datetime
) -> None:
    moved = _moved(store, now)  # OLD -> NEW; OLD still names it
    other = store.upsert_feed(OTHER, now=now)
    row = _poll(store, other, now, new_url=OLD)
    assert (row.url, row.original_url, row.consecutive_errors) == (OTHER, OTHER, 1)
    assert row.last_error is not None and OLD in row.last_error
    assert store.get_feed(OLD) == store.get_feed_by_id(moved.id)
