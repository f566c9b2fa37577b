"""Parsing and formatting of dates. All dates are ISO 8601 calendar dates (YYYY-MM-DD)."""

from __future__ import annotations

import datetime as dt

from drp_cli.errors import InvalidInput


def today() -> dt.date:
    """The local calendar date: the default for every ``--on``."""
    return dt.date.today()


def parse_date(value: str | dt.date, what: str = "date") -> dt.date:
    """Parse an ISO date, or raise :class:`InvalidInput` naming ``what`` and the format."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = value.strip()
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{what} {text!r} is not a real date: use YYYY-MM-DD, e.g. 2025-03-14"
        ) from None


def iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
