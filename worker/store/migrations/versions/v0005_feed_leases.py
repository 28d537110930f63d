"""Feeds carry a poll lease (``feeds.lease_owner``, ``feeds.lease_until``).

The Celery scheduler leases each due feed before it enqueues its poll, so one feed is
never polled twice at once; a lease that runs out (a crashed worker) frees the feed again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

# Plain ALTER TABLE on purpose, not op.batch_alter_table (see 0003: a batch recreate of
# feeds on SQLite would cascade the DROP to entries).


def upgrade() -> None:
    op.add_column("feeds", sa.Column("lease_owner", sa.Text))
    op.add_column("feeds", sa.Column("lease_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("feeds", "lease_until")  # SQLite >= 3.35 drops columns in place
    op.drop_column("feeds", "lease_owner")
