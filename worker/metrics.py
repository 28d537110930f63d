"""Prometheus metrics: polls, errors, stories, deliveries, fetch-to-delivery latency.

The counters live in ``prometheus_client``'s default registry and are incremented where
the work happens (``worker.scan``, ``worker.alerts.dispatch``); every process counts its
own. A process that should be scraped calls ``maybe_start(settings)`` once at start (the
Celery worker does): with ``[metrics] port`` set it serves ``/metrics`` on
``[metrics] addr`` (default 127.0.0.1; 0.0.0.0 in a container).

Celery's prefork pool counts in child processes: set ``PROMETHEUS_MULTIPROC_DIR`` (an
empty folder; created if missing) in the environment before the worker starts, and the
server sums every process's files (prometheus_client's multiprocess mode).

The 304 ratio is ``rate(peacewatch_polls_total{outcome="not_modified"}[5m]) /
rate(peacewatch_polls_total[5m])``.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime

# Multiprocess mode needs its folder before prometheus_client creates the first value.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    multiprocess,
    start_http_server,
)

from worker.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    ParseError,
    TooLarge,
)
from worker.settings import Settings

log = structlog.get_logger("peacewatch.metrics")

POLLS = Counter("peacewatch_polls", "Feed polls by outcome (ok, not_modified, error).", ["outcome"])
FETCH_ERRORS = Counter("peacewatch_fetch_errors", "Failed polls by kind of error.", ["kind"])
STORIES = Counter("peacewatch_stories", "New mediation stories stored.")
DELIVERIES = Counter(
    "peacewatch_deliveries",
    "Alert delivery outcomes by channel and state (sent, failed, retry).",
    ["channel", "state"],
)
FETCH_TO_DELIVERY = Histogram(
    "peacewatch_fetch_to_delivery_seconds",
    "Seconds from the poll that found a story to its alert being accepted.",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, float("inf")),
)

_started: dict[tuple[str, int], int] = {}
_lock = threading.Lock()


def error_kind(error: BaseException) -> str:
    """A small fixed vocabulary for the ``kind`` label (never the message: no secrets)."""
    if isinstance(error, ParseError):
        return "parse"
    if isinstance(error, FetchTimeout):
        return "timeout"
    if isinstance(error, TooLarge):
        return "too_large"
    if isinstance(error, BlockedAddress):
        return "blocked"
    if isinstance(error, FetchError):
        if error.status is not None:
            return f"http_{error.status // 100}xx"
        return "network"
    return "other"


def poll_succeeded(*, not_modified: bool, new_stories: int) -> None:
    POLLS.labels(outcome="not_modified" if not_modified else "ok").inc()
    if new_stories:
        STORIES.inc(new_stories)


def poll_failed(error: BaseException) -> None:
    POLLS.labels(outcome="error").inc()
    FETCH_ERRORS.labels(kind=error_kind(error)).inc()


def delivery(channel: str, state: str, count: int = 1) -> None:
    if count:
        DELIVERIES.labels(channel=channel, state=state).inc(count)


def delivered(channel: str, created: datetime, at: datetime) -> None:
    """One alert accepted at ``at`` whose delivery row was written at ``created``."""
    delivery(channel, "sent")
    FETCH_TO_DELIVERY.observe(max((at - created).total_seconds(), 0.0))


def start_metrics_server(port: int, addr: str = "127.0.0.1") -> int:
    """Serve ``/metrics`` on ``addr:port`` in a daemon thread, once per process and
    address; the bound port (``port`` 0 picks a free one)."""
    with _lock:
        bound = _started.get((addr, port))
        if bound is not None:
            return bound
        server, _thread = start_http_server(port, addr=addr, registry=_registry())
        bound = int(server.server_port)
        _started[(addr, port)] = bound
    log.info("metrics server started", addr=addr, port=bound)
    return bound


def _registry() -> CollectorRegistry:
    """The default registry, or in multiprocess mode one summing every process's files."""
    from prometheus_client import REGISTRY

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def maybe_start(settings: Settings) -> bool:
    """Start the metrics server when ``[metrics] port`` is set; True if it runs."""
    port = settings.metrics.port
    if port is None:
        return False
    start_metrics_server(port, settings.metrics.addr)
    return True
