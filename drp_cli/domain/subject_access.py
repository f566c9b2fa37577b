"""When the answer to a subject access request is due (UK GDPR Art. 12(3), as the ICO's
guidance on the right of access counts it).

* The time limit runs from the day the request is received, whether or not that is a
  working day, to the **corresponding calendar date** one month later (received 3
  September: due 3 October).
* Where the next month has no corresponding date (received 31 January: February has no
  31st), the answer is due on the **last day of that month** (28 or 29 February).
* Where that day is a weekend or a bank holiday, the answer is due on the **next working
  day**. England and Wales bank holidays count; a council's own closure days do not (they
  are not public holidays, and the limit is the law's, not the council's).
* The limit may be **extended by a further two months** where the request is complex or
  one of several from the person; the person must be told within the first month. The
  extended limit is counted the same way, three months from receipt.

Pure functions: dates in, dates out; :class:`~drp_cli.domain.calendar.WorkingCalendar`
says which days are working days.
"""

from __future__ import annotations

import calendar as _months
import datetime as dt

from drp_cli.domain.calendar import WorkingCalendar

#: The months the answer is due in, from receipt: one; three once extended (one + two).
MONTHS = 1
EXTENDED_MONTHS = 3


def corresponding_date(received: dt.date, months: int) -> dt.date:
    """The date ``months`` calendar months after ``received``: the same day of the month,
    or the last day of that month when it has no such day (31 January + 1 month: 28 or 29
    February)."""
    index = received.year * 12 + (received.month - 1) + months
    year, month = divmod(index, 12)
    last = _months.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(received.day, last))


def working_day_on_or_after(day: dt.date, cal: WorkingCalendar) -> dt.date:
    """``day`` itself if it is a working day, else the first working day after it."""
    return day if cal.is_working_day(day) else cal.next_working_day(day)


def due_date(received: dt.date, cal: WorkingCalendar, *, extended: bool = False) -> dt.date:
    """When the answer to a request received on ``received`` is due: one calendar month
    (three when ``extended``) to the corresponding date, moved to the next working day if
    that is not one."""
    months = EXTENDED_MONTHS if extended else MONTHS
    return working_day_on_or_after(corresponding_date(received, months), cal)


def bank_holiday_calendar() -> WorkingCalendar:
    """The calendar a subject access limit is counted on: weekends and England and Wales
    bank holidays, no local closure days."""
    return WorkingCalendar()


def days_words(n: int) -> str:
    """``n`` calendar days, in words (a subject access limit counts calendar days)."""
    return f"{n} day{'s' if n != 1 else ''}"


def due_words(days_left: int) -> str:
    """A request's state on the day judged, from the calendar days left to its due date
    (negative: passed by that many): "OVERDUE 3 days", "due today", "due in 5 days"."""
    if days_left < 0:
        return f"OVERDUE {days_words(-days_left)}"
    return "due today" if days_left == 0 else f"due in {days_words(days_left)}"
