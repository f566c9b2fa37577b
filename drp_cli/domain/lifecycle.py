"""The lifecycle rule: a concern's events, its protocol and the working-day calendar fold into
everything the concern row (and its item and attachment rows) stores.

This is the one place a derived field is computed. Writing an event, import, ``verify``,
the views and the migration back-fill all call :func:`fold`; nothing else works out a
stage, a deadline, a status or a flag. It is pure: no database, no I/O, no clock.

Events are applied in the order they were recorded (``seq``). What each kind does:

* ``opened`` / ``imported``: the concern's recorded fields (protocol, child, category,
  issue, summary, impact, recommended, raised by, role, external reference, uid) and its
  first stage; ``imported`` may also carry the opening date and the date formal stages
  began, from the spreadsheet it came from.
* ``escalated``: a new current stage from its date; the response at the stage is cleared.
* ``response``: the latest response at the current stage, on or after it began.
* ``done`` / ``meeting``: a step of the stage (or a recording duty) done on that day; a
  meeting meets the step the tracker named when it was recorded.
* ``due-set``: the IRO's due date for the current stage (an aim extended, with a reason).
* ``referred``: the CAFCASS referral date (the first one), the senior officer's notification.
* ``not-applicable``: a bundle item that does not apply, with the reason.
* ``wishes-*`` / ``*told-outcome``: the child's voice.
* ``resolved`` / ``withdrawn``: status, closing date and outcome.
* ``reopened``: a closed concern open again, at the stage it was at, its clock started afresh.
* ``assigned``: a new owner (and team) for the concern.
* ``amended``: recorded fields corrected (summary, impact, child, ...; the referral reason).
* ``retracted``: an earlier event entered in error. It stays in the history but no longer
  counts: the fold leaves it out, so retracting an escalation puts the concern back at its
  earlier stage with that stage's deadline.
* ``redacted``: personal data removed from an earlier event's text or details (the event
  row itself now holds the redacted text, which is what the fold reads).
* ``fields-recorded``: recorded fields taken into the chain as they stood when an older
  database was upgraded (their values were not in its opening event).
* ``<kind>-added`` / ``action-done`` / ``<kind>-removed`` / ``attached``: the concern's
  items and attachments.
* ``held`` / ``hold-lifted``: a legal hold placed on the concern (with the reason) and
  lifted: while held, it is never disposed of, whatever the retention schedule says
  (:mod:`drp_cli.domain.retention`).

Deadlines come last, from the final state (:func:`finish`), for every stage visit: a
visit's deadline is the IRO's due date when one was set, else the stage's own timescale (as
the concern's route has the stage: a route may change it or drop it) counted from where the
source counts it (:func:`clock_start`): the day the stage began or the concern was
escalated to it, the outcome of the stage before (the day its outcome step was recorded,
else the escalation), or a step recorded as done (Nottinghamshire 2016 Stage 1's 7 days run
from the urgent plan; West Sussex's Practice Manager's 5 from the IRO's request). A
timescale is in working days, calendar days or hours (hours as whole days: "within 24 hours"
of a Friday is the Saturday; deadlines are dates). Its kind is the stage's (``firm``,
``aim`` or ``guidance``); a due date the IRO set where the source gives no timescale is
firm. The next step due is the earliest deadline among the current visit's steps not yet
done and not optional, each counted the same way. The formal deadline is the protocol's
whole-process limit from the day the first formal stage was entered, where it applies to
the concern's role; its kind is ``firm`` or ``guidance``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from drp_cli.core.dates import as_day
from drp_cli.core.errors import MalformedValue
from drp_cli.core.plainclass import Frozen, Plain, set_fields
from drp_cli.domain.calendar import WorkingCalendar

if TYPE_CHECKING:  # the protocols are read only by the commands that need them
    from typing import Protocol as TypingProtocol

    from drp_cli.domain.protocols import Protocol, Stage, Step

    class EventLike(TypingProtocol):
        """What the fold reads of an event (a stored row, an import row or a view)."""

        @property
        def seq(self) -> int: ...
        @property
        def kind(self) -> str: ...
        @property
        def effective_on(self) -> dt.date: ...
        @property
        def stage(self) -> str: ...
        @property
        def by(self) -> str: ...
        @property
        def text(self) -> str: ...


STAGE_ENTRIES = ("opened", "imported", "escalated")
CLOSING = ("resolved", "withdrawn")
#: Every status a concern can have: open, or closed by one of :data:`CLOSING`.
STATUSES = ("open", *CLOSING)
VOICE = {
    "wishes-sought": ("wishes", "sought"),
    "wishes-not-sought": ("wishes", "not-sought"),
    "told-outcome": ("told_outcome", "told"),
    "not-told-outcome": ("told_outcome", "not-told"),
}
#: What a person recorded about the concern (as opposed to what its events imply).
RECORDED_FIELDS = (
    "protocol", "child", "category", "issue", "summary", "impact", "recommended", "raised_by",
    "role", "external_ref", "uid", "route", "owner", "team",
)  # fmt: skip
#: The recorded fields ``drp amend`` corrects, and the referral's reason (the text of the
#: ``referred`` event, which the bundle calls "why now").
AMENDABLE = (
    "summary", "impact", "recommended", "child", "category", "issue", "raised_by", "role",
    "referral_reason",
)  # fmt: skip
#: What stands in for text redacted from an event (``drp redact``). A redacted child
#: reference is nobody's: it never makes two concerns the same child's.
REDACTED = "[redacted]"
#: Events that cannot be retracted: the opening (withdraw the concern instead) and the
#: corrections themselves (a retraction or redaction is itself the correction).
UNRETRACTABLE = ("opened", "imported", "retracted", "redacted", "fields-recorded")
#: A legal hold placed on a concern, and lifted (``drp hold``, ``drp unhold``): never
#: retracted (a hold placed in error is lifted, and both stay in the record).
HOLD, HOLD_LIFTED = "held", "hold-lifted"
#: Every column of the concern row that the fold determines.
DERIVED_FIELDS = (
    "status", "stage", "stage_started_on", "stage_due_override", "stage_responded_on",
    "deadline", "formal_started_on", "formal_deadline", "referred_on",
    "senior_officer_notified_on", "wishes", "told_outcome", "opened_on", "closed_on", "outcome",
    "event_count", "deadline_kind", "formal_deadline_kind", "step", "step_deadline",
    "step_deadline_kind",
)  # fmt: skip
ROW_FIELDS = RECORDED_FIELDS + DERIVED_FIELDS
#: the days among ROW_FIELDS (ConcernState's fields of type date; a test holds the two to
#: the same): where a concern row can hold a date
ROW_DAYS = ("stage_started_on", "stage_due_override", "stage_responded_on", "deadline",
            "formal_started_on", "formal_deadline", "referred_on",
            "senior_officer_notified_on", "opened_on", "closed_on", "step_deadline")  # fmt: skip
ITEM_KINDS = ("action", "professional", "important-person", "wishes", "needs")


class Fact(NamedTuple):
    """An event as the fold needs it; ``details`` already parsed. (A named tuple: an import
    or ``verify`` makes hundreds of thousands, and a frozen dataclass is five times slower
    to make.)"""

    seq: int
    kind: str
    effective_on: dt.date
    stage: str
    by: str
    text: str
    details: Mapping[str, Any]


class ItemState(Plain):
    kind: str
    n: int
    position: int
    data: dict[str, Any]
    added_on: dt.date
    added_by: str
    done_on: dt.date | None
    done_by: str | None
    removed_on: dt.date | None
    removed_by: str | None

    _fields = (
        "kind",
        "n",
        "position",
        "data",
        "added_on",
        "added_by",
        "done_on",
        "done_by",
        "removed_on",
        "removed_by",
    )

    def __init__(
        self,
        kind: str,
        n: int,
        position: int,
        data: dict[str, Any],
        added_on: dt.date,
        added_by: str,
        done_on: dt.date | None = None,
        done_by: str | None = None,
        removed_on: dt.date | None = None,
        removed_by: str | None = None,
    ) -> None:
        self.kind = kind
        self.n = n
        self.position = position
        self.data = data
        self.added_on = added_on
        self.added_by = added_by
        self.done_on = done_on
        self.done_by = done_by
        self.removed_on = removed_on
        self.removed_by = removed_by


class AttachmentState(Plain):
    n: int
    kind: str
    filename: str
    sha256: str
    size: int
    dated: dt.date | None
    description: str
    added_on: dt.date
    added_by: str

    _fields = (
        "n",
        "kind",
        "filename",
        "sha256",
        "size",
        "dated",
        "description",
        "added_on",
        "added_by",
    )

    def __init__(
        self,
        n: int,
        kind: str,
        filename: str,
        sha256: str,
        size: int,
        dated: dt.date | None,
        description: str,
        added_on: dt.date,
        added_by: str,
    ) -> None:
        self.n = n
        self.kind = kind
        self.filename = filename
        self.sha256 = sha256
        self.size = size
        self.dated = dated
        self.description = description
        self.added_on = added_on
        self.added_by = added_by


class Visit(Plain):
    """One stay at a stage: when it began and ended, the IRO's due date, what was done."""

    stage: str
    entered: dt.date
    due: dt.date | None
    opening: bool
    done: dict[str, dt.date]
    left: dt.date | None
    deadline: dt.date | None
    kind: str | None
    #: the outcome of the stage visited before, where its outcome step was recorded (set by
    #: :func:`finish`): where a "previous-outcome" clock starts
    previous_outcome: dt.date | None

    _fields = (
        "stage",
        "entered",
        "due",
        "opening",
        "done",
        "left",
        "deadline",
        "kind",
        "previous_outcome",
    )

    def __init__(
        self,
        stage: str,
        entered: dt.date,
        due: dt.date | None,
        opening: bool,
        done: dict[str, dt.date] | None = None,
        left: dt.date | None = None,
        deadline: dt.date | None = None,
        kind: str | None = None,
        previous_outcome: dt.date | None = None,
    ) -> None:
        self.stage = stage
        self.entered = entered
        self.due = due
        self.opening = opening
        self.done = {} if done is None else done
        self.left = left
        self.deadline = deadline
        self.kind = kind
        self.previous_outcome = previous_outcome


