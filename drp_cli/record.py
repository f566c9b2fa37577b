"""The record: a unit of work that appends events and keeps every derived row equal to the
fold of its events, and the verifier that proves it.

* :class:`UnitOfWork` loads a concern for update, appends events as links of the hash
  chain, and after each one writes the concern row, its items and its attachment rows from
  :func:`drp_cli.lifecycle.fold`: nothing else writes a derived field.
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
import hashlib
import heapq
import json
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select, text
from sqlmodel import Session
from sqlmodel import select as sm_select

from drp_cli.calendar import WorkingCalendar
from drp_cli.chain import ChainWalk, VerifyReport, closure_hash, event_hash, mac
from drp_cli.errors import DatabaseError, InvalidInput, NotFound
from drp_cli.lifecycle import ROW_FIELDS, ConcernState, Fact, fold
from drp_cli.models import Attachment, ChainHead, ClosureChange, Concern, Event, Item
from drp_cli.protocols import Protocol

KEY_BYTES = 32
MAX_ID = 2**31 - 1  # the largest id PostgreSQL's INTEGER holds; none larger is ever given


def check_id(concern_id: int) -> None:
    """An id no concern can have is simply not found (PostgreSQL would raise on it)."""
    if not 1 <= concern_id <= MAX_ID:
        raise NotFound(f"no concern with id {concern_id}")


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


T_CONCERN = _table(Concern)
T_EVENT = _table(Event)
T_ITEM = _table(Item)
T_ATTACHMENT = _table(Attachment)
T_CLOSURE = _table(ClosureChange)
T_HEAD = _table(ChainHead)


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


# -- events as the fold reads them -------------------------------------------------------------
def fact(e: Any) -> Fact:
    """A stored event (ORM object or row mapping) as a :class:`Fact`."""
    get: Callable[[str], Any] = (
        e.__getitem__ if isinstance(e, Mapping) else lambda name: getattr(e, name)
    )
    raw = get("details")
    details = json.loads(raw) if isinstance(raw, str) and raw else (raw or {})
    return Fact(
        seq=get("seq"),
        kind=get("kind"),
        effective_on=get("effective_on"),
        stage=get("stage"),
        by=get("by"),
        text=get("text") or "",
        details=details,
    )


def apply_state(row: Any, state: ConcernState) -> None:
    """Write the fold's values onto a concern row (ORM object)."""
    for name in ROW_FIELDS:
        setattr(row, name, getattr(state, name))


@dataclass
class Loaded:
    """A concern loaded for update: its row, its events, and the fold of them."""

    row: Concern
    events: list[Event]
    state: ConcernState

    @property
    def id(self) -> int:
        assert self.row.id is not None
        return self.row.id

    def facts(self) -> list[Fact]:
        return [fact(e) for e in self.events]


