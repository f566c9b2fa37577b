"""The record: every query of drp's tables, the unit of work that appends events and keeps
every derived row equal to the fold of its events, and the verifier that proves it.

* The queries are here, written once for both engines (through
  :class:`drp_cli.store.connection.Conn`);
  no other module writes SQL.
* :class:`UnitOfWork` loads a concern for update, appends events as links of the hash
  chain, and after each one writes the concern row, its items and its attachment rows from
  :func:`drp_cli.domain.lifecycle.fold`: nothing else writes a derived field.
* Closure-day changes are links of the same chain.
* :func:`verify` streams: it walks the chain in order, then folds each concern from its
  events and compares every stored column, item and attachment row, then checks every
  attached file in the store against its SHA-256. Memory stays flat as history grows.
* Keyed mode: with a key file (owner-only, outside the database), each link also carries an
  HMAC of its hash, so someone who can write the database but cannot read the key cannot
  rewrite the chain unseen.

Writers take their locks in one order: the concern row (or, for bulk changes, the concern
table), then the chain head.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import os
import sqlite3
import stat
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from drp_cli.core.errors import DatabaseDamaged, DatabaseError, InvalidInput, NotFound, fld
from drp_cli.core.files import open_regular
from drp_cli.core.plainclass import Plain
from drp_cli.core.uids import MAX_ID
from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.chain import (
    ChainWalk,
    VerifyReport,
    closure_hash,
    commitment,
    event_hash,
    file_sha256_of,
    mac,
    new_salt,
    redacted_digest,
    staff_hash,
)
from drp_cli.domain.judgement import RANK
from drp_cli.domain.lifecycle import (
    ITEM_KINDS,
    ROW_DAYS,
    AttachmentState,
    ConcernState,
    Fact,
    ItemState,
    fold,
)
from drp_cli.store import purgesql
from drp_cli.store.connection import (
    TABLES,
    Conn,
    MalformedValue,
    Row,
    Store,
    malformed_values,
    stored_object,
)
from drp_cli.store.daily import (  # the morning check's queries, kept light
    CHAIN_ORDER,
    calendar,
    damaged_index,
    folded_filters,
)

if TYPE_CHECKING:
    from drp_cli.domain.protocols import Protocol

KEY_BYTES = 32
EVENT_FIELDS = ("concern_id", "seq", "kind", "effective_on", "stage", "from_stage", "by",
                "recorded_at", "text", "details", "imported_by", "imported_at")  # fmt: skip
EVENT_COLUMNS = (*EVENT_FIELDS, "chain_seq", "prev_hash", "hash", "mac", "salt", "content")
ITEM_COLUMNS = ("concern_id", "kind", "n", "position", "data", "added_on", "added_by",
                "done_on", "done_by", "removed_on", "removed_by")  # fmt: skip
ATTACHMENT_COLUMNS = ("concern_id", "n", "kind", "filename", "sha256", "size", "dated",
                      "description", "added_on", "added_by")  # fmt: skip
#: the columns a list of concerns can be filtered on (equality)
FILTERS = ("status", "protocol", "child", "stage", "category", "external_ref")


def check_id(concern_id: int) -> None:
    """An id no concern can have is simply not found (PostgreSQL would raise on it)."""
    if not 1 <= concern_id <= MAX_ID:
        raise NotFound(f"no concern with id {concern_id}")


# -- keys ------------------------------------------------------------------------------------
def load_key(path: str | os.PathLike[str]) -> bytes:
    """The service's chain key: a file only its owner can read, holding 32+ random bytes."""
    key_path = Path(path).expanduser()
    try:
        info = key_path.stat()
        data = key_path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"key file {key_path} does not exist (`drp key create FILE`)") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read the key file {key_path}: {exc.strerror}") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise InvalidInput(
            f"key file {key_path} can be read by other users: run `chmod 600 {key_path}`"
        )
    key = data.strip()
    if len(key) < KEY_BYTES:
        raise InvalidInput(f"key file {key_path} holds fewer than {KEY_BYTES} bytes")
    return key


def create_key(path: str | os.PathLike[str]) -> Path:
    """Write a new random key (hex, 0600); refuses to replace an existing file."""
    key_path = Path(path).expanduser()
    if not key_path.parent.is_dir():
        raise InvalidInput(f"folder {key_path.parent} does not exist")
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"{key_path} already exists; a key is never replaced") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(os.urandom(KEY_BYTES).hex() + "\n")
    return key_path


def key_from_env() -> bytes | None:
    value = os.environ.get("DRP_KEY_FILE")
    return load_key(value) if value else None


# -- reading -------------------------------------------------------------------------------
#: The days and moments every row holds (NOT NULL). SQLite's driver reads an empty value in
#: a DATE or DATETIME column as None without calling the converter that would refuse it.
REQUIRED = {
    "concern": ("stage_started_on", "opened_on", "created_at", "updated_at"),
    "event": ("effective_on", "recorded_at"),
    "item": ("added_on",),
}
#: The columns that hold one of a few words drp writes: each with the words (None: a row
#: written before the column existed). The judgement and the views look them up.
WORDS: dict[str, dict[str, Container[Any]]] = {
    "concern": dict.fromkeys(("deadline_kind", "formal_deadline_kind", "step_deadline_kind"), RANK),
    "event": {},
    "item": {"kind": ITEM_KINDS},
}


#: The concern's days that may be absent (NULL). On SQLite a day stored as '' (or as an
#: empty BLOB, which SQLite gives to no converter) reads as None too ("no deadline"), where
#: the morning check and list's table, which read days as text, refuse it: the whole read
#: asks SQLite, in the same query, whether a row holds one (``length`` is 0 for both, NULL
#: for NULL).
OPTIONAL_DAYS = tuple(day for day in ROW_DAYS if day not in REQUIRED["concern"])
_EMPTY_DAY = "drp_empty_day"
_EMPTY_TESTS = ", ".join(f"length({column}) = 0" for column in OPTIONAL_DAYS)
_EMPTY_ANY = " OR ".join(f"length({column}) = 0" for column in OPTIONAL_DAYS)


def _concern_rows(conn: Conn) -> str:
    """``SELECT * FROM concern``, on SQLite with whether the row holds an empty day."""
    if not conn.is_sqlite:  # a PostgreSQL date column holds no ''
        return "SELECT * FROM concern"
    return f"SELECT *, ({_EMPTY_ANY}) AS {_EMPTY_DAY} FROM concern"


def _no_empty_days(conn: Conn, rows: list[Row]) -> list[Row]:
    """``rows`` read by :func:`_concern_rows`, or :class:`MalformedValue` naming the first
    row that holds an empty day and the column."""
    for row in rows:
        if row.pop(_EMPTY_DAY, None):
            flags = conn.one(f"SELECT {_EMPTY_TESTS} FROM concern WHERE id = ?", (row["id"],))
            column = next((c for c, f in zip(OPTIONAL_DAYS, flags or (), strict=False) if f),
                          "deadline")  # fmt: skip
            raise MalformedValue(f"concern {row['id']}", "concern", column)
    return rows


