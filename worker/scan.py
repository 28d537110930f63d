"""One pass over the feeds: fetch → parse → analyse → store new entries and their stories.

The per-feed steps are split by the resource they use, so any driver can combine them:

* ``analyse_document`` (pure CPU): parse the fetched bytes and analyse every entry;
* ``commit`` (database): store new entries, the mediation stories among them that were not
  stored before (the same article in two feeds is one story), and the poll's outcome.

``process_fetched`` runs both in a row: that is what the Celery ``poll_feed`` task calls.
``scan_feeds`` fetches concurrently (bounded overall and per host), analyses on a process
pool when the pass is large enough to pay for one (else on a thread), and commits on a
single thread so SQLite sees one writer while the event loop keeps downloading.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from worker import metrics
from worker.engine import Engine
from worker.errors import FetchError, ParseError
from worker.fetch import Fetcher, FetchResult
from worker.models import Story
from worker.parse import ParsedFeed, parse_feed
from worker.polling import header_hints, next_poll
from worker.settings import Settings
from worker.store import FeedRow, Store

log = structlog.get_logger("peacewatch.scan")

# A pass with fewer feeds than this analyses on a thread: a process pool costs a second or
# so to start (imports, compiling the gazetteer) and only pays off on larger passes.
POOL_MIN_FEEDS = 24


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
        found = [s for o in self.outcomes for s in o.stories]
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


@dataclass(frozen=True, slots=True)
class Analysed:
    """A fetched document parsed and analysed: the feed, or why it is not one."""

    parsed: ParsedFeed | None
    stories: Mapping[str, Story]  # by entry key
    error: ParseError | None = None


def analyse_document(
    engine: Engine,
    content: bytes,
    *,
    feed_url: str,
    fetched_at: datetime,
    source: str | None,
    headers: Mapping[str, str] | None,
) -> Analysed:
    """Parse the bytes and analyse every entry. Pure CPU work: no database, no network."""
    try:
        parsed = parse_feed(
            content, feed_url=feed_url, fetched_at=fetched_at, source=source, headers=headers
        )
    except ParseError as exc:
        return Analysed(parsed=None, stories={}, error=exc)
    return Analysed(parsed=parsed, stories={e.key: engine.analyse(e) for e in parsed.entries})


def _interval(feed: FeedRow, settings: Settings) -> float:
    return float(feed.interval_seconds or settings.schedule.default_interval)


def _history(store: Store, feed: FeedRow) -> list[datetime]:
    """Recent publication times, for feeds that adapt (those without their own interval)."""
    if feed.interval_seconds:
        return []
    return store.recent_published(feed.id)


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
            retry_after=getattr(error, "retry_after", None),
        ),
    )
    metrics.poll_failed(error)
    log.warning("feed failed", feed=feed.url, status=status, error=message)
    return FeedOutcome(url=feed.url, name=feed.name, status=status, error=message)


ChannelsFor = Callable[[Story], Sequence[str]]


def commit(
    store: Store,
    settings: Settings,
    feed: FeedRow,
    result: FetchResult,
    analysed: Analysed | None,
    now: datetime,
    channels_for: ChannelsFor | None = None,
) -> FeedOutcome:
    """Store what a poll brought: new entries, their new mediation stories, the poll itself.

    ``analysed`` is None for a 304 (nothing to parse). ``channels_for`` names the channels a
    new story goes to: their delivery rows are written in the same transaction as the story.
    """
    if analysed is not None and analysed.error is not None:
        return record_failure(store, feed, settings, now, analysed.error)
    parsed = analysed.parsed if analysed is not None else None
    new_stories: tuple[Story, ...] = ()
    new_count = 0
    if analysed is not None and parsed is not None:
        new = store.insert_entries(feed.id, parsed.entries, now)
        new_count = len(new)
        candidates = [
            (row_id, analysed.stories[entry.key])
            for row_id, entry in new
            if analysed.stories[entry.key].is_mediation
        ]
        stored = store.save_stories(candidates, channels_for=channels_for)
        new_stories = tuple(story for _, story in candidates if story.id in stored)
        if parsed.warning:
            log.info("feed parsed with warnings", feed=feed.url, warning=parsed.warning)
    schedule = settings.schedule
    retry_after, max_age = header_hints(result.headers, now)
    store.record_poll(
        feed.id,
        now=now,
        status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        error=None,
        not_modified=result.not_modified,
        next_poll=next_poll(
            now,
            interval=_interval(feed, settings),
            min_interval=schedule.min_interval,
            max_interval=schedule.max_interval,
            ttl_seconds=parsed.ttl_seconds if parsed is not None else None,
            retry_after=retry_after,
            max_age=max_age,
            published=_history(store, feed),
        ),
        new_url=result.permanent_url,
    )
    metrics.poll_succeeded(not_modified=result.not_modified, new_stories=len(new_stories))
    return FeedOutcome(
        url=feed.url,
        name=feed.name,
        status=result.status,
        new_entries=new_count,
        not_modified=result.not_modified,
        stories=new_stories,
    )


def process_fetched(
    store: Store,
    engine: Engine,
    settings: Settings,
    feed: FeedRow,
    result: FetchResult,
    now: datetime,
    channels_for: ChannelsFor | None = None,
) -> FeedOutcome:
    """Analyse and commit one fetched feed in a row (the single-feed path)."""
    analysed = None
    if not result.not_modified:
        analysed = analyse_document(
            engine,
            result.content or b"",
            feed_url=result.final_url,
            fetched_at=now,
            source=feed.name,
            headers=result.headers,
        )
    return commit(store, settings, feed, result, analysed, now, channels_for)


# -- the process pool: one Engine per worker process ----------------------------------------
_pool_engine: Engine | None = None


def _init_pool_worker(threshold: float, extra_actors: Sequence[Mapping[str, Any]]) -> None:
    global _pool_engine
    _pool_engine = Engine(threshold=threshold, extra_actors=extra_actors)
    _pool_engine.warm_up()


def _analyse_in_pool(
    content: bytes,
    feed_url: str,
    fetched_at: datetime,
    source: str | None,
    headers: dict[str, str],
) -> Analysed:
    assert _pool_engine is not None, "pool worker not initialised"
    return analyse_document(
        _pool_engine,
        content,
        feed_url=feed_url,
        fetched_at=fetched_at,
        source=source,
        headers=headers,
    )


def analysis_processes(settings: Settings, feed_count: int) -> int:
    """How many analysis processes a pass of ``feed_count`` feeds gets (0: none, a thread)."""
    wanted = settings.scan.processes
    if wanted is not None:
        return wanted
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if feed_count < POOL_MIN_FEEDS or (cores or 1) < 2:
        return 0
    return min(cores or 1, 4)


async def scan_feeds(
    store: Store,
    engine: Engine,
    settings: Settings,
    feeds: Sequence[FeedRow],
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_done: Callable[[FeedOutcome], None] | None = None,
    channels_for: ChannelsFor | None = None,
) -> ScanReport:
    """Poll ``feeds`` concurrently; analyse and commit each as it arrives."""
    report = ScanReport()
    fetch = settings.fetch
    loop = asyncio.get_running_loop()
    processes = analysis_processes(settings, len(feeds))
    with ExitStack() as stack:
        db: Executor = stack.enter_context(
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="peacewatch-db")
        )
        cpu: Executor = (
            stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=processes,
                    mp_context=multiprocessing.get_context("spawn"),  # no fork under threads
                    initializer=_init_pool_worker,
                    initargs=(engine.threshold, engine.extra_actors),
                )
            )
            if processes
            else db
        )
        async with Fetcher(
            timeout=fetch.timeout,
            max_bytes=fetch.max_bytes,
            user_agent=fetch.user_agent,
            max_connections=fetch.concurrency,
            per_host=fetch.per_host,
            max_redirects=fetch.max_redirects,
            allow_private_networks=fetch.allow_private_networks,
            allowlist=fetch.allowlist,
        ) as fetcher:
            gate = asyncio.Semaphore(fetch.concurrency)

            async def analyse(result: FetchResult, feed: FeedRow, now: datetime) -> Analysed:
                args = (result.content or b"", result.final_url, now, feed.name)
                if processes:
                    return await loop.run_in_executor(
                        cpu, _analyse_in_pool, *args, dict(result.headers)
                    )
                return await loop.run_in_executor(
                    cpu, _analyse_here, engine, *args, dict(result.headers)
                )

            async def one(feed: FeedRow) -> None:
                async with gate:
                    try:
                        result = await fetcher.fetch(
                            feed.url, etag=feed.etag, last_modified=feed.last_modified
                        )
                    except FetchError as exc:
                        outcome = await loop.run_in_executor(
                            db, record_failure, store, feed, settings, clock(), exc
                        )
                        report.outcomes.append(outcome)
                        if on_done is not None:
                            on_done(outcome)
                        return
                now = clock()
                analysed = None if result.not_modified else await analyse(result, feed, now)
                outcome = await loop.run_in_executor(
                    db, commit, store, settings, feed, result, analysed, now, channels_for
                )
                report.outcomes.append(outcome)
                if on_done is not None:
                    on_done(outcome)

            await asyncio.gather(*(one(feed) for feed in feeds))
    return report


def _analyse_here(
    engine: Engine,
    content: bytes,
    feed_url: str,
    fetched_at: datetime,
    source: str | None,
    headers: dict[str, str],
) -> Analysed:
    return analyse_document(
        engine, content, feed_url=feed_url, fetched_at=fetched_at, source=source, headers=headers
    )


def run_scan(
    store: Store,
    engine: Engine,
    settings: Settings,
    *,
    include_all: bool = False,
    now: datetime | None = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[FeedOutcome], None] | None = None,
    channels_for: ChannelsFor | None = None,
) -> ScanReport:
    """The ``peacewatch scan`` pass: every due feed (or every feed) once."""
    moment = now or datetime.now(UTC)
    feeds = store.due_feeds(moment, include_all=include_all)
    if on_start is not None:
        on_start(len(feeds))
    if not feeds:
        return ScanReport()
    return asyncio.run(
        scan_feeds(store, engine, settings, feeds, on_done=on_done, channels_for=channels_for)
    )
