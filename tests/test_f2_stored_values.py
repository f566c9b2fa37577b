"""Sweep items 2, 3 and 7: stored values drp never writes are errors, never data.

Item 3: ``list --overdue`` and the morning check never leave out a concern whose deadline
or its kind is malformed: exit 4 as ``overdue`` does.

Item 2: a stored day outside 1990-01-01..2199-12-31 (the days drp accepts everywhere) is a
malformed value: every command reading it exits 4 naming the concern and column (the morning
check too: never 70, never 0), and verify's scan reports it (exit 6).
"""

from __future__ import annotations

import pytest

from tests.conftest import PG_URL, open_args

DAMAGED = (
    "Error: the database is damaged (concern 1: its stored concern.{column} is not a value "
    "drp writes)"
)


@pytest.fixture
def record(drp):
    """Concern 1, open at knowsley's Stage 3 (a stage deadline and a formal deadline)."""
    assert drp(*open_args(on="2026-11-02")).exit_code == 0
    r = drp("escalate", "1", "--to", "Stage 3", "--note", "x", "--on", "2026-11-10")
    assert r.exit_code == 0, r.stderr
    return drp


@pytest.mark.parametrize("value", ["9999-12-31", "2200-01-01", "1989-12-31"])
@pytest.mark.parametrize("column", ["deadline", "formal_deadline"])
@pytest.mark.parametrize(
    "command",
    [
        ("overdue", "--on", "2026-12-15"),
        ("show", "1"),
        ("list",),
    ],
)
def test_a_stored_day_outside_the_range_is_malformed(record, sql, command, column, value):
    sql(f"UPDATE concern SET {column} = :v WHERE id = 1", v=value)
    r = record(*command)
    assert r.exit_code == 4, (r.exit_code, r.stdout, r.stderr)
    assert r.stderr.startswith(DAMAGED.format(column=column)), r.stderr
    assert r.stderr.count("\n") == 1 and value not in r.stderr


@pytest.mark.parametrize("column", ["deadline", "formal_deadline"])
def test_the_morning_check_finds_a_far_deadline_it_would_not_search(record, sql, column):
    """Only the out-of-range day is a deadline (the other one is gone): the search
    (``deadline <= ?``) would pass it by; the check of the index's ends finds it."""
    other = "formal_deadline" if column == "deadline" else "deadline"
    sql(f"UPDATE concern SET {column} = '2200-01-01', {other} = NULL WHERE id = 1")
    r = record("overdue", "--on", "2026-11-11")
    assert r.exit_code == 4, (r.exit_code, r.stdout, r.stderr)
    assert r.stderr.startswith(DAMAGED.format(column=column)), r.stderr


@pytest.mark.parametrize(
    "table, column, value",
    [
        ("concern", "deadline", "9999-12-31"),
        ("concern", "opened_on", "1989-12-31"),
        ("event", "effective_on", "2200-01-01"),
    ],
)
def test_verify_names_a_day_outside_the_range(record, sql, table, column, value):
    sql(f"UPDATE {table} SET {column} = :v WHERE id = (SELECT min(id) FROM {table})", v=value)
    r = record("verify")
    assert r.exit_code == 6, (r.stdout, r.stderr)
    shown = r.stdout + r.stderr
    assert f"concern 1: stored {table}.{column} is malformed (drp never wrote it)" in shown
    assert value not in shown


def test_the_first_and_last_days_are_days_drp_reads(record, sql):
    sql("UPDATE concern SET formal_deadline = '2199-12-31' WHERE id = 1")
    assert record("show", "1").exit_code == 0
    sql("UPDATE concern SET formal_deadline = '1990-01-01' WHERE id = 1")
    r = record("show", "1")
    assert r.exit_code == 0, r.stderr


# -- item 3 -----------------------------------------------------------------------------------
MISSHAPEN = ["2026-12-8", "2026-W50-2", "garbage", "2200-01-01"]
#: PostgreSQL's date type holds only days (it reads 2026-12-8 as 2026-12-08): a value of
#: another shape can be stored only on SQLite
SHAPES = [
    pytest.param(v, marks=pytest.mark.skipif(PG_URL is not None and v != "2200-01-01",
                                             reason="a date column holds only days"))
    for v in MISSHAPEN
]  # fmt: skip


