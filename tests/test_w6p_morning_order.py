"""Issue 32 (wave 6): the morning check's lines are put in order by state and day in lists,
each list by id (a stable sort: a concern's clocks stay in the order they were made, then
its actions by number), where they were sorted by one key a line: the same order
(domain.overdue._order), whatever order the rows and actions come in."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.overdue import _order, overdue_items

DAY = dt.date(2025, 6, 2)
DAYS = ["2025-05-01", "2025-05-20", "2025-05-30", "2025-06-02", "2025-06-03", "2025-06-06"]
KINDS = ["firm", "aim", "guidance", None]


def _rows(rng: random.Random, n: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    ids = [*rng.sample(range(1, 10**6), n), 2**63 - 1, 2**64 + 5]  # outside 64 bits too
    rows: list[tuple[object, ...]] = []
    actions: list[tuple[object, ...]] = []
    for cid in ids:

        def day() -> str | None:
            return rng.choice([*DAYS, None])

        stage_deadline, step_deadline = day(), day()
        rows.append((
            cid, f"C-{cid}", rng.choice(["knowsley", "west-sussex"]), "stage-1",
            stage_deadline, day(), rng.choice([None, "2025-04-01"]), rng.choice(KINDS),
            rng.choice(KINDS), "contact" if step_deadline else None, step_deadline,
            rng.choice(KINDS), rng.choice(["2025-03-03", "2025-05-29", "2025-06-01"]),
            "summary", rng.choice(["A", "B", None]), None, None,
        ))  # fmt: skip
        for action in range(rng.choice([0, 0, 1, 3])):
            data = json.dumps({"due": rng.choice(DAYS), "text": "t", "owner": "o"})
            actions.append((cid, f"C-{cid}", "knowsley", "stage-1", None, "2025-05-29", "s",
                            None, None, action + 1, data, None))  # fmt: skip
    return rows, actions


@pytest.mark.parametrize("seed", range(8))
def test_the_lines_are_in_the_order_of_their_key_however_the_rows_come(seed: int) -> None:
    rng = random.Random(seed)
    rows, actions = _rows(rng, 60)
    cal = WorkingCalendar()
    found = overdue_items(rows, cal, DAY, 5, actions=actions, no_deadline_after=3)
    assert found == sorted(found, key=_order)
    assert {i.state for i in found} >= {"overdue", "past-aim", "action-overdue", "due"}
    rng.shuffle(rows)
    rng.shuffle(actions)
    assert overdue_items(rows, cal, DAY, 5, actions=actions, no_deadline_after=3) == found
