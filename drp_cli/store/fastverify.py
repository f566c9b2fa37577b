"""``drp verify``'s fast walk: the same checks as :func:`drp_cli.store.record.verify`'s walk,
made in fewer reads, for a record that is whole (two million events in seconds).

What it does differently, and why the answer is the same:

* The events are read once, a concern at a time (``ORDER BY concern_id, seq``), as SQLite
  stores them: days and moments as their text (no converter), details as their JSON text.
  Each event's hash is recomputed from that text (:func:`drp_cli.domain.chain.stored_event_json`,
  held by a property test to the same bytes as :func:`~drp_cli.domain.chain.canonical_json`
  of the values the converters give), its details are decoded once (msgspec, where it reads
  them as ``json.loads`` does), and the same facts are folded. Every day and moment is
  checked as the converter would read it, and every details text as
  :func:`~drp_cli.store.connection.stored_object` reads it: what :func:`malformed_values`
  would name, this walk refuses.
* The chain is then walked in chain order over the link columns only (position, previous
  hash, hash, seal), merged with the other tables' links (:func:`record._side_links`) and
  fed to the same :class:`~drp_cli.domain.chain.ChainWalk`: each event's recomputed hash was
  compared with its stored one in the first read.
* SQLite's ``PRAGMA integrity_check`` runs meanwhile on a second connection, in a thread
  (SQLite leaves Python's lock while it works): the file's pages as they stood when verify
  began (a write that lands in that moment is checked by the next verify).

It proves a record whole or gives up: at the first thing amiss (a problem the full walk
would report, a value of a shape it does not read, any error) it stops, and
:func:`record.verify` walks the whole record again the slow way, which words each problem
(or raises) exactly as it always has. So a tampered or damaged record is reported as before,
only slower; a whole one is reported as whole only when every check the full walk makes has
passed here too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import pickle
import select
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from json.encoder import encode_basestring
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from drp_cli.core.errors import DatabaseBusy
from drp_cli.domain.chain import (
    ChainWalk,
    canonical_json,
    commitment,
    event_json_of,
    mac,
    moment_text,
)
from drp_cli.domain.lifecycle import ROW_FIELDS, Fact, fold
from drp_cli.store import record
from drp_cli.store.connection import (
    TABLES,
    Conn,
    Row,
    Store,
    _valid_date,
    _valid_moment,
    decoded_object,
    malformed_values,
)
from drp_cli.store.daily import calendar

if TYPE_CHECKING:
    from drp_cli.domain.protocols import Protocol


class _Amiss(Exception):
    """The fast walk met something it does not prove whole: the full walk decides."""


def _amiss(_message: str = "") -> None:
    raise _Amiss


#: the event columns the fast walk reads, in this order
_EVENT_COLUMNS = ("seq", "concern_id", "kind", "effective_on", "stage", "from_stage", "by",
                  "recorded_at", "text", "details", "imported_by", "imported_at", "chain_seq",
                  "prev_hash", "hash", "salt", "content")  # fmt: skip
#: the moments and days among them (read without SQLite's converters: ``+column``)
_EVENT_RAW = {"effective_on", "recorded_at", "imported_at"}
#: the tables the fast walk reads itself (every other one is checked for malformed values
#: first, as the full walk checks it)
_READ_HERE = ("event", "concern")


class _Days:
    """Stored days (ISO text) as dates, each checked once as SQLite's converter reads it
    (the few thousand distinct days of a record, kept)."""

    def __init__(self) -> None:
        self.known: dict[str, dt.date] = {}

    def __call__(self, raw: Any) -> dt.date:
        day = self.known.get(raw)
        if day is not None:
            return day
        if type(raw) is not str or not _valid_date(raw.encode()):
            raise _Amiss
        day = dt.date.fromisoformat(raw[:10])
        if len(self.known) < 100_000:
            self.known[raw] = day
        return day


class _Moments:
    """Stored moments as the chain writes them (:func:`_moment_text`), the ones met again
    kept (an import gives every event it brings the same two moments)."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def __call__(self, raw: Any) -> str:
        text = _moment_text(raw)
        if text is None:
            raise _Amiss
        if len(self.known) < 100_000:
            self.known[raw] = text
        return text


