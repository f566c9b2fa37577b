"""The record as flat tables, for managers: a workbook (``drp export --format xlsx``) and a
folder of CSV files (``drp export --format csv -o DIR``), and reading them back
(``drp import FILE.xlsx`` / ``drp import DIR``).

Five tables, one pure function each over the views (:class:`drp_cli.domain.views.ConcernView`):

* **Concerns**: one row per concern (:data:`CONCERN_COLUMNS`), its current stage, deadlines
  (from the lifecycle rule) and outcome;
* **Events**: one row per event (:data:`EVENT_COLUMNS`), the event's details flattened into
  columns (:func:`flatten_details`): no JSON in any cell;
* **Stages**: one row per stage visit, with its deadline and result exactly as ``drp show``
  judges it (:func:`drp_cli.domain.views.stage_visits`) on the judging day;
* **Actions**: one row per recommended action (items of kind ``action``, from the fold);
* **Closure days**: the local closure days in force.

A cell holds text, a whole number, a date (a real date cell in the workbook, ISO
``YYYY-MM-DD`` in a CSV file), a date and time (``recorded_at_utc``), or yes/no (a real
boolean in the workbook). Text a spreadsheet would run as a formula is neutralised
(:func:`drp_cli.core.textsafe.neutralise_cell`) and restored on reading.

Reading back (:func:`read_export`) rebuilds each concern in the form
:mod:`drp_cli.exchange.transfer` already replays (the drp columns and ``events`` as a list),
from the
Concerns and Events tables, and the closure days: so export -> import restores every
concern. The other tables (Stages, Actions) and the judged columns are derived and ignored.

openpyxl (writing) and python-calamine (reading) are imported only inside the functions
that need them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from drp_cli.core.dates import as_day as _day
from drp_cli.core.dates import day_or_none
from drp_cli.core.errors import InvalidInput
from drp_cli.core.textsafe import neutralise_cell, restore_cell, split_lines
from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.judgement import working_days_late
from drp_cli.domain.lifecycle import ConcernState
from drp_cli.domain.views import ConcernView, concern_dict, fold_view, shown_details, stage_visits
from drp_cli.exchange.sheets import _workbook, calamine_errors, check_workbook, open_text
from drp_cli.exchange.sources import Closure, shown

if TYPE_CHECKING:
    from drp_cli.domain.protocols import Protocol
    from drp_cli.services.tracker import Tracker

# -- the tables and their columns (an interface: keep them stable) ----------------------------
CONCERNS, EVENTS, STAGES, ACTIONS, CLOSURES = (
    "Concerns", "Events", "Stages", "Actions", "Closure days",
)  # fmt: skip
SHEETS = (CONCERNS, EVENTS, STAGES, ACTIONS, CLOSURES)
#: the file of each table in the CSV folder
FILES = {
    CONCERNS: "concerns.csv",
    EVENTS: "events.csv",
    STAGES: "stages.csv",
    ACTIONS: "actions.csv",
    CLOSURES: "closure_days.csv",
}
CONCERN_COLUMNS = (
    "id", "external_ref", "uid", "protocol", "route", "child", "category", "issue", "summary",
    "impact", "recommended", "raised_by", "role", "owner", "team", "opened_on", "status",
    "stage", "stage_title", "stage_started_on", "deadline", "deadline_kind", "due",
    "formal_started_on", "formal_deadline", "formal_deadline_kind", "formal_result",
    "overdue", "working_days_overdue", "referred_on", "closed_on", "outcome", "judged_on",
)  # fmt: skip
#: the Concerns columns ``drp import`` reads back (the rest are derived from the events)
IMPORTED_CONCERN_COLUMNS = (
    "external_ref", "uid", "protocol", "child", "category", "issue", "summary", "impact",
    "recommended", "raised_by", "role", "opened_on", "status", "stage", "stage_started_on",
    "due", "formal_started_on", "referred_on", "closed_on", "outcome",
)  # fmt: skip
#: the fixed columns of the Events table; the details columns follow, then EMPTY_DETAILS
EVENT_COLUMNS = (
    "concern_id", "concern_uid", "concern_ref", "seq", "kind", "on", "stage", "from_stage",
    "by", "recorded_at_utc", "retracted", "text",
)  # fmt: skip
#: the last column of the Events table: the details present with an empty value, one a line
#: (``PATH: none``, ``PATH: empty text``, ``PATH: empty list``, ``PATH: empty group``)
EMPTY_DETAILS = "details [empty]"
STAGE_COLUMNS = (
    "concern_id", "concern_uid", "concern_ref", "protocol", "visit", "stage", "stage_title",
    "entered_on", "left_on", "left_by", "deadline", "deadline_kind", "due_set_by_iro",
    "first_response_on", "result", "working_days_late", "judged_on",
)  # fmt: skip
ACTION_COLUMNS = (
    "concern_id", "concern_uid", "concern_ref", "n", "priority", "action", "who", "due",
    "added_on", "added_by", "done_on", "removed_on", "status",
)  # fmt: skip
CLOSURE_COLUMNS = ("day", "reason")

#: the type of a details column, after its path: ``details.due [date]``; text has none
TYPES = ("number", "decimal", "yes/no", "date", "list")
_DETAIL_HEADER = re.compile(r"^details\.(.*?)(?: \[(number|decimal|yes/no|date|list)\])?$")
_EMPTY: dict[str, Any] = {"none": None, "empty text": "", "empty list": [], "empty group": {}}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Table = tuple[Sequence[str], list[list[Any]]]


# -- details: flattened into columns and back ---------------------------------------------------
def _key(name: str) -> str:
    """A details key as a path segment: the characters the path syntax uses escaped."""
    return quote(name, safe="-_~!$&'()*+,;=@").replace(".", "%2E")


def _as_day(value: str) -> dt.date | None:
    return day_or_none(value) if _ISO_DAY.match(value) else None


def flatten_details(details: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An event's details as ``{column header: cell value}``, and its empty values as lines
    of :data:`EMPTY_DETAILS`. A nested group's keys join with dots (``details.a.b``); a list
    of one-line texts is one ``[list]`` cell, one item a line; any other list is one column
    per item (``details.actions.#1``); a text that is a date is a ``[date]`` cell."""
    cells: dict[str, Any] = {}
    empties: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if not value:
                empties.append(f"{path}: empty group")
            for k, v in value.items():
                walk(v, f"{path}.{_key(str(k))}")
        elif isinstance(value, list):
            if not value:
                empties.append(f"{path}: empty list")
            elif all(isinstance(i, str) and i and split_lines(i) == [i] for i in value):
                cells[f"details{path} [list]"] = "\n".join(value)
            else:
                for n, item in enumerate(value, start=1):
                    walk(item, f"{path}.#{n}")
        elif value is None:
            empties.append(f"{path}: none")
        elif isinstance(value, bool):
            cells[f"details{path} [yes/no]"] = value
        elif isinstance(value, int):
            cells[f"details{path} [number]"] = value
        elif isinstance(value, float):
            cells[f"details{path} [decimal]"] = value
        elif value == "":
            empties.append(f"{path}: empty text")
        else:
            text = str(value)
            day = _as_day(text)
            if day is not None:
                cells[f"details{path} [date]"] = day
            else:
                cells[f"details{path}"] = text

    for k, v in details.items():
        walk(v, f".{_key(str(k))}")
    return cells, [e[1:] for e in empties]


