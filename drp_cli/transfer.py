"""Import from spreadsheet trackers (CSV or JSON) and export (CSV or JSON).

One row per concern. Required columns: ``protocol, child, category, summary, opened_on,
stage, stage_started_on, status``; optional: ``external_ref, issue, impact, recommended,
raised_by, role, formal_started_on, due, referred_on, closed_on, outcome, events``.

* Every row is validated against the protocols before anything is written; errors name the
  row (as a spreadsheet numbers it: the header is row 1) and the column. One bad row and
  nothing is written. The whole import is one transaction.
* ``external_ref`` makes rows idempotent: a row whose reference is already in the database
  is skipped. Without one, the reference is made from the protocol, child, category,
  opening date and summary.
* A row without ``events`` becomes an ``imported`` event at its current stage (and a
  ``referred``, ``resolved`` or ``withdrawn`` event where the row says so). A row exported
  by ``drp export`` carries its events as JSON and they are replayed as they were, so an
  export imported into an empty database gives back the same concerns.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import hashlib
import io
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from drp_cli import record
from drp_cli.chain import commitment, event_hash, new_salt
from drp_cli.chain import mac as chain_mac
from drp_cli.dates import iso
from drp_cli.errors import InvalidInput
from drp_cli.lifecycle import CLOSING, ITEM_KINDS, ROW_FIELDS, VOICE, ConcernState, Fact, fold
from drp_cli.protocols import ROLES, themes
from drp_cli.record import ATTACHMENT_COLUMNS, EVENT_COLUMNS, ITEM_COLUMNS
from drp_cli.textsafe import is_one_line, is_safe_text, neutralise_cell, restore_cell
from drp_cli.tracker import STAGE_ENTRIES, STATUSES, Tracker

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
ONE_LINE = ("protocol", "child", "category", "issue", "raised_by", "role", "external_ref",
            "uid", "status", "stage", "owner", "team")  # fmt: skip


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
    events: int = 0
    dry_run: bool = False
    ids: list[int] = field(default_factory=list)
    unchanged: int = 0  # already in the database, as the row says
    updated: int = 0  # changes recorded (--update)
    #: rows whose concern changed in the sheet (recorded with --update, else only reported)
    changed: list[Any] = field(default_factory=list)
    blank_rows: int = 0
    total_rows: int = 0


# -- reading ---------------------------------------------------------------------------------
Closure = tuple[dt.date, str]


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


def read_rows(
    path: Path,
    *,
    map_path: str | os.PathLike[str] | None = None,
    sheet: str | None = None,
    ignore_extra: bool = False,
    counts: dict[str, int] | None = None,
) -> tuple[list[tuple[str, dict[str, Any]]], str, list[Closure]]:
    """(label, row) pairs from a CSV or JSON file (label is 'row N' or 'item N'), and the
    local closure days the file carries. drp's own workbook or folder of flat CSV files is
    read by its own reader (:mod:`drp_cli.flat`) into the same rows, each with its events; a
    workbook, a file read through a map, and a CSV whose columns are not drp's are read as a
    council's spreadsheet (:mod:`drp_cli.sheetmap`); ``counts`` is told its blank and total
    rows."""
    from drp_cli import flat

    if map_path is None and sheet is None and flat.is_drp_export(path):
        rows_of, flat_closures = flat.read_export(path)
        return list(rows_of()), "flat", flat_closures
    if map_path is not None or sheet is not None or _is_sheet(path):
        from drp_cli.sheetmap import mapped_source

        source = mapped_source(path, map_path, sheet=sheet, ignore_extra=ignore_extra)
        rows = list(source.rows())
        if counts is not None:
            counts.update(blank=source.counts.blank, total=source.counts.total)
        return rows, "sheet", []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{path} is not UTF-8 text (save the spreadsheet as CSV UTF-8)"
        ) from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"{path} is not valid JSON: {exc}") from None
        items = data.get("concerns") if isinstance(data, dict) else data
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InvalidInput(f"{path}: expected a list of concern objects")
        closures = _closure_days(data.get("closure_days") if isinstance(data, dict) else None,
                                 str(path))  # fmt: skip
        return [(f"item {n}", dict(i)) for n, i in enumerate(items, start=1)], "json", closures
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(f"{path}: missing column{'s' if len(missing) > 1 else ''}: "
                           f"{', '.join(missing)}")  # fmt: skip
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise InvalidInput(f"{path}: unknown column {unknown[0]!r}; columns: {', '.join(COLUMNS)}")
    # cells that drp export neutralised against spreadsheet formulas are restored
    rows = [
        (
            f"row {reader.line_num}",
            {
                k: restore_cell(v) if isinstance(v, str) else v
                for k, v in row.items()
                if k is not None
            },
        )
        for row in reader
    ]
    carried: list[Closure] = []
    for label, row in rows:
        carried += _closure_days(row.pop("closure_days", None), f"{path}, {label}")
    return rows, "csv", carried


def _is_sheet(path: Path) -> bool:
    """A workbook, or a CSV whose header does not have drp's own columns."""
    from drp_cli.sheets import is_workbook

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


