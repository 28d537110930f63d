"""Feed health: which feeds are failing, for how long, and the once-per-episode ops notice.

A feed is "ok" while its last poll succeeded, "failing since <time>" from its first
failed poll in a row (``error_since``), and "failing > 24h" once that run is older than
the threshold. ``failing_feeds`` is pure (rows and ``now`` in). ``notify_ops`` sends one
notice per failing episode to every channel configured with ``ops = true``; the store
remembers the episode (its ``error_since``) so the notice is not repeated, and a feed
that recovers and fails again for 24 h is a new episode with a new notice.

The notice is a story object (the contract's shape, so every channel renders it) with
label "other", a title "[PeaceWatch ops] Feed failing for 24 h: <name>" and the error
in the evidence. It is never stored as a story.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from worker.alerts.base import Channel, delivery_key
from worker.errors import DeliveryError
from worker.store import Store

log = structlog.get_logger("peacewatch.health")

FAILING_THRESHOLD = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class FailingFeed:
    feed_id: int
    url: str
    name: str | None
    error_since: datetime
    last_error: str | None


def health(
    error_since: datetime | None, now: datetime, threshold: timedelta = FAILING_THRESHOLD
) -> str:
    """The health text: ok, "failing since <ISO time>" or "failing > 24h"."""
    if error_since is None:
        return "ok"
    if now - error_since >= threshold:
        return f"failing > {_hours(threshold)}h"
    return f"failing since {error_since.isoformat(timespec='seconds')}"


def failing_feeds(
    rows: Iterable[Any], now: datetime, threshold: timedelta = FAILING_THRESHOLD
) -> list[FailingFeed]:
    """Feeds (``FeedRow``-like: id, url, name, error_since, last_error) failing for at
    least ``threshold`` at ``now``, longest-failing first."""
    found = [
        FailingFeed(row.id, row.url, row.name, row.error_since, row.last_error)
        for row in rows
        if row.error_since is not None and now - row.error_since >= threshold
    ]
    return sorted(found, key=lambda f: (f.error_since, f.feed_id))


def ops_notice(feed: FailingFeed, now: datetime) -> dict[str, Any]:
    """The notice as a story object; its id is stable per feed and episode."""
    name = feed.name or feed.url
    episode = f"{feed.url}|{feed.error_since.isoformat()}"
    digest = hashlib.sha256(episode.encode("utf-8")).hexdigest()[:16]
    hours = int((now - feed.error_since).total_seconds() // 3600)
    return {
        "id": f"ops-feed-failing-{digest}",
        "url": feed.url,
        "title": f"[PeaceWatch ops] Feed failing for 24 h: {name}",
        "source": "PeaceWatch",
        "published": now.isoformat(),
        "mediation": {
            "label": "other",
            "score": 0.0,
            "evidence": [
                f"{feed.url} has failed every poll since "
                f"{feed.error_since.isoformat(timespec='seconds')} ({hours} h): "
                f"{feed.last_error or 'unknown error'}"
            ],
        },
        "facts": {
            "event_types": [],
            "mediators": [],
            "parties": [],
            "conflict": None,
            "people": [],
            "places": [],
            "event_date": None,
            "quotes": [],
            "stances": [],
        },
    }


def notify_ops(
    store: Store,
    channels: Mapping[str, Channel],
    ops_names: Sequence[str],
    now: datetime,
    threshold: timedelta = FAILING_THRESHOLD,
) -> int:
    """Send one notice per new failing-24h episode to the ops channels; how many feeds
    were reported. An episode is marked reported once at least one ops channel took it
    (a channel that failed gets no second try for it: the notice is best effort)."""
    targets = [channels[name] for name in ops_names if name in channels]
    if not targets:
        return 0
    reported = 0
    for feed in failing_feeds(store.list_feeds(), now, threshold):
        if store.ops_notice_sent(feed.feed_id) == feed.error_since.astimezone(UTC).isoformat():
            continue
        notice = ops_notice(feed, now)
        accepted = 0
        for channel in targets:
            try:
                channel.send(notice, key=delivery_key(notice["id"], channel.name))
            except DeliveryError as exc:
                log.warning("ops notice failed", channel=channel.name, error=str(exc))
            except Exception as exc:  # a bug in the channel: its message may hold a secret
                log.error("ops notice failed", channel=channel.name, error_type=type(exc).__name__)
            else:
                accepted += 1
        if accepted:
            store.mark_ops_notice(feed.feed_id, feed.error_since)
            reported += 1
            log.warning("feed failing for 24 h reported", feed=feed.url, channels=accepted)
    return reported


def _hours(threshold: timedelta) -> int:
    return int(threshold.total_seconds() // 3600)
