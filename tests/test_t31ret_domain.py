"""The retention schedule's pure rule (drp_cli.domain.retention) and the hold's fold and
transitions (issue 31 item 2): which rule applies, the disposal date, what is due, the
tombstone's gaps."""

from __future__ import annotations

import datetime as dt

import pytest

from drp_cli.core.errors import InvalidInput, TransitionRefused
from drp_cli.domain import retention
from drp_cli.domain.lifecycle import ConcernState, Fact, apply, replay
from drp_cli.domain.retention import Closed, Rule, Schedule
from drp_cli.domain.transitions import check

D = dt.date
YEARS_MESSAGE = "value for retention_years is a whole number of years, 1 to 200"


def test_the_schedule_is_read_from_the_settings():
    plan = retention.schedule({"retention_years": 15,
                               "retention_by_route": "stage-2=20; cafcass = 25",
                               "retention_by_role": "child-protection=35;"})  # fmt: skip
    assert plan == Schedule(15, {"stage-2": 20, "cafcass": 25}, {"child-protection": 35})
    assert retention.schedule({}) == Schedule()
    assert retention.schedule({}).empty
    assert retention.schedule({"retention_years": "7"}).years == 7


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"retention_years": 0}, YEARS_MESSAGE),
        ({"retention_years": 201}, YEARS_MESSAGE),
        ({"retention_years": True}, YEARS_MESSAGE),
        ({"retention_years": "-3"}, YEARS_MESSAGE),
        ({"retention_by_role": "cp"},
         "value for retention_by_role is slug=YEARS pairs separated by semicolons, e.g. "
         "child-protection=35; stage-2=20"),
        ({"retention_by_role": "cp=3; cp=4"}, "value for retention_by_role names 'cp' twice"),
        ({"retention_by_route": "a b=3"},
         "value for retention_by_route is slug=YEARS pairs separated by semicolons, e.g. "
         "child-protection=35; stage-2=20"),
        ({"retention_by_route": 3}, "value for retention_by_route is text: slug=YEARS; slug=YEARS"),
    ],
)  # fmt: skip
def test_a_malformed_setting_is_refused(values, message):
    with pytest.raises(InvalidInput) as bad:
        retention.schedule(values)
    assert bad.value.message == message


def test_which_rule_applies():
    plan = Schedule(15, {"stage-2": 20, "short": 2}, {"cp": 35, "iro": 20})
    assert retention.rule_for(plan, None, None) == Rule("retention_years", None, 15)
    assert retention.rule_for(plan, "other", "other") == Rule("retention_years", None, 15)
    # an override replaces the default, even a shorter one (the council's decision)
    assert retention.rule_for(plan, "short", None) == Rule("retention_by_route", "short", 2)
    # a route's and a role's override: the longer; a tie goes to the role's
    assert retention.rule_for(plan, "stage-2", "cp") == Rule("retention_by_role", "cp", 35)
    assert retention.rule_for(plan, "stage-2", "iro") == Rule("retention_by_role", "iro", 20)
    assert retention.rule_for(plan, "short", "iro") == Rule("retention_by_role", "iro", 20)
    # nothing set: nothing applies
    assert retention.rule_for(Schedule(), "stage-2", "cp") is None
    assert retention.rule_for(Schedule(by_role={"cp": 35}), None, "iro") is None
    assert str(Rule("retention_by_role", "cp", 35)) == "retention_by_role:cp=35"
    assert str(Rule("retention_years", None, 15)) == "retention_years=15"


def test_the_disposal_date_is_the_anniversary_never_earlier():
    assert retention.disposal_date(D(2025, 3, 10), 15) == D(2040, 3, 10)
    assert retention.disposal_date(D(2024, 2, 29), 1) == D(2025, 3, 1)
    assert retention.disposal_date(D(2024, 2, 29), 4) == D(2028, 2, 29)
    assert retention.disposal_date(D(2024, 12, 31), 1) == D(2025, 12, 31)