@pytest.mark.parametrize("value", SHAPES)
@pytest.mark.parametrize("column", ["deadline", "formal_deadline"])
def test_the_morning_check_never_passes_a_misshapen_deadline_by(record, sql, column, value):
    """The other deadline is later than the day: only the malformed one could be due. A
    value of another shape sorts away from the day searched for (2026-12-8 after
    2026-12-15): found by the check of the status-and-deadline indexes, never an all-clear."""
    other = "formal_deadline" if column == "deadline" else "deadline"
    sql(f"UPDATE concern SET {column} = :v, {other} = '2027-01-20' WHERE id = 1", v=value)
    r = record("overdue", "--on", "2026-12-15")
    assert r.exit_code == 4, (r.exit_code, r.stdout, r.stderr)
    assert r.stderr.startswith(DAMAGED.format(column=column)), r.stderr


@pytest.mark.parametrize("value", [*SHAPES, "9999-12-31"])
def test_list_overdue_refuses_a_malformed_formal_deadline(record, sql, value):
    sql("UPDATE concern SET formal_deadline = :v WHERE id = 1", v=value)
    r = record("list", "--overdue", "--on", "2026-12-15")
    assert r.exit_code == 4, (r.exit_code, r.stdout, r.stderr)
    assert r.stderr.startswith(DAMAGED.format(column="formal_deadline")), r.stderr


def test_list_overdue_refuses_a_malformed_kind(record, sql):
    sql("UPDATE concern SET formal_deadline_kind = 'garbage' WHERE id = 1")
    assert record("overdue", "--on", "2026-12-15").exit_code == 4
    r = record("list", "--overdue", "--on", "2026-12-15")
    assert r.exit_code == 4, (r.exit_code, r.stdout, r.stderr)
    assert r.stderr.startswith(DAMAGED.format(column="formal_deadline_kind")), r.stderr


# -- item 7 -----------------------------------------------------------------------------------
READERS = [
    ("show", "1"),
    ("list", "--status", "all"),
    ("export", "--output", "out.json", "--format", "json", "--force"),
    ("export", "--output", "out.csv", "--format", "csv", "--force"),
    ("alert", "1", "--on", "2026-12-15", "--output", "alert.md", "--force"),
]


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize("column", ["status", "stage", "route"])
def test_a_word_drp_never_writes_is_never_shown(record, sql, tmp_path, monkeypatch, command,
                                                 column):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    sql(f"UPDATE concern SET {column} = 'garbage' WHERE id = 1")
    r = record(*command)
    assert r.exit_code == 4, (r.exit_code, r.stdout, r.stderr)
    assert r.stderr.startswith(DAMAGED.format(column=column)), r.stderr
    assert r.stderr.count("\n") == 1 and "garbage" not in r.stderr.lower()
    assert not (tmp_path / command[2]).exists() if command[0] != "show" else True


@pytest.mark.parametrize("command", READERS)
def test_a_protocol_not_installed_is_said_in_one_line(record, sql, tmp_path, monkeypatch,
                                                      command):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    sql("UPDATE concern SET protocol = 'garbage' WHERE id = 1")
    r = record(*command)
    assert r.exit_code == 4, (r.exit_code, r.stdout, r.stderr)
    assert r.stderr == (
        "Error: concern 1: its stored concern.protocol names no installed protocol (if its "
        "protocol file was removed, put the file back in the protocols folder)\n"
    )


@pytest.mark.parametrize("column", ["status", "stage", "protocol", "route"])
def test_verify_names_the_word_drp_never_wrote(record, sql, column):
    sql(f"UPDATE concern SET {column} = 'garbage' WHERE id = 1")
    r = record("verify")
    assert r.exit_code == 6
    assert f"concern 1: stored {column} does not match its events" in r.stdout + r.stderr


def test_a_stage_of_another_route_or_none_is_still_read(record, sql):
    """What drp writes still reads: a row written before routes existed (route NULL)."""
    sql("UPDATE concern SET route = NULL WHERE id = 1")
    r = record("show", "1")
    assert r.exit_code == 0, r.stderr
