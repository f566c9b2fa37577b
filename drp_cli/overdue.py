"""The overdue rule of the daily check (`drp overdue`): pure, no database.

A concern has three deadlines, each with a kind (:mod:`drp_cli.lifecycle` stores them): the
current stage's (``firm`` or ``aim``), the next step due inside the stage (``firm`` or
``aim``) and the whole formal process's (``firm`` or ``guidance``). A deadline is passed on day
X when at least one working day lies after it, up to and including X
(:mod:`drp_cli.calendar`). Of the deadlines passed, the most binding decides the line:

* a firm one: ``overdue`` (and the check's exit status 1);
* else the IRO Handbook's guidance: ``past-guidance``;
* else an aim: ``past-aim`` (the source aims for it; the IRO may extend it with a reason).

The store reads only the open concerns whose deadlines fall on or before the horizon (through
the status and deadline indexes), so no event and no protocol is read; working days are
counted once per distinct deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple

from drp_cli.calendar import WorkingCalendar
from drp_cli.errors import InvalidInput, fld

MAX_WITHIN = 260  # working days: about a year
#: the most binding kind first; a row written before kinds existed counts as firm
RANK = {"firm": 0, None: 0, "guidance": 1, "aim": 2}
STATES = ("overdue", "past-guidance", "past-aim", "due")


class OverdueItem(NamedTuple):
    """One line of the daily check (a named tuple: tens of thousands are made at once)."""

    id: int
    child: str
    protocol: str
    stage: str
    state: Literal["overdue", "past-guidance", "past-aim", "due"]
    deadline: dt.date  # earliest passed deadline of the most binding kind, or the next due
    which: str  # "stage", "step", "formal", or two or three of them joined by " and "
    working_days_overdue: int
    working_days_left: int
    responded: bool
    timescale: str  # "firm", "aim" or "guidance": how binding that deadline is
    step: str | None  # the step due, when "step" is in ``which``

    def to_dict(self) -> dict[str, Any]:
        """The shape `drp overdue --json` prints (documented in the README)."""
        return {
            "id": self.id,
            "child": self.child,
            "protocol": self.protocol,
            "stage": self.stage,
            "state": self.state,
            "deadline": self.deadline.isoformat(),
            "which": self.which,
            "working_days_overdue": self.working_days_overdue,
            "working_days_left": self.working_days_left,
            "responded": self.responded,
            "timescale": self.timescale,
            "step": self.step,
        }


def check_within(within: int) -> None:
    if not 0 <= within <= MAX_WITHIN:
        raise InvalidInput(f"{fld('within')} must be from 0 to {MAX_WITHIN} working days")


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def horizon(cal: WorkingCalendar, day: dt.date, within: int = 0) -> dt.date:
    """The last day whose deadlines the check reads: ``day``, or ``within`` working days on."""
    check_within(within)
    return cal.add(day, within) if within else day


def _kind(value: str | None) -> str:
    return value or "firm"


def overdue_items(
    rows: Iterable[Sequence[Any]], cal: WorkingCalendar, day: dt.date, within: int = 0
) -> list[OverdueItem]:
    """The overdue rule. ``rows`` are the open concerns with a deadline on or before
    :func:`horizon` (id, child, protocol, stage, stage deadline, formal deadline, responded
    at the current stage, stage deadline kind, formal deadline kind, step, step deadline,
    step deadline kind). Returns those with a deadline passed on ``day``, the most binding
    first, earliest first; with ``within`` > 0, then those due within that many working
    days."""
    limit = horizon(cal, day, within)
    rows = list(rows)
    # deadlines repeat across concerns: convert and count each distinct one once
    dates: dict[Any, Any] = {None: None}  # the stored value -> its date
    lateness: dict[Any, int] = {None: 0}
    for value in {v for row in rows for v in (row[4], row[5], row[10])}:
        d = dates[value] = _as_date(value)
        lateness[value] = cal.working_days_overdue(d, day) if d is not None and d < day else 0
    items: list[OverdueItem] = []
    for row in rows:
        (cid, child, protocol, stage, stage_v, formal_v, responded,
         stage_k, formal_k, step, step_v, step_k) = row  # fmt: skip
        named = (
            ("stage", stage_v, stage_k),
            ("step", step_v, step_k),
            ("formal", formal_v, formal_k),
        )
        late = [(n, v, k) for n, v, k in named if lateness[v]]
        if late:
            rank = min(RANK.get(k, 0) for _, _, k in late)
            worst = [(n, v, k) for n, v, k in late if RANK.get(k, 0) == rank]
            kind = _kind(worst[0][2])
            state = "overdue" if kind == "firm" else f"past-{kind}"
            items.append(OverdueItem(
                cid, child, protocol, stage, state,  # type: ignore[arg-type]
                min(dates[v] for _, v, _ in worst), " and ".join(n for n, _, _ in worst),
                max(lateness[v] for _, v, _ in worst), 0, responded is not None, kind,
                step if any(n == "step" for n, _, _ in worst) else None,
            ))  # fmt: skip
            continue
        if not within:
            continue
        upcoming = [(n, dates[v], k) for n, v, k in named if v is not None and dates[v] <= limit]
        if upcoming:
            nearest = min(d for _, d, _ in upcoming)
            due = [(n, k) for n, d, k in upcoming if d == nearest]
            kind = _kind(min((k for _, k in due), key=lambda k: RANK.get(k, 0)))
            left = cal.working_days_between(day, nearest)
            items.append(OverdueItem(
                cid, child, protocol, stage, "due", nearest, " and ".join(n for n, _ in due),
                0, left, responded is not None, kind,
                step if any(n == "step" for n, _ in due) else None,
            ))  # fmt: skip
    items.sort(key=lambda i: (STATES.index(i.state), i.deadline, i.id))
    return items
