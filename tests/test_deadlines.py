"""Each protocol's deadlines, worked out by hand from the seeds (counting shown inline)."""

from __future__ import annotations

import datetime as dt

D = dt.date


def test_nottinghamshire_2016_through_christmas(tracker):
    # IRO Alert, "within the maximum 10 working days" (NSCB 11.3.4 §1 para 6), raised Mon 15
    # Dec 2025: 16-19 (4), 22-24 (7), [25, 26 Dec], 29-31 (10) -> Wed 31 Dec 2025, firm.
    c = tracker.open(
        protocol="nottinghamshire-2016", child="NT-1", category="care-plan",
        summary="Plan not implemented", on=D(2025, 12, 15),
    )  # fmt: skip
    assert (c.stage, c.deadline, c.deadline_kind, c.formal_deadline) == (
        "alert", D(2025, 12, 31), "firm", None)  # fmt: skip
    # Stage 1 on Wed 7 Jan 2026: "within 24 hours, the service manager ICS will communicate
    # with the service manager for the child's social worker" (§1 para 8): the next
    # calendar day, Thu 8 Jan. "An urgent plan will be agreed with actions to be taken within
    # 7 working days": the 7 days run from the plan, not yet agreed, so no stage deadline
    # yet. The source sets no overall limit, and none is carried from another council's
    # document (issue 28 finding 11).
    c = tracker.escalate(c.id, on=D(2026, 1, 7))
    assert (c.stage, c.deadline, c.step, c.step_deadline) == (
        "stage-1", None, "contact", D(2026, 1, 8))  # fmt: skip
    assert (c.formal_deadline, c.formal_deadline_kind) == (None, None)
    c = tracker.done(c.id, "contact", on=D(2026, 1, 8))
    assert (c.deadline, c.step) == (None, None)  # agreeing the plan has no timescale
    # The plan agreed Fri 9 Jan: 12-16 (5), 19-20 (7) -> Tue 20 Jan, firm.
    c = tracker.done(c.id, "urgent-plan", on=D(2026, 1, 9))
    assert (c.deadline, c.deadline_kind) == (D(2026, 1, 20), "firm")
    # Stage 2 on Tue 20 Jan: "a professionals meeting should be held within 7 working days
    # following the outcome of Stage 1" (no outcome recorded: from the escalation): 21-23
    # (3), 26-29 (7) -> Thu 29 Jan, an aim ("should"); the stage has no timescale of its own.
    c = tracker.escalate(c.id, on=D(2026, 1, 20))
    assert (c.stage, c.deadline, c.step, c.step_deadline, c.step_deadline_kind) == (
        "stage-2", None, "professionals-meeting", D(2026, 1, 29), "aim")  # fmt: skip
    c = tracker.meeting(c.id, attendees=["SM ICS (chair)", "Social worker", "IRO"],
                        text="Actions agreed", on=D(2026, 1, 28))  # fmt: skip
    assert c.events[-1].details["step"] == "professionals-meeting"
    assert (c.step, c.step_deadline) == (None, None)
    # Stage 3, "within 5 working days", Thu 29 Jan: 30 (1), 2-5 Feb (5) -> Thu 5 Feb.
    c = tracker.escalate(c.id, on=D(2026, 1, 29))
    assert (c.stage, c.deadline, c.formal_deadline) == ("stage-3", D(2026, 2, 5), None)


def test_nottinghamshire_alert_with_council_closure(tracker):
    # With the office closed 29-31 Dec 2025 the alert deadline moves past New Year's Day:
    # 16-19 (4), 22-24 (7), Fri 2 Jan (8), Mon 5 (9), Tue 6 Jan 2026 (10).
    c = tracker.open(
        protocol="nottinghamshire-2016", child="NT-2", category="general", summary="x",
        on=D(2025, 12, 15),
    )  # fmt: skip
    tracker.add_closures(D(2025, 12, 29), D(2025, 12, 31), reason="Christmas closure")
    assert tracker.get(c.id).deadline == D(2026, 1, 6)
    tracker.remove_closure(D(2025, 12, 31))
    # 29, 30 closed: Wed 31 Dec (8), Fri 2 Jan (9), Mon 5 Jan (10).
    assert tracker.get(c.id).deadline == D(2026, 1, 5)


