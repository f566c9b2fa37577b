"""The audit of reads as a use case (issue 31 item 4): :func:`record_read`, the one call every
reading command makes, and :func:`reads`, what ``drp audit`` lists.

A read is recorded after drp has read what it will show or write and before it shows or
writes any of it, in a short write transaction of its own (one INSERT and the head's
UPDATE). It cannot be turned off: when the row cannot be written (a read-only database, a
role that may not insert, a database busy past the timeout) the command fails (exit 4, or 5
when busy) and shows nothing; the morning check's failure is an error, never an all-clear.

Kept light: ``drp overdue`` records its run, so nothing here loads the tracker, the record,
the fold or the chain's module (the key file is read through the record only in keyed mode).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Container, Iterable
from typing import TYPE_CHECKING, Any

from drp_cli.core import dates
from drp_cli.core.errors import DatabaseBusy, DatabaseError, DatabaseMissing, NotFound, fld
from drp_cli.store import audit, dbfile
from drp_cli.store.connection import Store

if TYPE_CHECKING:
    from drp_cli.services.tracker import Tracker

#: The schema from which the audit of reads exists (migration 0011).
AUDIT_REVISION = "0011"
#: What each reading command is recorded as.
ACTIONS = ("show", "list", "overdue", "alert", "bundle", "export", "backup", "report",
           "subject-access", "audit")  # fmt: skip


def active() -> bool:
    """Whether this drp's schema has the audit (from :data:`AUDIT_REVISION` on)."""
    return dbfile.SCHEMA_REVISION >= AUDIT_REVISION


def reader() -> str:
    """Who is reading, as the audit names them: ``DRP_USER``, else the config file's
    ``name``, else the login name (a system account too, cron's root: a read is recorded as
    whoever made it, never refused for want of a person's name)."""
    from drp_cli.core import config
    from drp_cli.core.textsafe import MAX_REF, clean_line

    chosen = os.environ.get("DRP_USER")
    if chosen is None or not chosen.strip():
        chosen = config.load().name
    if chosen is None or not chosen.strip():
        chosen = config.login_name()
    if chosen is None:  # no login name here, or not UTF-8 text: the account's number
        chosen = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return clean_line(chosen, fld("by"), MAX_REF * 2)


def _key(source: Tracker | Store) -> bytes | None:
    if not isinstance(source, Store):
        return source.key
    if not os.environ.get("DRP_KEY_FILE"):
        return None
    from drp_cli.store.record import key_from_env  # keyed mode only: the record's key file

    return key_from_env()


