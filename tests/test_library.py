"""The importable API, used directly (no CLI)."""

from __future__ import annotations

import datetime as dt

import pytest

from drp_cli.core.errors import InvalidInput, NotFound, TransitionRefused
from drp_cli.domain.views import concern_dict
from drp_cli.services.tracker import Tracker

D = dt.date


def test_api_round_trip(tracker):
    c = tracker.open(
        protocol="west-sussex", child="WS-77", category="care-plan", issue="drift-delay",
        summary="Permanence plan drifting", impact="No stability", recommended="Panel by May",
        role="iro", raised_by="Alex IRO", on="2025-01-06", by="Business Support",
    )  # fmt: skip
    # the Practice Manager's 5 working days count from the IRO's request (§3 iv)
    assert (c.id, c.stage, c.deadline) == (1, "informal", None)
    c = tracker.done(c.id, "pm-request", on="2025-01-06")
    assert (c.id, c.stage, c.deadline) == (1, "informal", D(2025, 1, 13))
    assert (c.raised_by, c.events[0].by) == ("Alex IRO", "Business Support")
    tracker.respond(c.id, text="Will review", on="2025-01-10")
    c = tracker.escalate(c.id, on="2025-01-14")
    assert c.formal_started_on == D(2025, 1, 14)
    assert [x.id for x in tracker.concerns(status="open")] == [1]
    data = concern_dict(c, tracker.protocols.get("west-sussex"), tracker.calendar(), D(2025, 1, 14))
    assert data["stages"][0]["result"] == "met"
    assert data["stages"][1]["result"] == "pending"


def test_late_entry_gets_the_stage_of_its_date(tracker):
    c = tracker.open(protocol="knowsley", child="K", category="general", summary="x",
                     on="2025-03-03")  # fmt: skip
    tracker.escalate(c.id, on="2025-03-11")
    # recorded afterwards, but it happened during stage-1
    c = tracker.respond(c.id, text="late entry", on="2025-03-07")
    response = next(e for e in c.events if e.kind == "response")
    assert response.stage == "stage-1"
    assert [e.kind for e in c.events] == ["opened", "response", "escalated"]


def test_errors_are_typed(tracker):
    from drp_cli.core.errors import DatabaseMissing

    if "://" not in tracker.store.target:  # PostgreSQL test databases exist already
        with pytest.raises(DatabaseMissing):
            tracker.get(99)  # nothing was ever written: no false "not found" either
    c = tracker.open(protocol="knowsley", child="K", category="general", summary="x",
                     on="2025-03-03")  # fmt: skip
    with pytest.raises(NotFound):
        tracker.get(99)
    with pytest.raises(TransitionRefused):
        tracker.escalate(c.id, to="stage-1", on="2025-03-04")
    with pytest.raises(InvalidInput):
        tracker.record_voice(c.id, "wishes-not-sought", on="2025-03-04")  # needs a reason


def test_future_events_are_refused(db_target):
    t = Tracker(db_target, clock=lambda: D(2025, 3, 3))
    with pytest.raises(InvalidInput, match="is in the future"):
        t.open(protocol="knowsley", child="K", category="general", summary="x", on="2025-03-04")
    c = t.open(protocol="knowsley", child="K", category="general", summary="x")
    assert c.opened_on == D(2025, 3, 3)


def test_events_are_append_only(tracker, sql):
    c = tracker.open(protocol="knowsley", child="K", category="general", summary="x",
                     on="2025-03-03")  # fmt: skip
    first = sql("select * from event")
    tracker.escalate(c.id, on="2025-03-04")
    tracker.note(c.id, text="n", on="2025-03-05")
    rows = sql("select * from event order by id")
    assert rows[:1] == first
    assert [r[2] for r in rows] == [1, 2, 3]  # seq
