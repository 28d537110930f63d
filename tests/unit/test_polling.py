"""Next-poll times: interval within bounds, feed TTL, exponential backoff, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.polling import (
    header_hints,
    next_poll,
    parse_max_age,
    parse_retry_after,
    publication_interval,
)

NOW = datetime(2023, 4, 26, 12, 0, tzinfo=UTC)
BOUNDS = {"min_interval": 300.0, "max_interval": 21600.0}


@pytest.mark.parametrize(
    ("kwargs", "wait"),
    [
        ({"interval": 900.0}, 900),
        ({"interval": 60.0}, 300),  # never below min_interval
        ({"interval": 86400.0}, 21600),  # never above max_interval
        ({"interval": 900.0, "ttl_seconds": 3600.0}, 3600),  # <ttl> lengthens
        ({"interval": 900.0, "ttl_seconds": 60.0}, 900),  # ... but never shortens
        ({"interval": 900.0, "consecutive_errors": 1}, 1800),
        ({"interval": 900.0, "consecutive_errors": 3}, 7200),
        ({"interval": 900.0, "consecutive_errors": 40}, 21600),  # capped
        ({"interval": 900.0, "retry_after": 7200.0}, 7200),
        ({"interval": 900.0, "retry_after": 10.0}, 900),
        ({"interval": 900.0, "retry_after": 10**9}, 21600),
    ],
)
def test_next_poll(kwargs: dict[str, float], wait: int) -> None:
    assert next_poll(NOW, **BOUNDS, **kwargs) == NOW + timedelta(seconds=wait)  # type: ignore[arg-type]


# -- adaptive interval from the feed's own publication history ---------------------------


def _every(minutes: float, count: int, newest_ago: float = 0.0) -> list[datetime]:
    """``count`` publication times ``minutes`` apart, the newest ``newest_ago`` minutes ago."""
    newest = NOW - timedelta(minutes=newest_ago)
    return [newest - timedelta(minutes=minutes * i) for i in range(count)]


@pytest.mark.parametrize(
    ("published", "wait"),
    [
        (_every(60, 10), 1800),  # hourly feed: polled every half hour
        (_every(60, 10, newest_ago=600), 18000),  # gone quiet 10 h: half the silence
        (_every(1, 10), 300),  # a busy feed never below min_interval
        (_every(24 * 60, 10), 21600),  # a daily feed never above max_interval
        (_every(60, 2), 900),  # too little history: the interval
        ([NOW - timedelta(hours=1)] * 5, 900),  # all stamped alike: the interval
        (_every(60, 30, newest_ago=-120), 1800),  # future times count as now
    ],
)
def test_adaptive_interval(published: list[datetime], wait: int) -> None:
    got = next_poll(NOW, interval=900.0, published=published, **BOUNDS)
    assert got == NOW + timedelta(seconds=wait)


def test_median_ignores_one_burst() -> None:
    hourly = _every(60, 9)
    burst = [hourly[-1] - timedelta(seconds=s) for s in (10, 20)]
    assert publication_interval(hourly + burst, NOW) == 3600


def test_adaptive_then_hints_and_backoff() -> None:
    hourly = _every(60, 10)
    kwargs = {"interval": 900.0, "published": hourly, **BOUNDS}
    assert next_poll(NOW, ttl_seconds=7200.0, **kwargs) == NOW + timedelta(hours=2)  # type: ignore[arg-type]
    assert next_poll(NOW, consecutive_errors=2, **kwargs) == NOW + timedelta(hours=2)  # type: ignore[arg-type]


# -- Cache-Control max-age and Retry-After ------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "wait"),
    [
        ({"interval": 900.0, "max_age": 3600.0}, 3600),  # max-age lengthens
        ({"interval": 900.0, "max_age": 60.0}, 900),  # ... but never shortens
        ({"interval": 900.0, "max_age": 10.0**7}, 21600),  # ... nor passes max_interval
        ({"interval": 900.0, "max_age": 3600.0, "ttl_seconds": 7200.0}, 7200),
        ({"interval": 900.0, "consecutive_errors": 2, "retry_after": 600.0}, 3600),
    ],
)
def test_max_age_and_combinations(kwargs: dict[str, float], wait: int) -> None:
    assert next_poll(NOW, **BOUNDS, **kwargs) == NOW + timedelta(seconds=wait)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 45 ", 45.0),
        ("Wed, 26 Apr 2023 12:30:00 GMT", 1800.0),
        ("Wed, 26 Apr 2023 11:00:00 GMT", 0.0),  # already past
        ("Wednesday, 26-Apr-23 13:00:00 GMT", 3600.0),  # RFC 850 form
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("max-age=600", 600.0),
        ("public, max-age=3600, must-revalidate", 3600.0),
        ('max-age="90"', 90.0),
        ("s-maxage=50, max-age=70", 70.0),
        ("s-maxage=50", None),
        ("max-age=0", None),
        ("no-cache, max-age=600", None),
        ("no-store", None),
        ("private", None),
        (None, None),
    ],
)
def test_parse_max_age(value: str | None, seconds: float | None) -> None:
    assert parse_max_age(value) == seconds


def test_header_hints() -> None:
    headers = {"retry-after": "300", "cache-control": "max-age=1200"}
    assert header_hints(headers, NOW) == (300.0, 1200.0)
    assert header_hints({}, NOW) == (None, None)
