"""Opening the store: URL → configured engine → migrated database → ``Store``.

- ``None`` means the default: the SQLite file ``peacewatch.db`` in
  ``platformdirs.user_data_dir("peacewatch")`` (the directory is created).
- ``sqlite:///PATH``: a SQLite file (parent directories created, ``~`` expanded);
  ``sqlite://`` alone is an in-memory database (tests, one process only).
  Every connection gets ``journal_mode=WAL`` (readers never wait for the writer),
  ``synchronous=NORMAL``, ``busy_timeout`` (writers queue instead of failing) and
  ``foreign_keys=ON``. Write transactions start with ``BEGIN IMMEDIATE`` so two writers
  can never deadlock on a lock upgrade; read-only ones use a plain ``BEGIN``.
- ``postgresql+psycopg://…`` (``postgresql://`` and ``postgres://`` are read as the same):
  PostgreSQL through psycopg 3, with a connect timeout and pre-ping.

Any failure raises ``StorageError`` with one line naming the URL, password masked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from worker.errors import StorageError
from worker.store.failures import mask_url, translated
from worker.store.migrate import upgrade
from worker.store.repository import READ_ONLY, Store

DEFAULT_FILENAME = "peacewatch.db"
BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10


def default_url() -> str:
    """The default store: a SQLite file in the user data directory."""
    directory = Path(platformdirs.user_data_dir("peacewatch"))
    return f"sqlite:///{directory / DEFAULT_FILENAME}"


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open (creating and migrating as needed) the store at ``url``.

    ``migrate=False`` skips the upgrade (only for tests that build old schemas).
    """
    url = url or default_url()
    with translated("open", url):
        engine = create_engine(url)
        try:
            if migrate:
                upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
    return Store(engine, mask_url(url))


def create_engine(url: str) -> Engine:
    """A configured engine for ``url`` (no connection is made yet)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend in ("postgresql", "postgres"):
        return _postgres_engine(parsed)
    raise StorageError(
        f"unsupported storage URL {mask_url(url)}: use sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/DB"
    )


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    options: dict[str, Any] = {}
    if in_memory:
        options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    elif not database.startswith("file:"):
        path = Path(database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = url.set(database=str(path))
    engine = sa.create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _postgres_engine(url: URL) -> Engine:
    url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
