"""Purges (issue 31 item 2): the tombstone each ``drp purge`` leaves in the record's hash
chain. One row per purge: the day judged (``purged_on``), who ran it and when, and
``detail``, a JSON object of what was removed with no personal data: the concerns' ids, the
rule each was disposed of under, how many events, items, attachment rows and stored files
went, and the chain positions the removed events held (``gaps``: each run of positions with
the hash before it and the hash of its last link), so that ``drp verify`` checks everything
that remains, and the tombstone itself as a link of the chain (``chain_seq``, ``prev_hash``,
``hash``, keyed ``mac``). Events deleted behind drp's back, with no tombstone, still break
the chain.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "purge",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("purged_on", sa.Date, nullable=False),
        sa.Column("by", sa.String, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String, nullable=False),
        sa.Column("chain_seq", sa.Integer, nullable=False),
        sa.Column("prev_hash", sa.String, nullable=False),
        sa.Column("hash", sa.String, nullable=False),
        sa.Column("mac", sa.String, nullable=True),
        sa.UniqueConstraint("chain_seq", name="uq_purge_chain_seq"),
    )


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