def _segments(path: str) -> list[str | int]:
    return [int(s[1:]) if s.startswith("#") else unquote(s) for s in path.split(".")]


def _place(root: dict[Any, Any], path: str, value: Any) -> None:
    node = root
    segments = _segments(path)
    for s in segments[:-1]:
        child = node.setdefault(s, {})
        if not isinstance(child, dict):
            raise ValueError(path)
        node = child
    node[segments[-1]] = value


def _lists(value: Any) -> Any:
    """Groups whose keys are all item numbers become lists, in order."""
    if not isinstance(value, dict):
        return value
    if value and all(isinstance(k, int) for k in value):
        return [_lists(value[k]) for k in sorted(value)]
    return {k: _lists(v) for k, v in value.items()}


# -- the tables ---------------------------------------------------------------------------------
#: each concern's fold (the lifecycle rule over its events), by id: worked out once
Folds = Mapping[int, ConcernState]


def _fold(
    c: ConcernView, protocols: dict[str, Protocol], cal: WorkingCalendar, folds: Folds | None
) -> ConcernState:
    if folds is not None and c.id in folds:
        return folds[c.id]
    return fold_view(c, protocols.get(c.protocol), cal)


def _ref(c: ConcernView) -> list[Any]:
    return [c.id, c.uid or "", c.external_ref or ""]


