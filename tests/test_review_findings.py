"""A hostile review of the one judgement found these; each failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import open_args


def test_retracting_a_resolution_a_reopening_follows_is_refused(drp):
    """Resolved, reopened, then the resolution retracted: the reopening would apply to a
    concern never closed (the commands refuse that), so the retraction waits for it."""
    drp(*open_args(protocol="west-sussex", stage="stage-1", reason="safety", on="2026-06-01"))
    assert drp("resolve", "1", "--outcome", "x", "--on", "2026-06-02").exit_code == 0
    assert drp("reopen", "1", "--reason", "y", "--on", "2026-06-03").exit_code == 0
    r = drp("retract", "1", "2", "--reason", "resolved in error", "--on", "2026-06-04")
    assert (r.exit_code, r.stderr) == (
        1, "Error: entry 2 of concern 1 (resolved) is followed by entry 3 (reopened): retract "
        "that one first\n")  # fmt: skip
    # in that order it is allowed, and the firm deadline is the stage's own again: Mon 1 Jun
    # + 5 working days = Mon 8 Jun, overdue on Tue 9 Jun
    assert drp("retract", "1", "3", "--reason", "x", "--on", "2026-06-04").exit_code == 0
    assert drp("retract", "1", "2", "--reason", "x", "--on", "2026-06-04").exit_code == 0
    r = drp("overdue", "--on", "2026-06-09", "--json")
    assert r.exit_code == 1
    assert [(i["which"], i["deadline"], i["state"]) for i in r.json()] == [
        ("stage", "2026-06-08", "overdue")]  # fmt: skip


def test_a_duty_done_again_is_refused_not_moved_to_an_earlier_stage(drp):
    """West Sussex: mosaic-formal is a duty of Stage 1 and of Stage 4. Done at Stage 4, done
    again at Stage 4: refused, naming the stage; Stage 1's is recorded only when named."""
    drp(*open_args(protocol="west-sussex", on="2026-03-30"))
    drp("escalate", "1", "--on", "2026-04-09")
    drp("escalate", "1", "--to", "stage-4", "--on", "2026-04-30")
    r = drp("done", "1", "mosaic-formal", "--on", "2026-05-01")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Recorded mosaic-formal at stage-4 as done on concern 1")
    r = drp("done", "1", "mosaic-formal", "--on", "2026-05-01")
    assert (r.exit_code, r.stderr) == (
        1, "Error: 'mosaic-formal' was already recorded as done at stage 'stage-4' on "
        "2026-05-01\n")  # fmt: skip
    r = drp("done", "1", "mosaic-formal", "--stage", "stage-1", "--on", "2026-05-01")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Recorded mosaic-formal at stage-1 as done on concern 1")
    d = drp("show", "1", "--json", "--on", "2026-05-01").json()
    assert [(x["stage"], x["done_on"]) for x in d["duties"] if x["slug"] == "mosaic-formal"] == [
        ("stage-1", "2026-05-01"), ("stage-4", "2026-05-01")]  # fmt: skip


def test_an_unknown_step_is_refused_without_quoting_it(drp):
    drp(*open_args(on="2026-03-02"))
    r = drp("done", "1", "Jay Smith lives at 4 Elm Road", "--on", "2026-03-03")
    assert r.exit_code == 2
    assert "Jay" not in r.stderr and "Elm" not in r.stderr
    assert r.stderr.startswith("Error: WHAT is not a step or recording duty of stage 'stage-1'")


def test_an_export_with_a_due_date_ahead_imports_back(drp, tmp_path: Path, monkeypatch):
    """A due date is a deadline: ahead of today is what it usually is."""
    import datetime as dt

    today = dt.date.today()
    opened = today - dt.timedelta(days=1)
    due = today + dt.timedelta(days=1)
    r = drp(*open_args(protocol="west-sussex", stage="stage-1", reason="safety",
                       due=due.isoformat(), on=opened.isoformat()))  # fmt: skip
    assert r.exit_code == 0, r.stderr
    out = tmp_path / "e.json"
    assert drp("export", "--format", "json", "-o", str(out)).exit_code == 0
    exported = json.loads(out.read_text())
    rows = exported["concerns"] if isinstance(exported, dict) else exported
    assert rows[0]["due"] == due.isoformat()
    monkeypatch.setenv("DRP_DB", str(tmp_path / "other.sqlite3"))
    r = drp("import", str(out))
    assert (r.exit_code, r.stdout.splitlines()[-1]) == (0, "Imported 1 of 1 rows."), r.stderr
    assert drp("show", "1", "--json").json()["deadline"] == due.isoformat()
