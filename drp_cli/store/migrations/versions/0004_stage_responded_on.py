"""The date of the latest response at the concern's current stage, stored on the concern
row so that the daily check reads no events. The column is filled in after the upgrade by
the lifecycle rule (``Tracker.upgrade`` folds every concern), not here.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("concern") as batch:
        batch.add_column(sa.Column("stage_responded_on", sa.Date, nullable=True))


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
