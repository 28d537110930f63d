"""``Store``: every read and write PeaceWatch makes, one short transaction per method.

Methods are synchronous, safe to call from several threads and processes at once, and
idempotent where the flow needs it (entries and stories are insert-if-new by unique key,
so a retried task never stores anything twice). Every database failure surfaces as
``StorageError`` naming the (masked) URL.

Rules worth knowing:

- A feed is found by its current ``url`` or by its ``original_url`` (the URL it was
  first added under), so after a permanent redirect the old URL, as still written in the
  config or typed by a user, reaches the moved feed (``upsert_feed``, ``get_feed``,
  ``remove_feed``, ``sync_config_feeds``). A current-URL match wins over an original one.
- ``upsert_feed`` merges: an existing feed keeps its poll state; only ``name`` and
  ``interval_seconds`` given as non-None overwrite. ``source`` is sticky towards
  ``"config"``: a feed named in the config stays a config feed when also added by a user.
- ``sync_config_feeds`` applies the same merge to every config feed in one transaction,
  writing only rows that are new or would change (unchanged config: one SELECT).
- ``remove_feed`` deletes the feed and its entries but keeps its stories (they are the
  record of what was found and alerted); their ``entry_id`` becomes NULL.
- ``record_poll`` keeps HTTP validators unless the poll was a successful 2xx (a 304 or an
  error keeps the old ones). A permanent redirect moves the feed to the new URL unless another feed
  already has it (as its current or original URL); then the feed keeps its URL and the
  collision is recorded as its error. ``original_url`` never changes.
- ``list_stories`` filters and orders by the story's ``published`` time, newest first.
- ``save_stories`` records, in the same transaction, one pending alert delivery per
  channel that ``channels_for`` names for each newly stored story; the delivery methods
  (``due_deliveries``, ``mark_sent``, …) are in ``worker.store.deliveries``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.pool import StaticPool

from worker.errors import InputError, StorageError
from worker.models import Entry, Story
from worker.store.deliveries import DeliveryMethods, delivery_rows, insert_deliveries
from worker.store.failures import translated
from worker.store.leases import LeaseMethods
from worker.store.schema import (
    UTCDateTime,
    channel_state,
    deliveries,
    entries,
    feeds,
    stories,
)

FeedSource = Literal["config", "user"]
READ_ONLY = "peacewatch_read_only"  # execution option: SQLite plain BEGIN instead of IMMEDIATE
MAX_ERROR_CHARS = 1000
# PostgreSQL: config merges that write hold this transaction lock ("PWCONF" in ASCII), so
# two processes starting at once never lock the same feed rows in opposite orders.
CONFIG_SYNC_LOCK = 0x5057434F4E46
UPSERT_ATTEMPTS = 3  # a concurrent insert or removal makes upsert_feed look again

_T = TypeVar("_T")
ConfigFeed = tuple[str, str | None, int | None]  # (url, name, interval_seconds)


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One feed as stored. Times are aware UTC; ``next_poll`` None means due now.

    ``original_url`` is the URL the feed was first added under (``url`` differs from it
    after a permanent redirect); None only for rows written outside this class.
    """

    id: int
    url: str
    original_url: str | None
    name: str | None
    interval_seconds: int | None
    source: FeedSource
    etag: str | None
    last_modified: str | None
    last_polled: datetime | None
    last_status: int | None
    last_error: str | None
    consecutive_errors: int
    error_since: datetime | None
    next_poll: datetime | None
    entries_seen: int
    created: datetime
    updated: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> FeedRow:
        return cls(**{name: row[name] for name in cls.__slots__})


