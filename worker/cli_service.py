"""``peacewatch run``, ``worker`` and ``beat``: the long-running service (Celery).

- ``run``: one machine. A worker on every queue (poll, deliver, celery) with beat embedded
  (``-B``). With no ``[broker] url`` the broker is embedded too (files in the data dir).
- ``worker``: a worker for a deployment; ``--queues poll`` and ``--queues deliver`` on
  separate workers keep a slow channel from ever delaying polling.
- ``beat``: the scheduler for a deployment. With Redis it uses RedBeat (a lock in Redis),
  so a second beat process waits instead of double-scheduling.

Pool: prefork (time limits are enforced only there). Concurrency defaults to 2 with the
SQLite store (one writer at a time; WAL lets the other wait briefly) and 4 with
PostgreSQL. The config's feeds are merged into the store (and the store migrated) before
the worker starts. With ``[metrics] port`` set, ``run`` and ``worker`` serve ``/metrics``
from the worker's main process. ``--tick`` (hidden, seconds) changes beat's 30 s period (tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from worker.cli import common, opened_store, setup
from worker.settings import Settings

DEFAULT_TICK = 30.0
LOG_LEVELS = {"debug": "DEBUG", "info": "INFO", "warning": "WARNING", "error": "ERROR"}


def _prepare(settings: Settings) -> None:
    """Migrate the store and merge the config's feeds; fail early on bad channels."""
    from worker.alerts import configs_of

    configs_of(settings)
    with opened_store(settings):
        pass


def _loglevel(settings: Settings, debug: bool) -> str:
    return "DEBUG" if debug else LOG_LEVELS[settings.log.level]


def _default_concurrency(settings: Settings) -> int:
    url = settings.storage.url or ""
    return 4 if url.startswith(("postgresql", "postgres")) else 2


def _touch_when(signal: Any, ready_file: str | None) -> None:
    if ready_file is None:
        return

    def touch(**_kwargs: Any) -> None:
        Path(ready_file).write_text("ready\n", encoding="utf-8")

    signal.connect(touch, weak=False)


def _serve_metrics(settings: Settings) -> None:
    """Serve ``/metrics`` from the worker's main process when ``[metrics] port`` is set
    (prefork children's counts are summed with ``PROMETHEUS_MULTIPROC_DIR``; see
    ``worker.metrics``). A port that cannot be bound stops the command at once."""
    from worker.metrics import maybe_start

    try:
        maybe_start(settings)
    except OSError as error:
        where = f"{settings.metrics.addr}:{settings.metrics.port}"
        raise click.ClickException(
            f"cannot serve metrics on {where}: {error.strerror or type(error).__name__}"
        ) from error


def _app(settings: Settings, tick: float, *, warm: bool = False) -> Any:
    from tasks import runtime
    from tasks.app import create_app

    app = create_app(settings, tick=tick)
    if warm:
        runtime.warm()  # children of the prefork pool inherit the warm engine
    return app


def _worker_argv(
    settings: Settings,
    *,
    queues: str,
    concurrency: int | None,
    embed_beat: bool,
    debug: bool,
    hostname: str | None,
) -> list[str]:
    from tasks.app import broker_plan

    plan = broker_plan(settings.broker.url, settings.storage.url)
    argv = [
        "worker",
        "--loglevel",
        _loglevel(settings, debug),
        "--queues",
        queues,
        "--concurrency",
        str(concurrency or _default_concurrency(settings)),
        "--pool",
        "prefork",
        "--without-gossip",
        "--without-mingle",
    ]
    if plan.kind == "embedded":
        argv.append("--without-heartbeat")
    if hostname:
        argv += ["--hostname", hostname]
    if embed_beat:
        argv.append("--beat")
        if plan.kind != "redis":
            argv += ["--schedule", str(plan.schedule_file)]
    return argv


tick_option = click.option("--tick", type=float, default=DEFAULT_TICK, hidden=True)
ready_option = click.option("--ready-file", default=None, hidden=True)
concurrency_option = click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: 2 with SQLite, 4 with PostgreSQL).",
)


@click.command()
@concurrency_option
@tick_option
@ready_option
@common
def run(
    concurrency: int | None,
    tick: float,
    ready_file: str | None,
    config_path: str | None,
    debug: bool,
) -> None:
    """Run the service on this machine: a worker with the scheduler embedded."""
    from celery.signals import worker_ready

    settings = setup(config_path, debug)
    _prepare(settings)
    app = _app(settings, tick, warm=True)
    _serve_metrics(settings)
    _touch_when(worker_ready, ready_file)
    app.worker_main(
        _worker_argv(
            settings,
            queues="poll,deliver,celery",
            concurrency=concurrency,
            embed_beat=True,
            debug=debug,
            hostname=None,
        )
    )


@click.command()
@click.option(
    "--queues",
    default="poll,deliver,celery",
    show_default=True,
    help="Queues to consume (comma-separated): poll, deliver, celery.",
)
@click.option("--hostname", default=None, help="Worker node name (default: celery@HOST).")
@concurrency_option
@tick_option
@ready_option
@common
def worker(
    queues: str,
    hostname: str | None,
    concurrency: int | None,
    tick: float,
    ready_file: str | None,
    config_path: str | None,
    debug: bool,
) -> None:
    """Run a worker (no scheduler): polls feeds and sends alerts from the queues."""
    from celery.signals import worker_ready

    settings = setup(config_path, debug)
    _prepare(settings)
    app = _app(settings, tick, warm=True)
    _serve_metrics(settings)
    _touch_when(worker_ready, ready_file)
    app.worker_main(
        _worker_argv(
            settings,
            queues=queues,
            concurrency=concurrency,
            embed_beat=False,
            debug=debug,
            hostname=hostname,
        )
    )


@click.command()
@tick_option
@ready_option
@common
def beat(tick: float, ready_file: str | None, config_path: str | None, debug: bool) -> None:
    """Run the scheduler: every 30 s it dispatches due feeds and sweeps due alerts."""
    from celery.signals import beat_init

    from tasks.app import broker_plan

    settings = setup(config_path, debug)
    _prepare(settings)
    app = _app(settings, tick)
    _touch_when(beat_init, ready_file)
    plan = broker_plan(settings.broker.url, settings.storage.url)
    argv = ["beat", "--loglevel", _loglevel(settings, debug)]
    if plan.kind != "redis":
        argv += ["--schedule", str(plan.schedule_file)]
    app.start(argv)


COMMANDS = (run, worker, beat)
