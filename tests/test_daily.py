"""The daily check (`drp overdue`): the overdue rule over the store's one query must agree
with a brute-force count written independently here, on both engines."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drp_cli.core.errors import InvalidInput
from drp_cli.domain.overdue import OverdueItem
from drp_cli.services.tracker import Tracker

D = dt.date


def busy_service(t: Tracker) -> None:
    """Concerns at every kind of point: in time, late, responded, formal cap, resolved."""
    a = t.open(protocol="knowsley", child="KN-1", category="statutory", summary="x",
               on=D(2025, 3, 3))  # fmt: skip
    b = t.open(protocol="west-sussex", child="WS-2", category="statutory", summary="x",
               stage="stage-1", role="cpa", on=D(2025, 3, 5))  # fmt: skip
    t.respond(b.id, text="Looking into it", on=D(2025, 3, 11))
    c = t.open(protocol="sbc-fciro", child="SB-3", category="general", summary="x",
               role="fciro", on=D(2025, 3, 10))  # fmt: skip
    t.escalate(c.id, on=D(2025, 3, 12))
    d = t.open(protocol="knowsley", child="KN-4", category="general", summary="x",
               on=D(2025, 3, 4))  # fmt: skip
    t.resolve(d.id, outcome="done", on=D(2025, 3, 6))
    t.open(protocol="nottinghamshire-crp", child="NC-5", category="general", summary="x",
           on=D(2025, 3, 6))  # fmt: skip
    t.add_closures(D(2025, 3, 14), reason="office move")
    t.escalate(a.id, on=D(2025, 3, 14))
    # recommended actions: one outstanding (due Wed 12 Mar), one done, one removed, one
    # with no due date; and one of a closed concern, never chased
    from drp_cli.services import details

    details.add(t, a.id, "action", text="Allocate", owner="Team Manager", due="2025-03-12",
                on=D(2025, 3, 3))  # fmt: skip
    details.add(t, a.id, "action", text="Visit", owner="Social worker", due="2025-03-07",
                on=D(2025, 3, 3))  # fmt: skip
    details.mark_done(t, a.id, 2, on=D(2025, 3, 7))
    details.add(t, b.id, "action", text="Plan", owner="PM", due="2025-03-10", on=D(2025, 3, 5))
    details.remove(t, b.id, "action", 1, on=D(2025, 3, 6))
    details.add(t, b.id, "action", text="Review", owner="PM", on=D(2025, 3, 5))
    details.add(t, d.id, "action", text="Old", owner="TM", due="2025-03-05", on=D(2025, 3, 4))


DAYS = [D(2025, 3, 10), D(2025, 3, 13), D(2025, 3, 17), D(2025, 3, 28), D(2025, 5, 1)]


def overdue(db: object, on: object, within: int = 0) -> list[OverdueItem]:
    """The daily check as `drp overdue` runs it."""
    t = Tracker(db)  # type: ignore[arg-type]
    try:
        return t.overdue(on=on, within=within)  # type: ignore[arg-type]
    finally:
        t.store.close()


def expected_overdue(t: Tracker, day: dt.date, within: int) -> list[OverdueItem]:
    """What `drp overdue` must say, worked out by brute force from each open concern's
    stored deadlines, its events, its actions and a day-by-day count of working days
    (weekdays that are neither bank holidays nor local closure days): no code shared with
    drp_cli.domain.overdue. What is due on the day is always shown; a stage with no deadline after
    10 working days; an outstanding action due by the horizon."""
    from drp_cli.domain.calendar import bank_holidays

    closed = {c.day for c in t.closures()}

    def working(d: dt.date) -> bool:
        return d.weekday() < 5 and d not in bank_holidays(d.year) and d not in closed

    def after(start: dt.date, end: dt.date) -> int:  # working days in (start, end]
        n, d = 0, start
        while d < end:
            d += dt.timedelta(days=1)
            n += working(d)
        return n

    horizon = day
    for _ in range(within):
        horizon += dt.timedelta(days=1)
        while not working(horizon):
            horizon += dt.timedelta(days=1)
    from drp_cli.domain.overdue import ActionDue
    from drp_cli.services import details

    items = []
    passed_state = {"firm": "overdue", "guidance": "past-guidance", "aim": "past-aim"}
    for c in t.concerns(status="open"):
        stage = t.protocols.get(c.protocol).stage(c.stage)
        about = (c.summary, tuple(stage.addressee_names), c.owner, c.team, c.stage_started_on,
                 after(c.stage_started_on, day))  # fmt: skip
        deadlines = [(name, d, kind or "firm") for name, d, kind in (
            ("stage", c.deadline, c.deadline_kind), ("step", c.step_deadline, c.step_deadline_kind),
            ("formal", c.formal_deadline, c.formal_deadline_kind)) if d is not None]  # fmt: skip
        responded = any(e.kind == "response" and e.stage == c.stage for e in c.events)
        # one line per clock passed, or due on or before the horizon
        for name, d, k in deadlines:
            late = after(d, day)
            if late:
                items.append(OverdueItem(c.id, c.child, c.protocol, c.stage,
                                         passed_state[k], d,  # type: ignore[arg-type]
                                         name, late, 0, responded, k,
                                         c.step if name == "step" else None, *about))  # fmt: skip
            elif d <= horizon:  # what is due on the day itself is always shown
                items.append(OverdueItem(c.id, c.child, c.protocol, c.stage, "due",
                                         d, name, 0, after(day, d), responded, k,
                                         c.step if name == "step" else None, *about))  # fmt: skip
        if c.deadline is None and c.step_deadline is None and about[-1] >= 10:
            items.append(OverdueItem(c.id, c.child, c.protocol, c.stage, "no-deadline", None,
                                     "stage", 0, 0, responded, None, None, *about))  # fmt: skip
        for a in details.items(t, c.id, "action"):
            due = a.fields.get("due")
            if a.done_on is not None or not due or D.fromisoformat(due) > horizon:
                continue
            due = D.fromisoformat(due)
            late = after(due, day)
            items.append(OverdueItem(
                c.id, c.child, c.protocol, c.stage, "action-overdue" if late else "due",
                due, "action", late, 0 if late else after(day, due), responded, "agreed", None,
                *about, ActionDue(a.n, a.fields["text"], a.fields["owner"])))  # fmt: skip
    order = ("overdue", "past-guidance", "past-aim", "action-overdue", "no-deadline", "due")
    clocks = ("stage", "step", "formal", "action")
    return sorted(items, key=lambda i: (order.index(i.state), i.deadline or i.stage_started_on,
                                        i.id, clocks.index(i.which),
                                        i.action.n if i.action else 0))  # fmt: skip


@pytest.mark.parametrize("within", [0, 3, 20])
def test_fast_path_agrees_with_a_brute_force_count(db_target, within):
    t = Tracker(db_target)
    busy_service(t)
    seen_both = False
    states: set[str] = set()
    for day in DAYS:
        fast = overdue(db_target, on=day, within=within)
        expected = expected_overdue(t, day, within)
        assert fast == expected, day
        ids = [i.id for i in fast if i.which != "action"]
        seen_both |= len(ids) > len(set(ids))
        states |= {i.state for i in fast}
    assert seen_both  # a concern with two clocks passed or due: a line for each
    assert {"overdue", "past-aim", "action-overdue"} <= states
    # Nottinghamshire's CRP sets no stage timescale: 10 working days on, it shows, beside
    # its formal guidance when that falls due within the days looked ahead
    assert "no-deadline" in states
    assert ("due" in states) == (within > 0)
    assert any(i.state == "overdue" for i in fast)
    if within:
        soon = overdue(db_target, on=D(2025, 3, 10), within=within)
        assert any(i.state == "due" for i in soon)
        assert soon == expected_overdue(t, D(2025, 3, 10), within)
    t.store.close()


def test_each_clock_passed_is_a_line_of_its_own(db_target):
    """Hand-worked: knowsley, opened Mon 3 Mar 2025, escalated to stage 2 (formal) on Tue 11
    Mar: stage deadline Tue 18 Mar (5 working days), formal deadline Tue 8 Apr (20). On Thu 1
    May (Easter Fri 18 and Mon 21 Apr are bank holidays) both are passed: a line for each,
    the firm limit first (15 working days late), then the aim (30).

    Knowsley's stage timescale is an aim ("aiming for 5 working days to resolve", Standard
    3.2) and its whole-process limit firm ("cannot take longer than 20 working days",
    Standard 3.5): the aim passed alone is past-aim; the firm limit passed is overdue,
    shown beside it, never instead of it. West Sussex (both firm, §5 and §2): two lines."""
    t = Tracker(db_target)
    c = t.open(protocol="knowsley", child="KN-1", category="statutory", summary="x",
               on=D(2025, 3, 3))  # fmt: skip
    t.escalate(c.id, on=D(2025, 3, 11))
    view = t.get(c.id)
    assert (view.deadline, view.formal_deadline) == (D(2025, 3, 18), D(2025, 4, 8))
    assert (view.deadline_kind, view.formal_deadline_kind) == ("aim", "firm")
    lines = [(i.state, i.deadline, i.which, i.working_days_overdue, i.timescale)
             for i in overdue(db_target, on=D(2025, 5, 1))]  # fmt: skip
    assert lines == [
        ("overdue", D(2025, 4, 8), "formal", 15, "firm"),
        ("past-aim", D(2025, 3, 18), "stage", 30, "aim"),
    ]
    (item,) = overdue(db_target, on=D(2025, 4, 1))  # only the stage's aim
    assert (item.state, item.deadline, item.which, item.working_days_overdue, item.timescale) == (
        "past-aim", D(2025, 3, 18), "stage", 10, "aim",
    )  # fmt: skip
    # the firm limit falling due is shown beside the aim passed: on the day, and ahead
    later = [(i.state, i.which, i.working_days_left)
             for i in overdue(db_target, on=D(2025, 4, 8))]  # fmt: skip
    assert later == [("past-aim", "stage", 0), ("due", "formal", 0)]
    later = [(i.state, i.which, i.working_days_left)
             for i in overdue(db_target, on=D(2025, 4, 3), within=3)]  # fmt: skip
    assert later == [("past-aim", "stage", 0), ("due", "formal", 3)]
    # West Sussex: informal from Mon 3 Mar, Stage 1 from Tue 11 Mar: 5 days -> Tue 18 Mar,
    # firm; 20 days -> Tue 8 Apr, the IRO Handbook's "should", quoted in §2: guidance
    w = t.open(protocol="west-sussex", child="WS-1", category="statutory", summary="x",
               on=D(2025, 3, 3))  # fmt: skip
    t.escalate(w.id, on=D(2025, 3, 11))
    ws = [(i.state, i.deadline, i.which, i.working_days_overdue)
          for i in overdue(db_target, on=D(2025, 5, 1)) if i.id == w.id]  # fmt: skip
    assert ws == [("overdue", D(2025, 3, 18), "stage", 30),
                     ("past-guidance", D(2025, 4, 8), "formal", 15)]  # fmt: skip
    t.store.close()


def test_a_reopened_closure_day_is_a_working_day_again(db_path):
    """The latest change for a day wins: closed, reopened, is open; closed again, is closed.
    Wed 12 Mar lies between the deadline (Mon 10 Mar) and the day judged (Mon 17 Mar), so
    it changes the count but not the stored deadline."""
    t = Tracker(db_path)
    t.open(protocol="knowsley", child="KN-1", category="statutory", summary="x",
           on=D(2025, 3, 3))  # fmt: skip

    def late() -> int:
        (item,) = overdue(db_path, on="2025-03-17")
        assert item.deadline == D(2025, 3, 10)
        return item.working_days_overdue

    assert late() == 5  # 11, 12, 13, 14, 17 March
    t.add_closures(D(2025, 3, 12), reason="training day")
    assert late() == 4
    t.remove_closure(D(2025, 3, 12))
    assert late() == 5
    t.add_closures(D(2025, 3, 12), reason="training day again")
    assert late() == 4
    t.store.close()


def test_closure_day_counts_on_the_fast_path(db_path):
    t = Tracker(db_path)
    t.open(protocol="knowsley", child="KN-1", category="statutory", summary="x",
           on=D(2025, 3, 3))  # fmt: skip
    # stage-1 deadline Mon 10 Mar; on Mon 17 Mar it is 5 working days overdue
    assert overdue(db_path, on="2025-03-17")[0].working_days_overdue == 5
    # closed Thu 6 Mar: the deadline moves to Tue 11 Mar, 4 working days before Mon 17 Mar
    t.add_closures(D(2025, 3, 6), reason="training day")
    (item,) = overdue(db_path, on="2025-03-17")
    assert (item.deadline, item.working_days_overdue) == (D(2025, 3, 11), 4)
    t.remove_closure(D(2025, 3, 6))
    assert overdue(db_path, on="2025-03-17")[0].working_days_overdue == 5
    t.store.close()


def test_bad_within_is_refused_before_reading(db_path):
    with pytest.raises(InvalidInput, match=r"^within must be from 0 to 260 working days$") as err:
        overdue(db_path, on="2025-03-17", within=261)
    assert err.value.field == "within"  # the CLI edge names it --within
    assert not db_path.exists()


def test_overdue_on_sqlite_does_not_load_sqlalchemy(db_path):
    t = Tracker(db_path)
    c = t.open(protocol="west-sussex", child="WS-1", category="statutory", summary="x",
               on=D(2025, 3, 3))  # fmt: skip
    t.done(c.id, "pm-request", on=D(2025, 3, 3))  # the Practice Manager's clock (§3 iv)
    t.store.close()
    script = (
        "import sys\n"
        "sys.argv = ['drp', 'overdue', '--on', '2025-03-17', '--json']\n"
        "from drp_cli.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "sys.stdout.flush()\n"
        "print('@@', code, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'sqlmodel', 'pydantic', 'rich', 'holidays', 'jinja2')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={**os.environ, "DRP_DB": str(db_path)}, check=True)  # fmt: skip
    text, _, tail = out.stdout.rpartition("@@ ")
    assert tail.strip() == "1 []"
    assert json.loads(text)[0]["working_days_overdue"] == 5


def test_many_rows_print_as_the_plain_table(capsys):
    from drp_cli.cli.dailycheck import OVERDUE_HEADERS, _overdue_cells, overdue_lines
    from drp_cli.cli.output import plain_table

    items = [
        OverdueItem(
            n * 37,
            f"C-{n}" * (1 + n % 4),
            ["knowsley", "west-sussex"][n % 2],
            ["stage-1", "stage-3"][n % 3 % 2],
            "overdue" if n % 5 else "due",
            D(2025, 1, 1) + dt.timedelta(days=n % 40),
            ["stage", "formal", "stage and formal"][n % 3],
            0 if n % 5 == 0 else n % 30 + 1,
            n % 7 if n % 5 == 0 else 0,
            n % 2 == 0,
            ["firm", "aim", "guidance"][n % 3],
            "contact" if n % 4 == 0 else None,
        )
        for n in range(1, 260)
    ]
    plain_table(list(OVERDUE_HEADERS), [_overdue_cells(i) for i in items])
    assert overdue_lines(items) == capsys.readouterr().out


def test_more_than_200_overdue_is_a_plain_table(drp, tmp_path):
    rows = [{"protocol": "west-sussex", "child": f"W-{n:03d}", "category": "statutory",
             "summary": "x", "opened_on": "2025-03-03", "stage": "stage-1",
             "stage_started_on": "2025-03-03", "status": "open"} for n in range(205)]  # fmt: skip
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    assert drp("import", str(path)).exit_code == 0
    r = drp("overdue", "--on", "2025-03-17")
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert lines[:4] == [
        "Deadlines on 2025-03-17",
        "ID   Child  Protocol     Stage    Deadline            State                   Responded"
        "  Addressed to      Owner     Summary",
        "---  -----  -----------  -------  ------------------  ----------------------  ---------"
        "  ----------------  --------  -------",
        "1    W-000  west-sussex  stage-1  2025-03-10 (stage)  OVERDUE 5 working days  no       "
        "  Practice Manager  Test IRO  x",
    ]
    assert lines[-1] == "205 overdue."


overdue_items = st.lists(
    st.builds(
        OverdueItem,
        id=st.integers(min_value=1, max_value=10**9),
        child=st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
        protocol=st.sampled_from(["knowsley", "west-sussex"]),
        stage=st.text(max_size=10),
        state=st.sampled_from(["overdue", "due"]),
        deadline=st.dates(),
        which=st.sampled_from(["stage", "formal", "stage and formal"]),
        working_days_overdue=st.integers(min_value=0, max_value=500),
        working_days_left=st.integers(min_value=0, max_value=260),
        responded=st.booleans(),
    ),
    max_size=8,
)


@settings(deadline=None)  # a busy machine's pause must not fail an example
@given(overdue_items)
def test_overdue_json_is_exactly_json_dumps_of_to_dict(items):
    from drp_cli.cli.dailycheck import overdue_json

    expected = json.dumps([i.to_dict() for i in items], indent=2, ensure_ascii=False)
    assert overdue_json(items) == expected
