"""PostgreSQL never waits without limit for a lock: as SQLite's busy timeout, every
connection drp opens (and the migration's) gives up after BUSY_TIMEOUT_MS, and the command
says the database is busy, exit 5, in the words SQLite's busy database gets, having written
nothing; once the lock is released the same command succeeds.

The lock is held by a second connection of the test's own (psycopg); the limit is shortened
in-process (there is no environment variable for SQLite's either). A watchdog releases the
lock after :data:`WATCHDOG_S`, so that a drp that waits without limit fails the test (it
then succeeds late, with exit 0) rather than hanging the suite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PG_URL, open_args

LIMIT_MS = 300
WATCHDOG_S = 20


def busy(label: str, suffix: str = "") -> str:
    return (
        f"Error: the database {label} is busy (another drp is writing); try again in a "
        f"moment{suffix}\n"
    )


AUDIT_SUFFIX = (
    ": drp records every read in the audit of reads and could not record this one, so "
    "nothing was shown or written"
)


def libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


@pytest.fixture
def pg(db_target: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's PostgreSQL database, with drp's limit on waiting shortened."""
    if not PG_URL:
        pytest.skip("PostgreSQL only (SQLite's busy timeout: tests/test_cli.py)")
    import drp_cli.store.connection

    monkeypatch.setattr(drp_cli.store.connection, "BUSY_TIMEOUT_MS", LIMIT_MS)
    return db_target


class Holder:
    """A second connection that holds a lock until :meth:`release` (or the watchdog)."""

    def __init__(self, url: str, *statements: str) -> None:
        import psycopg

        self.conn = psycopg.connect(libpq(url))
        for statement in statements:
            self.conn.execute(statement)
        self.watchdog = threading.Timer(WATCHDOG_S, self.release)
        self.watchdog.start()

    def release(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.watchdog.cancel()
        self.conn.close()


@pytest.fixture
def hold() -> Iterator[Any]:
    made: list[Holder] = []

    def start(url: str, *statements: str) -> Holder:
        made.append(Holder(url, *statements))
        return made[-1]

    yield start
    for holder in made:
        holder.close()


def counts(sql: Any) -> tuple[Any, ...]:
    return (
        sql("SELECT count(*) FROM event")[0][0],
        sql("SELECT count(*) FROM read_audit")[0][0],
        sql("SELECT seq, hash FROM chain_head")[0],
        sql("SELECT seq, hash FROM read_audit_head")[0],
        sql("SELECT event_count, updated_at FROM concern ORDER BY id"),
    )


# -- the morning check -------------------------------------------------------------------------
def test_the_morning_check_is_busy_when_the_audit_head_is_locked(pg, drp, sql, hold, db_label):
    assert drp(*open_args()).exit_code == 0
    before = counts(sql)
    holder = hold(pg, "SELECT * FROM read_audit_head FOR UPDATE")
    r = drp("overdue", "--on", "2025-03-17")
    assert (r.exit_code, r.stdout, r.stderr) == (5, "", busy(db_label, AUDIT_SUFFIX))
    assert counts(sql) == before
    holder.release()
    r = drp("overdue", "--on", "2025-03-17")
    assert (r.exit_code, r.stderr) == (0, "")
    assert "0 overdue, 1 past an aim" in r.stdout
    assert sql("SELECT count(*) FROM read_audit")[0][0] == before[1] + 1


# -- a recording command -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM chain_head FOR UPDATE",  # another writer's head of the record
        "SELECT * FROM concern WHERE id = 1 FOR UPDATE",  # another writer of the concern
        "LOCK TABLE concern IN EXCLUSIVE MODE",  # a change to every concern (the calendar)
    ],
)
def test_a_note_is_busy_and_rolled_back_when_a_lock_is_held(
    pg, drp, sql, hold, db_label, statement
):
    assert drp(*open_args()).exit_code == 0
    before = counts(sql)
    holder = hold(pg, statement)
    r = drp("note", "1", "--text", "Rang the team manager.", "--on", "2025-03-04")
    assert (r.exit_code, r.stdout, r.stderr) == (5, "", busy(db_label))
    assert counts(sql) == before
    holder.release()
    r = drp("note", "1", "--text", "Rang the team manager.", "--on", "2025-03-04")
    assert (r.exit_code, r.stderr) == (0, "")
    assert sql("SELECT count(*) FROM event")[0][0] == before[0] + 1


