"""Prometheus counters move after a real scan and dispatch; /metrics serves them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client import REGISTRY

from tests.support.feedserver import FeedServer
from tests.support.receivers import WebhookReceiver
from worker.alerts import build_channels, routing
from worker.alerts.config import WebhookConfig
from worker.alerts.dispatch import dispatch
from worker.engine import Engine
from worker.errors import FetchError, FetchTimeout, ParseError
from worker.metrics import error_kind, start_metrics_server
from worker.scan import run_scan
from worker.settings import Settings
from worker.store import open_store

DESK = Path(__file__).resolve().parents[2] / "fixtures" / "e2e" / "desk.xml"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_scan_and_dispatch_move_the_counters(tmp_path: Path) -> None:
    settings = Settings.model_validate({"fetch": {"allow_private_networks": True}})
    engine = Engine(threshold=settings.detect.threshold)
    before = {
        "ok": sample("peacewatch_polls_total", outcome="ok"),
        "not_modified": sample("peacewatch_polls_total", outcome="not_modified"),
        "error": sample("peacewatch_polls_total", outcome="error"),
        "http_5xx": sample("peacewatch_fetch_errors_total", kind="http_5xx"),
        "stories": sample("peacewatch_stories_total"),
        "sent": sample("peacewatch_deliveries_total", channel="metrics-hook", state="sent"),
        "latency": sample("peacewatch_fetch_to_delivery_seconds_count"),
    }
    with (
        FeedServer() as server,
        WebhookReceiver() as hook,
        open_store(f"sqlite:///{tmp_path / 'pw.db'}") as store,
    ):
        desk = server.serve("/desk.xml", DESK.read_bytes())
        down = server.status("/down.xml", 502)
        store.upsert_feed(desk, name="Desk")
        store.upsert_feed(down, name="Down")
        configs = [WebhookConfig(name="metrics-hook", url=hook.url)]
        report = run_scan(store, engine, settings, channels_for=routing(configs))
        stories = len(report.stories)
        assert stories >= 1
        run_scan(store, engine, settings, include_all=True)  # desk answers 304 now
        channels = build_channels(configs)
        try:
            result = dispatch(store, channels, now=lambda: datetime.now(UTC))
        finally:
            for channel in channels.values():
                channel.close()
        assert result.total_sent == stories == hook.count

    assert sample("peacewatch_polls_total", outcome="ok") == before["ok"] + 1
    assert sample("peacewatch_polls_total", outcome="not_modified") == before["not_modified"] + 1
    assert sample("peacewatch_polls_total", outcome="error") == before["error"] + 2
    assert sample("peacewatch_fetch_errors_total", kind="http_5xx") == before["http_5xx"] + 2
    assert sample("peacewatch_stories_total") == before["stories"] + stories
    sent_now = sample("peacewatch_deliveries_total", channel="metrics-hook", state="sent")
    assert sent_now == before["sent"] + stories
    latency = sample("peacewatch_fetch_to_delivery_seconds_count")
    assert latency == before["latency"] + stories

    port = start_metrics_server(0)
    page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'peacewatch_polls_total{outcome="not_modified"}' in page
    assert "peacewatch_fetch_to_delivery_seconds_bucket" in page
    assert start_metrics_server(0) == port  # once per process


def test_error_kinds() -> None:
    assert error_kind(FetchTimeout("slow")) == "timeout"
    assert error_kind(FetchError("refused")) == "network"
    assert error_kind(FetchError("gone", status=404)) == "http_4xx"
    assert error_kind(ParseError("not a feed")) == "parse"
    assert error_kind(ValueError("?")) == "other"


MULTIPROCESS_SCRIPT = """
import multiprocessing, sys, urllib.request
from worker import metrics

def child() -> None:
    metrics.poll_succeeded(not_modified=True, new_stories=2)

ctx = multiprocessing.get_context("fork")
for _ in range(3):
    process = ctx.Process(target=child)
    process.start()
    process.join()
port = metrics.start_metrics_server(0)
sys.stdout.write(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode())
"""


def test_multiprocess_mode_sums_the_pool_children(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    proc = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT],
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'peacewatch_polls_total{outcome="not_modified"} 3.0' in proc.stdout
    assert "peacewatch_stories_total 6.0" in proc.stdout