class StepDue(Frozen):
    """A step of a stage visit, with its deadline as the source sets it."""

    step: Step
    starts: dt.date | None  # None: the step it follows is not done yet
    deadline: dt.date | None
    done_on: dt.date | None

    _fields = (
        "step",
        "starts",
        "deadline",
        "done_on",
    )

    def __init__(
        self,
        step: Step,
        starts: dt.date | None,
        deadline: dt.date | None,
        done_on: dt.date | None,
    ) -> None:
        set_fields(
            self,
            step=step,
            starts=starts,
            deadline=deadline,
            done_on=done_on,
        )


class ConcernState(Plain):
    """Everything the concern row stores, as its events imply it."""

    protocol: str | None
    child: str | None
    category: str | None
    issue: str | None
    summary: str | None
    impact: str
    recommended: str
    raised_by: str | None
    role: str | None
    external_ref: str | None
    uid: str | None
    route: str | None
    owner: str | None
    team: str | None
    status: str
    stage: str | None
    stage_started_on: dt.date | None
    stage_due_override: dt.date | None
    stage_responded_on: dt.date | None
    deadline: dt.date | None
    formal_started_on: dt.date | None
    formal_deadline: dt.date | None
    referred_on: dt.date | None
    senior_officer_notified_on: dt.date | None
    #: who was notified (the referral's, or the CAFCASS step's that set the date above)
    senior_officer: str | None
    wishes: str | None
    told_outcome: str | None
    opened_on: dt.date | None
    closed_on: dt.date | None
    outcome: str | None
    event_count: int
    deadline_kind: str | None
    formal_deadline_kind: str | None
    step: str | None
    step_deadline: dt.date | None
    step_deadline_kind: str | None
    visits: list[Visit]
    not_applicable: dict[str, str]
    items: dict[tuple[str, int], ItemState]
    attachments: dict[int, AttachmentState]
    # the stage entries (stage, day) in recorded order, for the formal start
    entries: list[tuple[str, dt.date]]
    formal_started_given: dt.date | None
    # the referral's reason ("why now"): the referred event's text, or its amendment
    referral_reason: str | None
    # the events left out because they were retracted, by seq
    retracted: set[int]
    #: under a legal hold since this day (None: not held), and why (the hold's reason)
    held_on: dt.date | None
    hold_reason: str | None

    _fields = (
        "protocol",
        "child",
        "category",
        "issue",
        "summary",
        "impact",
        "recommended",
        "raised_by",
        "role",
        "external_ref",
        "uid",
        "route",
        "owner",
        "team",
        "status",
        "stage",
        "stage_started_on",
        "stage_due_override",
        "stage_responded_on",
        "deadline",
        "formal_started_on",
        "formal_deadline",
        "referred_on",
        "senior_officer_notified_on",
        "senior_officer",
        "wishes",
        "told_outcome",
        "opened_on",
        "closed_on",
        "outcome",
        "event_count",
        "deadline_kind",
        "formal_deadline_kind",
        "step",
        "step_deadline",
        "step_deadline_kind",
        "visits",
        "not_applicable",
        "items",
        "attachments",
        "entries",
        "formal_started_given",
        "referral_reason",
        "retracted",
        "held_on",
        "hold_reason",
    )

    def __init__(
        self,
        protocol: str | None = None,
        child: str | None = None,
        category: str | None = None,
        issue: str | None = None,
        summary: str | None = None,
        impact: str = "",
        recommended: str = "",
        raised_by: str | None = None,
        role: str | None = None,
        external_ref: str | None = None,
        uid: str | None = None,
        route: str | None = None,
        owner: str | None = None,
        team: str | None = None,
        status: str = "open",
        stage: str | None = None,
        stage_started_on: dt.date | None = None,
        stage_due_override: dt.date | None = None,
        stage_responded_on: dt.date | None = None,
        deadline: dt.date | None = None,
        formal_started_on: dt.date | None = None,
        formal_deadline: dt.date | None = None,
        referred_on: dt.date | None = None,
        senior_officer_notified_on: dt.date | None = None,
        senior_officer: str | None = None,
        wishes: str | None = None,
        told_outcome: str | None = None,
        opened_on: dt.date | None = None,
        closed_on: dt.date | None = None,
        outcome: str | None = None,
        event_count: int = 0,
        deadline_kind: str | None = None,
        formal_deadline_kind: str | None = None,
        step: str | None = None,
        step_deadline: dt.date | None = None,
        step_deadline_kind: str | None = None,
        visits: list[Visit] | None = None,
        not_applicable: dict[str, str] | None = None,
        items: dict[tuple[str, int], ItemState] | None = None,
        attachments: dict[int, AttachmentState] | None = None,
        entries: list[tuple[str, dt.date]] | None = None,
        formal_started_given: dt.date | None = None,
        referral_reason: str | None = None,
        retracted: set[int] | None = None,
        held_on: dt.date | None = None,
        hold_reason: str | None = None,
    ) -> None:
        self.protocol = protocol
        self.child = child
        self.category = category
        self.issue = issue
        self.summary = summary
        self.impact = impact
        self.recommended = recommended
        self.raised_by = raised_by
        self.role = role
        self.external_ref = external_ref
        self.uid = uid
        self.route = route
        self.owner = owner
        self.team = team
        self.status = status
        self.stage = stage
        self.stage_started_on = stage_started_on
        self.stage_due_override = stage_due_override
        self.stage_responded_on = stage_responded_on
        self.deadline = deadline
        self.formal_started_on = formal_started_on
        self.formal_deadline = formal_deadline
        self.referred_on = referred_on
        self.senior_officer_notified_on = senior_officer_notified_on
        self.senior_officer = senior_officer
        self.wishes = wishes
        self.told_outcome = told_outcome
        self.opened_on = opened_on
        self.closed_on = closed_on
        self.outcome = outcome
        self.event_count = event_count
        self.deadline_kind = deadline_kind
        self.formal_deadline_kind = formal_deadline_kind
        self.step = step
        self.step_deadline = step_deadline
        self.step_deadline_kind = step_deadline_kind
        self.visits = [] if visits is None else visits
        self.not_applicable = {} if not_applicable is None else not_applicable
        self.items = {} if items is None else items
        self.attachments = {} if attachments is None else attachments
        self.entries = [] if entries is None else entries
        self.formal_started_given = formal_started_given
        self.referral_reason = referral_reason
        self.retracted = set() if retracted is None else retracted
        self.held_on = held_on
        self.hold_reason = hold_reason

    @property
    def held(self) -> bool:
        """Whether a legal hold is in force: placed and not lifted since."""
        return self.held_on is not None

    def row(self) -> dict[str, Any]:
        """The concern row's values, by column name."""
        return {name: getattr(self, name) for name in ROW_FIELDS}


