"""The store's read for `drp list`'s table: only the columns it shows and judges.

`drp list` (not ``--json``) shows each concern's id, child, protocol, stage, status, stage
and formal deadlines, flags (a firm deadline passed, an aim or the guidance passed, a CAFCASS
referral, the child's voice missing), addressees, owner and summary. The whole row
(:func:`drp_cli.store.record.concerns`: every column, each date and moment through its
converter, a ``Row`` dict a row) and the views made from it cost ten times what these
columns do. Here a row is a plain tuple (:data:`COLUMNS`), its dates the text SQLite holds
(``+column``: an expression has no declared type, so no converter runs): the caller checks
each distinct set of them once (:func:`checked`), by the converter the connection registered
for the ``DATE`` type (a value it refuses is :class:`MalformedValue`, naming the concern and
the column, as the whole read says it); on PostgreSQL they are dates already, checked by the
driver's loader. The days of the row the table does not show (:data:`UNSHOWN_DAYS`) are
not read at all where SQL finds them of the shape drp writes (:func:`_certified`); where it
does not, the whole read of the same concerns says why they cannot be listed, as `list
--json` does (a day that cannot be read is never listed as if it could). The kinds of the
deadlines are checked against the words drp writes, as :func:`drp_cli.store.record.whole`
checks them. Nothing here judges: the caller judges with :mod:`drp_cli.domain.judgement`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from operator import itemgetter
from typing import Any, NamedTuple

from drp_cli.domain.judgement import RANK
from drp_cli.store.connection import DAYS, Conn, MalformedValue
from drp_cli.store.daily import check_indexes, day_text, folded_filters

#: The columns a list may be filtered on exactly (as :data:`drp_cli.store.record.FILTERS`).
EXACT = ("status", "protocol", "child", "stage", "category")


class Filters(NamedTuple):
    """Which concerns a list holds: equal to ``where`` on the :data:`EXACT` columns, to
    ``folded`` on the :data:`drp_cli.store.daily.TEXT_FILTERS` columns whatever the case,
    opened from ``opened_from`` to ``opened_to``; ``open_only``, the open ones (after the
    morning check's own test of the deadline indexes, as ``drp list --overdue`` reads them)."""

    where: Mapping[str, Any]
    folded: Mapping[str, str]
    opened_from: dt.date | None = None
    opened_to: dt.date | None = None
    open_only: bool = False


#: A listed row's columns, in order: what is the concern's own (id, child, owner, summary),
#: then what many concerns share (the rest: a caller keys its work on ``row[SHARED:]``).
#: ``wishes_anywhere``: whether any concern with the same child's reference holds wishes and
#: feelings recorded and not removed (asked only where the concern's own ``wishes`` is none;
#: else None), see :func:`with_wishes`; a row holds it only where some concern may hold
#: them (:func:`_wishes_anywhere`; else no row does: :func:`wishes_asked`).
COLUMNS = (
    "id", "child", "owner", "summary", "protocol", "route", "stage", "status", "deadline",
    "deadline_kind", "step_deadline", "step_deadline_kind", "formal_deadline",
    "formal_deadline_kind", "referred_on", "wishes", "told_outcome", "wishes_anywhere",
)  # fmt: skip
(ID, CHILD, OWNER, SUMMARY, PROTOCOL, ROUTE, STAGE, STATUS, DEADLINE, DEADLINE_KIND,
 STEP_DEADLINE, STEP_DEADLINE_KIND, FORMAL_DEADLINE, FORMAL_DEADLINE_KIND, REFERRED_ON, WISHES,
 TOLD_OUTCOME, WISHES_ANYWHERE) = range(len(COLUMNS))  # fmt: skip
SHARED = PROTOCOL
_DATE_COLUMNS = ("deadline", "step_deadline", "formal_deadline", "referred_on")
#: a wishes and feelings item recorded and not removed, on a concern about the same child's
#: reference (any subject: the caller tells them apart)
_WISHES_ANYWHERE = (
    "CASE WHEN wishes IS NULL THEN EXISTS (SELECT 1 FROM concern AS c2 JOIN item AS i ON "
    "i.concern_id = c2.id WHERE c2.child = concern.child AND i.kind = 'wishes' AND "
    "i.removed_on IS NULL) END"
)


#: The concern row's days the table does not show (of
#: :data:`drp_cli.domain.lifecycle.ROW_DAYS`, which this light read does not import:
#: tests/test_f7l_unshown_days.py holds them to it), those every row holds first
#: (:data:`drp_cli.store.record.REQUIRED`).
UNSHOWN_DAYS = ("stage_started_on", "opened_on", "stage_due_override", "stage_responded_on",
                "formal_started_on", "senior_officer_notified_on", "closed_on")  # fmt: skip
REQUIRED_DAYS = UNSHOWN_DAYS[:2]


def _certified(is_sqlite: bool) -> str:
    """SQL true where every day of the row the table does not show (:data:`UNSHOWN_DAYS`)
    is one the whole read reads as a day (those it must hold held): on SQLite ISO text of
    a real day (``date(day, '+0 days')`` gives it back unchanged: not '2025-02-30', which
    it makes 2025-03-02, nor '', a BLOB or a number) within the days drp handles
    (:data:`~drp_cli.store.connection.DAYS`), as the converter reads them; on PostgreSQL a
    date within them (the driver's loader refuses the rest). Tested in SQL, a row at a
    time, where reading the days out would cost a value each; opened_on, the day the first
    stage began, by its equality with stage_started_on where it holds the same. False or
    NULL is no judgement: the whole read says what the days are (:func:`listed`)."""
    low, high = DAYS

    def day(c: str) -> str:
        if not is_sqlite:
            return f"{c} BETWEEN '{low}' AND '{high}'"
        return f"date(+{c}, '+0 days') IS +{c} AND +{c} BETWEEN '{low}' AND '{high}'"

    first, opened, *rest = UNSHOWN_DAYS
    plus = "+" if is_sqlite else ""
    tests = [day(first), f"({plus}{opened} = {plus}{first} OR {day(opened)})"]
    tests += [f"({c} IS NULL OR {day(c)})" for c in rest]
    return " AND ".join(tests)


def _select(is_sqlite: bool, *, wishes: bool = True, certify: bool = True) -> str:
    """The columns: on SQLite each date as ``+column`` (its text, no converter); with
    ``wishes`` false, no ``wishes_anywhere`` (no concern holds any: a value a row less to
    read); with ``certify``, the id only where :func:`_certified` (else NULL)."""
    return ", ".join(
        _WISHES_ANYWHERE if c == "wishes_anywhere"
        else f"CASE WHEN {_certified(is_sqlite)} THEN id END" if certify and c == "id"
        else f"+{c}" if is_sqlite and c in _DATE_COLUMNS
        else c
        for c in (COLUMNS if wishes else COLUMNS[:WISHES_ANYWHERE])
    )  # fmt: skip


def wishes_asked(rows: list[tuple[Any, ...]]) -> bool:
    """Whether rows of :func:`listed` hold ``wishes_anywhere`` (else no concern holds wishes
    and feelings recorded)."""
    return bool(rows) and len(rows[0]) > WISHES_ANYWHERE


def _where(f: Filters) -> tuple[str, list[Any]]:
    unknown = set(f.where) - set(EXACT)
    if unknown:
        raise ValueError(f"cannot filter concerns on {sorted(unknown)}")
    names = [n for n in EXACT if n in f.where]
    clauses = [f"{n} = ?" for n in names]
    params: list[Any] = [f.where[n] for n in names]
    clauses += folded_filters(list(f.folded))
    params += list(f.folded.values())
    if f.opened_from is not None:
        clauses.append("opened_on >= ?")
        params.append(f.opened_from)
    if f.opened_to is not None:
        clauses.append("opened_on <= ?")
        params.append(f.opened_to)
    if f.open_only:
        clauses.append("status = 'open'")
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


def listed(conn: Conn, f: Filters) -> list[tuple[Any, ...]]:
    """The concerns ``f`` holds, by id: the :data:`COLUMNS` of each, its dates as stored (to
    be read through :func:`checked`); with ``f.open_only``, after
    :func:`drp_cli.store.daily.check_indexes` (as :func:`drp_cli.store.record.concerns` reads
    with ``firm_before``). Where a row's days it does not show are not all of the shape drp
    writes (:func:`_certified`), the whole read of the same concerns first: its error, the
    one `list --json` gives (the first malformed stored value, or the first row missing a
    day or holding an empty one), or, where it reads them all (a day stored in another form
    it reads), the rows."""
    if f.open_only:
        check_indexes(conn)
    clause, params = _where(f)
    wishes = _wishes_anywhere(conn)
    rows = conn.rows(f"SELECT {_select(conn.is_sqlite, wishes=wishes)} FROM concern{clause}",
                     params)  # fmt: skip
    if None in map(itemgetter(ID), rows):
        from drp_cli.store import record

        firm_before = dt.date.min if f.open_only else None  # only whether: the open ones
        record.concerns(conn, f.where, folded=f.folded, opened_from=f.opened_from,
                        opened_to=f.opened_to, firm_before=firm_before)  # fmt: skip
        select = _select(conn.is_sqlite, wishes=wishes, certify=False)
        rows = conn.rows(f"SELECT {select} FROM concern{clause}", params)
    rows.sort(key=itemgetter(ID))  # by id (SQLite's sort would copy every column of each row)
    return rows


#: How many item rows :func:`_wishes_anywhere` reads at most to find none is wishes
_FEW_ITEMS = 2000


def _wishes_anywhere(conn: Conn) -> bool:
    """Whether any concern may hold wishes and feelings recorded: False only where the
    record has at most :data:`_FEW_ITEMS` items and none of them is wishes and feelings not
    removed (a new record; one where `drp wishes` is not used). Then no concern's child can
    hold them and :func:`listed` does not look for them, a concern at a time."""
    found = conn.one(
        "SELECT count(*), coalesce(sum(CASE WHEN kind = 'wishes' AND removed_on IS NULL "
        "THEN 1 ELSE 0 END), 0) "
        f"FROM (SELECT kind, removed_on FROM item LIMIT {_FEW_ITEMS + 1}) AS i"
    )
    return found is None or found[0] > _FEW_ITEMS or found[1] > 0


class Deadlines(NamedTuple):
    """A listed concern's dates as ISO text (None: none recorded) and its deadlines' kinds."""

    deadline: str | None
    deadline_kind: str | None
    step_deadline: str | None
    step_deadline_kind: str | None
    formal_deadline: str | None
    formal_deadline_kind: str | None
    referred_on: str | None


#: (where, column) of each date a listed row holds, in the table's order (as a whole row's
#: converters meet them), and of each kind (as :func:`drp_cli.store.record.whole` checks)
_DATES = ((DEADLINE, "deadline"), (FORMAL_DEADLINE, "formal_deadline"),
          (REFERRED_ON, "referred_on"), (STEP_DEADLINE, "step_deadline"))  # fmt: skip
_KINDS = ((DEADLINE_KIND, "deadline_kind"), (FORMAL_DEADLINE_KIND, "formal_deadline_kind"),
          (STEP_DEADLINE_KIND, "step_deadline_kind"))  # fmt: skip


def checked(row: tuple[Any, ...], is_sqlite: bool) -> Deadlines:
    """A row of :func:`listed`'s dates, each as the whole read would read it (SQLite: the
    converter of the ``DATE`` type; PostgreSQL: the driver's date) as ISO text, and its
    deadlines' kinds, each one drp writes (:data:`~drp_cli.domain.judgement.RANK`); or
    :class:`MalformedValue` naming the concern and the first column holding a value that is
    not."""
    texts: dict[int, str | None] = {}
    for at, column in _DATES:
        value = row[at]
        try:
            texts[at] = None if value is None else day_text(value, is_sqlite)
        except (ValueError, OverflowError, UnicodeDecodeError):
            raise MalformedValue(f"concern {row[ID]}", "concern", column) from None
    for at, column in _KINDS:
        if row[at] not in RANK:
            raise MalformedValue(f"concern {row[ID]}", "concern", column)
    return Deadlines(texts[DEADLINE], row[DEADLINE_KIND], texts[STEP_DEADLINE],
                     row[STEP_DEADLINE_KIND], texts[FORMAL_DEADLINE], row[FORMAL_DEADLINE_KIND],
                     texts[REFERRED_ON])  # fmt: skip


class WithWishes(NamedTuple):
    """A concern holding the child's wishes and feelings recorded (an item not removed)."""

    id: int
    child: str
    protocol: str
    route: str | None


def with_wishes(conn: Conn, f: Filters) -> list[WithWishes]:
    """Every concern (any status) whose child's reference is exactly that of one of the
    concerns ``f`` holds whose ``wishes_anywhere`` is true, and that holds wishes and
    feelings recorded and not removed (as :func:`drp_cli.store.record.concerns_with_wishes`
    finds them), with its protocol and route, which say what it is about."""
    clause, params = _where(f)
    return [
        WithWishes._make(r)
        for r in conn.rows(
            "SELECT c.id, c.child, c.protocol, c.route FROM concern c "
            f"WHERE c.child IN (SELECT child FROM concern{clause}) AND EXISTS (SELECT 1 FROM "
            "item i WHERE i.concern_id = c.id AND i.kind = 'wishes' AND i.removed_on IS NULL) "
            "ORDER BY c.id",
            params,
        )
    ]
