"""The overdue rule of the daily check (`drp overdue`): pure, no database.

A concern has three deadlines, each with a kind (:mod:`drp_cli.domain.lifecycle` stores them): the
current stage's (``firm`` or ``aim``), the next step due inside the stage (``firm`` or
``aim``) and the whole formal process's (``firm`` or ``guidance``). Each is a clock, judged
by :mod:`drp_cli.domain.judgement` (the one place a deadline's state is worked out): passed on day
X when at least one working day lies after it, up to and including X. The check shows one
line per clock passed or due (a concern may have several lines), so a firm limit falling due
today is never hidden behind a stage aim already passed:

* a firm one passed: ``overdue`` (and the check's exit status 1);
* the IRO Handbook's guidance passed: ``past-guidance``;
* an aim passed: ``past-aim`` (the source aims for it; the IRO may extend it with a reason);
* not passed and falling on or before the horizon: ``due``.

Besides the concern's own deadlines, the check shows two more kinds of line, neither of which
sets the exit status (only a firm protocol deadline does):

* ``action-overdue``: a recommended action (``drp action add --due``), not done and not
  removed, past its due date. The date was agreed by the IRO and the manager; it is not a
  limit the protocol sets (``timescale`` is ``agreed``). A line of its own, beside the
  concern's line if it has one.
* ``no-deadline``: the current stage runs no clock (no stage deadline and no step deadline:
  Nottinghamshire's CRP sets no timescales at all) and has sat ``no_deadline_after`` working
  days (the config's ``no_deadline_after``, 10 by default) since it began; ``deadline`` is
  None.

What falls due on the day judged is always shown (``due``, 0 working days left); ``within``
looks further ahead.

The store reads only the open concerns whose deadlines fall on or before the horizon, and
those with no deadline at a stage begun long enough ago (through the status and deadline
indexes), and the outstanding actions of the open concerns: no event is read, and no
protocol except for the names of whom each stage is addressed to; working days are counted
once per distinct date.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any, Literal, NamedTuple

from drp_cli.core.config import NO_DEADLINE_AFTER
from drp_cli.core.dates import as_day as _as_date
from drp_cli.core.errors import InvalidInput, fld
from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.judgement import judge, kind_of

MAX_WITHIN = 260  # working days: about a year
#: the order of the lines: deadlines passed (the most binding first), actions past their
#: due date, stages sitting with no deadline, then what is due
STATES = ("overdue", "past-guidance", "past-aim", "action-overdue", "no-deadline", "due")
State = Literal["overdue", "past-guidance", "past-aim", "action-overdue", "no-deadline", "due"]
#: how binding an action's due date is: agreed by the IRO and the manager, not set by the
#: protocol
AGREED = "agreed"


class ActionDue(NamedTuple):
    """The recommended action a line is about (``drp action add ID --due DATE``)."""

    n: int
    text: str
    owner: str

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "text": self.text, "owner": self.owner}


class OverdueItem(NamedTuple):
    """One line of the daily check (a named tuple: tens of thousands are made at once)."""

    id: int
    child: str
    protocol: str
    stage: str
    state: State
    #: the clock's due date (the stage's, the step's, the formal process's or the
    #: action's); None for ``no-deadline``
    deadline: dt.date | None
    which: str  # the clock: "stage", "step", "formal" or "action"
    working_days_overdue: int
    working_days_left: int
    responded: bool
    #: "firm", "aim" or "guidance": how binding that deadline is; "agreed" for an action;
    #: None for ``no-deadline``
    timescale: str | None
    step: str | None  # the step due, when "step" is in ``which``
    summary: str = ""
    addressed_to: tuple[str, ...] = ()  # whom the current stage is addressed to
    owner: str | None = None  # the IRO who owns the concern
    team: str | None = None
    stage_started_on: dt.date | None = None
    working_days_at_stage: int = 0  # working days since the current stage began
    action: ActionDue | None = None  # for ``which`` "action"

    def to_dict(self) -> dict[str, Any]:
        """The shape `drp overdue --json` prints (documented in the README)."""
        return {
            "id": self.id,
            "child": self.child,
            "protocol": self.protocol,
            "stage": self.stage,
            "state": self.state,
            "deadline": self.deadline.isoformat() if self.deadline is not None else None,
            "which": self.which,
            "working_days_overdue": self.working_days_overdue,
            "working_days_left": self.working_days_left,
            "responded": self.responded,
            "timescale": self.timescale,
            "step": self.step,
            "summary": self.summary,
            "addressed_to": list(self.addressed_to),
            "owner": self.owner,
            "team": self.team,
            "stage_started_on": (
                self.stage_started_on.isoformat() if self.stage_started_on is not None else None
            ),
            "working_days_at_stage": self.working_days_at_stage,
            "action": self.action.to_dict() if self.action is not None else None,
        }


def check_within(within: int) -> None:
    if not 0 <= within <= MAX_WITHIN:
        raise InvalidInput(f"{fld('within')} must be from 0 to {MAX_WITHIN} working days")


def horizon(cal: WorkingCalendar, day: dt.date, within: int = 0) -> dt.date:
    """The last day whose deadlines the check reads: ``day``, or ``within`` working days on."""
    check_within(within)
    return cal.add(day, within) if within else day


def stale_before(day: dt.date, no_deadline_after: int) -> dt.date:
    """The latest day a stage with no deadline can have begun and have sat
    ``no_deadline_after`` working days by ``day`` (a bound for the store's search: so many
    working days take at least as many calendar days; the rule counts them exactly)."""
    return day - dt.timedelta(days=no_deadline_after)


def overdue_items(
    rows: Iterable[Sequence[Any]],
    cal: WorkingCalendar,
    day: dt.date,
    within: int = 0,
    *,
    actions: Iterable[Sequence[Any]] = (),
    no_deadline_after: int = NO_DEADLINE_AFTER,
    addressees: Callable[[str, str, str | None], Sequence[str]] | None = None,
) -> list[OverdueItem]:
    """The overdue rule. ``rows`` are the open concerns with a deadline on or before
    :func:`horizon`, or with no stage or step deadline at a stage begun on or before
    :func:`stale_before` (id, child, protocol, stage, stage deadline, formal deadline,
    responded at the current stage, stage deadline kind, formal deadline kind, step, step
    deadline, step deadline kind, stage began on, summary, owner, team). ``actions`` are the
    outstanding actions of open concerns (id, child, protocol, stage, responded, stage began
    on, summary, owner, team, the action's number, its data as JSON). ``addressees`` names
    whom a protocol's stage is addressed to: asked only for the lines shown.

    Returns one line per clock: the deadlines passed on ``day``, the most binding first,
    earliest first; then the actions past their due date; then the stages sitting with no
    deadline for ``no_deadline_after`` working days or more, longest first; then what is
    due on ``day`` or, with ``within`` > 0, within that many working days."""
    limit = horizon(cal, day, within)
    # dates repeat across concerns: convert each distinct one once, and judge each distinct
    # (date, kind) once, by the one rule (drp_cli.domain.judgement.judge)
    dates: dict[Any, Any] = {None: None}  # the stored value -> its date

    stage_days: dict[Any, tuple[dt.date | None, int]] = {}

    def began(value: Any) -> tuple[dt.date | None, int]:
        """The day a stage began, and the working days since."""
        found = stage_days.get(value)
        if found is None:
            d = _as_date(value)
            found = stage_days[value] = (d, cal.working_days_between(d, day) if d else 0)
        return found

    names: dict[tuple[str, str, str | None], tuple[str, ...]] = {}

    def addressed(protocol: str, stage: str, route: str | None) -> tuple[str, ...]:
        found = names.get((protocol, stage, route))
        if found is None:
            found = names[protocol, stage, route] = (
                tuple(addressees(protocol, stage, route)) if addressees is not None else ()
            )
        return found

    # the lines in their order (_order) without a key a line: in lists by state and day (a
    # list a distinct pair), each list in the order its lines are made, which is the order
    # of the clocks within a concern (stage, step, formal; then its actions by number); a
    # list is then put in order of id by a stable sort, and the lists by state and day
    buckets: dict[tuple[int, dt.date], list[OverdueItem]] = {}

    def bucket(state: str, when: dt.date | None) -> list[OverdueItem]:
        return buckets.setdefault((_STATE_AT[state], when or dt.date.max), [])

    new = tuple.__new__  # an OverdueItem of all its fields, without the named tuple's __new__
    # each clock's line, by the stored (due date, kind): its state, due date, working days
    # late and left, its timescale and its list; None while it is pending
    lines: dict[tuple[Any, Any], tuple[str, Any, int, int, str, list[OverdueItem]] | None] = {}

    def line_of(value: Any, kind: Any) -> tuple[str, Any, int, int, str, list[OverdueItem]] | None:
        due = dates.get(value)
        if due is None:
            due = dates[value] = _as_date(value)
        assert due is not None  # (a clock with a due date)
        j = judge(cal, due, kind, day, limit)
        found = lines[value, kind] = (
            None if j.state == "pending"
            else (j.state, due, j.late, j.left, kind_of(kind), bucket(j.state, due))
        )  # fmt: skip
        return found

    for (
        cid,
        child,
        protocol,
        stage,
        deadline,
        formal,
        responded,
        kind,
        formal_kind,
        step,
        step_deadline,
        step_kind,
        started_v,
        summary,
        owner,
        team,
        route,
    ) in rows:
        found_began = stage_days.get(started_v)
        started, at_stage = found_began if found_began is not None else began(started_v)
        # one line per clock passed or due by the horizon: a firm limit due today is shown
        # beside a stage aim already passed (the judgement, drp_cli.domain.judgement); the
        # stage's clock first, then the step's and the formal process's (most have neither)
        clocks = _STAGE_ONLY if step_deadline is None and formal is None else _CLOCKS
        for which in clocks:
            if which == "stage":
                value, k = deadline, kind
            elif which == "step":
                value, k = step_deadline, step_kind
            else:
                value, k = formal, formal_kind
            if value is None:
                continue
            try:
                line = lines[value, k]
            except KeyError:
                line = line_of(value, k)
            if line is None:
                continue
            to = names.get((protocol, stage, route))
            if to is None:
                to = addressed(protocol, stage, route)
            line[5].append(new(OverdueItem, (
                cid, child, protocol, stage, line[0], line[1], which, line[2], line[3],
                responded is not None, line[4], step if which == "step" else None, summary,
                to, owner, team, started, at_stage, None,
            )))  # fmt: skip
        if deadline is None and step_deadline is None and at_stage >= no_deadline_after:
            bucket("no-deadline", started).append(OverdueItem(
                cid, child, protocol, stage, "no-deadline", None, "stage", 0, 0,
                responded is not None, None, None,
                summary, addressed(protocol, stage, route), owner, team, started, at_stage,
            ))  # fmt: skip
    acted = _action_items(actions, cal, day, limit, began, addressed)
    acted.sort(key=_action_n)  # a concern's actions by number (stable: as given, if alike)
    for i in acted:
        bucket(i.state, i.deadline).append(i)
    items: list[OverdueItem] = []
    for key in sorted(buckets):
        found = buckets[key]
        found.sort(key=_ID)  # stable: a concern's lines stay in the order they were made
        items += found
    return items


def _action_n(i: OverdueItem) -> int:
    assert i.action is not None
    return i.action.n


_ID = itemgetter(0)  # an OverdueItem's id


#: Where a row of the morning check's search holds each clock's due date and its kind
_CLOCK_COLUMNS = (("stage", 4, 7), ("step", 10, 11), ("formal", 5, 8))
#: A concern's clocks in the order of its lines; where it has no step or formal deadline
_CLOCKS = ("stage", "step", "formal")
_STAGE_ONLY = ("stage",)


def _action_items(
    actions: Iterable[Sequence[Any]],
    cal: WorkingCalendar,
    day: dt.date,
    limit: dt.date,
    began: Callable[[Any], tuple[dt.date | None, int]],
    addressed: Callable[[str, str, str | None], tuple[str, ...]],
) -> list[OverdueItem]:
    """The actions past their due date on ``day`` (``action-overdue``) or due by ``limit``."""
    items = []
    for (cid, child, protocol, stage, responded, started_v, summary, owner, team, n,
         data, route) in actions:  # fmt: skip
        fields = json.loads(data) if isinstance(data, str) else dict(data or {})
        due = _as_date(fields.get("due") or None)
        if due is None or due > limit:
            continue
        j = judge(cal, due, AGREED, day, limit)
        action = ActionDue(int(n), str(fields.get("text") or ""), str(fields.get("owner") or ""))
        about = (summary, addressed(protocol, stage, route), owner, team, *began(started_v),
                 action)  # fmt: skip
        items.append(OverdueItem(
            cid, child, protocol, stage, j.state, due, "action",  # type: ignore[arg-type]
            j.late, j.left, responded is not None, AGREED, None, *about,
        ))  # fmt: skip
    return items


#: the order of a concern's clocks on the same day
WHICH = ("stage", "step", "formal", "action")


_STATE_AT = {state: n for n, state in enumerate(STATES)}
_WHICH_AT = {which: n for n, which in enumerate(WHICH)}


#: the bits of an id and of an action's number in :func:`_rank` (SQLite's rowids and
#: Python's sequence numbers are below 2^63: a restored record may hold any such id)
_ID_BITS = 64


def _rank(i: OverdueItem) -> int:
    """:func:`_order` as one integer, which orders the items the same way and compares
    faster (its parts are bounded: a state and a clock of a few, a day's ordinal below
    2^22, an id and an action's number below 2^64; an id or number outside that, which
    drp never writes, is ordered by :func:`_order` only). The check itself puts its lines
    in this order without a key a line (:func:`overdue_items`)."""
    when = i.deadline or i.stage_started_on or dt.date.max
    n = i.action.n if i.action is not None else 0
    return ((((_STATE_AT[i.state] << 22 | when.toordinal()) << _ID_BITS | i.id) << 3
             | _WHICH_AT[i.which]) << _ID_BITS) | n  # fmt: skip


def _order(i: OverdueItem) -> tuple[int, dt.date, int, int, int]:
    """The order of the check's lines: state, day, id, clock, action number."""
    when = i.deadline or i.stage_started_on or dt.date.max
    return (_STATE_AT[i.state], when, i.id, _WHICH_AT[i.which],
            i.action.n if i.action is not None else 0)  # fmt: skip
