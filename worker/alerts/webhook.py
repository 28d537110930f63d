"""Webhook: POST the story as JSON, signed the Standard Webhooks way.

Body: ``{"type": "peacewatch.story", "story": {...}}`` (compact JSON, UTF-8). Headers:
``webhook-id`` (the delivery key: the same on every resend, so a receiver can drop
duplicates), ``webhook-timestamp`` (integer seconds) and, when a secret is configured,
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``. The HMAC key is
the base64 after ``whsec_`` (a secret without that prefix is used as its UTF-8 bytes).

Answers: 2xx accepted; 410 ``ChannelGone``; 408, 429, 5xx, timeouts and connection errors
are retryable (``retry_after`` from ``Retry-After``); redirects are not followed and, like
other 4xx, are permanent. Retrying is the dispatcher's job. The secret never appears in
errors or logs; errors name the channel, not the URL (it may carry a token).

``sign`` and ``verify`` are the two halves of the scheme, for receivers and tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx
import structlog

from worker.alerts.config import WebhookConfig
from worker.alerts.slack import retry_after_seconds
from worker.errors import ChannelGone, ConfigError, DeliveryError, PeaceWatchError

log = structlog.get_logger("peacewatch.alerts")

EVENT_TYPE: Final = "peacewatch.story"
SECRET_PREFIX: Final = "whsec_"
DEFAULT_TOLERANCE: Final = 300  # seconds a receiver accepts between timestamp and now


class SignatureError(PeaceWatchError):
    """A webhook request's signature or timestamp does not check out."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: base64-decoded after ``whsec_``, else the UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        encoded = secret[len(SECRET_PREFIX) :]
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("the secret after whsec_ is not valid base64") from exc
    return secret.encode("utf-8")


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``."""
    return _signature(secret_key(secret), msg_id, timestamp, body)


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: Callable[[], float] = time.time,
) -> None:
    """Check a request the Standard Webhooks way; raise SignatureError when it does not match.

    ``headers`` is looked up case-insensitively; the signature header may carry several
    space-separated ``v1,<sig>`` values (key rotation) and one match is enough.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise SignatureError("webhook-timestamp is not an integer") from exc
    if abs(now() - timestamp) > tolerance:
        raise SignatureError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            return
    raise SignatureError("no webhook-signature matches")


def encode_body(story: Mapping[str, Any]) -> bytes:
    """The request body: compact UTF-8 JSON of ``{"type": ..., "story": ...}``."""
    payload = {"type": EVENT_TYPE, "story": story}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class WebhookChannel:
    """An HTTP endpoint receiving signed story payloads."""

    type = "webhook"

    def __init__(
        self,
        config: WebhookConfig,
        *,
        client: httpx.Client | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.name = config.name
        self._now = now
        self._key: bytes | None = None
        if config.secret:
            try:
                self._key = secret_key(config.secret)
            except ValueError as exc:
                raise ConfigError(
                    f"channel {config.name!r}: secret must be whsec_<base64> or plain text"
                ) from exc
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=config.timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return f"WebhookChannel(name={self.name!r})"

    def headers(self, key: str, body: bytes) -> dict[str, str]:
        """The request headers for delivery ``key`` (signed when a secret is set)."""
        timestamp = int(self._now())
        headers = {
            "content-type": "application/json",
            "webhook-id": key,
            "webhook-timestamp": str(timestamp),
        }
        if self._key is not None:
            headers["webhook-signature"] = _signature(self._key, key, timestamp, body)
        return headers

    def send(self, story: Mapping[str, Any], *, key: str) -> None:
        """POST one story; raises DeliveryError (``ChannelGone`` on 410) when not accepted."""
        body = encode_body(story)
        where = f"webhook channel {self.name!r}"
        timeout = self.config.timeout
        try:
            response = self._client.post(
                self.config.url,
                content=body,
                headers=self.headers(key, body),
                timeout=timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{where}: no answer within {timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{where}: could not connect ({type(exc).__name__})") from exc
        self._check(response, key=key)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _check(self, response: httpx.Response, *, key: str) -> None:
        status = response.status_code
        where = f"webhook channel {self.name!r}"
        if 200 <= status < 300:
            log.info("webhook delivered", channel=self.name, key=key, status=status)
            return
        if status == 410:
            raise ChannelGone(f"{where} answered 410 Gone: channel disabled")
        if status in (408, 429) or status >= 500:
            retry = retry_after_seconds(response.headers.get("retry-after"), now=self._now)
            raise DeliveryError(f"{where}: HTTP {status}", retry_after=retry, status=status)
        if 300 <= status < 400:
            raise DeliveryError(
                f"{where}: answered a redirect (HTTP {status}); redirects are not followed, "
                "update the channel's url",
                permanent=True,
                status=status,
            )
        raise DeliveryError(f"{where}: refused with HTTP {status}", permanent=True, status=status)
