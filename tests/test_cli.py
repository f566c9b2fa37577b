"""Every command through the CLI: happy paths, JSON shapes, exact errors and exit statuses."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from tests.conftest import open_args

CONCERN_KEYS = {
    "id", "protocol", "child", "category", "status", "stage", "stage_started_on", "deadline",
    "formal_deadline", "referred_to_cafcass_on", "events",
}  # fmt: skip
EVENT_KEYS = {"kind", "on", "stage", "by", "text"}


def counts(sql):
    return (sql("select count(*) from concern")[0][0], sql("select count(*) from event")[0][0])


def test_a_whole_concern(drp):
    r = drp(*open_args(), "--impact", "Not seen alone for 9 weeks", "--json")
    assert r.exit_code == 0, r.stderr
    c = r.json()
    assert set(c) >= CONCERN_KEYS
    assert (c["id"], c["status"], c["stage"], c["stage_started_on"]) == (
        1, "open", "stage-1", "2025-03-03",
    )  # fmt: skip
    assert (c["deadline"], c["formal_deadline"], c["referred_to_cafcass_on"]) == (
        "2025-03-10", None, None,
    )  # fmt: skip
    opened = dict(c["events"][0])
    details = opened.pop("details")
    assert opened == {
        "seq": 1, "kind": "opened", "on": "2025-03-03", "stage": "stage-1", "from_stage": None,
        "by": "Test IRO", "text": "No allocated social worker since the review on 2025-02-20.",
        "recorded_at": c["events"][0]["recorded_at"], "retracted": False,
    }  # fmt: skip
    # the opening event holds the whole record as opened (more than these)
    assert details.items() >= {"bypassed": [], "due": None, "raised_by": "Test IRO",
                               "role": "iro"}.items()  # fmt: skip
    assert c["missing"] == ["child's wishes not recorded"]

    r = drp("escalate", "1", "--on", "2025-03-11", "--note", "No reply", "--json")
    c = r.json()
    assert (c["stage"], c["deadline"], c["formal_deadline"]) == (
        "stage-2", "2025-03-18", "2025-04-08",
    )  # fmt: skip
    assert c["events"][-1]["kind"] == "escalated"
    assert c["events"][-1]["from_stage"] == "stage-1"

    r = drp("respond", "1", "--from", "Head of Service", "--text", "Worker from 24 March",
            "--on", "2025-03-14", "--by", "Business Support", "--json")  # fmt: skip
    ev = r.json()["events"][-1]
    assert (ev["kind"], ev["by"], ev["stage"], ev["details"]) == (
        "response", "Business Support", "stage-2", {"from": "Head of Service"},
    )  # fmt: skip
    r = drp("note", "1", "--text", "Phoned HoS", "--on", "2025-03-14")
    assert r.exit_code == 0
    assert r.stdout.startswith("Added a note to concern 1: knowsley stage-2")

    r = drp("refer", "1", "--senior-officer", "GM Safeguarding", "--notified-on", "2025-03-17",
            "--curtailed", "Placement move in weeks", "--on", "2025-03-18", "--json")  # fmt: skip
    c = r.json()
    assert c["referred_to_cafcass_on"] == "2025-03-18"
    assert c["senior_officer_notified_on"] == "2025-03-17"
    assert c["status"] == "open"  # concurrent with the process
    r = drp("refer", "1", "--on", "2025-03-19")
    assert (r.exit_code, r.stderr) == (
        1,
        "Error: concern 1 was already referred to CAFCASS on 2025-03-18; add a note instead\n",
    )

    drp("voice", "1", "wishes-sought", "--text", "Seen alone at school", "--on", "2025-03-05")
    r = drp("resolve", "1", "--outcome", "Worker allocated", "--on", "2025-03-20", "--json")
    c = r.json()
    assert (c["status"], c["closed_on"], c["outcome"]) == (
        "resolved",
        "2025-03-20",
        "Worker allocated",
    )
    assert c["missing"] == ["child not recorded as told the outcome"]
    r = drp("voice", "1", "told-outcome", "--text", "IRO visit", "--on", "2025-03-21", "--json")
    assert r.json()["missing"] == []

    r = drp("show", "1", "--on", "2025-03-21", "--json")
    c = r.json()
    assert [e["kind"] for e in c["events"]] == [
        "opened", "wishes-sought", "escalated", "response", "note", "referred", "resolved",
        "told-outcome",
    ]  # fmt: skip
    assert all(set(e) >= EVENT_KEYS for e in c["events"])
    assert [(s["stage"], s["deadline"], s["result"]) for s in c["stages"]] == [
        # left 11 Mar, one working day after its aim, no response: Knowsley Standard 3.1 "the
        # aim is 5 working days to complete", so the aim was missed, not a limit
        ("stage-1", "2025-03-10", "aim-missed"),
        ("stage-2", "2025-03-18", "met"),  # response on 14 Mar
    ]
    assert c["formal_result"] == "met"
    r = drp("show", "1", "--on", "2025-03-21")
    assert "Concern 1: RESOLVED" in r.stdout
    # in words (issue 30 item 2): never "aim-missed (1 wd late)"
    assert "left after its aim (not a limit), 1 working day late" in " ".join(r.stdout.split())
    assert "wd late" not in r.stdout and "aim-missed" not in r.stdout


def test_withdraw_and_closed_concerns_refuse_changes(drp, sql):
    drp(*open_args())
    r = drp("withdraw", "1", "--reason", "Raised on the wrong child record", "--on", "2025-03-04")
    assert r.exit_code == 0
    before = counts(sql)
    for args, verb in [
        (("escalate", "1", "--on", "2025-03-05"), "escalate"),
        (("resolve", "1", "--outcome", "x", "--on", "2025-03-05"), "resolve"),
        (("respond", "1", "--text", "x", "--on", "2025-03-05"), "record a response on"),
        (("withdraw", "1", "--reason", "x", "--on", "2025-03-05"), "withdraw"),
    ]:
        r = drp(*args)
        assert (r.exit_code, r.stderr) == (1, f"Error: concern 1 is withdrawn; cannot {verb} it\n")
    assert counts(sql) == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (open_args(protocol="lancashire"), 2,
         "unknown protocol 'lancashire'; installed: knowsley, nottinghamshire-2016, "
         "nottinghamshire-crp, sbc-fciro, west-sussex"),
        (open_args(stage="stage-9"), 2,
         "protocol 'knowsley' has no stage 'stage-9'; stages: stage-1, stage-2, stage-3, stage-4"),
        (open_args(category="housing"), 2,
         "unknown category 'housing'; allowed: general, statutory, care-plan, service"),
        (open_args(issue="contact"), 2,
         "category 'statutory' has no issue 'contact'; allowed: no-social-worker, "
         "assessment-out-of-date, care-plan-out-of-date, safety-plan, statutory-visits, pep, "
         "health-assessment, placement-plan, not-consulted-final-plan"),
        (open_args(on="2025-02-29"), 2,
         "--on '2025-02-29' is not a real date: use DD/MM/YYYY or YYYY-MM-DD, e.g. 14/03/2025 "
         "or 2025-03-14"),
        (open_args(on="3/3/25"), 2,
         "--on '3/3/25' has a two-digit year: give the year in full (DD/MM/YYYY or YYYY-MM-DD, "
         "e.g. 14/03/2025 or 2025-03-14)"),
        (open_args(on="2999-01-01"), 2, None),
        (open_args(summary="   "), 2, "--summary must not be empty"),
        (open_args(child=""), 2, "--child must not be empty"),
        (open_args(role="cpa"), 2,
         "--role 'cpa' is not used in protocol 'knowsley'; allowed: iro, cp-chair"),
        # Knowsley's 5 days are an aim (Standard 3.1): extended only with a reason (drp due)
        (open_args(due="2025-03-20"), 2,
         "--due 2025-03-20 is later than the protocol's aim for stage 'stage-1' (5 working "
         "days: 2025-03-10); an aim may be extended with a reason (--reason)"),
        # West Sussex's are firm: "within 5 days of initiation" (§5 Stage 1)
        (open_args(due="2025-03-20", protocol="west-sussex", role="cpa", stage="stage-1",
                   reason="Immediate safety"), 2,
         "--due 2025-03-20 is later than the protocol allows for stage 'stage-1' (5 working "
         "days: 2025-03-10); a due date can only shorten a firm timescale"),
    ],
)  # fmt: skip
def test_bad_open_writes_nothing(drp, sql, args, code, message):
    drp(*open_args(child="KN-0001"))
    before = counts(sql)
    r = drp(*args)
    assert r.exit_code == code
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1
    if message is not None:
        assert r.stderr == f"Error: {message}\n"
    assert "Traceback" not in r.stderr + r.stdout
    assert counts(sql) == before


def test_escalation_rules(drp, sql):
    drp(*open_args())
    drp("escalate", "1", "--to", "stage-3", "--on", "2025-03-05")
    before = counts(sql)
    cases = [
        (("escalate", "1", "--to", "stage-2", "--on", "2025-03-06"), 1,
         "concern 1 is at 'stage-3'; 'stage-2' is an earlier stage; escalation goes forward "
         "only: stage-4"),
        (("escalate", "1", "--to", "stage-3", "--on", "2025-03-06"), 1,
         "concern 1 is at 'stage-3'; 'stage-3' is the stage it is already at; escalation goes "
         "forward only: stage-4"),
        (("escalate", "1", "--to", "stage-7", "--on", "2025-03-06"), 2,
         "protocol 'knowsley' has no stage 'stage-7'; stages: stage-1, stage-2, stage-3, "
         "stage-4"),
        (("escalate", "1", "--on", "2025-03-04"), 2,
         "--on 2025-03-04 is before the current stage began (2025-03-05)"),
        (("escalate", "42"), 3, "no concern with id 42"),
        (("show", "42"), 3, "no concern with id 42"),
        (("note", "1", "--text", "", "--on", "2025-03-06"), 2, "--text must not be empty"),
        (("respond", "1", "--text", "x", "--on", "2025-03-01"), 2,
         "--on 2025-03-01 is before the concern was opened (2025-03-03)"),
    ]  # fmt: skip
    for args, code, message in cases:
        r = drp(*args)
        assert (r.exit_code, r.stderr) == (code, f"Error: {message}\n"), args
    assert counts(sql) == before
    drp("escalate", "1", "--on", "2025-03-06")
    r = drp("escalate", "1", "--on", "2025-03-07")
    assert (r.exit_code, r.stderr) == (
        1,
        "Error: concern 1 is at 'stage-4', the last stage of 'knowsley'; resolve it, withdraw "
        "it or refer it to CAFCASS\n",
    )


def test_usage_errors_exit_2(drp):
    r = drp("escalate", "one")
    assert r.exit_code == 2
    r = drp("open", "--protocol", "knowsley")
    assert r.exit_code == 2
    r = drp("voice", "1", "shouted")
    assert r.exit_code == 2


def test_list_filters(drp):
    drp(*open_args(child="KN-1"))
    drp(*open_args(child="KN-2", protocol="west-sussex", role="cpa"))
    drp("done", "2", "pm-request", "--on", "2025-03-03")  # the Practice Manager's clock
    drp(*open_args(child="KN-3"), "--raised-by", "Jo Chair", "--role", "cp-chair")
    drp("resolve", "3", "--outcome", "done", "--on", "2025-03-04")

    def ids(*args):
        r = drp("list", "--json", "--on", "2025-03-04", *args)
        assert r.exit_code == 0, r.stderr
        return [c["id"] for c in r.json()]

    assert ids() == [1, 2]
    assert ids("--status", "all") == [1, 2, 3]
    assert ids("--status", "resolved") == [3]
    assert ids("--protocol", "west-sussex") == [2]
    assert ids("--child", "KN-1") == [1]
    assert ids("--stage", "informal") == [2]
    assert ids("--status", "all", "--raised-by", "Jo Chair") == [3]
    r = drp("list", "--status", "closed")
    assert (r.exit_code, r.stderr) == (
        2, "Error: unknown status 'closed'; allowed: open, resolved, withdrawn, all\n"
    )  # fmt: skip
    r = drp("list", "--on", "2025-03-20")
    assert "OVERDUE" in r.stdout and "wishes?" in r.stdout
    assert r.stdout.rstrip().endswith("outcome.")


def test_calendar_commands(drp):
    r = drp("calendar", "add", "2025-12-15", "10")
    assert r.stdout == "10 working days after 2025-12-15: 2025-12-31 (Wed)\n"
    r = drp("calendar", "close", "2025-12-27", "--to", "2025-12-31", "--reason", "Closure")
    assert r.stdout.startswith("Added 3 closure days: 2025-12-29, 2025-12-30, 2025-12-31.")
    r = drp("calendar", "closures", "--json")
    assert [c["day"] for c in r.json()] == ["2025-12-29", "2025-12-30", "2025-12-31"]
    assert r.json()[0]["by"] == "Test IRO"
    assert drp("calendar", "add", "2025-12-15", "10").stdout.endswith("2026-01-06 (Tue)\n")
    assert drp("calendar", "reopen", "2025-12-29").exit_code == 0
    r = drp("calendar", "reopen", "2025-12-29")
    assert (r.exit_code, r.stderr) == (3, "Error: 2025-12-29 is not a local closure day\n")
    r = drp("calendar", "close", "2025-12-25", "--to", "2025-12-26")
    assert r.exit_code == 2
    r = drp("calendar", "holidays", "2021")
    assert "2021-12-28 Tue  Boxing Day (observed)" in r.stdout


def test_database_is_owner_only(drp, db_path):
    drp(*open_args())
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600


@pytest.mark.parametrize("command", ["list", "overdue"])
def test_not_a_drp_database(drp, tmp_path, command):
    # `overdue` reads SQLite without SQLAlchemy (drp_cli.daily): it refuses the same files
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("create table spreadsheet (x)")
    other.chmod(0o644)
    r = drp("--db", str(other), command)
    assert (r.exit_code, r.stderr) == (
        4,
        f"Error: {other} can be read by other users (mode 644); it holds children's records: "
        f"run `chmod 600 {other}` and try again\n",
    )
    other.chmod(0o600)
    r = drp("--db", str(other), command)
    assert (r.exit_code, r.stderr) == (
        4,
        f"Error: {other} is a database but not a drp database\n",
    )
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not sqlite at all, not even close" * 20)
    junk.chmod(0o600)
    r = drp("--db", str(junk), command)
    assert (r.exit_code, r.stderr) == (4, f"Error: {junk} is not a drp database\n")


def test_version_and_help(drp):
    from drp_cli import __version__

    assert drp("--version").stdout == f"drp {__version__}\n"
    r = drp("--help")
    assert r.exit_code == 0 and "overdue" in r.stdout


def test_no_personal_data_in_errors(drp):
    drp(*open_args(child="SECRET-REF"))
    r = drp("resolve", "1", "--outcome", "x", "--on", "2025-03-02")
    assert r.exit_code == 2 and "SECRET-REF" not in r.stderr


def test_unexpected_error_is_one_line_unless_debug(drp, monkeypatch):
    from drp_cli.services.tracker import Tracker

    def boom(self, *args, **kwargs):
        raise RuntimeError("SECRET-CHILD-REF in a query")

    monkeypatch.setattr(Tracker, "concerns", boom)
    r = drp("list", "--json")
    assert r.exit_code == 70
    assert r.stderr == (
        "Error: internal error (RuntimeError); nothing more is shown because it may hold "
        "personal data: run again with --debug for details\n"
    )
    r = drp("--debug", "list", "--json")
    assert r.exit_code == 70
    assert "Traceback" in r.stderr and "SECRET-CHILD-REF" in r.stderr


def test_busy_database_is_reported(drp, db_path, monkeypatch):
    import drp_cli.store.connection

    drp(*open_args())
    monkeypatch.setattr(drp_cli.store.connection, "BUSY_TIMEOUT_MS", 100)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        r = drp("note", "1", "--text", "x", "--on", "2025-03-04")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert (r.exit_code, r.stderr) == (
        5, f"Error: the database {db_path} is busy (another drp is writing); try again in a "
        "moment\n",
    )  # fmt: skip
