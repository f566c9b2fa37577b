"""The staff directory inside the tamper-evident chain (issue 29 item 5): who owns what, and
where alerts and ``overdue --send`` go, can no longer be changed behind drp's back. Each
staff entry is a link of the same hash chain as events and closure-day changes (its
position, the hash before it, its own hash and, in keyed mode, its MAC). The entries of a
database brought up to this revision are linked by ``Tracker.upgrade`` after the schema
change (as closure changes were at 0005), so after ``drp db upgrade`` ``drp verify`` passes.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("chain_seq", sa.Integer, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String, nullable=True))
        batch.add_column(sa.Column("hash", sa.String, nullable=True))
        batch.add_column(sa.Column("mac", sa.String, nullable=True))
        batch.create_unique_constraint("uq_staff_chain_seq", ["chain_seq"])


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
