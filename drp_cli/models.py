"""The database tables (SQLModel).

``event`` is the source of truth and is only ever appended to. ``concern`` holds what reads
need (current stage, its deadline, the formal deadline, status), written in the same
transaction as the event that changed it. ``closure_change`` is the append-only log of local
closure days; the closures in force are the days whose latest change is ``add``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 1


class Concern(SQLModel, table=True):
    __tablename__ = "concern"
    __table_args__ = (
        Index("ix_concern_status_deadline", "status", "deadline"),
        Index("ix_concern_status_formal_deadline", "status", "formal_deadline"),
    )

    id: int | None = Field(default=None, primary_key=True)
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


class ClosureChange(SQLModel, table=True):
    __tablename__ = "closure_change"

    id: int | None = Field(default=None, primary_key=True)
    day: dt.date = Field(index=True)
    action: str  # add | remove
    reason: str = ""
    by: str
    recorded_at: dt.datetime


class Meta(SQLModel, table=True):
    __tablename__ = "drp_meta"

    key: str = Field(primary_key=True)
    value: str