def concerns_table(
    views: Iterable[ConcernView],
    protocols: dict[str, Protocol],
    cal: WorkingCalendar,
    judged_on: dt.date,
    folds: Folds | None = None,
) -> Table:
    """One row per concern: :data:`CONCERN_COLUMNS`, judged on ``judged_on`` as ``drp show``
    judges it (:func:`drp_cli.domain.views.concern_dict`). ``due``: the due date the IRO set for the
    current stage, if any."""
    rows = []
    for c in views:
        d = concern_dict(c, protocols.get(c.protocol), cal, judged_on, timeline=False)
        visits = _fold(c, protocols, cal, folds).visits
        due = visits[-1].due if visits else None
        values = {
            **d,
            "referred_on": d["referred_to_cafcass_on"],
            "due": due,
            "overdue": d["overdue"],
        }
        rows.append([_cell(name, values.get(name)) for name in CONCERN_COLUMNS])
    return CONCERN_COLUMNS, rows


_DATE_NAMES = re.compile(r"(_on|deadline|^due)$")


def _cell(name: str, value: Any) -> Any:
    """A view's value as a cell: ISO dates as dates, None as empty."""
    if value is None:
        return ""
    if isinstance(value, str) and _DATE_NAMES.search(name):
        return _day(value)
    return value


def events_table(views: Iterable[ConcernView]) -> Table:
    """One row per event, in each concern's order: :data:`EVENT_COLUMNS`, then a column per
    details path and type found (sorted), then :data:`EMPTY_DETAILS`."""
    flat: list[tuple[list[Any], dict[str, Any], list[str]]] = []
    columns: set[str] = set()
    for c in views:
        for e in sorted(c.events, key=lambda e: e.seq):
            cells, empties = flatten_details(shown_details(e))
            columns.update(cells)
            moment = e.recorded_at.astimezone(dt.UTC).replace(tzinfo=None)
            fixed = [*_ref(c), e.seq, e.kind, e.on, e.stage, e.from_stage or "", e.by, moment,
                     e.retracted, e.text]  # fmt: skip
            flat.append((fixed, cells, empties))
    details = sorted(columns)
    header = [*EVENT_COLUMNS, *details, EMPTY_DETAILS]
    rows = [[*fixed, *(cells.get(h, "") for h in details), "\n".join(empties)]
            for fixed, cells, empties in flat]  # fmt: skip
    return header, rows


def stages_table(
    views: Iterable[ConcernView],
    protocols: dict[str, Protocol],
    cal: WorkingCalendar,
    judged_on: dt.date,
    folds: Folds | None = None,
) -> Table:
    """One row per stage visit, with its deadline and result as ``drp show`` judges it."""
    rows = []
    for c in views:
        state = _fold(c, protocols, cal, folds)
        for n, v in enumerate(stage_visits(c, protocols.get(c.protocol), cal, judged_on, state),
                              start=1):  # fmt: skip
            rows.append([
                *_ref(c), c.protocol, n, v["stage"], v["title"], _day(v["entered_on"]),
                _day(v["left_on"]) or "", v["left_by"] or "", _day(v["deadline"]) or "",
                v["timescale_kind"] or "", v["due_set_by_iro"],
                _day(v["first_response_on"]) or "", v["result"], v["working_days_late"],
                judged_on,
            ])  # fmt: skip
    return STAGE_COLUMNS, rows


def actions_table(
    views: Iterable[ConcernView],
    protocols: dict[str, Protocol],
    cal: WorkingCalendar,
    judged_on: dt.date,
    folds: Folds | None = None,
) -> Table:
    """One row per recommended action: ``status`` is done, removed, overdue (not done, its
    due date passed by a working day on the judging day, the concern open) or open."""
    rows = []
    for c in views:
        items = _fold(c, protocols, cal, folds).items
        for (kind, n), item in sorted(items.items(), key=lambda kv: kv[0][1]):
            if kind != "action":
                continue
            due = _as_day(str(item.data.get("due") or ""))
            if item.removed_on is not None:
                status = "removed"
            elif item.done_on is not None:
                status = "done"
            elif c.status == "open" and due is not None and working_days_late(cal, due, judged_on):
                status = "overdue"
            else:
                status = "open"
            rows.append([
                *_ref(c), n, item.position, str(item.data.get("text") or ""),
                str(item.data.get("owner") or ""), due or "", item.added_on, item.added_by,
                item.done_on or "", item.removed_on or "", status,
            ])  # fmt: skip
    return ACTION_COLUMNS, rows