def whole(rows: list[Row], table: str) -> list[Row]:
    """``rows`` of ``table``, each with every day it must hold (:data:`REQUIRED`) and only
    words drp writes where it holds one of a few (:data:`WORDS`), or
    :class:`MalformedValue` naming its concern and the column."""
    words = WORDS[table].items()
    for row in rows:
        for column in REQUIRED[table]:
            if row.get(column, True) is None:
                break
        else:
            column = next((c for c, allowed in words if row.get(c) not in allowed), "")
            if not column:
                continue
        cid = row["id"] if table == "concern" else row["concern_id"]
        raise MalformedValue(f"concern {cid}", table, column)
    if table == "event" and rows and set(map(type, map(itemgetter("kind"), rows))) != {str}:
        bad = next(row for row in rows if type(row["kind"]) is not str)  # a BLOB, a number
        raise MalformedValue(f"concern {bad['concern_id']}", "event", "kind")
    return rows


def concern(conn: Conn, concern_id: int, *, lock: bool = False) -> Row | None:
    """A concern row (locked until commit on PostgreSQL with ``lock``)."""
    check_id(concern_id)
    sql = _concern_rows(conn) + " WHERE id = ?"
    if lock and not conn.is_sqlite:
        sql += " FOR UPDATE"
    found = _no_empty_days(conn, whole(conn.records(sql, (concern_id,)), "concern"))
    return found[0] if found else None


def events_of(conn: Conn, concern_id: int) -> list[Row]:
    return whole(conn.records("SELECT * FROM event WHERE concern_id = ? ORDER BY seq",
                              (concern_id,)), "event")  # fmt: skip


def concerns_by_ref(conn: Conn, refs: Sequence[str]) -> dict[str, Row]:
    """The concern rows holding these external references, by reference."""
    found: dict[str, Row] = {}
    for chunk, marks in _in_chunks(list(refs)):
        sql = f"{_concern_rows(conn)} WHERE external_ref IN ({marks})"
        for r in _no_empty_days(conn, conn.records(sql, chunk)):
            found[r["external_ref"]] = r
    return found


def _in_chunks(values: Sequence[Any], size: int = 500) -> Iterator[tuple[list[Any], str]]:
    """``values`` a chunk at a time, each with its ``?, ?, ...`` for an ``IN (...)``."""
    for i in range(0, len(values), size):
        chunk = list(values[i : i + size])
        yield chunk, ", ".join("?" for _ in chunk)


def events_for(conn: Conn, ids: Sequence[int]) -> dict[int, list[Row]]:
    """The events of many concerns, by concern id, in order."""
    found: dict[int, list[Row]] = {}
    for chunk, marks in _in_chunks(ids):
        for e in whole(conn.records(
            f"SELECT * FROM event WHERE concern_id IN ({marks}) ORDER BY concern_id, seq", chunk
        ), "event"):  # fmt: skip
            found.setdefault(e["concern_id"], []).append(e)
    return found


#: a case-folded substring of the summary, the outcome, or the text of a note or response
_SEARCH = (
    "(lower(summary) LIKE lower(?) ESCAPE '\\' "
    "OR lower(coalesce(outcome, '')) LIKE lower(?) ESCAPE '\\' "
    "OR EXISTS (SELECT 1 FROM event e WHERE e.concern_id = concern.id "
    "AND e.kind IN ('note', 'response') AND lower(e.text) LIKE lower(?) ESCAPE '\\'))"
)


def like_pattern(text: str) -> str:
    """``text`` anywhere, as a LIKE pattern (its ``%``, ``_`` and ``\\`` taken as they are)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def concerns(
    conn: Conn,
    where: Mapping[str, Any],
    *,
    folded: Mapping[str, str] | None = None,
    search: str | None = None,
    opened_from: dt.date | None = None,
    opened_to: dt.date | None = None,
    firm_before: dt.date | None = None,
) -> list[Row]:
    """Concern rows, by id: equal to ``where`` on the :data:`FILTERS` columns, to ``folded``
    on the :data:`TEXT_FILTERS` columns whatever the case; with ``search`` in the summary,
    the outcome or a note's or response's text (whatever the case: the caller leaves out
    retracted events); opened from ``opened_from`` to ``opened_to``; open with a firm
    deadline before ``firm_before``."""
    unknown = set(where) - set(FILTERS)
    if unknown:
        raise ValueError(f"cannot filter concerns on {sorted(unknown)}")
    names = [n for n in FILTERS if n in where]
    clauses = [f"{n} = ?" for n in names]
    params: list[Any] = [where[n] for n in names]
    folded = dict(folded or {})
    clauses += folded_filters(list(folded))
    params += list(folded.values())
    if search is not None:
        clauses.append(_SEARCH)
        params += [like_pattern(search)] * 3
    if opened_from is not None:
        clauses.append("opened_on >= ?")
        params.append(opened_from)
    if opened_to is not None:
        clauses.append("opened_on <= ?")
        params.append(opened_to)
    if firm_before is not None:
        # every open concern, each judged by the caller (the tracker's passed_by_kind): a
        # deadline or kind drp never wrote is then an error, never a concern left out; and
        # the morning check's own test of the indexes and deadlines first
        from drp_cli.store.daily import check_indexes

        check_indexes(conn)
        clauses.append("status = 'open'")
    clause = " AND ".join(clauses)
    sql = _concern_rows(conn) + (f" WHERE {clause}" if clause else "") + " ORDER BY id"
    return _no_empty_days(conn, whole(conn.records(sql, params), "concern"))


def items_of(conn: Conn, concern_id: int, kind: str | None = None) -> list[Row]:
    """A concern's item rows (actions in priority order), optionally of one kind."""
    sql = "SELECT * FROM item WHERE concern_id = ?"
    params: list[Any] = [concern_id]
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    return whole(conn.records(sql + " ORDER BY kind, position, n", params), "item")


def attachments_of(conn: Conn, concern_id: int) -> list[Row]:
    return conn.records("SELECT * FROM attachment WHERE concern_id = ? ORDER BY n", (concern_id,))


# -- the child as a unit -------------------------------------------------------------------
class ChildConcern(NamedTuple):
    """A concern as the child's other concerns are listed: what it is known by."""

    id: int
    child: str
    protocol: str
    route: str | None
    status: str
    stage: str


