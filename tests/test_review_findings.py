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
    assert r.stderr.startswith(
        "Error: the name given is not a step or recording duty of stage 'stage-1'"
    )


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


def test_a_firm_limit_caps_the_iros_date_however_it_came(drp, tmp_path: Path):
    """West Sussex Stage 1: 5 working days, firm (§5). Opened Mon 6 Jul 2026 -> Mon 13 Jul.
    With Wed 8 Jul a closure day the limit is Tue 14 Jul, and the IRO may set it; reopened,
    the limit is Mon 13 Jul again and the IRO's Tue 14 Jul can no longer stand."""
    drp(*open_args(protocol="west-sussex", stage="stage-1", reason="safety", on="2026-07-06"))
    assert drp("calendar", "close", "2026-07-08", "--reason", "strike").exit_code == 0
    r = drp("due", "1", "2026-07-14", "--reason", "x", "--on", "2026-07-07")
    assert r.exit_code == 0, r.stderr
    assert drp("calendar", "reopen", "2026-07-08").exit_code == 0
    d = drp("show", "1", "--json", "--on", "2026-07-14").json()
    assert (d["deadline"], d["deadline_kind"], d["overdue"]) == ("2026-07-13", "firm", True)
    r = drp("overdue", "--on", "2026-07-14", "--json")
    assert r.exit_code == 1
    assert [(i["which"], i["deadline"], i["state"]) for i in r.json()] == [
        ("stage", "2026-07-13", "overdue")]  # fmt: skip


def test_an_imported_due_date_past_the_firm_limit_is_capped(drp, tmp_path: Path, monkeypatch):
    drp(*open_args(protocol="west-sussex", stage="stage-1", reason="safety", on="2026-07-06"))
    out = tmp_path / "e.json"
    assert drp("export", "--format", "json", "-o", str(out)).exit_code == 0
    data = json.loads(out.read_text())
    rows = data["concerns"] if isinstance(data, dict) else data
    rows[0]["events"][0]["details"]["due"] = "2026-11-30"  # edited: later than the limit
    rows[0]["due"] = "2026-11-30"
    out.write_text(json.dumps(data))
    monkeypatch.setenv("DRP_DB", str(tmp_path / "other.sqlite3"))
    drp("import", str(out))
    r = drp("overdue", "--on", "2026-07-20", "--json")
    assert r.exit_code == 1  # never "Nothing overdue": the firm limit stands
    assert [(i["which"], i["deadline"], i["state"]) for i in r.json()] == [
        ("stage", "2026-07-13", "overdue")]  # fmt: skip


def test_a_senior_officer_named_without_a_date_is_named(drp, tmp_path: Path):
    drp(*open_args(protocol="knowsley", on="2026-06-01"))
    r = drp("refer", "1", "--senior-officer", "Group Manager Safeguarding", "--text",
            "why now", "--on", "2026-06-03")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    d = drp("show", "1", "--json", "--on", "2026-06-04").json()
    assert (d["senior_officer"], d["senior_officer_notified_on"]) == (
        "Group Manager Safeguarding", None)  # fmt: skip
    out = tmp_path / "b"
    drp("bundle", "1", "-o", str(out), "--on", "2026-06-04")
    index = (out / "index.md").read_text()
    assert ("| **Senior officer notified** | Group Manager Safeguarding, **date of notification "
            "NOT RECORDED** |") in index  # fmt: skip


def test_a_route_that_addresses_a_stage_to_others_is_followed_everywhere(drp):
    """Nottinghamshire 2016 §1 para 2: a concern about professionals outside children's
    social care is "raised by way of a letter" to them, with no timescale. show, the morning
    check (a stage with no deadline, 10 working days on) say whom the letter is to, never the
    IRO Alert Form's social worker and Team Manager."""
    r = drp(*open_args(protocol="nottinghamshire-2016", category="care-plan",
                       route="external-agency", on="2026-11-02"))  # fmt: skip
    assert r.exit_code == 0, r.stderr
    to = ["The professionals external to children's social care whose practice is of concern "
          "(e.g. adult services or outside organisations)"]  # fmt: skip
    d = drp("show", "1", "--json", "--on", "2026-11-03").json()
    assert (d["stage_title"], d["addressed_to"], d["deadline"]) == (
        "Letter to the external agency", to, None)  # fmt: skip
    # Mon 2 Nov + 10 working days = Mon 16 Nov: sat with no deadline, said whom it is to
    for _ in range(2):  # the second time from the addressees' cache
        r = drp("overdue", "--on", "2026-11-16", "--json")
        assert [(i["state"], i["addressed_to"]) for i in r.json()] == [("no-deadline", to)]


