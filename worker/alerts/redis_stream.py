"""The Redis stream channel: ``XADD <stream> MAXLEN ~ N * story <json>``, once per story.

One Lua script (``EVALSHA``, ``EVAL`` when the server has not cached it) makes the check and
the append atomic: when the marker ``peacewatch:sent:{<stream>}:<story id>`` exists the
story is already in the stream and nothing happens; otherwise the entry is added (trimmed
with ``MAXLEN ~ maxlen``) and the marker is set with the entry id for 30 days. The marker
is written *after* the XADD inside the script, so an XADD that fails (a key of the wrong
type, say) leaves no marker behind and a retry still delivers. The braces are a hash tag:
marker and stream live in the same cluster slot. Retries, crashes mid-send and concurrent
workers therefore add each story to each stream exactly once (within the marker's 30 days).

Unreachable server, timeouts, loading/failover/OOM replies → retryable ``DeliveryError``;
refused AUTH, missing ACL permission, a key of the wrong type → ``permanent``. Errors name
the channel and ``host:port/db``, never the URL (it may hold a password).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.exceptions as rex
import structlog
from redis.backoff import NoBackoff
from redis.retry import Retry

from worker.alerts.config import RedisStreamConfig
from worker.errors import ConfigError, DeliveryError

log = structlog.get_logger("peacewatch.alerts")

MARKER_TTL = 30 * 24 * 3600  # seconds a "sent" marker is kept
MARKER_PREFIX = "peacewatch:sent:"

# KEYS[1] stream, KEYS[2] marker; ARGV[1] maxlen, ARGV[2] marker ttl, ARGV[3] story json.
# Returns the new entry id, or nil (false) when the story was already added.
APPEND_ONCE = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  return false
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'story', ARGV[3])
redis.call('SET', KEYS[2], id, 'EX', ARGV[2])
return id
"""

_RETRYABLE_REPLIES = ("OOM", "BUSY", "LOADING", "READONLY", "TRYAGAIN", "CLUSTERDOWN",
                      "MASTERDOWN", "NOSCRIPT", "MOVED", "ASK")  # fmt: skip
_PERMANENT_REPLIES = ("WRONGTYPE", "NOPERM", "NOAUTH", "WRONGPASS")


def marker_key(stream: str, story_id: str) -> str:
    """The "already sent" key of a story in a stream, in the stream's cluster slot."""
    if _hash_tag(stream) is not None:  # the stream has its own tag: reuse it as is
        return f"{MARKER_PREFIX}{stream}:{story_id}"
    return f"{MARKER_PREFIX}{{{stream}}}:{story_id}"


def _hash_tag(key: str) -> str | None:
    start = key.find("{")
    if start < 0:
        return None
    end = key.find("}", start + 1)
    return key[start + 1 : end] if end > start + 1 else None


def story_json(story: Mapping[str, Any]) -> str:
    """The compact JSON of the story object (UTF-8 kept as is)."""
    return json.dumps(story, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def describe_url(url: str) -> str:
    """``host:port/db`` of a Redis URL, without user or password."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return f"unix:{parts.path}"
        db = parts.path.strip("/") or "0"
        return f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}/{db}"
    except ValueError:
        return "(unreadable URL)"


class RedisStreamChannel:
    """Adds each story once to a Redis stream (see the module doc)."""

    type = "redis_stream"

    def __init__(
        self,
        config: RedisStreamConfig,
        *,
        socket_timeout: float = 10.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.config = config
        self.name = config.name
        self.stream = config.stream
        self.maxlen = config.maxlen
        self._where = describe_url(config.url)
        try:
            self._client: redis.Redis = redis.Redis.from_url(
                config.url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=connect_timeout,
                retry=Retry(NoBackoff(), 1),  # one reconnect for a stale pooled connection
                decode_responses=False,
            )
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"redis_stream channel {self.name!r}: url is not a usable Redis URL"
                " (redis://[user:password@]host[:port][/db], rediss://, unix://)"
            ) from exc
        self._append = self._client.register_script(APPEND_ONCE)

    def send(self, story: Mapping[str, Any], *, key: str) -> None:
        try:
            story_id = str(story["id"])
            payload = story_json(story)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._fail("the story has no id or is not JSON", permanent=True) from exc
        try:
            entry = self._append(
                keys=[self.stream, marker_key(self.stream, story_id)],
                args=[self.maxlen, MARKER_TTL, payload],
            )
        except rex.RedisError as exc:
            error = self._translate(exc)
            log.warning(
                "alert.redis.failed",
                channel=self.name,
                key=key,
                server=self._where,
                permanent=error.permanent,
                reason=str(error),
            )
            raise error from exc
        if entry is None:
            log.info("alert.redis.already_sent", channel=self.name, key=key, story=story_id)
            return
        entry_id = entry.decode() if isinstance(entry, bytes) else str(entry)
        log.info("alert.sent", channel=self.name, type=self.type, key=key, entry=entry_id)

    def close(self) -> None:
        self._client.close()

    def _fail(self, reason: str, *, permanent: bool) -> DeliveryError:
        return DeliveryError(
            f"redis_stream channel {self.name!r} ({self._where}): {reason}", permanent=permanent
        )

    def _translate(self, exc: rex.RedisError) -> DeliveryError:
        password = urlsplit(self.config.url).password if "@" in self.config.url else None
        detail = " ".join(str(exc).split())[:200]
        if password:
            detail = detail.replace(password, "***")
        if isinstance(exc, rex.AuthenticationError | rex.AuthorizationError):
            return self._fail("the server refused the credentials", permanent=True)
        if isinstance(exc, rex.TimeoutError):
            return self._fail("timed out", permanent=False)
        if isinstance(exc, rex.ConnectionError):  # refused, reset, loading, too many clients
            return self._fail(f"cannot reach Redis ({detail})", permanent=False)
        if isinstance(exc, rex.NoPermissionError | rex.AuthenticationWrongNumberOfArgsError):
            return self._fail(f"not allowed ({detail})", permanent=True)
        if isinstance(exc, rex.ResponseError):
            words = detail.replace("-", " ").split()
            if any(word in _PERMANENT_REPLIES for word in words[:12]):
                return self._fail(f"Redis refused the append ({detail})", permanent=True)
            if any(word in _RETRYABLE_REPLIES for word in words[:12]):
                return self._fail(f"Redis is not ready ({detail})", permanent=False)
            return self._fail(f"Redis refused the append ({detail})", permanent=True)
        return self._fail(f"Redis error ({type(exc).__name__}: {detail})", permanent=False)
