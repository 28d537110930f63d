"""Fixtures for the service tests: a feed, a webhook receiver, Redis db 12, config files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.celery_worker import wait_until
from tests.support.db import store_url  # noqa: F401  (parametrised sqlite / postgresql)
from tests.support.feedserver import FeedServer
from tests.support.receivers import WebhookReceiver

REDIS_DB = 12  # this suite's own db; flushed before each use
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
STRAY_WAIT = 30.0  # seconds a previous test's processes get to leave the db

# Written for these tests: two mediation reports and one that is not.
SERVICE_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
  <channel>
    <title>Service Test Wire</title>
    <link>https://wire.example/</link>
    <description>Made up for the service tests</description>
    <item>
      <title>Norway hosts talks between Colombia's government and rebel negotiators</title>
      <link>https://wire.example/2024/02/10/oslo-talks</link>
      <guid>svc-oslo-talks</guid>
      <pubDate>Sat, 10 Feb 2024 10:00:00 GMT</pubDate>
      <description>Norwegian mediators opened a new round of peace talks in Oslo on Friday
      between the Colombian government and the rebel delegation, officials said.</description>
    </item>
    <item>
      <title>Qatar mediates prisoner exchange between the warring parties</title>
      <link>https://wire.example/2024/02/09/qatar-exchange</link>
      <guid>svc-qatar-exchange</guid>
      <pubDate>Fri, 09 Feb 2024 08:00:00 GMT</pubDate>
      <description>Qatari envoys brokered an agreement under which both sides will
      free detainees, the foreign ministry in Doha said after days of shuttle talks.</description>
    </item>
    <item>
      <title>City council approves budget for new library</title>
      <link>https://wire.example/2024/02/08/library</link>
      <guid>svc-library</guid>
      <pubDate>Thu, 08 Feb 2024 12:00:00 GMT</pubDate>
      <description>The new branch will open next spring with a larger children's
      section.</description>
    </item>
  </channel>
</rss>
"""


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def _others(client: redis.Redis) -> list[str]:
    """Addresses of the other clients connected to this suite's Redis db."""
    me = client.client_id()
    return [
        f"{entry['addr']} (idle {entry['idle']}s)"
        for entry in client.client_list()
        if int(entry["db"]) == REDIS_DB and int(entry["id"]) != me
    ]


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {error}")
    # Another process still on this db (a service from an earlier run) would consume our
    # queues: wait for it to go, or fail naming it.
    wait_until(
        lambda: not _others(client),
        STRAY_WAIT,
        what=f"other clients to leave Redis db 12: {_others(client)}",
    )
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


def write_config(
    path: Path,
    *,
    store: str,
    feeds: list[str],
    hook_url: str | None = None,
    broker: str | None = None,
    interval: str = "1h",
    extra: str = "",
) -> Path:
    """A config file for a service process (private networks allowed: local servers)."""
    lines = [f'[storage]\nurl = "{store}"']
    if broker:
        lines.append(f'[broker]\nurl = "{broker}"')
    lines.append("[fetch]\nallow_private_networks = true")
    lines.append('[schedule]\nmin_interval = "1s"')
    lines.append('[log]\nlevel = "info"')
    lines.append("[alerts]\nbase_delay = 0.2\nmax_delay = 1.0")
    lines.extend(f'[[feeds]]\nurl = "{url}"\ninterval = "{interval}"' for url in feeds)
    if hook_url:
        lines.append(f'[[channels]]\ntype = "webhook"\nname = "hook"\nurl = "{hook_url}"')
    if extra:
        lines.append(extra)
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return path
