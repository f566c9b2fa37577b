"""An event whose stored kind is not text, or whose details hold a day that is no day (written
outside drp), is refused by every read that folds or shows it (exit 4 naming the concern and
the column; verify names it too), never an internal error: `show`, `list --json`, `verify`
and `report` ended in exit 70 (sw6a's finding 4, older than this session)."""

from __future__ import annotations

import datetime as dt

import pytest

from drp_cli.core.errors import MalformedValue
from drp_cli.domain import lifecycle
from drp_cli.domain.calendar import WorkingCalendar
from tests.conftest import PG_URL, open_args

DAMAGED = (
    "Error: the database is damaged (concern 1: its stored event.{column} is not a value drp "
    "writes): nothing read from it can be trusted; run `drp verify`, and restore the latest "
    "good backup (`drp restore`)\n"
)
REPORT = ("report", "--from", "2025-01-01", "--to", "2025-12-31", "--on", "2025-06-02", "--json")


def _fact(kind, details):
    return lifecycle.Fact(1, kind, dt.date(2025, 3, 3), "stage-1", "t", "x", details)


@pytest.mark.parametrize(
    ("kind", "details", "column"),
    [("opened", {"due": "soon"}, "details"), ("opened", {"opened_on": 5}, "details"),
     ("opened", {"formal_started_on": ["2025-03-03"]}, "details"), (b"opened", {}, "kind"),
     (7, {}, "kind")],
)  # fmt: skip
def test_the_fold_refuses_what_no_write_stores(kind, details, column):
    cal = WorkingCalendar()
    with pytest.raises(MalformedValue) as caught:
        lifecycle.fold([_fact(kind, details)], {}, cal, where="concern 9")
    assert (caught.value.where, caught.value.table, caught.value.column) == (
        "concern 9", "event", column,
    )  # fmt: skip
    with pytest.raises(MalformedValue) as caught:  # no concern given: said as "an event"
        lifecycle.fold([_fact(kind, details)], {}, cal)
    assert caught.value.where == "an event"


def test_a_date_in_the_details_is_read_as_before():
    state = lifecycle.fold([_fact("opened", {"due": "2025-03-20"})], {}, WorkingCalendar())
    assert state.stage_due_override == dt.date(2025, 3, 20)


@pytest.mark.skipif(PG_URL is not None, reason="a PostgreSQL text column holds no BLOB")
@pytest.mark.parametrize(
    ("change", "column"),
    [('details = \'{"due": "soon"}\'', "details"), ("kind = x'6f70656e6564'", "kind")],
)
def test_every_read_refuses_it(drp, sql, change, column):
    assert drp(*open_args()).exit_code == 0
    sql(f"UPDATE event SET {change} WHERE concern_id = 1 AND seq = 1")
    message = DAMAGED.format(column=column)
    for args in (("show", "1"), REPORT):
        shown = drp(*args)
        assert (shown.exit_code, shown.stdout, shown.stderr) == (4, "", message), args
    if column == "kind":  # list --json shows the kinds; the details' days it does not read
        listed = drp("list", "--json")
        assert (listed.exit_code, listed.stdout, listed.stderr) == (4, "", message)
    verified = drp("verify")
    assert verified.exit_code == 6
    assert f"concern 1: stored event.{column} is malformed (drp never wrote it)" in (
        verified.stdout + verified.stderr
    )
