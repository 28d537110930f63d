"""Alembic migrations, run in code (no alembic.ini) every time a store is opened.

``upgrade(engine)`` brings the database to the newest revision in one transaction:

- PostgreSQL: the transaction first takes ``pg_advisory_xact_lock(MIGRATION_LOCK)``, so
  concurrent openers (several workers starting at once) queue; the later ones find the
  schema at head and do nothing.
- SQLite: the transaction is ``BEGIN IMMEDIATE`` (see ``worker.store.db``), which takes
  the database write lock up front with the same effect.

A failed revision rolls the whole upgrade back, so a user's data is never left half
migrated. Revisions only ever add to the schema (new tables, columns with defaults,
indexes); a database written by a newer PeaceWatch is refused with a clear error.

Adding a revision: copy the newest file in ``migrations/versions/``, give it the next
``revision`` id and ``down_revision`` = the previous id, write ``upgrade``/``downgrade``
(use ``op.batch_alter_table`` for column changes so SQLite works), and update
``schema.py`` to match; ``tests/integration/store`` checks that schema and migrations agree.
Prefer plain ``op.add_column``/``op.drop_column``/``op.create_index`` where SQLite's
ALTER TABLE can do the job (see 0003): a batch *recreate* of ``feeds`` drops the old
table, and with ``foreign_keys=ON`` that DROP cascades and deletes every entry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from worker.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Arbitrary constant shared by every PeaceWatch process ("PWMIGR" in ASCII).
MIGRATION_LOCK = 0x50574D494752


_REVISION_FILE = re.compile(r"^v(\d{4})_\w+\.py$")


def packaged_head() -> str:
    """The newest revision id, read from the packaged file names (``v0003_….py`` → "0003").

    Cheap: lets an open of an up-to-date database skip importing Alembic altogether.
    A test checks it agrees with Alembic's own ``head_revision()``.
    """
    found = [
        m.group(1)
        for p in (MIGRATIONS_DIR / "versions").iterdir()
        if (m := _REVISION_FILE.match(p.name))
    ]
    if not found:  # pragma: no cover - the package always ships revisions
        raise StorageError("no database migrations found in the PeaceWatch package")
    return max(found)


def at_packaged_head(engine: Engine) -> bool:
    """True when the database already records the newest packaged revision."""
    table = sa.table("alembic_version", sa.column("version_num"))
    try:
        with engine.connect() as connection:
            versions = connection.execute(sa.select(table.c.version_num)).scalars().all()
    except sa.exc.DBAPIError:
        return False  # no version table yet (a new database) or unreadable: the slow path
    return list(versions) == [packaged_head()]


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migration scripts."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of PeaceWatch."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise StorageError("no database migrations found in the PeaceWatch package")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` (default: the newest).

    Raises ``StorageError`` when the database is at a revision this version does not know
    (it was written by a newer PeaceWatch). Other failures propagate as SQLAlchemy or
    Alembic errors for the caller to translate.
    """
    if revision == "head" and at_packaged_head(engine):
        return
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config()
    scripts = ScriptDirectory.from_config(config)
    with engine.connect() as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        current = current_revision(connection)
        if current is not None and _unknown(scripts, current):
            raise StorageError(
                f"the database is at schema revision {current}, which this version of "
                "PeaceWatch does not know; upgrade PeaceWatch or use another database"
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _unknown(scripts: ScriptDirectory, revision: str) -> bool:
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    try:
        return scripts.get_revision(revision) is None
    except (CommandError, RevisionError):  # unknown or ambiguous id
        return True
