"""Sending the deliveries the store keeps: one thread per channel, retries with backoff.

``dispatch`` is one pass: every configured, enabled channel sends its due deliveries,
oldest first, in its own thread, so a slow or failing channel never holds up the others.
For each delivery it claims the row (a lease: ``next_attempt`` moves ``policy.lease``
ahead, so no other dispatcher sends it meanwhile and a crash only delays the resend,
which carries the same idempotency key), calls ``channel.send(story, key=row.key)`` and
records the outcome:

- accepted → ``sent``;
- ``ChannelGone`` (HTTP 410) → the channel is disabled in the store (a warning names it)
  and this and its other due deliveries are ``failed`` with "channel disabled: …";
- a permanent ``DeliveryError`` → ``failed`` after that one attempt;
- any other ``DeliveryError`` (5xx, 429, timeouts) → retried in the pass after
  ``min(max_delay, base_delay * 2**(attempts-1))`` scaled by a jitter in [0.5, 1), but at
  least the receiver's ``retry_after``; once ``max_attempts`` attempts failed it is
  ``failed``; when the next wait would overrun the channel's ``pass_budget`` it stays
  ``pending`` with ``next_attempt`` set, and the channel stops for this pass (the rest
  of its deliveries wait for the next one: a receiver that is down is not hammered);
- any other exception is a bug in the channel: recorded as a failed attempt naming the
  exception type (the log adds where it was raised; its message, which might carry a
  secret, is neither logged nor stored), no in-pass retry.

Every attempt is recorded as it happens (``attempts``, ``last_error``), so the store is
always the truth. Channels disabled in the store are skipped: their due deliveries stay
``pending`` and the report lists them. A digest channel (``digest_seconds`` set) gets one
``send_digest`` with all its due stories once the oldest has waited ``digest_seconds``.

``deliver_one`` makes a single attempt at one delivery (for a task queue).
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, cast

import structlog

from worker import metrics
from worker.alerts.base import Channel, DigestChannel, delivery_key
from worker.errors import ChannelGone, DeliveryError
from worker.store import DeliveryRow, Store

log = structlog.get_logger("peacewatch.alerts")

DeliveryOutcome = Literal["sent", "failed", "pending", "missing"]


@dataclass(frozen=True)
class DispatchPolicy:
    """How hard a pass tries. Times in seconds."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    pass_budget: float = 120.0  # seconds one channel may spend retrying within a pass
    lease: float = 300.0  # how long a claimed delivery is hidden from other dispatchers
    limit: int = 500  # deliveries per channel per pass


@dataclass
class DispatchReport:
    """What a pass did, per channel name."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)  # due but left for a later pass
    disabled: list[str] = field(default_factory=list)  # skipped or disabled in this pass
    errors: dict[str, str] = field(default_factory=dict)  # last error per channel

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())

    @property
    def total_failed(self) -> int:
        return sum(self.failed.values())

    @property
    def total_pending(self) -> int:
        return sum(self.pending.values())

    @property
    def channels(self) -> list[str]:
        """Every channel the report mentions, sorted."""
        names = set(self.sent) | set(self.failed) | set(self.pending) | set(self.disabled)
        return sorted(names)

    def add(self, name: str, result: ChannelResult) -> None:
        for counts, value in (
            (self.sent, result.sent),
            (self.failed, result.failed),
            (self.pending, result.pending),
        ):
            if value:
                counts[name] = counts.get(name, 0) + value
        if result.disabled and name not in self.disabled:
            self.disabled.append(name)
            self.disabled.sort()
        if result.error:
            self.errors[name] = result.error


@dataclass
class ChannelResult:
    """One channel's share of a pass."""

    sent: int = 0
    failed: int = 0
    pending: int = 0
    disabled: bool = False
    error: str | None = None


@dataclass(frozen=True)
class _Clock:
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    monotonic: Callable[[], float]
    rng: Callable[[], float]


def backoff(attempts: int, policy: DispatchPolicy, rng: Callable[[], float]) -> float:
    """The wait after the ``attempts``-th failed attempt (1-based), jittered."""
    exponent = min(max(attempts - 1, 0), 62)
    return min(policy.max_delay, policy.base_delay * 2.0**exponent) * (0.5 + rng() / 2)