def _date(row: dict[str, Any], name: str, errors: list[str], label: str) -> dt.date | None:
    value = _text(row, name)
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(f"{label}, column {name}: {value!r} is not a date (YYYY-MM-DD)")
        return None


def auto_ref(row: dict[str, Any]) -> str:
    key = "|".join(_text(row, c) for c in ("protocol", "child", "category", "opened_on", "summary"))
    return "auto:" + hashlib.sha256(key.encode()).hexdigest()[:20]


def validate(
    tracker: Tracker, label: str, row: dict[str, Any], today: dt.date
) -> tuple[dict[str, Any] | None, list[str]]:
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
    unknown = [k for k in row if k not in COLUMNS and not k.startswith("_")]
    if unknown:
        bad(unknown[0], f"is not a column; columns: {', '.join(COLUMNS)}")
    dates = {name: _date(row, name, errors, label) for name in DATE_COLUMNS}
    for name, value in dates.items():
        if value is not None and value > today:
            bad(name, f"{value.isoformat()} is in the future")
    protocol = tracker.protocols.protocols.get(get("protocol", ""))
    if get("protocol", "") and protocol is None:
        bad("protocol", f"unknown protocol {get('protocol', '')!r}; installed: "
            f"{', '.join(sorted(tracker.protocols.protocols))}")  # fmt: skip
    stage = None
    if protocol is not None and get("stage", ""):
        if protocol.has_stage(get("stage", "")):
            stage = protocol.stage(get("stage", ""))
        else:
            bad("stage", f"protocol {protocol.slug!r} has no stage {get('stage', '')!r}; "
                f"stages: {', '.join(protocol.stage_slugs)}")  # fmt: skip
    category = get("category", "")
    slugs = [t.slug for t in themes().themes]
    if category and category not in slugs:
        bad("category", f"unknown category {category!r}; allowed: {', '.join(slugs)}")
    issue = get("issue", "") or None
    if issue and category in slugs:
        allowed = [i.slug for i in themes().theme(category).issues]
        if issue not in allowed:
            bad("issue", f"category {category!r} has no issue {issue!r}")
    role = get("role", "") or (protocol.roles[0] if protocol else "iro")
    if protocol is not None and role not in protocol.roles:
        bad("role", f"role {role!r} is not used in protocol {protocol.slug!r}; allowed: "
            f"{', '.join(protocol.roles)}")  # fmt: skip
    elif role not in ROLES:
        bad("role", f"unknown role {role!r}")
    status = get("status", "")
    if status and status not in STATUSES:
        bad("status", f"unknown status {status!r}; allowed: {', '.join(STATUSES)}")
    opened, started = dates["opened_on"], dates["stage_started_on"]
    closed = dates["closed_on"]
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
    for name, cell in cells.items():
        if name in ONE_LINE:
            if not is_one_line(cell):
                bad(name, "must be one line without control, line-separator or bidi characters")
        elif not is_safe_text(cell):
            bad(name, "contains control, line-separator or bidi characters")
    if len(get("child", "")) > 64:
        bad("child", "is longer than 64 characters")
    events = row.get("events")
    if isinstance(events, str) and events.strip():
        try:
            events = json.loads(events)
        except ValueError:
            bad("events", "is not a JSON list of events")
            events = None
    if events not in (None, "") and not (
        isinstance(events, list) and all(isinstance(e, dict) for e in events)
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


def prepare(
    c: dict[str, Any], tracker: Tracker, cal: Any, recorder: str, bad: Callable[[str, str], None]
) -> tuple[list[dict[str, Any]], ConcernState] | None:
    """The row's events as they will be stored, and their fold; ``bad`` is told (and None
    returned) where the row's own columns contradict its events."""
    if c["events"]:
        events = [_event_row(e, c, recorder) for e in c["events"]]
        # an export from an older drp: its opening event does not carry the recorded fields
        state = fold(_facts(events), tracker.protocols.protocols, cal)
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
                missing["uid"] = uuid.uuid4().hex
            events.append({"kind": "fields-recorded", "effective_on": state.opened_on or
                           c["opened_on"], "stage": state.stage or c["stage"].slug,
                           "from_stage": None, "by": recorder, "recorded_at": None,
                           "text": "", "details": _encode_details(missing),
                           "_details": missing, "_imported": True})  # fmt: skip
    else:
        events = [_event_row(e, c, recorder) for e in _synthetic_events(c, recorder)]
    state = fold(_facts(events), tracker.protocols.protocols, cal)
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


#: every event kind drp writes, and the details each must carry (name -> check)
EVENT_KINDS_IMPORTED = frozenset(
    (*STAGE_ENTRIES, "response", "note", "referred", *VOICE, *CLOSING, "attached",
     "action-done", "fields-recorded", "done", "meeting", "due-set", "cafcass",
     "not-applicable", "good-practice", "amended", "retracted", "reopened", "assigned",
     "redacted", "alert-sent", *(f"{k}-added" for k in ITEM_KINDS),
     *(f"{k}-removed" for k in ITEM_KINDS))
)  # fmt: skip
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _event_problem(e: dict[str, Any], protocol: Any, opened: dt.date | None,
                   today: dt.date, first: bool) -> str | None:  # fmt: skip
    """What is wrong with one imported event (never quoting its content), or None."""
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
        return f"'on' {day.isoformat()} is in the future"
    if opened is not None and day < opened and kind != "fields-recorded":
        return f"'on' {day.isoformat()} is before opened_on"
    for name in ("stage", "from_stage"):
        value = e.get(name)
        if value is None or (name == "stage" and value == ""):
            continue
        if not isinstance(value, str) or (protocol is not None and not protocol.has_stage(value)):
            return f"'{name}' is not a stage of protocol {protocol.slug!r}"
    for name in ("by", "text"):
        value = e.get(name, "")
        if value is None:
            continue
        if not isinstance(value, str):
            return f"'{name}' must be text"
        if not (is_one_line(value) if name == "by" else is_safe_text(value)):
            return f"'{name}' contains control, line-separator or bidi characters"
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
    for name in ("due", "opened_on", "formal_started_on", "senior_officer_notified_on", "dated",
                 "obtained_on"):  # fmt: skip
        value = details.get(name)
        if value is not None and (not isinstance(value, str) or _iso_day(value) is None):
            return f"details.{name} must be a date (YYYY-MM-DD)"
    for name, value in details.items():
        if isinstance(value, str) and not is_safe_text(value):
            return f"details.{name} contains control, line-separator or bidi characters"
        if not isinstance(value, str | int | float | bool | list | type(None)):
            return f"details.{name} must be text, a number or a list"
    if kind.endswith(("-added", "-removed")) or kind in ("action-done", "attached"):
        n = details.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            return "details.n must be a whole number from 1"
        position = details.get("position", n)
        if not isinstance(position, int) or isinstance(position, bool):
            return "details.position must be a whole number"
    if kind == "attached":
        from drp_cli.attachments import KINDS as ATTACHMENT_KINDS

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


def _check_events(
    events: list[dict[str, Any]],
    protocol: Any,
    opened: dt.date | None,
    today: dt.date,
    bad: Callable[[str, str], None],
) -> None:
    """Every event's kind, dates, stages, text and details, so that bad input is named by
    row and event, never a crash, and never quoted."""
    for n, e in enumerate(events, start=1):
        problem = _event_problem(e, protocol, opened, today, n == 1)
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
    progress: Callable[[int, int], None] | None = None,
    map_path: str | os.PathLike[str] | None = None,
    sheet: str | None = None,
    ignore_extra: bool = False,
    update: bool = False,
) -> ImportResult:
    """Import a tracker file: every row checked first, then all written in one transaction,
    or nothing. Rows whose concern drp holds are compared with it: unchanged ones are
    skipped; changes are reported and, with ``update``, recorded as events
    (:mod:`drp_cli.reimport`)."""
    with _no_cyclic_gc():
        return _import(tracker, Path(path), dry_run=dry_run, by=by, progress=progress,
                       reading={"map_path": map_path, "sheet": sheet,
                                "ignore_extra": ignore_extra}, update=update)  # fmt: skip


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


