"""A feed failing for 24 h: one ops notice per episode (real store, real webhook receiver),
and `peacewatch scan` / `status` end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.feedserver import FeedServer
from tests.support.receivers import WebhookReceiver
from worker.alerts.config import WebhookConfig
from worker.alerts.webhook import WebhookChannel
from worker.health import notify_ops
from worker.store import Store, open_store

T0 = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
FEED = "https://bulletin.example.org/mediation.rss"


@pytest.fixture
def ops_hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def fail(store: Store, feed_id: int, at: datetime, error: str = "HTTP 503") -> None:
    store.record_poll(
        feed_id,
        now=at,
        status=503,
        etag=None,
        last_modified=None,
        error=error,
        not_modified=False,
        next_poll=at + timedelta(minutes=30),
    )


def succeed(store: Store, feed_id: int, at: datetime) -> None:
    store.record_poll(
        feed_id,
        now=at,
        status=200,
        etag=None,
        last_modified=None,
        error=None,
        not_modified=False,
        next_poll=at + timedelta(minutes=15),
    )


def test_one_notice_per_failing_episode(delivery_store: Store, ops_hook: WebhookReceiver) -> None:
    store = delivery_store
    feed = store.upsert_feed(FEED, name="Mediation Bulletin", now=T0)
    quiet = store.upsert_feed("https://quiet.example.org/feed", name="Quiet", now=T0)
    channel = WebhookChannel(WebhookConfig(name="ops", url=ops_hook.url, ops=True))
    channels = {"ops": channel}
    try:
        fail(store, feed.id, T0)
        fail(store, quiet.id, T0 + timedelta(hours=20))
        assert notify_ops(store, channels, ["ops"], T0 + timedelta(hours=23)) == 0
        assert ops_hook.count == 0

        fail(store, feed.id, T0 + timedelta(hours=24, minutes=30), "HTTP 503 again")
        assert notify_ops(store, channels, ["ops"], T0 + timedelta(hours=25)) == 1
        assert notify_ops(store, channels, ["ops"], T0 + timedelta(hours=26)) == 0
        assert notify_ops(store, channels, ["ops"], T0 + timedelta(days=3)) == 1  # quiet's turn
        assert ops_hook.count == 2
        first = ops_hook.accepted[0]["story"]
        assert first["title"] == "[PeaceWatch ops] Feed failing for 24 h: Mediation Bulletin"
        assert "HTTP 503 again" in first["mediation"]["evidence"][0]
        assert ops_hook.accepted[1]["story"]["title"].endswith(": Quiet")

        # recovery, then a new failure run: a new episode, a new notice (once)
        succeed(store, feed.id, T0 + timedelta(days=4))
        fail(store, feed.id, T0 + timedelta(days=5))
        assert notify_ops(store, channels, ["ops"], T0 + timedelta(days=5, hours=12)) == 0
        assert notify_ops(store, channels, ["ops"], T0 + timedelta(days=6, hours=1)) == 1
        assert notify_ops(store, channels, ["ops"], T0 + timedelta(days=6, hours=2)) == 0
        assert ops_hook.count == 3
        assert ops_hook.accepted[2]["story"]["id"] != first["id"]
        assert store.disabled_channels() == {}  # the record does not look like a channel
    finally:
        channel.close()


def test_receiver_down_means_no_record_and_a_later_try(
    delivery_store: Store, ops_hook: WebhookReceiver
) -> None:
    store = delivery_store
    feed = store.upsert_feed(FEED, name="Mediation Bulletin", now=T0)
    fail(store, feed.id, T0)
    ops_hook.script(500)
    channel = WebhookChannel(WebhookConfig(name="ops", url=ops_hook.url, ops=True))
    try:
        assert notify_ops(store, {"ops": channel}, ["ops"], T0 + timedelta(hours=25)) == 0
        assert notify_ops(store, {"ops": channel}, ["ops"], T0 + timedelta(hours=26)) == 1
    finally:
        channel.close()
    assert [r.status for r in ops_hook.requests] == [500, 200]


def test_scan_reports_and_status_shows_health(tmp_path: Path, ops_hook: WebhookReceiver) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    with FeedServer() as server:
        down = server.status("/down.xml", 503)
        now = datetime.now(UTC)
        with open_store(url) as store:
            feed = store.upsert_feed(down, name="Down Feed", source="config", now=now)
            fail(store, feed.id, now - timedelta(hours=25))
            store.record_poll(  # due now, still failing
                feed.id,
                now=now - timedelta(hours=1),
                status=503,
                etag=None,
                last_modified=None,
                error="HTTP 503",
                not_modified=False,
                next_poll=now - timedelta(minutes=1),
            )
        config = tmp_path / "peacewatch.toml"
        config.write_text(
            f'[storage]\nurl = "{url}"\n'
            "[fetch]\nallow_private_networks = true\ntimeout = 10\n"
            f'[[feeds]]\nurl = "{down}"\nname = "Down Feed"\n'
            f'[[channels]]\ntype = "webhook"\nname = "ops"\nurl = "{ops_hook.url}"\nops = true\n'
        )
        first = run_cli("scan", "--json", "--config", str(config), cwd=tmp_path)
        assert first.code == 0, first.stderr
        assert ops_hook.count == 1
        assert ops_hook.accepted[0]["story"]["title"].endswith("failing for 24 h: Down Feed")
        again = run_cli("scan", "--all", "--json", "--config", str(config), cwd=tmp_path)
        assert again.code == 0, again.stderr
        assert ops_hook.count == 1  # once per episode

    status = run_cli("status", "--json", "--config", str(config), cwd=tmp_path)
    [row] = status.json_lines()
    assert row["health"] == "failing > 24h"
    assert row["consecutive_errors"] == 4
    assert row["error_since"] is not None
    contract = {"url", "name", "last_polled", "last_status", "last_error", "next_poll"}
    assert contract | {"consecutive_errors", "entries"} <= set(row)
    human = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert "failing > 24h" in human.stdout
