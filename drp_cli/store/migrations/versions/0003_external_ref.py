"""An external reference per concern, so that importing a tracker twice adds nothing.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("concern") as batch:
        batch.add_column(sa.Column("external_ref", sa.String, nullable=True))
        batch.create_index("ix_concern_external_ref", ["external_ref"], unique=True)


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
