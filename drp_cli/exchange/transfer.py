"""Import from spreadsheet trackers (CSV or JSON) and export (CSV or JSON).

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

import codecs
import contextlib
import csv
import datetime as dt
import gc
import hashlib
import io
import itertools
import json
import marshal
import math
import operator
import os
import re
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, TypeVar

from drp_cli.core.dates import iso
from drp_cli.core.errors import DatabaseBusy, DatabaseError, DrpError, InvalidInput
from drp_cli.core.textsafe import is_one_line, is_safe_text, neutralise_cell, restore_cell
from drp_cli.core.uids import new_uid
from drp_cli.domain.chain import GENESIS, commitment, hash_of_parts, imported_hash_parts, new_salts
from drp_cli.domain.chain import mac as chain_mac
from drp_cli.domain.lifecycle import (
    ROW_FIELDS,
    ConcernState,
    Fact,
    apply,
    finish,
    fold,
)
from drp_cli.domain.protocols import ROLES, themes
from drp_cli.domain.transitions import KINDS, Refused, replay_checked
from drp_cli.exchange.sources import Closure, Row, Source
from drp_cli.services.tracker import STAGE_ENTRIES, STATUSES, Tracker
from drp_cli.store import record
from drp_cli.store.connection import stored_day, stored_moment
from drp_cli.store.dbfile import SIDE_FILES
from drp_cli.store.record import ATTACHMENT_COLUMNS, EVENT_FIELDS, ITEM_COLUMNS

REQUIRED = (
    "protocol", "child", "category", "summary", "opened_on", "stage", "stage_started_on",
    "status",
)  # fmt: skip
OPTIONAL = (
    "external_ref", "issue", "impact", "recommended", "raised_by", "role", "formal_started_on",
    "due", "referred_on", "closed_on", "outcome", "uid", "events", "closure_days",
    "notes", "response", "responded_on", "owner", "team",
)  # fmt: skip
COLUMNS = REQUIRED + OPTIONAL
DATE_COLUMNS = ("opened_on", "stage_started_on", "formal_started_on", "due", "referred_on",
                "closed_on", "responded_on")  # fmt: skip
MAX_ERRORS = 50
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
ONE_LINE = ("protocol", "child", "category", "issue", "raised_by", "role", "external_ref",
            "uid", "status", "stage", "owner", "team")  # fmt: skip
_ONE_LINE_SET, _COLUMN_SET = frozenset(ONE_LINE), frozenset(COLUMNS)


class ImportRefused(InvalidInput):
    """Some rows are bad; nothing was written. ``errors`` lists them all."""

    def __init__(self, errors: list[str]) -> None:
        shown = errors[:MAX_ERRORS]
        more = len(errors) - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        super().__init__(
            f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found; nothing was "
            "imported:\n  " + "\n  ".join(shown) + tail
        )
        self.errors = errors


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


# -- reading ---------------------------------------------------------------------------------
def _closure_days(value: Any, where: str) -> list[Closure]:
    """The local closure days an export carries: a list of {"day", "reason"}."""
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: closure_days must be a list of days and reasons")
    days: list[Closure] = []
    for n, entry in enumerate(value, start=1):
        day = _event_day(entry.get("day")) if isinstance(entry, dict) else None
        reason = entry.get("reason", "") if isinstance(entry, dict) else None
        if day is None or not isinstance(reason, str) or not is_one_line(reason or "x"):
            raise InvalidInput(f"{where}: closure day {n} needs a date and a one-line reason")
        days.append((day, reason))
    return days


def open_source(
    path: Path,
    *,
    map_path: str | os.PathLike[str] | None = None,
    sheet: str | None = None,
    ignore_extra: bool = False,
) -> Source:
    """The rows of the file, read as a stream (twice: to check, then to write), and the
    local closure days it carries.

    * drp's own workbook or folder of flat CSV files: read by :mod:`drp_cli.exchange.flat` into rows
      that each carry their events;
    * a workbook, a file read through a map, or a CSV whose columns are not drp's: a
      council's spreadsheet, read through :mod:`drp_cli.exchange.sheetmap` (its blank and total rows
      are counted in the source's ``skipped``);
    * else drp's CSV or JSON, by its suffix, else its first character (``[`` or ``{``:
      JSON)."""
    from drp_cli.exchange import flat

    if map_path is None and sheet is None and flat.is_drp_export(path):
        rows_of, flat_closures = flat.read_export(path)
        return Source("flat", rows_of, flat_closures)
    if map_path is not None or sheet is not None or _is_sheet(path):
        from drp_cli.exchange.sheetmap import mapped_source

        mapped = mapped_source(path, map_path, sheet=sheet, ignore_extra=ignore_extra)
        counts: dict[str, int] = {}

        def read() -> Iterator[Row]:
            yield from mapped.rows()
            counts.update(blank=mapped.counts.blank, total=mapped.counts.total)

        return Source("sheet", read, [], counts)
    try:
        with path.open("rb") as f:
            start = f.read(4096)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    if start.startswith(codecs.BOM_UTF8):
        start = start[len(codecs.BOM_UTF8) :]
    if path.suffix.lower() == ".json" or start.lstrip().startswith((b"[", b"{")):
        return _json_source(path)
    return _csv_source(path)


@contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    """The file in binary, past a UTF-8 byte order mark."""
    try:
        f = path.open("rb")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    with f:
        if f.read(3) != codecs.BOM_UTF8:
            f.seek(0)
        yield f


def _not_json(path: Path, exc: Exception, where: str = "") -> InvalidInput:
    """The parser's complaint without the text it quotes (the file holds personal data)."""
    first = str(exc).lstrip("b'\"").split("\\n")[0].split("\n")[0].strip()
    if "UTF8" in first:
        return InvalidInput(f"{path} is not UTF-8 text (save the spreadsheet as CSV UTF-8)")
    kind = re.fullmatch(r"(?:lexical|parse) error: ([a-zA-Z0-9 ()-]+)\.?", first)
    return InvalidInput(f"{path} is not valid JSON{where}" + (f": {kind.group(1)}" if kind else ""))