def tables(
    tracker: Tracker, judged_on: dt.date, views: list[ConcernView] | None = None
) -> list[tuple[str, Table]]:
    """The five tables of the whole record (``views``: these concerns, as given: a
    pseudonymised export's), judged on ``judged_on``."""
    views = views if views is not None else tracker.concerns(status="all")
    protocols = tracker.protocols.protocols
    cal = tracker.calendar()
    closures = [[c.day, c.reason] for c in tracker.closures()]
    folds = {c.id: fold_view(c, protocols.get(c.protocol), cal) for c in views}  # once each
    return [
        (CONCERNS, concerns_table(views, protocols, cal, judged_on, folds)),
        (EVENTS, events_table(views)),
        (STAGES, stages_table(views, protocols, cal, judged_on, folds)),
        (ACTIONS, actions_table(views, protocols, cal, judged_on, folds)),
        (CLOSURES, (CLOSURE_COLUMNS, closures)),
    ]


# -- the manager's workbook: people's headers and words ----------------------------------------
#: The workbook's header of each column (the CSV folder keeps the column names scripts use);
#: a column not listed keeps its name. ``drp import`` reads either.
HEADERS: dict[str, str] = {
    "id": "Concern", "external_ref": "Reference", "uid": "uid", "protocol": "Protocol",
    "route": "Route", "child": "Child reference", "category": "Theme", "issue": "Issue",
    "summary": "Summary", "impact": "Impact on the child", "recommended": "Recommended action",
    "raised_by": "Raised by", "role": "Role", "owner": "Owner", "team": "Team",
    "opened_on": "Opened", "status": "State", "stage_title": "Stage",
    "stage_started_on": "Stage started", "deadline": "Deadline",
    "deadline_kind": "Kind of deadline", "due": "Due date set by the IRO",
    "formal_started_on": "Formal process started", "formal_deadline": "Formal deadline",
    "formal_deadline_kind": "Kind of formal deadline", "formal_result": "Formal process",
    "overdue": "Overdue", "working_days_overdue": "Working days overdue",
    "referred_on": "Referred to CAFCASS", "closed_on": "Closed", "outcome": "Outcome",
    "judged_on": "Judged on", "concern_id": "Concern", "concern_uid": "uid",
    "concern_ref": "Reference", "visit": "Visit", "entered_on": "Entered",
    "left_on": "Left", "left_by": "Left by", "due_set_by_iro": "Due date set by the IRO",
    "first_response_on": "First response", "result": "Result",
    "working_days_late": "Working days late", "n": "Action", "priority": "Priority",
    "action": "Action to take", "who": "Who", "added_on": "Added", "added_by": "Added by",
    "done_on": "Done", "removed_on": "Removed", "day": "Day", "reason": "Reason",
}  # fmt: skip
#: header -> column name, for the tables drp import reads back
_MACHINE = {HEADERS[c]: c for c in (*CONCERN_COLUMNS, *CLOSURE_COLUMNS) if c in HEADERS}
#: the columns a manager's sheet leaves out (the slug beside its title), and the uid last
_LEFT_OUT = {CONCERNS: ("stage",), STAGES: ("stage",)}
_STATES = {"open": "Open", "resolved": "Resolved", "withdrawn": "Withdrawn"}


def _words(protocols: Mapping[str, Protocol]) -> dict[str, dict[str, str]]:
    """Each slug column's slug -> label, from the protocol objects and the themes."""
    from drp_cli.domain.protocols import themes

    found = themes().themes
    # a protocol by its authority ("Knowsley Metropolitan Borough Council"); where two
    # protocols share one, by the authority and the protocol's title
    shared = {p.authority for p in protocols.values()}
    shared = {a for a in shared if sum(p.authority == a for p in protocols.values()) > 1}
    return {
        "protocol": {
            slug: (f"{p.authority}: {p.title}" if p.authority in shared else p.authority)
            for slug, p in protocols.items()
        },
        "category": {t.slug: t.title for t in found},
        "issue": {i.slug: i.text for t in found for i in t.issues},
        "status": _STATES,
    }