def test_knowsley_over_easter_and_may(tracker):
    # Stage 1 informal challenge, aim 5 working days (Standard 3.1), Wed 16 Apr 2025:
    # Thu 17 (1), [Good Friday 18, Easter Monday 21], 22-25 (5) -> Fri 25 Apr.
    c = tracker.open(
        protocol="knowsley", child="KN-1", category="statutory", summary="x", on=D(2025, 4, 16)
    )
    assert c.deadline == D(2025, 4, 25)
    # Stage 2, 5 working days, Fri 25 Apr: 28-30 Apr, 1-2 May -> Fri 2 May.
    # Stages 2-4 within 20 working days (Standard 3.5): 28 Apr-2 May (5), [5 May bank
    # holiday], 6-9 (9), 12-16 (14), 19-23 (19), [26 May bank holiday], Tue 27 May (20).
    c = tracker.escalate(c.id, on=D(2025, 4, 25))
    assert (c.deadline, c.formal_deadline) == (D(2025, 5, 2), D(2025, 5, 27))


def test_west_sussex_straight_to_formal_over_substitute_days(tracker):
    # Immediate safety: straight to Stage 1 (seed 004 §3), Thu 23 Dec 2021, 5 working days:
    # Fri 24 (1), [Mon 27, Tue 28 substitute days], 29-31 (4), [Mon 3 Jan substitute for
    # New Year's Day], Tue 4 Jan 2022 (5).
    # Formal limit, 20 working days: 24 (1), 29-31 (4), 4-7 Jan (8), 10-14 (13), 17-21 (18),
    # 24-25 (20) -> Tue 25 Jan 2022.
    c = tracker.open(
        protocol="west-sussex", child="WS-1", category="statutory", summary="x",
        stage="stage-1", role="cpa", on=D(2021, 12, 23),
    )  # fmt: skip
    assert (c.stage, c.deadline, c.formal_deadline) == ("stage-1", D(2022, 1, 4), D(2022, 1, 25))
    assert c.events[0].details["bypassed"] == ["informal"]
    # Stage 5 has no timescale in the source: no stage deadline, the formal one remains.
    c = tracker.escalate(c.id, to="stage-5", on=D(2022, 1, 10))
    assert (c.stage, c.deadline, c.formal_deadline) == ("stage-5", None, D(2022, 1, 25))


def test_sbc_bypass_to_level_3(tracker):
    # Informal, 10 working days (seed 001 Table 1), Fri 3 May 2024: [Mon 6 May bank
    # holiday], 7-10 (4), 13-17 (9), Mon 20 May (10).
    c = tracker.open(
        protocol="sbc-fciro", child="SB-1", category="service", summary="x", on=D(2024, 5, 3)
    )
    assert c.deadline == D(2024, 5, 20)
    # Bypass to Level 3 on Tue 21 May, 5 working days: 22-24 (3), [27 May bank holiday],
    # 28-29 (5) -> Wed 29 May. Formal limit 20: 22-24 (3), 28-31 (7), 3-7 Jun (12),
    # 10-14 (17), 17-19 (20) would be Wed 19 Jun 2024, but the source sets no overall limit
    # and the IRO Handbook (looked-after children's care plans) does not reach reviews of
    # foster carers: no formal deadline.
    c = tracker.escalate(c.id, to="level-3", on=D(2024, 5, 21))
    assert (c.stage, c.deadline, c.formal_deadline) == ("level-3", D(2024, 5, 29), None)
    assert c.events[-1].details["bypassed"] == ["level-1", "level-2"]


def test_nottinghamshire_crp_has_no_invented_timescales(tracker):
    # No stage has a timescale (the flow chart that sets the steps is not in the text), and
    # no overall limit either: the text has no numbers at all, and the IRO Handbook's 20
    # working days are not carried into it from another council's document (issue 28
    # finding 10).
    c = tracker.open(
        protocol="nottinghamshire-crp", child="NC-1", category="general", summary="x",
        on=D(2025, 6, 2),
    )  # fmt: skip
    assert (c.deadline, c.formal_deadline, c.formal_deadline_kind) == (None, None, None)
    c = tracker.escalate(c.id, on=D(2025, 6, 9))
    assert (c.deadline, c.formal_deadline) == (None, None)
    # The IRO can set a due date where the source sets none: the IRO's own date is firm.
    c = tracker.escalate(c.id, on=D(2025, 6, 16), due=D(2025, 6, 20))
    assert (c.stage, c.deadline, c.deadline_kind) == ("escalation", D(2025, 6, 20), "firm")
    c = tracker.open(
        protocol="nottinghamshire-crp", child="NC-2", category="general", summary="x",
        role="cp-coordinator", on=D(2025, 6, 2),
    )  # fmt: skip
    assert c.formal_deadline is None
