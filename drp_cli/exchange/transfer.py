"""Import of drp's own files and spreadsheet trackers (CSV or JSON): writing what
:mod:`drp_cli.exchange.checks` has checked, in one transaction or into a new database built
beside its target by two processes. Reading the file: :mod:`drp_cli.exchange.readers`;
export: :mod:`drp_cli.exchange.export`.

One row per concern. Required columns: ``protocol, child, category, summary, opened_on,
stage, stage_started_on, status``; optional: ``external_ref, issue, impact, recommended,
raised_by, role, formal_started_on, due, referred_on, closed_on, outcome, events``.

* The file is read once, inside the one transaction that writes it. Every row is validated
  against the protocols; errors name the row (as a spreadsheet numbers it: the header is
  row 1) and the column, all of them. One bad row and nothing is written: the transaction
  is rolled back (and into no database at all, none is made).
* ``external_ref`` makes rows idempotent: a row whose reference is already in the database
  is skipped. Without one, the reference is made from the protocol, child, category,
  opening date and summary.
* A row without ``events`` becomes an ``imported`` event at its current stage (and a
  ``referred``, ``resolved`` or ``withdrawn`` event where the row says so). A row exported
  by ``drp export`` carries its events as JSON and they are replayed as they were, so an
  export imported into an empty database gives back the same concerns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import itertools
import json
import marshal
import operator
import os
import re
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, TypeVar

from drp_cli.core.errors import DatabaseBusy, DatabaseError, DrpError, InvalidInput
from drp_cli.domain.chain import (
    GENESIS,
    ImportedPieces,
    imported_parts_of,
    link_imported,
    new_salts,
)
from drp_cli.domain.chain import mac as chain_mac
from drp_cli.domain.lifecycle import (
    ROW_DAYS,
    ROW_FIELDS,
    ConcernState,
)
from drp_cli.exchange.checks import ImportRefused, given_cells, prepare, validate
from drp_cli.exchange.readers import open_source
from drp_cli.exchange.sources import Source, shown
from drp_cli.services.tracker import Tracker
from drp_cli.store import daily, importsql, record
from drp_cli.store.connection import stored_day, stored_moment
from drp_cli.store.dbfile import SIDE_FILES
from drp_cli.store.record import ATTACHMENT_COLUMNS, EVENT_FIELDS, ITEM_COLUMNS

IMPORT_BATCH = 5000  # concerns written at a time, within the one transaction
SALT_BLOCK = 4096  # salts made at a time
IMPORT_CACHE_MB = 64  # SQLite's page cache while an import writes
CHUNK = 1000  # rows a process takes at a time when two share the work
WORKERS = min(2, os.cpu_count() or 1)  # cores that share the reading of a large file
#: chunk k of a file read by one process, or shared: chunk k is part deal[k % len(deal)]'s,
#: part 0 this process (which also writes them all), the others a process forked each
ONE: tuple[int, ...] = (0,)
SHARED: tuple[int, ...] = (1, 2)
PARALLEL_FROM = 4_000_000  # bytes: a smaller file is read in this process only
T = TypeVar("T")


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    skipped: int = 0  # already in the database, and not updated
    updated: int = 0  # already in the database, and changed by this import (--update)
    events: int = 0
    dry_run: bool = False
    ids: list[int] = field(default_factory=list)
    unchanged: int = 0  # already in the database, as the row says
    #: rows whose concern changed in the sheet (recorded with --update, else only reported)
    changed: list[Any] = field(default_factory=list)
    blank_rows: int = 0
    total_rows: int = 0
    #: files an earlier import into no database left beside it when it was stopped
    #: (killed, or the machine went down), removed by this one
    stale_removed: int = 0
    #: attached files carried from drp's own export into the attachments store
    attachments: int = 0
    #: drp's own export: (the id in the export where it gives one, the concern's reference,
    #: its id here) for each concern written, in the order of the ids here
    written: list[tuple[int | None, str, int]] = field(default_factory=list)
    #: sheet rows at a later formal stage with no formal start: dated from the stage's start
    formal_inferred: int = 0


#: the concern row's values in ROW_FIELDS order (``state.row()``, as a tuple)
_row_values = operator.attrgetter(*ROW_FIELDS)


# -- writing ---------------------------------------------------------------------------------
def import_file(
    tracker: Tracker,
    path: str | os.PathLike[str],
    *,
    dry_run: bool = False,
    by: str | None = None,
    progress: Callable[[int], None] | None = None,
    map_path: str | os.PathLike[str] | None = None,
    sheet: str | None = None,
    ignore_extra: bool = False,
    update: bool = False,
    known_rows: KnownRows | None = None,
    attachments: str | os.PathLike[str] | None = None,
) -> ImportResult:
    """Import a tracker file: every row checked first, then all written in one transaction,
    or nothing. Rows whose concern drp holds are compared with it: unchanged ones are
    skipped; changes are reported and, with ``update``, recorded as events
    (:mod:`drp_cli.exchange.reimport`)."""
    with _no_cyclic_gc():
        source = open_source(Path(path), map_path=map_path, sheet=sheet,
                             ignore_extra=ignore_extra)  # fmt: skip
        # drp's own export: the files its events attach, found (or refused) before anything
        carried = _attached_files(source, Path(path), attachments)
        if known_rows is None:
            # rows drp holds are compared with it (a database with none: nothing to compare,
            # and the reading may be shared with other processes)
            held = False
            if tracker.store.exists:
                with tracker.store.read() as conn:
                    held = daily.has_concerns(conn)
            known_rows = Compared(update, Path(path).name) if held else KnownRows()
        if dry_run or tracker.store.exists:
            if not dry_run:
                _carry(tracker, carried)
            result = _import(tracker, source, Path(path), dry_run=dry_run, by=by,
                             progress=progress, known_rows=known_rows)  # fmt: skip
        else:
            _carry(tracker, carried)
            result = _import_new(tracker, source, Path(path), by=by, progress=progress,
                                 known_rows=known_rows)  # fmt: skip
        result.attachments = len(carried)
        if source.fmt in ("json", "csv", "flat") and not dry_run and result.ids:
            result.written = _renumbered(tracker, source, result.ids)
        # once the import is in (bad input changes nothing): what an import into no
        # database left beside this one when it was stopped
        if tracker.store.path is not None and not dry_run:
            result.stale_removed = _remove_stale_builds(tracker.store.path)
        return result


_SHA = re.compile(r"[0-9a-f]{64}")


def _attached_files(source: Source, path: Path,
                    folder: str | os.PathLike[str] | None) -> dict[str, Path]:  # fmt: skip
    """The files the events of drp's own export attach (SHA-256 -> the file that holds it),
    found in ``folder`` (``--attachments``; else the export folder's ``attachments``), as a
    file named by its SHA-256 or as the attachments store keeps it (``ab/abcdef...``).
    Refuses at once, before anything is written, when any is missing: an import that left
    them behind would leave a record ``verify`` calls tampered."""
    if source.fmt not in ("json", "csv", "flat"):
        return {}
    if source.fmt != "flat" and not _mentions(path, (b"attached", b"\\u")):
        # a quick look at the bytes: no attachment, no second reading (a JSON escape could
        # spell the word, "\u0061ttached": the rows are then read to be sure)
        return {}
    wanted: set[str] = set()
    for _label, row in source.rows():
        events = row.get("events")
        if isinstance(events, str) and "attached" in events:
            try:
                events = json.loads(events)
            except ValueError:
                continue  # the checks say what is wrong with it
        if not isinstance(events, list):
            continue
        for e in events:
            if isinstance(e, dict) and e.get("kind") == "attached":
                sha = (e.get("details") or {}).get("sha256") if isinstance(
                    e.get("details"), dict) else None  # fmt: skip
                if isinstance(sha, str) and _SHA.fullmatch(sha):
                    wanted.add(sha)
    if not wanted:
        return {}
    n = len(wanted)
    files = f"{n} attached file{'s' if n != 1 else ''}"
    where = Path(folder) if folder is not None else (path / "attachments" if path.is_dir()
                                                     else None)  # fmt: skip
    if where is None:
        raise InvalidInput(f"the export refers to {files}; give --attachments DIR (the folder "
                           "that holds them: the exporting database's attachments folder, "
                           "DATABASE-attachments)")  # fmt: skip
    found: dict[str, Path] = {}
    for sha in sorted(wanted):
        for candidate in (where / sha, where / sha[:2] / sha):
            try:
                st = candidate.stat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                found[sha] = candidate
                break
    missing = n - len(found)
    if missing:
        raise InvalidInput(f"the export refers to {files}; {missing} of them "
                           f"{'is' if missing == 1 else 'are'} not in {shown(where)} (give "
                           "--attachments DIR: the folder that holds them, such as the "
                           "exporting database's DATABASE-attachments)")  # fmt: skip
    return found


def _renumbered(
    tracker: Tracker, source: Source, ids: list[int]
) -> list[tuple[int | None, str, int]]:
    """How the concerns of drp's own export were numbered here, where that changed their
    numbers: (their id in the export, where the export gives one (the workbook and the
    folder); their reference; their id here), matched by the concern's uid, which moves
    with it. Empty where the numbers did not change."""
    if source.fmt != "flat" and min(ids) == 1:
        return []  # numbered 1, 2, ... as exported, into an empty database: as they were
    old: dict[str, int] = {}
    if source.fmt == "flat":  # held in memory: a second look costs nothing
        old = {row["uid"]: row["_old_id"] for _label, row in source.rows()
               if row.get("uid") and "_old_id" in row}  # fmt: skip
    from drp_cli.store.record import concerns_numbered

    with tracker.store.read() as conn:
        found = concerns_numbered(conn, min(ids), max(ids))
    mine = set(ids)
    written = [
        (old.get(uid or ""), ref or uid or "", cid) for cid, uid, ref in found if cid in mine
    ]
    # said only where the numbers changed: an export given ids, any of them different; one
    # without (JSON, CSV: numbered 1, 2, ... as exported), into a database that held concerns
    if old:
        return written if any(o != new for o, _ref, new in written) else []
    return written if written and written[0][2] != 1 else []


def _mentions(path: Path, needles: tuple[bytes, ...]) -> bool:
    """Whether the file's bytes hold any of ``needles``, read 4 MB at a time. (Not searched
    where the system maps the file, which is quicker: a file cut short meanwhile by another
    process, a `cp` over it, would end drp by SIGBUS, with no message and no cleanup.)"""
    keep = max(map(len, needles)) - 1
    tail = b""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            seam = tail + block[:keep]
            # each needle's first byte looked for first (memchr: a tenth of the time of a
            # search for two bytes, b"\\u", in a file that holds no backslash)
            if any((n[:1] in block or n[:1] in seam) and (n in block or n in seam)
                   for n in needles):  # fmt: skip
                return True
            tail = block[-keep:] if keep else b""
    return False


def _carry(tracker: Tracker, files: dict[str, Path]) -> None:
    """Copy the attached files into the store, each checked against its SHA-256."""
    from drp_cli.services.attachments import _copy_in

    for sha, file in files.items():
        try:
            got, _size = _copy_in(tracker, file)
        except OSError as exc:
            raise InvalidInput(f"cannot read {shown(file)}: {exc.strerror}") from None
        if got != sha:
            raise InvalidInput(f"{shown(file)} is not the attached file of that SHA-256 (its "
                               "content differs); nothing was imported")  # fmt: skip


def _import_new(
    tracker: Tracker,
    source: Source,
    path: Path,
    *,
    by: str | None,
    progress: Callable[[int], None] | None,
    known_rows: KnownRows,
) -> ImportResult:
    """An import where there is no database yet, which makes one only if the file imports:
    bad input leaves no database behind. A SQLite file is built beside where it goes and
    linked into place when complete (never over a database that appeared meanwhile); a
    server database is made once a check-only reading of the file found no problem."""
    store = tracker.store
    if store.path is None:
        _import(tracker, source, path, dry_run=True, by=by, progress=None,
                known_rows=known_rows)  # fmt: skip
        return _import(tracker, source, path, dry_run=False, by=by, progress=progress,
                       known_rows=known_rows)  # fmt: skip
    from drp_cli.store.connection import Store

    target = store.path
    empty = _empty_file(target)
    aside = target.with_name(f"{_build_prefix(target)}{os.getpid()}-{uuid.uuid4().hex[:12]}")
    # encrypted with the key given to the store (a database is never built in plain text
    # to be encrypted afterwards)
    building = Tracker(Store(aside, scratch=True, db_key=store.db_key),
                       protocols=tracker.protocols, clock=tracker.today,
                       now=tracker.moment, key=tracker.key)  # fmt: skip
    try:
        result = _import(building, source, path, dry_run=False, by=by, progress=progress,
                         known_rows=known_rows)  # fmt: skip
        building.store.seal()
        try:
            os.link(aside, target)  # never over a file that is there
        except FileExistsError:
            if not _still_empty(target, empty):
                raise InvalidInput(
                    f"a database appeared at {shown(target)} while the file was "
                    "imported; nothing was imported: run the import again"
                ) from None
            os.replace(aside, target)  # the empty file that was there (drp open uses it too)
    finally:
        building.store.close()
        for leftover in (aside, *(Path(f"{aside}{side}") for side in SIDE_FILES)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    if store.on_create is not None:
        store.on_create(store.label)
    return result


def _empty_file(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path`` if it is an empty regular file (where a database is to
    be made, as `drp open` makes one in it), else None."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) and st.st_size == 0 else None


def _still_empty(path: Path, seen: tuple[int, int] | None) -> bool:
    """Whether ``path`` is the empty file :func:`_empty_file` saw before the import, still
    empty: then the database built beside it takes its place."""
    return seen is not None and _empty_file(path) == seen


#: How long a file being built beside its database goes unwritten before it counts as
#: left by an import that was stopped (a running import writes every few seconds)
STALE_AFTER = 600  # seconds


def _build_prefix(target: Path) -> str:
    """The start of the name of a file an import builds beside ``target``; the rest is
    ``PID-RANDOM``."""
    return f".{target.name}.import-"


#: the rest of such a file's name: PID-RANDOM, and the suffix of SQLite's files beside it
_BUILD_NAME = re.compile(
    r"(?P<name>(?P<pid>[0-9]{1,10})-[0-9a-f]{12})"
    f"(?:{'|'.join(map(re.escape, SIDE_FILES))})?"
)


def _remove_stale_builds(target: Path) -> int:
    """Remove what an import into no database that was stopped (killed, or the machine went
    down) left beside ``target``: its owner-only copy of the rows, which no one else would
    find or remove. Only a file untouched for STALE_AFTER whose process is gone (on Windows,
    where that cannot be asked safely, untouched alone). Returns how many were removed."""
    import glob

    prefix = _build_prefix(target)
    removed = 0
    for path in sorted(target.parent.glob(glob.escape(prefix) + "*")):
        made = _BUILD_NAME.fullmatch(path.name[len(prefix) :])
        if made is None:  # not a name an import gives (another database's, say)
            continue
        pid, name = int(made.group("pid")), made.group("name")
        try:
            seen = path.lstat()  # the name itself: a symlink is never followed
        except OSError:
            continue
        if not stat.S_ISREG(seen.st_mode) or time.time() - seen.st_mtime <= STALE_AFTER:
            continue
        if os.name != "nt" and _running(pid):
            continue
        try:
            path.unlink()
        except OSError:  # gone meanwhile, or not ours to remove: the import stands
            continue
        if path.name == prefix + name:  # the database file (not one of its SIDE_FILES)
            removed += 1
    return removed


def _running(pid: int) -> bool:
    """Whether a process with this id runs on this machine (POSIX)."""
    try:
        os.kill(pid, 0)  # signal 0: asks only
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's, or cannot tell: kept
    return True


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector: an import makes millions of small
    containers and none of them form cycles, but each collection of the oldest generation
    walks all of them (a third of the time of a 100,000-row import)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


#: A checked row of the file: its label, its checked cells (with ``_events``, whose
#: ``details`` text None in a dry run) and the state its events fold to.
CheckedRow = tuple[str, dict[str, Any], ConcernState]


class KnownRows:
    """Rows of the file whose concern the database already holds (the same external
    reference or uid). The reading calls :meth:`check` on each batch of them, then, while no
    row has a problem, :meth:`write`, inside the import's unit of work. This one skips them:
    re-importing adds nothing."""

    #: whether :meth:`check` and :meth:`write` read the rows (when not, the reading may be
    #: shared with other processes, which send back only what the rows need)
    sees_rows = False

    def check(self, conn: Any, batch: list[CheckedRow]) -> list[str]:
        """Problems with these rows ("row N, column C: ..."); none here."""
        return []

    def write(self, uow: Any, batch: list[CheckedRow]) -> int:
        """Write these rows; returns how many were written (the rest count as skipped)."""
        return 0

    def counted(self, result: ImportResult) -> None:
        """Add what the checks found of these rows to ``result`` (a dry run's end)."""

    def finish(self, uow: Any, result: ImportResult, recorder: str) -> None:
        """At the end of the import, in its unit of work with the chain's head moved:
        write what :meth:`write` left for the end."""


class Compared(KnownRows):
    """Spreadsheet rows whose concern drp holds, compared with it
    (:mod:`drp_cli.exchange.reimport`):
    the reading lists what changed and refuses a row that would move its concern backwards;
    at the end of the import, with ``update``, each change is recorded as an event (planned again
    under the write lock, against the concern as it then stands). Rows that carry their
    events (drp's own export) are not compared: they are skipped, as before."""

    sees_rows = True

    def __init__(self, update: bool, source_name: str) -> None:
        self.update, self.source_name = update, source_name
        self.compared = 0
        self.plans: list[Any] = []  # the rows that differ from drp's record
        self.rows: list[tuple[str, dict[str, Any]]] = []  # and the rows themselves

    def _plan(self, conn: Any, rows: list[tuple[str, dict[str, Any]]]) -> tuple[
            list[tuple[Any, tuple[str, dict[str, Any]]]], list[str]]:  # fmt: skip
        from drp_cli.exchange import reimport

        by_ref = record.concerns_by_ref(conn, [c["external_ref"] for _, c in rows])
        plans, errors = [], []
        for label, c in rows:
            row = by_ref.get(c["external_ref"])
            if row is None:  # known by its uid only: not a spreadsheet's row
                continue
            events = (record.events_of(conn, int(row["id"]))
                      if c["notes"] or c["response"] else None)  # fmt: skip
            plan, problems = reimport.plan(label, c, given_cells(c), row, c["protocol"], events,
                                           self.source_name)  # fmt: skip
            errors += [f"{label}, {p}" for p in problems]
            plans.append((plan, (label, c)))
        return plans, errors

    def check(self, conn: Any, batch: list[CheckedRow]) -> list[str]:
        rows = [(label, c) for label, c, _state in batch if not c["events"]]
        plans, errors = self._plan(conn, rows)
        self.compared += len(plans)
        for plan, row in plans:
            if plan.changed or plan.not_changed:
                self.plans.append(plan)
                self.rows.append(row)
        return errors

    def counted(self, result: ImportResult) -> None:
        result.changed = list(self.plans)
        result.unchanged = self.compared - len(self.plans)

    def finish(self, uow: Any, result: ImportResult, recorder: str) -> None:
        self.counted(result)
        if not self.update or not any(p.changed for p in self.plans):
            return
        plans, errors = self._plan(uow.conn, self.rows)  # as the concerns stand, locked
        if errors:
            raise ImportRefused(errors)
        result.changed = [p for p, _ in plans if p.changed or p.not_changed]
        for plan, _ in plans:
            if not plan.changed:
                continue
            loaded = uow.load(plan.concern_id)
            for e in plan.events:
                uow.append(loaded, e.kind, e.on, recorder, stage=e.stage or None,
                           from_stage=e.from_stage, text=e.text, details=e.details,
                           imported_by=recorder)  # fmt: skip
                result.events += 1
            result.updated += 1
        result.skipped -= result.updated


Key = tuple[str | None, str | None]


def _key(c: dict[str, Any], state: ConcernState) -> Key:
    """The row's external reference, and its uid unless this import made it up."""
    uid = state.uid if state.uid != c.get("_made_uid") else None
    return state.external_ref or c["external_ref"], uid


@dataclass
class _Job:
    """What the rows are read with (a second process gets a copy)."""

    tracker: Tracker
    source: Source
    path: Path
    cal: Any
    recorder: str
    today: dt.date
    #: the import's moment, from its unit of work (None: a dry run, which encodes nothing)
    now: dt.datetime | None = None
    #: the id of the file's first row, when every row is new (a database with no concerns):
    #: row ``n`` (from 0) is concern ``first_id + n``, so the rows are encoded as they are
    #: checked, wherever they are checked; None: ids are given once the rows are looked up
    first_id: int | None = None
    #: dates and moments given to the database as the text it stores them as (SQLite: made
    #: where the rows are checked, in two processes, not by the driver in the one writing)
    as_text: bool = False
    #: the database being built that the helper processes write the rows into themselves,
    #: taking turns (see :func:`_write_part`); None: the rows come back here to be written
    build: Path | None = None
    #: the chain's key (the import's unit of work's), for the links a helper makes
    key: bytes | None = None
    #: the SQLCipher key the database being built is encrypted with (None: plain)
    db_key: bytes | None = None
    #: each part's queue of turns: (the chain's seq, its last hash, whether every row so far
    #: was good), made before the helpers are forked
    turns: dict[int, Any] = field(default_factory=dict)
    #: set by the reading process once it has found a problem the helpers cannot see (a
    #: reference or uid on two rows): from then on they only check, writing nothing more
    refused: Any = None
    #: each part's queue of where in the file its next chunk starts (see :func:`_part_rows`),
    #: made before the helpers are forked; empty: each reads the file from its start
    starts: dict[int, Any] = field(default_factory=dict)
    #: what :func:`_event_parts` made for the job, in this process
    parts: Any = None
    #: the pieces of its plain events' hash texts (:func:`_pieces`), in this process
    pieces: Any = None
    #: the folds' outcomes :func:`~drp_cli.domain.lifecycle.finish_kept` keeps (each
    #: process its own)
    kept: dict[Any, Any] = field(default_factory=dict)


def _checked_row(
    job: _Job, label: str, row: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[str]]:
    """One row checked and prepared: (checked row, with its ``_events`` and ``_state``, or
    None; its problems)."""
    checked, problems = validate(
        job.tracker, label, row, job.today, recorder=job.recorder, encode=job.now is not None
    )
    if checked is not None:

        def bad(column: str, message: str) -> None:
            problems.append(f"{label}, column {column}: {message}")

        # the events' details are spelled only when they will be written
        prepared = prepare(checked, job.tracker, job.cal, job.recorder, bad,
                           encode=job.now is not None, kept=job.kept)  # fmt: skip
        if prepared is None:
            checked = None
        else:
            checked["_events"], checked["_state"] = prepared
    return checked, problems


def _mine(part: int, deal: tuple[int, ...]) -> Callable[[int], bool]:
    """Whether row ``n`` (from 0) is in this part: chunk ``k`` of CHUNK rows is part
    ``deal[k % len(deal)]``'s."""
    return lambda n: deal[(n // CHUNK) % len(deal)] == part


# a new concern as it will be written: (id, concern row, events, item rows, attachment rows),
# each event either plain, as its columns but the chain's in PLAIN_EVENT_COLUMNS order (see
# _new_concern), or as (its columns but the chain's, in NEW_EVENT_COLUMNS order, then its
# hash's three parts, as text: chain.imported_hash_text)
NewConcern = tuple[int, tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]],
                   list[tuple[Any, ...]]]  # fmt: skip
#: an event's columns as an import writes them: the chain's links last
NEW_EVENT_COLUMNS = (*EVENT_FIELDS, "salt", "content", "chain_seq", "prev_hash", "hash", "mac")
#: a new concern a helper process wrote itself: (id, its events, the chain's last hash once
#: the helper's chunk is written, on the chunk's last row only, else None)
Written = tuple[int, int, str | None]
#: a chunk a helper process wrote whole (every row good), as it is sent back: its rows'
#: labels, references and uids (the keys), each one's number of events, the first row's
#: concern id (the others' follow it) and the chain's last hash
WrittenChunk = tuple[tuple[str, ...], tuple[str | None, ...], tuple[str | None, ...],
                     tuple[int, ...], int, str]  # fmt: skip
# per row: its label, its problems, its key (None: a bad row), and either the checked row
# (to be looked up in the database) or, when the job gives the ids, the new concern encoded
# (or, when the helpers write, as written)
Checked = tuple[str, list[str], Key | None, CheckedRow | None, NewConcern | Written | None]


def _salts() -> Iterator[str]:
    """Salts as :func:`~drp_cli.domain.chain.new_salt` makes them, SALT_BLOCK from each read of the
    system's randomness (a block made when the one before is used up; an iterator in C)."""
    return itertools.chain.from_iterable(map(new_salts, itertools.repeat(SALT_BLOCK)))


def _same(value: T) -> T:
    return value


def _new_concern(job: _Job, c: dict[str, Any], cid: int, salts: Iterator[str]) -> NewConcern:
    """A checked row as the rows it writes, all but the chain's links (which follow the
    order the events are written in). Into SQLite, an event recorded by this import at its
    moment, from no stage (nearly all), leaves out the four columns every such event shares
    (:data:`~drp_cli.store.importsql.PLAIN_EVENT_COLUMNS`: the writer gives the others once)."""
    now = job.now
    assert now is not None
    parts, stamp, plain = _event_parts(job)
    as_text, day_texts = job.as_text, _DAY_TEXTS
    q, sha256 = encode_basestring, _sha256
    events: list[tuple[Any, ...]] = []
    for seq, (kind, on, stage, from_stage, by, given, text, details, _parsed) in enumerate(
        c["_events"], start=1
    ):
        salt = next(salts)
        if plain and given is None and from_stage is None and type(text) is str and type(
                details) is str:  # fmt: skip
            # a plain event: its stored values (chain.linked_imported_hashes spells its hash
            # text from them), its commitment made here (a salt is hex: JSON quotes it as
            # it is)
            day = day_texts.get(on) or _day_text(on)
            spelled = _EMPTY_DETAILS if details == "{}" else q(details)
            content = sha256(f'["{salt}",{q(text)},{spelled}]'.encode()).hexdigest()
            events.append((cid, seq, kind, day, stage, by, text, details, salt, content))
            continue
        recorded_at = given or now
        content, head, middle, tail = parts(cid, seq, kind, on, stage, from_stage, by,
                                            recorded_at, salt, text, details)  # fmt: skip
        if as_text:
            columns: tuple[Any, ...] = (
                cid, seq, kind, stored_day(on), stage, from_stage, by,
                stored_moment(recorded_at), text, details, job.recorder, stamp, salt,
                content)  # fmt: skip
        else:
            columns = (cid, seq, kind, on, stage, from_stage, by, recorded_at, text, details,
                       job.recorder, now, salt, content)  # fmt: skip
        events.append((columns, head, middle, tail))
    state: ConcernState = c["_state"]
    values = _row_values(state)
    if as_text:
        values = _row_days_as_text(values)
    # (most concerns have no items and no attachments: no comprehension run for none)
    items = [record.item_row(cid, it) for it in state.items.values()] if state.items else []
    attachments = ([record.attachment_row(cid, a) for a in state.attachments.values()]
                   if state.attachments else [])  # fmt: skip
    if as_text and (items or attachments):
        items = [_days_as_text(row) for row in items]
        attachments = [_days_as_text(row) for row in attachments]
    return (cid, (cid, *values, stamp, stamp), events, items, attachments)


_ROW_DAYS_AT = tuple(i for i, name in enumerate(ROW_FIELDS) if name in ROW_DAYS)


def _row_days_as_text(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """:func:`_days_as_text` of a concern row (ROW_FIELDS' values), looking only where it
    can hold a date."""
    out = list(values)
    texts = _DAY_TEXTS
    for i in _ROW_DAYS_AT:
        value = out[i]
        if type(value) is dt.date:
            text = texts.get(value)
            out[i] = _day_text(value) if text is None else text
    return tuple(out)


#: each day's text as SQLite stores it (a date's isoformat makes it by printf: an import
#: spells ten days a row, of a few thousand), kept by day, DAY_TEXTS_KEPT at most
_DAY_TEXTS: dict[dt.date, str] = {}
DAY_TEXTS_KEPT = 4096


def _day_text(day: dt.date) -> str:
    """``stored_day(day)``, kept in :data:`_DAY_TEXTS`."""
    if len(_DAY_TEXTS) >= DAY_TEXTS_KEPT:
        _DAY_TEXTS.clear()
    text: str = stored_day(day)
    _DAY_TEXTS[day] = text
    return text


#: ``encode_basestring("{}")``: the details of most events
_EMPTY_DETAILS = '"{}"'


def _event_parts(job: _Job) -> tuple[Callable[..., tuple[str, str, str, str]], Any, bool]:
    """The job's :func:`~drp_cli.domain.chain.imported_parts_of`, its moment as written (as
    text into SQLite) and whether its plain events leave out what they share (into SQLite,
    a recorder's name SQLite's statements can spell: no NUL); made once in each process."""
    made = job.parts
    if made is None:
        assert job.now is not None
        stamp = stored_moment(job.now) if job.as_text else job.now
        made = job.parts = (imported_parts_of(job.recorder, job.now, _sha256), stamp,
                            job.as_text and "\x00" not in job.recorder)  # fmt: skip
    return made


def _days_as_text(values: Iterable[Any]) -> tuple[Any, ...]:
    """A row's dates as the text SQLite stores for them."""
    return tuple([stored_day(v) if type(v) is dt.date else v for v in values])


def _check_part(job: _Job, part: int, deal: tuple[int, ...]) -> Iterator[list[Checked]]:
    """This part's chunks of rows, each row checked (and encoded when the job gives ids;
    a second process sends back only the keys of the rows it does not encode: a dry run's)."""
    salts, first = _salts(), job.first_id
    chunk: list[Checked] = []
    keep = deal == ONE
    for n, label, row in _part_rows(job, part, deal):
        c, problems = _checked_row(job, label, row)
        if c is None:
            chunk.append((label, problems, None, None, None))
        elif first is None:
            chunk.append((label, problems, _key(c, c["_state"]),
                          (label, c, c["_state"]) if keep else None, None))  # fmt: skip
        else:
            chunk.append((label, problems, _key(c, c["_state"]), None,
                          _new_concern(job, c, first + n, salts)))  # fmt: skip
        if n % CHUNK == CHUNK - 1:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


#: how long a helper waits for its turn before asking whether the import is still there
TURN_WAIT = 1.0  # seconds
#: what a part sends the part that reads the next chunk instead of where its own ended
_GO_SLOW, _THE_END = None, -1


def _part_rows(job: _Job, part: int, deal: tuple[int, ...]) -> Iterator[tuple[int, str, Any]]:
    """This part's rows (n from 0, label, row). Where the file is a JSON list shared between
    processes (``job.starts``), each reads only its own chunks: it reads one, tells the part
    that reads the next where in the file it ended, then checks it; the chunks the other
    part reads it never decodes (each process used to decode every row, its partner's too).
    Where that cannot be done (the file is not read the fast way, or the part before has
    not read so), every row is read from the start of the file and the others' passed over,
    as before, and so are the problems of the file found, and said, as before."""
    mine = _mine(part, deal)
    rows_from = job.source.rows_from
    if rows_from is None or not job.starts:
        for n, (label, row) in enumerate(job.source.rows()):
            if mine(n):
                yield n, label, row
        return
    from drp_cli.exchange.readers import _Unplain

    parent = os.getppid()
    step, k = len(deal), deal.index(part)  # this part's first chunk

    def tell(where: int | None) -> None:
        job.starts[deal[(k + 1) % step]].put(where)

    while True:
        start = 0 if k == 0 else _while_parent(
            lambda: job.starts[part].get(timeout=TURN_WAIT), parent)  # fmt: skip
        if start == _THE_END:
            return
        if start is _GO_SLOW:
            break
        at: list[Callable[[], int]] = []
        rows: list[tuple[str, Any]] = []
        reading = rows_from(start, k * CHUNK, at)
        try:
            for got in reading:
                rows.append(got)
                if len(rows) == CHUNK:
                    break
            ended = at[0]() if len(rows) == CHUNK else _THE_END  # (the file still open)
        except _Unplain:
            break
        except BaseException:
            tell(_GO_SLOW)  # the next part is not left waiting
            raise
        finally:
            reading.close()
        tell(ended)
        for n, (label, row) in enumerate(rows, start=k * CHUNK):
            yield n, label, row
        if len(rows) < CHUNK:
            return
        k += step
    tell(_GO_SLOW)  # from chunk k on, read as before
    for n, (label, row) in enumerate(job.source.rows()):
        if n >= k * CHUNK and mine(n):
            yield n, label, row


def _write_part(job: _Job, part: int,
                deal: tuple[int, ...]) -> Iterator[list[Checked] | WrittenChunk]:  # fmt: skip
    """A helper process's part when the helpers write into the database being built: its
    chunks as :func:`_check_part` gives them, each written in its turn (the chunks in file
    order, the chain linked from one to the next: the turn carries the chain's seq and last
    hash), then sent back with each new concern as :data:`Written`. Once a chunk has a bad
    row nothing more is written (the import will be refused and the database thrown away),
    and every row is still checked, so that every problem is listed."""
    from drp_cli.store.connection import Store

    assert job.build is not None
    parent = os.getppid()
    store: Store | None = None  # opened at the first turn: the database is made by then
    own = ImportResult()  # the rows this process writes; the reading process counts them
    #: whether SQLite's foreign-key check is off on this process's connection (after its
    #: first turn): every event, item and attachment a helper writes is of a concern it
    #: wrote before it in the same turn, numbered by the import, so no row of the file can
    #: make one refer to a concern that is not there; the check cost a tenth of each insert
    keys_off = False
    turns = (k for k in itertools.count() if deal[k % len(deal)] == part)
    try:
        for chunk, k in zip(_check_part(job, part, deal), turns, strict=False):
            seq, prev, good = _turn(job.turns[part], parent)
            good = (good and not job.refused.is_set()
                    and all(row[4] is not None for row in chunk))  # fmt: skip
            if good:
                if store is None:
                    store = Store(job.build, scratch=True, db_key=job.db_key)
                with store.write() as conn:
                    writer = _Writer(conn, own, chain=(seq, prev), key=job.key, job=job)
                    for row in chunk:
                        writer.add(row[4])  # type: ignore[arg-type]
                    writer.flush()
                if not keys_off:  # (a setting SQLite takes between transactions only)
                    importsql.foreign_keys_off(conn)
                    keys_off = True
                seq, prev = writer.chain_seq, writer.prev
            job.turns[deal[(k + 1) % len(deal)]].put((seq, prev, good))
            end = len(chunk) - 1  # the chunk's last row carries the chain's last hash
            rows: Any = chunk  # (every row's key and concern given, where it was written)
            if good and rows[end][4][0] - rows[0][4][0] == end:
                # written whole (every row good: no problems, a key, its concern numbered
                # on from the first's): sent back as a WrittenChunk
                yield (tuple([row[0] for row in rows]), tuple([row[2][0] for row in rows]),
                       tuple([row[2][1] for row in rows]),
                       tuple([len(row[4][2]) for row in rows]), rows[0][4][0], prev)  # fmt: skip
                continue
            yield [(label, problems, key, None, _as_written(new, prev if n == end else None))
                   for n, (label, problems, key, _, new) in enumerate(chunk)]  # fmt: skip
    finally:
        if store is not None:
            store.close()


def _as_written(new: NewConcern | Written | None, last: str | None = None) -> Written | None:
    """A new concern a helper wrote, as it is sent back (``last``: the chain's last hash)."""
    return None if new is None else (new[0], len(new[2]), last)  # type: ignore[arg-type]


def _turn(queue: Any, parent: int) -> tuple[int, str, bool]:
    """The next turn (see :func:`_while_parent`)."""
    turn: tuple[int, str, bool] = _while_parent(lambda: queue.get(timeout=TURN_WAIT), parent)
    return turn


def _while_parent(wait: Callable[[], T], parent: int) -> T:
    """What ``wait`` gets, tried again each time it times out (a queue's Empty or Full)
    while the process that started this one (``parent``) is there; once it is gone (killed),
    this process ends, instead of waiting for ever with the rows it holds and the database
    being built open."""
    import queue as queues

    while True:
        try:
            return wait()
        except (queues.Empty, queues.Full):
            if os.getppid() != parent:
                os._exit(1)


def _openssl_sha256() -> Any:
    import hashlib  # OpenSSL's: an import hashes every event (digests.py says why)

    return hashlib.sha256


_sha256 = _openssl_sha256()


class _Writer:
    """The import's rows going into the database a batch at a time, the events linked into
    the chain in the order they come (the whole import is still one transaction, or into a
    database being built, a chunk in each helper process's turn). ``conn`` None: the helpers
    write, and this one only follows them (:meth:`written`)."""

    def __init__(self, conn: Any, result: ImportResult, *, chain: tuple[int, str],
                 key: bytes | None, uow: Any = None, known_rows: KnownRows | None = None,
                 progress: Callable[[int], None] | None = None,
                 job: _Job | None = None) -> None:  # fmt: skip
        self.uow, self.conn, self.result = uow, conn, result
        #: the statement that writes a plain event (see :func:`_new_concern`), where the
        #: job makes them
        self.plain_sql = _plain_event_sql(job, key is not None) if job is not None else None
        self.known_rows, self.progress = known_rows, progress
        self.chain_seq, self.prev = chain
        self.key = key
        #: each link's mac in a keyed chain
        self.mac = functools.partial(chain_mac, key) if key else None
        #: the pieces of the plain events' hash texts (see :func:`_new_concern`)
        self.pieces = _pieces(job)
        self.concerns: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []  # in NEW_EVENT_COLUMNS order
        self.items: list[tuple[Any, ...]] = []
        self.attachments: list[tuple[Any, ...]] = []
        self.done = 0

    def add(self, new: NewConcern) -> None:
        cid, concern, events, items, attachments = new
        self.result.ids.append(cid)
        self.concerns.append(concern)
        pieces, mac = self.pieces, self.mac
        self.chain_seq, self.prev = link_imported(events, self.chain_seq, self.prev, pieces,
                                                  _sha256, self.events, mac)  # fmt: skip
        self.items += items
        self.attachments += attachments
        if len(self.concerns) >= IMPORT_BATCH:
            self.flush()

    def written(self, done: Written) -> None:
        """A new concern a helper process wrote: counted, and the chain followed."""
        cid, events, last = done
        self.result.ids.append(cid)
        self.result.events += events
        self.chain_seq += events
        if last is not None:
            self.prev = last
        self.done += 1
        if self.progress is not None and self.done % IMPORT_BATCH == 0:
            self.progress(self.done)

    def written_chunk(self, first_id: int, counts: tuple[int, ...], last: str) -> None:
        """:meth:`written` of each new concern of a chunk a helper process wrote whole
        (numbered on from ``first_id``, of ``counts`` events each; ``last``: the chain's
        last hash)."""
        done, n = self.done, len(counts)
        events = sum(counts)
        self.result.ids += range(first_id, first_id + n)
        self.result.events += events
        self.chain_seq += events
        self.prev = last
        self.done = done + n
        if self.progress is not None:  # at each IMPORT_BATCH-th, as written() tells it
            for at in range(done + IMPORT_BATCH - done % IMPORT_BATCH, done + n + 1,
                            IMPORT_BATCH):  # fmt: skip
                self.progress(at)

    def known(self, rows: list[CheckedRow]) -> None:
        """Rows whose concern drp holds: given to the import's KnownRows to write."""
        assert self.known_rows is not None
        written = self.known_rows.write(self.uow, rows)
        self.result.updated += written
        self.result.skipped += len(rows) - written

    def flush(self) -> None:
        conn, result = self.conn, self.result
        if self.concerns:
            if conn.is_sqlite:  # their Nones as NULL in the statement, not bound
                importsql.insert_rows(conn, "concern", CONCERN_NAMES, self.concerns)
            else:
                conn.insert_many("concern", CONCERN_NAMES, self.concerns)
            self._insert_events()
            conn.insert_many("item", ITEM_COLUMNS, self.items)
            conn.insert_many("attachment", ATTACHMENT_COLUMNS, self.attachments)
        result.events += len(self.events)
        self.done += len(self.concerns)
        for rows in (self.concerns, self.events, self.items, self.attachments):
            rows.clear()
        if self.progress is not None:
            self.progress(self.done)

    def _insert_events(self) -> None:
        """The events, in the order they came: plain ones (shorter) by the statement that
        gives what they share, the others with every column."""
        rows, conn = self.events, self.conn
        full = len(NEW_EVENT_COLUMNS)
        if self.plain_sql is None or not rows:
            conn.insert_many("event", NEW_EVENT_COLUMNS, rows)
            return
        if max(map(len, rows)) < full:  # all plain (the usual): one run, told in C
            importsql.insert_plain_events(conn, self.plain_sql, rows)
            return
        start = 0
        for plain, run in itertools.groupby(rows, key=lambda row: len(row) < full):
            n = sum(1 for _ in run)
            if plain:
                importsql.insert_plain_events(conn, self.plain_sql, rows[start : start + n])
            else:
                conn.insert_many("event", NEW_EVENT_COLUMNS, rows[start : start + n])
            start += n

    def close(self, uow: Any) -> None:
        """The last batch; the chain's head moved past the events written."""
        self.flush()
        if self.result.ids:
            uow.concern_ids_given(self.result.ids[-1])
        uow.move_head(self.chain_seq, self.prev)


CONCERN_NAMES = ("id", *ROW_FIELDS, "created_at", "updated_at")


def _pieces(job: _Job | None) -> ImportedPieces:
    """The pieces of the job's plain events' hash texts (none: a writer that only follows
    the helpers, or a job that makes no plain events)."""
    if job is None or job.now is None:
        return ImportedPieces("", dt.datetime.min)
    if job.pieces is None:
        job.pieces = ImportedPieces(job.recorder, job.now)
    pieces: ImportedPieces = job.pieces
    return pieces


def _plain_event_sql(job: _Job, keyed: bool) -> str | None:
    """The statement that writes the job's plain events (see
    :func:`~drp_cli.store.importsql.plain_event_sql`); None: the job makes none."""
    _parts, stamp, plain = _event_parts(job)
    return importsql.plain_event_sql(stamp, job.recorder, keyed) if plain else None


INDEXED_LATER = ("concern", "event", "item", "attachment")


def _seen_once(label: str, ref: str | None, uid: str | None, refs: dict[str, str],
               uids: dict[str, str], errors: list[str]) -> None:  # fmt: skip
    """Note a row's reference and uid (``refs``/``uids``: each seen so far, with the label of
    its row); one already seen on another row is an error naming both rows."""
    if ref is not None:
        if ref in refs:
            errors.append(f"{label}, column external_ref: the same reference is on {refs[ref]}")
        refs[ref] = label
    if uid is not None:
        if uid in uids:
            errors.append(f"{label}, column uid: the same concern is on {uids[uid]}")
        uids[uid] = label


def _read(job: _Job, known_rows: KnownRows, conn: Any, writer: _Writer | None,
          result: ImportResult, deal: tuple[int, ...] | None = None,
          started: Callable[[], None] | None = None) -> list[str]:  # fmt: skip
    """Read the file once: check every row, and (``writer``) write the good ones as they
    come, until a problem is found; from then on only check, so that every problem is
    listed. Returns the problems (any problem: the caller's transaction writes nothing, or
    the database being built is thrown away). ``deal``: which process reads which chunks
    (by default as :func:`_deal` says)."""
    errors: list[str] = []
    refs: dict[str, str] = {}  # reference -> the row's label
    uids: dict[str, str] = {}  # uid -> the row's label
    batch: list[tuple[Key, CheckedRow | None]] = []
    # one process gives ids as rows are looked up (else each row's id is first_id + n)
    next_id = writer.uow.next_concern_id() if writer is not None and job.first_id is None else 0
    salts = _salts()

    def look_up() -> None:
        """Rows checked in this process: which of them drp holds, the others new."""
        nonlocal next_id
        known = (_known(conn, [k[0] for k, _ in batch], [k[1] for k, _ in batch])
                 if conn is not None else (set(), set()))  # fmt: skip
        fresh = [not _is_known(key, known) for key, _ in batch]
        hits = [row for (_, row), new in zip(batch, fresh, strict=True) if not new]
        if known_rows.sees_rows and hits:
            errors.extend(known_rows.check(conn, [r for r in hits if r is not None]))
        if writer is None or errors:  # counted only: nothing will be written
            result.skipped += len(hits)
        else:
            writer.known([r for r in hits if r is not None])
            for (_, row), new in zip(batch, fresh, strict=True):
                if new:
                    assert row is not None  # one process: the rows are kept
                    writer.add(_new_concern(job, row[1], next_id, salts))
                    next_id += 1
        result.imported += len(batch) - len(hits)
        batch.clear()

    if deal is None:
        deal = _deal(job, known_rows) if job.first_id is not None or writer is None else ONE
    make: Callable[[_Job, int, tuple[int, ...]], Iterator[list[Checked] | WrittenChunk]]
    make, begin = _check_part, started
    if job.source.rows_from is not None and len(deal) > 1 and 0 not in deal:
        import multiprocessing

        # the helpers each read only their own chunks of a JSON list (see _part_rows)
        job.starts = {part: multiprocessing.get_context("fork").Queue() for part in deal}
    if job.build is not None:  # the helpers write, in turns: the first turn is chunk 0's
        assert writer is not None and deal != ONE
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        job.turns = {part: ctx.Queue() for part in set(deal)}
        job.refused = ctx.Event()
        first_turn = (writer.chain_seq, writer.prev, True)

        def first() -> None:  # the helpers are reading: the first turn once all is ready
            if started is not None:
                started()
            job.turns[deal[0]].put(first_turn)

        make, begin = _write_part, first
    for chunk in _in_order(lambda part: make(job, part, deal), deal, started=begin):
        if isinstance(chunk, tuple):  # a WrittenChunk: a helper wrote every row of it
            labels, chunk_refs, chunk_uids, counts, first_id, last = chunk
            result.rows += len(labels)
            for label, ref, uid in zip(labels, chunk_refs, chunk_uids, strict=True):
                _seen_once(label, ref, uid, refs, uids, errors)
            if errors and not job.refused.is_set():
                job.refused.set()  # the helpers write no more
            result.imported += len(labels)
            if writer is not None and not errors:
                writer.written_chunk(first_id, counts, last)
            continue
        for label, problems, key, checked, new in chunk:
            result.rows += 1
            errors += problems
            if errors and job.refused is not None and not job.refused.is_set():
                job.refused.set()  # the helpers write no more
            if key is None:
                continue
            _seen_once(label, key[0], key[1], refs, uids, errors)
            if new is not None:  # every row is new: written as it comes
                result.imported += 1
                if writer is not None and not errors:
                    if job.build is not None:
                        writer.written(new)  # type: ignore[arg-type]
                    else:
                        writer.add(new)  # type: ignore[arg-type]
            else:
                batch.append((key, checked))
                if len(batch) >= IMPORT_BATCH:
                    look_up()
    if batch:
        look_up()
    return errors


def _import(
    tracker: Tracker,
    source: Source,
    path: Path,
    *,
    dry_run: bool,
    by: str | None,
    progress: Callable[[int], None] | None,
    known_rows: KnownRows,
) -> ImportResult:
    """The file read once, every row checked; the rows written as they come in the one
    transaction, which writes nothing if any row has a problem."""
    from drp_cli.domain.calendar import WorkingCalendar
    from drp_cli.services.tracker import current_user

    recorder = current_user(by)
    today = tracker.today()
    current_closures = {c.day for c in tracker.closures()}
    new_closures = [(d, r) for d, r in source.closures if d not in current_closures]
    cal = WorkingCalendar(current_closures | {d for d, _ in new_closures})
    job = _Job(tracker, source, path, cal, recorder, today, as_text=tracker.store.is_sqlite)
    result = ImportResult(dry_run=dry_run)
    if dry_run:
        store = tracker.store
        with store.read() if store.exists else contextlib.nullcontext() as conn:
            errors = _read(job, known_rows, conn, None, result)
    elif tracker.store.scratch and (deal := _deal(job, known_rows)) != ONE:
        _build(tracker, job, known_rows, result, progress, deal, new_closures)
        errors = []
    else:
        with tracker.unit_of_work() as uow:
            uow.lock_concerns()  # the concern table, then the chain head: one order for all
            if not daily.has_concerns(uow.conn):  # every row is new: ids as the file goes
                job.first_id = uow.next_concern_id()
            job.now = uow.now
            head = uow.chain_head()
            writer = _Writer(uow.conn, result, chain=(head.seq, head.hash), key=uow.key, job=job,
                             uow=uow, known_rows=known_rows, progress=progress)  # fmt: skip
            # room in SQLite's cache for the indexes being filled (64 MB: the import's peak
            # memory stays under 400 MB; more makes it no faster)
            # (into a database with no concerns: their indexes made once all are in)
            with contextlib.ExitStack() as stack:
                stack.enter_context(uow.conn.bulk(IMPORT_CACHE_MB))
                if job.first_id is not None:
                    stack.enter_context(uow.conn.indexes_after(INDEXED_LATER))
                errors = _read(job, known_rows, uow.conn, writer, result)
                if errors:
                    raise ImportRefused(errors)  # the unit of work rolls back
                writer.close(uow)
            _after_rows(uow, job, result, known_rows, new_closures)
    if errors:
        raise ImportRefused(errors)
    result.blank_rows = source.skipped.get("blank", 0)
    result.total_rows = source.skipped.get("total", 0)
    result.formal_inferred = source.skipped.get("formal_inferred", 0)
    if dry_run:
        known_rows.counted(result)
    return result


def _after_rows(uow: Any, job: _Job, result: ImportResult, known_rows: KnownRows,
                new_closures: list[tuple[dt.date, str]]) -> None:  # fmt: skip
    """Once the new rows are in and the chain's head moved: the file's closure days (and the
    deadlines they move), then the changes to concerns drp holds."""
    if new_closures and result.imported:
        for day, reason in new_closures:
            uow.add_closure_change(day, "add", reason, job.recorder)
        uow.calendar = job.cal
        uow.refold_deadlines_from(min(d for d, _ in new_closures))
    known_rows.finish(uow, result, job.recorder)


def _build(tracker: Tracker, job: _Job, known_rows: KnownRows, result: ImportResult,
           progress: Callable[[int], None] | None, deal: tuple[int, ...],
           new_closures: list[tuple[dt.date, str]]) -> None:  # fmt: skip
    """A large file into the database being built beside where it goes (no one else reads
    it, and it is thrown away if the import fails): the helper processes write the rows
    themselves, taking turns, instead of sending them back to this process to write. That
    is a fifth less work in all (no rows copied from process to process), and this process,
    which waited on its share of two cores, no longer holds the others up.

    The helpers start on the first rows while this process makes the new database: its
    first concern is 1 and its chain starts at GENESIS (checked once it is made). Only the
    concern table's indexes are made once all the rows are in; the indexes on concern_id
    grow at their end, as the ids do. Raises :class:`ImportRefused` with the problems."""
    store = tracker.store
    store.close()  # no connection is carried into the helpers: SQLite's locks are a process's
    job.first_id, job.now, job.key, job.build = 1, tracker.moment(), tracker.key, store.path
    job.db_key = store.db_key
    indexes: list[str] = []

    def make_database() -> None:
        with tracker.unit_of_work() as uow:
            head = uow.chain_head()
            if uow.next_concern_id() != 1 or (head.seq, head.hash) != (0, GENESIS):
                raise DatabaseError(f"{store.label} is not a new database")
            indexes[:] = uow.conn.drop_indexes(("concern",))
        store.close()

    writer = _Writer(None, result, chain=(0, GENESIS), key=job.key, progress=progress)
    errors = _read(job, known_rows, None, writer, result, deal, started=make_database)
    if errors:
        raise ImportRefused(errors)
    # the rows the helpers wrote go to the disk while this process makes the indexes (the
    # other core is free by then), so that the flush when the file is sealed finds little
    assert store.path is not None
    flushing = _flush_behind(store.path)
    try:
        with tracker.unit_of_work() as uow:
            # SQLite's sorter on the two cores (the same indexes, made sooner)
            with uow.conn.bulk(IMPORT_CACHE_MB), importsql.sort_threads(uow.conn, WORKERS):
                uow.conn.make_indexes(indexes)
            writer.close(uow)
            _after_rows(uow, job, result, known_rows, new_closures)
    finally:
        flushing.join()


def _flush_behind(path: Path) -> Any:
    """A thread that asks the system to write ``path``'s pages to the disk (what is left
    at the end is written, and waited for, by :meth:`Store.seal`; an error here is left for
    it to meet). Returns the thread, started."""
    import threading

    def flush() -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    thread = threading.Thread(target=flush, name="drp-flush", daemon=True)
    thread.start()
    return thread


def _deal(job: _Job, known_rows: KnownRows) -> tuple[int, ...]:
    """Which process reads which chunks of rows (see :func:`_in_order`): SHARED for a large
    file into SQLite on a machine with two cores or more, when the known rows need not come
    back whole; else this process reads them all."""
    if WORKERS < 2 or known_rows.sees_rows or not job.tracker.store.is_sqlite:
        return ONE
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():  # Windows: one process
        return ONE
    try:
        large = job.path.stat().st_size >= PARALLEL_FROM
    except OSError:
        return ONE
    return SHARED if large else ONE


_END = "end"
#: drp's errors a helper process sends back by name (any other: a DatabaseError)
_FORWARDED: dict[str, type[DrpError]] = {"DatabaseBusy": DatabaseBusy,
                                         "DatabaseError": DatabaseError}  # fmt: skip
#: A chunk of plain values (tuples, lists, text, numbers, bytes, None) goes from the
#: process that read it to the one that writes it as marshal's bytes: made and read again
#: in a third of the time pickle takes, and safe between a process and its own fork (the
#: same Python, and nothing in it but values).
_MARSHAL = "marshal"


def _in_order(make: Callable[[int], Iterator[T]], deal: tuple[int, ...],
              started: Callable[[], None] | None = None) -> Iterator[T]:  # fmt: skip
    """The chunks ``make(part)`` yields, in file order (chunk ``k`` is part
    ``deal[k % len(deal)]``'s). Part 0 here, in this process; each other part in a process
    of its own (forked, so it shares what this one read), sending its chunks back as they
    come. ``started``: called once the other processes are on their way."""
    parts = max(deal) + 1
    here = make(0) if 0 in deal else iter(())
    if parts == 1:
        if started is not None:
            started()
        yield from here
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queues = [ctx.Queue(maxsize=2) for _ in range(parts)]
    procs = [ctx.Process(target=_produce, args=(make, part, queues[part]), daemon=True)
             for part in range(1, parts)]  # fmt: skip
    for proc in procs:
        proc.start()
    try:
        if started is not None:
            started()
        for k in itertools.count():
            part = deal[k % len(deal)]
            if part == 0:
                chunk = next(here, None)
                if chunk is None:
                    break
                yield chunk
                continue
            kind, value = _next_message(queues[part], procs[part - 1])
            if kind == _END:
                break
            if kind == "error":
                raise InvalidInput(value)
            if kind == "failed":
                name, message = value
                raise _FORWARDED.get(name, DatabaseError)(message)
            if kind == "crash":
                raise RuntimeError(value)
            yield marshal.loads(value) if kind == _MARSHAL else value
        for proc in procs:
            proc.join()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()


def _next_message(queue: Any, proc: Any) -> tuple[str, Any]:
    """The process's next message; an error if it stopped without sending one."""
    import queue as queues

    while True:
        try:
            message: tuple[str, Any] = queue.get(timeout=1.0)
            return message
        except queues.Empty:
            if not proc.is_alive():
                try:
                    message = queue.get(timeout=1.0)  # sent just before it ended
                    return message
                except queues.Empty:
                    return "crash", f"import process ended with status {proc.exitcode}"


def _produce(make: Callable[[int], Iterator[Any]], part: int, queue: Any) -> None:
    """A process's part: its chunks, then the end, or what stopped it."""
    parent = os.getppid()

    def put(message: tuple[str, Any]) -> None:
        _put(queue, message, parent)

    try:
        for chunk in make(part):
            try:  # plain values (the import's rows, its dates as text) go as marshal's bytes
                message = (_MARSHAL, marshal.dumps(chunk))
            except ValueError:  # something else: pickled
                message = ("chunk", chunk)
            put(message)
        put((_END, None))
    except InvalidInput as exc:
        put(("error", str(exc)))
    except DrpError as exc:  # drp's own (the disk full, say): its words carry no record
        put(("failed", (type(exc).__name__, str(exc))))
    except Exception as exc:  # a bug: its kind only (its message may quote the file)
        put(("crash", f"import process failed: {type(exc).__name__}"))


def _put(queue: Any, message: Any, parent: int) -> None:
    """``message`` on the (bounded) queue to the process that started this one (see
    :func:`_while_parent`)."""
    _while_parent(lambda: queue.put(message, timeout=TURN_WAIT), parent)


def _known(conn: Any, refs: list[str | None], uids: list[str | None]) -> tuple[set[str], set[str]]:
    """Which of these references and uids the database already holds."""
    return (record.known(conn, "external_ref", [r for r in refs if r is not None]),
            record.known(conn, "uid", [u for u in uids if u is not None]))  # fmt: skip


def _is_known(key: tuple[str | None, str | None], known: tuple[set[str], set[str]]) -> bool:
    ref, uid = key
    return (ref is not None and ref in known[0]) or (uid is not None and uid in known[1])
