"""Feeds remember the URL they were first added under (``feeds.original_url``).

A permanent redirect moves ``feeds.url``; the config file and users still name the old
URL, so lookups match either. Existing rows are backfilled with their current URL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

# Plain ALTER TABLE on purpose, not op.batch_alter_table: a batch "recreate" on SQLite
# drops the old feeds table, and with foreign_keys=ON that DROP cascades to entries.


def upgrade() -> None:
    op.add_column("feeds", sa.Column("original_url", sa.Text))
    op.execute(sa.text("UPDATE feeds SET original_url = url"))
    op.create_index("ix_feeds_original_url", "feeds", ["original_url"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_feeds_original_url", table_name="feeds")
    op.drop_column("feeds", "original_url")  # SQLite >= 3.35 drops columns in place