@dataclass
class UnitOfWork:
    """One write transaction. Use through :meth:`drp_cli.tracker.Tracker.unit_of_work`."""

    session: Session
    is_sqlite: bool
    protocols: Mapping[str, Protocol]
    calendar: WorkingCalendar
    now: dt.datetime
    key: bytes | None = None
    _head: ChainHead | None = None

    # -- the chain --------------------------------------------------------------------------
    def _chain_head(self) -> ChainHead:
        if self._head is None:
            query = sm_select(ChainHead).where(ChainHead.id == 1)
            if not self.is_sqlite:
                query = query.with_for_update()
            head = self.session.exec(query).first()
            if head is None:
                raise DatabaseError("the database has no chain head: run `drp verify`")
            self._head = head
        return self._head

    def link(self, digest_of: Callable[[int, str], str]) -> dict[str, Any]:
        """The next position of the chain for a link whose hash ``digest_of(seq, prev)``
        gives: its chain_seq, prev_hash, hash and (keyed) mac. Moves the head."""
        head = self._chain_head()
        seq, prev = head.seq + 1, head.hash
        digest = digest_of(seq, prev)
        head.seq, head.hash = seq, digest
        self.session.add(head)
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
        check_id(concern_id)
        query = sm_select(Concern).where(Concern.id == concern_id)
        if lock and not self.is_sqlite:
            query = query.with_for_update()
        row = self.session.exec(query).first()
        if row is None:
            raise NotFound(f"no concern with id {concern_id}")
        events = list(
            self.session.exec(
                sm_select(Event).where(Event.concern_id == concern_id).order_by(Event.seq)  # type: ignore[arg-type]
            ).all()
        )
        state = fold([fact(e) for e in events], self.protocols, self.calendar)
        return Loaded(row, events, state)

    def create(self, opening: Fact) -> Loaded:
        """A new concern row for an opening event (written next by :meth:`append`)."""
        state = fold([opening], self.protocols, self.calendar)
        row = Concern(**state.row(), created_at=self.now, updated_at=self.now)
        row.event_count = 0
        self.session.add(row)
        self.session.flush()
        return Loaded(row, [], state)

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
    ) -> Event:
        """Append one event (a link of the chain) and bring the concern's rows up to the
        fold of all its events."""
        event = Event(
            concern_id=loaded.id,
            seq=len(loaded.events) + 1,
            kind=kind,
            effective_on=on,
            stage=stage or loaded.row.stage,
            from_stage=from_stage,
            by=by,
            recorded_at=recorded_at or self.now,
            text=text,
            details=json.dumps(dict(details or {}), sort_keys=True),
            imported_by=imported_by,
            imported_at=self.now if imported_by is not None else None,
        )
        fields = {name: getattr(event, name) for name in (
            "concern_id", "seq", "kind", "effective_on", "stage", "from_stage", "by",
            "recorded_at", "text", "details", "imported_by", "imported_at")}  # fmt: skip
        for name, value in self.link(lambda seq, prev: event_hash(fields, seq, prev)).items():
            setattr(event, name, value)
        self.session.add(event)
        loaded.events.append(event)
        self.refold(loaded)
        return event

    def refold(self, loaded: Loaded) -> None:
        """Write the concern row, items and attachment rows from the fold of its events."""
        state = fold(loaded.facts(), self.protocols, self.calendar)
        loaded.state = state
        apply_state(loaded.row, state)
        loaded.row.updated_at = self.now
        self.session.add(loaded.row)
        if state.items or state.attachments:
            self._sync_documents(loaded.id, state)

    def _sync_documents(self, concern_id: int, state: ConcernState) -> None:
        s = self.session
        items = {
            (r.kind, r.n): r for r in s.exec(sm_select(Item).where(Item.concern_id == concern_id))
        }
        for key, it in state.items.items():
            row = items.get(key) or Item(concern_id=concern_id, kind=it.kind, n=it.n,
                                         added_on=it.added_on, added_by=it.added_by)  # fmt: skip
            row.position, row.data = it.position, json.dumps(it.data, sort_keys=True)
            row.added_on, row.added_by = it.added_on, it.added_by
            row.done_on, row.done_by = it.done_on, it.done_by
            row.removed_on, row.removed_by = it.removed_on, it.removed_by
            s.add(row)
        files = {
            r.n: r for r in s.exec(sm_select(Attachment).where(Attachment.concern_id == concern_id))
        }
        for n, a in state.attachments.items():
            row_a = files.get(n) or Attachment(
                concern_id=concern_id, n=n, kind=a.kind, filename=a.filename, sha256=a.sha256,
                size=a.size, added_on=a.added_on, added_by=a.added_by,
            )  # fmt: skip
            for name in ("kind", "filename", "sha256", "size", "dated", "description", "added_on",
                         "added_by"):  # fmt: skip
                setattr(row_a, name, getattr(a, name))
            s.add(row_a)

    # -- closure days --------------------------------------------------------------------------
    def lock_concerns(self) -> None:
        """Before a change that touches many concerns: the concern table, then the head."""
        if not self.is_sqlite:
            self.session.execute(text("LOCK TABLE concern IN EXCLUSIVE MODE"))

    def refold_deadlines_from(self, day: dt.date) -> None:
        """After the calendar changed from ``day`` on: fold again every concern (open or
        closed) whose stage or formal deadline falls on or after it, the only ones whose
        deadlines can move."""
        ids = (
            self.session.execute(
                select(T_CONCERN.c.id).where(
                    (T_CONCERN.c.deadline >= day) | (T_CONCERN.c.formal_deadline >= day)
                )
            )
            .scalars()
            .all()
        )
        for cid in ids:
            self.refold(self.load(cid))

    def add_closure_change(self, day: dt.date, action: str, reason: str, by: str) -> None:
        change = ClosureChange(day=day, action=action, reason=reason, by=by, recorded_at=self.now)
        fields = {"day": day, "action": action, "reason": reason, "by": by,
                  "recorded_at": self.now}  # fmt: skip
        for name, value in self.link(lambda seq, prev: closure_hash(fields, seq, prev)).items():
            setattr(change, name, value)
        self.session.add(change)


