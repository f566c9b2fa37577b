"""`drp import` and `drp export`: validation, all-or-nothing, idempotence, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import open_args

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tracker.csv"
HEADER = "protocol,child,category,summary,opened_on,stage,stage_started_on,status,closed_on,outcome"


def counts(sql):
    import os

    target = os.environ["DRP_DB"]
    if "://" not in target and not os.path.exists(target):
        return (0, 0)  # nothing was ever written: the database was not even created
    return (sql("select count(*) from concern")[0][0], sql("select count(*) from event")[0][0])


def test_example_file_imports_once(drp, sql):
    r = drp("import", str(EXAMPLE), "--dry-run")
    assert (r.exit_code, r.stdout) == (0, "Would import 3 of 3 rows (nothing was written).\n")
    assert counts(sql) == (0, 0)
    r = drp("import", str(EXAMPLE))
    assert (r.exit_code, r.stdout) == (0, "Imported 3 of 3 rows.\n")
    r = drp("import", str(EXAMPLE), "--json")
    assert r.json() == {"rows": 3, "imported": 0, "skipped": 3, "events": 0, "dry_run": False,
                        "unchanged": 3, "updated": 0, "changed": [], "blank_rows": 0,
                        "total_rows": 0, "stale_removed": 0, "formal_inferred": 0}  # fmt: skip
    assert counts(sql) == (3, 5)
    c = drp("show", "3", "--json", "--on", "2025-03-21").json()
    assert (c["external_ref"], c["stage"], c["deadline"], c["formal_deadline"]) == (
        "IRO-2024-0150", "stage-3", "2025-03-26", "2025-04-16",
    )  # fmt: skip
    assert c["referred_to_cafcass_on"] == "2025-03-20"
    assert [e["kind"] for e in c["events"]] == ["imported", "referred"]
    resolved = drp("show", "1", "--json").json()
    assert (resolved["status"], resolved["closed_on"]) == ("resolved", "2025-02-14")
    assert drp("verify").exit_code == 0
    # imported concerns carry on like any other
    assert drp("escalate", "2", "--on", "2025-03-12").exit_code == 0


def test_bad_rows_are_all_listed_and_nothing_is_written(drp, sql, tmp_path):
    drp(*open_args())
    before = counts(sql)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "\n"
        "knowsley,K-1,statutory,ok,2025-03-03,stage-1,2025-03-03,open,,\n"
        "knowsley,K-2,housing,x,2025-03-03,stage-9,2025-02-30,open,,\n"
        "lancs,K-3,general,,2025-03-03,stage-1,2025-03-03,resolved,,\n"
        "knowsley,K-4,general,x,2025-03-05,stage-1,2025-03-04,closed,,\n"
    )
    r = drp("import", str(bad))
    assert r.exit_code == 2
    assert r.stderr == (
        "Error: 9 problems found; nothing was imported:\n"
        "  row 3, column stage_started_on: is not a date drp takes (DD/MM/YYYY or "
        "YYYY-MM-DD, from 1990-01-01 to 2199-12-31)\n"
        "  row 3, column stage: is not a stage of protocol knowsley (stages: stage-1, "
        "stage-2, stage-3, stage-4)\n"
        "  row 3, column category: is not a category (allowed: general, statutory, "
        "care-plan, service)\n"
        "  row 4, column summary: is empty\n"
        "  row 4, column protocol: is not an installed protocol (installed: knowsley, "
        "nottinghamshire-2016, nottinghamshire-crp, sbc-fciro, west-sussex)\n"
        "  row 4, column closed_on: a resolved concern needs the date it was resolved\n"
        "  row 4, column outcome: a resolved concern needs its outcome\n"
        "  row 5, column status: is not a status (allowed: open, resolved, withdrawn)\n"
        "  row 5, column stage_started_on: is before opened_on\n"
    )
    assert counts(sql) == before


def test_file_level_errors(drp, tmp_path):
    missing = tmp_path / "m.csv"
    missing.write_text("protocol,child\nknowsley,K\n")
    r = drp("import", str(missing))
    assert r.stderr == (
        f"Error: {missing}: no column holds category, summary, opened_on, stage, "
        "stage_started_on; write a map that says which do (`drp import m.csv --suggest-map` "
        "starts one)\n"
    )
    extra = tmp_path / "e.csv"
    extra.write_text(HEADER + ",colour\n")
    assert "unknown column 'colour'" in drp("import", str(extra)).stderr
    dupes = tmp_path / "d.csv"
    row = "knowsley,K-1,statutory,same,2025-03-03,stage-1,2025-03-03,open,,\n"
    dupes.write_text(HEADER + "\n" + row + row)
    r = drp("import", str(dupes))
    assert (r.exit_code, r.stderr) == (
        2,
        "Error: 1 problem found; nothing was imported:\n"
        "  row 3, column external_ref: the same reference is on row 2\n",
    )
    assert drp("import", str(tmp_path / "nope.csv")).exit_code == 2


def test_json_import(drp, tmp_path):
    rows = [
        {"protocol": "sbc-fciro", "child": "SB-1", "category": "service", "summary": "Review late",
         "opened_on": "2025-03-03", "stage": "level-2", "stage_started_on": "2025-03-10",
         "status": "open", "formal_started_on": "2025-03-05", "role": "fciro"},
    ]  # fmt: skip
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    r = drp("import", str(path))
    assert r.exit_code == 0, r.stderr
    c = drp("show", "1", "--json").json()
    # level-2 from Mon 10 Mar: 5 working days -> Mon 17 Mar; SBC sets no overall limit and
    # the IRO Handbook does not reach reviews of foster carers: no formal deadline, though
    # the formal start the spreadsheet gave is kept
    assert (c["deadline"], c["formal_started_on"], c["formal_deadline"]) == (
        "2025-03-17", "2025-03-05", None)  # fmt: skip


def test_bad_events_are_named_not_a_crash(drp, sql, tmp_path):
    base = {"protocol": "knowsley", "child": "K-1", "category": "statutory", "summary": "x",
            "opened_on": "2025-03-03", "stage": "stage-1", "stage_started_on": "2025-03-03",
            "status": "open"}  # fmt: skip
    rows = [
        {**base, "external_ref": "a", "events": [{"kind": "opened", "on": "3 March 2025"}]},
        {**base, "external_ref": "b", "events": [{"kind": "opened", "on": "2025-03-03"},
                                                 {"kind": "note", "on": "2099-01-01"}]},
        {**base, "external_ref": "c", "events": [{"kind": "opened", "on": "2025-03-01"}]},
        {**base, "external_ref": "d", "events": [{"kind": "escalated", "on": "2025-03-04",
                                                  "stage": "stage-9"}]},
        {**base, "external_ref": "e", "events": [{"kind": " ", "on": "2025-03-04"}]},
    ]  # fmt: skip
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    r = drp("import", str(path))
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == (
        "Error: 5 problems found; nothing was imported:\n"
        "  item 1, column events: event 1: 'on' must be a date (YYYY-MM-DD)\n"
        "  item 2, column events: event 2: 'on' is in the future\n"
        "  item 3, column events: event 1: 'on' is before opened_on\n"
        "  item 4, column events: event 1: the first event must be 'opened' or 'imported'\n"
        "  item 5, column events: event 1: 'kind' is not an event kind drp records\n"
    )
    assert counts(sql) == (0, 0)


def rich_record(drp):
    drp(*open_args())
    drp("voice", "1", "wishes-sought", "--text", "Seen alone", "--on", "2025-03-03")
    drp("action", "add", "1", "--text", "Allocate", "--owner", "TM", "--due", "2025-03-07",
        "--on", "2025-03-03")  # fmt: skip
    drp("action", "done", "1", "1", "--on", "2025-03-06")
    drp("person", "add", "1", "--kind", "professional", "--name", "Tom", "--role", "SW",
        "--on", "2025-03-03")  # fmt: skip
    drp("escalate", "1", "--on", "2025-03-11", "--note", "No reply", "--due", "2025-03-14")
    drp("respond", "1", "--text", "Allocated from Monday", "--from", "HoS", "--on", "2025-03-12")
    drp(*open_args(child="WS-2", protocol="west-sussex", role="cpa", stage="stage-1"))
    drp("refer", "2", "--senior-officer", "GM", "--notified-on", "2025-03-04", "--text", "why",
        "--on", "2025-03-05")  # fmt: skip
    drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-14")
    drp("voice", "1", "told-outcome", "--text", "Phoned", "--on", "2025-03-14")
    # a local closure day inside stage-1 of concern 2: its deadline moves by a day
    assert drp("calendar", "close", "2025-03-06", "--reason", "Office move").exit_code == 0


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_import_round_trip(drp, tmp_path, fmt):
    rich_record(drp)
    out = tmp_path / f"export.{fmt}"
    r = drp("export", "--format", fmt, "-o", str(out))
    assert r.stdout == f"Exported 2 concerns to {out}.\n"
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "import", str(out))
    assert (r.exit_code, r.stdout) == (0, "Imported 2 of 2 rows.\n"), r.stderr

    def strip(c):
        # who imported each event, and when, is provenance of the copy alone
        return {**c, "events": [{k: v for k, v in e.items() if k != "recorded_at"}
                                for e in c["events"]]}  # fmt: skip

    for cid in ("1", "2"):
        original = drp("show", cid, "--json", "--on", "2025-03-20").json()
        copy = drp("--db", str(fresh), "show", cid, "--json", "--on", "2025-03-20").json()
        assert strip(copy) == strip(original)
        assert [e["recorded_at"] for e in copy["events"]] == [
            e["recorded_at"] for e in original["events"]
        ]
        assert (
            drp("--db", str(fresh), "action", "list", cid, "--json").json()
            == drp("action", "list", cid, "--json").json()
        )
    assert drp("--db", str(fresh), "verify").exit_code == 0
    # and the copy exports the same file again
    again = tmp_path / f"again.{fmt}"
    drp("--db", str(fresh), "export", "--format", fmt, "-o", str(again))
    assert drp("--db", str(fresh), "import", str(again)).stdout == (
        "Imported 0 of 2 rows; 2 already in the database.\n"
    )

    # the local closure day came along: concern 2's deadline is the same in both
    def days(*db):
        return [(c["day"], c["reason"]) for c in drp(*db, "calendar", "closures", "--json").json()]

    assert days("--db", str(fresh)) == days() == [("2025-03-06", "Office move")]
    # importing your own export into the same database adds nothing
    assert drp("import", str(out)).stdout == "Imported 0 of 2 rows; 2 already in the database.\n"
    assert drp("verify").exit_code == 0
