"""Migrations on real databases: from empty, upgrades keep data, concurrent openers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from worker.errors import StorageError
from worker.models import Entry, Story
from worker.store import open_store
from worker.store.db import create_engine
from worker.store.migrate import alembic_config, current_revision, head_revision, upgrade
from worker.store.schema import entries, feeds, metadata, stories

INITIAL = "0001"


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()


def test_open_migrates_an_empty_database_to_head(store_url: str) -> None:
    assert _revision(store_url) is None
    open_store(store_url).close()
    assert _revision(store_url) == head_revision()
    engine = create_engine(store_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"feeds", "entries", "stories", "alembic_version"} <= names


def test_schema_module_matches_the_migrations(store_url: str) -> None:
    open_store(store_url).close()
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_upgrade_from_the_initial_revision_keeps_data(
    store_url: str, now: datetime, make_story: Callable[..., Story]
) -> None:
    engine = create_engine(store_url)
    try:
        upgrade(engine, INITIAL)
        shown = make_story("kept-story")
        with engine.begin() as conn:
            feed_id = conn.execute(
                feeds.insert()
                .values(
                    url="https://old.example.org/feed",
                    name="Old feed",
                    etag='"v1"',
                    last_status=200,
                    entries_seen=1,
                    created=now,
                    updated=now,
                )
                .returning(feeds.c.id)
            ).scalar_one()
            entry_id = conn.execute(
                entries.insert()
                .values(
                    feed_id=feed_id,
                    entry_key="guid-1",
                    title="Talks resume",
                    summary="Delegations return to the table.",
                    published=now,
                    fetched_at=now,
                )
                .returning(entries.c.id)
            ).scalar_one()
            conn.execute(
                stories.insert().values(
                    id=shown.id,
                    entry_id=entry_id,
                    title=shown.title,
                    published=shown.published,
                    label="mediation",
                    score=0.875,
                    payload=shown.to_dict(),
                    created=now,
                )
            )
        with engine.connect() as conn:
            assert current_revision(conn) == INITIAL
            assert "ix_feeds_next_poll" not in {
                index["name"] for index in sa.inspect(conn).get_indexes("feeds")
            }
    finally:
        engine.dispose()

    with open_store(store_url) as store:
        feed = store.get_feed("https://old.example.org/feed")
        assert feed is not None
        assert (feed.name, feed.etag, feed.last_status, feed.entries_seen) == (
            "Old feed",
            '"v1"',
            200,
            1,
        )
        assert feed.created == now
        assert store.list_stories(None, 10) == [shown.to_dict()]
        # the old entry still deduplicates
        assert store.insert_entries(feed.id, [], now) == []

    assert _revision(store_url) == head_revision()
    engine = create_engine(store_url)
    try:
        indexes = {index["name"] for index in sa.inspect(engine).get_indexes("feeds")}
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar() == 1
    finally:
        engine.dispose()
    assert "ix_feeds_next_poll" in indexes


def test_reopening_keeps_data_and_changes_nothing(store_url: str, now: datetime) -> None:
    with open_store(store_url) as store:
        feed = store.upsert_feed("https://a.example.org/rss", name="A", now=now)
    with open_store(store_url) as store:
        assert store.list_feeds() == [feed]
    assert _revision(store_url) == head_revision()


def test_concurrent_openers_migrate_once(store_url: str) -> None:
    openers = 6
    barrier = threading.Barrier(openers)
    failures: list[BaseException] = []

    def open_once() -> None:
        barrier.wait()
        try:
            open_store(store_url).close()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=open_once) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in versions] == [(head_revision(),)]


def test_downgrade_to_base_and_back(store_url: str, now: datetime) -> None:
    open_store(store_url).close()
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn, conn.begin():
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        assert store.list_feeds() == []
        store.upsert_feed("https://b.example.org/atom", now=now + timedelta(seconds=1))
        assert len(store.list_feeds()) == 1


def test_database_from_a_newer_version_is_refused(store_url: str) -> None:
    open_store(store_url).close()
    engine = create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    with pytest.raises(StorageError, match="revision 9999") as caught:
        open_store(store_url)
    assert "\n" not in str(caught.value)


def test_upgrade_from_0002_backfills_original_url_and_keeps_data(
    store_url: str, now: datetime, make_story: Callable[..., Story]
) -> None:
    old, other = "https://old.example.org/feed", "https://other.example.org/rss"
    engine = create_engine(store_url)
    try:
        upgrade(engine, "0002")
        shown = make_story("story-before-0003")
        with engine.begin() as conn:
            assert "original_url" not in {c["name"] for c in sa.inspect(conn).get_columns("feeds")}
            ids = [
                conn.execute(
                    feeds.insert()  # columns of revision 0002 only
                    .values(url=url, name=name, etag='"v2"', created=now, updated=now)
                    .returning(feeds.c.id)
                ).scalar_one()
                for url, name in ((old, "Old feed"), (other, None))
            ]
            entry_id = conn.execute(
                entries.insert()
                .values(
                    feed_id=ids[0],
                    entry_key="guid-0002",
                    title="Envoys shuttle between capitals",
                    summary="A mediator carried proposals back and forth.",
                    published=now,
                    fetched_at=now,
                )
                .returning(entries.c.id)
            ).scalar_one()
            conn.execute(
                stories.insert().values(
                    id=shown.id,
                    entry_id=entry_id,
                    title=shown.title,
                    published=shown.published,
                    label="mediation",
                    score=0.5,
                    payload=shown.to_dict(),
                    created=now,
                )
            )
    finally:
        engine.dispose()

    with open_store(store_url) as store:
        found = {feed.url: feed for feed in store.list_feeds()}
        assert {url: (f.id, f.original_url, f.name, f.etag) for url, f in found.items()} == {
            old: (ids[0], old, "Old feed", '"v2"'),
            other: (ids[1], other, None, '"v2"'),
        }
        assert store.list_stories(None, 10) == [shown.to_dict()]
        # the stored entry still deduplicates
        assert store.insert_entries(ids[0], [_entry_0002(now)], now) == []
        # a migrated feed that moves is still reached by the config's old URL
        store.record_poll(
            ids[0],
            now=now,
            status=200,
            etag=None,
            last_modified=None,
            error=None,
            not_modified=False,
            next_poll=now,
            new_url="https://moved.example.org/feed",
        )
        store.sync_config_feeds([(old, "Renamed", 900)], now=now + timedelta(hours=1))
        moved = store.get_feed(old)
        assert moved is not None
        assert (moved.id, moved.url, moved.name, moved.interval_seconds) == (
            ids[0],
            "https://moved.example.org/feed",
            "Renamed",
            900,
        )
        assert len(store.list_feeds()) == 2

    assert _revision(store_url) == head_revision()
    engine = create_engine(store_url)
    try:
        unique = {
            index["name"]: bool(index["unique"])
            for index in sa.inspect(engine).get_indexes("feeds")
        }
    finally:
        engine.dispose()
    assert unique.get("ix_feeds_original_url") is True


def test_downgrade_from_0003_keeps_feeds_and_entries(store_url: str, now: datetime) -> None:
    with open_store(store_url) as store:
        feed = store.upsert_feed("https://kept.example.org/feed", name="Kept", now=now)
        assert len(store.insert_entries(feed.id, [_entry_0002(now)], now)) == 1
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn, conn.begin():
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0002")
        with engine.connect() as conn:
            assert current_revision(conn) == "0002"
            columns = {c["name"] for c in sa.inspect(conn).get_columns("feeds")}
            names = conn.execute(sa.text("SELECT name FROM feeds")).scalars().all()
            count = conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar()
    finally:
        engine.dispose()
    assert "original_url" not in columns
    assert (names, count) == (["Kept"], 1)
    with open_store(store_url) as store:  # and up again: backfilled once more
        again = store.get_feed("https://kept.example.org/feed")
        assert again is not None and (again.id, again.original_url) == (feed.id, feed.url)


def _entry_0002(now: datetime) -> Entry:
    return Entry(
        key="guid-0002",
        title="Envoys shuttle between capitals",
        summary="A mediator carried proposals back and forth.",
        published=now,
        url=None,
        content=None,
    )


def test_packaged_head_agrees_with_alembic() -> None:
    from worker.store.migrate import packaged_head

    assert packaged_head() == head_revision()
