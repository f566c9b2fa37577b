"""The registry of transitions end to end: the commands and the import refuse the same
histories (an escalation backwards, a concern resolved twice), a valid export still round
trips, and a duty of an earlier stage can be recorded done after an escalation (issue 27)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from drp_cli.exchange import transfer
from tests.conftest import open_args

CHILD = "KN-2231"  # the child's reference open_args gives: never in a message


def counts(sql: Any) -> tuple[int, int]:
    target = os.environ["DRP_DB"]
    if "://" not in target and not os.path.exists(target):
        return (0, 0)
    return (sql("select count(*) from concern")[0][0], sql("select count(*) from event")[0][0])


def exported(drp: Any, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "export.json"
    r = drp("export", "--format", "json", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def write(tmp_path: Path, data: dict[str, Any], name: str = "edited.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def event(kind: str, on: str, stage: str, text: str = "", **details: Any) -> dict[str, Any]:
    return {"kind": kind, "on": on, "stage": stage, "from_stage": None, "by": "Test IRO",
            "recorded_at": None, "text": text, "details": details}  # fmt: skip


def backwards(drp: Any, tmp_path: Path) -> Path:
    """An export of a concern at Stage 2, edited to escalate back to Stage 1 (the row's own
    columns edited to agree with its events, so only the transition is wrong)."""
    drp(*open_args())
    assert drp("escalate", "1", "--on", "2025-03-11").exit_code == 0
    data = exported(drp, tmp_path)
    row = data["concerns"][0]
    row["events"].append({**event("escalated", "2025-03-12", "stage-1", due=None, bypassed=[]),
                          "from_stage": "stage-2"})  # fmt: skip
    row.update(stage="stage-1", stage_started_on="2025-03-12", formal_started_on="2025-03-11")
    # another concern's (its uid new): it would be added beside the one exported
    row["uid"] = row["events"][0]["details"]["uid"] = uuid.uuid4().hex
    return write(tmp_path, data)


BACKWARDS = (
    "Error: 1 problem found; nothing was imported:\n"
    "  item 1, column events: event 3: the concern is at 'stage-2'; 'stage-1' is an earlier "
    "stage; escalation goes forward only: stage-3, stage-4\n"
)


def test_an_export_edited_to_escalate_backwards_is_refused_and_nothing_written(drp, sql, tmp_path):
    path = backwards(drp, tmp_path)
    # into the database it came from, where it would be a second concern: nothing written
    before = counts(sql)
    r = drp("import", str(path))
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", BACKWARDS)
    assert CHILD not in r.stderr
    assert counts(sql) == before == (1, 2)
    # a dry run says the same
    r = drp("import", str(path), "--dry-run")
    assert (r.exit_code, r.stderr) == (2, BACKWARDS)


@pytest.mark.parametrize("shared", [False, True])
def test_into_no_database_refused_too_by_one_process_or_two(drp, tmp_path, monkeypatch,
                                                             shared):  # fmt: skip
    path = backwards(drp, tmp_path)
    if shared:  # the helper processes check (and write) the rows themselves
        monkeypatch.setattr(transfer, "WORKERS", 2)
        monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
        monkeypatch.setattr(transfer, "CHUNK", 3)
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "import", str(path))
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", BACKWARDS)
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_concern_resolved_twice_is_refused_unless_reopened_between(drp, sql, tmp_path):
    drp(*open_args())
    assert drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-05").exit_code == 0
    r = drp("resolve", "1", "--outcome", "Again", "--on", "2025-03-06")
    assert (r.exit_code, r.stderr) == (1, "Error: concern 1 is resolved; cannot resolve it\n")
    data = exported(drp, tmp_path)
    row = data["concerns"][0]
    row["events"].append(event("resolved", "2025-03-06", "stage-1", "Allocated"))
    row.update(closed_on="2025-03-06")
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "import", str(write(tmp_path, data)))
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", (
        "Error: 1 problem found; nothing was imported:\n"
        "  item 1, column events: event 3: the concern is resolved; cannot resolve it\n"
    ))  # fmt: skip
    assert not fresh.exists()
    # with a reopening between, the same history imports
    row["events"][2:2] = [event("reopened", "2025-03-06", "stage-1", "New information")]
    row.update(stage_started_on="2025-03-06")  # a reopening starts the stage's clock again
    r = drp("--db", str(fresh), "import", str(write(tmp_path, data, "reopened.json")))
    assert (r.exit_code, r.stdout) == (0, "Imported 1 of 1 rows.\n"), r.stderr
    c = drp("--db", str(fresh), "show", "1", "--json").json()
    assert [e["kind"] for e in c["events"]] == ["opened", "resolved", "reopened", "resolved"]
    assert drp("--db", str(fresh), "verify").exit_code == 0


def test_a_history_the_commands_wrote_round_trips(drp, tmp_path):
    """Corrections, a retracted escalation and what was recorded while it counted, a duty of
    Stage 1 done at Stage 2, a reopening: all as the commands allowed them, all imported."""
    drp(*open_args())
    steps = [
        ("escalate", "1", "--to", "stage-3", "--on", "2025-03-05"),
        ("respond", "1", "--text", "Looking into it", "--on", "2025-03-06"),
        ("retract", "1", "2", "--reason", "Escalated by mistake", "--on", "2025-03-07"),
        ("escalate", "1", "--on", "2025-03-10"),
        ("done", "1", "child-file", "--on", "2025-03-11"),
        ("done", "1", "ics-record", "--on", "2025-03-11"),
        ("done", "1", "ics-record", "--stage", "stage-1", "--on", "2025-03-11"),
        ("refer", "1", "--on", "2025-03-12"),
        ("cafcass", "1", "helpline", "--on", "2025-03-12"),
        ("action", "add", "1", "--text", "Allocate", "--owner", "TM", "--on", "2025-03-10"),
        ("action", "done", "1", "1", "--on", "2025-03-11"),
        ("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-13"),
        ("reopen", "1", "--reason", "Worker left", "--on", "2025-03-14"),
        ("amend", "1", "--summary", "No social worker again", "--reason", "Typo",
         "--on", "2025-03-14"),
        ("withdraw", "1", "--reason", "Moved authority", "--on", "2025-03-17"),
    ]  # fmt: skip
    for args in steps:
        r = drp(*args)
        assert r.exit_code == 0, (args, r.stderr)
    data = exported(drp, tmp_path)
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "import", str(write(tmp_path, data, "export.json")))
    assert (r.exit_code, r.stdout) == (0, "Imported 1 of 1 rows.\n"), r.stderr

    def strip(c: dict[str, Any]) -> dict[str, Any]:
        return {**c, "events": [{k: v for k, v in e.items() if k != "recorded_at"}
                                for e in c["events"]]}  # fmt: skip

    original = drp("show", "1", "--json", "--on", "2025-03-20").json()
    copy = drp("--db", str(fresh), "show", "1", "--json", "--on", "2025-03-20").json()
    assert strip(copy) == strip(original)
    assert [(d["stage"], d["slug"], d["done_on"]) for d in copy["duties"]
            if d["slug"] != "case-record"] == [
        ("stage-1", "child-file", "2025-03-11"), ("stage-1", "ics-record", "2025-03-11"),
        ("stage-2", "ics-record", "2025-03-11")]  # fmt: skip
    assert drp("--db", str(fresh), "verify").exit_code == 0


def test_a_duty_of_an_earlier_stage_is_done_after_escalation(drp):
    drp(*open_args())
    assert drp("escalate", "1", "--on", "2025-03-11").exit_code == 0

    def child_file_line() -> str:
        out = drp("show", "1", "--on", "2025-03-12").stdout
        # the duty in words (issue 30 item 2), with the command that records it
        (line,) = [ln for ln in out.splitlines() if "informal challenge discussion" in ln]
        return line

    assert "OUTSTANDING" in child_file_line()
    assert "(drp done 1 child-file --stage stage-1)" in child_file_line()
    r = drp("done", "1", "child-file", "--on", "2025-03-12")
    assert r.exit_code == 0, r.stderr
    assert "OUTSTANDING" not in child_file_line() and "2025-03-12" in child_file_line()
    c = drp("show", "1", "--json", "--on", "2025-03-12").json()
    assert (c["events"][-1]["kind"], c["events"][-1]["stage"]) == ("done", "stage-1")
    assert [(d["stage"], d["done_on"]) for d in c["duties"] if d["slug"] == "child-file"] == [
        ("stage-1", "2025-03-12")]  # fmt: skip
    assert c["stage"] == "stage-2"  # the concern stays where it is
    # done once only; a slug of no stage visited is still refused
    r = drp("done", "1", "child-file", "--on", "2025-03-13")
    assert (r.exit_code, r.stderr) == (
        1,
        "Error: 'child-file' was already recorded as done at stage 'stage-1' on 2025-03-12\n",
    )
    r = drp("done", "1", "lunch", "--on", "2025-03-13")
    assert (r.exit_code, r.stderr) == (2, (
        "Error: the name given is not a step or recording duty of stage 'stage-2'; allowed: "
        "dr-meeting, case-record, ics-record\n"))  # fmt: skip
    # on a day before the escalation, Stage 1's duties are the stage's own, as before
    r = drp("done", "1", "ics-record", "--on", "2025-03-10")
    assert r.exit_code == 0, r.stderr
    assert drp("show", "1", "--json").json()["events"][-1]["stage"] == "stage-1"
    assert drp("verify").exit_code == 0
