"""The date of the latest response at the concern's current stage, stored on the concern
row when the response is written (and cleared when the stage changes), so that the daily
check reads no events. Filled in here from the event log.

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
    op.execute(
        "UPDATE concern SET stage_responded_on = ("
        "SELECT MAX(e.effective_on) FROM event e WHERE e.concern_id = concern.id "
        "AND e.kind = 'response' AND e.stage = concern.stage "
        "AND e.effective_on >= concern.stage_started_on)"
    )


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
