"""The lifecycle rule on its own (no database), and through the Tracker where the rule meets
the calendar. Dates are worked out by hand from the Knowsley protocol (seed 002): every
stage "aiming for 5 working days" (stage timescale 5), stages 2-4 "cannot take longer than
20 working days" (formal cap 20), England & Wales bank holidays."""

from __future__ import annotations

import datetime as dt

import pytest

from drp_cli.core.errors import InvalidInput
from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.lifecycle import Fact, fold, stage_at
from drp_cli.domain.protocols import registry
from drp_cli.domain.views import stage_visits
from drp_cli.services.tracker import Tracker

D = dt.date
OPENING: dict[str, object] = {
           "protocol": "knowsley", "child": "KN-1", "category": "statutory", "issue": None,
           "impact": "", "recommended": "", "raised_by": "A. IRO", "role": "iro",
           "uid": "u1", "due": None, "bypassed": []}  # fmt: skip


def protocols():
    return registry().protocols


def facts(*events):
    return [Fact(n, kind, on, stage, "A. IRO", text, details)
            for n, (kind, on, stage, text, details) in enumerate(events, start=1)]  # fmt: skip


def test_opening_alone():
    state = fold(facts(("opened", D(2025, 3, 3), "stage-1", "No social worker", OPENING)),
                 protocols(), WorkingCalendar())  # fmt: skip
    # Mon 3 Mar + 5 working days = Mon 10 Mar; stage-1 is informal: no formal deadline
    assert (state.child, state.summary, state.stage, state.deadline) == (
        "KN-1",
        "No social worker",
        "stage-1",
        D(2025, 3, 10),
    )
    assert (state.formal_started_on, state.formal_deadline, state.event_count) == (None, None, 1)


def test_escalation_response_referral_voice_and_resolution():
    events = facts(
        ("opened", D(2025, 3, 3), "stage-1", "s", OPENING),
        ("response", D(2025, 3, 5), "stage-1", "r", {}),
        ("escalated", D(2025, 3, 11), "stage-2", "", {"due": None, "bypassed": []}),
        ("response", D(2025, 3, 12), "stage-2", "r2", {}),
        ("referred", D(2025, 3, 13), "stage-2", "", {"senior_officer_notified_on": "2025-03-12"}),
        ("wishes-sought", D(2025, 3, 13), "stage-2", "", {}),
        ("resolved", D(2025, 3, 14), "stage-2", "Worker allocated", {}),
    )
    state = fold(events, protocols(), WorkingCalendar())
    # stage-2 from Tue 11 Mar: +5 = Tue 18 Mar; formal +20 = Tue 8 Apr (no bank holiday)
    assert (state.stage, state.stage_started_on, state.deadline) == (
        "stage-2",
        D(2025, 3, 11),
        D(2025, 3, 18),
    )
    assert (state.formal_started_on, state.formal_deadline) == (D(2025, 3, 11), D(2025, 4, 8))
    assert state.stage_responded_on == D(2025, 3, 12)  # the stage-1 response no longer counts
    assert (state.referred_on, state.senior_officer_notified_on) == (D(2025, 3, 13), D(2025, 3, 12))
    assert (state.wishes, state.status, state.closed_on, state.outcome) == (
        "sought",
        "resolved",
        D(2025, 3, 14),
        "Worker allocated",
    )


def test_closure_days_move_both_deadlines():
    events = facts(
        ("opened", D(2025, 3, 3), "stage-1", "s", OPENING),
        ("escalated", D(2025, 3, 11), "stage-2", "", {"due": None}),
    )
    state = fold(events, protocols(), WorkingCalendar([D(2025, 3, 14)]))
    # Fri 14 Mar closed: stage-2 12,13,17,18,19 -> Wed 19 Mar; formal one day later: 9 Apr
    assert (state.deadline, state.formal_deadline) == (D(2025, 3, 19), D(2025, 4, 9))


def test_due_date_and_late_recorded_response():
    events = facts(
        ("opened", D(2025, 3, 3), "stage-1", "s", {**OPENING, "due": "2025-03-06"}),
        ("escalated", D(2025, 3, 11), "stage-2", "", {"due": None}),
        # recorded after the escalation, dated before it: at stage-1, so it is not the
        # response at the current stage
        ("response", D(2025, 3, 7), "stage-1", "late note of a call", {}),
    )
    state = fold(events, protocols(), WorkingCalendar())
    assert (state.stage_due_override, state.stage_responded_on) == (None, None)
    first = fold(events[:1], protocols(), WorkingCalendar())
    assert first.deadline == D(2025, 3, 6)
    assert stage_at(events, D(2025, 3, 7), "stage-2") == "stage-1"
    assert stage_at(events, D(2025, 3, 11), "stage-1") == "stage-2"


