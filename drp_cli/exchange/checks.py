"""Checking an import's rows before anything is written: every column of a row against the
protocols, and each concern's history replayed through the domain's transitions (the same
rule the commands use), so a history the commands would refuse is refused with its row and
event number. A row without events is given the events it implies (``imported`` and, where
the row says so, ``referred``, ``resolved`` or ``withdrawn``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import operator
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from drp_cli.core.dates import FIRST_DAY, LAST_DAY, iso, parse_date
from drp_cli.core.errors import InvalidInput
from drp_cli.core.textsafe import is_one_line, is_safe_text
from drp_cli.core.uids import new_uid
from drp_cli.domain.lifecycle import (
    ConcernState,
    Fact,
    Kept,
    apply,
    finish,
    finish_kept,
    replay,
)
from drp_cli.domain.protocols import ROLES, themes
from drp_cli.domain.transitions import KINDS, Refused, replay_checked
from drp_cli.services.tracker import STATUSES, Tracker

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
ONE_LINE = ("protocol", "child", "category", "issue", "raised_by", "role", "external_ref",
            "uid", "status", "stage", "owner", "team")  # fmt: skip
_ONE_LINE_SET, _COLUMN_SET = frozenset(ONE_LINE), frozenset(COLUMNS)
_CELL_SET = _COLUMN_SET - {"events"}  # the columns read as cells


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


# -- validating ------------------------------------------------------------------------------
def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _date(value: str, name: str, errors: list[str], label: str) -> dt.date | None:
    """A row's date as the commands take a typed one (:func:`parse_date`: YYYY-MM-DD or
    DD/MM/YYYY, never month first), ISO tried first the fast way."""
    if not value:
        return None
    day = _iso_day(value)
    if day is None:
        try:
            return parse_date(value)
        except InvalidInput:  # its words quote the value: the row's are said instead
            errors.append(f"{label}, column {name}: is not a date drp takes (DD/MM/YYYY or "
                          f"YYYY-MM-DD, from {FIRST_DAY.isoformat()} to "
                          f"{LAST_DAY.isoformat()})")  # fmt: skip
            return None
    if not FIRST_DAY <= day <= LAST_DAY:
        errors.append(f"{label}, column {name}: is outside the dates drp handles "
                      f"({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})")  # fmt: skip
        return None
    return day


def auto_ref(row: dict[str, Any]) -> str:
    key = "|".join(_text(row, c) for c in ("protocol", "child", "category", "opened_on", "summary"))
    return "auto:" + hashlib.sha256(key.encode()).hexdigest()[:20]


#: what a JSON cell holds that is not one value
_NESTED = (list, dict)


def validate(
    tracker: Tracker, label: str, row: dict[str, Any], today: dt.date, *,
    recorder: str | None = None, encode: bool = True,
) -> tuple[dict[str, Any] | None, list[str]]:  # fmt: skip
    """The row's cells checked and converted, or None and its problems. ``recorder`` given
    (who imports it; ``encode`` as :func:`prepare` takes it): the events the fast check
    tells good are made as :func:`prepare` stores them in the same pass (``_rows``)."""
    errors: list[str] = []

    def bad(column: str, message: str) -> None:
        errors.append(f"{label}, column {column}: {message}")

    for problem in row.get("_problems", ()):
        errors.append(f"{label}, {problem}")
    # every cell as stripped text, once; a cell holding a list or an object (a JSON row)
    # is not one value: refused, never stored as Python's spelling of it
    # (one pass over the row: its cells, those nested, those that are not columns)
    cells: dict[str, str] = {}
    nested: list[str] = []
    unknown: list[str] = []
    for k, v in row.items():
        if k not in _CELL_SET:  # (the usual: one of the columns)
            if k == "events" or k.startswith("_"):
                continue
            unknown.append(k)
        kind = type(v)
        if kind is str:
            cells[k] = v.strip()
        elif v is None:
            cells[k] = ""
        elif kind is list or kind is dict:
            cells[k] = ""
            nested.append(k)
        else:
            cells[k] = str(v).strip()
    get = cells.get

    said = set(row.get("_bad", ()))  # a spreadsheet's cell already named as unreadable
    for k in nested:
        bad(k, f"is {'a list' if type(row[k]) is list else 'an object'}, not one value")
        said.add(k)
    for name in REQUIRED:
        if not get(name, "") and name not in said:
            bad(name, "is empty")
    if unknown:
        bad(unknown[0], f"is not a column; columns: {', '.join(COLUMNS)}")
    # each date as _date reads it: an ISO day within drp's days at once, else by _date
    dates: dict[str, dt.date | None] = {}
    days_read = _DAYS_READ
    for name in DATE_COLUMNS:
        text = get(name, "")
        if not text:
            dates[name] = None
            continue
        day = days_read.get(text) or _iso_day(text)
        dates[name] = (day if day is not None and FIRST_DAY <= day <= LAST_DAY
                       else _date(text, name, errors, label))  # fmt: skip
    for name, value in dates.items():
        # every date a row records is a day that has come, but a due date: a deadline
        if value is not None and value > today and name != "due":
            bad(name, "is in the future")
    protocol = tracker.protocols.protocols.get(get("protocol", ""))
    if get("protocol", "") and protocol is None:
        bad("protocol", "is not an installed protocol (installed: "
            f"{', '.join(sorted(tracker.protocols.protocols))})")  # fmt: skip
    stage = None
    if protocol is not None and get("stage", ""):
        # by its slug (at once), else by name as the commands take it ("Stage 1")
        named = get("stage", "") if protocol.has_stage(get("stage", "")) else (
            protocol.stage_named(get("stage", "")))  # fmt: skip
        if named is not None:
            stage = protocol.stage(named)
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
    made: list[tuple[list[EventRow], list[Fact]]] = []  # the events made by the check
    if unreadable or (
        events not in (None, "") and not (isinstance(events, list) and all(map(_IS_DICT, events)))
    ):
        bad("events", "is not a JSON list of events")
    elif events:
        how = (None if recorder is None
               else (stage.slug if stage is not None else "", recorder, encode, made))  # fmt: skip
        _check_events(events, protocol, opened, today, bad, how)
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
        # what given_cells reads (only a row compared with drp's record needs it)
        "_cells": cells,
        "_defaulted": row.get("_defaulted", ()),
        # the events as prepare stores them, where the fast check made them
        "_rows": made[0] if made else None,
    }
    if not events:
        # the reference a row without one is known by, from its date as a day (the same
        # for 03/03/2025 and 2025-03-03)
        checked["external_ref"] = checked["external_ref"] or auto_ref(
            {**row, "opened_on": opened.isoformat()}
        )
    return checked, []


def given_cells(c: dict[str, Any]) -> set[str]:
    """The columns a checked row (:func:`validate`'s) gives a value in, but those the sheet's
    map gave it by default."""
    return {k for k, v in c["_cells"].items() if v} - set(c["_defaulted"])


_IS_DICT = dict.__instancecheck__  # isinstance(e, dict), in C (an import asks it of each event)


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
    # the characters are checked one by one: all the cells at once (printable ASCII, the
    # usual, is safe in any cell), then those of one line and the others, then (when some
    # cell has one) each cell, to name it
    every = "".join(cells.values())
    if not (every.isascii() and every.isprintable()) and (
        not is_one_line("".join([c for n, c in cells.items() if n in _ONE_LINE_SET]))
        or not is_safe_text("".join([c for n, c in cells.items() if n not in _ONE_LINE_SET]))
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


#: An event of the file as it will be stored (:func:`prepare`): (kind, effective_on, stage,
#: from_stage, by, recorded_at, text, details, parsed): its author and recorded-at kept as
#: provenance (``recorded_at`` None: made now by this import); ``details`` the stored text
#: (None in a check only), ``parsed`` the object. (A plain tuple: an import makes millions.)
EventRow = tuple[str, dt.date, str, str | None, str, dt.datetime | None, str, str | None, Any]


def prepare(
    c: dict[str, Any],
    tracker: Tracker,
    cal: Any,
    recorder: str,
    bad: Callable[[str, str], None],
    *,
    encode: bool = True,
    kept: Kept | None = None,
) -> tuple[list[EventRow], ConcernState] | None:
    """The row's events as they will be stored, and their fold; ``bad`` is told (and None
    returned) where the row's own columns contradict its events. ``kept``: the import's
    (:func:`~drp_cli.domain.lifecycle.finish_kept`). ``encode`` False (a check
    only): the events' details are left as objects (their stored text None)."""
    protocols = tracker.protocols.protocols
    if c["events"]:
        made = c.get("_rows")  # made by validate's check (for this recorder and encode)
        if made is None:
            made = _event_rows(c["events"], c["stage"].slug, recorder, encode)
        events, facts = made
        # every event allowed, as the commands would allow it (drp_cli.domain.transitions)
        try:
            state = replay_checked(facts, c["protocol"])
        except Refused as exc:
            bad("events", f"event {exc.n}: {exc.error.render(_event_field)}")
            return None
        # an export from an older drp: its opening event does not carry the recorded fields
        # (each field the row gives, where the events gave none; asked one by one, in this
        # order, without a generator: an import asks it of every row)
        missing: dict[str, Any] = {}
        given = c["protocol"].slug
        if given is not None and state.protocol is None:
            missing["protocol"] = given
        if (given := c["child"]) is not None and state.child is None:
            missing["child"] = given
        if (given := c["category"]) is not None and state.category is None:
            missing["category"] = given
        if (given := c["issue"]) is not None and state.issue is None:
            missing["issue"] = given
        if (given := c["raised_by"] or recorder) is not None and state.raised_by is None:
            missing["raised_by"] = given
        if (given := c["role"]) is not None and state.role is None:
            missing["role"] = given
        if (given := c["external_ref"]) is not None and state.external_ref is None:
            missing["external_ref"] = given
        if (given := c["uid"]) is not None and state.uid is None:
            missing["uid"] = given
        if missing:
            if "uid" not in missing and state.uid is None:
                missing["uid"] = c["_made_uid"] = new_uid()
            on: dt.date = state.opened_on or c["opened_on"]
            stage: str = state.stage or c["stage"].slug
            events.append(("fields-recorded", on, stage, None, recorder, None, "",
                           _spell_fields(missing) if encode else None, missing))  # fmt: skip
            # the last event, applied after the others as a fold applies it
            apply(state, _fact((len(events), "fields-recorded", on, stage, recorder, "",
                                missing)))  # fmt: skip
        _finish(state, protocols.get(state.protocol or ""), cal, kept)  # as fold finishes
    else:
        events, facts = _event_rows(_synthetic_events(c, recorder), c["stage"].slug, recorder,
                                    encode)  # fmt: skip
        state = replay(facts)  # fold(facts, protocols, cal), finished as above
        _finish(state, protocols.get(state.protocol or ""), cal, kept)
    problems = False
    row_values = (c["stage"].slug, c["stage_started_on"], c["status"], c["opened_on"],
                  c["closed_on"], c["referred_on"], c["summary"], c["child"],
                  c["protocol"].slug, c["category"])  # fmt: skip
    if _matched(state) != row_values:  # which of them does not, in this order
        for name, value in zip(_MATCHED, row_values, strict=True):
            if getattr(state, name) != value:
                bad(name, "does not match the row's events")
                problems = True
    if c["external_ref"] and state.external_ref not in (None, c["external_ref"]):
        bad("external_ref", "does not match the row's events")
        problems = True
    return None if problems else (events, state)


