"""Feed poll leases in the store, on SQLite and PostgreSQL, with an injected clock."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from worker.errors import InputError
from worker.store import Store, open_store

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def _feeds(store: Store, count: int) -> list[int]:
    return [
        store.upsert_feed(f"https://feeds.example.org/{n}.xml", now=T0).id for n in range(count)
    ]


def _poll(store: Store, feed_id: int, at: datetime, wait: float) -> None:
    store.record_poll(
        feed_id,
        now=at,
        status=200,
        etag=None,
        last_modified=None,
        error=None,
        not_modified=False,
        next_poll=at + timedelta(seconds=wait),
    )


def test_due_feeds_are_leased_once_until_the_lease_runs_out(store: Store) -> None:
    a, b, c = _feeds(store, 3)
    _poll(store, c, T0, 600)  # c is not due until T0 + 10 min

    first = store.lease_due_feeds(T0, ttl=60, owner="one", limit=10)
    assert [f.id for f in first] == [a, b]
    assert store.lease_of(a) == ("one", T0 + timedelta(seconds=60))

    # leased feeds are not handed out again while the lease holds
    assert store.lease_due_feeds(T0 + timedelta(seconds=59), ttl=60, owner="two") == []
    # once it runs out (a crashed poller) they are free again
    later = store.lease_due_feeds(T0 + timedelta(seconds=60), ttl=60, owner="two", limit=10)
    assert [f.id for f in later] == [a, b]
    assert store.lease_of(b)[0] == "two"


def test_limit_takes_the_most_overdue_first(store: Store) -> None:
    a, b, c = _feeds(store, 3)
    _poll(store, a, T0, 30)  # due at T0+30
    _poll(store, b, T0, 10)  # due at T0+10; c never polled: due first
    leased = store.lease_due_feeds(T0 + timedelta(minutes=1), ttl=60, owner="x", limit=2)
    assert [f.id for f in leased] == [c, b]
    assert store.lease_due_feeds(T0 + timedelta(minutes=1), ttl=60, owner="y", limit=0) == []


def test_release_and_renew_only_by_the_owner(store: Store) -> None:
    (a,) = _feeds(store, 1)
    store.lease_due_feeds(T0, ttl=60, owner="one")
    assert not store.release_lease(a, "other")
    assert not store.renew_lease(a, "other", T0 + timedelta(hours=1))
    assert store.renew_lease(a, "one", T0 + timedelta(minutes=10))
    assert store.lease_due_feeds(T0 + timedelta(minutes=5), ttl=60, owner="two") == []
    assert store.release_lease(a, "one")
    assert store.lease_of(a) == (None, None)
    assert not store.release_lease(a, "one")  # twice is harmless
    assert [f.id for f in store.lease_due_feeds(T0, ttl=60, owner="two")] == [a]


def test_an_expired_lease_taken_over_cannot_be_renewed_by_the_old_owner(store: Store) -> None:
    (a,) = _feeds(store, 1)
    store.lease_due_feeds(T0, ttl=60, owner="old")
    store.lease_due_feeds(T0 + timedelta(seconds=61), ttl=60, owner="new")
    assert not store.renew_lease(a, "old", T0 + timedelta(minutes=5))
    assert store.lease_of(a)[0] == "new"


def test_bad_arguments_are_refused(store: Store) -> None:
    with pytest.raises(InputError):
        store.lease_due_feeds(T0, ttl=0, owner="x")
    with pytest.raises(InputError):
        store.lease_due_feeds(T0, ttl=10, owner="")


def test_concurrent_takers_in_threads_never_share_a_feed(store: Store) -> None:
    ids = set(_feeds(store, 60))
    takers = 8
    barrier = threading.Barrier(takers)

    def take(n: int) -> list[int]:
        barrier.wait()
        got: list[int] = []
        while batch := store.lease_due_feeds(T0, ttl=300, owner=f"t{n}", limit=3):
            got.extend(f.id for f in batch)
        return got

    with ThreadPoolExecutor(takers) as pool:
        results = list(pool.map(take, range(takers)))
    taken = [feed_id for got in results for feed_id in got]
    assert sorted(taken) == sorted(ids)  # every feed once, none twice
    assert sum(1 for got in results if got) >= 2  # the takers really overlapped


def _take_in_process(url: str, owner: str, start: object) -> list[int]:
    store = open_store(url)
    try:
        start.wait()  # type: ignore[attr-defined]
        got: list[int] = []
        while batch := store.lease_due_feeds(T0, ttl=300, owner=owner, limit=2):
            got.extend(f.id for f in batch)
        return got
    finally:
        store.close()


def test_concurrent_takers_in_processes_never_share_a_feed(store: Store, store_url: str) -> None:
    ids = set(_feeds(store, 40))
    context = multiprocessing.get_context("spawn")
    takers = 4
    with context.Manager() as manager:
        start = manager.Event()
        with ProcessPoolExecutor(takers, mp_context=context) as pool:
            futures = [
                pool.submit(_take_in_process, store_url, f"p{n}", start) for n in range(takers)
            ]
            start.set()
            results = [future.result(timeout=120) for future in futures]
    taken = [feed_id for got in results for feed_id in got]
    assert sorted(taken) == sorted(ids)
    owners = {store.lease_of(feed_id)[0] for feed_id in ids}
    assert owners <= {f"p{n}" for n in range(takers)}
