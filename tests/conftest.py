"""Every test gets its own database, a fixed recorder (DRP_USER) and an empty user protocol
folder, so nothing outside the test is read or written.

The database is a SQLite file under tmp_path. ``DRP_TEST_PG_SERVER`` holds the URL of a
throw-away PostgreSQL server when there is one (``make test`` starts it); with
``DRP_TEST_ENGINE=postgresql`` every test gets a PostgreSQL database on it instead, as a
migrated template makes it: a clone of the template, or the last test's database with
every row and sequence put back (only while its catalogue is still the template's). Tests
that need a SQLite file ask for ``db_path`` and are skipped on PostgreSQL; the rest use
``db_target`` and ``sql``. A test that opens no database, and the modules of the command
line's own text (:data:`ENGINE_NEUTRAL_MODULES`), run in the SQLite pass only.

Nothing is left in the system's temporary folder. Each pytest process (the run, or each
pytest-xdist worker) works in its own folder under the repository's ``.pytest-tmp/``
(git-ignored): pytest's ``tmp_path`` folders (``--basetemp``), the bank-holiday cache, and
whatever the tests, drp and the programs they start write to the temporary folder
(``tempfile`` and ``TMPDIR`` point there). The folder is removed when the process ends; one
left by a process that was killed is removed by the next run (it holds no lock any more).
"""

from __future__ import annotations

import atexit
import fcntl
import itertools
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from drp_cli.cli import app
from drp_cli.domain.protocols import _cached_registry
from drp_cli.services.tracker import Tracker

