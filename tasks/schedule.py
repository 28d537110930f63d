"""Scheduling: which feeds to poll now, and beat's periodic entries.

Beat sends ``dispatch_due_feeds`` every ``DISPATCH_EVERY`` seconds (and
``sweep_deliveries`` as often). ``dispatch_due`` is its logic, free of Celery and of the
clock (``now`` is passed in): it takes a lease on every feed whose next poll is due and not
leased (``Store.lease_due_feeds``, atomic, so two dispatchers never get the same feed) and
enqueues one poll per leased feed with the lease's owner token. A poll that cannot be
enqueued gives its lease back at once.

The lease outlives the poll's queue wait and its hard time limit (``LEASE_TTL``); the poll
renews it when it starts (``POLL_LEASE``) and releases it when it has recorded the poll.
A crashed poll's lease runs out and the feed is dispatched again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from worker.store import FeedRow, Store

log = structlog.get_logger("peacewatch.tasks")

DISPATCH_EVERY = 30.0  # seconds between dispatch_due_feeds (and sweep_deliveries) runs
LEASE_TTL = 900.0  # a dispatched feed waits this long at most for its poll to start
POLL_LEASE = 360.0  # from the poll's start: above its hard time limit (300 s)
DISPATCH_LIMIT = 500  # feeds leased per dispatch at most (the rest wait one tick)

Enqueue = Callable[[int, str], None]  # (feed id, lease owner) → a poll task is queued


def new_owner(prefix: str = "dispatch") -> str:
    """A unique lease owner token for one dispatch."""
    return f"{prefix}:{uuid.uuid4().hex}"


def dispatch_due(
    store: Store,
    *,
    now: datetime,
    enqueue: Enqueue,
    owner: str | None = None,
    ttl: float = LEASE_TTL,
    limit: int = DISPATCH_LIMIT,
) -> list[FeedRow]:
    """Lease every due, unleased feed and enqueue its poll; the feeds enqueued."""
    token = owner or new_owner()
    leased = store.lease_due_feeds(now, ttl=ttl, owner=token, limit=limit)
    sent: list[FeedRow] = []
    for feed in leased:
        try:
            enqueue(feed.id, token)
        except Exception as error:  # the broker refused: give the feed back for next tick
            store.release_lease(feed.id, token)
            log.warning("cannot enqueue a poll", feed=feed.url, error_type=type(error).__name__)
            continue
        sent.append(feed)
    if sent:
        log.info("feeds dispatched", count=len(sent))
    return sent


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
