"""The judgement of a concern on a day: every clock it runs, and the state of each.

Pure: no database, no I/O, no clock of its own. The fold (:mod:`drp_cli.domain.lifecycle`) works out
the deadlines; this module says what they mean on a day, once, for every output: ``drp show``,
``drp overdue``, ``drp list --overdue``, the exports, the forms, the bundle and the report
render what it says and never judge a deadline themselves.

A clock has a start, a due date and a kind, which says how binding it is:

* ``firm``: a limit the protocol sets ("must", "cannot take longer than");
* ``aim``: what the protocol aims for ("aim", "should", "expected"); the IRO may extend it;
* ``guidance``: the IRO Handbook's guidance, quoted by a protocol, not its own limit;
* ``agreed``: a due date the IRO and a manager agreed (a recommended action's).

A clock not yet met is passed on day X when at least one working day lies after its due date,
up to and including X (:meth:`drp_cli.domain.calendar.WorkingCalendar.working_days_overdue`). Its
state on X is then, by kind: ``overdue`` (firm), ``past-aim``, ``past-guidance`` or
``action-overdue`` (agreed). Not passed, it is ``due`` when its due date falls on or before the
horizon of the check (the day itself, or ``within`` working days on), else ``pending``. Only a
passed firm clock makes a concern overdue and the morning check exit 1.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, NamedTuple

from drp_cli.core.dates import day_or_none
from drp_cli.domain.calendar import WorkingCalendar

if TYPE_CHECKING:
    from drp_cli.domain.lifecycle import ConcernState
    from drp_cli.domain.protocols import Protocol

#: how binding each kind is, the most binding first; a deadline stored before kinds existed
#: (None) counts as firm
RANK: dict[str | None, int] = {"firm": 0, None: 0, "guidance": 1, "aim": 2, "agreed": 3}
#: the state of a clock passed and not met, by its kind
PASSED: dict[str, str] = {
    "firm": "overdue",
    "guidance": "past-guidance",
    "aim": "past-aim",
    "agreed": "action-overdue",
}
#: every state an open clock can be in on a day, the most pressing first
OPEN_STATES = ("overdue", "past-guidance", "past-aim", "action-overdue", "due", "pending")


def kind_of(kind: str | None) -> str:
    """A stored kind: None (a row written before kinds existed) is firm."""
    return kind or "firm"


def passed_state(kind: str | None) -> str:
    """The state of a clock of ``kind`` passed and not met."""
    return PASSED[kind_of(kind)]


def working_days_late(cal: WorkingCalendar, due: dt.date, day: dt.date) -> int:
    """Working days by which ``due`` is passed on ``day`` (0: not passed)."""
    return cal.working_days_overdue(due, day) if due < day else 0


class Judged(NamedTuple):
    """An open clock judged on a day (a named tuple: cheap to define and to make)."""

    state: str  # one of OPEN_STATES
    late: int  # working days passed by (0 unless passed)
    left: int  # working days left to the due date (0 when passed or due today)


def judge(
    cal: WorkingCalendar,
    due: dt.date,
    kind: str | None,
    day: dt.date,
    horizon: dt.date | None = None,
) -> Judged:
    """The state on ``day`` of an open clock due on ``due``: passed (by kind), ``due`` (on or
    before ``horizon``, which defaults to ``day``) or ``pending``."""
    late = working_days_late(cal, due, day)
    if late:
        return Judged(passed_state(kind), late, 0)
    left = cal.working_days_between(day, due) if due > day else 0
    return Judged("due" if due <= (horizon or day) else "pending", 0, left)


def passed_by_kind(cal: WorkingCalendar, c: Any, day: dt.date) -> dict[str, int]:
    """Working days each kind of a concern's three stored deadlines (stage, next step, formal
    process) is passed by on ``day``: firm, aim, guidance (the most late of each; 0 when none
    is). ``c`` is anything with the concern row's ``deadline``, ``step_deadline`` and
    ``formal_deadline`` and their ``*_kind`` (a row, a view). Whether the concern is open is
    the caller's to say."""
    passed = {"firm": 0, "aim": 0, "guidance": 0}
    for d, kind in ((c.deadline, c.deadline_kind), (c.step_deadline, c.step_deadline_kind),
                    (c.formal_deadline, c.formal_deadline_kind)):  # fmt: skip
        if d is not None:
            k = kind_of(kind)
            passed[k] = max(passed[k], working_days_late(cal, d, day))
    return passed


