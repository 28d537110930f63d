"""The ``peacewatch`` command line. Errors a user can cause print one line and exit 1."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from worker import __version__
from worker.console import err, out, print_story, records_table, stories_table
from worker.durations import format_duration, parse_duration
from worker.errors import InputError, PeaceWatchError
from worker.logs import configure_logging
from worker.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def common(func: F) -> F:
    """--config and --debug on every command."""
    func = click.option(
        "--debug", is_flag=True, help="Show debug logs and full tracebacks on errors."
    )(func)
    func = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Config file (default: $PEACEWATCH_CONFIG, else ./config/peacewatch.toml, "
        "else built-in defaults).",
    )(func)
    return func


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON records.")(func)


def setup(config_path: str | None, debug: bool) -> Settings:
    settings = load_settings(config_path)
    configure_logging(
        "debug" if debug else settings.log.level, json_format=settings.log.json_format
    )
    return settings


@contextmanager
def opened_store(settings: Settings) -> Iterator[Any]:
    """The store with the config's feeds merged in; closed on exit."""
    from worker.store import open_store

    store = open_store(settings.storage.url)
    try:
        store.sync_config_feeds(
            [
                (feed.url, feed.name, int(feed.interval) if feed.interval else None)
                for feed in settings.feeds
            ]
        )
        yield store
    finally:
        store.close()


def emit_json(record: Any) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def progress_bar(label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="peacewatch")
def cli() -> None:
    """PeaceWatch: watch news feeds for peace-mediation stories and explain them."""


# --------------------------------------------------------------------------- scan
@cli.command()
@click.option("--all", "include_all", is_flag=True, help="Poll every feed, not only due ones.")
@json_option
@common
def scan(include_all: bool, as_json: bool, config_path: str | None, debug: bool) -> None:
    """One pass: poll due feeds, store new entries, detect and extract, report stories."""
    from worker.alerts import build_channels, configs_of, routing
    from worker.engine import Engine
    from worker.scan import FeedOutcome, run_scan

    settings = setup(config_path, debug)
    engine = Engine(threshold=settings.detect.threshold, extra_actors=settings.gazetteer.actors)
    if settings.gazetteer.actors:
        _ = engine.gazetteer  # a bad [[gazetteer.actors]] entry stops here, before any polling
    configs = configs_of(settings)  # a misconfigured channel stops here, by name
    channels = build_channels(configs)
    with opened_store(settings) as store, progress_bar("Scanning") as bar:
        task = bar.add_task("", total=None)

        def started(count: int) -> None:
            bar.update(task, total=count)

        def done(outcome: FeedOutcome) -> None:
            bar.update(task, advance=1, description=outcome.name or outcome.url)

        report = run_scan(
            store,
            engine,
            settings,
            include_all=include_all,
            on_start=started,
            on_done=done,
            channels_for=routing(configs) if configs else None,
        )
        delivered = _dispatch(store, channels, settings) if channels else None
        _notify_ops(store, configs)
    stories = [s.to_dict() for s in report.stories]
    if as_json:
        for story in stories:
            emit_json(story)
        _print_failures(report.failed, to_stderr=True)
        return
    if stories:
        out.print(stories_table(stories, "New mediation stories"))
    _print_failures(report.failed, to_stderr=False)
    summary = (
        f"{len(report.outcomes)} feeds polled ({report.not_modified} not modified, "
        f"{len(report.failed)} failed), {report.new_entries} new entries, "
        f"{len(stories)} new mediation stories"
    )
    if delivered is not None:
        summary += (
            f"; alerts: {delivered.total_sent} sent, {delivered.total_failed} failed, "
            f"{delivered.total_pending} waiting"
        )
    out.print(summary + ".")


def _dispatch(store: Any, channels: dict[str, Any], settings: Settings) -> Any:
    """Send every due delivery, each channel on its own, and say what did not go out."""
    from worker.alerts.dispatch import DispatchPolicy, dispatch

    alerts = settings.alerts
    policy = DispatchPolicy(
        max_attempts=alerts.max_attempts,
        base_delay=alerts.base_delay,
        max_delay=alerts.max_delay,
        pass_budget=alerts.pass_budget,
        lease=alerts.lease,
    )
    try:
        report = dispatch(store, channels, now=lambda: datetime.now(UTC), policy=policy)
    finally:
        for channel in channels.values():
            channel.close()
    for name in report.disabled:
        err.print(f"channel {name!r} is disabled (see `peacewatch alerts --failed`)", markup=False)
    for name, count in report.failed.items():
        if count:
            err.print(f"channel {name!r}: {count} alerts failed", markup=False)
    return report