def record_read(
    source: Tracker | Store,
    action: str,
    *,
    concern: int | None = None,
    count: int | None = None,
    detail: str = "",
    whole: bool = False,
) -> None:
    """Record one read in the audit: ``action`` (:data:`ACTIONS`), the ``concern`` read (or
    None where a run read many), ``count`` (how many concerns it read) and ``detail``
    (what identifies the read: options given, never a child's reference or a summary);
    ``whole``: the run reads every concern (export, backup), counted as the row is written.
    ``source`` is a :class:`~drp_cli.services.tracker.Tracker` (its clock and key) or a
    :class:`Store` (the morning check). A ``concern`` that does not exist is
    :class:`NotFound` and nothing is recorded. When the row cannot be written the read
    fails: :class:`DatabaseError` (exit 4), :class:`DatabaseBusy` (exit 5)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown read {action!r}")
    if not active():
        return  # a drp whose schema predates the audit (before the lead's move to 0011)
    store = source if isinstance(source, Store) else source.store
    at = dates.utc_now() if isinstance(source, Store) else source.moment()
    values = {"at": at, "by": reader(), "action": action, "concern_id": concern,
              "read_count": count, "detail": detail}  # fmt: skip
    key = _key(source)
    store.require()
    try:
        with audit.transaction(store) as conn:
            if concern is not None and not audit.concern_exists(conn, concern):
                raise NotFound(f"no concern with id {concern}")
            if whole:
                values["read_count"] = audit.concern_count(conn)
            audit.append(conn, values, key)
    except DatabaseMissing:
        raise
    except DatabaseBusy as exc:
        raise DatabaseBusy(_unrecorded(exc)) from None
    except DatabaseError as exc:
        raise DatabaseError(_unrecorded(exc)) from None


def _unrecorded(exc: DatabaseError | DatabaseBusy) -> str:
    return (
        f"{exc.template.rstrip('.')}: drp records every read in the audit of reads and could "
        "not record this one, so nothing was shown or written"
    )


WITHHELD = "(withheld)"
#: What a shell reads as itself, unquoted (:func:`shlex.quote`'s safe characters).
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def quoted(value: str) -> str:
    """``value`` as :func:`shlex.quote` writes it (a test holds the two to the same text),
    without loading :mod:`shlex` and :mod:`re` into the morning check."""
    if value and all(c in _SAFE for c in value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


def options_detail(given: Iterable[tuple[str, Any]], private: Container[str] = ()) -> str:
    """A ``detail`` from the options a command was given, as a shell would read them:
    ``[("--status", "open"), ("--owner", "Ann Smith"), ("--mine", True)]`` as
    ``--status open --owner 'Ann Smith' --mine``; an option not given (None, False) left
    out; one in ``private`` (a child's reference, a text searched for) as given but
    :data:`WITHHELD`; a path is never given here (a file name may hold a child's reference)."""
    parts = []
    for flag, value in given:
        if value is None or value is False:
            continue
        if value is True:
            parts.append(flag)
        elif flag in private:
            parts.append(f"{flag} {WITHHELD}")
        else:
            parts.append(f"{flag} {quoted(str(value))}")
    return " ".join(parts)


def concerns_detail(ids: Iterable[int], rest: str = "") -> str:
    """A ``detail`` naming the concerns a run read by id (a child's few), then ``rest``."""
    return audit.concerns_detail(sorted(set(ids)), rest)


# -- drp audit -------------------------------------------------------------------------------
class Read:
    """One row of the audit, as ``drp audit`` lists it. (A plain class: a dataclass costs
    the morning check, which imports this module, a millisecond to build.)"""

    __slots__ = ("action", "at", "by", "concern", "count", "detail")

    def __init__(self, at: dt.datetime, by: str, action: str, concern: int | None,
                 count: int | None, detail: str) -> None:  # fmt: skip
        self.at, self.by, self.action = at, by, action
        self.concern, self.count, self.detail = concern, count, detail

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Read) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Read({self.to_dict()!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "by": self.by,
            "action": self.action,
            "concern": self.concern,
            "count": self.count,
            "detail": self.detail,
        }


def _local_midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` where drp runs (its local time), as an aware moment."""
    return dt.datetime.combine(day, dt.time.min).astimezone()


def reads(
    tracker: Tracker,
    *,
    concern: int | None = None,
    by: str | None = None,
    first: dt.date | str | None = None,
    last: dt.date | str | None = None,
) -> list[Read]:
    """The reads recorded, oldest first: of ``concern`` (its own, and a child's reads that
    name it), by ``by`` (whatever the case), from the day ``first`` to the day ``last``
    (local days, both included)."""
    from drp_cli.core.errors import InvalidInput
    from drp_cli.store.record import check_id

    if concern is not None:
        check_id(concern)
    name = None
    if by is not None:
        name = by.strip()
        if not name:
            raise InvalidInput(f"{fld('by')} is empty")
    start = dates.parse_date(first, fld("first")) if first is not None else None
    end = dates.parse_date(last, fld("last")) if last is not None else None
    if start is not None and end is not None and start > end:
        raise InvalidInput(f"{fld('first')} is after {fld('last')}")
    if not active():
        raise DatabaseError(
            f"this drp's schema ({dbfile.SCHEMA_REVISION}) has no audit of reads: it needs "
            f"{AUDIT_REVISION}"
        )
    with tracker.store.read() as conn:
        rows = audit.reads(
            conn,
            concern=concern,
            by=name,
            start=_local_midnight(start) if start is not None else None,
            end=_local_midnight(end + dt.timedelta(days=1)) if end is not None else None,
        )
    return [Read(r["at"], r["by"], r["action"], r["concern_id"], r["read_count"], r["detail"])
            for r in rows]  # fmt: skip
