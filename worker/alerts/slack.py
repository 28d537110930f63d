"""Slack: one Block Kit message per story through an incoming webhook.

The message is ``worker.render.slack_message(story)`` POSTed as JSON. Slack answers 200
``ok``; 429 with ``Retry-After`` when we go too fast (we wait and resend, at most
``MAX_429_RETRIES`` times within one ``send``, and only for waits up to ``MAX_INLINE_WAIT``
seconds; longer waits go back to the dispatcher as ``DeliveryError(retry_after=...)``);
400/403/404 for a bad payload, a revoked or unknown webhook (permanent); 410 for an archived
channel (``ChannelGone``); 5xx, timeouts and connection errors are retryable.

At most one message per ``config.min_interval`` seconds (default 1) goes to a webhook URL,
across every ``SlackChannel`` of the process: a lock and the last send time per URL (keyed
by a hash, never the URL itself) live at module level. The webhook URL is a secret: errors
and logs name the channel, never the URL.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, Final

import httpx
import structlog

from worker.alerts.config import SlackConfig
from worker.errors import ChannelGone, DeliveryError
from worker.render import slack_message

log = structlog.get_logger("peacewatch.alerts")

TIMEOUT: Final = 15.0
MAX_429_RETRIES: Final = 3
MAX_INLINE_WAIT: Final = 60.0  # seconds a 429 may make one send wait in place
DEFAULT_RETRY_AFTER: Final = 1.0  # a 429 without (a readable) Retry-After
_SLACK_ERROR = re.compile(r"[a-z][a-z0-9_]{0,63}")

_registry_lock = threading.Lock()
_url_locks: dict[str, threading.Lock] = {}
_last_sent: dict[str, float] = {}


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def _lock_for(key: str) -> threading.Lock:
    with _registry_lock:
        lock = _url_locks.get(key)
        if lock is None:
            lock = _url_locks[key] = threading.Lock()
        return lock


def retry_after_seconds(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None if unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return max(0.0, seconds)


def _reason(response: httpx.Response) -> str:
    """Slack's short error code (``invalid_payload``, ``no_service``…) if the body is one."""
    try:
        body = response.text.strip()
    except (UnicodeDecodeError, httpx.HTTPError):
        return ""
    return body if _SLACK_ERROR.fullmatch(body) else ""


class SlackChannel:
    """A Slack incoming webhook; ``send`` returns when Slack accepted the message."""

    type = "slack"

    def __init__(
        self,
        config: SlackConfig,
        *,
        client: httpx.Client | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.name = config.name
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        self._monotonic = monotonic
        self._sleep = sleep
        self._key = _url_key(config.webhook_url)

    def __repr__(self) -> str:
        return f"SlackChannel(name={self.name!r})"

    def send(self, story: Mapping[str, Any], *, key: str) -> None:
        """Post one story; raises DeliveryError (``ChannelGone`` on 410) when not accepted."""
        payload = slack_message(story)
        with _lock_for(self._key):
            attempts = 0
            while True:
                self._throttle()
                response = self._post(payload)
                if response.status_code != 429:
                    break
                wait = retry_after_seconds(response.headers.get("retry-after"))
                wait = DEFAULT_RETRY_AFTER if wait is None else wait
                attempts += 1
                if attempts > MAX_429_RETRIES or wait > MAX_INLINE_WAIT:
                    raise DeliveryError(
                        f"slack channel {self.name!r}: rate limited (HTTP 429) "
                        f"{attempts} times; retry after {wait:g} s",
                        retry_after=wait,
                        status=429,
                    )
                log.info(
                    "slack rate limited",
                    channel=self.name,
                    key=key,
                    retry_after=wait,
                    attempt=attempts,
                )
                self._sleep(wait)
        self._check(response, key=key)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # -------------------------------------------------------------- internals

    def _throttle(self) -> None:
        """Wait until ``min_interval`` has passed since the last message to this webhook."""
        interval = self.config.min_interval
        last = _last_sent.get(self._key)
        if last is not None and interval > 0:
            # Clamped to [0, interval] so a stale time from another clock never stalls us.
            wait = min(interval, max(0.0, last + interval - self._monotonic()))
            if wait > 0:
                self._sleep(wait)
        _last_sent[self._key] = self._monotonic()

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        where = f"slack channel {self.name!r}"
        try:
            return self._client.post(self.config.webhook_url, json=payload, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{where}: timed out waiting for Slack") from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{where}: could not connect ({type(exc).__name__})") from exc

    def _check(self, response: httpx.Response, *, key: str) -> None:
        status = response.status_code
        where = f"slack channel {self.name!r}"
        reason = _reason(response)
        detail = f"HTTP {status}" + (f" {reason}" if reason else "")
        if 200 <= status < 300:
            if reason != "ok":
                log.warning("slack answered without ok", channel=self.name, key=key, status=status)
            log.info("slack delivered", channel=self.name, key=key)
            return
        if status == 410:
            raise ChannelGone(f"{where} answered 410 Gone ({reason or 'gone'}): channel disabled")
        if status >= 500 or status == 408:
            retry = retry_after_seconds(response.headers.get("retry-after"))
            raise DeliveryError(f"{where}: {detail}", retry_after=retry, status=status)
        raise DeliveryError(
            f"{where}: refused with {detail} (check the webhook and the payload)",
            permanent=True,
            status=status,
        )