def _notify_ops(store: Any, configs: Sequence[Any]) -> None:
    """Tell the ``ops = true`` channels, once per episode, about feeds failing for 24 h."""
    from worker.alerts import build_channels
    from worker.health import notify_ops

    ops = [config for config in configs if config.ops]
    if not ops:
        return
    channels = build_channels(ops)
    try:
        notify_ops(store, channels, list(channels), datetime.now(UTC))
    finally:
        for channel in channels.values():
            channel.close()


def _print_failures(failed: Sequence[Any], *, to_stderr: bool) -> None:
    console = err if to_stderr else out
    for outcome in failed:
        console.print(f"feed failed: {outcome.url}: {outcome.error}", markup=False)


# --------------------------------------------------------------------------- check
@cli.command()
@click.argument("source")
@click.option("--title", default=None, help="Headline (for plain text or HTML input).")
@click.option("--published", default=None, help="Publication date or time (default: now).")
@click.option("--source", "source_name", default=None, help="Outlet name to report.")
@json_option
@common
def check(
    source: str,
    title: str | None,
    published: str | None,
    source_name: str | None,
    as_json: bool,
    config_path: str | None,
    debug: bool,
) -> None:
    """Analyse one article: a URL, a local text/HTML/RSS/JSONL file, or - for stdin."""
    from worker.check import load_entries
    from worker.engine import Engine
    from worker.timeparse import parse_timestamp

    settings = setup(config_path, debug)
    try:
        when = parse_timestamp(published) if published else datetime.now(UTC)
    except ValueError as exc:
        raise InputError(f"--published: {exc}") from exc
    if "://" in source:
        _check_url_syntax(source)
    entries = load_entries(
        source, settings=settings, title=title, published=when, source_name=source_name
    )
    engine = Engine(threshold=settings.detect.threshold, extra_actors=settings.gazetteer.actors)
    for entry in entries:
        story = engine.analyse(entry).to_dict()
        if as_json:
            emit_json(story)
        else:
            print_story(story)


# --------------------------------------------------------------------------- eval
@cli.command(name="eval")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--include-borderline", is_flag=True, help="Score borderline records too.")
@click.option("--show-errors", is_flag=True, help="List the records detection got wrong.")
@json_option
@common
def eval_command(
    file: Path,
    include_borderline: bool,
    show_errors: bool,
    as_json: bool,
    config_path: str | None,
    debug: bool,
) -> None:
    """Score detection and extraction against labelled records (JSONL)."""
    from worker.engine import Engine
    from worker.evaluate import evaluate, load_for_eval, mistakes

    settings = setup(config_path, debug)
    records = load_for_eval(file, include_borderline=include_borderline)
    if not records:
        raise InputError(f"{file}: no labelled records to score")
    engine = Engine(threshold=settings.detect.threshold, extra_actors=settings.gazetteer.actors)
    with progress_bar("Scoring") as bar:
        task = bar.add_task("", total=len(records))
        result, pairs = evaluate(records, engine, progress=lambda n: bar.update(task, completed=n))
    if as_json:
        emit_json(result)
        return
    det = result["detection"]
    rows: list[dict[str, Any]] = [
        {
            "measure": "detection",
            "precision": det["precision"],
            "recall": det["recall"],
            "f1": det["f1"],
            "detail": f"tp {det['tp']} fp {det['fp']} fn {det['fn']}",
        },
    ]
    for name in ("mediators", "parties", "event_types"):
        field = result["fields"][name]
        rows.append({"measure": name, **field})
    date = result["fields"]["event_date"]
    rows.append({"measure": "event_date", "detail": f"accuracy {date['accuracy']} (n={date['n']})"})
    out.print(
        records_table(
            rows,
            ["measure", "precision", "recall", "f1", "detail"],
            f"{file}: {result['n']} records"
            + ("" if include_borderline else " (borderline left out)"),
        )
    )
    out.print(f"{result['entries_per_second']} entries per second")
    if show_errors:
        for row in mistakes(pairs):
            out.print(
                f"line {row['line']}: labelled {row['label']}, predicted {row['predicted']} "
                f"({row['score']:.2f}): {row['title']}",
                markup=False,
            )


# --------------------------------------------------------------------------- feeds
@cli.group()
def feeds() -> None:
    """Manage the feeds in the store (config feeds are merged in at start)."""


def _check_url_syntax(url: str) -> None:
    """Refuse, in one line, a URL that Python's URL parser cannot even split."""
    from urllib.parse import urlsplit

    try:
        urlsplit(url).hostname  # noqa: B018  (parsing is the check)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise InputError(f"{url}: not a valid URL: {exc}") from exc


