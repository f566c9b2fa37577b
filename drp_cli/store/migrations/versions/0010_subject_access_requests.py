"""Subject access requests (issue 31 item 3): when a request for a child's record was
received, who recorded it and when, whether the limit was extended (when the notice was
given, why, by whom) and when the answer was sent. The table holds no child data beyond
the reference the request is about; the due date is not stored (the domain counts it from
the date received: :mod:`drp_cli.domain.subject_access`).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_access_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("child", sa.String, nullable=False),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("recorded_by", sa.String, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("extended_on", sa.Date, nullable=True),
        sa.Column("extended_by", sa.String, nullable=True),
        sa.Column("extension_reason", sa.String, nullable=True),
        sa.Column("sent_on", sa.Date, nullable=True),
        sa.Column("sent_by", sa.String, nullable=True),
    )
    op.create_index("ix_subject_access_request_child", "subject_access_request", ["child"])


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