# -- the migration --------------------------------------------------------------------------
def test_the_first_write_is_busy_while_another_migrates(pg, empty_pg, drp, hold):
    import psycopg
    from sqlalchemy import make_url

    fresh = empty_pg  # a new database on the server, no drp schema yet

    label = make_url(fresh).render_as_string(hide_password=True)
    holder = hold(fresh, "SELECT pg_advisory_xact_lock(727001)")  # the migration's lock
    r = drp("--db", fresh, "init")
    assert (r.exit_code, r.stdout, r.stderr) == (5, "", busy(label))
    r = drp("--db", fresh, *open_args())
    assert (r.exit_code, r.stdout, r.stderr) == (5, "", busy(label))
    with psycopg.connect(libpq(fresh)) as conn:
        assert conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = "
                            "current_schema()").fetchall() == []  # fmt: skip
    holder.release()
    r = drp("--db", fresh, "init")
    assert (r.exit_code, r.stderr) == (0, f"Created a new drp database at {label}\n")
    holder.close()


# -- the connections themselves -------------------------------------------------------------
def settings(conn: Any, *names: str) -> list[str]:
    return [conn.execute(f"SHOW {name}").fetchone()[0] for name in names]


def test_every_connection_waits_as_long_as_sqlite_and_keeps_the_users_options(db_target):
    """The real limit (10 s, SQLite's busy timeout), on drp's own connection and on the
    migration's, through a rollback; the user's own ``options`` kept on both."""
    if not PG_URL:
        pytest.skip("PostgreSQL only")
    from sqlalchemy import create_engine, text

    from drp_cli.store.connection import Store, limited_url
    from drp_cli.store.dbfile import BUSY_TIMEOUT_MS

    assert BUSY_TIMEOUT_MS == 10_000
    url = f"{db_target}&options=-c%20statement_timeout%3D4321&keepalives_idle=7"
    store = Store(url)
    try:
        with pytest.raises(RuntimeError), store.write():
            raise RuntimeError("rolled back")
        with store.read() as conn:
            assert settings(conn.raw, "lock_timeout", "statement_timeout") == ["10s", "4321ms"]
            given = conn.raw.info.get_parameters()
            names = ("connect_timeout", "keepalives", "keepalives_idle",
                     "keepalives_interval", "keepalives_count")  # fmt: skip
            assert [given.get(k) for k in names] == ["10", "1", "7", "10", "3"]
    finally:
        store.close()
    engine = create_engine(limited_url(url))
    try:
        with engine.connect() as conn:
            shown = [conn.execute(text(f"SHOW {n}")).scalar() for n in
                     ("lock_timeout", "statement_timeout")]  # fmt: skip
            assert shown == ["10s", "4321ms"]
    finally:
        engine.dispose()


# -- the migration's URL (no server needed) ------------------------------------------------
KEEPS = "&keepalives=1&keepalives_idle=30&keepalives_interval=10&keepalives_count=3"


@pytest.mark.parametrize(
    ("url", "environ", "expected"),
    [
        (
            "postgresql+psycopg://drp@/drp?host=/run/pg&port=5433",
            {},
            "postgresql+psycopg://drp@/drp?host=/run/pg&port=5433"
            "&options=-c%20lock_timeout%3D10000&connect_timeout=10" + KEEPS,
        ),
        (  # the user's options kept, drp's after them; their connect_timeout, keepalives kept
            "postgresql+psycopg://u:p%40ss@db.example/drp?options=-c%20search_path%3Ddrp"
            "&sslmode=verify-full&connect_timeout=3&keepalives_idle=5#x",
            {"PGOPTIONS": "-c search_path=other"},
            "postgresql+psycopg://u:p%40ss@db.example/drp?sslmode=verify-full&connect_timeout=3"
            "&keepalives_idle=5&options=-c%20search_path%3Ddrp%20-c%20lock_timeout%3D10000"
            "&keepalives=1&keepalives_interval=10&keepalives_count=3#x",
        ),
        (  # libpq reads PGOPTIONS only when the URL gives no options: drp keeps it
            "postgresql+psycopg://u@h/drp",
            {"PGOPTIONS": "-c search_path=drp", "PGCONNECT_TIMEOUT": "5"},
            "postgresql+psycopg://u@h/drp?options=-c%20search_path%3Ddrp%20-c%20lock_timeout"
            "%3D10000" + KEEPS,
        ),
    ],
)
def test_the_migrations_url_carries_the_limit(url, environ, expected):
    from drp_cli.store.connection import limited_url

    assert limited_url(url, environ) == expected
