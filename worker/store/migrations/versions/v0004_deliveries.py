"""Alert deliveries (one row per story and channel) and disabled channels.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIME = sa.DateTime(timezone=True)

# New tables only: nothing existing is altered, so no batch recreate (see 0003).


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("story_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("next_attempt", UTC_TIME),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("created", UTC_TIME, nullable=False),
        sa.Column("sent_at", UTC_TIME),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_deliveries_story_id_stories", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("story_id", "channel", name="uq_deliveries_story_id_channel"),
        sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name="ck_deliveries_state"),
    )
    op.create_index("ix_deliveries_state_next_attempt", "deliveries", ["state", "next_attempt"])
    op.create_table(
        "channel_state",
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("disabled_at", UTC_TIME),
        sa.Column("reason", sa.Text),
        sa.PrimaryKeyConstraint("channel", name="pk_channel_state"),
    )


def downgrade() -> None:
    op.drop_table("channel_state")
    op.drop_index("ix_deliveries_state_next_attempt", table_name="deliveries")
    op.drop_table("deliveries")
