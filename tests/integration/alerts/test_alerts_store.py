"""Delivery rows in the store (SQLite and PostgreSQL): migration 0004, creation with the
stories, due/claim/mark/retry/list, disabled channels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from worker.alerts.base import delivery_key
from worker.errors import InputError, StorageError
from worker.models import Story
from worker.store import Store, open_store
from worker.store.db import create_engine
from worker.store.migrate import alembic_config, current_revision, head_revision, upgrade
from worker.store.schema import deliveries, entries, feeds, stories

T0 = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)  # the conftest's stories' time
MakeStory = Callable[..., Story]


def _to(*names: str) -> Callable[[Story], Sequence[str]]:
    return lambda _story: list(names)


def _count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# -- migration --------------------------------------------------------------------------


def test_upgrade_from_0003_keeps_data_and_adds_deliveries(
    store_url: str, make_alert_story: MakeStory
) -> None:
    kept = make_alert_story("story-before-0004")
    engine = create_engine(store_url)
    try:
        upgrade(engine, "0003")
        with engine.begin() as conn:
            assert "deliveries" not in sa.inspect(conn).get_table_names()
            feed_id = conn.execute(
                feeds.insert()
                .values(
                    url="https://wire.example.net/rss",
                    original_url="https://wire.example.net/rss",
                    name="Wire",
                    etag='"e3"',
                    created=T0,
                    updated=T0,
                )
                .returning(feeds.c.id)
            ).scalar_one()
            entry_id = conn.execute(
                entries.insert()
                .values(
                    feed_id=feed_id,
                    entry_key="guid-0003",
                    title=kept.title,
                    summary="A mediator carried a proposal between the delegations.",
                    published=T0,
                    fetched_at=T0,
                )
                .returning(entries.c.id)
            ).scalar_one()
            conn.execute(
                stories.insert().values(
                    id=kept.id,
                    entry_id=entry_id,
                    title=kept.title,
                    published=kept.published,
                    label="mediation",
                    score=0.8,
                    payload=kept.to_dict(),
                    created=T0,
                )
            )
    finally:
        engine.dispose()

    with open_store(store_url) as store:
        feed = store.get_feed("https://wire.example.net/rss")
        assert feed is not None and (feed.id, feed.name, feed.etag) == (feed_id, "Wire", '"e3"')
        assert store.list_stories(None, 10) == [kept.to_dict()]
        assert _count(store, entries) == 1
        # an old story can be alerted after the upgrade
        assert store.create_deliveries([(kept.id, "ops")], T0) == 1
        [due] = store.due_deliveries(T0)
        assert (due.story_id, due.channel, due.story) == (kept.id, "ops", kept.to_dict())

    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            inspector = sa.inspect(conn)
            assert {"deliveries", "channel_state"} <= set(inspector.get_table_names())
            indexes = {index["name"] for index in inspector.get_indexes("deliveries")}
    finally:
        engine.dispose()
    assert "ix_deliveries_state_next_attempt" in indexes


def test_downgrade_to_0003_drops_only_the_delivery_tables(
    store_url: str, make_alert_story: MakeStory
) -> None:
    with open_store(store_url) as store:
        store.save_stories([(None, make_alert_story("s1"))], now=T0, channels_for=_to("ops"))
        store.disable_channel("ops", "gone", T0)
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn, conn.begin():
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0003")
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            count = conn.execute(sa.select(sa.func.count()).select_from(stories)).scalar()
    finally:
        engine.dispose()
    assert "deliveries" not in names and "channel_state" not in names
    assert count == 1
    with open_store(store_url) as store:  # and up again, empty
        assert store.due_deliveries(T0) == [] and store.disabled_channels() == {}


# -- creation ---------------------------------------------------------------------------


def test_save_stories_records_one_delivery_per_matching_channel(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    high, low = make_alert_story("high", score=0.95), make_alert_story("low", score=0.4)

    def channels_for(story: Story) -> list[str]:
        return ["log", "ops"] if story.detection.score >= 0.9 else ["log"]

    new = store.save_stories([(None, high), (None, low)], now=T0, channels_for=channels_for)
    assert new == {"high", "low"}
    due = store.due_deliveries(T0)
    assert sorted((row.story_id, row.channel) for row in due) == [
        ("high", "log"),
        ("high", "ops"),
        ("low", "log"),
    ]
    for row in due:
        assert (row.state, row.attempts, row.last_error, row.next_attempt) == (
            "pending",
            0,
            None,
            None,
        )
        assert row.key == delivery_key(row.story_id, row.channel)
        assert row.created == T0 and row.sent_at is None
    assert {row.story_id: row.story for row in due}["high"] == high.to_dict()


def test_stories_stored_before_get_no_new_deliveries(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    first = make_alert_story("once")
    assert store.save_stories([(None, first)], now=T0, channels_for=_to("ops")) == {"once"}
    # the same story again, now matching more channels, plus a new one
    again = store.save_stories(
        [(None, first), (None, make_alert_story("fresh"))],
        now=T0 + timedelta(minutes=5),
        channels_for=_to("ops", "log"),
    )
    assert again == {"fresh"}
    pairs = sorted((row.story_id, row.channel) for row in store.due_deliveries(T0 + timedelta(1)))
    assert pairs == [("fresh", "log"), ("fresh", "ops"), ("once", "ops")]


def test_without_channels_for_no_deliveries_are_recorded(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    assert delivery_store.save_stories([(None, make_alert_story("quiet"))], now=T0) == {"quiet"}
    assert _count(delivery_store, deliveries) == 0


def test_a_story_and_its_deliveries_are_stored_together_or_not_at_all(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store

    def broken(story: Story) -> list[str]:
        if story.id == "second":
            raise RuntimeError("routing failed")
        return ["ops"]

    with pytest.raises(RuntimeError, match="routing failed"):
        store.save_stories(
            [(None, make_alert_story("first")), (None, make_alert_story("second"))],
            now=T0,
            channels_for=broken,
        )
    assert store.list_stories(None, 10) == []
    assert _count(store, deliveries) == 0
    # nothing half-written blocks a later save
    assert store.save_stories(
        [(None, make_alert_story("first"))], now=T0, channels_for=_to("ops")
    ) == {"first"}
    assert [row.story_id for row in store.due_deliveries(T0)] == ["first"]


def test_create_deliveries_is_idempotent_and_unique_per_story_and_channel(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    store.save_stories([(None, make_alert_story("a")), (None, make_alert_story("b"))], now=T0)
    pairs = [("a", "ops"), ("b", "ops"), ("a", "ops"), ("a", "log")]
    assert store.create_deliveries(pairs, T0) == 3
    assert store.create_deliveries(pairs, T0 + timedelta(hours=1)) == 0
    assert _count(store, deliveries) == 3
    with pytest.raises(StorageError), store.write() as conn:
        conn.execute(
            deliveries.insert().values(
                story_id="a", channel="ops", key="msg_other", created=T0, state="pending"
            )
        )
    assert _count(store, deliveries) == 3


def test_create_deliveries_for_an_unknown_story_writes_nothing(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    store.save_stories([(None, make_alert_story("known"))], now=T0)
    with pytest.raises(InputError, match="no stored story with id missing-one"):
        store.create_deliveries([("known", "ops"), ("missing-one", "ops")], T0)
    assert _count(store, deliveries) == 0
    assert store.create_deliveries([], T0) == 0


# -- due, claim, outcomes ---------------------------------------------------------------


def _stored(
    store: Store, make: MakeStory, ids: Sequence[str], channel: str = "ops", start: int = 0
) -> None:
    """Store the stories one second apart (from T0 + ``start`` s), each routed to ``channel``."""
    for offset, story_id in enumerate(ids, start):
        store.save_stories(
            [(None, make(story_id))],
            now=T0 + timedelta(seconds=offset),
            channels_for=_to(channel),
        )


def test_due_deliveries_are_oldest_first_and_filtered(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    _stored(store, make_alert_story, ["s1", "s2", "s3"])
    _stored(store, make_alert_story, ["s4"], channel="log", start=3)
    later = T0 + timedelta(minutes=1)
    assert [row.story_id for row in store.due_deliveries(later)] == ["s1", "s2", "s3", "s4"]
    assert [row.story_id for row in store.due_deliveries(later, channel="ops", limit=2)] == [
        "s1",
        "s2",
    ]
    assert [row.story_id for row in store.due_deliveries(later, channel="log")] == ["s4"]
    assert store.due_deliveries(later, channel="nobody") == []


def test_claim_hides_a_delivery_until_the_lease_ends(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    _stored(store, make_alert_story, ["s1"])
    [row] = store.due_deliveries(T0)
    lease_end = T0 + timedelta(minutes=5)
    assert store.claim_delivery(row.id, T0, lease_end) is True
    assert store.claim_delivery(row.id, T0, lease_end) is False  # a second dispatcher
    assert store.due_deliveries(T0 + timedelta(minutes=4)) == []
    # a dispatcher that crashed never marked it: due again, same key
    [again] = store.due_deliveries(lease_end)
    assert (again.id, again.key, again.attempts) == (row.id, row.key, 0)
    store.mark_sent(row.id, T0 + timedelta(minutes=6))
    assert store.claim_delivery(row.id, T0 + timedelta(hours=1), T0 + timedelta(hours=2)) is False


def test_mark_retry_sent_and_failed(delivery_store: Store, make_alert_story: MakeStory) -> None:
    store = delivery_store
    _stored(store, make_alert_story, ["s1", "s2"])
    first, second = store.due_deliveries(T0 + timedelta(seconds=5))
    retry_at = T0 + timedelta(minutes=2)
    store.mark_retry(first.id, T0, "receiver answered\nHTTP 503\t(busy)", retry_at)
    assert [row.id for row in store.due_deliveries(T0 + timedelta(minutes=1))] == [second.id]
    [due] = store.due_deliveries(retry_at)[:1]
    assert (due.id, due.state, due.attempts, due.last_error, due.next_attempt) == (
        first.id,
        "pending",
        1,
        "receiver answered HTTP 503 (busy)",
        retry_at,
    )
    sent_at = T0 + timedelta(minutes=3)
    store.mark_sent(first.id, sent_at)
    store.mark_failed(second.id, sent_at, "x" * 2000)
    assert store.due_deliveries(T0 + timedelta(days=1)) == []
    sent = store.get_delivery(first.id)
    assert sent is not None
    assert (sent.state, sent.attempts, sent.sent_at, sent.next_attempt) == (
        "sent",
        2,
        sent_at,
        None,
    )
    failed = store.get_delivery(second.id)
    assert failed is not None and (failed.state, failed.attempts) == ("failed", 1)
    assert failed.last_error is not None and len(failed.last_error) == 500
    assert store.get_delivery(10_000_000) is None


def test_list_deliveries_newest_first_with_iso_times(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    _stored(store, make_alert_story, ["s1", "s2", "s3"])
    rows = {row.story_id: row for row in store.due_deliveries(T0 + timedelta(minutes=1))}
    store.mark_sent(rows["s1"].id, T0 + timedelta(minutes=1))
    store.mark_failed(rows["s2"].id, T0 + timedelta(minutes=1), "receiver refused (HTTP 400)")
    listed = store.list_deliveries()
    assert [item["story_id"] for item in listed] == ["s3", "s2", "s1"]
    assert listed[2] == {
        "id": rows["s1"].id,
        "story_id": "s1",
        "title": "Envoy shuttles between delegations (s1)",
        "channel": "ops",
        "state": "sent",
        "attempts": 1,
        "last_error": None,
        "next_attempt": None,
        "created": "2024-03-05T08:00:00+00:00",
        "sent_at": "2024-03-05T08:01:00+00:00",
    }
    failed = store.list_deliveries(failed_only=True)
    assert [(item["story_id"], item["last_error"]) for item in failed] == [
        ("s2", "receiver refused (HTTP 400)")
    ]
    assert len(store.list_deliveries(limit=2)) == 2
    assert store.delivery_counts() == {"ops": {"sent": 1, "failed": 1, "pending": 1}}


def test_retry_failed_makes_failed_deliveries_due_again(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    _stored(store, make_alert_story, ["s1", "s2"])
    _stored(store, make_alert_story, ["s3"], channel="log", start=2)
    for row in store.due_deliveries(T0 + timedelta(minutes=1)):
        store.mark_failed(row.id, T0, "receiver answered HTTP 500")
    later = T0 + timedelta(hours=1)
    assert store.retry_failed("log", now=later) == 1
    assert [row.story_id for row in store.due_deliveries(later)] == ["s3"]
    assert store.retry_failed(now=later) == 2
    due = store.due_deliveries(later)
    assert sorted(row.story_id for row in due) == ["s1", "s2", "s3"]
    assert {(row.state, row.attempts, row.next_attempt) for row in due} == {("pending", 0, later)}
    assert store.retry_failed(now=later) == 0
    assert store.list_deliveries(failed_only=True) == []


def test_disable_and_enable_channels(delivery_store: Store) -> None:
    store = delivery_store
    assert store.disabled_channels() == {}
    store.disable_channel("ops", "receiver answered\nHTTP 410 Gone", T0)
    store.disable_channel("log", "first reason", T0)
    store.disable_channel("log", "second reason", T0 + timedelta(minutes=1))
    assert store.disabled_channels() == {
        "ops": "receiver answered HTTP 410 Gone",
        "log": "second reason",
    }
    assert store.enable_channel("ops") is True
    assert store.enable_channel("ops") is False
    assert store.disabled_channels() == {"log": "second reason"}


def test_naive_times_are_refused(delivery_store: Store) -> None:
    with pytest.raises(StorageError):
        delivery_store.disable_channel("ops", "gone", datetime(2024, 1, 1))
    assert delivery_store.disabled_channels() == {}
