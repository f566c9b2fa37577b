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

**Tamper evidence.** The requests keep a hash chain of their own (schema 0013,
:mod:`drp_cli.store.sarsql`): every write to a request (received, extended, sent, removed
by a purge) appends a link naming the request's id, what happened, and the digest of the
request's whole row as it then stood (:func:`row_digest`, salted with the row's own random
``salt``, so once a purge deletes the row nothing left can be matched to a reference).
Each link's hash covers that and the link before it (:func:`link_hash`), in the canonical
JSON of the record's chain (:mod:`drp_cli.domain.chain`); keyed mode seals each with the
chain's HMAC. The rules are spelled here with the standard library alone: the morning
check loads this module and must not load the chain's.
"""

from __future__ import annotations

import calendar as _months
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from drp_cli.core.dates import FIRST_DAY, LAST_DAY
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


class DueDateOutOfRange(ValueError):
    """The answer to a request received on this day would be due past drp's last day
    (:data:`~drp_cli.core.dates.LAST_DAY`), where the calendar has no bank holidays: a
    received day drp never writes (it refuses a day in the future)."""

    def __init__(self, received: dt.date) -> None:
        super().__init__(f"a request received on {received.isoformat()} is due past "
                         f"{LAST_DAY.isoformat()}, the calendar's last day")  # fmt: skip
        self.received = received


def working_day_on_or_after(day: dt.date, cal: WorkingCalendar) -> dt.date:
    """``day`` itself if it is a working day, else the first working day after it."""
    return day if cal.is_working_day(day) else cal.next_working_day(day)


def due_date(received: dt.date, cal: WorkingCalendar, *, extended: bool = False) -> dt.date:
    """When the answer to a request received on ``received`` is due: one calendar month
    (three when ``extended``) to the corresponding date, moved to the next working day if
    that is not one. :class:`DueDateOutOfRange` when that day is past
    :data:`~drp_cli.core.dates.LAST_DAY` (or ``received`` outside drp's days)."""
    months = EXTENDED_MONTHS if extended else MONTHS
    if not FIRST_DAY <= received <= LAST_DAY:
        raise DueDateOutOfRange(received)
    day = corresponding_date(received, months)
    try:  # the calendar knows the bank holidays of drp's days only
        due = working_day_on_or_after(day, cal) if day <= LAST_DAY else None
    except ValueError:
        due = None
    if due is None or due > LAST_DAY:
        raise DueDateOutOfRange(received)
    return due


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


# -- tamper evidence -----------------------------------------------------------------------
#: The columns of a request a link's row digest covers (every column but the id, which the
#: link names itself), in the table's order.
ROW_FIELDS = ("child", "received_on", "recorded_by", "recorded_at", "extended_on",
              "extended_by", "extension_reason", "sent_on", "sent_by", "salt")  # fmt: skip
#: What a link records of a request: received (``--received``), extended, sent, removed
#: (by a purge: the row is gone), linked (a request recorded before schema 0013, linked
#: as it stood by the upgrade), and repointed (its reference moved with the concern's, amended
#: or redacted).
CHANGES = ("received", "extended", "sent", "removed", "linked", "repointed")
ENTRY = "subject-access"
#: :data:`drp_cli.domain.chain._ENCODE`'s definition (the record's canonical JSON).
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_DAYS = ("received_on", "extended_on", "sent_on")


def _canon(name: str, value: Any) -> Any:
    """A stored value as the digest writes it, whichever engine or driver read it: a day as
    ISO text, a moment as UTC with microseconds and no offset (as the chain writes one). A
    value drp never wrote (a day or moment that is none, bytes) is written as its ``repr``:
    it can never give the digest a row drp wrote gives."""
    try:
        if value is None:
            return None
        if name in _DAYS:
            if isinstance(value, dt.datetime):
                return repr(value)
            day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
            return day.isoformat()
        if name == "recorded_at":
            at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
            if at.tzinfo is not None:
                at = at.astimezone(dt.UTC).replace(tzinfo=None)
            return at.isoformat(timespec="microseconds")
        if isinstance(value, str):
            return value
    except (TypeError, ValueError, OverflowError):
        pass
    return repr(value)


def row_digest(request_id: int, row: Mapping[str, Any]) -> str:
    """The SHA-256 of a request's row (:data:`ROW_FIELDS` and its id), in canonical JSON."""
    data = {name: _canon(name, row.get(name)) for name in ROW_FIELDS}
    data["id"] = request_id
    return hashlib.sha256(_ENCODE(data).encode("utf-8")).hexdigest()


def link_json(link: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """A link of the requests' chain as canonical JSON (``"entry": "subject-access"``): the
    request's id, the change, the row's digest (None once removed), its position and the
    hash before it."""
    return _ENCODE(
        {
            "chain_seq": chain_seq,
            "change": link["change"],
            "entry": ENTRY,
            "prev_hash": prev_hash,
            "request_id": link["request_id"],
            "row_digest": link["row_digest"],
        }
    )


def link_hash(link: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    return hashlib.sha256(link_json(link, chain_seq, prev_hash).encode("utf-8")).hexdigest()
