"""The set-based queries of ``drp report`` (the manager's quality-assurance report), written
once for both engines through :class:`drp_cli.store.connection.Conn`.

A report's scope is the concerns opened in a period, narrowed by protocol, theme, owner and
team. The counts by recorded field (protocol, theme, issue, owner, team, month of opening)
are ``GROUP BY`` queries over ``concern``; the events the report folds (to judge every
stage visit as ``drp show`` does, as of a day) are streamed in one ordered query, without
the kinds that change nothing the report counts (notes, items, attachments).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from drp_cli.store.connection import Conn
from drp_cli.store.daily import read_day

#: Event kinds that change nothing a report counts (no stage, deadline, status, referral or
#: the child's voice): left out of the stream. Wishes recorded (``wishes-added``) stay: the
#: fold takes them as the child's wishes sought.
SKIPPED_KINDS = (
    "note",
    "good-practice",
    "attached",
    "not-applicable",
    "cafcass",
    "redacted",
    "action-added",
    "action-done",
    "action-removed",
    "professional-added",
    "professional-removed",
    "important-person-added",
    "important-person-removed",
    "needs-added",
    "needs-removed",
    "wishes-removed",
)
#: The recorded fields a report counts concerns by, and the SQL of each (a month of opening
#: is the first seven characters of the ISO date on both engines).
GROUPS = {
    "by_protocol": "protocol",
    "by_theme": "category",
    "by_issue": "issue",
    "by_owner": "owner",
    "by_team": "team",
    "by_month": "substr(CAST(opened_on AS TEXT), 1, 7)",
}
#: What stands for a field left empty (no issue, no owner, no team) in a count.
NONE = "(none)"


@dataclass(frozen=True)
class Scope:
    """The concerns a report covers: opened from ``first`` to ``last`` (both included),
    equal to ``protocol`` and ``category``, owned by ``owner`` and in ``team`` whatever the
    case (None: any); with ``ids``, only those whose id is in that range (both included)."""

    first: dt.date
    last: dt.date
    protocol: str | None = None
    category: str | None = None
    owner: str | None = None
    team: str | None = None
    ids: tuple[int, int] | None = None

    def where(self, alias: str = "") -> tuple[str, list[Any]]:
        """The ``WHERE`` clause (without the keyword) and its parameters."""
        p = f"{alias}." if alias else ""
        clauses = [f"{p}opened_on >= ?", f"{p}opened_on <= ?"]
        params: list[Any] = [self.first, self.last]
        for name, value in (("protocol", self.protocol), ("category", self.category)):
            if value is not None:
                clauses.append(f"{p}{name} = ?")
                params.append(value)
        for name, value in (("owner", self.owner), ("team", self.team)):
            if value is not None:
                clauses.append(f"lower({p}{name}) = lower(?)")
                params.append(value)
        if self.ids is not None:
            clauses.append(f"{p}id >= ? AND {p}id <= ?")
            params.extend(self.ids)
        return " AND ".join(clauses), params


def counts_by(conn: Conn, scope: Scope) -> dict[str, dict[str, int]]:
    """The scope's concerns counted by each of :data:`GROUPS` (one ``GROUP BY`` over them
    all), largest first then by name, months in order; an empty field counts under
    :data:`NONE`."""
    clause, params = scope.where()
    columns = list(GROUPS.values())
    rows = conn.rows(
        f"SELECT {', '.join(columns)}, count(*) FROM concern WHERE {clause} "
        f"GROUP BY {', '.join(columns)}",
        params,
    )
    out: dict[str, dict[str, int]] = {}
    for i, key in enumerate(GROUPS):
        merged: dict[str, int] = {}
        for r in rows:
            name = NONE if r[i] is None or r[i] == "" else str(r[i])
            merged[name] = merged.get(name, 0) + int(r[-1])
        order = (lambda kv: kv[0]) if key == "by_month" else (lambda kv: (-kv[1], kv[0]))
        out[key] = dict(sorted(merged.items(), key=order))
    return out


def active_where(first: dt.date, alias: str = "") -> tuple[str, list[Any]]:
    """A ``WHERE`` clause (without the keyword) for the concerns that may have been open on
    a day from ``first`` on, or done something then: open now, or closed on or after
    ``first``. A concern closed before it stays closed (a reopening would have cleared its
    closing day, and of what a report counts only a reopening is recorded on a closed
    concern), so it has nothing dated from ``first`` on that a report counts."""
    p = f"{alias}." if alias else ""
    return f"({p}closed_on IS NULL OR {p}closed_on >= ?)", [first]


class ReportRow(NamedTuple):
    """What the report reads of a concern row (:func:`concern_rows`): never its free text,
    and its child and external references only when asked for (``--with-children``)."""

    id: int
    protocol: str
    route: str | None
    opened_on: dt.date
    external_ref: str | None = None
    child: str | None = None
    category: str | None = None


def concern_rows(
    conn: Conn, scope: Scope, active: dt.date | None = None, *, names: bool = False
) -> list[ReportRow]:
    """The scope's concerns, by id: their id, protocol, route and day of opening, and with
    ``names`` their external and child references and theme (never their free text); with
    ``active`` (a day), only those :func:`active_where` keeps. Each day is read as every
    read reads it (:func:`days_of`)."""
    clause, params = scope.where()
    if active is not None:
        more, extra = active_where(active)
        clause, params = f"{clause} AND {more}", [*params, *extra]
    named = ", external_ref, child, category" if names else ""
    rows = conn.rows(
        f"SELECT id, protocol, route, {_as_stored(conn, 'opened_on')}{named} FROM concern "
        f"WHERE {clause} ORDER BY id",
        params,
    )
    days = days_of(conn, {r[3] for r in rows})
    return [ReportRow(r[0], r[1], r[2], days[r[3]], *r[4:]) for r in rows]


def _as_stored(conn: Conn, column: str) -> str:
    """A ``DATE`` column as stored, without SQLite's converter (``+column`` has no declared
    type): :func:`days_of` reads each distinct value once. PostgreSQL's driver makes (and
    checks) the dates itself."""
    return f"+{column}" if conn.is_sqlite else column


def days_of(conn: Conn, values: set[Any]) -> dict[Any, dt.date]:
    """Each stored day of ``values`` (SQLite: as stored; PostgreSQL: the driver's dates) as a
    date, read once by the converter every read of a ``DATE`` column uses; a value that is
    none (not a calendar date, outside the days drp handles, not a date at all) is the
    store's MalformedValue found as any read finds it (:meth:`Conn.malformed`: exit 4,
    naming its row and column). NULL stays None."""
    out: dict[Any, Any] = {None: None}
    if not conn.is_sqlite:  # the driver's loader made and checked each one
        out.update((v, v) for v in values)
        return out
    for value in values:
        if value is None:
            continue
        try:
            out[value] = read_day(value)
        except (ValueError, OverflowError):
            raise conn.malformed() from None
    return out


#: The columns of :func:`events`, in order.
EVENT_COLUMNS = ("concern_id", "seq", "kind", "effective_on", "stage", "details")


def events(
    conn: Conn, scope: Scope, on: dt.date, active: dt.date | None = None
) -> tuple[list[tuple[Any, ...]], dict[Any, dt.date]]:
    """The events of the scope's concerns that the report folds (:data:`EVENT_COLUMNS`),
    a concern's together (in no given order: the fold orders them by seq): those in effect
    on or before ``on``, every concern's opening, and every retraction (an entry made in
    error never counted). Their text and author are not read. With ``active``, only the
    concerns :func:`active_where` keeps. With them, each ``effective_on`` as stored and its
    day (:func:`days_of`: each distinct one read once, a malformed one refused here)."""
    clause, params = scope.where("c")
    if active is not None:
        more, extra = active_where(active, alias="c")
        clause, params = f"{clause} AND {more}", [*params, *extra]
    skipped = ", ".join("?" for _ in SKIPPED_KINDS)
    columns = ", ".join(
        _as_stored(conn, "e." + c) if c == "effective_on" else "e." + c for c in EVENT_COLUMNS
    )
    rows = conn.rows(
        f"SELECT {columns} "
        # the concerns first, then each one's events by the concern_id index
        f"FROM concern c CROSS JOIN event e WHERE e.concern_id = c.id AND {clause} "
        f"AND e.kind NOT IN ({skipped}) "
        "AND (e.effective_on <= ? OR e.kind IN ('opened', 'imported', 'retracted')) "
        # a concern's events together; their order is the fold's to make (by seq)
        "ORDER BY c.id",
        [*params, *SKIPPED_KINDS, on],
    )
    return rows, days_of(conn, {r[3] for r in rows})


def grouped(rows: list[tuple[Any, ...]]) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """Rows ordered by concern id (their first column), a concern at a time."""
    for cid, group in groupby(rows, itemgetter(0)):
        yield cid, list(group)
