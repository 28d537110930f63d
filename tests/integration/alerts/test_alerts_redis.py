"""The Redis stream channel against the real Redis on 127.0.0.1:6379 (db 14, flushed per test)."""

from __future__ import annotations

import json
import secrets
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from worker.alerts.config import RedisStreamConfig
from worker.alerts.redis_stream import MARKER_TTL, RedisStreamChannel, marker_key
from worker.errors import ConfigError, DeliveryError

URL = "redis://127.0.0.1:6379/14"
STREAM = "peacewatch:stories"


def make_story(n: int = 1) -> dict[str, Any]:
    return {
        "id": f"doha-truce-{n:04d}",
        "url": f"https://news.example.org/doha-truce-{n}",
        "title": f"Qatar and Egypt extend the Gaza pause for day {n}",
        "source": "Example Wire",
        "published": "2023-11-27T18:40:00+00:00",
        "mediation": {
            "label": "mediation",
            "score": 0.88,
            "evidence": ["The truce was extended after mediators in Doha secured more releases."],
        },
        "facts": {
            "event_types": ["ceasefire"],
            "mediators": ["QA", "EG"],
            "parties": ["IL", "hamas"],
            "conflict": "Israel–Hamas war",
            "people": [{"name": "Majed al-Ansari", "actor": "QA", "role": "spokesman"}],
            "places": ["Gaza", "Doha"],
            "event_date": "2023-11-28",
            "quotes": [],
            "stances": [],
        },
    }


@pytest.fixture
def db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis not reachable on 127.0.0.1:6379 ({exc})")
    client.flushdb()
    yield client
    client.close()


def channel(**overrides: Any) -> RedisStreamChannel:
    data: dict[str, Any] = {"name": "ops-stream", "url": URL}
    data.update(overrides)
    return RedisStreamChannel(RedisStreamConfig.model_validate(data))


def entries(db: redis.Redis, stream: str = STREAM) -> list[dict[str, Any]]:
    rows: Any = db.xrange(stream)
    return [json.loads(fields[b"story"]) for _, fields in rows]


def test_story_is_added_once_and_parses_back(db: redis.Redis) -> None:
    ch = channel()
    story = make_story()
    ch.send(story, key="msg_a")
    ch.send(story, key="msg_a")  # a retry
    channel().send(story, key="msg_a")  # another worker process, same stream
    rows: Any = db.xrange(STREAM)
    [(entry_id, fields)] = rows
    assert list(fields) == [b"story"]
    assert json.loads(fields[b"story"]) == story
    assert b" " not in fields[b"story"].split(b'"title"')[0]  # compact JSON
    marker = marker_key(STREAM, story["id"])
    assert marker == "peacewatch:sent:{peacewatch:stories}:doha-truce-0001"
    assert db.get(marker) == entry_id
    assert 0 < db.ttl(marker) <= MARKER_TTL
    ch.close()


def test_eight_threads_at_once_add_one_entry(db: redis.Redis) -> None:
    story = make_story(7)
    channels = [channel() for _ in range(8)]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def send(ch: RedisStreamChannel) -> None:
        barrier.wait()
        try:
            ch.send(story, key="msg_same")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(ch,)) for ch in channels]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert entries(db) == [story]


def test_other_stories_and_streams_are_separate(db: redis.Redis) -> None:
    a, b = make_story(1), make_story(2)
    main, other = channel(), channel(name="mirror", stream="mirror:{pw}")
    for ch in (main, other):
        ch.send(a, key="k")
        ch.send(b, key="k")
        ch.send(a, key="k")
    assert entries(db) == [a, b]
    assert entries(db, "mirror:{pw}") == [a, b]
    assert marker_key("mirror:{pw}", "x") == "peacewatch:sent:mirror:{pw}:x"  # same slot


def test_maxlen_trims_approximately(db: redis.Redis) -> None:
    ch = channel(maxlen=10)
    for n in range(600):
        ch.send(make_story(n), key=f"k{n}")
    length = db.xlen(STREAM)
    assert 10 <= length <= 300, length
    newest = entries(db)[-1]
    assert newest["id"] == "doha-truce-0599"


def test_script_is_loaded_again_after_script_flush(db: redis.Redis) -> None:
    ch = channel()
    ch.send(make_story(1), key="k1")
    db.script_flush()  # EVALSHA now answers NOSCRIPT: the client falls back to EVAL
    ch.send(make_story(2), key="k2")
    assert [s["id"] for s in entries(db)] == ["doha-truce-0001", "doha-truce-0002"]


def test_wrong_type_is_permanent_and_leaves_no_marker(db: redis.Redis) -> None:
    db.set(STREAM, "not a stream")
    story = make_story(3)
    with pytest.raises(DeliveryError) as caught:
        channel().send(story, key="k3")
    assert caught.value.permanent
    assert "WRONGTYPE" in str(caught.value) and "ops-stream" in str(caught.value)
    assert not db.exists(marker_key(STREAM, story["id"]))
    db.delete(STREAM)  # the operator fixes it; the retry delivers
    channel().send(story, key="k3")
    assert entries(db) == [story]


def test_unreachable_server_is_retryable_and_hides_the_password(db: redis.Redis) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "hunter2-stream-secret"
    ch = channel(url=f"redis://watcher:{secret}@127.0.0.1:{port}/3")
    with pytest.raises(DeliveryError) as caught:
        ch.send(make_story(), key="k")
    assert not caught.value.permanent
    assert "ops-stream" in str(caught.value) and f"127.0.0.1:{port}/3" in str(caught.value)
    assert secret not in str(caught.value) and "watcher" not in str(caught.value)


def test_refused_credentials_are_permanent(db: redis.Redis) -> None:
    secret = "definitely-wrong-" + secrets.token_hex(4)
    ch = channel(url=f"redis://nobody-{secrets.token_hex(4)}:{secret}@127.0.0.1:6379/14")
    with pytest.raises(DeliveryError) as caught:
        ch.send(make_story(), key="k")
    assert caught.value.permanent
    assert secret not in str(caught.value)


def test_missing_permission_is_permanent(db: redis.Redis) -> None:
    user, password = f"pw-readonly-{secrets.token_hex(4)}", secrets.token_hex(12)
    db.acl_setuser(user, enabled=True, passwords=[f"+{password}"], keys=["*"],
                   commands=["+@read", "+@connection", "+evalsha", "+eval", "+script"])  # fmt: skip
    try:
        ch = channel(url=f"redis://{user}:{password}@127.0.0.1:6379/14")
        with pytest.raises(DeliveryError) as caught:
            ch.send(make_story(), key="k")
        assert caught.value.permanent
        assert password not in str(caught.value)
        ch.close()
    finally:
        db.acl_deluser(user)
    assert entries(db) == []


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        channel(url="http://user:s3cr3t@example.org/")
    assert "ops-stream" in str(caught.value) and "s3cr3t" not in str(caught.value)
