"""One feed's poll for the ``poll_feed`` task: check the lease, fetch, analyse, store.

Free of Celery: the task passes the store, engine, settings and a clock. Safe to run
twice: the lease check makes a late duplicate (its lease taken over by a newer dispatch)
do nothing, and the store inserts entries, stories and deliveries only if new.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from tasks.schedule import POLL_LEASE
from worker.engine import Engine
from worker.errors import FetchError
from worker.fetch import fetch_sync
from worker.scan import ChannelsFor, FeedOutcome, process_fetched, record_failure
from worker.settings import Settings
from worker.store import Store

log = structlog.get_logger("peacewatch.tasks")

_FETCH_PARAMS = frozenset(inspect.signature(fetch_sync).parameters)


def fetch_options(settings: Settings) -> dict[str, Any]:
    """``fetch_sync`` keyword arguments from ``[fetch]`` (SSRF options when supported)."""
    fetch = settings.fetch
    options: dict[str, Any] = {
        "timeout": fetch.timeout,
        "max_bytes": fetch.max_bytes,
        "user_agent": fetch.user_agent,
        "max_redirects": fetch.max_redirects,
    }
    for name in ("allow_private_networks", "allowlist"):
        if name in _FETCH_PARAMS:
            options[name] = getattr(fetch, name)
    return options


def poll_feed(
    store: Store,
    engine: Engine,
    settings: Settings,
    feed_id: int,
    owner: str,
    *,
    now: Callable[[], datetime],
    channels_for: ChannelsFor | None,
) -> FeedOutcome | None:
    """Poll the feed if ``owner`` still holds its lease; None when skipped.

    The lease is renewed for ``POLL_LEASE`` seconds at the start and released at the end,
    whatever happens. A fetch failure is recorded (with backoff) like ``peacewatch scan``.
    """
    if not store.renew_lease(feed_id, owner, now() + timedelta(seconds=POLL_LEASE)):
        log.info("poll skipped: the feed's lease is held by another dispatch", feed_id=feed_id)
        return None
    try:
        feed = store.get_feed_by_id(feed_id)
        if feed is None:
            return None
        try:
            result = fetch_sync(
                feed.url,
                etag=feed.etag,
                last_modified=feed.last_modified,
                **fetch_options(settings),
            )
        except FetchError as error:
            return record_failure(store, feed, settings, now(), error)
        return process_fetched(store, engine, settings, feed, result, now(), channels_for)
    finally:
        store.release_lease(feed_id, owner)


def record_interrupted(
    store: Store, settings: Settings, feed_id: int, now: datetime, reason: str
) -> None:
    """Record a poll cut short (time limit) as a failed poll, so the feed backs off
    instead of being dispatched again at once."""
    feed = store.get_feed_by_id(feed_id)
    if feed is not None:
        record_failure(store, feed, settings, now, FetchError(reason, url=feed.url))