def _import(
    tracker: Tracker,
    source: Path,
    *,
    dry_run: bool,
    by: str | None,
    progress: Callable[[int, int], None] | None,
    reading: dict[str, Any] | None = None,
    update: bool = False,
) -> ImportResult:
    from drp_cli.calendar import WorkingCalendar
    from drp_cli.tracker import current_user

    skipped: dict[str, int] = {}
    rows, _fmt, file_closures = read_rows(source, **(reading or {}), counts=skipped)
    recorder = current_user(by)
    today = tracker.today()
    current_closures = {c.day for c in tracker.closures()}
    new_closures = [(d, r) for d, r in file_closures if d not in current_closures]
    cal = WorkingCalendar(current_closures | {d for d, _ in new_closures})
    valid: list[tuple[str, dict[str, Any]]] = []
    errors: list[str] = []
    refs: dict[str, str] = {}
    uids: dict[str, str] = {}
    for label, row in rows:
        checked, problems = validate(tracker, label, row, today)
        errors += problems
        if checked is None:
            continue

        def bad(column: str, message: str, label: str = label, errors: list[str] = errors) -> None:
            errors.append(f"{label}, column {column}: {message}")

        prepared = prepare(checked, tracker, cal, recorder, bad)
        if prepared is None:
            continue
        checked["_events"], checked["_state"] = prepared
        state: ConcernState = checked["_state"]
        ref, uid = state.external_ref or checked["external_ref"], state.uid
        if ref is not None:
            if ref in refs:
                errors.append(f"{label}, column external_ref: the same reference is on {refs[ref]}")
            refs[ref] = label
        if uid is not None:
            if uid in uids:
                errors.append(f"{label}, column uid: the same concern is on {uids[uid]}")
            uids[uid] = label
        valid.append((label, checked))
    if errors:
        raise ImportRefused(errors)
    result = ImportResult(rows=len(rows), dry_run=dry_run,
                          blank_rows=skipped.get("blank", 0),
                          total_rows=skipped.get("total", 0))  # fmt: skip
    del rows  # the checked rows hold what is needed
    if dry_run:
        known: tuple[set[str], set[str]] = (set(), set())
        plans: list[Any] = []
        if tracker.store.exists:
            with tracker.store.read() as conn:
                known = _known(conn, refs, uids)
                plans = _plans(tracker, conn, valid, known, source)
        left = [c for _, c in valid if not _is_known(c, known)]
        result.imported = len(left)
        _count_plans(result, len(valid) - len(left), plans, update=False)
        return result
    with tracker.unit_of_work() as uow:
        uow.lock_concerns()  # the concern table, then the chain head: one order for all
        conn = uow.conn
        known = _known(conn, refs, uids)
        todo = [(label, c) for label, c in valid if not _is_known(c, known)]
        plans = _plans(tracker, conn, valid, known, source)
        _count_plans(result, len(valid) - len(todo), plans, update=update)
        if update and result.updated:
            recorder_now = recorder
            for plan in result.changed:
                loaded = uow.load(plan.concern_id)
                for e in plan.events:
                    uow.append(loaded, e.kind, e.on, recorder_now, stage=e.stage or None,
                               from_stage=e.from_stage, text=e.text, details=e.details,
                               imported_by=recorder_now)  # fmt: skip
                    result.events += 1
        if new_closures and todo:
            for day, reason in new_closures:
                uow.add_closure_change(day, "add", reason, recorder)
            uow.calendar = cal
            uow.refold_deadlines_from(min(d for d, _ in new_closures))
        if not todo:
            return result
        head = uow.chain_head()
        chain_seq, prev = head.seq, head.hash
        key = uow.key
        now = uow.now
        # ids are given here, under the write lock, so that the rows go in as batches
        first = uow.next_concern_id()
        ids = list(range(first, first + len(todo)))
        item_rows: list[tuple[Any, ...]] = []
        attachment_rows: list[tuple[Any, ...]] = []
        concern_names = ("id", *ROW_FIELDS, "created_at", "updated_at")
        # a batch at a time (one transaction still): the events of 100,000 concerns need not
        # all be in memory at once
        with conn.bulk():  # room in SQLite's cache for the indexes being filled
            for start in range(0, len(todo), IMPORT_BATCH):
                concern_rows: list[tuple[Any, ...]] = []
                event_rows: list[tuple[Any, ...]] = []  # in EVENT_COLUMNS order
                batch = todo[start : start + IMPORT_BATCH]
                for cid, (_label, c) in zip(ids[start : start + len(batch)], batch, strict=True):
                    state = c["_state"]
                    row = state.row()
                    concern_rows.append((cid, *(row[n] for n in ROW_FIELDS), now, now))
                    for seq, ev in enumerate(c["_events"], start=1):
                        chain_seq += 1
                        ev["concern_id"], ev["seq"] = cid, seq
                        ev["recorded_at"] = ev["recorded_at"] or now
                        ev["imported_by"], ev["imported_at"] = recorder, now
                        salt = ev["salt"] = new_salt()
                        ev["content"] = commitment(salt, ev["text"], ev["details"])
                        digest = event_hash(ev, chain_seq, prev)
                        event_rows.append((
                            cid, seq, ev["kind"], ev["effective_on"], ev["stage"],
                            ev["from_stage"], ev["by"], ev["recorded_at"], ev["text"],
                            ev["details"], recorder, now, chain_seq, prev, digest,
                            chain_mac(key, digest) if key else None, salt, ev["content"],
                        ))  # fmt: skip
                        prev = digest
                    item_rows += [record.item_row(cid, it) for it in state.items.values()]
                    attachment_rows += [record.attachment_row(cid, a)
                                        for a in state.attachments.values()]  # fmt: skip
                conn.insert_many("concern", concern_names, concern_rows)
                conn.insert_many("event", EVENT_COLUMNS, event_rows)
                result.events += len(event_rows)
                if progress is not None:
                    progress(min(start + IMPORT_BATCH, len(todo)), len(todo))
            uow.concern_ids_given(ids[-1])
            conn.insert_many("item", ITEM_COLUMNS, item_rows)
            conn.insert_many("attachment", ATTACHMENT_COLUMNS, attachment_rows)
        uow.move_head(chain_seq, prev)
        result.imported = len(todo)
        result.ids = ids
    return result