def _finish(state: ConcernState, protocol: Any, cal: Any, kept: Kept | None) -> None:
    if kept is None:
        finish(state, protocol, cal)
    else:
        finish_kept(state, protocol, cal, kept)


#: the fields an export from an older drp may leave to the import to record, in the order
#: their names sort (as the details' spelling orders them)
_RECORDED_SORTED = tuple(sorted(("protocol", "child", "category", "issue", "raised_by", "role",
                                 "external_ref", "uid")))  # fmt: skip
_quote_ascii = json.encoder.encode_basestring_ascii


def _spell_fields(missing: dict[str, Any]) -> str:
    """``_encode_details(missing)`` for the recorded fields :func:`prepare` found missing,
    spelled here where each is text (no sorting, no encoder: a quarter less time)."""
    q = _quote_ascii
    if len(missing) == 7 and "issue" not in missing:  # the usual: all but the issue
        try:
            return (f'{{"category": {q(missing["category"])}, "child": {q(missing["child"])}, '
                    f'"external_ref": {q(missing["external_ref"])}, '
                    f'"protocol": {q(missing["protocol"])}, '
                    f'"raised_by": {q(missing["raised_by"])}, "role": {q(missing["role"])}, '
                    f'"uid": {q(missing["uid"])}}}')  # fmt: skip
        except (KeyError, TypeError):  # a field not of these, or a value not text
            return _encode_details(missing)
    try:
        pairs = [f'"{k}": {q(missing[k])}' for k in _RECORDED_SORTED if k in missing]
    except TypeError:  # a value that is not text
        return _encode_details(missing)
    if len(pairs) != len(missing):  # a field not of these
        return _encode_details(missing)
    return "{" + ", ".join(pairs) + "}"


