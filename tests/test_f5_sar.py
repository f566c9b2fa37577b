"""Subject access requests after the hostile sweep (issue 31 items 3 and 4; the defects of
tests/test_sw2_sweep.py): a request not yet answered holds its child's concerns from a purge,
the team's and the owner's morning checks see the requests about their children, stored
values drp never writes are a damaged database (exit 4), never a crash.

Dates: today is held at Mon 7 Dec 2026; a request received Fri 30 Oct 2026 is due Mon 30 Nov
2026: OVERDUE 7 days."""

from __future__ import annotations

import datetime as dt

import pytest

from drp_cli.core.dates import LAST_DAY
from drp_cli.domain.subject_access import DueDateOutOfRange, bank_holiday_calendar, due_date
from drp_cli.services.tracker import Tracker
from tests.conftest import open_args

TODAY = dt.date(2026, 12, 7)
ON = ("--on", "2026-12-07")


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(Tracker, "today", lambda self: TODAY)


def damaged(column: str) -> str:
    return (f"Error: the database is damaged (subject access request 1: its stored "
            f"subject_access_request.{column} is not a value drp writes): nothing read from it "
            "can be trusted; run `drp verify`, and restore the latest good backup (`drp "
            "restore`)\n")  # fmt: skip


def opened(drp, child: str, on: str = "2026-12-01", *more: str) -> None:
    r = drp(*open_args(child=child, on=on), *more)
    assert r.exit_code == 0, r.stderr


def received(drp, child: str, day: str = "2026-10-30", *by: str) -> None:
    r = drp("subject-access", child, "--received", day, *by)
    assert r.exit_code == 0, r.stderr


# -- item 8: a request not yet answered holds its child's concerns -------------------------
@pytest.fixture
def closed(drp):
    """Concerns 1 and 2 about P-1 and 3 about P-2, closed January 2025; retention 1 year."""
    for child in ("P-1", "P-1", "P-2"):
        opened(drp, child, "2025-01-06")
    for cid in ("1", "2", "3"):
        r = drp("resolve", cid, "--outcome", "Agreed", "--on", "2025-01-10")
        assert r.exit_code == 0, r.stderr
    assert drp("config", "set", "retention_years", "1").exit_code == 0


def test_retention_lists_a_childs_concerns_as_held_while_a_request_is_open(drp, closed):
    received(drp, "P-1", "2026-10-30")
    r = drp("retention", *ON)
    assert r.exit_code == 0, r.stderr
    first = "1 concern past the retention period on 2026-12-07 and not held:"
    assert r.stdout.splitlines()[0] == first
    assert r.stdout.splitlines()[-1] == (
        "Kept for a subject access request not yet answered though past their period: 1, 2"
    )
    assert [d["id"] for d in drp("retention", "--json", *ON).json()] == [3]


def test_purge_leaves_the_concerns_of_a_request_not_yet_answered(drp, closed, sql):
    received(drp, "P-1", "2026-10-30")
    r = drp("purge", "--on", "2026-12-07", "--yes")
    assert r.exit_code == 0, r.stderr
    assert sql("SELECT id FROM concern ORDER BY id") == [(1,), (2,)]
    assert [q["id"] for q in drp("subject-access", "--due", "--json", *ON).json()] == [1]
    r = drp("purge", "1", "--on", "2026-12-07", "--yes")
    assert (r.exit_code, r.stderr) == (1, (
        "Error: concern 1 is held: a subject access request about its child is not yet "
        "answered; it is not purged until the request is marked sent (`drp subject-access "
        "CHILD --sent DATE`)\n"))  # fmt: skip
    assert sql("SELECT count(*) FROM concern") == [(2,)]
    assert drp("verify").exit_code == 0
    # answered: the hold goes with it, and the purge takes the child's concerns and request
    assert drp("subject-access", "P-1", "--sent", "2026-12-04").exit_code == 0
    r = drp("purge", "--on", "2026-12-07", "--yes")
    assert r.exit_code == 0, r.stderr
    assert sql("SELECT count(*) FROM concern") == [(0,)]
    assert sql("SELECT count(*) FROM subject_access_request") == [(0,)]
    assert drp("verify").exit_code == 0


