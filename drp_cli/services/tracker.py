"""The domain API: open, escalate, respond, refer, resolve and list concerns.

Every write goes through a :class:`drp_cli.store.record.UnitOfWork`: one short transaction that
appends the event as a link of the hash chain and writes the concern's rows from the fold of
its events (:mod:`drp_cli.domain.lifecycle`, the one lifecycle rule). Events are never updated or
deleted; bad input raises before anything is written.

Example::

    from drp_cli.services.tracker import Tracker
    t = Tracker("drp.sqlite3")
    c = t.open(protocol="knowsley", child="C-1042", category="statutory",
               summary="No allocated social worker", on=date(2025, 3, 3), by="A. IRO")
    t.escalate(c.id, on=date(2025, 3, 11), by="A. IRO")
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from drp_cli.core.dates import iso, parse_date, today, utc_now
from drp_cli.core.errors import InvalidInput, NotFound, RecordTampered, TransitionRefused, fld
from drp_cli.core.plainclass import Frozen, set_fields
from drp_cli.core.textsafe import MAX_REF, clean_line, clean_text
from drp_cli.core.uids import new_uid
from drp_cli.domain import judgement, lifecycle, transitions
from drp_cli.domain.calendar import WorkingCalendar, closures_in_force
from drp_cli.domain.chain import VerifyReport
from drp_cli.domain.chain import mac as chain_mac
from drp_cli.domain.lifecycle import STAGE_ENTRIES, Fact, formal_deadline, stage_deadline
from drp_cli.domain.views import ConcernView, EventView, OtherConcern, one_registry, view_of
from drp_cli.domain.wording import (
    CAFCASS_STEPS,  # the steps around a referral (the registry's), in words
)
from drp_cli.store import daily, record
from drp_cli.store.connection import Conn, Row, Store
from drp_cli.store.record import (
    Loaded,
    UnitOfWork,
    VerifyOptions,
    check_id,
    key_from_env,
    parse_expect,
)

if TYPE_CHECKING:
    from drp_cli.domain.overdue import OverdueItem
    from drp_cli.domain.protocols import Registry, Stage

STATUSES = ("open", "resolved", "withdrawn")
#: Every kind of event drp writes (the registry of transitions: drp_cli.domain.transitions).
EVENT_KINDS = transitions.KINDS
REFERRAL_METHODS = ("telephone", "writing")
#: The longest text `drp list --search` looks for (a summary is a few thousand at most).
MAX_SEARCH = 1000
VoiceKind = Literal["wishes-sought", "wishes-not-sought", "told-outcome", "not-told-outcome"]


# -- value objects returned by the API --------------------------------------------------
class Closure(Frozen):
    day: dt.date
    reason: str
    by: str
    recorded_at: dt.datetime

    _fields = (
        "day",
        "reason",
        "by",
        "recorded_at",
    )

    def __init__(
        self,
        day: dt.date,
        reason: str,
        by: str,
        recorded_at: dt.datetime,
    ) -> None:
        set_fields(
            self,
            day=day,
            reason=reason,
            by=by,
            recorded_at=recorded_at,
        )


# -- helpers -----------------------------------------------------------------------------
HOW_TO_NAME = 'set your name with `drp config set name "Your Name"` (or DRP_USER, or --by)'


def current_user(by: str | None = None) -> str:
    """Who is recording: ``by``, else ``DRP_USER``, else the config file's ``name``, else
    the OS login. A system account (root, administrator) is refused: a record must say
    which person made it."""
    from drp_cli.core import config

    chosen = next(
        (c for c in (by, os.environ.get("DRP_USER")) if c is not None and c.strip()), None
    )
    if chosen is None:
        chosen = config.load().name
    if chosen is None:
        chosen = config.login_name()  # only where no name is given or configured
    if chosen is None:  # none, or not UTF-8 text
        raise InvalidInput(f"cannot tell who is recording: {HOW_TO_NAME}")
    name = clean_line(chosen, fld("by"), MAX_REF * 2)
    if name.lower() in config.SYSTEM_ACCOUNTS:
        raise InvalidInput(f"drp will not record as the system account {name!r}: {HOW_TO_NAME}")
    return name


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _event_view(e: Row, gone: set[int] | frozenset[int] = frozenset()) -> EventView:
    return EventView(
        seq=e.seq,
        kind=e.kind,
        on=e.effective_on,
        stage=e.stage,
        from_stage=e.from_stage,
        by=e.by,
        recorded_at=_utc(e.recorded_at),
        text=e.text,
        details=record.event_details(e),
        retracted=e.seq in gone,
    )


#: a concern's child, as :meth:`Tracker._child_of` reads it: the child's other concerns, and
#: the child's concerns holding wishes and feelings recorded
ChildInfo = tuple[tuple[OtherConcern, ...], tuple[int, ...]]


#: The concern row's columns a :class:`ConcernView` holds as they are stored
VIEW_COLUMNS = (
    "id", "protocol", "child", "category", "issue", "summary", "impact", "recommended",
    "raised_by", "role", "status", "stage", "stage_started_on", "deadline",
    "formal_started_on", "formal_deadline", "referred_on", "senior_officer_notified_on",
    "wishes", "told_outcome", "opened_on", "closed_on", "outcome", "external_ref", "uid",
    "route", "deadline_kind", "formal_deadline_kind", "step", "step_deadline",
    "step_deadline_kind",
)  # fmt: skip


def _concern_view(c: Row, events: Sequence[Row], child: ChildInfo | None = None) -> ConcernView:
    """The concern's row and its events as the domain's view (:func:`views.view_of`: a
    list of many concerns makes one a row)."""
    gone = lifecycle.retracted_seqs(
        Fact(e.seq, e.kind, e.effective_on, e.stage, e.by, "", record.event_details(e))
        for e in events if e.kind == "retracted"
    )  # fmt: skip
    values = {name: c[name] for name in VIEW_COLUMNS}
    values["events"] = [
        _event_view(e, gone) for e in sorted(events, key=lambda e: (e.effective_on, e.seq))
    ]
    values["owner"] = c.get("owner")
    values["team"] = c.get("team")
    values["other_concerns"] = child[0] if child is not None else None
    values["wishes_recorded_on"] = child[1] if child is not None else None
    return view_of(values)


class Found(Frozen):
    """What a reference given to :meth:`Tracker.find` named: one concern (by its id or its
    external reference) or a child's concerns (by the child's reference)."""

    by: Literal["id", "external_ref", "child"]
    concerns: list[ConcernView]

    _fields = (
        "by",
        "concerns",
    )

    def __init__(
        self,
        by: Literal["id", "external_ref", "child"],
        concerns: list[ConcernView],
    ) -> None:
        set_fields(
            self,
            by=by,
            concerns=concerns,
        )


class Tracker:
    """The importable API over one database."""

    def __init__(
        self,
        db: str | os.PathLike[str] | Store | None = None,
        *,
        protocols: Registry | None = None,
        clock: Callable[[], dt.date] = today,
        now: Callable[[], dt.datetime] = utc_now,
        key: bytes | None = None,
    ) -> None:
        self.store = db if isinstance(db, Store) else Store(db)
        self.key = key if key is not None else key_from_env()
        self._registry = protocols
        self._clock = clock
        self._now = now
        self._calendar: WorkingCalendar | None = None
        self._days: dict[str, dt.date] = {}  # judge_day's days given as text, read

    # -- reference data ------------------------------------------------------------------
    @property
    def protocols(self) -> Registry:
        if self._registry is None:
            from drp_cli.domain.protocols import registry

            self._registry = registry()
        return self._registry

    def calendar(self) -> WorkingCalendar:
        """Working days: weekends, bank holidays and the local closure days in force."""
        if self._calendar is None:
            if not self.store.exists:
                return WorkingCalendar()
            with self.store.read() as conn:
                self._calendar = daily.calendar(conn)
        return self._calendar

    # -- dates ------------------------------------------------------------------------------
    def today(self) -> dt.date:
        """Today, by this tracker's clock."""
        return self._clock()

    def moment(self) -> dt.datetime:
        """Now (UTC), by this tracker's clock: when a change is recorded."""
        return self._now()

    def judge_day(self, on: dt.date | str | None) -> dt.date:
        """The day deadlines are judged on: ``on``, or today. (A day given as text is read
        once: a list judges each of its concerns on it.)"""
        if on is None:
            return self._clock()
        if type(on) is not str:
            return parse_date(on, fld("on"))
        day = self._days.get(on)
        if day is None:
            day = self._days[on] = parse_date(on, fld("on"))
        return day

    def event_date(self, on: dt.date | str | None) -> dt.date:
        """The date of an event being recorded: ``on`` (not in the future), or today."""
        day = self.judge_day(on)
        if day > self._clock():
            raise InvalidInput(
                f"{fld('on')} {day.isoformat()} is in the future; events are recorded on or before "
                f"today ({self._clock().isoformat()})"
            )
        return day

    # -- writing -----------------------------------------------------------------------------
    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One write transaction: load concerns for update, append events; committed when
        the block ends, rolled back (nothing written) on any error."""
        with self.store.write() as conn:
            # the calendar as it stands inside this transaction
            cal = daily.calendar(conn)
            uow = UnitOfWork(conn=conn, protocols=self.protocols.protocols, calendar=cal,
                             now=self._now(), key=self.key)  # fmt: skip
            yield uow
        self._calendar = uow.calendar  # as the transaction left it

    def _check(self, loaded: Loaded, fact: Fact, action: str = "") -> None:
        """The registry's check (:func:`drp_cli.domain.transitions.check`) of ``fact``, about to be
        appended to ``loaded``: the same check an import makes of every imported event."""
        protocol = self.protocols.protocols.get(loaded.row.protocol)
        transitions.check(loaded.state, fact, protocol, history=loaded.facts(),
                          concern=loaded.id, action=action)  # fmt: skip

    def append_checked(self, uow: UnitOfWork, loaded: Loaded, kind: str, day: dt.date,
                       by: str, *, stage: str, text: str = "",
                       details: dict[str, Any] | None = None, action: str = "") -> Row:  # fmt: skip
        """Append a ``kind`` event to ``loaded`` once the registry's check allows it
        (:meth:`_check`: the concern's status, the dates it may not be before, the kind's own
        rule), as :meth:`record_event` does: the way every command that appends an event
        without its own rule of the registry's to run first goes."""
        self._check(loaded, Fact(len(loaded.events) + 1, kind, day, stage, by, text,
                                 dict(details or {})), action)  # fmt: skip
        return uow.append(loaded, kind, day, by, stage=stage, text=text, details=details)

    def precheck(self, concern_id: int, kind: str, day: dt.date) -> None:
        """The registry's first check (:func:`drp_cli.domain.transitions.precheck`) of a
        ``kind`` event dated ``day`` on the concern as it stands, read without a write lock:
        for a command with something it could not undo to do before its unit of work (a
        file copied into the store). The unit of work checks again."""
        check_id(concern_id)
        with self.store.read() as conn:
            cal = daily.calendar(conn)
            uow = UnitOfWork(conn=conn, protocols=self.protocols.protocols, calendar=cal,
                             now=self._now(), key=self.key)  # fmt: skip
            loaded = uow.load(concern_id, lock=False)
        transitions.precheck(loaded.state, kind, day, concern=concern_id)

    def _result(self, loaded: Loaded) -> ConcernView:
        # the child's other concerns and recorded wishes, read in the same transaction
        child = self._child_of(loaded.conn, [loaded.row]) if loaded.conn is not None else {}
        return _concern_view(loaded.row, loaded.events, child.get(loaded.id))

    @staticmethod
    def stage_at(loaded: Loaded, on: dt.date) -> str:
        """The stage the concern was at on day ``on`` (events may be recorded late)."""
        return lifecycle.stage_at(loaded.facts(), on, loaded.row.stage)

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
        route: str | None = None,
        reason: str = "",
        subject: str | None = None,
        owner: str | None = None,
        team: str | None = None,
        on: dt.date | str | None = None,
        due: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Open a concern at the protocol's first stage, or at ``stage`` (bypass, with the
        ``reason``: immediate safety, say), on one of the protocol's routes (default: the
        first route open to ``role``)."""
        proto = self.protocols.get(protocol)
        child_ref = clean_line(child, fld("child"), MAX_REF)
        from drp_cli.domain.protocols import themes

        theme = themes().theme(category)
        if issue is not None:
            themes().check_issue(theme.slug, issue)
        summary_text = clean_text(summary, fld("summary"), required=True)
        impact_text = clean_text(impact, fld("impact"), required=False)
        recommended_text = clean_text(recommended, fld("recommended"), required=False)
        start = proto.stage(stage) if stage is not None else proto.first_stage
        routes = proto.all_routes
        chosen = proto.route(route) if route is not None else None
        role_slug = role or (chosen.roles[0] if chosen and chosen.roles else proto.roles[0])
        if role_slug not in proto.roles:
            raise InvalidInput(
                f"{fld('role')} {role_slug!r} is not used in protocol {proto.slug!r}; "
                f"allowed: {', '.join(proto.roles)}"
            )
        if chosen is None:
            chosen = next((r for r in routes if not r.roles or role_slug in r.roles), routes[0])
        if chosen.roles and role_slug not in chosen.roles:
            raise InvalidInput(
                f"{fld('route')} {chosen.slug!r} of protocol {proto.slug!r} is for "
                f"{', '.join(chosen.roles)}, not {role_slug}"
            )
        if subject is not None and chosen.subject != subject:
            raise InvalidInput(
                f"{fld('route')} {chosen.slug!r} of protocol {proto.slug!r} is about a "
                f"{chosen.subject}, not a {subject}: give its reference with "
                f"--{chosen.subject}"
            )
        why = clean_text(reason, fld("reason"), required=False)
        recorder = current_user(by)
        raiser = clean_line(raised_by, fld("raised_by"), MAX_REF * 2) if raised_by else recorder
        day = self.event_date(on)
        due_day = self._check_due(due, day, start)
        skipped = proto.stage_slugs[: proto.index(start.slug)]
        details = {
            "protocol": proto.slug,
            "child": child_ref,
            "category": theme.slug,
            "issue": issue,
            "impact": impact_text,
            "recommended": recommended_text,
            "raised_by": raiser,
            "role": role_slug,
            "uid": new_uid(),
            "route": chosen.slug,
            "due": iso(due_day),
            "bypassed": skipped,
            "owner": clean_line(owner, fld("owner"), MAX_REF * 2) if owner else recorder,
        }
        if team:
            details["team"] = clean_line(team, fld("team"), MAX_REF * 2)
        if why:
            details["reason"] = why
        opening = Fact(1, "opened", day, start.slug, recorder, summary_text, details)
        transitions.check(lifecycle.ConcernState(), opening, proto)  # the registry's, as ever
        with self.unit_of_work() as uow:
            loaded = uow.create(opening)
            uow.append(loaded, "opened", day, recorder, stage=start.slug, text=summary_text,
                       details=details)  # fmt: skip
            return self._result(loaded)

    def _check_due(
        self, due: dt.date | str | None, entered: dt.date, stage: Stage, reason: str = ""
    ) -> dt.date | None:
        if due is None:
            return None
        day = parse_date(due, fld("due"))
        if day <= entered:
            raise InvalidInput(f"{fld('due')} {day.isoformat()} must be after the stage starts")
        limit = self._limit(stage, entered)
        if limit is not None and day > limit and (stage.kind == "firm" or not reason):
            if stage.kind == "aim":
                raise InvalidInput(
                    f"{fld('due')} {day.isoformat()} is later than the protocol's aim for stage "
                    f"{stage.slug!r} ({stage.timescale_working_days} working days: "
                    f"{limit.isoformat()}); an aim may be extended with a reason "
                    f"({fld('reason')})"
                )
            raise InvalidInput(
                f"{fld('due')} {day.isoformat()} is later than the protocol allows for stage "
                f"{stage.slug!r} ({stage.timescale_working_days} working days: "
                f"{limit.isoformat()}); a due date can only shorten a firm timescale"
            )
        return day

    def _limit(self, stage: Stage, entered: dt.date) -> dt.date | None:
        """The latest due date a firm timescale allows (counted from the stage's start, the
        earliest its clock can start)."""
        if stage.timescale_working_days is None or stage.timescale_from != "stage":
            return None
        return self.calendar().add(entered, stage.timescale_working_days)

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
        day = self.event_date(on)
        note_text = clean_text(note, fld("note"), required=False)
        with self.unit_of_work() as uow:
            loaded = uow.load(concern_id)
            transitions.precheck(loaded.state, "escalated", day, concern=concern_id)
            concern = loaded.row
            proto = self.protocols.for_stored(concern.protocol)
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
            # forward only, not before the current stage began: the registry's rule
            self._check(loaded, Fact(len(loaded.events) + 1, "escalated", day, target.slug,
                                     recorder, note_text, {}))  # fmt: skip
            due_day = self._check_due(due, day, target)
            from_stage = concern.stage
            skipped = proto.stage_slugs[proto.index(concern.stage) + 1 : proto.index(target.slug)]
            uow.append(
                loaded,
                "escalated",
                day,
                recorder,
                stage=target.slug,
                from_stage=from_stage,
                text=note_text,
                details={"due": iso(due_day), "bypassed": skipped},
            )
            return self._result(loaded)

    def record_event(
        self,
        concern_id: int,
        kind: str,
        *,
        text: str,
        on: dt.date | str | None,
        by: str | None,
        details: dict[str, Any] | None = None,
        check: Callable[[Loaded, dt.date], str | None] | None = None,
        action: str,
        allow_closed: bool = False,
        stage: str = "at-the-date",
    ) -> ConcernView:
        """Append one ``kind`` event to a concern, dated ``on``, in one unit of work, if the
        registry of transitions allows it (:func:`drp_cli.domain.transitions.check`: whether a
        closed concern takes it, the dates it may not be before, its own rule).
        ``check(loaded, day)`` may refuse it, or fill ``details``, once the concern is loaded
        (and found to take the event at all), and may return the stage to record it at;
        else ``stage`` is ``"current"`` or the stage ``"at-the-date"``. ``action`` words the
        refusal of a closed concern; ``allow_closed`` says whether the caller expects a
        closed concern to take the event (the registry decides)."""
        recorder = current_user(by)
        day = self.event_date(on)
        with self.unit_of_work() as uow:
            loaded = uow.load(concern_id)
            transitions.precheck(loaded.state, kind, day, concern=concern_id, action=action)
            chosen = check(loaded, day) if check is not None else None
            at = chosen or (loaded.row.stage if stage == "current" else self.stage_at(loaded, day))
            self.append_checked(uow, loaded, kind, day, recorder, stage=at, text=text,
                                details=details, action=action)  # fmt: skip
            return self._result(loaded)

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
        body = clean_text(text, fld("text"), required=True)
        who = clean_line(respondent, fld("respondent"), MAX_REF * 2) if respondent.strip() else ""
        return self.record_event(
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
        body = clean_text(text, fld("text"), required=True)
        # a closed concern takes notes too (what happened after it was resolved)
        return self.record_event(
            concern_id,
            "note",
            text=body,
            on=on,
            by=by,
            action="add a note to",
            allow_closed=True,
        )

    def set_due(
        self,
        concern_id: int,
        due: dt.date | str,
        *,
        reason: str,
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Set or change the current stage's due date, with the reason: never later than a
        firm timescale allows; an aim may be extended."""
        why = clean_text(reason, fld("reason"), required=True)

        # (not before the current stage began: the registry's rule)
        def check(loaded: Loaded, day: dt.date) -> None:
            row = loaded.row
            proto = self.protocols.for_stored(row.protocol)
            details["due"] = iso(self._check_due(due, row.stage_started_on,
                                                 proto.stage(row.stage), why))  # fmt: skip

        details: dict[str, Any] = {}
        return self.record_event(concern_id, "due-set", text=why, on=on, by=by,
                                  details=details, check=check, action="set a due date on",
                                  stage="current")  # fmt: skip

    def _stage_on(
        self, loaded: Loaded, day: dt.date
    ) -> tuple[str, dict[str, dt.date], list[Any], list[Any]]:
        """The stage the concern was at on ``day``, what was done at that visit, and its steps
        and recording duties (the route's own at the visit the concern was opened at), all
        from the lifecycle rule's fold."""
        stage = self.stage_at(loaded, day)
        visit = lifecycle.visit_at(loaded.state, stage, day)
        opening = visit.opening if visit is not None else False
        proto = self.protocols.for_stored(loaded.row.protocol)
        return (stage, visit.done if visit is not None else {},
                proto.steps_at(stage, loaded.row.route, opening=opening),
                proto.duties_at(stage, loaded.row.route, opening=opening))  # fmt: skip

    def done(
        self,
        concern_id: int,
        what: str,
        *,
        text: str = "",
        on: dt.date | str | None = None,
        by: str | None = None,
        stage: str | None = None,
    ) -> ConcernView:
        """Record a step of the stage, or a recording duty, as done (on ``on``): one of the
        stage the concern was at that day, or else of an earlier stage it had been at (a duty
        of Stage 1 done after the escalation), recorded against that stage; ``stage`` names
        the stage (a duty both stages have, done for the earlier one)."""
        body = clean_text(text, fld("text"), required=False)
        slug = clean_line(what, fld("what"), MAX_REF)
        named = clean_line(stage, fld("stage"), MAX_REF) if stage is not None else None

        # which stage's it is; whether it is one, and not yet done: the registry's rule
        def check(loaded: Loaded, day: dt.date) -> str:
            if named is not None:
                return named  # the registry refuses a stage not visited by then
            proto = self.protocols.for_stored(loaded.row.protocol)
            return transitions.stage_for_done(loaded.state, slug, day,
                                              self.stage_at(loaded, day), proto)  # fmt: skip

        return self.record_event(concern_id, "done", text=body, on=on, by=by,
                                  details={"what": slug}, check=check,
                                  action="record a step on", allow_closed=True)  # fmt: skip

    def meeting(
        self,
        concern_id: int,
        *,
        attendees: Sequence[str],
        text: str,
        actions: Sequence[str] = (),
        step: str | None = None,
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Record a meeting held (who attended, what was discussed, actions agreed). It meets
        ``step``, or else the stage's first meeting step not yet met."""
        body = clean_text(text, fld("text"), required=True)
        people = [clean_line(a, fld("attendees"), MAX_REF * 2) for a in attendees if a.strip()]
        if not people:
            raise InvalidInput(f"{fld('attendees')}: name at least one person who attended")
        agreed = [clean_text(a, fld("actions"), required=True) for a in actions if a.strip()]
        details: dict[str, Any] = {"attendees": people, "actions": agreed, "step": None}

        # (a step given must be a meeting of the stage: the registry's rule)
        def check(loaded: Loaded, day: dt.date) -> None:
            _stage, done, steps, _ = self._stage_on(loaded, day)
            meetings = [s for s in steps if s.meeting]
            if step is not None:
                details["step"] = step
            else:
                open_ = [s for s in meetings if s.slug not in done]
                open_.sort(key=lambda s: s.optional)  # a meeting the source requires first
                details["step"] = open_[0].slug if open_ else None

        return self.record_event(concern_id, "meeting", text=body, on=on, by=by,
                                  details=details, check=check, action="record a meeting on",
                                  allow_closed=True)  # fmt: skip

    def cafcass_step(
        self,
        concern_id: int,
        step: str,
        *,
        text: str = "",
        officer: str = "",
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Record a step around a CAFCASS referral: the senior officer notified, the duty
        helpline, independent legal advice, written confirmation, CAFCASS's outcome."""
        if step not in CAFCASS_STEPS:
            raise InvalidInput(
                f"{fld('cafcass_step')} {step!r}: allowed: {', '.join(CAFCASS_STEPS)}"
            )
        body = clean_text(text, fld("text"), required=step == "outcome")
        who = clean_line(officer, fld("officer"), MAX_REF * 2) if officer.strip() else ""
        if step == "senior-officer-notified" and not who:
            raise InvalidInput(f"{fld('officer')}: who was notified")

        # (where the protocol and route give a referral: the registry's rule)
        def check(loaded: Loaded, _day: dt.date) -> None:
            self.protocols.for_stored(loaded.row.protocol)

        details: dict[str, Any] = {"step": step}
        if who:
            details["officer"] = who
        return self.record_event(concern_id, "cafcass", text=body, on=on, by=by,
                                  details=details, check=check, action="",
                                  allow_closed=True)  # fmt: skip

    def not_applicable(
        self,
        concern_id: int,
        item: str,
        *,
        reason: str,
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Mark an item of the CAFCASS bundle as not applicable, with the reason (no care
        order for an accommodated child, say)."""
        from drp_cli.domain.views import BUNDLE_ITEMS

        if item not in BUNDLE_ITEMS:
            raise InvalidInput(f"{fld('item')} {item!r}: allowed: {', '.join(BUNDLE_ITEMS)}")
        why = clean_text(reason, fld("reason"), required=True)
        return self.record_event(concern_id, "not-applicable", text=why, on=on, by=by,
                                  details={"item": item}, action="",
                                  allow_closed=True)  # fmt: skip

    def good_practice(
        self, concern_id: int, *, text: str, on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:  # fmt: skip
        """Record good practice or a positive resolution (West Sussex §1: "recognise and
        report on good practice"; SBC: "celebrate the achievements of resolution")."""
        body = clean_text(text, fld("text"), required=True)
        return self.record_event(concern_id, "good-practice", text=body, on=on, by=by,
                                  action="", allow_closed=True)  # fmt: skip

    def refer(
        self,
        concern_id: int,
        *,
        senior_officer: str = "",
        notified_on: dt.date | str | None = None,
        curtailed_reason: str = "",
        method: str = "",
        text: str = "",
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        """Record a referral to CAFCASS; the dispute resolution process goes on alongside.
        Refused where the protocol, the concern's route or the role it was raised in gives no
        referral (the transition rule, quoting the source); a notification
        later than the referral, or a referral earlier than the source places it, is
        recorded and shown as such (the IRO's power to refer is statutory)."""
        if method and method not in REFERRAL_METHODS:
            raise InvalidInput(f"{fld('method')} {method!r}: allowed: telephone, writing")
        body = clean_text(text, fld("text"), required=False)
        officer = (
            clean_line(senior_officer, fld("senior_officer"), MAX_REF * 2)
            if (senior_officer.strip())
            else ""
        )
        notified = parse_date(notified_on, fld("notified_on")) if notified_on is not None else None
        if notified is not None and notified > self._clock():
            raise InvalidInput(f"{fld('notified_on')} {notified.isoformat()} is in the future")
        if notified is not None and not officer:
            raise InvalidInput(
                f"{fld('notified_on')} needs {fld('senior_officer')}: who was notified"
            )
        reason = clean_text(curtailed_reason, fld("curtailed_reason"), required=False)

        # where the protocol and route give one, and not referred yet: the registry's rule,
        # checked inside the transaction, so two referrals at once cannot both pass
        def check(loaded: Loaded, _day: dt.date) -> None:
            self.protocols.for_stored(loaded.row.protocol)

        return self.record_event(
            concern_id,
            "referred",
            text=body,
            on=on,
            by=by,
            details={
                "senior_officer": officer,
                "senior_officer_notified_on": iso(notified),
                "curtailed_reason": reason,
                **({"method": method} if method else {}),
            },
            check=check,
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
        body = clean_text(text, fld("text"), required=kind.startswith(("wishes-not", "not-")))

        # allowed on closed concerns too: the child is often told the outcome afterwards
        return self.record_event(
            concern_id, kind, text=body, on=on, by=by, action="", allow_closed=True
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
        day = self.event_date(on)
        action = "resolve" if status == "resolved" else "withdraw"
        with self.unit_of_work() as uow:
            loaded = uow.load(concern_id)
            # open, and not before the current stage began: the registry's rule
            self._check(loaded, Fact(len(loaded.events) + 1, status, day, loaded.row.stage,
                                     recorder, text, {}), action)  # fmt: skip
            uow.append(loaded, status, day, recorder, text=text)
            return self._result(loaded)

    def resolve(
        self,
        concern_id: int,
        *,
        outcome: str,
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        text = clean_text(outcome, fld("outcome"), required=True)
        return self._close(concern_id, "resolved", text, on, by)

    def withdraw(
        self,
        concern_id: int,
        *,
        reason: str,
        on: dt.date | str | None = None,
        by: str | None = None,
    ) -> ConcernView:
        text = clean_text(reason, fld("reason"), required=True)
        return self._close(concern_id, "withdrawn", text, on, by)

    # -- reading -----------------------------------------------------------------------------
    def get(self, concern_id: int) -> ConcernView:
        check_id(concern_id)
        with self.store.read() as conn:
            row = record.concern(conn, concern_id)
            if row is None:
                raise NotFound(f"no concern with id {concern_id}")
            events = record.events_of(conn, concern_id)
            return _concern_view(row, events, self._child_of(conn, [row])[concern_id])

    def find(self, ref: str, *, with_events: bool = True) -> Found:
        """The concern or concerns ``ref`` names: a whole number is a concern's id; else a
        concern's external reference (exactly as imported, ``NT-1004``); else a child's
        reference (exactly as stored), which names all that child's concerns. The message
        when nothing matches never repeats ``ref``: it may be a child's name."""
        text = ref.strip()
        if text.isdigit() and text.isascii():
            return Found("id", [self.get(int(text))])
        if text:
            with self.store.read() as conn:
                rows = record.concerns(conn, {"external_ref": text})
                by: Literal["external_ref", "child"] = "external_ref"
                if not rows:
                    rows, by = record.concerns(conn, {"child": text}), "child"
                events = record.events_for(conn, [r.id for r in rows]) if with_events else {}
                children = self._child_of(conn, rows)
            if rows:
                with one_registry():
                    return Found(by, [_concern_view(r, events.get(r.id, []), children[r.id])
                                      for r in rows])  # fmt: skip
        raise NotFound("no concern with that id or reference")

    def _owner(self, owner: str | None, mine: bool) -> str | None:
        """The owner a filter names: ``owner``, or with ``mine`` the configured you."""
        from drp_cli.services.morning import owner_filter

        return owner_filter(owner, mine)

    @staticmethod
    def _text_filter(value: str | None, name: str) -> str | None:
        from drp_cli.services.morning import text_filter

        return text_filter(value, name)

    def concerns(
        self,
        *,
        status: str | None = None,
        protocol: str | None = None,
        child: str | None = None,
        stage: str | None = None,
        raised_by: str | None = None,
        category: str | None = None,
        owner: str | None = None,
        mine: bool = False,
        team: str | None = None,
        search: str | None = None,
        opened_from: dt.date | str | None = None,
        opened_to: dt.date | str | None = None,
        overdue_on: dt.date | str | None = None,
        with_events: bool = True,
    ) -> list[ConcernView]:
        """Concerns, by id, matching every filter given: ``status`` (``all`` for every
        one), ``protocol``, ``child``, ``stage`` and ``category`` exactly; ``raised_by``,
        ``owner`` (or ``mine``: the configured you, :func:`current_user`) and ``team``
        whatever the case; ``search`` anywhere in the summary, the outcome or the text of a
        note or response (whatever the case; a retracted note does not count); opened from
        ``opened_from`` to ``opened_to``; with a firm deadline passed on ``overdue_on``."""
        where: dict[str, Any] = {}
        if status is not None and status != "all":
            if status not in STATUSES:
                raise InvalidInput(
                    f"unknown status {status!r}; allowed: {', '.join(STATUSES)}, all"
                )
            where["status"] = status
        if protocol is not None:
            self.protocols.get(protocol)
            where["protocol"] = protocol
        if stage is not None:
            if protocol is not None:
                self.protocols.get(protocol).stage(stage)
            elif not any(p.has_stage(stage) for p in self.protocols.protocols.values()):
                raise InvalidInput(f"no installed protocol has a stage {stage!r}")
            where["stage"] = stage
        if category is not None:
            from drp_cli.domain.protocols import themes

            where["category"] = themes().theme(category).slug
        if child is not None:
            where["child"] = child.strip()
        folded = {
            name: value
            for name, value in (
                ("raised_by", self._text_filter(raised_by, "raised_by")),
                ("owner", self._owner(owner, mine)),
                ("team", self._text_filter(team, "team")),
            )
            if value is not None
        }
        needle = None
        if search is not None:
            needle = search.strip()
            if not needle:
                raise InvalidInput(f"{fld('search')} is empty")
            if len(needle) > MAX_SEARCH:
                raise InvalidInput(f"{fld('search')} is longer than {MAX_SEARCH} characters")
        first = parse_date(opened_from, fld("opened_from")) if opened_from is not None else None
        last = parse_date(opened_to, fld("opened_to")) if opened_to is not None else None
        if first is not None and last is not None and first > last:
            raise InvalidInput(f"{fld('opened_from')} is after {fld('opened_to')}")
        judged = parse_date(overdue_on, fld("on")) if overdue_on is not None else None
        with self.store.read() as conn:
            rows = record.concerns(conn, where, folded=folded, search=needle, opened_from=first,
                                   opened_to=last, firm_before=judged)  # fmt: skip
            if judged is not None:
                cal = self._calendar = daily.calendar(conn)
                rows = [r for r in rows if judgement.passed_by_kind(cal, r, judged)["firm"]]
            if needle is not None:
                rows = self._live_matches(conn, rows, needle)
            events = record.events_for(conn, [r.id for r in rows]) if with_events else {}
            children = self._child_of(conn, rows)
        with one_registry():  # the protocols found once for every view
            return [_concern_view(r, events.get(r.id, []), children[r.id]) for r in rows]

    @staticmethod
    def _live_matches(conn: Conn, rows: list[Row], needle: str) -> list[Row]:
        """Of the rows the store found with ``needle`` somewhere, those where it is in the
        summary, the outcome, or a note or response that was not retracted."""
        folded = needle.lower()
        found = {r.id for r in rows if folded in r.summary.lower()
                 or folded in (r.outcome or "").lower()}  # fmt: skip
        rest = [r.id for r in rows if r.id not in found]
        for cid, evs in record.events_for(conn, rest).items():
            if any(
                e.kind in ("note", "response") and folded in e.text.lower()
                for e in lifecycle.live(record.fact(e) for e in evs)
            ):
                found.add(cid)
        return [r for r in rows if r.id in found]

    def overdue(
        self,
        *,
        on: dt.date | str | None = None,
        within: int = 0,
        owner: str | None = None,
        mine: bool = False,
        team: str | None = None,
        no_deadline_after: int | None = None,
    ) -> list[OverdueItem]:
        """The morning check on ``on`` (see :mod:`drp_cli.domain.overdue`): open concerns with a
        deadline passed or due that day (with ``within`` > 0, due within that many working
        days), recommended actions past their due date, and stages sitting with no deadline
        for ``no_deadline_after`` working days (default: the config's, 10); only the
        concerns ``owner`` (or ``mine``: the configured you) owns, and ``team``'s, whatever
        the case: an ``owner`` or ``team`` naming nobody drp knows (no concern's, no staff
        directory entry's) is refused with the closest names, and a database with no
        concern at all is :class:`DatabaseError`: never an empty check."""
        from drp_cli.services import morning

        items, self._calendar = morning.check(
            self.store,
            self.judge_day(on),
            within=within,
            owner=owner,
            mine=mine,
            team=team,
            no_deadline_after=no_deadline_after,
            addressees=self._addressees,
        )
        return items

    def _addressees(self, protocol: str, stage: str, route: str | None = None) -> list[str]:
        """Whom a protocol's stage is addressed to, as a concern on ``route`` has it (none for
        a protocol not installed): the protocols are read on the first line the check shows,
        not before."""
        found = self.protocols.protocols.get(protocol)
        if found is None or not found.has_stage(stage):
            return []
        return found.stage_for(stage, route).addressee_names

    def completion_values(self, kind: str, prefix: str = "") -> list[tuple[str, str]]:
        """What a shell may offer to complete ``prefix``, as ``(value, help)`` pairs:
        ``kind`` "concern", the ids of open concerns (help: protocol and stage, never the
        child); "owner", the concerns' owners and the staff directory's names. Nothing
        when there is no database (and none is created)."""
        if not self.store.exists:
            return []
        with self.store.read() as conn:
            return record.completion_values(conn, kind, prefix)

    # -- the child as a unit ------------------------------------------------------------------
    # A child is their reference, exactly as recorded, within one database, whatever the
    # protocol, among concerns about the same subject (a child, a foster carer household,
    # a chair): their people, wishes and feelings, needs and documents are shared by all
    # their concerns, each recorded as an event on the concern it was added to.
    def subject_of(self, protocol: str, route: str | None) -> str:
        """What a concern on ``protocol``'s ``route`` is about: child, carer or chair (a
        concern whose protocol is no longer installed is taken to be about a child)."""
        proto = self.protocols.protocols.get(protocol)
        found = proto.route_or_none(route) if proto is not None else None
        return found.subject if found is not None else "child"

    def child_concern_ids(self, conn: Conn, concern: Row | ConcernView) -> list[int]:
        """The ids of every concern about the same child as ``concern`` (itself included,
        any status), by id, read in ``conn``."""
        return [r.id for r in self._same_child(conn, [concern])[concern.id]]

    def _same_child(
        self, conn: Conn, rows: Sequence[Row | ConcernView]
    ) -> dict[int, list[record.ChildConcern]]:
        """For each concern, by id: every concern about the same child (the same reference
        and subject; itself included), by id, in one query however many concerns. A
        redacted reference is nobody's: it joins no two children."""
        subjects: dict[tuple[str, str | None], str] = {}
        by_child: dict[tuple[str, str], list[record.ChildConcern]] = {}
        for r in record.child_concerns(conn, [r.child for r in rows]):
            key = (r.protocol, r.route)
            if key not in subjects:
                subjects[key] = self.subject_of(*key)
            by_child.setdefault((subjects[key], r.child), []).append(r)
        out: dict[int, list[record.ChildConcern]] = {}
        for row in rows:
            same = by_child[subjects[row.protocol, row.route], row.child]
            out[row.id] = (
                [r for r in same if r.id == row.id] if row.child == lifecycle.REDACTED else same
            )
        return out

    def _child_of(self, conn: Conn, rows: Sequence[Row]) -> dict[int, ChildInfo]:
        """For each concern row, by id: its child's other concerns, and which of the child's
        concerns hold wishes and feelings recorded (two queries, however many rows)."""
        if not rows:
            return {}
        wishes = record.concerns_with_wishes(conn, [r.child for r in rows])
        out: dict[int, ChildInfo] = {}
        for cid, same in self._same_child(conn, rows).items():
            if len(same) == 1:  # the child's only concern: the usual case
                out[cid] = ((), (cid,) if cid in wishes else ())
                continue
            others = tuple(OtherConcern(r.id, r.protocol, r.stage, r.status)
                           for r in same if r.id != cid)  # fmt: skip
            out[cid] = (others, tuple(r.id for r in same if r.id in wishes))
        return out

    def open_concerns_for_child(self, child: str, *, subject: str = "child") -> list[ConcernView]:
        """The open concerns about ``child`` (their reference exactly as recorded; a carer
        household's or a chair's with ``subject``), by id."""
        return [v for v in self.concerns(status="open", child=child, with_events=False)
                if self.subject_of(v.protocol, v.route) == subject]  # fmt: skip

    # -- integrity ------------------------------------------------------------------------
    def verify(
        self, *, expect: str | tuple[int, str] | None = None, files: bool = True
    ) -> VerifyReport:
        """Walk the hash chain (and, in keyed mode, check each link's seal), fold every
        concern from its events and compare every stored column, item and attachment row,
        and check each attached file in the store. ``expect`` (``SEQ:HASH``, a head written
        down earlier) must still be in the chain."""
        wanted = parse_expect(expect) if isinstance(expect, str) else expect
        self.store.require()  # a missing or foreign database is refused before anything
        return record.verify(
            self.store,
            self.protocols.protocols,
            VerifyOptions(
                key=self.key,
                expect=wanted,
                attachments_dir=self.store.attachments_dir if files else None,
            ),
        )

    def seal(self) -> int:
        """Keyed mode: put the key's MAC on every link not yet sealed, after checking the
        chain without the key (an altered record is never sealed). Returns how many."""
        if self.key is None:
            raise InvalidInput("no key: set DRP_KEY_FILE to the key file (`drp key create FILE`)")
        check = record.verify(self.store, self.protocols.protocols, VerifyOptions())
        if not check.ok:
            raise TransitionRefused(
                "the record does not verify; it is not sealed (run `drp verify`)"
            )
        sealed = 0
        with self.unit_of_work() as uow:
            uow.lock_concerns()
            for table in record.CHAIN_TABLES:
                for row_id, digest, seal in record.chain_links(uow.conn, table):
                    want = chain_mac(self.key, digest)
                    if seal != want:
                        record.set_mac(uow.conn, table, row_id, want)
                        sealed += 1
            from drp_cli.store import audit

            sealed += audit.seal_all(uow.conn, self.key)
            from drp_cli.store import sarsql

            sealed += sarsql.seal_all(uow.conn, self.key)
        return sealed

    def upgrade(self) -> tuple[str | None, str]:
        """Bring an older database up to this drp: the schema (Alembic), then the data into
        the chain: each concern's recorded fields as they stood (a ``fields-recorded`` event
        where its opening event did not carry them), closure changes and staff entries made
        before they were links (only when the migration that chained them is applied:
        :data:`record.CHAINED_FROM`), and, from before :data:`record.FOLDED_FROM`, every
        concern's rows folded again by the lifecycle rule.

        A record that does not verify is never chained or folded: it is checked first (as
        ``drp verify`` checks it, as far as its schema goes; not the stored files, which no
        migration touches) and refused with :class:`RecordTampered`, nothing changed. At
        this drp's schema nothing is done but that check."""
        from drp_cli.store import connection
        from drp_cli.store.dbfile import known_revisions

        target = connection.SCHEMA_REVISION  # read now: tests stand in an older drp
        current = self.store.revision()
        if current is not None and current in known_revisions() and current <= target:
            self._refuse_unverified(current, target)
            if current == target:
                return current, target
        before, after = self.store.upgrade()
        self._calendar = None

        def applied(revision: str) -> bool:
            return before is None or before < revision <= after

        with self.unit_of_work() as uow:
            uow.lock_concerns()
            if applied(record.CHAINED_FROM["closure_change"]):
                uow.chain_unlinked_closures()
            if applied(record.CHAINED_FROM["staff"]):
                uow.chain_unlinked_staff()
            if before is not None and before >= record.FOLDED_FROM:
                return before, after  # the rows follow today's rule: nothing to fold
            for cid in uow.concern_ids():
                loaded = uow.load(cid)
                first = loaded.facts()[0] if loaded.events else None
                recorded = first is not None and "child" in first.details
                if not recorded and not any(e.kind == "fields-recorded" for e in loaded.events):
                    row = loaded.row
                    details = {name: getattr(row, name) for name in lifecycle.RECORDED_FIELDS}
                    details["uid"] = row.uid or new_uid()
                    uow.append(loaded, "fields-recorded", row.opened_on, "drp (upgrade)",
                               stage=row.stage, text="", details=details)  # fmt: skip
                else:
                    uow.refold(loaded)
        return before, after

    def _refuse_unverified(self, current: str, target: str) -> None:
        """Raise :class:`RecordTampered` (nothing changed) when the record at schema
        ``current`` does not verify, naming the first problem found. At an older schema the
        chain is walked without the key (links are sealed after the upgrade, by `drp verify
        --seal`), as far as that schema chains; the concerns from :data:`record.FOLDED_FROM`."""
        older = current != target
        report = record.verify(
            self.store,
            self.protocols.protocols,
            VerifyOptions(key=None if older else self.key, revision=current if older else None),
        )
        if report.ok:
            return
        found = [p for p in report.problems if not p.startswith("... ")]
        more = len(report.problems) - 1
        said = found[0] if found else report.problems[0]
        also = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
        if older:
            raise RecordTampered(
                f"the record at schema {current} does not verify, so it was not upgraded "
                f"(nothing was changed): {said}{also}"
            )
        raise RecordTampered(
            f"{self.store.label} is already at schema {target}, but the record does not "
            f"verify (nothing was changed): {said}{also}; run `drp verify`"
        )

    # -- local closure days -------------------------------------------------------------------
    def _closure_changes(self) -> list[Row]:
        if not self.store.exists:
            return []
        with self.store.read() as conn:
            return daily.closure_changes(conn)

    def closures(self) -> list[Closure]:
        changes = self._closure_changes()
        in_force = set(closures_in_force((c.day, c.action) for c in changes))
        latest = {c.day: c for c in changes}
        return [
            Closure(
                day=d, reason=latest[d].reason, by=latest[d].by, recorded_at=latest[d].recorded_at
            )
            for d in sorted(in_force)
        ]

    def add_closures(
        self,
        first: dt.date | str,
        last: dt.date | str | None = None,
        *,
        reason: str,
        by: str | None = None,
        force: bool = False,
    ) -> list[dt.date]:
        """Close the office on every weekday from ``first`` to ``last`` that is not already
        a bank holiday or closure day; open concerns' deadlines are recalculated. A closure
        that would clear a firm deadline overdue today is refused (:class:`InvalidInput`,
        naming the concerns and deadlines, never a child) unless ``force``: an all-clear
        never comes from a calendar edit unseen."""
        start = parse_date(first, "closure date")
        end = parse_date(last, fld("last")) if last is not None else start
        if end < start:
            raise InvalidInput(f"{fld('last')} must not be before the first closure day")
        if (end - start).days > 366:
            raise InvalidInput("a closure can cover at most one year at a time")
        why = clean_line(reason, fld("reason"), 200)
        recorder = current_user(by)
        cal = self.calendar()
        days = cal.working_days_in(start, end)
        if not days:
            raise InvalidInput(
                f"no working day between {start.isoformat()} and {end.isoformat()} to close "
                "(weekends, bank holidays and existing closure days are already closed)"
            )
        self._change_closures(days, "add", why, recorder, force=force)
        return days

    def remove_closure(self, day: dt.date | str, *, by: str | None = None) -> dt.date:
        target = parse_date(day, "closure date")
        if target not in {c.day for c in self.closures()}:
            raise NotFound(f"{target.isoformat()} is not a local closure day")
        self._change_closures([target], "remove", "", current_user(by))
        return target

    def _change_closures(
        self, days: list[dt.date], action: str, reason: str, by: str, *, force: bool = True
    ) -> None:
        """Record the change as links of the chain, then fold again, with the new calendar,
        every concern whose deadlines it can move. Unless ``force``, a change that clears a
        firm deadline overdue today is refused, and so rolled back."""
        today = self._clock()

        def overdue_now(conn: Conn, cal: WorkingCalendar) -> dict[tuple[int, str], dt.date]:
            from drp_cli.domain.overdue import overdue_items, stale_before

            rows = daily.overdue_rows(conn, today, stale_before(today, 1))
            return {(i.id, i.which): i.deadline for i in overdue_items(rows, cal, today)
                    if i.state == "overdue" and i.deadline is not None}  # fmt: skip

        with self.unit_of_work() as uow:
            uow.lock_concerns()  # and reads the calendar again under the lock
            before = overdue_now(uow.conn, uow.calendar) if not force else {}
            current = uow.calendar.closures
            new = current | set(days) if action == "add" else current - set(days)
            uow.calendar = WorkingCalendar(new)
            for d in days:
                uow.add_closure_change(d, action, reason, by)
            uow.refold_deadlines_from(min(days))
            if force:
                return
            cleared = sorted(set(before) - set(overdue_now(uow.conn, uow.calendar)))
            if cleared:
                shown = ", ".join(f"concern {cid} ({which} deadline {before[cid, which]})"
                                  for cid, which in cleared[:20])  # fmt: skip
                more = f" and {len(cleared) - 20} more" if len(cleared) > 20 else ""
                raise InvalidInput(
                    f"closure not recorded: it would clear what is overdue on {today}: "
                    f"{shown}{more}; give {fld('force')} to close these days anyway"
                )


__all__ = [
    "EVENT_KINDS",
    "STAGE_ENTRIES",
    "STATUSES",
    "Closure",
    "ConcernView",
    "EventView",
    "Found",
    "OverdueItem",
    "Tracker",
    "current_user",
    "formal_deadline",
    "stage_deadline",
]


def __getattr__(name: str) -> Any:
    """:class:`~drp_cli.domain.overdue.OverdueItem`, imported when asked for (the morning
    check's module is not loaded by every command that opens the tracker)."""
    if name == "OverdueItem":
        from drp_cli.domain.overdue import OverdueItem

        return OverdueItem
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
