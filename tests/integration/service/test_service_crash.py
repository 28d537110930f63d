"""Robustness of a real ``peacewatch run`` (issue 4) on the Redis broker.

1. SIGKILL of the whole service while webhook deliveries are in flight, then a restart:
   every stored story reaches every channel; the webhook sees a repeat only under the same
   webhook-id; the Redis stream holds each story once. (``[alerts] lease`` is short so the
   claimed-but-unsent deliveries come due again soon after the restart.)
2. A Redis (broker) restart during a run, on a private redis-server: the service
   reconnects and delivers a story that appeared while Redis was down, with no restart.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.celery_worker import ServiceProcess, wait_until
from tests.support.feedserver import FeedServer
from tests.support.receivers import WebhookReceiver
from tests.support.redis_server import RedisServer, redis_server_available
from worker.store import open_store

DEADLINE = 45.0  # seconds; a passing run takes a few
BROKER_DB = 10  # this file's broker db on the shared Redis
STREAM_DB = 11  # the redis_stream channel's db
SHARED = "redis://127.0.0.1:6379"
STREAM = "peacewatch:crash-test"
LEASE = 2.0  # seconds a claimed delivery stays hidden (a crash delays the resend this long)


def _item(slug: str, day: int, title: str, text: str) -> str:
    return f"""    <item>
      <title>{title}</title>
      <link>https://crash.example/2024/03/{day:02d}/{slug}</link>
      <guid>crash-{slug}</guid>
      <pubDate>{day:02d} Mar 2024 09:00:00 GMT</pubDate>
      <description>{text}</description>
    </item>
