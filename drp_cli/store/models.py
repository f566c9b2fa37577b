"""The database tables (SQLModel).

``event`` is the source of truth and is only ever appended to. ``concern`` holds what reads
need (current stage, its deadline, the formal deadline, status), written in the same
transaction as the event that changed it. ``closure_change`` is the append-only log of local
closure days; the closures in force are the days whose latest change is ``add``.
The schema itself is made by the Alembic migrations in ``drp_cli/migrations``; a test
checks that they and these models agree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from drp_cli.store.dbfile import SCHEMA_REVISION

__all__ = [
    "SCHEMA_REVISION",
    "Attachment",
    "ChainHead",
    "ClosureChange",
    "Concern",
    "Event",
    "Item",
    "ReadAudit",
    "ReadAuditHead",
    "Staff",
    "SubjectAccessHead",
    "SubjectAccessLink",
]


class Concern(SQLModel, table=True):
    __tablename__ = "concern"
    __table_args__ = (
        Index("ix_concern_status_deadline", "status", "deadline"),
        Index("ix_concern_status_formal_deadline", "status", "formal_deadline"),
        Index("ix_concern_status_step_deadline", "status", "step_deadline"),
    )

    id: int | None = Field(default=None, primary_key=True)
    external_ref: str | None = Field(default=None, unique=True, index=True)
    # a random identity given at opening, kept by export and import, so that a concern is
    # recognised in another database (a round trip adds nothing)
    uid: str | None = Field(default=None, unique=True, index=True)
    protocol: str = Field(index=True)
    child: str = Field(index=True)
    category: str
    issue: str | None = None
    summary: str
    impact: str = ""
    recommended: str = ""
    raised_by: str = Field(index=True)
    role: str
    status: str = "open"  # open | resolved | withdrawn
    stage: str
    stage_started_on: dt.date
    stage_due_override: dt.date | None = None
    # the latest response at the current stage, on or after it began; None until one comes
    # and again when the stage changes (what `drp overdue` shows as "responded")
    stage_responded_on: dt.date | None = None
    deadline: dt.date | None = None
    formal_started_on: dt.date | None = None
    formal_deadline: dt.date | None = None
    referred_on: dt.date | None = None
    senior_officer_notified_on: dt.date | None = None
    wishes: str | None = None  # sought | not-sought
    told_outcome: str | None = None  # told | not-told
    opened_on: dt.date
    closed_on: dt.date | None = None
    outcome: str | None = None
    event_count: int = 0
    # the route through the protocol (None: its first, a concern about a child)
    route: str | None = None
    # how binding each deadline is: firm | aim (stage), firm | guidance (formal)
    deadline_kind: str | None = None
    formal_deadline_kind: str | None = None
    # the next step due inside the current stage (not done, not optional), its deadline
    step: str | None = None
    step_deadline: dt.date | None = None
    step_deadline_kind: str | None = None  # firm | aim
    # the IRO who owns the concern (default: who opened it) and their team
    owner: str | None = Field(default=None, index=True)
    team: str | None = Field(default=None, index=True)
    created_at: dt.datetime
    updated_at: dt.datetime


class Event(SQLModel, table=True):
    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = Field(foreign_key="concern.id", index=True)
    seq: int  # 1, 2, ... within the concern
    kind: str
    effective_on: dt.date
    stage: str
    from_stage: str | None = None
    by: str
    recorded_at: dt.datetime
    text: str = ""
    details: str = "{}"  # JSON object
    # who brought an imported event into this database, and when (its ``by`` and
    # ``recorded_at`` stay those of the file it came from)
    imported_by: str | None = None
    imported_at: dt.datetime | None = None
    chain_seq: int | None = Field(default=None, unique=True)  # position in the hash chain
    prev_hash: str | None = None
    hash: str | None = None
    mac: str | None = None  # HMAC-SHA256 of ``hash`` under the key file (keyed mode)
    # events recorded from schema 0007 on: the chain hashes ``content``, a SHA-256 of the
    # random ``salt`` with the text and details, instead of the text itself; redaction
    # removes the text and the salt and leaves the commitment (and the chain) standing
    salt: str | None = None
    content: str | None = None


class ChainHead(SQLModel, table=True):
    """The last link of the event hash chain (one row); locked by every writer."""

    __tablename__ = "chain_head"

    id: int | None = Field(default=None, primary_key=True)
    seq: int
    hash: str


class ClosureChange(SQLModel, table=True):
    __tablename__ = "closure_change"

    id: int | None = Field(default=None, primary_key=True)
    day: dt.date = Field(index=True)
    action: str  # add | remove
    reason: str = ""
    by: str
    recorded_at: dt.datetime
    # closure days change deadlines, so they are links of the same hash chain as events
    chain_seq: int | None = Field(default=None, unique=True)
    prev_hash: str | None = None
    hash: str | None = None
    mac: str | None = None


class Item(SQLModel, table=True):
    """What a concern collects besides its stages: recommended actions, professionals,
    important people in the child's life, the child's wishes and feelings, and diversity /
    communication needs. Written with the event (``<kind>-added``, ``-done``, ``-removed``)
    that records the change, so the event log stays the whole history."""

    __tablename__ = "item"

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = Field(foreign_key="concern.id", index=True)
    kind: str  # action | professional | important-person | wishes | needs
    n: int  # 1, 2, ... per concern and kind
    position: int = 0  # priority order of actions
    data: str = "{}"  # JSON object of the kind's fields
    added_on: dt.date
    added_by: str
    done_on: dt.date | None = None
    done_by: str | None = None
    removed_on: dt.date | None = None
    removed_by: str | None = None


class Attachment(SQLModel, table=True):
    """A document copied into the store (content-addressed by SHA-256)."""

    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = Field(foreign_key="concern.id", index=True)
    n: int
    kind: str  # care-order | final-care-plan | care-plan | guardian-report | review-record | other
    filename: str
    sha256: str
    size: int
    dated: dt.date | None = None
    description: str = ""
    added_on: dt.date
    added_by: str


class Staff(SQLModel, table=True):
    """The staff directory: the names concerns are owned by and handed over to. ``key`` is
    the name folded to lower case, so that names match whatever their case. Each entry is a
    link of the hash chain (from schema 0009): where mail goes is tamper-evident too."""

    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    key: str = Field(unique=True)
    email: str | None = None
    team: str | None = None
    role: str | None = None
    added_by: str
    added_at: dt.datetime
    chain_seq: int | None = Field(default=None, unique=True)
    prev_hash: str | None = None
    hash: str | None = None
    mac: str | None = None


class SubjectAccessRequest(SQLModel, table=True):
    """A subject access request about a child (schema 0010): when it was received, extended
    and answered, and by whom. The child's reference only: nothing else about the child."""

    __tablename__ = "subject_access_request"
    id: int | None = Field(default=None, primary_key=True)
    child: str = Field(index=True)
    received_on: dt.date
    recorded_by: str
    recorded_at: dt.datetime
    extended_on: dt.date | None = None
    extended_by: str | None = None
    extension_reason: str | None = None
    sent_on: dt.date | None = None
    sent_by: str | None = None
    #: random, for the digests of the row in its chain (schema 0013): deleted with the row,
    #: so nothing left after a purge can be matched to a reference
    salt: str | None = None