def _moment_text(raw: Any) -> str | None:
    """A stored moment as the chain writes it (:func:`drp_cli.domain.chain.moment_text`),
    or None where SQLite's converter would not read it as a moment."""
    if type(raw) is not str:
        return None
    if (
        len(raw) == 26 and raw[4] == "-" and raw[7] == "-" and raw[10] == " "
        and raw[13] == ":" and raw[16] == ":" and raw[19] == "." and raw.isascii()
        and raw[20:].isdigit()
    ):  # fmt: skip
        # the shape drp writes (UTC, to the microsecond; all digits after the point, so no
        # offset such as '... 10:00:00.123+01', which the converter reads below): one parse
        try:
            dt.datetime.fromisoformat(raw)
        except ValueError:
            return None
        return f"{raw[:10]}T{raw[11:]}"
    if not _valid_moment(raw.encode()):
        return None
    return moment_text(raw)


def _select(conn: Conn, table: str, columns: Sequence[str], raw: set[str]) -> str:
    """The columns, those in ``raw`` without SQLite's converters (``+column`` is the value
    itself, with no declared type for the driver to convert by)."""
    names = [f'+"{c}"' if c in raw and conn.is_sqlite else f'"{c}"' for c in columns]
    return f"SELECT {', '.join(names)} FROM {table}"


#: the whole range of concern ids (SQLite's integers)
EVERY = (-(2**63), 2**63 - 1)
#: a range of concern ids: ``lo < id <= hi``
_IN_RANGE = " WHERE {column} > ? AND {column} <= ?"


def _event_groups(
    conn: Conn, days: _Days, ids: tuple[int, int] = EVERY
) -> Iterator[tuple[int, list[Fact]]]:
    """Every event, a concern at a time, as the facts the fold reads; each one's hash
    recomputed and compared with its stored one (and its commitment, or its redaction),
    each day, moment and details text checked as the full walk reads it."""
    kinds = conn.column_types("event")
    if {c for c, kind in kinds.items() if kind} - _EVENT_RAW:
        raise _Amiss  # a day or moment this walk does not check
    # by concern only: the index gives each concern's rows at once, and sorting a concern's
    # few by seq here is cheaper than SQLite's sort of them all (a quarter of the read)
    sql = _select(conn, "event", _EVENT_COLUMNS, _EVENT_RAW)
    sql += _IN_RANGE.format(column="concern_id") + " ORDER BY concern_id"
    sqlite = conn.is_sqlite
    moments = _Moments()
    current: int | None = None
    group: list[tuple[Any, ...]] = []
    for row in conn.stream_rows(sql, ids):
        if row[1] != current:
            if current is not None:
                group.sort(key=_first)
                yield current, _facts(current, group, days, moments, sqlite)
            current, group = row[1], []
        group.append(row)
    if current is not None:
        group.sort(key=_first)
        yield current, _facts(current, group, days, moments, sqlite)


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]