def closures_in_force(changes: Any) -> list[dt.date]:
    """The local closure days in force: those whose latest change is an ``add``. ``changes``
    are (day, action) pairs in the order they were made."""
    latest: dict[dt.date, str] = {}
    for day, action in changes:
        latest[day] = action
    return sorted(d for d, a in latest.items() if a == "add")


# -- verify ------------------------------------------------------------------------------------
STREAM = 2000  # rows fetched at a time


def _stream(conn: Any, query: Any) -> Iterator[Mapping[str, Any]]:
    result = conn.execution_options(stream_results=True, yield_per=STREAM).execute(query)
    yield from result.mappings()


def _chain_rows(conn: Any, table: Table, where: Callable[[Mapping[str, Any]], str],
                digest: Callable[[Mapping[str, Any], int, str], str],
                ) -> Iterator[tuple[float, str, Mapping[str, Any], str | None]]:  # fmt: skip
    """One table's links in chain order as (position, where, row, recomputed hash); a row
    outside the chain (no chain_seq) comes last, with no hash."""
    query = select(table).order_by(table.c.chain_seq.is_(None), table.c.chain_seq, table.c.id)
    for row in _stream(conn, query):
        seq, prev = row["chain_seq"], row["prev_hash"]
        in_chain = seq is not None and prev is not None
        yield (seq if seq is not None else float("inf"), where(row), row,
               digest(row, seq, prev) if in_chain else None)  # fmt: skip


def _links(conn: Any) -> Iterator[tuple[float, str, Mapping[str, Any], str | None]]:
    """Every link of the chain, events and closure changes merged in chain order."""
    events = _chain_rows(
        conn, T_EVENT,
        lambda row: f"event {row['id']} (concern {row['concern_id']}, entry {row['seq']})",
        event_hash,
    )  # fmt: skip
    closures = _chain_rows(
        conn, T_CLOSURE,
        lambda row: f"closure change {row['id']} ({row['action']} {row['day']})",
        closure_hash,
    )  # fmt: skip
    return heapq.merge(events, closures, key=lambda link: link[0])


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


def _item_values(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row["position"], json.loads(row["data"] or "{}"), row["added_on"], row["added_by"],
            row["done_on"], row["done_by"], row["removed_on"], row["removed_by"])  # fmt: skip


def _attachment_values(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row["kind"], row["filename"], row["sha256"], row["size"], row["dated"],
            row["description"], row["added_on"], row["added_by"])  # fmt: skip


def _file_sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1024 * 1024):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


@dataclass
class VerifyOptions:
    key: bytes | None = None
    expect: tuple[int, str] | None = None
    attachments_dir: Path | None = None
    problems_limit: int = 200
    seen_files: set[str] = field(default_factory=set)


