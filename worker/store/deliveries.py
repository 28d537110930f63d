"""Alert deliveries in the store: one row per (story, channel), and disabled channels.

A delivery is recorded (``pending``) in the same transaction that stores its story, and
moves to ``sent`` when the channel accepts it or ``failed`` when it gives up. Its ``key``
(``worker.alerts.base.delivery_key``) never changes, so a resend after a crash carries the
same idempotency key. ``next_attempt`` None or not after now means due; a dispatcher
*claims* a due delivery by moving ``next_attempt`` past the time its send may take (a
lease), so two dispatchers never send the same delivery at once, and a crash mid-send only
delays the resend until the lease runs out.

``attempts`` counts sends tried (successful or not); ``retry_failed`` starts failed
deliveries afresh (``attempts`` 0). Error texts are callers' safe one-line messages,
squeezed and cut at ``MAX_DELIVERY_ERROR_CHARS``.

``DeliveryMethods`` is mixed into ``worker.store.Store``; each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from worker.errors import InputError
from worker.store.schema import channel_state, deliveries, stories

DeliveryState = Literal["pending", "sent", "failed"]
MAX_DELIVERY_ERROR_CHARS = 500
MAX_REASON_CHARS = 500
PAGE = 500  # rows per multi-row INSERT


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One delivery as stored, with its story object (``story``, the stored payload)."""

    id: int
    story_id: str
    channel: str
    state: DeliveryState
    attempts: int
    last_error: str | None
    next_attempt: datetime | None
    key: str
    created: datetime
    sent_at: datetime | None
    story: Mapping[str, Any]

    @classmethod
    def from_row(cls, row: RowMapping) -> DeliveryRow:
        return cls(
            id=row["id"],
            story_id=row["story_id"],
            channel=row["channel"],
            state=cast(DeliveryState, row["state"]),
            attempts=row["attempts"],
            last_error=row["last_error"],
            next_attempt=row["next_attempt"],
            key=row["key"],
            created=row["created"],
            sent_at=row["sent_at"],
            story=dict(row["payload"]),
        )


def delivery_rows(pairs: Iterable[tuple[str, str]], now: datetime) -> list[dict[str, Any]]:
    """Insertable ``deliveries`` rows for (story id, channel) pairs, duplicates dropped."""
    from worker.alerts.base import delivery_key  # lazy: keeps the store free of alert imports

    unique = dict.fromkeys(pairs)
    return [
        {
            "story_id": story_id,
            "channel": channel,
            "state": "pending",
            "attempts": 0,
            "key": delivery_key(story_id, channel),
            "created": now,
            "next_attempt": None,
        }
        for story_id, channel in unique
    ]


