"""The whole record in the hash chain: closure days become links of the chain, imported
events record who imported them and when, every link may carry a MAC (keyed mode), and each
concern gets a uid that export and import keep.

The data itself is brought into the chain after the schema change, by
``drp_cli.services.tracker.Tracker.upgrade`` (which folds every concern with the one lifecycle
rule):
Alembic changes only the schema.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("concern") as batch:
        batch.add_column(sa.Column("uid", sa.String, nullable=True))
        batch.create_index("ix_concern_uid", ["uid"], unique=True)
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("imported_by", sa.String, nullable=True))
        batch.add_column(sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("mac", sa.String, nullable=True))
    with op.batch_alter_table("closure_change") as batch:
        batch.add_column(sa.Column("chain_seq", sa.Integer, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String, nullable=True))
        batch.add_column(sa.Column("hash", sa.String, nullable=True))
        batch.add_column(sa.Column("mac", sa.String, nullable=True))
        batch.create_unique_constraint("uq_closure_change_chain_seq", ["chain_seq"])


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