def _plans(tracker: Tracker, conn: Any, valid: list[tuple[str, dict[str, Any]]],
           known: tuple[set[str], set[str]], source: Path) -> list[Any]:  # fmt: skip
    """What each spreadsheet row whose concern drp holds would change (rows carrying their
    events, from drp's own export, are not compared: they are skipped as before). A row
    that would move its concern backwards refuses the import."""
    from drp_cli import reimport

    rows = [(label, c) for label, c in valid if not c["events"] and _is_known(c, known)]
    if not rows:
        return []
    by_ref = record.concerns_by_ref(conn, [c["external_ref"] for _, c in rows])
    plans, errors = [], []
    for label, c in rows:
        row = by_ref.get(c["external_ref"])
        if row is None:  # known by its uid only: not a spreadsheet's row
            continue
        events = (record.events_of(conn, int(row["id"]))
                  if c["notes"] or c["response"] else None)  # fmt: skip
        plan, problems = reimport.plan(label, c, c["_given"], row, c["protocol"], events,
                                       source.name)  # fmt: skip
        errors += [f"{label}, {p}" for p in problems]
        plans.append(plan)
    if errors:
        raise ImportRefused(errors)
    return plans


def _count_plans(result: ImportResult, known: int, plans: list[Any], *, update: bool) -> None:
    result.changed = [p for p in plans if p.changed or p.not_changed]
    result.unchanged = len(plans) - len(result.changed)
    result.updated = sum(1 for p in plans if p.changed) if update else 0
    result.skipped = known - result.updated


