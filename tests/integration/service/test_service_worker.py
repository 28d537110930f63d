"""A real ``peacewatch run`` (Celery worker with embedded beat) on the embedded broker and
on Redis: a feed is polled, its stories stored and each delivered to a webhook once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.service.conftest import SERVICE_FEED, write_config
from tests.support.celery_worker import ServiceProcess, wait_until
from tests.support.db import fresh_postgres_url
from tests.support.feedserver import FeedServer
from tests.support.receivers import WebhookReceiver
from worker.store import open_store

DEADLINE = 60.0  # seconds; a passing run takes a few


def _sent(store_url: str) -> int:
    store = open_store(store_url)
    try:
        return store.delivery_counts().get("hook", {}).get("sent", 0)
    finally:
        store.close()


@pytest.fixture(params=["embedded", "redis"])
def broker(request: pytest.FixtureRequest) -> str | None:
    if request.param == "embedded":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


def test_run_polls_stores_and_delivers_each_story_once(
    tmp_path: Path, feed_server: FeedServer, hook: WebhookReceiver, broker: str | None
) -> None:
    store_url = f"sqlite:///{tmp_path / 'pw.db'}"
    feed_url = feed_server.serve("/wire.xml", SERVICE_FEED)
    config = write_config(
        tmp_path / "pw.toml", store=store_url, feeds=[feed_url], hook_url=hook.url, broker=broker
    )
    with ServiceProcess("run", config=config, workdir=tmp_path, args=("--tick", "0.5")) as run:
        wait_until(lambda: _sent(store_url) == 2, DEADLINE, what="two deliveries sent")
        assert hook.wait_for(2)
    log = run.log_text()
    assert "Traceback" not in log, log
    assert hook.count == 2  # each story once: no duplicate sends
    assert len(hook.ids) == 2
    titles = sorted(payload["story"]["title"] for payload in hook.accepted)
    assert titles[0].startswith("Norway hosts talks")
    assert titles[1].startswith("Qatar mediates")
    assert feed_server.count("/wire.xml") == 1  # interval 1h: one poll
    if broker is None:  # the embedded broker keeps its files in the data dir
        assert (tmp_path / "broker" / "queue").is_dir()
        assert (tmp_path / "celerybeat-schedule").exists() or any(
            tmp_path.glob("celerybeat-schedule*")
        )


def test_a_failed_delivery_is_retried_by_the_worker(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    store_url = f"sqlite:///{tmp_path / 'pw.db'}"
    feed_url = feed_server.serve("/wire.xml", SERVICE_FEED)
    with WebhookReceiver(script=[503]) as flaky:
        config = write_config(
            tmp_path / "pw.toml", store=store_url, feeds=[feed_url], hook_url=flaky.url
        )
        with ServiceProcess("run", config=config, workdir=tmp_path, args=("--tick", "0.5")):
            wait_until(lambda: _sent(store_url) == 2, DEADLINE, what="both deliveries sent")
        assert flaky.count == 3  # one 503, then each story once
        assert len(flaky.unique_accepted()) == 2
        assert flaky.requests[0].status == 503


@pytest.mark.postgres
def test_run_on_postgresql_with_the_embedded_broker(
    tmp_path: Path, feed_server: FeedServer, hook: WebhookReceiver
) -> None:
    with fresh_postgres_url() as store_url:
        feed_url = feed_server.serve("/wire.xml", SERVICE_FEED)
        config = write_config(
            tmp_path / "pw.toml", store=store_url, feeds=[feed_url], hook_url=hook.url
        )
        data_home = tmp_path / "data"  # the embedded broker's folder: user_data_dir
        with ServiceProcess(
            "run",
            config=config,
            workdir=tmp_path,
            args=("--tick", "0.5"),
            env={"XDG_DATA_HOME": str(data_home)},
        ) as run:
            wait_until(lambda: _sent(store_url) == 2, DEADLINE, what="two deliveries sent")
        assert "Traceback" not in run.log_text()
        assert hook.count == 2 and len(hook.ids) == 2
        assert (data_home / "peacewatch" / "broker" / "queue").is_dir()