# Property tests judge what drp does, never how fast: no example fails because a busy
# machine paused it (Hypothesis's default deadline is 200 ms an example, and its health
# check fails a slow data generator). A test's own @settings inherits this.
settings.register_profile(
    "drp", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("drp")

TMP_ROOT = Path(__file__).resolve().parent.parent / ".pytest-tmp"
#: AF_UNIX socket paths are at most 107 bytes: programs that put a socket in the temporary
#: folder (multiprocessing, Chromium) need it short, so a deep checkout keeps the system's
_SHORT_ENOUGH = 48


def _prune(root: Path) -> None:
    """Remove the folders of earlier runs that were killed: their lock is free. (A folder
    made in the last minute may not be locked yet: it is left alone.)"""
    for run in root.glob("run-*"):
        try:
            if time.time() - run.stat().st_mtime < 60:
                continue
            with (run / ".lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(run, ignore_errors=True)
        except OSError:
            continue  # locked: a run still going (or not ours to remove)


def _own_temp_folder() -> tuple[Path, Any]:
    """This process's folder, locked for as long as the process lives."""
    root = TMP_ROOT
    try:
        root.mkdir(exist_ok=True)
        _prune(root)
    except OSError:
        root = Path(tempfile.gettempdir())  # a read-only checkout: the system's, still removed
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    lock = (folder / ".lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    return folder, lock


RUN_DIR, _run_lock = _own_temp_folder()


def remove_run_dir() -> None:
    """Remove this process's folder (at the end of the session, or at exit)."""
    if not _run_lock.closed:
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        _run_lock.close()


atexit.register(remove_run_dir)
# one bank-holiday cache for the whole run, never the user's own
os.environ["DRP_CACHE"] = str(RUN_DIR / "cache")
# what the tests, drp and the programs they start put in the temporary folder
if len(str(RUN_DIR)) <= _SHORT_ENOUGH:
    (RUN_DIR / "tmp").mkdir()
    os.environ["TMPDIR"] = tempfile.tempdir = str(RUN_DIR / "tmp")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # tmp_path under this run's folder, unless given (a pytest-xdist worker is given its
    # own, under its controller's)
    if config.option.basetemp is None:
        config.option.basetemp = str(RUN_DIR / "basetemp")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _pg_admin is not None:
        if _pooled is not None:
            drop_pg_database(_pooled)
        with _pg_admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)"))
        _pg_admin.dispose()
    remove_run_dir()


PG_SERVER = os.environ.get("DRP_TEST_PG_SERVER")
PG_URL = PG_SERVER if os.environ.get("DRP_TEST_ENGINE") == "postgresql" else None
if os.environ.get("DRP_TEST_ENGINE") == "postgresql" and not PG_SERVER:
    raise RuntimeError("DRP_TEST_ENGINE=postgresql needs DRP_TEST_PG_SERVER")
_pg_admin: Engine | None = None
_counter = itertools.count()
#: the migrated database every test database is cloned from: one per process, so that
#: pytest-xdist workers (and two runs on one server) never drop each other's
PG_TEMPLATE = f"drp_template_{os.getpid()}"
_copy_strategy = " STRATEGY FILE_COPY"


#: The fixtures that give a test the database under test (directly or through others).
DATABASE_FIXTURES = frozenset({"drp", "tracker", "db_target", "sql", "db_label", "db_path"})
#: Signs in a test module that it runs drp or opens a store without asking for one of them
#: (a subprocess, the Typer app, a Store of its own, DRP_DB read from the environment).
_RUNS_DRP = re.compile(
    r"subprocess|CliRunner|invoke\(|Store\(|Tracker\(|main\(|DRP_DB|\bapp\b|run_drp"
    r"|drp_cli\.cli|connect\(|\bisolated\b"
)


#: Test modules of the command line's own text and start-up (help, the reference pages, the
#: wheel, Typer's contract, which modules a command loads, how a page is laid out at a
#: width): the engine changes nothing of them, so the PostgreSQL pass leaves them to the
#: SQLite pass (about a minute of `make test`).
ENGINE_NEUTRAL_MODULES = frozenset({
    "test_help.py", "test_docs_reference.py", "test_packaging.py", "test_typer_contract.py",
    "test_cli_startup.py", "test_o32_help_wrap.py", "test_t32_startup.py",
    "test_s32_plain_show.py", "test_t30w_widths.py",
})  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, a test that opens no database (a pure test of the domain, the
    calendar, the protocols, the words) is skipped: it ran in the SQLite pass, and the engine
    changes nothing of it. A test counts as opening one if it asks for a database fixture or
    its module shows a sign of running drp (:data:`_RUNS_DRP`)."""
    if not PG_URL:
        return
    skip = pytest.mark.skip(reason="opens no database: it runs once, in the SQLite pass")
    neutral = pytest.mark.skip(reason="the command line's text: it runs once, in the SQLite pass")
    sources: dict[str, bool] = {}
    for item in items:
        if item.path.name in ENGINE_NEUTRAL_MODULES:
            item.add_marker(neutral)
            continue
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            continue
        path = str(item.path)
        if path not in sources:
            sources[path] = bool(_RUNS_DRP.search(Path(path).read_text(encoding="utf-8")))
        if not sources[path]:
            item.add_marker(skip)


def pg_database() -> str:
    """A fresh PostgreSQL database at the current schema; returns its URL."""
    global _pg_admin
    assert PG_SERVER is not None
    if _pg_admin is None:
        _pg_admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with _pg_admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {PG_TEMPLATE}"))
        from drp_cli.store.connection import Store

        template = Store(make_url(PG_SERVER).set(database=PG_TEMPLATE).render_as_string(False))
        template.create()  # opening creates nothing: the template gets the schema here
        template.close()
        _read_template(make_url(PG_SERVER).set(database=PG_TEMPLATE).render_as_string(False))
    name = f"drp_test_{os.getpid()}_{next(_counter)}"
    global _copy_strategy
    with _pg_admin.connect() as conn:
        try:  # a file copy of the small template: a third of the time WAL_LOG takes (PG 15+)
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {PG_TEMPLATE}{_copy_strategy}"))
        except Exception:
            if not _copy_strategy:
                raise
            _copy_strategy = ""  # an older server: its only way
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {PG_TEMPLATE}"))
    return make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)


#: What a database cloned from the template holds and how it is made, read from the
#: template once: the catalogue's fingerprint, each table's rows, each sequence's state.
_template_state: dict[str, Any] = {}
#: This process's database, ready for the next test (or None: the next test makes one)
_pooled: str | None = None

#: The catalogue a test could change (tables, columns, defaults, owners and grants, indexes,
#: constraints, triggers and whether they fire, functions, schemas, policies, extensions, the
#: database's own settings and grants): the same fingerprint as the template's means the
#: database is still made as the template is, and only its rows need putting back.
_CATALOGUE = """
SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
  SELECT 'rel:' || n.nspname || '.' || c.relname || ':' || c.relkind::text || ':'
         || c.relowner::regrole::text || ':' || c.relrowsecurity::text || ':'
         || c.relforcerowsecurity::text || ':' || coalesce(c.relacl::text, '') AS x
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
  UNION ALL
  SELECT 'col:' || a.attrelid::regclass::text || '.' || a.attname || ':'
         || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull::text || ':'
         || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ':' || coalesce(a.attacl::text, '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
     AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'trg:' || pg_get_triggerdef(t.oid) || ':' || t.tgenabled::text
    FROM pg_trigger t WHERE NOT t.tgisinternal
  UNION ALL
  SELECT 'con:' || k.conname || ':' || pg_get_constraintdef(k.oid)
    FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION ALL
  SELECT 'idx:' || pg_get_indexdef(i.indexrelid) || ':' || i.indisvalid::text
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  UNION ALL
  SELECT 'fn:' || p.oid::regprocedure::text || ':' || md5(p.prosrc) || ':'
         || coalesce(p.proacl::text, '')
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION ALL
  SELECT 'ns:' || nspname || ':' || coalesce(nspacl::text, '') FROM pg_namespace
   WHERE nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%'
  UNION ALL
  SELECT 'pol:' || polname || ':' || polrelid::regclass::text FROM pg_policy
  UNION ALL
  SELECT 'ext:' || extname FROM pg_extension
  UNION ALL
  SELECT 'rule:' || schemaname || '.' || rulename FROM pg_rules
   WHERE schemaname NOT IN ('pg_catalog')
  UNION ALL
  SELECT 'set:' || coalesce(array_to_string(s.setconfig, ';'), '') || ':'
         || s.setrole::regrole::text
    FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
   WHERE d.datname = current_database()
  UNION ALL
  SELECT 'db:' || coalesce(datacl::text, '') || ':' || datconnlimit::text || ':'
         || datallowconn::text || ':' || datdba::regrole::text
    FROM pg_database WHERE datname = current_database()
) q
"""


def _read_template(url: str) -> None:
    """Read what :func:`release_pg_database` puts back: the template's catalogue
    fingerprint, every table's rows (the chains' head rows) and every sequence's state."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _template_state["catalogue"] = conn.execute(text(_CATALOGUE)).scalar()
            tables = [r[0] for r in conn.execute(text(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
            ))]  # fmt: skip
            _template_state["rows"] = {
                t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))] for t in tables
            }
            _template_state["sequences"] = [
                (name, *conn.execute(text(f"SELECT last_value, is_called FROM {name}")).one())
                for (name,) in conn.execute(text(
                    "SELECT quote_ident(sequencename) FROM pg_sequences "
                    "WHERE schemaname = 'public'"
                ))
            ]  # fmt: skip
    finally:
        engine.dispose()


