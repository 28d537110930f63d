"""Scheduling and polling logic without Celery: injected clock, real store and feed server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tasks.deliver import deliver_once, due_delivery_ids
from tasks.poll import poll_feed
from tasks.schedule import (
    LEASE_TTL,
    POLL_LEASE,
    beat_schedule,
    dispatch_ahead,
    dispatch_due,
)
from tests.integration.service.conftest import SERVICE_FEED
from tests.support.feedserver import FeedServer
from tests.support.receivers import WebhookReceiver
from worker.alerts import build_channels, configs_of, routing
from worker.alerts.dispatch import DispatchPolicy
from worker.engine import Engine
from worker.settings import Settings
from worker.store import Store, open_store

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _settings(hook_url: str | None = None) -> Settings:
    data: dict[str, object] = {
        "fetch": {"allow_private_networks": True},
        "schedule": {"min_interval": "1s"},
    }
    if hook_url:
        data["channels"] = [{"type": "webhook", "name": "hook", "url": hook_url}]
    return Settings.model_validate(data)


def test_dispatch_leases_each_due_feed_and_enqueues_it_once(store: Store) -> None:
    ids = [store.upsert_feed(f"https://f.example/{n}", now=T0).id for n in range(3)]
    queued: list[tuple[int, str]] = []

    sent = dispatch_due(store, now=T0, enqueue=lambda f, o: queued.append((f, o)))
    assert sorted(f.id for f in sent) == sorted(ids)
    assert sorted(f for f, _ in queued) == sorted(ids)
    assert len({o for _, o in queued}) == 1  # one owner token per dispatch

    # the next tick, before any poll ran: nothing new is enqueued (never two polls at once)
    again: list[tuple[int, str]] = []
    dispatch_due(store, now=T0 + timedelta(seconds=30), enqueue=lambda f, o: again.append((f, o)))
    assert again == []
    # a lost poll: once the lease runs out the feed is dispatched again
    late = T0 + timedelta(seconds=LEASE_TTL + 1)
    dispatch_due(store, now=late, enqueue=lambda f, o: again.append((f, o)))
    assert sorted(f for f, _ in again) == sorted(ids)


def test_a_refused_enqueue_gives_the_lease_back(store: Store) -> None:
    feed = store.upsert_feed("https://f.example/a", now=T0)

    def broken(_feed_id: int, _owner: str) -> None:
        raise ConnectionError("broker down")

    assert dispatch_due(store, now=T0, enqueue=broken) == []
    assert store.lease_of(feed.id) == (None, None)
    assert [f.id for f in dispatch_due(store, now=T0, enqueue=lambda f, o: None)] == [feed.id]


def test_poll_stores_once_releases_the_lease_and_a_stale_duplicate_does_nothing(
    store: Store, engine: Engine
) -> None:
    clock = Clock(T0)
    settings = _settings()
    with FeedServer() as server:
        url = server.serve("/wire.xml", SERVICE_FEED)
        feed = store.upsert_feed(url, interval_seconds=600, now=T0)
        queued: list[tuple[int, str]] = []
        dispatch_due(store, now=clock(), enqueue=lambda f, o: queued.append((f, o)))
        ((feed_id, owner),) = queued

        outcome = poll_feed(store, engine, settings, feed_id, owner, now=clock, channels_for=None)
        assert outcome is not None and len(outcome.stories) == 2
        assert store.lease_of(feed.id) == (None, None)
        polled = store.get_feed_by_id(feed.id)
        assert polled is not None and polled.next_poll == T0 + timedelta(seconds=600)

        # the same message delivered again (acks_late redelivery): its lease is gone
        assert (
            poll_feed(store, engine, settings, feed_id, owner, now=clock, channels_for=None) is None
        )
        assert server.count("/wire.xml") == 1
        assert len(store.list_stories(None, 10)) == 2


def test_poll_renews_the_lease_past_its_time_limit(store: Store, engine: Engine) -> None:
    clock = Clock(T0)
    with FeedServer() as server:
        url = server.serve("/wire.xml", SERVICE_FEED)
        store.upsert_feed(url, now=T0)
        queued: list[tuple[int, str]] = []
        dispatch_due(store, now=clock(), enqueue=lambda f, o: queued.append((f, o)))
        ((feed_id, owner),) = queued
        seen: list[datetime | None] = []

        def channels_for(_story: object) -> list[str]:
            seen.append(store.lease_of(feed_id)[1])  # called mid-poll, lease still held
            return []

        clock.advance(LEASE_TTL - 1)  # waited in the queue almost as long as allowed
        poll_feed(store, engine, _settings(), feed_id, owner, now=clock, channels_for=channels_for)
        assert seen and seen[0] == clock() + timedelta(seconds=POLL_LEASE)


def test_deliveries_of_a_poll_are_sent_once_and_retried_with_backoff(
    store: Store, engine: Engine
) -> None:
    clock = Clock(T0)
    with FeedServer() as server, WebhookReceiver(script=[503]) as hook:
        settings = _settings(hook.url)
        configs = configs_of(settings)
        channels = build_channels(configs)
        url = server.serve("/wire.xml", SERVICE_FEED)
        store.upsert_feed(url, now=T0)
        queued: list[tuple[int, str]] = []
        dispatch_due(store, now=clock(), enqueue=lambda f, o: queued.append((f, o)))
        ((feed_id, owner),) = queued
        poll_feed(store, engine, settings, feed_id, owner, now=clock, channels_for=routing(configs))
        ids = due_delivery_ids(store, channels, clock())
        assert len(ids) == 2
        policy = DispatchPolicy(base_delay=4.0, max_delay=30.0)
        first = deliver_once(store, channels, ids[0], now=clock, policy=policy)
        assert first.outcome == "pending" and first.retry_in is not None
        assert 2.0 <= first.retry_in <= 4.0  # the alerts backoff: base × jitter in [0.5, 1)
        # a duplicate task before the retry is due sends nothing
        duplicate = deliver_once(store, channels, ids[0], now=clock, policy=policy)
        assert duplicate.outcome == "pending" and duplicate.retry_in is None
        assert hook.count == 1
        clock.advance(first.retry_in)
        for delivery_id in ids:
            assert deliver_once(store, channels, delivery_id, now=clock, policy=policy).outcome == (
                "sent"
            )
            # run twice: already sent, nothing more goes out
            assert deliver_once(store, channels, delivery_id, now=clock, policy=policy).outcome == (
                "sent"
            )
        assert hook.count == 3
        assert len(hook.unique_accepted()) == 2
        for channel in channels.values():
            channel.close()


def _polled(store: Store, url: str, *, at: datetime, next_poll: datetime) -> int:
    """A feed whose last poll (at ``at``) succeeded and set ``next_poll``."""
    feed = store.upsert_feed(url, interval_seconds=60, now=at)
    store.record_poll(
        feed.id,
        now=at,
        status=200,
        etag=None,
        last_modified=None,
        error=None,
        not_modified=False,
        next_poll=next_poll,
    )
    return feed.id


def test_a_feed_due_before_the_next_tick_gets_an_eta_at_its_due_time(store: Store) -> None:
    tick = 30.0
    overdue = _polled(
        store, "https://f.example/overdue", at=T0, next_poll=T0 - timedelta(seconds=5)
    )
    soon = _polled(store, "https://f.example/soon", at=T0, next_poll=T0 + timedelta(seconds=20))
    later = _polled(store, "https://f.example/later", at=T0, next_poll=T0 + timedelta(seconds=45))
    queued: dict[int, tuple[str, datetime]] = {}

    def enqueue_at(feed_id: int, owner: str, eta: datetime) -> None:
        queued[feed_id] = (owner, eta)

    sent = dispatch_ahead(store, now=T0, enqueue_at=enqueue_at, ahead=tick)
    assert {f.id for f in sent} == {overdue, soon}
    # due 20 s after this tick: polled at its due time, not 10 s late at the next tick
    assert queued[soon][1] == T0 + timedelta(seconds=20)
    assert queued[overdue][1] == T0  # overdue: at once, never in the past
    assert later not in queued  # due after the next tick: that tick's job
    # the lease covers the ETA plus the queue wait / time limit allowance
    owner, until = store.lease_of(soon)
    assert owner == queued[soon][0]
    assert until is not None and until - queued[soon][1] >= timedelta(seconds=LEASE_TTL)

    # the next tick: the leased feeds are not dispatched again (never two polls at once),
    # the later one now falls within the window and gets its own due time
    again: dict[int, datetime] = {}
    nxt = T0 + timedelta(seconds=tick)
    dispatch_ahead(
        store, now=nxt, enqueue_at=lambda f, _o, eta: again.__setitem__(f, eta), ahead=tick
    )
    assert again == {later: T0 + timedelta(seconds=45)}


def test_an_early_poll_keeps_its_lease_until_it_has_run(store: Store, engine: Engine) -> None:
    """A poll enqueued ahead of time starts at its ETA, renews and releases its lease."""
    clock = Clock(T0)
    with FeedServer() as server:
        url = server.serve("/wire.xml", SERVICE_FEED)
        feed_id = _polled(store, url, at=T0, next_poll=T0 + timedelta(seconds=20))
        queued: list[tuple[int, str, datetime]] = []
        dispatch_ahead(
            store, now=clock(), enqueue_at=lambda f, o, eta: queued.append((f, o, eta)), ahead=30
        )
        ((queued_id, owner, eta),) = queued
        assert queued_id == feed_id and eta == T0 + timedelta(seconds=20)
        clock.at = eta  # the broker hands the poll out at its ETA
        outcome = poll_feed(
            store, engine, _settings(), feed_id, owner, now=clock, channels_for=None
        )
        assert outcome is not None and len(outcome.stories) == 2
        assert store.lease_of(feed_id) == (None, None)
        polled = store.get_feed_by_id(feed_id)
        assert polled is not None and polled.next_poll == eta + timedelta(seconds=60)


def test_beat_schedule_runs_dispatch_and_sweep_every_tick() -> None:
    schedule = beat_schedule(30.0)
    assert schedule["dispatch-due-feeds"]["task"] == "peacewatch.dispatch_due_feeds"
    assert schedule["dispatch-due-feeds"]["schedule"] == 30.0
    assert schedule["sweep-deliveries"]["task"] == "peacewatch.sweep_deliveries"
    assert all(entry["options"]["expires"] == 30.0 for entry in schedule.values())