#: a new ConcernState's fields, as its __init__ gives them (those that hold a container are
#: given a new one by :func:`new_state`)
_NEW_STATE = dict(ConcernState().__dict__)
_new_object = object.__new__


def new_state() -> ConcernState:
    """``ConcernState()``, its fields copied in one go (a fold starts from one for each
    concern: an import of 100,000 makes as many; a third of the time of the __init__)."""
    state: ConcernState = _new_object(ConcernState)
    fields = _NEW_STATE.copy()  # (a copy of the table at once: no key hashed and put in)
    fields["visits"], fields["not_applicable"], fields["items"] = [], {}, {}
    fields["attachments"], fields["entries"], fields["retracted"] = {}, [], set()
    state.__dict__ = fields
    return state


def visit_at(state: ConcernState, stage: str, day: dt.date) -> Visit | None:
    """The latest visit to ``stage`` begun on or before ``day``."""
    return next((v for v in reversed(state.visits) if v.stage == stage and v.entered <= day),
                None)  # fmt: skip


def retracted_seqs(events: Iterable[Fact]) -> set[int]:
    """The seqs of the events that a ``retracted`` event took back."""
    return {e.details["seq"] for e in events
            if e.kind == "retracted" and type(e.details.get("seq")) is int}  # fmt: skip


