"""``sync_config_feeds``: the config file's feeds merged in one transaction, minimal writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from worker.errors import InputError
from worker.store import FeedRow, Store, open_store

A = "https://a.example.org/feed"
B = "https://b.example.org/rss"
C = "https://c.example.org/atom.xml"
SQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SELECT/INSERT/UPDATE/DELETE statements sent inside the block (not lock calls)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in SQL_VERBS and "pg_advisory_xact_lock" not in statement:
            sent.append(verb)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)


def _state(store: Store) -> dict[str, tuple[Any, ...]]:
    return {
        f.url: (f.id, f.name, f.interval_seconds, f.source, f.updated) for f in store.list_feeds()
    }


def test_inserts_updates_and_leaves_unchanged_rows_alone(store: Store, now: datetime) -> None:
    store.upsert_feed(A, name="A", interval_seconds=600, source="config", now=now)
    store.upsert_feed(B, name="B", now=now)  # a user feed the config now lists
    before = {f.url: f for f in store.list_feeds()}
    later = now + timedelta(hours=1)

    store.sync_config_feeds([(A, "A", 600), (B, None, None), (C, "C", 120)], now=later)

    after = {f.url: f for f in store.list_feeds()}
    assert list(after) == [A, B, C]
    assert after[A] == before[A]  # unchanged: not written, ``updated`` kept
    b = after[B]
    assert (b.id, b.name, b.interval_seconds, b.source) == (before[B].id, "B", None, "config")
    assert (b.created, b.updated) == (now, later)
    c = after[C]
    assert (c.url, c.original_url, c.name, c.interval_seconds, c.source) == (
        C,
        C,
        "C",
        120,
        "config",
    )
    assert (c.created, c.updated, c.next_poll, c.consecutive_errors) == (later, later, None, 0)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ((A, "Renamed", None), ("Renamed", 600)),
        ((A, None, 300), ("A", 300)),
        ((A, None, None), ("A", 600)),  # None keeps what is stored
        ((A, "A", 600), ("A", 600)),
    ],
)
def test_merge_rules_match_upsert_feed(
    store: Store,
    now: datetime,
    item: tuple[str, str | None, int | None],
    expected: tuple[str, int],
) -> None:
    original = store.upsert_feed(A, name="A", interval_seconds=600, source="config", now=now)
    later = now + timedelta(minutes=5)
    store.sync_config_feeds([item], now=later)
    feed = store.get_feed(A)
    assert feed is not None
    assert (feed.name, feed.interval_seconds, feed.source) == (*expected, "config")
    assert feed.updated == (now if expected == ("A", 600) else later)
    assert feed.id == original.id


def test_is_idempotent(store: Store, now: datetime) -> None:
    items = [(A, "A", 600), (B, None, None), (C, "C", None)]
    store.sync_config_feeds(items, now=now)
    first = _state(store)
    with statements(store) as sent:
        store.sync_config_feeds(items, now=now + timedelta(days=1))
    assert _state(store) == first
    assert sent == ["SELECT"]


def test_400_unchanged_feeds_cost_one_select_and_no_writes(store: Store, now: datetime) -> None:
    items = [(f"https://feeds{i}.example.org/rss", f"Feed {i}", 300 + i) for i in range(400)]
    with statements(store) as sent:
        store.sync_config_feeds(items, now=now)
    assert sent.count("SELECT") == 1 and "UPDATE" not in sent and "DELETE" not in sent
    assert len(store.list_feeds()) == 400
    before = _state(store)

    with statements(store) as sent:
        store.sync_config_feeds(items, now=now + timedelta(hours=1))
    assert sent == ["SELECT"]
    assert _state(store) == before

    changed: list[tuple[str, str | None, int | None]] = list(items)
    changed[7] = (items[7][0], "Feed seven", None)
    with statements(store) as sent:
        store.sync_config_feeds(changed, now=now + timedelta(hours=2))
    assert sent == ["SELECT", "UPDATE"]
    after = _state(store)
    assert {url for url in before if after[url] != before[url]} == {items[7][0]}
    assert after[items[7][0]][1:3] == ("Feed seven", 307)


def test_items_naming_one_feed_merge_in_order(store: Store, now: datetime) -> None:
    store.sync_config_feeds([(A, "First", 60), (A, None, 90), (B, "B", None), (B, "B2", None)])
    feeds = {f.url: (f.name, f.interval_seconds) for f in store.list_feeds()}
    assert feeds == {A: ("First", 90), B: ("B2", None)}


def test_moved_feed_listed_under_both_urls_is_one_row(store: Store, now: datetime) -> None:
    feed = store.upsert_feed(A, name="A", source="config", now=now)
    store.record_poll(
        feed.id,
        now=now,
        status=200,
        etag=None,
        last_modified=None,
        error=None,
        not_modified=False,
        next_poll=now,
        new_url=C,
    )
    store.sync_config_feeds([(A, "Old entry", 600), (C, "New entry", None)], now=now)
    [row] = store.list_feeds()
    assert (row.id, row.url, row.original_url) == (feed.id, C, A)
    assert (row.name, row.interval_seconds) == ("New entry", 600)


@pytest.mark.parametrize(
    ("bad", "message"), [(("  ", None, None), "empty"), ((B, "B", 0), "positive")]
)
def test_bad_input_writes_nothing(
    store: Store, now: datetime, bad: tuple[str, str | None, int | None], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        store.sync_config_feeds([(A, "A", None), bad], now=now)
    assert store.list_feeds() == []


def test_empty_config_touches_nothing(store: Store, now: datetime) -> None:
    feed: FeedRow = store.upsert_feed(A, now=now)
    with statements(store) as sent:
        store.sync_config_feeds([], now=now + timedelta(hours=1))
    assert sent == []
    assert store.list_feeds() == [feed]


def test_concurrent_merges_make_one_row_per_feed(store_url: str, now: datetime) -> None:
    workers = 6
    barrier = threading.Barrier(workers)
    failures: list[BaseException] = []

    def merge(index: int) -> None:
        with open_store(store_url) as mine:
            barrier.wait()
            try:
                if index % 2:
                    mine.sync_config_feeds([(A, f"Name {index}", None), (B, None, 60)], now=now)
                else:
                    mine.upsert_feed(A, interval_seconds=30 + index, source="config", now=now)
            except BaseException as error:
                failures.append(error)

    open_store(store_url).close()  # migrate once, before the race
    threads = [threading.Thread(target=merge, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with open_store(store_url) as store:
        rows = store.list_feeds()
    assert sorted(f.url for f in rows) == [A, B]
    assert {f.source for f in rows} == {"config"}
