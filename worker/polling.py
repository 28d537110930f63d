"""When to poll a feed next. Pure: the caller passes ``now`` and what the last poll showed.

The base wait is the feed's ``interval`` (its own, else the configured default). A feed
without an interval of its own may instead pass the publication times of its recent
entries (``published``): the wait then follows how often it publishes, half the typical
gap between entries (the median gap, or the time since the newest entry when that is
longer, so a feed that went quiet is polled less and less). Either way the wait stays
within [min_interval, max_interval].

Server hints can only lengthen the wait, never beyond ``max_interval``: the feed's
``<ttl>`` and a ``Cache-Control: max-age``. Failing feeds back off exponentially
(wait × 2^errors, capped at ``max_interval``), and a ``Retry-After`` (seconds or an HTTP
date) is honoured up to ``max_interval``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from itertools import pairwise
from statistics import median

# How many recent publication times the adaptive interval looks at, and how many it needs.
HISTORY = 20
MIN_HISTORY = 3
# Poll twice per typical gap between entries: on average a new entry waits a quarter gap.
ADAPT_FACTOR = 0.5

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-store|no-cache)(?:$|[,\s=])", re.IGNORECASE)


def next_poll(
    now: datetime,
    *,
    interval: float,
    min_interval: float,
    max_interval: float,
    consecutive_errors: int = 0,
    ttl_seconds: float | None = None,
    retry_after: float | None = None,
    max_age: float | None = None,
    published: Sequence[datetime] = (),
) -> datetime:
    """The time of the next poll; see the module for the rules."""
    adaptive = publication_interval(published, now)
    base = adaptive * ADAPT_FACTOR if adaptive is not None else interval
    wait = min(max(base, min_interval), max_interval)
    for hint in (ttl_seconds, max_age):
        if hint:
            wait = min(max(wait, hint), max_interval)
    if consecutive_errors > 0:
        wait = min(wait * (2 ** min(consecutive_errors, 16)), max_interval)
    if retry_after:
        wait = max(wait, min(retry_after, max_interval))
    return now + timedelta(seconds=wait)


def publication_interval(published: Sequence[datetime], now: datetime) -> float | None:
    """Seconds between a feed's entries: the median gap of the newest ``HISTORY``
    publication times, or the age of the newest one when that is longer.

    None when there are fewer than ``MIN_HISTORY`` distinct times (nothing to learn from)
    or every gap is zero (a feed stamping all entries alike says nothing about its pace).
    Times in the future count as now.
    """
    times = sorted({min(t, now) for t in published}, reverse=True)[:HISTORY]
    if len(times) < MIN_HISTORY:
        return None
    gaps = [(a - b).total_seconds() for a, b in pairwise(times)]
    typical = median(gaps)
    if typical <= 0:
        return None
    quiet = (now - times[0]).total_seconds()
    return max(typical, quiet)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None if absent
    or unreadable, 0 for a date already past."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def parse_max_age(value: str | None) -> float | None:
    """``Cache-Control``'s max-age in seconds; None when absent, zero, or the response is
    marked no-store / no-cache (which ask not to reuse it, not to poll less)."""
    if not value or _NO_CACHE.search(value):
        return None
    found = _MAX_AGE.search(value)
    if found is None:
        return None
    seconds = float(found.group(1))
    return seconds or None


def header_hints(headers: Mapping[str, str], now: datetime) -> tuple[float | None, float | None]:
    """``(retry_after, max_age)`` from a response's headers (lower-case keys)."""
    return (
        parse_retry_after(headers.get("retry-after"), now),
        parse_max_age(headers.get("cache-control")),
    )
