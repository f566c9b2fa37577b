"""Sweep sw8 of PostgreSQL's limits on waiting (commit 62ac1fe, p8l): what the URL and the
environment do to drp's connections and the migration's, the words of a busy database, and
what a command does while another holds a lock. Those marked PostgreSQL only skip without
a server (DRP_TEST_ENGINE=postgresql, DRP_TEST_PG_SERVER), as tests/conftest.py does."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import open_args
from tests.test_p8l_pg_busy import LIMIT_MS, busy, hold, pg

__all__ = ["hold", "pg"]  # the fixtures of tests/test_p8l_pg_busy.py, used here

SECRET = "s3cret-Pa55"
NOT_THERE = (
    "No such file or directory; is the server running locally and accepting connections on "
    "that socket?"
)


def _not_there(stderr: str, label: str) -> bool:
    """Whether ``stderr`` is the one line for a server not there: libpq's reason is that no
    socket is there, or (a checkout deep enough) that the socket's path is too long."""
    head = f"Error: cannot connect to the database {label}: "
    reason = stderr.removeprefix(head)
    return stderr.startswith(head) and (
        reason == f"{NOT_THERE}\n"
        or (reason.startswith("connection is bad: Unix-domain socket path ")
            and reason.endswith(" is too long (maximum 107 bytes)\n"))
    )  # fmt: skip


def _no_server(tmp_path: Any, folder: str, **query: str) -> tuple[str, str]:
    """A URL of a server that is not there (a Unix socket in an empty folder), its label."""
    (tmp_path / folder).mkdir()
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    url = f"postgresql+psycopg://drp@/drp?host={tmp_path / folder}&port=5999"
    return url + extra, url


# -- a password given in the URL's query ---------------------------------------------------
def test_a_password_in_the_query_is_never_shown(drp, tmp_path):
    url, _ = _no_server(tmp_path, "nosrv", password=SECRET)
    r = drp("--db", url, "list")
    assert r.exit_code == 4
    assert SECRET not in r.stderr


def test_a_password_in_the_query_is_not_in_the_label(tmp_path):
    from drp_cli.store.connection import Store

    url, _ = _no_server(tmp_path, "nosrv", password=SECRET)
    assert SECRET not in Store(url, prepare=False).label


def test_a_password_in_the_netloc_is_hidden(drp, tmp_path):
    """What held: the netloc's password is hidden (the label shows ***)."""
    (tmp_path / "nosrv").mkdir()
    url = f"postgresql+psycopg://drp:{SECRET}@/drp?host={tmp_path / 'nosrv'}&port=5999"
    r = drp("--db", url, "list")
    label = url.replace(SECRET, "***")
    assert (r.exit_code, _not_there(r.stderr, label)) == (4, True)


# -- a busy database is a lock not granted, not a word in a name ------------------------------
def test_a_server_not_there_is_not_busy(drp, tmp_path):
    url, label = _no_server(tmp_path, "nosrv")
    r = drp("--db", url, "list")
    assert (r.exit_code, r.stdout, _not_there(r.stderr, label)) == (4, "", True)


@pytest.mark.parametrize("folder", ["locked", "busybox"])
def test_a_folder_named_so_is_not_a_lock_wait(drp, tmp_path, folder):
    url, label = _no_server(tmp_path, folder)
    r = drp("--db", url, "list")
    assert (r.exit_code, r.stdout, _not_there(r.stderr, label)) == (4, "", True)


@pytest.mark.parametrize(
    "message",
    [
        'connection failed: connection to server on socket "/run/postgresql/.s.PGSQL.5432" '
        'failed: FATAL:  database "busybox" does not exist',
        'connection failed: connection to server on socket "/run/postgresql/.s.PGSQL.5432" '
        'failed: FATAL:  role "lockeduser" does not exist',
    ],
)
def test_a_name_in_the_servers_message_is_not_a_lock_wait(message):
    from drp_cli.core.errors import DatabaseBusy, DatabaseError
    from drp_cli.store.dbfile import translate

    found = translate(message, "OperationalError", "postgresql+psycopg://u@/busybox")
    assert not isinstance(found, DatabaseBusy)
    assert isinstance(found, DatabaseError)
    assert found.exit_code == 4