def _check_feed_url(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise InputError(f"{url}: not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InputError(f"{url}: not an http(s) URL")
    return url.strip()


@feeds.command(name="list")
@json_option
@common
def feeds_list(as_json: bool, config_path: str | None, debug: bool) -> None:
    """List feeds."""
    settings = setup(config_path, debug)
    with opened_store(settings) as store:
        rows = [
            {
                "url": f.url,
                "name": f.name,
                "interval": format_duration(
                    f.interval_seconds or settings.schedule.default_interval
                ),
                "source": f.source,
            }
            for f in store.list_feeds()
        ]
    if as_json:
        for row in rows:
            emit_json(row)
    else:
        out.print(records_table(rows, ["name", "url", "interval", "source"], f"{len(rows)} feeds"))


@feeds.command(name="add")
@click.argument("url")
@click.option("--name", default=None, help="Display name.")
@click.option("--interval", default=None, help="Poll interval, e.g. 10m.")
@click.option("--no-check", is_flag=True, help="Add the URL as given, without fetching it first.")
@common
def feeds_add(
    url: str,
    name: str | None,
    interval: str | None,
    no_check: bool,
    config_path: str | None,
    debug: bool,
) -> None:
    """Add a feed: a feed URL, or a site URL whose page announces its feed.

    The URL is fetched once: a feed is added as it is; an HTML page's <link rel="alternate">
    feed is added instead; a URL that cannot be fetched or holds no feed is refused (unless
    --no-check)."""
    from worker.discover import discover_feed

    settings = setup(config_path, debug)
    seconds = None
    if interval is not None:
        try:
            seconds = int(parse_duration(interval))
        except ValueError as exc:
            raise InputError(f"--interval: {exc}") from exc
    url = _check_feed_url(url)
    site = None
    if not no_check:
        found = discover_feed(url, settings.fetch)
        url, site = _check_feed_url(found.feed_url), found.site_url
    with opened_store(settings) as store:
        store.upsert_feed(url, name=name, interval_seconds=seconds, source="user")
    out.print(f"added {url}" + (f" (found on {site})" if site else ""), markup=False)


@feeds.command(name="remove")
@click.argument("url")
@common
def feeds_remove(url: str, config_path: str | None, debug: bool) -> None:
    """Remove a feed (and its entries; stored stories stay)."""
    settings = setup(config_path, debug)
    if any(f.url == url for f in settings.feeds):
        raise InputError(
            f"{url} is listed in {settings.source}; remove it there, or it comes back on next start"
        )
    with opened_store(settings) as store:
        if not store.remove_feed(url):
            raise InputError(f"{url}: no such feed")
    out.print(f"removed {url}", markup=False)


@feeds.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@common
def feeds_import(file: Path, config_path: str | None, debug: bool) -> None:
    """Import feeds from an OPML file."""
    from worker.opml import parse_opml

    settings = setup(config_path, debug)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    found = parse_opml(data, str(file))
    added = 0
    with opened_store(settings) as store:
        for feed in found:
            try:
                url = _check_feed_url(feed.url)
            except InputError as exc:
                err.print(f"skipped: {exc}", markup=False)
                continue
            known = store.get_feed(url) is not None
            store.upsert_feed(url, name=feed.name, source="user")
            added += not known
    out.print(f"imported {len(found)} feeds from {file} ({added} new)", markup=False)


@feeds.command(name="export")
@common
def feeds_export(config_path: str | None, debug: bool) -> None:
    """Print the feeds as OPML."""
    from worker.opml import OpmlFeed, export_opml

    settings = setup(config_path, debug)
    with opened_store(settings) as store:
        rows = [OpmlFeed(url=f.url, name=f.name) for f in store.list_feeds()]
    sys.stdout.write(export_opml(rows))


# --------------------------------------------------------------------------- stories / status
@cli.command()
@click.option("--since", default=None, help="Only stories published within this span, e.g. 24h.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@json_option
@common
def stories(
    since: str | None, limit: int, as_json: bool, config_path: str | None, debug: bool
) -> None:
    """Stored mediation stories, newest first."""
    settings = setup(config_path, debug)
    cutoff = None
    if since is not None:
        try:
            cutoff = datetime.now(UTC) - timedelta(seconds=parse_duration(since))
        except ValueError as exc:
            raise InputError(f"--since: {exc}") from exc
    with opened_store(settings) as store:
        rows = store.list_stories(since=cutoff, limit=limit)
    if as_json:
        for row in rows:
            emit_json(row)
    else:
        out.print(stories_table(rows, f"{len(rows)} mediation stories"))


@cli.command()
@json_option
@common
def status(as_json: bool, config_path: str | None, debug: bool) -> None:
    """Feed health: last poll, HTTP status, next poll, lease, failing since, entries seen."""
    from worker.health import health

    settings = setup(config_path, debug)
    now = datetime.now(UTC)
    with opened_store(settings) as store:
        rows = store.feed_status(extra=True)
    for row in rows:
        since = row.get("error_since")
        row["health"] = health(datetime.fromisoformat(since) if since else None, now)
    if as_json:
        for row in rows:
            emit_json(row)
        return
    columns = [
        "name",
        "health",
        "last_polled",
        "last_status",
        "next_poll",
        *(["lease_until"] if any("lease_until" in row for row in rows) else []),
        "consecutive_errors",
        "entries",
        "last_error",
    ]
    shown = [
        {
            **row,
            "last_polled": (row["last_polled"] or "never")[:19].replace("T", " "),
            "next_poll": (row["next_poll"] or "now")[:19].replace("T", " "),
            "lease_until": _lease(row.get("lease_until"), now),
            "name": row["name"] or row["url"],
        }
        for row in rows
    ]
    out.print(records_table(shown, columns, f"{len(rows)} feeds"))


def _lease(until: str | None, now: datetime) -> str:
    if not until or datetime.fromisoformat(until) <= now:
        return "free"
    return until[:19].replace("T", " ")


# --------------------------------------------------------------------------- alerts
@cli.group(invoke_without_command=True)
@click.option("--failed", "failed_only", is_flag=True, help="Only failed deliveries.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@json_option
@common
@click.pass_context
def alerts(
    ctx: click.Context,
    failed_only: bool,
    limit: int,
    as_json: bool,
    config_path: str | None,
    debug: bool,
) -> None:
    """Delivery log per channel (subcommands: retry, test)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = setup(config_path, debug)
    with opened_store(settings) as store:
        rows = store.list_deliveries(failed_only=failed_only, limit=limit)
        disabled = store.disabled_channels()
    if as_json:
        for row in rows:
            emit_json(row)
        return
    shown = [
        {**row, "created": str(row.get("created") or "")[:19].replace("T", " ")} for row in rows
    ]
    columns = ["created", "channel", "state", "attempts", "title", "last_error"]
    out.print(records_table(shown, columns, f"{len(rows)} deliveries"))
    for name, reason in disabled.items():
        out.print(f"channel {name!r} is disabled: {reason}", markup=False)


@alerts.command(name="retry")
@click.option("--channel", default=None, help="Only this channel.")
@common
def alerts_retry(channel: str | None, config_path: str | None, debug: bool) -> None:
    """Resend failed deliveries (and re-enable a disabled channel named with --channel)."""
    from worker.alerts import build_channels, configs_of

    settings = setup(config_path, debug)
    configs = configs_of(settings)
    names = {c.name for c in configs}
    if channel is not None and channel not in names:
        raise InputError(f"no channel named {channel!r} in {settings.source}")
    with opened_store(settings) as store:
        if channel is not None:
            store.enable_channel(channel)
        reset = store.retry_failed(channel, now=datetime.now(UTC))
        disabled = store.disabled_channels()
        chosen = [c for c in configs if channel is None or c.name == channel]
        report = _dispatch(store, build_channels(chosen), settings) if chosen else None
    sent = report.total_sent if report is not None else 0
    out.print(f"{reset} failed deliveries queued again; {sent} sent.")
    if channel is None:
        for name in disabled:
            out.print(
                f"channel {name!r} is still disabled; `peacewatch alerts retry --channel "
                f"{name}` re-enables it",
                markup=False,
            )


@alerts.command(name="test")
@click.argument("name")
@common
def alerts_test(name: str, config_path: str | None, debug: bool) -> None:
    """Send a sample story to one channel, now."""
    from worker.alerts import build_channel, configs_of
    from worker.alerts.base import delivery_key
    from worker.alerts.sample import sample_story

    settings = setup(config_path, debug)
    config = next((c for c in configs_of(settings) if c.name == name), None)
    if config is None:
        raise InputError(f"no channel named {name!r} in {settings.source}")
    channel = build_channel(config)
    story = sample_story(datetime.now(UTC))
    try:
        channel.send(story, key=delivery_key(story["id"], name))
    finally:
        channel.close()
    out.print(f"sent a test alert to {name!r} ({config.type})", markup=False)


# --------------------------------------------------------------------------- entry point
def _click_error(exc: click.ClickException) -> str:
    """One line for a usage error: the command, the problem, where to look for help."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if isinstance(ctx, click.Context) else "peacewatch"
    hint = f" (see '{path} --help')" if isinstance(exc, click.UsageError) else ""
    return f"{path}: error: {message}{hint}"


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("PEACEWATCH_DEBUG") == "1"
    try:
        cli.main(args=args, prog_name="peacewatch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        if debug:
            raise
        err.print(_click_error(exc), markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        err.print("peacewatch: interrupted")
        sys.exit(130)
    except PeaceWatchError as exc:
        if debug:
            raise
        err.print(f"peacewatch: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:
        if debug:
            raise
        err.print(
            f"peacewatch: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for details)",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(70)


# --------------------------------------------------------------------------- service
from worker.cli_service import COMMANDS as SERVICE_COMMANDS  # noqa: E402  (uses the helpers above)

for _service_command in SERVICE_COMMANDS:
    cli.add_command(_service_command)