def child_concerns(conn: Conn, children: Sequence[str]) -> list[ChildConcern]:
    """Every concern (any status) whose reference is one of ``children``, exactly as
    stored, by id. (Which of them are about the same subject, a child or a foster carer
    household, the protocol's route says.)"""
    found: list[ChildConcern] = []
    for chunk, marks in _in_chunks(sorted(set(children))):
        found += map(ChildConcern._make, conn.rows(
            "SELECT id, child, protocol, route, status, stage FROM concern "
            f"WHERE child IN ({marks})", chunk))  # fmt: skip
    return sorted(found)


def child_items(conn: Conn, child: str, kinds: Sequence[str] | None = None) -> list[Row]:
    """The item rows of every concern whose reference is ``child`` (any status), optionally
    of some kinds: by concern, kind, position and number."""
    sql = "SELECT i.* FROM item i JOIN concern c ON c.id = i.concern_id WHERE c.child = ?"
    params: list[Any] = [child]
    if kinds is not None:
        if not kinds:
            return []
        sql += f" AND i.kind IN ({', '.join('?' for _ in kinds)})"
        params += list(kinds)
    return whole(conn.records(sql + " ORDER BY i.concern_id, i.kind, i.position, i.n", params),
                 "item")  # fmt: skip


def child_attachments(conn: Conn, child: str) -> list[Row]:
    """The attachment rows of every concern whose reference is ``child``, by concern and
    number."""
    return conn.records(
        "SELECT a.* FROM attachment a JOIN concern c ON c.id = a.concern_id "
        "WHERE c.child = ? ORDER BY a.concern_id, a.n",
        (child,),
    )


def concerns_with_wishes(conn: Conn, children: Sequence[str]) -> set[int]:
    """The ids of the concerns, among those whose reference is one of ``children``, that
    hold wishes and feelings recorded and not removed."""
    found: set[int] = set()
    for chunk, marks in _in_chunks(sorted(set(children))):
        found.update(r[0] for r in conn.rows(
            "SELECT DISTINCT c.id FROM concern c JOIN item i ON i.concern_id = c.id "
            f"WHERE c.child IN ({marks}) AND i.kind = 'wishes' AND i.removed_on IS NULL",
            chunk))  # fmt: skip
    return found


#: What :func:`completion_values` offers: open concerns' ids, or owners and staff names.
COMPLETION_KINDS = ("concern", "owner")


def completion_values(conn: Conn, kind: str, prefix: str) -> list[tuple[str, str]]:
    """The values a shell may offer for ``kind`` that start with ``prefix``, each with a
    short help, in one short query: ``concern``, the ids of open concerns with their
    protocol and stage (never the child); ``owner``, the concerns' owners and the staff
    directory's names."""
    if kind == "concern":
        if prefix and not (prefix.isascii() and prefix.isdigit()):
            return []
        rows = conn.rows(
            "SELECT id, protocol, stage FROM concern WHERE status = 'open' "
            "AND CAST(id AS TEXT) LIKE ? ORDER BY id",
            (prefix + "%",),
        )
        return [(str(i), f"{protocol} {stage}") for i, protocol, stage in rows]
    if kind == "owner":
        rows = conn.rows(
            "SELECT owner FROM concern WHERE owner IS NOT NULL UNION SELECT name FROM staff"
        )
        return [(name, "") for name in sorted({r[0] for r in rows}) if name.startswith(prefix)]
    raise ValueError(f"no completion for {kind!r}; kinds: {', '.join(COMPLETION_KINDS)}")


def known(conn: Conn, column: str, values: Sequence[str]) -> set[str]:
    """Which of ``values`` the database holds in the concern column ``column`` (external_ref
    or uid)."""
    if column not in ("external_ref", "uid"):
        raise ValueError(column)
    found: set[str] = set()
    for chunk, marks in _in_chunks(values):
        found.update(r[0] for r in conn.rows(
            f"SELECT {column} FROM concern WHERE {column} IN ({marks})", chunk))  # fmt: skip
    return found


def table_rows(conn: Conn, table: str) -> Iterator[Row]:
    """Every row of one of drp's tables, by id (streamed)."""
    if table not in TABLES:
        raise ValueError(table)
    return conn.stream(f"SELECT * FROM {table} ORDER BY id")


def is_empty(conn: Conn) -> bool:
    """No concern, event or closure change: a database a backup may be restored into."""
    return not any(conn.scalar(f"SELECT count(*) FROM {name}")
                   for name in ("concern", "event", "closure_change"))  # fmt: skip


def restore_rows(conn: Conn, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Put back a backed-up table's rows as they were (ids included); the chain head's one
    row replaces the new database's."""
    if table not in TABLES:
        raise ValueError(table)
    if table in ("chain_head", "read_audit", "read_audit_head", "subject_access_head"):
        conn.execute(f"DELETE FROM {table}").close()
    if not rows:
        return
    names = list(rows[0])
    conn.insert_many(table, names, [[r.get(n) for n in names] for r in rows])
    if not conn.is_sqlite and table != "chain_head":  # the id sequence moves past them
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT max(id) FROM {table}))").close()  # fmt: skip


#: The tables whose rows are links of the chain (``purge``: the tombstones purges leave).
CHAIN_TABLES = ("event", "closure_change", "staff", purgesql.TABLE)


def chain_links(conn: Conn, table: str) -> list[tuple[int, str, str | None]]:
    """(id, hash, mac) of every link in an event, closure-change, staff or purge table."""
    if table not in CHAIN_TABLES:
        raise ValueError(table)
    return [(r[0], r[1], r[2]) for r in conn.rows(f"SELECT id, hash, mac FROM {table}")]


def set_mac(conn: Conn, table: str, row_id: int, seal: str) -> None:
    if table not in CHAIN_TABLES:
        raise ValueError(table)
    conn.update(table, row_id, {"mac": seal})


# -- the rows the fold gives ---------------------------------------------------------------------
def item_row(concern_id: int, it: ItemState) -> tuple[Any, ...]:
    """An item's row as the fold gives it, in :data:`ITEM_COLUMNS` order."""
    return (concern_id, it.kind, it.n, it.position, json.dumps(it.data, sort_keys=True),
            it.added_on, it.added_by, it.done_on, it.done_by, it.removed_on,
            it.removed_by)  # fmt: skip


def attachment_row(concern_id: int, a: AttachmentState) -> tuple[Any, ...]:
    """An attachment's row as the fold gives it, in :data:`ATTACHMENT_COLUMNS` order."""
    return (concern_id, a.n, a.kind, a.filename, a.sha256, a.size, a.dated, a.description,
            a.added_on, a.added_by)  # fmt: skip


# -- events as the fold reads them -------------------------------------------------------------
def event_details(e: Mapping[str, Any]) -> dict[str, Any]:
    """A stored event's details (a JSON object); :class:`MalformedValue` if they are not one."""
    return stored_object(e["details"], f"concern {e.get('concern_id')}", "event", "details")


def item_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored item's data (a JSON object); :class:`MalformedValue` if it is not one."""
    return stored_object(row["data"], f"concern {row.get('concern_id')}", "item", "data")


