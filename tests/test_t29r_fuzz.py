"""Issue 29, "What to build" 5: property-based fuzzing of drp.

(a) Over stored values: for every table and column drp stores, a malformed value of the
column's type (an impossible date, garbage text, JSON that is no object, a negative or huge
number, NULL where none is expected) is written behind drp's back with a raw connection.
Then `drp verify` exits 6; the morning check never exits 0 when the value is one it reads,
and never 70; no command prints a traceback or exits 70.

(b) Over the command line: random argument lists for every command (from
``drp_cli.cli.commands``), built of its own option names and hostile strings (control and
bidi characters, huge numbers, impossible dates, ISO week dates, empty strings): never exit
70, never a traceback.

Both run in-process (Typer's CliRunner), with few examples, so the file stays within
``make test``'s time on either engine.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import typer.main
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel
from typer.testing import CliRunner

import drp_cli.store.models  # noqa: F401  (the tables' declarations)
from drp_cli.cli import app
from drp_cli.cli.commands import COMMANDS
from drp_cli.store import record as _record
from tests.conftest import PG_URL, open_args

#: Few examples, no deadline (a command runs in tens of milliseconds, a copy of the record
#: too), nothing saved between runs (no example database in the working tree).
FUZZ = settings(
    max_examples=1,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)

runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), input="", catch_exceptions=True)


def no_crash(result: Any, args: tuple[str, ...] | list[str]) -> None:
    """Never exit 70 (a bug), never a traceback, never an exception escaping the handler."""
    shown = (result.stdout or "") + (result.stderr or "")
    assert result.exit_code != 70, (args, shown)
    assert "Traceback" not in shown and "Exception ignored" not in shown, (args, shown)
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), (args, repr(exc))


# -- (a) stored values -------------------------------------------------------------------------
TABLES = {name: table for name, table in SQLModel.metadata.tables.items()}
#: Columns whose value `verify` cannot judge without the key: a seal (MAC) is only checked
#: in keyed mode (tests/test_tamper.py and test_t29r_staff_chain.py forge them there); an
#: unkeyed verify must pass a sealed database, so it cannot refuse one it does not hold.
UNJUDGED = {("event", "mac"), ("closure_change", "mac"), ("staff", "mac"), ("read_audit", "mac")}
UNJUDGED.add(("subject_access_link", "mac"))
#: The subject access requests are in a chain of their own (schema 0013: every write to a
#: request is a link of ``subject_access_link`` holding the digest of its row), which
#: ``drp verify`` walks once ``store.record.verify`` calls ``sarsql.chain_problems`` (the
#: lead's hook): from then every column of a request, its links and its head is judged, and
#: a day made empty too. Until then verify's scan judges only a request's days (a malformed
#: one, or one outside the days drp handles): its text columns, its links and its head are
#: not fuzzed, and its days only with values that are not NULL.
REQUESTS_CHAINED = "chain_problems" in Path(_record.__file__).read_text(encoding="utf-8")
NOT_CHAINED: tuple[str, ...] = () if REQUESTS_CHAINED else ("subject_access_request",)
if not REQUESTS_CHAINED:
    UNJUDGED |= {
        ("subject_access_request", c)
        for c in ("child", "recorded_by", "extended_by", "extension_reason", "sent_by", "salt")
    }
    UNJUDGED |= {
        (table, column.name)
        for table in ("subject_access_link", "subject_access_head")
        for column in TABLES[table].columns
    }
COLUMNS = sorted(
    (table, column.name)
    for table, t in TABLES.items()
    for column in t.columns
    if column.name != "id" and (table, column.name) not in UNJUDGED
)
# (alembic_version is not among the models: a changed schema revision is refused as another
# drp's schema, tests/test_integrity.py)
#: What the morning check reads of an open concern (with --on far enough ahead that every
#: open concern's deadline falls by it), of the local closure days and of outstanding actions:
#: a malformed day there must never read as an all-clear.
_READ = ("deadline", "formal_deadline", "step_deadline", "stage_started_on", "stage_responded_on")
MORNING_READS = {("concern", c) for c in _READ} | {("closure_change", "day"), ("item", "data")}

BAD_DAYS = ["2025-02-30", "2025-13-01", "soon", "", "10000-01-01", "0000-00-00", "2025-W10-1",
            "31/12/2025", "\u202e2025-03-03"]  # fmt: skip
BAD_MOMENTS = ["2025-02-30 10:00:00", "2025-03-03 25:00:00", "yesterday", "", "NaN",
               "2025-03-03T10:00:00+99:00"]  # fmt: skip
BAD_JSON = ["{bad", "[1]", "null", '"text"', "1e999", "{" * 2000, '{"n": NaN']
BAD_TEXT = ["", "\x1b[31mred", "\u202egnp.exe", "x" * 5000, "nonexistent-protocol", "=1+2"]
BAD_INTS = [-1, 0, 2**31 - 1, 2**53 + 1, -(2**31)]
PG_DAYS = ["infinity", "-infinity", "20000-01-01", "0001-01-01 BC"]


def kind_of(table: str, column: str) -> str:
    if (table, column) in (("event", "details"), ("item", "data")):
        return "json"
    python = TABLES[table].columns[column].type.python_type
    import datetime as dt

    if python is dt.datetime:
        return "moment"
    if python is dt.date:
        return "day"
    return "int" if python is int else "text"


def malformed(table: str, column: str, is_pg: bool) -> st.SearchStrategy[Any]:
    """Values of the column's type drp never writes there (or NULL)."""
    kind = kind_of(table, column)
    # PostgreSQL's date and timestamp types refuse text that is no date: only the days they
    # hold that Python's cannot (infinity, BC, past 9999) can be written there; its integers
    # stop at 2^31 - 1
    pools: dict[str, list[Any]] = {
        "day": PG_DAYS if is_pg else BAD_DAYS,
        "moment": PG_DAYS if is_pg else BAD_MOMENTS,
        "json": BAD_JSON,
        "int": [*BAD_INTS[:3], -(2**31)] if is_pg else [*BAD_INTS, 2**63 - 1, "7"],
        "text": BAD_TEXT,
    }
    return st.sampled_from([*pools[kind], *([] if table in NOT_CHAINED else [None])])


