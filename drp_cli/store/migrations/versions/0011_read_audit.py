"""The audit of reads (issue 31 item 4): who read what, and when. One row for each command
that read a concern (``show``, ``alert``, ``bundle``, ``subject-access``) or many (``list``,
``overdue``, ``export``, ``backup``, ``report --with-children``): when (``at``), who
(``by``), the command (``action``), the concern it read (``concern_id``, NULL where a run
read many) or how many it read (``read_count``), and what identifies the read
(``detail``: the filters given, never a child's reference or a summary).

The rows are a hash chain of their own, like the record's (each row's hash covers its
content and the hash of the row before it; keyed mode seals each with an HMAC), with its
head in ``read_audit_head`` (one row, written here at the empty chain), so ``drp verify``
finds a row deleted, edited or inserted out of band. ``concern_id`` is no foreign key: the
audit of a concern outlives its purge.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "read_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("concern_id", sa.Integer, nullable=True),
        sa.Column("read_count", sa.Integer, nullable=True),
        sa.Column("detail", sa.String, nullable=False),
        sa.Column("chain_seq", sa.Integer, nullable=False),
        sa.Column("prev_hash", sa.String, nullable=False),
        sa.Column("hash", sa.String, nullable=False),
        sa.Column("mac", sa.String, nullable=True),
        sa.UniqueConstraint("chain_seq", name="uq_read_audit_chain_seq"),
    )
    op.create_index("ix_read_audit_concern_id", "read_audit", ["concern_id"])
    op.create_index("ix_read_audit_at", "read_audit", ["at"])
    op.create_table(
        "read_audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String, nullable=False),
    )
    op.get_bind().execute(
        sa.text("INSERT INTO read_audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": GENESIS}
    )


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
