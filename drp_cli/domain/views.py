"""Plain-data views of concerns: the JSON shapes and the stage-by-stage timeline.

Nothing here imports typer or rich; the CLI renders these dicts as tables or JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from drp_cli.core.dates import iso
from drp_cli.core.errors import DatabaseDamaged, ProtocolFileError
from drp_cli.core.plainclass import Frozen, set_fields
from drp_cli.domain import judgement, lifecycle, wording
from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.lifecycle import REDACTED, ConcernState, Fact

if TYPE_CHECKING:
    from dataclasses import Field

    from drp_cli.domain.protocols import Protocol, Registry


# -- value objects the library returns ---------------------------------------------------
class EventView(Frozen):
    """One event of a concern, as the library returns it."""

    seq: int
    kind: str
    on: dt.date
    stage: str
    from_stage: str | None
    by: str
    recorded_at: dt.datetime
    text: str
    details: dict[str, Any]
    retracted: bool  # entered in error: kept in the history, no longer counts

    if TYPE_CHECKING:  # dataclasses.replace and fields work on it (see below)
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    _fields = (
        "seq",
        "kind",
        "on",
        "stage",
        "from_stage",
        "by",
        "recorded_at",
        "text",
        "details",
        "retracted",
    )

    def __init__(
        self,
        seq: int,
        kind: str,
        on: dt.date,
        stage: str,
        from_stage: str | None,
        by: str,
        recorded_at: dt.datetime,
        text: str,
        details: dict[str, Any],
        retracted: bool = False,
    ) -> None:
        set_fields(
            self,
            seq=seq,
            kind=kind,
            on=on,
            stage=stage,
            from_stage=from_stage,
            by=by,
            recorded_at=recorded_at,
            text=text,
            details=details,
            retracted=retracted,
        )


class OtherConcern(Frozen):
    """Another concern about the same child: its id, protocol, stage and status."""

    id: int
    protocol: str
    stage: str
    status: str

    _fields = (
        "id",
        "protocol",
        "stage",
        "status",
    )

    def __init__(
        self,
        id: int,
        protocol: str,
        stage: str,
        status: str,
    ) -> None:
        set_fields(
            self,
            id=id,
            protocol=protocol,
            stage=stage,
            status=status,
        )


class ConcernView(Frozen):
    """A concern as the library returns it: its row, its events, the child's other
    concerns."""

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
    events: list[EventView]
    external_ref: str | None
    uid: str | None
    route: str | None
    deadline_kind: str | None
    formal_deadline_kind: str | None
    step: str | None
    step_deadline: dt.date | None
    step_deadline_kind: str | None
    owner: str | None
    team: str | None

    #: The child as a unit (the same subject and reference, whatever the protocol): the
    #: child's other concerns, and which of the child's concerns (this one too) hold wishes
    #: and feelings recorded and not removed. None: not looked up (a view made without the
    #: database; :meth:`drp_cli.services.tracker.Tracker.get` and every recording method fill them).
    other_concerns: tuple[OtherConcern, ...] | None
    wishes_recorded_on: tuple[int, ...] | None

    if TYPE_CHECKING:  # dataclasses.replace and fields work on it (see below)
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    _fields = (
        "id",
        "protocol",
        "child",
        "category",
        "issue",
        "summary",
        "impact",
        "recommended",
        "raised_by",
        "role",
        "status",
        "stage",
        "stage_started_on",
        "deadline",
        "formal_started_on",
        "formal_deadline",
        "referred_on",
        "senior_officer_notified_on",
        "wishes",
        "told_outcome",
        "opened_on",
        "closed_on",
        "outcome",
        "events",
        "external_ref",
        "uid",
        "route",
        "deadline_kind",
        "formal_deadline_kind",
        "step",
        "step_deadline",
        "step_deadline_kind",
        "owner",
        "team",
        "other_concerns",
        "wishes_recorded_on",
    )

    def __init__(
        self,
        id: int,
        protocol: str,
        child: str,
        category: str,
        issue: str | None,
        summary: str,
        impact: str,
        recommended: str,
        raised_by: str,
        role: str,
        status: str,
        stage: str,
        stage_started_on: dt.date,
        deadline: dt.date | None,
        formal_started_on: dt.date | None,
        formal_deadline: dt.date | None,
        referred_on: dt.date | None,
        senior_officer_notified_on: dt.date | None,
        wishes: str | None,
        told_outcome: str | None,
        opened_on: dt.date,
        closed_on: dt.date | None,
        outcome: str | None,
        events: list[EventView] | None = None,
        external_ref: str | None = None,
        uid: str | None = None,
        route: str | None = None,
        deadline_kind: str | None = None,
        formal_deadline_kind: str | None = None,
        step: str | None = None,
        step_deadline: dt.date | None = None,
        step_deadline_kind: str | None = None,
        owner: str | None = None,
        team: str | None = None,
        other_concerns: tuple[OtherConcern, ...] | None = None,
        wishes_recorded_on: tuple[int, ...] | None = None,
    ) -> None:
        set_fields(
            self,
            id=id,
            protocol=protocol,
            child=child,
            category=category,
            issue=issue,
            summary=summary,
            impact=impact,
            recommended=recommended,
            raised_by=raised_by,
            role=role,
            status=status,
            stage=stage,
            stage_started_on=stage_started_on,
            deadline=deadline,
            formal_started_on=formal_started_on,
            formal_deadline=formal_deadline,
            referred_on=referred_on,
            senior_officer_notified_on=senior_officer_notified_on,
            wishes=wishes,
            told_outcome=told_outcome,
            opened_on=opened_on,
            closed_on=closed_on,
            outcome=outcome,
            events=[] if events is None else events,
            external_ref=external_ref,
            uid=uid,
            route=route,
            deadline_kind=deadline_kind,
            formal_deadline_kind=formal_deadline_kind,
            step=step,
            step_deadline=step_deadline,
            step_deadline_kind=step_deadline_kind,
            owner=owner,
            team=team,
            other_concerns=other_concerns,
            wishes_recorded_on=wishes_recorded_on,
        )
        check_stored(self)

    @property
    def live_events(self) -> list[EventView]:
        """The events that count (not retracted), in the order shown."""
        return [e for e in self.events if not e.retracted]


# `dataclasses.replace`, `fields` and `asdict` work on the two views (the pseudonymised
# export replaces their fields): the dataclass's fields, without the methods it would write
# (the classes have their own: see drp_cli.core.plainclass).
_as_dataclass = dataclass(init=False, repr=False, eq=False)
_as_dataclass(EventView)
_as_dataclass(ConcernView)


def view_of(values: dict[str, Any]) -> ConcernView:
    """The :class:`ConcernView` of every one of its fields by name (``values`` has them
    all), made without the frozen dataclass's ``__init__`` (40 keyword arguments, each set
    through ``object.__setattr__``: about 10 µs a concern, most of a long list's time): the
    same value, checked the same way (:func:`check_stored`)."""
    view = object.__new__(ConcernView)
    view.__dict__.update(values)
    check_stored(view)
    return view


def not_written(concern_id: int, column: str) -> DatabaseDamaged:
    """A concern's stored ``column`` holds a value drp never writes there: said as the
    store's :class:`~drp_cli.store.connection.MalformedValue` says it (exit 4), naming the
    concern and the column, never the value."""
    return DatabaseDamaged(
        f"concern {concern_id}: its stored concern.{column} is not a value drp writes"
    )


#: The registry :func:`check_stored` reads while :func:`one_registry` makes a batch of views
_BATCH: ContextVar[Registry | None] = ContextVar("views_registry", default=None)


@contextmanager
def one_registry() -> Iterator[None]:
    """Views made inside are checked against the registry of the moment, found once for
    all of them (a list of 1,000 concerns: one look for the protocol files' folders, not
    1,000)."""
    from drp_cli.domain.protocols import registry

    token = _BATCH.set(registry())
    try:
        yield
    finally:
        _BATCH.reset(token)


def check_stored(c: ConcernView) -> None:
    """Where a concern's row becomes the domain's value (every :class:`ConcernView` is made
    through this): its status is one drp writes, and its stage and route are ones its
    protocol has, or the error naming the concern and the column (exit 4), so that a value
    drp never wrote is never shown, exported or judged as real data. A protocol that is not
    installed (never one drp knows, or its file removed since) is said as such (exit 4)."""
    if c.status not in lifecycle.STATUSES:
        raise not_written(c.id, "status")
    protocols = _BATCH.get()
    if protocols is None:
        from drp_cli.domain.protocols import registry

        protocols = registry()
    protocol = protocols.protocols.get(c.protocol)
    if protocol is None:
        raise ProtocolFileError(
            f"concern {c.id}: its stored concern.protocol names no installed protocol (if its "
            "protocol file was removed, put the file back in the protocols folder)"
        )
    if not protocol.has_stage(c.stage):
        raise not_written(c.id, "stage")
    if c.route is not None and protocol.route_or_none(c.route) is None:
        raise not_written(c.id, "route")


#: What each stage result means (shown in ``drp show`` and the README): the wording's.
RESULTS = wording.RESULTS


#: The child's identification for the CAFCASS bundle (`drp identify`), by the details key
#: of an ``identified`` event, with its label in the bundle. Shown in the bundle alone: never
#: in `drp show`, `list`, `overdue`, an error or a log (:func:`event_dict` hides the values).
IDENTITY_FIELDS: dict[str, str] = {
    "name": "Name",
    "dob": "Date of birth",
    "court": "Court",
    "case_number": "Case number",
    "guardian": "Children's guardian",
}
IDENTIFIED = "identified"


#: The events that keep the record rather than move the dispute on: the CAFCASS bundle's
#: chronology leaves them to an annex (issue 30 item 5). Every other kind is substantive.
ADMINISTRATIVE: frozenset[str] = frozenset(
    {"attached", "amended", "retracted", "redacted", "assigned", "fields-recorded", IDENTIFIED,
     "not-applicable", lifecycle.HOLD, lifecycle.HOLD_LIFTED,
     *(f"{k}-added" for k in lifecycle.ITEM_KINDS),
     *(f"{k}-removed" for k in lifecycle.ITEM_KINDS)}
)  # fmt: skip


def administrative(kind: str) -> bool:
    """Whether an event of ``kind`` is administrative (:data:`ADMINISTRATIVE`)."""
    return kind in ADMINISTRATIVE


def identification(c: ConcernView) -> list[dict[str, Any]]:
    """The child's identification as the concern's ``identified`` events give it (the latest
    value of each field counts; a retracted entry or a redacted value does not), in
    :data:`IDENTITY_FIELDS` order: label, value, and who recorded it when."""
    found: dict[str, dict[str, Any]] = {}
    for e in sorted(c.events, key=lambda e: e.seq):
        if e.kind != IDENTIFIED or e.retracted:
            continue
        for key in IDENTITY_FIELDS:
            value = e.details.get(key)
            if isinstance(value, str) and value.strip() and value != REDACTED:
                found[key] = {"field": key, "label": IDENTITY_FIELDS[key], "value": value,
                              "by": e.by, "on": iso(e.on)}  # fmt: skip
    return [found[k] for k in IDENTITY_FIELDS if k in found]


def shown_details(e: EventView) -> dict[str, Any]:
    """An event's details as everything but the bundle shows them (``show``, the exports):
    an identification names the fields recorded, never their values."""
    if e.kind == IDENTIFIED:
        return {"fields": [k for k in IDENTITY_FIELDS if k in e.details]}
    return e.details


def event_dict(e: EventView) -> dict[str, Any]:
    """An event as `drp show --json` and the documents have it; the identification's values
    are left out (the fields recorded are named): :func:`identification` is the bundle's."""
    details = shown_details(e)
    return {
        "seq": e.seq,
        "kind": e.kind,
        "on": iso(e.on),
        "stage": e.stage,
        "from_stage": e.from_stage,
        "by": e.by,
        "text": e.text,
        "recorded_at": e.recorded_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "details": details,
        "retracted": e.retracted,
    }