def _json_source(path: Path) -> Source:
    """A JSON file: a list of concern objects, or an object with ``concerns`` (that list)
    and ``closure_days``, in either order. Parsed a concern at a time (ijson's C parser)."""
    import ijson  # type: ignore[import-untyped]

    listed = f"{path}: expected a list of concern objects"
    closures: Any = None
    top = concerns = None
    with _opened(path) as f:
        # the top level and the closure days that come before the concerns
        try:
            events = ijson.parse(f)
            for prefix, event, value in events:
                if top is None:
                    top = event
                    if event != "start_map":
                        break
                elif prefix == "" and event == "map_key" and value == "closure_days":
                    builder, depth = ijson.ObjectBuilder(), 0
                    for _sub, ev, val in events:
                        builder.event(ev, val)
                        depth += ev in ("start_array", "start_map")
                        depth -= ev in ("end_array", "end_map")
                        if depth == 0:
                            break
                    closures = builder.value
                elif prefix == "concerns" and concerns is None:
                    concerns = event
                    break
        except ijson.JSONError as exc:
            raise _not_json(path, exc) from None
    if top == "start_map" and concerns is not None and closures is None:
        # the closure days may come after the concerns
        with _opened(path) as f:
            try:
                found = list(ijson.items(f, "closure_days"))
            except ijson.JSONError as exc:
                raise _not_json(path, exc) from None
            closures = found[-1] if found else None
    if top == "start_array":
        prefix = "item"
    elif top == "start_map" and concerns == "start_array":
        prefix = "concerns.item"
    else:
        raise InvalidInput(listed)
    days = _closure_days(closures, str(path))

    def rows() -> Iterator[Row]:
        n = 0
        if top == "start_array":  # the standard library's decoder, where it reads the same
            with _opened(path) as f:
                try:
                    for n, item in enumerate(_array_items(f), start=1):
                        if type(item) is not dict:
                            raise InvalidInput(listed)
                        yield f"item {n}", item
                    return
                except _Unplain as stopped:
                    n = stopped.n  # ijson goes on from the next item, and says what is wrong
        with _opened(path) as f:
            try:
                items = ijson.items(f, prefix, use_float=True)
                for m, item in enumerate(items, start=1):
                    if m <= n:
                        continue
                    if type(item) is not dict:
                        raise InvalidInput(listed)
                    yield f"item {m}", item
                    n = m
            except ijson.JSONError as exc:
                raise _not_json(path, exc, f" (after item {n})") from None
            except UnicodeDecodeError:  # ijson's reading of an escape of half a character
                raise InvalidInput(
                    f"{path} is not valid JSON (after item {n}): an escape "
                    "that is not a whole character"
                ) from None

    return Source("json", rows, days)


class _Unplain(Exception):
    """Where :func:`_array_items` stops: after item ``n``, something it does not read
    exactly as ijson does (or not at all)."""

    def __init__(self, n: int = 0) -> None:
        super().__init__(n)
        self.n = n


def _plain_int(text: str) -> int:
    value = int(text)
    if not -(2**63) <= value < 2**63:  # ijson refuses what does not fit in 64 bits
        raise _Unplain
    return value


def _plain_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):  # ijson refuses an overflow
        raise _Unplain
    return value


def _unplain(text: str) -> Any:  # NaN and Infinity are not JSON
    raise _Unplain


_DECODER = json.JSONDecoder(parse_int=_plain_int, parse_float=_plain_float,
                            parse_constant=_unplain)  # fmt: skip
_SPACE = re.compile(r"[ \t\n\r]*")
_LONE = re.compile(r"\\u[dD][89a-fA-F]")  # a surrogate escape: ijson reads a lone one as '?'
JSON_BLOCK = 1 << 20  # characters read at a time


def _array_items(f: IO[bytes]) -> Iterator[Any]:
    """The items of the JSON array that is the file, one at a time, by the standard
    library's C decoder (twice as fast as ijson's), a block of the file at a time. Raises
    :class:`_Unplain` at anything it does not read exactly as ijson does, so that the caller
    goes on with ijson (whose errors are the ones the file gets)."""
    decode = codecs.getincrementaldecoder("utf-8")().decode
    buf, pos, n, eof = "", 0, 0, False

    def more(size: int = JSON_BLOCK) -> None:
        nonlocal buf, pos, eof
        try:
            block = f.read(size)
            eof = not block
            buf = buf[pos:] + decode(block, final=eof)
        except UnicodeDecodeError:
            raise _Unplain(n) from None
        pos = 0

    def skip_space() -> str:
        """The next character that is not white space ('' at the end of the file)."""
        nonlocal pos
        while True:
            pos = _SPACE.match(buf, pos).end()  # type: ignore[union-attr]
            if pos < len(buf) or eof:
                return buf[pos : pos + 1]
            more()

    more()
    if skip_space() != "[":
        raise _Unplain(0)
    pos += 1
    while True:
        ch = skip_space()
        if ch == "]":
            pos += 1
            if skip_space() != "":  # something after the array
                raise _Unplain(n)
            return
        if n:
            if ch != ",":
                raise _Unplain(n)
            pos += 1
            skip_space()
        size = JSON_BLOCK
        while True:  # the item, the buffer grown while it runs past the buffer's end
            try:
                item, end = _DECODER.raw_decode(buf, pos)
            except _Unplain:
                raise _Unplain(n) from None
            except ValueError:
                if eof:
                    raise _Unplain(n) from None
                more(size)
                size *= 2
                continue
            if end == len(buf) and not eof:  # a number may go on in the next block
                more(size)
                continue
            break
        if buf.find("\\u", pos, end) >= 0 and _LONE.search(buf, pos, end):
            raise _Unplain(n)
        pos = end
        n += 1
        yield item


def _csv_source(path: Path) -> Source:
    """A CSV file (UTF-8) with a header row: its closure days may be in any row's
    ``closure_days`` cell (``drp export`` puts them in the first)."""
    with _csv_text(path) as text:
        reader = csv.reader(text)
        try:
            header = next(reader, [])
        except UnicodeDecodeError:
            raise _not_utf8(path) from None
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InvalidInput(f"{path}: missing column{'s' if len(missing) > 1 else ''}: "
                               f"{', '.join(missing)}")  # fmt: skip
        unknown = [c for c in header if c not in COLUMNS]
        if unknown:
            raise InvalidInput(
                f"{path}: unknown column {unknown[0]!r}; columns: {', '.join(COLUMNS)}"
            )

    def read(carried: list[Closure] | None = None) -> Iterator[Row]:
        with _csv_text(path) as text:
            reader = csv.DictReader(text)
            try:
                for row in reader:
                    label = f"row {reader.line_num}"
                    # cells that drp export neutralised against spreadsheet formulas
                    cells = {k: restore_cell(v) if isinstance(v, str) else v
                             for k, v in row.items() if k is not None}  # fmt: skip
                    days = cells.pop("closure_days", None)
                    if carried is not None:
                        carried += _closure_days(days, f"{path}, {label}")
                    yield label, cells
            except UnicodeDecodeError:
                raise _not_utf8(path) from None

    closures: list[Closure] = []
    if "closure_days" in header:
        for _ in read(closures):
            pass
    return Source("csv", read, closures)