def live(events: Iterable[Fact]) -> list[Fact]:
    """The events that count, in recorded order: all but the retracted ones."""
    events = sorted(events, key=lambda e: e.seq)
    gone = retracted_seqs(events)
    return [e for e in events if e.seq not in gone]


#: where a value the fold reads is said to be before the caller names its concern
AN_EVENT = "an event"


def _day(value: Any) -> dt.date | None:
    """A day an event's details hold (ISO text as drp writes it, or a date), or None;
    :class:`MalformedValue` for anything no write of drp's could have stored there (text
    that is no day, a number, a list): a record damaged or edited outside drp is refused,
    never a crash."""
    try:
        return as_day(value)
    except (ValueError, TypeError, OverflowError):
        raise MalformedValue(AN_EVENT, "event", "details") from None


def apply(state: ConcernState, e: Fact) -> None:
    """Apply one event to the state: the same step when it is written and on replay."""
    kind, d, day = e.kind, e.details, e.effective_on
    state.event_count += 1
    if kind == "note":  # the commonest event: counted, and nothing else (none of the below)
        return
    if type(kind) is not str:  # a BLOB or a number stored outside drp
        raise MalformedValue(AN_EVENT, "event", "kind")
    if kind in ("opened", "imported"):
        for name in RECORDED_FIELDS:
            if name in d and name != "summary":
                setattr(state, name, d[name])
        state.owner = d.get("owner") or state.owner or e.by
        state.summary = e.text
        state.impact = d.get("impact", state.impact) or ""
        state.recommended = d.get("recommended", state.recommended) or ""
        state.opened_on = _day(d.get("opened_on")) or day
        state.formal_started_given = _day(d.get("formal_started_on"))
    if kind in STAGE_ENTRIES:
        state.stage = e.stage
        state.stage_started_on = day
        state.stage_responded_on = None
        state.stage_due_override = _day(d.get("due"))
        state.entries.append((e.stage, day))
        if state.visits:
            state.visits[-1].left = day
        state.visits.append(Visit(e.stage, day, state.stage_due_override,
                                  opening=kind != "escalated"))  # fmt: skip
    elif kind == "response":
        started = state.stage_started_on
        if e.stage == state.stage and started is not None and day >= started:
            latest = state.stage_responded_on
            state.stage_responded_on = day if latest is None else max(latest, day)
    elif kind in ("done", "meeting"):
        slug = d.get("what") if kind == "done" else d.get("step")
        visit = visit_at(state, e.stage, day)
        if slug and visit is not None:
            visit.done.setdefault(str(slug), day)
    elif kind == "due-set":
        if e.stage == state.stage and state.visits:
            state.stage_due_override = state.visits[-1].due = _day(d.get("due"))
    elif kind == "cafcass" and d.get("step") == "senior-officer-notified":
        if state.senior_officer_notified_on is None:
            state.senior_officer_notified_on = day
            state.senior_officer = d.get("officer") or None
    elif kind == "not-applicable":
        state.not_applicable[str(d.get("item"))] = e.text
    elif kind == "referred":
        if state.referral_reason is None and e.text.strip():
            state.referral_reason = e.text
        if state.referred_on is None:
            state.referred_on = day
            given = _day(d.get("senior_officer_notified_on"))
            if given is not None:
                state.senior_officer_notified_on = given
                state.senior_officer = d.get("senior_officer") or None
            elif state.senior_officer is None:  # named, with no date: named all the same
                state.senior_officer = d.get("senior_officer") or None
    elif kind in VOICE:
        name, value = VOICE[kind]
        setattr(state, name, value)
    elif kind in CLOSING:
        state.status = kind
        state.closed_on = day
        state.outcome = e.text
    elif kind == "reopened":
        state.status, state.closed_on, state.outcome = "open", None, None
        if state.stage is not None:
            state.stage_started_on, state.stage_responded_on = day, None
            state.stage_due_override = _day(d.get("due"))
            if state.visits:
                state.visits[-1].left = day
            state.visits.append(Visit(state.stage, day, state.stage_due_override, opening=False))
    elif kind == "assigned":
        state.owner = d.get("owner") or state.owner
        if "team" in d:
            state.team = d.get("team")
    elif kind == "amended":
        for name, value in d.items():
            if name == "referral_reason":
                state.referral_reason = value
            elif name == "summary":
                state.summary = value
            elif name in ("impact", "recommended"):
                setattr(state, name, value or "")
            elif name in AMENDABLE:
                setattr(state, name, value)
    elif kind == "fields-recorded":
        for name in RECORDED_FIELDS:
            if name in d:
                setattr(state, name, d[name])
    elif kind == "attached" and "sha256" in d:
        state.attachments[int(d["n"])] = AttachmentState(
            n=int(d["n"]),
            kind=str(d["kind"]),
            filename=str(d.get("filename", "file")),
            sha256=str(d["sha256"]),
            size=int(d.get("size", 0)),
            dated=_day(d.get("dated")),
            description=str(d.get("description", "")),
            added_on=day,
            added_by=e.by,
        )
    elif kind.endswith("-added") and kind[:-6] in ITEM_KINDS:
        item_kind, n = kind[:-6], int(d["n"])
        if item_kind == "wishes":  # wishes recorded were sought: the voice agrees
            state.wishes = "sought"
        state.items[(item_kind, n)] = ItemState(
            kind=item_kind,
            n=n,
            position=int(d.get("position", n)),
            data={k: v for k, v in d.items() if k not in ("n", "position")},
            added_on=day,
            added_by=e.by,
        )
    elif kind == HOLD:
        state.held_on, state.hold_reason = day, e.text
    elif kind == HOLD_LIFTED:
        state.held_on = state.hold_reason = None
    elif kind == "action-done":
        item = state.items.get(("action", int(d["n"])))
        if item is not None:
            item.done_on, item.done_by = day, e.by
    elif kind.endswith("-removed") and kind[:-8] in ITEM_KINDS:
        item = state.items.get((kind[:-8], int(d["n"])))
        if item is not None:
            item.removed_on, item.removed_by = day, e.by


