"""The audit of reads (issue 31 item 4): one row for each command that read the record, a
hash chain of its own, and its check for ``drp verify``.

Each row says when (``at``, UTC), who (``by``), the command (``action``), the concern it
read (``concern_id``; NULL where a run read many) or how many (``read_count``), and what
identifies the read (``detail``: the options given, never a child's reference or a
summary). Its hash is the SHA-256 of its canonical JSON with its chain links, written as
:mod:`drp_cli.domain.chain` writes a staff entry's or a closure change's (``"entry":
"read"`` tells it apart), and in keyed mode its MAC is the chain's (:func:`drp_cli.domain.
chain.mac`): one scheme, spelled here with the standard library alone because the morning
check (``drp overdue``) writes a row and must not load the chain's module; a test holds the
two spellings to the same bytes. The head (``read_audit_head``, one row) is the last link:
a row deleted, edited or inserted out of band breaks the walk (:func:`verify_audit`).

Writers lock the head (PostgreSQL: ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers). Nothing here imports the record, the fold or the chain's module,
except :func:`verify_audit`, which ``drp verify`` runs.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from drp_cli.core.digests import hmac_sha256_hex, sha256_hex
from drp_cli.core.errors import DatabaseDamaged, DatabaseError
from drp_cli.store.connection import Conn, MalformedValue, Row, Store

GENESIS = "0" * 64
#: The columns a read writes (besides its chain links), in the table's order.
COLUMNS = ("at", "by", "action", "concern_id", "read_count", "detail")
#: The chain links of a row.
LINKS = ("chain_seq", "prev_hash", "hash", "mac")

#: :data:`drp_cli.domain.chain._ENCODE`'s definition (the record's canonical JSON).
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _moment(value: dt.datetime | str) -> str:
    """A moment as the chain writes one (UTC, no offset, microseconds), whichever engine or
    driver read it."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def audit_json(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """A read as a link of the audit's chain: its canonical JSON (``"entry": "read"``)."""
    return _ENCODE(
        {
            "action": row["action"],
            "at": _moment(row["at"]),
            "by": row["by"],
            "chain_seq": chain_seq,
            "concern_id": row["concern_id"],
            "detail": row["detail"],
            "entry": "read",
            "prev_hash": prev_hash,
            "read_count": row["read_count"],
        }
    )