def _facts(
    cid: int, rows: list[tuple[Any, ...]], days: _Days, moments: _Moments, sqlite: bool
) -> list[Fact]:
    """One concern's events (its rows in ``_EVENT_COLUMNS`` order, by seq) as facts, each
    one's hash checked by :func:`record.event_digest`'s rule."""
    facts = []
    redacted: dict[tuple[int, int], Mapping[str, Any]] = {}
    unlike: list[tuple[Any, ...]] = []  # a hash unlike its row's, unless the row was redacted
    sha256, q = hashlib.sha256, encode_basestring
    known_days, known_moments = days.known, moments.known
    for row in rows:
        (seq, _cid, kind, eff, stage, from_stage, by, rec, text, details, imported_by, imp,
         chain_seq, prev, digest, salt, content) = row  # fmt: skip
        if chain_seq is None or prev is None or digest is None:
            raise _Amiss  # not a link of the chain: the full walk says so
        if sqlite:
            day = known_days.get(eff) or days(eff)
            recorded = known_moments.get(rec) or moments(rec)
            imported = None if imp is None else known_moments.get(imp) or moments(imp)
        else:
            day = eff
        d = decoded_object(details, "", "event", "details")
        if kind == "redacted" and type(d.get("seq")) is int and "after" in d:
            redacted[(cid, d["seq"])] = d
        facts.append(Fact(seq, kind, day, stage, by, text or "", d))
        if content is not None:
            if type(salt) is str and type(details) is str and (text is None or type(text) is str):
                # chain.commitment, spelled out for the text drp stores
                spelled = f"[{q(salt)},{q(text or '')},{q(details)}]"
                committed = sha256(spelled.encode("utf-8")).hexdigest() == content
            else:
                committed = salt is not None and commitment(salt, text, details) == content
            if not committed:
                unlike.append(row)
                continue
        body: str | None = None
        if sqlite:
            fields = (kind, eff[:10], stage, from_stage, by, recorded, text, details)
            body = event_json_of(cid, seq, *fields, imported_by, imported, content, chain_seq,
                                 prev)  # fmt: skip
        if body is None:
            body = canonical_json(_row(row), chain_seq, prev)
        if sha256(body.encode("utf-8")).hexdigest() != digest:
            unlike.append(row)
    if redacted:  # a redacted row is checked against its redaction instead
        digest_of = record.event_digest(redacted)
        for row in rows:
            if (cid, row[0]) in redacted and digest_of(_row(row), row[12], row[13]) != row[14]:
                raise _Amiss
    if any((cid, row[0]) not in redacted for row in unlike):
        raise _Amiss
    return facts


def _row(values: Sequence[Any]) -> Row:
    return Row(zip(_EVENT_COLUMNS, values, strict=True))


class _Groups:
    """Steps through (concern id, group) pairs alongside the concerns, as record's
    ``_Cursor`` does; a group with no concern is amiss."""

    def __init__(self, groups: Iterator[tuple[int, list[Fact]]]) -> None:
        self._groups = groups
        self._next = next(groups, None)

    def take(self, cid: int) -> list[Fact]:
        found = self._next
        if found is None or found[0] > cid:
            return []
        if found[0] < cid:
            raise _Amiss  # events of no concern
        self._next = next(self._groups, None)
        return found[1]

    def done(self) -> bool:
        return self._next is None


def _concern_rows(conn: Conn, days: _Days, ids: tuple[int, int] = EVERY) -> Iterator[list[Any]]:
    """Every concern row (by id): its id and the columns the fold determines
    (:data:`ROW_FIELDS`, in that order), its days as dates; every day and moment of it
    checked as the full walk reads it."""
    kinds = conn.column_types("concern")
    dated = [c for c in kinds if kinds[c]]
    columns = ["id", *ROW_FIELDS, *(c for c in dated if c not in ROW_FIELDS)]
    sql = _select(conn, "concern", columns, set(dated))
    sql += _IN_RANGE.format(column="id") + " ORDER BY id"
    checks = [(i, kinds[c]) for i, c in enumerate(columns) if c in dated]
    sqlite = conn.is_sqlite
    known = days.known
    for found in conn.stream_rows(sql, ids):
        values = list(found)
        if sqlite:
            for i, kind in checks:
                value = values[i]
                if value is None:
                    continue
                if kind == "date":
                    values[i] = known.get(value) or days(value)
                elif _moment_text(value) is None:
                    raise _Amiss
        yield values