# -- the user's connect_timeout --------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "environ", "expected"),
    [("&connect_timeout=3", {}, "3"), ("", {"PGCONNECT_TIMEOUT": "4"}, None)],
)
def test_drps_connection_keeps_the_users_connect_timeout_as_the_migrations_does(
    tmp_path, monkeypatch, query, environ, expected
):
    """The migration's URL (limited_url) keeps the URL's connect_timeout, or leaves it to
    PGCONNECT_TIMEOUT; drp's own connection passes connect_timeout=10 over either."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from drp_cli.core.errors import DrpError
    from drp_cli.store.connection import Store, limited_url

    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    url, _ = _no_server(tmp_path, "nosrv")
    url += query
    migration = conninfo_to_dict("postgresql://" + limited_url(url).split("://", 1)[1])
    assert migration.get("connect_timeout") == expected  # what held
    seen: list[dict[str, Any]] = []

    def connect(conninfo: str, **kwargs: Any) -> Any:
        kwargs.pop("autocommit", None)  # psycopg's own, not libpq's
        seen.append(conninfo_to_dict(make_conninfo(conninfo, **kwargs)))
        raise psycopg.OperationalError("connection failed: stub")

    monkeypatch.setattr(psycopg, "connect", connect)
    store = Store(url, prepare=False)
    with pytest.raises(DrpError), store.read():
        pass
    assert [s.get("connect_timeout") for s in seen] == [expected]


# -- the migration's URL keeps a password exactly ---------------------------------------------
@pytest.mark.parametrize("password", ["a&b=c%d#e?f@g/h", "p+q r", "%25", "&options=-c x=1"])
def test_the_migrations_url_keeps_an_escaped_password(password):
    from urllib.parse import quote

    from sqlalchemy import make_url

    from drp_cli.store.connection import limited_url

    url = f"postgresql+psycopg://u:{quote(password, safe='')}@db.example/drp?sslmode=require"
    limited = limited_url(url, {})
    assert limited.startswith(url + "&options=")
    parsed = make_url(limited)
    assert (parsed.password, parsed.database) == (password, "drp")
    assert parsed.query["options"] == "-c lock_timeout=10000"


# -- PostgreSQL only ----------------------------------------------------------------------------
def _show(url: str, environ: dict[str, str]) -> list[str]:
    from sqlalchemy import create_engine, text

    from drp_cli.store.connection import Store, limited_url

    store = Store(url)
    try:
        with store.read() as conn:
            own = conn.raw.execute("SHOW lock_timeout").fetchone()[0]
    finally:
        store.close()
    engine = create_engine(limited_url(url, environ))
    try:
        with engine.connect() as conn:
            migration = conn.execute(text("SHOW lock_timeout")).scalar()
    finally:
        engine.dispose()
    return [own, migration]


def test_a_databases_own_lock_timeout_and_pgoptions_give_way(pg, empty_pg, monkeypatch, drp):
    """ALTER DATABASE ... SET lock_timeout and PGOPTIONS' -c lock_timeout: both connections
    still wait drp's limit (shortened here by the pg fixture)."""
    from sqlalchemy import create_engine, make_url, text

    fresh = empty_pg  # a new database on the server, no drp schema yet

    from tests.conftest import PG_SERVER

    assert PG_SERVER is not None
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"ALTER DATABASE {make_url(fresh).database} SET lock_timeout = '1s'"))
    finally:
        admin.dispose()
    assert drp("--db", fresh, "init").exit_code == 0
    assert _show(fresh, {}) == [f"{LIMIT_MS}ms", f"{LIMIT_MS}ms"]  # the pg fixture's limit
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=2s")
    assert _show(fresh, {"PGOPTIONS": "-c lock_timeout=2s"}) == [f"{LIMIT_MS}ms", f"{LIMIT_MS}ms"]


def test_the_morning_check_is_busy_while_an_import_locks_the_concerns(pg, drp, sql, hold, db_label):
    """Never a false all-clear: a table locked as a long change locks it (ACCESS EXCLUSIVE)
    makes the morning check say the database is busy, exit 5."""
    assert drp(*open_args()).exit_code == 0
    holder = hold(pg, "LOCK TABLE concern IN ACCESS EXCLUSIVE MODE")
    r = drp("overdue", "--on", "2025-03-17")
    assert (r.exit_code, r.stdout, r.stderr) == (5, "", busy(db_label))
    holder.release()
    r = drp("overdue", "--on", "2025-03-17")
    assert (r.exit_code, r.stderr) == (0, "")


def test_verify_waits_for_a_lock_once(pg, drp, hold, db_label, monkeypatch):
    """``drp verify`` while another holds the events: busy, exit 5, after one wait of the
    limit; the fast walk's busy is taken for "amiss" and the full walk waits again."""
    import drp_cli.store.connection as connection
    from drp_cli.core.errors import DatabaseBusy

    assert drp(*open_args()).exit_code == 0
    waits: list[int] = []
    original = connection.translate

    def counting(message: str, kind: str, label: str) -> Exception:
        found = original(message, kind, label)
        if isinstance(found, DatabaseBusy):
            waits.append(LIMIT_MS)
        return found

    monkeypatch.setattr(connection, "translate", counting)
    hold(pg, "LOCK TABLE event IN ACCESS EXCLUSIVE MODE")
    r = drp("verify")
    assert (r.exit_code, r.stdout, r.stderr) == (5, "", busy(db_label))
    assert waits == [LIMIT_MS]