def test_a_legal_hold_lifted_does_not_lift_a_requests_hold(drp, closed, sql):
    assert drp("hold", "1", "--reason", "Inquiry", "--on", "2026-11-01").exit_code == 0
    received(drp, "P-1", "2026-11-02")
    assert drp("unhold", "1", "--reason", "Inquiry over", "--on", "2026-12-01").exit_code == 0
    assert drp("purge", "--on", "2026-12-07", "--yes").exit_code == 0
    assert sql("SELECT id FROM concern ORDER BY id") == [(1,), (2,)]
    r = drp("retention", *ON)
    assert r.stdout.splitlines()[-1] == (
        "Kept for a subject access request not yet answered though past their period: 1, 2"
    )


# -- item 1: the team's and the owner's morning checks -------------------------------------
def test_team_check_counts_a_request_about_a_child_in_the_team(drp):
    opened(drp, "T-1", "2026-12-01", "--team", "Blue")
    opened(drp, "T-2", "2026-12-01", "--team", "Red")
    received(drp, "T-1", "2026-10-30", "--by", "Someone Else")
    received(drp, "T-2", "2026-10-30", "--by", "Someone Else")
    r = drp("overdue", "--team", "blue", *ON)
    assert r.exit_code == 1, r.stderr
    assert "Request 1 about T-1" in r.stdout
    assert "T-2" not in r.stdout
    r = drp("overdue", "--team", "Green", *ON)
    assert "Request" not in r.stdout


def test_team_check_counts_a_request_recorded_by_a_team_member_in_the_directory(drp):
    r = drp("staff", "add", "Ann Green", "--team", "Green")
    assert r.exit_code == 0, r.stderr
    opened(drp, "T-3", "2026-12-01", "--team", "Red")
    received(drp, "T-3", "2026-10-30", "--by", "Ann Green")
    r = drp("overdue", "--team", "Green", *ON)
    assert (r.exit_code, "Request 1 about T-3" in r.stdout) == (1, True), r.stdout


def test_owner_check_counts_a_request_about_a_child_they_own(drp):
    opened(drp, "T-4", "2026-12-01", "--owner", "Ann Green")
    received(drp, "T-4", "2026-10-30", "--by", "Bob Jones")
    r = drp("overdue", "--owner", "ann green", *ON)
    assert (r.exit_code, "Request 1 about T-4" in r.stdout) == (1, True), r.stdout


# -- items 6 and 7: stored values drp never writes -----------------------------------------
def test_due_date_past_the_last_day_is_refused_in_words():
    cal = bank_holiday_calendar()
    assert due_date(dt.date(2199, 11, 30), cal) == dt.date(2199, 12, 30)
    days = [(dt.date(2199, 12, 1), False), (dt.date(2199, 10, 1), True),
            (dt.date(2199, 12, 31), False), (dt.date(1989, 12, 31), False)]  # fmt: skip
    for day, extended in days:
        with pytest.raises(DueDateOutOfRange) as caught:
            due_date(day, cal, extended=extended)
        assert str(caught.value).endswith(f"past {LAST_DAY.isoformat()}, the calendar's last day")


@pytest.mark.parametrize(
    "args", [("overdue", *ON), ("subject-access", "--due", *ON), ("subject-access", "KN-1")]
)
def test_a_request_due_past_2199_is_exit_4_naming_the_request(drp, sql, args):
    opened(drp, "KN-1")
    received(drp, "KN-1")
    sql("UPDATE subject_access_request SET received_on = '2199-12-31' WHERE id = 1")
    r = drp(*args)
    assert (r.exit_code, r.stderr) == (4, damaged("received_on")), r.stderr


def test_a_request_whose_reference_is_bytes_is_exit_4_naming_the_request(drp, sql, db_path):
    opened(drp, "KN-1")
    received(drp, "KN-1")
    sql("UPDATE subject_access_request SET child = X'00' WHERE id = 1")
    for args in (("overdue", *ON), ("subject-access", "--due", *ON)):
        r = drp(*args)
        assert (r.exit_code, r.stderr) == (4, damaged("child")), r.stderr