def build_record(tmp_path: Path) -> None:
    """One concern of each shape through the CLI: open with an overdue firm deadline, an
    action, an attached file, a closure day, a resolved concern, a staff entry and a subject
    access request (extended and answered: every column holds a value)."""
    doc = tmp_path / "plan.txt"
    doc.write_text("care plan")
    for args in (
        open_args(protocol="west-sussex", child="WS-1"),
        ["escalate", "1", "--on", "2025-03-05"],
        [
            "action",
            "add",
            "1",
            "--text",
            "Allocate",
            "--owner",
            "TM",
            "--due",
            "2025-03-20",
            "--on",
            "2025-03-06",
        ],
        ["attach", "1", str(doc), "--kind", "care-plan", "--on", "2025-03-06"],
        open_args(protocol="knowsley", child="KN-2"),
        ["resolve", "2", "--outcome", "Held", "--on", "2025-03-06"],
        ["calendar", "close", "2025-03-24", "--reason", "Office move"],
        ["subject-access", "WS-1", "--received", "2025-03-10"],
        ["subject-access", "WS-1", "--extend", "--reason", "Complex", "--on", "2025-03-12"],
        ["subject-access", "WS-1", "--sent", "2025-03-20"],
        ["staff", "add", "Priya Shah", "--team", "IRO North", "--email", "p@example.org"],
        ["show", "1"],  # a read: a row of the audit of reads
    ):
        r = run(*args)
        assert r.exit_code == 0, (args, r.stdout, r.stderr)
    r = run("verify")
    assert r.exit_code == 0, r.stderr


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup of ``source`` over ``target``: whole (the write-ahead log's
    pages too) and safe while a connection drp left open still has ``target``."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


