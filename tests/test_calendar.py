"""Working-day arithmetic: hand-worked cases and properties checked against a brute force."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drp_cli.domain.calendar import WorkingCalendar

D = dt.date
CAL = WorkingCalendar()


@pytest.mark.parametrize(
    ("start", "n", "expected", "why"),
    [
        # Mon 3 Mar 2025 + 5: Tue..Fri is 4, Mon 10 is the 5th. D itself is not counted.
        (D(2025, 3, 3), 5, D(2025, 3, 10), "plain week"),
        # Fri + 1 skips the weekend.
        (D(2025, 3, 7), 1, D(2025, 3, 10), "weekend"),
        # Starting on a Saturday: the first working day after it is Monday.
        (D(2025, 3, 8), 1, D(2025, 3, 10), "start on a weekend"),
        # Easter 2025: Good Friday 18 Apr, Easter Monday 21 Apr.
        # Wed 16 Apr + 5: Thu 17 (1), Tue 22 (2), Wed 23 (3), Thu 24 (4), Fri 25 (5).
        (D(2025, 4, 16), 5, D(2025, 4, 25), "Easter"),
        # Christmas 2025: Thu 25 and Fri 26 Dec. Mon 15 Dec + 10: 16-19 (4), 22-24 (7),
        # 29-31 (10).
        (D(2025, 12, 15), 10, D(2025, 12, 31), "Christmas"),
        # Christmas 2021 fell on a weekend: substitute days Mon 27 and Tue 28 Dec, and New
        # Year's Day (Sat 1 Jan 2022) moved to Mon 3 Jan. Thu 23 Dec + 5: Fri 24 (1),
        # Wed 29 (2), Thu 30 (3), Fri 31 (4), Tue 4 Jan (5).
        (D(2021, 12, 23), 5, D(2022, 1, 4), "substitute days"),
        # Platinum Jubilee 2022: Thu 2 and Fri 3 June. Tue 31 May + 5: Wed 1 (1), Mon 6 (2),
        # Tue 7 (3), Wed 8 (4), Thu 9 (5).
        (D(2022, 5, 31), 5, D(2022, 6, 9), "Platinum Jubilee"),
        # State funeral, Mon 19 Sep 2022. Fri 16 Sep + 1 is Tue 20 Sep.
        (D(2022, 9, 16), 1, D(2022, 9, 20), "state funeral"),
        # Early May and Spring bank holidays 2025 (5 and 26 May): Fri 25 Apr + 20.
        (D(2025, 4, 25), 20, D(2025, 5, 27), "two May bank holidays"),
    ],
)
def test_add_hand_worked(start, n, expected, why):
    assert CAL.add(start, n) == expected, why


def test_closure_days_move_deadlines():
    # The council closes 29-31 Dec 2025; with Christmas and New Year's Day (Thu 1 Jan 2026)
    # Mon 15 Dec + 10 becomes: 16-19 (4), 22-24 (7), Fri 2 Jan (8), Mon 5 (9), Tue 6 (10).
    closed = WorkingCalendar([D(2025, 12, 29), D(2025, 12, 30), D(2025, 12, 31)])
    assert closed.add(D(2025, 12, 15), 10) == D(2026, 1, 6)
    assert not closed.is_working_day(D(2025, 12, 30))
    assert CAL.is_working_day(D(2025, 12, 30))


def test_overdue_rule():
    # Deadline Fri 7 Mar 2025: in time on the day and over the weekend, 1 day late on Monday.
    deadline = D(2025, 3, 7)
    assert CAL.working_days_overdue(deadline, D(2025, 3, 7)) == 0
    assert CAL.working_days_overdue(deadline, D(2025, 3, 8)) == 0
    assert CAL.working_days_overdue(deadline, D(2025, 3, 9)) == 0
    assert CAL.working_days_overdue(deadline, D(2025, 3, 10)) == 1
    assert CAL.working_days_overdue(deadline, D(2025, 3, 14)) == 5
    # Deadline Thu 17 Apr 2025: Good Friday and Easter Monday do not count.
    assert CAL.working_days_overdue(D(2025, 4, 17), D(2025, 4, 21)) == 0
    assert CAL.working_days_overdue(D(2025, 4, 17), D(2025, 4, 22)) == 1


def test_working_days_in_and_year_growth():
    days = CAL.working_days_in(D(2025, 12, 22), D(2026, 1, 2))
    assert days == [
        D(2025, 12, 22), D(2025, 12, 23), D(2025, 12, 24), D(2025, 12, 29),
        D(2025, 12, 30), D(2025, 12, 31), D(2026, 1, 2),
    ]  # fmt: skip
    # the table grows on demand, backwards and forwards
    fresh = WorkingCalendar()
    assert fresh.add(D(2030, 1, 1), 1) == D(2030, 1, 2)
    assert fresh.add(D(1999, 12, 24), 1) == D(1999, 12, 29)  # 27, 28 Dec 1999 substitutes
    # 600 working days: 2 years and 4 months of weekdays less 2030-2032's bank holidays
    assert fresh.add(D(2030, 6, 3), 600) == D(2032, 10, 13)


def test_add_rejects_nonpositive():
    with pytest.raises(ValueError):
        CAL.add(D(2025, 1, 1), 0)


# -- properties -----------------------------------------------------------------------------
_ENG = holidays.country_holidays("GB", subdiv="ENG", years=range(2015, 2036))


def naive_is_working(day: dt.date, closures: frozenset[dt.date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in _ENG and day not in closures


def naive_add(day: dt.date, n: int, closures: frozenset[dt.date] = frozenset()) -> dt.date:
    while n:
        day += dt.timedelta(days=1)
        if naive_is_working(day, closures):
            n -= 1
    return day


dates = st.dates(min_value=D(2016, 1, 1), max_value=D(2033, 12, 31))
counts = st.integers(min_value=1, max_value=60)
closure_sets = st.frozensets(
    st.dates(min_value=D(2016, 1, 1), max_value=D(2034, 6, 30)), max_size=30
)


@settings(max_examples=300, deadline=None)
@given(day=dates, n=counts, closures=closure_sets)
def test_add_matches_brute_force(day, n, closures):
    cal = WorkingCalendar(closures)
    result = cal.add(day, n)
    assert result == naive_add(day, n, closures)
    assert result > day
    assert cal.is_working_day(result)
    assert cal.working_days_between(day, result) == n


@settings(max_examples=200, deadline=None)
@given(day=dates, a=counts, b=counts)
def test_add_composes(day, a, b):
    assert CAL.add(CAL.add(day, a), b) == CAL.add(day, a + b)


@settings(max_examples=200, deadline=None)
@given(d1=dates, d2=dates, n=counts)
def test_add_is_monotonic(d1, d2, n):
    lo, hi = sorted((d1, d2))
    assert CAL.add(lo, n) <= CAL.add(hi, n)


@settings(max_examples=200, deadline=None)
@given(deadline=dates, gap=st.integers(min_value=-10, max_value=40))
def test_overdue_iff_a_working_day_follows_the_deadline(deadline, gap):
    on = deadline + dt.timedelta(days=gap)
    expected = sum(
        1 for k in range(1, gap + 1) if naive_is_working(deadline + dt.timedelta(days=k))
    )
    assert CAL.working_days_overdue(deadline, on) == expected
    assert (CAL.working_days_overdue(deadline, on) >= 1) == any(
        naive_is_working(deadline + dt.timedelta(days=k)) for k in range(1, gap + 1)
    )


def test_bank_holiday_cache(tmp_path, monkeypatch):
    import json
    import stat

    from drp_cli.domain import calendar

    monkeypatch.setenv("DRP_CACHE", str(tmp_path))
    calendar._cached_table.cache_clear()
    calendar.bank_holidays.cache_clear()
    try:
        assert D(2025, 12, 26) in calendar.bank_holidays(2025)
        path = tmp_path / "bank-holidays.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        data = json.loads(path.read_text())
        assert "2025-04-18" in data["years"]["2025"]
        # a cache written for another version of `holidays` is rebuilt, not trusted
        data["stamp"] = "other"
        data["years"]["2025"] = []
        path.write_text(json.dumps(data))
        calendar._cached_table.cache_clear()
        calendar.bank_holidays.cache_clear()
        assert D(2025, 12, 26) in calendar.bank_holidays(2025)
        path.write_text("not json")  # a broken cache is ignored
        calendar._cached_table.cache_clear()
        calendar.bank_holidays.cache_clear()
        assert D(2025, 12, 26) in calendar.bank_holidays(2025)
        assert D(2060, 12, 25) in calendar.bank_holidays(2060)  # outside the cached years
    finally:
        calendar._cached_table.cache_clear()
        calendar.bank_holidays.cache_clear()
