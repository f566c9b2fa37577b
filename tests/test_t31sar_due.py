"""When a subject access request must be answered: one calendar month to the corresponding
date (the last day of the month where there is none), moved to the next working day
(England and Wales bank holidays); three months once extended. Every date here is worked
by hand from a calendar; the comments say why."""

from __future__ import annotations

import datetime as dt

import pytest

from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.subject_access import (
    bank_holiday_calendar,
    corresponding_date,
    due_date,
)

D = dt.date


@pytest.mark.parametrize(
    ("received", "months", "corresponding"),
    [
        (D(2026, 9, 3), 1, D(2026, 10, 3)),  # the ICO's own example: 3 Sept -> 3 Oct
        (D(2027, 1, 31), 1, D(2027, 2, 28)),  # no 31 February: its last day
        (D(2028, 1, 31), 1, D(2028, 2, 29)),  # 2028 is a leap year
        (D(2027, 3, 31), 1, D(2027, 4, 30)),  # no 31 April
        (D(2026, 12, 31), 1, D(2027, 1, 31)),  # into the next year
        (D(2027, 1, 31), 3, D(2027, 4, 30)),  # extended: three months from receipt
        (D(2026, 11, 30), 3, D(2027, 2, 28)),  # extended, into a short February
        (D(2027, 12, 15), 3, D(2028, 3, 15)),
    ],
)
def test_corresponding_date(received, months, corresponding):
    assert corresponding_date(received, months) == corresponding


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Thu 3 Sept 2026 -> Sat 3 Oct -> Mon 5 Oct
        (D(2026, 9, 3), D(2026, 10, 5)),
        # Sun 31 Jan 2027 (a request received on a Sunday counts from that day) -> Sun 28 Feb
        # (no 31 February) -> Mon 1 March
        (D(2027, 1, 31), D(2027, 3, 1)),
        # Mon 31 Jan 2028 -> Tue 29 Feb 2028, a working day in a leap year
        (D(2028, 1, 31), D(2028, 2, 29)),
        # Fri 26 Feb 2027 -> Fri 26 Mar 2027 is Good Friday; Sat, Sun, Mon 29 Easter Monday
        # -> Tue 30 March
        (D(2027, 2, 26), D(2027, 3, 30)),
        # Wed 25 Nov 2026 -> Fri 25 Dec; Boxing Day is a Saturday, so Mon 28 Dec is its
        # substitute -> Tue 29 December
        (D(2026, 11, 25), D(2026, 12, 29)),
        # Sat 27 Nov 2027 -> Mon 27 Dec 2027 (Christmas Day's substitute), Tue 28 (Boxing
        # Day's) -> Wed 29 December
        (D(2027, 11, 27), D(2027, 12, 29)),
        # Thu 31 Dec 2026 -> Sun 31 Jan 2027 -> Mon 1 February
        (D(2026, 12, 31), D(2027, 2, 1)),
        # Mon 30 Nov 2026 -> Wed 30 Dec 2026: a working day, due that day
        (D(2026, 11, 30), D(2026, 12, 30)),
    ],
)
def test_due_one_month(received, due):
    assert due_date(received, bank_holiday_calendar()) == due


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Sun 31 Jan 2027 + 3 months -> Fri 30 April 2027 (no 31 April), a working day
        (D(2027, 1, 31), D(2027, 4, 30)),
        # Mon 31 Jan 2028 + 3 months -> Sun 30 April 2028; Mon 1 May is the May Day bank
        # holiday -> Tue 2 May 2028
        (D(2028, 1, 31), D(2028, 5, 2)),
        # Mon 30 Nov 2026 + 3 months -> Sun 28 Feb 2027 -> Mon 1 March
        (D(2026, 11, 30), D(2027, 3, 1)),
        # Sun 10 Jan 2027 + 3 months -> Sat 10 Apr 2027 -> Mon 12 April
        (D(2027, 1, 10), D(2027, 4, 12)),
    ],
)
def test_due_extended(received, due):
    assert due_date(received, bank_holiday_calendar(), extended=True) == due


def test_a_local_closure_day_moves_the_date_only_on_a_calendar_that_has_it():
    # Wed 30 Dec 2026 is due for a request of Mon 30 Nov; the limit is the law's: the
    # subject access calendar has no local closures, so it stays
    assert bank_holiday_calendar().closures == frozenset()
    assert due_date(D(2026, 11, 30), bank_holiday_calendar()) == D(2026, 12, 30)
    closed = WorkingCalendar([D(2026, 12, 30), D(2026, 12, 31)])
    assert due_date(D(2026, 11, 30), closed) == D(2027, 1, 4)  # Fri 1 Jan is a bank holiday