def pooled_pg_database() -> str:
    """The database of the next test: this process's own, put back as the template made
    it after the last test (:func:`release_pg_database`), or a new clone. Making a database
    for each test was most of the PostgreSQL pass's time (a file copy and a drop, and the
    checkpoints they take, each test: ~0.1 s alone, ~0.4 s with two workers)."""
    global _pooled
    url, _pooled = _pooled, None
    return url if url is not None else pg_database()


def release_pg_database(url: str) -> None:
    """After a test: keep its database for the next test when it is still made as the
    template is (the same catalogue: no table, trigger, grant, setting... changed), with
    every row and sequence put back as the template has them; otherwise, or at any doubt
    (it was dropped, a lock held by a connection the test left open), drop it, and the
    next test gets a new clone."""
    global _pooled
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            # a connection the test left open (a server-side cursor, a transaction) goes
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))  # fmt: skip
            if conn.execute(text(_CATALOGUE)).scalar() != _template_state["catalogue"]:
                raise LookupError("made otherwise than the template")
            conn.execute(text("SET lock_timeout = '5s'"))
            # the rows as the template has them: deleted under the replication role, which
            # fires no trigger, so no rule of the record's can stand in the way
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table, rows in _template_state["rows"].items():
                conn.execute(text(f"DELETE FROM {table}"))
                if rows:
                    marks = ", ".join(f":p{i}" for i in range(len(rows[0])))
                    conn.execute(
                        text(f"INSERT INTO {table} VALUES ({marks})"),
                        [{f"p{i}": v for i, v in enumerate(row)} for row in rows],
                    )
            for name, last_value, is_called in _template_state["sequences"]:
                conn.execute(
                    text("SELECT setval(:name, :value, :called)"),
                    {"name": name, "value": last_value or 1, "called": is_called},
                )
            conn.commit()
    except Exception:
        engine.dispose()
        drop_pg_database(url)
        return
    engine.dispose()
    _pooled = url


