"""The morning check and the list as a caseload (issue 13, items 3 and 4): what is due today,
recommended actions past their due date, stages sitting with no deadline, the owner, team and
text filters, whom each stage is addressed to, short summaries, plain output when not on a
terminal, and `drp show` by reference. Every date is in March 2025 (no bank holidays):
Mon 3, Mon 10, Mon 17, Mon 24, Mon 31."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drp_cli.core.errors import InvalidInput, NotFound
from drp_cli.domain.overdue import ActionDue, OverdueItem
from drp_cli.services import details
from drp_cli.services.tracker import Tracker
from tests.conftest import open_args

D = dt.date
KN_SUMMARY = "No allocated social worker since the review on 20 February; visits missed."
KN_TO = ["Social worker", "Team Manager"]
NC_TO = ["The people the concern is about (the flow chart that names them is not in the text)"]


def caseload(t: Tracker) -> None:
    """Four open concerns, three owners, two teams, one recommended action.

    1. Knowsley KN-1 from Mon 3 Mar (owner Test IRO, who opened it; team North): stage 1's
       aim Mon 10 Mar (5 working days, an aim). Action 1 "Allocate a social worker" due Fri
       7 Mar, for the Team Manager.
    2. West Sussex WS-2 straight to Stage 1 on Wed 5 Mar (owner Jo Bloggs, team South):
       firm deadline Wed 12 Mar.
    3. Nottinghamshire CRP NC-3 from Mon 3 Mar (owner Łukasz Nowak, team North): the
       protocol sets no timescale (only the IRO Handbook's 20 days, guidance: Mon 31 Mar).
    4. Knowsley KN-4 from Mon 17 Mar (owner Test IRO, no team).
    """
    t.open(protocol="knowsley", child="KN-1", category="statutory", summary=KN_SUMMARY,
           team="North", on=D(2025, 3, 3))  # fmt: skip
    details.add(t, 1, "action", text="Allocate a social worker", owner="Team Manager",
                due="2025-03-07", on=D(2025, 3, 3))  # fmt: skip
    t.open(protocol="west-sussex", child="WS-2", category="care-plan", stage="stage-1",
           role="cpa", reason="Immediate safety", summary="Care plan not implemented",
           owner="Jo Bloggs", team="South", on=D(2025, 3, 5))  # fmt: skip
    t.open(protocol="nottinghamshire-crp", child="NC-3", category="general",
           summary="Placement not meeting needs", owner="Łukasz Nowak", team="North",
           on=D(2025, 3, 3))  # fmt: skip
    t.open(protocol="knowsley", child="KN-4", category="general", summary="Contact stopped",
           on=D(2025, 3, 17))  # fmt: skip


def states(r) -> list[tuple[int, str, str]]:
    return [(i["id"], i["state"], i["which"]) for i in r.json()]


# -- due today -----------------------------------------------------------------------------------
def test_what_is_due_today_is_always_shown(drp, tracker):
    caseload(tracker)
    # Wed 12 Mar: concern 2's firm deadline is today; concern 1 is past its aim, its action
    # past its due date
    r = drp("overdue", "--on", "2025-03-12", "--json")
    assert r.exit_code == 0  # nothing firm is passed
    assert states(r) == [(1, "past-aim", "stage"), (1, "action-overdue", "action"),
                         (2, "due", "stage")]  # fmt: skip
    assert r.json()[2] == {
        "id": 2, "child": "WS-2", "protocol": "west-sussex", "stage": "stage-1", "state": "due",
        "deadline": "2025-03-12", "which": "stage", "working_days_overdue": 0,
        "working_days_left": 0, "responded": False, "timescale": "firm", "step": None,
        "summary": "Care plan not implemented", "addressed_to": ["Practice Manager"],
        "owner": "Jo Bloggs", "team": "South", "stage_started_on": "2025-03-05",
        "working_days_at_stage": 5, "action": None,
    }  # fmt: skip
    # the next day it is overdue: exit status 1
    r = drp("overdue", "--on", "2025-03-13", "--json")
    assert (r.exit_code, states(r)[0]) == (1, (2, "overdue", "stage"))
    # --within looks further ahead, as before: Tue 11 Mar + 1 working day takes in Wed 12
    r = drp("overdue", "--on", "2025-03-11", "--within", "1", "--json")
    assert [(i["id"], i["state"], i["working_days_left"]) for i in r.json()] == [
        (1, "past-aim", 0), (1, "action-overdue", 0), (2, "due", 1)]  # fmt: skip
    r = drp("overdue", "--on", "2025-03-11", "--json")
    assert [i["state"] for i in r.json()] == ["past-aim", "action-overdue"]


def test_nothing_due_says_so(drp, tracker):
    caseload(tracker)
    r = drp("overdue", "--on", "2025-03-04")
    assert (r.exit_code, r.stdout) == (0, "Nothing overdue or due on 2025-03-04.\n")
    r = drp("overdue", "--on", "2025-03-04", "--within", "1")
    assert (r.exit_code, r.stdout) == (
        0, "Nothing overdue on 2025-03-04 and nothing due within 1 working days.\n")  # fmt: skip


# -- the lines: plain text, a table on a terminal, JSON ----------------------------------------
def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Columns as the plain output lays them out, worked out here: each as wide as its
    widest cell, two spaces between, a rule of dashes under the headers, the last column
    not padded."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    rule = tuple("-" * w for w in widths)
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=False)), r[-1]])
        for r in [rows[0], rule, *rows[1:]]
    ]


CHECK_HEADERS = ("ID", "Child", "Protocol", "Stage", "Deadline", "State", "Responded",
                 "Addressed to", "Owner", "Summary")  # fmt: skip
KN_SHORT = "No allocated social worker since the…"


def test_every_kind_of_line_in_plain_text(drp, tracker):
    caseload(tracker)
    r = drp("overdue", "--on", "2025-03-17")
    assert r.exit_code == 1  # concern 2's firm deadline; nothing else sets it
    assert r.stdout.splitlines() == [
        "Deadlines on 2025-03-17",
        *aligned([
            CHECK_HEADERS,
            ("2", "WS-2", "west-sussex", "stage-1", "2025-03-12 (stage)",
             "OVERDUE 3 working days", "no", "Practice Manager", "Jo Bloggs",
             "Care plan not implemented"),
            ("1", "KN-1", "knowsley", "stage-1", "2025-03-10 (stage)",
             "past its aim by 5 working days", "no", "Social worker; Team Manager", "Test IRO",
             KN_SHORT),
            ("1", "KN-1", "knowsley", "stage-1", "2025-03-07 (action 1: Team Manager)",
             "past its due date by 6 working days", "no", "Social worker; Team Manager",
             "Test IRO", KN_SHORT),
            ("3", "NC-3", "nottinghamshire-crp", "discussion", "none (stage since 2025-03-03)",
             "no deadline for 10 working days", "no", NC_TO[0], "Łukasz Nowak",
             "Placement not meeting needs"),
        ]),
        "1 overdue, 1 past an aim or the IRO Handbook's guidance, 1 recommended action past "
        "its due date, 1 with no deadline for 10 working days or more.",
    ]  # fmt: skip
    # the layout helper agrees with a literal line
    assert r.stdout.splitlines()[3] == (
        "2   WS-2   west-sussex          stage-1     2025-03-12 (stage)                   "
        "OVERDUE 3 working days               no         Practice Manager"
        + " " * 69
        + "Jo Bloggs     Care plan not implemented"
    )


def test_action_and_no_deadline_lines_in_json(drp, tracker):
    caseload(tracker)
    r = drp("overdue", "--on", "2025-03-17", "--json")
    assert r.exit_code == 1
    items = r.json()
    assert states(r) == [(2, "overdue", "stage"), (1, "past-aim", "stage"),
                         (1, "action-overdue", "action"), (3, "no-deadline", "stage")]  # fmt: skip
    assert items[2] == {
        "id": 1, "child": "KN-1", "protocol": "knowsley", "stage": "stage-1",
        "state": "action-overdue", "deadline": "2025-03-07", "which": "action",
        "working_days_overdue": 6, "working_days_left": 0, "responded": False,
        "timescale": "agreed", "step": None, "summary": KN_SUMMARY, "addressed_to": KN_TO,
        "owner": "Test IRO", "team": "North", "stage_started_on": "2025-03-03",
        "working_days_at_stage": 10,
        "action": {"n": 1, "text": "Allocate a social worker", "owner": "Team Manager"},
    }  # fmt: skip
    assert items[3] == {
        "id": 3, "child": "NC-3", "protocol": "nottinghamshire-crp", "stage": "discussion",
        "state": "no-deadline", "deadline": None, "which": "stage", "working_days_overdue": 0,
        "working_days_left": 0, "responded": False, "timescale": None, "step": None,
        "summary": "Placement not meeting needs", "addressed_to": NC_TO,
        "owner": "Łukasz Nowak", "team": "North", "stage_started_on": "2025-03-03",
        "working_days_at_stage": 10, "action": None,
    }  # fmt: skip
    # the fast writer is json.dumps exactly, non-ASCII and all
    assert r.stdout == json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def test_a_table_on_a_terminal(drp, tracker, monkeypatch):
    import importlib

    caseload(tracker)
    dailycheck = importlib.import_module("drp_cli.cli.dailycheck")
    monkeypatch.setattr(dailycheck, "_is_terminal", lambda: True)
    r = drp("overdue", "--on", "2025-03-17")
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert lines[0].rstrip() == "Deadlines on 2025-03-17"  # Rich pads the title
    assert lines[1].startswith("┏━━━━┳━━━━━━━┳")
    assert "│ 2  │ WS-2  │ west-sussex " in r.stdout and "│ Jo Bloggs " in r.stdout
    assert "│ past its due date by 6" in r.stdout and "│ no deadline for 10 working" in r.stdout
    assert lines[-1] == (
        "1 overdue, 1 past an aim or the IRO Handbook's guidance, 1 recommended action past "
        "its due date, 1 with no deadline for 10 working days or more."
    )


# -- recommended actions -------------------------------------------------------------------------
def test_actions_past_their_due_date_never_set_the_exit_status(drp, tracker):
    c = tracker.open(protocol="knowsley", child="KN-1", category="statutory", summary="x",
                     on=D(2025, 3, 3))  # fmt: skip
    add: dict[str, Any] = {"on": D(2025, 3, 3)}
    details.add(tracker, c.id, "action", text="Allocate", owner="Team Manager", due="2025-03-05",
                **add)  # fmt: skip
    details.add(tracker, c.id, "action", text="Visit", owner="Social worker", due="2025-03-06",
                **add)  # fmt: skip
    details.add(tracker, c.id, "action", text="Done already", owner="TM", due="2025-03-04", **add)
    details.mark_done(tracker, c.id, 3, on=D(2025, 3, 4))
    details.add(tracker, c.id, "action", text="Removed", owner="TM", due="2025-03-04", **add)
    details.remove(tracker, c.id, "action", 4, on=D(2025, 3, 4))
    details.add(tracker, c.id, "action", text="No date", owner="TM", **add)
    details.add(tracker, c.id, "action", text="Today", owner="IRO", due="2025-03-07", **add)
    details.add(tracker, c.id, "action", text="Next week", owner="IRO", due="2025-03-11", **add)
    closed = tracker.open(protocol="knowsley", child="KN-2", category="general", summary="y",
                          on=D(2025, 3, 3))  # fmt: skip
    details.add(tracker, closed.id, "action", text="Old", owner="TM", due="2025-03-04", **add)
    tracker.resolve(closed.id, outcome="Resolved", on=D(2025, 3, 4))
    # Fri 7 Mar: actions 1 and 2 late (2 and 1 working days), action 6 due today; the
    # concern's own aim (Mon 10 Mar) not yet due; the closed concern's action not chased
    r = drp("overdue", "--on", "2025-03-07", "--json")
    assert r.exit_code == 0
    assert [(i["state"], i["deadline"], i["working_days_overdue"], i["working_days_left"],
             i["timescale"], i["action"]) for i in r.json()] == [
        ("action-overdue", "2025-03-05", 2, 0, "agreed",
         {"n": 1, "text": "Allocate", "owner": "Team Manager"}),
        ("action-overdue", "2025-03-06", 1, 0, "agreed",
         {"n": 2, "text": "Visit", "owner": "Social worker"}),
        ("due", "2025-03-07", 0, 0, "agreed", {"n": 6, "text": "Today", "owner": "IRO"}),
    ]  # fmt: skip
    r = drp("overdue", "--on", "2025-03-07")
    assert r.exit_code == 0
    kn = ("1", "KN-1", "knowsley", "stage-1")
    rest = ("no", "Social worker; Team Manager", "Test IRO", "x")
    assert r.stdout.splitlines() == [
        "Deadlines on 2025-03-07",
        *aligned([
            CHECK_HEADERS,
            (*kn, "2025-03-05 (action 1: Team Manager)", "past its due date by 2 working days",
             *rest),
            (*kn, "2025-03-06 (action 2: Social worker)", "past its due date by 1 working day",
             *rest),
            (*kn, "2025-03-07 (action 6: IRO)", "due today", *rest),
        ]),
        "0 overdue, 2 recommended actions past their due dates, 1 due today.",
    ]  # fmt: skip
    # looking ahead: the concern's aim and action 7 in the next two working days
    r = drp("overdue", "--on", "2025-03-07", "--within", "2", "--json")
    assert [(i["state"], i["which"], i["deadline"], i["working_days_left"]) for i in r.json()] == [
        ("action-overdue", "action", "2025-03-05", 0),
        ("action-overdue", "action", "2025-03-06", 0),
        ("due", "action", "2025-03-07", 0),
        ("due", "stage", "2025-03-10", 1),
        ("due", "action", "2025-03-11", 2),
    ]  # fmt: skip
    # done, the action leaves the check
    details.mark_done(tracker, c.id, 1, on=D(2025, 3, 7))
    r = drp("overdue", "--on", "2025-03-07", "--json")
    assert [i["action"]["n"] for i in r.json()] == [2, 6]


# -- stages with no deadline ---------------------------------------------------------------------
def test_a_stage_with_no_deadline_shows_after_ten_working_days(drp, tracker):
    caseload(tracker)
    r = drp("overdue", "--on", "2025-03-14", "--owner", "Łukasz Nowak")  # 9 working days
    assert (r.exit_code, r.stdout) == (0, "Nothing overdue or due on 2025-03-14.\n")
    r = drp("overdue", "--on", "2025-03-17", "--owner", "Łukasz Nowak", "--json")  # 10
    assert (r.exit_code, states(r)) == (0, [(3, "no-deadline", "stage")])
    assert r.json()[0]["working_days_at_stage"] == 10
    r = drp("overdue", "--on", "2025-03-17", "--owner", "Łukasz Nowak")
    assert r.stdout.splitlines()[-1] == (
        "0 overdue, 1 with no deadline for 10 working days or more."
    )
    # no overall clock either: the 2021 process sets none and adopts none (issue 28
    # finding 10), so the stage sitting with no deadline is all there is, on Mon 31 March
    # and after
    for day in ("2025-03-31", "2025-04-01"):
        r = drp("overdue", "--on", day, "--owner", "Łukasz Nowak", "--json")
        assert (r.exit_code, [(i["state"], i["which"], i["timescale"]) for i in r.json()]) == (
            0, [("no-deadline", "stage", None)])  # fmt: skip


def test_no_deadline_after_comes_from_the_config(drp, tracker, tmp_path):
    caseload(tracker)
    Path(tmp_path / "config.toml").write_text("no_deadline_after = 5\n")  # DRP_CONFIG
    r = drp("overdue", "--on", "2025-03-07", "--owner", "łukasz nowak")  # Fri: 4 working days
    assert r.stdout == "Nothing overdue or due on 2025-03-07.\n"
    r = drp("overdue", "--on", "2025-03-10", "--owner", "łukasz nowak")  # Mon: 5
    assert r.exit_code == 0
    assert r.stdout.splitlines()[-1] == "0 overdue, 1 with no deadline for 5 working days or more."
    assert "none (stage since 2025-03-03)  no deadline for 5 working days" in r.stdout
    # the library: the config's value, or the caller's
    assert [i.state for i in tracker.overdue(on="2025-03-10", owner="Łukasz Nowak")] == [
        "no-deadline"]  # fmt: skip
    assert tracker.overdue(on="2025-03-10", owner="Łukasz Nowak", no_deadline_after=6) == []
    with pytest.raises(InvalidInput, match=r"^no_deadline_after must be 1 or more") as err:
        tracker.overdue(on="2025-03-10", no_deadline_after=0)
    assert err.value.field == "no_deadline_after"


def test_a_clock_waiting_for_a_step_is_no_deadline_too(drp, tracker):
    """Nottinghamshire 2016 Stage 1: contact within 1 working day (a step deadline); the
    stage's 7 working days run from the urgent plan, which the protocol gives no time: once
    contact is made, nothing runs until the urgent plan is recorded."""
    tracker.open(protocol="nottinghamshire-2016", child="N-1", category="statutory",
                 summary="x", stage="stage-1", reason="Immediate safety",
                 on=D(2025, 3, 3))  # fmt: skip
    r = drp("overdue", "--on", "2025-03-05", "--json")  # contact was due Tue 4 Mar
    assert (r.exit_code, [(i["state"], i["which"], i["step"]) for i in r.json()]) == (
        1, [("overdue", "step", "contact")])  # fmt: skip
    assert drp("done", "1", "contact", "--on", "2025-03-04").exit_code == 0
    r = drp("overdue", "--on", "2025-03-14", "--json")
    assert (r.exit_code, r.json()) == (0, [])
    r = drp("overdue", "--on", "2025-03-17", "--json")
    assert (r.exit_code, states(r)) == (0, [(1, "no-deadline", "stage")])
    # the urgent plan starts the stage's clock: 7 working days, Tue 25 Mar
    assert drp("done", "1", "urgent-plan", "--on", "2025-03-14").exit_code == 0
    r = drp("overdue", "--on", "2025-03-17", "--json")
    assert (r.exit_code, r.json()) == (0, [])
    r = drp("overdue", "--on", "2025-03-25", "--json")
    assert [(i["state"], i["deadline"]) for i in r.json()] == [("due", "2025-03-25")]


# -- whose: --owner, --mine, --team ---------------------------------------------------------------
def test_the_check_for_an_owner_me_or_a_team(drp, tracker, monkeypatch):
    caseload(tracker)

    def ids(*args: str) -> list[tuple[int, str]]:
        r = drp("overdue", "--on", "2025-03-17", "--json", *args)
        assert r.exit_code in (0, 1), r.stderr
        return [(i["id"], i["state"]) for i in r.json()]

    everything = [(2, "overdue"), (1, "past-aim"), (1, "action-overdue"), (3, "no-deadline")]
    assert ids() == everything
    assert ids("--owner", "JO BLOGGS") == [(2, "overdue")]
    assert ids("--owner", "  jo bloggs ") == [(2, "overdue")]  # stripped, as names are stored
    assert ids("--owner", "ŁUKASZ NOWAK") == [(3, "no-deadline")]  # every letter folded
    # the whole name, not a part of it: a name no one has is refused, never an all-clear
    r = drp("overdue", "--on", "2025-03-17", "--json", "--owner", "Jo")
    assert (r.exit_code, r.stdout) == (2, "")
    assert "(did you mean: Jo Bloggs?)" in r.stderr
    assert ids("--mine") == [(1, "past-aim"), (1, "action-overdue")]  # DRP_USER: Test IRO
    assert ids("--team", "north") == [(1, "past-aim"), (1, "action-overdue"), (3, "no-deadline")]
    assert ids("--team", "NORTH", "--mine") == [(1, "past-aim"), (1, "action-overdue")]
    assert ids("--team", "South", "--owner", "Test IRO") == []
    # the exit status follows what is shown: Jo's firm deadline is not mine
    assert drp("overdue", "--on", "2025-03-17", "--mine").exit_code == 0
    assert drp("overdue", "--on", "2025-03-17", "--owner", "jo bloggs").exit_code == 1
    # who "me" is: DRP_USER, else the config file's name
    monkeypatch.delenv("DRP_USER")
    Path(os.environ["DRP_CONFIG"]).write_text('name = "Jo Bloggs"\n')
    assert ids("--mine") == [(2, "overdue")]


def test_whose_filters_refuse_nonsense(drp, tracker):
    caseload(tracker)
    r = drp("overdue", "--mine", "--owner", "Jo Bloggs")
    assert (r.exit_code, r.stderr) == (2, "Error: give --owner or --mine, not both\n")
    r = drp("overdue", "--owner", " ")
    assert (r.exit_code, r.stderr) == (2, "Error: --owner is empty\n")
    r = drp("list", "--team", "")
    assert (r.exit_code, r.stderr) == (2, "Error: --team is empty\n")
    with pytest.raises(InvalidInput, match=r"^give owner or mine, not both$"):
        tracker.concerns(owner="x", mine=True)


# -- the list's filters ----------------------------------------------------------------------------
def listed_caseload(drp, tracker) -> None:
    """The caseload, with notes, a response, a retracted note and a closed concern."""
    caseload(tracker)
    assert drp("note", "3", "--text", "Carer says 50% of contact_visits were cancelled",
               "--on", "2025-03-06").exit_code == 0  # fmt: skip
    assert drp("note", "1", "--text", "Żaneta (sister) asked to see him",
               "--on", "2025-03-04").exit_code == 0  # fmt: skip
    assert drp("respond", "2", "--from", "Practice Manager", "--text", "Plan agreed at panel",
               "--on", "2025-03-07").exit_code == 0  # fmt: skip
    assert drp("note", "4", "--text", "Mother moved to Leeds", "--on", "2025-03-17").exit_code == 0
    with tracker.unit_of_work() as uow:  # entered in error: retracted (seq 2 of concern 4)
        loaded = uow.load(4)
        uow.append(loaded, "retracted", D(2025, 3, 17), "Test IRO", text="Wrong child",
                   details={"seq": 2})  # fmt: skip
    assert drp("resolve", "4", "--outcome", "Contact restarted weekly",
               "--on", "2025-03-18").exit_code == 0  # fmt: skip
    assert drp(*open_args(child="KN-5", summary="Review not held", on="2025-03-18"),
               "--raised-by", "Amélie Durand", "--role", "cp-chair").exit_code == 0  # fmt: skip


def test_list_filters(drp, tracker):
    listed_caseload(drp, tracker)

    def ids(*args: str) -> list[int]:
        r = drp("list", "--json", "--on", "2025-03-18", *args)
        assert r.exit_code == 0, r.stderr
        return [c["id"] for c in r.json()]

    assert ids() == [1, 2, 3, 5]
    assert ids("--status", "all") == [1, 2, 3, 4, 5]
    assert ids("--category", "general") == [3]
    assert ids("--category", "general", "--status", "all") == [3, 4]
    assert ids("--owner", "JO BLOGGS") == [2]
    assert ids("--owner", "łukasz NOWAK") == [3]
    assert ids("--mine", "--status", "all") == [1, 4, 5]
    assert ids("--team", "NORTH") == [1, 3]
    assert ids("--team", "north", "--mine") == [1]
    assert ids("--raised-by", "amélie durand") == [5]  # as --raised-by was typed, any case
    assert ids("--raised-by", "AMÉLIE DURAND") == [5]
    assert ids("--opened-from", "2025-03-04", "--status", "all") == [2, 4, 5]
    assert ids("--opened-to", "2025-03-04") == [1, 3]
    assert ids("--opened-from", "2025-03-05", "--opened-to", "2025-03-05") == [2]
    # firm deadlines only: Knowsley's aim passed is not overdue; on the deadline day it is not
    assert ids("--overdue") == [2]
    r = drp("list", "--json", "--overdue", "--on", "2025-03-12")
    assert (r.exit_code, r.json()) == (0, [])
    assert [c["id"] for c in drp("list", "--json", "--overdue", "--on", "2025-03-13").json()] == [2]


def test_list_search(drp, tracker):
    listed_caseload(drp, tracker)

    def ids(text: str, *args: str) -> list[int]:
        r = drp("list", "--json", "--status", "all", "--search", text, *args)
        assert r.exit_code == 0, r.stderr
        return [c["id"] for c in r.json()]

    assert ids("PLACEMENT") == [3]  # the summary
    assert ids("restarted") == [4]  # the outcome
    assert ids("plan agreed") == [2]  # a response
    assert ids("żANETA") == [1]  # a note, every letter folded
    assert ids("50%") == [3]  # % and _ are themselves, not wildcards
    assert ids("contact_visits") == [3]
    assert ids("contact visits") == []
    assert ids("0%") == [3] and ids("%") == [3] and ids("_") == [3]
    assert ids("leeds") == []  # the note was retracted
    assert ids("Wrong child") == []  # a retraction's reason is not a note
    assert ids("not") == [
        2,
        3,
        5,
    ]  # "Care plan not implemented", "... not meeting ...", "... not held"
    assert ids("not", "--owner", "jo bloggs") == [2]
    r = drp("list", "--search", " ")
    assert (r.exit_code, r.stderr) == (2, "Error: --search is empty\n")
    # the store's own search takes % and _ as text too (the tracker checks what it finds)
    from drp_cli.store import record

    with tracker.store.read() as conn:
        for text, found in (("_", [3]), ("%", [3]), ("50%", [3]), ("t_v", [3]), ("t v", [])):
            assert [r.id for r in record.concerns(conn, {}, search=text)] == found, text


def test_list_filters_refuse_bad_input(drp, tracker):
    caseload(tracker)
    r = drp("list", "--opened-from", "2025-03-10", "--opened-to", "2025-03-03")
    assert (r.exit_code, r.stderr) == (2, "Error: --opened-from is after --opened-to\n")
    r = drp("list", "--opened-from", "last week")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --opened-from is not a real date: use DD/MM/YYYY or YYYY-MM-DD, "
        "e.g. 14/03/2025 or 2025-03-14\n"
    )  # fmt: skip
    r = drp("list", "--category", "drift")
    assert r.exit_code == 2 and r.stderr.startswith("Error: unknown category 'drift'")


LIST_HEADERS = ("ID", "Child", "Protocol", "Stage", "Status", "Deadline", "Formal", "Flags",
                "Addressed to", "Owner", "Summary")  # fmt: skip
LIST_FOOTER = (
    "concerns. Flags: wishes? = child's wishes not recorded; told? = child not recorded as "
    "told the outcome."
)


def test_list_prints_plain_text_when_not_on_a_terminal(drp, tracker, monkeypatch):
    import importlib

    listed_caseload(drp, tracker)
    kn_to, me = "Social worker; Team Manager", "Test IRO"
    r = drp("list", "--on", "2025-03-18", "--status", "all")
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [
        *aligned([
            LIST_HEADERS,
            ("1", "KN-1", "knowsley", "stage-1", "open", "2025-03-10", "-", "past-aim wishes?",
             kn_to, me, KN_SHORT),
            ("2", "WS-2", "west-sussex", "stage-1", "open", "2025-03-12", "2025-04-02",
             "OVERDUE 4wd wishes?", "Practice Manager", "Jo Bloggs", "Care plan not implemented"),
            ("3", "NC-3", "nottinghamshire-crp", "discussion", "open", "-", "-",
             "wishes?", NC_TO[0], "Łukasz Nowak", "Placement not meeting needs"),
            ("4", "KN-4", "knowsley", "stage-1", "resolved", "2025-03-24", "-", "wishes? told?",
             kn_to, me, "Contact stopped"),
            ("5", "KN-5", "knowsley", "stage-1", "open", "2025-03-25", "-", "wishes?", kn_to, me,
             "Review not held"),
        ]),
        f"5 {LIST_FOOTER}",
    ]  # fmt: skip
    assert r.stdout.splitlines()[2] == (
        "1   KN-1   knowsley             stage-1     open      2025-03-10  -           past-aim "
        "wishes?     Social worker; Team Manager" + " " * 58 + "Test IRO      " + KN_SHORT
    )
    r = drp("list", "--on", "2025-03-18", "--child", "nobody")
    assert (r.exit_code, r.stdout) == (0, "No concerns match.\n")
    # on a terminal: a table
    reports = importlib.import_module("drp_cli.cli.reports")
    monkeypatch.setattr(reports, "_is_terminal", lambda: True)
    r = drp("list", "--on", "2025-03-18", "--owner", "jo bloggs")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("┏━━━━┳━━━━━━━┳━━━━━━━━━━━━━┳")
    assert lines[3].startswith("│ 2  │ WS-2  │ west-sussex │ stage-1 │ open   │ 2025-03-12 │")
    assert "│ Practice Manager │ Jo Bloggs │ Care plan not implemented │" in lines[3]
    assert lines[-1] == f"1 {LIST_FOOTER[:-1].replace('concerns', 'concern')}."


def test_the_json_of_a_concern_names_its_owner_team_and_addressees(drp, tracker):
    caseload(tracker)
    (c,) = drp("list", "--json", "--child", "KN-1", "--on", "2025-03-17").json()
    assert (c["owner"], c["team"], c["addressed_to"], c["summary"]) == (
        "Test IRO", "North", KN_TO, KN_SUMMARY)  # fmt: skip
    c = drp("show", "2", "--json", "--on", "2025-03-17").json()
    assert (c["owner"], c["team"], c["addressed_to"]) == (
        "Jo Bloggs",
        "South",
        ["Practice Manager"],
    )


@pytest.mark.parametrize(
    ("text", "short"),
    [
        ("Care plan not implemented", "Care plan not implemented"),
        (KN_SUMMARY, KN_SHORT),  # cut at the last whole word inside 39 characters
        ("Exactly forty characters long, this one", "Exactly forty characters long, this one"),
        ("Forty-one characters long, this one is cut", "Forty-one characters long, this one is…"),
        ("Two\nlines   and\ttabs", "Two lines and tabs"),  # one line, spaces as one
        ("Supercalifragilisticexpialidocious-and-more-besides text",
         "Supercalifragilisticexpialidocious-and…"),  # one long word: cut inside it
        ("A list: first, second; third, fourth, fifth", "A list: first, second; third, fourth…"),
    ],
)  # fmt: skip
def test_short_summaries(text, short):
    from drp_cli.cli.output import short as cut

    assert cut(text) == short
    assert len(cut(text)) <= 40


# -- drp show ID|REF -------------------------------------------------------------------------------
def imported(drp, tmp_path: Path, *rows: dict[str, str]) -> None:
    base = {"protocol": "nottinghamshire-crp", "category": "general", "summary": "Imported",
            "opened_on": "2025-03-03", "stage": "discussion", "stage_started_on": "2025-03-03",
            "status": "open"}  # fmt: skip
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{**base, **row} for row in rows]))
    r = drp("import", str(path))
    assert r.exit_code == 0, r.stderr


def test_show_by_id_external_reference_or_child(drp, tracker, tmp_path):
    caseload(tracker)
    imported(drp, tmp_path, {"child": "NC-3", "external_ref": "NT-1004"},
             {"child": "NC-9", "external_ref": "KN-4"})  # fmt: skip
    # an id
    r = drp("show", "2", "--on", "2025-03-17")
    assert (r.exit_code, r.stdout.splitlines()[0]) == (
        0, "Concern 2: OPEN, OVERDUE by 3 working days (judged on 2025-03-17)")  # fmt: skip
    assert drp("show", " 2 ", "--json").json()["id"] == 2
    # an external reference (Nottinghamshire's, from the spreadsheet it was imported from)
    r = drp("show", "NT-1004", "--json", "--on", "2025-03-17")
    assert (r.exit_code, r.json()["id"], r.json()["external_ref"]) == (0, 5, "NT-1004")
    assert drp("show", "NT-1004").stdout.startswith("Concern 5: OPEN")
    # a child's reference: the child's concerns, as `list --child` shows them (all of them)
    r = drp("show", "NC-3", "--on", "2025-03-17")
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [
        *aligned([
            LIST_HEADERS,
            ("3", "NC-3", "nottinghamshire-crp", "discussion", "open", "-", "-",
             "wishes?", NC_TO[0], "Łukasz Nowak", "Placement not meeting needs"),
            ("5", "NC-3", "nottinghamshire-crp", "discussion", "open", "-", "-",
             "wishes?", NC_TO[0], "Test IRO", "Imported"),
        ]),
        f"2 {LIST_FOOTER}",
    ]  # fmt: skip
    assert drp("resolve", "3", "--outcome", "Moved", "--on", "2025-03-17").exit_code == 0
    r = drp("show", "NC-3", "--json")
    assert [(c["id"], c["status"]) for c in r.json()] == [(3, "resolved"), (5, "open")]
    assert r.json()[0]["events"][-1]["kind"] == "resolved"
    # an external reference is looked for before a child's: KN-4 is concern 6's reference
    assert drp("show", "KN-4", "--json").json()["id"] == 6
    # references are matched exactly as stored
    for ref in ("nc-3", "NT-100", "Jayden Smith"):
        r = drp("show", ref)
        assert (r.exit_code, r.stdout, r.stderr) == (
            3, "", "Error: no concern with that id or reference\n")  # fmt: skip
    # a whole number is an id, whatever else it could be
    r = drp("show", "99")
    assert (r.exit_code, r.stderr) == (3, "Error: no concern with id 99\n")
    for number in ("0", "99999999999999999999"):
        r = drp("show", number)
        assert (r.exit_code, r.stderr.splitlines()[-1]) == (
            2,
            "Error: Invalid value for the concern's id or external reference (NT-1004): "
            f"must be a whole number from 1 to {2**31 - 1}",
        )


def test_find_in_the_library(tracker, tmp_path, drp):
    caseload(tracker)
    imported(drp, tmp_path, {"child": "NC-3", "external_ref": "NT-1004"})
    found = tracker.find("NT-1004")
    assert (found.by, [c.id for c in found.concerns]) == ("external_ref", [5])
    found = tracker.find("NC-3")
    assert (found.by, [c.id for c in found.concerns]) == ("child", [3, 5])
    assert found.concerns[0].events[0].kind == "opened"
    found = tracker.find("2")
    assert (found.by, [c.id for c in found.concerns]) == ("id", [2])
    assert [c.owner for c in tracker.find("NC-3", with_events=False).concerns] == [
        "Łukasz Nowak", "Test IRO"]  # fmt: skip
    for ref in ("", "  ", "NT-1004 x", "Jayden"):
        with pytest.raises(NotFound, match=r"^no concern with that id or reference$"):
            tracker.find(ref)


# -- the library ----------------------------------------------------------------------------------
def test_the_library_filters(tracker):
    caseload(tracker)
    tracker.note(3, text="Half the CONTACT visits cancelled", on=D(2025, 3, 6))

    def ids(**filters: object) -> list[int]:
        return [c.id for c in tracker.concerns(with_events=False, **filters)]

    assert ids(owner="test iro") == [1, 4]
    assert ids(mine=True, team="NORTH") == [1]
    assert ids(category="general") == [3, 4]
    assert ids(search="contact") == [3, 4]  # a note; a summary ("Contact stopped")
    assert ids(opened_from="2025-03-04", opened_to=D(2025, 3, 17)) == [2, 4]
    assert ids(overdue_on="2025-03-13") == [2]
    assert ids(overdue_on="2025-03-12") == []
    items = tracker.overdue(on="2025-03-17", team="north")
    assert [(i.id, i.state, i.owner, i.team) for i in items] == [
        (1, "past-aim", "Test IRO", "North"), (1, "action-overdue", "Test IRO", "North"),
        (3, "no-deadline", "Łukasz Nowak", "North")]  # fmt: skip
    assert items[1].action == ActionDue(1, "Allocate a social worker", "Team Manager")
    assert (items[0].summary, items[0].addressed_to, items[0].stage_started_on) == (
        KN_SUMMARY, tuple(KN_TO), D(2025, 3, 3))  # fmt: skip
    assert [i.id for i in tracker.overdue(on="2025-03-17", mine=True)] == [1, 1]
    with pytest.raises(InvalidInput, match=r"^opened_from is after opened_to$"):
        tracker.concerns(opened_from="2025-03-05", opened_to="2025-03-04")


def test_a_protocol_no_longer_installed_has_no_addressees(drp, tracker, user_protocols):
    """A concern whose protocol file was removed still shows in the check and the list,
    addressed to no one known."""
    import shutil

    from drp_cli.domain.protocols import _cached_registry, builtin_dir

    text = (builtin_dir() / "west-sussex.toml").read_text().replace(
        'slug = "west-sussex"', 'slug = "west-sussex-local"', 1)  # fmt: skip
    (user_protocols / "west-sussex-local.toml").write_text(text)
    _cached_registry.cache_clear()
    c = tracker.open(protocol="west-sussex-local", child="WL-1", category="general",
                     summary="x", on=D(2025, 3, 3))  # fmt: skip
    tracker.done(c.id, "pm-request", on=D(2025, 3, 3))  # the Practice Manager's clock (§3 iv)
    shutil.rmtree(user_protocols)
    user_protocols.mkdir()
    _cached_registry.cache_clear()
    r = drp("overdue", "--on", "2025-03-17", "--json")
    assert [(i["protocol"], i["addressed_to"]) for i in r.json()] == [("west-sussex-local", [])]
    r = drp("overdue", "--on", "2025-03-17")
    assert r.stdout.splitlines()[1:-1] == aligned([
        CHECK_HEADERS,
        ("1", "WL-1", "west-sussex-local", "informal", "2025-03-10 (stage)",
         "OVERDUE 5 working days", "no", "-", "Test IRO", "x"),
    ])  # fmt: skip


# -- the fast JSON writer ----------------------------------------------------------------------
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
caseload_items = st.lists(
    st.builds(
        OverdueItem,
        id=st.integers(min_value=1, max_value=10**9),
        child=texts,
        protocol=st.sampled_from(["knowsley", "west-sussex"]),
        stage=texts,
        state=st.sampled_from(["overdue", "action-overdue", "no-deadline", "due"]),
        deadline=st.none() | st.dates(),
        which=st.sampled_from(["stage", "formal", "action"]),
        working_days_overdue=st.integers(min_value=0, max_value=500),
        working_days_left=st.integers(min_value=0, max_value=260),
        responded=st.booleans(),
        timescale=st.sampled_from([None, "firm", "aim", "guidance", "agreed"]),
        step=st.none() | texts,
        summary=texts,
        addressed_to=st.lists(texts, max_size=3).map(tuple),
        owner=st.none() | texts,
        team=st.none() | texts,
        stage_started_on=st.none() | st.dates(),
        working_days_at_stage=st.integers(min_value=0, max_value=500),
        action=st.none() | st.builds(ActionDue, n=st.integers(min_value=1, max_value=99),
                                     text=texts, owner=texts),
    ),
    max_size=6,
)  # fmt: skip


@settings(deadline=None)  # a busy machine's pause must not fail an example
@given(caseload_items)
def test_overdue_json_with_every_key_is_exactly_json_dumps(items):
    from drp_cli.cli.dailycheck import overdue_json

    assert overdue_json(items) == json.dumps([i.to_dict() for i in items], indent=2,
                                             ensure_ascii=False)  # fmt: skip


# -- cost: indexes, and the protocols read only when a line is shown ------------------------------
def test_the_check_and_the_filters_use_the_indexes(db_path, sql):
    """Every search of the morning check goes through an index, with the owner and team
    filters too; the actions are found through the open concerns (the status index) and
    the item table's concern index; a text search reads the events of a concern through
    the event table's concern index."""
    from drp_cli.store.connection import Store
    from drp_cli.store.daily import actions_sql, overdue_sql
    from drp_cli.store.record import _SEARCH

    day = D(2025, 3, 3)

    def plan(query: str, params: tuple[object, ...]) -> str:
        with Store(db_path).write() as conn:
            return " | ".join(str(r[-1]) for r in conn.rows("EXPLAIN QUERY PLAN " + query,
                                                             params))  # fmt: skip

    check = plan(overdue_sql(["owner", "team"]), (day, "a", "b") * 4)
    assert check.count("SEARCH concern USING INDEX ix_concern_status_") == 4, check
    assert "SCAN" not in check
    assert "status=? AND deadline<?" in check and "status=? AND step_deadline=?" in check
    actions = plan(actions_sql(["owner"]), ("a",))
    assert "SEARCH c USING INDEX ix_concern_status_" in actions, actions
    assert "SEARCH i USING INDEX ix_item_concern_id (concern_id=?)" in actions
    assert "SCAN" not in actions
    search = plan(f"SELECT id FROM concern WHERE status = 'open' AND {_SEARCH}", ("%x%",) * 3)
    assert "SEARCH e USING INDEX ix_event_concern_id (concern_id=?)" in search, search


def test_the_check_reads_the_protocols_only_to_show_a_line(db_path):
    import subprocess
    import sys

    t = Tracker(db_path)
    t.open(protocol="west-sussex", child="WS-1", category="statutory", summary="x",
           on=D(2025, 3, 3))  # fmt: skip
    # an action the store finds, not yet due; a stage with no deadline the store finds (10
    # calendar days) that has sat only 8 working days on Fri 7 Mar: no line, no protocol read
    details.add(t, 1, "action", text="Later", owner="TM", due="2025-04-30", on=D(2025, 3, 3))
    t.open(protocol="nottinghamshire-crp", child="NC-1", category="general", summary="y",
           on=D(2025, 2, 25))  # fmt: skip
    t.store.close()

    def run(on: str) -> tuple[str, list[str]]:
        script = (
            "import sys\n"
            f"sys.argv = ['drp', 'overdue', '--on', '{on}']\n"
            "from drp_cli.__main__ import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stdout.flush()\n"
            "print('@@', sorted(m for m in sys.modules if m.split('.')[0] in "
            "('msgspec', 'sqlalchemy', 'rich')))\n"
        )
        env = {**os.environ, "DRP_DB": str(db_path), "DRP_CACHE": str(cache)}
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, check=True)  # fmt: skip
        text, _, tail = out.stdout.rpartition("@@ ")
        return text, ast.literal_eval(tail)

    cache = db_path.parent / "cache"
    text, heavy = run("2025-03-07")
    assert (text, heavy) == ("Nothing overdue or due on 2025-03-07.\n", [])
    # the first line shown reads the protocols, and keeps whom each stage is addressed to
    text, heavy = run("2025-03-17")
    assert "Practice Manager" in text and "msgspec" in heavy and "sqlalchemy" not in heavy
    assert (cache / "addressees.json").stat().st_mode & 0o777 == 0o600
    # the next morning the names come from the cache: no protocol is loaded
    text, heavy = run("2025-03-18")
    assert "Practice Manager" in text and heavy == []
    # a protocol file changed (a user's own added): read again
    from drp_cli.domain.protocols import builtin_dir

    mine = Path(os.environ["DRP_PROTOCOLS"]) / "west-sussex-local.toml"
    mine.write_text((builtin_dir() / "west-sussex.toml").read_text().replace(
        'slug = "west-sussex"', 'slug = "west-sussex-local"', 1))  # fmt: skip
    text, heavy = run("2025-03-18")
    assert "Practice Manager" in text and "msgspec" in heavy
