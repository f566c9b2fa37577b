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

Opening a :class:`Store` creates nothing. Reading a database that is not there (no file, an
empty file, a server database with no tables) raises :class:`~drp_cli.errors.DatabaseMissing`,
so a mistyped path is never an all-clear; the first write transaction (:meth:`Store.session`)
or :meth:`Store.create` (``drp init``) creates it, and calls :attr:`Store.on_create`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
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
    is_blank,
    is_url,
    known_revisions,
    resolve_path,
    resolve_target,
    sqlite_uri,
    translate,
)
from drp_cli.errors import DatabaseError, DatabaseMissing

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
    uri = sqlite_uri(path)

    def connect() -> sqlite3.Connection:
        # never creates the file: only Store.create() does, owner-only
        return sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )

    engine = create_engine(
        f"sqlite:///{path}",  # chooses the dialect and the pool; `connect` opens the file
        hide_parameters=True,  # no personal data in error messages
        creator=connect,
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
    """An open drp database (opening it creates nothing: see :meth:`create`)."""

    #: Called with :attr:`label` after this Store created a new database (the CLI says so
    #: on stderr); None to say nothing.
    on_create: Callable[[str], None] | None = None

    def __init__(self, db: str | os.PathLike[str] | None = None, *, prepare: bool = True) -> None:
        self.target = resolve_target(db)
        self.is_sqlite = not is_url(self.target) or self.target.startswith("sqlite")
        self.path: Path | None = None
        self._exists = False
        if is_url(self.target):
            if self.target.startswith("sqlite"):
                raise DatabaseError("give a SQLite database as a file path, not a URL")
            self.engine = _url_engine(self.target)
        else:
            self.path = Path(self.target).expanduser()
            check_location(self.path)
            check_private(self.path)
            self.engine = _sqlite_engine(self.path)
        self.write_engine = self.engine.execution_options(drp_write=True)
        self.label = (
            str(self.path) if self.path else self.engine.url.render_as_string(hide_password=True)
        )
        self.prepare = prepare
        if prepare:
            self._prepare()

    # -- schema --------------------------------------------------------------------------
    def revision(self) -> str | None:
        """The database's Alembic revision; None when there is no database yet (no file, an
        empty file, no tables). Raises for a file or database that is not drp's."""
        if self.path is not None and is_blank(self.path):
            return None  # nothing to open (opening a missing file would be an error)
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

    @property
    def exists(self) -> bool:
        """Whether a drp database is there. Cheap: a stat for a SQLite file that is missing
        or empty; otherwise the schema check (once it is True it stays True). Raises
        :class:`DatabaseError` for a file or database that is not drp's."""
        if not self._exists:
            if self.path is not None and is_blank(self.path):
                return False
            self._exists = self.revision() is not None
        return self._exists

    def require(self) -> None:
        """Raise :class:`DatabaseMissing` unless a drp database is there."""
        if not self.exists:
            raise DatabaseMissing(self.label)

    def _check_revision(self, current: str) -> None:
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

    def _prepare(self) -> None:
        """Refuse a database at another schema; a missing one is left for the first write."""
        current = self.revision()
        if current is None:
            return
        self._exists = True
        self._check_revision(current)

    def create(self) -> bool:
        """Create the database at this program's schema if none is there: a SQLite file
        owner-only (0600, its folder 0700); a server database's tables. Returns whether it
        created one (then calls :attr:`on_create`); False when one is already there."""
        if self.exists:
            return False
        if self.path is not None:
            check_location(self.path)
            try:
                create_private(self.path)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create the database {self.path}: {exc.strerror}"
                ) from None
            check_private(self.path)
        try:
            with self.write_engine.begin() as conn:
                if not self.is_sqlite:  # two first writers at once: one migrates
                    conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
                if inspect(conn).get_table_names():  # another drp created it meanwhile
                    created = False
                else:
                    upgrade_to(conn, SCHEMA_REVISION)
                    created = True
        except OperationalError as exc:
            raise _translate(exc, self.label) from None
        except SADatabaseError:
            raise DatabaseError(f"{self.label} is not a drp database") from None
        self._exists = False
        if not created:
            current = self.revision()
            if current is None:
                raise DatabaseError(f"{self.label} is a database but not a drp database")
            if self.prepare:
                self._check_revision(current)
        self._exists = True
        if created and self.on_create is not None:
            self.on_create(self.label)
        return created

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema up to this program's revision; returns (before, after)."""
        before = self.revision()
        if before is None:
            raise DatabaseMissing(self.label)
        if before not in known_revisions():
            raise DatabaseError(
                f"{self.label} was written by a newer drp (schema {before}): upgrade drp"
            )
        try:
            with self.write_engine.begin() as conn:
                upgrade_to(conn, SCHEMA_REVISION)
        except OperationalError as exc:
            raise _translate(exc, self.label) from None
        self._exists = True
        return before, SCHEMA_REVISION

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A short write transaction: committed on success, rolled back on any error. The
        first one creates the database if none is there (see :meth:`create`)."""
        if not self.exists:
            self.create()
        try:
            with Session(self.write_engine) as s, s.begin():
                yield s
        except OperationalError as exc:
            raise _translate(exc, self.label) from None

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session; :class:`DatabaseMissing` if no drp database is there."""
        self.require()
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