def test_the_tally_says_in_how_many_concerns_when_a_concern_has_two_lines():
    """The check has a line per clock: a concern with its step and its stage both overdue
    (Nottinghamshire 2016 Stage 1, say) is two lines, and the tally says so."""
    import datetime as dt

    from drp_cli.cli.dailycheck import _tally
    from drp_cli.domain.overdue import OverdueItem

    def line(cid: int, which: str, state: str) -> OverdueItem:
        return OverdueItem(cid, "C", "p", "stage-1", state, dt.date(2026, 4, 1), which,  # type: ignore[arg-type]
                           1, 0, False, "firm", None)  # fmt: skip

    found = [line(1, "stage", "overdue"), line(1, "step", "overdue"), line(2, "stage", "overdue"),
             line(3, "stage", "past-aim")]  # fmt: skip
    assert _tally(found, 0, 10) == (
        "3 overdue (in 2 concerns), 1 past an aim or the IRO Handbook's guidance.")  # fmt: skip
    assert _tally(found[2:], 0, 10) == (
        "1 overdue, 1 past an aim or the IRO Handbook's guidance.")  # fmt: skip


def test_a_closure_that_would_clear_an_overdue_deadline_is_refused(drp, tracker):
    """Issue 29 finding 4: closing days must not turn the morning check's exit 1 into 0
    unseen. West Sussex Stage 1 from Mon 30 Nov 2026: 5 working days, firm, end Mon 7 Dec;
    on today's date (the tracker's clock, fixed here to Tue 8 Dec) it is 1 working day
    overdue. Closing Tue 1 Dec would move it to Tue 8 Dec: refused, naming it, and nothing
    recorded; with --force it is recorded."""
    import datetime as dt

    from drp_cli.core.errors import InvalidInput
    from drp_cli.services.tracker import Tracker

    t = Tracker(tracker.store, clock=lambda: dt.date(2026, 12, 8))
    t.open(protocol="west-sussex", child="WS-7", category="statutory", summary="x",
           stage="stage-1", reason="safety", on=dt.date(2026, 11, 30))  # fmt: skip
    before = t.closures()
    try:
        t.add_closures(dt.date(2026, 12, 1), reason="strike")
    except InvalidInput as exc:
        assert str(exc) == (  # the CLI names the field --force
            "closure not recorded: it would clear what is overdue on 2026-12-08: concern 1 "
            "(stage deadline 2026-12-07); give force to close these days anyway"
        )
        assert "WS-7" not in str(exc)
    else:
        raise AssertionError("the closure was recorded")
    assert t.closures() == before  # nothing recorded
    assert t.get(1).deadline == dt.date(2026, 12, 7)
    # a day that clears nothing is recorded as before
    assert t.add_closures(dt.date(2026, 12, 14), reason="training") == [dt.date(2026, 12, 14)]
    # and with force, the past day too
    assert t.add_closures(dt.date(2026, 12, 1), reason="strike", force=True)
    assert t.get(1).deadline == dt.date(2026, 12, 8)


def test_an_iso_week_date_is_not_a_date(drp):
    """Issue 29 finding 25: Python reads 2025-W10-1 as Monday 3 March 2025; drp takes
    YYYY-MM-DD only, so a mistyped week date is never recorded as some other day."""
    r = drp(*open_args(on="2025-W10-1"))
    assert (r.exit_code, r.stderr) == (
        2, "Error: --on is not a real date: use DD/MM/YYYY or YYYY-MM-DD, "
        "e.g. 14/03/2025 or 2025-03-14\n")  # fmt: skip
    r = drp("overdue", "--on", "2025-062")  # an ordinal date
    assert r.exit_code == 2 and "is not a real date" in r.stderr