#: The events that correct the record, and what ``drp show`` calls each.
CORRECTIONS = {
    "amended": "amended",
    "retracted": "retracted",
    "reopened": "reopened",
    "assigned": "handed over",
    "redacted": "redacted",
}


def corrections(c: ConcernView) -> list[dict[str, Any]]:
    """Every correction of the record, with who made it, when and why; what it corrected
    (the fields amended or redacted, the entry retracted, the new owner)."""
    out = []
    for e in sorted(c.events, key=lambda e: e.seq):
        if e.kind not in CORRECTIONS:
            continue
        d = e.details
        if e.kind == "amended":
            what = ", ".join(sorted(d))
        elif e.kind == "retracted":
            what = f"entry {d.get('seq')} ({d.get('kind')})"
        elif e.kind == "redacted":
            what = f"entry {d.get('seq')}: {', '.join(d.get('fields', []))}"
        elif e.kind == "assigned":
            what = f"to {d.get('owner')}" + (f" ({d['team']})" if d.get("team") else "")
        else:
            what = f"at {e.stage}"
        out.append({"seq": e.seq, "kind": e.kind, "on": iso(e.on), "by": e.by,
                    "recorded_at": e.recorded_at.astimezone(dt.UTC).isoformat()
                    .replace("+00:00", "Z"),
                    "what": what, "reason": e.text, "retracted": e.retracted})  # fmt: skip
    return out