def test_what_is_due():
    plan = Schedule(6, {}, {"cp": 35})
    concerns = [
        Closed(3, "resolved", D(2025, 3, 10), None, "iro"),
        Closed(1, "withdrawn", D(2025, 3, 11), None, "iro"),
        Closed(2, "open", None, None, "iro"),
        Closed(4, "resolved", D(2025, 3, 1), None, "cp"),
        Closed(5, "resolved", D(2025, 1, 1), None, "iro", held=True),
    ]
    due, held = retention.due(plan, concerns, D(2031, 3, 10))
    assert [d.to_dict() for d in due] == [
        {"id": 3, "closed_on": "2025-03-10", "rule": "retention_years=6",
         "due_for_disposal_on": "2031-03-10"},
    ]  # fmt: skip
    assert [d.id for d in held] == [5]
    due, held = retention.due(plan, concerns, D(2031, 3, 11))
    assert [d.id for d in due] == [1, 3]
    assert [d.id for d in retention.due(plan, concerns, D(2060, 3, 1))[0]] == [1, 3, 4]
    assert retention.due(plan, concerns, D(2030, 12, 31)) == ([], [])
    assert retention.due(Schedule(), concerns, D(2200, 1, 1)) == ([], [])


def test_the_gaps_a_purge_leaves():
    links = [(9, "h8", "h9"), (4, "h3", "h4"), (5, "h4", "h5"), (12, "h11", "h12")]
    assert retention.gaps(links) == [(4, 5, "h3", "h5"), (9, 9, "h8", "h9"),
                                     (12, 12, "h11", "h12")]  # fmt: skip
    assert retention.gaps([]) == []
    row = {"purged_on": D(2031, 3, 10), "by": "Records Officer",
           "recorded_at": dt.datetime(2031, 3, 10, 9, 0, tzinfo=dt.UTC),
           "detail": {"concerns": [3], "gaps": [[4, 5, "h3", "h5"]]}}  # fmt: skip
    assert retention.tombstone_gaps(row) == [(4, 5, "h3", "h5")]
    assert retention.tombstone_gaps({"detail": "not json"}) == []
    assert retention.tombstone_json(row, 13, "h12") == (
        '{"by":"Records Officer","chain_seq":13,"detail":{"concerns":[3],"gaps":[[4,5,"h3",'
        '"h5"]]},"entry":"purge","prev_hash":"h12","purged_on":"2031-03-10",'
        '"recorded_at":"2031-03-10T09:00:00.000000"}'
    )
    # the same whichever way the detail and the moment are read back
    stored = {**row, "detail": '{"gaps": [[4, 5, "h3", "h5"]], "concerns": [3]}',
              "recorded_at": "2031-03-10 09:00:00+00:00"}  # fmt: skip
    assert retention.tombstone_hash(stored, 13, "h12") == retention.tombstone_hash(row, 13, "h12")
    assert retention.tombstone_hash(row, 13, "h11") != retention.tombstone_hash(row, 13, "h12")


def _fact(seq: int, kind: str, day: dt.date, text: str = "") -> Fact:
    return Fact(seq, kind, day, "stage-1", "IRO", text, {})


def test_the_fold_knows_whether_a_concern_is_held():
    facts = [_fact(1, "note", D(2025, 3, 4)), _fact(2, "held", D(2025, 3, 5), "Inquiry")]
    state = replay(facts)
    assert (state.held, state.held_on, state.hold_reason) == (True, D(2025, 3, 5), "Inquiry")
    apply(state, _fact(3, "hold-lifted", D(2025, 4, 1), "Released"))
    assert (state.held, state.held_on, state.hold_reason) == (False, None, None)


def test_the_registry_refuses_a_second_hold_and_a_lift_of_none():
    state = ConcernState()
    state.visits.append(None)  # type: ignore[arg-type]  # opened (only its presence counts)
    state.opened_on = D(2025, 3, 3)
    check(state, _fact(2, "held", D(2025, 3, 5), "Inquiry"), None, concern=4)
    with pytest.raises(TransitionRefused) as refused:
        check(state, _fact(2, "hold-lifted", D(2025, 3, 5)), None, concern=4)
    assert refused.value.message == "concern 4 is not under a legal hold"
    apply(state, _fact(2, "held", D(2025, 3, 5), "Inquiry"))
    with pytest.raises(TransitionRefused) as refused:
        check(state, _fact(3, "held", D(2025, 3, 6)), None, concern=4)
    assert refused.value.message == "concern 4 is already under a legal hold (since 2025-03-05)"
    with pytest.raises(InvalidInput) as bad:
        check(state, _fact(3, "hold-lifted", D(2025, 3, 4)), None, concern=4)
    assert bad.value.message == "on 2025-03-04 is before the hold was placed (2025-03-05)"
    check(state, _fact(3, "hold-lifted", D(2025, 3, 5)), None, concern=4)
    # a closed concern takes a hold too
    state.status = "resolved"
    apply(state, _fact(3, "hold-lifted", D(2025, 3, 5)))
    check(state, _fact(4, "held", D(2025, 3, 7)), None, concern=4)
