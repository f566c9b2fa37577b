"""Parsing and formatting of dates. All dates are ISO 8601 calendar dates (YYYY-MM-DD)."""

from __future__ import annotations

import datetime as dt
import re

from drp_cli.core.errors import InvalidInput

#: The days drp handles: those its working-day calendar covers (bank holidays 1990-2199).
FIRST_DAY = dt.date(1990, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)

# a value that looks like an attempt at a date is quoted back; anything else (text typed in
# the wrong place, perhaps about a child) is not
_DATE_LIKE = re.compile(r"[0-9./ -]{1,12}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


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
        if not _ISO_DAY.fullmatch(text):  # YYYY-MM-DD only: never an ISO week (2025-W10-1)
            raise ValueError
        day = dt.date.fromisoformat(text)
    except ValueError:
        shown = f" {text!r}" if _DATE_LIKE.fullmatch(text) else ""
        raise InvalidInput(
            f"{what}{shown} is not a real date: use YYYY-MM-DD, e.g. 2025-03-14"
        ) from None
    return check_range(day, what)


def as_day(value: object) -> dt.date | None:
    """A stored or given day as a date: None or "" is None, a moment its date, ISO text
    parsed (ValueError if it is not a date). The one coercion of a day drp has."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def day_or_none(value: object) -> dt.date | None:
    """:func:`as_day` for a value that may not be a day at all (a spreadsheet cell, an
    item's free field): a day drp handles, else None."""
    if isinstance(value, str) and len(value) != 10:
        return None
    try:
        day = as_day(value)
    except (ValueError, TypeError):
        return None
    return day if day is None or FIRST_DAY <= day <= LAST_DAY else None


def iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
