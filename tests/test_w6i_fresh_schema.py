"""Issue 32, wave 6: a new plain SQLite file is made by the fixed statements of
``migrate.FRESH_SQLITE``, not by running Alembic's chain of migrations: the file must be
the one the migrations make, table for table (the schema's text, every column, index and
foreign key as SQLite reports them, every row, the file's settings).

When a migration is added, this test fails until the statements are made again: create a
file through Alembic (``migrate.FRESH_REVISION`` set to anything else) and write its
sqlite_master's statements (by rowid) and its rows into ``FRESH_SQLITE``, the revision into
``FRESH_REVISION``."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from drp_cli.core.errors import DatabaseError
from drp_cli.store import migrate
from drp_cli.store.connection import Store
from drp_cli.store.dbfile import SCHEMA_REVISION
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(PG_URL is not None, reason="SQLite files")


def _by_alembic(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(migrate, "FRESH_REVISION", "alembic")
        store = Store(path)
        assert store.create()
        store.close()


def _by_script(path: Path) -> None:
    store = Store(path)
    assert store.create()
    store.close()


def described(path: Path) -> dict[str, Any]:
    """Everything SQLite says of the file's schema and rows (not where its pages are)."""
    conn = sqlite3.connect(path)
    try:
        q = conn.execute
        master = q("select type, name, tbl_name, sql from sqlite_master "
                   "order by type, name").fetchall()  # fmt: skip
        out: dict[str, Any] = {"master": master}
        for setting in ("user_version", "application_id", "page_size", "auto_vacuum",
                        "encoding", "journal_mode", "freelist_count"):  # fmt: skip
            out[setting] = q(f"pragma {setting}").fetchall()
        for kind, name, _tbl, _sql in master:
            if kind == "table":
                out[f"columns {name}"] = q(f'pragma table_xinfo("{name}")').fetchall()
                out[f"indexes {name}"] = sorted(
                    r[1:] for r in q(f'pragma index_list("{name}")')
                )  # (its number: the order Alembic makes them in moves with the hash seed)
                out[f"keys {name}"] = q(f'pragma foreign_key_list("{name}")').fetchall()
                out[f"rows {name}"] = q(f'select * from "{name}" order by rowid').fetchall()
            else:
                out[f"index {name}"] = q(f'pragma index_xinfo("{name}")').fetchall()
        return out
    finally:
        conn.close()


def test_the_statements_make_the_file_the_migrations_make(tmp_path, monkeypatch):
    assert migrate.FRESH_REVISION == SCHEMA_REVISION, "make FRESH_SQLITE again (see above)"
    _by_alembic(tmp_path / "alembic.sqlite3", monkeypatch)
    _by_script(tmp_path / "script.sqlite3")
    alembic, script = (
        described(tmp_path / "alembic.sqlite3"),
        described(tmp_path / "script.sqlite3"),
    )
    assert list(script) == list(alembic)
    for key in alembic:
        assert script[key] == alembic[key], key
    assert len(alembic["master"]) == 40
    assert alembic["rows alembic_version"] == [(SCHEMA_REVISION,)]
    assert alembic["journal_mode"] == [("wal",)]
    assert (tmp_path / "script.sqlite3").stat().st_mode & 0o777 == 0o600


def test_a_file_with_tables_is_left_as_it_is(tmp_path):
    path = tmp_path / "db.sqlite3"
    _by_script(path)
    conn = sqlite3.connect(path)
    conn.execute("insert into alembic_version values ('x')")
    conn.commit()
    conn.close()
    before = described(path)
    assert migrate.create_schema(str(path), path, str(path)) is False
    assert described(path) == before


@pytest.mark.parametrize("fresh", [True, False])
def test_a_file_that_is_not_a_database_is_refused_alike(tmp_path, monkeypatch, fresh):
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"not a database, but 100 bytes of something else " * 4)
    if not fresh:
        monkeypatch.setattr(migrate, "FRESH_REVISION", "alembic")
    with pytest.raises(DatabaseError) as caught:
        migrate.create_schema(str(path), path, "the file")
    assert str(caught.value) == "the file is not a drp database"
    assert path.read_bytes() == b"not a database, but 100 bytes of something else " * 4


def test_a_new_file_loads_neither_sqlalchemy_nor_alembic(tmp_path):
    code = (
        "import sys; from drp_cli.store.connection import Store; s = Store(sys.argv[1]); "
        "print(s.create(), [m for m in ('sqlalchemy', 'alembic') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "db.sqlite3")],
                          capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    assert done.stdout == "True []\n", done.stderr