def _not_utf8(path: Path) -> InvalidInput:
    return InvalidInput(f"{path} is not UTF-8 text (save the spreadsheet as CSV UTF-8)")


@contextmanager
def _csv_text(path: Path) -> Iterator[IO[str]]:
    try:
        f = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    with f:
        yield f


def _is_sheet(path: Path) -> bool:
    """A workbook, or a CSV whose header does not have drp's own columns."""
    from drp_cli.exchange.sheets import is_workbook

    if is_workbook(path):
        return True
    if path.suffix.lower() == ".json":
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if head.lstrip().startswith((b"[", b"{")):
        return False
    first = head.decode("utf-8-sig", errors="replace").splitlines()[:1]
    names = next(csv.reader(first), []) if first else []
    return not all(c in names for c in REQUIRED)


# -- validating ------------------------------------------------------------------------------
def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _date(value: str, name: str, errors: list[str], label: str) -> dt.date | None:
    if not value:
        return None
    day = _iso_day(value)
    if day is None:
        errors.append(f"{label}, column {name}: is not a date (expected YYYY-MM-DD)")
    return day


def auto_ref(row: dict[str, Any]) -> str:
    key = "|".join(_text(row, c) for c in ("protocol", "child", "category", "opened_on", "summary"))
    return "auto:" + hashlib.sha256(key.encode()).hexdigest()[:20]


def validate(
    tracker: Tracker, label: str, row: dict[str, Any], today: dt.date
) -> tuple[dict[str, Any] | None, list[str]]:
    """The row's cells checked and converted, or None and its problems."""
    errors: list[str] = []

    def bad(column: str, message: str) -> None:
        errors.append(f"{label}, column {column}: {message}")

    for problem in row.get("_problems", ()):
        errors.append(f"{label}, {problem}")
    # every cell as stripped text, once
    cells = {
        k: "" if v is None else str(v).strip()
        for k, v in row.items()
        if k != "events" and not k.startswith("_")
    }
    get = cells.get

    said = set(row.get("_bad", ()))  # a spreadsheet's cell already named as unreadable
    for name in REQUIRED:
        if not get(name, "") and name not in said:
            bad(name, "is empty")
    unknown = [k for k in row if k not in _COLUMN_SET and not k.startswith("_")]
    if unknown:
        bad(unknown[0], f"is not a column; columns: {', '.join(COLUMNS)}")
    dates = {name: _date(get(name, ""), name, errors, label) for name in DATE_COLUMNS}
    for name, value in dates.items():
        if value is not None and value > today:
            bad(name, "is in the future")
    protocol = tracker.protocols.protocols.get(get("protocol", ""))
    if get("protocol", "") and protocol is None:
        bad("protocol", "is not an installed protocol (installed: "
            f"{', '.join(sorted(tracker.protocols.protocols))})")  # fmt: skip
    stage = None
    if protocol is not None and get("stage", ""):
        if protocol.has_stage(get("stage", "")):
            stage = protocol.stage(get("stage", ""))
        else:
            bad("stage", f"is not a stage of protocol {protocol.slug} (stages: "
                f"{', '.join(protocol.stage_slugs)})")  # fmt: skip
    category = get("category", "")
    issue = get("issue", "") or None
    role = get("role", "") or (protocol.roles[0] if protocol else "iro")
    status = get("status", "")
    opened, started = dates["opened_on"], dates["stage_started_on"]
    closed = dates["closed_on"]
    events = row.get("events")
    unreadable = False
    if isinstance(events, str) and events.strip():
        try:
            events = json.loads(events)
        except ValueError:
            unreadable, events = True, None
    _check_row(bad, errors, cells, protocol, category, issue, role, status, opened,
               started, closed)  # fmt: skip
    if unreadable or (
        events not in (None, "")
        and not (isinstance(events, list) and all(isinstance(e, dict) for e in events))
    ):
        bad("events", "is not a JSON list of events")
    elif events:
        _check_events(events, protocol, opened, today, bad)
    if errors:
        return None, errors
    assert protocol is not None and stage is not None and opened and started
    formal_start = dates["formal_started_on"] or (started if stage.formal else None)
    checked = {
        "external_ref": get("external_ref", "") or None,
        "uid": get("uid", "") or None,
        "protocol": protocol,
        "stage": stage,
        "child": get("child", ""),
        "category": category,
        "issue": issue,
        "summary": get("summary", ""),
        "impact": get("impact", ""),
        "recommended": get("recommended", ""),
        "raised_by": get("raised_by", ""),
        "role": role,
        "status": status,
        "opened_on": opened,
        "stage_started_on": started,
        "formal_started_on": formal_start,
        "due": dates["due"],
        "referred_on": dates["referred_on"],
        "closed_on": closed,
        "outcome": get("outcome", "") or None,
        "events": events or None,
        "notes": get("notes", ""),
        "owner": get("owner", "") or None,
        "team": get("team", "") or None,
        "response": get("response", ""),
        "responded_on": dates["responded_on"],
        "_today": today,
        "_given": {k for k, v in cells.items() if v} - set(row.get("_defaulted", ())),
    }
    if not events:
        checked["external_ref"] = checked["external_ref"] or auto_ref(row)
    return checked, []


