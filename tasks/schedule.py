"""Scheduling: which feeds to poll now, and beat's periodic entries.

Beat sends ``dispatch_due_feeds`` every ``DISPATCH_EVERY`` seconds (and
``sweep_deliveries`` as often). ``dispatch_ahead`` is its logic, free of Celery and of the
clock (``now`` is passed in): it takes a lease on every unleased feed whose next poll falls
before the *next* tick (``next_poll <= now + ahead``; ``Store.lease_due_feeds``, atomic, so
two dispatchers never get the same feed) and enqueues one poll per leased feed with the
lease's owner token and an ETA of ``max(now, next_poll)``. So a feed is polled at its due
time, not up to one tick late. A poll that cannot be enqueued gives its lease back at once.
``dispatch_due`` is the same with no look-ahead (every poll at once; ETA = now).

The lease runs until ``now + ahead + ttl``: past the poll's ETA by ``LEASE_TTL``, which
covers its queue wait and its hard time limit. The poll renews it when it starts
(``POLL_LEASE``) and releases it when it has recorded the poll. A crashed poll's lease runs
out and the feed is dispatched again. The caller keeps ``ahead`` below the broker's
visibility timeout (the tick, 30 s, is far below it).

Looking ahead also means a lease that runs out within the next ``ahead`` seconds counts as
free. Such a lease belongs to a poll that either never started within ``LEASE_TTL`` (when it
starts, its renewal fails and it does nothing) or started more than ``POLL_LEASE - ahead``
seconds ago, beyond its hard time limit (killed): never two polls at once either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from worker.store import FeedRow, Store

log = structlog.get_logger("peacewatch.tasks")

DISPATCH_EVERY = 30.0  # seconds between dispatch_due_feeds (and sweep_deliveries) runs
LEASE_TTL = 900.0  # a dispatched feed waits this long at most for its poll to start
POLL_LEASE = 360.0  # from the poll's start: above its hard time limit (300 s)
DISPATCH_LIMIT = 500  # feeds leased per dispatch at most (the rest wait one tick)

Enqueue = Callable[[int, str], None]  # (feed id, lease owner) → a poll task is queued
# (feed id, lease owner, ETA) → a poll task is queued to start at the ETA
EnqueueAt = Callable[[int, str, datetime], None]


def new_owner(prefix: str = "dispatch") -> str:
    """A unique lease owner token for one dispatch."""
    return f"{prefix}:{uuid.uuid4().hex}"


def poll_eta(feed: FeedRow, now: datetime) -> datetime:
    """When a leased feed's poll should start: its due time, or now if that has passed."""
    if feed.next_poll is None or feed.next_poll <= now:
        return now
    return feed.next_poll


def dispatch_ahead(
    store: Store,
    *,
    now: datetime,
    enqueue_at: EnqueueAt,
    ahead: float,
    owner: str | None = None,
    ttl: float = LEASE_TTL,
    limit: int = DISPATCH_LIMIT,
) -> list[FeedRow]:
    """Lease every unleased feed due by ``now + ahead`` and enqueue its poll for its due
    time (``poll_eta``); the feeds enqueued."""
    if ahead < 0:
        raise ValueError("ahead must be >= 0")
    token = owner or new_owner()
    horizon = now + timedelta(seconds=ahead)
    # lease_until = horizon + ttl >= ETA + ttl
    leased = store.lease_due_feeds(horizon, ttl=ttl, owner=token, limit=limit)
    sent: list[FeedRow] = []
    for feed in leased:
        try:
            enqueue_at(feed.id, token, poll_eta(feed, now))
        except Exception as error:  # the broker refused: give the feed back for next tick
            store.release_lease(feed.id, token)
            log.warning("cannot enqueue a poll", feed=feed.url, error_type=type(error).__name__)
            continue
        sent.append(feed)
    if sent:
        log.info("feeds dispatched", count=len(sent))
    return sent


def dispatch_due(
    store: Store,
    *,
    now: datetime,
    enqueue: Enqueue,
    owner: str | None = None,
    ttl: float = LEASE_TTL,
    limit: int = DISPATCH_LIMIT,
) -> list[FeedRow]:
    """Lease every due, unleased feed and enqueue its poll now; the feeds enqueued."""

    def enqueue_now(feed_id: int, token: str, _eta: datetime) -> None:
        enqueue(feed_id, token)

    return dispatch_ahead(
        store, now=now, enqueue_at=enqueue_now, ahead=0.0, owner=owner, ttl=ttl, limit=limit
    )


def beat_schedule(tick: float = DISPATCH_EVERY) -> dict[str, dict[str, Any]]:
    """Beat's periodic entries; each message expires after one tick (no pile-up)."""
    return {
        "dispatch-due-feeds": {
            "task": "peacewatch.dispatch_due_feeds",
            "schedule": tick,
            "options": {"expires": tick},
        },
        "sweep-deliveries": {
            "task": "peacewatch.sweep_deliveries",
            "schedule": tick,
            "options": {"expires": tick},
        },
    }
