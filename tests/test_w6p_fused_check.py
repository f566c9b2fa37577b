"""Issue 32 (wave 6): without filters, the morning check tests the stage deadline's index
with its first search (store.daily._packed_rows ``fused``: each entry on or before the
horizon read beside its row, the rest compared by rowid as before) and reads the rows the
long way (check_indexes, then the search) at anything unusual. On a damaged file (each byte
of the concern table's and the three indexes' pages changed, one at a time, at two
horizons) it says exactly what the long way says: the same rows, or the same error."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from drp_cli.store import daily
from drp_cli.store.connection import Conn
from tests.test_o32_morning_fast import _find, _pages, _patch, _record

DAYS = (dt.date(2025, 3, 11), dt.date(2025, 3, 14), dt.date(2025, 5, 1))


def _read(path: Path, day: dt.date, fused: bool) -> object:
    """What overdue_rows says of ``path`` on ``day``: its rows (sorted) or its error."""
    raw = sqlite3.connect(path)
    try:
        conn = Conn(raw, True)
        if not fused:
            daily.check_indexes(conn)
        found = daily._packed_rows(conn, [], [], day, day - dt.timedelta(days=10), fused=fused)
        if found is None and fused:
            return "the long way"
        if found is None:
            packing, daily._PACKING = daily._PACKING, False
            try:
                found = daily.overdue_rows(conn, day, day - dt.timedelta(days=10))
            finally:
                daily._PACKING = packing
        return sorted(found)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        raw.close()


def _both(path: Path, day: dt.date) -> tuple[object, object]:
    """The fused read, or the long way's where it hands over; and the long way's."""
    long = _read(path, day, False)
    fused = _read(path, day, True)
    return (long if fused == "the long way" else fused), long


@pytest.fixture
def recorded(drp: Any, sql: Any, db_path: Path) -> Path:
    _record(drp, sql)
    _pages(db_path)
    return db_path


def test_a_sound_record_is_read_the_short_way(recorded: Path) -> None:
    for day in DAYS:
        fused = _read(recorded, day, True)
        assert fused != "the long way"
        assert fused == _read(recorded, day, False)
        assert isinstance(fused, list) and fused


def test_overdue_rows_goes_the_short_way_without_filters(
    recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(daily, "check_indexes", lambda conn: calls.append("long"))
    raw = sqlite3.connect(recorded)
    try:
        conn = Conn(raw, True)
        daily.overdue_rows(conn, DAYS[0], DAYS[0])
        assert calls == []
        daily.overdue_rows(conn, DAYS[0], DAYS[0], {"owner": "nobody"})
        assert calls == ["long"]
    finally:
        raw.close()


@pytest.mark.parametrize(
    ("where", "old", "new"),
    [
        ("ix_concern_status_deadline", b"2025-03-11", b"2025-03-12"),
        ("ix_concern_status_deadline", b"2025-03-11", b"2025-3-11 "),
        ("ix_concern_status_formal_deadline", b"2025-04-29", b"2025-04-30"),
        ("ix_concern_status_step_deadline", b"2025-03-14", b"2025-03-15"),
        ("concern", b"2025-04-29", b"2025-04-28"),
        ("concern", b"2025-03-14", b"2025-03-13"),
    ],
)  # fmt: skip
def test_a_changed_page_says_what_the_long_way_says(
    recorded: Path, where: str, old: bytes, new: bytes
) -> None:
    pages = _pages(recorded)
    _patch(recorded, _find(recorded, pages[where], old), old, new)
    for day in DAYS:
        fused, long = _both(recorded, day)
        assert fused == long
        assert isinstance(long, str)  # an error, never rows


@pytest.mark.parametrize("name", ["concern", *(i for _, i in daily.CHECK_INDEXES)])
def test_every_byte_changed_in_a_page_says_what_the_long_way_says(
    recorded: Path, tmp_path: Path, name: str
) -> None:
    pages = _pages(recorded)
    start, size = pages[name]
    pristine = tmp_path / "pristine.sqlite3"
    shutil.copyfile(recorded, pristine)
    data = pristine.read_bytes()[start : start + size]
    first = size - 700  # the cells sit at the end of the page
    checked = 0
    for at in range(first, size, 3):
        shutil.copyfile(pristine, recorded)
        old = data[at : at + 1]
        _patch(recorded, start + at, old, bytes([old[0] ^ 0x01]))
        for day in DAYS:
            fused, long = _both(recorded, day)
            if fused != long:
                pytest.fail(f"byte {at} of {name}'s page on {day}: {fused!r}, long: {long!r}")
        checked += 1
    assert checked > 200


@pytest.mark.parametrize("value", ["2025-3-1", "2025-03-1", "2099-3-1", "2025-03-01 "])
def test_a_misshapen_stage_deadline_says_what_the_long_way_says(
    recorded: Path, sql: Any, value: str
) -> None:
    """Stored in the row and its entries alike (so every entry matches its row): on or
    before the horizon (read by the first search) or after it."""
    sql(f"UPDATE concern SET deadline = '{value}' WHERE id = 2")
    for day in DAYS:
        fused, long = _both(recorded, day)
        assert (
            fused
            == long
            == (
                "MalformedValue: the database is damaged (concern 2: its stored concern.deadline "
                "is not a value drp writes): nothing read from it can be trusted; run `drp "
                "verify`, and restore the latest good backup (`drp restore`)"
            )
        )


def test_an_entry_left_behind_in_the_stage_deadline_index_says_what_the_long_way_says(
    recorded: Path, sql: Any, tmp_path: Path
) -> None:
    """The stage deadline's index as it was while concern 4 was open, beside its row now
    resolved: an entry on or before the horizon that matches no open row, with every other
    entry sound (the first search's join leaves it out: only the count of the index's range
    tells)."""
    sql("UPDATE concern SET status = 'open' WHERE id = 4")
    pages = _pages(recorded)
    was_open = tmp_path / "was-open.sqlite3"
    shutil.copyfile(recorded, was_open)
    sql("UPDATE concern SET status = 'resolved' WHERE id = 4")
    pages = _pages(recorded)
    start, size = pages["ix_concern_status_deadline"]
    with recorded.open("r+b") as f:
        f.seek(start)
        f.write(was_open.read_bytes()[start : start + size])
    fused, long = _both(recorded, DAYS[-1])
    assert fused == long
    assert long == (
        "DatabaseDamaged: the database is damaged (the index ix_concern_status_deadline does "
        "not match the concerns it indexes): nothing read from it can be trusted; run `drp "
        "verify`, and restore the latest good backup (`drp restore`)"
    )
