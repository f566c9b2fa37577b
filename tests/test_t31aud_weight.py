"""The audit of reads keeps the morning check light (issue 31 item 4, issue 32): with the
audit on, `drp overdue` still loads neither the tracker, the record, the fold nor the chain's
module, and the everyday reading commands no heavy library they did not load before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drp_cli.domain.calendar import bank_holidays
from drp_cli.services.tracker import Tracker
from tests.test_command_weight import ALLOWED, HEAVY

REVISION = "0011"


def imported(argv: list[str], db: Path) -> tuple[int, set[str]]:
    """Run drp in a fresh interpreter at the audit's schema (or later): its exit status and
    every module it imported."""
    script = (
        "import sys, json\n"
        "from drp_cli.store import connection, dbfile\n"  # (migrate would load SQLAlchemy)
        "for m in (dbfile, connection):\n"
        f"    m.SCHEMA_REVISION = max(m.SCHEMA_REVISION, {REVISION!r})\n"
        f"sys.argv = ['drp', *{argv!r}]\n"
        "from drp_cli.__main__ import main\n"
        "code = 0\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code or 0\n"
        "sys.stdout.flush()\n"
        "print('\\n@@' + json.dumps([code, sorted(sys.modules)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env={**os.environ, "DRP_DB": str(db), "COLUMNS": "100"},
    )  # fmt: skip
    code, mods = json.loads(out.stdout.rpartition("\n@@")[2])
    return code, set(mods)


@pytest.fixture
def record(db_path: Path, monkeypatch) -> Path:
    from drp_cli.store import connection, dbfile, migrate

    for module in (dbfile, connection, migrate):
        monkeypatch.setattr(module, "SCHEMA_REVISION", max(dbfile.SCHEMA_REVISION, REVISION))
    bank_holidays(2025)
    t = Tracker(db_path)
    for n in (1, 2, 3):
        t.open(protocol="knowsley", child=f"KN-{n}", category="statutory", summary="x",
               on="2025-03-03")  # fmt: skip
    t.store.close()
    return db_path


def audit_rows(db: Path) -> int:
    with __import__("sqlite3").connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM read_audit").fetchone()[0])


def test_the_morning_check_records_its_run_and_stays_light(record):
    code, mods = imported(["overdue", "--on", "2025-03-17"], record)
    assert code == 0
    assert audit_rows(record) == 1
    drp = {m for m in mods if m.startswith("drp_cli")}
    assert {"drp_cli.services.audit", "drp_cli.store.audit"} <= drp
    never = {
        "drp_cli.services.tracker", "drp_cli.domain.lifecycle", "drp_cli.domain.views",
        "drp_cli.domain.chain", "drp_cli.domain.transitions", "drp_cli.store.record",
    }  # fmt: skip
    assert drp & never == set()
    heavy = {m.split(".")[0] for m in mods if m.split(".")[0] in HEAVY}
    assert heavy <= ALLOWED["overdue"]


@pytest.mark.parametrize("argv", [["list"], ["show", "1"], ["alert", "1"]])
def test_the_everyday_reads_load_nothing_heavier(record, argv):
    code, mods = imported(argv, record)
    assert code == 0
    heavy = {m.split(".")[0] for m in mods if m.split(".")[0] in HEAVY}
    assert heavy <= ALLOWED[argv[0]]
    assert audit_rows(record) == 1