def parse_expect(value: str) -> tuple[int, str]:
    """``SEQ:HASH`` as ``drp verify`` prints the head."""
    seq_text, _, digest = value.strip().partition(":")
    if (
        not seq_text.isdigit()
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise InvalidInput("--expect takes SEQ:HASH as `drp verify` prints the head")
    return int(seq_text), digest


def verify(engine: Any, is_sqlite: bool, protocols: Mapping[str, Protocol],
           options: VerifyOptions) -> VerifyReport:  # fmt: skip
    """Walk the chain, fold every concern and compare, check the stored files."""
    report = VerifyReport(mode="hmac-sha256" if options.key is not None else "sha256")
    problems = report.problems

    def problem(message: str) -> None:
        if len(problems) < options.problems_limit:
            problems.append(message)
        elif len(problems) == options.problems_limit:
            problems.append("... more problems not shown")

    with engine.connect() as conn:
        if not is_sqlite:
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        else:
            conn.exec_driver_sql("SELECT 1")  # the BEGIN of the connection: one snapshot
        walk = ChainWalk(key=options.key, expect=options.expect)
        for _, where, row, digest in _links(conn):
            if "concern_id" in row:
                report.events += 1
            else:
                report.closures += 1
            walk.feed(where, row, digest)
        head = conn.execute(select(T_HEAD).where(T_HEAD.c.id == 1)).mappings().first()
        if head is None:
            problem("the chain head is missing (altered chain)")
        walk.close(head)
        for message in walk.problems:
            problem(message)
        report.head_seq, report.head_hash = walk.seq, walk.prev

        changes = conn.execute(
            select(T_CLOSURE.c.day, T_CLOSURE.c.action).order_by(
                T_CLOSURE.c.chain_seq.is_(None), T_CLOSURE.c.chain_seq, T_CLOSURE.c.id)
        ).all()  # fmt: skip
        cal = WorkingCalendar(closures_in_force(changes))
        events = _Cursor(
            _stream(conn, select(T_EVENT).order_by(T_EVENT.c.concern_id, T_EVENT.c.seq))
        )
        items = _Cursor(
            _stream(conn, select(T_ITEM).order_by(T_ITEM.c.concern_id, T_ITEM.c.kind, T_ITEM.c.n))
        )
        files = _Cursor(
            _stream(
                conn, select(T_ATTACHMENT).order_by(T_ATTACHMENT.c.concern_id, T_ATTACHMENT.c.n)
            )
        )
        for row in _stream(conn, select(T_CONCERN).order_by(T_CONCERN.c.id)):
            report.concerns += 1
            cid = row["id"]
            evs = events.take(cid)
            if not evs:
                problem(f"concern {cid} has no events: it was inserted out of band")
                continue
            seqs = [e["seq"] for e in evs]
            if seqs != list(range(1, len(seqs) + 1)):
                problem(f"concern {cid}: its entries are not numbered 1 to {len(seqs)}")
            state = fold([fact(e) for e in evs], protocols, cal)
            for name, value in state.row().items():
                if row[name] != value:
                    problem(f"concern {cid}: stored {name} does not match its events")
            expected_items = {k: (i.position, i.data, i.added_on, i.added_by, i.done_on,
                                  i.done_by, i.removed_on, i.removed_by)
                              for k, i in state.items.items()}  # fmt: skip
            stored_items = {(r["kind"], r["n"]): _item_values(r) for r in items.take(cid)}
            for key in sorted(set(expected_items) | set(stored_items)):
                if key not in stored_items:
                    problem(f"concern {cid}: {key[0]} {key[1]} was deleted")
                elif key not in expected_items:
                    problem(f"concern {cid}: {key[0]} {key[1]} was added out of band")
                elif stored_items[key] != expected_items[key]:
                    problem(f"concern {cid}: {key[0]} {key[1]} does not match its events")
            expected_files = {n: (a.kind, a.filename, a.sha256, a.size, a.dated, a.description,
                                  a.added_on, a.added_by)
                              for n, a in state.attachments.items()}  # fmt: skip
            stored_files = {r["n"]: _attachment_values(r) for r in files.take(cid)}
            for n in sorted(set(expected_files) | set(stored_files)):
                if n not in stored_files:
                    problem(f"concern {cid}: attachment {n}'s row was deleted")
                elif n not in expected_files:
                    problem(f"concern {cid}: attachment {n} was added out of band")
                elif stored_files[n] != expected_files[n]:
                    problem(f"concern {cid}: attachment {n}'s row does not match its events")
            if options.attachments_dir is not None:
                for n, values in expected_files.items():
                    sha = values[2]
                    if sha in options.seen_files:
                        continue
                    options.seen_files.add(sha)
                    report.files += 1
                    stored = _file_sha256(options.attachments_dir / sha[:2] / sha)
                    if stored is None:
                        problem(f"concern {cid}: the stored file of attachment {n} is missing")
                    elif stored != sha:
                        problem(f"concern {cid}: the stored file of attachment {n} was altered")
        for kind, cursor in (("events", events), ("items", items), ("attachment rows", files)):
            for cid in cursor.rest():
                problem(f"{kind} of concern {cid} have no concern row (the row was deleted)")
    return report