def fold_view(c: ConcernView, protocol: Protocol | None, cal: WorkingCalendar) -> ConcernState:
    """The lifecycle rule over a view's events: every stage visit with its deadline and
    kind, what was done at each (the same fold that wrote the concern's row)."""
    facts = [Fact(e.seq, e.kind, e.on, e.stage, e.by, e.text, e.details) for e in c.events]
    return lifecycle.fold(facts, {protocol.slug: protocol} if protocol else {}, cal,
                          where=f"concern {c.id}")  # fmt: skip


def stage_visits(
    c: ConcernView,
    protocol: Protocol | None,
    cal: WorkingCalendar,
    judged_on: dt.date,
    state: ConcernState | None = None,
) -> list[dict[str, Any]]:
    """Each stage the concern entered, with its deadline (from the lifecycle rule) and
    whether it was met."""
    state = state or fold_view(c, protocol, cal)
    live = c.live_events
    entries = [e for e in live if e.kind in lifecycle.STAGE_ENTRIES or e.kind == "reopened"]
    entries.sort(key=lambda e: e.seq)
    visits: list[dict[str, Any]] = []
    for i, (entry, visit) in enumerate(zip(entries, state.visits, strict=False)):
        entered = visit.entered
        left = visit.left if i + 1 < len(state.visits) else c.closed_on
        following = entries[i + 1].kind if i + 1 < len(entries) else None
        how_left = (
            ("reopened" if following == "reopened" else "escalated")
            if i + 1 < len(state.visits)
            else (c.status if c.status != "open" else None)
        )
        stage = (
            protocol.stage_for(visit.stage, c.route)
            if protocol and protocol.has_stage(visit.stage)
            else None
        )
        deadline, kind = visit.deadline, visit.kind
        responses = [
            e.on
            for e in live
            if e.kind == "response"
            and e.stage == visit.stage
            and e.on >= entered
            and (left is None or e.on <= left)
        ]
        first_response = min(responses) if responses else None
        resolved_here = how_left == "resolved"
        late = 0
        if deadline is None:
            waiting = stage is not None and stage.kind is not None and visit.due is None
            result = "waiting" if waiting and left is None else "no-timescale"
        elif left is None:
            # the current stage: its deadline is the IRO's decision point (resolve or
            # escalate), so it is passed once passed, whether or not a response came
            judged = judgement.judge(cal, deadline, kind, judged_on)
            late = judged.late
            result = judged.state if late else "pending"
        elif (first_response is not None and first_response <= deadline) or (
            resolved_here and left <= deadline
        ):
            result = "met"
        else:
            late = cal.working_days_overdue(deadline, left)
            result = ("aim-missed" if kind == "aim" else "missed") if late else "left-in-time"
        visits.append(
            {
                "stage": visit.stage,
                "title": stage.title if stage else visit.stage,
                "formal": stage.formal if stage else None,
                "entered_on": iso(entered),
                "left_on": iso(left),
                "left_by": how_left,
                "bypassed": entry.details.get("bypassed", []),
                "deadline": iso(deadline),
                "timescale_kind": kind,
                "due_set_by_iro": visit.due is not None,
                "first_response_on": iso(first_response),
                "result": result,
                "working_days_late": late,
            }
        )
    return visits


