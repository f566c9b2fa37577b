"""A day stored as '' in a concern's row (written outside drp: SQLite stores whatever it is
given) is refused by every read, as a malformed day is: Python's sqlite3 reads a zero-length
value as None without calling the converter, so it used to read as "no deadline" through
`show` and `list --json` while the morning check and list's table refused it."""

from __future__ import annotations

import datetime as dt

import pytest

from drp_cli.store.models import Concern
from drp_cli.store.record import OPTIONAL_DAYS
from tests.conftest import PG_URL, open_args

pytestmark = pytest.mark.skipif(PG_URL is not None, reason="a PostgreSQL date column holds no ''")

DAMAGED = (
    "Error: the database is damaged (concern 2: its stored concern.{column} is not a value drp "
    "writes): nothing read from it can be trusted; run `drp verify`, and restore the latest "
    "good backup (`drp restore`)\n"
)


def test_the_optional_days_are_the_models():
    optional = [name for name, field in Concern.model_fields.items()
                if field.annotation == dt.date | None]  # fmt: skip
    assert tuple(optional) == OPTIONAL_DAYS


@pytest.mark.parametrize("column", OPTIONAL_DAYS)
def test_an_empty_day_is_refused_by_show_and_list_json(drp, sql, column):
    for _ in range(3):
        assert drp(*open_args()).exit_code == 0
    sql(f"UPDATE concern SET {column} = '' WHERE id = 2")
    shown = drp("show", "2", "--on", "2025-03-11")
    assert (shown.exit_code, shown.stdout, shown.stderr) == (4, "", DAMAGED.format(column=column))
    listed = drp("list", "--json", "--on", "2025-03-11")
    assert (listed.exit_code, listed.stdout, listed.stderr) == (
        4, "", DAMAGED.format(column=column),
    )  # fmt: skip
    # the others read as before
    assert drp("show", "1", "--on", "2025-03-11").exit_code == 0


def test_a_null_day_is_no_day(drp, sql):
    assert drp(*open_args()).exit_code == 0
    assert drp(*open_args()).exit_code == 0
    sql("UPDATE concern SET closed_on = NULL, referred_on = NULL WHERE id = 2")
    assert drp("show", "2", "--on", "2025-03-11").exit_code == 0
    assert drp("list", "--json", "--on", "2025-03-11").exit_code == 0


def test_two_empty_days_name_the_first(drp, sql):
    assert drp(*open_args()).exit_code == 0
    assert drp(*open_args()).exit_code == 0
    sql("UPDATE concern SET closed_on = '', deadline = '' WHERE id = 2")
    shown = drp("show", "2", "--on", "2025-03-11")
    assert (shown.exit_code, shown.stderr) == (4, DAMAGED.format(column="deadline"))
