"""One pass over the feeds: fetch → parse → store new entries → analyse → store stories.

The same per-feed function (``process_fetched``) is what the Celery ``poll_feed`` task runs;
only the driver differs. Fetches run concurrently (bounded overall and per host); the
CPU-bound and database work of each fetched feed runs on one worker thread, so the event
loop keeps downloading while earlier feeds are analysed and SQLite sees one writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from worker.engine import Engine
from worker.errors import FetchError, ParseError
from worker.fetch import Fetcher, FetchResult
from worker.models import Story
from worker.parse import parse_feed
from worker.polling import next_poll
from worker.settings import Settings
from worker.store import FeedRow, Store

log = structlog.get_logger("peacewatch.scan")


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What happened to one feed in a pass."""

    url: str
    name: str | None
    status: int | None
    new_entries: int = 0
    not_modified: bool = False
    error: str | None = None
    stories: tuple[Story, ...] = ()


@dataclass
class ScanReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)

    @property
    def stories(self) -> list[Story]:
        """New mediation stories of this pass, newest first."""
        found = [s for o in self.outcomes for s in o.stories if s.is_mediation]
        return sorted(found, key=lambda s: s.published, reverse=True)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.error]

    @property
    def new_entries(self) -> int:
        return sum(o.new_entries for o in self.outcomes)

    @property
    def not_modified(self) -> int:
        return sum(1 for o in self.outcomes if o.not_modified)


def _interval(feed: FeedRow, settings: Settings) -> float:
    return float(feed.interval_seconds or settings.schedule.default_interval)


def _retry_after(headers: object) -> float | None:
    value = getattr(headers, "get", lambda _k: None)("retry-after")
    if isinstance(value, str) and value.strip().isdigit():
        return float(value.strip())
    return None


def record_failure(
    store: Store, feed: FeedRow, settings: Settings, now: datetime, error: FetchError | ParseError
) -> FeedOutcome:
    """Record a failed poll with exponential backoff; the pass goes on."""
    status = error.status if isinstance(error, FetchError) else None
    message = str(error)
    store.record_poll(
        feed.id,
        now=now,
        status=status,
        etag=None,
        last_modified=None,
        error=message,
        not_modified=False,
        next_poll=next_poll(
            now,
            interval=_interval(feed, settings),
            min_interval=settings.schedule.min_interval,
            max_interval=settings.schedule.max_interval,
            consecutive_errors=feed.consecutive_errors + 1,
        ),
    )
    log.warning("feed failed", feed=feed.url, status=status, error=message)
    return FeedOutcome(url=feed.url, name=feed.name, status=status, error=message)


def process_fetched(
    store: Store,
    engine: Engine,
    settings: Settings,
    feed: FeedRow,
    result: FetchResult,
    now: datetime,
) -> FeedOutcome:
    """Parse, store new entries, analyse them and store the stories of one fetched feed."""
    schedule = settings.schedule
    if result.not_modified:
        store.record_poll(
            feed.id,
            now=now,
            status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            error=None,
            not_modified=True,
            next_poll=next_poll(
                now,
                interval=_interval(feed, settings),
                min_interval=schedule.min_interval,
                max_interval=schedule.max_interval,
                retry_after=_retry_after(result.headers),
            ),
            new_url=result.permanent_url,
        )
        return FeedOutcome(url=feed.url, name=feed.name, status=result.status, not_modified=True)
    try:
        parsed = parse_feed(
            result.content or b"",
            feed_url=result.final_url,
            fetched_at=now,
            source=feed.name,
            headers=result.headers,
        )
    except ParseError as exc:
        return record_failure(store, feed, settings, now, exc)
    new = store.insert_entries(feed.id, parsed.entries, now)
    stories = [engine.analyse(entry) for _, entry in new]
    store.save_stories([(row_id, story) for (row_id, _), story in zip(new, stories, strict=True)])
    store.record_poll(
        feed.id,
        now=now,
        status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        error=None,
        not_modified=False,
        next_poll=next_poll(
            now,
            interval=_interval(feed, settings),
            min_interval=schedule.min_interval,
            max_interval=schedule.max_interval,
            ttl_seconds=parsed.ttl_seconds,
            retry_after=_retry_after(result.headers),
        ),
        new_url=result.permanent_url,
    )
    if parsed.warning:
        log.info("feed parsed with warnings", feed=feed.url, warning=parsed.warning)
    mediation = tuple(s for s in stories if s.is_mediation)
    return FeedOutcome(
        url=feed.url,
        name=feed.name,
        status=result.status,
        new_entries=len(new),
        stories=mediation,
    )


async def scan_feeds(
    store: Store,
    engine: Engine,
    settings: Settings,
    feeds: Sequence[FeedRow],
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_done: Callable[[FeedOutcome], None] | None = None,
) -> ScanReport:
    """Poll ``feeds`` concurrently and process each as it arrives."""
    report = ScanReport()
    fetch = settings.fetch
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="peacewatch-process") as pool:
        async with Fetcher(
            timeout=fetch.timeout,
            max_bytes=fetch.max_bytes,
            user_agent=fetch.user_agent,
            max_connections=fetch.concurrency,
            per_host=fetch.per_host,
            max_redirects=fetch.max_redirects,
        ) as fetcher:
            gate = asyncio.Semaphore(fetch.concurrency)

            async def one(feed: FeedRow) -> None:
                async with gate:
                    try:
                        result = await fetcher.fetch(
                            feed.url, etag=feed.etag, last_modified=feed.last_modified
                        )
                    except FetchError as exc:
                        outcome = await loop.run_in_executor(
                            pool, record_failure, store, feed, settings, clock(), exc
                        )
                    else:
                        outcome = await loop.run_in_executor(
                            pool, process_fetched, store, engine, settings, feed, result, clock()
                        )
                report.outcomes.append(outcome)
                if on_done is not None:
                    on_done(outcome)

            await asyncio.gather(*(one(feed) for feed in feeds))
    return report


def run_scan(
    store: Store,
    engine: Engine,
    settings: Settings,
    *,
    include_all: bool = False,
    now: datetime | None = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[FeedOutcome], None] | None = None,
) -> ScanReport:
    """The ``peacewatch scan`` pass: every due feed (or every feed) once."""
    moment = now or datetime.now(UTC)
    feeds = store.due_feeds(moment, include_all=include_all)
    if on_start is not None:
        on_start(len(feeds))
    if not feeds:
        return ScanReport()
    return asyncio.run(scan_feeds(store, engine, settings, feeds, on_done=on_done))