def formal_result(c: ConcernView, cal: WorkingCalendar, judged_on: dt.date) -> str | None:
    """met / missed / overdue / pending; for the IRO Handbook's guidance: guidance-met,
    past-guidance, guidance-missed, guidance-pending."""
    if c.formal_deadline is None:
        return None
    end = c.closed_on if c.closed_on is not None else judged_on
    late = judgement.working_days_late(cal, c.formal_deadline, end)
    if c.closed_on is not None:
        result = "missed" if late else "met"
    else:
        result = "overdue" if late else "pending"
    if c.formal_deadline_kind == "guidance":
        return "past-guidance" if result == "overdue" else f"guidance-{result}"
    return result


def child_wishes(c: ConcernView) -> str | None:
    """The child's wishes as every view shows them (``show``, JSON, ``list``, the form and
    the bundle): ``sought`` while wishes and feelings are recorded on any of the child's
    concerns and not removed, whatever this concern's own latest record says; otherwise
    this concern's own record (``sought``, ``not-sought`` or None). Recorded wishes are
    the child's voice: a later "not sought" on one concern (kept in its events, with its
    reason) does not make them unsaid (:func:`judgement.wishes_state`, the one rule)."""
    return judgement.wishes_state(c.wishes, bool(c.wishes_recorded_on))


