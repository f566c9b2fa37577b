"""The timescale model without a database: units, where a clock starts, kinds, what it is
for, and what a route changes of a stage (issue 28). Dates are worked by hand beside each
case; England has no bank holiday in November 2026."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from drp_cli.domain import lifecycle
from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.lifecycle import Visit, clock_start, visit_deadline
from drp_cli.domain.protocols import Protocol, Stage, Step, Timescale

D = dt.date
CAL = WorkingCalendar()
FRI = D(2026, 11, 6)  # a Friday


def stage(**fields: Any) -> Stage:
    base: dict[str, Any] = {
        "slug": "s",
        "title": "S",
        "formal": True,
        "citation": "x",
        "addressed_to": ["Manager"],
        "timescale_note": "no timescale",
    }
    return msgspec.convert({**base, **fields}, Stage)


def step(**fields: Any) -> Step:
    return msgspec.convert(
        {"slug": "t", "title": "T", "who": "W", "quote": "q", "citation": "c", **fields}, Step
    )


# -- counting --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "unit", "start", "due"),
    [
        # "within 24 hours" of Friday 6 Nov: Saturday 7 Nov, not Monday 9 Nov
        (24, "hours", FRI, D(2026, 11, 7)),
        # the time of day is not recorded: the latest day the hours can end on
        (12, "hours", FRI, D(2026, 11, 7)),
        (25, "hours", FRI, D(2026, 11, 8)),
        (48, "hours", FRI, D(2026, 11, 8)),
        # calendar days count weekends: Fri 6 + 3 -> Mon 9
        (3, "calendar-days", FRI, D(2026, 11, 9)),
        (1, "calendar-days", FRI, D(2026, 11, 7)),
        # working days skip them: Fri 6 -> 9 (1) ... 13 (5)
        (5, "working-days", FRI, D(2026, 11, 13)),
        (1, "working-days", FRI, D(2026, 11, 9)),
        # Christmas 2025: Mon 22 -> 23, 24 (2), [25, 26], 29 (3)
        (3, "working-days", D(2025, 12, 22), D(2025, 12, 29)),
    ],
)
def test_due_by_unit(amount: int, unit: str, start: dt.date, due: dt.date) -> None:
    assert Timescale(amount, unit, "stage", "firm").due(CAL, start) == due


def test_words_and_labels() -> None:
    assert Timescale(24, "hours", "stage", "firm").words == "24 hours"
    assert Timescale(1, "calendar-days", "stage", "firm").words == "1 calendar day"
    assert Timescale(7, "working-days", "stage", "aim", "meeting").label == "Hold the meeting by"
    assert Timescale(5, "working-days", "stage", "firm", "resolve").label == "Resolve by"
    assert Timescale(7, "working-days", "x", "firm", "act").label == "Actions to be taken by"


# -- where a clock starts --------------------------------------------------------------------
def test_clock_start() -> None:
    v = Visit("s", FRI, None, opening=False, done={"request": D(2026, 11, 10)})
    assert clock_start("stage", v) == FRI
    assert clock_start("escalation", v) == FRI
    assert clock_start("previous-outcome", v) == FRI  # no outcome recorded: the escalation
    assert clock_start("request", v) == D(2026, 11, 10)
    assert clock_start("plan", v) is None  # a step not yet recorded
    v.previous_outcome = D(2026, 11, 2)
    assert clock_start("previous-outcome", v) == D(2026, 11, 2)


def test_previous_outcome_is_the_outcome_step_of_the_visit_before() -> None:
    p = msgspec.convert(
        {
            "slug": "p",
            "title": "P",
            "authority": "A",
            "source": "S",
            "roles": ["iro"],
            "formal_cap_citation": "none",
            "bypass_citation": "none",
            "cafcass_citation": "x",
            "stages": [
                {
                    "slug": "one",
                    "title": "1",
                    "formal": True,
                    "citation": "c",
                    "addressed_to": ["M"],
                    "timescale_note": "no timescale",
                    "steps": [
                        {
                            "slug": "outcome",
                            "title": "O",
                            "who": "IRO",
                            "quote": "q",
                            "citation": "c",
                            "outcome": True,
                            "optional": True,
                        }
                    ],
                },
                {
                    "slug": "two",
                    "title": "2",
                    "formal": True,
                    "citation": "c",
                    "addressed_to": ["M"],
                    "timescale_note": "no timescale",
                    "steps": [
                        {
                            "slug": "meet",
                            "title": "M",
                            "who": "C",
                            "quote": "q",
                            "citation": "c",
                            "within_working_days": 7,
                            "kind": "aim",
                            "after": "previous-outcome",
                            "meeting": True,
                        }
                    ],
                },
            ],
        },
        Protocol,
    )
    one = Visit("one", D(2026, 11, 2), None, opening=True, done={"outcome": D(2026, 11, 16)})
    two = Visit("two", D(2026, 11, 19), None, opening=False)
    assert lifecycle.previous_outcome(p, two, one, None) == D(2026, 11, 16)
    assert lifecycle.previous_outcome(p, two, None, None) is None
    # an outcome dated after the escalation counts from the escalation
    late = Visit("one", D(2026, 11, 2), None, opening=True, done={"outcome": D(2026, 11, 20)})
    assert lifecycle.previous_outcome(p, two, late, None) == D(2026, 11, 19)
    # the fold: outcome Mon 16 Nov -> 17-20 (4), 23-25 (7) -> Wed 25 Nov, an aim; without
    # it, from the escalation Thu 19 Nov -> 20 (1), 23-27 (6), 30 (7) -> Mon 30 Nov
    for done, due in (({"outcome": D(2026, 11, 16)}, D(2026, 11, 25)), ({}, D(2026, 11, 30))):
        state = lifecycle.ConcernState(protocol="p", status="open", stage="two")
        state.visits = [
            Visit("one", D(2026, 11, 2), None, True, dict(done)),
            Visit("two", D(2026, 11, 19), None, False),
        ]
        lifecycle.finish(state, p, CAL)
        assert (state.step, state.step_deadline, state.step_deadline_kind) == ("meet", due, "aim")


# -- a stage's deadline -------------------------------------------------------------------------
def test_visit_deadline_by_unit_start_and_kind() -> None:
    v = Visit("s", FRI, None, opening=False)
    assert visit_deadline(CAL, stage(timescale_hours=24), v) == (D(2026, 11, 7), "firm")
    assert visit_deadline(CAL, stage(timescale_calendar_days=3, timescale_kind="aim"), v) == (
        D(2026, 11, 9),
        "aim",
    )
    guided = stage(timescale_working_days=5, timescale_kind="guidance")
    assert visit_deadline(CAL, guided, v) == (D(2026, 11, 13), "guidance")
    # counted from a step: none until it is recorded, then from it (request Tue 10 Nov ->
    # 11-13 (3), 16-17 (5) -> Tue 17 Nov)
    s = stage(
        timescale_working_days=5,
        timescale_from="request",
        steps=[{"slug": "request", "title": "R", "who": "IRO", "quote": "q", "citation": "c"}],
    )
    assert visit_deadline(CAL, s, v) == (None, None)
    v.done["request"] = D(2026, 11, 10)
    assert visit_deadline(CAL, s, v) == (D(2026, 11, 17), "firm")
    # the IRO's own date keeps an aim's or the guidance's kind; elsewhere it is firm
    due = Visit("s", FRI, D(2026, 11, 20), opening=False)
    assert visit_deadline(CAL, guided, due) == (D(2026, 11, 20), "guidance")
    assert visit_deadline(CAL, stage(), due) == (D(2026, 11, 20), "firm")


def test_a_stage_whose_clock_is_a_step() -> None:
    s = stage(
        timescale_step="meet",
        steps=[
            {
                "slug": "meet",
                "title": "M",
                "who": "C",
                "quote": "q",
                "citation": "c",
                "within_working_days": 7,
                "kind": "aim",
                "after": "previous-outcome",
                "meeting": True,
            }
        ],
    )
    assert s.timescale is None and s.kind is None  # no deadline of its own ...
    clock = s.clock  # ... but a clock the form shows
    assert clock is not None
    assert (clock.amount, clock.unit, clock.start, clock.kind, clock.purpose) == (
        7,
        "working-days",
        "previous-outcome",
        "aim",
        "meeting",
    )
    assert visit_deadline(CAL, s, Visit("s", FRI, None, opening=False)) == (None, None)


# -- validation, and files written before the model ------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"within_working_days": 1, "within_hours": 24, "kind": "firm"}, "give only one of"),
        ({"within_hours": 24}, "field kind: give it exactly when"),
        ({"kind": "aim"}, "field kind: give it exactly when"),
    ],
)
def test_step_validation(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        step(**fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timescale_working_days": 5, "timescale_hours": 24}, "give only one of"),
        ({"timescale_working_days": 5, "timescale_from": "lunch"}, "field timescale_from"),
        ({"timescale_step": "nope"}, "field timescale_step"),
        (
            {
                "steps": [
                    {
                        "slug": "t",
                        "title": "T",
                        "who": "W",
                        "quote": "q",
                        "citation": "c",
                        "after": "tea",
                    }
                ]
            },
            "field steps.0.after",
        ),
    ],
)
def test_stage_validation(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stage(**fields)


def test_a_stage_written_before_the_model_still_loads() -> None:
    old = stage(timescale_working_days=10, timescale_kind="firm", timescale_note="")
    t = old.timescale
    assert t is not None
    assert (t.amount, t.unit, t.start, t.kind, t.purpose) == (
        10,
        "working-days",
        "stage",
        "firm",
        "respond",
    )
    assert old.kind == "firm" and old.clock == t


# -- routes change a stage -------------------------------------------------------------------
def routed(change: dict[str, Any]) -> Protocol:
    return msgspec.convert(
        {
            "slug": "p",
            "title": "P",
            "authority": "A",
            "source": "S",
            "roles": ["iro"],
            "formal_cap_citation": "none",
            "bypass_citation": "none",
            "cafcass_citation": "x",
            "routes": [
                {"slug": "plan", "title": "Plan", "quote": "q", "citation": "c"},
                {
                    "slug": "agency",
                    "title": "Agency",
                    "quote": "q",
                    "citation": "c",
                    "stages": [{"stage": "alert", **change}],
                },
            ],
            "stages": [
                {
                    "slug": "alert",
                    "title": "Alert",
                    "formal": False,
                    "citation": "c",
                    "addressed_to": ["Social worker", "Team Manager"],
                    "responder": "Team Manager",
                    "copied_to": ["Business support"],
                    "timescale_working_days": 10,
                    "timescale_quote": "q",
                    "duties": [
                        {
                            "slug": "log",
                            "text": "Log it",
                            "who": "Admin",
                            "quote": "q",
                            "citation": "c",
                        }
                    ],
                }
            ],
        },
        Protocol,
    )


def test_a_route_changes_addressees_form_timescale_and_duties() -> None:
    p = routed(
        {
            "form": "Letter",
            "addressed_to": ["The agency"],
            "copied_to": [],
            "duties": [],
            "timescale_note": "The source gives no timescale.",
        }
    )
    plain, agency = p.stage_for("alert", "plan"), p.stage_for("alert", "agency")
    assert plain is p.stage("alert")
    assert (plain.response_by, plain.kind, [d.slug for d in plain.duties]) == (
        "Team Manager",
        "firm",
        ["log"],
    )
    assert agency.form == "Letter"
    assert (agency.addressee_names, agency.response_by, agency.copy_names) == (
        ["The agency"],
        "The agency",
        [],
    )
    assert (agency.timescale, agency.kind, agency.duties) == (None, None, [])
    assert p.duties_at("alert", "agency", opening=True) == []
    # and the fold: no deadline on the agency's route, 10 working days on the plan's
    for route, due in (("plan", D(2026, 11, 20)), ("agency", None)):
        state = lifecycle.ConcernState(protocol="p", status="open", stage="alert", route=route)
        state.visits = [Visit("alert", FRI, None, True)]
        lifecycle.finish(state, p, CAL)
        assert state.deadline == due, route
    # a route may set its own timescale, in its own unit
    hours = routed({"timescale_hours": 48, "timescale_kind": "aim"}).stage_for("alert", "agency")
    assert (hours.timescale, hours.response_by) == (
        Timescale(48, "hours", "stage", "aim"),
        "Team Manager",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stage": "nope"}, "routes.1.stages.0.stage: no stage 'nope'"),
        ({"timescale_kind": "aim"}, "routes.1.stages.0: timescale_note is required"),
        (
            {"timescale_working_days": 5, "timescale_from": "x", "timescale_quote": "q"},
            "routes.1.stages.0.timescale_from",
        ),
    ],
)
def test_a_route_change_is_validated(change: dict[str, Any], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        routed(change)
