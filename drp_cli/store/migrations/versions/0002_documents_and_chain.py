"""Documents (items, attachments) and the tamper-evident hash chain over events.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "concern_id", sa.Integer, sa.ForeignKey("concern.id"), nullable=False, index=True
        ),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("data", sa.String, nullable=False),
        sa.Column("added_on", sa.Date, nullable=False),
        sa.Column("added_by", sa.String, nullable=False),
        sa.Column("done_on", sa.Date, nullable=True),
        sa.Column("done_by", sa.String, nullable=True),
        sa.Column("removed_on", sa.Date, nullable=True),
        sa.Column("removed_by", sa.String, nullable=True),
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "concern_id", sa.Integer, sa.ForeignKey("concern.id"), nullable=False, index=True
        ),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("filename", sa.String, nullable=False),
        sa.Column("sha256", sa.String, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("dated", sa.Date, nullable=True),
        sa.Column("description", sa.String, nullable=False),
        sa.Column("added_on", sa.Date, nullable=False),
        sa.Column("added_by", sa.String, nullable=False),
    )
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("chain_seq", sa.Integer, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String, nullable=True))
        batch.add_column(sa.Column("hash", sa.String, nullable=True))
        batch.create_unique_constraint("uq_event_chain_seq", ["chain_seq"])
    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String, nullable=False),
    )
    # chain the events already recorded, in the order they were written
    from drp_cli.domain.chain import GENESIS, event_hash

    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            'SELECT id, concern_id, seq, kind, effective_on, stage, from_stage, "by", '
            "recorded_at, text, details FROM event ORDER BY id"
        )
    ).mappings()
    prev, n = GENESIS, 0
    for row in list(rows):
        n += 1
        digest = event_hash(dict(row), n, prev)
        conn.execute(
            sa.text("UPDATE event SET chain_seq = :n, prev_hash = :p, hash = :h WHERE id = :id"),
            {"n": n, "p": prev, "h": digest, "id": row["id"]},
        )
        prev = digest
    conn.execute(
        sa.text("INSERT INTO chain_head (id, seq, hash) VALUES (1, :n, :h)"), {"n": n, "h": prev}
    )


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
