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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, Table, func, insert, select, text, update
from sqlmodel import select as sm_select

from drp_cli.chain import event_hash
from drp_cli.dates import iso
from drp_cli.errors import InvalidInput
from drp_cli.models import Attachment, ChainHead, Concern, Event, Item
from drp_cli.protocols import ROLES, themes
from drp_cli.tracker import STAGE_ENTRIES, STATUSES, Tracker, formal_deadline, stage_deadline

REQUIRED = (
    "protocol", "child", "category", "summary", "opened_on", "stage", "stage_started_on",
    "status",
)  # fmt: skip
OPTIONAL = (
    "external_ref", "issue", "impact", "recommended", "raised_by", "role", "formal_started_on",
    "due", "referred_on", "closed_on", "outcome", "events",
)  # fmt: skip
COLUMNS = REQUIRED + OPTIONAL
DATE_COLUMNS = ("opened_on", "stage_started_on", "formal_started_on", "due", "referred_on",
                "closed_on")  # fmt: skip
MAX_ERRORS = 50
IMPORT_BATCH = 5000  # concerns written at a time, within the one transaction
#: events that imply no document row (see _rebuild)
PLAIN_KINDS = frozenset(STAGE_ENTRIES) | {"response", "note", "referred", "resolved", "withdrawn"}


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


T_CONCERN = _table(Concern)
T_EVENT = _table(Event)
T_ITEM = _table(Item)
T_ATTACHMENT = _table(Attachment)
T_HEAD = _table(ChainHead)


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
    skipped: int = 0  # already in the database
    events: int = 0
    dry_run: bool = False
    ids: list[int] = field(default_factory=list)


# -- reading ---------------------------------------------------------------------------------
def read_rows(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """(label, row) pairs from a CSV or JSON file; label is 'row N' or 'item N'."""
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
        return [(f"item {n}", dict(i)) for n, i in enumerate(items, start=1)], "json"
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(f"{path}: missing column{'s' if len(missing) > 1 else ''}: "
                           f"{', '.join(missing)}")  # fmt: skip
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise InvalidInput(f"{path}: unknown column {unknown[0]!r}; columns: {', '.join(COLUMNS)}")
    return [
        (f"row {reader.line_num}", {k: v for k, v in row.items() if k is not None})
        for row in reader
    ], "csv"


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


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")  # control characters but tab and newline


def validate(
    tracker: Tracker, label: str, row: dict[str, Any], today: dt.date
) -> tuple[dict[str, Any] | None, list[str]]:
    errors: list[str] = []

    def bad(column: str, message: str) -> None:
        errors.append(f"{label}, column {column}: {message}")

    # every cell as stripped text, once
    cells = {k: "" if v is None else str(v).strip() for k, v in row.items() if k != "events"}
    get = cells.get

    for name in REQUIRED:
        if not get(name, ""):
            bad(name, "is empty")
    unknown = [k for k in row if k not in COLUMNS]
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
    for name in ("summary", "child"):
        if _CONTROL.search(get(name, "")):
            bad(name, "contains control characters")
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
        isinstance(events, list) and all(isinstance(e, dict) and "kind" in e for e in events)
    ):
        bad("events", "is not a JSON list of events")
    elif events:
        _check_events(events, protocol, opened, today, bad)
    if errors:
        return None, errors
    assert protocol is not None and stage is not None and opened and started
    formal_start = dates["formal_started_on"] or (started if stage.formal else None)
    return {
        "external_ref": get("external_ref", "") or auto_ref(row),
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
    }, []