class Copies:
    """A fresh copy of the built record for each example: the SQLite file copied over the
    test's own (its attachments stay beside it); on PostgreSQL a database made from the
    built one as a template."""

    def __init__(self, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.target, self.monkeypatch = target, monkeypatch
        self.is_pg = "://" in target
        self.n = 0
        if not self.is_pg:
            self.template = tmp_path / "template.sqlite3"
            _copy(Path(target), self.template)

    def fresh(self) -> str:
        """The record as built: on SQLite a copy over the test's file; on PostgreSQL the
        test's own database, whose one changed value :meth:`put_back` restores (a database
        made from a template for each example takes seconds there)."""
        if not self.is_pg:
            _copy(self.template, Path(self.target))
        return self.target

    def put_back(self, table: str, column: str, before: Any) -> None:
        if self.is_pg and before is not _UNCHANGED:
            engine = create_engine(self.target)
            try:
                with engine.begin() as conn:
                    conn.execute(text(f'UPDATE {table} SET "{column}" = :v WHERE id = '
                                      f"(SELECT min(id) FROM {table})"), {"v": before})  # fmt: skip
            finally:
                engine.dispose()


#: The record built once (SQLite): its file and its attachments, copied for each test.
_BUILT: dict[str, Path] = {}


@pytest.fixture
def copies(db_target, tmp_path, tmp_path_factory, monkeypatch) -> Iterator[Copies]:
    monkeypatch.chdir(tmp_path)
    stored = Path(f"{Path(db_target).parent / Path(db_target).stem}-attachments")
    if "://" in db_target:
        build_record(tmp_path)  # each test's own PostgreSQL database
    elif "db" in _BUILT:
        _copy(_BUILT["db"], Path(db_target))
        os.chmod(db_target, 0o600)
        shutil.copytree(_BUILT["attachments"], stored)
    else:
        build_record(tmp_path)
        keep = tmp_path_factory.mktemp("t29r-built")
        _copy(Path(db_target), keep / "drp.sqlite3")
        shutil.copytree(stored, keep / "attachments")
        _BUILT.update(db=keep / "drp.sqlite3", attachments=keep / "attachments")
    yield Copies(db_target, tmp_path, monkeypatch)


_UNCHANGED = object()


def write_raw(url: str, table: str, column: str, value: Any) -> Any:
    """Write ``value`` into the first row of ``table`` (concern 1, the open one) with a raw
    connection, as someone with the file would. Returns the value it replaced, or
    ``_UNCHANGED`` when it is the same, the table has no row (the record built makes none
    of a purge's tombstone), or the database refuses it (a NOT NULL, foreign key or CHECK
    constraint, a type that cannot hold it)."""
    engine = create_engine(url if "://" in url else f"sqlite:///{url}")
    try:
        with engine.begin() as conn:
            found = conn.execute(
                text(f'SELECT "{column}" FROM {table} ORDER BY id LIMIT 1')
            ).first()
            if found is None:
                return _UNCHANGED
            before = found[0]
            if before == value or (before is not None and str(before) == str(value)):
                return _UNCHANGED
            first = f"(SELECT min(id) FROM {table})"
            conn.execute(
                text(f'UPDATE {table} SET "{column}" = :v WHERE id = {first}'), {"v": value}
            )
        return before
    except Exception:  # refused by the database itself: nothing to judge
        return _UNCHANGED
    finally:
        engine.dispose()


OTHER_COMMANDS = [
    ("show", "1"),
    ("list", "--all"),
    ("export", "--output", "out.json", "--format", "json", "--force"),
    ("alert", "1", "--on", "2025-04-01", "--output", "alert.md", "--force"),
    ("report", "--year", "2025"),
    ("db", "upgrade"),
    ("attachments", "1"),
    ("calendar", "closures"),
    ("staff", "list"),
    ("action", "list", "1"),
]

#: Found by this fuzz in files t29r does not own, left to their owners (each is checked as
#: an expected failure below, strict: when it is fixed the test says so).
KNOWN: dict[tuple[str, str, str], str] = {}  # (command, table, column): why it still fails


# A text or integer column holds on PostgreSQL what it holds on SQLite, where every one is
# fuzzed: on PostgreSQL only the columns whose types let in what SQLite's cannot (days past
# 9999 or before year 1, infinity) and the JSON ones, within make test's time.
ON_PG = ("day", "moment", "json")


@pytest.mark.parametrize(
    "table, column",
    [
        pytest.param(t, c, marks=pytest.mark.skipif(
            PG_URL is not None and kind_of(t, c) not in ON_PG,
            reason="fuzzed on SQLite; PostgreSQL's types add nothing to this column"))
        for t, c in COLUMNS
    ],
)  # fmt: skip
def test_a_malformed_stored_value(copies, table, column):
    """Every column, one malformed value each run (a different one from run to run)."""
    is_pg = copies.is_pg
    others = [c for c in OTHER_COMMANDS if not (is_pg and c[0] == "db")]

    @FUZZ
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        value = data.draw(malformed(table, column, is_pg), label="value")
        other = data.draw(st.sampled_from(others), label="command")
        url = copies.fresh()
        before = write_raw(url, table, column, value)
        try:
            assume(before is not _UNCHANGED)
            r = run("verify")
            no_crash(r, ["verify"])
            assert r.exit_code == 6, (table, column, value, r.stdout, r.stderr)
            r = run("overdue", "--on", "2030-01-02")
            no_crash(r, ["overdue"])
            if (table, column) in MORNING_READS and value is not None:
                assert r.exit_code != 0, (table, column, value, r.stdout)
            if (other[0], table, column) in KNOWN:
                return
            r = run(*other)
            no_crash(r, other)
        finally:
            copies.put_back(table, column, before)

    try:
        check()
    except Unsatisfiable:  # e.g. PostgreSQL's foreign keys refuse every id that is no row's
        pytest.skip(
            "no malformed value drawn here could be written: the table has no row, or the "
            "database's own constraints refuse it"
        )


def test_the_report_refuses_malformed_details(copies):
    url = copies.fresh()
    assert write_raw(url, "event", "details", "{bad") is not _UNCHANGED
    r = run("report", "--year", "2025")
    no_crash(r, ["report"])
    assert r.exit_code == 4 and "its stored event.details is not a value drp writes" in r.stderr


# -- (b) the command line ---------------------------------------------------------------------
def _command_table() -> dict[tuple[str, ...], list[str]]:
    """Every command and sub-command path with its option names."""
    root: Any = typer.main.get_command(app)
    ctx = click.Context(root)
    found: dict[tuple[str, ...], list[str]] = {}

    def walk(path: tuple[str, ...], cmd: Any) -> None:
        if hasattr(cmd, "list_commands"):  # a group (Typer's own click, or click's)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None:
                    walk((*path, name), sub)
            return
        found[path] = [o for p in cmd.params if p.param_type_name == "option" for o in p.opts]

    for name in COMMANDS:
        cmd = root.get_command(ctx, name)
        if cmd is not None:
            walk((name,), cmd)
    return found


HOSTILE = [
    "", " ", "1", "0", "-1", "2", "99999999999999999999999", "1e308", "NaN", "2025-02-30",
    "2025-W10-1", "2025-062", "2025-03-03", "2199-12-31", "1899-12-31", "\x00", "\x1b]0;x\x07",
    "\x1b[2J", "a\nb", "\r", "\u202eevil", "\u2066x\u2069", "\u200b", "=1+2", "@x", "../x",
    "x" * 3000, "knowsley", "stage-2", "care-plan", "json", "csv", "Priya Shah", "-", "--",
    "%s%n", "{bad", "\ud7ff", "é", "ǅ", "out.txt",
]  # fmt: skip
#: Commands that would reach past the test: an e-mail server, a PDF renderer's fonts.
SKIP = {("alert",), ("bundle",)}


#: Found by this fuzz in files t29r does not own: a NUL character in a file path reaches
#: the system (ValueError: embedded null byte, exit 70). Each is an expected failure below.
def test_random_command_lines(copies):
    table = {path: opts for path, opts in _command_table().items() if path[:1] not in SKIP}
    paths = sorted(table)
    copies.fresh()

    @settings(FUZZ, max_examples=120)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(paths), label="command")
        token = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(table[path] or ["--x"]),
                          st.text(max_size=12))  # fmt: skip
        args = [*path, *data.draw(st.lists(token, max_size=6), label="args")]
        no_crash(run(*args), args)

    check()


@pytest.mark.parametrize(
    "args, said",
    [
        (["backup", "a\x00b"], "a file path cannot hold a NUL character"),
        (["restore", "a\x00b"], "a file path cannot hold a NUL character"),
        (["key", "create", "a\x00b"], "a file path cannot hold a NUL character"),
        (["--db", "a\x00b", "list"], "Error: --db / DRP_DB holds a NUL character"),
        (["import", "a\x00b"], "a file path cannot hold a NUL character"),
        (["calendar", "export", "--output", "a\x00b"], "a file path cannot hold a NUL character"),
    ],
)  # fmt: skip
def test_a_nul_in_a_database_or_backup_path_is_a_usage_error(args, said):
    """Found by the fuzz: these were exit 70 (ValueError: embedded null byte)."""
    r = run(*args)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert said in r.stderr
