"""No false all-clear: a database that is not there (no file, an empty file, a server
database with no tables) or is not drp's is an error for every command that only reads, and
nothing is created; only a recording command (or `drp init`) creates one, and says so."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from drp_cli.core.errors import DatabaseError, DatabaseMissing
from drp_cli.services.tracker import Tracker
from drp_cli.store.connection import SCHEMA_REVISION, Store
from drp_cli.store.migrate import engine_for, upgrade_to
from tests.conftest import open_args

# every command that only reads (with what it needs besides the database)
READERS = [
    ["overdue"],
    ["overdue", "--within", "5", "--json"],
    ["list"],
    ["list", "--json", "--status", "all"],
    ["show", "1"],
    ["verify"],
    ["export"],
    ["export", "--format", "json"],
    ["alert", "1"],
    ["bundle", "1", "-o", "{tmp}/bundle"],
    ["calendar", "closures"],
    ["attachments", "1"],
    ["action", "list", "1"],
    ["backup", "{tmp}/copy", "--format", "json"],
    ["db", "status"],
]


def missing_line(label: str) -> str:
    return (
        f"Error: no drp database at {label}: run `drp init` to create one (or check --db / "
        "DRP_DB)\n"
    )


def reader_args(command: list[str], tmp_path: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp_path)) for a in command]


def side_files(path: Path) -> list[Path]:
    return [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal"))
            if p.exists()]  # fmt: skip


def nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "bundle").exists()
    assert not (tmp_path / "copy").exists()


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_reading_a_missing_database_is_an_error(drp, tmp_path, command):
    target = tmp_path / "typo" / "drp.sqlite3"
    r = drp("--db", str(target), *reader_args(command, tmp_path))
    assert (r.exit_code, r.stderr, r.stdout) == (4, missing_line(str(target)), "")
    assert not target.parent.exists()  # not even the folder
    nothing_written(tmp_path)


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_reading_an_empty_file_is_an_error(drp, tmp_path, command):
    target = tmp_path / "empty.sqlite3"
    target.touch(mode=0o600)
    r = drp("--db", str(target), *reader_args(command, tmp_path))
    assert (r.exit_code, r.stderr, r.stdout) == (4, missing_line(str(target)), "")
    assert target.stat().st_size == 0
    assert side_files(target) == []
    nothing_written(tmp_path)


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_reading_a_text_file_is_an_error(drp, tmp_path, command):
    target = tmp_path / "notes.txt"
    content = b"Shopping list\nmilk\neggs\n" * 50
    target.write_bytes(content)
    target.chmod(0o600)
    r = drp("--db", str(target), *reader_args(command, tmp_path))
    assert (r.exit_code, r.stderr, r.stdout) == (4, f"Error: {target} is not a drp database\n", "")
    assert target.read_bytes() == content
    assert side_files(target) == []
    nothing_written(tmp_path)


def test_the_default_database_is_not_created_by_reading(drp, tmp_path, monkeypatch):
    monkeypatch.delenv("DRP_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    from drp_cli.store.dbfile import default_path

    r = drp("overdue")
    assert (r.exit_code, r.stderr) == (4, missing_line(str(default_path())))
    assert not default_path().exists()


# -- PostgreSQL: a reachable database with no drp tables -------------------------------------
def pg_tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).all()
        return sorted(r[0] for r in rows)
    finally:
        engine.dispose()


def pg_label(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_reading_an_empty_postgresql_database_is_an_error(drp, tmp_path, empty_pg, command):
    r = drp("--db", empty_pg, *reader_args(command, tmp_path))
    assert (r.exit_code, r.stderr, r.stdout) == (4, missing_line(pg_label(empty_pg)), "")
    assert pg_tables(empty_pg) == []
    nothing_written(tmp_path)


def test_recording_creates_an_empty_postgresql_database(drp, empty_pg):
    r = drp("--db", empty_pg, *open_args())
    assert r.exit_code == 0, r.stderr
    assert r.stderr == f"Created a new drp database at {pg_label(empty_pg)}\n"
    assert "concern" in pg_tables(empty_pg)
    r = drp("--db", empty_pg, "note", "1", "--text", "x", "--on", "2025-03-04")
    assert (r.exit_code, r.stderr) == (0, "")
    assert drp("--db", empty_pg, "list", "--json").json()[0]["id"] == 1


def test_init_on_postgresql(drp, empty_pg):
    r = drp("--db", empty_pg, "init")
    assert (r.exit_code, r.stderr) == (0, f"Created a new drp database at {pg_label(empty_pg)}\n")
    r = drp("--db", empty_pg, "init")
    assert (r.exit_code, r.stderr, r.stdout) == (
        0, "", f"drp database at {pg_label(empty_pg)} already exists (schema {SCHEMA_REVISION})\n"
    )  # fmt: skip


def test_a_postgresql_database_with_other_tables_is_refused(drp, empty_pg):
    engine = create_engine(empty_pg)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE spreadsheet (x int)"))
    engine.dispose()
    for args in (["list"], ["init"], open_args()):
        r = drp("--db", empty_pg, *args)
        assert (r.exit_code, r.stderr) == (
            4, f"Error: {pg_label(empty_pg)} is a database but not a drp database\n"
        )  # fmt: skip
    assert pg_tables(empty_pg) == ["spreadsheet"]


# -- creating ------------------------------------------------------------------------------------
def test_a_recording_command_creates_the_database_and_says_so(drp, tmp_path):
    target = tmp_path / "new" / "drp.sqlite3"
    r = drp("--db", str(target), *open_args(protocol="west-sussex"))
    assert r.exit_code == 0, r.stderr
    assert r.stderr == f"Created a new drp database at {target}\n"
    assert r.stdout.startswith("Opened concern 1")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    r = drp("--db", str(target), "note", "1", "--text", "x", "--on", "2025-03-04")
    assert (r.exit_code, r.stderr) == (0, "")  # said once only
    # the Practice Manager's 5 working days count from the request (West Sussex §3 iv)
    assert drp("--db", str(target), "done", "1", "pm-request", "--on", "2025-03-03").exit_code == 0
    r = drp("--db", str(target), "overdue", "--on", "2025-03-17")
    assert r.exit_code == 1 and "1 overdue." in r.stdout


def test_an_empty_file_is_made_a_database_by_a_recording_command(drp, tmp_path):
    target = tmp_path / "empty.sqlite3"
    target.touch(mode=0o600)
    r = drp("--db", str(target), *open_args())
    assert (r.exit_code, r.stderr) == (0, f"Created a new drp database at {target}\n")
    assert drp("--db", str(target), "list", "--json").json()[0]["id"] == 1


def test_a_recording_command_refuses_a_text_file(drp, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("not a database, and not to be overwritten\n" * 10)
    target.chmod(0o600)
    r = drp("--db", str(target), *open_args())
    assert (r.exit_code, r.stderr) == (4, f"Error: {target} is not a drp database\n")
    assert target.read_text().startswith("not a database")


def test_init_twice(drp, tmp_path):
    target = tmp_path / "folder" / "drp.sqlite3"
    r = drp("--db", str(target), "init")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", f"Created a new drp database at {target}\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    r = drp("--db", str(target), "init")
    assert (r.exit_code, r.stderr) == (0, "")
    assert r.stdout == f"drp database at {target} already exists (schema {SCHEMA_REVISION})\n"
    assert drp("--db", str(target), "list", "--json").json() == []
    # an empty record is no all-clear (issue 29): said plainly, exit 4
    r = drp("--db", str(target), "overdue")
    assert (r.exit_code, r.stdout) == (4, "")
    assert r.stderr.startswith(f"Error: no concerns are recorded in {target}: nothing can be ")


def test_init_refuses_files_that_are_not_drp_databases(drp, tmp_path):
    import sqlite3

    junk = tmp_path / "junk.txt"
    junk.write_text("x" * 2000)
    junk.chmod(0o600)
    r = drp("--db", str(junk), "init")
    assert (r.exit_code, r.stderr) == (4, f"Error: {junk} is not a drp database\n")
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("create table spreadsheet (x)")
    conn.close()
    other.chmod(0o600)
    r = drp("--db", str(other), "init")
    assert (r.exit_code, r.stderr) == (4, f"Error: {other} is a database but not a drp database\n")


def test_an_older_schema_keeps_its_message(drp, tmp_path):
    target = tmp_path / "old.sqlite3"
    target.touch(mode=0o600)
    engine = engine_for(str(target), target)
    with engine.begin() as conn:
        upgrade_to(conn, "0003")
    engine.dispose()
    for args in (["list"], ["overdue"], ["init"], open_args()):
        r = drp("--db", str(target), *args)
        assert r.exit_code == 4, args
        assert r.stderr == (
            f"Error: {target} is at schema 0003; this drp needs {SCHEMA_REVISION}: run "
            "`drp db upgrade` (take a `drp backup` first)\n"
        ), args
    r = drp("--db", str(target), "db", "status")
    assert r.stdout.startswith(f"{target}: schema 0003")


def test_db_upgrade_of_a_missing_database_is_an_error(drp, tmp_path):
    target = tmp_path / "none.sqlite3"
    r = drp("--db", str(target), "db", "upgrade")
    assert (r.exit_code, r.stderr) == (4, missing_line(str(target)))
    assert not target.exists()


def test_restore_creates_the_database(drp, tmp_path):
    first = tmp_path / "first.sqlite3"
    assert drp("--db", str(first), *open_args()).exit_code == 0
    dump = tmp_path / "dump.json"
    assert drp("--db", str(first), "backup", str(dump), "--format", "json").exit_code == 0
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "restore", str(dump))
    assert r.exit_code == 0, r.stderr
    assert r.stderr == f"Created a new drp database at {fresh}\n"
    assert drp("--db", str(fresh), "list", "--json").json()[0]["id"] == 1


# -- empty --db / DRP_DB ------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["overdue"], ["list"], open_args(), ["init"]], ids=str)
def test_an_empty_db_option_is_an_error(drp, monkeypatch, tmp_path, command):
    expected = (2, "Error: --db / DRP_DB is empty: give a database path or URL\n")
    monkeypatch.chdir(tmp_path)
    r = drp("--db", "", *command)
    assert (r.exit_code, r.stderr) == expected
    monkeypatch.setenv("DRP_DB", "")
    r = drp(*command)
    assert (r.exit_code, r.stderr) == expected
    monkeypatch.setenv("DRP_DB", "  ")
    r = drp(*command)
    assert (r.exit_code, r.stderr) == expected
    assert list(tmp_path.iterdir()) == [tmp_path / "user-protocols"]


# -- the library ------------------------------------------------------------------------------
def test_store_exists_is_a_stat_for_a_missing_file(tmp_path, monkeypatch):
    target = tmp_path / "none" / "drp.sqlite3"
    store = Store(target)

    def no_connecting(*args, **kwargs):
        raise AssertionError("connected to find out that there is no file")

    monkeypatch.setattr(store, "_connect", no_connecting)
    assert store.exists is False
    with pytest.raises(DatabaseMissing, match=r"^no drp database at .*none/drp\.sqlite3"), \
            store.read():  # fmt: skip
        pass
    assert not target.parent.exists()


def test_store_session_creates_and_announces(tmp_path):
    target = tmp_path / "new.sqlite3"
    store = Store(target)
    said: list[str] = []
    store.on_create = said.append
    assert store.create() is True
    assert (store.exists, said) == (True, [str(target)])
    assert store.create() is False
    with store.write():
        pass
    assert said == [str(target)]
    store.close()
    again = Store(target)
    again.on_create = said.append
    with again.write():
        pass
    assert again.exists and said == [str(target)]
    again.close()


def test_store_exists_refuses_a_file_that_is_not_drp(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01not sqlite" * 100)
    junk.chmod(0o600)
    with pytest.raises(DatabaseError, match="is not a drp database"):
        Store(junk)
    store = Store(junk, prepare=False)
    with pytest.raises(DatabaseError, match="is not a drp database"):
        _ = store.exists


def test_the_daily_fast_path_refuses_a_missing_or_empty_file(tmp_path):
    missing = tmp_path / "none.sqlite3"
    with pytest.raises(DatabaseMissing):
        Tracker(missing).overdue(on="2025-03-17")
    assert not missing.exists()
    empty = tmp_path / "empty.sqlite3"
    empty.touch(mode=0o600)
    with pytest.raises(DatabaseMissing):
        Tracker(empty).overdue(on="2025-03-17")
    assert empty.stat().st_size == 0