def _check_events(
    events: list[dict[str, Any]],
    protocol: Any,
    opened: dt.date | None,
    today: dt.date,
    bad: Callable[[str, str], None],
) -> None:
    """Each event's kind, date and stage, so that bad input is named, never a crash."""
    for n, e in enumerate(events, start=1):
        kind = e.get("kind")
        if not isinstance(kind, str) or not kind.strip():
            bad("events", f"event {n} has no kind")
            return
        day = _event_day(e.get("on"))
        if day is None:
            bad("events", f"event {n} ({kind}): 'on' must be a date (YYYY-MM-DD)")
            return
        if day > today:
            bad("events", f"event {n} ({kind}): {day.isoformat()} is in the future")
            return
        if opened is not None and day < opened:
            bad("events", f"event {n} ({kind}): {day.isoformat()} is before opened_on")
            return
        stage = e.get("stage")
        if stage and protocol is not None and not protocol.has_stage(str(stage)):
            bad("events", f"event {n} ({kind}): protocol {protocol.slug!r} has no stage "
                f"{stage!r}")  # fmt: skip
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
) -> ImportResult:
    with _no_cyclic_gc():
        return _import(tracker, Path(path), dry_run=dry_run, by=by, progress=progress)


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
) -> ImportResult:
    from drp_cli.tracker import current_user

    rows, _fmt = read_rows(source)
    recorder = current_user(by)
    today = tracker._clock()
    cal = tracker.calendar()
    valid: list[tuple[str, dict[str, Any]]] = []
    errors: list[str] = []
    refs: dict[str, str] = {}
    for label, row in rows:
        checked, problems = validate(tracker, label, row, today)
        errors += problems
        if checked is not None:
            ref = checked["external_ref"]
            if ref in refs:
                errors.append(f"{label}, column external_ref: {ref!r} is also on {refs[ref]}")
            refs[ref] = label
            valid.append((label, checked))
    if errors:
        raise ImportRefused(errors)
    result = ImportResult(rows=len(rows), dry_run=dry_run)
    del rows  # the checked rows hold what is needed
    now = tracker._now()
    with tracker.store.session() as s:
        existing: set[str] = set()
        all_refs = list(refs)
        for i in range(0, len(all_refs), 500):
            chunk = all_refs[i : i + 500]
            existing.update(
                r[0]
                for r in s.execute(
                    select(T_CONCERN.c.external_ref).where(T_CONCERN.c.external_ref.in_(chunk))
                )
            )
        todo = [(label, c) for label, c in valid if c["external_ref"] not in existing]
        result.skipped = len(valid) - len(todo)
        if dry_run or not todo:
            result.imported = len(todo)
            if not dry_run:
                return result
            s.rollback()
            return result
        sqlite = tracker.store.is_sqlite
        if sqlite:
            # room for the indexes being filled (SQLite's default is 2 MB; pages are taken
            # only as needed); set back to the default below
            s.connection().exec_driver_sql("PRAGMA cache_size=-262144")
        head_query = sm_select(ChainHead).where(ChainHead.id == 1)
        if not sqlite:
            head_query = head_query.with_for_update()
        head = s.exec(head_query).one()
        chain_seq, prev = head.seq, head.hash
        # ids are given here, under the write lock, so that the rows go in as batches
        if not sqlite:
            s.execute(text("LOCK TABLE concern IN EXCLUSIVE MODE"))
        first = (s.execute(select(func.max(T_CONCERN.c.id))).scalar() or 0) + 1
        ids = list(range(first, first + len(todo)))
        stored = _sqlite_moment if sqlite else _as_is
        item_rows: list[dict[str, Any]] = []
        attachment_rows: list[dict[str, Any]] = []
        # a batch at a time (one transaction still): the events of 100,000 concerns need not
        # all be in memory at once
        for start in range(0, len(todo), IMPORT_BATCH):
            concern_rows = []
            event_rows: list[tuple[Any, ...]] = []  # in EVENT_COLUMNS order, as stored
            batch = todo[start : start + IMPORT_BATCH]
            for cid, (_label, c) in zip(ids[start : start + len(batch)], batch, strict=True):
                events = [_event_row(e, c, recorder, now) for e in (c["events"] or
                          _synthetic_events(c, recorder))]  # fmt: skip
                concern_rows.append(_concern_row(c, cid, events, cal, recorder, now))
                for seq, ev in enumerate(events, start=1):
                    chain_seq += 1
                    ev["concern_id"], ev["seq"] = cid, seq
                    digest = event_hash(ev, chain_seq, prev)
                    event_rows.append((cid, seq, ev["kind"], stored(ev["effective_on"]),
                                       ev["stage"], ev["from_stage"], ev["by"],
                                       stored(ev["recorded_at"]), ev["text"], ev["details"],
                                       chain_seq, prev, digest))  # fmt: skip
                    prev = digest
                    if ev["kind"] not in PLAIN_KINDS:
                        _rebuild(cid, ev, ev["_details"], item_rows, attachment_rows)
            _bulk_insert(s, T_CONCERN, concern_rows, sqlite)
            _insert_tuples(s, T_EVENT, EVENT_COLUMNS, event_rows, sqlite)
            result.events += len(event_rows)
            if progress is not None:
                progress(min(start + IMPORT_BATCH, len(todo)), len(todo))
        if not sqlite:
            s.execute(text("SELECT setval(pg_get_serial_sequence('concern', 'id'), :n)"),
                      {"n": ids[-1]})  # fmt: skip
        if item_rows:
            s.execute(insert(T_ITEM), item_rows)
        if attachment_rows:
            s.execute(insert(T_ATTACHMENT), attachment_rows)
        s.execute(update(T_HEAD).where(T_HEAD.c.id == 1).values(seq=chain_seq, hash=prev))
        if sqlite:
            s.connection().exec_driver_sql("PRAGMA cache_size=-2000")
        result.imported = len(todo)
        result.ids = ids
    return result


