"""drp subject-access CHILD --received / --extend / --sent: the request, when its answer is
due (dates worked by hand: see tests/test_t31sar_due.py), and what the morning check lists
(issue 31 item 3)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from drp_cli.services import subject_access as sar
from drp_cli.services.tracker import Tracker
from tests.conftest import PG_URL, open_args
from tests.test_t31sar_access import schema_with_requests

__all__ = ["schema_with_requests"]  # the fixture, used by every test here

D = dt.date


@pytest.fixture
def on_day(monkeypatch):
    """Fix drp's today."""

    def fix(day: dt.date) -> None:
        monkeypatch.setattr(Tracker, "today", lambda self: day)

    return fix


@pytest.fixture
def kn1(drp):
    for child in ("KN-1", "KN-2"):
        r = drp(*open_args(child=child, on="2026-11-02"))
        assert r.exit_code == 0, r.stderr


def test_received_prints_the_due_date(drp, kn1, on_day):
    on_day(D(2027, 2, 1))
    # Sun 31 Jan 2027: no 31 February, Sun 28 Feb is not a working day: Mon 1 March
    r = drp("subject-access", "KN-1", "--received", "31/01/2027")
    assert (r.exit_code, r.stdout, r.stderr) == (
        0, "Recorded the request received 2027-01-31 (Sun): the answer is due 2027-03-01 (Mon).\n",
        "",
    )  # fmt: skip
    # KN-2's: Fri 26 Feb 2027 (not yet received: today is 1 Feb) is refused; 2026-11-25
    # -> Fri 25 Dec, Sat, Sun, Mon 28 (Boxing Day's substitute) -> Tue 29 December
    r = drp("subject-access", "KN-2", "--received", "2027-02-26")
    assert (r.exit_code, r.stderr) == (
        2,
        "Error: --received 2027-02-26 is in the future (today is 2027-02-01)\n",
    )
    r = drp("subject-access", "KN-2", "--received", "2026-11-25", "--json")
    assert r.exit_code == 0
    got = r.json()
    assert got.pop("recorded_at").endswith("Z")
    assert got == {
        "id": 2, "received_on": "2026-11-25", "recorded_by": "Test IRO", "due_on": "2026-12-29",
        "extended_on": None, "extended_by": None, "extension_reason": None, "sent_on": None,
        "sent_by": None,
    }  # fmt: skip


def test_one_open_request_at_a_time(drp, kn1, on_day):
    on_day(D(2027, 2, 1))
    assert drp("subject-access", "KN-1", "--received", "2027-01-31").exit_code == 0
    r = drp("subject-access", "KN-1", "--received", "2027-02-01")
    assert (r.exit_code, r.stderr) == (
        1, "Error: a subject access request about that reference received on 2027-01-31 (due "
        "2027-03-01) is not yet answered: mark it sent with --sent DATE first\n",
    )  # fmt: skip


def test_extend_then_send(drp, kn1, on_day, sql):
    on_day(D(2027, 2, 1))
    assert drp("subject-access", "KN-1", "--received", "2027-01-31").exit_code == 0
    on_day(D(2027, 2, 10))
    r = drp("subject-access", "KN-1", "--extend")
    assert (r.exit_code, r.stderr) == (
        2,
        "Error: --extend needs --reason: why the request needs longer\n",
    )
    r = drp("subject-access", "KN-1", "--extend", "--reason", "Records of two concerns")
    # three months from Sun 31 Jan 2027: no 31 April, Fri 30 April
    assert (r.exit_code, r.stdout) == (
        0, "Extended the request received 2027-01-31 (Sun) by two months: the answer is now due "
        "2027-04-30 (Fri).\n",
    )  # fmt: skip
    r = drp("subject-access", "KN-1", "--extend", "--reason", "Again")
    assert (r.exit_code, r.stderr) == (
        1, "Error: the request received on 2027-01-31 was already extended on 2027-02-10 (due "
        "2027-04-30); it can be extended once\n",
    )  # fmt: skip
    on_day(D(2027, 4, 12))
    r = drp("subject-access", "KN-1", "--sent", "2027-01-30")
    assert (r.exit_code, r.stderr) == (
        2,
        "Error: --sent 2027-01-30 is before the request was received (2027-01-31)\n",
    )
    r = drp("subject-access", "KN-1", "--sent", "2027-04-12")
    assert (r.exit_code, r.stdout) == (
        0, "Request 1: received 2027-01-31 (Sun), due 2027-04-30 (Fri) (extended, notice "
        "2027-02-10); answered 2027-04-12, in time.\n",
    )  # fmt: skip
    r = drp("subject-access", "KN-1", "--sent", "2027-04-12")
    assert (r.exit_code, r.stderr) == (
        3,
        "Error: no subject access request about that reference is waiting for an answer\n",
    )
    # the row: the reference and the request's own dates and recorders, nothing else
    rows = sql(
        "SELECT child, received_on, recorded_by, extended_on, extended_by, extension_reason, "
        "sent_on, sent_by FROM subject_access_request"
    )
    day = (lambda s: s) if not PG_URL else D.fromisoformat
    assert rows == [("KN-1", day("2027-01-31"), "Test IRO", day("2027-02-10"), "Test IRO",
                     "Records of two concerns", day("2027-04-12"), "Test IRO")]  # fmt: skip