def dispatch(
    store: Store,
    channels: Mapping[str, Channel],
    *,
    now: Callable[[], datetime],
    policy: DispatchPolicy = DispatchPolicy(),
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
    on_channel_done: Callable[[str, ChannelResult], None] | None = None,
) -> DispatchReport:
    """One pass over the due deliveries of ``channels`` (name → channel); see the module.

    Returns after every channel's thread has finished. ``on_channel_done(name, result)``
    is called from that channel's thread when it is done (progress output, tests).
    An exception escaping a channel's thread (a ``StorageError``, say) is raised again
    once every thread is done.
    """
    clock = _Clock(now=now, sleep=sleep, monotonic=monotonic, rng=rng)
    report = DispatchReport()
    disabled = store.disabled_channels()
    work: dict[str, list[DeliveryRow]] = {}
    for name in channels:
        rows = store.due_deliveries(now(), channel=name, limit=policy.limit)
        if name in disabled:
            report.add(name, ChannelResult(pending=len(rows), disabled=True))
        elif rows:
            work[name] = rows
    if not work:
        return report

    lock = threading.Lock()

    def run(name: str) -> None:
        runner = _ChannelRun(store, name, channels[name], work[name], policy, clock)
        result = runner.run()
        with lock:
            report.add(name, result)
        if on_channel_done is not None:
            on_channel_done(name, result)

    with ThreadPoolExecutor(
        max_workers=len(work), thread_name_prefix="peacewatch-alerts"
    ) as executor:
        futures = [executor.submit(run, name) for name in work]
    errors = [error for future in futures if (error := future.exception()) is not None]
    if errors:
        raise errors[0]
    return report


def deliver_one(
    store: Store,
    channel: Channel,
    delivery_id: int,
    *,
    now: datetime,
    policy: DispatchPolicy = DispatchPolicy(),
    rng: Callable[[], float] = random.random,
) -> DeliveryOutcome:
    """One attempt at one delivery with ``channel.send``, recorded; the resulting state.

    Nothing is sent (and the current state is returned) when the delivery is not pending,
    not due at ``now``, claimed by another dispatcher, or its channel is disabled.
    "missing" when there is no such delivery. A retry is scheduled at ``next_attempt``.
    """
    row = store.get_delivery(delivery_id)
    if row is None:
        return "missing"
    if row.state != "pending" or channel.name in store.disabled_channels():
        return row.state
    clock = _Clock(now=lambda: now, sleep=_no_sleep, monotonic=_zero, rng=rng)
    # never wait in-process: the retry is scheduled instead
    single = dataclasses.replace(policy, pass_budget=0.0, limit=1)
    runner = _ChannelRun(store, channel.name, channel, [row], single, clock)
    outcome = runner.deliver([row], digest=False)
    if outcome in ("sent", "failed"):
        return outcome
    return "failed" if outcome == "gone" else "pending"