def _concern_row(c: dict[str, Any], cid: int, events: list[dict[str, Any]], cal: Any,
                 recorder: str, now: dt.datetime) -> dict[str, Any]:  # fmt: skip
    """The concern row: everything it needs is known before it is written (its events, their
    count, and what they imply: the child's voice, the senior officer's notification, the
    latest response at the current stage)."""
    proto, stage = c["protocol"], c["stage"]
    implied: dict[str, Any] = {}
    for ev in events:
        _implied(ev, implied)
    answered = [
        ev["effective_on"]
        for ev in events
        if ev["kind"] == "response"
        and ev["stage"] == stage.slug
        and ev["effective_on"] >= c["stage_started_on"]
    ]
    return {
        "id": cid,
        "external_ref": c["external_ref"],
        "protocol": proto.slug,
        "child": c["child"],
        "category": c["category"],
        "issue": c["issue"],
        "summary": c["summary"],
        "impact": c["impact"],
        "recommended": c["recommended"],
        "raised_by": c["raised_by"] or recorder,
        "role": c["role"],
        "status": c["status"],
        "stage": stage.slug,
        "stage_started_on": c["stage_started_on"],
        "stage_due_override": c["due"],
        "stage_responded_on": max(answered) if answered else None,
        "deadline": stage_deadline(cal, stage, c["stage_started_on"], c["due"]),
        "formal_started_on": c["formal_started_on"],
        "formal_deadline": formal_deadline(cal, proto, c["formal_started_on"]),
        "referred_on": c["referred_on"],
        "senior_officer_notified_on": implied.get("senior_officer_notified_on"),
        "wishes": implied.get("wishes"),
        "told_outcome": implied.get("told_outcome"),
        "opened_on": c["opened_on"],
        "closed_on": c["closed_on"],
        "outcome": c["outcome"] if c["status"] != "open" else None,
        "event_count": len(events),
        "created_at": now,
        "updated_at": now,
    }


