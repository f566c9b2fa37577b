"""Issue 27's examples: every output says what the one judgement of a concern says.

Hand-worked dates (England and Wales bank holidays; none between 9 Nov and 8 Dec 2026):
Knowsley, opened Mon 2 Nov 2026 at Stage 1 (informal), escalated to Stage 2 (formal) on
Mon 9 Nov 2026. Stage 2 "aiming for 5 working days to resolve" (Standard 3.2): an aim, due
Mon 16 Nov. Stages 2 to 4 "cannot take longer than 20 working days to resolve" (Standard
3.5): a firm limit, due 20 working days after Mon 9 Nov, which is Mon 7 Dec 2026.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from drp_cli.domain import judgement
from drp_cli.domain.calendar import WorkingCalendar

D = dt.date


def knowsley_at_stage_2(drp) -> None:
    r = drp("open", "--protocol", "knowsley", "--child", "KN-77", "--category", "statutory",
            "--summary", "Care plan drift", "--on", "2026-11-02")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = drp("escalate", "1", "--on", "2026-11-09", "--note", "No reply")
    assert r.exit_code == 0, r.stderr


def lines(r) -> list[tuple[str, str, str | None, int, int]]:
    return [(i["which"], i["state"], i["deadline"], i["working_days_overdue"],
             i["working_days_left"]) for i in json.loads(r.stdout)]  # fmt: skip


def test_the_morning_check_shows_a_firm_limit_falling_due_beside_an_aim_passed(drp):
    knowsley_at_stage_2(drp)
    # Fri 4 Dec, three working days ahead: Mon 7 Dec's firm limit is due in 1 working day
    r = drp("overdue", "--on", "2026-12-04", "--within", "3", "--json")
    assert r.exit_code == 0  # an aim passed and a limit not yet reached: not overdue
    assert lines(r) == [
        ("stage", "past-aim", "2026-11-16", 14, 0),
        ("formal", "due", "2026-12-07", 0, 1),
    ]
    # on the day itself, with no look-ahead
    r = drp("overdue", "--on", "2026-12-07", "--json")
    assert r.exit_code == 0
    assert lines(r) == [
        ("stage", "past-aim", "2026-11-16", 15, 0),
        ("formal", "due", "2026-12-07", 0, 0),
    ]
    # the text says so too, a line each
    r = drp("overdue", "--on", "2026-12-07")
    assert "2026-12-07 (formal)" in r.stdout and "due today" in r.stdout
    assert "2026-11-16 (stage)" in r.stdout and "past its aim by 15 working days" in r.stdout
    assert r.stdout.splitlines()[-1] == (
        "0 overdue, 1 past an aim or the IRO Handbook's guidance, 1 due today."
    )
    # the day after, the firm limit is passed: exit status 1
    r = drp("overdue", "--on", "2026-12-08", "--json")
    assert r.exit_code == 1
    assert lines(r) == [
        ("formal", "overdue", "2026-12-07", 1, 0),
        ("stage", "past-aim", "2026-11-16", 16, 0),
    ]


def test_show_lists_every_clock_as_the_morning_check_judges_it(drp):
    knowsley_at_stage_2(drp)
    d = json.loads(drp("show", "1", "--json", "--on", "2026-12-07").stdout)
    clocks = [(c["which"], c["due"], c["kind"], c["state"]) for c in d["clocks"]]
    assert clocks == [
        ("stage", "2026-11-16", "aim", "past-aim"),
        ("formal", "2026-12-07", "firm", "due"),
    ]
    formal = d["clocks"][1]
    assert formal["start"] == "2026-11-09"
    assert formal["quote"] == "cannot take longer than 20 working days to resolve"
    assert (d["overdue"], d["past_aim"]) == (False, True)


def test_the_bundle_says_what_show_says(drp, tmp_path: Path):
    opened = drp("open", "--protocol", "nottinghamshire-2016", "--child", "NT-5",
                 "--category", "care-plan", "--summary", "Placement ending", "--on",
                 "2026-11-02")  # fmt: skip
    assert opened.exit_code == 0, opened.stderr
    r = drp("cafcass", "1", "senior-officer-notified", "--officer", "Group Manager SIR",
            "--on", "2026-11-03")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = drp("voice", "1", "wishes-sought", "--text", "Seen alone; wants to stay at her school",
            "--on", "2026-11-04")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = drp("refer", "1", "--on", "2026-11-05", "--text", "Placement ends in weeks")
    assert r.exit_code == 0, r.stderr
    d = json.loads(drp("show", "1", "--json", "--on", "2026-11-06").stdout)
    assert (d["senior_officer_notified_on"], d["senior_officer"]) == (
        "2026-11-03", "Group Manager SIR")  # fmt: skip
    out = tmp_path / "bundle"
    r = drp("bundle", "1", "--output", str(out), "--on", "2026-11-06")
    assert r.exit_code in (0, 1), r.stderr
    index = (out / "index.md").read_text()
    assert "| **Senior officer notified** | Group Manager SIR, on Tue 3 November 2026 |" in index
    assert "NOT RECORDED" not in index
    wishes = (out / "04-wishes-and-feelings.md").read_text()
    assert "Seen alone; wants to stay at her school" in wishes
    assert "MISSING" not in wishes
    assert "| present | IRO report on the child's wishes and feelings |" in index
    chronology = (out / "03-chronology.md").read_text()
    row = next(line for line in chronology.splitlines() if "| 3\u00a0Nov\u00a02026 |" in line)
    assert "CAFCASS: nominated senior officer notified that a referral is considered" in row
    assert "Group Manager SIR" in row


def test_judge_is_the_one_rule_for_an_open_clock():
    """Pure: no database. Mon 7 Dec 2026 judged from Fri 4 Dec, Mon 7 and Tue 8 Dec."""
    cal = WorkingCalendar()
    due = D(2026, 12, 7)
    assert judgement.judge(cal, due, "firm", D(2026, 12, 4)) == judgement.Judged("pending", 0, 1)
    assert judgement.judge(cal, due, "firm", D(2026, 12, 4), D(2026, 12, 9)) == (
        judgement.Judged("due", 0, 1))  # fmt: skip
    assert judgement.judge(cal, due, "firm", due) == judgement.Judged("due", 0, 0)
    assert judgement.judge(cal, due, "firm", D(2026, 12, 8)) == judgement.Judged("overdue", 1, 0)
    assert judgement.judge(cal, due, None, D(2026, 12, 8)).state == "overdue"
    assert judgement.judge(cal, due, "aim", D(2026, 12, 8)).state == "past-aim"
    assert judgement.judge(cal, due, "guidance", D(2026, 12, 8)).state == "past-guidance"
    assert judgement.judge(cal, due, "agreed", D(2026, 12, 8)).state == "action-overdue"
    # passed over a weekend: Fri 4 Dec due, judged Mon 7 Dec is one working day late
    assert judgement.judge(cal, D(2026, 12, 4), "firm", D(2026, 12, 7)).late == 1
    # a weekend day after a due Friday is not yet a working day late
    assert judgement.judge(cal, D(2026, 12, 4), "firm", D(2026, 12, 6)).late == 0