def other_open_concerns(c: ConcernView) -> list[int] | None:
    """The ids of the child's other open concerns (None: not looked up)."""
    if c.other_concerns is None:
        return None
    return [o.id for o in c.other_concerns if o.status == "open"]


def missing_voice(c: ConcernView, child_voice: bool = True) -> list[str]:
    """What is missing about the child's voice (West Sussex DRP, "Child's Voice"); nothing
    on a route that is not about a child's plan (a foster carer's review, a chair's
    practice). The rule is :func:`judgement.voice_missing`'s."""
    return judgement.voice_missing(child_wishes(c), c.status, c.told_outcome, child_voice)


def _passed(c: ConcernView, cal: WorkingCalendar, judged_on: dt.date) -> dict[str, int]:
    """Working days each kind of deadline is passed by, for an open concern: firm, aim,
    guidance (the most late of each kind; 0 when none is passed): :func:`judgement.passed_on`."""
    return judgement.passed_on(cal, c, judged_on)


def _steps(
    protocol: Protocol, state: ConcernState, cal: WorkingCalendar, judged_on: dt.date
) -> list[dict[str, Any]]:
    """The current stage's steps: who, by when, done or not."""
    if not state.visits:
        return []
    visit = state.visits[-1]
    out = []
    for s in lifecycle.visit_steps(cal, protocol, visit, state.route):
        if s.done_on is not None:
            st = "done"
        elif s.deadline is None:
            st = "waiting" if s.starts is None else ("optional" if s.step.optional else "open")
        elif s.step.optional:
            st = "optional"
        else:
            judged = judgement.judge(cal, s.deadline, s.step.kind, judged_on)
            st = judged.state if judged.late else "pending"
        out.append({
            "stage": visit.stage, "slug": s.step.slug, "title": s.step.title, "who": s.step.who,
            "due": iso(s.deadline), "kind": s.step.kind, "done_on": iso(s.done_on),
            "meeting": s.step.meeting, "optional": s.step.optional, "state": st,
            "citation": s.step.citation,
        })  # fmt: skip
    return out