def _known(conn: Any, refs: dict[str, str], uids: dict[str, str]) -> tuple[set[str], set[str]]:
    """Which of the file's references and uids the database already holds."""
    return record.known(conn, "external_ref", list(refs)), record.known(conn, "uid", list(uids))


def _is_known(c: dict[str, Any], known: tuple[set[str], set[str]]) -> bool:
    state: ConcernState = c["_state"]
    ref = state.external_ref or c["external_ref"]
    return (ref is not None and ref in known[0]) or (
        state.uid is not None and state.uid in known[1]
    )


_encode_details = json.JSONEncoder(sort_keys=True).encode  # as json.dumps(d, sort_keys=True)


def _event_row(e: dict[str, Any], c: dict[str, Any], recorder: str) -> dict[str, Any]:
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
        "details": _encode_details(details) if details else "{}",
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
                "uid": c["uid"] or uuid.uuid4().hex,
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
    ``.csv`` file: the flat tables of :mod:`drp_cli.flat` (a workbook; a folder of CSV
    files), their deadlines judged on ``judged_on`` (today)."""
    if fmt == "xlsx" or (fmt == "csv" and target is not None and is_folder_target(target)):
        # the flat tables for managers (drp_cli/flat.py): a workbook, or a folder of CSVs
        from drp_cli import flat

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
    from drp_cli.outpaths import protected_paths, write_file

    write_file(target, text, protected=protected_paths(tracker.store), force=force,
               what="export")  # fmt: skip
    return None, len(rows)
