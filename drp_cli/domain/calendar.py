"""Working-day arithmetic for England.

A *working day* is a Monday to Friday that is neither an England & Wales bank holiday
(the ``holidays`` package, country GB, subdivision ENG, substitute days included) nor a
local closure day that the user has added (councils often close between Christmas and
New Year).

The ``holidays`` package stops at 2100; drp's days go to 2199 (``core.dates.LAST_DAY``),
so its rules (the fixed days, Easter, the first and last Mondays, substitute days) are
carried on to :data:`MAX_YEAR`: every year drp accepts has its bank holidays. A one-off
holiday (a jubilee, a coronation) is known only once the package knows it.

The rules ``drp`` applies, as the source protocols use them:

* "within N working days of D" means **the Nth working day after D**: D itself is never
  counted, whether or not it is a working day. ``add(D, N)`` returns that day.
* A deadline day is still in time.
* A concern is **overdue on day X** when at least one working day lies after its deadline,
  up to and including X. ``working_days_between(deadline, X)`` counts those days, so a
  deadline on a Friday is not overdue on the Saturday or Sunday, and is 1 working day
  overdue on the Monday (if that Monday is a working day).

The implementation keeps a sorted table of working-day ordinals and answers with
``bisect``, so no holiday lookup happens inside a loop; the table grows a year at a time
when a date outside it is asked for.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from functools import lru_cache
from itertools import compress, cycle
from pathlib import Path

from drp_cli.core.dates import FIRST_DAY, LAST_DAY

_WINDOW_BEFORE = 1  # years kept before the first date asked about
_WINDOW_AFTER = 2  # and after it
#: the years the table covers: those of the days drp handles (one bound, in dates.py)
MIN_YEAR = FIRST_DAY.year
MAX_YEAR = LAST_DAY.year


#: Monday to Sunday: which days of a week are working days before holidays and closures.
_WEEK = (True, True, True, True, True, False, False)

_CACHE_YEARS = range(2000, 2051)  # computed together, once per version of `holidays`


#: Changes when the way the table is computed changes, so a cache from before is rebuilt.
_RULES = "to-2199"


def _holidays_stamp() -> str | None:
    """Identifies the installed `holidays` package without importing it (path and mtime)
    and how drp computes from it (:data:`_RULES`)."""
    import importlib.util

    spec = importlib.util.find_spec("holidays")
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin)
    try:
        return f"{origin}:{origin.stat().st_mtime_ns}:{_RULES}"
    except OSError:
        return None


def _cache_file() -> Path:
    from drp_cli.core.files import cache_dir

    return cache_dir() / "bank-holidays.json"


@lru_cache(maxsize=1)
def _cached_table() -> dict[int, frozenset[dt.date] | list[str]]:
    """England & Wales bank holidays for 2000-2050, from a cache file that is rebuilt
    whenever the `holidays` package changes. Importing `holidays` costs ~0.15 s; the cache
    keeps it out of the daily commands. No personal data is in it. The file's days stay
    text until their year is asked for (:func:`bank_holidays` makes that year's dates: a
    command asks for three or four years of the 51, and making them all cost the morning
    check 1.5 M instructions)."""
    stamp = _holidays_stamp()
    path = _cache_file()
    try:
        data = json.loads(path.read_text())
        if stamp is not None and data.get("stamp") == stamp:
            years = {int(year): days for year, days in data["years"].items()}
            if set(_CACHE_YEARS) <= years.keys() and all(
                isinstance(days, list) for days in years.values()
            ):
                return dict(years)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    computed = {year: _compute(year) for year in _CACHE_YEARS}
    if stamp is not None:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(
                json.dumps(
                    {"stamp": stamp,
                     "years": {y: sorted(d.isoformat() for d in days)
                               for y, days in computed.items()}}
                )
            )  # fmt: skip
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written is only slower
    return dict(computed)


@lru_cache(maxsize=1)
def _england() -> type:
    """The ``holidays`` package's United Kingdom calendar, carried on to :data:`MAX_YEAR`
    (the package stops at 2100, and gives an empty year after it)."""
    import holidays  # imported here: only when the cache is cold or the year is outside it

    base = type(holidays.country_holidays("GB", subdiv="ENG"))
    return type("EnglandToMaxYear", (base,), {"end_year": max(base.end_year, MAX_YEAR)})


def _england_in(year: int) -> dict[dt.date, str]:
    return dict(_england()(subdiv="ENG", years=year).items())


def _compute(year: int) -> frozenset[dt.date]:
    return frozenset(_england_in(year))


@lru_cache(maxsize=256)
def bank_holidays(year: int) -> frozenset[dt.date]:
    """England & Wales bank holidays of one year, substitute ("observed") days included."""
    if year in _CACHE_YEARS:
        days = _cached_table()[year]
        if isinstance(days, frozenset):
            return days
        try:
            return frozenset(dt.date.fromisoformat(day) for day in days)
        except (TypeError, ValueError):  # a damaged entry in the cache: that year afresh
            pass
    return _compute(year)


def bank_holiday_names(year: int) -> dict[dt.date, str]:
    """England & Wales bank holidays of one year by name (as ``drp calendar holidays``
    lists them), to :data:`MAX_YEAR`."""
    return _england_in(year)


class WorkingCalendar:
    """Weekends, England & Wales bank holidays and the given local closure days."""

    def __init__(self, closures: Iterable[dt.date] = ()) -> None:
        self.closures: frozenset[dt.date] = frozenset(closures)
        self._first_year = 0
        self._last_year = -1
        self._days: list[int] = []  # ordinals of working days, ascending

    # -- the table -------------------------------------------------------------------
    def _ensure(self, year: int) -> None:
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(f"year {year} is outside {MIN_YEAR}-{MAX_YEAR}")
        if self._first_year <= year <= self._last_year:
            return
        if self._last_year < self._first_year:  # empty
            first = max(MIN_YEAR, year - _WINDOW_BEFORE)
            last = min(MAX_YEAR, year + _WINDOW_AFTER)
        else:
            first = min(self._first_year, max(MIN_YEAR, year - _WINDOW_BEFORE))
            last = max(self._last_year, min(MAX_YEAR, year + _WINDOW_AFTER))
        self._build(first, last)

    def _build(self, first: int, last: int) -> None:
        closed: set[dt.date] = set(self.closures)
        for year in range(first, last + 1):
            closed.update(bank_holidays(year))
        start = dt.date(first, 1, 1).toordinal()
        end = dt.date(last, 12, 31).toordinal()
        # date.fromordinal(1) is a Monday, so (ordinal - 1) % 7 gives Monday=0 .. Sunday=6:
        # the weekdays are picked by a repeating week (in C, not a test per day), then the
        # few closed days (holidays, closures) taken out
        monday = (start - 1) % 7
        week = _WEEK[monday:] + _WEEK[:monday]
        days = list(compress(range(start, end + 1), cycle(week)))
        for o in sorted({d.toordinal() for d in closed}, reverse=True):
            i = bisect_left(days, o)
            if i < len(days) and days[i] == o:
                del days[i]
        self._days = days
        self._first_year, self._last_year = first, last

    # -- questions ---------------------------------------------------------------------
    def is_working_day(self, day: dt.date) -> bool:
        self._ensure(day.year)
        o = day.toordinal()
        i = bisect_right(self._days, o)
        return i > 0 and self._days[i - 1] == o

    def add(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``day`` (``day`` itself not counted); n >= 1."""
        if n < 1:
            raise ValueError("n must be at least 1")
        self._ensure(day.year)
        while True:
            i = bisect_right(self._days, day.toordinal()) + n - 1
            if i < len(self._days):
                return dt.date.fromordinal(self._days[i])
            self._ensure(self._last_year + 1)

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day after ``day``."""
        return self.add(day, 1)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie after ``start`` up to and including ``end``.

        Zero when ``end <= start``. ``working_days_between(d, add(d, n)) == n``.
        """
        if end <= start:
            return 0
        self._ensure(start.year)
        self._ensure(end.year)
        return bisect_right(self._days, end.toordinal()) - bisect_right(
            self._days, start.toordinal()
        )

    def working_days_overdue(self, deadline: dt.date, on: dt.date) -> int:
        """Working days by which ``deadline`` is breached on day ``on`` (0: not overdue)."""
        return self.working_days_between(deadline, on)

    def working_days_in(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """Every working day from ``first`` to ``last``, both included."""
        if last < first:
            return []
        self._ensure(first.year)
        self._ensure(last.year)
        lo = bisect_right(self._days, first.toordinal() - 1)
        hi = bisect_right(self._days, last.toordinal())
        return [dt.date.fromordinal(o) for o in self._days[lo:hi]]


def closures_in_force(changes: Iterable[tuple[dt.date, str]]) -> list[dt.date]:
    """The local closure days in force: those whose latest change is an ``add``. ``changes``
    are (day, action) pairs in the order they were made (the order of the chain)."""
    latest: dict[dt.date, str] = {}
    for day, action in changes:
        latest[day] = action
    return sorted(d for d, a in latest.items() if a == "add")