def _duties(protocol: Protocol, state: ConcernState) -> list[dict[str, Any]]:
    """The recording duties of every stage visited, done or outstanding (once per stage and
    duty: a stage visited again, after a reopening, does not repeat them)."""
    out: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for visit in state.visits:
        if not protocol.has_stage(visit.stage):
            continue
        for d in protocol.duties_at(visit.stage, state.route, opening=visit.opening):
            done = visit.done.get(d.slug)
            if (visit.stage, d.slug) in seen:
                earlier = seen[(visit.stage, d.slug)]
                earlier["done_on"] = earlier["done_on"] or iso(done)
                continue
            seen[(visit.stage, d.slug)] = {
                "stage": visit.stage, "slug": d.slug, "text": d.text, "who": d.who,
                "conditional": d.conditional, "done_on": iso(done), "citation": d.citation,
            }  # fmt: skip
            out.append(seen[(visit.stage, d.slug)])
    return out


_HOLDS = (lifecycle.HOLD, lifecycle.HOLD_LIFTED)


def legal_hold(c: ConcernView) -> dict[str, Any] | None:
    """The legal hold in force on the concern (``drp hold``), as the fold has it: since when
    and why; None when it is not held."""
    if not any(e.kind in _HOLDS for e in c.events):  # never held: nothing to fold
        return None
    state = lifecycle.replay(
        Fact(e.seq, e.kind, e.on, e.stage, e.by, e.text, e.details)
        for e in c.events
        if e.kind in (lifecycle.HOLD, lifecycle.HOLD_LIFTED, "retracted")
    )
    if state.held_on is None:
        return None
    return {"since": iso(state.held_on), "reason": state.hold_reason}


def _notices(c: ConcernView, protocol: Protocol | None) -> list[str]:
    """What the record shows against the protocol, for the IRO and the bundle's reader."""
    notes: list[str] = []
    hold = legal_hold(c)
    if hold is not None:
        notes.append(
            f"under a legal hold since {hold['since']}: kept whatever the retention schedule "
            "says until the hold is lifted (`drp unhold`)"
        )
    if protocol is None:
        return notes
    opening = next((e for e in c.live_events if e.kind in ("opened", "imported")), None)
    if (
        opening is not None
        and opening.details.get("bypassed")
        and not opening.details.get("reason")
    ):
        notes.append(
            f"opened at {opening.stage} without a recorded reason for going straight to it"
        )
    cafcass = protocol.referral
    if c.referred_on is not None:
        if cafcass.notify_before:
            notified = c.senior_officer_notified_on
            if notified is None:
                notes.append(
                    f"the protocol asks the IRO to notify {cafcass.notify_before} before "
                    "referring; no notification is recorded"
                )
            elif notified > c.referred_on:
                notes.append(
                    f"{cafcass.notify_before} was notified on {notified.isoformat()}, after the "
                    f"referral on {c.referred_on.isoformat()}; the protocol asks for it before"
                )
        if cafcass.after_stage:
            reached = any(
                e.kind in lifecycle.STAGE_ENTRIES
                and e.stage == cafcass.after_stage
                and e.on <= c.referred_on
                for e in c.live_events
            )
            if not reached:
                notes.append(
                    f"referred on {c.referred_on.isoformat()}, before {cafcass.after_stage}, "
                    f"where the protocol places referral ('{cafcass.after_stage_quote}'); the "
                    "IRO's power to refer is statutory (s.25B(3) Children Act 1989)"
                )
    return notes


