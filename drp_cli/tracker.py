"""The domain API: open, escalate, respond, refer, resolve and list concerns.

Every write goes through :meth:`Tracker._write`, one short transaction that appends the
event and updates the concern's stored state (stage, deadlines, status) together. Events
are never updated or deleted; bad input raises before anything is written.

Example::

    from drp_cli.tracker import Tracker
    t = Tracker("drp.sqlite3")
    c = t.open(protocol="knowsley", child="C-1042", category="statutory",
               summary="No allocated social worker", on=date(2025, 3, 3), by="A. IRO")
    t.escalate(c.id, on=date(2025, 3, 11), by="A. IRO")
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Table
from sqlmodel import Session, col, select

from drp_cli.calendar import WorkingCalendar
from drp_cli.chain import HASHED_FIELDS, VerifyReport, event_hash, verify_rows
from drp_cli.daily import OverdueItem, check_within, overdue_items
from drp_cli.dates import iso, parse_date, today, utc_now
from drp_cli.db import Store
from drp_cli.errors import InvalidInput, NotFound, TransitionRefused
from drp_cli.models import ChainHead, ClosureChange, Concern, Event
from drp_cli.protocols import ROLES, Protocol, Registry, Stage, registry, themes

STATUSES = ("open", "resolved", "withdrawn")
STAGE_ENTRIES = ("opened", "imported", "escalated")  # event kinds that enter a stage
EVENT_KINDS = (
    "opened",
    "imported",
    "escalated",
    "response",
    "note",
    "referred",
    "wishes-sought",
    "wishes-not-sought",
    "told-outcome",
    "not-told-outcome",
    "resolved",
    "withdrawn",
)
VoiceKind = Literal["wishes-sought", "wishes-not-sought", "told-outcome", "not-told-outcome"]
MAX_TEXT = 20_000
MAX_REF = 64


# -- value objects returned by the API --------------------------------------------------
@dataclass(frozen=True)
class EventView:
    seq: int
    kind: str
    on: dt.date
    stage: str
    from_stage: str | None
    by: str
    recorded_at: dt.datetime
    text: str
    details: dict[str, Any]


@dataclass(frozen=True)
class ConcernView:
    id: int
    protocol: str
    child: str
    category: str
    issue: str | None
    summary: str
    impact: str
    recommended: str
    raised_by: str
    role: str
    status: str
    stage: str
    stage_started_on: dt.date
    deadline: dt.date | None
    formal_started_on: dt.date | None
    formal_deadline: dt.date | None
    referred_on: dt.date | None
    senior_officer_notified_on: dt.date | None
    wishes: str | None
    told_outcome: str | None
    opened_on: dt.date
    closed_on: dt.date | None
    outcome: str | None
    events: list[EventView] = field(default_factory=list)
    external_ref: str | None = None


@dataclass(frozen=True)
class Closure:
    day: dt.date
    reason: str
    by: str
    recorded_at: dt.datetime


# -- helpers -----------------------------------------------------------------------------
def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def current_user(by: str | None = None) -> str:
    """Who is recording: ``by``, else ``DRP_USER``, else the OS login."""
    for candidate in (by, os.environ.get("DRP_USER")):
        if candidate is not None and candidate.strip():
            return _clean_line(candidate, "--by", MAX_REF * 2)
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no login name in this environment
        raise InvalidInput("cannot tell who is recording: pass --by NAME or set DRP_USER") from None


def _clean_line(value: str, what: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    if any(ord(ch) < 32 for ch in text):
        raise InvalidInput(f"{what} must be one line without control characters")
    return text


def _clean_text(value: str | None, what: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{what} is longer than {MAX_TEXT} characters")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise InvalidInput(f"{what} contains control characters")
    return text


def _event_view(e: Event) -> EventView:
    return EventView(
        seq=e.seq,
        kind=e.kind,
        on=e.effective_on,
        stage=e.stage,
        from_stage=e.from_stage,
        by=e.by,
        recorded_at=e.recorded_at,
        text=e.text,
        details=json.loads(e.details or "{}"),
    )


def _concern_view(c: Concern, events: Sequence[Event]) -> ConcernView:
    assert c.id is not None
    return ConcernView(
        id=c.id,
        protocol=c.protocol,
        child=c.child,
        category=c.category,
        issue=c.issue,
        summary=c.summary,
        impact=c.impact,
        recommended=c.recommended,
        raised_by=c.raised_by,
        role=c.role,
        status=c.status,
        stage=c.stage,
        stage_started_on=c.stage_started_on,
        deadline=c.deadline,
        formal_started_on=c.formal_started_on,
        formal_deadline=c.formal_deadline,
        referred_on=c.referred_on,
        senior_officer_notified_on=c.senior_officer_notified_on,
        wishes=c.wishes,
        told_outcome=c.told_outcome,
        opened_on=c.opened_on,
        closed_on=c.closed_on,
        outcome=c.outcome,
        events=[_event_view(e) for e in sorted(events, key=lambda e: (e.effective_on, e.seq))],
        external_ref=c.external_ref,
    )


def stage_deadline(
    cal: WorkingCalendar, stage: Stage, entered: dt.date, due: dt.date | None
) -> dt.date | None:
    """A stage's deadline: the IRO's own due date if set, else the protocol's timescale."""
    if due is not None:
        return due
    if stage.timescale_working_days is None:
        return None
    return cal.add(entered, stage.timescale_working_days)


