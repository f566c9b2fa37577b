"""drp export --format xlsx / --format csv -o DIR: the flat tables for managers, and their
round trip through drp import (drp_cli/exchange/flat.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from drp_cli.exchange import flat
from tests.conftest import open_args

D = dt.date
JUDGED = "2025-03-20"
FORMULA = '=HYPERLINK("http://x.example","click")'


def hand_record(drp):
    """Concern 1: escalated once, a response, resolved. Concern 2: open, a formula-looking
    summary, two actions (one done, one past its due date)."""
    assert drp(*open_args()).exit_code == 0
    assert drp("escalate", "1", "--on", "2025-03-11", "--note", "No reply",
               "--due", "2025-03-14").exit_code == 0  # fmt: skip
    assert drp("respond", "1", "--text", "Allocated from Monday", "--from", "HoS",
               "--on", "2025-03-12").exit_code == 0  # fmt: skip
    assert drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-14").exit_code == 0
    assert drp(*open_args(child="KN-77", summary=FORMULA, on="2025-03-10")).exit_code == 0
    assert drp("action", "add", "2", "--text", "+Call the social worker", "--owner", "TM",
               "--due", "2025-03-12", "--on", "2025-03-10").exit_code == 0  # fmt: skip
    assert drp("action", "add", "2", "--text", "Send the plan", "--owner", "SW",
               "--due", "2025-03-21", "--on", "2025-03-10").exit_code == 0  # fmt: skip
    assert drp("action", "done", "2", "2", "--on", "2025-03-14").exit_code == 0


def sheet_rows(ws):
    return [[c.value for c in row] for row in ws.iter_rows()]


def machine(name, rows):
    """A manager's sheet (people's headers and words) back in drp's column names and slugs,
    for the exact values below to be compared as drp computes them."""
    from drp_cli.domain.protocols import registry
    from drp_cli.domain.wording import FORMAL_RESULT_WORDS, RESULT_WORDS

    columns = {
        flat.CONCERNS: flat.CONCERN_COLUMNS,
        flat.STAGES: flat.STAGE_COLUMNS,
        flat.ACTIONS: flat.ACTION_COLUMNS,
        flat.CLOSURES: flat.CLOSURE_COLUMNS,
    }[name]
    back = {flat.HEADERS.get(c, c): c for c in columns}
    protocols = registry().protocols
    words = {col: {v: k for k, v in t.items()} for col, t in flat._words(protocols).items()}
    words["formal_result"] = {v: k for k, v in FORMAL_RESULT_WORDS.items()}
    words["result"] = {v: k for k, v in RESULT_WORDS.items()}
    header = [back[h] for h in rows[0]]
    out = [[*header, "stage"]] if "stage_title" in header else [header]
    for row in rows[1:]:
        d = dict(zip(header, row, strict=True))
        cells = [words.get(h, {}).get(v, v) for h, v in d.items()]
        if "stage_title" in header:
            proto = d.get("protocol") or "knowsley"
            proto = words["protocol"].get(proto, proto)
            cells.append({s.title: s.slug for s in protocols[proto].stages}[d["stage_title"]])
        out.append(cells)
    return out


def by_header(rows):
    header = rows[0]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def test_workbook_sheets_header_dates_and_formulas(drp, tmp_path):
    hand_record(drp)
    out = tmp_path / "drp.xlsx"
    r = drp("export", "--format", "xlsx", "-o", str(out), "--on", JUDGED)
    assert (r.exit_code, r.stdout) == (0, f"Exported 2 concerns to {out}.\n"), r.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Concerns", "Events", "Stages", "Actions", "Closure days"]
    assert wb.properties.creator == "drp-cli"
    for ws in wb.worksheets:
        assert ws.freeze_panes == ("A2" if ws.title in ("Events", "Closure days") else "B2")
        assert ws["A1"].font.bold
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
        # printed: landscape, one page wide, the header row on every page
        assert (ws.page_setup.orientation, ws.page_setup.fitToWidth) == ("landscape", 1)
        assert ws.page_setup.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows == "$1:$1"
    concerns = wb["Concerns"]
    # the manager's words: people's headers, the uid last (the CSV folder keeps the names)
    assert [c.value for c in concerns[1]] == [
        "Concern", "Reference", "Protocol", "Route", "Child reference", "Theme", "Issue",
        "Summary", "Impact on the child", "Recommended action", "Raised by", "Role", "Owner",
        "Team", "Opened", "State", "Stage", "Stage started", "Deadline", "Kind of deadline",
        "Due date set by the IRO", "Formal process started", "Formal deadline",
        "Kind of formal deadline", "Formal process", "Overdue", "Working days overdue",
        "Referred to CAFCASS", "Closed", "Outcome", "Judged on", "uid",
    ]  # fmt: skip
    first = dict(zip([c.value for c in concerns[1]], [c.value for c in concerns[2]], strict=True))
    assert (first["Protocol"], first["Theme"], first["State"], first["Stage"]) == (
        "Knowsley Metropolitan Borough Council",
        "Failure to meet statutory requirements for the child", "Resolved",
        "Stage 2: Dispute Resolution",
    )  # fmt: skip
    events = sheet_rows(wb["Events"])
    assert events[0] == [
        *flat.EVENT_COLUMNS,
        "details.category",
        "details.child",
        "details.due [date]",
        "details.from",
        "details.n [number]",
        "details.owner",
        "details.position [number]",
        "details.protocol",
        "details.raised_by",
        "details.role",
        "details.route",
        "details.text",
        "details.uid",
        "details [empty]",
    ]
    assert wb["Stages"]["A1"].value == "Concern"
    assert [c.value for c in wb["Actions"][1]][-1] == "uid"
    assert [c.value for c in wb["Closure days"][1]] == ["Day", "Reason"]
    # dates are date cells shown as dd/mm/yyyy; recorded_at a date and time
    opened = concerns.cell(2, [c.value for c in concerns[1]].index("Opened") + 1)
    assert opened.is_date and opened.value == dt.datetime(2025, 3, 3)
    assert opened.number_format == "dd/mm/yyyy"
    recorded = wb["Events"].cell(2, flat.EVENT_COLUMNS.index("recorded_at_utc") + 1)
    assert recorded.is_date and recorded.number_format == "dd/mm/yyyy hh:mm:ss"
    due = wb["Events"].cell(3, events[0].index("details.due [date]") + 1)
    assert due.is_date and due.value == dt.datetime(2025, 3, 14)
    # the formula-looking summary is text, neutralised, never a formula
    summary = concerns.cell(3, [c.value for c in concerns[1]].index("Summary") + 1)
    assert (summary.value, summary.data_type) == ("'" + FORMULA, "s")
    action = wb["Actions"].cell(2, [c.value for c in wb["Actions"][1]].index("Action to take") + 1)
    assert (action.value, action.data_type) == ("'+Call the social worker", "s")
    assert not any(
        c.data_type == "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row
    )


def test_exact_values_judged_on_a_fixed_day(drp, tmp_path):
    hand_record(drp)
    out = tmp_path / "drp.xlsx"
    drp("export", "--format", "xlsx", "-o", str(out), "--on", JUDGED)
    wb = openpyxl.load_workbook(out)
    c1, c2 = by_header(machine(flat.CONCERNS, sheet_rows(wb["Concerns"])))
    j = dt.datetime(2025, 3, 20)
    assert {
        k: c1[k]
        for k in (
            "id",
            "child",
            "status",
            "stage",
            "stage_started_on",
            "deadline",
            "deadline_kind",
            "due",
            "formal_started_on",
            "formal_deadline",
            "formal_result",
            "overdue",
            "closed_on",
            "outcome",
            "owner",
            "judged_on",
        )
    } == {
        "id": 1,
        "child": "KN-2231",
        "status": "resolved",
        "stage": "stage-2",
        "stage_started_on": dt.datetime(2025, 3, 11),
        "deadline": dt.datetime(2025, 3, 14),
        "deadline_kind": "aim",
        "due": dt.datetime(2025, 3, 14),
        "formal_started_on": dt.datetime(2025, 3, 11),
        # stage 2 is Knowsley's formal stage: 20 working days from 11 March
        "formal_deadline": dt.datetime(2025, 4, 8),
        "formal_result": "met",
        "overdue": False,
        "closed_on": dt.datetime(2025, 3, 14),
        "outcome": "Allocated",
        "owner": "Test IRO",
        "judged_on": j,
    }
    assert {
        k: c2[k]
        for k in (
            "id",
            "status",
            "stage",
            "deadline",
            "deadline_kind",
            "due",
            "overdue",
            "closed_on",
            "outcome",
            "issue",
        )
    } == {
        # stage 1 aims for 5 working days from Monday 10 March: Monday 17 March
        "id": 2,
        "status": "open",
        "stage": "stage-1",
        "deadline": dt.datetime(2025, 3, 17),
        "deadline_kind": "aim",
        "due": None,
        "overdue": False,
        "closed_on": None,
        "outcome": None,
        "issue": None,
    }
    stages = by_header(machine(flat.STAGES, sheet_rows(wb["Stages"])))
    keep = ("concern_id", "visit", "stage", "entered_on", "left_on", "left_by", "deadline",
            "deadline_kind", "due_set_by_iro", "first_response_on", "result",
            "working_days_late")  # fmt: skip
    assert [tuple(s[k] for k in keep) for s in stages] == [
        # stage 1 aimed for 10 March (5 working days from 3 March), left on the 11th with
        # no response: its aim missed by a working day
        (
            1,
            1,
            "stage-1",
            dt.datetime(2025, 3, 3),
            dt.datetime(2025, 3, 11),
            "escalated",
            dt.datetime(2025, 3, 10),
            "aim",
            False,
            None,
            "aim-missed",
            1,
        ),
        # stage 2: the IRO's due date, the 14th; a response on the 12th
        (
            1,
            2,
            "stage-2",
            dt.datetime(2025, 3, 11),
            dt.datetime(2025, 3, 14),
            "resolved",
            dt.datetime(2025, 3, 14),
            "aim",
            True,
            dt.datetime(2025, 3, 12),
            "met",
            0,
        ),
        # the current stage, its aim (17 March) passed by 3 working days on the 20th
        (
            2,
            1,
            "stage-1",
            dt.datetime(2025, 3, 10),
            None,
            None,
            dt.datetime(2025, 3, 17),
            "aim",
            False,
            None,
            "past-aim",
            3,
        ),
    ]
    actions = by_header(machine(flat.ACTIONS, sheet_rows(wb["Actions"])))
    assert [
        (
            a["concern_id"],
            a["n"],
            a["priority"],
            a["action"],
            a["who"],
            a["due"],
            a["added_on"],
            a["done_on"],
            a["status"],
        )
        for a in actions
    ] == [
        (
            2,
            1,
            1,
            "'+Call the social worker",
            "TM",
            dt.datetime(2025, 3, 12),
            dt.datetime(2025, 3, 10),
            None,
            "overdue",
        ),
        (
            2,
            2,
            2,
            "Send the plan",
            "SW",
            dt.datetime(2025, 3, 21),
            dt.datetime(2025, 3, 10),
            dt.datetime(2025, 3, 14),
            "done",
        ),
    ]
    events = by_header(sheet_rows(wb["Events"]))
    assert [
        (e["concern_id"], e["seq"], e["kind"], e["on"], e["stage"], e["from_stage"])
        for e in events[:4]
    ] == [
        (1, 1, "opened", dt.datetime(2025, 3, 3), "stage-1", None),
        (1, 2, "escalated", dt.datetime(2025, 3, 11), "stage-2", "stage-1"),
        (1, 3, "response", dt.datetime(2025, 3, 12), "stage-2", None),
        (1, 4, "resolved", dt.datetime(2025, 3, 14), "stage-2", None),
    ]
    assert events[1]["details.due [date]"] == dt.datetime(2025, 3, 14)
    assert events[0]["details [empty]"] == "bypassed: empty list\ndue: none\nimpact: empty text\n" \
        "issue: none\nrecommended: empty text"  # fmt: skip
    assert events[2]["details.from"] == "HoS"
    assert events[5]["details.n [number]"] == 1


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark, for Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_csv_folder(drp, tmp_path):
    hand_record(drp)
    out = tmp_path / "flat"
    r = drp("export", "--format", "csv", "-o", str(out), "--on", JUDGED)
    assert (r.exit_code, r.stdout) == (0, f"Exported 2 concerns to {out}.\n"), r.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        ".drp-folder",
        "SHA256SUMS",
        "actions.csv",
        "closure_days.csv",
        "concerns.csv",
        "events.csv",
        "stages.csv",
    ]
    concerns = read_csv(out / "concerns.csv")
    assert concerns[0] == list(flat.CONCERN_COLUMNS)
    assert read_csv(out / "events.csv")[0][: len(flat.EVENT_COLUMNS)] == list(flat.EVENT_COLUMNS)
    assert read_csv(out / "stages.csv")[0] == list(flat.STAGE_COLUMNS)
    assert read_csv(out / "actions.csv")[0] == list(flat.ACTION_COLUMNS)
    assert read_csv(out / "closure_days.csv") == [["day", "reason"]]
    c2 = dict(zip(concerns[0], concerns[2], strict=True))
    assert (c2["summary"], c2["opened_on"], c2["deadline"], c2["overdue"]) == (
        "'" + FORMULA, "2025-03-10", "2025-03-17", "no",
    )  # fmt: skip
    assert [row[-3:] for row in read_csv(out / "stages.csv")[1:]] == [
        ["aim-missed", "1", JUDGED],
        ["met", "0", JUDGED],
        ["past-aim", "3", JUDGED],
    ]
    # no JSON in any cell
    for f in out.glob("*.csv"):
        assert not any(cell.lstrip().startswith(("{", "[")) for row in read_csv(f) for cell in row)
    # a second export needs --force, and replaces only drp's own folder
    again = drp("export", "--format", "csv", "-o", str(out))
    assert (again.exit_code, again.stderr) == (
        2, f"Error: {out} already exists; use --force to replace it\n",
    )  # fmt: skip
    assert drp("export", "--format", "csv", "-o", str(out), "--force").exit_code == 0
    # a file name with a suffix is the one-file export, as before
    for name in ("one.csv", "one.txt"):
        assert drp("export", "-o", str(tmp_path / name)).exit_code == 0
        assert (tmp_path / name).read_text().startswith("protocol,child,category,summary,")


def test_xlsx_needs_output_and_force_replaces_own_workbook(drp, tmp_path):
    hand_record(drp)
    r = drp("export", "--format", "xlsx")
    assert (r.exit_code, r.stderr) == (2, "Error: --format xlsx needs --output FILE\n")
    out = tmp_path / "drp.xlsx"
    assert drp("export", "--format", "xlsx", "-o", str(out)).exit_code == 0
    assert drp("export", "--format", "xlsx", "-o", str(out)).exit_code == 2
    assert drp("export", "--format", "xlsx", "-o", str(out), "--force").exit_code == 0
    other = tmp_path / "other.xlsx"
    wb = openpyxl.Workbook()
    wb.save(other)
    r = drp("export", "--format", "xlsx", "-o", str(other), "--force")
    assert r.exit_code == 2 and "drp did not write it" in r.stderr


def strip_recorded(c):
    return {
        **c,
        "events": [{k: v for k, v in e.items() if k != "recorded_at"} for e in c["events"]],
        "corrections": [
            {k: v for k, v in e.items() if k != "recorded_at"} for e in c["corrections"]
        ],
    }


def assert_same(drp, fresh: Path, ids, on=JUDGED):
    for cid in ids:
        original = drp("show", str(cid), "--json", "--on", on).json()
        copy = drp("--db", str(fresh), "show", str(cid), "--json", "--on", on).json()
        # recorded_at is kept exactly: drp records it to the second, and a workbook holds a
        # time to the millisecond
        assert copy == original


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_round_trip(drp, tmp_path, fmt):
    hand_record(drp)
    assert drp("calendar", "close", "2025-03-13", "--reason", "Office move").exit_code == 0
    out = tmp_path / ("drp.xlsx" if fmt == "xlsx" else "flat")
    assert drp("export", "--format", fmt, "-o", str(out), "--on", JUDGED).exit_code == 0
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "import", str(out))
    assert (r.exit_code, r.stdout) == (0, "Imported 2 of 2 rows.\n"), r.stderr
    assert_same(drp, fresh, (1, 2))
    copy = drp("--db", str(fresh), "show", "2", "--json").json()
    assert copy["summary"] == FORMULA  # restored, not neutralised
    assert (
        drp("--db", str(fresh), "action", "list", "2", "--json").json()
        == drp("action", "list", "2", "--json").json()
    )
    closures = drp("--db", str(fresh), "calendar", "closures", "--json").json()
    assert [(c["day"], c["reason"]) for c in closures] == [("2025-03-13", "Office move")]
    assert drp("--db", str(fresh), "verify").exit_code == 0
    # importing it again adds nothing
    assert drp("--db", str(fresh), "import", str(out)).stdout == (
        "Imported 0 of 2 rows; 2 already in the database.\n"
    )


def test_edited_events_cell_is_refused_by_row_and_column(drp, tmp_path):
    hand_record(drp)
    out = tmp_path / "flat"
    drp("export", "--format", "csv", "-o", str(out))
    rows = read_csv(out / "events.csv")
    col = rows[0].index("details.n [number]")
    rows[6][col] = "one"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    (out / "events.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "import", str(out))
    assert (r.exit_code, r.stderr) == (
        2, "Error: Events row 7, column details.n [number]: cannot be read\n",
    )  # fmt: skip


# -- details flattened and back ----------------------------------------------------------------
keys = st.text(alphabet="ab.#:[] %_é", min_size=0, max_size=4)
leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.text(alphabet="ab =+'\n é:", max_size=6)
    | st.dates(D(1990, 1, 1), D(2199, 12, 31)).map(D.isoformat)
)
details_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(keys, details_values, max_size=4))
@settings(max_examples=200, deadline=None)
def test_details_flatten_and_back(details):
    cells, empties = flat.flatten_details(details)
    # as a CSV file holds them: text, neutralised
    as_text = {h: flat._csv_value(v) for h, v in cells.items()}
    assert flat.unflatten_details(as_text, flat._csv_value("\n".join(empties))) == details
    assert not any(isinstance(v, dict | list) for v in cells.values())


# -- the round trip over random records ------------------------------------------------------
texts = st.text(alphabet="ab =+'\né", min_size=1, max_size=8).filter(lambda s: s.strip())
step = st.one_of(
    st.tuples(st.just("open"), texts),
    st.tuples(st.just("escalate"), st.integers(1, 3)),
    st.tuples(st.just("respond"), st.integers(1, 3), texts),
    st.tuples(st.just("note"), st.integers(1, 3), texts),
    st.tuples(st.just("resolve"), st.integers(1, 3), texts),
    st.tuples(st.just("action"), st.integers(1, 3), texts),
    st.tuples(st.just("done"), st.integers(1, 3), st.integers(1, 2)),
    st.tuples(st.just("retract"), st.integers(1, 3), st.integers(2, 5)),
)


@given(st.lists(st.tuples(step, st.integers(0, 3)), min_size=1, max_size=10))
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_round_trip_of_random_records(drp, steps):
    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp)
        db = ("--db", str(here / "drp.sqlite3"))
        day = D(2025, 3, 3)
        opened = 0
        for (name, *args), gap in steps:
            day += dt.timedelta(days=gap)
            on = ("--on", day.isoformat())
            if name == "open" or opened == 0:
                r = drp(*db, *open_args(child=f"KN-{opened}", summary=args[0] if name == "open"
                                        else "x", on=day.isoformat()))  # fmt: skip
                opened += r.exit_code == 0
                continue
            cid = str(min(args[0], opened))
            last = str(args[-1])
            command = {
                "escalate": ("escalate", cid, "--note", "why"),
                "respond": ("respond", cid, "--text", last, "--from", "HoS"),
                "note": ("note", cid, "--text", last),
                "resolve": ("resolve", cid, "--outcome", last),
                "action": (
                    "action",
                    "add",
                    cid,
                    "--text",
                    last,
                    "--owner",
                    "TM",
                    "--due",
                    (day + dt.timedelta(days=3)).isoformat(),
                ),
                "done": ("action", "done", cid, last),
                "retract": ("retract", cid, last, "--reason", "in error"),
            }[name]
            r = drp(*db, *command, *on)
            event(f"{name}: exit {r.exit_code}")
            assert r.exit_code in (0, 1, 2, 3), r.stderr  # refused by the rules, never a crash
        judged = (day + dt.timedelta(days=5)).isoformat()
        for fmt, target in (("xlsx", here / "drp.xlsx"), ("csv", here / "flat")):
            out = drp(*db, "export", "--format", fmt, "-o", str(target), "--on", judged)
            assert out.exit_code == 0, out.stderr
            fresh = ("--db", str(here / f"fresh-{fmt}.sqlite3"))
            r = drp(*fresh, "import", str(target))
            assert r.exit_code == 0, r.stderr
            assert r.stdout == f"Imported {opened} of {opened} rows.\n"
            for n in range(1, opened + 1):
                original = drp(*db, "show", str(n), "--json", "--on", judged).json()
                copy = drp(*fresh, "show", str(n), "--json", "--on", judged).json()
                assert copy == original
            assert drp(*fresh, "verify").exit_code == 0