@lru_cache(maxsize=65536)
def _sqlite_moment(value: dt.date) -> str:
    """The text SQLAlchemy's SQLite dialect stores for a date or a UTC datetime."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    return value.isoformat()


def _is_timed(column_type: Any) -> bool:
    """A Date or DateTime column (SQLModel's UTCDateTime wraps DateTime)."""
    kind = getattr(column_type, "impl", column_type)
    return isinstance(kind, Date | DateTime)


EVENT_COLUMNS = ("concern_id", "seq", "kind", "effective_on", "stage", "from_stage", "by",
                 "recorded_at", "text", "details", "chain_seq", "prev_hash", "hash")  # fmt: skip


def _as_is(value: Any) -> Any:
    return value


def _insert_tuples(s: Any, table: Table, names: tuple[str, ...], rows: list[tuple[Any, ...]],
                   sqlite: bool) -> None:  # fmt: skip
    """Insert rows given as tuples in ``names`` order, with values as stored."""
    if not rows:
        return
    if not sqlite:
        for i in range(0, len(rows), 10_000):
            s.execute(
                insert(table), [dict(zip(names, r, strict=True)) for r in rows[i : i + 10_000]]
            )
        return
    _sqlite_executemany(s, table, names, rows)


def _sqlite_executemany(
    s: Any, table: Table, names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """INSERT straight through the SQLite driver, values already as stored."""
    quoted = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("?" for _ in names)
    raw = s.connection().connection.driver_connection
    raw.executemany(f"INSERT INTO {table.name} ({quoted}) VALUES ({marks})", rows)


def _bulk_insert(s: Any, table: Table, rows: list[dict[str, Any]], sqlite: bool) -> None:
    """Insert many rows: straight through the SQLite driver, or SQLAlchemy's batches."""
    if not rows:
        return
    if not sqlite:
        for i in range(0, len(rows), 10_000):
            s.execute(insert(table), rows[i : i + 10_000])
        return
    names = [c.name for c in table.columns if c.name in rows[0]]
    # only the date and time columns need converting to the text SQLAlchemy stores
    timed = [i for i, n in enumerate(names) if _is_timed(table.c[n].type)]
    pick = itemgetter(*names)

    def values(row: dict[str, Any]) -> list[Any]:
        out = list(pick(row))
        for i in timed:
            if out[i] is not None:
                out[i] = _sqlite_moment(out[i])
        return out

    _sqlite_executemany(s, table, names, (values(r) for r in rows))


_encode_details = json.JSONEncoder(sort_keys=True).encode  # as json.dumps(d, sort_keys=True)


def _event_row(
    e: dict[str, Any], c: dict[str, Any], recorder: str, now: dt.datetime
) -> dict[str, Any]:
    details = e.get("details") or {}
    return {
        "kind": str(e["kind"]),
        "effective_on": _iso_day(e["on"]),
        "stage": str(e.get("stage") or c["stage"].slug),
        "from_stage": e.get("from_stage"),
        "by": str(e.get("by") or recorder),
        "recorded_at": _when(e.get("recorded_at"), now),
        "text": str(e.get("text") or ""),
        "details": _encode_details(details) if details else "{}",
        "_details": details,
    }


def _implied(ev: dict[str, Any], state: dict[str, Any]) -> None:
    """What an event says about the concern row (the child's voice, the senior officer)."""
    kind, details = ev["kind"], ev["_details"]
    if kind in ("wishes-sought", "wishes-not-sought"):
        state["wishes"] = "sought" if kind == "wishes-sought" else "not-sought"
    elif kind in ("told-outcome", "not-told-outcome"):
        state["told_outcome"] = "told" if kind == "told-outcome" else "not-told"
    elif kind == "referred" and details.get("senior_officer_notified_on"):
        state["senior_officer_notified_on"] = dt.date.fromisoformat(
            details["senior_officer_notified_on"]
        )


def _when(value: Any, default: dt.datetime) -> dt.datetime:
    if not value:
        return default
    text = str(value).replace("Z", "+00:00")
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _synthetic_events(c: dict[str, Any], recorder: str) -> list[dict[str, Any]]:
    stage = c["stage"].slug
    events: list[dict[str, Any]] = [
        {
            "kind": "imported",
            "on": iso(c["stage_started_on"]),
            "stage": stage,
            "by": recorder,
            "text": c["summary"],
            "details": {
                "external_ref": c["external_ref"],
                "opened_on": iso(c["opened_on"]),
                "raised_by": c["raised_by"] or recorder,
                "role": c["role"],
                "due": iso(c["due"]),
                "bypassed": [],
            },
        }
    ]
    if c["referred_on"]:
        events.append({"kind": "referred", "on": iso(c["referred_on"]), "stage": stage,
                       "by": recorder, "text": "", "details": {}})  # fmt: skip
    if c["status"] in ("resolved", "withdrawn"):
        events.append({"kind": c["status"], "on": iso(c["closed_on"]), "stage": stage,
                       "by": recorder, "text": c["outcome"], "details": {}})  # fmt: skip
    events.sort(key=lambda e: e["on"])
    return events


def _rebuild(
    cid: int,
    ev: dict[str, Any],
    details: dict[str, Any],
    items: list[dict[str, Any]],
    attachments: list[dict[str, Any]],
) -> None:
    """Re-create the document rows that events imply."""
    from drp_cli.details import KINDS

    kind = ev["kind"]
    if kind.endswith("-added") and kind[: -len("-added")] in KINDS:
        fields = {k: v for k, v in details.items() if k not in ("n", "position")}
        items.append({
            "concern_id": cid, "kind": kind[: -len("-added")], "n": details["n"],
            "position": details.get("position", details["n"]), "data": json.dumps(fields,
            sort_keys=True), "added_on": ev["effective_on"], "added_by": ev["by"],
            "done_on": None, "done_by": None, "removed_on": None, "removed_by": None,
        })  # fmt: skip
    elif kind == "action-done" or (kind.endswith("-removed") and kind[:-8] in KINDS):
        target = kind[:-5] if kind == "action-done" else kind[:-8]
        for item in reversed(items):
            if item["concern_id"] == cid and item["kind"] == target and item["n"] == details["n"]:
                if kind == "action-done":
                    item["done_on"], item["done_by"] = ev["effective_on"], ev["by"]
                else:
                    item["removed_on"], item["removed_by"] = ev["effective_on"], ev["by"]
                break
    elif kind == "attached" and "sha256" in details:
        attachments.append({
            "concern_id": cid, "n": details["n"], "kind": details["kind"],
            "filename": details.get("filename", "file"), "sha256": details["sha256"],
            "size": details.get("size", 0),
            "dated": dt.date.fromisoformat(details["dated"]) if details.get("dated") else None,
            "description": details.get("description", ""), "added_on": ev["effective_on"],
            "added_by": ev["by"],
        })  # fmt: skip


# -- export ----------------------------------------------------------------------------------
def export_rows(tracker: Tracker) -> Iterable[dict[str, Any]]:
    for c in tracker.concerns(status="all"):
        entries = [e for e in c.events if e.kind in STAGE_ENTRIES]
        due = entries[-1].details.get("due") if entries else None
        yield {
            "external_ref": c.external_ref or f"drp:{c.id}",
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


def export_file(
    tracker: Tracker, target: str | os.PathLike[str] | None, fmt: str
) -> tuple[str | None, int]:
    """Write all concerns with their events; returns (text if no target, count)."""
    if fmt not in ("csv", "json"):
        raise InvalidInput(f"unknown format {fmt!r}; allowed: csv, json")
    rows = list(export_rows(tracker))
    if fmt == "json":
        text = json.dumps({"format": "drp-export", "version": 1, "concerns": rows},
                          indent=1, ensure_ascii=False) + "\n"  # fmt: skip
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "events": json.dumps(row["events"], ensure_ascii=False)})
        text = buffer.getvalue()
    if target is None:
        return text, len(rows)
    from drp_cli.documents import write_file

    write_file(target, text)
    return None, len(rows)
