"""The overdue rule of the daily check (`drp overdue`): pure, no database.

A concern is overdue on day X when at least one working day lies after its stage deadline or
its formal deadline, up to and including X (:mod:`drp_cli.calendar`). The store reads only
the open concerns whose deadlines fall on or before the horizon (through the status and
deadline indexes; the deadlines were stored by the lifecycle rule when the events were
written, with the date of the latest response at the current stage), so no event is read;
working days are counted once per distinct deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple

from drp_cli.calendar import WorkingCalendar
from drp_cli.errors import InvalidInput, fld

MAX_WITHIN = 260  # working days: about a year


class OverdueItem(NamedTuple):
    """One line of the daily check (a named tuple: tens of thousands are made at once)."""

    id: int
    child: str
    protocol: str
    stage: str
    state: Literal["overdue", "due"]
    deadline: dt.date  # earliest breached deadline (overdue) or the next one due
    which: str  # "stage", "formal" or "stage and formal"
    working_days_overdue: int
    working_days_left: int
    responded: bool

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


def overdue_items(
    rows: Iterable[Sequence[Any]], cal: WorkingCalendar, day: dt.date, within: int = 0
) -> list[OverdueItem]:
    """The overdue rule. ``rows`` are the open concerns whose stage or formal deadline falls
    on or before :func:`horizon` (id, child, protocol, stage, deadline, formal deadline,
    responded at the current stage). Returns those with a deadline breached on ``day``,
    earliest first; with ``within`` > 0, then those due within that many working days."""
    limit = horizon(cal, day, within)
    rows = list(rows)
    # deadlines repeat across concerns: convert and count each distinct one once
    dates: dict[Any, Any] = {None: None}  # the stored value -> its date
    lateness: dict[Any, int] = {None: 0}
    for value in {v for row in rows for v in (row[4], row[5])}:
        d = dates[value] = _as_date(value)
        lateness[value] = cal.working_days_overdue(d, day) if d is not None and d < day else 0
    items: list[OverdueItem] = []
    for cid, child, protocol, stage, stage_v, formal_v, responded in rows:
        stage_late, formal_late = lateness[stage_v], lateness[formal_v]
        if stage_late or formal_late:
            if stage_late and formal_late:
                deadline = min(dates[stage_v], dates[formal_v])
                which = "stage and formal"
            elif stage_late:
                deadline, which = dates[stage_v], "stage"
            else:
                deadline, which = dates[formal_v], "formal"
            late = max(stage_late, formal_late)
            items.append(OverdueItem(cid, child, protocol, stage, "overdue", deadline, which, late,
                                     0, responded is not None))  # fmt: skip
            continue
        if not within:
            continue
        upcoming = [
            (name, d)
            for name, d in (("stage", dates[stage_v]), ("formal", dates[formal_v]))
            if d is not None and d <= limit
        ]
        if upcoming:
            nearest = min(d for _, d in upcoming)
            which = " and ".join(n for n, d in upcoming if d == nearest)
            left = cal.working_days_between(day, nearest)
            items.append(OverdueItem(cid, child, protocol, stage, "due", nearest, which, 0,
                                     left, responded is not None))  # fmt: skip
    items.sort(key=lambda i: (i.state != "overdue", i.deadline, i.id))
    return items