def test_an_extension_comes_within_the_first_month(drp, kn1, on_day):
    on_day(D(2027, 1, 5))
    assert drp("subject-access", "KN-2", "--received", "2026-11-25").exit_code == 0
    r = drp("subject-access", "KN-2", "--extend", "--reason", "Complex")
    assert (r.exit_code, r.stderr) == (
        1, "Error: the request received on 2026-11-25 was due 2026-12-29: an extension must "
        "be given within the first month\n",
    )  # fmt: skip
    # the due date itself is still in time for the notice
    r = drp("subject-access", "KN-2", "--extend", "--reason", "Complex", "--on", "2026-12-29")
    # three months from Wed 25 Nov 2026: Thu 25 Feb 2027
    assert r.stdout.endswith("the answer is now due 2027-02-25 (Thu).\n")


def test_late_answer_and_the_list(drp, kn1, on_day):
    on_day(D(2027, 1, 5))
    assert drp("subject-access", "KN-2", "--received", "2026-11-25").exit_code == 0
    r = drp("subject-access", "KN-2", "--sent", "2027-01-04")
    assert r.stdout == (
        "Request 1: received 2026-11-25 (Wed), due 2026-12-29 (Tue); answered 2027-01-04, 6 "
        "days late.\n"
    )
    assert drp("subject-access", "KN-2", "--received", "2027-01-05").exit_code == 0
    r = drp("subject-access", "KN-2")
    # Tue 5 Jan 2027 -> Fri 5 February 2027
    assert (r.exit_code, r.stdout) == (
        0, "Request 1: received 2026-11-25 (Wed), due 2026-12-29 (Tue); answered 2027-01-04, "
        "6 days late\nRequest 2: received 2027-01-05 (Tue), due 2027-02-05 (Fri); not yet "
        "answered\n",
    )  # fmt: skip
    r = drp("subject-access", "KN-1")
    assert (r.exit_code, r.stdout) == (
        0,
        "No subject access request is recorded for that reference.\n",
    )
    assert [q["id"] for q in json.loads(drp("subject-access", "KN-2", "--json").stdout)] == [1, 2]


def test_due_requests_for_the_morning_check(drp, kn1, on_day, tracker):
    on_day(D(2027, 2, 1))
    assert drp("subject-access", "KN-1", "--received", "2027-01-31").exit_code == 0
    assert drp("subject-access", "KN-2", "--received", "2026-11-25").exit_code == 0
    with tracker.store.read() as conn:
        found = sar.due_requests(conn, D(2027, 1, 4))
    assert found == [
        sar.DueRequest(2, "KN-2", D(2026, 11, 25), D(2026, 12, 29), False, -6),
        sar.DueRequest(1, "KN-1", D(2027, 1, 31), D(2027, 3, 1), False, 56),
    ]
    assert found[0].overdue and not found[1].overdue
    assert drp("subject-access", "KN-2", "--sent", "2027-01-04").exit_code == 0
    with tracker.store.read() as conn:
        assert [d.id for d in sar.due_requests(conn, D(2027, 1, 4))] == [1]


def test_the_request_is_in_the_childs_record(drp, kn1, on_day, tmp_path):
    on_day(D(2027, 2, 1))
    assert drp("subject-access", "KN-1", "--received", "2027-01-31").exit_code == 0
    assert drp("subject-access", "KN-2", "--received", "2027-01-30").exit_code == 0
    out = tmp_path / "sar"
    assert drp("subject-access", "KN-1", "-o", str(out), "--no-pdf").exit_code == 0
    data = json.loads((out / "subject-access.json").read_text())
    assert [(q["received_on"], q["due_on"]) for q in data["requests"]] == [
        ("2027-01-31", "2027-03-01")
    ]
    assert data["requests"][0]["third_party"] == ["recorded_by"]
    html = (out / "subject-access.html").read_text()
    assert "<td>Sun 31 January 2027</td>" in html
    assert "2027-01-30" not in html and "Sat 30 January 2027" not in html
