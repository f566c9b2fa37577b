"""Issue 32 (wave 6, the pathological morning check): on SQLite the morning check reads its
rows by the four searches one at a time, each row as its own columns and one JSON text of
what repeats (store.daily._packed_rows): the same rows, in the same order, as the rows read
column by column (_PACKING off); a value JSON cannot hold as drp reads it (a BLOB, a number
where drp writes text) is read column by column, as before; a kind drp never writes is
named as before (the lowest id holding it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drp_cli.store import daily
from drp_cli.store.connection import Store
from tests.conftest import open_args

DAY, STALE = dt.date(2025, 3, 21), dt.date(2025, 3, 11)


@pytest.fixture
def record(drp: Callable[..., Any], sql: Callable[..., Any]) -> None:
    """Five open concerns and one resolved: owners and teams, a step, a formal deadline
    found by two searches, a stage with no deadline, a route, an odd summary."""
    for n, on in enumerate(("2025-01-06", "2025-02-03", "2025-03-03", "2025-01-13", "2025-01-20")):
        assert drp(*open_args(child=f"KN-{n}", on=on, owner=f"IRO {n % 2}")).exit_code == 0
    assert drp(*open_args(child="NC-1", protocol="nottinghamshire-crp",
                          on="2025-01-06")).exit_code == 0  # fmt: skip
    assert drp("escalate", "1", "--to", "Stage 3", "--note", "x",
               "--on", "2025-02-20").exit_code == 0  # fmt: skip
    assert drp("resolve", "4", "--outcome", "Agreed", "--on", "2025-03-10").exit_code == 0
    sql("UPDATE concern SET formal_deadline = '2025-03-14', formal_deadline_kind = 'firm', "
        "step_deadline = '2025-03-12', step_deadline_kind = 'aim', step = 'contact', "
        "team = 'North', route = 'carer' WHERE id = 2")  # fmt: skip
    sql("UPDATE concern SET summary = 'Tab\tand \"quote\" \\ and é', team = '' WHERE id = 3")


def _both(path: Path, filters: dict[str, str] | None = None) -> tuple[Any, Any]:
    """What overdue_rows reads packed, and column by column."""
    outcomes: list[object] = []
    before = daily._PACKING
    for packing in (True, False):
        daily._PACKING = packing
        try:
            with Store(path).read() as conn:
                outcomes.append(daily.overdue_rows(conn, DAY, STALE, filters))
        except Exception as exc:  # the same error, either way
            outcomes.append(f"{type(exc).__name__}: {exc}")
        finally:
            daily._PACKING = before
    return outcomes[0], outcomes[1]


@pytest.mark.parametrize("filters", [None, {"owner": "iro 1"}, {"owner": "IRO 0", "team": "x"}])
def test_packed_rows_are_the_rows_read_column_by_column(
    record: None, db_path: Path, filters: dict[str, str] | None
) -> None:
    packed, plain = _both(db_path, filters)
    assert isinstance(packed, list) and isinstance(plain, list)
    assert sorted(packed) == plain  # in the order the searches find them; each once
    if filters is None:
        assert sorted(r[0] for r in packed) == [1, 2, 3, 5, 6]  # concern 2 found twice


def test_the_searches_are_indexed(record: None, db_path: Path) -> None:
    with Store(db_path).read() as conn:
        for sql in daily.packed_sql(["owner"]):
            plan = " | ".join(str(r[-1]) for r in conn.rows("EXPLAIN QUERY PLAN " + sql,
                                                             ("2025-03-21", "x")))  # fmt: skip
            assert "SCAN" not in plan, plan
            assert "USING INDEX ix_concern_status_" in plan, plan


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE concern SET owner = 7 WHERE id = 3",  # a number where drp writes text
        "UPDATE concern SET stage = x'73746167652d31' WHERE id = 2",  # a BLOB
        "UPDATE concern SET team = 2.5 WHERE id = 1",
    ],
)
def test_a_value_json_cannot_carry_is_read_column_by_column(
    record: None, db_path: Path, sql: Callable[..., Any], change: str
) -> None:
    sql(change)
    packed, plain = _both(db_path)
    assert (sorted(packed) if isinstance(packed, list) else packed) == plain


def test_a_kind_drp_never_writes_names_the_lowest_id(
    record: None, db_path: Path, sql: Callable[..., Any]
) -> None:
    sql("UPDATE concern SET deadline_kind = 'soft' WHERE id IN (5, 3)")
    packed, plain = _both(db_path)  # (the searches find 5 before 3)
    assert packed == plain
    assert "concern 3" in str(packed) and "deadline_kind" in str(packed)


def test_a_malformed_day_is_named_as_before(
    record: None, db_path: Path, sql: Callable[..., Any]
) -> None:
    sql("UPDATE concern SET stage_started_on = '2025-02-30' WHERE id = 5")
    packed, plain = _both(db_path)
    assert packed == plain
    assert "concern 5" in str(packed) and "stage_started_on" in str(packed)


def test_the_check_reads_packed_rows(
    record: None, drp: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, db_path: Path
) -> None:
    """drp overdue goes through the packed read on SQLite (the same lines either way)."""
    calls: list[int] = []
    real = daily._packed_rows

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(daily, "_packed_rows", counted)
    packed = drp("overdue", "--on", "2025-03-21", "--json")
    assert calls == [1]
    monkeypatch.setattr(daily, "_PACKING", False)
    plain = drp("overdue", "--on", "2025-03-21", "--json")
    assert calls == [1]
    assert (packed.exit_code, packed.stdout) == (plain.exit_code, plain.stdout)
    assert packed.json()
