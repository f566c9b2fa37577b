"""The subject access requests' table (``subject_access_request``, migration 0010): the
one place its SQL is written, for both engines, through :class:`Conn`.

A request is one row: written when it is received, then its extension and its answer set
once each (never changed after: the service refuses a second extension or answer). It
holds the reference the request is about and nothing else about the child.

Tamper evidence (schema 0013): every write to a request appends a link to the requests'
own hash chain (``subject_access_link``, its head in ``subject_access_head``), naming the
request's id, the change and the digest of the whole row as it then stood
(:mod:`drp_cli.domain.subject_access`); a purge's removal is a link too
(:func:`remove_requests`). :func:`chain_problems` is what ``drp verify`` runs: a request
row edited, deleted or inserted outside drp, or a link altered, removed or added, is named
by the request's id, never by its reference. Writers lock the head (PostgreSQL: ``FOR
UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already serialises writers).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from drp_cli.core.errors import DatabaseDamaged, DatabaseError
from drp_cli.domain.subject_access import CHANGES, link_hash, row_digest
from drp_cli.store.connection import Conn, MalformedValue, Row

TABLE = "subject_access_request"
LINK_TABLE = "subject_access_link"
HEAD_TABLE = "subject_access_head"
#: The schema from which the requests are in their chain (migration 0013).
CHAINED_FROM = "0013"
GENESIS = "0" * 64
_COLUMNS = (
    "id, child, received_on, recorded_by, recorded_at, extended_on, extended_by, "
    "extension_reason, sent_on, sent_by"
)


def add_request(
    conn: Conn, child: str, received_on: dt.date, recorded_by: str, recorded_at: dt.datetime,
    key: bytes | None = None,
) -> int:  # fmt: skip
    """Record a request received, linked in the requests' chain (sealed with ``key`` in
    keyed mode); returns its id."""
    new_id = conn.insert(TABLE, {"child": child, "received_on": received_on,
                                 "recorded_by": recorded_by, "recorded_at": recorded_at,
                                 "salt": secrets.token_hex(16)})  # fmt: skip
    _link_row(conn, new_id, "received", key)
    return new_id


def _checked(rows: list[Row]) -> list[Row]:
    """Request rows as drp wrote them: a reference or a recorder's name that is not text
    (bytes written outside drp) is :class:`MalformedValue` (exit 4) naming the request's id
    and the column, never the value."""
    for row in rows:
        for column in ("child", "recorded_by"):
            if column in row and not isinstance(row[column], str):
                raise MalformedValue(f"subject access request {row['id']}", TABLE, column)
    return rows


def requests_for(conn: Conn, child: str) -> list[Row]:
    """Every request about ``child`` (the reference exactly as stored), oldest first."""
    return _checked(conn.records(
        f"SELECT {_COLUMNS} FROM {TABLE} WHERE child = ? ORDER BY received_on, id", (child,)
    ))  # fmt: skip


def open_request_for(conn: Conn, child: str, *, lock: bool = False) -> Row | None:
    """The request about ``child`` not yet answered (the latest, should there be more);
    locked until commit on PostgreSQL with ``lock``."""
    sql = (
        f"SELECT {_COLUMNS} FROM {TABLE} WHERE child = ? AND sent_on IS NULL "
        "ORDER BY received_on DESC, id DESC"
    )
    if lock and not conn.is_sqlite:
        sql += " FOR UPDATE"
    found = _checked(conn.records(sql, (child,)))
    return found[0] if found else None


def open_requests(
    conn: Conn, *, recorded_by: str | None = None, team: str | None = None
) -> list[Row]:
    """Every request not yet answered, oldest first: one query. ``recorded_by``: only those
    that person recorded, or about a child one of whose concerns (any status) they own;
    ``team``: only those recorded by someone the staff directory puts in that team, or
    about a child one of whose concerns (any status) is in that team (each whatever the
    case, as the morning check matches owners and teams)."""
    sql = f"SELECT {_COLUMNS} FROM {TABLE} r WHERE sent_on IS NULL"
    params: list[str] = []
    if recorded_by is not None:
        sql += (" AND (lower(recorded_by) = lower(?) OR EXISTS (SELECT 1 FROM concern c "
                "WHERE c.child = r.child AND lower(c.owner) = lower(?)))")  # fmt: skip
        params += [recorded_by, recorded_by]
    if team is not None:
        sql += (" AND (lower(recorded_by) IN (SELECT lower(name) FROM staff "
                "WHERE lower(team) = lower(?)) OR EXISTS (SELECT 1 FROM concern c "
                "WHERE c.child = r.child AND lower(c.team) = lower(?)))")  # fmt: skip
        params += [team, team]
    return _checked(conn.records(sql + " ORDER BY received_on, id", params))


def redact_reference(conn: Conn, old: str, new: str, key: bytes | None = None) -> list[int]:
    """After a concern's reference ``old`` was redacted: when no concern has ``old`` any
    more, every request about it is about ``new`` (the redacted mark: a redacted reference
    is nobody's, and no guess is made whose the request was), each change a link of the
    requests' chain (``repointed``, as an extension is one), so that the redacted text is
    left in no request and ``drp verify`` still passes. Returns the ids changed (answered
    by their id: ``drp subject-access --request ID``)."""
    if conn.scalar("SELECT count(*) FROM concern WHERE child = ?", (old,)):
        return []
    ids = [int(r[0]) for r in conn.rows(f"SELECT id FROM {TABLE} WHERE child = ? ORDER BY id",
                                        (old,))]  # fmt: skip
    for request_id in ids:
        conn.update(TABLE, request_id, {"child": new})
        _link_row(conn, request_id, "repointed", key)
    return ids


def open_request_by_id(conn: Conn, request_id: int, *, lock: bool = False) -> Row | None:
    """Request ``request_id`` if it is not yet answered (locked as :func:`open_request_for`)."""
    sql = f"SELECT {_COLUMNS} FROM {TABLE} WHERE id = ? AND sent_on IS NULL"
    if lock and not conn.is_sqlite:
        sql += " FOR UPDATE"
    found = _checked(conn.records(sql, (request_id,)))
    return found[0] if found else None


def references(conn: Conn) -> set[str]:
    """Every reference drp holds a concern or a request about (one query): the candidates
    a subject access record marks as another child's where its text names one."""
    rows = conn.rows(f"SELECT child FROM concern UNION SELECT child FROM {TABLE}")
    return {r[0] for r in rows if isinstance(r[0], str)}


def set_extended(
    conn: Conn, request_id: int, on: dt.date, by: str, reason: str, key: bytes | None = None
) -> None:
    conn.update(TABLE, request_id, {"extended_on": on, "extended_by": by,
                                    "extension_reason": reason})  # fmt: skip
    _link_row(conn, request_id, "extended", key)


def set_sent(conn: Conn, request_id: int, on: dt.date, by: str, key: bytes | None = None) -> None:
    conn.update(TABLE, request_id, {"sent_on": on, "sent_by": by})
    _link_row(conn, request_id, "sent", key)


def remove_requests(conn: Conn, ids: Sequence[int], key: bytes | None = None) -> None:
    """Delete the requests ``ids`` (a purge of their subject's concerns), each removal a link
    of the requests' chain, so that ``drp verify`` tells it from a deletion outside drp. The
    links keep no more of a removed request than its id: the digests of its rows were
    salted with the row's own salt, deleted with it."""
    for request_id in sorted(set(ids)):
        conn.execute(f"DELETE FROM {TABLE} WHERE id = ?", (request_id,)).close()
        append_link(conn, request_id, "removed", None, key)


# -- the requests' chain ---------------------------------------------------------------------
def _link_row(conn: Conn, request_id: int, change: str, key: bytes | None) -> Row:
    row = conn.record(f"SELECT * FROM {TABLE} WHERE id = ?", (request_id,))
    if row is None:  # pragma: no cover - written in this transaction
        raise DatabaseError(f"subject access request {request_id} is not there to link")
    return append_link(conn, request_id, change, row_digest(request_id, row), key)


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64


def _is_position(value: Any) -> bool:
    """A chain position drp could have written: 0 up to what an integer column holds on both
    engines."""
    return type(value) is int and 0 <= value < 2**31 - 1


def _is_head(head: Mapping[str, Any]) -> bool:
    return _is_position(head["seq"]) and _is_hash(head["hash"])


def _head(conn: Conn) -> Row:
    """The requests' chain's last link, locked until commit (PostgreSQL)."""
    sql = f"SELECT seq, hash FROM {HEAD_TABLE} WHERE id = 1"
    head = conn.record(sql if conn.is_sqlite else sql + " FOR UPDATE")
    if head is None:
        raise DatabaseError(
            "the subject access requests' chain has no head: run `drp verify` (it was "
            "altered outside drp)"
        )
    if not _is_head(head):
        raise DatabaseDamaged("the subject access requests' chain head is not one drp writes")
    return head


def seal(key: bytes, link: str) -> str:
    """The chain's keyed seal (:func:`drp_cli.domain.chain.mac`)."""
    from drp_cli.store.audit import seal as audit_seal

    return audit_seal(key, link)


def append_link(
    conn: Conn, request_id: int, change: str, digest: str | None, key: bytes | None = None
) -> Row:
    """Append one link (``change`` of :data:`~drp_cli.domain.subject_access.CHANGES` to
    request ``request_id``, whose row's digest is ``digest``, None once removed) and move
    the head, in ``conn`` (a write transaction). Returns the link written."""
    if change not in CHANGES:
        raise ValueError(change)
    head = _head(conn)
    seq, prev = int(head["seq"]) + 1, str(head["hash"])
    link = Row({"request_id": request_id, "change": change, "row_digest": digest})
    h = link_hash(link, seq, prev)
    link.update(chain_seq=seq, prev_hash=prev, hash=h,
                mac=seal(key, h) if key is not None else None)  # fmt: skip
    link["id"] = conn.insert(LINK_TABLE, link)
    conn.execute(f"UPDATE {HEAD_TABLE} SET seq = ?, hash = ? WHERE id = 1", (seq, h)).close()
    return link


def where(link: Mapping[str, Any]) -> str:
    """How verify names a link: by the request's id and the link's position (never the
    reference)."""
    return (f"subject access request {link['request_id']} ({link['change']}, chain "
            f"position {link['chain_seq']})")  # fmt: skip


def chain_problems(conn: Conn, key: bytes | None = None) -> list[str]:
    """What ``drp verify`` finds wrong with the subject access requests: the chain walked as
    the record's is (:class:`drp_cli.domain.chain.ChainWalk`: each link's hash against its
    content and the link before it, its seal in keyed mode, the head against the last
    link), then each request row against its last link (edited: its digest differs;
    deleted: its last link says it is there; inserted: no link names it). Each problem
    names the request by its id; none when all is intact."""
    from drp_cli.domain.chain import ChainWalk

    walk = ChainWalk(key=key)
    problems: list[str] = []
    last: dict[int, Row] = {}
    head = conn.record(f"SELECT seq, hash FROM {HEAD_TABLE} WHERE id = 1")
    if head is not None and not _is_head(head):
        problems.append("the subject access requests' chain head is not one drp writes "
                        "(altered requests)")  # fmt: skip
        head = None
    elif head is None:
        problems.append("the subject access requests' chain head is missing (altered requests)")
    for link in conn.stream(f"SELECT * FROM {LINK_TABLE} ORDER BY chain_seq, id"):
        seq, rid = link["chain_seq"], link["request_id"]
        if not (_is_position(seq) and _is_position(rid) and _is_hash(link["prev_hash"])
                and _is_hash(link["hash"])):  # fmt: skip
            if not walk.broken:
                walk.problems.append(f"the link with id {link['id']}: its chain links are not "
                                     "values drp writes (altered requests)")  # fmt: skip
            continue
        if head is not None and seq > head["seq"] and not walk.broken:
            walk.problems.append(f"{where(link)} was inserted out of band: its position is "
                                 f"past the chain's head ({head['seq']})")  # fmt: skip
        walk.feed(where(link), link, link_hash(link, seq, link["prev_hash"]))
        last[rid] = link
    if head is not None:
        walk.close(head)
    problems += [f"the subject access requests' chain: {p}" for p in walk.problems]
    rows = {r["id"]: r for r in conn.stream(f"SELECT * FROM {TABLE} ORDER BY id")}
    for rid in sorted(set(rows) | set(last)):
        row, found = rows.get(rid), last.get(rid)
        if found is None:
            problems.append(f"subject access request {rid} was inserted out of band: no link "
                            "of the requests' chain records it")  # fmt: skip
        elif row is None and found["change"] != "removed":
            problems.append(f"subject access request {rid} was deleted outside drp (its last "
                            f"link, chain position {found['chain_seq']}, records it)")  # fmt: skip
        elif row is not None and found["change"] == "removed":
            problems.append(f"subject access request {rid} is recorded as removed (chain "
                            f"position {found['chain_seq']}) but its row is there (altered "
                            "requests)")  # fmt: skip
        elif row is not None and row_digest(rid, row) != found["row_digest"]:
            problems.append(f"subject access request {rid} was altered after it was recorded "
                            f"(its row is not the one its last link, chain position "
                            f"{found['chain_seq']}, records)")  # fmt: skip
    return problems


def seal_all(conn: Conn, key: bytes) -> int:
    """Keyed mode: put the key's seal on every link not yet sealed (``drp key seal``, after
    verify found the chain intact). Returns how many."""
    sealed = 0
    for link_id, digest, mac in conn.rows(f"SELECT id, hash, mac FROM {LINK_TABLE}"):
        want = seal(key, digest)
        if mac != want:
            conn.update(LINK_TABLE, link_id, {"mac": want})
            sealed += 1
    return sealed
