"""Pure tests (no database) that kill single-line mutants of the fold (drp_cli/domain/lifecycle.py)
and of the working-day calendar (drp_cli/domain/calendar.py) which no other test caught: each
pins a rule a line of code states and that a one-character change would break silently.

The protocols here are synthetic, built in the test, so that each rule is seen alone (two
timed steps whose deadlines differ, a step that counts from another)."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from drp_cli.core import dates
from drp_cli.domain import calendar
from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.lifecycle import Fact, fold
from drp_cli.domain.protocols import Protocol, Stage, Step

D = dt.date
CAL = WorkingCalendar()


def step(slug: str, days: int, after: str = "stage") -> Step:
    return Step(slug=slug, title=slug.title(), who="Team Manager", within_working_days=days,
                kind="firm", after=after, quote="q", citation="c")  # fmt: skip


def protocol(*steps: Step, timescale: int | None = 10) -> dict[str, Protocol]:
    """A one-stage protocol ``testshire`` with the given steps."""
    stage = Stage(
        slug="stage-1", title="Stage 1", formal=False, addressed_to=["Team Manager"],
        timescale_working_days=timescale, timescale_note="" if timescale else "none given",
        steps=list(steps), citation="c",
    )  # fmt: skip
    p = Protocol(slug="testshire", title="Test", authority="Test Council", source="test",
                 roles=["iro"], formal_cap_citation="c", bypass_citation="c",
                 cafcass_citation="c", stages=[stage])  # fmt: skip
    return {p.slug: p}


OPENING: dict[str, object] = {"protocol": "testshire", "child": "T-1", "category": "general",
                              "role": "iro", "uid": "u1"}  # fmt: skip


def facts(*events: tuple[str, dt.date, dict[str, object]]) -> list[Fact]:
    """Events of a concern at stage-1, numbered in the order given; the first opens it."""
    out = [Fact(1, "opened", D(2025, 3, 3), "stage-1", "A. IRO", "Summary", OPENING)]
    for n, (kind, on, details) in enumerate(events, start=2):
        out.append(Fact(n, kind, on, "stage-1", "A. IRO", "", details))
    return out


# -- lifecycle.apply -------------------------------------------------------------------------
def test_a_response_on_the_day_the_stage_began_counts():
    """``day >= started``: a response the day the concern was opened (or escalated) is the
    stage's response; one dated before the stage began is not."""
    state = fold(facts(("response", D(2025, 3, 3), {})), protocol(), CAL)
    assert state.stage_responded_on == D(2025, 3, 3)
    state = fold(facts(("response", D(2025, 2, 28), {})), protocol(), CAL)
    assert state.stage_responded_on is None


def test_the_first_time_a_step_is_done_is_the_one_that_counts():
    """``visit.done.setdefault``: a step recorded done twice keeps its first day, and the step
    that counts from it keeps its deadline from that day."""
    steps = protocol(step("letter", 2), step("reply", 3, after="letter"))
    state = fold(facts(("done", D(2025, 3, 4), {"what": "letter"}),
                       ("done", D(2025, 3, 6), {"what": "letter"})), steps, CAL)  # fmt: skip
    assert state.visits[-1].done == {"letter": D(2025, 3, 4)}
    # Tue 4 Mar + 3 working days = Fri 7 Mar (from Thu 6 Mar it would be Tue 11 Mar)
    assert (state.step, state.step_deadline) == ("reply", D(2025, 3, 7))


