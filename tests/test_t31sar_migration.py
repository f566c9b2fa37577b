"""Migration 0010 (the subject access requests' table) upgrades a database in use: its
concerns and chain are kept, and requests can be recorded after (issue 31 item 3)."""

from __future__ import annotations

import datetime as dt
import importlib

from drp_cli.services.tracker import Tracker
from tests.conftest import PG_URL, open_args

MIGRATION = importlib.import_module(
    "drp_cli.store.migrations.versions.0010_subject_access_requests"
)


def _at(monkeypatch, revision: str) -> None:
    from drp_cli.store import connection, dbfile, migrate

    for module in (dbfile, connection, migrate):
        monkeypatch.setattr(module, "SCHEMA_REVISION", revision)


def test_upgrade_to_0010_keeps_everything(monkeypatch, drp, sql, db_label):
    before = MIGRATION.down_revision
    assert MIGRATION.revision == "0010"
    if PG_URL:  # start from an empty PostgreSQL database
        sql("DROP SCHEMA public CASCADE")
        sql("CREATE SCHEMA public")
    _at(monkeypatch, before)
    assert drp(*open_args(child="KN-1")).exit_code == 0
    assert drp("note", "1", "--text", "Spoke to the team manager").exit_code == 0
    shown = drp("show", "1", "--json", "--on", "2025-03-12").json()
    tables = (
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if not PG_URL
        else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    )
    assert ("subject_access_request",) not in sql(tables)
    _at(monkeypatch, "0010")
    r = drp("list")
    assert (r.exit_code, r.stderr) == (
        4, f"Error: {db_label} is at schema {before}; this drp needs 0010: run "
        "`drp db upgrade` (take a `drp backup` first)\n",
    )  # fmt: skip
    r = drp("db", "upgrade")
    assert (r.exit_code, r.stdout) == (0, f"Upgraded {db_label} from schema {before} to 0010.\n")
    assert ("subject_access_request",) in sql(tables)
    assert sql("SELECT count(*) FROM subject_access_request") == [(0,)]
    assert drp("show", "1", "--json", "--on", "2025-03-12").json() == shown
    assert drp("verify").exit_code == 0
    monkeypatch.setattr(Tracker, "today", lambda self: dt.date(2025, 3, 12))
    r = drp("subject-access", "KN-1", "--received", "2025-03-10")
    # Mon 10 March 2025 -> Thu 10 April 2025
    assert r.stdout == (
        "Recorded the request received 2025-03-10 (Mon): the answer is due 2025-04-10 (Thu).\n"
    )
    assert drp("verify").exit_code == 0
    assert drp("db", "upgrade").stdout == f"{db_label} is already at schema 0010.\n"
