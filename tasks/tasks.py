"""The Celery tasks: thin wrappers that call ``tasks.poll``, ``tasks.deliver`` and
``tasks.schedule`` with this process's store, engine and channels (``tasks.runtime``).

=============================  =========  ==============================================
task                           queue      what
=============================  =========  ==============================================
peacewatch.dispatch_due_feeds  poll       lease feeds due by the next tick, poll_feed at ETA
peacewatch.poll_feed           poll       poll one leased feed, store, enqueue deliver
peacewatch.deliver             deliver    one attempt at one delivery; retry = re-enqueue
peacewatch.sweep_deliveries    deliver    enqueue due deliveries; digests; ops notices
=============================  =========  ==============================================

Every task is safe to run twice (leases, delivery claims, insert-if-new), which is what
makes ``acks_late`` + ``reject_on_worker_lost`` right for all of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_shutdown

from tasks import runtime
from tasks.deliver import deliver_once, due_delivery_ids, policy_of, send_digests
from tasks.poll import poll_feed, record_interrupted
from tasks.schedule import dispatch_ahead
from worker.health import notify_ops

log = structlog.get_logger("peacewatch.tasks")


def _now() -> datetime:
    return datetime.now(UTC)


def register(app: Celery) -> dict[str, Any]:
    """Register the tasks on ``app``; returns them by short name."""
    from tasks.app import (
        DELIVER_HARD_LIMIT,
        DELIVER_SOFT_LIMIT,
        MAX_COUNTDOWN,
        POLL_HARD_LIMIT,
        POLL_SOFT_LIMIT,
        SCHEDULE_HARD_LIMIT,
        SCHEDULE_SOFT_LIMIT,
    )

    reliable: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True}

    @app.task(  # type: ignore[untyped-decorator]
        name="peacewatch.deliver",
        soft_time_limit=DELIVER_SOFT_LIMIT,
        time_limit=DELIVER_HARD_LIMIT,
        **reliable,
    )
    def deliver(delivery_id: int) -> str:
        settings = runtime.settings()
        attempt = deliver_once(
            runtime.store(),
            runtime.channels(),
            delivery_id,
            now=_now,
            policy=policy_of(settings),
        )
        if attempt.outcome == "pending" and attempt.retry_in is not None:
            countdown = min(attempt.retry_in, MAX_COUNTDOWN)
            deliver.apply_async((delivery_id,), countdown=countdown)
        return str(attempt.outcome)

    @app.task(  # type: ignore[untyped-decorator]
        name="peacewatch.poll_feed",
        soft_time_limit=POLL_SOFT_LIMIT,
        time_limit=POLL_HARD_LIMIT,
        **reliable,
    )
    def poll(feed_id: int, owner: str) -> int:
        store = runtime.store()
        settings = runtime.settings()
        try:
            outcome = poll_feed(
                store,
                runtime.engine(),
                settings,
                feed_id,
                owner,
                now=_now,
                channels_for=runtime.channels_for,
            )
        except SoftTimeLimitExceeded:
            record_interrupted(store, settings, feed_id, _now(), "poll took too long")
            log.warning("poll cut short by its time limit", feed_id=feed_id)
            return 0
        if outcome is None or not outcome.stories:
            return 0
        # Deliveries were written with the stories; send those of the new stories now.
        new = {story.id for story in outcome.stories}
        ids = [row.id for row in store.due_deliveries(_now()) if row.story_id in new]
        for row_id in ids:
            deliver.apply_async((row_id,))
        log.info("feed polled", feed=outcome.url, stories=len(new), deliveries=len(ids))
        return len(new)

    @app.task(  # type: ignore[untyped-decorator]
        name="peacewatch.dispatch_due_feeds",
        soft_time_limit=SCHEDULE_SOFT_LIMIT,
        time_limit=SCHEDULE_HARD_LIMIT,
        **reliable,
    )
    def dispatch_due_feeds() -> int:
        # Feeds due before the next tick are leased now and polled at their due time (an
        # ETA at most one tick away, so never beyond MAX_COUNTDOWN / the visibility timeout).
        ahead = min(runtime.tick(), float(MAX_COUNTDOWN))

        def enqueue_at(feed_id: int, owner: str, eta: datetime) -> None:
            poll.apply_async((feed_id, owner), eta=eta)

        dispatched = dispatch_ahead(runtime.store(), now=_now(), enqueue_at=enqueue_at, ahead=ahead)
        return len(dispatched)

    @app.task(  # type: ignore[untyped-decorator]
        name="peacewatch.sweep_deliveries",
        soft_time_limit=SCHEDULE_SOFT_LIMIT,
        time_limit=SCHEDULE_HARD_LIMIT,
        **reliable,
    )
    def sweep_deliveries() -> int:
        store = runtime.store()
        channels = runtime.channels()
        disabled = store.disabled_channels()
        live = {name: ch for name, ch in channels.items() if name not in disabled}
        ids = due_delivery_ids(store, live, _now())
        for row_id in ids:
            deliver.apply_async((row_id,), expires=runtime.tick() * 2)
        sent = send_digests(store, live, now=_now, policy=policy_of(runtime.settings()))
        # feeds failing for 24 h: one notice per episode to the ops = true channels
        notify_ops(store, live, runtime.ops_names(), _now())
        return len(ids) + sent

    return {
        "deliver": deliver,
        "poll_feed": poll,
        "dispatch_due_feeds": dispatch_due_feeds,
        "sweep_deliveries": sweep_deliveries,
    }


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _close_runtime(**_kwargs: Any) -> None:
    runtime.close()
