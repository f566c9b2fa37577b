"""`drp list`'s table refuses a concern whose stored day it does not show (opened_on,
stage_started_on, stage_responded_on, ...) cannot be read, exactly as `drp list --json`
does: the same exit status, the same message, nothing on stdout (sw5a's defect; f7l). A
record that cannot be read is never listed as if it could, whatever the output shape."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drp_cli.store import listing
from tests.conftest import PG_URL, open_args

ON = "2025-03-04"
DAMAGED = (
    "Error: the database is damaged (concern {cid}: its stored concern.{column} is not a "
    "value drp writes): nothing read from it can be trusted; run `drp verify`, and restore "
    "the latest good backup (`drp restore`)\n"
)
UNSHOWN = listing.UNSHOWN_DAYS
OPTIONAL = UNSHOWN[2:]
#: What no reading takes as a day (SQL literals): a word, an impossible day, a day past
#: the days drp handles, a day with a time drp never writes after it... as text, a BLOB,
#: a number
REFUSED = {
    "word": "'bad'",
    "impossible": "'2025-02-30'",
    "month 13": "'2025-13-01'",
    "before 1990": "'1989-12-31'",
    "after 2199": "'2200-01-01'",
    "spaces": "' 2025-03-03'",
    "ordinal": "'2025-062'",
    "no dashes": "'20250303'",
    "empty": "''",
    "blob": "X'626164'",
    "blob of an impossible day": "CAST('2025-02-30' AS BLOB)",
    "integer": "20250303",
    "real": "2025.5",
}


def _same(drp: Callable[..., Any], *args: str) -> Any:
    """`drp list ARGS` as a table and as JSON: the same exit status and message (the
    table's result)."""
    table = drp("list", *args, "--on", ON)
    as_json = drp("list", *args, "--json", "--on", ON)
    assert (table.exit_code, table.stderr) == (as_json.exit_code, as_json.stderr)
    return table


def _refused(result: Any, column: str, cid: int = 1) -> None:
    assert (result.exit_code, result.stdout, result.stderr) == (
        4, "", DAMAGED.format(cid=cid, column=column),
    )  # fmt: skip


@pytest.mark.parametrize("value", list(REFUSED.values()), ids=list(REFUSED))
@pytest.mark.parametrize("column", UNSHOWN)
def test_the_table_refuses_a_day_it_does_not_show_as_json_does(
    drp: Callable[..., Any], sql: Callable[..., list[Any]], db_path: Path, column: str,
    value: str,
) -> None:  # fmt: skip
    assert drp(*open_args()).exit_code == 0
    sql(f"UPDATE concern SET {column} = {value} WHERE id = 1")
    _refused(_same(drp), column)


@pytest.mark.parametrize("column", OPTIONAL)
def test_a_zero_length_blob_in_a_day_not_shown_is_refused(
    drp: Callable[..., Any], sql: Callable[..., list[Any]], db_path: Path, column: str
) -> None:
    """An empty BLOB is no value drp writes (SQLite gives it to no converter, so it would
    read as no day): refused by the table and the whole read alike, as '' is."""
    assert drp(*open_args()).exit_code == 0
    sql(f"UPDATE concern SET {column} = X'' WHERE id = 1")
    _refused(_same(drp), column)


@pytest.mark.parametrize("column", UNSHOWN[:2])
def test_an_empty_blob_where_a_day_must_be_is_refused(
    drp: Callable[..., Any], sql: Callable[..., list[Any]], db_path: Path, column: str
) -> None:
    assert drp(*open_args()).exit_code == 0
    sql(f"UPDATE concern SET {column} = X'' WHERE id = 1")
    _refused(_same(drp), column)


@pytest.mark.parametrize(
    "value", ["'2025-03-03 00:00:00'", "'2025-03-03T09:30:00'", "CAST('2025-03-03' AS BLOB)"]
)
@pytest.mark.parametrize("column", UNSHOWN)
def test_a_day_stored_in_another_form_drp_reads_is_listed(
    drp: Callable[..., Any], sql: Callable[..., list[Any]], db_path: Path, column: str,
    value: str,
) -> None:  # fmt: skip
    """Not of the shape drp writes, but read as a day by the whole read: listed, the
    table unchanged (it does not show the day)."""
    assert drp(*open_args()).exit_code == 0
    before = drp("list", "--on", ON)
    sql(f"UPDATE concern SET {column} = {value} WHERE id = 1")
    after = _same(drp)
    assert (after.exit_code, after.stdout, after.stderr) == (0, before.stdout, "")


@pytest.mark.parametrize("column", UNSHOWN)
def test_a_day_outside_the_days_drp_handles_is_refused_on_either_engine(
    drp: Callable[..., Any], sql: Callable[..., list[Any]], db_target: str, column: str
) -> None:
    """PostgreSQL holds a date drp never writes (1900, infinity): its loader refuses it,
    where the table used not to read it."""
    assert drp(*open_args()).exit_code == 0
    sql(f"UPDATE concern SET {column} = '1900-01-01' WHERE id = 1")
    _refused(_same(drp), column)
    if PG_URL:
        sql(f"UPDATE concern SET {column} = 'infinity' WHERE id = 1")
        _refused(_same(drp), column)


def test_every_day_of_the_row_is_read_by_the_table() -> None:
    """The days the table does not show and the four it shows are the row's days
    (lifecycle.ROW_DAYS), those every row holds first as the whole read has them."""
    from drp_cli.domain.lifecycle import ROW_DAYS
    from drp_cli.store.record import REQUIRED

    shown = ("deadline", "step_deadline", "formal_deadline", "referred_on")
    assert set(shown) <= set(listing.COLUMNS)
    assert sorted((*UNSHOWN, *shown)) == sorted(ROW_DAYS)
    assert tuple(d for d in REQUIRED["concern"] if d in ROW_DAYS) == listing.REQUIRED_DAYS
    assert set(UNSHOWN[2:]).isdisjoint(REQUIRED["concern"])


def test_the_first_malformed_value_is_named_as_json_names_it(
    drp: Callable[..., Any], sql: Callable[..., list[Any]], db_path: Path
) -> None:
    for n in range(3):
        assert drp(*open_args(child=f"KN-{n}")).exit_code == 0
    sql("UPDATE concern SET closed_on = 'soon' WHERE id = 3")
    _refused(_same(drp), "closed_on", cid=3)
    sql("UPDATE concern SET opened_on = '2025-02-31' WHERE id = 2")
    _refused(_same(drp), "opened_on", cid=2)
    sql("UPDATE concern SET stage_started_on = 7 WHERE id = 3")
    _refused(_same(drp), "stage_started_on", cid=3)
    sql("UPDATE concern SET deadline = 'x' WHERE id = 2")  # a day it shows, first in order
    _refused(_same(drp), "stage_started_on", cid=3)


def test_an_empty_day_is_named_as_json_names_it(
    drp: Callable[..., Any], sql: Callable[..., list[Any]], db_path: Path
) -> None:
    """An empty day is no value SQLite gives a converter: the whole read names the first
    row missing one, then the first holding one empty, as the table does."""
    for n in range(3):
        assert drp(*open_args(child=f"KN-{n}")).exit_code == 0
    sql("UPDATE concern SET closed_on = '' WHERE id = 2")
    _refused(_same(drp), "closed_on", cid=2)
    sql("UPDATE concern SET opened_on = '' WHERE id = 3")
    _refused(_same(drp), "opened_on", cid=3)
    sql("UPDATE concern SET stage_responded_on = '', senior_officer_notified_on = '' "
        "WHERE id = 1")  # fmt: skip
    _refused(_same(drp), "opened_on", cid=3)
    sql("UPDATE concern SET opened_on = '2025-03-03' WHERE id = 3")
    _refused(_same(drp), "stage_responded_on", cid=1)


def test_only_the_concerns_listed_are_read(
    drp: Callable[..., Any], sql: Callable[..., list[Any]], db_path: Path
) -> None:
    """A malformed day on a concern the filters leave out stops neither shape (the whole
    read does not read it either); the ones they hold are refused, --overdue too."""
    assert drp(*open_args(child="KN-1")).exit_code == 0
    assert drp(*open_args(child="KN-2")).exit_code == 0
    assert drp("resolve", "2", "--outcome", "Done", "--on", ON).exit_code == 0
    sql("UPDATE concern SET closed_on = '2025-02-29' WHERE id = 2")
    listed = _same(drp)
    assert listed.exit_code == 0 and "KN-1" in listed.stdout
    assert _same(drp, "--child", "KN-1").exit_code == 0
    _refused(_same(drp, "--status", "all"), "closed_on", cid=2)
    _refused(_same(drp, "--status", "resolved"), "closed_on", cid=2)
    _refused(_same(drp, "--child", "KN-2", "--status", "all"), "closed_on", cid=2)
    # a day in another form the whole read reads, on a concern listed: the whole read of
    # the listed concerns only, which does not meet the malformed one
    sql("UPDATE concern SET opened_on = '2025-03-03 00:00:00' WHERE id = 1")
    assert _same(drp).stdout == listed.stdout
    sql("UPDATE concern SET opened_on = 'x' WHERE id = 1")
    _refused(_same(drp, "--overdue"), "opened_on")
    _refused(_same(drp, "--opened-from", "2025-01-01"), "opened_on")
