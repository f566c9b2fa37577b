"""The morning check's query (store.daily.overdue_rows_sql): the four indexed searches give
ids only, and each concern found is read once by its id; no scan, on SQLite; the same rows
as the searches of whole rows (store.daily.overdue_sql), each day as ISO text (issue 32)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from drp_cli.store import daily
from drp_cli.store.connection import Store
from tests.conftest import open_args


@pytest.fixture
def record(drp: Callable[..., Any]) -> None:
    for n, on in enumerate(("2025-01-06", "2025-02-03", "2025-03-03")):
        assert drp(*open_args(child=f"KN-{n}", on=on, owner="Test IRO")).exit_code == 0
    assert drp(*open_args(child="NC-1", protocol="nottinghamshire-crp",
                          on="2025-01-06")).exit_code == 0  # fmt: skip
    assert drp("escalate", "1", "--to", "Stage 3", "--note", "x",
               "--on", "2025-02-20").exit_code == 0  # fmt: skip


@pytest.mark.parametrize("names, values", [([], []), (["owner"], ["test iro"]),
                                           (["owner", "team"], ["a", "b"])])  # fmt: skip
def test_the_query_is_the_searches_rows(record: None, db_path: Any, names: list[str],
                                        values: list[str]) -> None:  # fmt: skip
    day, stale = dt.date(2025, 3, 21), dt.date(2025, 3, 11)
    params = [p for bound in (day, day, day, stale) for p in (bound, *values)]
    with Store(db_path).read() as conn:
        whole = conn.rows(daily.overdue_sql(names, sqlite=True), params)
        lean = conn.rows(daily.overdue_rows_sql(names, sqlite=True), params)
        as_text = [tuple(v.isoformat() if isinstance(v, dt.date) else v for v in r)
                   for r in whole]  # fmt: skip
        assert sorted(lean) == sorted(as_text)
        query = "EXPLAIN QUERY PLAN " + daily.overdue_rows_sql(names, sqlite=True)
        plan = " | ".join(str(r[-1]) for r in conn.rows(query, params))
    assert "SCAN" not in plan, plan
    assert "USING INTEGER PRIMARY KEY (rowid=?)" in plan
    for index in ("ix_concern_status_deadline", "ix_concern_status_formal_deadline",
                  "ix_concern_status_step_deadline"):  # fmt: skip
        assert index in plan
    assert "ix_concern_status_deadline (status=? AND deadline=?)" in plan


def test_a_day_in_another_form_drp_reads_is_read_as_before(record: None, db_path: Any,
                                                           sql: Any) -> None:  # fmt: skip
    sql("UPDATE concern SET stage_responded_on = '2025-01-20 00:00:00' WHERE id = 2")
    with Store(db_path).read() as conn:
        rows = daily.overdue_rows(conn, dt.date(2025, 3, 21), dt.date(2025, 3, 11))
    assert {r[0]: r[6] for r in rows}[2] == "2025-01-20"
    sql("UPDATE concern SET stage_responded_on = '2025-02-30' WHERE id = 2")
    with Store(db_path).read() as conn, pytest.raises(Exception, match=r"concern 2: its stored "
                                                      r"concern\.stage_responded_on"):  # fmt: skip
        daily.overdue_rows(conn, dt.date(2025, 3, 21), dt.date(2025, 3, 11))
