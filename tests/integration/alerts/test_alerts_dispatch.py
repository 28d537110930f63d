"""The dispatcher on a real store (SQLite and PostgreSQL) with recording channels and a
fake clock: exactly-once sends, backoff, budgets, disabled channels, threads, digests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.support.channels import (
    DigestRecordingChannel,
    FakeClock,
    RecordingChannel,
    gone,
    rate_limited,
    rejected,
    server_error,
)
from worker.alerts.base import Channel, delivery_key
from worker.alerts.dispatch import (
    ChannelResult,
    DispatchPolicy,
    DispatchReport,
    backoff,
    deliver_one,
    dispatch,
)
from worker.models import Story
from worker.store import Store, open_store

T0 = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)
MakeStory = Callable[..., Story]
WAIT = 30.0  # seconds a test waits for another thread before failing
DEFAULT_POLICY = DispatchPolicy()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + timedelta(minutes=1))


def _save(
    store: Store, make: MakeStory, ids: Sequence[str], channels: Sequence[str], at: datetime = T0
) -> None:
    for offset, story_id in enumerate(ids):
        store.save_stories(
            [(None, make(story_id))],
            now=at + timedelta(seconds=offset),
            channels_for=lambda _story: list(channels),
        )


def _run(
    store: Store,
    channels: Sequence[RecordingChannel],
    clock: FakeClock,
    policy: DispatchPolicy = DEFAULT_POLICY,
    rng: Callable[[], float] = lambda: 1.0,
    **options: Any,
) -> DispatchReport:
    mapping: Mapping[str, Channel] = {channel.name: channel for channel in channels}
    return dispatch(
        store,
        mapping,
        now=clock.now,
        policy=policy,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        rng=rng,
        **options,
    )


def _states(store: Store, channel: str | None = None) -> dict[str, tuple[str, int]]:
    """story id → (state, attempts) of the deliveries (of ``channel``)."""
    return {
        item["story_id"]: (item["state"], item["attempts"])
        for item in store.list_deliveries(limit=1000)
        if channel is None or item["channel"] == channel
    }


def test_a_successful_send_is_marked_sent_and_never_repeated(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1", "s2"], ["ops"])
    ops = RecordingChannel("ops")
    report = _run(store, [ops], clock)
    assert (report.sent, report.failed, report.pending, report.disabled) == ({"ops": 2}, {}, {}, [])
    assert report.total_sent == 2 and report.total_failed == report.total_pending == 0
    assert [(call.story_ids, call.key) for call in ops.calls] == [
        (("s1",), delivery_key("s1", "ops")),
        (("s2",), delivery_key("s2", "ops")),
    ]
    assert _states(store) == {"s1": ("sent", 1), "s2": ("sent", 1)}
    sent_at = {item["sent_at"] for item in store.list_deliveries()}
    assert sent_at == {clock.now().isoformat()}
    # a second pass has nothing to do
    again = _run(store, [ops], clock)
    assert again.total_sent == 0 and again.channels == []
    assert len(ops.calls) == 2
    assert clock.sleeps == []


def test_server_errors_are_retried_with_the_same_key_until_accepted(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1"], ["ops"])
    ops = RecordingChannel("ops", [server_error(500), server_error(502), None])
    report = _run(store, [ops], clock, rng=lambda: 0.0)
    assert report.sent == {"ops": 1} and report.failed == {} and report.pending == {}
    assert [call.accepted for call in ops.calls] == [False, False, True]
    assert {call.key for call in ops.calls} == {delivery_key("s1", "ops")}
    assert len(ops.accepted) == 1
    # backoff: base 1s doubling, jitter factor 0.5 with rng() == 0
    assert clock.sleeps == [0.5, 1.0]
    assert _states(store) == {"s1": ("sent", 3)}
    [row] = store.list_deliveries()
    assert row["last_error"] == "receiver answered HTTP 502"  # the history of the last failure


def test_rate_limits_wait_at_least_retry_after(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1"], ["ops"])
    ops = RecordingChannel("ops", [rate_limited(retry_after=7.0)])
    report = _run(store, [ops], clock, rng=lambda: 0.0)
    assert report.sent == {"ops": 1}
    assert clock.sleeps == [7.0] and clock.monotonic() >= 7.0
    assert len(ops.accepted) == 1 and len(ops.calls) == 2


def test_retry_after_of_one_second(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1"], ["ops"])
    ops = RecordingChannel("ops", [rate_limited(retry_after=1.0)])
    _run(store, [ops], clock, rng=lambda: 0.0)
    assert sum(clock.sleeps) >= 1.0
    assert len(ops.accepted) == 1 and _states(store) == {"s1": ("sent", 2)}


def test_a_permanent_error_fails_after_one_attempt_and_the_rest_go_on(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["bad", "good"], ["ops"])
    ops = RecordingChannel("ops", [rejected(400)])
    report = _run(store, [ops], clock)
    assert (report.sent, report.failed) == ({"ops": 1}, {"ops": 1})
    assert report.errors == {"ops": "receiver refused the alert (HTTP 400)"}
    assert _states(store) == {"bad": ("failed", 1), "good": ("sent", 1)}
    assert [item["last_error"] for item in store.list_deliveries(failed_only=True)] == [
        "receiver refused the alert (HTTP 400)"
    ]
    assert clock.sleeps == []


def test_a_gone_channel_is_disabled_and_skipped_afterwards(
    delivery_store: Store,
    make_alert_story: MakeStory,
    clock: FakeClock,
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1", "s2", "s3"], ["hook", "log"])
    hook, log = RecordingChannel("hook", [gone()]), RecordingChannel("log")
    report = _run(store, [hook, log], clock)
    assert report.disabled == ["hook"]
    assert (report.sent, report.failed) == ({"log": 3}, {"hook": 3})
    assert len(hook.calls) == 1  # nothing more is sent to a gone receiver
    assert len(log.accepted) == 3
    disabled = store.disabled_channels()
    assert list(disabled) == ["hook"] and "410" in disabled["hook"]
    errors = {item["last_error"] for item in store.list_deliveries() if item["channel"] == "hook"}
    assert errors == {"channel disabled: receiver answered HTTP 410 Gone"}

    # later stories for the disabled channel wait, reported, and are not sent
    _save(store, make_alert_story, ["s4"], ["hook", "log"], at=clock.now())
    clock.advance(60)
    later = _run(store, [hook, log], clock)
    assert later.disabled == ["hook"] and later.pending == {"hook": 1}
    assert later.sent == {"log": 1}
    assert len(hook.calls) == 1
    assert _states(store, "hook")["s4"] == ("pending", 0)

    # re-enabled by the user: the waiting one goes out
    store.enable_channel("hook")
    final = _run(store, [hook, log], clock)
    assert final.sent == {"hook": 1} and final.disabled == []
    assert hook.accepted[-1].story_ids == ("s4",)


def test_attempts_are_bounded_then_retry_failed_sends_again(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1"], ["ops"])
    policy = DispatchPolicy(max_attempts=3, base_delay=2.0, max_delay=3.0)
    ops = RecordingChannel("ops", [server_error(503)] * 3)
    report = _run(store, [ops], clock, policy)
    assert report.failed == {"ops": 1} and report.sent == {}
    assert len(ops.calls) == 3 and clock.sleeps == [2.0, 3.0]  # capped at max_delay
    assert _states(store) == {"s1": ("failed", 3)}
    assert _run(store, [ops], clock, policy).channels == []  # failed stays failed

    assert store.retry_failed(now=clock.now()) == 1
    again = _run(store, [ops], clock, policy)
    assert again.sent == {"ops": 1}
    assert [call.accepted for call in ops.calls] == [False, False, False, True]
    assert {call.key for call in ops.calls} == {delivery_key("s1", "ops")}
    assert _states(store) == {"s1": ("sent", 1)}


def test_the_pass_budget_defers_a_failing_channel_to_a_later_pass(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1", "s2", "s3"], ["ops"])
    policy = DispatchPolicy(max_attempts=10, base_delay=4.0, max_delay=60.0, pass_budget=10.0)
    ops = RecordingChannel("ops", [server_error(500)] * 3)
    report = _run(store, [ops], clock, policy)
    # waits 4 then 8 (total 12 > 10): the third failure is left for later
    assert clock.sleeps == [4.0]
    assert report.pending == {"ops": 3} and report.sent == {} and report.failed == {}
    assert len(ops.calls) == 2
    assert _states(store) == {"s1": ("pending", 2), "s2": ("pending", 0), "s3": ("pending", 0)}
    [first] = [item for item in store.list_deliveries() if item["story_id"] == "s1"]
    retry_at = clock.now() + timedelta(seconds=8)
    assert first["next_attempt"] == retry_at.isoformat()

    # s2 and s3 are still due; s1 is not until its retry time. Next pass: ops recovers.
    ops.script = [server_error(500)]
    clock.advance(1)
    report = _run(store, [ops], clock, policy)
    assert report.sent == {"ops": 2}  # s2 failed once and was retried; s3 sent
    clock.advance(60)
    report = _run(store, [ops], clock, policy)
    assert report.sent == {"ops": 1}
    assert _states(store) == {"s1": ("sent", 3), "s2": ("sent", 2), "s3": ("sent", 1)}
    assert sorted(call.story_ids[0] for call in ops.accepted) == ["s1", "s2", "s3"]


def test_a_retry_after_beyond_the_budget_is_honoured_later(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1"], ["ops"])
    ops = RecordingChannel("ops", [rate_limited(retry_after=600.0)])
    report = _run(store, [ops], clock, DispatchPolicy(pass_budget=120.0))
    assert report.pending == {"ops": 1} and clock.sleeps == []
    clock.advance(599)
    assert _run(store, [ops], clock).channels == []  # not yet due
    clock.advance(1)
    assert _run(store, [ops], clock).sent == {"ops": 1}
    assert len(ops.calls) == 2


def test_a_channel_bug_is_recorded_without_its_message(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1", "s2"], ["ops"])
    ops = RecordingChannel("ops", [KeyError("token=hunter2")])
    with capture_logs() as logs:
        report = _run(store, [ops], clock)
    [logged] = [entry for entry in logs if entry.get("error_type") == "KeyError"]
    assert logged["channel"] == "ops" and "channels.py" in logged["where"]
    assert "hunter2" not in repr(logs)
    assert report.sent == {"ops": 1} and report.pending == {"ops": 1}
    [buggy] = [item for item in store.list_deliveries() if item["story_id"] == "s1"]
    assert (buggy["state"], buggy["attempts"], buggy["last_error"]) == (
        "pending",
        1,
        "channel error: KeyError",
    )
    assert clock.sleeps == []  # no in-pass retry of a bug


def test_a_slow_channel_does_not_hold_up_another(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1", "s2"], ["slow", "fast"])
    gate = threading.Event()
    slow, fast = RecordingChannel("slow", gate=gate), RecordingChannel("fast")
    fast_done = threading.Event()
    finished: dict[str, ChannelResult] = {}

    def done(name: str, result: ChannelResult) -> None:
        finished[name] = result
        if name == "fast":
            fast_done.set()

    reports: list[DispatchReport] = []
    runner = threading.Thread(
        target=lambda: reports.append(_run(store, [slow, fast], clock, on_channel_done=done))
    )
    runner.start()
    try:
        assert fast_done.wait(WAIT), "the fast channel did not finish while the slow one hung"
        assert slow.entered.wait(WAIT)
        assert runner.is_alive() and "slow" not in finished
        assert _states(store, "fast") == {"s1": ("sent", 1), "s2": ("sent", 1)}
        assert _states(store, "slow") == {"s1": ("pending", 0), "s2": ("pending", 0)}
        assert slow.calls == []
    finally:
        gate.set()
        runner.join(WAIT)
    assert not runner.is_alive()
    [report] = reports
    assert report.sent == {"slow": 2, "fast": 2}
    assert finished["slow"].sent == 2


def test_a_crash_mid_send_resends_with_the_same_key_after_the_lease(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    class Crash(BaseException):
        """The process dies after the receiver got the alert, before it was recorded."""

    store = delivery_store
    _save(store, make_alert_story, ["s1"], ["hook"])
    policy = DispatchPolicy(lease=300.0)
    crashing = RecordingChannel("hook", [Crash()])
    with pytest.raises(Crash):
        _run(store, [crashing], clock, policy)
    assert _states(store) == {"s1": ("pending", 0)}
    restarted = RecordingChannel("hook")
    clock.advance(299)
    assert _run(store, [restarted], clock, policy).channels == []  # still leased
    clock.advance(1)
    assert _run(store, [restarted], clock, policy).sent == {"hook": 1}
    assert crashing.calls[0].key == restarted.calls[0].key == delivery_key("s1", "hook")


def test_two_dispatchers_never_send_the_same_delivery(
    delivery_store: Store, make_alert_story: MakeStory, clock: FakeClock
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1", "s2", "s3"], ["ops"])
    gate = threading.Event()
    first = RecordingChannel("ops", gate=gate)
    runner = threading.Thread(target=lambda: _run(store, [first], clock))
    runner.start()
    try:
        assert first.entered.wait(WAIT)  # the first dispatcher holds s1
        second = RecordingChannel("ops")
        report = _run(store, [second], clock)
        assert [call.story_ids for call in second.calls] == [("s2",), ("s3",)]
        assert report.sent == {"ops": 2}
    finally:
        gate.set()
        runner.join(WAIT)
    assert not runner.is_alive()
    assert [call.story_ids for call in first.accepted] == [("s1",)]
    assert _states(store) == {"s1": ("sent", 1), "s2": ("sent", 1), "s3": ("sent", 1)}


def test_digests_wait_for_the_period_then_send_one_message(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    clock = FakeClock(T0)
    _save(store, make_alert_story, ["s1", "s2"], ["mail", "ops"], at=T0)
    mail, ops = DigestRecordingChannel("mail", digest_seconds=3600), RecordingChannel("ops")
    clock.advance(600)
    early = _run(store, [mail, ops], clock)
    assert early.pending == {"mail": 2} and early.sent == {"ops": 2}
    assert mail.calls == []
    _save(store, make_alert_story, ["s3"], ["mail"], at=clock.now())
    clock.advance(3000)  # the oldest has waited 3600 s
    due = _run(store, [mail, ops], clock)
    assert due.sent == {"mail": 3}
    [digest] = mail.calls
    assert digest.story_ids == ("s1", "s2", "s3")
    assert digest.key == delivery_key("digest:s1,s2,s3", "mail")
    assert _states(store, "mail") == {s: ("sent", 1) for s in ("s1", "s2", "s3")}
    assert _run(store, [mail, ops], clock).channels == []


def test_a_failing_digest_is_retried_as_one_message(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    clock = FakeClock(T0 + timedelta(hours=2))
    _save(store, make_alert_story, ["s1", "s2"], ["mail"], at=T0)
    mail = DigestRecordingChannel("mail", digest_seconds=3600, script=[server_error(451)])
    report = _run(store, [mail], clock, rng=lambda: 0.0)
    assert report.sent == {"mail": 2}
    assert [call.story_ids for call in mail.calls] == [("s1", "s2"), ("s1", "s2")]
    assert len({call.key for call in mail.calls}) == 1
    assert _states(store) == {"s1": ("sent", 2), "s2": ("sent", 2)}


def test_deliver_one_makes_a_single_recorded_attempt(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1", "s2"], ["ops"])
    now = T0 + timedelta(minutes=1)
    first, second = (row.id for row in store.due_deliveries(now))
    ops = RecordingChannel("ops", [server_error(500)])
    policy = DispatchPolicy(base_delay=10.0)
    assert deliver_one(store, ops, first, now=now, policy=policy, rng=lambda: 1.0) == "pending"
    row = store.get_delivery(first)
    assert row is not None and row.next_attempt == now + timedelta(seconds=10)
    # not due yet: nothing is sent
    assert deliver_one(store, ops, first, now=now, policy=policy) == "pending"
    assert len(ops.calls) == 1
    assert deliver_one(store, ops, first, now=now + timedelta(seconds=10)) == "sent"
    assert deliver_one(store, ops, first, now=now + timedelta(seconds=20)) == "sent"
    assert len(ops.calls) == 2
    ops.script = [rejected(403)]
    assert deliver_one(store, ops, second, now=now) == "failed"
    assert deliver_one(store, ops, 10_000_000, now=now) == "missing"


def test_deliver_one_disables_a_gone_channel(
    delivery_store: Store, make_alert_story: MakeStory
) -> None:
    store = delivery_store
    _save(store, make_alert_story, ["s1", "s2"], ["hook"])
    now = T0 + timedelta(minutes=1)
    first, second = (row.id for row in store.due_deliveries(now))
    hook = RecordingChannel("hook", [gone()])
    assert deliver_one(store, hook, first, now=now) == "failed"
    assert "hook" in store.disabled_channels()
    assert deliver_one(store, hook, second, now=now) == "pending"
    assert len(hook.calls) == 1


def test_backoff_grows_caps_and_jitters() -> None:
    policy = DispatchPolicy(base_delay=1.0, max_delay=30.0)
    assert [backoff(n, policy, lambda: 1.0) for n in (1, 2, 3, 4, 5, 6, 60)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
    ]
    assert backoff(3, policy, lambda: 0.0) == 2.0
    assert backoff(3, policy, lambda: 0.5) == 3.0


def test_an_in_memory_store_serves_every_channel_thread(make_alert_story: MakeStory) -> None:
    # one SQLite connection shared by all threads: the store makes transactions take turns
    names = [f"channel-{n}" for n in range(5)]
    with open_store("sqlite://") as store:
        store.save_stories(
            [(None, make_alert_story(f"s{n}")) for n in range(40)],
            now=T0,
            channels_for=lambda _story: names,
        )
        channels = [RecordingChannel(name) for name in names]
        report = _run(store, channels, FakeClock(T0 + timedelta(minutes=1)))
        assert report.sent == dict.fromkeys(names, 40)
        assert all(len(channel.accepted) == 40 for channel in channels)
        assert store.delivery_counts() == {name: {"sent": 40} for name in names}