def fact(e: Mapping[str, Any]) -> Fact:
    """A stored event (a row) as a :class:`Fact`."""
    details = event_details(e)
    return Fact(
        seq=e["seq"],
        kind=e["kind"],
        effective_on=e["effective_on"],
        stage=e["stage"],
        by=e["by"],
        text=e["text"] or "",
        details=details,
    )


class Loaded(Plain):
    """A concern loaded for update: its row, its events, and the fold of them."""

    row: Row
    events: list[Row]
    state: ConcernState
    #: the transaction it was loaded in (what the result of a write reads the child from)
    conn: Conn | None

    _fields = (
        "row",
        "events",
        "state",
        "conn",
    )
    _compared = (
        "row",
        "events",
        "state",
    )

    def __init__(
        self,
        row: Row,
        events: list[Row],
        state: ConcernState,
        conn: Conn | None = None,
    ) -> None:
        self.row = row
        self.events = events
        self.state = state
        self.conn = conn

    @property
    def id(self) -> int:
        return int(self.row["id"])

    def facts(self) -> list[Fact]:
        return [fact(e) for e in self.events]


def _refused_row(exc: Exception) -> bool:
    """Whether the database refused a row for its constraints (either engine's driver)."""
    import sys

    psycopg = sys.modules.get("psycopg")
    return isinstance(exc, sqlite3.IntegrityError) or (
        psycopg is not None and isinstance(exc, psycopg.IntegrityError)
    )


