"""Corrections, handovers, the staff directory and the config file (issue 13, items 1-2):
each correction is an event the lifecycle rule folds, with who, when and why; nothing is
edited except by redaction, which leaves `drp verify` passing. Through the CLI and the
library, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from pathlib import Path

import pytest

from drp_cli.core.errors import InvalidInput, NotFound, TransitionRefused
from drp_cli.services import corrections, staff
from drp_cli.services.tracker import Tracker
from tests.conftest import PG_URL, drop_pg_database, open_args, pg_database

D = dt.date
NAME = "Jane Smith"  # a child's name typed as the reference, to be redacted


def opened(drp, **kw):
    r = drp(*open_args(**kw), "--json")
    assert r.exit_code == 0, r.stderr
    return r.json()


# -- retract ---------------------------------------------------------------------------------
def test_retracting_a_wrong_escalation_puts_the_concern_back(drp):
    opened(drp)  # Knowsley stage 1 on Mon 3 Mar 2025: aim of 5 working days, Mon 10 Mar
    assert drp("escalate", "1", "--on", "2025-03-05").exit_code == 0
    r = drp("retract", "1", "2", "--reason", "Escalated the wrong concern", "--on", "2025-03-05")
    assert (r.exit_code, r.stderr) == (0, "")
    assert r.stdout == (
        "Retracted entry 2 of concern 1: knowsley stage-1 (Stage 1: Cause for Concern / "
        "Informal Challenge); stage deadline 2025-03-10.\nNext: a response from Social worker; "
        "Team Manager by 2025-03-10 (its aim, not a limit); if it is not resolved by then, "
        "escalate to Stage 2: Dispute Resolution, addressed to The Dispute Resolution recorded "
        "on ICS (the source names no addressee) (`drp escalate 1`).\n"
    )  # no note on the child's voice after a retraction (issue 30 item 2)
    c = drp("show", "1", "--json", "--on", "2025-03-05").json()
    assert (c["stage"], c["stage_started_on"], c["deadline"]) == ("stage-1", "2025-03-03",
                                                                  "2025-03-10")  # fmt: skip
    assert (c["formal_started_on"], c["formal_deadline"]) == (None, None)
    assert [(e["seq"], e["kind"], e["retracted"]) for e in c["events"]] == [
        (1, "opened", False), (2, "escalated", True), (3, "retracted", False),
    ]  # fmt: skip
    assert [s["stage"] for s in c["stages"]] == ["stage-1"]
    assert c["corrections"] == [{
        "seq": 3, "kind": "retracted", "on": "2025-03-05", "by": "Test IRO",
        "recorded_at": c["corrections"][0]["recorded_at"], "what": "entry 2 (escalated)",
        "reason": "Escalated the wrong concern", "retracted": False,
    }]  # fmt: skip
    assert drp("verify").exit_code == 0
    # shown in the text view with the entry numbers retract takes
    text = drp("show", "1", "--on", "2025-03-05").stdout
    assert "escalated (RETRACTED)" in text
    assert "Correction 3 (2025-03-05, Test IRO): retracted entry 2 (escalated): Escalated" in text


def test_retraction_refusals(drp):
    opened(drp)
    drp("escalate", "1", "--on", "2025-03-05")
    drp("escalate", "1", "--on", "2025-03-06")
    cases = [
        (("retract", "1", "1", "--reason", "x"), 1,
         "Error: entry 1 of concern 1 (opened): withdraw the concern instead (`drp withdraw`)\n"),
        (("retract", "1", "2", "--reason", "x"), 1,
         "Error: entry 2 of concern 1 (escalated) is followed by entry 3 (escalated): retract "
         "that one first\n"),
        (("retract", "1", "9", "--reason", "x"), 3,
         "Error: concern 1 has no entry 9 (see `drp show 1`)\n"),
        (("retract", "7", "1", "--reason", "x"), 3, "Error: no concern with id 7\n"),
        (("retract", "1", "3", "--reason", " "), 2, "Error: --reason must not be empty\n"),
    ]  # fmt: skip
    for args, status, message in cases:
        r = drp(*args)
        assert (r.exit_code, r.stderr) == (status, message), args
    assert drp("retract", "1", "3", "--reason", "wrong").exit_code == 0
    r = drp("retract", "1", "3", "--reason", "again")
    assert (r.exit_code, r.stderr) == (1, "Error: entry 3 of concern 1 is already retracted\n")
    r = drp("retract", "1", "4", "--reason", "x")
    assert (r.exit_code, r.stderr) == (
        1,
        "Error: entry 4 of concern 1 (retracted): a correction cannot itself be retracted\n",
    )
    # now the first escalation is the latest that counts: it can go too
    assert drp("retract", "1", "2", "--reason", "wrong too").exit_code == 0
    assert drp("show", "1", "--json").json()["stage"] == "stage-1"
    assert drp("verify").exit_code == 0


def test_retracting_a_resolution_reopens_and_a_referral_goes(tracker):
    c = tracker.open(protocol="knowsley", child="KN-1", category="statutory", summary="x",
                     on=D(2025, 3, 3))  # fmt: skip
    tracker.refer(c.id, senior_officer="Head of Service", notified_on=D(2025, 3, 4),
                  text="why", on=D(2025, 3, 4))  # fmt: skip
    tracker.resolve(c.id, outcome="done", on=D(2025, 3, 5))
    v = corrections.retract(tracker, c.id, 3, reason="resolved in error", on=D(2025, 3, 6))
    assert (v.status, v.closed_on, v.outcome, v.referred_on) == ("open", None, None,
                                                                D(2025, 3, 4))  # fmt: skip
    v = corrections.retract(tracker, c.id, 2, reason="referral was for another child",
                            on=D(2025, 3, 6))  # fmt: skip
    assert (v.referred_on, v.senior_officer_notified_on) == (None, None)
    assert tracker.verify().ok


# -- amend -------------------------------------------------------------------------------------
def test_amend_corrects_fields_and_keeps_the_history(drp):
    opened(drp)
    r = drp("amend", "1", "--impact", "Not seen alone for 9 weeks.", "--category", "care-plan",
            "--issue", "plan-not-implemented", "--reason", "Impact left out; wrong theme",
            "--on", "2025-03-04")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Amended impact, category, issue of concern 1: knowsley stage-1")
    c = drp("show", "1", "--json").json()
    assert (c["impact"], c["category"], c["issue"]) == (
        "Not seen alone for 9 weeks.",
        "care-plan",
        "plan-not-implemented",
    )
    assert c["events"][0]["details"]["category"] == "statutory"  # what was first recorded
    assert c["corrections"][0]["what"] == "category, impact, issue"
    assert drp("verify").exit_code == 0


def test_amend_refusals(drp):
    opened(drp, issue="no-social-worker")
    cases = [
        (("amend", "1", "--reason", "x"), 2,
         "Error: nothing to amend: give a field to correct, --summary say\n"),
        (("amend", "1", "--child", "KN-2231", "--reason", "x"), 2,
         "Error: --child already has that value: nothing to amend\n"),
        (("amend", "1", "--referral-reason", "why", "--reason", "x"), 1,
         "Error: concern 1 has no CAFCASS referral: record one with `drp refer`\n"),
        (("amend", "1", "--category", "service", "--reason", "x"), 2,
         "Error: the concern's issue 'no-social-worker' is not in category 'service': give "
         "--issue too (or an empty one)\n"),
        (("amend", "1", "--role", "fciro", "--reason", "x"), 2,
         "Error: --role 'fciro' is not used in protocol 'knowsley'; allowed: iro, cp-chair\n"),
        (("amend", "1", "--summary", "x"), 2, None),  # --reason is required
    ]  # fmt: skip
    for args, status, message in cases:
        r = drp(*args)
        assert r.exit_code == status, (args, r.stderr)
        if message is not None:
            assert r.stderr == message, args
    assert len(drp("show", "1", "--json").json()["events"]) == 1  # nothing was written


def test_a_referral_reason_can_be_given_later_for_the_bundle(drp, tmp_path):
    opened(drp)
    assert drp("refer", "1", "--senior-officer", "Head of Service", "--notified-on",
               "2025-03-04", "--on", "2025-03-04").exit_code == 0  # fmt: skip
    assert drp("amend", "1", "--referral-reason", "Drift for 9 months despite 3 stages.",
               "--reason", "Reason left out at referral").exit_code == 0  # fmt: skip
    out = tmp_path / "bundle"
    r = drp("bundle", "1", "--output", str(out))
    assert r.exit_code == 0, r.stderr
    report = (out / "01-iro-report.md").read_text()
    assert "Drift for 9 months despite 3 stages." in report


# -- reopen and notes on closed concerns ----------------------------------------------------
def test_reopen_restarts_the_stage_clock(drp):
    opened(drp)
    r = drp("reopen", "1", "--reason", "x")
    assert (r.exit_code, r.stderr) == (
        1,
        "Error: concern 1 is open; only a closed one is reopened\n",
    )
    drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-05")
    assert drp("note", "1", "--text", "Worker left again", "--on", "2025-03-20").exit_code == 0
    r = drp("reopen", "1", "--reason", "Drift has returned", "--on", "2025-03-04")
    assert (r.exit_code, r.stderr) == (
        2,
        "Error: --on 2025-03-04 is before the concern was closed (2025-03-05)\n",
    )
    r = drp("reopen", "1", "--reason", "Drift has returned", "--on", "2025-03-21")
    assert r.exit_code == 0, r.stderr
    # Fri 21 Mar + 5 working days = Fri 28 Mar
    assert "stage deadline 2025-03-28." in r.stdout
    c = drp("show", "1", "--json", "--on", "2025-03-21").json()
    assert (c["status"], c["closed_on"], c["outcome"], c["stage_started_on"]) == (
        "open",
        None,
        None,
        "2025-03-21",
    )
    assert [(s["entered_on"], s["left_by"]) for s in c["stages"]] == [
        ("2025-03-03", "reopened"),
        ("2025-03-21", None),
    ]
    assert drp("verify").exit_code == 0


# -- ownership and the staff directory -------------------------------------------------------
def test_owner_defaults_to_the_opener_and_handover(drp):
    c = opened(drp)
    assert (c["owner"], c["team"]) == ("Test IRO", None)
    # an empty directory takes any name
    r = drp("assign", "1", "--to", "Priya Shah", "--reason", "Leave", "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Handed to Priya Shah: concern 1: knowsley stage-1")
    r = drp("staff", "add", "Sam Patel", "--team", "IRO South", "--role", "iro")
    assert (r.exit_code, r.stdout) == (0, "Added Sam Patel to the staff directory.\n")
    r = drp("staff", "add", "SAM  patel")
    assert (r.exit_code, r.stderr) == (2, "Error: that name is already in the staff directory\n")
    r = drp("assign", "1", "--to", "sam patell", "--reason", "Back from leave")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --to: that name is not in the staff directory (did you mean: Sam Patel?); "
        "add it with `drp staff add`\n")  # fmt: skip
    r = drp("assign", "1", "--to", "sam PATEL", "--reason", "Back from leave", "--json")
    assert r.exit_code == 0, r.stderr
    assert (r.json()["owner"], r.json()["team"]) == ("Sam Patel", "IRO South")
    r = drp("assign", "1", "--to", "Sam Patel", "--reason", "again")
    assert (r.exit_code, r.stderr) == (2, "Error: concern 1 is already owned by --to\n")
    assert [c["what"] for c in drp("show", "1", "--json").json()["corrections"]] == [
        "to Priya Shah",
        "to Sam Patel (IRO South)",
    ]
    assert drp("verify").exit_code == 0


def test_staff_directory_list(drp):
    r = drp("staff", "list")
    assert r.stdout == "The staff directory is empty: add colleagues with `drp staff add`.\n"
    drp("staff", "add", "Priya Shah", "--team", "IRO North", "--email", "p.shah@example.org")
    drp("staff", "add", "Alex Brown", "--role", "manager")
    rows = drp("staff", "list", "--json").json()
    assert [(p["name"], p["team"], p["role"], p["email"], p["added_by"]) for p in rows] == [
        ("Alex Brown", None, "manager", None, "Test IRO"),
        ("Priya Shah", "IRO North", None, "p.shah@example.org", "Test IRO"),
    ]
    r = drp("staff", "add", "X", "--email", "not an address")
    assert (r.exit_code, r.stderr) == (2, "Error: --email is not an email address\n")
    r = drp("staff", "add", "X", "--role", "boss")
    assert r.exit_code == 2


def test_open_with_owner_matches_the_directory(drp):
    drp("staff", "add", "Priya Shah", "--team", "IRO North")
    c = opened(drp, owner="PRIYA SHAH")
    assert (c["owner"], c["team"]) == ("Priya Shah", "IRO North")
    r = drp(*open_args(owner="Pria Sha"))
    assert (r.exit_code, r.stderr) == (
        2, "Error: --owner: that name is not in the staff directory (did you mean: Priya "
        "Shah?); add it with `drp staff add`\n")  # fmt: skip


# -- the config file and who records --------------------------------------------------------
def test_config_set_show_and_defaults(drp, monkeypatch, tmp_path):
    r = drp("config", "set", "protocol", "west-sussex")
    assert (r.exit_code, r.stdout) == (0, f"Set protocol in {tmp_path / 'config.toml'}.\n")
    drp("config", "set", "team", "IRO North")
    assert (tmp_path / "config.toml").stat().st_mode & 0o777 == 0o600
    shown = drp("config", "show", "--json").json()
    assert shown == {"file": str(tmp_path / "config.toml"), "name": None,
                     "protocol": "west-sussex", "role": None, "team": "IRO North",
                     "database": None, "authority": None, "no_deadline_after": None,
                     "smtp_host": None,
                     "smtp_port": None, "smtp_starttls": None, "smtp_user": None,
                     "smtp_password_file": None, "smtp_from": None,
                     "alert_cc": None, "db_key_file": None, "retention_years": None,
                     "retention_by_route": None, "retention_by_role": None}  # fmt: skip
    r = drp("open", "--child", "WS-1", "--category", "general", "--summary", "x", "--json")
    assert r.exit_code == 0, r.stderr
    assert (r.json()["protocol"], r.json()["team"]) == ("west-sussex", "IRO North")
    for args, message in [
        (("config", "set", "colour", "red"), "Error: the name 'colour' is not a setting; settings: "
         "name, protocol, role, team, database, authority, no_deadline_after, smtp_host, "
         "smtp_port, "
         "smtp_starttls, smtp_user, smtp_password_file, smtp_from, alert_cc, db_key_file, "
         "retention_years, retention_by_route, retention_by_role\n"),
        (("config", "set", "retention_years", "75 years"),
         "Error: the value for retention_years is a whole number of years, 1 to 200\n"),
        (("config", "set", "retention_by_route", "child-protection = thirty-five"),
         "Error: the value for retention_by_route is slug=YEARS pairs separated by semicolons, "
         "e.g. child-protection=35; stage-2=20 (years 1 to 200)\n"),
        (("config", "set", "no_deadline_after", "ten"),
         "Error: the value for no_deadline_after is a number of working days, 1 to 260\n"),
        (("config", "set", "name", "Administrator"),
         "Error: the value 'Administrator' is a system account, not a person's name\n"),
    ]:  # fmt: skip
        r = drp(*args)
        assert (r.exit_code, r.stderr) == (2, message), args


def test_malformed_config_is_an_error_not_a_traceback(drp, tmp_path):
    (tmp_path / "config.toml").write_text("name = \n")
    r = drp("config", "show")
    assert r.exit_code == 4
    assert r.stderr.startswith(f"Error: the config file {tmp_path / 'config.toml'} is not valid")


def test_refuses_to_record_as_a_system_account(drp, monkeypatch):
    monkeypatch.delenv("DRP_USER")
    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    r = drp(*open_args())
    assert (r.exit_code, r.stderr) == (
        2, "Error: drp will not record as the system account 'root': set your name with "
        '`drp config set name "Your Name"` (or DRP_USER, or --by)\n')  # fmt: skip
    r = drp("list", "--status", "all", "--json")  # nothing recorded
    if PG_URL:  # the test's database is made beforehand: it is empty
        assert (r.exit_code, r.json()) == (0, [])
    else:  # not even the database file is made
        assert (r.exit_code, r.stdout) == (4, "")
        assert r.stderr.startswith("Error: no drp database at "), r.stderr
    assert drp("config", "set", "name", "Sam Patel").exit_code == 0
    c = opened(drp)
    assert (c["raised_by"], c["owner"], c["events"][0]["by"]) == ("Sam Patel",) * 3
    monkeypatch.setenv("DRP_USER", "root")
    assert drp("note", "1", "--text", "x").exit_code == 2


# -- redaction ---------------------------------------------------------------------------------
def _raw_bytes(db_target: str) -> bytes:
    return b"".join(p.read_bytes() for p in Path(db_target).parent.glob(Path(db_target).name + "*"))


def test_redaction_removes_the_text_and_verify_still_passes(drp, db_target, tmp_path):
    opened(drp, child=NAME)
    drp("note", "1", "--text", f"Spoke to {NAME}'s carer", "--on", "2025-03-04")
    assert drp("amend", "1", "--child", "KN-2231", "--reason", "Name typed as the reference",
               "--on", "2025-03-04").exit_code == 0  # fmt: skip
    r = drp("redact", "1", "1", "--field", "child", "--reason", "Child's name as the reference")
    assert (r.exit_code, r.stderr) == (0, ""), r.stderr
    assert r.stdout.startswith("Redacted child of entry 1 of concern 1: knowsley stage-1")
    r = drp("redact", "1", "2", "--field", "text", "--reason", "Name in a note")
    assert r.exit_code == 0, r.stderr
    c = drp("show", "1", "--json").json()
    assert c["child"] == "KN-2231"
    assert c["events"][0]["details"]["child"] == "[redacted]"
    assert c["events"][1]["text"] == "[redacted]"
    assert [(x["kind"], x["what"], x["by"]) for x in c["corrections"]] == [
        ("amended", "child", "Test IRO"),
        ("redacted", "entry 1: child", "Test IRO"),
        ("redacted", "entry 2: text", "Test IRO"),
    ]  # fmt: skip
    assert NAME not in json.dumps(c)
    r = drp("verify")
    assert r.exit_code == 0, r.stderr
    # later exports and backups do not hold it, and a round trip verifies
    assert drp("export", "--output", str(tmp_path / "x.json")).exit_code == 0
    assert NAME.encode() not in (tmp_path / "x.json").read_bytes()
    assert drp("backup", str(tmp_path / "b.json")).exit_code == 0
    assert NAME.encode() not in (tmp_path / "b.json").read_bytes()
    if not PG_URL:  # nor does the database file, its free pages or its write-ahead log
        assert NAME.encode() not in _raw_bytes(db_target)


def test_redaction_refusals(drp):
    opened(drp)
    cases = [
        (("redact", "1", "1", "--field", "protocol", "--reason", "x"),
         "Error: --field 'protocol' of entry 1 cannot be redacted; fields with text: text, "
         "child, owner, raised_by\n"),
        (("redact", "1", "1", "--field", "child", "--reason", " "),
         "Error: --reason must not be empty\n"),
    ]  # fmt: skip
    for args, message in cases:
        r = drp(*args)
        assert (r.exit_code, r.stderr) == (2, message), args
    assert drp("redact", "1", "1", "--field", "child", "--reason", "x").exit_code == 0
    r = drp("redact", "1", "1", "--field", "child", "--reason", "x")
    assert (r.exit_code, r.stderr) == (2, "Error: --field 'child' of entry 1 is already redacted\n")
    r = drp("redact", "1", "2", "--field", "text", "--reason", "x")
    assert (r.exit_code, r.stderr) == (1, "Error: entry 2 of concern 1 is a correction\n")


def test_a_redacted_row_is_still_guarded(drp, sql):
    opened(drp)
    drp("note", "1", "--text", "A name", "--on", "2025-03-04")
    assert drp("redact", "1", "2", "--field", "text", "--reason", "x").exit_code == 0
    sql("UPDATE event SET text = 'Something else' WHERE seq = 2")
    r = drp("verify")
    assert r.exit_code == 6
    assert "event 2 (concern 1, entry 2) was altered after it was recorded" in r.stderr


def test_a_forged_redaction_is_caught(drp, sql):
    """Removing the salt and the text by hand, without a redaction in the chain, is caught."""
    opened(drp)
    drp("note", "1", "--text", "Evidence", "--on", "2025-03-04")
    sql("UPDATE event SET text = '[redacted]', salt = NULL WHERE seq = 2")
    r = drp("verify")
    assert r.exit_code == 6
    assert "event 2 (concern 1, entry 2) was altered after it was recorded" in r.stderr


def test_an_event_from_before_commitments_can_be_redacted_with_a_warning(drp, sql):
    opened(drp)
    drp("note", "1", "--text", "A name", "--on", "2025-03-04")
    # an event as drp wrote it before schema 0007: hashed over its text, no commitment
    from drp_cli.domain.chain import event_hash

    row = dict(zip(("concern_id", "seq", "kind", "effective_on", "stage", "from_stage", "by",
                    "recorded_at", "text", "details", "chain_seq", "prev_hash"),
                   sql("SELECT concern_id, seq, kind, effective_on, stage, from_stage, \"by\", "
                       "recorded_at, text, details, chain_seq, prev_hash FROM event "
                       "WHERE seq = 2")[0], strict=True))  # fmt: skip
    digest = event_hash(row, row["chain_seq"], row["prev_hash"])
    sql("UPDATE event SET salt = NULL, content = NULL, hash = :h WHERE seq = 2", h=digest)
    sql("UPDATE chain_head SET hash = :h", h=digest)
    assert drp("verify").exit_code == 0
    r = drp("redact", "1", "2", "--field", "text", "--reason", "x")
    assert r.exit_code == 0
    assert r.stderr == (
        "Warning: entry 2 was recorded before drp kept salted commitments (schema 0007): its "
        "text is gone, but the chain's hash over it could confirm a guess of it\n"
    )
    assert drp("verify").exit_code == 0


# -- the library -------------------------------------------------------------------------------
def test_library_errors_name_their_fields(tracker: Tracker):
    c = tracker.open(protocol="knowsley", child="KN-1", category="statutory", summary="x",
                     on=D(2025, 3, 3))  # fmt: skip
    with pytest.raises(InvalidInput) as e:
        corrections.amend(tracker, c.id, {"summary": " "}, reason="x")
    assert e.value.field == "summary"
    with pytest.raises(NotFound):
        corrections.retract(tracker, c.id, 5, reason="x")
    with pytest.raises(TransitionRefused):
        corrections.reopen(tracker, c.id, reason="x")
    with pytest.raises(InvalidInput) as e:
        corrections.redact(tracker, c.id, 1, [], reason="x")
    assert e.value.field == "field"
    assert staff.match(tracker, "anyone") is None  # an empty directory matches nothing


def test_the_alert_form_after_a_handover(drp):
    opened(drp)
    drp("staff", "add", "Priya Shah", "--team", "IRO North")
    drp("assign", "1", "--to", "Priya Shah", "--reason", "Leave", "--on", "2025-03-04")
    form = drp("alert", "1").stdout
    assert "| **From** | Test IRO (Independent Reviewing Officer) |\n" in form
    assert "| **Now handled by** | Priya Shah (IRO North) |\n" in form
    # Knowsley's 5 working days are to resolve ("aiming for 5 working days to resolve")
    assert "return the form to Priya Shah. Resolve by **" in form


def test_retracting_an_item_entry_takes_the_item_away(drp):
    opened(drp)
    drp("person", "add", "1", "--kind", "professional", "--name", "A. Brown", "--role", "TM",
        "--on", "2025-03-04")  # fmt: skip
    drp("wishes", "add", "1", "--how", "Seen alone", "--text", "Wants a worker who visits",
        "--on", "2025-03-04")  # fmt: skip
    assert drp("show", "1", "--json").json()["child_wishes"] == "sought"
    assert drp("retract", "1", "3", "--reason", "Wishes of another child").exit_code == 0
    assert drp("retract", "1", "2", "--reason", "Wrong professional").exit_code == 0
    c = drp("show", "1", "--json").json()
    assert (c["child_wishes"], c["missing"]) == (None, ["child's wishes not recorded"])
    assert drp("person", "list", "1", "--json").json() == []
    assert drp("wishes", "list", "1", "--json").json() == []
    r = drp("verify")
    assert r.exit_code == 0, r.stderr


# -- the review's findings ---------------------------------------------------------------------
def test_two_redacted_children_are_not_one_child(drp):
    opened(drp, child="Alice Brown")
    drp("wishes", "add", "1", "--how", "Seen alone", "--text", "Wants to stay", "--on",
        "2025-03-03")  # fmt: skip
    opened(drp, child="Bob Green")
    for cid in ("1", "2"):
        assert drp("redact", cid, "1", "--field", "child", "--reason", "Name").exit_code == 0
    assert drp("wishes", "list", "2", "--json").json() == []
    c = drp("show", "2", "--json").json()
    assert (c["child_wishes"], c["other_open_concerns"]) == (None, [])


def test_a_redacted_concern_survives_export_and_import(drp, tmp_path, monkeypatch):
    """The export holds the reference as redacted, and the import brings in the concern with
    its redaction in its history, on either engine."""
    opened(drp, child=NAME)
    assert drp("redact", "1", "1", "--field", "child", "--reason", "Name").exit_code == 0
    here = drp("show", "1", "--json").json()
    assert drp("export", "--format", "json", "-o", str(tmp_path / "x.json")).exit_code == 0
    assert NAME not in (tmp_path / "x.json").read_text()
    target = pg_database() if PG_URL else str(tmp_path / "other.sqlite3")
    try:
        monkeypatch.setenv("DRP_DB", target)
        r = drp("import", str(tmp_path / "x.json"))
        assert (r.exit_code, r.stdout) == (0, "Imported 1 of 1 rows.\n"), r.stderr
        r = drp("verify")
        assert r.exit_code == 0, r.stderr
        there = drp("show", "1", "--json").json()
    finally:
        if PG_URL:
            drop_pg_database(target)
    assert (here["child"], there["child"]) == ("[redacted]", "[redacted]")
    assert [(e["kind"], e["text"]) for e in there["events"]] == [
        (e["kind"], e["text"]) for e in here["events"]]  # fmt: skip
    assert there["events"][-1]["kind"] == "redacted"
    assert NAME not in json.dumps(there)


def test_an_import_with_a_bad_correction_is_refused(drp, tmp_path):
    opened(drp)
    drp("note", "1", "--text", "x", "--on", "2025-03-04")
    drp("retract", "1", "2", "--reason", "wrong", "--on", "2025-03-04")
    assert drp("export", "--format", "json", "-o", str(tmp_path / "x.json")).exit_code == 0
    data = json.loads((tmp_path / "x.json").read_text())
    rows = data if isinstance(data, list) else data["concerns"]
    rows[0]["events"][2]["details"]["seq"] = "abc"
    rows[0]["uid"] = "0" * 32
    (tmp_path / "y.json").write_text(json.dumps(data))
    r = drp("import", str(tmp_path / "y.json"))
    assert r.exit_code == 2
    assert "event 3: details.seq must be the number of an earlier event" in r.stderr


def test_clearing_a_redacted_rows_commitment_is_caught(drp, sql):
    opened(drp)
    drp("note", "1", "--text", "A name", "--on", "2025-03-04")
    assert drp("redact", "1", "2", "--field", "text", "--reason", "x").exit_code == 0
    sql("UPDATE event SET content = NULL WHERE seq = 2")
    assert drp("verify").exit_code == 6


@pytest.mark.parametrize("value", ["9999999999", "\u00b2", "0", "261"])
def test_no_deadline_after_is_a_working_year_at_most(drp, value):
    r = drp("config", "set", "no_deadline_after", value)
    assert (r.exit_code, r.stderr) == (
        2,
        "Error: the value for no_deadline_after is a number of working days, 1 to 260\n",
    )


@pytest.mark.parametrize("line", ["protocol = [1]", "team = 5", "no_deadline_after = 'ten'"])
def test_config_values_of_the_wrong_type(drp, tmp_path, line):
    (tmp_path / "config.toml").write_text(line + "\n")
    r = drp(*open_args())
    assert r.exit_code == 4
    assert r.stderr.startswith(f"Error: the config file {tmp_path / 'config.toml'}: ")
