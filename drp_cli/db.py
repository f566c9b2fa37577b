"""Where the database lives and how it is opened.

``--db`` / ``DRP_DB`` is a file path (SQLite, the embedded default for one IRO) or a
SQLAlchemy URL (``postgresql+psycopg://...``, for a whole service; ``pip install
'drp-cli[postgres]'``). The default is ``drp.sqlite3`` in the user's data directory.

SQLite: the file is created owner-only (0600, folder 0700) and a file readable by group or
others is refused; a file on a network file system (cifs, smb, nfs) is refused, since
SQLite's locking is not safe there; WAL mode, ``synchronous=FULL``, foreign keys on, a
busy timeout, and every write transaction starts with ``BEGIN IMMEDIATE``.
PostgreSQL: writers lock the rows they change (``SELECT ... FOR UPDATE``).

The schema is managed by Alembic (``drp_cli/migrations``): a new database is created at
the current revision; an older one is refused until ``drp db upgrade``; a newer one is
refused, never altered.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from drp_cli.dbfile import (
    BUSY_TIMEOUT_MS,
    SCHEMA_REVISION,
    check_location,
    check_private,
    create_private,
    default_path,
    filesystem_type,
    is_url,
    known_revisions,
    resolve_path,
    resolve_target,
    translate,
)
from drp_cli.errors import DatabaseError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SCHEMA_REVISION",
    "Store",
    "check_private",
    "default_path",
    "filesystem_type",
    "is_url",
    "known_revisions",
    "resolve_path",
    "resolve_target",
    "upgrade_to",
]


def _sqlite_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        hide_parameters=True,  # no personal data in error messages
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
    )

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
        # writers take the write lock up front; readers see a consistent snapshot
        write = conn.get_execution_options().get("drp_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _url_engine(url: str) -> Engine:
    try:
        return create_engine(url, hide_parameters=True, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"the driver for this database is not installed ({exc.name}): "
            "pip install 'drp-cli[postgres]'"
        ) from None
    except Exception as exc:
        raise DatabaseError(f"cannot use the database URL: {type(exc).__name__}") from None


def alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_to(connection: Connection, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


class Store:
    """An open drp database."""

    def __init__(self, db: str | os.PathLike[str] | None = None, *, prepare: bool = True) -> None:
        self.target = resolve_target(db)
        self.is_sqlite = not is_url(self.target) or self.target.startswith("sqlite")
        self.path: Path | None = None
        if is_url(self.target):
            if self.target.startswith("sqlite"):
                raise DatabaseError("give a SQLite database as a file path, not a URL")
            self.engine = _url_engine(self.target)
        else:
            self.path = Path(self.target).expanduser()
            check_location(self.path)
            try:
                create_private(self.path)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create the database {self.path}: {exc.strerror}"
                ) from None
            check_private(self.path)
            self.engine = _sqlite_engine(self.path)
        self.write_engine = self.engine.execution_options(drp_write=True)
        self.label = (
            str(self.path) if self.path else self.engine.url.render_as_string(hide_password=True)
        )
        if prepare:
            self._prepare()

    # -- schema --------------------------------------------------------------------------
    def revision(self) -> str | None:
        """The database's Alembic revision; None for an empty database."""
        try:
            with self.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
                if not tables:
                    return None
                if "alembic_version" not in tables:
                    raise DatabaseError(f"{self.label} is a database but not a drp database")
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
                return str(row[0]) if row else None
        except OperationalError as exc:
            raise _translate(exc, self.label) from None
        except SADatabaseError:
            raise DatabaseError(f"{self.label} is not a drp database") from None

    def _prepare(self) -> None:
        current = self.revision()
        if current is None:
            self.upgrade()
            return
        if current == SCHEMA_REVISION:
            return
        if current in known_revisions():
            raise DatabaseError(
                f"{self.label} is at schema {current}; this drp needs {SCHEMA_REVISION}: run "
                "`drp db upgrade` (take a `drp backup` first)"
            )
        raise DatabaseError(
            f"{self.label} was written by a newer drp (schema {current}; this drp knows up to "
            f"{SCHEMA_REVISION}): upgrade drp; the database was not changed"
        )

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema up to this program's revision; returns (before, after)."""
        before = self.revision()
        if before is not None and before not in known_revisions():
            raise DatabaseError(
                f"{self.label} was written by a newer drp (schema {before}): upgrade drp"
            )
        try:
            with self.write_engine.begin() as conn:
                upgrade_to(conn, SCHEMA_REVISION)
        except OperationalError as exc:
            raise _translate(exc, self.label) from None
        return before, SCHEMA_REVISION

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A short write transaction: committed on success, rolled back on any error."""
        try:
            with Session(self.write_engine) as s, s.begin():
                yield s
        except OperationalError as exc:
            raise _translate(exc, self.label) from None

    @contextmanager
    def reader(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as s:
                yield s
        except OperationalError as exc:
            raise _translate(exc, self.label) from None

    @property
    def attachments_dir(self) -> Path:
        """Where attached files are kept: beside a SQLite database, owner-only; for a
        server database, ``DRP_ATTACHMENTS`` or the user data folder."""
        env = os.environ.get("DRP_ATTACHMENTS")
        if env:
            return Path(env).expanduser()
        if self.path is not None:
            return self.path.parent / f"{self.path.stem}-attachments"
        return default_path().parent / "attachments"

    def close(self) -> None:
        self.engine.dispose()


def _translate(exc: OperationalError, label: str) -> Exception:
    return translate(str(exc.orig) if exc.orig is not None else "", type(exc.orig).__name__, label)
