"""The daily check (`drp overdue`) in plain SQL over a DB-API connection.

It runs every morning, and must stay quick however long the history grows and however
many concerns are overdue. One query reads the open concerns whose stage or formal
deadline falls on or before the horizon, through ``ix_concern_status_deadline`` and
``ix_concern_status_formal_deadline`` (the deadlines were stored when the events were
written), with the date of the manager's latest response at the current stage (also
stored on the row when the response is written): no event is read. Working days are
counted with the calendar's table, once per distinct deadline.

On a SQLite file, :func:`overdue` opens the file with the standard library's ``sqlite3``
after the same checks :class:`drp_cli.db.Store` makes (owner-only file, no network file
system, this program's schema), so the command does not load SQLAlchemy. A missing or empty
file is :class:`~drp_cli.errors.DatabaseMissing` and a file that is not SQLite is refused
here, never "Nothing overdue"; anything else (a PostgreSQL URL, a database with other tables
or another schema) goes through :class:`drp_cli.tracker.Tracker`, which runs the same query
on its engine's connection and raises the usual errors.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from drp_cli.calendar import WorkingCalendar
from drp_cli.dates import parse_date, today
from drp_cli.dbfile import (
    BUSY_TIMEOUT_MS,
    SCHEMA_REVISION,
    check_location,
    check_private,
    is_blank,
    is_url,
    resolve_path,
    resolve_target,
    sqlite_uri,
    translate,
)
from drp_cli.errors import DatabaseError, DatabaseMissing, InvalidInput

MAX_WITHIN = 260  # working days: about a year

OVERDUE_SQL = """
SELECT id, child, protocol, stage, deadline, formal_deadline, stage_responded_on
FROM concern
WHERE status = 'open' AND (deadline <= :horizon OR formal_deadline <= :horizon)
"""
CLOSURES_SQL = "SELECT day, action FROM closure_change ORDER BY id"


class OverdueItem(NamedTuple):
    """One line of the daily check (a named tuple: tens of thousands are made at once)."""

    id: int
    child: str
    protocol: str
    stage: str
    state: Literal["overdue", "due"]
    deadline: dt.date  # earliest breached deadline (overdue) or the next one due
    which: str  # "stage", "formal" or "stage and formal"
    working_days_overdue: int
    working_days_left: int
    responded: bool

    def to_dict(self) -> dict[str, Any]:
        """The shape `drp overdue --json` prints (documented in the README)."""
        return {
            "id": self.id,
            "child": self.child,
            "protocol": self.protocol,
            "stage": self.stage,
            "state": self.state,
            "deadline": self.deadline.isoformat(),
            "which": self.which,
            "working_days_overdue": self.working_days_overdue,
            "working_days_left": self.working_days_left,
            "responded": self.responded,
        }


def check_within(within: int) -> None:
    if not 0 <= within <= MAX_WITHIN:
        raise InvalidInput(f"--within must be from 0 to {MAX_WITHIN} working days")


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _query(conn: Any, sql: str, params: dict[str, Any], pyformat: bool) -> list[Any]:
    if pyformat:  # psycopg: %(name)s placeholders; SQLite takes :name
        sql = sql.replace(":horizon", "%(horizon)s")
    cur = conn.cursor()
    try:
        cur.execute(sql, params)
        return list(cur.fetchall())
    finally:
        cur.close()


def closure_days(conn: Any, *, pyformat: bool = False) -> list[dt.date]:
    """The local closure days in force: those whose latest change is an ``add``."""
    latest: dict[Any, str] = {}
    for day, action in _query(conn, CLOSURES_SQL, {}, pyformat):
        latest[day] = action
    return sorted(d for d in map(_as_date, (k for k, a in latest.items() if a == "add")) if d)


def overdue_items(
    conn: Any, cal: WorkingCalendar, day: dt.date, within: int = 0, *, pyformat: bool = False
) -> list[OverdueItem]:
    """Open concerns with a stage or formal deadline breached on ``day``, earliest first;
    with ``within`` > 0, then those due within that many working days."""
    check_within(within)
    horizon = cal.add(day, within) if within else day
    # dates are ISO text in SQLite, DATE in PostgreSQL
    rows = _query(conn, OVERDUE_SQL, {"horizon": horizon if pyformat else horizon.isoformat()},
                  pyformat)  # fmt: skip
    # deadlines repeat across concerns: convert and count each distinct one once
    dates: dict[Any, Any] = {None: None}  # the stored value -> its date
    lateness: dict[Any, int] = {None: 0}
    for value in {v for row in rows for v in (row[4], row[5])}:
        d = dates[value] = _as_date(value)
        lateness[value] = cal.working_days_overdue(d, day) if d is not None and d < day else 0
    items: list[OverdueItem] = []
    for cid, child, protocol, stage, stage_v, formal_v, responded in rows:
        stage_late, formal_late = lateness[stage_v], lateness[formal_v]
        if stage_late or formal_late:
            if stage_late and formal_late:
                deadline = min(dates[stage_v], dates[formal_v])
                which = "stage and formal"
            elif stage_late:
                deadline, which = dates[stage_v], "stage"
            else:
                deadline, which = dates[formal_v], "formal"
            late = max(stage_late, formal_late)
            items.append(OverdueItem(cid, child, protocol, stage, "overdue", deadline, which, late,
                                     0, responded is not None))  # fmt: skip
            continue
        if not within:
            continue
        upcoming = [
            (name, d)
            for name, d in (("stage", dates[stage_v]), ("formal", dates[formal_v]))
            if d is not None and d <= horizon
        ]
        if upcoming:
            nearest = min(d for _, d in upcoming)
            which = " and ".join(n for n, d in upcoming if d == nearest)
            left = cal.working_days_between(day, nearest)
            items.append(OverdueItem(cid, child, protocol, stage, "due", nearest, which, 0,
                                     left, responded is not None))  # fmt: skip
    items.sort(key=lambda i: (i.state != "overdue", i.deadline, i.id))
    return items


def _sqlite_reader(target: str) -> sqlite3.Connection | None:
    """The SQLite file opened with the standard library, after the checks Store makes; None
    when only the full Store can deal with it (other tables, another schema). A missing or
    empty file, or one that is not SQLite, is refused here: the file is never created."""
    if is_url(target):
        return None
    path = resolve_path(target)
    if is_blank(path):
        raise DatabaseMissing(str(path))
    check_location(path)
    check_private(path)
    try:
        conn = sqlite3.connect(sqlite_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None)  # fmt: skip
    except sqlite3.Error:
        return None
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA cache_size=-65536")  # up to 64 MB, taken only as pages are read
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise translate(str(exc), type(exc).__name__, str(path)) from None
        return None  # no drp tables: the Store says whether it is empty or another database
    except sqlite3.DatabaseError:
        conn.close()
        raise DatabaseError(f"{path} is not a drp database") from None
    except sqlite3.Error:
        conn.close()
        return None
    if row is None or row[0] != SCHEMA_REVISION:
        conn.close()
        return None
    return conn


def overdue(
    db: str | os.PathLike[str] | None = None,
    *,
    on: dt.date | str | None = None,
    within: int = 0,
    clock: Callable[[], dt.date] = today,
) -> tuple[dt.date, list[OverdueItem]]:
    """The day judged and what is overdue on it (and, with ``within``, due soon)."""
    day = parse_date(on, "--on") if on is not None else clock()
    check_within(within)
    target = resolve_target(db)
    conn = _sqlite_reader(target)
    if conn is None:
        from drp_cli.db import Store
        from drp_cli.tracker import Tracker

        store = Store(target)
        try:
            store.require()  # a server database with no tables is not an all-clear either
            return day, Tracker(store, clock=clock).overdue(on=day, within=within)
        finally:
            store.close()
    try:
        conn.execute("BEGIN")  # one snapshot for the closures and the concerns
        cal = WorkingCalendar(closure_days(conn))
        items = overdue_items(conn, cal, day, within)
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        raise translate(str(exc), type(exc).__name__, str(resolve_path(target))) from None
    finally:
        conn.close()
    return day, items