def manager_sheet(name: str, table: Table, protocols: Mapping[str, Protocol]) -> Table:
    """A table as the manager's workbook shows it: people's headers, labels instead of
    slugs (protocols, themes, issues, states, stage results in drp's words), the slug
    columns that sit beside their title left out, and the uid last."""
    from drp_cli.domain.wording import FORMAL_RESULT_WORDS, RESULT_WORDS

    header, rows = table
    if name not in (CONCERNS, STAGES, ACTIONS, CLOSURES):
        return table
    words = {**_words(protocols), "formal_result": FORMAL_RESULT_WORDS}
    if name == STAGES:
        words["result"] = RESULT_WORDS
    leave = set(_LEFT_OUT.get(name, ()))
    order = [i for i, h in enumerate(header) if h not in leave and "uid" not in h]
    order += [i for i, h in enumerate(header) if "uid" in h]
    said = [(i, words.get(header[i])) for i in order]
    out = [[(w.get(row[i], row[i]) if w and isinstance(row[i], str) else row[i])
            for i, w in said] for row in rows]  # fmt: skip
    return [HEADERS.get(header[i], header[i]) for i in order], out


def _from_manager_sheet(grid: Grid, protocols: Mapping[str, Protocol]) -> Grid:
    """The Concerns table of a manager's workbook with drp's column names and slugs again
    (a workbook of drp's column names is returned as it is)."""
    if not grid or "Child reference" not in grid[0]:
        return grid
    header = [_MACHINE.get(str(h), str(h)) for h in grid[0]]
    back = {col: {label: slug for slug, label in table.items()}
            for col, table in _words(protocols).items()}  # fmt: skip
    stages = {slug: {s.title: s.slug for s in p.stages} for slug, p in protocols.items()}
    at = {h: i for i, h in enumerate(header)}
    rows: Grid = [[*header, "stage"]]
    for raw in grid[1:]:
        row = list(raw) + [""] * (len(header) - len(raw))
        for col, table in back.items():
            if col in at and isinstance(row[at[col]], str):
                row[at[col]] = table.get(row[at[col]], row[at[col]])
        title = row[at["stage_title"]] if "stage_title" in at else ""
        proto = row[at["protocol"]] if "protocol" in at else ""
        rows.append([*row, stages.get(str(proto), {}).get(str(title), title)])
    return rows


# -- writing -----------------------------------------------------------------------------------
def _text_cell(value: str) -> str:
    return neutralise_cell(value)