def clock_start(start: str, visit: Visit) -> dt.date | None:
    """The day a clock counted from ``start`` starts in ``visit`` (None: not yet).

    ``stage`` and ``escalation``: the day the visit began (the concern was escalated to the
    stage, or opened or reopened at it); ``previous-outcome``: the day the outcome of the
    stage before was recorded, else the escalation; a step's slug: the day that step was
    recorded as done (a request made, a plan agreed)."""
    if start in ("stage", "escalation"):
        return visit.entered
    if start == "previous-outcome":
        return visit.previous_outcome or visit.entered
    return visit.done.get(start)


#: each stage's or step's timescale (a property that makes a new one on every reading),
#: by the object's id, with the object (so that an id used again is not taken for it)
_TIMESCALES: dict[int, tuple[Any, Any]] = {}
_TIMESCALES_KEPT = 512  # then started again (a route may make its stages afresh)


def _timescale_of(thing: Any) -> Any:
    """``thing.timescale`` (a stage's or a step's: frozen, so the same every time), read
    once per object."""
    hit = _TIMESCALES.get(id(thing))
    if hit is None or hit[0] is not thing:
        if len(_TIMESCALES) >= _TIMESCALES_KEPT:
            _TIMESCALES.clear()
        hit = _TIMESCALES[id(thing)] = (thing, thing.timescale)
    return hit[1]