def concern_dict(
    c: ConcernView,
    protocol: Protocol | None,
    cal: WorkingCalendar,
    judged_on: dt.date,
    *,
    timeline: bool = True,
) -> dict[str, Any]:
    stage = (
        protocol.stage_for(c.stage, c.route) if protocol and protocol.has_stage(c.stage) else None
    )
    route = protocol.route_or_none(c.route) if protocol else None
    passed = _passed(c, cal, judged_on)
    step = stage.step(c.step) if stage is not None and c.step else None
    data: dict[str, Any] = {
        "id": c.id,
        "external_ref": c.external_ref,
        "uid": c.uid,
        "protocol": c.protocol,
        "route": c.route or (route.slug if route else None),
        "subject": route.subject if route else "child",
        "child": c.child,
        "category": c.category,
        "issue": c.issue,
        "status": c.status,
        "stage": c.stage,
        "stage_title": stage.title if stage else c.stage,
        "addressed_to": stage.addressee_names if stage else [],
        "stage_started_on": iso(c.stage_started_on),
        "deadline": iso(c.deadline),
        "deadline_kind": c.deadline_kind,
        "next_step": None
        if c.step is None
        else {
            "slug": c.step,
            "title": step.title if step else c.step,
            "due": iso(c.step_deadline),
            "kind": c.step_deadline_kind,
        },
        "formal_started_on": iso(c.formal_started_on),
        "formal_deadline": iso(c.formal_deadline),
        "formal_deadline_kind": c.formal_deadline_kind,
        "formal_result": formal_result(c, cal, judged_on),
        "referred_to_cafcass_on": iso(c.referred_on),
        "senior_officer_notified_on": iso(c.senior_officer_notified_on),
        "summary": c.summary,
        "impact": c.impact,
        "recommended": c.recommended,
        "raised_by": c.raised_by,
        "owner": c.owner,
        "team": c.team,
        "role": c.role,
        "opened_on": iso(c.opened_on),
        "closed_on": iso(c.closed_on),
        "outcome": c.outcome,
        "child_wishes": child_wishes(c),
        "child_told_outcome": c.told_outcome,
        "missing": missing_voice(c, route.child_voice if route else True),
        "judged_on": iso(judged_on),
        # overdue: a firm deadline (stage, step or formal) is passed; aims and the IRO
        # Handbook's guidance are shown apart and never make a concern overdue
        "overdue": passed["firm"] > 0,
        "working_days_overdue": passed["firm"],
        "past_aim": passed["aim"] > 0,
        "past_guidance": passed["guidance"] > 0,
        "legal_hold": legal_hold(c),
    }
    others = other_open_concerns(c)
    if others is not None:
        data["other_open_concerns"] = others
    if timeline:
        state = fold_view(c, protocol, cal)
        data["stages"] = stage_visits(c, protocol, cal, judged_on, state)
        data["steps"] = _steps(protocol, state, cal, judged_on) if protocol else []
        data["duties"] = _duties(protocol, state) if protocol else []
        data["meetings"] = [
            {"on": iso(e.on), "stage": e.stage, "attendees": e.details.get("attendees", []),
             "text": e.text, "actions": e.details.get("actions", []),
             "step": e.details.get("step")}
            for e in c.live_events if e.kind == "meeting"
        ]  # fmt: skip
        data["cafcass_steps"] = [
            {"on": iso(e.on), "step": e.details.get("step"), "text": e.text,
             "officer": e.details.get("officer")}
            for e in c.live_events if e.kind == "cafcass"
        ]  # fmt: skip
        data["not_applicable"] = dict(state.not_applicable)
        data["good_practice"] = [
            {"on": iso(e.on), "text": e.text} for e in c.live_events if e.kind == "good-practice"
        ]
        data["notices"] = _notices(c, protocol)
        data["referral_reason"] = state.referral_reason
        data["senior_officer"] = state.senior_officer
        # every clock the concern runs, judged on the day (drp_cli.domain.judgement)
        data["clocks"] = [k.to_dict() for k in judgement.clocks(state, protocol, cal, judged_on)]
    data["corrections"] = corrections(c)
    data["events"] = [event_dict(e) for e in c.events]
    return data


#: What a CAFCASS referral bundle holds (seed 000 §1.2 item 7; seed 003), by slug; an item
#: may be marked not applicable with a reason (`drp not-applicable ID ITEM --reason ...`).
BUNDLE_ITEMS: dict[str, str] = {
    "care-order": "Final Care Order",
    "final-care-plan": "Final Care Plan filed in proceedings",
    "guardian-report": "Children's guardian's report immediately preceding the Care Order",
    "review-records": "Review records from the preceding 12 months",
    "iro-report": "IRO report: why the matter is referred now and the steps taken",
    "wishes-feelings": "IRO report on the child's wishes and feelings",
    "professionals": "Names and contact details of the relevant professionals",
    "case-chronology": "Chronology of the child's case",
    "statement-of-issues": "Statement of issues",
    "important-people": "Important people in the child's life",
    "diversity": "Diversity issues and communication needs",
    "care-plan": "The most recent Care Plan",
}
