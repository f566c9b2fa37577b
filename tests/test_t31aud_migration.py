"""Migration 0011 (the audit of reads) upgrades a database in use: its concerns and chain
are kept, the audit starts empty at the empty chain's head, and the reads after the upgrade
are recorded (issue 31 item 4)."""

from __future__ import annotations

import importlib

from drp_cli.store import dbfile
from tests.conftest import PG_URL, open_args

MIGRATION = importlib.import_module("drp_cli.store.migrations.versions.0011_read_audit")
NEWEST = max(dbfile.SCHEMA_REVISION, "0011")


def _at(monkeypatch, revision: str) -> None:
    from drp_cli.store import connection, migrate

    for module in (dbfile, connection, migrate):
        monkeypatch.setattr(module, "SCHEMA_REVISION", revision)


def test_upgrade_to_the_audit_keeps_everything(monkeypatch, drp, sql, db_label):
    assert (MIGRATION.revision, MIGRATION.down_revision) == ("0011", "0010")
    if PG_URL:  # start from an empty PostgreSQL database
        sql("DROP SCHEMA public CASCADE")
        sql("CREATE SCHEMA public")
    _at(monkeypatch, "0010")
    assert drp(*open_args(child="KN-1")).exit_code == 0
    assert drp("note", "1", "--text", "Spoke to the team manager").exit_code == 0
    shown = drp("show", "1", "--json", "--on", "2025-03-12").json()
    _at(monkeypatch, NEWEST)
    r = drp("show", "1")
    assert (r.exit_code, r.stderr) == (
        4, f"Error: {db_label} is at schema 0010; this drp needs {NEWEST}: run "
        "`drp db upgrade` (take a `drp backup` first)\n",
    )  # fmt: skip
    r = drp("db", "upgrade")
    assert (r.exit_code, r.stdout) == (0, f"Upgraded {db_label} from schema 0010 to {NEWEST}.\n")
    assert sql("SELECT count(*) FROM read_audit") == [(0,)]
    assert sql("SELECT id, seq, hash FROM read_audit_head") == [(1, 0, "0" * 64)]
    assert drp("show", "1", "--json", "--on", "2025-03-12").json() == shown
    assert sql('SELECT "by", action, concern_id, read_count FROM read_audit') == [
        ("Test IRO", "show", 1, 1)
    ]
    assert sql("SELECT seq FROM read_audit_head") == [(1,)]