def visit_deadline(
    cal: WorkingCalendar, stage: Stage | None, visit: Visit
) -> tuple[dt.date | None, str | None]:
    """A stage visit's deadline and its kind: the IRO's due date if set (an aim's or the
    guidance's kind where the stage's is one, else firm), else the stage's own timescale
    counted from where it starts (:func:`clock_start`). A firm timescale can only be
    shortened: the IRO's date is never later than the limit as it now stands (its start
    recorded later, a closure day reopened, a history imported), so the limit wins."""
    timescale = _timescale_of(stage) if stage is not None else None
    start = clock_start(timescale.start, visit) if timescale is not None else None
    limit = timescale.due(cal, start) if timescale is not None and start is not None else None
    if visit.due is not None:
        kind = stage.kind if stage is not None else None
        if kind in ("aim", "guidance"):
            return visit.due, kind
        if limit is not None and timescale is not None and timescale.kind == "firm":
            return min(visit.due, limit), "firm"
        return visit.due, "firm"
    if timescale is None or limit is None:
        return None, None
    return limit, timescale.kind


def stage_deadline(
    cal: WorkingCalendar, stage: Stage | None, entered: dt.date, due: dt.date | None
) -> dt.date | None:
    """A stage's deadline when entered on ``entered`` with nothing done yet."""
    return visit_deadline(cal, stage, Visit(stage.slug if stage else "", entered, due, False))[0]


