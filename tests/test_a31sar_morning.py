"""The morning check lists the subject access requests not yet answered, and an overdue one
makes its exit status 1; `drp subject-access --due` lists them for scripts (issue 31 item 3).

Dates worked by hand (England and Wales bank holidays, 2026):
* received Fri 20 Nov 2026: one month on is Sun 20 Dec, so due Mon 21 Dec 2026;
* received Wed 25 Nov 2026: one month on is Fri 25 Dec (Christmas Day), then Sat 26, Sun 27,
  Mon 28 (Boxing Day's substitute): due Tue 29 Dec 2026.
From Tue 22 Dec 2026, working days: Wed 23 (1), Thu 24 (2), Tue 29 (3), Wed 30 (4).
"""

from __future__ import annotations

import datetime as dt

import pytest

from drp_cli.services.tracker import Tracker
from tests.conftest import open_args
from tests.test_command_weight import drp_modules

HEAD = "Subject access requests not yet answered"


@pytest.fixture
def requests(drp, monkeypatch):
    """Two children whose concerns are resolved (the check has no concern line), a request
    about each: KN-1's received 25 Nov 2026 by Bob Jones (due Tue 29 Dec), KN-2's received
    20 Nov 2026 by the test's recorder (due Mon 21 Dec)."""
    for n, child in enumerate(("KN-1", "KN-2"), 1):
        assert drp(*open_args(child=child, on="2026-11-02")).exit_code == 0
        assert drp("resolve", str(n), "--outcome", "Agreed", "--on", "2026-11-03").exit_code == 0
    assert drp("staff", "add", "Bob Jones", "--team", "North").exit_code == 0
    monkeypatch.setattr(Tracker, "today", lambda self: dt.date(2026, 12, 31))
    r = drp("subject-access", "KN-1", "--received", "2026-11-25", "--by", "Bob Jones")
    assert r.stdout.endswith("the answer is due 2026-12-29 (Tue).\n"), r.stderr
    r = drp("subject-access", "KN-2", "--received", "2026-11-20")
    assert r.stdout.endswith("the answer is due 2026-12-21 (Mon).\n"), r.stderr


def out(r) -> tuple[int, str, str]:
    return r.exit_code, r.stdout, r.stderr


def test_nothing_due_by_the_horizon_is_an_all_clear(drp, requests):
    assert out(drp("overdue", "--on", "2026-12-18")) == (
        0, "Nothing overdue or due on 2026-12-18.\n", ""
    )  # fmt: skip


def test_a_request_due_within_the_window_is_listed(drp, requests):
    # Fri 18 Dec + 1 working day = Mon 21 Dec: KN-2's, due in 3 calendar days
    assert out(drp("overdue", "--on", "2026-12-18", "--within", "1")) == (
        0,
        "No concern is overdue on 2026-12-18 or due within 1 working day.\n\n"
        f"{HEAD}\n  Request 2 about KN-2: answer due 21 December 2026, due in 3 days\n",
        "",
    )


def test_an_overdue_request_makes_the_check_fail(drp, requests):
    assert out(drp("overdue", "--on", "2026-12-22")) == (
        1,
        "No concern is overdue or due on 2026-12-22.\n\n"
        f"{HEAD} (1 overdue)\n  Request 2 about KN-2: answer due 21 December 2026, OVERDUE 1 day\n",
        "",
    )


def test_the_window_counts_bank_holidays(drp, requests):
    # 2 working days from Tue 22 Dec end on Thu 24 Dec: KN-1's (Tue 29 Dec) is not yet listed
    r = drp("overdue", "--on", "2026-12-22", "--within", "2")
    assert (r.exit_code, "Request 1" in r.stdout, "Request 2" in r.stdout) == (1, False, True)
    # 3 working days: Christmas Day and Boxing Day's substitute skipped, Tue 29 Dec
    r = drp("overdue", "--on", "2026-12-22", "--within", "3")
    assert out(r) == (
        1,
        "No concern is overdue on 2026-12-22 or due within 3 working days.\n\n"
        f"{HEAD} (1 overdue)\n"
        "  Request 2 about KN-2: answer due 21 December 2026, OVERDUE 1 day\n"
        "  Request 1 about KN-1: answer due 29 December 2026, due in 7 days\n",
        "",
    )


def test_the_json_list_is_unchanged_and_the_status_still_counts(drp, requests):
    # scripts read a list of the concerns' lines: no request joins it, and exit 1 all the same
    assert out(drp("overdue", "--on", "2026-12-22", "--json")) == (1, "[]\n", "")
    assert out(drp("overdue", "--on", "2026-12-21", "--json")) == (0, "[]\n", "")


def test_a_request_answered_is_no_longer_listed(drp, requests):
    assert drp("subject-access", "KN-2", "--sent", "2026-12-23").exit_code == 0
    assert out(drp("overdue", "--on", "2026-12-23")) == (
        0, "Nothing overdue or due on 2026-12-23.\n", ""
    )  # fmt: skip


def test_with_concern_lines_the_section_follows_the_tally(drp, requests):
    assert drp(*open_args(child="KN-3", on="2026-12-04")).exit_code == 0
    r = drp("overdue", "--on", "2026-12-22")
    assert r.exit_code == 1
    head, _, section = r.stdout.partition("\n\n")
    assert head.startswith("Deadlines on 2026-12-22\n") and "KN-3" in head
    assert head.endswith("0 overdue, 1 past an aim or the IRO Handbook's guidance.")
    assert section == (
        f"{HEAD} (1 overdue)\n  Request 2 about KN-2: answer due 21 December 2026, OVERDUE 1 day\n"
    )