def test_a_later_cafcass_step_leaves_the_senior_officer_notification_date():
    """The first senior-officer notification is the date; a second one, or another CAFCASS
    step, later does not move it."""
    state = fold(
        facts(("cafcass", D(2025, 3, 5), {"step": "senior-officer-notified", "who": "HoS"}),
              ("cafcass", D(2025, 3, 7), {"step": "senior-officer-notified", "who": "AD"}),
              ("cafcass", D(2025, 3, 10), {"step": "helpline"})),
        protocol(), CAL,
    )  # fmt: skip
    assert state.senior_officer_notified_on == D(2025, 3, 5)
    # nor does another CAFCASS step before it stand for the notification
    state = fold(facts(("cafcass", D(2025, 3, 4), {"step": "helpline"}),
                       ("cafcass", D(2025, 3, 6), {"step": "senior-officer-notified"})),
                 protocol(), CAL)  # fmt: skip
    assert state.senior_officer_notified_on == D(2025, 3, 6)


def test_the_next_step_due_is_the_earliest():
    """``min(pending, ...)``: of two timed steps not done, the next is the one due first,
    wherever it stands in the protocol's list."""
    steps = protocol(step("slow", 8), step("quick", 2))
    state = fold(facts(), steps, CAL)
    # Mon 3 Mar + 2 working days = Wed 5 Mar ("slow": + 8 = Thu 13 Mar)
    assert (state.step, state.step_deadline, state.step_deadline_kind) == (
        "quick", D(2025, 3, 5), "firm")  # fmt: skip
    state = fold(facts(("done", D(2025, 3, 4), {"what": "quick"})), steps, CAL)
    assert (state.step, state.step_deadline) == ("slow", D(2025, 3, 13))


def test_event_count_counts_retracted_events_and_the_retraction():
    """The concern's entry count is every event in its history: a retracted one still stands
    in it (it no longer counts for the state), and so does the retraction."""
    events = facts(("response", D(2025, 3, 4), {}), ("retracted", D(2025, 3, 5), {"seq": 2}))
    state = fold(events, protocol(), CAL)
    assert (state.event_count, state.stage_responded_on, state.retracted) == (3, None, {2})
    assert fold(events[:2], protocol(), CAL).event_count == 2


# -- calendar ---------------------------------------------------------------------------------
_ENG = holidays.country_holidays("GB", subdiv="ENG", years=range(2024, 2046))


def naive_add(day: dt.date, n: int) -> dt.date:
    while n:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in _ENG:
            n -= 1
    return day


def test_growing_the_table_keeps_the_years_already_in_it():
    """The table grows a few years at a time; growing it forwards must keep the earlier years
    (and backwards the later ones), or a count across the two is wrong."""
    far = WorkingCalendar().add(D(2025, 3, 3), 2600)  # about ten years on: grows four times
    assert far == naive_add(D(2025, 3, 3), 2600)
    forwards = WorkingCalendar()
    assert forwards.is_working_day(D(2025, 3, 3))
    assert forwards.working_days_between(D(2025, 3, 3), far) == 2600  # 2035 asked after 2025
    backwards = WorkingCalendar()
    assert far == D(2035, 6, 15) and backwards.is_working_day(far)
    assert backwards.is_working_day(D(2025, 3, 3))
    # it only ever grows: a year before the first day asked and two after the last
    assert (backwards._first_year, backwards._last_year) == (2024, 2037)
    assert backwards.working_days_between(D(2025, 3, 3), far) == 2600  # 2025 asked after 2035


def test_the_calendar_covers_exactly_the_days_drp_handles():
    """One bound: the calendar's years are those of dates.FIRST_DAY to dates.LAST_DAY."""
    assert (dates.FIRST_DAY.year, dates.LAST_DAY.year) == (calendar.MIN_YEAR, calendar.MAX_YEAR)
    cal = WorkingCalendar()
    assert cal.is_working_day(dates.LAST_DAY) is (dates.LAST_DAY.weekday() < 5)
    assert cal.is_working_day(dates.FIRST_DAY) is False  # New Year's Day
    for outside in (dates.LAST_DAY + dt.timedelta(days=1), dates.FIRST_DAY - dt.timedelta(days=1)):
        with pytest.raises(ValueError, match="is outside 1990-2199"):
            cal.is_working_day(outside)
