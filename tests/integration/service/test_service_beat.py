"""Two ``peacewatch beat`` processes on Redis (RedBeat) with separate poll and deliver
workers: only one beat schedules, the other takes over when it dies, and a feed is never
polled twice at once."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.integration.service.conftest import SERVICE_FEED, write_config
from tests.support.celery_worker import ServiceProcess, wait_until
from tests.support.feedserver import FeedServer
from tests.support.receivers import WebhookReceiver

DEADLINE = 60.0
INTERVAL = 1.0  # the feed's poll interval (seconds); beat ticks every 0.25 s
SENDING = "Sending due task dispatch-due-feeds"


def test_two_beats_produce_no_duplicate_polls(
    tmp_path: Path, feed_server: FeedServer, hook: WebhookReceiver, redis_url: str
) -> None:
    store_url = f"sqlite:///{tmp_path / 'pw.db'}"
    feed_url = feed_server.serve("/wire.xml", SERVICE_FEED)
    config = write_config(
        tmp_path / "pw.toml",
        store=store_url,
        feeds=[feed_url],
        hook_url=hook.url,
        broker=redis_url,
        interval="1s",
    )
    tick = ("--tick", "0.25")

    def service(command: str, name: str, *args: str) -> ServiceProcess:
        return ServiceProcess(command, config=config, workdir=tmp_path, name=name, args=args)

    with (
        service("worker", "poller", "--queues", "poll", "--hostname", "poll@test", *tick),
        service("worker", "sender", "--queues", "deliver", "--hostname", "deliver@test", *tick),
        service("beat", "beat-1", *tick) as beat_1,
        service("beat", "beat-2", *tick) as beat_2,
    ):
        wait_until(lambda: feed_server.count("/wire.xml") >= 4, DEADLINE, what="four polls")
        assert hook.wait_for(2)
        logs = {beat.name: beat.log_text() for beat in (beat_1, beat_2)}
        scheduling = [name for name, text in logs.items() if SENDING in text]
        assert len(scheduling) == 1, logs  # the RedBeat lock: one beat schedules, one waits
        active, standby = (beat_1, beat_2) if scheduling == ["beat-1"] else (beat_2, beat_1)

        # the scheduling beat dies: the other takes over once the lock runs out (10 s)
        active.kill()
        polls_before = feed_server.count("/wire.xml")
        wait_until(lambda: SENDING in standby.log_text(), DEADLINE, what="the standby beat")
        wait_until(
            lambda: feed_server.count("/wire.xml") >= polls_before + 2,
            DEADLINE,
            what="polls after the takeover",
        )
    assert "Traceback" not in standby.log_text()

    polls = [r.at for r in feed_server.requests_for("/wire.xml")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
    assert min(gaps) >= INTERVAL * 0.9, gaps  # never two polls of the feed at once
    assert feed_server.max_in_flight() == 1
    assert hook.count == 2  # the stories were delivered once each, by the deliver worker
