"""No change of tables: the lifecycle rule counts timescales as the sources say (issue 28):
hours and calendar days as well as working days; clocks from the escalation, the outcome of
the stage before or a recorded request; kinds from the sources' words (West Sussex's 20
working days are guidance; Nottinghamshire 2016 sets no overall limit; its professionals'
meeting is an aim); routes that change a stage's addressees and timescale. Stored deadlines
written by the earlier rule no longer match the fold, so a database is brought up to this
revision, and ``Tracker.upgrade`` folds every concern again with the new rule: after
``drp db upgrade``, ``drp verify`` passes.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing in the schema: the refold after the upgrade does the work."""


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
