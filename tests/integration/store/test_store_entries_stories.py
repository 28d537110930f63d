"""Entries (insert-if-new per feed and key) and stories (idempotent by id, listing)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from worker.models import Entry, Story
from worker.store import Store, open_store
from worker.store.schema import entries

FEED = "https://wire.example.org/feed"


@contextmanager
def _statements(store: Store) -> Iterator[list[str]]:
    """Collect the SQL statements the store sends while the block runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(str(args[2]).lstrip().split(None, 1)[0].upper())

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def test_new_entries_are_returned_with_ids_in_order(
    store: Store, now: datetime, make_entry: Callable[..., Entry]
) -> None:
    feed = store.upsert_feed(FEED, now=now)
    batch = [make_entry(key) for key in ("guid:c", "guid:a", "link:b")]
    inserted = store.insert_entries(feed.id, batch, now)
    assert [item for _, item in inserted] == batch
    assert len({row_id for row_id, _ in inserted}) == 3
    feed_after = store.get_feed_by_id(feed.id)
    assert feed_after is not None and feed_after.entries_seen == 3


def test_reinserting_returns_only_unseen_entries(
    store: Store, now: datetime, make_entry: Callable[..., Entry]
) -> None:
    feed = store.upsert_feed(FEED, now=now)
    first = store.insert_entries(feed.id, [make_entry("1"), make_entry("2")], now)
    # a changed title under the same key is still the same entry
    again = [make_entry("2", title="Updated headline"), make_entry("3"), make_entry("1")]
    second = store.insert_entries(feed.id, again, now + timedelta(minutes=15))
    assert [item.key for _, item in second] == ["3"]
    assert second[0][0] not in {row_id for row_id, _ in first}
    assert store.insert_entries(feed.id, again, now + timedelta(minutes=30)) == []
    feed_after = store.get_feed_by_id(feed.id)
    assert feed_after is not None and feed_after.entries_seen == 3


def test_duplicate_keys_within_a_batch_count_once(
    store: Store, now: datetime, make_entry: Callable[..., Entry]
) -> None:
    feed = store.upsert_feed(FEED, now=now)
    first, duplicate = make_entry("k", title="First"), make_entry("k", title="Second")
    inserted = store.insert_entries(feed.id, [first, duplicate], now)
    assert [item for _, item in inserted] == [first]
    with store.engine.connect() as conn:
        titles = conn.execute(sa.select(entries.c.title)).scalars().all()
    assert titles == ["First"]


def test_the_same_key_in_two_feeds_is_two_entries(
    store: Store, now: datetime, make_entry: Callable[..., Entry]
) -> None:
    one = store.upsert_feed(FEED, now=now)
    two = store.upsert_feed("https://other.example.org/feed", now=now)
    assert len(store.insert_entries(one.id, [make_entry("shared")], now)) == 1
    assert len(store.insert_entries(two.id, [make_entry("shared")], now)) == 1


def test_entry_fields_round_trip_in_utc(
    store: Store, now: datetime, make_entry: Callable[..., Entry]
) -> None:
    feed = store.upsert_feed(FEED, now=now)
    cairo = timezone(timedelta(hours=3))
    item = make_entry(
        "full",
        published=datetime(2023, 4, 26, 22, 30, tzinfo=cairo),
        title="Talks in Cairo – “constructive”, officials say",
        content="Full text with non-ASCII: Türkiye, Doha, São Tomé.",
    )
    fetched_at = now.astimezone(cairo)
    [(row_id, _)] = store.insert_entries(feed.id, [item], fetched_at)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(entries).where(entries.c.id == row_id)).mappings().one()
    assert (row["entry_key"], row["url"], row["title"], row["summary"], row["content"]) == (
        item.key,
        item.url,
        item.title,
        item.summary,
        item.content,
    )
    assert row["published"] == datetime(2023, 4, 26, 19, 30, tzinfo=UTC)
    assert row["published"].utcoffset() == timedelta(0)
    assert row["fetched_at"] == now