def formal_deadline(
    cal: WorkingCalendar, protocol: Protocol, formal_started: dt.date | None
) -> dt.date | None:
    if formal_started is None or protocol.formal_cap_working_days is None:
        return None
    return cal.add(formal_started, protocol.formal_cap_working_days)


class Tracker:
    """The importable API over one database."""

    def __init__(
        self,
        db: str | os.PathLike[str] | Store | None = None,
        *,
        protocols: Registry | None = None,
        clock: Callable[[], dt.date] = today,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.store = db if isinstance(db, Store) else Store(db)
        self._registry = protocols
        self._clock = clock
        self._now = now
        self._calendar: WorkingCalendar | None = None

    # -- reference data ------------------------------------------------------------------
    @property
    def protocols(self) -> Registry:
        if self._registry is None:
            self._registry = registry()
        return self._registry

    def calendar(self) -> WorkingCalendar:
        if self._calendar is None:
            self._calendar = WorkingCalendar(c.day for c in self.closures())
        return self._calendar

    # -- date checks ------------------------------------------------------------------------
    def _event_date(self, on: dt.date | str | None) -> dt.date:
        day = parse_date(on, "--on") if on is not None else self._clock()
        if day > self._clock():
            raise InvalidInput(
                f"--on {day.isoformat()} is in the future; events are recorded on or before "
                f"today ({self._clock().isoformat()})"
            )
        return day

    # -- writing -----------------------------------------------------------------------------
    def _load(self, s: Session, concern_id: int, *, lock: bool = False) -> Concern:
        """The concern row; ``lock`` (in a write transaction) holds it until commit, so a
        check of its stage and the change that follows cannot interleave with another
        writer (SQLite's BEGIN IMMEDIATE already serialises writers)."""
        query = select(Concern).where(Concern.id == concern_id)
        if lock and not self.store.is_sqlite:
            query = query.with_for_update()
        concern = s.exec(query).first()
        if concern is None:
            raise NotFound(f"no concern with id {concern_id}")
        return concern

    def _append(
        self,
        s: Session,
        concern: Concern,
        kind: str,
        on: dt.date,
        by: str,
        *,
        stage: str | None = None,
        from_stage: str | None = None,
        text: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        assert concern.id is not None
        concern.event_count += 1
        concern.updated_at = self._now()
        s.add(concern)
        head_query = select(ChainHead).where(ChainHead.id == 1)
        if not self.store.is_sqlite:
            head_query = head_query.with_for_update()
        head = s.exec(head_query).one()
        event = Event(
            concern_id=concern.id,
            seq=concern.event_count,
            kind=kind,
            effective_on=on,
            stage=stage or concern.stage,
            from_stage=from_stage,
            by=by,
            recorded_at=self._now(),
            text=text,
            details=json.dumps(details or {}, sort_keys=True),
            chain_seq=head.seq + 1,
            prev_hash=head.hash,
        )
        event.hash = event_hash(
            {name: getattr(event, name) for name in HASHED_FIELDS}, head.seq + 1, head.hash
        )
        head.seq, head.hash = head.seq + 1, event.hash
        s.add(event)
        s.add(head)

    def _open_concern(self, s: Session, concern_id: int, action: str) -> Concern:
        concern = self._load(s, concern_id, lock=True)
        if concern.status != "open":
            raise TransitionRefused(f"concern {concern_id} is {concern.status}; cannot {action} it")
        return concern

    def _result(self, s: Session, concern: Concern) -> ConcernView:
        s.flush()
        events = s.exec(select(Event).where(Event.concern_id == concern.id)).all()
        return _concern_view(concern, events)

    def _stage_at(self, s: Session, concern: Concern, on: dt.date) -> str:
        """The stage the concern was at on day ``on`` (events may be recorded late)."""
        entries = s.exec(
            select(Event)
            .where(Event.concern_id == concern.id)
            .where(col(Event.kind).in_(STAGE_ENTRIES))
            .order_by(col(Event.effective_on), col(Event.seq))
        ).all()
        stage = concern.stage
        for e in entries:
            if e.effective_on <= on:
                stage = e.stage
        return stage

    def open(
        self,
        *,
        protocol: str,
        child: str,
        category: str,
        summary: str,
        impact: str = "",
        recommended: str = "",
        issue: str | None = None,
        stage: str | None = None,
        raised_by: str | None = None,
        role: str | None = None,
        on: dt.date | str | None = None,
        due: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Open a concern at the protocol's first stage, or at ``stage`` (bypass)."""
        proto = self.protocols.get(protocol)
        child_ref = _clean_line(child, "--child", MAX_REF)
        theme = themes().theme(category)
        if issue is not None:
            themes().check_issue(theme.slug, issue)
        summary_text = _clean_text(summary, "--summary", required=True)
        impact_text = _clean_text(impact, "--impact", required=False)
        recommended_text = _clean_text(recommended, "--recommended", required=False)
        start = proto.stage(stage) if stage is not None else proto.first_stage
        role_slug = role or proto.roles[0]
        if role_slug not in proto.roles:
            raise InvalidInput(
                f"role {role_slug!r} is not used in protocol {proto.slug!r}; "
                f"allowed: {', '.join(proto.roles)}"
            )
        recorder = current_user(by)
        raiser = _clean_line(raised_by, "--raised-by", MAX_REF * 2) if raised_by else recorder
        day = self._event_date(on)
        due_day = self._check_due(due, day, start)
        cal = self.calendar()
        formal_start = day if start.formal else None
        now = self._now()
        concern = Concern(
            protocol=proto.slug,
            child=child_ref,
            category=theme.slug,
            issue=issue,
            summary=summary_text,
            impact=impact_text,
            recommended=recommended_text,
            raised_by=raiser,
            role=role_slug,
            status="open",
            stage=start.slug,
            stage_started_on=day,
            stage_due_override=due_day,
            deadline=stage_deadline(cal, start, day, due_day),
            formal_started_on=formal_start,
            formal_deadline=formal_deadline(cal, proto, formal_start),
            opened_on=day,
            created_at=now,
            updated_at=now,
        )
        skipped = proto.stage_slugs[: proto.index(start.slug)]
        with self.store.session() as s:
            s.add(concern)
            s.flush()
            self._append(
                s,
                concern,
                "opened",
                day,
                recorder,
                text=summary_text,
                details={
                    "due": iso(due_day),
                    "bypassed": skipped,
                    "raised_by": raiser,
                    "role": role_slug,
                },
            )
            return self._result(s, concern)

    def _check_due(
        self, due: dt.date | str | None, entered: dt.date, stage: Stage
    ) -> dt.date | None:
        if due is None:
            return None
        day = parse_date(due, "--due")
        if day <= entered:
            raise InvalidInput(f"--due {day.isoformat()} must be after the stage starts")
        if stage.timescale_working_days is not None:
            limit = self.calendar().add(entered, stage.timescale_working_days)
            if day > limit:
                raise InvalidInput(
                    f"--due {day.isoformat()} is later than the protocol allows for stage "
                    f"{stage.slug!r} ({stage.timescale_working_days} working days: "
                    f"{limit.isoformat()}); a due date can only shorten the timescale"
                )
        return day

    def escalate(
        self,
        concern_id: int,
        *,
        to: str | None = None,
        on: dt.date | str | None = None,
        note: str = "",
        due: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Move to the next stage, or forward to any later stage (bypass)."""
        recorder = current_user(by)
        day = self._event_date(on)
        note_text = _clean_text(note, "--note", required=False)
        cal = self.calendar()
        with self.store.session() as s:
            concern = self._open_concern(s, concern_id, "escalate")
            proto = self.protocols.for_stored(concern.protocol)
            here = proto.index(concern.stage)
            if to is None:
                nxt = proto.next_stage(concern.stage)
                if nxt is None:
                    raise TransitionRefused(
                        f"concern {concern_id} is at {concern.stage!r}, the last stage of "
                        f"{proto.slug!r}; resolve it, withdraw it or refer it to CAFCASS"
                    )
                target = nxt
            else:
                target = proto.stage(to)
                there = proto.index(target.slug)
                if there <= here:
                    later = proto.stage_slugs[here + 1 :]
                    allowed = ", ".join(later) if later else "none (this is the last stage)"
                    word = "the stage it is already at" if there == here else "an earlier stage"
                    raise TransitionRefused(
                        f"concern {concern_id} is at {concern.stage!r}; {target.slug!r} is "
                        f"{word}; escalation goes forward only: {allowed}"
                    )
            if day < concern.stage_started_on:
                raise InvalidInput(
                    f"--on {day.isoformat()} is before the current stage began "
                    f"({concern.stage_started_on.isoformat()})"
                )
            due_day = self._check_due(due, day, target)
            from_stage = concern.stage
            skipped = proto.stage_slugs[here + 1 : proto.index(target.slug)]
            concern.stage = target.slug
            concern.stage_started_on = day
            concern.stage_responded_on = None
            concern.stage_due_override = due_day
            concern.deadline = stage_deadline(cal, target, day, due_day)
            if target.formal and concern.formal_started_on is None:
                concern.formal_started_on = day
                concern.formal_deadline = formal_deadline(cal, proto, day)
            self._append(
                s,
                concern,
                "escalated",
                day,
                recorder,
                from_stage=from_stage,
                text=note_text,
                details={"due": iso(due_day), "bypassed": skipped},
            )
            return self._result(s, concern)

    def _simple_event(
        self,
        concern_id: int,
        kind: str,
        *,
        text: str,
        on: dt.date | str | None,
        by: str | None,
        details: dict[str, Any] | None = None,
        update: Callable[[Concern, dt.date], None] | None = None,
        action: str,
        allow_closed: bool = False,
    ) -> ConcernView:
        recorder = current_user(by)
        day = self._event_date(on)
        with self.store.session() as s:
            if allow_closed:
                concern = self._load(s, concern_id, lock=True)
            else:
                concern = self._open_concern(s, concern_id, action)
            if day < concern.opened_on:
                raise InvalidInput(
                    f"--on {day.isoformat()} is before the concern was opened "
                    f"({concern.opened_on.isoformat()})"
                )
            if update is not None:
                update(concern, day)
            stage = self._stage_at(s, concern, day)
            if kind == "response" and stage == concern.stage and day >= concern.stage_started_on:
                latest = concern.stage_responded_on
                concern.stage_responded_on = day if latest is None else max(latest, day)
            self._append(s, concern, kind, day, recorder, stage=stage, text=text, details=details)
            return self._result(s, concern)

    def respond(
        self,
        concern_id: int,
        *,
        text: str,
        respondent: str = "",
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Record the manager's response (it does not end the stage: escalate or resolve)."""
        body = _clean_text(text, "--text", required=True)
        who = _clean_line(respondent, "--from", MAX_REF * 2) if respondent.strip() else ""
        return self._simple_event(
            concern_id,
            "response",
            text=body,
            on=on,
            by=by,
            details={"from": who} if who else None,
            action="record a response on",
        )

    def note(
        self, concern_id: int, *, text: str, on: dt.date | str | None = None, by: str | None = None
    ) -> ConcernView:
        body = _clean_text(text, "--text", required=True)
        return self._simple_event(
            concern_id, "note", text=body, on=on, by=by, action="add a note to"
        )

    def refer(
        self,
        concern_id: int,
        *,
        senior_officer: str = "",
        notified_on: dt.date | str | None = None,
        curtailed_reason: str = "",
        text: str = "",
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Record a referral to CAFCASS; the dispute resolution process goes on alongside."""
        body = _clean_text(text, "--text", required=False)
        officer = (
            _clean_line(senior_officer, "--senior-officer", MAX_REF * 2)
            if (senior_officer.strip())
            else ""
        )
        notified = parse_date(notified_on, "--notified-on") if notified_on is not None else None
        if notified is not None and notified > self._clock():
            raise InvalidInput(f"--notified-on {notified.isoformat()} is in the future")
        if notified is not None and not officer:
            raise InvalidInput("--notified-on needs --senior-officer: who was notified")
        reason = _clean_text(curtailed_reason, "--curtailed", required=False)

        # checked inside the transaction, so two referrals at once cannot both pass
        def update(concern: Concern, day: dt.date) -> None:
            if concern.referred_on is not None:
                raise TransitionRefused(
                    f"concern {concern.id} was already referred to CAFCASS on "
                    f"{concern.referred_on.isoformat()}; add a note instead"
                )
            concern.referred_on = day
            concern.senior_officer_notified_on = notified

        return self._simple_event(
            concern_id,
            "referred",
            text=body,
            on=on,
            by=by,
            details={
                "senior_officer": officer,
                "senior_officer_notified_on": iso(notified),
                "curtailed_reason": reason,
            },
            update=update,
            action="refer",
        )

    def record_voice(
        self,
        concern_id: int,
        kind: VoiceKind,
        *,
        text: str = "",
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Record the child's voice: wishes sought (or why not); told the outcome (or why not)."""
        if kind not in ("wishes-sought", "wishes-not-sought", "told-outcome", "not-told-outcome"):
            raise InvalidInput(f"unknown child's-voice record {kind!r}")
        body = _clean_text(text, "--text", required=kind.startswith(("wishes-not", "not-")))

        def update(concern: Concern, _day: dt.date) -> None:
            if kind.startswith("wishes"):
                concern.wishes = "sought" if kind == "wishes-sought" else "not-sought"
            else:
                concern.told_outcome = "told" if kind == "told-outcome" else "not-told"

        # allowed on closed concerns too: the child is often told the outcome afterwards
        return self._simple_event(
            concern_id, kind, text=body, on=on, by=by, update=update, action="", allow_closed=True
        )

    def _close(
        self,
        concern_id: int,
        status: Literal["resolved", "withdrawn"],
        text: str,
        on: dt.date | str | None,
        by: str | None,
    ) -> ConcernView:
        recorder = current_user(by)
        day = self._event_date(on)
        action = "resolve" if status == "resolved" else "withdraw"
        with self.store.session() as s:
            concern = self._open_concern(s, concern_id, action)
            if day < concern.stage_started_on:
                raise InvalidInput(
                    f"--on {day.isoformat()} is before the current stage began "
                    f"({concern.stage_started_on.isoformat()})"
                )
            concern.status = status
            concern.closed_on = day
            concern.outcome = text
            self._append(s, concern, status, day, recorder, text=text)
            return self._result(s, concern)

    def resolve(
        self,
        concern_id: int,
        *,
        outcome: str,
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        text = _clean_text(outcome, "--outcome", required=True)
        return self._close(concern_id, "resolved", text, on, by)

    def withdraw(
        self,
        concern_id: int,
        *,
        reason: str,
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        text = _clean_text(reason, "--reason", required=True)
        return self._close(concern_id, "withdrawn", text, on, by)

    # -- reading -----------------------------------------------------------------------------
    def get(self, concern_id: int) -> ConcernView:
        with self.store.reader() as s:
            concern = self._load(s, concern_id)
            events = s.exec(select(Event).where(Event.concern_id == concern_id)).all()
            return _concern_view(concern, events)

    def concerns(
        self,
        *,
        status: str | None = None,
        protocol: str | None = None,
        child: str | None = None,
        stage: str | None = None,
        raised_by: str | None = None,
        with_events: bool = True,
    ) -> list[ConcernView]:
        query = select(Concern)
        if status is not None and status != "all":
            if status not in STATUSES:
                raise InvalidInput(
                    f"unknown status {status!r}; allowed: {', '.join(STATUSES)}, all"
                )
            query = query.where(Concern.status == status)
        if protocol is not None:
            self.protocols.get(protocol)
            query = query.where(Concern.protocol == protocol)
        if stage is not None:
            if protocol is not None:
                self.protocols.get(protocol).stage(stage)
            elif not any(p.has_stage(stage) for p in self.protocols.protocols.values()):
                raise InvalidInput(f"no installed protocol has a stage {stage!r}")
            query = query.where(Concern.stage == stage)
        if child is not None:
            query = query.where(Concern.child == child.strip())
        if raised_by is not None:
            query = query.where(Concern.raised_by == raised_by.strip())
        query = query.order_by(col(Concern.id))
        with self.store.reader() as s:
            concerns = s.exec(query).all()
            by_concern: dict[int, list[Event]] = {}
            if with_events and concerns:
                ids = [c.id for c in concerns]
                for i in range(0, len(ids), 500):
                    chunk = ids[i : i + 500]
                    for e in s.exec(select(Event).where(col(Event.concern_id).in_(chunk))).all():
                        by_concern.setdefault(e.concern_id, []).append(e)
            return [_concern_view(c, by_concern.get(c.id or 0, [])) for c in concerns]

    def overdue(self, *, on: dt.date | str | None = None, within: int = 0) -> list[OverdueItem]:
        """Open concerns whose stage or formal deadline is breached on ``on``; with
        ``within`` > 0, also those due within that many working days (see
        :mod:`drp_cli.daily`, which runs the same query without SQLAlchemy on SQLite)."""
        day = parse_date(on, "--on") if on is not None else self._clock()
        check_within(within)
        cal = self.calendar()
        conn = self.store.engine.raw_connection()
        try:
            return overdue_items(conn, cal, day, within, pyformat=not self.store.is_sqlite)
        finally:
            conn.close()

    # -- integrity ------------------------------------------------------------------------
    def verify(self) -> VerifyReport:
        """Re-walk the event hash chain and check every concern against its events."""
        report = VerifyReport()
        with self.store.reader() as s:
            rows = s.exec(select(Event)).all()
            head = s.exec(select(ChainHead).where(ChainHead.id == 1)).first()
            concerns = s.exec(select(Concern)).all()
        report.events, report.concerns = len(rows), len(concerns)
        ordered = sorted(rows, key=lambda e: (e.chain_seq is None, e.chain_seq or 0, e.id or 0))
        report.problems.extend(
            verify_rows(
                [e.model_dump() for e in ordered],
                {"seq": head.seq, "hash": head.hash} if head else None,
            )
        )
        by_concern: dict[int, list[Event]] = {}
        for e in rows:
            by_concern.setdefault(e.concern_id, []).append(e)
        for c in concerns:
            state = _replay(by_concern.get(c.id or 0, []))
            stored = {
                "stage": c.stage,
                "stage_started_on": c.stage_started_on,
                "stage_responded_on": c.stage_responded_on,
                "status": c.status,
                "referred_on": c.referred_on,
            }
            if state != stored or c.event_count != len(by_concern.get(c.id or 0, [])):
                report.problems.append(
                    f"concern {c.id}: its stored state does not match its events"
                )
        return report

    # -- local closure days -------------------------------------------------------------------
    def closures(self) -> list[Closure]:
        with self.store.reader() as s:
            changes = s.exec(select(ClosureChange).order_by(col(ClosureChange.id))).all()
        latest: dict[dt.date, ClosureChange] = {}
        for ch in changes:
            latest[ch.day] = ch
        return [
            Closure(day=ch.day, reason=ch.reason, by=ch.by, recorded_at=ch.recorded_at)
            for day, ch in sorted(latest.items())
            if ch.action == "add"
        ]

    def add_closures(
        self,
        first: dt.date | str,
        last: dt.date | str | None = None,
        *,
        reason: str,
        by: str | None = None,
    ) -> list[dt.date]:
        """Close the office on every weekday from ``first`` to ``last`` that is not already
        a bank holiday or closure day; open concerns' deadlines are recalculated."""
        start = parse_date(first, "closure date")
        end = parse_date(last, "--to") if last is not None else start
        if end < start:
            raise InvalidInput("--to must not be before the first closure day")
        if (end - start).days > 366:
            raise InvalidInput("a closure can cover at most one year at a time")
        why = _clean_line(reason, "--reason", 200)
        recorder = current_user(by)
        cal = self.calendar()
        days = cal.working_days_in(start, end)
        if not days:
            raise InvalidInput(
                f"no working day between {start.isoformat()} and {end.isoformat()} to close "
                "(weekends, bank holidays and existing closure days are already closed)"
            )
        self._change_closures(days, "add", why, recorder)
        return days

    def remove_closure(self, day: dt.date | str, *, by: str | None = None) -> dt.date:
        target = parse_date(day, "closure date")
        if target not in {c.day for c in self.closures()}:
            raise NotFound(f"{target.isoformat()} is not a local closure day")
        self._change_closures([target], "remove", "", current_user(by))
        return target

    def _change_closures(self, days: list[dt.date], action: str, reason: str, by: str) -> None:
        now = self._now()
        current = {c.day for c in self.closures()}
        new = current | set(days) if action == "add" else current - set(days)
        cal = WorkingCalendar(new)
        with self.store.session() as s:
            for d in days:
                s.add(ClosureChange(day=d, action=action, reason=reason, by=by, recorded_at=now))
            self._recalculate(s, cal)
        self._calendar = cal

    def _recalculate(self, s: Session, cal: WorkingCalendar) -> None:
        """Recompute the stored deadlines of open concerns after the calendar changed."""
        for c in s.exec(select(Concern).where(Concern.status == "open")).all():
            proto = self.protocols.protocols.get(c.protocol)
            if proto is None or not proto.has_stage(c.stage):
                continue
            c.deadline = stage_deadline(
                cal, proto.stage(c.stage), c.stage_started_on, c.stage_due_override
            )
            c.formal_deadline = formal_deadline(cal, proto, c.formal_started_on)
            s.add(c)


__all__ = [
    "EVENT_KINDS",
    "ROLES",
    "STATUSES",
    "Closure",
    "ConcernView",
    "EventView",
    "OverdueItem",
    "Tracker",
    "current_user",
]


def _replay(events: Sequence[Event]) -> dict[str, Any]:
    """The state a concern's events imply (stage, status, dates), to check the stored row."""
    state: dict[str, Any] = {
        "stage": None,
        "stage_started_on": None,
        "stage_responded_on": None,
        "status": "open",
        "referred_on": None,
    }
    for e in sorted(events, key=lambda e: e.seq):
        if e.kind in STAGE_ENTRIES:
            state["stage"] = e.stage
            state["stage_started_on"] = e.effective_on
            state["stage_responded_on"] = None
        elif e.kind == "response":
            if e.stage == state["stage"] and e.effective_on >= state["stage_started_on"]:
                latest = state["stage_responded_on"]
                state["stage_responded_on"] = max(latest or e.effective_on, e.effective_on)
        elif e.kind in ("resolved", "withdrawn"):
            state["status"] = e.kind
        elif e.kind == "referred":
            state["referred_on"] = e.effective_on
    return state
