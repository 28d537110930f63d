"""Next-poll times: interval within bounds, feed TTL, exponential backoff, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.polling import next_poll

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