"""


# Written for these tests: mediation reports in our own words.
ITEMS = [
    _item(
        "oslo",
        1,
        "Norway hosts peace talks between government and rebel negotiators",
        "Norwegian mediators opened a new round of peace talks in Oslo on Friday between "
        "the government and the rebel delegation, officials said.",
    ),
    _item(
        "doha",
        2,
        "Qatar mediates prisoner exchange between the warring parties",
        "Qatari envoys brokered an agreement under which both sides will free detainees, "
        "the foreign ministry in Doha said after days of shuttle talks.",
    ),
    _item(
        "jeddah",
        3,
        "Saudi Arabia and the US host ceasefire talks in Jeddah",
        "Envoys of the army and the paramilitary forces met in Jeddah for talks brokered "
        "by Riyadh and Washington on a humanitarian ceasefire.",
    ),
    _item(
        "geneva",
        4,
        "UN envoy convenes mediation talks in Geneva on the disputed border",
        "The United Nations special envoy brought both delegations to Geneva for "
        "mediation talks aimed at a ceasefire along the disputed border.",
    ),
    _item(
        "addis",
        5,
        "African Union mediators broker truce in the northern region",
        "Mediators from the African Union said the government and the regional forces "
        "agreed to a truce and to further peace negotiations in Addis Ababa.",
    ),
]


LATE_ITEM = _item(
    "nairobi",
    6,
    "Kenya mediates new round of peace talks between rival factions",
    "Kenyan mediators hosted the rival factions in Nairobi for peace talks and both sides "
    "agreed to a ceasefire while negotiations continue, the envoy said.",
)


def _feed(items: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">\n  <channel>\n'
        "    <title>Crash Test Wire</title>\n    <link>https://crash.example/</link>\n"
        "    <description>Made up for the crash tests</description>\n"
        + "".join(items)
        + "  </channel>\n</rss>\n"
    )


def _config(
    path: Path,
    *,
    store: str,
    feed: str,
    broker: str,
    hook_url: str,
    interval: str,
    stream_url: str | None = None,
) -> Path:
    parts = [
        f'[storage]\nurl = "{store}"',
        f'[broker]\nurl = "{broker}"',
        "[fetch]\nallow_private_networks = true",
        '[schedule]\nmin_interval = "1s"',
        '[log]\nlevel = "info"',
        f"[alerts]\nbase_delay = 0.2\nmax_delay = 1.0\nlease = {LEASE}",
        f'[[feeds]]\nurl = "{feed}"\ninterval = "{interval}"',
        f'[[channels]]\ntype = "webhook"\nname = "hook"\nurl = "{hook_url}"\ntimeout = 30',
    ]
    if stream_url:
        parts.append(
            f'[[channels]]\ntype = "redis_stream"\nname = "stream"\nurl = "{stream_url}"\n'
            f'stream = "{STREAM}"'
        )
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def _shared_db(db: int) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(f"{SHARED}/{db}")
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        pytest.skip(f"Redis not reachable at {SHARED}/{db}: {error}")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def broker_db() -> Iterator[redis.Redis]:
    yield from _shared_db(BROKER_DB)


@pytest.fixture
def stream_db() -> Iterator[redis.Redis]:
    yield from _shared_db(STREAM_DB)


def _stories(store_url: str) -> list[dict[str, object]]:
    store = open_store(store_url)
    try:
        return store.list_stories(None, 1000)
    finally:
        store.close()


def _sent(store_url: str) -> dict[str, int]:
    store = open_store(store_url)
    try:
        counts = store.delivery_counts()
    finally:
        store.close()
    return {channel: states.get("sent", 0) for channel, states in counts.items()}


def _deliveries(store_url: str) -> str:
    store = open_store(store_url)
    try:
        rows = store.list_deliveries(limit=100)
    finally:
        store.close()
    return "\n".join(str(row) for row in rows)


def _all_sent(store_url: str, channels: tuple[str, ...]) -> bool:
    stored = len(_stories(store_url))
    sent = _sent(store_url)
    return stored > 0 and all(sent.get(channel, 0) == stored for channel in channels)


def test_sigkill_during_deliveries_then_restart_delivers_every_story_once(
    tmp_path: Path, broker_db: redis.Redis, stream_db: redis.Redis
) -> None:
    store_url = f"sqlite:///{tmp_path / 'pw.db'}"
    hold = threading.Event()
    with FeedServer() as feeds, WebhookReceiver(hold=hold) as hook:
        feed_url = feeds.serve("/wire.xml", _feed(ITEMS))
        config = _config(
            tmp_path / "pw.toml",
            store=store_url,
            feed=feed_url,
            broker=f"{SHARED}/{BROKER_DB}",
            hook_url=hook.url,
            interval="1h",
            stream_url=f"{SHARED}/{STREAM_DB}",
        )
        first = ServiceProcess("run", config=config, workdir=tmp_path, args=("--tick", "1"))
        try:
            first.start()
            assert hook.wait_for(1, timeout=DEADLINE), first.log_text()  # in flight, held
            first.kill()  # SIGKILL to the whole process group
        finally:
            first.stop()
        hold.set()  # the receiver answers again (the held handlers write to dead sockets)
        held = hook.count
        assert held >= 1
        assert not _all_sent(store_url, ("hook", "stream"))  # the crash left work behind

        with ServiceProcess(
            "run", config=config, workdir=tmp_path, name="restart", args=("--tick", "1")
        ) as second:
            try:
                wait_until(
                    lambda: _all_sent(store_url, ("hook", "stream")),
                    DEADLINE,
                    what="every story sent to both channels",
                )
            except AssertionError as error:
                raise AssertionError(
                    f"{error}\n{_deliveries(store_url)}\n--- first run:\n"
                    f"{first.log_text()[-3000:]}\n--- restart:\n{second.log_text()[-6000:]}"
                ) from None
        assert "Traceback" not in second.log_text(), second.log_text()

    stories = _stories(store_url)
    assert len(stories) == len(ITEMS)  # every report was stored as mediation
    story_ids = {str(story["id"]) for story in stories}

    # webhook: one id per story; a repeat (the in-flight send, resent) only under that id
    ids_by_story: dict[str, set[str]] = defaultdict(set)
    for request in hook.requests:
        ids_by_story[str(request.json()["story"]["id"])].add(request.headers["webhook-id"])
    assert set(ids_by_story) == story_ids
    assert all(len(ids) == 1 for ids in ids_by_story.values()), ids_by_story
    assert len(hook.ids) == len(stories)
    assert len(hook.unique_accepted()) == len(stories)

    # the stream: each story exactly once
    assert stream_db.xlen(STREAM) == len(stories)
    streamed: list[str] = []
    for _, fields in stream_db.xrange(STREAM) or []:
        payload = (fields or {}).get(b"story")
        assert isinstance(payload, bytes)
        streamed.append(str(json.loads(payload)["id"]))
    assert sorted(streamed) == sorted(story_ids)  # every story, none twice


@pytest.mark.skipif(not redis_server_available(), reason="redis-server is not on PATH")
def test_a_redis_restart_during_a_run_is_survived_without_a_manual_step(
    tmp_path: Path,
) -> None:
    store_url = f"sqlite:///{tmp_path / 'pw.db'}"
    with (
        RedisServer(tmp_path) as server,
        FeedServer() as feeds,
        WebhookReceiver() as hook,
    ):
        feed_url = feeds.serve("/wire.xml", _feed(ITEMS[:1]))
        config = _config(
            tmp_path / "pw.toml",
            store=store_url,
            feed=feed_url,
            broker=server.url(0),
            hook_url=hook.url,
            interval="1s",
        )
        with ServiceProcess("run", config=config, workdir=tmp_path, args=("--tick", "1")) as run:
            assert hook.wait_for(1, timeout=DEADLINE), run.log_text()
            wait_until(lambda: _all_sent(store_url, ("hook",)), DEADLINE, what="first story")

            server.stop(save=True)  # Redis goes away (SHUTDOWN SAVE; it comes back with its data)
            feeds.serve("/wire.xml", _feed([LATE_ITEM, *ITEMS[:1]]))
            server.start()  # same port

            wait_until(
                lambda: len(_stories(store_url)) == 2 and _all_sent(store_url, ("hook",)),
                DEADLINE,
                what=f"the new story delivered after the Redis restart:\n{run.log_text()[-4000:]}",
            )
            assert run.process is not None and run.process.poll() is None  # never restarted
        titles = {payload["story"]["title"] for payload in hook.unique_accepted().values()}
        assert any(title.startswith("Kenya mediates") for title in titles), titles
        assert len(hook.ids) == 2