class UnitOfWork(Plain):
    """One write transaction. Use through :meth:`drp_cli.services.tracker.Tracker.unit_of_work`."""

    conn: Conn
    protocols: Mapping[str, Protocol]
    calendar: WorkingCalendar
    now: dt.datetime
    key: bytes | None
    _head: Row | None

    _fields = (
        "conn",
        "protocols",
        "calendar",
        "now",
        "key",
        "_head",
    )

    def __init__(
        self,
        conn: Conn,
        protocols: Mapping[str, Protocol],
        calendar: WorkingCalendar,
        now: dt.datetime,
        key: bytes | None = None,
        _head: Row | None = None,
    ) -> None:
        self.conn = conn
        self.protocols = protocols
        self.calendar = calendar
        self.now = now
        self.key = key
        self._head = _head

    # -- the chain --------------------------------------------------------------------------
    def chain_head(self) -> Row:
        """The last link (locked until commit on PostgreSQL)."""
        if self._head is None:
            sql = "SELECT seq, hash FROM chain_head WHERE id = 1"
            head = self.conn.record(sql if self.conn.is_sqlite else sql + " FOR UPDATE")
            if head is None:
                raise DatabaseError("the database has no chain head: run `drp verify`")
            self._head = head
        return self._head

    def move_head(self, seq: int, digest: str) -> None:
        head = self.chain_head()
        head.seq, head.hash = seq, digest
        self.conn.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1",
                          (seq, digest)).close()  # fmt: skip

    def link(self, digest_of: Callable[[int, str], str]) -> dict[str, Any]:
        """The next position of the chain for a link whose hash ``digest_of(seq, prev)``
        gives: its chain_seq, prev_hash, hash and (keyed) mac. Moves the head."""
        head = self.chain_head()
        seq, prev = head.seq + 1, head.hash
        digest = digest_of(seq, prev)
        self.move_head(seq, digest)
        return {
            "chain_seq": seq,
            "prev_hash": prev,
            "hash": digest,
            "mac": mac(self.key, digest) if self.key is not None else None,
        }

    # -- concerns ----------------------------------------------------------------------------
    def load(self, concern_id: int, *, lock: bool = True) -> Loaded:
        """The concern row (locked until commit on PostgreSQL; SQLite's BEGIN IMMEDIATE
        already serialises writers) with its events and their fold."""
        row = concern(self.conn, concern_id, lock=lock)
        if row is None:
            raise NotFound(f"no concern with id {concern_id}")
        events = events_of(self.conn, concern_id)
        state = fold([fact(e) for e in events], self.protocols, self.calendar,
                     where=f"concern {concern_id}")  # fmt: skip
        return Loaded(row, events, state, self.conn)

    def create(self, opening: Fact) -> Loaded:
        """A new concern row for an opening event (written next by :meth:`append`)."""
        state = fold([opening], self.protocols, self.calendar)
        values = {**state.row(), "event_count": 0, "created_at": self.now,
                  "updated_at": self.now}  # fmt: skip
        row_id = self.conn.insert("concern", values)
        return Loaded(Row(values, id=row_id), [], state, self.conn)

    def append(
        self,
        loaded: Loaded,
        kind: str,
        on: dt.date,
        by: str,
        *,
        stage: str | None = None,
        from_stage: str | None = None,
        text: str = "",
        details: Mapping[str, Any] | None = None,
        recorded_at: dt.datetime | None = None,
        imported_by: str | None = None,
    ) -> Row:
        """Append one event (a link of the chain) and bring the concern's rows up to the
        fold of all its events."""
        event = Row(
            concern_id=loaded.id,
            seq=len(loaded.events) + 1,
            kind=kind,
            effective_on=on,
            stage=stage or loaded.row["stage"],
            from_stage=from_stage,
            by=by,
            recorded_at=recorded_at or self.now,
            text=text,
            details=json.dumps(dict(details or {}), sort_keys=True),
            imported_by=imported_by,
            imported_at=self.now if imported_by is not None else None,
            salt=new_salt(),
        )
        event["content"] = commitment(event["salt"], text, event["details"])
        event.update(self.link(lambda seq, prev: event_hash(event, seq, prev)))
        event["id"] = self.conn.insert("event", event)
        loaded.events.append(event)
        self.refold(loaded)
        return event

    def refold(self, loaded: Loaded) -> None:
        """Write the concern row, items and attachment rows from the fold of its events."""
        state = fold(loaded.facts(), self.protocols, self.calendar)
        loaded.state = state
        values = {**state.row(), "updated_at": self.now}
        loaded.row.update(values)
        try:
            self.conn.update("concern", loaded.id, values)
        except Exception as exc:
            if not _refused_row(exc):
                raise
            # events drp never wrote (an opening event's kind changed) fold into no concern
            raise DatabaseDamaged(
                f"concern {loaded.id}: its events do not make a concern drp could have "
                "recorded (a NOT NULL column would be empty)"
            ) from None
        if state.items or state.attachments or state.retracted:
            self._sync_documents(loaded.id, state)

    def _sync_documents(self, concern_id: int, state: ConcernState) -> None:
        conn = self.conn
        items = {(r["kind"], r["n"]): r["id"] for r in items_of(conn, concern_id)}
        self._upsert("item", ITEM_COLUMNS, items, {
            key: item_row(concern_id, it) for key, it in state.items.items()})  # fmt: skip
        files = {r["n"]: r["id"] for r in attachments_of(conn, concern_id)}
        self._upsert("attachment", ATTACHMENT_COLUMNS, files, {
            n: attachment_row(concern_id, a) for n, a in state.attachments.items()})  # fmt: skip

    def _upsert(self, table: str, columns: Sequence[str], stored: Mapping[Any, int],
                rows: Mapping[Any, Sequence[Any]]) -> None:  # fmt: skip
        """Write each folded row: an update where ``stored`` has its key, else an insert; a
        stored row the fold no longer implies (its event was retracted) is deleted."""
        for key in set(stored) - set(rows):
            self.conn.execute(f"DELETE FROM {table} WHERE id = ?", (stored[key],)).close()
        for key, row in rows.items():
            values = dict(zip(columns, row, strict=True))
            if key in stored:
                self.conn.update(table, stored[key], values)
            else:
                self.conn.insert(table, values)

    # -- many concerns at once -------------------------------------------------------------
    def lock_concerns(self) -> None:
        """Before a change that touches many concerns: the concern table, then the head."""
        if not self.conn.is_sqlite:
            self.conn.execute("LOCK TABLE concern IN EXCLUSIVE MODE").close()
            self.calendar = calendar(self.conn)  # as it stands under the lock

    def refold_deadlines_from(self, day: dt.date) -> None:
        """After the calendar changed from ``day`` on: fold again every concern (open or
        closed) whose stage or formal deadline falls on or after it, the only ones whose
        deadlines can move."""
        ids = [r[0] for r in self.conn.rows(
            "SELECT id FROM concern WHERE deadline >= ? OR formal_deadline >= ? "
            "OR step_deadline >= ? ORDER BY id", (day, day, day))]  # fmt: skip
        for cid in ids:
            self.refold(self.load(cid))

    def add_closure_change(self, day: dt.date, action: str, reason: str, by: str) -> None:
        fields = {"day": day, "action": action, "reason": reason, "by": by,
                  "recorded_at": self.now}  # fmt: skip
        links = self.link(lambda seq, prev: closure_hash(fields, seq, prev))
        self.conn.insert("closure_change", {**fields, **links})

    def chain_unlinked_closures(self) -> int:
        """Make links of closure changes recorded before they were part of the chain (an
        upgraded database). Returns how many."""
        rows = self.conn.records("SELECT * FROM closure_change WHERE chain_seq IS NULL ORDER BY id")
        for change in rows:
            fields = {name: change[name] for name in ("day", "action", "reason", "by",
                                                      "recorded_at")}  # fmt: skip
            links = self.link(lambda seq, prev, f=fields: closure_hash(f, seq, prev))  # type: ignore[misc]
            self.conn.update("closure_change", change["id"], links)
        return len(rows)

    # -- the staff directory ---------------------------------------------------------------
    def add_staff(self, values: Mapping[str, Any]) -> None:
        """A staff-directory entry, as a link of the chain."""
        fields = {name: values.get(name) for name in STAFF_COLUMNS}
        links = self.link(lambda seq, prev: staff_hash(fields, seq, prev))
        self.conn.insert("staff", {**fields, **links})

    def chain_unlinked_staff(self) -> int:
        """Make links of staff entries added before the directory was part of the chain (a
        database upgraded from before schema 0009). Returns how many."""
        rows = self.conn.records("SELECT * FROM staff WHERE chain_seq IS NULL ORDER BY id")
        for entry in rows:
            fields = {name: entry[name] for name in STAFF_COLUMNS}
            links = self.link(lambda seq, prev, f=fields: staff_hash(f, seq, prev))  # type: ignore[misc]
            self.conn.update("staff", entry["id"], links)
        return len(rows)

    def redact(self, loaded: Loaded, event: Row, text: str, details: Mapping[str, Any],
               fields: Sequence[str], reason: str, by: str, on: dt.date) -> Row:  # fmt: skip
        """Replace an event's text and details with their redacted form, drop its salt, and
        append the ``redacted`` event that vouches for the row as it now reads (see
        :mod:`drp_cli.domain.chain`). The only change drp ever makes to a recorded event."""
        new = Row({**event, "text": text, "salt": None,
                   "details": json.dumps(dict(details), sort_keys=True)})  # fmt: skip
        after = redacted_digest(new, event["chain_seq"], event["prev_hash"])
        self.conn.update("event", event["id"], {"text": new["text"], "details": new["details"],
                                                "salt": None})  # fmt: skip
        event.update(new)
        return self.append(
            loaded, "redacted", on, by, text=reason,
            details={"seq": event["seq"], "fields": list(fields), "before": event["hash"],
                     "after": after, "committed": event.get("content") is not None},
        )  # fmt: skip

    def concern_ids(self) -> list[int]:
        return [r[0] for r in self.conn.rows("SELECT id FROM concern ORDER BY id")]

    def next_concern_id(self) -> int:
        return int(self.conn.scalar("SELECT max(id) FROM concern") or 0) + 1

    def concern_ids_given(self, last: int) -> None:
        """After rows were inserted with ids given here: PostgreSQL's sequence moves on."""
        if not self.conn.is_sqlite:
            self.conn.execute("SELECT setval(pg_get_serial_sequence('concern', 'id'), ?)",
                              (last,)).close()  # fmt: skip


# -- the staff directory ---------------------------------------------------------------------
STAFF_COLUMNS = ("name", "key", "email", "team", "role", "added_by", "added_at")


def staff(conn: Conn) -> list[Row]:
    return conn.records("SELECT * FROM staff ORDER BY key")


def known_names(conn: Conn, column: str) -> list[str]:
    """Every name ``column`` (owner or team) may be filtered on: the concerns' own (any
    status) and the staff directory's (its names for owner, its teams for team)."""
    if column not in ("owner", "team"):
        raise ValueError(column)
    staff_column = "name" if column == "owner" else "team"
    rows = conn.rows(
        f"SELECT DISTINCT {column} FROM concern WHERE {column} IS NOT NULL UNION "
        f"SELECT {staff_column} FROM staff WHERE {staff_column} IS NOT NULL"
    )
    return sorted({r[0] for r in rows})


def staff_where(row: Mapping[str, Any]) -> str:
    """How verify names a staff entry: by its key (the folded name), never its address."""
    return f"staff entry {row['key']!r}"


# -- verify ------------------------------------------------------------------------------------
def _chain_rows(conn: Conn, table: str, where: Callable[[Mapping[str, Any]], str],
                digest: Callable[[Mapping[str, Any], int, str], str],
                ) -> Iterator[tuple[float, str, Mapping[str, Any], str | None]]:  # fmt: skip
    """One table's links in chain order as (position, where, row, recomputed hash); a row
    outside the chain (no chain_seq) comes last, with no hash."""
    for row in conn.stream(f"SELECT * FROM {table} {CHAIN_ORDER}"):
        seq, prev = row["chain_seq"], row["prev_hash"]
        in_chain = seq is not None and prev is not None
        yield (seq if seq is not None else float("inf"), where(row), row,
               digest(row, seq, prev) if in_chain else None)  # fmt: skip


