"""Webhook channel against a real local Standard-Webhooks receiver."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.support.receivers import WebhookReceiver
from worker.alerts.base import delivery_key
from worker.alerts.config import WebhookConfig
from worker.alerts.webhook import SignatureError, WebhookChannel, sign, verify
from worker.errors import ChannelGone, ConfigError, DeliveryError

SECRET = "whsec_" + base64.b64encode(b"peacewatch test signing key 32b!").decode()
NOW = 1_716_000_000.0


def story() -> dict[str, Any]:
    return {
        "id": "hook-story-1",
        "url": "https://wire.example.com/stories/doha",
        "title": "Qatar hosts a new round of indirect talks — “progress”, mediators say",
        "source": "Example Wire",
        "published": "2024-05-18T09:30:00+00:00",
        "mediation": {"label": "mediation", "score": 0.95, "evidence": ["hosted indirect talks"]},
        "facts": {
            "event_types": ["talks"],
            "mediators": ["QA"],
            "parties": ["IL", "hamas"],
            "conflict": "Israel–Hamas war",
            "people": [],
            "places": ["Doha"],
            "event_date": "2024-05-18",
            "quotes": [],
            "stances": [],
        },
    }


KEY = delivery_key("hook-story-1", "ops-hook")


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET, now=lambda: NOW) as receiver:
        yield receiver


def channel(
    receiver: WebhookReceiver, *, secret: str | None = SECRET, timeout: float = 15.0
) -> WebhookChannel:
    config = WebhookConfig(name="ops-hook", url=receiver.url, secret=secret, timeout=timeout)
    return WebhookChannel(config, now=lambda: NOW)


def test_signed_delivery_verifies_at_the_receiver(hook: WebhookReceiver) -> None:
    ch = channel(hook)
    try:
        ch.send(story(), key=KEY)
    finally:
        ch.close()
    (request,) = hook.requests
    assert request.verified is True
    assert request.headers["webhook-id"] == KEY
    assert request.headers["webhook-timestamp"] == str(int(NOW))
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"type": "peacewatch.story", "story": story()}
    # Compact UTF-8 JSON, not ASCII escapes.
    compact = json.dumps(
        {"type": "peacewatch.story", "story": story()}, separators=(",", ":"), ensure_ascii=False
    )
    assert request.body == compact.encode("utf-8")
    assert "“progress”".encode() in request.body


def test_resend_keeps_the_webhook_id(hook: WebhookReceiver) -> None:
    hook.script(500, 500, 200)
    ch = channel(hook)
    try:
        for _ in range(2):
            with pytest.raises(DeliveryError) as caught:
                ch.send(story(), key=KEY)
            assert not caught.value.permanent
            assert caught.value.status == 500
        ch.send(story(), key=KEY)
    finally:
        ch.close()
    assert hook.count == 3
    assert hook.ids == {KEY}
    assert all(r.verified for r in hook.requests)
    assert list(hook.unique_accepted()) == [KEY]


def test_429_carries_retry_after(hook: WebhookReceiver) -> None:
    hook.script("429:7")
    ch = channel(hook)
    try:
        with pytest.raises(DeliveryError) as caught:
            ch.send(story(), key=KEY)
    finally:
        ch.close()
    assert caught.value.status == 429
    assert caught.value.retry_after == 7
    assert not caught.value.permanent


def test_503_with_retry_after(hook: WebhookReceiver) -> None:
    hook.script("503:30")
    ch = channel(hook)
    try:
        with pytest.raises(DeliveryError) as caught:
            ch.send(story(), key=KEY)
    finally:
        ch.close()
    assert caught.value.retry_after == 30 and not caught.value.permanent


def test_410_is_channel_gone(hook: WebhookReceiver) -> None:
    hook.script(410)
    ch = channel(hook)
    try:
        with pytest.raises(ChannelGone) as caught:
            ch.send(story(), key=KEY)
    finally:
        ch.close()
    assert "410 Gone: channel disabled" in str(caught.value)
    assert "ops-hook" in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 404, 422, 301])
def test_other_client_answers_are_permanent(hook: WebhookReceiver, status: int) -> None:
    hook.script(status)
    ch = channel(hook)
    try:
        with pytest.raises(DeliveryError) as caught:
            ch.send(story(), key=KEY)
    finally:
        ch.close()
    assert caught.value.permanent and caught.value.status == status
    assert not isinstance(caught.value, ChannelGone)
    assert hook.count == 1  # a redirect is not followed


def test_wrong_secret_is_refused_by_the_receiver(hook: WebhookReceiver) -> None:
    other = "whsec_" + base64.b64encode(b"some other key").decode()
    ch = channel(hook, secret=other)
    try:
        with pytest.raises(DeliveryError) as caught:
            ch.send(story(), key=KEY)
    finally:
        ch.close()
    assert caught.value.permanent and caught.value.status == 401
    assert hook.requests[0].verified is False


def test_timeout_is_retryable() -> None:
    hold = threading.Event()
    with WebhookReceiver(secret=SECRET, hold=hold, now=lambda: NOW) as receiver:
        ch = channel(receiver, timeout=0.3)
        try:
            with pytest.raises(DeliveryError) as caught:
                ch.send(story(), key=KEY)
        finally:
            hold.set()
            ch.close()
    assert not caught.value.permanent
    assert caught.value.status is None
    assert receiver.count == 1


def test_connection_refused_is_retryable() -> None:
    with WebhookReceiver() as receiver:
        url = receiver.url
    config = WebhookConfig(name="ops-hook", url=url, secret=SECRET)
    ch = WebhookChannel(config)
    try:
        with pytest.raises(DeliveryError) as caught:
            ch.send(story(), key=KEY)
    finally:
        ch.close()
    assert not caught.value.permanent
    assert "ops-hook" in str(caught.value)


def test_no_secret_no_signature() -> None:
    with WebhookReceiver() as receiver:
        ch = channel(receiver, secret=None)
        try:
            ch.send(story(), key=KEY)
        finally:
            ch.close()
    (request,) = receiver.requests
    assert "webhook-signature" not in request.headers
    assert request.headers["webhook-id"] == KEY
    assert request.verified is None


def test_plain_secret_is_used_as_utf8_bytes() -> None:
    plain = "correct horse battery staple"
    with WebhookReceiver(secret=plain, now=lambda: NOW) as receiver:
        ch = channel(receiver, secret=plain)
        try:
            ch.send(story(), key=KEY)
        finally:
            ch.close()
    assert receiver.requests[0].verified is True


@pytest.mark.parametrize("answer", [500, "429:3", 410, 400])
def test_secret_never_in_errors_or_logs(hook: WebhookReceiver, answer: int | str) -> None:
    hook.script(answer)
    ch = channel(hook)
    with capture_logs() as logs, pytest.raises(DeliveryError) as caught:
        ch.send(story(), key=KEY)
    ch.close()
    encoded = SECRET.removeprefix("whsec_")
    for text in (str(caught.value), repr(caught.value), repr(ch), repr(ch.config)):
        assert encoded not in text
    assert all(encoded not in repr(entry) for entry in logs)


def test_bad_whsec_secret_is_a_config_error_without_the_secret() -> None:
    bad = "whsec_not*valid*base64!!"
    config = WebhookConfig(name="ops-hook", url="https://hooks.example.org/x", secret=bad)
    with pytest.raises(ConfigError) as caught:
        WebhookChannel(config)
    assert "ops-hook" in str(caught.value)
    assert "not*valid" not in str(caught.value)


# ---------------------------------------------------------------- sign / verify


def test_sign_matches_the_standard_webhooks_reference_vector() -> None:
    assert (
        sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_verify_rejects_tampering_and_stale_timestamps() -> None:
    body = json.dumps({"type": "peacewatch.story", "story": {"id": "x"}}).encode()
    headers = {
        "Webhook-Id": "msg_abc",
        "Webhook-Timestamp": str(int(NOW)),
        "Webhook-Signature": "v1,bm90IGl0 " + sign(SECRET, "msg_abc", int(NOW), body),
    }
    verify(SECRET, headers, body, now=lambda: NOW)  # several signatures: one match is enough
    with pytest.raises(SignatureError):
        verify(SECRET, headers, body + b" ", now=lambda: NOW)
    with pytest.raises(SignatureError):
        verify(SECRET, {**headers, "Webhook-Id": "msg_other"}, body, now=lambda: NOW)
    with pytest.raises(SignatureError):
        verify(SECRET, headers, body, now=lambda: NOW + 301)
    with pytest.raises(SignatureError):
        verify(SECRET, {"Webhook-Id": "msg_abc"}, body, now=lambda: NOW)