def test_an_over_long_search_is_a_usage_error(drp):
    """Issue 29 finding 22: 50,001 characters made SQLite fail (exit 4)."""
    drp(*open_args())
    r = drp("list", "--search", "x" * 50_001)
    assert (r.exit_code, r.stderr) == (2, "Error: --search is longer than 1000 characters\n")


def test_a_database_that_is_not_a_regular_file_is_never_chmodded(drp, db_path, monkeypatch):
    """Issue 29 finding 20: DRP_DB=/dev/null said `chmod 600 /dev/null` (as root, a broken
    system). It is not a regular file, and drp says so."""
    monkeypatch.setenv("DRP_DB", "/dev/null")
    r = drp("overdue", "--on", "2025-03-10")
    assert r.exit_code == 4
    assert r.stderr == "Error: /dev/null is not a regular file: it cannot be a database\n"


def test_an_import_date_outside_the_days_drp_handles_is_refused(drp, tmp_path: Path):
    """Issue 29 finding 12: a stage begun on 1989-12-31 crashed the import (exit 70), and an
    opening on 1899-12-31 was stored. Both are refused, naming the row and column only."""
    path = tmp_path / "old.csv"
    path.write_text(
        "protocol,child,category,summary,opened_on,stage,stage_started_on,status\n"
        "knowsley,K-1,statutory,x,1899-12-31,stage-1,1989-12-31,open\n"
    )
    r = drp("import", str(path))
    assert (r.exit_code, r.stderr) == (2, (
        "Error: 2 problems found; nothing was imported:\n"
        "  row 2, column opened_on: is outside the dates drp handles (1990-01-01 to "
        "2199-12-31)\n"
        "  row 2, column stage_started_on: is outside the dates drp handles (1990-01-01 to "
        "2199-12-31)\n"))  # fmt: skip


def test_the_empty_chains_head_is_held_by_every_chain(drp):
    """Issue 29 finding 19: `verify` prints 0:000...0 for an empty database; a head recorded
    then must hold once the record has grown (every chain begins there)."""
    empty = "0:" + "0" * 64
    drp(*open_args(on="2025-03-03"))
    r = drp("verify", "--expect", empty)
    assert r.exit_code == 0, r.stdout + r.stderr
    r = drp("verify", "--expect", "0:" + "1" * 64)
    assert r.exit_code == 6
    assert "the recorded head 0 is not the empty chain's" in r.stderr


def test_config_values_are_one_line_and_a_protocol_is_a_slug(drp):
    """Issue 29 finding 23: `config set name` stored control and bidi characters (they would
    then be written into every event as its author), and `config set protocol` anything."""
    r = drp("config", "set", "name", "Sam\u202ePatel")
    assert (r.exit_code, r.stderr) == (2, (
        "Error: the value must be one line without control, line-separator or bidi "
        "characters\n"))  # fmt: skip
    r = drp("config", "set", "protocol", "West Sussex; rm -rf")
    assert r.exit_code == 2 and "is a protocol's slug" in r.stderr
    assert drp("config", "set", "protocol", "west-sussex").exit_code == 0


def test_a_deadline_passed_over_a_holiday_is_not_due_today(drp):
    """The review's finding 10. West Sussex Stage 1 from Fri 24 Apr 2026: 5 working days end
    Fri 1 May. Judged on Mon 4 May (the Early May bank holiday) no working day has passed
    since, so it is not yet overdue, but it is not "due today" either; Tue 5 May, OVERDUE."""
    drp(*open_args(protocol="west-sussex", stage="stage-1", reason="safety", on="2026-04-24"))
    r = drp("overdue", "--on", "2026-05-04")
    assert r.exit_code == 0
    table = "\n".join(r.stdout.splitlines()[:-1])  # the lines, without the tally
    assert "due, passed on the last working day (late from the next)" in table
    assert "due today" not in table
    r = drp("overdue", "--on", "2026-05-05")
    assert (r.exit_code, "OVERDUE 1 working day" in r.stdout) == (1, True)
