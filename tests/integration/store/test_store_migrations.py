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
from worker.models import Story
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
