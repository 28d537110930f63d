"""Poll leases on feeds: who may poll a feed now (``feeds.lease_owner``/``lease_until``).

The scheduler takes a lease on each due feed before it enqueues the feed's poll, so a
feed is never polled twice at once, however many schedulers run. A lease is free when
``lease_until`` is unset or not after now; a crashed poller's lease simply runs out.

- ``lease_due_feeds`` is atomic: PostgreSQL runs one ``UPDATE … WHERE id IN (SELECT …
  FOR UPDATE SKIP LOCKED) RETURNING``, so concurrent takers skip each other's rows;
  SQLite runs the same statement inside ``BEGIN IMMEDIATE`` (one writer at a time).
- ``renew_lease`` is how a poll confirms it still holds the lease when it starts (it may
  have waited in a queue): it extends a lease the owner holds, or took and nobody took
  since, and fails when another owner has it.
- ``release_lease`` frees it after the poll is recorded (only by its owner).

``LeaseMethods`` is mixed into ``worker.store.Store``; each method is one transaction.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from worker.errors import InputError
from worker.store.schema import feeds

if TYPE_CHECKING:
    from worker.store.repository import FeedRow


def _free(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(feeds.c.lease_until.is_(None), feeds.c.lease_until <= now)


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(feeds.c.next_poll.is_(None), feeds.c.next_poll <= now)


class LeaseMethods:
    """The lease half of ``Store`` (the plumbing below is ``Store``'s own)."""

    def write(self, action: str = "write to") -> AbstractContextManager[Connection]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def read(self, action: str = "read from") -> AbstractContextManager[Connection]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def lease_due_feeds(
        self, now: datetime, *, ttl: float, owner: str, limit: int = 100
    ) -> list[FeedRow]:
        """Lease up to ``limit`` feeds that are due at ``now`` and not leased; return them.

        Each gets ``lease_owner=owner`` and ``lease_until=now+ttl``. Most overdue first
        (never-polled first), then by id. Two concurrent callers never get the same feed.
        """
        from worker.store.repository import FeedRow

        if ttl <= 0 or not owner or limit < 0:
            raise InputError("a lease needs a positive ttl, an owner and a limit >= 0")
        if limit == 0:
            return []
        until = now + timedelta(seconds=ttl)
        chosen = (
            sa.select(feeds.c.id)
            .where(_due(now), _free(now))
            .order_by(feeds.c.next_poll.asc().nulls_first(), feeds.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite ignores it
        )
        stmt = (
            feeds.update()
            .where(feeds.c.id.in_(chosen.scalar_subquery()), _due(now), _free(now))
            .values(lease_owner=owner, lease_until=until)
            .returning(*feeds.c)
        )
        with self.write("lease feeds in") as conn:
            rows = [FeedRow.from_row(row) for row in conn.execute(stmt).mappings().all()]
        far = datetime.min.replace(tzinfo=now.tzinfo)
        return sorted(rows, key=lambda feed: (feed.next_poll or far, feed.id))

    def renew_lease(self, feed_id: int, owner: str, until: datetime) -> bool:
        """Extend ``owner``'s lease on the feed to ``until``; False if someone else holds
        it now (or it was released, or the feed is gone)."""
        with self.write("renew a lease in") as conn:
            result = conn.execute(
                feeds.update()
                .where(feeds.c.id == feed_id, feeds.c.lease_owner == owner)
                .values(lease_until=until)
            )
            return bool(result.rowcount == 1)

    def release_lease(self, feed_id: int, owner: str) -> bool:
        """Free the feed's lease if ``owner`` holds it; whether it did."""
        with self.write("release a lease in") as conn:
            result = conn.execute(
                feeds.update()
                .where(feeds.c.id == feed_id, feeds.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
            return bool(result.rowcount == 1)

    def lease_of(self, feed_id: int) -> tuple[str | None, datetime | None]:
        """``(owner, until)`` of the feed's lease as stored (None, None when never leased)."""
        with self.read("read a lease from") as conn:
            row = conn.execute(
                sa.select(feeds.c.lease_owner, feeds.c.lease_until).where(feeds.c.id == feed_id)
            ).first()
        return (row.lease_owner, row.lease_until) if row is not None else (None, None)