def visit_steps(
    cal: WorkingCalendar, protocol: Protocol, visit: Visit, route: str | None
) -> list[StepDue]:
    """The steps of a stage visit (as the concern's route has the stage), each with the day
    its clock starts and its deadline."""
    if not protocol.has_stage(visit.stage):
        return []
    out = []
    for step in protocol.steps_at(visit.stage, route, opening=visit.opening):
        starts = clock_start(step.after, visit)
        timescale = _timescale_of(step)
        deadline = (
            timescale.due(cal, starts) if starts is not None and timescale is not None else None
        )
        out.append(StepDue(step, starts, deadline, visit.done.get(step.slug)))
    return out


def previous_outcome(
    protocol: Protocol, visit: Visit, before: Visit | None, route: str | None
) -> dt.date | None:
    """The day the outcome of the stage visited before ``visit`` was recorded (its step
    marked ``outcome``, the earliest if several), never after ``visit`` began; None when
    there was no stage before or its outcome was not recorded."""
    if before is None or not protocol.has_stage(before.stage):
        return None
    days = [before.done[s.slug]
            for s in protocol.steps_at(before.stage, route, opening=before.opening)
            if s.outcome and s.slug in before.done]  # fmt: skip
    return min([*days, visit.entered]) if days else None


def formal_deadline(
    cal: WorkingCalendar, protocol: Protocol | None, formal_started: dt.date | None,
    role: str | None = None,
) -> dt.date | None:  # fmt: skip
    if formal_started is None or protocol is None or not protocol.cap_applies(role):
        return None
    assert protocol.formal_cap_working_days is not None
    return cal.add(formal_started, protocol.formal_cap_working_days)


def finish(state: ConcernState, protocol: Protocol | None, cal: WorkingCalendar) -> ConcernState:
    """Work out what depends on the protocol and the calendar: the formal start, every
    visit's deadline, the next step due and the formal deadline. ``protocol`` None (not
    installed) leaves the deadlines to the due dates."""
    formal = state.formal_started_given
    if formal is None and protocol is not None:
        formal = next(
            (day for slug, day in state.entries
             if protocol.has_stage(slug) and protocol.stage(slug).formal),
            None,
        )  # fmt: skip
    state.formal_started_on = formal
    before: Visit | None = None
    for visit in state.visits:
        stage = (
            protocol.stage_for(visit.stage, state.route)
            if protocol is not None and protocol.has_stage(visit.stage)
            else None
        )
        if protocol is not None:
            visit.previous_outcome = previous_outcome(protocol, visit, before, state.route)
        visit.deadline, visit.kind = visit_deadline(cal, stage, visit)
        before = visit
    current = state.visits[-1] if state.visits else None
    state.deadline = current.deadline if current else None
    state.deadline_kind = current.kind if current else None
    state.step = state.step_deadline = state.step_deadline_kind = None
    if current is not None and protocol is not None:
        pending = [
            s for s in visit_steps(cal, protocol, current, state.route)
            if s.done_on is None and s.deadline is not None and not s.step.optional
        ]  # fmt: skip
        if pending:
            first = min(pending, key=lambda s: s.deadline or dt.date.max)
            state.step, state.step_deadline = first.step.slug, first.deadline
            state.step_deadline_kind = first.step.kind
    state.formal_deadline = formal_deadline(cal, protocol, formal, state.role)
    state.formal_deadline_kind = (
        protocol.cap_kind if protocol is not None and state.formal_deadline is not None else None
    )
    return state


