"""Alembic environment for PeaceWatch.

Runs only online, on the connection ``worker.store.migrate`` puts in
``config.attributes["connection"]``; that connection is already inside a transaction
holding the migration lock, so every revision of one upgrade commits or rolls back
together. There is no alembic.ini: ``worker.store.migrate.alembic_config`` builds the
configuration in code.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from worker.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through worker.store.migrate.upgrade(), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
