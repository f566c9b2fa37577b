"""The registry of transitions on its own (no database): each event kind's rule, given the
state a concern's events replay to and its protocol (drp_cli.domain.transitions). Knowsley (seed
002): stage-1 (informal; duties child-file, ics-record), stage-2 (duty ics-record), stage-3,
stage-4; the protocol-wide duty case-record at every stage."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from drp_cli.core.errors import InvalidInput, TransitionRefused
from drp_cli.domain import lifecycle, transitions
from drp_cli.domain.lifecycle import Fact, replay
from drp_cli.domain.protocols import registry
from drp_cli.domain.transitions import Refused, check, replay_checked, stage_for_done

D = dt.date
CHILD = "KN-PRIVATE-4471"  # a child's reference: never in a message
OPENING: dict[str, Any] = {
    "protocol": "knowsley", "child": CHILD, "category": "statutory", "issue": None,
    "impact": "", "recommended": "", "raised_by": "A. IRO", "role": "iro", "uid": "u1",
    "route": "child", "due": None, "bypassed": [],
}  # fmt: skip


def knowsley():
    return registry().protocols["knowsley"]


def facts(*events: tuple[str, dt.date, str, dict[str, Any]]) -> list[Fact]:
    return [Fact(n, kind, on, stage, "A. IRO", "Some free text about " + CHILD, details)
            for n, (kind, on, stage, details) in enumerate(events, start=1)]  # fmt: skip


def opened(*more: tuple[str, dt.date, str, dict[str, Any]]) -> list[Fact]:
    return facts(("opened", D(2025, 3, 3), "stage-1", OPENING), *more)


def state_of(events: list[Fact]) -> lifecycle.ConcernState:
    return replay(events)


def attempt(history: list[Fact], kind: str, on: dt.date, stage: str,
            details: dict[str, Any] | None = None, protocol: Any = "knowsley",
            concern: int | None = None) -> None:  # fmt: skip
    """Check one more event on ``history``."""
    proto = knowsley() if protocol == "knowsley" else protocol
    fact = Fact(len(history) + 1, kind, on, stage, "A. IRO", "text " + CHILD, details or {})
    check(state_of(history), fact, proto, history=history, concern=concern)


def refusal(exc: pytest.ExceptionInfo[Any]) -> str:
    message = exc.value.message
    assert CHILD not in message and "free text" not in message
    return message


# -- kinds -----------------------------------------------------------------------------------
def test_an_unknown_kind_is_an_error_not_a_no_op():
    with pytest.raises(InvalidInput) as bad:
        attempt(opened(), "escalated-sideways", D(2025, 3, 4), "stage-1")
    assert refusal(bad) == "kind is not an event kind drp records"
    assert bad.value.field == "kind"
    # an unknown kind in a history is refused too, naming the event
    history = opened(("lunch", D(2025, 3, 4), "stage-1", {}))
    with pytest.raises(Refused) as raised:
        replay_checked(history, knowsley())
    assert (raised.value.n, raised.value.message) == (2, "kind is not an event kind drp records")


def test_the_registry_has_every_kind_drp_writes():
    written = {
        "opened", "imported", "escalated", "response", "note", "referred", "wishes-sought",
        "wishes-not-sought", "told-outcome", "not-told-outcome", "resolved", "withdrawn",
        "done", "meeting", "due-set", "cafcass", "not-applicable", "good-practice", "amended",
        "retracted", "reopened", "assigned", "redacted", "alert-sent", "fields-recorded",
        "attached", "action-done", "identified", "held", "hold-lifted",
        *(f"{k}-added" for k in lifecycle.ITEM_KINDS),
        *(f"{k}-removed" for k in lifecycle.ITEM_KINDS),
    }  # fmt: skip
    assert set(transitions.KINDS) == written
    from drp_cli.exchange import checks
    from drp_cli.services import tracker

    assert set(tracker.EVENT_KINDS) == set(checks.EVENT_KINDS_IMPORTED) == written
    # the steps around a referral the registry allows are the ones drp has words for
    assert list(tracker.CAFCASS_STEPS) == list(transitions.CAFCASS_STEPS)


def test_the_first_event_opens_and_only_the_first():
    with pytest.raises(TransitionRefused) as exc:
        attempt([], "note", D(2025, 3, 3), "stage-1")
    assert refusal(exc) == "the concern has no opening entry ('opened' or 'imported') first"
    attempt([], "imported", D(2025, 3, 3), "stage-2", OPENING)
    with pytest.raises(TransitionRefused) as exc:
        attempt(opened(), "opened", D(2025, 3, 4), "stage-1", OPENING, concern=7)
    assert refusal(exc) == "concern 7 is already open: only its first entry opens it"
    with pytest.raises(InvalidInput) as bad:
        attempt([], "opened", D(2025, 3, 3), "stage-9", OPENING)
    assert refusal(bad).startswith("protocol 'knowsley' has no stage 'stage-9'")


# -- escalation: forward only, as Tracker.escalate --------------------------------------------
def test_escalation_goes_forward_to_any_later_stage():
    attempt(opened(), "escalated", D(2025, 3, 11), "stage-2")
    attempt(opened(), "escalated", D(2025, 3, 11), "stage-4")  # a bypass
    at_2 = opened(("escalated", D(2025, 3, 11), "stage-2", {}))
    with pytest.raises(TransitionRefused) as exc:
        attempt(at_2, "escalated", D(2025, 3, 12), "stage-1", concern=1)
    assert refusal(exc) == (
        "concern 1 is at 'stage-2'; 'stage-1' is an earlier stage; escalation goes forward "
        "only: stage-3, stage-4"
    )
    with pytest.raises(TransitionRefused) as exc:
        attempt(at_2, "escalated", D(2025, 3, 12), "stage-2")
    assert refusal(exc) == (
        "the concern is at 'stage-2'; 'stage-2' is the stage it is already at; escalation "
        "goes forward only: stage-3, stage-4"
    )
    with pytest.raises(InvalidInput) as bad:
        attempt(at_2, "escalated", D(2025, 3, 10), "stage-3")
    assert refusal(bad) == "on 2025-03-10 is before the current stage began (2025-03-11)"
    at_4 = opened(("escalated", D(2025, 3, 11), "stage-4", {}))
    with pytest.raises(TransitionRefused) as exc:
        attempt(at_4, "escalated", D(2025, 3, 12), "stage-4")
    assert refusal(exc).endswith("escalation goes forward only: none (this is the last stage)")


def test_a_closed_concern_is_not_escalated_responded_to_or_closed_again():
    closed = opened(("resolved", D(2025, 3, 5), "stage-1", {}))
    for kind, verb in [("escalated", "escalate"), ("response", "record a response on"),
                       ("resolved", "resolve"), ("withdrawn", "withdraw"),
                       ("due-set", "set a due date on"), ("referred", "refer"),
                       ("alert-sent", "record an alert sent for")]:  # fmt: skip
        with pytest.raises(TransitionRefused) as exc:
            attempt(closed, kind, D(2025, 3, 6), "stage-2" if kind == "escalated" else "stage-1",
                    concern=3)  # fmt: skip
        assert refusal(exc) == f"concern 3 is resolved; cannot {verb} it"
    # a closed concern still takes notes, the child's voice, duties done, corrections
    for kind, details in [
        ("note", {}),
        ("told-outcome", {}),
        ("good-practice", {}),
        ("done", {"what": "child-file"}),
        ("amended", {"summary": "x"}),
    ]:
        attempt(closed, kind, D(2025, 3, 6), "stage-1", details)


def test_reopening_only_a_closed_concern_and_not_before_it_closed():
    with pytest.raises(TransitionRefused) as exc:
        attempt(opened(), "reopened", D(2025, 3, 6), "stage-1", concern=2)
    assert refusal(exc) == "concern 2 is open; only a closed one is reopened"
    closed = opened(("withdrawn", D(2025, 3, 5), "stage-1", {}))
    with pytest.raises(InvalidInput) as bad:
        attempt(closed, "reopened", D(2025, 3, 4), "stage-1")
    assert refusal(bad) == "on 2025-03-04 is before the concern was closed (2025-03-05)"
    attempt(closed, "reopened", D(2025, 3, 5), "stage-1")
    # resolved, reopened, resolved again: allowed
    history = [*closed, *facts(("reopened", D(2025, 3, 6), "stage-1", {}))[0:1]]
    history = [f._replace(seq=n) for n, f in enumerate(history, start=1)]
    attempt(history, "resolved", D(2025, 3, 7), "stage-1")


def test_dates_before_the_opening_or_the_stage_are_refused():
    with pytest.raises(InvalidInput) as bad:
        attempt(opened(), "note", D(2025, 3, 2), "stage-1")
    assert refusal(bad) == "on 2025-03-02 is before the concern was opened (2025-03-03)"
    at_2 = opened(("escalated", D(2025, 3, 11), "stage-2", {}))
    for kind in ("resolved", "due-set"):
        with pytest.raises(InvalidInput) as bad:
            attempt(at_2, kind, D(2025, 3, 10), "stage-2", {"due": "2025-03-14"})
        assert refusal(bad) == "on 2025-03-10 is before the current stage began (2025-03-11)"
    # an upgrade's record of an older database's fields is dated as that database had it
    attempt(opened(), "fields-recorded", D(2025, 3, 1), "stage-1", {"child": CHILD})


def test_a_response_only_at_a_stage_the_concern_has_been_at():
    attempt(opened(), "response", D(2025, 3, 4), "stage-1")
    with pytest.raises(TransitionRefused) as exc:
        attempt(opened(), "response", D(2025, 3, 4), "stage-3")
    assert refusal(exc) == "the concern has not been at stage 'stage-3'"


def test_a_due_date_is_set_for_the_current_stage():
    at_2 = opened(("escalated", D(2025, 3, 11), "stage-2", {}))
    attempt(at_2, "due-set", D(2025, 3, 12), "stage-2", {"due": "2025-03-14"})
    with pytest.raises(TransitionRefused) as exc:
        attempt(at_2, "due-set", D(2025, 3, 12), "stage-1", {"due": "2025-03-14"})
    assert refusal(exc) == (
        "a due date is set for the current stage of the concern ('stage-2'), not 'stage-1'"
    )


# -- steps and duties: of any stage visited -------------------------------------------------
def test_a_duty_of_an_earlier_stage_can_be_done_after_escalation():
    at_2 = opened(("escalated", D(2025, 3, 11), "stage-2", {}))
    proto = knowsley()
    state = state_of(at_2)
    # child-file is Stage 1's only: recorded against Stage 1
    assert stage_for_done(state, "child-file", D(2025, 3, 12), "stage-2", proto) == "stage-1"
    attempt(at_2, "done", D(2025, 3, 12), "stage-1", {"what": "child-file"})
    # ics-record is a duty of both: the stage of the day first, then the earlier one
    assert stage_for_done(state, "ics-record", D(2025, 3, 12), "stage-2", proto) == "stage-2"
    done_2 = [*at_2, Fact(3, "done", D(2025, 3, 12), "stage-2", "A. IRO", "",
                          {"what": "ics-record"})]  # fmt: skip
    # done at the stage of the day, done again: that stage (the check refuses it), never
    # quietly the earlier stage's (`drp done --stage stage-1` names it)
    assert stage_for_done(state_of(done_2), "ics-record", D(2025, 3, 12), "stage-2",
                          proto) == "stage-2"  # fmt: skip
    # before the escalation only Stage 1 had been visited
    assert stage_for_done(state, "ics-record", D(2025, 3, 5), "stage-1", proto) == "stage-1"
    # a slug of no stage visited: the stage of the day, which the check refuses
    assert stage_for_done(state, "dr-meeting", D(2025, 3, 5), "stage-1", proto) == "stage-1"
    with pytest.raises(InvalidInput) as bad:
        attempt(at_2, "done", D(2025, 3, 12), "stage-2", {"what": "child-file"})
    assert refusal(bad) == (
        "what is not a step or recording duty of stage 'stage-2'; allowed: "
        "dr-meeting, case-record, ics-record"
    )


def test_a_duty_done_twice_or_at_a_stage_not_yet_visited_is_refused():
    history = opened(("done", D(2025, 3, 4), "stage-1", {"what": "child-file"}),
                     ("escalated", D(2025, 3, 11), "stage-2", {}))  # fmt: skip
    assert stage_for_done(state_of(history), "child-file", D(2025, 3, 12), "stage-2",
                          knowsley()) == "stage-1"  # fmt: skip
    with pytest.raises(TransitionRefused) as exc:
        attempt(history, "done", D(2025, 3, 12), "stage-1", {"what": "child-file"})
    assert (
        refusal(exc) == "'child-file' was already recorded as done at stage 'stage-1' on 2025-03-04"
    )
    with pytest.raises(TransitionRefused) as exc:
        attempt(history, "done", D(2025, 3, 10), "stage-2", {"what": "ics-record"})
    assert refusal(exc) == "the concern was not at stage 'stage-2' on or before 2025-03-10"


def test_a_meeting_meets_a_meeting_of_its_stage():
    at_2 = opened(("escalated", D(2025, 3, 11), "stage-2", {}))
    attempt(at_2, "meeting", D(2025, 3, 12), "stage-2", {"step": "dr-meeting"})
    attempt(at_2, "meeting", D(2025, 3, 12), "stage-2", {"step": None})
    with pytest.raises(InvalidInput) as bad:
        attempt(opened(), "meeting", D(2025, 3, 4), "stage-1", {"step": "dr-meeting"})
    assert refusal(bad) == "step is not a meeting of stage 'stage-1'; meetings: none"


# -- CAFCASS ---------------------------------------------------------------------------------
def test_referred_once_and_only_where_the_protocol_gives_a_referral():
    referred = opened(("referred", D(2025, 3, 5), "stage-1", {}))
    with pytest.raises(TransitionRefused) as exc:
        attempt(referred, "referred", D(2025, 3, 6), "stage-1", concern=1)
    assert refusal(exc) == (
        "concern 1 was already referred to CAFCASS on 2025-03-05; add a note instead"
    )
    attempt(referred, "cafcass", D(2025, 3, 6), "stage-1", {"step": "helpline"})
    for step in (CHILD, [CHILD], None):  # whatever a file holds there: refused, never quoted
        with pytest.raises(InvalidInput) as bad:
            attempt(referred, "cafcass", D(2025, 3, 6), "stage-1", {"step": step})
        assert refusal(bad).startswith("cafcass_step is not a step around a referral; allowed: ")
    sbc = registry().protocols["sbc-fciro"]
    history = [Fact(1, "opened", D(2025, 3, 3), sbc.stage_slugs[0], "A. IRO", "s",
                    {**OPENING, "protocol": "sbc-fciro", "route": None})]  # fmt: skip
    with pytest.raises(TransitionRefused) as exc:
        attempt(history, "referred", D(2025, 3, 4), sbc.stage_slugs[0], protocol=sbc)
    assert refusal(exc).startswith("protocol 'sbc-fciro' gives no CAFCASS referral: ")


def test_a_referral_reason_is_amended_only_once_referred():
    with pytest.raises(TransitionRefused) as exc:
        attempt(opened(), "amended", D(2025, 3, 4), "stage-1", {"referral_reason": "x"},
                concern=4)  # fmt: skip
    assert refusal(exc) == "concern 4 has no CAFCASS referral: record one with `drp refer`"
    with pytest.raises(InvalidInput):
        attempt(opened(), "amended", D(2025, 3, 4), "stage-1", {"stage": "stage-4"})


# -- corrections -----------------------------------------------------------------------------
def test_retractions():
    history = opened(("escalated", D(2025, 3, 11), "stage-2", {}),
                     ("escalated", D(2025, 3, 12), "stage-3", {}))  # fmt: skip
    with pytest.raises(TransitionRefused) as exc:
        attempt(history, "retracted", D(2025, 3, 13), "stage-3", {"seq": 2}, concern=1)
    assert refusal(exc) == (
        "entry 2 of concern 1 (escalated) is followed by entry 3 (escalated): retract that "
        "one first"
    )
    with pytest.raises(TransitionRefused) as exc:
        attempt(history, "retracted", D(2025, 3, 13), "stage-3", {"seq": 1}, concern=1)
    assert refusal(exc) == (
        "entry 1 of concern 1 (opened): withdraw the concern instead (`drp withdraw`)"
    )
    with pytest.raises(InvalidInput):
        attempt(history, "retracted", D(2025, 3, 13), "stage-3", {"seq": 4})
    attempt(history, "retracted", D(2025, 3, 13), "stage-3", {"seq": 3, "kind": "escalated"})
    taken_back = [*history, Fact(4, "retracted", D(2025, 3, 13), "stage-3", "A. IRO", "why",
                                 {"seq": 3, "kind": "escalated"})]  # fmt: skip
    with pytest.raises(TransitionRefused) as exc:
        attempt(taken_back, "retracted", D(2025, 3, 13), "stage-2", {"seq": 3})
    assert refusal(exc) == "entry 3 of the concern is already retracted"
    with pytest.raises(TransitionRefused) as exc:
        attempt(taken_back, "redacted", D(2025, 3, 13), "stage-2", {"seq": 4})
    assert refusal(exc) == "entry 4 of the concern is a correction"


def test_items_and_attachments():
    action = {"n": 1, "text": "Allocate"}
    history = opened(("action-added", D(2025, 3, 4), "stage-1", action))
    with pytest.raises(TransitionRefused) as exc:
        attempt(history, "action-added", D(2025, 3, 4), "stage-1", action)
    assert refusal(exc) == "the concern already has action 1"
    with pytest.raises(InvalidInput) as bad:
        attempt(history, "action-done", D(2025, 3, 3), "stage-1", {"n": 1})
    assert refusal(bad) == "on 2025-03-03 is before the action was added"
    with pytest.raises(TransitionRefused) as exc:
        attempt(history, "action-done", D(2025, 3, 5), "stage-1", {"n": 2})
    assert refusal(exc) == "the concern has no action 2"
    with pytest.raises(TransitionRefused) as exc:
        attempt(history, "needs-removed", D(2025, 3, 5), "stage-1", {"n": 1})
    assert refusal(exc) == "the concern has no needs 1"
    attempt(history, "action-done", D(2025, 3, 5), "stage-1", {"n": 1})
    attempt(history, "action-removed", D(2025, 3, 5), "stage-1", {"n": 1})


# -- a history replayed, each event checked -------------------------------------------------
def test_a_history_escalated_backwards_is_refused_at_that_event():
    history = opened(("note", D(2025, 3, 4), "stage-1", {}),
                     ("escalated", D(2025, 3, 11), "stage-2", {}),
                     ("escalated", D(2025, 3, 12), "stage-1", {}))  # fmt: skip
    with pytest.raises(Refused) as exc:
        replay_checked(history, knowsley())
    assert exc.value.n == 4
    assert isinstance(exc.value.error, TransitionRefused)
    assert refusal(exc) == (
        "the concern is at 'stage-2'; 'stage-1' is an earlier stage; escalation goes forward "
        "only: stage-3, stage-4"
    )


def test_a_history_resolved_twice_is_refused_unless_reopened_between():
    twice = opened(("resolved", D(2025, 3, 5), "stage-1", {}),
                   ("resolved", D(2025, 3, 6), "stage-1", {}))  # fmt: skip
    with pytest.raises(Refused) as exc:
        replay_checked(twice, knowsley())
    assert (exc.value.n, refusal(exc)) == (3, "the concern is resolved; cannot resolve it")
    reopened = opened(("resolved", D(2025, 3, 5), "stage-1", {}),
                      ("reopened", D(2025, 3, 6), "stage-1", {}),
                      ("resolved", D(2025, 3, 7), "stage-1", {}))  # fmt: skip
    assert replay_checked(reopened, knowsley()) == replay(reopened)


def test_a_history_is_checked_as_it_stood_when_each_event_was_recorded():
    """An event a later retraction took back is checked, and the events after it see it as
    the commands did: a response at Stage 2, then the escalation retracted."""
    history = opened(("escalated", D(2025, 3, 11), "stage-2", {}),
                     ("response", D(2025, 3, 12), "stage-2", {}),
                     ("retracted", D(2025, 3, 13), "stage-2", {"seq": 2, "kind": "escalated"}),
                     ("escalated", D(2025, 3, 14), "stage-2", {}),
                     ("resolved", D(2025, 3, 14), "stage-2", {}))  # fmt: skip
    state = replay_checked(history, knowsley())
    assert state == replay(history)
    assert (state.stage, state.status, state.retracted) == ("stage-2", "resolved", {2})
    # without the retraction, the second escalation to Stage 2 is refused
    again = [f for f in history if f.kind != "retracted"]
    again = [f._replace(seq=n) for n, f in enumerate(again, start=1)]
    with pytest.raises(Refused) as exc:
        replay_checked(again, knowsley())
    assert exc.value.n == 4
