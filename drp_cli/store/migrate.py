"""Creating and upgrading the schema with Alembic (``drp_cli/migrations``), built from the
SQLModel classes in :mod:`drp_cli.store.models`.

Only :meth:`drp_cli.store.connection.Store.create` and
:meth:`~drp_cli.store.connection.Store.upgrade` load this
module (and SQLAlchemy with it): no everyday command does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.exc import OperationalError

from drp_cli.core.errors import DatabaseError
from drp_cli.store.dbfile import BUSY_TIMEOUT_MS, SCHEMA_REVISION, sqlite_uri, translate


def engine_for(target: str, path: Path | None, key: bytes | None = None) -> Engine:
    """A SQLAlchemy engine on the database (for Alembic). A SQLite file is never created
    here; every transaction on it starts with ``BEGIN IMMEDIATE``. ``key``: the file is
    encrypted (SQLCipher) with it, or will be when its tables are made."""
    if path is None:
        try:
            return create_engine(target, hide_parameters=True)
        except ModuleNotFoundError as exc:
            raise DatabaseError(
                f"the driver for this database is not installed ({exc.name}): "
                "pip install 'drp-cli[postgres]'"
            ) from None
        except Exception as exc:
            raise DatabaseError(f"cannot use the database URL: {type(exc).__name__}") from None
    uri = sqlite_uri(path)

    def connect() -> sqlite3.Connection:
        if key is not None:
            from drp_cli.store import cipher

            made: sqlite3.Connection = cipher.connect(
                uri, key, str(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )  # fmt: skip
            return made
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               check_same_thread=False)  # fmt: skip

    engine = create_engine(f"sqlite:///{path}", hide_parameters=True, creator=connect)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_to(connection: Connection, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def create_schema(target: str, path: Path | None, label: str, key: bytes | None = None) -> bool:
    """Create the tables at this program's revision unless some are there (another drp
    created them meanwhile); returns whether it created them."""
    engine = engine_for(target, path, key)
    try:
        with engine.begin() as conn:
            if path is None:  # two first writers at once: one migrates
                conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
            if inspect(conn).get_table_names():
                return False
            upgrade_to(conn, SCHEMA_REVISION)
            return True
    except OperationalError as exc:
        raise _translate(exc, label) from None
    except SADatabaseError:
        raise DatabaseError(f"{label} is not a drp database") from None
    finally:
        engine.dispose()


def upgrade_schema(target: str, path: Path | None, label: str, key: bytes | None = None) -> None:
    engine = engine_for(target, path, key)
    try:
        with engine.begin() as conn:
            upgrade_to(conn, SCHEMA_REVISION)
    except OperationalError as exc:
        raise _translate(exc, label) from None
    finally:
        engine.dispose()


def _translate(exc: OperationalError, label: str) -> Exception:
    return translate(str(exc.orig) if exc.orig is not None else "", type(exc.orig).__name__, label)
