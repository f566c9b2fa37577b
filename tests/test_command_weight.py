"""Which heavy modules each everyday command may import.

An IRO types ten to thirty commands a day: each must answer about as fast as Python can
start Typer. The store speaks DB-API (sqlite3 here), protocols are validated with msgspec,
and the bank holidays come from a cache, so no everyday command loads SQLAlchemy, SQLModel,
Alembic, pydantic or `holidays`; only the commands that draw tables load Rich, and only the
documents load Jinja.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drp_cli.domain.calendar import bank_holidays
from drp_cli.services.tracker import Tracker

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "pydantic", "pydantic_core", "holidays", "rich",
         "jinja2", "psycopg", "msgspec", "markdown_it", "weasyprint", "pypdf", "PIL",
         "matplotlib", "openpyxl", "python_calamine", "charset_normalizer", "docx",
         "icalendar", "smtplib")  # fmt: skip

#: command -> the heavy modules it may load (on a SQLite database)
ALLOWED: dict[str, set[str]] = {
    "open": {"msgspec"},
    "escalate": {"msgspec"},
    "respond": {"msgspec"},
    "note": {"msgspec"},
    "refer": {"msgspec"},
    "resolve": {"msgspec"},
    # the morning check reads the protocols only for whom each stage it shows is addressed
    # to (none when nothing is shown: tests/test_caseload_check.py)
    "overdue": {"msgspec"},
    "list": {"msgspec", "rich"},
    "show": {"msgspec", "rich"},
    "verify": {"msgspec"},
    "alert": {"msgspec", "jinja2"},
    "bundle": {"msgspec", "jinja2"},
}


def imported(argv: list[str], db: Path) -> tuple[int, set[str]]:
    """Run drp in a fresh interpreter: its exit status and every module it imported."""
    script = (
        "import sys, json\n"
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


def loaded(argv: list[str], db: Path) -> tuple[int, set[str]]:
    """Run drp: its exit status and the heavy modules it imported."""
    code, mods = imported(argv, db)
    return code, {m.split(".")[0] for m in mods if m.split(".")[0] in HEAVY}


@pytest.fixture
def record(db_path: Path, tmp_path: Path) -> Path:
    bank_holidays(2025)  # the cache every later command reads
    t = Tracker(db_path)
    for n in (1, 2, 3):
        t.open(protocol="knowsley", child=f"KN-{n}", category="statutory", summary="x",
               on="2025-03-03")  # fmt: skip
    t.store.close()
    return db_path


COMMANDS = {
    "open": ["open", "--protocol", "knowsley", "--child", "KN-9", "--category", "statutory",
             "--summary", "x", "--on", "2025-03-04"],
    "escalate": ["escalate", "1", "--on", "2025-03-11"],
    "respond": ["respond", "1", "--text", "x", "--on", "2025-03-12"],
    "note": ["note", "1", "--text", "x", "--on", "2025-03-12"],
    "refer": ["refer", "2", "--on", "2025-03-12"],
    "resolve": ["resolve", "3", "--outcome", "x", "--on", "2025-03-12"],
    "overdue": ["overdue", "--on", "2025-03-17"],
    "list": ["list", "--status", "open"],
    "show": ["show", "1"],
    "verify": ["verify"],
    "alert": ["alert", "1"],
    "bundle": ["bundle", "2", "--output", "{tmp}/bundle"],
}  # fmt: skip


@pytest.mark.parametrize("command", list(COMMANDS))
def test_everyday_commands_import_only_what_they_need(record, tmp_path, command):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in COMMANDS[command]]
    code, heavy = loaded(argv, record)
    assert code in (0, 1), (command, code)  # 1: `overdue` found something overdue
    assert heavy <= ALLOWED[command], (command, sorted(heavy - ALLOWED[command]))


def drp_modules(argv: list[str], db: Path) -> tuple[int, set[str]]:
    """Run drp: its exit status and drp's own modules it imported."""
    code, mods = imported(argv, db)
    return code, {m for m in mods if m.startswith("drp_cli")}


def test_the_morning_check_loads_only_the_check(record):
    """`drp overdue` runs every morning: the use case, its queries, the calendar and the rule
    with its judgement, never the fold, the chain, the views, the transitions or the
    tracker that the recording commands need."""
    code, mods = drp_modules(["overdue", "--on", "2025-03-17"], record)
    assert code == 0  # Knowsley's stage aims passed (shown), nothing firm
    assert "drp_cli.services.morning" in mods and "drp_cli.store.daily" in mods
    never = {
        "drp_cli.services.tracker", "drp_cli.domain.lifecycle", "drp_cli.domain.views",
        "drp_cli.domain.chain", "drp_cli.domain.transitions", "drp_cli.store.record",
    }  # fmt: skip
    assert mods & never == set()


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["overdue", "--on", "2025-03-17"], 0),
        (["overdue", "--within", "2", "--mine", "--on", "2025-03-17"], 0),
        (["overdue", "--json", "--on", "2025-03-17"], 0),
        # refused (no such owner): the error's edge is Typer-free too
        (["--debug", "overdue", "--owner", "Nobody", "--team", "North", "--on=2025-03-17"], 2),
    ],
)
def test_the_morning_check_does_not_load_typer(record, argv, status):
    """Its everyday arguments are read without Typer (drp_cli.cli.dailycheck.quick), which
    costs as much as the rest of the check."""
    code, mods = imported(argv, record)
    assert code == status
    assert "drp_cli.cli.dailycheck" in mods
    assert {m.split(".")[0] for m in mods} & {"typer", "click", "rich"} == set()


def test_other_arguments_of_the_check_go_to_typer(record):
    code, mods = imported(["overdue", "--on", "2025-03-17", "--on", "2025-03-18"], record)
    assert code == 0 and "typer" in mods
