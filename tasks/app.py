"""The Celery app, configured from PeaceWatch settings.

Broker: ``[broker] url`` (or ``$PEACEWATCH_BROKER_URL``). A ``redis://``/``rediss://`` URL
uses Redis, with RedBeat as beat's scheduler (its lock in Redis means a second beat process
never double-schedules). No URL means the *embedded* broker: kombu's filesystem transport
in a folder of the data dir (beside a SQLite store, else ``user_data_dir("peacewatch")``),
so ``peacewatch run`` works on a fresh machine with no server; beat then keeps its schedule
in a local file there. Any other URL is handed to Celery as it is (file schedule).

Reliability (see ``celery_config``): JSON only; no result backend (``task_ignore_result``);
``acks_late`` + ``task_reject_on_worker_lost`` (every task is idempotent, so a redelivery
after a crash is harmless); prefetch multiplier 1; soft/hard time limits per task; a soft
shutdown window; Redis ``visibility_timeout`` above the longest task and any countdown
(countdowns are capped at ``MAX_COUNTDOWN``). Time limits are enforced by the prefork
pool (the default here). The embedded broker hands a message out once and keeps an
unacknowledged one only in the worker's memory: after a crash the feed leases run out and
the delivery sweep finds what is due, so nothing is lost for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import platformdirs
from celery import Celery
from sqlalchemy.engine import make_url

from tasks import runtime
from tasks.schedule import DISPATCH_EVERY, beat_schedule

BrokerKind = Literal["redis", "embedded", "other"]

POLL_QUEUE = "poll"
DELIVER_QUEUE = "deliver"
DEFAULT_QUEUE = "celery"
QUEUES = (POLL_QUEUE, DELIVER_QUEUE, DEFAULT_QUEUE)

# Time limits (seconds): soft raises SoftTimeLimitExceeded in the task, hard kills it.
POLL_SOFT_LIMIT = 240
POLL_HARD_LIMIT = 300
DELIVER_SOFT_LIMIT = 120
DELIVER_HARD_LIMIT = 150
SCHEDULE_SOFT_LIMIT = 50
SCHEDULE_HARD_LIMIT = 60
# No countdown/ETA is ever longer than this; the Redis visibility timeout is above both.
MAX_COUNTDOWN = 600
VISIBILITY_TIMEOUT = 3600
SOFT_SHUTDOWN_TIMEOUT = 30.0
REDBEAT_KEY_PREFIX = "peacewatch:redbeat"

assert max(POLL_HARD_LIMIT, DELIVER_HARD_LIMIT) + MAX_COUNTDOWN < VISIBILITY_TIMEOUT


@dataclass(frozen=True, slots=True)
class BrokerPlan:
    """Where messages go: ``url`` for Celery, ``kind``, and the local data folder."""

    kind: BrokerKind
    url: str
    data_dir: Path

    @property
    def queue_dir(self) -> Path:
        return self.data_dir / "broker" / "queue"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "broker" / "processed"

    @property
    def control_dir(self) -> Path:
        return self.data_dir / "broker" / "control"

    @property
    def schedule_file(self) -> Path:
        return self.data_dir / "celerybeat-schedule"


def data_dir_for(storage_url: str | None) -> Path:
    """The folder for the embedded broker and beat's schedule: beside a SQLite store file,
    else the user data directory."""
    if storage_url:
        url = make_url(storage_url)
        database = url.database or ""
        is_file = database not in ("", ":memory:") and not database.startswith("file:")
        if url.get_backend_name() == "sqlite" and is_file:
            return Path(database).expanduser().parent
    return Path(platformdirs.user_data_dir("peacewatch"))


def broker_plan(
    broker_url: str | None, storage_url: str | None, data_dir: Path | None = None
) -> BrokerPlan:
    folder = data_dir or data_dir_for(storage_url)
    if not broker_url:
        return BrokerPlan("embedded", "filesystem://", folder)
    scheme = broker_url.split(":", 1)[0].lower()
    if scheme in ("redis", "rediss"):
        return BrokerPlan("redis", broker_url, folder)
    return BrokerPlan("other", broker_url, folder)


def celery_config(plan: BrokerPlan, *, tick: float = DISPATCH_EVERY) -> dict[str, Any]:
    """Celery settings for ``plan``; ``tick`` is how often beat dispatches and sweeps."""
    config: dict[str, Any] = {
        "broker_url": plan.url,
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        "result_backend": None,
        "task_ignore_result": True,
        "task_store_errors_even_if_ignored": False,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": DELIVER_SOFT_LIMIT,
        "task_time_limit": DELIVER_HARD_LIMIT,
        "worker_soft_shutdown_timeout": SOFT_SHUTDOWN_TIMEOUT,
        "worker_enable_soft_shutdown_on_idle": True,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "timezone": "UTC",
        "enable_utc": True,
        "task_default_queue": DEFAULT_QUEUE,
        "task_create_missing_queues": True,  # queues named in routes and -Q
        "task_routes": {
            "peacewatch.dispatch_due_feeds": {"queue": POLL_QUEUE},
            "peacewatch.poll_feed": {"queue": POLL_QUEUE},
            "peacewatch.deliver": {"queue": DELIVER_QUEUE},
            "peacewatch.sweep_deliveries": {"queue": DELIVER_QUEUE},
        },
        "beat_schedule": beat_schedule(tick),
        "beat_max_loop_interval": max(1.0, min(tick, 5.0)),
    }
    if plan.kind == "embedded":
        for folder in (plan.queue_dir, plan.processed_dir, plan.control_dir):
            folder.mkdir(parents=True, exist_ok=True)
        config["broker_transport_options"] = {
            "data_folder_in": str(plan.queue_dir),
            "data_folder_out": str(plan.queue_dir),
            "processed_folder": str(plan.processed_dir),
            "control_folder": str(plan.control_dir),
            "store_processed": False,
            "polling_interval": 0.5,  # seconds between looks at an empty queue folder
        }
        config["worker_enable_remote_control"] = False
        config["beat_schedule_filename"] = str(plan.schedule_file)
    elif plan.kind == "redis":
        config["broker_transport_options"] = {"visibility_timeout": VISIBILITY_TIMEOUT}
        config["beat_scheduler"] = "tasks.beat:ResilientRedBeatScheduler"
        config["redbeat_redis_url"] = plan.url
        config["redbeat_redis_options"] = {}
        config["redbeat_key_prefix"] = REDBEAT_KEY_PREFIX
        # a beat that dies hands over to a waiting one within this many seconds
        config["redbeat_lock_timeout"] = max(5 * config["beat_max_loop_interval"], 10.0)
    else:
        config["beat_schedule_filename"] = str(plan.schedule_file)
    return config


def create_app(
    settings: Any,
    *,
    data_dir: Path | None = None,
    tick: float = DISPATCH_EVERY,
) -> Celery:
    """The PeaceWatch Celery app for ``settings`` (a ``worker.settings.Settings``), with
    the tasks registered and the settings handed to each worker process."""
    from tasks.tasks import register

    plan = broker_plan(settings.broker.url, settings.storage.url, data_dir)
    app = Celery("peacewatch", set_as_current=True)
    app.conf.update(celery_config(plan, tick=tick))
    register(app)
    runtime.configure(settings, tick=tick)
    return app
