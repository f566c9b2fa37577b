"""Each protocol's deadlines, worked out by hand from the seeds (counting shown inline)."""

from __future__ import annotations

import datetime as dt

D = dt.date


def test_nottinghamshire_2016_through_christmas(tracker):
    # IRO Alert, 10 working days (seed 000 §1 para 6), raised Mon 15 Dec 2025:
    # 16-19 (4), 22-24 (7), [25, 26 Dec], 29-31 (10) -> Wed 31 Dec 2025.
    c = tracker.open(
        protocol="nottinghamshire-2016", child="NT-1", category="care-plan",
        summary="Plan not implemented", on=D(2025, 12, 15),
    )  # fmt: skip
    assert (c.stage, c.deadline, c.formal_deadline) == ("alert", D(2025, 12, 31), None)
    # Stage 1, 7 working days (§1 para 8), Wed 7 Jan 2026: 8, 9 (2), 12-16 (7) -> Fri 16 Jan.
    # Formal limit 20 working days from Wed 7 Jan: 8-9 (2), 12-16 (7), 19-23 (12),
    # 26-30 (17), 2-4 Feb (20) -> Wed 4 Feb 2026.
    c = tracker.escalate(c.id, on=D(2026, 1, 7))
    assert (c.stage, c.deadline, c.formal_deadline) == ("stage-1", D(2026, 1, 16), D(2026, 2, 4))
    # Stage 2, professionals' meeting within 7 working days, Fri 16 Jan: 19-23 (5), 26-27 (7).
    c = tracker.escalate(c.id, on=D(2026, 1, 16))
    assert (c.stage, c.deadline) == ("stage-2", D(2026, 1, 27))
    # Stage 3, 5 working days, Tue 27 Jan: 28-30 (3), 2-3 Feb (5) -> Tue 3 Feb.
    c = tracker.escalate(c.id, on=D(2026, 1, 27))
    assert (c.stage, c.deadline, c.formal_deadline) == ("stage-3", D(2026, 2, 3), D(2026, 2, 4))


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
    # 10-14 (17), 17-19 (20) -> Wed 19 Jun 2024.
    c = tracker.escalate(c.id, to="level-3", on=D(2024, 5, 21))
    assert (c.stage, c.deadline, c.formal_deadline) == ("level-3", D(2024, 5, 29), D(2024, 6, 19))
    assert c.events[-1].details["bypassed"] == ["level-1", "level-2"]


def test_nottinghamshire_crp_has_no_invented_timescales(tracker):
    c = tracker.open(
        protocol="nottinghamshire-crp", child="NC-1", category="general", summary="x",
        on=D(2025, 6, 2),
    )  # fmt: skip
    assert (c.deadline, c.formal_deadline) == (None, None)
    # Manager review: no stage timescale; the IRO Handbook's 20 days from Mon 9 Jun 2025:
    # 10-13 (4), 16-20 (9), 23-27 (14), 30 Jun-4 Jul (19), Mon 7 Jul (20).
    c = tracker.escalate(c.id, on=D(2025, 6, 9))
    assert (c.deadline, c.formal_deadline) == (None, D(2025, 7, 7))
    # The IRO can set a due date where the source sets none.
    c = tracker.escalate(c.id, on=D(2025, 6, 16), due=D(2025, 6, 20))
    assert (c.stage, c.deadline) == ("escalation", D(2025, 6, 20))