#: the row's columns its events must give (its fold's values), in the order they are named
_MATCHED = ("stage", "stage_started_on", "status", "opened_on", "closed_on", "referred_on",
            "summary", "child", "protocol", "category")  # fmt: skip
_matched = operator.attrgetter(*_MATCHED)


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
#: How deep a detail may nest lists and objects: the record spells an event's details as
#: JSON, which Python's encoder (like its decoder) does with a call a level, so a detail
#: nested near its stack's depth (about 1,000) could be read but never written
DETAIL_DEPTH = 500


def _too_deep(value: list[Any]) -> bool:
    """Whether the list ``value`` nests lists and objects more than :data:`DETAIL_DEPTH`
    deep (walked a level at a time: no call a level)."""
    level: list[Any] = [value]
    for _ in range(DETAIL_DEPTH):
        inner: list[Any] = []
        for v in level:
            inner.extend(x for x in (v.values() if type(v) is dict else v)
                         if type(x) is list or type(x) is dict)  # fmt: skip
        if not inner:
            return False
        level = inner
    return True


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
    if day < FIRST_DAY:
        return f"'on' is before {FIRST_DAY.isoformat()}, the first day drp handles"
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
    for name, value in details.items():
        if type(value) is list and _too_deep(value):
            return f"details.{name} nests lists more than {DETAIL_DEPTH} deep"
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
    made: _Making | None = None,
) -> None:
    """Every event's kind, dates, stages, text and details, so that bad input is named by
    row and event, never a crash, and never quoted. ``made``: see :func:`_plainly_good`."""
    stages = _stage_set(protocol) if protocol is not None else None
    if _plainly_good(events, opened, today, stages, made):
        return
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


