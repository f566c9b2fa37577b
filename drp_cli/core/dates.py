"""Parsing and formatting of dates. Stored and printed dates are ISO 8601 calendar dates
(YYYY-MM-DD); a date a person types may also be day/month/year (02/11/2026, 2/11/2026), as
dates are written in England: never month/day, never a two-digit year."""

from __future__ import annotations

import datetime as dt
import re

from drp_cli.core.errors import InvalidInput

#: The days drp handles: those its working-day calendar covers (bank holidays 1990-2199).
FIRST_DAY = dt.date(1990, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)

# The patterns are compiled on first use (by `re`'s own cache), not at import: a date in
# ISO form, as scripts and the bench give --on, is read without them (issue 32).
# a value that looks like an attempt at a date is quoted back; anything else (text typed in
# the wrong place, perhaps about a child) is not
_DATE_LIKE = r"[0-9./ -]{1,12}"
_ISO_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# day/month/year as typed in England: 02/11/2026, 2/11/2026, 2.11.2026, 02-11-2026
_DMY = r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})"
_DMY_SHORT_YEAR = r"[0-9]{1,2}([/.-])[0-9]{1,2}\1[0-9]{2}"
# three numbers, as a date is written, but in a form drp does not read (2026/11/02 year
# first, 02/11-2026): a date perhaps, but not one drp can read without guessing
_THREE_NUMBERS = r"[0-9]{1,4}[/. -][0-9]{1,2}[/. -][0-9]{1,4}"
#: The forms of a typed date, as errors name them.
DATE_FORMS = "DD/MM/YYYY or YYYY-MM-DD, e.g. 14/03/2025 or 2025-03-14"


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
    """A typed date from 1990-01-01 to 2199-12-31: ISO (2025-03-14) or day/month/year
    (14/03/2025, 4/3/2025; never month/day, never a two-digit year, never an ISO week date
    such as 2025-W10-1), or :class:`InvalidInput` naming ``what`` and the forms accepted (or
    the allowed range): a value written as a date in another form (2026/11/02) is "not in a
    form drp reads", one in these forms that is no day (31/02/2026) "not a real date". The
    one parser of a typed date: every option's."""
    if isinstance(value, dt.datetime):
        return check_range(value.date(), what)
    if isinstance(value, dt.date):
        return check_range(value, what)
    text = value.strip()
    if (  # YYYY-MM-DD (what _ISO_DAY matches), read without a pattern
        len(text) == 10
        and text[4] == text[7] == "-"
        and text.isascii()
        and (text[:4] + text[5:7] + text[8:]).isdigit()
    ):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"{what} {text!r} is not a real date: use {DATE_FORMS}") from None
        return check_range(day, what)
    shown = f" {text!r}" if re.fullmatch(_DATE_LIKE, text) else ""
    if re.fullmatch(_DMY_SHORT_YEAR, text):
        raise InvalidInput(
            f"{what}{shown} has a two-digit year: give the year in full ({DATE_FORMS})"
        )
    try:
        if re.fullmatch(_ISO_DAY, text):  # never an ISO week (2025-W10-1) or ordinal date
            day = dt.date.fromisoformat(text)
        elif m := re.fullmatch(_DMY, text):
            day = dt.date(int(m[4]), int(m[3]), int(m[1]))
        elif re.fullmatch(_THREE_NUMBERS, text):
            raise InvalidInput(f"{what}{shown} is not in a form drp reads: use {DATE_FORMS}")
        else:
            raise ValueError
    except ValueError:
        raise InvalidInput(f"{what}{shown} is not a real date: use {DATE_FORMS}") from None
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


def in_words(value: dt.date | str | None) -> str:
    """A day as people write it, without its weekday: "6 December 2026" (a date of birth,
    a report's period); "-" for none. The report and the documents both say days so."""
    if value is None or value == "":
        return "-"
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return f"{day.day} {day:%B %Y}"