# -- item 11: a request outlives its reference's amendment ---------------------------------
def test_a_request_is_answered_under_the_reference_it_was_recorded_under(drp, sql):
    opened(drp, "CD-7")
    received(drp, "CD-7")
    r = drp("amend", "1", "--child", "CD-8", "--reason", "Wrong reference", "--on", "2026-12-02")
    assert r.exit_code == 0, r.stderr
    listed = drp("subject-access", "CD-7", "--json")
    assert (listed.exit_code, [q["id"] for q in listed.json()]) == (0, [1]), listed.stderr
    r = drp("subject-access", "CD-8", "--sent", "2026-12-03")
    assert (r.exit_code, r.stderr) == (3, "Error: no subject access request about that "
                                          "reference is waiting for an answer\n")  # fmt: skip
    r = drp("subject-access", "CD-7", "--extend", "--reason", "Complex", "--on", "2026-11-20")
    assert r.exit_code == 0, r.stderr
    r = drp("subject-access", "CD-7", "--sent", "2026-12-03")
    assert r.exit_code == 0, r.stderr
    assert sql("SELECT child, sent_on FROM subject_access_request")[0][0] == "CD-7"
    assert drp("overdue", *ON).exit_code == 0
    assert drp("verify").exit_code == 0
    # a reference drp holds neither a concern nor a request about: not found, as before
    r = drp("subject-access", "CD-9", "--sent", "2026-12-03")
    assert (r.exit_code, r.stderr) == (3, "Error: no concern about that reference\n")


# -- item 12: a redacted reference leaves the requests too ---------------------------------
def test_a_redacted_reference_is_repointed_in_the_requests_chain(drp, sql):
    opened(drp, "Jane Smith")
    received(drp, "Jane Smith")
    r = drp("redact", "1", "1", "--field", "child", "--reason", "A name typed as the reference")
    assert r.exit_code == 0, r.stderr
    assert sql("SELECT id, child FROM subject_access_request") == [(1, "[redacted]")]
    assert sql("SELECT request_id, change FROM subject_access_link ORDER BY chain_seq") == [
        (1, "received"), (1, "repointed"),
    ]  # fmt: skip
    assert "Request 1 about [redacted]" in drp("overdue", *ON).stdout
    r = drp("verify")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_a_redacted_reference_amended_since_is_nobodys_and_answered_by_number(drp, sql):
    opened(drp, "Jane Smith")
    received(drp, "Jane Smith")
    r = drp("amend", "1", "--child", "JS-1", "--reason", "A name", "--on", "2026-12-02")
    assert r.exit_code == 0, r.stderr
    r = drp("redact", "1", "1", "--field", "child", "--reason", "A name typed as the reference")
    assert r.exit_code == 0, r.stderr
    # no guess whose it was: the redacted mark, answered by the request's number
    assert sql("SELECT child FROM subject_access_request") == [("[redacted]",)]
    r = drp("subject-access", "[redacted]", "--sent", "2026-12-03")
    assert (r.exit_code, r.stderr) == (3, "Error: no concern about that reference\n")
    r = drp("subject-access", "--request", "1", "--extend", "--reason", "Complex", "--on",
            "2026-11-20")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = drp("subject-access", "--request", "1", "--sent", "2026-12-03", "--json")
    assert (r.exit_code, r.json()["sent_on"]) == (0, "2026-12-03"), r.stderr
    assert drp("overdue", *ON).exit_code == 0
    r = drp("subject-access", "--request", "1", "--sent", "2026-12-04")
    assert (r.exit_code, r.stderr) == (
        3, "Error: no subject access request 1 is waiting for an answer\n"
    )  # fmt: skip
    assert drp("verify").exit_code == 0


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--request", "1"), "--request goes with --sent or --extend"),
        (("KN-1", "--request", "1", "--sent", "2026-12-03"),
         "give the CHILD reference or --request, not both"),
        (("--request", "1", "-o", "x"), "--request goes with --sent or --extend"),
        (("--sent", "2026-12-03"), "give the CHILD reference (or --due for every open request)"),
    ],
)  # fmt: skip
def test_request_by_number_is_only_for_sent_and_extend(drp, sql, args, error):
    opened(drp, "KN-1")
    received(drp, "KN-1")
    r = drp("subject-access", *args)
    assert (r.exit_code, r.stderr) == (2, f"Error: {error}\n")
    assert sql("SELECT count(*) FROM subject_access_link") == [(1,)]


def test_a_reference_another_concern_still_has_keeps_its_requests(drp, sql):
    opened(drp, "Jane Smith")
    opened(drp, "Jane Smith")
    received(drp, "Jane Smith")
    r = drp("redact", "1", "1", "--field", "child", "--reason", "A name typed as the reference")
    assert r.exit_code == 0, r.stderr
    assert sql("SELECT child FROM subject_access_request") == [("Jane Smith",)]
    assert sql("SELECT count(*) FROM subject_access_link") == [(1,)]


