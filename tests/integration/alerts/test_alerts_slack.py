"""Slack channel against a real local incoming-webhook server: 429, rate limit, errors."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from tests.support.receivers import SlackServer
from worker.alerts.config import SlackConfig
from worker.alerts.slack import SlackChannel
from worker.errors import ChannelGone, DeliveryError
from worker.render import slack_message


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps on it."""

    def __init__(self, start: float = 5_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def story(n: int = 1) -> dict[str, Any]:
    return {
        "id": f"slack-story-{n}",
        "url": f"https://wire.example.com/stories/{n}",
        "title": f"Norway sends envoy to Bogotá for round {n} with the ELN",
        "source": "Example Wire",
        "published": "2024-05-14T08:00:00+00:00",
        "mediation": {"label": "mediation", "score": 0.91, "evidence": ["envoy sent to talks"]},
        "facts": {
            "event_types": ["envoy", "talks"],
            "mediators": ["NO"],
            "parties": ["CO", "eln"],
            "conflict": "Colombian conflict",
            "people": [],
            "places": ["Bogotá"],
            "event_date": "2024-05-14",
            "quotes": [{"speaker": "An envoy", "text": "We are here to listen."}],
            "stances": [],
        },
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server


def channel(
    server: SlackServer,
    clock: FakeClock,
    *,
    min_interval: float = 1.0,
    client: httpx.Client | None = None,
) -> SlackChannel:
    config = SlackConfig(name="ops-slack", webhook_url=server.url, min_interval=min_interval)
    return SlackChannel(config, client=client, monotonic=clock.monotonic, sleep=clock.sleep)


def test_delivers_block_kit_message(slack: SlackServer, clock: FakeClock) -> None:
    ch = channel(slack, clock)
    try:
        ch.send(story(), key="msg_1")
    finally:
        ch.close()
    assert slack.messages == [slack_message(story())]
    request = slack.requests[0]
    assert request.headers["content-type"] == "application/json"
    assert clock.sleeps == []


def test_429_waits_retry_after_then_delivers_once(slack: SlackServer, clock: FakeClock) -> None:
    slack.script("429:1", "ok")
    ch = channel(slack, clock)
    start = clock.now
    try:
        ch.send(story(), key="msg_1")
    finally:
        ch.close()
    assert slack.count == 2  # the 429 and the resend
    assert slack.messages == [slack_message(story())]  # delivered exactly once
    assert clock.now - start >= 1.0
    assert 1.0 in clock.sleeps


def test_429_without_retry_after_still_waits(slack: SlackServer, clock: FakeClock) -> None:
    slack.script("429", "ok")
    ch = channel(slack, clock, min_interval=0)
    try:
        ch.send(story(), key="msg_1")
    finally:
        ch.close()
    assert len(slack.messages) == 1
    assert clock.sleeps and clock.sleeps[0] > 0


def test_429_too_often_gives_up_with_retry_after(slack: SlackServer, clock: FakeClock) -> None:
    slack.script("429:2", "429:2", "429:2", "429:3", "ok")
    ch = channel(slack, clock)
    try:
        with pytest.raises(DeliveryError) as caught:
            ch.send(story(), key="msg_1")
    finally:
        ch.close()
    assert caught.value.status == 429
    assert caught.value.retry_after == 3
    assert not caught.value.permanent
    assert slack.count == 4  # first try and three resends
    assert slack.messages == []


def test_long_retry_after_is_left_to_the_dispatcher(slack: SlackServer, clock: FakeClock) -> None:
    slack.script("429:600")
    ch = channel(slack, clock)
    try:
        with pytest.raises(DeliveryError) as caught:
            ch.send(story(), key="msg_1")
    finally:
        ch.close()
    assert caught.value.retry_after == 600
    assert clock.sleeps == []
    assert slack.count == 1


def test_rate_limit_spaces_messages_to_one_webhook(slack: SlackServer, clock: FakeClock) -> None:
    sent_at: list[float] = []
    client = httpx.Client(event_hooks={"request": [lambda _r: sent_at.append(clock.now)]})
    first = channel(slack, clock, min_interval=1.5, client=client)
    second = channel(slack, clock, min_interval=1.5, client=client)  # another instance, same URL
    try:
        first.send(story(1), key="msg_1")
        second.send(story(2), key="msg_2")
        first.send(story(3), key="msg_3")
    finally:
        client.close()
    assert len(slack.messages) == 3
    assert sent_at[1] - sent_at[0] >= 1.5
    assert sent_at[2] - sent_at[1] >= 1.5


def test_rate_limit_holds_across_threads(slack: SlackServer, clock: FakeClock) -> None:
    sent_at: list[float] = []
    client = httpx.Client(event_hooks={"request": [lambda _r: sent_at.append(clock.now)]})
    channels = [channel(slack, clock, client=client) for _ in range(3)]
    threads = [
        threading.Thread(target=ch.send, args=(story(i),), kwargs={"key": f"msg_{i}"})
        for i, ch in enumerate(channels)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    client.close()
    assert len(slack.messages) == 3
    sent_at.sort()
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(sent_at))


def test_other_webhooks_are_not_held_back(clock: FakeClock) -> None:
    with SlackServer() as one, SlackServer() as two:
        a, b = channel(one, clock), channel(two, clock)
        try:
            a.send(story(1), key="msg_1")
            b.send(story(2), key="msg_2")
        finally:
            a.close()
            b.close()
    assert clock.sleeps == []


def test_server_error_is_retryable(slack: SlackServer, clock: FakeClock) -> None:
    slack.script("500")
    ch = channel(slack, clock)
    try:
        with pytest.raises(DeliveryError) as caught:
            ch.send(story(), key="msg_1")
        assert not caught.value.permanent
        assert caught.value.status == 500
        assert not isinstance(caught.value, ChannelGone)
        ch.send(story(), key="msg_1")  # the dispatcher's retry goes through
    finally:
        ch.close()
    assert len(slack.messages) == 1


@pytest.mark.parametrize(("status", "code"), [(400, "invalid_payload"), (403, None), (404, None)])
def test_client_errors_are_permanent(
    slack: SlackServer, clock: FakeClock, status: int, code: str | None
) -> None:
    slack.script(str(status))
    ch = channel(slack, clock)
    try:
        with pytest.raises(DeliveryError) as caught:
            ch.send(story(), key="msg_1")
    finally:
        ch.close()
    assert caught.value.permanent
    assert caught.value.status == status
    assert not isinstance(caught.value, ChannelGone)
    assert "ops-slack" in str(caught.value)
    if code:
        assert code in str(caught.value)


def test_410_is_channel_gone(slack: SlackServer, clock: FakeClock) -> None:
    slack.script("410")
    ch = channel(slack, clock)
    try:
        with pytest.raises(ChannelGone) as caught:
            ch.send(story(), key="msg_1")
    finally:
        ch.close()
    assert caught.value.permanent and caught.value.status == 410
    assert "channel disabled" in str(caught.value)


def test_timeout_is_retryable(clock: FakeClock) -> None:
    hold = threading.Event()
    with SlackServer(hold=hold) as server:
        client = httpx.Client(timeout=0.3)
        ch = channel(server, clock, client=client)
        try:
            with pytest.raises(DeliveryError) as caught:
                ch.send(story(), key="msg_1")
        finally:
            hold.set()
            client.close()
    assert not caught.value.permanent
    assert server.token not in str(caught.value)


def test_connection_refused_is_retryable_and_hides_the_url(clock: FakeClock) -> None:
    with SlackServer() as server:
        url = server.url
    config = SlackConfig(name="ops-slack", webhook_url=url)  # nothing listens there any more
    ch = SlackChannel(config, monotonic=clock.monotonic, sleep=clock.sleep)
    with capture_logs() as logs, pytest.raises(DeliveryError) as caught:
        ch.send(story(), key="msg_1")
    ch.close()
    assert not caught.value.permanent
    assert "ops-slack" in str(caught.value)
    assert server.token not in str(caught.value)
    assert server.token not in repr(ch)
    assert all(server.token not in repr(entry) for entry in logs)


def test_webhook_url_never_logged(slack: SlackServer, clock: FakeClock) -> None:
    slack.script("429:1", "500")
    ch = channel(slack, clock)
    with capture_logs() as logs:
        with pytest.raises(DeliveryError) as caught:
            ch.send(story(), key="msg_1")
        ch.send(story(), key="msg_1")
    ch.close()
    assert logs  # something was logged
    assert all(slack.token not in repr(entry) for entry in logs)
    assert slack.token not in str(caught.value)
    assert slack.token not in repr(ch)
