"""Backups: a consistent SQLite copy, and the portable JSON export and restore."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from tests.conftest import PG_SERVER, PG_URL, drop_pg_database, open_args, pg_database


def make_record(drp):
    drp(*open_args())
    drp("escalate", "1", "--on", "2025-03-11")
    drp("respond", "1", "--text", "Worker from Monday", "--from", "HoS", "--on", "2025-03-12")
    # the IRO's: West Sussex §6 gives the power to refer to the IRO (issue 28 finding 12)
    drp(*open_args(child="WS-2", protocol="west-sussex", role="iro", stage="stage-1"))
    drp("refer", "2", "--senior-officer", "GM", "--notified-on", "2025-03-04", "--text", "why",
        "--on", "2025-03-05")  # fmt: skip
    drp("action", "add", "2", "--text", "Allocate", "--owner", "TM", "--due", "2025-03-07",
        "--on", "2025-03-04")  # fmt: skip
    drp("calendar", "close", "2025-12-29", "--reason", "Closure")
    drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-14")


def shows(drp, ids=(1, 2)):
    return [drp("show", str(i), "--json", "--on", "2025-03-20").json() for i in ids]


def test_sqlite_backup_is_a_working_private_copy(drp, db_path, tmp_path):
    make_record(drp)
    target = tmp_path / "copy.sqlite3"
    r = drp("backup", str(target))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith(f"Backed up {db_path} to {target} (sqlite).")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert drp("--db", str(target), "verify").exit_code == 0  # verify records no read
    r = drp("backup", str(target))
    assert (r.exit_code, r.stderr) == (
        2, f"Error: {target} already exists; use --force to replace it\n"
    )  # fmt: skip
    assert drp("backup", str(target), "--force").exit_code == 0
    # the copy is a working database: it shows what the record shows (and each `show` of it
    # is a read recorded in its own audit, so the copy has changed since drp wrote it)
    before = shows(drp)
    assert shows(lambda *a: drp("--db", str(target), *a)) == before
    assert drp("backup", str(target), "--force").exit_code == 2


def test_json_round_trip(drp, tmp_path):
    make_record(drp)
    dump = tmp_path / "backup.json"
    assert drp("backup", str(dump), "--format", "json").exit_code == 0
    assert stat.S_IMODE(os.stat(dump).st_mode) == 0o600
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "restore", str(dump))
    assert (r.exit_code, r.stdout) == (0, f"Restored 2 concerns and 7 events into {fresh}.\n")
    assert shows(lambda *a: drp("--db", str(fresh), *a)) == shows(drp)
    assert drp("--db", str(fresh), "verify").exit_code == 0
    assert drp("--db", str(fresh), "calendar", "closures", "--json").json()[0]["day"] == (
        "2025-12-29"
    )
    # the restored database goes on working, and its chain goes on
    assert drp("--db", str(fresh), "escalate", "2", "--on", "2025-03-06").exit_code == 0
    assert drp("--db", str(fresh), *open_args(child="NEW")).exit_code == 0
    assert drp("--db", str(fresh), "verify").exit_code == 0
    # restoring twice is refused: the database is not empty
    r = drp("--db", str(fresh), "restore", str(dump))
    assert (r.exit_code, r.stderr) == (
        2, f"Error: the database {fresh} is not empty; restore into a new database\n"
    )  # fmt: skip


def test_restore_refuses_bad_files(drp, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = drp("restore", str(bad))
    assert (r.exit_code, r.stderr) == (2, f"Error: {bad} is not a drp JSON backup\n")
    r = drp("restore", str(tmp_path / "missing.json"))
    assert r.exit_code == 2
    r = drp("backup", str(tmp_path / "x"), "--format", "zip")
    assert (r.exit_code, r.stderr) == (2, "Error: unknown format 'zip'; allowed: sqlite, json\n")


def test_backup_while_writing(drp, db_path, tmp_path):
    """The online backup is consistent even with a writer running: the writer adds notes
    (with a pause of 2 ms between them, so that the backup can record its read in the audit)
    until told to stop, and the backups are taken while it does (they see different,
    growing numbers of notes, and each one verifies)."""
    import subprocess
    import sys
    import time

    drp(*open_args())
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import datetime as dt, pathlib, sys, time\nfrom drp_cli.services.tracker import Tracker\n"
         "t = Tracker(sys.argv[1])\nstop = pathlib.Path(sys.argv[2])\ni = 0\n"
         "while not stop.exists() and i < 5000:\n"
         "    t.note(1, text=str(i), on=dt.date(2025, 3, 4))\n    i += 1\n"
         "    time.sleep(0.002)  # a person's pace, or near it: the backup's read is recorded\n",
         str(db_path), str(stop)],
    )  # fmt: skip

    def notes(path):
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT count(*) FROM event WHERE kind = 'note'").fetchone()[0]

    counts = []
    try:
        deadline = time.monotonic() + 60
        while notes(db_path) == 0:  # the writer has started writing
            assert writer.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        for i in range(5):
            target = tmp_path / f"b{i}.sqlite3"
            assert drp("backup", str(target)).exit_code == 0
            assert drp("--db", str(target), "verify").exit_code == 0
            counts.append(notes(target))
            time.sleep(0.05)
        assert writer.poll() is None, "the writer stopped before the backups were done"
    finally:
        stop.touch()
        assert writer.wait(60) == 0
    assert counts == sorted(counts) and counts[0] >= 1
    assert counts[-1] > counts[0], counts  # the writer wrote while the backups were taken
    assert notes(db_path) > counts[-1]


@pytest.mark.skipif(not PG_SERVER or bool(PG_URL), reason="needs a PostgreSQL server")
def test_round_trip_sqlite_postgresql_sqlite(drp, db_target, tmp_path):
    """SQLite -> PostgreSQL -> SQLite gives the same `drp show --json` for every concern."""
    make_record(drp)
    original = shows(drp)
    first = tmp_path / "from-sqlite.json"
    assert drp("backup", str(first), "--format", "json").exit_code == 0
    pg = pg_database()
    try:
        with_pg = lambda *a: drp("--db", pg, *a)  # noqa: E731
        # the template database is already at the schema: restore needs it empty of rows
        r = with_pg("restore", str(first))
        assert r.exit_code == 0, r.stderr
        assert shows(with_pg) == original
        assert with_pg("verify").exit_code == 0
        second = tmp_path / "from-postgresql.json"
        assert with_pg("backup", str(second)).exit_code == 0
    finally:
        drop_pg_database(pg)
    back = tmp_path / "back.sqlite3"
    assert drp("--db", str(back), "restore", str(second)).exit_code == 0
    assert shows(lambda *a: drp("--db", str(back), *a)) == original
    assert drp("--db", str(back), "verify").exit_code == 0
