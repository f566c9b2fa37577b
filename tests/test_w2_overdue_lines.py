"""The morning check's plain lines (cli.reports.overdue_lines) made a row at a time with each
distinct text once and the stored texts checked for characters to escape all at once
(issue 32, the pathological morning check): the same text as the way before, verbatim
below, on a varied check and on stored text that needs escaping; and the check's items as
the overdue rule made them before (one named tuple a line, in the same order)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from drp_cli.cli.dailycheck import (
    OVERDUE_HEADERS,
    _shown,
    _state_text,
    _when,
    overdue_json,
    overdue_lines,
)
from drp_cli.cli.output import names, short
from drp_cli.domain.overdue import OverdueItem
from drp_cli.services import morning
from drp_cli.store.connection import Store
from tests.conftest import open_args


# fmt: off
def reference_lines(found: list[OverdueItem], day: dt.date | None = None) -> str:
    """The plain aligned table of :func:`drp_cli.cli.output.plain_table` for many rows, in
    one pass: the deadline, state, addressee and owner columns repeat, so each distinct text
    is made once."""
    whens: dict[tuple[object, ...], str] = {}
    states: dict[tuple[str, int, int, int, bool], str] = {}
    addressees: dict[tuple[str, ...], str] = {}
    owners: dict[str | None, str] = {}
    rows = []
    for i in found:
        key = (i.deadline, i.which, i.step, i.action,
               i.stage_started_on if i.deadline is None else None)  # fmt: skip
        when = whens.get(key)
        if when is None:
            when = whens[key] = _when(i)
        skey = (i.state, i.working_days_overdue, i.working_days_left,
                i.working_days_at_stage if i.state == "no-deadline" else 0,
                day is not None and i.deadline is not None and i.deadline < day)  # fmt: skip
        state = states.get(skey)
        if state is None:
            state = states[skey] = _state_text(i, day)
        to = addressees.get(i.addressed_to)
        if to is None:
            to = addressees[i.addressed_to] = _shown(names(i.addressed_to))
        owner = owners.get(i.owner)
        if owner is None:
            owner = owners[i.owner] = _shown(i.owner or "-")
        rows.append((i.id, _shown(i.child), _shown(i.protocol), _shown(i.stage), when, state,
                     "yes" if i.responded else "no", to, owner,
                     _shown(short(i.summary) or "-")))  # fmt: skip
    columns = [
        [str(max((i.id for i in found), default=0))],
        {r[1] for r in rows},
        {r[2] for r in rows},
        {r[3] for r in rows},
        whens.values(),
        states.values(),
        ["yes", "no"] if found else [],
        {r[7] for r in rows},
        {r[8] for r in rows},
        [r[9] for r in rows],
    ]
    widths = [max(len(h), *map(len, c)) for h, c in zip(OVERDUE_HEADERS, columns, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"  # the last is not padded
    lines = [fmt.format(*OVERDUE_HEADERS), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines) + "\n"
# fmt: on


@pytest.fixture
def checked(drp: Callable[..., Any]) -> None:
    def ok(*args: str) -> None:
        r = drp(*args)
        assert r.exit_code == 0, (args, r.stderr)

    ok(*open_args(child="KN-1", on="2025-01-06"))
    ok(*open_args(child="KN-2", on="2025-02-03", owner="Priya Shah"))
    ok(*open_args(child="WS-1", protocol="west-sussex", stage="stage-2", role="iro",
                  reason="Immediate safety", on="2025-03-03"))  # fmt: skip
    ok(*open_args(child="NC-1", protocol="nottinghamshire-crp", on="2025-01-06"))
    ok("action", "add", "1", "--text", "Allocate a social worker", "--owner", "TM",
       "--due", "2025-03-05")  # fmt: skip
    ok("action", "add", "2", "--text", "Review", "--owner", "TM", "--due", "2025-03-07")
    ok("respond", "2", "--from", "TM", "--text", "Will allocate", "--on", "2025-02-05")
    ok("escalate", "1", "--to", "Stage 3", "--note", "x", "--on", "2025-02-20")


def items(db: str, day: dt.date, within: int = 0) -> list[OverdueItem]:
    found, _ = morning.check(Store(db), day, within=within, no_deadline_after=3)
    return found


@pytest.mark.parametrize("day", ["2025-03-04", "2025-03-08", "2025-03-21", "2025-06-02"])
@pytest.mark.parametrize("within", [0, 5])
def test_the_lines_are_the_way_before(checked: None, db_target: str, day: str,
                                      within: int) -> None:  # fmt: skip
    on = dt.date.fromisoformat(day)
    found = items(db_target, on, within)
    assert len(found) >= 3
    assert overdue_lines(found, on) == reference_lines(found, on)
    assert overdue_lines(found) == reference_lines(found)


def test_text_to_escape_is_escaped_as_before(checked: None, db_target: str) -> None:
    on = dt.date(2025, 6, 2)
    found = items(db_target, on)
    odd = [i._replace(child="KN\u202e-1", summary="Line one\nLine two", protocol="knowsley\x1b")
           if n % 2 else i for n, i in enumerate(found)]  # fmt: skip
    text = overdue_lines(odd, on)
    assert text == reference_lines(odd, on)
    assert "\u202e" not in text and "\x1b" not in text and "Line one\nLine two" not in text
    for one in odd:  # one unsafe line alone, and a safe one alone
        assert overdue_lines([one], on) == reference_lines([one], on)


def test_the_json_is_each_item_s_own(checked: None, db_target: str) -> None:
    import json

    found = items(db_target, dt.date(2025, 6, 2), 5)
    assert json.loads(overdue_json(found)) == [i.to_dict() for i in found]
    assert overdue_json(found) == json.dumps([i.to_dict() for i in found], indent=2,
                                             ensure_ascii=False)  # fmt: skip


def test_the_order_as_one_integer_is_the_order(checked: None, db_target: str) -> None:
    import itertools

    from drp_cli.domain.overdue import STATES, WHICH, ActionDue, _order, _rank

    found = items(db_target, dt.date(2025, 6, 2), 5)
    base = found[0]
    days = [dt.date.min, dt.date(2025, 3, 7), dt.date(2025, 3, 8), dt.date.max]
    made = [
        base._replace(state=state, deadline=day, id=cid, which=which,  # type: ignore[arg-type]
                      action=ActionDue(n, "x", "y") if which == "action" else None)
        for state, day, cid, which, n in itertools.product(
            STATES, days, (1, 2, 2**31 - 1), WHICH, (1, 2, 2**31 - 1))
    ]  # fmt: skip
    made += [base._replace(deadline=None, stage_started_on=d) for d in days]
    made += [base._replace(deadline=None, stage_started_on=None)]
    for group in (found, made):
        assert sorted(group, key=_rank) == sorted(group, key=_order)
        assert [_rank(a) < _rank(b) for a, b in itertools.pairwise(sorted(group, key=_order))
                ] == [_order(a) < _order(b) for a, b in itertools.pairwise(
                    sorted(group, key=_order))]  # fmt: skip
