"""A caseload: each concern's owner (the IRO) and team, the staff directory, and salted
content commitments on events so that personal data entered in error can be redacted
without breaking the hash chain.

``owner`` and ``team`` are filled in after the upgrade by the lifecycle rule (the owner of
a concern opened before they existed is who opened it). Events recorded before this
revision keep their hashes over their text; events recorded from it on are hashed over a
salted commitment of their text and details (``content``, ``salt``), which redaction leaves
standing while the text and the salt are removed.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("concern") as batch:
        batch.add_column(sa.Column("owner", sa.String, nullable=True))
        batch.add_column(sa.Column("team", sa.String, nullable=True))
        batch.create_index("ix_concern_owner", ["owner"])
        batch.create_index("ix_concern_team", ["team"])
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("salt", sa.String, nullable=True))
        batch.add_column(sa.Column("content", sa.String, nullable=True))
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("key", sa.String, nullable=False, unique=True),
        sa.Column("email", sa.String, nullable=True),
        sa.Column("team", sa.String, nullable=True),
        sa.Column("role", sa.String, nullable=True),
        sa.Column("added_by", sa.String, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