def audit_hash(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    return sha256_hex(audit_json(row, chain_seq, prev_hash))


def seal(key: bytes, link_hash: str) -> str:
    """:func:`drp_cli.domain.chain.mac`: HMAC-SHA256 of the link's hash under the key."""
    return hmac_sha256_hex(key, link_hash)


# -- writing -------------------------------------------------------------------------------
def _head(conn: Conn) -> Row:
    """The audit's last link, locked until commit (PostgreSQL)."""
    sql = "SELECT seq, hash FROM read_audit_head WHERE id = 1"
    head = conn.record(sql if conn.is_sqlite else sql + " FOR UPDATE")
    if head is None:
        raise DatabaseError(
            "the audit of reads has no head: run `drp verify` (it was altered outside drp)"
        )
    if not _is_head(head):
        raise DatabaseDamaged("the audit of reads' head is not one drp writes")
    return head


def _refused_row(exc: Exception) -> bool:
    """Whether the database refused a row for its constraints (either engine's driver)."""
    import sys

    psycopg = sys.modules.get("psycopg")
    return isinstance(exc, sqlite3.IntegrityError) or (
        psycopg is not None and isinstance(exc, psycopg.IntegrityError)
    )


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64


def _is_head(head: Mapping[str, Any]) -> bool:
    """A head drp could have written: a chain position (0 up to what an integer column
    holds on both engines) and a SHA-256 in hex."""
    seq = head["seq"]
    return type(seq) is int and 0 <= seq < 2**31 - 1 and _is_hash(head["hash"])


def append(conn: Conn, values: Mapping[str, Any], key: bytes | None = None) -> Row:
    """Write one read (``values``: :data:`COLUMNS`) as the audit's next link, in ``conn``
    (a write transaction), and move the head. Returns the row written."""
    row = Row({name: values.get(name) for name in COLUMNS})
    row["detail"] = row["detail"] or ""
    head = _head(conn)
    seq, prev = int(head["seq"]) + 1, str(head["hash"])
    digest = audit_hash(row, seq, prev)
    row.update(chain_seq=seq, prev_hash=prev, hash=digest,
               mac=seal(key, digest) if key is not None else None)  # fmt: skip
    try:
        row["id"] = conn.insert("read_audit", row)
    except Exception as exc:
        if not _refused_row(exc):
            raise
        # a row already holds the next position: the head was moved back behind drp's back
        raise DatabaseDamaged("the audit of reads' head is behind its rows") from None
    conn.execute("UPDATE read_audit_head SET seq = ?, hash = ? WHERE id = 1",
                 (seq, digest)).close()  # fmt: skip
    return row


@contextmanager
def transaction(store: Store) -> Iterator[Conn]:
    """The write transaction of one read's row, committed as the record's own writes are
    (SQLite: ``synchronous=FULL``; in WAL mode one flush of the log at the commit): the row
    is on the disk before anything read is shown, so a read that was shown is a read
    recorded, a power cut included. (Until wave 6 it committed with ``synchronous=NORMAL``,
    which left the row to the checkpoint as the connection closed, after the output: the
    same flushes in all, the process's time the same, measured, but a window in which a read
    shown could be lost.)"""
    with store.write() as conn:
        yield conn


def concern_count(conn: Conn) -> int:
    return int(conn.scalar("SELECT count(*) FROM concern") or 0)


def concern_exists(conn: Conn, concern_id: int) -> bool:
    return conn.one("SELECT 1 FROM concern WHERE id = ?", (concern_id,)) is not None


# -- reading ---------------------------------------------------------------------------------
def reads(
    conn: Conn,
    *,
    concern: int | None = None,
    by: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[Row]:
    """The audit's rows, in the order they were written: about ``concern`` (its own reads,
    and the runs that read it with others of its child's, whose ``detail`` names it), by
    ``by`` (whatever the case), at or after ``start``, before ``end``."""
    clauses: list[str] = []
    params: list[Any] = []
    if by is not None:
        clauses.append('lower("by") = lower(?)')
        params.append(by)
    if start is not None:
        clauses.append("at >= ?")
        params.append(start)
    if end is not None:
        clauses.append("at < ?")
        params.append(end)
    if concern is not None:
        clauses.append("(concern_id = ? OR (concern_id IS NULL AND detail LIKE ?))")
        params += [concern, "%concerns %"]
    clause = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    found = conn.records(
        f'SELECT id, at, "by", action, concern_id, read_count, detail FROM read_audit{clause} '
        "ORDER BY chain_seq, id",
        params,
    )
    for row in found:
        if not isinstance(row["at"], dt.datetime):  # SQLite reads an empty moment as None
            raise MalformedValue(f"audit row {row['id']}", "read_audit", "at")
    if concern is None:
        return found
    return [
        r for r in found if r["concern_id"] == concern or concern in named_concerns(r["detail"])
    ]


#: How a ``detail`` names the concerns a run read, where they are a child's few (show by
#: the child's reference, subject access): "concerns 3, 7" at its start.
CONCERNS_PREFIX = "concerns "


def concerns_detail(ids: list[int], rest: str = "") -> str:
    """A ``detail`` naming the concerns read (by id, never the child), then ``rest``."""
    named = CONCERNS_PREFIX + ", ".join(str(i) for i in sorted(ids))
    return f"{named}; {rest}" if rest else named


def named_concerns(detail: str) -> set[int]:
    """The concern ids a ``detail`` made by :func:`concerns_detail` names."""
    if not detail.startswith(CONCERNS_PREFIX):
        return set()
    ids = detail[len(CONCERNS_PREFIX) :].partition(";")[0]
    return {int(part) for part in ids.split(",") if part.strip().isdigit()}


# -- verify and keyed mode -------------------------------------------------------------------
def _links(conn: Conn) -> Iterator[Row]:
    return conn.stream("SELECT * FROM read_audit ORDER BY chain_seq, id")


def where(row: Mapping[str, Any]) -> str:
    """How verify names an audit row: by its id (never what it says)."""
    return f"audit row {row['id']}"


def verify_audit(conn: Conn, key: bytes | None = None) -> list[str]:
    """Walk the audit of reads as :func:`drp_cli.store.record.verify` walks the record
    (:class:`drp_cli.domain.chain.ChainWalk`): each row's hash against its content and the
    row before it, its MAC in keyed mode, and the head against the last row. The problems,
    each naming the audit row (or the chain position) where the audit was altered; none
    when it is intact."""
    from drp_cli.domain.chain import ChainWalk

    walk = ChainWalk(key=key)
    try:
        head = conn.record("SELECT seq, hash FROM read_audit_head WHERE id = 1")
        if head is not None and not _is_head(head):
            return ["the audit of reads: its head is not one drp writes (altered audit)"]
        for row in _links(conn):
            seq, prev = row["chain_seq"], row["prev_hash"]
            if type(seq) is not int or not _is_hash(prev) or not _is_hash(row["hash"]):
                walk.problems.append(f"{where(row)}: its chain links are not values drp "
                                     "writes (altered audit)")  # fmt: skip
                break
            if head is not None and seq > head["seq"]:
                walk.problems.append(
                    f"{where(row)} was inserted out of band: its chain position {seq} is "
                    f"past the audit's head ({head['seq']})"
                )
                break
            if not isinstance(row["at"], dt.datetime):  # SQLite reads an empty moment as None
                walk.problems.append(f"{where(row)}: its moment is not one drp writes "
                                     "(altered audit)")  # fmt: skip
                break
            walk.feed(where(row), row, audit_hash(row, seq, prev))
            if walk.broken:
                break
    except DatabaseDamaged:
        return ["the audit of reads holds a value drp never wrote (a moment that is no "
                "moment): it was altered outside drp"]  # fmt: skip
    if head is None:
        walk.problems.append("its head is missing (altered audit)")
    walk.close(head)
    return [f"the audit of reads: {problem}" for problem in walk.problems]


def count(conn: Conn) -> int:
    return int(conn.scalar("SELECT count(*) FROM read_audit") or 0)


def seal_all(conn: Conn, key: bytes) -> int:
    """Keyed mode: put the key's MAC on every audit row not yet sealed (``drp key seal``,
    after verify found the audit intact). Returns how many."""
    sealed = 0
    for row_id, digest, mac in conn.rows("SELECT id, hash, mac FROM read_audit"):
        want = seal(key, digest)
        if mac != want:
            conn.update("read_audit", row_id, {"mac": want})
            sealed += 1
    return sealed