#: what :func:`finish_kept` keeps: by what finish reads of a concern of one visit with no
#: step done, (its protocol, its calendar, what finish worked out)
Kept = dict[tuple[Any, ...], tuple[Any, Any, tuple[Any, ...]]]
_KEPT_MOST = 8192  # outcomes kept (then started again)


def finish_kept(
    state: ConcernState, protocol: Protocol | None, cal: WorkingCalendar, kept: Kept
) -> ConcernState:
    """:func:`finish`, for a caller that finishes many concerns on one calendar (an import):
    a concern of one stage visit with no step done (most of an import's) is given what
    finish worked out for the last such concern that read the same (its protocol and
    calendar, its formal start given, the visit's stage, day, due date and opening, which
    are its one stage entry, its route and role), kept in ``kept``; the same state as
    :func:`finish` gives
    (a property test holds the two to the same)."""
    visits, entries = state.visits, state.entries
    if len(visits) != 1 or visits[0].done or len(entries) != 1:
        return finish(state, protocol, cal)
    v = visits[0]
    if entries[0] != (v.stage, v.entered):  # (what finish reads of the entries, else)
        return finish(state, protocol, cal)
    key = (id(protocol), id(cal), state.formal_started_given, v.stage, v.entered, v.due,
           v.opening, state.route, state.role)  # fmt: skip
    hit = kept.get(key)
    if hit is not None and hit[0] is protocol and hit[1] is cal:
        (v.previous_outcome, v.deadline, v.kind, state.formal_started_on, state.deadline,
         state.deadline_kind, state.step, state.step_deadline, state.step_deadline_kind,
         state.formal_deadline, state.formal_deadline_kind) = hit[2]  # fmt: skip
        return state
    finish(state, protocol, cal)
    if len(kept) >= _KEPT_MOST:
        kept.clear()
    kept[key] = (protocol, cal, (
        v.previous_outcome, v.deadline, v.kind, state.formal_started_on, state.deadline,
        state.deadline_kind, state.step, state.step_deadline, state.step_deadline_kind,
        state.formal_deadline, state.formal_deadline_kind))  # fmt: skip
    return state


def fold(
    events: Iterable[Fact], protocols: Mapping[str, Protocol], cal: WorkingCalendar,
    *, where: str | None = None,
) -> ConcernState:  # fmt: skip
    """The state a concern's events imply, in the order they were recorded. ``where`` (the
    concern, "concern 12") names it in :class:`MalformedValue` for a stored value drp never
    writes (see :func:`_day`)."""
    try:
        state = replay(events)
    except MalformedValue as exc:
        if where is None or exc.where != AN_EVENT:
            raise
        raise MalformedValue(where, exc.table, exc.column) from None
    return finish(state, protocols.get(state.protocol or ""), cal)


def replay(events: Iterable[Fact]) -> ConcernState:
    """The events applied in the order they were recorded, before :func:`finish` works out
    what depends on the protocol and the calendar (``fold`` is the two)."""
    state = new_state()
    events = sorted(events, key=lambda e: e.seq)
    state.retracted = retracted_seqs(events)
    for e in events:
        if e.seq in state.retracted:
            state.event_count += 1
        else:
            apply(state, e)
    return state


def stage_at(events: Iterable[Fact], day: dt.date, current: str) -> str:
    """The stage a concern was at on ``day`` (events may be recorded late): the stage of the
    latest stage entry on or before it, else the current stage."""
    stage = current
    for e in sorted((e for e in live(events) if e.kind in STAGE_ENTRIES),
                    key=lambda e: (e.effective_on, e.seq)):  # fmt: skip
        if e.effective_on <= day:
            stage = e.stage
    return stage
