"""Where the database lives and how it is opened.

The database is chosen by ``--db`` or ``DRP_DB`` (a file path); the default is
``drp.sqlite3`` in the user's data directory (``platformdirs.user_data_dir("drp")``).
Files are created owner-only (0600, folders 0700). SQLite runs in WAL mode with
``synchronous=FULL``, foreign keys on and a busy timeout; every write transaction starts
with ``BEGIN IMMEDIATE`` so that a read-then-write (such as checking a concern's stage
before escalating it) cannot interleave with another writer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine, select

from drp_cli.errors import DatabaseBusy, DatabaseError
from drp_cli.models import SCHEMA_VERSION, Meta

BUSY_TIMEOUT_MS = 10_000


def default_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("drp")) / "drp.sqlite3"


def resolve_path(db: str | os.PathLike[str] | None) -> Path:
    value = os.fspath(db) if db is not None else os.environ.get("DRP_DB") or None
    return Path(value).expanduser() if value else default_path()


def _create_private(path: Path) -> None:
    """Create the parent folder (0700) and an empty file (0600) if they do not exist."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)


def _make_engine(path: Path) -> Engine:
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


class Store:
    """An open drp database."""

    def __init__(self, db: str | os.PathLike[str] | None = None) -> None:
        self.path = resolve_path(db)
        try:
            _create_private(self.path)
        except OSError as exc:
            raise DatabaseError(f"cannot create the database {self.path}: {exc.strerror}") from None
        self.engine = _make_engine(self.path)
        self.write_engine = self.engine.execution_options(drp_write=True)
        self._prepare()

    def _prepare(self) -> None:
        try:
            with self.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
            if "drp_meta" not in tables:
                if tables:
                    raise DatabaseError(f"{self.path} is a SQLite file but not a drp database")
                SQLModel.metadata.create_all(self.engine)
                with self.session() as s:
                    s.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
            # tables added since the database was created (additive only; Alembic
            # migrations are the "whole service" issue)
            SQLModel.metadata.create_all(self.engine, checkfirst=True)
            with Session(self.engine) as s:
                row = s.exec(select(Meta).where(Meta.key == "schema_version")).first()
                version = int(row.value) if row else 0
        except OperationalError as exc:
            raise _translate(exc, self.path) from None
        except SADatabaseError:
            raise DatabaseError(f"{self.path} is not a drp database") from None
        if version > SCHEMA_VERSION:
            raise DatabaseError(
                f"{self.path} was written by a newer drp (schema {version}, this drp knows "
                f"{SCHEMA_VERSION}): upgrade drp"
            )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A short write transaction: committed on success, rolled back on any error."""
        try:
            with Session(self.write_engine) as s, s.begin():
                yield s
        except OperationalError as exc:
            raise _translate(exc, self.path) from None

    @property
    def attachments_dir(self) -> Path:
        """Where attached files are kept: beside the database, owner-only."""
        return self.path.parent / f"{self.path.stem}-attachments"

    def close(self) -> None:
        self.engine.dispose()


def _translate(exc: OperationalError, path: Path) -> Exception:
    text = str(exc.orig) if exc.orig is not None else ""
    if "locked" in text or "busy" in text:
        return DatabaseBusy(
            f"the database {path} is busy (another drp is writing); try again in a moment"
        )
    if "file is not a database" in text:
        return DatabaseError(f"{path} is not a drp database")
    return DatabaseError(f"cannot use the database {path}: {text}")