def test_items_and_attachments():
    events = facts(
        ("opened", D(2025, 3, 3), "stage-1", "s", OPENING),
        ("action-added", D(2025, 3, 4), "stage-1", "", {"n": 1, "position": 1, "text": "Allocate",
                                                        "owner": "TM", "due": None}),
        ("action-done", D(2025, 3, 6), "stage-1", "", {"n": 1}),
        ("needs-added", D(2025, 3, 4), "stage-1", "", {"n": 1, "position": 1, "text": "BSL"}),
        ("needs-removed", D(2025, 3, 5), "stage-1", "", {"n": 1}),
        ("attached", D(2025, 3, 5), "stage-1", "", {"n": 1, "kind": "care-plan", "sha256": "a" * 64,
                                                    "size": 3, "filename": "p.pdf", "dated": None,
                                                    "description": ""}),
    )  # fmt: skip
    state = fold(events, protocols(), WorkingCalendar())
    action = state.items[("action", 1)]
    assert (action.data, action.done_on) == (
        {"text": "Allocate", "owner": "TM", "due": None},
        D(2025, 3, 6),
    )
    assert state.items[("needs", 1)].removed_on == D(2025, 3, 5)
    assert state.attachments[1].filename == "p.pdf"


def test_fields_recorded_by_an_upgrade():
    legacy: dict[str, object] = {"raised_by": "Old IRO", "role": "iro", "due": None, "bypassed": []}
    events = facts(
        ("opened", D(2025, 3, 3), "stage-1", "s", legacy),
        ("fields-recorded", D(2025, 3, 3), "stage-1", "", {**OPENING, "child": "KN-7"}),
    )
    state = fold(events, protocols(), WorkingCalendar())
    assert (state.protocol, state.child, state.deadline) == ("knowsley", "KN-7", D(2025, 3, 10))


# -- the planted bugs of the trust issue: each of these fails if it is put back -----------------
def test_formal_deadline_follows_a_closure_change(tracker):
    c = tracker.open(protocol="knowsley", child="K", category="general", summary="x",
                     on=D(2025, 3, 3))  # fmt: skip
    tracker.escalate(c.id, on=D(2025, 3, 11))
    tracker.add_closures(D(2025, 3, 14), reason="Office move")
    shown = tracker.get(c.id)
    assert (shown.deadline, shown.formal_deadline) == (D(2025, 3, 19), D(2025, 4, 9))
    tracker.remove_closure(D(2025, 3, 14))
    shown = tracker.get(c.id)
    assert (shown.deadline, shown.formal_deadline) == (D(2025, 3, 18), D(2025, 4, 8))
    assert tracker.verify().ok


def test_response_on_the_day_a_stage_is_left_counts(tracker):
    c = tracker.open(protocol="knowsley", child="K", category="general", summary="x",
                     on=D(2025, 3, 3))  # fmt: skip
    tracker.respond(c.id, text="Allocated", on=D(2025, 3, 7))
    tracker.escalate(c.id, on=D(2025, 3, 7))
    visits = stage_visits(tracker.get(c.id), registry().get("knowsley"), WorkingCalendar(),
                          D(2025, 3, 20))  # fmt: skip
    assert (visits[0]["result"], visits[0]["first_response_on"]) == ("met", "2025-03-07")


def test_due_on_the_day_the_stage_starts_is_refused(tracker):
    with pytest.raises(InvalidInput, match="must be after the stage starts"):
        tracker.open(protocol="knowsley", child="K", category="general", summary="x",
                     on=D(2025, 3, 3), due=D(2025, 3, 3))  # fmt: skip
    c = tracker.open(protocol="knowsley", child="K", category="general", summary="x",
                     on=D(2025, 3, 3))  # fmt: skip
    with pytest.raises(InvalidInput, match="must be after the stage starts"):
        tracker.escalate(c.id, on=D(2025, 3, 5), due=D(2025, 3, 5))


def test_stored_rows_equal_the_fold(tracker, db_target):
    c = tracker.open(protocol="knowsley", child="K", category="general", summary="x",
                     on=D(2025, 3, 3))  # fmt: skip
    tracker.respond(c.id, text="r", on=D(2025, 3, 4))
    tracker.escalate(c.id, on=D(2025, 3, 11), due=D(2025, 3, 14))
    t2 = Tracker(db_target)
    view = t2.get(c.id)
    assert (view.stage, view.deadline) == ("stage-2", D(2025, 3, 14))
    assert t2.verify().ok
    t2.store.close()
