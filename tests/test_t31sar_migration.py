"""Migration 0010 (the subject access requests' table) upgrades a database in use: a
database at 0009 with a concern and its chain is upgraded to today's schema, keeps them, and
takes requests after (issue 31 item 3)."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

from sqlalchemy import create_engine

from drp_cli.services.tracker import Tracker
from drp_cli.store.dbfile import SCHEMA_REVISION
from drp_cli.store.migrate import upgrade_to

MIGRATION = importlib.import_module(
    "drp_cli.store.migrations.versions.0010_subject_access_requests"
)


def test_upgrade_from_0009_adds_the_requests_table(monkeypatch, drp, sql, db_target, db_label):
    assert (MIGRATION.revision, MIGRATION.down_revision) == ("0010", "0009")
    if "://" in db_target:  # start from an empty PostgreSQL database
        sql("DROP SCHEMA public CASCADE")
        sql("CREATE SCHEMA public")
    engine = create_engine(db_target if "://" in db_target else f"sqlite:///{db_target}")
    with engine.begin() as conn:
        upgrade_to(conn, "0009")
    if "://" not in db_target:
        Path(db_target).chmod(0o600)
    engine.dispose()
    tables = (
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if "://" not in db_target
        else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    )
    assert ("subject_access_request",) not in sql(tables)
    r = drp("list")
    assert (r.exit_code, r.stderr) == (
        4, f"Error: {db_label} is at schema 0009; this drp needs {SCHEMA_REVISION}: run "
        "`drp db upgrade` (take a `drp backup` first)\n",
    )  # fmt: skip
    r = drp("db", "upgrade")
    assert (r.exit_code, r.stdout) == (
        0, f"Upgraded {db_label} from schema 0009 to {SCHEMA_REVISION}.\n"
    )  # fmt: skip
    assert ("subject_access_request",) in sql(tables)
    assert sql("SELECT count(*) FROM subject_access_request") == [(0,)]
    monkeypatch.setattr(Tracker, "today", lambda self: dt.date(2025, 3, 12))
    from tests.conftest import open_args

    assert drp(*open_args(child="KN-1")).exit_code == 0
    r = drp("subject-access", "KN-1", "--received", "2025-03-10")
    # Mon 10 March 2025 -> Thu 10 April 2025
    assert r.stdout == (
        "Recorded the request received 2025-03-10 (Mon): the answer is due 2025-04-10 (Thu).\n"
    )
    assert drp("verify").exit_code == 0