ALTERED = "altered"  # a digest no link has: the row no longer matches what it committed to


def redactions(conn: Conn) -> dict[tuple[int, int], Mapping[str, Any]]:
    """The latest redaction of each redacted event, by (concern id, seq): its ``before``
    and ``after`` digests."""
    out: dict[tuple[int, int], Mapping[str, Any]] = {}
    for cid, _seq, raw in conn.rows(
        "SELECT concern_id, seq, details FROM event WHERE kind = 'redacted' ORDER BY seq"
    ):
        try:
            d = json.loads(raw or "{}")
        except ValueError:
            continue  # the row itself fails its own check
        # an imported redaction carries no digests (its row was hashed afresh on import)
        if isinstance(d, dict) and type(d.get("seq")) is int and "after" in d:
            out[(cid, d["seq"])] = d
    return out


def event_digest(
    redacted: Mapping[tuple[int, int], Mapping[str, Any]],
) -> Callable[[Mapping[str, Any], int, str], str]:
    """The hash a stored event row should have: recomputed from its content, checked against
    its salted commitment, or, for a redacted row, checked against its redaction's digest."""

    def digest(row: Mapping[str, Any], chain_seq: int, prev: str) -> str:
        redaction = redacted.get((row["concern_id"], row["seq"]))
        if redaction is not None:
            if redacted_digest(row, chain_seq, prev) != redaction.get("after"):
                return ALTERED
            if row.get("content") is None and redaction.get("committed"):
                return ALTERED  # its commitment was taken away
            if row.get("content") is None:  # recorded before commitments: the link stands
                return str(row["hash"]) if row["hash"] == redaction.get("before") else ALTERED
            if row.get("salt") is not None:  # a redacted row keeps no salt
                return ALTERED
            return event_hash(row, chain_seq, prev)
        if row.get("content") is not None and (
            row.get("salt") is None
            or commitment(row["salt"], row["text"], row["details"]) != row["content"]
        ):
            return ALTERED
        return event_hash(row, chain_seq, prev)

    return digest


#: The schema revision from which each table's rows are links of the chain (its chain
#: columns came with it; ``Tracker.upgrade`` links the rows of a database brought past it).
CHAINED_FROM = {"event": "0002", "closure_change": "0005", "staff": "0009", "purge": "0012"}
#: The schema revision from which the stored concern rows follow today's lifecycle rule (0008
#: changed it: ``Tracker.upgrade`` folds every concern of a database brought past it again).
FOLDED_FROM = "0008"
#: The schema revision of the audit of reads (its own chain, which ``drp verify`` walks).
AUDITED_FROM = "0011"
#: The schema revision from which subject access requests are links of a chain of their own.
REQUESTS_CHAINED_FROM = "0013"


def _chained(table: str, revision: str | None) -> bool:
    """Whether ``table``'s rows are links of the chain at ``revision`` (None: this drp's)."""
    return revision is None or revision >= CHAINED_FROM[table]


Link = tuple[float, str, Mapping[str, Any], str | None]


def event_where(row: Mapping[str, Any]) -> str:
    """How verify names an event: by its id, its concern's and its entry number."""
    return f"event {row['id']} (concern {row['concern_id']}, entry {row['seq']})"


def _links(conn: Conn, revision: str | None = None) -> Iterator[Link]:
    """Every link of the chain, events and the other tables' links merged in chain order; at
    an older schema ``revision``, only the tables chained at it."""
    side = _side_links(conn, revision)
    if not _chained("event", revision):
        return side
    events = _chain_rows(conn, "event", event_where, event_digest(redactions(conn)))
    return heapq.merge(events, side, key=lambda link: link[0])


def _side_links(conn: Conn, revision: str | None = None) -> Iterator[Link]:
    """The links of the chain that are not events (closure changes, staff entries, purge
    tombstones), merged in chain order: both walks of ``drp verify`` (:func:`_walk_chain`
    and :mod:`drp_cli.store.fastverify`) take them from here, so a table chained later is
    added here once."""
    closures = _chain_rows(
        conn, "closure_change",
        lambda row: f"closure change {row['id']} ({row['action']} {row['day']})",
        closure_hash,
    )  # fmt: skip
    staff = _chain_rows(conn, "staff", staff_where, staff_hash)
    from drp_cli.domain.retention import tombstone_hash  # only where the chain is walked

    purges = _chain_rows(
        conn, purgesql.TABLE,
        lambda row: f"purge {row['id']} (the tombstone of {row['purged_on']})",
        tombstone_hash,
    )  # fmt: skip
    tables = {"closure_change": closures, "staff": staff, "purge": purges}
    return heapq.merge(*(rows for table, rows in tables.items() if _chained(table, revision)),
                       key=lambda link: link[0])  # fmt: skip


def _grouped(rows: Iterator[Mapping[str, Any]]) -> Iterator[tuple[int, list[Mapping[str, Any]]]]:
    """Rows ordered by concern_id, a concern at a time."""
    current: int | None = None
    group: list[Mapping[str, Any]] = []
    for row in rows:
        if row["concern_id"] != current:
            if current is not None:
                yield current, group
            current, group = row["concern_id"], []
        group.append(row)
    if current is not None:
        yield current, group


class _Cursor:
    """Steps through one stream grouped by concern id, alongside the concerns."""

    def __init__(self, rows: Iterator[Mapping[str, Any]]) -> None:
        self._groups = _grouped(rows)
        self._next: tuple[int, list[Mapping[str, Any]]] | None = next(self._groups, None)
        self.orphans: list[int] = []

    def take(self, concern_id: int) -> list[Mapping[str, Any]]:
        while self._next is not None and self._next[0] < concern_id:
            self.orphans.append(self._next[0])
            self._next = next(self._groups, None)
        if self._next is not None and self._next[0] == concern_id:
            rows = self._next[1]
            self._next = next(self._groups, None)
            return rows
        return []

    def rest(self) -> list[int]:
        while self._next is not None:
            self.orphans.append(self._next[0])
            self._next = next(self._groups, None)
        return self.orphans


_ITEM_DATA = ITEM_COLUMNS.index("data")


def _comparable_item(values: Sequence[Any]) -> tuple[Any, ...]:
    """An item row with its data as the object it encodes (its JSON text may be spelled in
    more than one way)."""
    out = list(values)
    out[_ITEM_DATA] = stored_object(out[_ITEM_DATA], f"concern {out[0]}", "item", "data")
    return tuple(out)


