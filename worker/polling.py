"""When to poll a feed next. Pure: the caller passes ``now``.

Healthy feeds are polled every ``interval`` (the feed's own, else the default), kept within
[min_interval, max_interval]; a feed's ``<ttl>`` can only lengthen it. Failing feeds back off
exponentially (interval × 2^errors, capped at max_interval); a server's Retry-After is honoured.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def next_poll(
    now: datetime,
    *,
    interval: float,
    min_interval: float,
    max_interval: float,
    consecutive_errors: int = 0,
    ttl_seconds: float | None = None,
    retry_after: float | None = None,
) -> datetime:
    wait = min(max(interval, min_interval), max_interval)
    if ttl_seconds:
        wait = min(max(wait, ttl_seconds), max_interval)
    if consecutive_errors > 0:
        wait = min(wait * (2 ** min(consecutive_errors, 16)), max_interval)
    if retry_after:
        wait = max(wait, min(retry_after, max_interval))
    return now + timedelta(seconds=wait)
