"""Issue 32: the bank holiday cache's days are made dates a year at a time, when that year
is asked for; a year the cache holds badly is worked out afresh, never trusted or fatal."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from drp_cli.domain import calendar


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DRP_CACHE", str(tmp_path))
    calendar._cached_table.cache_clear()
    calendar.bank_holidays.cache_clear()
    calendar.bank_holidays(2025)  # writes the cache
    calendar._cached_table.cache_clear()
    calendar.bank_holidays.cache_clear()
    yield tmp_path / "bank-holidays.json"
    calendar._cached_table.cache_clear()
    calendar.bank_holidays.cache_clear()


def test_every_cached_year_reads_as_the_package_says(cache):
    for year in calendar._CACHE_YEARS:
        assert calendar.bank_holidays(year) == calendar._compute(year), year
    # read from the file, kept as text until asked for
    assert isinstance(calendar._cached_table()[2031], list)


@pytest.mark.parametrize("bad", [["2025-13-01"], [7], "2025-12-25", None])
def test_a_year_held_badly_is_worked_out_afresh(cache, bad):
    data = json.loads(cache.read_text())
    data["years"]["2025"] = bad
    cache.write_text(json.dumps(data))
    assert dt.date(2025, 12, 26) in calendar.bank_holidays(2025)
    assert calendar.bank_holidays(2025) == calendar._compute(2025)
    assert calendar.bank_holidays(2026) == calendar._compute(2026)


def test_a_cache_missing_a_year_is_rebuilt(cache):
    data = json.loads(cache.read_text())
    del data["years"]["2030"]
    cache.write_text(json.dumps(data))
    assert calendar.bank_holidays(2030) == calendar._compute(2030)
    assert "2030" in json.loads(cache.read_text())["years"]


@pytest.mark.parametrize(
    ("first", "last", "closures"),
    [
        (2025, 2028, []),
        (1990, 1993, [dt.date(1990, 1, 1), dt.date(1990, 1, 6)]),
        (2196, 2199, [dt.date(2199, 12, 31)]),
        (2024, 2027, [dt.date(2025, 12, 29), dt.date(2025, 12, 27), dt.date(2024, 1, 1)]),
    ],
)
def test_the_table_of_working_days_is_every_weekday_not_closed(first, last, closures):
    cal = calendar.WorkingCalendar(closures)
    cal._build(first, last)
    closed = set(closures)
    for year in range(first, last + 1):
        closed |= calendar.bank_holidays(year)
    shut = {d.toordinal() for d in closed}
    start, end = dt.date(first, 1, 1).toordinal(), dt.date(last, 12, 31).toordinal()
    assert cal._days == [o for o in range(start, end + 1) if (o - 1) % 7 < 5 and o not in shut]