def workbook_bytes(named: list[tuple[str, Table]]) -> bytes:
    """The tables as an .xlsx workbook (openpyxl, write-only): one sheet each, header row
    bold, frozen and filtered, dates as date cells, drp as its creator."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from drp_cli.adapters.outpaths import GENERATOR

    wb = Workbook(write_only=True)
    wb.properties.creator = GENERATOR
    bold = Font(bold=True)
    wrapped = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for name, (header, rows) in named:
        ws = wb.create_sheet(name)
        ws.freeze_panes = "B2" if name in (CONCERNS, STAGES, ACTIONS) else "A2"
        # printed: landscape, one page wide, the header row on every page
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:1"
        for i, h in enumerate(header, start=1):
            ws.column_dimensions[get_column_letter(i)].width = _width(h, rows, i - 1)
        widths = [_width(h, rows, i) for i, h in enumerate(header)]
        head = []
        for h in header:
            cell = WriteOnlyCell(ws, value=_text_cell(h))
            cell.font = bold
            cell.alignment = wrapped  # a long header over two lines: the column stays narrow
            head.append(cell)
        ws.row_dimensions[1].height = 15.0 * max(
            [_lines(h, widths[i]) for i, h in enumerate(header)] or [1]
        )  # the heights a reader shows: LibreOffice does not fit rows to wrapped text
        ws.append(head)
        # one date cell and one date-and-time cell per sheet, given each value as the row is
        # written: openpyxl's write-only sheet writes each cell of a row (a generator) before
        # it takes the next, and a styled cell made for every date costs a third of the time
        day_cell = WriteOnlyCell(ws)
        day_cell.number_format = "dd/mm/yyyy"
        time_cell = WriteOnlyCell(ws)
        time_cell.number_format = "dd/mm/yyyy hh:mm:ss"
        day_cell.alignment = time_cell.alignment = top  # a row's cells start on one line
        text_cell = WriteOnlyCell(ws)  # text: at the top, wrapped where longer than its column
        text_cell.alignment = wrapped
        num_cell = WriteOnlyCell(ws)  # numbers and yes/no: at the top too
        num_cell.alignment = top
        for r, row in enumerate(rows, start=2):
            lines = max([_lines(v, widths[i]) for i, v in enumerate(row) if isinstance(v, str)]
                        or [1])  # fmt: skip
            if lines > 1:
                ws.row_dimensions[r].height = 15.0 * min(lines, 8)
            ws.append(_xlsx_row(row, day_cell, time_cell, text_cell, num_cell))
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _lines(text: str, width: float) -> int:
    """About how many lines ``text`` takes wrapped in a column ``width`` characters wide."""
    if len(text) <= width:
        return 1
    return sum(max(1, -(-len(part) // max(int(width) - 1, 1))) for part in text.split("\n"))


def _xlsx_row(row: list[Any], day_cell: Any, time_cell: Any, text_cell: Any = None,
              num_cell: Any = None) -> Iterator[Any]:  # fmt: skip
    for value in row:
        if isinstance(value, dt.datetime):
            time_cell.value = value
            yield time_cell
        elif isinstance(value, dt.date):
            day_cell.value = value
            yield day_cell
        elif isinstance(value, str):
            text = _text_cell(value)
            # never a formula: a neutralised text does not start with "="
            assert not text.startswith("=")
            if text_cell is not None and text:
                text_cell.value = text
                yield text_cell
            else:
                yield text if text else None
        elif num_cell is not None and value is not None:
            num_cell.value = value
            yield num_cell
        else:
            yield value


def _width(header: str, rows: list[list[Any]], i: int) -> float:
    """A column wide enough for the longest word of its header and the first line of its
    first 500 cells, within 8 to 30 characters (longer text wraps in its cell, so that the
    sheet prints at a size that can be read)."""
    longest = max(len(w) for w in header.split() or [""]) + 3  # room for the filter button
    for row in rows[:500]:
        v = row[i]
        if isinstance(v, dt.datetime):
            n = 19
        elif isinstance(v, dt.date):
            n = 10
        else:
            n = len(str(v).split("\n", 1)[0])
        longest = max(longest, n)
    return float(min(max(longest + 1, 8), 30))


def _csv_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise_cell(value)
    return "" if value is None else str(value)


def csv_files(named: list[tuple[str, Table]]) -> dict[str, bytes]:
    """The tables as CSV files (UTF-8 with a byte-order mark, so that Excel reads the
    accents right; CRLF line ends), by file name."""
    files = {}
    for name, (header, rows) in named:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([_csv_value(h) for h in header])
        writer.writerows([_csv_value(v) for v in row] for row in rows)
        files[FILES[name]] = buffer.getvalue().encode("utf-8-sig")
    return files


def export(
    tracker: Tracker,
    target: str,
    fmt: str,
    *,
    judged_on: dt.date,
    force: bool = False,
    views: list[ConcernView] | None = None,
) -> int:
    """Write the workbook (``xlsx``: the file ``target``) or the CSV folder (``csv``: the
    folder ``target``); returns the number of concerns. ``views``: these concerns as given
    (a pseudonymised export's: the folder then holds no attached documents)."""
    from drp_cli.adapters.outpaths import protected_paths, write_file, write_folder

    named = tables(tracker, judged_on, views)
    count = len(named[0][1][1])
    protected = protected_paths(tracker.store)
    if fmt == "xlsx":
        protocols = tracker.protocols.protocols
        shown_ = [(n, manager_sheet(n, t, protocols)) for n, t in named]
        write_file(target, workbook_bytes(shown_), protected=protected, force=force,
                   what="export")  # fmt: skip
    elif fmt == "csv":
        attached = _attached(tracker) if views is None else {}
        files: dict[str, str | bytes] = {**csv_files(named), **attached}
        write_folder(target, files, protected=protected, force=force,
                     what="export")  # fmt: skip
    else:
        raise InvalidInput(f"unknown format {fmt!r}; allowed: csv, xlsx")
    return count


def _attached(tracker: Tracker) -> dict[str, bytes]:
    """The attached files, ``attachments/SHA-256`` in the export folder, so that ``drp
    import FOLDER`` into another database brings them (each checked against its SHA-256)."""
    from drp_cli.services.attachments import checked_chunks
    from drp_cli.store import filestore

    files: dict[str, bytes] = {}
    root, key = tracker.store.attachments_dir, tracker.store.encryption_key()
    for c in tracker.concerns(status="all"):
        for e in c.events:
            sha = e.details.get("sha256") if e.kind == "attached" else None
            if not isinstance(sha, str) or f"attachments/{sha}" in files:
                continue
            # checked as every reader checks it: missing exit 3, changed outside drp exit 6
            path = filestore.locate(root, sha, key)
            data = b"".join(checked_chunks(path, sha, key, f"an attachment of concern {c.id}"))
            files[f"attachments/{sha}"] = data
    return files


# -- reading back -------------------------------------------------------------------------------
Grid = list[list[Any]]
Row = tuple[str, dict[str, Any]]


def _is_xlsx(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def is_drp_export(path: Path) -> bool:
    """True for drp's own workbook or CSV folder: its tables are all there and its Events
    table starts with :data:`EVENT_COLUMNS`. A workbook is checked first (no XML entity, no
    bomb): what it must not be is said at once, whoever would read it."""
    if not path.is_dir():
        if not path.is_file() or not _is_xlsx(path):
            return False
        check_workbook(path)
    try:
        if path.is_dir():
            if not all((path / f).is_file() for f in FILES.values()):
                return False
            with open_text(path / FILES[EVENTS], "utf-8-sig") as fh:
                header = next(csv.reader(fh), [])
            return tuple(header[: len(EVENT_COLUMNS)]) == EVENT_COLUMNS
        wb = _workbook(path)
        with calamine_errors(path):  # a panic in the reader too
            if not set(SHEETS) <= set(wb.sheet_names):
                return False
            first = wb.get_sheet_by_name(EVENTS).to_python(nrows=1)
        return bool(first) and tuple(first[0][: len(EVENT_COLUMNS)]) == EVENT_COLUMNS
    except Exception:  # not readable as drp's export: the other readers say what is wrong
        return False


def _grids(path: Path) -> dict[str, Grid]:
    """Every table as rows of cells (the header first)."""
    grids: dict[str, Grid] = {}
    if path.is_dir():
        for name, file in FILES.items():
            try:
                with open_text(path / file, "utf-8-sig") as fh:
                    grids[name] = list(csv.reader(fh))
            except InvalidInput as exc:
                raise InvalidInput(f"{shown(path)}: {exc}") from None
            except (OSError, UnicodeDecodeError, csv.Error):
                raise InvalidInput(f"{shown(path)}: cannot read {file}") from None
        return grids
    from drp_cli.domain.protocols import registry

    wb = _workbook(path)
    with calamine_errors(path):
        for name in SHEETS:
            grids[name] = wb.get_sheet_by_name(name).to_python()
    grids[CONCERNS] = _from_manager_sheet(grids[CONCERNS], registry().protocols)
    grids[CLOSURES] = [[_MACHINE.get(str(h), h) for h in grids[CLOSURES][0]],
                       *grids[CLOSURES][1:]] if grids[CLOSURES] else []  # fmt: skip
    return grids


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return restore_cell(str(v))


def _iso(v: Any) -> str:
    """A date cell (or ISO text) as ISO text."""
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return _text(v).strip()


def _int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError(v)
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError(v)
        return int(v)
    return int(str(v).strip())


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in ("yes", "true", "1"):
        return True
    if text in ("no", "false", "0"):
        return False
    raise ValueError(v)


def _moment(v: Any) -> str | None:
    """``recorded_at_utc`` as ISO 8601 in UTC; a workbook's time to the millisecond."""
    if v in (None, ""):
        return None
    if isinstance(v, dt.datetime):
        moment = v.replace(tzinfo=dt.UTC)
    else:
        moment = dt.datetime.fromisoformat(str(v).strip().replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat()


_DECODE: dict[str | None, Callable[[Any], Any]] = {
    None: _text,
    "number": _int,
    "decimal": lambda v: float(v),
    "yes/no": _bool,
    "date": _iso,
    "list": lambda v: _text(v).split("\n"),
}


def _columns(grid: Grid, table: str, required: Sequence[str]) -> dict[str, int]:
    header = [_text(h) for h in grid[0]] if grid else []
    index = {h: i for i, h in enumerate(header)}
    missing = [c for c in required if c not in index]
    if missing:
        raise InvalidInput(f"the {table} table has no column {missing[0]!r}")
    return index


def _cells(row: list[Any], width: int) -> list[Any]:
    return row + [""] * (width - len(row))


def read_export(path: Path) -> tuple[Callable[[], Iterator[Row]], list[Closure]]:
    """drp's own workbook or CSV folder as (a function giving the (label, row) pairs that
    :func:`drp_cli.exchange.checks.validate` takes, each with its ``events``; the closure days).
    A cell that cannot be read is named by table, row (the header is row 1) and column,
    never quoted."""
    grids = _grids(path)
    events = _read_events(grids[EVENTS])
    grid = grids[CONCERNS]
    index = _columns(grid, CONCERNS, ("id", *IMPORTED_CONCERN_COLUMNS))
    rows: list[Row] = []
    for r, raw in enumerate(grid[1:], start=2):
        cells = _cells(raw, len(grid[0]))
        if all(v in (None, "") for v in cells):
            continue
        try:
            cid = _int(cells[index["id"]])
        except ValueError:
            raise InvalidInput(f"{CONCERNS} row {r}, column id: is not a whole number") from None
        row: dict[str, Any] = {"_old_id": cid}  # the id it had where it was exported
        for name in IMPORTED_CONCERN_COLUMNS:
            v = cells[index[name]]
            row[name] = _iso(v) if _DATE_NAMES.search(name) else _text(v)
        if cid in events:
            row["events"] = events.pop(cid)
        rows.append((f"{CONCERNS} row {r}", row))
    if events:
        raise InvalidInput(f"the {EVENTS} table has events of concern {min(events)}, which is "
                           f"not in the {CONCERNS} table")  # fmt: skip
    grid = grids[CLOSURES]
    index = _columns(grid, CLOSURES, CLOSURE_COLUMNS)
    closures: list[Closure] = []
    for r, raw in enumerate(grid[1:], start=2):
        cells = _cells(raw, len(grid[0]))
        if all(v in (None, "") for v in cells):
            continue
        day = _as_day(_iso(cells[index["day"]]))
        if day is None:
            raise InvalidInput(f"{CLOSURES} row {r}, column day: is not a date (YYYY-MM-DD)")
        closures.append((day, _text(cells[index["reason"]])))
    return (lambda: iter(rows)), closures


def unflatten_details(cells: dict[str, Any], empty: Any = "") -> dict[str, Any]:
    """The details :func:`flatten_details` flattened, from ``{column header: cell}`` (a
    workbook's cells or a CSV file's text; empty cells skipped) and the
    :data:`EMPTY_DETAILS` cell. ``ValueError`` names the column that cannot be read."""
    tree: dict[Any, Any] = {}
    for header, v in cells.items():
        m = _DETAIL_HEADER.match(header)
        if m is None or v in (None, ""):
            continue
        try:
            _place(tree, m.group(1), _DECODE[m.group(2)](v))
        except (ValueError, TypeError, OverflowError):
            raise ValueError(header) from None
    for line in _text(empty).split("\n"):
        if not line.strip():
            continue
        path, _, what = line.rpartition(": ")
        if what not in _EMPTY:
            raise ValueError(EMPTY_DETAILS)
        value = _EMPTY[what]
        try:
            _place(tree, path, type(value)() if value is not None else None)
        except ValueError:
            raise ValueError(EMPTY_DETAILS) from None
    result: dict[str, Any] = _lists(tree)
    return result


def _read_events(grid: Grid) -> dict[int, list[dict[str, Any]]]:
    """The Events table as each concern's events (by the exporting database's id)."""
    index = _columns(grid, EVENTS, (*EVENT_COLUMNS, EMPTY_DETAILS))
    details = [(h, i) for h, i in index.items() if _DETAIL_HEADER.match(h)]
    by_concern: dict[int, list[dict[str, Any]]] = {}
    for r, raw in enumerate(grid[1:], start=2):
        cells = _cells(raw, len(grid[0]))
        if all(v in (None, "") for v in cells):
            continue
        column = "concern_id"
        try:
            cid = _int(cells[index["concern_id"]])
            column = "seq"
            seq = _int(cells[index["seq"]])
            column = "recorded_at_utc"
            moment = _moment(cells[index["recorded_at_utc"]])
            column = "details"
            tree = unflatten_details({h: cells[i] for h, i in details},
                                     cells[index[EMPTY_DETAILS]])  # fmt: skip
        except ValueError as exc:
            column = str(exc) if column == "details" else column
            raise InvalidInput(f"{EVENTS} row {r}, column {column}: cannot be read") from None
        except (TypeError, OverflowError):
            raise InvalidInput(f"{EVENTS} row {r}, column {column}: cannot be read") from None
        from_stage = _text(cells[index["from_stage"]])
        by_concern.setdefault(cid, []).append({
            "seq": seq,
            "kind": _text(cells[index["kind"]]),
            "on": _iso(cells[index["on"]]),
            "stage": _text(cells[index["stage"]]),
            "from_stage": from_stage or None,
            "by": _text(cells[index["by"]]),
            "recorded_at": moment,
            "text": _text(cells[index["text"]]),
            "details": tree,
        })  # fmt: skip
    for events in by_concern.values():
        events.sort(key=lambda e: e.pop("seq"))  # as recorded, however the table was sorted
    return by_concern