def _check_row(
    bad: Callable[[str, str], None], errors: list[str], cells: dict[str, str], protocol: Any,
    category: str, issue: str | None, role: str, status: str, opened: dt.date | None,
    started: dt.date | None, closed: dt.date | None,
) -> None:  # fmt: skip
    """What :func:`validate` checks of a row's cells beyond converting them."""
    get = cells.get
    slugs = _theme_slugs(themes())
    if category and category not in slugs:
        bad("category", f"is not a category (allowed: {', '.join(slugs)})")
    if issue and category in slugs:
        allowed = [i.slug for i in themes().theme(category).issues]
        if issue not in allowed:
            bad("issue", f"is not an issue of category {category} (allowed: "
                f"{', '.join(allowed)})")  # fmt: skip
    if protocol is not None and role not in protocol.roles:
        bad("role", f"is not a role of protocol {protocol.slug} (allowed: "
            f"{', '.join(protocol.roles)})")  # fmt: skip
    elif role not in ROLES:
        bad("role", f"is not a role (allowed: {', '.join(ROLES)})")
    if status and status not in STATUSES:
        bad("status", f"is not a status (allowed: {', '.join(STATUSES)})")
    if opened and started and started < opened:
        bad("stage_started_on", "is before opened_on")
    if status in ("resolved", "withdrawn"):
        if closed is None and "closed_on" not in [e.split("column ")[-1] for e in errors]:
            bad("closed_on", f"a {status} concern needs the date it was {status}")
        if not get("outcome", ""):
            bad("outcome", f"a {status} concern needs its outcome")
        if closed and started and closed < started:
            bad("closed_on", "is before stage_started_on")
    elif status == "open" and closed is not None:
        bad("closed_on", "an open concern has no closing date")
    # the characters are checked one by one: all the cells at once, then (when some cell
    # has one) each cell, to name it
    if not is_one_line("".join([c for n, c in cells.items() if n in _ONE_LINE_SET])) or (
        not is_safe_text("".join([c for n, c in cells.items() if n not in _ONE_LINE_SET]))
    ):
        for name, cell in cells.items():
            if name in _ONE_LINE_SET:
                if not is_one_line(cell):
                    bad(name, "must be one line without control, line-separator or bidi "
                        "characters")  # fmt: skip
            elif not is_safe_text(cell):
                bad(name, "contains control, line-separator or bidi characters")
    if len(get("child", "")) > 64:
        bad("child", "is longer than 64 characters")


def prepare(
    c: dict[str, Any],
    tracker: Tracker,
    cal: Any,
    recorder: str,
    bad: Callable[[str, str], None],
    *,
    encode: bool = True,
) -> tuple[list[dict[str, Any]], ConcernState] | None:
    """The row's events as they will be stored, and their fold; ``bad`` is told (and None
    returned) where the row's own columns contradict its events. ``encode`` False (a check
    only): the events' details are left as objects (their stored text None)."""
    protocols = tracker.protocols.protocols
    if c["events"]:
        events = [_event_row(e, c, recorder, encode) for e in c["events"]]
        # every event allowed, as the commands would allow it (drp_cli.domain.transitions)
        try:
            state = replay_checked(_facts(events), c["protocol"])
        except Refused as exc:
            bad("events", f"event {exc.n}: {exc.error.render(_event_field)}")
            return None
        # an export from an older drp: its opening event does not carry the recorded fields
        missing = {
            name: value
            for name, value in (("protocol", c["protocol"].slug), ("child", c["child"]),
                                ("category", c["category"]), ("issue", c["issue"]),
                                ("raised_by", c["raised_by"] or recorder), ("role", c["role"]),
                                ("external_ref", c["external_ref"]), ("uid", c["uid"]))
            if value is not None and getattr(state, name) is None
        }  # fmt: skip
        if missing:
            if "uid" not in missing and state.uid is None:
                missing["uid"] = c["_made_uid"] = new_uid()
            on: dt.date = state.opened_on or c["opened_on"]
            stage: str = state.stage or c["stage"].slug
            recorded = {"kind": "fields-recorded", "effective_on": on, "stage": stage,
                        "from_stage": None, "by": recorder, "recorded_at": None,
                        "text": "", "details": _encode_details(missing) if encode else None,
                        "_details": missing, "_imported": True}  # fmt: skip
            events.append(recorded)
            # the last event, applied after the others as a fold applies it
            apply(state, Fact(len(events), "fields-recorded", on, stage, recorder, "", missing))
        finish(state, protocols.get(state.protocol or ""), cal)  # as fold finishes
    else:
        events = [_event_row(e, c, recorder, encode) for e in _synthetic_events(c, recorder)]
        state = fold(_facts(events), protocols, cal)
    problems = False
    row_values = {
        "stage": c["stage"].slug, "stage_started_on": c["stage_started_on"],
        "status": c["status"], "opened_on": c["opened_on"], "closed_on": c["closed_on"],
        "referred_on": c["referred_on"], "summary": c["summary"], "child": c["child"],
        "protocol": c["protocol"].slug, "category": c["category"],
    }  # fmt: skip
    for name, value in row_values.items():
        if getattr(state, name) != value:
            bad(name, "does not match the row's events")
            problems = True
    if c["external_ref"] and state.external_ref not in (None, c["external_ref"]):
        bad("external_ref", "does not match the row's events")
        problems = True
    return None if problems else (events, state)


def _facts(events: list[dict[str, Any]]) -> list[Fact]:
    return [
        Fact(seq, ev["kind"], ev["effective_on"], ev["stage"], ev["by"], ev["text"],
             ev["_details"])
        for seq, ev in enumerate(events, start=1)
    ]  # fmt: skip


def _event_field(name: str) -> str:
    """How an import's problem names a field of an event (the registry's messages name the
    commands' fields): 'on', 'kind', or the detail."""
    return f"'{name}'" if name in ("on", "kind") else f"details.{_DETAIL_OF.get(name, name)}"


_DETAIL_OF = {"cafcass_step": "step"}
#: every event kind drp writes (the registry of transitions)
EVENT_KINDS_IMPORTED = frozenset(KINDS)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_DETAIL_DATES = ("due", "opened_on", "formal_started_on", "senior_officer_notified_on", "dated",
                 "obtained_on")  # fmt: skip
_DETAIL_DATES_SET = frozenset(_DETAIL_DATES)
_DETAIL_TYPES = (str, int, float, bool, list, type(None))


