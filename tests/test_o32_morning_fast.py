"""Issue 32: the morning check's short cuts give exactly what the long way gives.

* The damaged-index test (:func:`drp_cli.store.daily._scan_indexes`) compares each index's
  entries with their rows and hands anything unusual to the fingerprints
  (:func:`drp_cli.store.daily._scan_all`): the two must agree on every file, a damaged one
  included (a byte of an index's or the table's page changed, one offset after another).
* The search for stages with no deadline names its index on SQLite: the same rows.
* Where no subject access request is waiting for an answer, the check loads none of the
  requests' modules and lists none; where one is, it lists what ``due_requests`` lists.
* The check opens the database once (not once for the concerns, once for the requests and
  once for the audit's row).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from drp_cli.store import daily
from drp_cli.store.connection import Conn, Store
from tests.conftest import open_args
from tests.test_command_weight import drp_modules

ON = "2025-03-21"
REQUEST_MODULES = {
    "drp_cli.services.subject_access",
    "drp_cli.store.sarsql",
    "drp_cli.domain.subject_access",
}


def _record(drp, sql) -> None:
    """Three open concerns (one resolved): each with a stage deadline, concern 1 with a
    formal and a step deadline too (set in SQL: the indexes follow), concern 3 with no
    deadline at a stage begun long ago."""
    for n, child in enumerate(("KN-1", "KN-2", "KN-3", "KN-4"), 1):
        r = drp(*open_args(child=child, on=f"2025-03-0{n + 2}"))
        assert r.exit_code == 0, r.stderr
    assert drp("resolve", "4", "--outcome", "Agreed", "--on", "2025-03-10").exit_code == 0
    sql("UPDATE concern SET formal_deadline = '2025-04-29', formal_deadline_kind = 'firm', "
        "step_deadline = '2025-03-14', step_deadline_kind = 'firm', step = 'contact' "
        "WHERE id = 1")  # fmt: skip
    sql("UPDATE concern SET deadline = NULL, deadline_kind = NULL WHERE id = 3")


def _scans(path: Path) -> tuple[object, object]:
    """What the short cut and the fingerprints say of ``path``: each a result or an error."""
    raw = sqlite3.connect(path)
    try:
        conn = Conn(raw, True)
        outcomes: list[object] = []
        for scan in (daily._scan_indexes, daily._scan_all):
            try:
                outcomes.append(scan(conn))
            except sqlite3.DatabaseError as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
        return outcomes[0], outcomes[1]
    finally:
        raw.close()


def _pages(path: Path) -> dict[str, tuple[int, int]]:
    """Where each of the concern table's and the check's indexes' root pages is in the file
    (start, length): in these small records each is one page."""
    raw = sqlite3.connect(path)
    try:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = raw.execute("PRAGMA page_size").fetchone()[0]
        names = ["concern", *(index for _, index in daily.CHECK_INDEXES)]
        found = {}
        for name in names:
            (root,) = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                                  (name,)).fetchone()  # fmt: skip
            found[name] = ((root - 1) * size, size)
        return found
    finally:
        raw.close()


def _patch(path: Path, at: int, old: bytes, new: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(at)
        assert f.read(len(old)) == old
        f.seek(at)
        f.write(new)


def _find(path: Path, page: tuple[int, int], text: bytes) -> int:
    data = path.read_bytes()[page[0] : page[0] + page[1]]
    assert data.count(text) == 1, text
    return page[0] + data.index(text)


@pytest.fixture
def recorded(drp, sql, db_path: Path) -> Path:
    _record(drp, sql)
    _pages(db_path)  # one file, no write-ahead log: what the tests change is the file
    return db_path


def test_a_sound_record_passes_both_ways(recorded):
    assert _scans(recorded) == ((None, None), (None, None))


def test_a_misshapen_deadline_is_found_both_ways(recorded, sql):
    sql("UPDATE concern SET formal_deadline = '2025-4-29' WHERE id = 1")
    expected = (None, (1, "formal_deadline"))
    assert _scans(recorded) == (expected, expected)


@pytest.mark.parametrize(
    ("where", "old", "new", "named"),
    [
        # a key changed inside an index: the entry no longer says the row's deadline
        ("ix_concern_status_deadline", b"2025-03-11", b"2025-03-12", "ix_concern_status_deadline"),
        ("ix_concern_status_formal_deadline", b"2025-04-29", b"2025-04-30",
         "ix_concern_status_formal_deadline"),
        ("ix_concern_status_step_deadline", b"2025-03-14", b"2025-03-15",
         "ix_concern_status_step_deadline"),
        # the row changed under its indexes: its deadline, its status
        ("concern", b"2025-04-29", b"2025-04-28", "ix_concern_status_formal_deadline"),
        ("concern", b"2025-03-14", b"2025-03-13", "ix_concern_status_step_deadline"),
    ],
)  # fmt: skip
def test_a_changed_page_is_named_alike(recorded, where, old, new, named):
    pages = _pages(recorded)
    _patch(recorded, _find(recorded, pages[where], old), old, new)
    fast, full = _scans(recorded)
    assert fast == full == (named, None)


def test_an_entry_moved_to_another_row_is_named_alike(recorded):
    """Concern 3's entry in the formal deadline's index (no formal deadline) made to point
    at concern 2's row (no formal deadline either): every entry matches its row and the
    index holds as many entries as the others, over other ids."""
    pages = _pages(recorded)
    entry = b"\x04\x15\x00\x01open\x03"
    at = _find(recorded, pages["ix_concern_status_formal_deadline"], entry)
    _patch(recorded, at, entry, entry[:-1] + b"\x02")
    fast, full = _scans(recorded)
    assert fast == full == ("ix_concern_status_formal_deadline", None)
    assert fast == full == ("ix_concern_status_formal_deadline", None)


def test_a_row_no_longer_open_is_named_alike(recorded):
    pages = _pages(recorded)
    data = recorded.read_bytes()[slice(pages["concern"][0], sum(pages["concern"]))]
    assert b"resolved" in data
    # concern 2's row: its status (four letters, in place) no longer "open"
    at = _find(recorded, pages["concern"], b"KN-2")
    row = data[at - pages["concern"][0] :]
    offset = at + row.index(b"open")
    _patch(recorded, offset, b"open", b"opem")
    fast, full = _scans(recorded)
    assert fast == full and isinstance(full, tuple) and full[0] is not None


@pytest.mark.parametrize("name", ["concern", *(i for _, i in daily.CHECK_INDEXES)])
def test_every_byte_changed_in_a_page_gives_the_same_answer(recorded, tmp_path, name):
    """Each byte of the page's cell content, one at a time, set to another value: the short
    cut says what the fingerprints say (or fails as they fail)."""
    pages = _pages(recorded)
    start, size = pages[name]
    pristine = tmp_path / "pristine.sqlite3"
    shutil.copyfile(recorded, pristine)
    data = pristine.read_bytes()[start : start + size]
    content = len(data) - len(data.lstrip(b"\x00")) if data[0] == 0 else 0
    first = max(content, size - 700)  # the cells sit at the end of the page
    checked = 0
    for at in range(first, size, 3):
        shutil.copyfile(pristine, recorded)
        old = data[at : at + 1]
        _patch(recorded, start + at, old, bytes([old[0] ^ 0x01]))
        fast, full = _scans(recorded)
        if fast != full:
            pytest.fail(f"byte {at} of {name}'s page: short cut {fast!r}, fingerprints {full!r}")
        checked += 1
    assert checked > 100


# -- the search for stages with no deadline ----------------------------------------------------
def test_the_no_deadline_search_names_its_index_and_finds_the_same_rows(drp, sql, db_path):
    _record(drp, sql)
    day, stale = dt.date(2025, 3, 21), dt.date(2025, 3, 11)
    with Store(db_path).read() as conn:
        for names, values in (([], []), (["owner"], ["test iro"]), (["owner", "team"], ["a", "b"])):
            params = [p for bound in (day, day, day, stale) for p in (bound, *values)]
            plain = conn.rows(daily.overdue_sql(names), params)
            hinted = conn.rows(daily.overdue_sql(names, sqlite=True), params)
            assert sorted(plain) == sorted(hinted)
            plan = " | ".join(str(r[-1]) for r in conn.rows(
                "EXPLAIN QUERY PLAN " + daily.overdue_sql(names, sqlite=True), params))  # fmt: skip
            assert "ix_concern_status_deadline (status=? AND deadline=?)" in plan, plan
            assert "SCAN" not in plan
        assert [r[0] for r in conn.rows(daily.overdue_sql([], sqlite=True),
                                        [day, day, day, stale])] == [1, 2, 3]  # fmt: skip


def test_a_misshapen_start_of_a_stage_with_no_deadline_is_still_found(drp, sql, db_path):
    _record(drp, sql)
    sql("UPDATE concern SET stage_started_on = '0001-01-01' WHERE id = 3")
    with Store(db_path).read() as conn:
        assert daily.unreadable_deadline(conn) == (3, "stage_started_on")


# -- the subject access requests ----------------------------------------------------------------
@pytest.fixture
def answered(drp, monkeypatch):
    """A concern overdue on 2025-03-21 and a request about its child, answered."""
    from drp_cli.services.tracker import Tracker

    assert drp(*open_args(child="KN-1", on="2025-03-03")).exit_code == 0
    monkeypatch.setattr(Tracker, "today", lambda self: dt.date(2025, 3, 31))
    assert drp("subject-access", "KN-1", "--received", "2025-03-03").exit_code == 0
    assert drp("subject-access", "KN-1", "--sent", "2025-03-28").exit_code == 0


def test_no_request_waiting_loads_none_of_their_modules(answered, db_target):
    if "://" in db_target:
        pytest.skip("the module weights are measured on SQLite")
    code, mods = drp_modules(["overdue", "--on", ON], Path(db_target))
    assert code == 0
    assert mods & REQUEST_MODULES == set()


@pytest.mark.parametrize("sent", [False, True])
def test_the_requests_listed_are_those_due_requests_lists(drp, db_target, monkeypatch, sent):
    from drp_cli.services import morning
    from drp_cli.services.subject_access import due_requests
    from drp_cli.services.tracker import Tracker

    monkeypatch.setattr(Tracker, "today", lambda self: dt.date(2025, 3, 31))
    for n, child in enumerate(("KN-1", "KN-2"), 1):
        assert drp(*open_args(child=child, on="2025-03-03")).exit_code == 0
        assert drp("subject-access", child, "--received", f"2025-03-0{n}").exit_code == 0
    if sent:
        for child in ("KN-1", "KN-2"):
            assert drp("subject-access", child, "--sent", "2025-03-28").exit_code == 0
    store = Store(db_target)
    listed = 0
    try:
        with store.read() as conn:
            cal = daily.calendar(conn)
        for day in (dt.date(2025, 3, 28), dt.date(2025, 4, 1), dt.date(2025, 4, 9)):
            for within in (0, 3):
                for owner, team in ((None, None), ("Test IRO", None), ("Nobody", None),
                                    (None, "North")):  # fmt: skip
                    fast = morning.requests_due(store, day, cal, within=within, owner=owner,
                                                team=team)  # fmt: skip
                    with store.read() as conn:
                        slow = due_requests(
                            conn, day, until=morning.horizon(cal, day, within),
                            recorded_by=owner, team=team,
                        )  # fmt: skip
                    assert fast == slow
                    assert [r.recorded_by for r in fast] == [r.recorded_by for r in slow]
                    listed += len(fast)
        assert (listed > 0) is not sent
    finally:
        store.close()


def test_the_check_opens_the_database_once(drp, monkeypatch):
    assert drp(*open_args(child="KN-1", on="2025-03-03")).exit_code == 0
    opened: list[str] = []
    original = Store._prepare

    def counted(self: Store) -> None:
        opened.append(self.label)
        original(self)

    monkeypatch.setattr(Store, "_prepare", counted)
    r = drp("overdue", "--on", ON)
    assert r.exit_code == 0, r.stderr
    assert len(opened) == 1


@pytest.mark.parametrize(
    "text", ["12", "-12", "0", "-", "", "+1", "1-", "--1", "1.0", " 1", "\u0663", "1\u0663", "x"]
)
def test_a_whole_number_is_what_the_pattern_said(text):
    import re

    from drp_cli.cli.reports import _is_whole_number

    assert _is_whole_number(text) is bool(re.fullmatch(r"-?[0-9]+", text))
