"""The subject access requests inside a tamper-evident chain (issue 31 item 3): a request
edited, deleted or inserted outside drp fails ``drp verify``.

Every write to a request (received, extended, sent, removed by a purge) appends a link to
``subject_access_link``: the request's id, the change, the digest of the request's whole
row as it then stood (salted with the row's own random ``salt``, a new column), its chain
position, the hash before it, its own hash and, in keyed mode, its MAC; the head is
``subject_access_head`` (one row, written here). The rules are
:mod:`drp_cli.domain.subject_access`'s (``row_digest``, ``link_hash``).

The requests of a database brought up to this revision are salted and linked here, each as
it stands (``"linked"``), oldest first, so after ``drp db upgrade`` ``drp verify`` passes;
in keyed mode their links are sealed by ``drp key seal``, as the other chains' are.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

from drp_cli.domain.subject_access import link_hash, row_digest

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.add_column("subject_access_request", sa.Column("salt", sa.String, nullable=True))
    op.create_table(
        "subject_access_link",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("change", sa.String, nullable=False),
        sa.Column("row_digest", sa.String, nullable=True),
        sa.Column("chain_seq", sa.Integer, nullable=False),
        sa.Column("prev_hash", sa.String, nullable=False),
        sa.Column("hash", sa.String, nullable=False),
        sa.Column("mac", sa.String, nullable=True),
        sa.UniqueConstraint("chain_seq", name="uq_subject_access_link_chain_seq"),
    )
    op.create_index("ix_subject_access_link_request_id", "subject_access_link", ["request_id"])
    op.create_table(
        "subject_access_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String, nullable=False),
    )
    bind = op.get_bind()
    seq, prev = 0, GENESIS
    rows = bind.execute(sa.text("SELECT * FROM subject_access_request ORDER BY id")).mappings()
    for found in list(rows):
        row = dict(found)
        row["salt"] = secrets.token_hex(16)
        bind.execute(sa.text("UPDATE subject_access_request SET salt = :s WHERE id = :i"),
                     {"s": row["salt"], "i": row["id"]})  # fmt: skip
        link = {"request_id": row["id"], "change": "linked",
                "row_digest": row_digest(row["id"], row)}  # fmt: skip
        seq, digest = seq + 1, link_hash(link, seq + 1, prev)
        bind.execute(
            sa.text("INSERT INTO subject_access_link (request_id, change, row_digest, "
                    "chain_seq, prev_hash, hash) VALUES (:r, :c, :d, :q, :p, :h)"),
            {"r": link["request_id"], "c": "linked", "d": link["row_digest"], "q": seq,
             "p": prev, "h": digest},
        )  # fmt: skip
        prev = digest
    bind.execute(sa.text("INSERT INTO subject_access_head (id, seq, hash) VALUES (1, :q, :h)"),
                 {"q": seq, "h": prev})  # fmt: skip


def downgrade() -> None:  # pragma: no cover - drp never downgrades
    raise NotImplementedError