def _event_problem(e: dict[str, Any], protocol: Any, opened: dt.date | None,
                   today: dt.date, first: bool,
                   stages: frozenset[str] | None = None) -> str | None:  # fmt: skip
    """What is wrong with one imported event (never quoting its content), or None.
    ``stages``: the protocol's stage slugs (looked up here when not given)."""
    kind = e.get("kind")
    if not isinstance(kind, str) or kind not in EVENT_KINDS_IMPORTED:
        return "'kind' is not an event kind drp records"
    if first and kind not in ("opened", "imported"):
        return "the first event must be 'opened' or 'imported'"
    if not first and kind in ("opened", "imported"):
        return f"only the first event may be {kind!r}"
    day = _event_day(e.get("on"))
    if day is None:
        return "'on' must be a date (YYYY-MM-DD)"
    if day > today:
        return "'on' is in the future"
    if opened is not None and day < opened and kind != "fields-recorded":
        return "'on' is before opened_on"
    if stages is None and protocol is not None:
        stages = _stage_set(protocol)
    for name in ("stage", "from_stage"):
        value = e.get(name)
        if value is None or (name == "stage" and value == ""):
            continue
        if type(value) is not str:
            return f"'{name}' must be text"
        if stages is not None and value not in stages:
            return (f"'{name}' is not a stage of protocol {protocol.slug} (stages: "
                    f"{', '.join(protocol.stage_slugs)})")  # fmt: skip
    by, text = e.get("by", ""), e.get("text", "")
    if by is not None:
        if type(by) is not str:
            return "'by' must be text"
        if not is_one_line(by):
            return "'by' contains control, line-separator or bidi characters"
    if text is not None:
        if type(text) is not str:
            return "'text' must be text"
        if not is_safe_text(text):
            return "'text' contains control, line-separator or bidi characters"
    moment = e.get("recorded_at")
    if moment is not None:
        try:
            dt.datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
        except ValueError:
            return "'recorded_at' must be a date and time (ISO 8601)"
    details = e.get("details", {})
    if details is None:
        return None
    if not isinstance(details, dict):
        return "'details' must be an object"
    if not _DETAIL_DATES_SET.isdisjoint(details):
        for name in _DETAIL_DATES:
            value = details.get(name)
            if value is not None and (not isinstance(value, str) or _iso_day(value) is None):
                return f"details.{name} must be a date (YYYY-MM-DD)"
    # the texts' characters checked all at once; each value again only when something is
    # wrong, to name the first that is
    texts, typed = [], True
    for value in details.values():
        if type(value) is str:
            texts.append(value)
        elif not isinstance(value, _DETAIL_TYPES):
            typed = False
            break
    if not typed or (texts and not is_safe_text("".join(texts))):
        for name, value in details.items():
            if type(value) is str:
                if not is_safe_text(value):
                    return f"details.{name} contains control, line-separator or bidi characters"
            elif not isinstance(value, _DETAIL_TYPES):
                return f"details.{name} must be text, a number or a list"
    if kind.endswith(("-added", "-removed")) or kind in ("action-done", "attached"):
        n = details.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            return "details.n must be a whole number from 1"
        position = details.get("position", n)
        if not isinstance(position, int) or isinstance(position, bool):
            return "details.position must be a whole number"
    if kind == "attached":
        from drp_cli.services.attachments import KINDS as ATTACHMENT_KINDS

        sha = details.get("sha256")
        if not isinstance(sha, str) or not _HEX64.match(sha):
            return "details.sha256 must be a SHA-256 in hex"
        if details.get("kind") not in ATTACHMENT_KINDS:
            return "details.kind is not an attachment kind"
        size = details.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return "details.size must be a whole number"
        name = details.get("filename", "file")
        if not isinstance(name, str) or not name or not is_one_line(name):
            return "details.filename must be one line of text"
    return None


_STAGE_SETS: dict[int, tuple[Any, frozenset[str]]] = {}
#: the concern row's values in ROW_FIELDS order (``state.row()``, as a tuple)
_row_values = operator.attrgetter(*ROW_FIELDS)
_THEME_SLUGS: dict[int, tuple[Any, list[str]]] = {}


def _theme_slugs(catalogue: Any) -> list[str]:
    """The categories' slugs, in order (looked up once per catalogue)."""
    hit = _THEME_SLUGS.get(id(catalogue))
    if hit is None or hit[0] is not catalogue:
        hit = _THEME_SLUGS[id(catalogue)] = (catalogue, [t.slug for t in catalogue.themes])
    return hit[1]


def _stage_set(protocol: Any) -> frozenset[str]:
    """The protocol's stage slugs (``protocol.has_stage``, looked up once per protocol)."""
    hit = _STAGE_SETS.get(id(protocol))
    if hit is None or hit[0] is not protocol:
        hit = _STAGE_SETS[id(protocol)] = (protocol, frozenset(protocol.stage_slugs))
    return hit[1]


def _check_events(
    events: list[dict[str, Any]],
    protocol: Any,
    opened: dt.date | None,
    today: dt.date,
    bad: Callable[[str, str], None],
) -> None:
    """Every event's kind, dates, stages, text and details, so that bad input is named by
    row and event, never a crash, and never quoted."""
    stages = _stage_set(protocol) if protocol is not None else None
    for n, e in enumerate(events, start=1):
        problem = _event_problem(e, protocol, opened, today, n == 1, stages)
        seq = (e.get("details") or {}).get("seq") if isinstance(e.get("details"), dict) else None
        if (
            problem is None
            and e.get("kind") in ("retracted", "redacted")
            and (type(seq) is not int or not 1 <= seq < n)
        ):
            problem = "details.seq must be the number of an earlier event"
        if problem is not None:
            bad("events", f"event {n}: {problem}")
            return