def _walk_links(conn: Conn, report: record.VerifyReport, options: record.VerifyOptions,
                walk: ChainWalk) -> None:  # fmt: skip
    """Feed every link to ``walk`` in chain order: the events by their link columns (their
    hashes were recomputed in the read of the concerns), the other tables' links as the
    full walk reads them. The walk's own rule, step for step; amiss at its first problem."""
    side = record._side_links(conn, options.revision)
    pending = next(side, None)
    key, gaps, expect = walk.key, walk.gaps, walk.expect
    mark = expect[0] if expect is not None else -1
    sql = (f"SELECT chain_seq, prev_hash, hash, {'mac' if key is not None else 'NULL'} "
           "FROM event WHERE chain_seq IS NOT NULL ORDER BY chain_seq")  # fmt: skip
    events = 0
    for chain_seq, prev, digest, seal in conn.stream_rows(sql):
        while pending is not None and pending[0] < chain_seq:
            _feed(report, walk, pending)
            pending = next(side, None)
        expected = walk.seq + 1
        events += 1
        if (
            chain_seq == expected and prev == walk.prev and digest is not None
            and expected not in gaps and expected != mark
            and (key is None or seal == mac(key, digest))
        ):  # fmt: skip
            walk.prev, walk.seq = digest, expected
            continue
        # a purge's gap, the expected head, or a problem (amiss: the full walk words it)
        row = Row(chain_seq=chain_seq, prev_hash=prev, hash=digest, mac=seal)
        walk.feed("", row, digest)
        if walk.broken:
            raise _Amiss
    report.events += events
    while pending is not None:
        _feed(report, walk, pending)
        pending = next(side, None)


def _feed(report: record.VerifyReport, walk: ChainWalk, link: record.Link) -> None:
    _, where, row, digest = link
    record.count_link(report, row)
    walk.feed(where, row, digest)
    if walk.broken:
        raise _Amiss


def _compare(conn: Conn, report: record.VerifyReport, protocols: Mapping[str, Protocol],
             options: record.VerifyOptions, ids: tuple[int, int] = EVERY) -> None:  # fmt: skip
    """Fold every concern (of the range ``ids``: its rows, events, items and attachment rows)
    from its events and compare it (:func:`record.check_concern`)."""
    cal = calendar(conn)
    days = _Days()
    events = _Groups(_event_groups(conn, days, ids))
    where = _IN_RANGE.format(column="concern_id")
    items = record._Cursor(conn.stream(f"SELECT * FROM item{where} ORDER BY concern_id, kind, n",
                                       ids))  # fmt: skip
    files = record._Cursor(conn.stream(f"SELECT * FROM attachment{where} ORDER BY concern_id, n",
                                       ids))  # fmt: skip
    derived = attrgetter(*ROW_FIELDS)
    shown = len(ROW_FIELDS) + 1
    for values in _concern_rows(conn, days, ids):
        report.concerns += 1
        cid = values[0]
        facts = events.take(cid)
        if not facts:
            raise _Amiss
        for i, f in enumerate(facts, 1):
            if f.seq != i:
                raise _Amiss
        state = fold(facts, protocols, cal, where=f"concern {cid}")
        item_rows, file_rows = items.take(cid), files.take(cid)
        if (
            item_rows or file_rows or state.items or state.attachments
            or derived(state) != tuple(values[1:shown])
        ):  # fmt: skip
            # what the full walk compares (a row unlike its fold: amiss there)
            row = dict(zip(("id", *ROW_FIELDS), values[:shown], strict=True))
            record.check_concern(_amiss, report, options, row, state, item_rows, file_rows)
    if not events.done() or items.rest() or files.rest():
        raise _Amiss


class _FileCheck(threading.Thread):
    """SQLite's check of the file (:func:`record.integrity_check`) on a connection of its
    own, beside the walk (SQLite leaves Python's lock while it reads)."""

    def __init__(self, store: Store) -> None:
        super().__init__(name="drp-integrity-check", daemon=True)
        self.result: tuple[str, list[str]] | None = None
        self.ready = threading.Event()  # its read transaction (its snapshot) has begun
        self._other = Store(store.target, prepare=False, db_key=store.encryption_key())

    def run(self) -> None:
        try:
            with self._other.read() as conn:
                conn.scalar("SELECT count(*) FROM chain_head")
                self.ready.set()
                self.result = record.integrity_check(conn)
        except BaseException:  # the full walk checks the file again
            self.result = None
        finally:
            self.ready.set()
            self._other.close()

    def stop(self) -> None:
        """Cut the check short (the walk failed in a way that ends verify)."""
        raw = self._other._raw
        if raw is not None:
            with suppress(Exception):  # closed meanwhile
                raw.interrupt()