def test_a_hundred_entries_take_one_insert_and_one_update(
    store: Store, now: datetime, make_entry: Callable[..., Entry]
) -> None:
    feed = store.upsert_feed(FEED, now=now)
    batch = [make_entry(f"item-{n}") for n in range(100)]
    with _statements(store) as sent:
        inserted = store.insert_entries(feed.id, batch, now)
    assert len(inserted) == 100
    assert [kind for kind in sent if kind not in ("BEGIN", "COMMIT")] == ["INSERT", "UPDATE"]
    with _statements(store) as sent:
        assert store.insert_entries(feed.id, batch, now) == []
    assert [kind for kind in sent if kind not in ("BEGIN", "COMMIT")] == ["INSERT"]


def test_an_empty_batch_touches_nothing(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(FEED, now=now)
    with _statements(store) as sent:
        assert store.insert_entries(feed.id, [], now) == []
    assert sent == []


def test_concurrent_inserts_store_each_entry_once(
    store_url: str, store: Store, now: datetime, make_entry: Callable[..., Entry]
) -> None:
    feed = store.upsert_feed(FEED, now=now)
    workers = 4
    barrier = threading.Barrier(workers)
    returned: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def insert(offset: int) -> None:
        # overlapping windows of keys: every key is offered by two or more workers
        batch = [make_entry(f"k{n}") for n in range(offset * 10, offset * 10 + 40)]
        try:
            with open_store(store_url) as own:
                barrier.wait()
                new = own.insert_entries(feed.id, batch, now)
            with lock:
                returned.extend(item.key for _, item in new)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=insert, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    expected = {f"k{n}" for n in range(70)}
    assert sorted(returned) == sorted(expected)
    feed_after = store.get_feed_by_id(feed.id)
    assert feed_after is not None and feed_after.entries_seen == 70


def test_saving_stories_is_idempotent(
    store: Store, now: datetime, make_story: Callable[..., Story]
) -> None:
    one, two = make_story("s1"), make_story("s2")
    assert store.save_stories([(None, one), (None, two), (None, one)]) == {one.id, two.id}
    assert store.save_stories([(None, two), (None, make_story("s3"))]) == {"s3"}
    assert store.save_stories([]) == set()
    assert {payload["id"] for payload in store.list_stories(None, 10)} == {"s1", "s2", "s3"}


def test_stored_payload_is_the_story_object(store: Store, make_story: Callable[..., Story]) -> None:
    shown = make_story("payload")
    store.save_stories([(None, shown)])
    [payload] = store.list_stories(None, 5)
    assert payload == shown.to_dict()
    assert list(payload) == list(shown.to_dict())  # key order kept for readable output


def test_list_stories_newest_first_with_since_limit_and_label(
    store: Store, now: datetime, make_story: Callable[..., Story]
) -> None:
    hours = {"h0": 0, "h1": 1, "h5": 5, "h30": 30}
    store.save_stories(
        [(None, make_story(k, published=now - timedelta(hours=h))) for k, h in hours.items()]
    )
    store.save_stories([(None, make_story("other", published=now, label="other"))])

    def ids(**query: Any) -> list[str]:
        return [payload["id"] for payload in store.list_stories(**query)]

    assert ids(since=None, limit=10) == ["h0", "h1", "h5", "h30"]
    assert ids(since=now - timedelta(hours=24), limit=10) == ["h0", "h1", "h5"]
    assert ids(since=now - timedelta(hours=5), limit=10) == ["h0", "h1", "h5"]
    assert ids(since=None, limit=2) == ["h0", "h1"]
    assert ids(since=None, limit=0) == []
    assert ids(since=None, limit=10, label="other") == ["other"]
    assert ids(since=now - timedelta(hours=2), limit=10, label=None) == ["h0", "other", "h1"]