#: the kinds whose details :func:`_event_problem` reads nothing particular of, after the first
_PLAIN_KINDS = frozenset(
    k for k in KINDS
    if k not in ("opened", "imported", "action-done", "attached", "retracted", "redacted")
    and not k.endswith(("-added", "-removed"))
)  # fmt: skip


#: how :func:`_plainly_good` makes the events it tells good as :func:`_event_rows` makes
#: them: (the row's stage, the recorder, whether the details are spelled, the list that
#: gets (rows, facts))
_Making = tuple[str, str, bool, list[tuple[list["EventRow"], list[Fact]]]]


def _plainly_good(events: list[dict[str, Any]], opened: dt.date | None, today: dt.date,
                  stages: frozenset[str] | None, made: _Making | None = None) -> bool:  # fmt: skip
    """True when :func:`_check_events` would find no problem with these events, told the
    fast way for the usual ones (of :data:`_PLAIN_KINDS` after an opening, no
    ``recorded_at``): each event's questions asked in one loop, the characters of all their
    texts checked at once. False: not told so (the events are then checked one by one, and
    their first problem named). ``made``: where True, the events as :func:`_event_rows`
    makes them (given the row's stage, the recorder and ``encode``), made in the same loop,
    are added to its list."""
    lines: list[str] = []  # who recorded each: one line each
    texts: list[str] = []  # their texts and text details: safe text
    iso_day, plain_kinds, detail_dates = _iso_day, _PLAIN_KINDS, _DETAIL_DATES_SET
    days_read = _DAYS_READ
    first = True
    rows: list[Any] = []
    facts: list[Fact] = []
    if made is not None:
        row_stage, recorder, encode, out = made
        spell = _encode_details
    for e in events:
        kind = e.get("kind")
        if first:
            if kind != "opened" and kind != "imported":
                return False
            first = False
        elif type(kind) is not str or kind not in plain_kinds:
            return False
        on = e.get("on")
        if type(on) is not str:
            return False
        day = days_read.get(on) or iso_day(on)
        if day is None or day < FIRST_DAY or day > today:
            return False
        if opened is not None and day < opened and kind != "fields-recorded":
            return False
        stage, from_stage = e.get("stage"), e.get("from_stage")
        if (
            stage is not None
            and stage != ""
            and (type(stage) is not str or (stages is not None and stage not in stages))
        ):
            return False  # fmt: skip
        if from_stage is not None and (
            type(from_stage) is not str or (stages is not None and from_stage not in stages)
        ):
            return False
        by, text = e.get("by", ""), e.get("text", "")
        if by is not None:
            if type(by) is not str:
                return False
            lines.append(by)
        if text is not None:
            if type(text) is not str:
                return False
            texts.append(text)
        if e.get("recorded_at") is not None:
            return False
        details = e.get("details", {})
        if details is not None:
            if type(details) is not dict:
                return False
            if not detail_dates.isdisjoint(details):
                for name in _DETAIL_DATES:
                    value = details.get(name)
                    if value is not None and (type(value) is not str or iso_day(value) is None):
                        return False
            for value in details.values():
                if type(value) is str:
                    texts.append(value)
                elif not isinstance(value, _DETAIL_TYPES):
                    return False
                elif type(value) is list and value and _too_deep(value):  # ([] is not)
                    return False  # named by the check one by one
        if made is not None:  # as _event_rows makes it (these are of the types told above)
            d = details or {}
            on_stage, who, said = stage or row_stage, by or recorder, "" if text is None else text
            rows.append((kind, day, on_stage, from_stage, who, None, said,
                         (spell(d) if d else "{}") if encode else None, d))  # fmt: skip
            facts.append(_fact((len(rows), kind, day, on_stage, who, said, d)))
    if not (is_one_line("".join(lines)) and is_safe_text("".join(texts))):
        return False
    if made is not None:
        out.append((rows, facts))
    return True


