"""sw5a's hostile sweep of issue 32's speed work on the morning check and `drp list`'s table:
each defect found, pinned as a strict xfail (the suite stays green; a test turns red when its
defect is fixed, to be made a plain test then)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.overdue import overdue_items
from tests.conftest import PG_URL, open_args

DAMAGED = (
    "Error: the database is damaged (concern 1: its stored concern.{column} is not a value drp "
    "writes): nothing read from it can be trusted; run `drp verify`, and restore the latest "
    "good backup (`drp restore`)\n"
)


@pytest.mark.parametrize("column", ["opened_on", "stage_started_on", "stage_responded_on"])
def test_list_table_refuses_a_malformed_day_it_does_not_show(
    drp: Callable[..., Any], sql: Callable[..., list[Any]], db_path: Path, column: str
) -> None:
    assert drp(*open_args()).exit_code == 0
    sql(f"UPDATE concern SET {column} = 'bad' WHERE id = 1")
    as_json = drp("list", "--json", "--on", "2025-03-04")
    assert (as_json.exit_code, as_json.stderr) == (4, DAMAGED.format(column=column))
    table = drp("list", "--on", "2025-03-04")
    assert (table.exit_code, table.stdout, table.stderr) == (4, "", DAMAGED.format(column=column))


@pytest.mark.skipif(PG_URL is not None, reason="a PostgreSQL date column holds no ''")
def test_an_empty_stored_deadline_is_refused_by_list_json_as_by_the_table(
    drp: Callable[..., Any], sql: Callable[..., list[Any]], db_path: Path
) -> None:
    assert drp(*open_args()).exit_code == 0
    sql("UPDATE concern SET deadline = '' WHERE id = 1")
    table = drp("list", "--on", "2025-03-11")
    assert (table.exit_code, table.stderr) == (4, DAMAGED.format(column="deadline"))
    morning = drp("overdue", "--on", "2025-03-11")
    assert (morning.exit_code, morning.stderr) == (4, DAMAGED.format(column="deadline"))
    as_json = drp("list", "--json", "--on", "2025-03-11")
    assert (as_json.exit_code, as_json.stdout, as_json.stderr) == (
        4, "", DAMAGED.format(column="deadline"),
    )  # fmt: skip


def _row(cid: int, deadline: str) -> tuple[Any, ...]:
    """A row of the morning check's search: a knowsley stage-1 concern whose aimed stage
    deadline is ``deadline`` (the columns of drp_cli.store.daily's search)."""
    return (cid, "KN-1", "knowsley", "stage-1", deadline, None, None, "aim", None, None, None,
            None, "2025-03-03", "S", "Test IRO", None, None)  # fmt: skip


@pytest.mark.parametrize("big", [2**31 + 10, 2**62 + 10, 2**64 + 10, -(2**63)])
def test_the_morning_check_orders_lines_by_deadline_whatever_the_id(big: int) -> None:
    """Fixed: an id of 2**31 ran into the deadline's bits of the one-integer order (a
    restored SQLite record may hold any id below 2**63; one beyond, or below 0, is ordered
    by the tuple)."""
    earlier, later = dt.date(2025, 3, 10), dt.date(2025, 3, 11)
    assert earlier.toordinal() % 2 == 0  # its low bit is the one an id of 2**31 sets
    items = overdue_items(
        [_row(big, earlier.isoformat()), _row(5, later.isoformat())],
        WorkingCalendar(),
        dt.date(2025, 6, 2),
    )
    assert [(i.id, i.state, i.deadline) for i in items] == [
        (big, "past-aim", earlier),
        (5, "past-aim", later),
    ]