def _compare(problem: Callable[[str], None], cid: int, expected: Mapping[Any, Any],
             stored: Mapping[Any, Any], name: Callable[[Any], str],
             row: Callable[[Any], str]) -> None:  # fmt: skip
    """Report rows deleted, added out of band, or unlike what the events imply."""
    for key in sorted(set(expected) | set(stored)):
        if key not in stored:
            problem(f"concern {cid}: {row(key)} was deleted")
        elif key not in expected:
            problem(f"concern {cid}: {name(key)} was added out of band")
        elif stored[key] != expected[key]:
            problem(f"concern {cid}: {row(key)} does not match its events")


def _item_name(key: tuple[str, int]) -> str:
    return f"{key[0]} {key[1]}"


def _file_sha256(path: Path) -> str | None:
    """The SHA-256 of a stored file; None when it is missing; ``filestore.NOT_REGULAR``
    when something else is in its place (a FIFO would hang the read, a device such as /dev/zero
    never end it; a link points out of the store), found before a byte is read, as the
    bundle refuses it."""
    from drp_cli.store.filestore import NOT_REGULAR

    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return NOT_REGULAR
        fd = open_regular(path, what="the stored file", limit=2**62)
    except InvalidInput:
        return NOT_REGULAR
    except OSError:
        return None
    with open(fd, "rb") as fh:
        return file_sha256_of(fh)


class VerifyOptions(Plain):
    key: bytes | None
    expect: tuple[int, str] | None
    attachments_dir: Path | None
    #: the key the stored files are encrypted with (the database's; None: plain files)
    files_key: bytes | None
    problems_limit: int
    seen_files: set[str]
    #: an older schema revision the database is still at (before ``drp db upgrade``): only
    #: what that schema holds is checked (the tables chained at it; the concerns' rows from
    #: :data:`FOLDED_FROM` on); None: this drp's schema, everything
    revision: str | None

    _fields = (
        "key",
        "expect",
        "attachments_dir",
        "files_key",
        "problems_limit",
        "seen_files",
        "revision",
    )

    def __init__(
        self,
        key: bytes | None = None,
        expect: tuple[int, str] | None = None,
        attachments_dir: Path | None = None,
        files_key: bytes | None = None,
        problems_limit: int = 200,
        seen_files: set[str] | None = None,
        revision: str | None = None,
    ) -> None:
        self.key = key
        self.expect = expect
        self.attachments_dir = attachments_dir
        self.files_key = files_key
        self.problems_limit = problems_limit
        self.seen_files = set() if seen_files is None else seen_files
        self.revision = revision


