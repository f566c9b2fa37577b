"""The subject access requests' table (``subject_access_request``, migration 0010): the
one place its SQL is written, for both engines, through :class:`Conn`.

A request is one row: written when it is received, then its extension and its answer set
once each (never changed after: the service refuses a second extension or answer). It
holds the reference the request is about and nothing else about the child.
"""

from __future__ import annotations

import datetime as dt

from drp_cli.store.connection import Conn, Row

TABLE = "subject_access_request"
_COLUMNS = (
    "id, child, received_on, recorded_by, recorded_at, extended_on, extended_by, "
    "extension_reason, sent_on, sent_by"
)


def add_request(
    conn: Conn, child: str, received_on: dt.date, recorded_by: str, recorded_at: dt.datetime
) -> int:
    """Record a request received; returns its id."""
    return conn.insert(TABLE, {"child": child, "received_on": received_on,
                               "recorded_by": recorded_by, "recorded_at": recorded_at})  # fmt: skip


def requests_for(conn: Conn, child: str) -> list[Row]:
    """Every request about ``child`` (the reference exactly as stored), oldest first."""
    return conn.records(
        f"SELECT {_COLUMNS} FROM {TABLE} WHERE child = ? ORDER BY received_on, id", (child,)
    )


def open_request_for(conn: Conn, child: str, *, lock: bool = False) -> Row | None:
    """The request about ``child`` not yet answered (the latest, should there be more);
    locked until commit on PostgreSQL with ``lock``."""
    sql = (
        f"SELECT {_COLUMNS} FROM {TABLE} WHERE child = ? AND sent_on IS NULL "
        "ORDER BY received_on DESC, id DESC"
    )
    if lock and not conn.is_sqlite:
        sql += " FOR UPDATE"
    return conn.record(sql, (child,))


def open_requests(
    conn: Conn, *, recorded_by: str | None = None, team: str | None = None
) -> list[Row]:
    """Every request not yet answered, oldest first: one query. ``recorded_by``: only those
    that person recorded; ``team``: only those recorded by someone the staff directory puts
    in that team (each whatever the case, as the morning check matches owners and teams)."""
    sql = f"SELECT {_COLUMNS} FROM {TABLE} WHERE sent_on IS NULL"
    params: list[str] = []
    if recorded_by is not None:
        sql += " AND lower(recorded_by) = lower(?)"
        params.append(recorded_by)
    if team is not None:
        sql += (" AND lower(recorded_by) IN (SELECT lower(name) FROM staff "
                "WHERE lower(team) = lower(?))")  # fmt: skip
        params.append(team)
    return conn.records(sql + " ORDER BY received_on, id", params)


def set_extended(conn: Conn, request_id: int, on: dt.date, by: str, reason: str) -> None:
    conn.update(TABLE, request_id, {"extended_on": on, "extended_by": by,
                                    "extension_reason": reason})  # fmt: skip


def set_sent(conn: Conn, request_id: int, on: dt.date, by: str) -> None:
    conn.update(TABLE, request_id, {"sent_on": on, "sent_by": by})
