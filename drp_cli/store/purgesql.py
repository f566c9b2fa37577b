"""Retention, holds and purge (issue 31 item 2): the one place their SQL is written, for both
engines, through :class:`Conn`. What is due and what a tombstone holds are the domain's
(:mod:`drp_cli.domain.retention`); this reads the rows it judges and removes what it says.

A purge removes a concern's attachment rows, items, events and row (in that order: the
foreign keys), and records a tombstone (table ``purge``, migration 0012) as a link of the
record's hash chain. On SQLite the deletes run with ``secure_delete`` on, so the freed
cells are overwritten with zeros; the caller then rewrites the file (VACUUM) and empties
the write-ahead log (:meth:`drp_cli.store.connection.Store.scrub`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from drp_cli.domain.lifecycle import HOLD, HOLD_LIFTED, Fact
from drp_cli.store.connection import Conn, Row

TABLE = "purge"
#: Why a concern is held while a subject access request about its child is not yet answered.
REQUEST_HOLD = "a subject access request is not yet answered"
_AFTER_ALL = 2**62
#: What a purge removes, child tables first (their foreign keys name the concern).
PURGED_TABLES = ("attachment", "item", "event")


def _chunks(ids: Sequence[int], size: int = 500) -> Iterator[tuple[list[int], str]]:
    for i in range(0, len(ids), size):
        chunk = list(ids[i : i + size])
        yield chunk, ", ".join("?" for _ in chunk)


def closed_concerns(conn: Conn) -> list[Row]:
    """Every closed concern (resolved or withdrawn), by id: what the schedule reads."""
    return conn.records(
        "SELECT id, status, closed_on, route, role FROM concern "
        "WHERE status IN ('resolved', 'withdrawn') ORDER BY id"
    )


def is_request_hold(fact: Fact) -> bool:
    """Whether a hold :func:`hold_facts` gives is the one a subject access request not yet
    answered places (after every event), not a legal hold whose reason reads the same."""
    return fact.seq == _AFTER_ALL and fact.text == REQUEST_HOLD


def hold_facts(conn: Conn) -> dict[int, list[Fact]]:
    """The holds placed and lifted (``held``, ``hold-lifted`` events), by concern id, in the
    order recorded: what :func:`drp_cli.domain.lifecycle.replay` needs to say whether a
    concern is held (holds are never retracted). Then, after them, a hold for every concern
    about a child with a subject access request not yet answered (:data:`REQUEST_HOLD`):
    destroying data an open request covers is an offence (Data Protection Act 2018 s.173),
    so retention lists such a concern as held and a purge leaves it, whatever the legal
    holds say, until the request is marked sent."""
    out: dict[int, list[Fact]] = {}
    for cid, seq, kind, on, stage, by, text in conn.rows(
        "SELECT concern_id, seq, kind, effective_on, stage, by, text FROM event "
        "WHERE kind IN (?, ?) ORDER BY concern_id, seq",
        (HOLD, HOLD_LIFTED),
    ):
        out.setdefault(cid, []).append(Fact(seq, kind, on, stage, by, text, {}))
    for cid, on, by in conn.rows(
        "SELECT c.id, r.received_on, r.recorded_by FROM concern c "
        "JOIN subject_access_request r ON r.child = c.child WHERE r.sent_on IS NULL "
        "ORDER BY c.id, r.received_on, r.id"
    ):
        # after every event (replay folds by position): no hold lifted lifts it
        out.setdefault(cid, []).append(Fact(_AFTER_ALL, HOLD, on, "", by, REQUEST_HOLD, {}))
    return out


def event_links(conn: Conn, ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """The chain links (position, hash before, hash) of the events of concerns ``ids``."""
    out: list[tuple[int, str, str]] = []
    for chunk, marks in _chunks(ids):
        out += [
            (r[0], r[1], r[2])
            for r in conn.rows(
                f"SELECT chain_seq, prev_hash, hash FROM event WHERE concern_id IN ({marks}) "
                "AND chain_seq IS NOT NULL",
                chunk,
            )
        ]
    return sorted(out)


def counts(conn: Conn, ids: Sequence[int]) -> dict[str, int]:
    """How many rows of each table the concerns ``ids`` hold."""
    out = {table: 0 for table in PURGED_TABLES}
    for chunk, marks in _chunks(ids):
        for table in PURGED_TABLES:
            out[table] += int(
                conn.scalar(f"SELECT count(*) FROM {table} WHERE concern_id IN ({marks})", chunk)
                or 0
            )
    return out


def files_only_of(conn: Conn, ids: Sequence[int]) -> list[str]:
    """The SHA-256 of each stored file the concerns ``ids`` attach and no other concern
    does: the files a purge of them removes from the store."""
    theirs: set[str] = set()
    for chunk, marks in _chunks(ids):
        theirs |= {
            r[0]
            for r in conn.rows(
                f"SELECT DISTINCT sha256 FROM attachment WHERE concern_id IN ({marks})", chunk
            )
        }
    gone = set(ids)
    shared = set()
    for sha in sorted(theirs):
        others = [r[0] for r in conn.rows(
            "SELECT concern_id FROM attachment WHERE sha256 = ?", (sha,))]  # fmt: skip
        if any(cid not in gone for cid in others):
            shared.add(sha)
    return sorted(theirs - shared)


def requests_only_of(conn: Conn, ids: Sequence[int]) -> list[int]:
    """The subject access requests (``subject_access_request`` rows) about a subject whose
    every concern is among ``ids``: they name a reference a purge of those concerns must
    not leave behind."""
    subjects: set[str] = set()
    for chunk, marks in _chunks(ids):
        subjects |= {r[0] for r in conn.rows(
            f"SELECT DISTINCT child FROM concern WHERE id IN ({marks})", chunk)}  # fmt: skip
    gone = set(ids)
    out: list[int] = []
    for child in sorted(subjects):
        others = [r[0] for r in conn.rows("SELECT id FROM concern WHERE child = ?", (child,))]
        if all(cid in gone for cid in others):
            out += [r[0] for r in conn.rows(
                "SELECT id FROM subject_access_request WHERE child = ?", (child,))]  # fmt: skip
    return sorted(out)


def secure_delete(conn: Conn) -> None:
    """SQLite: overwrite deleted content with zeros from now on in this connection."""
    if conn.is_sqlite:
        conn.execute("PRAGMA secure_delete=ON").close()


def delete_concerns(conn: Conn, ids: Sequence[int]) -> None:
    """Remove the concerns ``ids`` with their attachment rows, items and events."""
    for chunk, marks in _chunks(ids):
        for table in PURGED_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE concern_id IN ({marks})", chunk).close()
        conn.execute(f"DELETE FROM concern WHERE id IN ({marks})", chunk).close()


def add_tombstone(conn: Conn, values: Mapping[str, Any]) -> int:
    """Record a tombstone (its chain links already in ``values``)."""
    row = dict(values)
    if not isinstance(row.get("detail"), str):
        row["detail"] = json.dumps(row["detail"], sort_keys=True, separators=(",", ":"))
    return conn.insert(TABLE, row)


def tombstones(conn: Conn) -> list[Row]:
    """Every tombstone, in chain order."""
    return conn.records(f"SELECT * FROM {TABLE} ORDER BY chain_seq")


__all__ = [
    "PURGED_TABLES",
    "REQUEST_HOLD",
    "TABLE",
    "add_tombstone",
    "closed_concerns",
    "counts",
    "delete_concerns",
    "event_links",
    "files_only_of",
    "hold_facts",
    "is_request_hold",
    "requests_only_of",
    "secure_delete",
    "tombstones",
]
