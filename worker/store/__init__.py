"""Storage: SQLAlchemy Core on SQLite (default) or PostgreSQL, migrated by Alembic at open.

Modules::

    schema      the tables (shape at the newest migration) and the UTC datetime type
    migrations  Alembic env.py and versions/ (packaged with the wheel, no alembic.ini)
    migrate     upgrade to head under a lock, at every open
    db          open_store(url): URL → engine (SQLite pragmas, PostgreSQL options) → Store
    repository  Store (one transaction per method) and FeedRow
    deliveries  the alert half of Store: delivery rows, claims, outcomes, disabled channels
    failures    foreign errors → one-line StorageError with the URL's password masked

Usage::

    from worker.store import open_store
    with open_store(settings.storage.url) as store:   # None: SQLite in the user data dir
        feed = store.upsert_feed("https://example.org/feed", name="Example")
"""

from __future__ import annotations

from worker.store.db import default_url, open_store
from worker.store.deliveries import DeliveryRow, DeliveryState
from worker.store.repository import FeedRow, FeedSource, Store

__all__ = [
    "DeliveryRow",
    "DeliveryState",
    "FeedRow",
    "FeedSource",
    "Store",
    "default_url",
    "open_store",
]
