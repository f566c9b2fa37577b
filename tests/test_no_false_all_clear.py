"""Issue 29: the morning check never gives a false all-clear (a damaged file, a misspelt
name, an empty or half-made database, a closure that would clear what is overdue)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import open_args

ON = "2025-03-21"  # concern 1's firm deadline (2025-03-12) is 7 working days past


def open_overdue(drp, **overrides: str) -> None:
    args = open_args(child="WS-2", protocol="west-sussex", stage="stage-1", role="cpa",
                     on="2025-03-05", reason="Immediate safety", **overrides)  # fmt: skip
    assert drp(*args).exit_code == 0
    r = drp("overdue", "--on", ON)
    assert r.exit_code == 1, r.stdout


def damage_page(db: Path, index: str, offset_from_end: int | None = 8) -> None:
    """Overwrite 8 bytes of the first page of ``index`` in the file: its last 8 bytes (the
    end of its cell content: a key changed in place) or, with None, its page header."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()
    conn.close()
    start = (root - 1) * size
    where = start if offset_from_end is None else start + size - offset_from_end
    with db.open("r+b") as f:
        f.seek(where)
        f.write(b"\xff" * 8)


def silently_damaged(db: Path) -> None:
    """The damage of issue 29's finding 1: quick_check still says ok, the indexed search
    no longer finds the overdue concern, integrity_check does."""
    damage_page(db, "ix_concern_status_deadline")
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        found = conn.execute(
            "SELECT id FROM concern INDEXED BY ix_concern_status_deadline "
            "WHERE status = 'open' AND deadline <= '2025-03-21'"
        ).fetchall()
        assert found == []  # the morning check's search misses it
        assert conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]
    finally:
        conn.close()


# -- finding 1: a damaged file -------------------------------------------------------------
def test_a_damaged_index_fails_verify_naming_sqlites_finding(drp, db_path):
    open_overdue(drp)
    silently_damaged(db_path)
    r = drp("verify")
    assert r.exit_code == 6
    assert (
        "DAMAGED: SQLite's integrity check says: row 1 missing from index "
        "ix_concern_status_deadline\n"
    ) in r.stderr
    r = drp("verify", "--json")
    assert r.exit_code == 6 and r.json()["integrity"]["ok"] is False


def test_a_damaged_index_is_never_an_all_clear(drp, db_path):
    open_overdue(drp)
    silently_damaged(db_path)
    for extra in ([], ["--json"], ["--within", "5"], ["--owner", "Test IRO"]):
        r = drp("overdue", "--on", ON, *extra)
        assert r.exit_code == 4, (extra, r.stdout)
        assert r.stdout == ""
        assert r.stderr == (
            "Error: the database is damaged (the index ix_concern_status_deadline does not "
            "match the concerns it indexes): nothing read from it can be trusted; run `drp "
            "verify`, and restore the latest good backup (`drp restore`)\n"
        )


def test_an_unreadable_page_is_an_error_not_an_all_clear(drp, db_path):
    open_overdue(drp)
    damage_page(db_path, "ix_concern_status_deadline", offset_from_end=None)
    r = drp("overdue", "--on", ON)
    assert r.exit_code == 4
    assert r.stderr.startswith("Error: the database is damaged (SQLite: ")
    assert r.stderr.count("\n") == 1
    r = drp("verify")
    assert r.exit_code == 6
    assert "DAMAGED: SQLite's integrity check says: " in r.stderr


def test_verify_says_what_it_checked_of_the_file(drp, db_target):
    open_overdue(drp)
    r = drp("verify")
    assert r.exit_code == 0
    last = r.stdout.splitlines()[-1]
    if "://" in db_target:
        assert last.startswith("File: PostgreSQL keeps its own pages (data checksums ")
    else:
        assert last == (
            "File: SQLite's PRAGMA integrity_check (every page, and every index against its "
            "table) found no damage."
        )
    assert drp("verify", "--json").json()["integrity"]["ok"] is True


# -- finding 2: a name drp does not know -----------------------------------------------------
@pytest.mark.parametrize("command", ["overdue", "list"])
def test_a_misspelt_owner_or_team_is_refused_with_the_closest_names(drp, command):
    open_overdue(drp, owner="Priya Shah", team="IRO North")
    assert drp("staff", "add", "Sam Patel", "--team", "IRO South").exit_code == 0
    on = ["--on", ON] if command == "overdue" else []
    r = drp(command, *on, "--owner", "Priya Shahh")
    assert r.exit_code == 2, r.stdout
    assert r.stderr == (
        "Error: --owner: no concern is owned by, and no one in the staff directory is named "
        "that (did you mean: Priya Shah?); check the spelling (`drp staff list`)\n"
    )
    r = drp(command, *on, "--team", "IRO Nrth")
    assert r.exit_code == 2, r.stdout
    assert "(did you mean: IRO North, IRO South?)" in r.stderr
    # known names, whatever the case: the check as it was
    assert drp(command, *on, "--owner", "priya shah").exit_code == (1 if on else 0)
    assert drp(command, *on, "--team", "iro south").exit_code == 0  # a staff team, no concern
    r = drp(command, *on, "--owner", "sam patel")  # in the directory, owns nothing
    assert r.exit_code == 0


# -- finding 3: a refused restore, an empty record ------------------------------------------
def test_a_refused_restore_into_a_new_path_leaves_no_file(drp, db_path, tmp_path, monkeypatch):
    import json

    open_overdue(drp)
    backup = tmp_path / "b.json"
    assert drp("backup", str(backup), "--format", "json").exit_code == 0
    data = json.loads(backup.read_text())
    new = tmp_path / "new" / "restored.sqlite3"
    (tmp_path / "new").mkdir()
    # refused while reading the backup, and refused while writing it (a row it cannot hold)
    data["tables"]["event"][0]["concern_id"] = 999
    data.pop("sha256", None)  # as an older drp wrote it: no digest, so the rows are read
    backup.write_text(json.dumps(data))
    monkeypatch.setenv("DRP_DB", str(new))
    r = drp("restore", str(backup))
    assert r.exit_code != 0
    assert list((tmp_path / "new").iterdir()) == []
    del data["tables"]["chain_head"]
    backup.write_text(json.dumps(data))
    r = drp("restore", str(backup))
    assert r.exit_code == 2
    assert list((tmp_path / "new").iterdir()) == []
    r = drp("overdue", "--on", ON)
    assert r.exit_code == 4  # no database there: never an all-clear


def test_an_empty_record_is_said_plainly_and_is_no_all_clear(drp, db_target, db_label):
    assert drp("init").exit_code == 0
    for extra in ([], ["--json"], ["--within", "3"]):
        r = drp("overdue", "--on", ON, *extra)
        assert (r.exit_code, r.stdout) == (4, "")
        assert r.stderr == (
            f"Error: no concerns are recorded in {db_label}: nothing can be overdue, and there "
            "is nothing to check (a new or emptied database, or the wrong one: check --db / "
            "DRP_DB)\n"
        )
    open_overdue(drp)  # one concern: the check as it was
