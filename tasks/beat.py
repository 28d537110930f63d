"""RedBeat, kept alive through Redis outages.

Stock ``RedBeatScheduler.tick`` raises when Redis is unreachable (``ConnectionError``) or
when it comes back without our lock (``LockNotOwnedError`` after a restart that lost data),
and the embedded beat of ``peacewatch run`` then exits while the worker goes on: polling
would stop with no error. This scheduler logs the outage, retries every few seconds, takes
the lock again when Redis is back (or stays a standby when another beat holds it), and
re-installs the static schedule, which an empty Redis no longer has.
"""

from __future__ import annotations

from typing import Any

import redis.exceptions
import structlog
from redbeat import RedBeatScheduler

log = structlog.get_logger("peacewatch.beat")

OUTAGE_RETRY = 2.0  # seconds between attempts while Redis is away


class ResilientRedBeatScheduler(RedBeatScheduler):  # type: ignore[misc]
    def tick(self, min: Any = min, **kwargs: Any) -> float:
        try:
            return float(super().tick(min=min, **kwargs))
        except redis.exceptions.LockError:
            return self._regain_lock()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("beat: redis unavailable, retrying", error=type(exc).__name__)
            return OUTAGE_RETRY

    def _regain_lock(self) -> float:
        """Take the lock again after Redis lost it; install the schedule when we have it."""
        try:
            if self.lock is None or not self.lock.acquire(blocking=False):
                log.info("beat: another beat holds the lock; standing by")
                return OUTAGE_RETRY
            log.warning("beat: lock regained after a Redis outage")
            self.setup_schedule()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("beat: redis unavailable, retrying", error=type(exc).__name__)
        return OUTAGE_RETRY