#: ``_fact(values)`` is ``Fact(*values)``, made by the tuple's own constructor (a named
#: tuple's ``__new__`` is a Python function, a third longer, for each of an import's events)
_fact: Callable[[tuple[Any, ...]], Fact] = functools.partial(tuple.__new__, Fact)


@lru_cache(maxsize=4096)
def _iso_day(text: str) -> dt.date | None:
    """YYYY-MM-DD (never an ISO week date such as 2025-W10-1, which Python would take), or
    None. Each day read is kept in :data:`_DAYS_READ` too."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    if len(_DAYS_READ) >= _DAYS_KEPT:
        _DAYS_READ.clear()
    _DAYS_READ[text] = day
    return day


#: the days :func:`_iso_day` read, by their text: ``_DAYS_READ.get(text) or
#: _iso_day(text)`` is ``_iso_day(text)``, with one look-up in a plain dictionary where the
#: text is a day read before (an import reads nine a row, of a few thousand)
_DAYS_READ: dict[str, dt.date] = {}
_DAYS_KEPT = 4096


def _event_day(value: Any) -> dt.date | None:
    return _iso_day(value) if isinstance(value, str) else None


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


def _event_rows(events: list[dict[str, Any]], stage: str, recorder: str,
                encode: bool = True) -> tuple[list[EventRow], list[Fact]]:  # fmt: skip
    """The events of the file as they will be stored (``stage``: the row's, for an event
    that names none), and as the fold takes them (their seqs from 1)."""
    rows: list[Any] = []
    facts: list[Fact] = []
    spell, day_of = _encode_details, _iso_day
    for seq, e in enumerate(events, start=1):
        get = e.get
        kind = e["kind"]
        details = get("details") or {}
        if kind == "redacted" and isinstance(details, dict):
            # the digests vouched for the row in the database it came from; here the
            # redacted row is hashed afresh, so they would only disagree
            details = {k: v for k, v in details.items() if k not in ("before", "after")}
        at, on_stage, by, text = get("recorded_at"), get("stage"), get("by"), get("text")
        row = (
            kind if type(kind) is str else str(kind),
            day_of(e["on"]),
            on_stage if type(on_stage) is str and on_stage else str(on_stage or stage),
            get("from_stage"),
            by if type(by) is str and by else str(by or recorder),
            _when(at) if at else None,
            text if type(text) is str else str(text or ""),
            (spell(details) if details else "{}") if encode else None,
            details,
        )
        rows.append(row)
        facts.append(_fact((seq, row[0], row[1], row[2], row[4], row[6], details)))
    return rows, facts


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
