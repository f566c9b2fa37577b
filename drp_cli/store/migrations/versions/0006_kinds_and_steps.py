"""How binding each deadline is (``firm``, ``aim`` or ``guidance``), the concern's route
through its protocol, and the next step due inside the current stage, stored on the concern
row so that the morning check reads no events and no protocol. The columns are filled in
after the upgrade by the lifecycle rule (``Tracker.upgrade`` folds every concern), not here.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("concern") as batch:
        batch.add_column(sa.Column("route", sa.String, nullable=True))
        batch.add_column(sa.Column("deadline_kind", sa.String, nullable=True))
        batch.add_column(sa.Column("formal_deadline_kind", sa.String, nullable=True))
        batch.add_column(sa.Column("step", sa.String, nullable=True))
        batch.add_column(sa.Column("step_deadline", sa.Date, nullable=True))
        batch.add_column(sa.Column("step_deadline_kind", sa.String, nullable=True))
    op.create_index("ix_concern_status_step_deadline", "concern", ["status", "step_deadline"])


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
