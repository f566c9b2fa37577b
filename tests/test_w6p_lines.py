"""Issue 32 (wave 6): drp overdue's plain table makes the columns between the child and
the summary once for each distinct run of what they show (for a clock's line the day its
stage began is not shown; for a stage with no deadline it is): the same text as the way
before (tests.test_w2_overdue_lines.reference_lines) where lines differ only in that."""

from __future__ import annotations

import datetime as dt

from drp_cli.cli.dailycheck import overdue_lines
from drp_cli.domain.overdue import ActionDue, OverdueItem
from tests.test_w2_overdue_lines import reference_lines

DAY = dt.date(2025, 6, 2)


def test_lines_alike_but_for_the_stage_start_are_made_as_before() -> None:
    base = OverdueItem(7, "KN-7", "knowsley", "stage-1", "past-aim", dt.date(2025, 5, 1),
                       "stage", 21, 0, True, "aim", None, "s", ("Social worker",), "Ann",
                       None, dt.date(2025, 4, 1), 43)  # fmt: skip
    found = [
        base,
        base._replace(id=8, stage_started_on=dt.date(2025, 4, 2), working_days_at_stage=42),
        base._replace(id=9, state="no-deadline", deadline=None, timescale=None,
                      stage_started_on=dt.date(2025, 3, 3), working_days_at_stage=64),
        base._replace(id=10, state="no-deadline", deadline=None, timescale=None,
                      stage_started_on=dt.date(2025, 3, 4), working_days_at_stage=63),
        base._replace(id=11, which="action", timescale="agreed", state="action-overdue",
                      action=ActionDue(2, "Chase", "Team Manager")),
        base._replace(id=12, which="action", timescale="agreed", state="action-overdue",
                      action=ActionDue(3, "Chase", "Team Manager")),
    ]  # fmt: skip
    assert overdue_lines(found, DAY) == reference_lines(found, DAY)
    lines = overdue_lines(found, DAY).splitlines()
    assert "none (stage since 2025-03-03)" in lines[4] and "64 working days" in lines[4]
    assert "none (stage since 2025-03-04)" in lines[5] and "63 working days" in lines[5]