def test_owner_and_team_see_the_requests_their_people_recorded(drp, requests):
    # on Wed 30 Dec both are overdue: KN-2's by 9 days, KN-1's by 1
    r = drp("overdue", "--on", "2026-12-30", "--owner", "bob jones")
    assert out(r) == (
        1,
        "No concern is overdue or due on 2026-12-30.\n\n"
        f"{HEAD} (1 overdue)\n  Request 1 about KN-1: answer due 29 December 2026, OVERDUE 1 day\n",
        "",
    )
    # the test's recorder, Test IRO, recorded KN-2's and owns both children's concerns
    r = drp("overdue", "--on", "2026-12-30", "--mine")
    assert r.stdout.endswith(
        "  Request 2 about KN-2: answer due 21 December 2026, OVERDUE 9 days\n"
        "  Request 1 about KN-1: answer due 29 December 2026, OVERDUE 1 day\n"
    )
    r = drp("overdue", "--on", "2026-12-30", "--team", "NORTH")
    assert "Request 1 about KN-1" in r.stdout and "Request 2" not in r.stdout
    assert drp("staff", "add", "Cy Dee", "--team", "South").exit_code == 0
    # nothing of South's: an all-clear for that team (Test IRO is in no team)
    assert out(drp("overdue", "--on", "2026-12-30", "--team", "South")) == (
        0, "Nothing overdue or due on 2026-12-30.\n", ""
    )  # fmt: skip


def test_an_extended_request_says_so(drp, requests, monkeypatch):
    monkeypatch.setattr(Tracker, "today", lambda self: dt.date(2026, 12, 10))
    r = drp("subject-access", "KN-2", "--extend", "--reason", "Complex", "--on", "2026-12-10")
    # three months from Fri 20 Nov 2026: Sat 20 Feb 2027, so Mon 22 Feb 2027
    assert r.stdout.endswith("the answer is now due 2027-02-22 (Mon).\n"), r.stderr
    r = drp("subject-access", "--due", "--on", "2026-12-22")
    assert out(r) == (
        0,
        f"{HEAD}\n"
        "  Request 1 about KN-1: answer due 29 December 2026, due in 7 days\n"
        "  Request 2 about KN-2: answer due 22 February 2027, due in 62 days (extended)\n",
        "",
    )


def test_due_lists_every_open_request_for_scripts(drp, requests, sql):
    r = drp("subject-access", "--due", "--on", "2026-12-22", "--json")
    assert r.exit_code == 0
    assert r.json() == [
        {"id": 2, "child": "KN-2", "received_on": "2026-11-20", "due_on": "2026-12-21",
         "extended": False, "days_left": -1, "recorded_by": "Test IRO"},
        {"id": 1, "child": "KN-1", "received_on": "2026-11-25", "due_on": "2026-12-29",
         "extended": False, "days_left": 7, "recorded_by": "Bob Jones"},
    ]  # fmt: skip
    # the run is a read: recorded, without the references it listed
    assert sql("SELECT action, read_count, detail FROM read_audit ORDER BY id DESC")[0] == (
        "subject-access", 2, "--due --on 2026-12-22",
    )  # fmt: skip
    for child in ("KN-1", "KN-2"):
        assert drp("subject-access", child, "--sent", "2026-12-30").exit_code == 0
    assert out(drp("subject-access", "--due")) == (
        0, "No subject access request is waiting for an answer.\n", ""
    )  # fmt: skip
    assert out(drp("subject-access", "--due", "--json")) == (0, "[]\n", "")


def test_due_refuses_a_child_and_a_second_action(drp, requests):
    assert out(drp("subject-access", "KN-1", "--due")) == (
        2, "", "Error: --due lists the requests about every reference: give no CHILD\n"
    )  # fmt: skip
    assert out(drp("subject-access", "--due", "--sent", "2026-12-30")) == (
        2, "", "Error: give one of -o, --received, --extend, --sent, --due (not --sent and --due)\n"
    )  # fmt: skip
    assert out(drp("subject-access")) == (
        2, "", "Error: give the CHILD reference (or --due for every open request)\n"
    )  # fmt: skip
    assert drp("subject-access", "--due", "--on", "2026-13-01").exit_code == 2


def test_the_check_with_requests_stays_light(requests, db_target):
    if "://" in db_target:
        pytest.skip("the module weights are measured on SQLite")
    code, mods = drp_modules(["overdue", "--on", "2026-12-22"], db_target)
    assert code == 1
    assert "drp_cli.services.subject_access" in mods
    never = {
        "drp_cli.services.tracker", "drp_cli.domain.lifecycle", "drp_cli.domain.views",
        "drp_cli.domain.chain", "drp_cli.domain.transitions", "drp_cli.store.record",
    }  # fmt: skip
    assert mods & never == set()


def test_due_today_is_not_yet_overdue(drp, requests):
    assert out(drp("overdue", "--on", "2026-12-21")) == (
        0,
        "No concern is overdue or due on 2026-12-21.\n\n"
        f"{HEAD}\n  Request 2 about KN-2: answer due 21 December 2026, due today\n",
        "",
    )
