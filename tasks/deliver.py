"""Deliveries for the ``deliver`` and ``sweep_deliveries`` tasks (free of Celery).

``deliver_once`` makes one attempt at one delivery with ``deliver_one`` (which claims the
row first, so a duplicate task sends nothing) and says when to try again: a retryable
failure leaves the delivery pending with ``next_attempt`` set by the alerts backoff
(``[alerts]`` policy), and the task re-enqueues itself with that countdown, capped at
``MAX_COUNTDOWN`` (the sweep picks up anything later). ``sweep`` lists what is due
(robust after crashes and restarts); digest channels are sent by a dispatch pass there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog

from worker.alerts.base import Channel
from worker.alerts.dispatch import DeliveryOutcome, DispatchPolicy, deliver_one, dispatch
from worker.settings import Settings
from worker.store import Store

log = structlog.get_logger("peacewatch.tasks")


def policy_of(settings: Settings) -> DispatchPolicy:
    alerts = settings.alerts
    return DispatchPolicy(
        max_attempts=alerts.max_attempts,
        base_delay=alerts.base_delay,
        max_delay=alerts.max_delay,
        pass_budget=alerts.pass_budget,
        lease=alerts.lease,
    )


def is_digest(channel: Channel) -> bool:
    return bool(getattr(channel, "digest_seconds", None)) and callable(
        getattr(channel, "send_digest", None)
    )


# "skipped": the channel is not configured, or is a digest channel (left to the sweep)
AttemptOutcome = DeliveryOutcome | Literal["skipped"]


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: AttemptOutcome
    # seconds until the next attempt is due: set only when this call made a failed
    # attempt that will be retried (the caller re-enqueues; no duplicate retry chains)
    retry_in: float | None = None


def deliver_once(
    store: Store,
    channels: Mapping[str, Channel],
    delivery_id: int,
    *,
    now: Callable[[], datetime],
    policy: DispatchPolicy,
) -> Attempt:
    row = store.get_delivery(delivery_id)
    if row is None:
        return Attempt("missing")
    channel = channels.get(row.channel)
    if channel is None or is_digest(channel):
        if channel is None and row.state == "pending":
            log.warning("delivery for a channel not configured", channel=row.channel)
        return Attempt("skipped")
    outcome = deliver_one(store, channel, delivery_id, now=now(), policy=policy)
    if outcome != "pending":
        return Attempt(outcome)
    after = store.get_delivery(delivery_id)
    if after is None or after.state != "pending":
        return Attempt(after.state if after else "missing")
    if after.attempts <= row.attempts:
        # not ours: not due yet, or another task holds the claim; whoever made the
        # attempt schedules the retry (one retry chain per delivery, not one per copy)
        return Attempt("pending")
    wait = 0.0
    if after.next_attempt is not None:
        wait = max((after.next_attempt - now()).total_seconds(), 0.0)
    return Attempt("pending", retry_in=wait)


def due_delivery_ids(
    store: Store, channels: Mapping[str, Channel], now: datetime, *, limit: int = 500
) -> list[int]:
    """Ids of due deliveries of the configured, non-digest channels (oldest first)."""
    wanted = {name for name, channel in channels.items() if not is_digest(channel)}
    return [row.id for row in store.due_deliveries(now, limit=limit) if row.channel in wanted]


def send_digests(
    store: Store,
    channels: Mapping[str, Channel],
    *,
    now: Callable[[], datetime],
    policy: DispatchPolicy,
) -> int:
    """One dispatch pass for the digest channels (no in-pass waiting); how many sent."""
    digests = {name: channel for name, channel in channels.items() if is_digest(channel)}
    if not digests:
        return 0
    single = dataclasses.replace(policy, pass_budget=0.0)
    return dispatch(store, digests, now=now, policy=single).total_sent