class _Writers:
    """SQLite's write lock, held while the walk's connections (this process's, the file
    check's, the helpers') begin their read transactions, so that every one of them reads
    the same state of the record: no write can be committed between them. Held for the
    moments that takes, never through the walk (a writer waits for it, as for any other)."""

    WAIT_MS = 2000

    def __init__(self, store: Store) -> None:
        self._store = Store(store.target, prepare=False, db_key=store.encryption_key())
        raw = self._store._connect()
        raw.execute(f"PRAGMA busy_timeout={self.WAIT_MS}")
        raw.execute("BEGIN IMMEDIATE")  # sqlite3.OperationalError when it cannot (read-only)

    def release(self) -> None:
        raw = self._store._raw
        if raw is not None:
            with suppress(Exception):
                raw.execute("ROLLBACK")
        self._store.close()


class _Helper:
    """A process that folds and compares one range of concerns (:func:`_compare`) in a read
    transaction of its own, begun while the write lock is held (:class:`_Writers`): the
    record's second processor core at work."""

    def __init__(self, store: Store, protocols: Mapping[str, Protocol],
                 options: record.VerifyOptions, ids: tuple[int, int]) -> None:  # fmt: skip
        job = (store.target, store.encryption_key(), dict(protocols), options, ids)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from drp_cli.store.fastverify import helper; helper()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(pickle.dumps(job))
        self.proc.stdin.close()

    def ready(self) -> bool:
        """Wait until its read transaction has begun; False when it failed to (or took
        longer than :data:`START_S`)."""
        assert self.proc.stdout is not None
        if not select.select([self.proc.stdout], [], [], START_S)[0]:
            return False
        return self.proc.stdout.read(1) == b"r"

    def result(self) -> tuple[int, set[str]] | None:
        """(concerns compared, files it checked) when its range is whole; else None."""
        assert self.proc.stdout is not None
        try:
            found = pickle.loads(self.proc.stdout.read())
        except Exception:  # it died: the full walk decides
            found = None
        self.proc.wait()
        return found if self.proc.returncode == 0 else None

    def stop(self) -> None:
        with suppress(Exception):
            self.proc.kill()
            self.proc.wait()


def helper() -> None:
    """A :class:`_Helper`'s process: the job on stdin; ``r`` on stdout once its read
    transaction has begun, then its result (pickled)."""
    target, key, protocols, options, ids = pickle.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    store = Store(target, prepare=False, db_key=key)
    report = record.StoreReport()
    before = set(options.seen_files)
    found: tuple[int, set[str]] | None = None
    try:
        with store.read(snapshot=True) as conn:
            conn.scalar("SELECT count(*) FROM chain_head")
            out.write(b"r")
            out.flush()
            _compare(conn, report, protocols, options, ids)
            found = (report.concerns, options.seen_files - before)
    except Exception:  # amiss: the full walk decides
        found = None
    finally:
        store.close()
    out.write(pickle.dumps(found))
    out.flush()


#: Fewer concerns than this are compared in this process alone (a helper's start, a few
#: tenths of a second, would cost more than it saves)
HELPED_FROM = 20_000
#: How many helper processes share the concerns (this process walks the chain and SQLite
#: checks the file meanwhile): two, or one a core but one where there are more
HELPERS = min(4, max(2, (os.cpu_count() or 2) - 1))


#: The columns that place a row in a concern's range: a row whose value is not an integer
#: (SQLite keeps text or a blob in an INTEGER column) or is the least integer is in no range
#: the walk reads, so where one is there the full walk decides (the sweep's finding: such a
#: row was never read, and the record was found whole).
_PLACED_BY = (("concern", "id"), ("event", "concern_id"), ("item", "concern_id"),
              ("attachment", "concern_id"))  # fmt: skip


