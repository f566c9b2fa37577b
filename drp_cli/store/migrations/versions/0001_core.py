"""The core tracker: concerns, their events, local closure days.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "concern",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("protocol", sa.String, nullable=False, index=True),
        sa.Column("child", sa.String, nullable=False, index=True),
        sa.Column("category", sa.String, nullable=False),
        sa.Column("issue", sa.String, nullable=True),
        sa.Column("summary", sa.String, nullable=False),
        sa.Column("impact", sa.String, nullable=False),
        sa.Column("recommended", sa.String, nullable=False),
        sa.Column("raised_by", sa.String, nullable=False, index=True),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("stage", sa.String, nullable=False),
        sa.Column("stage_started_on", sa.Date, nullable=False),
        sa.Column("stage_due_override", sa.Date, nullable=True),
        sa.Column("deadline", sa.Date, nullable=True),
        sa.Column("formal_started_on", sa.Date, nullable=True),
        sa.Column("formal_deadline", sa.Date, nullable=True),
        sa.Column("referred_on", sa.Date, nullable=True),
        sa.Column("senior_officer_notified_on", sa.Date, nullable=True),
        sa.Column("wishes", sa.String, nullable=True),
        sa.Column("told_outcome", sa.String, nullable=True),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("closed_on", sa.Date, nullable=True),
        sa.Column("outcome", sa.String, nullable=True),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
    )
    op.create_index("ix_concern_status_deadline", "concern", ["status", "deadline"])
    op.create_index("ix_concern_status_formal_deadline", "concern", ["status", "formal_deadline"])
    op.create_table(
        "event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "concern_id", sa.Integer, sa.ForeignKey("concern.id"), nullable=False, index=True
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("stage", sa.String, nullable=False),
        sa.Column("from_stage", sa.String, nullable=True),
        sa.Column("by", sa.String, nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.Column("text", sa.String, nullable=False),
        sa.Column("details", sa.String, nullable=False),
    )
    op.create_table(
        "closure_change",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date, nullable=False, index=True),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("by", sa.String, nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
    )


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
