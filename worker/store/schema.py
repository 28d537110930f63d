"""The database schema as SQLAlchemy Core tables (the shape at the newest migration).

Alembic migrations in ``migrations/versions/`` create and change the real database; this
module describes the result so queries can be written against it. When a migration
changes a table, change it here too (``tests/integration/store`` checks both agree).

Tables::

    feeds    one row per feed: schedule, HTTP validators, health; ``url`` is where it is
             polled now, ``original_url`` the URL it was first added under (they differ
             after a permanent redirect; lookups by URL match either)
    entries  one row per (feed, entry key): what a feed has published, deduplicated
    stories  one row per story id: the analysed result; ``payload`` is the contract's
             story object, ``entry_id`` is nulled when the entry's feed is removed
    deliveries     one row per (story, channel) to alert: ``state`` pending → sent | failed,
                   ``attempts``, ``last_error``, ``next_attempt`` (due when unset or not
                   after now), ``key`` the idempotency key (revision 0004)
    channel_state  channels disabled by their receiver (HTTP 410) and why (revision 0004)

``feeds.lease_owner``/``lease_until`` (revision 0005) are the poll lease the scheduler
takes before enqueueing a feed's poll (``worker.store.leases``).

Times are ``UTCDateTime``: timezone-aware UTC in Python on both dialects (SQLite keeps
naive UTC text, PostgreSQL ``timestamptz``). Naive datetimes are refused on write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

FEED_SOURCES = ("config", "user")
DELIVERY_STATES = ("pending", "sent", "failed")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always hands back aware UTC datetimes."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; store aware UTC times")
        value = value.astimezone(UTC)
        # SQLite keeps the text without an offset; comparisons stay right because every
        # stored value is UTC in one format.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers return datetimes
            raise TypeError(f"expected a datetime from the database, got {type(value)!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# A 64-bit key on PostgreSQL, SQLite's rowid alias (INTEGER PRIMARY KEY) on SQLite.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("url", sa.Text, nullable=False, unique=True),
    sa.Column("original_url", sa.Text),  # added by revision 0003; set on every insert
    sa.Column("name", sa.Text),
    sa.Column("interval_seconds", sa.Integer),  # None: the configured default
    sa.Column("source", sa.String(16), nullable=False, server_default="user"),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("last_polled", UTCDateTime),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("consecutive_errors", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_since", UTCDateTime),
    sa.Column("next_poll", UTCDateTime),  # None: due now
    sa.Column("entries_seen", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.Text),  # added by revision 0005: who is polling it now
    sa.Column("lease_until", UTCDateTime),  # added by revision 0005: None or past: free
    sa.CheckConstraint("source IN ('config', 'user')", name="source"),
    sa.Index(None, "next_poll"),  # added by revision 0002
    sa.Index(None, "original_url", unique=True),  # added by revision 0003
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "feed_id",
        sa.Integer,
        sa.ForeignKey("feeds.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("entry_key", sa.Text, nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("content", sa.Text),
    sa.Column("published", UTCDateTime, nullable=False),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("feed_id", "entry_key"),
)

stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column(
        "entry_id",
        BigId,
        sa.ForeignKey("entries.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("url", sa.Text),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("published", UTCDateTime, nullable=False),
    sa.Column("label", sa.String(32), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),  # json, not jsonb: keeps key order
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Index(None, "label", "published"),  # added by revision 0002
    sa.Index(None, "entry_id"),  # added by revision 0002
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "story_id",
        sa.Text,
        sa.ForeignKey("stories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt", UTCDateTime),  # None: due now
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name="state"),
    sa.UniqueConstraint("story_id", "channel"),
    sa.Index(None, "state", "next_attempt"),
)

channel_state = sa.Table(
    "channel_state",
    metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("disabled_at", UTCDateTime),
    sa.Column("reason", sa.Text),
)
