"""Parsing and formatting of dates. All dates are ISO 8601 calendar dates (YYYY-MM-DD)."""

from __future__ import annotations

import datetime as dt
import re

from drp_cli.errors import InvalidInput

#: The days drp handles: those its working-day calendar covers (bank holidays 1990-2199).
FIRST_DAY = dt.date(1990, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)

# a value that looks like an attempt at a date is quoted back; anything else (text typed in
# the wrong place, perhaps about a child) is not
_DATE_LIKE = re.compile(r"[0-9./ -]{1,12}")


def today() -> dt.date:
    """The local calendar date: the default for every ``--on``."""
    return dt.date.today()


def check_range(day: dt.date, what: str = "date") -> dt.date:
    """``day``, or :class:`InvalidInput` if it is outside the dates drp handles."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(
            f"{what} {day.isoformat()} is outside the dates drp handles: use a date from "
            f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
        )
    return day


def parse_date(value: str | dt.date, what: str = "date") -> dt.date:
    """Parse an ISO date from 1990-01-01 to 2199-12-31, or raise :class:`InvalidInput`
    naming ``what`` and the format (or the allowed range)."""
    if isinstance(value, dt.datetime):
        return check_range(value.date(), what)
    if isinstance(value, dt.date):
        return check_range(value, what)
    text = value.strip()
    try:
        if len(text) != 10:
            raise ValueError
        day = dt.date.fromisoformat(text)
    except ValueError:
        shown = f" {text!r}" if _DATE_LIKE.fullmatch(text) else ""
        raise InvalidInput(
            f"{what}{shown} is not a real date: use YYYY-MM-DD, e.g. 2025-03-14"
        ) from None
    return check_range(day, what)


def iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