def _where(error: BaseException) -> str | None:
    """``file:line in function`` where ``error`` was raised (no message, no locals)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return None
    last = frames[-1]
    return f"{last.filename}:{last.lineno} in {last.name}"


def _no_sleep(_seconds: float) -> None:  # pragma: no cover - deliver_one never waits
    return None


def _zero() -> float:
    return 0.0


_BatchOutcome = Literal["sent", "failed", "pending", "deferred", "gone", "claimed-elsewhere"]


class _ChannelRun:
    """One channel's deliveries in one pass (runs in that channel's thread)."""

    def __init__(
        self,
        store: Store,
        name: str,
        channel: Channel,
        rows: Sequence[DeliveryRow],
        policy: DispatchPolicy,
        clock: _Clock,
    ) -> None:
        self.store = store
        self.name = name
        self.channel = channel
        self.rows = list(rows)
        self.policy = policy
        self.clock = clock
        self.started = clock.monotonic()
        self.result = ChannelResult()
        self.gone_reason: str | None = None
        digest_seconds = getattr(channel, "digest_seconds", None)
        self.digest_seconds: float | None = (
            float(digest_seconds)
            if digest_seconds and callable(getattr(channel, "send_digest", None))
            else None
        )

    def run(self) -> ChannelResult:
        if self.digest_seconds is not None:
            batches = self._digest_batches(self.digest_seconds)
        else:
            batches = [[row] for row in self.rows]
        for index, batch in enumerate(batches):
            outcome = self.deliver(batch, digest=self.digest_seconds is not None)
            if outcome in ("gone", "deferred"):
                rest = [row for later in batches[index + 1 :] for row in later]
                if outcome == "gone":
                    failed = self.store.fail_deliveries(
                        [row.id for row in rest], f"channel disabled: {self.gone_reason}"
                    )
                    self.result.failed += failed
                    self.result.pending += len(rest) - failed
                    metrics.delivery(self.name, "failed", failed)
                else:
                    self.result.pending += len(rest)
                break
        return self.result

    def _digest_batches(self, digest_seconds: float) -> list[list[DeliveryRow]]:
        if not self.rows:
            return []
        oldest = min(row.created for row in self.rows)
        if self.clock.now() - oldest < timedelta(seconds=digest_seconds):
            self.result.pending += len(self.rows)
            return []
        return [self.rows]

    def deliver(self, batch: Sequence[DeliveryRow], *, digest: bool) -> _BatchOutcome:
        """Send one delivery (or one digest of several) until it is settled or deferred."""
        policy, clock = self.policy, self.clock
        started = clock.now()
        until = started + timedelta(seconds=policy.lease)
        claimed = [row for row in batch if self.store.claim_delivery(row.id, started, until)]
        if not claimed:
            return "claimed-elsewhere"
        attempts = max(row.attempts for row in claimed)
        while True:
            try:
                self._send(claimed, digest=digest)
            except DeliveryError as error:
                attempts += 1
                outcome = self._failed_attempt(claimed, error, attempts)
            except Exception as error:  # a bug in the channel: recorded, never raised
                attempts += 1
                log.error(
                    "alert channel raised an unexpected error",
                    channel=self.name,
                    error_type=type(error).__name__,
                    where=_where(error),
                )
                message = f"channel error: {type(error).__name__}"
                outcome = self._give_up_or_schedule(claimed, message, attempts, None, in_pass=False)
            else:
                at = clock.now()
                for row in claimed:
                    self.store.mark_sent(row.id, at)
                    metrics.delivered(self.name, row.created, at)
                self.result.sent += len(claimed)
                return "sent"
            if outcome != "retry":
                return outcome

    def _send(self, rows: Sequence[DeliveryRow], *, digest: bool) -> None:
        if digest:
            ids = ",".join(row.story_id for row in rows)
            key = delivery_key(f"digest:{ids}", self.name)
            digester = cast(DigestChannel, self.channel)
            digester.send_digest([row.story for row in rows], key=key)
        else:
            self.channel.send(rows[0].story, key=rows[0].key)

    def _failed_attempt(
        self, rows: Sequence[DeliveryRow], error: DeliveryError, attempts: int
    ) -> _BatchOutcome | Literal["retry"]:
        message = str(error) or type(error).__name__
        self.result.error = message
        if isinstance(error, ChannelGone):
            self.gone_reason = message
            reason = f"receiver says the channel is gone: {message}"
            at = self.clock.now()
            self.store.disable_channel(self.name, reason, at)
            log.warning(
                "alert channel disabled", channel=self.name, reason=reason, status=error.status
            )
            for row in rows:
                self.store.mark_failed(row.id, at, f"channel disabled: {message}")
            self.result.failed += len(rows)
            metrics.delivery(self.name, "failed", len(rows))
            self.result.disabled = True
            return "gone"
        if error.permanent:
            at = self.clock.now()
            for row in rows:
                self.store.mark_failed(row.id, at, message)
            self.result.failed += len(rows)
            metrics.delivery(self.name, "failed", len(rows))
            log.warning("alert delivery failed", channel=self.name, error=message)
            return "failed"
        return self._give_up_or_schedule(rows, message, attempts, error.retry_after, in_pass=True)

    def _give_up_or_schedule(
        self,
        rows: Sequence[DeliveryRow],
        message: str,
        attempts: int,
        retry_after: float | None,
        *,
        in_pass: bool,
    ) -> _BatchOutcome | Literal["retry"]:
        """After a failed attempt: fail at the bound; wait and say "retry" when allowed
        and within the budget; else schedule a later attempt ("deferred" stops the
        channel's pass, "pending" when ``in_pass`` is False goes on with the next)."""
        policy, clock = self.policy, self.clock
        self.result.error = message
        at = clock.now()
        if attempts >= policy.max_attempts:
            for row in rows:
                self.store.mark_failed(row.id, at, message)
            self.result.failed += len(rows)
            metrics.delivery(self.name, "failed", len(rows))
            log.warning(
                "alert delivery failed", channel=self.name, attempts=attempts, error=message
            )
            return "failed"
        delay = backoff(attempts, policy, clock.rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        elapsed = clock.monotonic() - self.started
        if not in_pass or elapsed + delay > policy.pass_budget:
            retry_at = at + timedelta(seconds=delay)
            for row in rows:
                self.store.mark_retry(row.id, at, message, retry_at)
            self.result.pending += len(rows)
            metrics.delivery(self.name, "retry", len(rows))
            log.info(
                "alert delivery deferred",
                channel=self.name,
                attempts=attempts,
                retry_at=retry_at.isoformat(),
                error=message,
            )
            return "deferred" if in_pass else "pending"
        # keep the claim through the wait: hidden until well after the retry
        hold = at + timedelta(seconds=delay + policy.lease)
        for row in rows:
            self.store.mark_retry(row.id, at, message, hold)
        metrics.delivery(self.name, "retry", len(rows))
        log.info(
            "alert delivery retrying", channel=self.name, attempts=attempts, delay=round(delay, 3)
        )
        clock.sleep(delay)
        return "retry"


__all__ = [
    "ChannelResult",
    "DeliveryOutcome",
    "DispatchPolicy",
    "DispatchReport",
    "backoff",
    "deliver_one",
    "dispatch",
]
