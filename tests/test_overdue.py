"""`drp overdue`: the IRO's daily check, its JSON and its exit status."""

from __future__ import annotations

from tests.conftest import open_args


def setup_three(drp):
    # 1: Knowsley stage-1 from Mon 3 Mar 2025, aim Mon 10 Mar ("within Knowsley the aim is
    #    5 working days to complete", Standard 3.1).
    assert drp(*open_args(child="KN-1")).exit_code == 0
    # 2: West Sussex straight to stage-1 on Wed 5 Mar, deadline Wed 12 Mar ("within 5 days
    #    of initiation", §5), firm; formal 2 Apr.
    assert drp(*open_args(child="WS-2", protocol="west-sussex", stage="stage-1", role="cpa",
                          on="2025-03-05", reason="Immediate safety")).exit_code == 0  # fmt: skip
    # 3: SBC informal on Mon 10 Mar, "within ten working days" -> Mon 24 Mar, firm; the
    #    concern is about a foster carer household (a carer reference).
    args = open_args(child="SB-3", protocol="sbc-fciro", role="fciro", on="2025-03-10")
    assert drp(*[("--carer" if a == "--child" else a) for a in args]).exit_code == 0


SUMMARY = "No allocated social worker since the review on 2025-02-20."
SHORT = "No allocated social worker since the…"
KN_TO = ["Social worker", "Team Manager"]


def test_nothing_overdue_exits_0(drp):
    setup_three(drp)
    r = drp("overdue", "--on", "2025-03-07")
    assert (r.exit_code, r.stdout) == (0, "Nothing overdue or due on 2025-03-07.\n")
    r = drp("overdue", "--on", "2025-03-07", "--json")
    assert (r.exit_code, r.json()) == (0, [])
    # the deadline day of concern 1: still in time, and shown as due today
    r = drp("overdue", "--on", "2025-03-10")
    assert (r.exit_code, r.stdout) == (0, (
        "Deadlines on 2025-03-10\n"
        "ID  Child  Protocol  Stage    Deadline            State      Responded  Addressed to"
        "                 Owner     Summary\n"
        "--  -----  --------  -------  ------------------  ---------  ---------  ------------"
        "---------------  --------  -------------------------------------\n"
        "1   KN-1   knowsley  stage-1  2025-03-10 (stage)  due today  no         Social worker;"
        " Team Manager  Test IRO  No allocated social worker since the…\n"
        "0 overdue, 1 due today.\n"
    ))  # fmt: skip
    r = drp("overdue", "--on", "2025-03-10", "--json")
    assert (r.exit_code, [(i["id"], i["state"], i["working_days_left"]) for i in r.json()]) == (
        0, [(1, "due", 0)])  # fmt: skip


def test_overdue_json_and_exit_1(drp):
    setup_three(drp)
    drp("respond", "2", "--text", "Looking into it", "--on", "2025-03-11")
    r = drp("overdue", "--on", "2025-03-17", "--json")
    assert r.exit_code == 1  # concern 2's firm deadline
    # the firm deadline first; Knowsley's aim passed is past-aim, never overdue
    assert r.json() == [
        {"id": 2, "child": "WS-2", "protocol": "west-sussex", "stage": "stage-1",
         "state": "overdue", "deadline": "2025-03-12", "which": "stage",
         "working_days_overdue": 3, "working_days_left": 0, "responded": True,
         "timescale": "firm", "step": None, "summary": SUMMARY,
         "addressed_to": ["Practice Manager"], "owner": "Test IRO", "team": None,
         "stage_started_on": "2025-03-05", "working_days_at_stage": 8, "action": None},
        {"id": 1, "child": "KN-1", "protocol": "knowsley", "stage": "stage-1",
         "state": "past-aim", "deadline": "2025-03-10", "which": "stage",
         "working_days_overdue": 5, "working_days_left": 0, "responded": False,
         "timescale": "aim", "step": None, "summary": SUMMARY, "addressed_to": KN_TO,
         "owner": "Test IRO", "team": None, "stage_started_on": "2025-03-03",
         "working_days_at_stage": 10, "action": None},
    ]  # fmt: skip
    # with only an aim passed the check exits 0: nothing firm is breached
    drp("resolve", "2", "--outcome", "Resolved", "--on", "2025-03-14")
    r = drp("overdue", "--on", "2025-03-17", "--json")
    assert (r.exit_code, [i["state"] for i in r.json()]) == (0, ["past-aim"])