def drop_pg_database(url: str) -> None:
    assert _pg_admin is not None
    name = make_url(url).database
    with _pg_admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    target = pooled_pg_database() if PG_URL else str(tmp_path / "drp.sqlite3")
    user_protocols = tmp_path / "user-protocols"
    user_protocols.mkdir()
    monkeypatch.setenv("DRP_DB", target)
    if PG_URL:
        monkeypatch.setenv("DRP_ATTACHMENTS", str(tmp_path / "attachments"))
    monkeypatch.setenv("DRP_USER", "Test IRO")
    monkeypatch.setenv("DRP_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("DRP_PROTOCOLS", str(user_protocols))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    _cached_registry.cache_clear()
    yield target
    _cached_registry.cache_clear()
    if PG_URL:
        release_pg_database(target)


@pytest.fixture
def db_target(isolated: str) -> str:
    """The test database: a SQLite file path, or a PostgreSQL URL."""
    return isolated


@pytest.fixture
def db_path(isolated: str) -> Path:
    """The test database as a SQLite file (tests of SQLite itself skip on PostgreSQL)."""
    if PG_URL:
        pytest.skip("needs a SQLite file")
    return Path(isolated)


@pytest.fixture
def db_label(isolated: str) -> str:
    """How drp names the test database in its messages."""
    if PG_URL:
        return make_url(isolated).render_as_string(hide_password=True)
    return isolated


@pytest.fixture
def sql(isolated: str) -> Iterator[Callable[..., list[Any]]]:
    """Run SQL directly against the test database (to inspect it, or to tamper with it)."""
    url = isolated if PG_URL else f"sqlite:///{isolated}"
    engine = create_engine(url)

    def run(query: str, **params: Any) -> list[Any]:
        with engine.begin() as conn:
            result = conn.execute(text(query), params)
            return [tuple(r) for r in result] if result.returns_rows else []

    yield run
    engine.dispose()


@pytest.fixture
def user_protocols(tmp_path: Path) -> Path:
    return tmp_path / "user-protocols"


@pytest.fixture
def tracker(db_target: str) -> Iterator[Tracker]:
    t = Tracker(db_target)
    yield t
    t.store.close()


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def drp() -> Callable[..., Result]:
    """Run ``drp ARGS...`` in-process with Typer's CliRunner."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    return run


def open_args(**overrides: str) -> list[str]:
    """Arguments for a realistic `drp open`, overridable per test."""
    values = {
        "protocol": "knowsley",
        "child": "KN-2231",
        "category": "statutory",
        "summary": "No allocated social worker since the review on 2025-02-20.",
        "on": "2025-03-03",
    }
    values.update(overrides)
    args = ["open"]
    for key, value in values.items():
        args += [f"--{key.replace('_', '-')}", value]
    return args


_empty_names = itertools.count()


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server (no tables at all: no drp schema
    yet), dropped after the test."""
    if not PG_SERVER:
        pytest.skip("needs DRP_TEST_PG_SERVER")
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    name = f"drp_empty_{os.getpid()}_{next(_empty_names)}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
