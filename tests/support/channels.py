"""In-process channels and a fake clock for testing the alert dispatcher (not a transport).

``RecordingChannel`` records every ``send`` (story id and idempotency key) and answers
from a script: each call takes the next item, ``None`` accepts, an exception is raised
(scripted ``DeliveryError`` such as ``server_error()``), and an empty script accepts.
A ``gate`` makes ``send`` block until the test sets it (``entered`` is set first), so a
test can hold one channel while watching another. ``DigestRecordingChannel`` adds
``digest_seconds`` and ``send_digest``.

``FakeClock`` gives ``now``/``monotonic``/``sleep`` that share one fake time: ``sleep``
advances it (and records the wait) instead of sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from worker.errors import ChannelGone, DeliveryError

GATE_TIMEOUT = 30.0  # a test that forgets to open a gate fails instead of hanging


def server_error(status: int = 500) -> DeliveryError:
    return DeliveryError(f"receiver answered HTTP {status}", status=status)


def rate_limited(retry_after: float) -> DeliveryError:
    return DeliveryError("receiver answered HTTP 429", status=429, retry_after=retry_after)


def rejected(status: int = 400) -> DeliveryError:
    return DeliveryError(
        f"receiver refused the alert (HTTP {status})", status=status, permanent=True
    )


def gone() -> ChannelGone:
    return ChannelGone("receiver answered HTTP 410 Gone")


@dataclass(frozen=True)
class Sent:
    """One call of ``send`` (or ``send_digest``): what was offered and whether it was taken."""

    story_ids: tuple[str, ...]
    key: str
    accepted: bool


class RecordingChannel:
    """A channel that records its calls and answers from a script."""

    def __init__(
        self,
        name: str,
        script: Iterable[BaseException | None] = (),
        *,
        type: str = "recording",
        gate: threading.Event | None = None,
    ) -> None:
        self.name = name
        self.type = type
        self.script = list(script)
        self.gate = gate
        self.entered = threading.Event()
        self.calls: list[Sent] = []
        self.closed = False
        self._lock = threading.Lock()

    @property
    def accepted(self) -> list[Sent]:
        with self._lock:
            return [call for call in self.calls if call.accepted]

    def _answer(self, story_ids: tuple[str, ...], key: str) -> None:
        self.entered.set()
        if self.gate is not None and not self.gate.wait(GATE_TIMEOUT):
            raise AssertionError(f"gate of channel {self.name} was never opened")
        with self._lock:
            outcome = self.script.pop(0) if self.script else None
            self.calls.append(Sent(story_ids, key, outcome is None))
        if outcome is not None:
            raise outcome

    def send(self, story: Mapping[str, Any], *, key: str) -> None:
        self._answer((str(story["id"]),), key)

    def close(self) -> None:
        self.closed = True


class DigestRecordingChannel(RecordingChannel):
    """A recording channel in digest mode: one ``send_digest`` per period."""

    def __init__(
        self,
        name: str,
        digest_seconds: float,
        script: Iterable[BaseException | None] = (),
    ) -> None:
        super().__init__(name, script, type="recording-digest")
        self.digest_seconds: float | None = digest_seconds

    def send_digest(self, stories: Sequence[Mapping[str, Any]], *, key: str) -> None:
        self._answer(tuple(str(story["id"]) for story in stories), key)


class FakeClock:
    """One fake time for ``now``, ``monotonic`` and ``sleep`` (thread-safe)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.elapsed = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        with self._lock:
            return self.elapsed

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.elapsed += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.elapsed += seconds