def _outside_every_range(conn: Conn) -> bool:
    for table, column in _PLACED_BY:
        odd = f"typeof({column}) != 'integer' OR " if conn.is_sqlite else ""
        if conn.rows(f"SELECT 1 FROM {table} WHERE {odd}{column} <= ? LIMIT 1", (EVERY[0],)):
            return True
    return False


#: How long a helper may take to start (a loaded machine), in seconds
START_S = 30.0


def _ranges(conn: Conn, parts: int) -> list[tuple[int, int]]:
    """The concern ids cut into ``parts`` ranges of about as many concerns each, together
    every id there is (rows of no concern too: the first range starts at the least
    integer, the last ends at the greatest)."""
    count = int(conn.scalar("SELECT count(*) FROM concern") or 0)
    cuts = [EVERY[0]]
    for i in range(1, parts):
        cut = conn.scalar("SELECT id FROM concern ORDER BY id LIMIT 1 OFFSET ?",
                          (max(0, count * i // parts - 1),))  # fmt: skip
        if cut is not None and cut > cuts[-1]:
            cuts.append(int(cut))
    cuts.append(EVERY[1])
    return list(itertools.pairwise(cuts))


def verify(
    store: Store, protocols: Mapping[str, Protocol], options: record.VerifyOptions
) -> record.StoreReport | tuple[str, list[str]] | None:
    """The report of a record found whole; else what the file's check found (for the full
    walk, so it need not check the file again), or None when it was not made."""
    report = record.StoreReport(mode="hmac-sha256" if options.key is not None else "sha256")
    seen = set(options.seen_files)
    check = _FileCheck(store) if store.is_sqlite else None
    helpers: list[_Helper] = []
    whole = False
    try:
        writers = _lock(store) if store.is_sqlite else None
        try:
            if check is not None:
                check.start()
            with store.read(snapshot=True) as conn:
                count = int(conn.scalar("SELECT count(*) FROM concern") or 0)
                if _outside_every_range(conn):
                    raise _Amiss
                if writers is not None and count >= HELPED_FROM:
                    helpers = [_Helper(store, protocols, options, ids)
                               for ids in _ranges(conn, HELPERS)]  # fmt: skip
                    if not all([h.ready() for h in helpers]):
                        raise _Amiss
                if check is not None:
                    check.ready.wait()
                if writers is not None:
                    writers.release()
                    writers = None
                if check is None:
                    report.integrity, damage = record.integrity_check(conn)
                    if damage:
                        return report.integrity, damage
                tables = [t for t in TABLES if t not in _READ_HERE] if conn.is_sqlite else TABLES
                if next(malformed_values(conn, tables), None) is None:
                    links = lambda walk: _walk_links(conn, report, options, walk)  # noqa: E731
                    record._walk_chain(conn, report, options, _amiss, links)
                    if not helpers:
                        _compare(conn, report, protocols, options)
                    whole = True
        finally:
            if writers is not None:
                writers.release()
        for h in helpers:
            found = h.result() if whole else None
            if found is None:
                whole = False
                continue
            report.concerns += found[0]
            options.seen_files.update(found[1])
        if helpers:
            report.files = len(options.seen_files - seen)
    except DatabaseBusy:  # a lock not granted in time: the full walk would only wait again
        if check is not None:
            check.stop()
        raise
    except Exception:  # _Amiss, or what the full walk words (or raises) as it always has
        whole = False
    except BaseException:
        if check is not None:
            check.stop()
        raise
    finally:
        for h in helpers:
            h.stop()
    if check is not None:
        check.join()
        if check.result is None:
            whole = False
        else:
            report.integrity = check.result[0]
            if check.result[1]:
                whole = False
    if whole:
        return report
    options.seen_files.clear()
    options.seen_files.update(seen)
    if check is not None:
        return check.result
    return (report.integrity, []) if report.integrity else None


def _lock(store: Store) -> _Writers | None:
    """:class:`_Writers`, or None when the lock cannot be had (a read-only file, a writer
    holding it): then each connection begins when it begins, as moments apart."""
    try:
        return _Writers(store)
    except Exception:
        return None
