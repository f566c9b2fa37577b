"""Bringing a council's spreadsheet in as it is: the workbook and its Windows CSV, a map file,
--suggest-map, blank and total rows, errors by row and column that never quote a cell, and
importing again after the sheet changed (reported; recorded with --update)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tomllib
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
XLSX = DATA / "council-log.xlsx"
CSV = DATA / "council-log.csv"
MAP = DATA / "council-log.map.toml"
ON = "2025-08-01"


def edited(tmp_path: Path, changes: dict[tuple[int, str], object]) -> Path:
    """A copy of the council workbook with cells changed: (row, header) -> value."""
    import openpyxl

    wb = openpyxl.load_workbook(XLSX)
    ws = wb["Challenge log"]
    header = [c.value for c in ws[2]]
    for (row, name), value in changes.items():
        ws.cell(row=row, column=header.index(name) + 1).value = value  # None empties it
    out = tmp_path / "council-log-edited.xlsx"
    wb.save(out)
    return out


def shown(drp, ref: str) -> dict:
    r = drp("show", ref, "--json", "--on", ON)
    assert r.exit_code == 0, r.stderr
    return r.json()


def test_the_council_workbook_comes_in_with_one_map(drp):
    r = drp("import", str(XLSX), "--map", str(MAP), "--dry-run")
    assert (r.exit_code, r.stdout) == (
        0,
        "Would import 6 of 6 rows; skipped 1 blank row and 1 total row (nothing was written).\n",
    )
    r = drp("import", str(XLSX), "--map", str(MAP))
    assert (r.exit_code, r.stdout) == (
        0,
        "Imported 6 of 6 rows; skipped 1 blank row and 1 total row.\n",
    )
    first = shown(drp, "WS-0101")
    assert (first["protocol"], first["child"], first["category"], first["stage"]) == (
        "west-sussex", "CH-1001", "care-plan", "informal",
    )  # fmt: skip
    assert (first["status"], first["closed_on"], first["outcome"]) == (
        "resolved", "2025-04-11", "Plan updated and shared",
    )  # fmt: skip
    # the IRO who raised it holds it; the columns the map does not use are a note
    assert (first["raised_by"], first["owner"]) == ("Priya Shah", "Priya Shah")
    notes = [e["text"] for e in first["events"] if e["kind"] == "note"]
    assert notes == ["From the spreadsheet:\nChild Initials: A.B.\nAllocated SW: Jo Bloggs"]
    # "Stage Two" (the map), "STAGE 3" (drp's own title, whatever its case), " informal "
    third, fifth = shown(drp, "WS-0103"), shown(drp, "WS-0105")
    assert (third["stage"], third["stage_started_on"], third["status"]) == (
        "stage-2", "2025-05-20", "open",
    )  # fmt: skip
    assert (fifth["stage"], fifth["referred_to_cafcass_on"]) == ("stage-3", "2025-07-01")
    fourth = shown(drp, "WS-0104")  # dates typed as text, dd/mm/yyyy
    assert (fourth["status"], fourth["opened_on"], fourth["closed_on"], fourth["category"]) == (
        "withdrawn", "2025-06-02", "2025-06-06", "service",
    )  # fmt: skip
    assert drp("verify").exit_code == 0


def test_the_windows_csv_is_the_same_sheet(drp):
    assert drp("import", str(CSV), "--map", str(MAP)).exit_code == 0
    # Windows-1252 read as such, not as mojibake
    assert shown(drp, "WS-0102")["summary"] == "No PEP for Zoë since March"
    # the workbook then says nothing new: the two were read alike
    r = drp("import", str(XLSX), "--map", str(MAP))
    assert r.stdout == "Imported 0 of 6 rows; 6 unchanged; skipped 1 blank row and 1 total row.\n"


@pytest.mark.parametrize(
    ("delimiter", "encoding"), [(";", "utf-8-sig"), ("\t", "utf-8"), (",", "cp1252")]
)
def test_csv_dialects_and_encodings(drp, tmp_path, delimiter, encoding):
    # the header on the first line, where a byte-order mark would stick to its first name
    text = CSV.read_bytes().decode("cp1252").split("\r\n", 1)[1].replace(",", delimiter)
    path = tmp_path / "log.csv"
    path.write_bytes(text.encode(encoding))
    r = drp("import", str(path), "--map", str(MAP), "--json")
    assert (r.json()["imported"], r.json()["blank_rows"], r.json()["total_rows"]) == (6, 1, 1)
    assert shown(drp, "WS-0102")["summary"] == "No PEP for Zoë since March"


def test_suggest_map_starts_a_map_that_imports(drp, tmp_path):
    r = drp("import", str(XLSX), "--suggest-map", "--protocol", "west-sussex")
    assert r.exit_code == 0
    assert r.stderr == "2 words and 0 required fields need a choice (marked CHOOSE).\n"
    m = tomllib.loads(r.stdout)  # a valid TOML file
    assert m["sheet"]["name"] == "Challenge log"
    assert m["columns"]["child"] == "Child ID"
    assert m["columns"]["stage"] == "Current stage"
    assert m["defaults"] == {"protocol": "west-sussex"}
    assert m["values"]["stage"]["west-sussex"] == {
        "Informal": "informal", "Stage 1": "stage-1", "STAGE 3": "stage-3", "Stage Two": "",
    }  # fmt: skip
    assert m["values"]["status"]["Ongoing"] == ""
    assert '"Ongoing" = ""  # CHOOSE: open, resolved, withdrawn' in r.stdout
    assert '#   "Child Initials"' in r.stdout  # the columns kept as notes are listed
    # nothing was written (not even a database)
    assert not Path(os.environ["DRP_DB"]).exists()
    # filled in, it imports the sheet
    text = r.stdout.replace('"Stage Two" = ""', '"Stage Two" = "stage-2"').replace(
        '"Ongoing" = ""', '"Ongoing" = "open"'
    )
    path = tmp_path / "log.map.toml"
    path.write_text(text)
    assert drp("import", str(XLSX), "--map", str(path)).exit_code == 0
    assert shown(drp, "WS-0103")["stage"] == "stage-2"


def test_without_a_map_the_sheet_says_what_is_missing(drp):
    r = drp("import", str(XLSX))
    assert r.exit_code == 2
    assert r.stderr.startswith(f"Error: {XLSX}: no column holds protocol, child, category,")
    assert "--suggest-map" in r.stderr


def test_every_problem_by_row_and_column_and_never_the_cell(drp, tmp_path):
    path = edited(tmp_path, {
        (3, "Date raised"): "31/02/2025",
        (4, "Status"): "Parked (see Zoë's file)",
        (5, "Referred to CAFCASS"): "Yes",
        (6, "Current stage"): "Stage Nine",
        (7, "Theme"): "Something else",
    })  # fmt: skip
    r = drp("import", str(path), "--map", str(MAP))
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "Error: 5 problems found; nothing was imported:",
        "  row 3, column 'Date raised' (opened_on): is not a date (expected dd/mm/yyyy, or a "
        "date cell)",
        "  row 4, column 'Status' (status): is not a status drp knows and the map does not say "
        "which it is (add it under [values.status]; allowed: open, resolved, withdrawn)",
        "  row 5, column 'Referred to CAFCASS' (referred_on): says referred but gives no date "
        "(drp needs the date of the referral)",
        "  row 6, column 'Current stage' (stage): is not a stage of west-sussex and the map does "
        "not say which it is (add it under [values.stage.west-sussex]; stages: informal, "
        "stage-1, stage-2, stage-3, stage-4, stage-5)",
        "  row 7, column 'Theme' (category): is not a category drp knows and the map does not "
        "say which it is (add it under [values.category]; allowed: care-plan, general, "
        "service, statutory)",
    ]
    for secret in ("31/02", "Parked", "Zoë", "Nine", "Something"):
        assert secret not in r.stderr
    assert not Path(os.environ["DRP_DB"]).exists()


def test_a_changed_sheet_is_reported_then_recorded_with_update(drp, tmp_path, sql):
    assert drp("import", str(XLSX), "--map", str(MAP)).exit_code == 0
    events = sql("select count(*) from event")[0][0]
    path = edited(tmp_path, {
        (4, "Current stage"): "Stage 2", (4, "Date of current stage"): dt.date(2025, 5, 6),
        (5, "Status"): "Resolved", (5, "Date resolved"): dt.date(2025, 6, 2),
        (5, "Outcome"): "Permanence plan agreed",
        (8, "Concern"): "Contact arrangements not reviewed since the move",
        (7, "Referred to CAFCASS"): dt.date(2025, 7, 3),
    })  # fmt: skip
    r = drp("import", str(path), "--map", str(MAP))
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [
        "Imported 0 of 6 rows; 2 unchanged; 3 changed in the sheet (not recorded; --update "
        "records them); 1 with differences drp does not record from a sheet; skipped 1 blank "
        "row and 1 total row.",
        "  row 4 (WS-0102, concern 2): stage: stage-1 -> stage-2 on 2025-05-06",
        "  row 5 (WS-0103, concern 3): status: open -> resolved on 2025-06-02",
        "  row 7 (WS-0105, concern 5): nothing to record",
        "    not changed: referred_on differs (a referral's date is not changed)",
        "  row 8 (WS-0106, concern 6): summary changed",
    ]
    assert sql("select count(*) from event")[0][0] == events  # nothing was written
    r = drp("import", str(path), "--map", str(MAP), "--update", "--json")
    assert (r.json()["updated"], r.json()["unchanged"], r.json()["events"]) == (3, 2, 3)
    second = shown(drp, "WS-0102")
    assert (second["stage"], second["stage_started_on"]) == ("stage-2", "2025-05-06")
    escalation = second["events"][-1]
    assert (escalation["kind"], escalation["from_stage"], escalation["by"]) == (
        "escalated", "stage-1", "Test IRO",
    )  # fmt: skip
    third = shown(drp, "WS-0103")
    assert (third["status"], third["closed_on"], third["outcome"]) == (
        "resolved", "2025-06-02", "Permanence plan agreed",
    )  # fmt: skip
    sixth = shown(drp, "WS-0106")
    assert sixth["summary"] == "Contact arrangements not reviewed since the move"
    amended = sixth["events"][-1]
    assert (amended["kind"], amended["text"]) == (
        "amended", "Changed in the spreadsheet council-log-edited.xlsx, row 8",
    )  # fmt: skip
    assert drp("verify").exit_code == 0
    # and once recorded, the sheet says nothing new
    r = drp("import", str(path), "--map", str(MAP), "--update")
    assert r.stdout.startswith("Imported 0 of 6 rows; 5 unchanged; 1 with differences")


def test_a_row_that_moves_a_concern_backwards_is_refused(drp, tmp_path, sql):
    assert drp("import", str(XLSX), "--map", str(MAP)).exit_code == 0
    events = sql("select count(*) from event")[0][0]
    path = edited(tmp_path, {
        (7, "Current stage"): "Stage 1",
        (3, "Status"): "Open", (3, "Date resolved"): None, (3, "Outcome"): None,
        (4, "Current stage"): "Stage 2", (4, "Date of current stage"): dt.date(2025, 5, 6),
    })  # fmt: skip
    r = drp("import", str(path), "--map", str(MAP), "--update")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "Error: 2 problems found; nothing was imported:",
        "  row 3, column status: the concern is resolved in drp; an import does not reopen it "
        "(`drp reopen`, with a reason, does)",
        "  row 7, column stage: would move the concern back from stage-3 to stage-1; an import "
        "never moves a concern backwards (`drp retract` undoes an escalation recorded in "
        "error)",
    ]
    assert sql("select count(*) from event")[0][0] == events
    assert shown(drp, "WS-0102")["stage"] == "stage-1"  # the good row waited too


def test_ignore_extra_and_the_sheet_by_name(drp, tmp_path):
    r = drp("import", str(XLSX), "--map", str(MAP), "--sheet", "CHALLENGE log", "--ignore-extra")
    assert r.exit_code == 0
    assert [e["kind"] for e in shown(drp, "WS-0101")["events"]] == ["imported", "resolved"]
    r = drp("import", str(XLSX), "--map", str(MAP), "--sheet", "Missing")
    assert (r.exit_code, r.stderr) == (
        2, f"Error: {XLSX} has no sheet of that name; its sheets: Challenge log, Notes\n",
    )  # fmt: skip
    r = drp("import", str(XLSX), "--map", str(MAP), "--sheet", "Notes")
    assert r.stderr == f"Error: {XLSX}: no header row found (a row with the columns' names)\n"


def test_a_bad_map_is_named_by_its_key(drp, tmp_path):
    path = tmp_path / "bad.toml"
    for text, said in (
        ('[columns]\nchild_name = "Child"\n', "columns.child_name: not a drp field"),
        ('[values.status]\n"Done" = "finished"\n',
         "values.status: 'done' maps to something that is not a status drp knows"),
        ('[defaults]\nprotocol = "lancs"\n', "defaults.protocol: not a protocol drp knows"),
        ("[sheet\n", "is not valid TOML"),
    ):  # fmt: skip
        path.write_text(text)
        r = drp("import", str(XLSX), "--map", str(path))
        assert r.exit_code == 2 and said in r.stderr, r.stderr


def test_the_data_files_are_what_the_generator_makes(tmp_path, monkeypatch):
    """tests/data is made by its script: the committed files are not hand-edited."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make", DATA / "make_council_log.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shutil.copy(DATA / "make_council_log.py", tmp_path)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    assert (tmp_path / "council-log.csv").read_bytes() == CSV.read_bytes()
