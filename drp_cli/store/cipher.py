"""Opening an encrypted SQLite database (SQLCipher, the ``sqlcipher3`` package): loaded only
when the database file is encrypted, so a plain database's commands never import it.

SQLCipher's driver is a copy of the standard library's ``sqlite3`` with its own exception
classes: the connection and cursors made here raise the standard library's instead (same
names, same messages), so the store and SQLAlchemy handle both drivers' errors alike.
Every page is encrypted (AES-256, with an HMAC per page), the write-ahead log's too, and
temporary tables and indexes are kept in memory (``temp_store = MEMORY``): no plain text
on disk.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from sqlcipher3 import dbapi2 as sc  # type: ignore[import-untyped]

from drp_cli.core import dbkey

sc.register_adapter(dt.date, sqlite3.adapters[(dt.date, sqlite3.PrepareProtocol)])
sc.register_adapter(dt.datetime, sqlite3.adapters[(dt.datetime, sqlite3.PrepareProtocol)])
for _name, _convert in sqlite3.converters.items():
    sc.register_converter(_name, _convert)

PARSE_DECLTYPES = sc.PARSE_DECLTYPES


def _plain(exc: BaseException) -> BaseException:
    """SQLCipher's exception as the standard library's of the same name."""
    cls = getattr(sqlite3, type(exc).__name__, sqlite3.DatabaseError)
    return cls(*exc.args) if isinstance(cls, type) else sqlite3.DatabaseError(*exc.args)


def _translated(call: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except sc.Error as exc:
            raise _plain(exc) from None

    return run


class Cursor(sc.Cursor):
    execute = _translated(sc.Cursor.execute)
    executemany = _translated(sc.Cursor.executemany)
    executescript = _translated(sc.Cursor.executescript)
    fetchone = _translated(sc.Cursor.fetchone)
    fetchmany = _translated(sc.Cursor.fetchmany)
    fetchall = _translated(sc.Cursor.fetchall)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row


class Connection(sc.Connection):
    def cursor(self, factory: Any = Cursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = ()) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any) -> Any:
        return self.cursor().executemany(sql, parameters)

    commit = _translated(sc.Connection.commit)
    rollback = _translated(sc.Connection.rollback)
    backup = _translated(sc.Connection.backup)


def connect(database: str, key: bytes | None, label: str, **kwargs: Any) -> Any:
    """A connection to ``database`` (a path or a ``file:`` URI) opened with ``key``: raises
    :func:`drp_cli.core.dbkey.wrong_key` when the key does not open it. ``key`` None: a
    plain database through SQLCipher's driver (to export it encrypted)."""
    try:
        raw = sc.connect(database, factory=Connection, **kwargs)
    except sc.Error as exc:
        raise _plain(exc) from None
    try:
        raw.execute("PRAGMA cipher_log_level = NONE")  # never SQLCipher's own lines on stderr
        if key is not None:
            raw.execute(f"PRAGMA key = {dbkey.pragma(key)}")
        raw.execute("PRAGMA temp_store = MEMORY")
        raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raw.close()
        if "not a database" in str(exc) and key is not None:
            raise dbkey.wrong_key(label) from None
        raise
    return raw


def export(raw: Any, target: str, key: bytes, *, journal: str = "DELETE",
           application_id: int | None = None) -> None:  # fmt: skip
    """Copy the database open on ``raw`` (a connection made by :func:`connect`, plain or
    encrypted) into ``target`` (a new or empty file), encrypted with ``key``, in one read
    transaction: SQLCipher's export (its backup API cannot copy to or from an encrypted
    database). Its user version is copied; ``application_id`` marks it (a backup)."""
    raw.execute(f"ATTACH DATABASE ? AS drp_copy KEY {dbkey.pragma(key)}", (target,))
    try:
        raw.execute("BEGIN")
        try:
            raw.execute("SELECT sqlcipher_export('drp_copy')").fetchall()
            version = raw.execute("PRAGMA main.user_version").fetchone()[0]
            raw.execute(f"PRAGMA drp_copy.user_version = {int(version)}")
            if application_id is not None:
                raw.execute(f"PRAGMA drp_copy.application_id = {int(application_id)}")
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise
        raw.execute(f"PRAGMA drp_copy.journal_mode = {journal}").fetchall()
    finally:
        raw.execute("DETACH DATABASE drp_copy")