def test_within_lists_what_is_due_soon(drp):
    setup_three(drp)
    r = drp("overdue", "--on", "2025-03-20", "--within", "2", "--json")
    assert r.exit_code == 1
    due = [i for i in r.json() if i["state"] == "due"]
    # Thu 20 Mar + 2 working days = Mon 24 Mar: concern 3's deadline, 2 working days left;
    # an aim: "It is expected that this matter will be resolved within ten working days"
    assert due == [
        {"id": 3, "child": "SB-3", "protocol": "sbc-fciro", "stage": "informal", "state": "due",
         "deadline": "2025-03-24", "which": "stage", "working_days_overdue": 0,
         "working_days_left": 2, "responded": False, "timescale": "aim", "step": None,
         "summary": SUMMARY,
         "addressed_to": ["Supervising social worker", "Their supervisor/manager",
                          "Fostering Managers"],
         "owner": "Test IRO", "team": None, "stage_started_on": "2025-03-10",
         "working_days_at_stage": 8, "action": None},
    ]  # fmt: skip
    r = drp("overdue", "--on", "2025-03-20", "--within", "1", "--json")
    assert [i["id"] for i in r.json()] == [2, 1]
    r = drp("overdue", "--on", "2025-03-20", "--within", "2")
    assert "past its aim by 8 working days" in r.stdout
    assert "OVERDUE 6 working days" in r.stdout
    assert "due in 2 working days" in r.stdout
    assert r.stdout.rstrip().endswith(
        "1 overdue, 1 past an aim or the IRO Handbook's guidance, 1 due within 2 working days."
    )


def test_formal_deadline_breach_is_reported(drp):
    # West Sussex concern with an IRO due date well inside each stage, moving stage by stage,
    # so that only the 20-working-day formal limit is breached.
    drp(*open_args(child="WS-9", protocol="west-sussex", stage="stage-1", role="cpa",
                   on="2025-03-03", reason="Immediate safety"))  # fmt: skip
    # Formal limit: Mon 3 Mar + 20 working days = Mon 31 Mar.
    for on in ("2025-03-07", "2025-03-14", "2025-03-21", "2025-03-28"):
        assert drp("escalate", "1", "--on", on).exit_code == 0
    # now at stage-5 (no timescale); on Tue 1 Apr the formal limit is 1 working day past
    r = drp("overdue", "--on", "2025-04-01", "--json")
    assert r.json()[0]["deadline"] == "2025-03-31"
    assert r.json()[0]["which"] == "formal"
    assert r.json()[0]["working_days_overdue"] == 1


def test_resolved_and_withdrawn_are_never_overdue(drp):
    setup_three(drp)
    drp("resolve", "1", "--outcome", "done", "--on", "2025-03-12")
    drp("withdraw", "2", "--reason", "duplicate", "--on", "2025-03-12")
    r = drp("overdue", "--on", "2025-03-17", "--json")
    assert (r.exit_code, r.json()) == (0, [])


def test_overdue_bad_input(drp):
    r = drp("overdue", "--on", "yesterday")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --on is not a real date: use DD/MM/YYYY or YYYY-MM-DD, "
        "e.g. 14/03/2025 or 2025-03-14\n"
    )  # fmt: skip
    assert drp("overdue", "--within", "-1").exit_code == 2


def test_table_on_a_terminal_plain_text_otherwise(drp, monkeypatch):
    import importlib

    setup_three(drp)
    # cron mail and pipes: plain aligned text, no box lines, nothing cut at 80 columns
    r = drp("overdue", "--on", "2025-03-17")
    assert r.stdout == (
        "Deadlines on 2025-03-17\n"
        "ID  Child  Protocol     Stage    Deadline            State                           "
        "Responded  Addressed to                 Owner     Summary\n"
        "--  -----  -----------  -------  ------------------  ------------------------------  "
        "---------  ---------------------------  --------  -------------------------------------\n"
        "2   WS-2   west-sussex  stage-1  2025-03-12 (stage)  OVERDUE 3 working days          no "
        "        Practice Manager             Test IRO  No allocated social worker since the…\n"
        "1   KN-1   knowsley     stage-1  2025-03-10 (stage)  past its aim by 5 working days  no "
        "        Social worker; Team Manager  Test IRO  No allocated social worker since the…\n"
        "1 overdue, 1 past an aim or the IRO Handbook's guidance.\n"
    )
    dailycheck = importlib.import_module("drp_cli.cli.dailycheck")
    monkeypatch.setattr(dailycheck, "_is_terminal", lambda: True)
    r = drp("overdue", "--on", "2025-03-17")
    assert r.stdout.startswith("Deadlines on 2025-03-17")
    assert "┏━━━━┳━━━━━━━┳" in r.stdout
    assert "│ 2  │ WS-2  │ west-sussex │ stage-1 │ 2025-03-12 (stage) │ OVERDUE 3" in r.stdout
    assert r.stdout.endswith("1 overdue, 1 past an aim or the IRO Handbook's guidance.\n")
