"""Fresh, real databases for tests: a SQLite file or a throw-away PostgreSQL database.

PostgreSQL is found at ``$PEACEWATCH_TEST_POSTGRES_URL`` if set, else at
``postgresql+psycopg://root@127.0.0.1:5432/test`` or ``…//postgres@…/test`` (trust
auth). ``fresh_postgres_url()`` creates a database with a random name there and drops it
(``WITH (FORCE)``) afterwards, so tests never touch an existing database and can run in
parallel. When no server answers, PostgreSQL cases skip with the reason.

Use in a conftest::

    from tests.support.db import store_url  # noqa: F401  (parametrised: sqlite, postgresql)

or directly::

    with fresh_store_url("postgresql", tmp_path) as url:
        store = open_store(url)
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

Backend = Literal["sqlite", "postgresql"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgresql")
ENV_URL = "PEACEWATCH_TEST_POSTGRES_URL"
CANDIDATE_URLS = (
    "postgresql+psycopg://root@127.0.0.1:5432/test",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
)
DATABASE_PREFIX = "peacewatch_test_"


def sqlite_url(directory: Path) -> str:
    """A SQLite store URL for a new file in ``directory`` (e.g. pytest's ``tmp_path``)."""
    return f"sqlite:///{directory / 'peacewatch.db'}"


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string psycopg accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@functools.cache
def _find_postgres() -> tuple[str | None, str]:
    candidates = [os.environ[ENV_URL]] if os.environ.get(ENV_URL) else list(CANDIDATE_URLS)
    failures = []
    for url in candidates:
        try:
            with psycopg.connect(_libpq(url), connect_timeout=3, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return url, ""
        except psycopg.Error as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            failures.append(f"{make_url(url).render_as_string()}: {first_line}")
    return None, "PostgreSQL not reachable (" + "; ".join(failures) + f"); set {ENV_URL}"


def postgres_admin_url() -> str | None:
    """A URL of a PostgreSQL database we may create databases from, or None."""
    return _find_postgres()[0]


def postgres_skip_reason() -> str | None:
    """Why PostgreSQL tests cannot run, or None when they can."""
    url, reason = _find_postgres()
    return None if url else reason


@contextmanager
def fresh_postgres_url() -> Iterator[str]:
    """A ``postgresql+psycopg://`` URL of a new empty database, dropped on exit.

    Calls ``pytest.skip`` when no PostgreSQL server is reachable.
    """
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip(postgres_skip_reason() or "PostgreSQL not reachable")
    name = DATABASE_PREFIX + secrets.token_hex(6)
    with psycopg.connect(_libpq(admin), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield (
            make_url(admin)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(_libpq(admin), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def fresh_store_url(backend: Backend, directory: Path) -> Iterator[str]:
    """A URL of a new empty store of the given backend (SQLite file in ``directory``)."""
    if backend == "sqlite":
        yield sqlite_url(directory)
    else:
        with fresh_postgres_url() as url:
            yield url


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Parametrised fixture: a fresh empty SQLite file, then a fresh PostgreSQL database."""
    with fresh_store_url(request.param, tmp_path) as url:
        yield url