@lru_cache(maxsize=4096)
def _iso_day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _event_day(value: Any) -> dt.date | None:
    return _iso_day(value) if isinstance(value, str) else None


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
) -> ImportResult:
    """Import a tracker file: every row checked first, then all written in one transaction,
    or nothing. Rows whose concern drp holds are compared with it: unchanged ones are
    skipped; changes are reported and, with ``update``, recorded as events
    (:mod:`drp_cli.exchange.reimport`)."""
    with _no_cyclic_gc():
        source = open_source(Path(path), map_path=map_path, sheet=sheet,
                             ignore_extra=ignore_extra)  # fmt: skip
        if known_rows is None:
            # rows drp holds are compared with it (a database with none: nothing to compare,
            # and the reading may be shared with other processes)
            held = False
            if tracker.store.exists:
                with tracker.store.read() as conn:
                    held = record.has_concerns(conn)
            known_rows = Compared(update, Path(path).name) if held else KnownRows()
        if dry_run or tracker.store.exists:
            result = _import(tracker, source, Path(path), dry_run=dry_run, by=by,
                             progress=progress, known_rows=known_rows)  # fmt: skip
        else:
            result = _import_new(tracker, source, Path(path), by=by, progress=progress,
                                 known_rows=known_rows)  # fmt: skip
        # once the import is in (bad input changes nothing): what an import into no
        # database left beside this one when it was stopped
        if tracker.store.path is not None and not dry_run:
            result.stale_removed = _remove_stale_builds(tracker.store.path)
        return result


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
    aside = target.with_name(f"{_build_prefix(target)}{os.getpid()}-{uuid.uuid4().hex[:12]}")
    building = Tracker(Store(aside, scratch=True), protocols=tracker.protocols, clock=tracker.today,
                       now=tracker.moment, key=tracker.key)  # fmt: skip
    try:
        result = _import(building, source, path, dry_run=False, by=by, progress=progress,
                         known_rows=known_rows)  # fmt: skip
        building.store.seal()
        try:
            os.link(aside, target)  # never over a file that is there
        except FileExistsError:
            raise InvalidInput(
                f"a database appeared at {target} while the file was "
                "imported; nothing was imported: run the import again"
            ) from None
    finally:
        building.store.close()
        for leftover in (aside, *(Path(f"{aside}{side}") for side in SIDE_FILES)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    if store.on_create is not None:
        store.on_create(store.label)
    return result


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
            plan, problems = reimport.plan(label, c, c["_given"], row, c["protocol"], events,
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
    #: each part's queue of turns: (the chain's seq, its last hash, whether every row so far
    #: was good), made before the helpers are forked
    turns: dict[int, Any] = field(default_factory=dict)
    #: set by the reading process once it has found a problem the helpers cannot see (a
    #: reference or uid on two rows): from then on they only check, writing nothing more
    refused: Any = None


def _checked_row(
    job: _Job, label: str, row: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[str]]:
    """One row checked and prepared: (checked row, with its ``_events`` and ``_state``, or
    None; its problems)."""
    checked, problems = validate(job.tracker, label, row, job.today)
    if checked is not None:

        def bad(column: str, message: str) -> None:
            problems.append(f"{label}, column {column}: {message}")

        # the events' details are spelled only when they will be written
        prepared = prepare(checked, job.tracker, job.cal, job.recorder, bad,
                           encode=job.now is not None)  # fmt: skip
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
# each event as (its columns but the chain's, in NEW_EVENT_COLUMNS order, then its hash's
# three parts)
NewConcern = tuple[int, tuple[Any, ...], list[tuple[tuple[Any, ...], bytes, bytes, bytes]],
                   list[tuple[Any, ...]], list[tuple[Any, ...]]]  # fmt: skip
#: an event's columns as an import writes them: the chain's links last
NEW_EVENT_COLUMNS = (*EVENT_FIELDS, "salt", "content", "chain_seq", "prev_hash", "hash", "mac")
#: a new concern a helper process wrote itself: (id, its events, the chain's last hash once
#: the helper's chunk is written, on the chunk's last row only, else None)
Written = tuple[int, int, str | None]
# per row: its label, its problems, its key (None: a bad row), and either the checked row
# (to be looked up in the database) or, when the job gives the ids, the new concern encoded
# (or, when the helpers write, as written)
Checked = tuple[str, list[str], Key | None, CheckedRow | None, NewConcern | Written | None]


def _salts() -> Iterator[str]:
    """Salts as :func:`~drp_cli.domain.chain.new_salt` makes them, SALT_BLOCK from each read of the
    system's randomness."""
    while True:
        yield from new_salts(SALT_BLOCK)


def _same(value: T) -> T:
    return value


def _new_concern(job: _Job, c: dict[str, Any], cid: int, salts: Iterator[str]) -> NewConcern:
    """A checked row as the rows it writes, all but the chain's links (which follow the
    order the events are written in)."""
    recorder, now = job.recorder, job.now
    assert now is not None
    day, moment = (stored_day, stored_moment) if job.as_text else (_same, _same)
    stamp = moment(now)
    events = []
    for seq, ev in enumerate(c["_events"], start=1):
        kind, on, stage, from_stage, by = (ev["kind"], ev["effective_on"], ev["stage"],
                                           ev["from_stage"], ev["by"])  # fmt: skip
        recorded_at, text, details = ev["recorded_at"] or now, ev["text"], ev["details"]
        salt = next(salts)
        content = commitment(salt, text, details)
        head, middle, tail = imported_hash_parts(cid, seq, kind, on, stage, from_stage, by,
                                                 recorded_at, content, recorder, now)  # fmt: skip
        events.append(((cid, seq, kind, day(on), stage, from_stage, by, moment(recorded_at),
                        text, details, recorder, stamp, salt, content),
                       head, middle, tail))  # fmt: skip
    state: ConcernState = c["_state"]
    items = [record.item_row(cid, it) for it in state.items.values()]
    attachments = [record.attachment_row(cid, a) for a in state.attachments.values()]
    values = _row_values(state)
    if job.as_text:
        values = _days_as_text(values)
        items = [_days_as_text(row) for row in items]
        attachments = [_days_as_text(row) for row in attachments]
    return (cid, (cid, *values, stamp, stamp), events, items, attachments)


def _days_as_text(values: Iterable[Any]) -> tuple[Any, ...]:
    """A row's dates as the text SQLite stores for them."""
    return tuple([stored_day(v) if type(v) is dt.date else v for v in values])


def _check_part(job: _Job, part: int, deal: tuple[int, ...]) -> Iterator[list[Checked]]:
    """This part's chunks of rows, each row checked (and encoded when the job gives ids;
    a second process sends back only the keys of the rows it does not encode: a dry run's)."""
    mine, salts, first = _mine(part, deal), _salts(), job.first_id
    chunk: list[Checked] = []
    keep = deal == ONE
    for n, (label, row) in enumerate(job.source.rows()):
        if not mine(n):
            continue
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


def _write_part(job: _Job, part: int, deal: tuple[int, ...]) -> Iterator[list[Checked]]:
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
    turns = (k for k in itertools.count() if deal[k % len(deal)] == part)
    try:
        for chunk, k in zip(_check_part(job, part, deal), turns, strict=False):
            seq, prev, good = _turn(job.turns[part], parent)
            good = (good and not job.refused.is_set()
                    and all(row[4] is not None for row in chunk))  # fmt: skip
            if good:
                if store is None:
                    store = Store(job.build, scratch=True)
                with store.write() as conn:
                    writer = _Writer(conn, own, chain=(seq, prev), key=job.key)
                    for row in chunk:
                        writer.add(row[4])  # type: ignore[arg-type]
                    writer.flush()
                seq, prev = writer.chain_seq, writer.prev
            job.turns[deal[(k + 1) % len(deal)]].put((seq, prev, good))
            end = len(chunk) - 1  # the chunk's last row carries the chain's last hash
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


class _Writer:
    """The import's rows going into the database a batch at a time, the events linked into
    the chain in the order they come (the whole import is still one transaction, or into a
    database being built, a chunk in each helper process's turn). ``conn`` None: the helpers
    write, and this one only follows them (:meth:`written`)."""

    def __init__(self, conn: Any, result: ImportResult, *, chain: tuple[int, str],
                 key: bytes | None, uow: Any = None, known_rows: KnownRows | None = None,
                 progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
        self.uow, self.conn, self.result = uow, conn, result
        self.known_rows, self.progress = known_rows, progress
        self.chain_seq, self.prev = chain
        self.key = key
        self.concerns: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []  # in NEW_EVENT_COLUMNS order
        self.items: list[tuple[Any, ...]] = []
        self.attachments: list[tuple[Any, ...]] = []
        self.done = 0

    def add(self, new: NewConcern) -> None:
        cid, concern, events, items, attachments = new
        self.result.ids.append(cid)
        self.concerns.append(concern)
        chain_seq, prev, key, rows = self.chain_seq, self.prev, self.key, self.events
        for columns, head, middle, tail in events:
            chain_seq += 1
            digest = hash_of_parts((head, middle, tail), chain_seq, prev)
            rows.append((*columns, chain_seq, prev, digest,
                         chain_mac(key, digest) if key else None))  # fmt: skip
            prev = digest
        self.chain_seq, self.prev = chain_seq, prev
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

    def known(self, rows: list[CheckedRow]) -> None:
        """Rows whose concern drp holds: given to the import's KnownRows to write."""
        assert self.known_rows is not None
        written = self.known_rows.write(self.uow, rows)
        self.result.updated += written
        self.result.skipped += len(rows) - written

    def flush(self) -> None:
        conn, result = self.conn, self.result
        if self.concerns:
            conn.insert_many("concern", CONCERN_NAMES, self.concerns)
            conn.insert_many("event", NEW_EVENT_COLUMNS, self.events)
            conn.insert_many("item", ITEM_COLUMNS, self.items)
            conn.insert_many("attachment", ATTACHMENT_COLUMNS, self.attachments)
        result.events += len(self.events)
        self.done += len(self.concerns)
        for rows in (self.concerns, self.events, self.items, self.attachments):
            rows.clear()
        if self.progress is not None:
            self.progress(self.done)

    def close(self, uow: Any) -> None:
        """The last batch; the chain's head moved past the events written."""
        self.flush()
        if self.result.ids:
            uow.concern_ids_given(self.result.ids[-1])
        uow.move_head(self.chain_seq, self.prev)


CONCERN_NAMES = ("id", *ROW_FIELDS, "created_at", "updated_at")
INDEXED_LATER = ("concern", "event", "item", "attachment")


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
    make, begin = _check_part, started
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
        for label, problems, key, checked, new in chunk:
            result.rows += 1
            errors += problems
            if errors and job.refused is not None and not job.refused.is_set():
                job.refused.set()  # the helpers write no more
            if key is None:
                continue
            ref, uid = key
            if ref is not None:
                if ref in refs:
                    errors.append(f"{label}, column external_ref: the same reference is "
                                  f"on {refs[ref]}")  # fmt: skip
                refs[ref] = label
            if uid is not None:
                if uid in uids:
                    errors.append(f"{label}, column uid: the same concern is on "
                                  f"{uids[uid]}")  # fmt: skip
                uids[uid] = label
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
            if not record.has_concerns(uow.conn):  # every row is new: ids as the file goes
                job.first_id = uow.next_concern_id()
            job.now = uow.now
            head = uow.chain_head()
            writer = _Writer(uow.conn, result, chain=(head.seq, head.hash), key=uow.key,
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
    with tracker.unit_of_work() as uow:
        with uow.conn.bulk(IMPORT_CACHE_MB):
            uow.conn.make_indexes(indexes)
        writer.close(uow)
        _after_rows(uow, job, result, known_rows, new_closures)


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


def _details_encoder() -> Callable[[Any], str]:
    """``json.dumps(value, sort_keys=True)`` for the details of an event: the standard
    library's C encoder made once instead of for each of hundreds of thousands of events
    (a property test holds the two to the same text)."""
    plain = json.JSONEncoder(sort_keys=True)
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the plain encoder
        return plain.encode
    try:
        spell = make(None, plain.default, encoder.encode_basestring_ascii, None, ": ", ", ",
                     True, False, True)  # fmt: skip
        sample = {"b": [1, 2.5, None, True], "a": {"z": "\u00e9", "y": {}}}
        if "".join(spell(sample, 0)) != plain.encode(sample):
            return plain.encode
    except Exception:  # another Python's C encoder: the plain one
        return plain.encode

    def encode(value: Any) -> str:
        if type(value) is not dict:
            return plain.encode(value)
        return "".join(spell(value, 0))

    return encode


_encode_details = _details_encoder()  # as json.dumps(d, sort_keys=True)


def _event_row(
    e: dict[str, Any], c: dict[str, Any], recorder: str, encode: bool = True
) -> dict[str, Any]:
    """An event of the file as it will be stored: its author and recorded-at kept as
    provenance (``recorded_at`` None: made now by this import)."""
    details = e.get("details") or {}
    if e["kind"] == "redacted" and isinstance(details, dict):
        # the digests vouched for the row in the database it came from; here the redacted
        # row is hashed afresh, so they would only disagree
        details = {k: v for k, v in details.items() if k not in ("before", "after")}
    return {
        "kind": str(e["kind"]),
        "effective_on": _iso_day(e["on"]),
        "stage": str(e.get("stage") or c["stage"].slug),
        "from_stage": e.get("from_stage"),
        "by": str(e.get("by") or recorder),
        "recorded_at": _when(e.get("recorded_at")),
        "text": str(e.get("text") or ""),
        "details": (_encode_details(details) if details else "{}") if encode else None,
        "_details": details,
    }


def _when(value: Any) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _synthetic_events(c: dict[str, Any], recorder: str) -> list[dict[str, Any]]:
    """Events for a spreadsheet row that carries none: an ``imported`` event at its current
    stage with everything the row records, then its referral and its closing."""
    stage = c["stage"].slug
    events: list[dict[str, Any]] = [
        {
            "kind": "imported",
            "on": iso(c["stage_started_on"]),
            "stage": stage,
            "by": recorder,
            "text": c["summary"],
            "details": {
                "protocol": c["protocol"].slug,
                "child": c["child"],
                "category": c["category"],
                "issue": c["issue"],
                "impact": c["impact"],
                "recommended": c["recommended"],
                "external_ref": c["external_ref"],
                "uid": c["uid"] or c.setdefault("_made_uid", new_uid()),
                "opened_on": iso(c["opened_on"]),
                "formal_started_on": iso(c["formal_started_on"]),
                "raised_by": c["raised_by"] or recorder,
                # the IRO who raised it holds it, not whoever keyed the sheet in
                "owner": c["owner"] or c["raised_by"] or recorder,
                "team": c["team"],
                "role": c["role"],
                "due": iso(c["due"]),
                "bypassed": [],
            },
        }
    ]
    if c["notes"]:  # a spreadsheet's other columns, kept as they were
        events.append({"kind": "note", "on": iso(c["stage_started_on"]), "stage": stage,
                       "by": recorder, "text": c["notes"], "details": {}})  # fmt: skip
    if c["response"]:
        on = c["responded_on"] or c["stage_started_on"]
        events.append({"kind": "response", "on": iso(on), "stage": stage, "by": recorder,
                       "text": c["response"], "details": {}})  # fmt: skip
    if c["referred_on"]:
        events.append({"kind": "referred", "on": iso(c["referred_on"]), "stage": stage,
                       "by": recorder, "text": "", "details": {}})  # fmt: skip
    if c["status"] in ("resolved", "withdrawn"):
        events.append({"kind": c["status"], "on": iso(c["closed_on"]), "stage": stage,
                       "by": recorder, "text": c["outcome"], "details": {}})  # fmt: skip
    events[1:] = sorted(events[1:], key=lambda e: e["on"])  # the opening stays first
    return events


# -- export ----------------------------------------------------------------------------------
def export_rows(tracker: Tracker) -> Iterable[dict[str, Any]]:
    for c in tracker.concerns(status="all"):
        entries = [e for e in c.events if e.kind in STAGE_ENTRIES]
        due = entries[-1].details.get("due") if entries else None
        yield {
            "external_ref": c.external_ref or "",
            "uid": c.uid or "",
            "protocol": c.protocol,
            "child": c.child,
            "category": c.category,
            "issue": c.issue or "",
            "summary": c.summary,
            "impact": c.impact,
            "recommended": c.recommended,
            "raised_by": c.raised_by,
            "role": c.role,
            "opened_on": iso(c.opened_on),
            "stage": c.stage,
            "stage_started_on": iso(c.stage_started_on),
            "formal_started_on": iso(c.formal_started_on) or "",
            "due": due or "",
            "status": c.status,
            "referred_on": iso(c.referred_on) or "",
            "closed_on": iso(c.closed_on) or "",
            "outcome": c.outcome or "",
            "events": [
                {
                    "kind": e.kind,
                    "on": iso(e.on),
                    "stage": e.stage,
                    "from_stage": e.from_stage,
                    "by": e.by,
                    "recorded_at": e.recorded_at.astimezone(dt.UTC).isoformat(),
                    "text": e.text,
                    "details": e.details,
                }
                for e in sorted(c.events, key=lambda e: e.seq)
            ],
        }


def is_folder_target(target: str | os.PathLike[str]) -> bool:
    """``drp export --format csv -o TARGET``: a folder of flat CSV files when TARGET's name
    has no suffix (``-o drp-2025-03``, ``-o out/``); a file name with one (``export.csv``,
    ``x.txt``) gets the one-file export, as before."""
    return Path(target).suffix == "" or str(target).endswith(("/", os.sep))


def export_file(
    tracker: Tracker,
    target: str | os.PathLike[str] | None,
    fmt: str,
    *,
    force: bool = True,
    judged_on: dt.date | None = None,
) -> tuple[str | None, int]:
    """Write all concerns with their events and the local closure days in force; returns
    (text if no target, count). CSV cells that a spreadsheet would run as formulas are
    neutralised (and restored by import). ``xlsx``, and ``csv`` to a target that is not a
    ``.csv`` file: the flat tables of :mod:`drp_cli.exchange.flat` (a workbook; a folder of CSV
    files), their deadlines judged on ``judged_on`` (today)."""
    if fmt == "xlsx" or (fmt == "csv" and target is not None and is_folder_target(target)):
        # the flat tables for managers (drp_cli/exchange/flat.py): a workbook, or a folder of CSVs
        from drp_cli.exchange import flat

        if target is None:
            raise InvalidInput("--format xlsx needs --output FILE")
        return None, flat.export(tracker, str(target), fmt, judged_on=judged_on or
                                 tracker.today(), force=force)  # fmt: skip
    if fmt not in ("csv", "json"):
        raise InvalidInput(f"unknown format {fmt!r}; allowed: csv, json, xlsx")
    rows = list(export_rows(tracker))
    closures = [{"day": iso(c.day), "reason": c.reason} for c in tracker.closures()]
    if fmt == "json":
        text = json.dumps({"format": "drp-export", "version": 1, "closure_days": closures,
                           "concerns": rows}, indent=1, ensure_ascii=False) + "\n"  # fmt: skip
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for n, row in enumerate(rows):
            cells = {**row, "events": json.dumps(row["events"], ensure_ascii=False),
                     "closure_days": json.dumps(closures, ensure_ascii=False)
                     if n == 0 and closures else ""}  # fmt: skip
            writer.writerow({k: neutralise_cell(v) if isinstance(v, str) else v
                             for k, v in cells.items()})  # fmt: skip
        text = buffer.getvalue()
    if target is None:
        return text, len(rows)
    from drp_cli.adapters.outpaths import protected_paths, write_file

    write_file(target, text, protected=protected_paths(tracker.store), force=force,
               what="export")  # fmt: skip
    return None, len(rows)