def parse_expect(value: str) -> tuple[int, str]:
    """``SEQ:HASH`` as ``drp verify`` prints the head."""
    seq_text, _, digest = value.strip().partition(":")
    if (
        not seq_text.isdigit()
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise InvalidInput(f"{fld('expect')} takes SEQ:HASH as `drp verify` prints the head")
    return int(seq_text), digest


@dataclass
class StoreReport(VerifyReport):
    """:class:`VerifyReport` with what the store's own check of the file was
    (:func:`integrity_check`)."""

    integrity: str = ""


#: What :func:`integrity_check` runs, as ``drp verify`` says it.
SQLITE_CHECK = (
    "SQLite's PRAGMA integrity_check (every page, and every index against its table) "
    "found no damage"
)
POSTGRESQL_CHECK = (
    "PostgreSQL keeps its own pages (data checksums {checksums}); drp runs no SQL integrity "
    "check there: a DBA's amcheck (bt_index_check) checks the indexes"
)


def integrity_check(conn: Conn, *, indexes: bool = True) -> tuple[str, list[str]]:
    """The store's own check of the file: what was checked (as ``drp verify`` says it) and
    what it found. SQLite: ``PRAGMA integrity_check`` (every page's structure, and every
    index entry against its table row: ``quick_check`` skips the latter, so misses an index
    entry whose key was changed), then :func:`damaged_index`, the morning check's own test.
    PostgreSQL: nothing is run (the server checks its pages as it reads them when data
    checksums are on; amcheck is an extension a DBA installs): said so."""
    if not conn.is_sqlite:
        checksums = conn.scalar("SHOW data_checksums")
        return POSTGRESQL_CHECK.format(checksums=checksums), []
    try:
        rows = conn.rows("PRAGMA integrity_check")
        found = [line for r in rows for line in str(r[0]).splitlines()
                 if line != "ok" and not line.startswith("*** in database")]  # fmt: skip
        if not found and indexes and (index := damaged_index(conn)) is not None:
            found = [f"the index {index} does not match the concerns it indexes"]
    except sqlite3.DatabaseError as exc:  # a page it cannot even read
        found = [str(exc)]
    return SQLITE_CHECK, [f"the file is damaged: SQLite's integrity check says: {line}"
                          for line in found]  # fmt: skip


def verify(store: Store, protocols: Mapping[str, Protocol], options: VerifyOptions) -> VerifyReport:
    """Check the file (:func:`integrity_check`), walk the chain, fold every concern and
    compare, check the stored files.

    First the fast walk (:mod:`drp_cli.store.fastverify`: one read of the events, the file's
    check beside it): where it finds the record whole, that is the answer; where it finds
    anything at all amiss, or cannot tell, this walk checks it all again and says what."""
    if options.attachments_dir is not None:
        options.files_key = store.encryption_key()
    checked: tuple[str, list[str]] | None = None
    if options.revision is None:
        from drp_cli.store.fastverify import verify as fast_verify

        fast = fast_verify(store, protocols, options)
        if isinstance(fast, StoreReport):
            return fast
        checked = fast  # the file's check, already made (None: not made)
    report = StoreReport(mode="hmac-sha256" if options.key is not None else "sha256")
    problems = report.problems

    def problem(message: str) -> None:
        if len(problems) < options.problems_limit:
            problems.append(message)
        elif len(problems) == options.problems_limit:
            problems.append("... more problems not shown")

    with store.read(snapshot=True) as conn:  # one snapshot of the whole record
        # the checks of the indexes and of stored values know this drp's tables only
        older = options.revision is not None
        report.integrity, damage = checked or integrity_check(conn, indexes=not older)
        for message in damage:
            problem(message)
        malformed = [] if damage or older else [m.problem for m in malformed_values(conn)]
        for message in malformed:
            problem(message)
        if malformed:
            problem("the rest of the record was not checked: it holds values drp cannot read")
            return report
        try:
            _verify_record(conn, report, protocols, options, problem)
        except MalformedValue as exc:
            problem(exc.problem)
        except ValueError:  # a date SQLite's converter cannot read (the check above skipped)
            if not older:
                raise
            problem("the record holds values drp cannot read")
        except sqlite3.DatabaseError as exc:
            if not damage:
                raise
            problem(f"the record could not be read past the damage (SQLite: {exc})")
    return report


def _verify_record(conn: Conn, report: VerifyReport, protocols: Mapping[str, Protocol],
                   options: VerifyOptions, problem: Callable[[str], None]) -> None:  # fmt: skip
    """:func:`verify`'s walk of the chain and of every concern, in ``conn``."""
    revision = options.revision
    if _chained("event", revision):
        _walk_chain(conn, report, options, problem)
    if revision is not None and revision < FOLDED_FROM:
        return  # the rows were written by an older rule: the upgrade folds them again
    _compare_concerns(conn, report, protocols, options, problem)


def count_link(report: VerifyReport, row: Mapping[str, Any]) -> None:
    """Count one link of the chain in the report, by its table."""
    if "concern_id" in row:
        report.events += 1
    elif "action" in row:
        report.closures += 1
    elif "purged_on" in row:
        report.purges += 1
    else:
        report.staff += 1


def _walk_chain(conn: Conn, report: VerifyReport, options: VerifyOptions,
                problem: Callable[[str], None],
                links: Callable[[ChainWalk], None] | None = None) -> None:  # fmt: skip
    """Walk the chain: every link of the tables chained at ``options.revision`` (``links``:
    another way to feed them to the walk, :mod:`drp_cli.store.fastverify`'s)."""
    from drp_cli.domain.retention import tombstone_gaps  # only where the chain is walked

    walk = ChainWalk(key=options.key, expect=options.expect)
    for tombstone in purgesql.tombstones(conn) if _chained("purge", options.revision) else ():
        for gap in tombstone_gaps(tombstone):
            walk.gaps[gap[0]] = gap
    if links is not None:
        links(walk)
    else:
        for _, where, row, digest in _links(conn, options.revision):
            count_link(report, row)
            walk.feed(where, row, digest)
    head = conn.record("SELECT * FROM chain_head WHERE id = 1")
    if head is None:
        problem("the chain head is missing (altered chain)")
    walk.close(head)
    for message in walk.problems:
        problem(message)
    report.head_seq, report.head_hash = walk.seq, walk.prev
    if options.revision is not None and options.revision < AUDITED_FROM:
        return  # no audit of reads at that schema yet
    from drp_cli.store.audit import verify_audit  # the audit of reads: a chain of its own

    for message in verify_audit(conn, options.key):
        problem(message)
    if options.revision is not None and options.revision < REQUESTS_CHAINED_FROM:
        return  # subject access requests were not chained yet
    from drp_cli.store import sarsql  # the requests: a chain of their own

    for message in sarsql.chain_problems(conn, options.key):
        problem(message)


def _compare_concerns(conn: Conn, report: VerifyReport, protocols: Mapping[str, Protocol],
                      options: VerifyOptions, problem: Callable[[str], None]) -> None:  # fmt: skip
    """Fold every concern from its events and compare its stored row, items and attachment
    rows (and, with ``options.attachments_dir``, its stored files)."""
    cal = calendar(conn)
    events = _Cursor(conn.stream("SELECT * FROM event ORDER BY concern_id, seq"))
    items = _Cursor(conn.stream("SELECT * FROM item ORDER BY concern_id, kind, n"))
    files = _Cursor(conn.stream("SELECT * FROM attachment ORDER BY concern_id, n"))
    for row in conn.stream("SELECT * FROM concern ORDER BY id"):
        report.concerns += 1
        cid = row["id"]
        evs = events.take(cid)
        if not evs:
            problem(f"concern {cid} has no events: it was inserted out of band")
            continue
        seqs = [e["seq"] for e in evs]
        if seqs != list(range(1, len(seqs) + 1)):
            problem(f"concern {cid}: its entries are not numbered 1 to {len(seqs)}")
        state = fold([fact(e) for e in evs], protocols, cal, where=f"concern {cid}")
        check_concern(problem, report, options, row, state, items.take(cid), files.take(cid))
    for kind, cursor in (("events", events), ("items", items), ("attachment rows", files)):
        for cid in cursor.rest():
            problem(f"{kind} of concern {cid} have no concern row (the row was deleted)")


def check_concern(problem: Callable[[str], None], report: VerifyReport, options: VerifyOptions,
                  row: Mapping[str, Any], state: ConcernState,
                  items: Sequence[Mapping[str, Any]],
                  files: Sequence[Mapping[str, Any]]) -> None:  # fmt: skip
    """One concern's stored row, item rows and attachment rows against the fold of its
    events (``state``), and its stored files (both walks of ``drp verify`` call it)."""
    cid = row["id"]
    for name, value in state.row().items():
        if row[name] != value:
            problem(f"concern {cid}: stored {name} does not match its events")
    _compare(
        problem, cid,
        {k: _comparable_item(item_row(cid, i)) for k, i in state.items.items()},
        {(r["kind"], r["n"]): _comparable_item([r[c] for c in ITEM_COLUMNS]) for r in items},
        _item_name, _item_name,
    )  # fmt: skip
    _compare(
        problem, cid,
        {n: attachment_row(cid, a) for n, a in state.attachments.items()},
        {r["n"]: tuple(r[c] for c in ATTACHMENT_COLUMNS) for r in files},
        lambda n: f"attachment {n}", lambda n: f"attachment {n}'s row",
    )  # fmt: skip
    if options.attachments_dir is not None:
        _check_files(problem, report, options, cid, state)


def _check_files(problem: Callable[[str], None], report: VerifyReport, options: VerifyOptions,
                 cid: int, state: ConcernState) -> None:  # fmt: skip
    """Each attached file of one concern in the store (``options.attachments_dir``) against
    its SHA-256, each file once however many attachments share it."""
    from drp_cli.store.filestore import NOT_REGULAR, stored_sha256  # only with attachments

    assert options.attachments_dir is not None
    for n, a in state.attachments.items():
        sha = a.sha256
        if sha in options.seen_files:
            continue
        options.seen_files.add(sha)
        report.files += 1
        stored = stored_sha256(options.attachments_dir, sha, options.files_key)
        if stored is None:
            problem(f"concern {cid}: the stored file of attachment {n} is missing")
        elif stored == NOT_REGULAR:
            problem(
                f"concern {cid}: the stored file of attachment {n} is not a "
                "regular file (a FIFO, device, folder or link was put in its place)"
            )
        elif stored != sha:
            problem(f"concern {cid}: the stored file of attachment {n} was altered")


def concerns_numbered(
    conn: Conn, first: int, last: int
) -> list[tuple[int, str | None, str | None]]:
    """The concerns numbered ``first`` to ``last``: (id, uid, reference), by id (an import
    says how it numbered the concerns it wrote)."""
    return [
        (cid, uid, ref)
        for cid, uid, ref in conn.rows(
            "SELECT id, uid, external_ref FROM concern WHERE id >= ? AND id <= ? ORDER BY id",
            (first, last),
        )
    ]