def insert_deliveries(conn: Connection, insert: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Insert pending deliveries in the caller's transaction; how many were new.

    ``insert`` is the dialect's INSERT construct for ``deliveries`` (has ON CONFLICT).
    """
    if not rows:
        return 0
    stmt = insert.on_conflict_do_nothing(
        index_elements=[deliveries.c.story_id, deliveries.c.channel]
    ).returning(deliveries.c.id)
    created = 0
    for start in range(0, len(rows), PAGE):
        created += len(conn.execute(stmt, list(rows[start : start + PAGE])).all())
    return created


def _one_line(text: str, limit: int = MAX_DELIVERY_ERROR_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


_SELECT_ROWS = sa.select(
    deliveries.c.id,
    deliveries.c.story_id,
    deliveries.c.channel,
    deliveries.c.state,
    deliveries.c.attempts,
    deliveries.c.last_error,
    deliveries.c.next_attempt,
    deliveries.c.key,
    deliveries.c.created,
    deliveries.c.sent_at,
    stories.c.payload,
).join(stories, stories.c.id == deliveries.c.story_id)


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        deliveries.c.state == "pending",
        sa.or_(deliveries.c.next_attempt.is_(None), deliveries.c.next_attempt <= now),
    )


class DeliveryMethods:
    """The delivery half of ``Store`` (the plumbing below is ``Store``'s own)."""

    url: str

    def write(self, action: str = "write to") -> AbstractContextManager[Connection]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def read(self, action: str = "read from") -> AbstractContextManager[Connection]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def _insert(self, conn: Connection, table: sa.Table) -> Any:
        raise NotImplementedError  # pragma: no cover - provided by Store

    # -- creating -------------------------------------------------------------------

    def create_deliveries(self, pairs: Sequence[tuple[str, str]], now: datetime) -> int:
        """Record pending deliveries for (story id, channel) pairs; how many were new.

        Idempotent (an existing pair is left as it is). Unknown story ids raise
        ``InputError`` and nothing is written.
        """
        rows = delivery_rows(pairs, now)
        if not rows:
            return 0
        wanted = {row["story_id"] for row in rows}
        with self.write() as conn:
            known = set(
                conn.execute(sa.select(stories.c.id).where(stories.c.id.in_(wanted))).scalars()
            )
            missing = sorted(wanted - known)
            if missing:
                shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
                raise InputError(f"no stored story with id {shown}")
            return insert_deliveries(conn, self._insert(conn, deliveries), rows)

    # -- reading --------------------------------------------------------------------

    def due_deliveries(
        self, now: datetime, *, channel: str | None = None, limit: int = 500
    ) -> list[DeliveryRow]:
        """Pending deliveries due at ``now`` (``next_attempt`` unset or not after it),
        oldest first, with their story objects."""
        query = (
            _SELECT_ROWS.where(_due(now))
            .order_by(deliveries.c.created, deliveries.c.id)
            .limit(max(limit, 0))
        )
        if channel is not None:
            query = query.where(deliveries.c.channel == channel)
        with self.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [DeliveryRow.from_row(row) for row in rows]

    def get_delivery(self, delivery_id: int) -> DeliveryRow | None:
        with self.read() as conn:
            row = conn.execute(_SELECT_ROWS.where(deliveries.c.id == delivery_id)).mappings()
            found = row.first()
        return DeliveryRow.from_row(found) if found else None

    def list_deliveries(
        self, *, failed_only: bool = False, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The delivery log, newest first: one dict per delivery, times ISO-8601 UTC.

        Keys: id, story_id, title, channel, state, attempts, last_error, next_attempt,
        created, sent_at.
        """
        query = (
            sa.select(
                deliveries.c.id,
                deliveries.c.story_id,
                stories.c.title,
                deliveries.c.channel,
                deliveries.c.state,
                deliveries.c.attempts,
                deliveries.c.last_error,
                deliveries.c.next_attempt,
                deliveries.c.created,
                deliveries.c.sent_at,
            )
            .join(stories, stories.c.id == deliveries.c.story_id)
            .order_by(deliveries.c.created.desc(), deliveries.c.id.desc())
            .limit(max(limit, 0))
        )
        if failed_only:
            query = query.where(deliveries.c.state == "failed")
        with self.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {
                "id": row["id"],
                "story_id": row["story_id"],
                "title": row["title"],
                "channel": row["channel"],
                "state": row["state"],
                "attempts": row["attempts"],
                "last_error": row["last_error"],
                "next_attempt": _iso(row["next_attempt"]),
                "created": _iso(row["created"]),
                "sent_at": _iso(row["sent_at"]),
            }
            for row in rows
        ]

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """``{channel: {state: count}}`` over every delivery (for summaries)."""
        query = sa.select(deliveries.c.channel, deliveries.c.state, sa.func.count()).group_by(
            deliveries.c.channel, deliveries.c.state
        )
        counts: dict[str, dict[str, int]] = {}
        with self.read() as conn:
            for channel, state, count in conn.execute(query).all():
                counts.setdefault(channel, {})[state] = int(count)
        return counts

    # -- outcomes -------------------------------------------------------------------

    def claim_delivery(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        """Take a due pending delivery for sending: ``next_attempt`` becomes ``until``.

        False when it is not pending, not due, or another dispatcher claimed it first.
        """
        with self.write() as conn:
            result = conn.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id, _due(now))
                .values(next_attempt=until)
            )
            return bool(result.rowcount == 1)

    def mark_sent(self, delivery_id: int, now: datetime) -> None:
        """The channel accepted the delivery (counts as an attempt)."""
        self._set(
            delivery_id,
            state="sent",
            attempts=deliveries.c.attempts + 1,
            sent_at=now,
            next_attempt=None,
        )

    def mark_retry(
        self, delivery_id: int, now: datetime, error: str, next_attempt: datetime
    ) -> None:
        """An attempt failed and will be retried at ``next_attempt`` (stays pending)."""
        del now  # the time of the attempt is implied by next_attempt; kept for symmetry
        self._set(
            delivery_id,
            state="pending",
            attempts=deliveries.c.attempts + 1,
            last_error=_one_line(error),
            next_attempt=next_attempt,
        )

    def mark_failed(self, delivery_id: int, now: datetime, error: str) -> None:
        """An attempt failed and the delivery is given up (until ``retry_failed``)."""
        del now
        self._set(
            delivery_id,
            state="failed",
            attempts=deliveries.c.attempts + 1,
            last_error=_one_line(error),
            next_attempt=None,
        )

    def fail_deliveries(self, delivery_ids: Sequence[int], error: str) -> int:
        """Give up pending deliveries without an attempt (e.g. their channel is gone)."""
        if not delivery_ids:
            return 0
        with self.write() as conn:
            result = conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(list(delivery_ids)), deliveries.c.state == "pending")
                .values(state="failed", last_error=_one_line(error), next_attempt=None)
            )
            return int(result.rowcount)

    def retry_failed(self, channel: str | None = None, *, now: datetime) -> int:
        """Make failed deliveries (of ``channel``, or all) pending and due at ``now``,
        with a fresh attempt count; how many."""
        query = deliveries.update().where(deliveries.c.state == "failed")
        if channel is not None:
            query = query.where(deliveries.c.channel == channel)
        with self.write() as conn:
            result = conn.execute(query.values(state="pending", attempts=0, next_attempt=now))
            return int(result.rowcount)

    def _set(self, delivery_id: int, **values: Any) -> None:
        with self.write() as conn:
            conn.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(values))

    # -- channels -------------------------------------------------------------------

    def disable_channel(self, name: str, reason: str, now: datetime) -> None:
        """Record that ``name`` is disabled and why (replaces an earlier reason)."""
        values = {
            "channel": name,
            "disabled_at": now,
            "reason": _one_line(reason, MAX_REASON_CHARS),
        }
        with self.write() as conn:
            stmt = self._insert(conn, channel_state).values(**values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[channel_state.c.channel],
                    set_={"disabled_at": values["disabled_at"], "reason": values["reason"]},
                )
            )

    def enable_channel(self, name: str) -> bool:
        """Re-enable ``name``; False if it was not disabled."""
        with self.write() as conn:
            result = conn.execute(channel_state.delete().where(channel_state.c.channel == name))
            return bool(result.rowcount)

    def disabled_channels(self) -> dict[str, str]:
        """``{channel: reason}`` for every disabled channel."""
        query = sa.select(channel_state.c.channel, channel_state.c.reason).where(
            channel_state.c.disabled_at.is_not(None)
        )
        with self.read() as conn:
            return {name: reason or "" for name, reason in conn.execute(query).all()}