def passed_on(cal: WorkingCalendar, c: Any, day: dt.date) -> dict[str, int]:
    """:func:`passed_by_kind` for a concern whose ``status`` is open; a closed concern runs
    no clock: nothing passed (0 for each kind)."""
    if c.status != "open":
        return {"firm": 0, "aim": 0, "guidance": 0}
    return passed_by_kind(cal, c, day)


#: What :func:`voice_missing` says is missing about the child's voice
WISHES_NOT_RECORDED = "child's wishes not recorded"
NOT_TOLD = "child not recorded as told the outcome"


def wishes_state(own: str | None, recorded: bool) -> str | None:
    """The child's wishes as every view shows them: ``sought`` while wishes and feelings are
    ``recorded`` (on any of the child's concerns, and not removed), whatever the concern's
    ``own`` latest record says; otherwise its own (``sought``, ``not-sought`` or None).
    Recorded wishes are the child's voice: a later "not sought" on one concern does not make
    them unsaid."""
    return "sought" if recorded else own


def voice_missing(
    wishes: str | None, status: str, told_outcome: str | None, child_voice: bool = True
) -> list[str]:
    """What is missing about the child's voice (West Sussex DRP, "Child's Voice"), given the
    concern's :func:`wishes_state`, status and record of the child told the outcome; nothing
    on a route that is not about a child's plan (``child_voice`` false: a foster carer's
    review, a chair's practice)."""
    if not child_voice:
        return []
    missing = []
    if wishes is None:
        missing.append(WISHES_NOT_RECORDED)
    if status == "resolved" and told_outcome is None:
        missing.append(NOT_TOLD)
    return missing


class Clock(NamedTuple):
    """One clock a concern runs, judged on a day."""

    which: str  # "stage", "step", "formal" or "action"
    name: str  # the stage's, the step's slug, "formal", or the action's number
    title: str
    start: dt.date | None
    due: dt.date
    kind: str
    state: str
    late: int
    left: int
    quote: str = ""  # the words of the source it rests on, where the protocol quotes them

    def to_dict(self) -> dict[str, Any]:
        return {
            "which": self.which,
            "name": self.name,
            "title": self.title,
            "start": self.start.isoformat() if self.start else None,
            "due": self.due.isoformat(),
            "kind": self.kind,
            "state": self.state,
            "working_days_overdue": self.late,
            "working_days_left": self.left,
            "quote": self.quote,
        }


def clocks(
    state: ConcernState,
    protocol: Protocol | None,
    cal: WorkingCalendar,
    day: dt.date,
    horizon: dt.date | None = None,
) -> list[Clock]:
    """Every clock an open concern runs on ``day`` that is not yet met: the current stage's
    timescale (or the IRO's due date), each timed step of the current stage not yet done,
    the whole formal process's limit, and each recommended action with a due date not done
    and not removed; in the order of their due dates. A closed concern runs none."""
    if state.status != "open" or not state.visits:
        return []
    from drp_cli.domain import lifecycle

    out: list[Clock] = []

    def add(which: str, name: str, title: str, start: dt.date | None, due: dt.date,
            kind: str | None, quote: str = "") -> None:  # fmt: skip
        j = judge(cal, due, kind, day, horizon)
        out.append(Clock(which, name, title, start, due, kind_of(kind), j.state, j.late,
                         j.left, quote))  # fmt: skip

    visit = state.visits[-1]
    stage = (
        protocol.stage_for(visit.stage, state.route)
        if protocol and protocol.has_stage(visit.stage)
        else None
    )
    if visit.deadline is not None:
        quote = stage.timescale_quote if stage is not None and visit.due is None else ""
        add("stage", visit.stage, stage.title if stage else visit.stage, visit.entered,
            visit.deadline, visit.kind, quote or "")  # fmt: skip
    if protocol is not None:
        for s in lifecycle.visit_steps(cal, protocol, visit, state.route):
            if s.done_on is None and s.deadline is not None and not s.step.optional:
                add("step", s.step.slug, s.step.title, s.starts, s.deadline, s.step.kind,
                    s.step.quote)  # fmt: skip
    if state.formal_deadline is not None:
        add("formal", "formal", "the whole formal process", state.formal_started_on,
            state.formal_deadline, state.formal_deadline_kind,
            protocol.formal_cap_quote if protocol is not None else "")  # fmt: skip
    for (kind, n), item in sorted(state.items.items()):
        if kind != "action" or item.done_on is not None or item.removed_on is not None:
            continue
        due = day_or_none(item.data.get("due"))
        if due is not None:
            add("action", str(n), str(item.data.get("text") or ""), item.added_on, due,
                "agreed")  # fmt: skip
    out.sort(key=lambda c: (c.due, RANK.get(c.kind, 0), c.which))
    return out