class Store(DeliveryMethods, LeaseMethods):
    """The PeaceWatch database. Create with ``worker.store.open_store``; ``close()`` when done."""

    def __init__(self, engine: Engine, masked_url: str) -> None:
        self.engine = engine
        self.url = masked_url  # safe to print
        # An in-memory SQLite store is ONE connection shared by every thread (StaticPool):
        # its transactions must take turns (the alert dispatcher calls from many threads).
        self._turns: AbstractContextManager[Any] = (
            threading.RLock() if isinstance(engine.pool, StaticPool) else nullcontext()
        )

    # -- plumbing -----------------------------------------------------------------

    @contextmanager
    def write(self, action: str = "write to") -> Iterator[Connection]:
        """A connection in a write transaction, committed on success."""
        with (
            self._turns,
            translated(action, self.url),
            self.engine.connect() as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def read(self, action: str = "read from") -> Iterator[Connection]:
        """A connection in a read-only transaction."""
        with (
            self._turns,
            translated(action, self.url),
            self.engine.connect().execution_options(**{READ_ONLY: True}) as conn,
            conn.begin(),
        ):
            yield conn

    def _insert(self, conn: Connection, table: sa.Table) -> Any:
        """The dialect's INSERT, which has ``on_conflict_do_*``."""
        if conn.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- feeds --------------------------------------------------------------------

    def upsert_feed(
        self,
        url: str,
        name: str | None = None,
        interval_seconds: int | None = None,
        source: FeedSource = "user",
        *,
        now: datetime | None = None,
    ) -> FeedRow:
        """Add the feed, or merge ``name``/``interval_seconds``/``source`` into it.

        ``url`` may be the feed's current or original URL; a new feed gets ``url`` as both.
        """
        _check_feed(url, interval_seconds, source)
        with self.write() as conn:
            return self._upsert(conn, url, name, interval_seconds, source, now or _utcnow())

    def _upsert(
        self,
        conn: Connection,
        url: str,
        name: str | None,
        interval_seconds: int | None,
        source: FeedSource,
        now: datetime,
    ) -> FeedRow:
        """``upsert_feed`` inside the caller's transaction (input already checked)."""
        for _attempt in range(UPSERT_ATTEMPTS):
            found = _find_feed_id(conn, url)
            if found is not None:
                values: dict[str, Any] = {"updated": now}
                if name is not None:
                    values["name"] = name
                if interval_seconds is not None:
                    values["interval_seconds"] = interval_seconds
                if source == "config":
                    values["source"] = "config"
                stmt = (
                    feeds.update().where(feeds.c.id == found).values(**values).returning(*feeds.c)
                )
            else:
                # DO NOTHING on any unique key: a feed inserted (or moved onto this
                # URL) since the lookup is found by the next attempt and merged into.
                stmt = (
                    self._insert(conn, feeds)
                    .values(
                        url=url,
                        original_url=url,
                        name=name,
                        interval_seconds=interval_seconds,
                        source=source,
                        created=now,
                        updated=now,
                    )
                    .on_conflict_do_nothing()
                    .returning(*feeds.c)
                )
            row = conn.execute(stmt).mappings().first()
            if row is not None:
                return FeedRow.from_row(row)
        raise StorageError(
            f"cannot write to store {self.url}: feed {url} kept changing under concurrent "
            f"writers ({UPSERT_ATTEMPTS} attempts)"
        )

    def sync_config_feeds(
        self, items: Sequence[ConfigFeed], *, now: datetime | None = None
    ) -> None:
        """Merge the config file's feeds, ``(url, name, interval_seconds)`` each, in one go.

        Same rules as ``upsert_feed(url, name, interval_seconds, source="config")`` for
        every item in order (a URL may be a feed's current or original URL; None keeps the
        stored value), but in ONE transaction that reads the feeds once and writes only
        rows that are new or whose name, interval or source changes; ``updated`` moves
        only on those. Bad input raises ``InputError`` before anything is written.
        """
        for url, _name, interval_seconds in items:
            _check_feed(url, interval_seconds, "config")
        if not items:
            return
        now = now or _utcnow()
        with self.write() as conn:
            stored = conn.execute(
                sa.select(
                    feeds.c.id,
                    feeds.c.url,
                    feeds.c.original_url,
                    feeds.c.name,
                    feeds.c.interval_seconds,
                    feeds.c.source,
                )
            ).all()
            by_url = {row.url: row.id for row in stored}
            by_original = {row.original_url: row.id for row in stored if row.original_url}
            current = {row.id: (row.name, row.interval_seconds, row.source) for row in stored}
            wanted: dict[int, tuple[str | None, int | None, str]] = {}
            new: dict[str, tuple[str | None, int | None]] = {}
            for url, name, interval_seconds in items:
                feed_id = by_url.get(url, by_original.get(url))
                if feed_id is None:
                    old_name, old_interval = new.get(url, (None, None))
                    new[url] = (_or(name, old_name), _or(interval_seconds, old_interval))
                else:
                    old_name, old_interval, _source = wanted.get(feed_id, current[feed_id])
                    wanted[feed_id] = (
                        _or(name, old_name),
                        _or(interval_seconds, old_interval),
                        "config",
                    )
            changed = [
                {"b_id": feed_id, "b_name": n, "b_interval": i, "b_updated": now}
                for feed_id, (n, i, src) in wanted.items()
                if (n, i, src) != current[feed_id]
            ]
            if (changed or new) and conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CONFIG_SYNC_LOCK)))
            if changed:
                # coalesce again in SQL: a value written since the SELECT is kept where
                # the config says nothing, as upsert_feed would
                conn.execute(
                    feeds.update()
                    .where(feeds.c.id == sa.bindparam("b_id"))
                    .values(
                        name=sa.func.coalesce(sa.bindparam("b_name", type_=sa.Text), feeds.c.name),
                        interval_seconds=sa.func.coalesce(
                            sa.bindparam("b_interval", type_=sa.Integer),
                            feeds.c.interval_seconds,
                        ),
                        source="config",
                        updated=sa.bindparam("b_updated", type_=UTCDateTime()),
                    ),
                    changed,
                )
            if new:
                # DO NOTHING on any unique key (url or original_url): on PostgreSQL a feed
                # another process added since the SELECT is merged into just below.
                stmt = self._insert(conn, feeds).on_conflict_do_nothing().returning(feeds.c.url)
                rows = [
                    {
                        "url": url,
                        "original_url": url,
                        "name": name,
                        "interval_seconds": interval_seconds,
                        "source": "config",
                        "created": now,
                        "updated": now,
                    }
                    for url, (name, interval_seconds) in new.items()
                ]
                inserted = set(conn.execute(stmt, rows).scalars())
                for url, (name, interval_seconds) in new.items():
                    if url not in inserted:
                        self._upsert(conn, url, name, interval_seconds, "config", now)

    def get_feed(self, url: str) -> FeedRow | None:
        """The feed whose current or original URL is ``url``."""
        with self.read() as conn:
            feed_id = _find_feed_id(conn, url)
            if feed_id is None:
                return None
            row = conn.execute(sa.select(feeds).where(feeds.c.id == feed_id)).mappings().first()
        return FeedRow.from_row(row) if row else None

    def get_feed_by_id(self, feed_id: int) -> FeedRow | None:
        with self.read() as conn:
            row = conn.execute(sa.select(feeds).where(feeds.c.id == feed_id)).mappings().first()
        return FeedRow.from_row(row) if row else None

    def list_feeds(self) -> list[FeedRow]:
        """Every feed, in the order they were added."""
        with self.read() as conn:
            rows = conn.execute(sa.select(feeds).order_by(feeds.c.id)).mappings().all()
        return [FeedRow.from_row(row) for row in rows]

    def remove_feed(self, url: str) -> bool:
        """Delete the feed (by current or original URL) and its entries; stories stay,
        unlinked. False if unknown."""
        with self.write() as conn:
            feed_id = _find_feed_id(conn, url)
            if feed_id is None:
                return False
            feed_entries = sa.select(entries.c.id).where(entries.c.feed_id == feed_id)
            conn.execute(
                stories.update()
                .where(stories.c.entry_id.in_(feed_entries.scalar_subquery()))
                .values(entry_id=None)
            )
            conn.execute(entries.delete().where(entries.c.feed_id == feed_id))
            conn.execute(feeds.delete().where(feeds.c.id == feed_id))
            return True

    def due_feeds(self, now: datetime, include_all: bool = False) -> list[FeedRow]:
        """Feeds whose ``next_poll`` is unset or not after ``now`` (all with ``include_all``).

        Ordered most overdue first (never-polled feeds first), then by id.
        """
        query = sa.select(feeds).order_by(feeds.c.next_poll.asc().nulls_first(), feeds.c.id)
        if not include_all:
            query = query.where(sa.or_(feeds.c.next_poll.is_(None), feeds.c.next_poll <= now))
        with self.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [FeedRow.from_row(row) for row in rows]

    def record_poll(
        self,
        feed_id: int,
        *,
        now: datetime,
        status: int | None,
        etag: str | None,
        last_modified: str | None,
        error: str | None,
        not_modified: bool,
        next_poll: datetime,
        new_url: str | None = None,
    ) -> FeedRow | None:
        """Record the outcome of one poll; returns the updated feed (None if it was removed).

        ``error`` None means the poll succeeded (``consecutive_errors`` and
        ``error_since`` are cleared); otherwise it is the one-line reason, the error count
        goes up and ``error_since`` keeps the time of the first error in the run.
        Validators (``etag``, ``last_modified``) are replaced only by a successful 2xx
        (not on 304 or errors). ``new_url`` is the target of a permanent redirect.
        """
        with self.write() as conn:
            current = conn.execute(
                sa.select(feeds.c.url, feeds.c.error_since).where(feeds.c.id == feed_id)
            ).first()
            if current is None:
                return None
            values: dict[str, Any] = {
                "last_polled": now,
                "last_status": status,
                "next_poll": next_poll,
                "updated": now,
            }
            if error is None and status is not None and 200 <= status < 300 and not not_modified:
                values.update(etag=etag, last_modified=last_modified)
            if new_url and new_url != current.url:
                error = self._move_feed(conn, feed_id, new_url) or error
            if error is None:
                values.update(last_error=None, consecutive_errors=0, error_since=None)
            else:
                values.update(
                    last_error=_one_line(error),
                    consecutive_errors=feeds.c.consecutive_errors + 1,
                    error_since=current.error_since or now,
                )
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(**values))
            row = conn.execute(sa.select(feeds).where(feeds.c.id == feed_id)).mappings().one()
            return FeedRow.from_row(row)

    def _move_feed(self, conn: Connection, feed_id: int, new_url: str) -> str | None:
        """Change the feed's URL; the error text if another feed already has ``new_url``
        as its current or original URL (the two would then be one feed)."""
        taken = conn.execute(
            sa.select(feeds.c.id).where(_matches(new_url), feeds.c.id != feed_id).limit(1)
        ).scalar()
        if taken is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        feeds.update()
                        .where(feeds.c.id == feed_id)
                        .values(
                            url=new_url,
                            original_url=sa.func.coalesce(feeds.c.original_url, feeds.c.url),
                        )
                    )
                return None
            except sa.exc.IntegrityError:  # another process took the URL just now
                pass
        return f"permanently redirected to {new_url}, which is already another feed"

    # -- entries ------------------------------------------------------------------

    def insert_entries(
        self, feed_id: int, items: Sequence[Entry], fetched_at: datetime
    ) -> list[tuple[int, Entry]]:
        """Store the entries not seen before for this feed; return those, with row ids.

        One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING per page of up to 1000
        rows (duplicate keys in the batch count once, first wins) and one UPDATE of
        ``feeds.entries_seen``.
        """
        unique: dict[str, Entry] = {}
        for item in items:
            unique.setdefault(item.key, item)
        if not unique:
            return []
        rows = [
            {
                "feed_id": feed_id,
                "entry_key": item.key,
                "url": item.url,
                "title": item.title,
                "summary": item.summary,
                "content": item.content,
                "published": item.published,
                "fetched_at": fetched_at,
            }
            for item in unique.values()
        ]
        with self.write() as conn:
            stmt = (
                self._insert(conn, entries)
                .on_conflict_do_nothing(index_elements=[entries.c.feed_id, entries.c.entry_key])
                .returning(entries.c.id, entries.c.entry_key)
            )
            # executemany + RETURNING: SQLAlchemy sends it as multi-row INSERTs in pages.
            ids = {key: row_id for row_id, key in conn.execute(stmt, rows)}
            if ids:
                conn.execute(
                    feeds.update()
                    .where(feeds.c.id == feed_id)
                    .values(entries_seen=feeds.c.entries_seen + len(ids))
                )
        return [(ids[key], item) for key, item in unique.items() if key in ids]

    # -- stories ------------------------------------------------------------------

    def save_stories(
        self,
        rows: Sequence[tuple[int | None, Story]],
        *,
        now: datetime | None = None,
        channels_for: Callable[[Story], Sequence[str]] | None = None,
    ) -> set[str]:
        """Store stories not stored before (by story id); return the ids that were new.

        Each pair is (entry row id or None, story). With ``channels_for``, every newly
        stored story also gets one pending delivery per channel name it returns, in the
        same transaction (a story is never stored without its deliveries).
        """
        unique: dict[str, dict[str, Any]] = {}
        by_id: dict[str, Story] = {}
        created = now or _utcnow()
        for entry_id, story in rows:
            by_id.setdefault(story.id, story)
            unique.setdefault(
                story.id,
                {
                    "id": story.id,
                    "entry_id": entry_id,
                    "url": story.url,
                    "title": story.title,
                    "source": story.source,
                    "published": story.published,
                    "label": story.detection.label,
                    "score": story.detection.score,
                    "payload": story.to_dict(),
                    "created": created,
                },
            )
        if not unique:
            return set()
        with self.write() as conn:
            stmt = (
                self._insert(conn, stories)
                .on_conflict_do_nothing(index_elements=[stories.c.id])
                .returning(stories.c.id)
            )
            new = {row[0] for row in conn.execute(stmt, list(unique.values())).all()}
            if channels_for is not None and new:
                pairs = [
                    (story_id, channel)
                    for story_id in unique
                    if story_id in new
                    for channel in channels_for(by_id[story_id])
                ]
                insert_deliveries(
                    conn, self._insert(conn, deliveries), delivery_rows(pairs, created)
                )
            return new

    def list_stories(
        self, since: datetime | None, limit: int, label: str | None = "mediation"
    ) -> list[dict[str, Any]]:
        """Stored story objects published at or after ``since``, newest first.

        ``label`` None lists every label.
        """
        query = (
            sa.select(stories.c.payload)
            .order_by(stories.c.published.desc(), stories.c.id)
            .limit(max(limit, 0))
        )
        if label is not None:
            query = query.where(stories.c.label == label)
        if since is not None:
            query = query.where(stories.c.published >= since)
        with self.read() as conn:
            return [dict(payload) for payload in conn.execute(query).scalars()]

    # -- polling history and ops notices ------------------------------------------

    def recent_published(self, feed_id: int, limit: int = 20) -> list[datetime]:
        """Publication times of the feed's ``limit`` most recently published entries."""
        query = (
            sa.select(entries.c.published)
            .where(entries.c.feed_id == feed_id)
            .order_by(entries.c.published.desc())
            .limit(limit)
        )
        with self.read() as conn:
            return [published for (published,) in conn.execute(query).all()]

    def ops_notice_sent(self, feed_id: int) -> str | None:
        """The ``error_since`` (ISO) of the failure episode last reported for the feed.

        Kept in ``channel_state`` under ``ops-notice:feed:<id>`` with ``disabled_at``
        NULL, which ``disabled_channels`` never lists (no migration needed)."""
        query = sa.select(channel_state.c.reason).where(
            channel_state.c.channel == _ops_key(feed_id)
        )
        with self.read() as conn:
            found: str | None = conn.execute(query).scalar()
        return found

    def mark_ops_notice(self, feed_id: int, error_since: datetime) -> None:
        """Record that the failure episode starting at ``error_since`` was reported."""
        values = {"channel": _ops_key(feed_id), "disabled_at": None, "reason": _iso(error_since)}
        with self.write() as conn:
            stmt = self._insert(conn, channel_state).values(**values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[channel_state.c.channel], set_={"reason": values["reason"]}
                )
            )

    # -- status -------------------------------------------------------------------

    def feed_status(self, *, extra: bool = False) -> list[dict[str, Any]]:
        """One ``status --json`` object per feed, in the order they were added.

        ``extra`` adds, after the contract's keys, ``error_since`` (start of the current
        failure run) and, when the feeds table has lease columns, ``lease_until``."""
        with self.read() as conn:
            rows = conn.execute(sa.select(feeds).order_by(feeds.c.id)).mappings().all()
        out = []
        for row in rows:
            record: dict[str, Any] = {
                "url": row["url"],
                "name": row["name"],
                "last_polled": _iso(row["last_polled"]),
                "last_status": row["last_status"],
                "last_error": row["last_error"],
                "next_poll": _iso(row["next_poll"]),
                "consecutive_errors": row["consecutive_errors"],
                "entries": row["entries_seen"],
            }
            if extra:
                record["error_since"] = _iso(row["error_since"])
                if "lease_until" in row:
                    record["lease_until"] = _iso(_aware(row["lease_until"]))
            out.append(record)
        return out


def _check_feed(url: str, interval_seconds: int | None, source: str) -> None:
    if not url.strip():
        raise InputError("a feed URL cannot be empty")
    if interval_seconds is not None and interval_seconds <= 0:
        raise InputError(f"feed interval must be positive, got {interval_seconds}s")
    if source not in ("config", "user"):
        raise InputError(f"feed source must be 'config' or 'user', got {source!r}")


def _matches(url: str) -> sa.ColumnElement[bool]:
    return sa.or_(feeds.c.url == url, feeds.c.original_url == url)


def _find_feed_id(conn: Connection, url: str) -> int | None:
    """The id of the feed at ``url`` now, else of the one first added as ``url``."""
    found: int | None = conn.execute(
        sa.select(feeds.c.id)
        .where(_matches(url))
        .order_by(sa.case((feeds.c.url == url, 0), else_=1), feeds.c.id)
        .limit(1)
    ).scalar()
    return found


def _or(value: _T | None, fallback: _T | None) -> _T | None:
    return fallback if value is None else value


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _ops_key(feed_id: int) -> str:
    return f"ops-notice:feed:{feed_id}"


def _aware(value: Any) -> datetime | None:
    """A lease time as aware UTC, whichever column type holds it."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"