class SubjectAccessLink(SQLModel, table=True):
    """A link of the subject access requests' hash chain (schema 0013): one for each write
    to a request (received, extended, sent, removed by a purge, linked at the upgrade), with
    the digest of the request's row as it then stood (:mod:`drp_cli.store.sarsql`).
    ``request_id`` is no foreign key: the link of a removal outlives the row."""

    __tablename__ = "subject_access_link"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(index=True)
    change: str  # received | extended | sent | removed | linked
    row_digest: str | None = None  # None once removed
    chain_seq: int = Field(unique=True)
    prev_hash: str
    hash: str
    mac: str | None = None  # HMAC-SHA256 of ``hash`` under the key file (keyed mode)


class SubjectAccessHead(SQLModel, table=True):
    """The last link of the subject access requests' chain (one row)."""

    __tablename__ = "subject_access_head"

    id: int | None = Field(default=None, primary_key=True)
    seq: int
    hash: str


class ReadAudit(SQLModel, table=True):
    """The audit of reads (schema 0011): one row for each command that read the record,
    who ran it and when, the concern it read (None where a run read many) or how many, and
    what identifies the read (options given, never a child's reference or a summary). A
    hash chain of its own, with its head in ``read_audit_head`` (:mod:`drp_cli.store.audit`).
    ``concern_id`` is no foreign key: the audit of a concern outlives its purge."""

    __tablename__ = "read_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(index=True)
    by: str
    action: str  # show | list | overdue | alert | bundle | export | backup | report | ...
    concern_id: int | None = Field(default=None, index=True)
    read_count: int | None = None
    detail: str
    chain_seq: int = Field(unique=True)
    prev_hash: str
    hash: str
    mac: str | None = None  # HMAC-SHA256 of ``hash`` under the key file (keyed mode)


class ReadAuditHead(SQLModel, table=True):
    """The last link of the audit of reads (one row); locked by every read recorded."""

    __tablename__ = "read_audit_head"

    id: int | None = Field(default=None, primary_key=True)
    seq: int
    hash: str


class Purge(SQLModel, table=True):
    """The tombstone of one ``drp purge`` (schema 0012): the day judged, who and when, and in
    ``detail`` the concern ids, rules, counts and the chain positions removed with the hashes
    either side; no personal data. A link of the hash chain, so verify checks it."""

    __tablename__ = "purge"
    id: int | None = Field(default=None, primary_key=True)
    purged_on: dt.date
    by: str
    recorded_at: dt.datetime
    detail: str
    chain_seq: int = Field(unique=True)
    prev_hash: str
    hash: str
    mac: str | None = None