# -- item 14: every read of a child's record is audited ------------------------------------
@pytest.mark.parametrize(
    ("args", "row"),
    [
        (("wishes", "list", "1"), ("show", 1, 1, "wishes list")),
        (("person", "list", "1", "--json"), ("show", 1, 1, "person list")),
        (("action", "list", "1"), ("show", 1, 1, "action list")),
        (("needs", "list", "1"), ("show", 1, 1, "needs list")),
        (("attachments", "1"), ("show", 1, 1, "attachments")),
        (("subject-access", "KN-1"), ("subject-access", None, None, "1 request listed")),
    ],
)
def test_each_read_of_a_childs_record_writes_its_row(drp, sql, args, row):
    opened(drp, "KN-1")
    received(drp, "KN-1")
    r = drp(*args)
    assert r.exit_code == 0, r.stderr
    assert sql("SELECT action, concern_id, read_count, detail FROM read_audit "
               "ORDER BY chain_seq DESC")[0] == row  # fmt: skip


def test_a_read_of_a_concern_drp_does_not_hold_writes_no_row(drp, sql):
    opened(drp, "KN-1")
    ((before,),) = sql("SELECT count(*) FROM read_audit")
    assert drp("wishes", "list", "9").exit_code == 3
    assert sql("SELECT count(*) FROM read_audit") == [(before,)]


# -- item 16: a reference typed unquoted ---------------------------------------------------
def test_an_unquoted_reference_is_said_to_be_one_argument(drp):
    opened(drp, "KN-1")
    r = drp("subject-access", "KN", "1", "--sent", "2026-12-03")
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", (
        "Error: the CHILD reference is one argument (2 words given, not shown): put a "
        "reference with spaces in quotes\n"
    ))  # fmt: skip


# -- items 9 and 10: another child's reference in the record is marked for review -----------
def sar_written(drp, tmp_path, child: str) -> dict:
    import json

    out = tmp_path / "sar"
    r = drp("subject-access", child, "-o", str(out), "--no-pdf")
    assert r.exit_code == 0, r.stderr
    html = (out / "subject-access.html").read_text(encoding="utf-8")
    return {**json.loads((out / "subject-access.json").read_text(encoding="utf-8")), "html": html}


def review(record: dict) -> dict[str, list[str]]:
    return {p["name"]: p["as"] for p in record["third_party_review"]}


def test_a_siblings_reference_in_a_note_is_marked_and_listed(drp, tmp_path):
    for child in ("AB-1", "AB-10", "AB-3"):
        opened(drp, child)
    r = drp("note", "1", "--text", "Sibling ab-10 is placed here too; AB-1 is settled",
            "--on", "2026-12-02")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    record = sar_written(drp, tmp_path, "AB-1")
    assert review(record)["AB-10"] == ["another child's reference"]  # as drp holds it
    assert "AB-1" not in review(record) and "AB-3" not in review(record)
    (note,) = [e for e in record["concerns"][0]["events"] if e["kind"] == "note"]
    assert note["third_party"] == ["by", "text"]
    assert '<mark class="third-party">ab-10</mark> is placed' in record["html"]


def test_a_reference_typed_in_error_and_amended_away_is_marked(drp, tmp_path):
    opened(drp, "CD-9")  # no concern has CD-9 once amended: the history still holds it
    r = drp("amend", "1", "--child", "CD-8", "--reason", "Wrong reference", "--on", "2026-12-02")
    assert r.exit_code == 0, r.stderr
    record = sar_written(drp, tmp_path, "CD-8")
    assert review(record)["CD-9"] == ["another child's reference"]
    (first,) = [e for e in record["concerns"][0]["events"] if e["kind"] == "opened"]
    assert "child" in first["details"]["third_party"]
    assert record["subject"]["reference"] == "CD-8"
    assert "CD-8" not in review(record)


def test_a_legal_hold_whose_reason_reads_as_a_requests_is_still_a_legal_hold(drp, closed):
    reason = "a subject access request is not yet answered"
    assert drp("hold", "1", "--reason", reason, "--on", "2026-11-01").exit_code == 0
    received(drp, "P-1", "2026-11-02")
    r = drp("retention", *ON)
    assert r.stdout.splitlines()[-2:] == [
        "Kept under a legal hold though past their period: 1",
        "Kept for a subject access request not yet answered though past their period: 2",
    ]
