"""Opening stores: defaults, SQLite settings, and failures as one-line StorageErrors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.db import sqlite_url
from worker.errors import StorageError
from worker.store import default_url, open_store
from worker.store.failures import mask_url


def _closed_port() -> int:
    """A local TCP port with nothing listening (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+psycopg://app:s3cret@db:5432/pw", "postgresql+psycopg://app:***@db:5432/pw"),
        ("postgresql+psycopg://app@db/pw", "postgresql+psycopg://app@db/pw"),
        ("sqlite:////var/lib/pw.db", "sqlite:////var/lib/pw.db"),
        ("weird://user:pa%ss@host:x:y/", "weird://user:***@host:x:y/"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_unreachable_postgres_is_one_line_without_the_password() -> None:
    url = f"postgresql+psycopg://peacewatch:hunter2@127.0.0.1:{_closed_port()}/pw"
    with pytest.raises(StorageError) as caught:
        open_store(url)
    message = str(caught.value)
    assert "\n" not in message
    assert "hunter2" not in message
    assert message.startswith("cannot open store postgresql+psycopg://peacewatch:***@127.0.0.1:")
    assert "refused" in message.lower()


def test_sqlite_path_below_a_file_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a plain file\n")
    url = f"sqlite:///{blocker / 'sub' / 'peacewatch.db'}"
    with pytest.raises(StorageError, match=r"^cannot open store sqlite:///.*not-a-dir"):
        open_store(url)


def test_sqlite_path_that_is_a_directory_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="unable to open database file"):
        open_store(f"sqlite:///{tmp_path}")


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"These are my notes, not a database. " * 200)
    with pytest.raises(StorageError, match="not a database") as caught:
        open_store(f"sqlite:///{path}")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://user:pw@localhost/db", "unsupported storage URL mysql://user:\\*\\*\\*@"),
        ("not a url at all", "cannot open store not a url at all"),
    ],
)
def test_unsupported_urls(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        open_store(url)


def test_default_store_lives_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    expected = tmp_path / "xdg" / "peacewatch" / "peacewatch.db"
    assert default_url() == f"sqlite:///{expected}"
    with open_store(None) as store:
        store.upsert_feed("https://example.org/feed")
        assert store.url == f"sqlite:///{expected}"
    assert expected.is_file()


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    with open_store(sqlite_url(tmp_path)) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000


def test_in_memory_sqlite_works_for_one_process() -> None:
    with open_store("sqlite://") as store:
        feed = store.upsert_feed("https://example.org/feed")
        assert store.list_feeds() == [feed]


def test_relative_sqlite_paths_and_missing_dirs_are_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///data/nested/pw.db") as store:
        store.upsert_feed("https://example.org/feed")
    assert (tmp_path / "data" / "nested" / "pw.db").is_file()


def test_write_failures_after_open_are_storage_errors(tmp_path: Path) -> None:
    with open_store(sqlite_url(tmp_path)) as store:
        with store.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE stories"))
        with pytest.raises(StorageError, match=r"^cannot read from store sqlite:///.*stories"):
            store.list_stories(None, 5)
