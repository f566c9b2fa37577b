"""Bank holidays in every year drp accepts (issue 29 item 18): the `holidays` package stops
at 2100, drp's dates go to 2199."""

from __future__ import annotations

import datetime as dt

from drp_cli.core.dates import FIRST_DAY, LAST_DAY
from drp_cli.domain import calendar
from drp_cli.domain.calendar import MAX_YEAR, WorkingCalendar, bank_holiday_names, bank_holidays

D = dt.date


def test_calendar_holidays_2150_lists_the_year(drp):
    r = drp("calendar", "holidays", "2150")
    assert (r.exit_code, r.stdout) == (0, (
        "2150-01-01 Thu  New Year's Day\n"
        "2150-04-10 Fri  Good Friday\n"
        "2150-04-13 Mon  Easter Monday\n"
        "2150-05-04 Mon  May Day\n"
        "2150-05-25 Mon  Spring Bank Holiday\n"
        "2150-08-31 Mon  Late Summer Bank Holiday\n"
        "2150-12-25 Fri  Christmas Day\n"
        "2150-12-26 Sat  Boxing Day\n"
        "2150-12-28 Mon  Boxing Day (observed)\n"
    ))  # fmt: skip


def test_every_year_drp_accepts_has_its_bank_holidays():
    assert (FIRST_DAY.year, LAST_DAY.year) == (calendar.MIN_YEAR, MAX_YEAR) == (1990, 2199)
    for year in range(calendar.MIN_YEAR, MAX_YEAR + 1):
        days = bank_holidays(year)
        names = set(bank_holiday_names(year).values())
        assert {D(year, 1, 1), D(year, 12, 25), D(year, 12, 26)} <= days, year
        assert {"Good Friday", "Easter Monday", "Late Summer Bank Holiday"} <= names, year
        assert len(days) >= 8, year


def test_working_days_after_2100_skip_the_bank_holidays():
    cal = WorkingCalendar()
    # Christmas Day 2150 is a Friday, Boxing Day a Saturday, observed on Monday the 28th
    assert cal.add(D(2150, 12, 24), 1) == D(2150, 12, 29)
    assert not cal.is_working_day(D(2199, 4, 15))  # Easter Monday 2199
    assert cal.working_days_between(D(2199, 12, 24), D(2199, 12, 31)) == 3


def test_a_cache_from_before_the_rules_reached_2199_is_rebuilt(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("DRP_CACHE", str(tmp_path))
    calendar._cached_table.cache_clear()
    calendar.bank_holidays.cache_clear()
    try:
        bank_holidays(2025)
        path = tmp_path / "bank-holidays.json"
        data = json.loads(path.read_text())
        assert data["stamp"].endswith(":to-2199")
        # a cache stamped as an earlier drp stamped it (the package alone) is not trusted
        data["stamp"] = data["stamp"].rpartition(":")[0]
        data["years"]["2025"] = []
        path.write_text(json.dumps(data))
        calendar._cached_table.cache_clear()
        calendar.bank_holidays.cache_clear()
        assert D(2025, 12, 25) in bank_holidays(2025)
    finally:
        calendar._cached_table.cache_clear()
        calendar.bank_holidays.cache_clear()
