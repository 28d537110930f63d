"""Indexes for the scheduler (feeds due to poll) and the story listing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_feeds_next_poll", "feeds", ["next_poll"])
    op.create_index("ix_stories_label_published", "stories", ["label", "published"])
    op.create_index("ix_stories_entry_id", "stories", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_stories_entry_id", table_name="stories")
    op.drop_index("ix_stories_label_published", table_name="stories")
    op.drop_index("ix_feeds_next_poll", table_name="feeds")
