"""The one data-access module: where the database lives, how it is opened, and every query
and write, for both engines.

``--db`` / ``DRP_DB`` is a file path (SQLite, the embedded default for one IRO) or a
PostgreSQL URL (``postgresql+psycopg://...``, for a whole service; ``pip install
'drp-cli[postgres]'``). The default is ``drp.sqlite3`` in the user's data directory.

The runtime speaks DB-API directly: the standard library's ``sqlite3``, or ``psycopg`` for
PostgreSQL. SQL is written once, with ``?`` placeholders (rewritten to ``%s`` for psycopg).
SQLAlchemy and SQLModel are not loaded by any everyday command: the SQLModel classes in
:mod:`drp_cli.store.models` remain the one declaration of the schema, Alembic (loaded only to
create or upgrade a database, :mod:`drp_cli.store.migrate`) builds it from them, and the values
this module reads back take their types from that schema (SQLite's declared ``DATE`` and
``DATETIME`` columns; PostgreSQL's own types).

SQLite: the file is created owner-only (0600, folder 0700) and a file readable by group or
others is refused; a file on a network file system (cifs, smb, nfs) is refused, since
SQLite's locking is not safe there; WAL mode, ``synchronous=FULL``, foreign keys on, a
busy timeout, and every write transaction starts with ``BEGIN IMMEDIATE``.
PostgreSQL: writers lock the rows they change (``SELECT ... FOR UPDATE``); every connection
waits for a lock no longer than SQLite's busy timeout (``lock_timeout``), then the command
says the database is busy, as on SQLite.

Opening a :class:`Store` creates nothing. Reading a database that is not there (no file, an
empty file, a server database with no tables) raises :class:`~drp_cli.core.errors.DatabaseMissing`,
so a mistyped path is never an all-clear; the first write transaction (:meth:`Store.write`)
or :meth:`Store.create` (``drp init``) creates it, and calls :attr:`Store.on_create`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from drp_cli.core.dates import FIRST_DAY, LAST_DAY
from drp_cli.core.errors import (
    DatabaseDamaged,
    DatabaseError,
    DatabaseMissing,
    InvalidInput,
    MalformedValue,
)
from drp_cli.store.dbfile import (
    BUSY_TIMEOUT_MS,
    SCHEMA_REVISION,
    check_location,
    check_private,
    check_transport,
    create_private,
    default_path,
    is_blank,
    is_url,
    known_revisions,
    resolve_target,
    sqlite_uri,
    translate,
)

__all__ = ["SCHEMA_REVISION", "Conn", "MalformedValue", "Row", "Store"]

STREAM = 2000  # rows fetched at a time by a streaming read
#: Values one SQLite statement may carry, in every SQLite Python may be built with (999
#: before 3.32)
SQLITE_VALUES = 999
TABLES = (
    "concern", "event", "item", "attachment", "closure_change", "chain_head", "staff",
    "subject_access_request", "purge", "read_audit", "read_audit_head",
    "subject_access_link", "subject_access_head",
)  # fmt: skip


# -- values ----------------------------------------------------------------------------------
@lru_cache(maxsize=65536)  # an import stores the same few moments a million times
def stored_moment(value: dt.datetime) -> str:
    """The text SQLAlchemy's SQLite dialect stores for a datetime (UTC, microseconds): what
    SQLite is given for one (an import makes it where it checks the rows, so the process
    that writes them need not)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="microseconds")


#: The text SQLite is given for a date (ISO).
stored_day = dt.date.isoformat
#: The first and last day drp handles, as stored (ISO text)
DAYS = (FIRST_DAY.isoformat(), LAST_DAY.isoformat())


def _calendar_date(raw: bytes) -> None:
    """Refuse what Python's ``fromisoformat`` reads but drp never writes: an ISO week or
    ordinal date (2025-W10-1, 2025-062), a day with no dashes (20250303)."""
    if raw[4:5] != b"-" or raw[7:8] != b"-" or raw[10:11] not in (b"", b" ", b"T"):
        raise ValueError("not a calendar date")


def in_range(day: dt.date) -> dt.date:
    """``day``, or ValueError when it is outside the days drp accepts everywhere
    (:data:`~drp_cli.core.dates.FIRST_DAY` to :data:`~drp_cli.core.dates.LAST_DAY`): a stored
    day drp never wrote, which its calendar could not count from."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError("outside the days drp handles")
    return day


def _read_date(raw: bytes) -> dt.date:
    _calendar_date(raw)
    return in_range(dt.date.fromisoformat(raw.decode()[:10]))


def _read_moment(raw: bytes) -> dt.datetime:
    _calendar_date(raw)
    value = dt.datetime.fromisoformat(raw.decode())
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# dates go in as ISO text and datetimes as UTC text, as they always have; the columns the
# schema declares DATE and DATETIME come back as dates and UTC datetimes
sqlite3.register_adapter(dt.date, stored_day)
sqlite3.register_adapter(dt.datetime, stored_moment)
sqlite3.register_converter("DATE", _read_date)
sqlite3.register_converter("DATETIME", _read_moment)


#: The columns that hold a JSON object as text (the rest take their types from the schema).
JSON_COLUMNS = {"event": ("details",), "item": ("data",)}
#: How a row of each table is named in a message: never by what it holds (a child's
#: reference, an address): a concern by its id, a staff entry by its key.
ROW_NAMES = {
    "concern": ("'concern ' || id", "id"),
    "event": ("'concern ' || concern_id", "concern_id"),
    "item": ("'concern ' || concern_id", "concern_id"),
    "attachment": ("'concern ' || concern_id", "concern_id"),
    "closure_change": ("'closure change ' || id", "id"),
    "chain_head": ("'the chain head'", "id"),
    "staff": ("'staff entry ' || key", "key"),
    "subject_access_request": ("'subject access request ' || id", "id"),
    "purge": ("'purge ' || id", "id"),
    "read_audit": ("'audit row ' || id", "id"),
    "read_audit_head": ("'the audit head'", "id"),
    "subject_access_link": ("'subject access link ' || id", "id"),
    "subject_access_head": ("'the subject access head'", "id"),
}


def stored_object(raw: Any, where: str, table: str, column: str) -> dict[str, Any]:
    """A stored JSON object (an event's details, an item's data) as a dict; a value that is
    not one raises :class:`MalformedValue` naming ``where``, the table and the column."""
    if isinstance(raw, dict):
        return raw
    if raw is None or raw == "":
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str | bytes) else None
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise MalformedValue(where, table, column)
    return value


_object_decoder: Any = None


def decoded_object(raw: Any, where: str, table: str, column: str) -> dict[str, Any]:
    """:func:`stored_object`, faster for the text drp writes (``drp verify`` decodes two
    million): msgspec's decoder first, and where it reads the text as an object, that object
    (a property test holds it to ``json.loads``'s); anything else, ``stored_object``'s answer."""
    global _object_decoder
    if type(raw) is str and raw:
        decoder = _object_decoder
        if decoder is None:
            import msgspec

            decoder = _object_decoder = msgspec.json.Decoder().decode
        try:
            value = decoder(raw)
        except Exception:  # json.loads decides (NaN, a lone surrogate, ...)
            value = None
        if type(value) is dict and (
            raw.count("{") + raw.count("[") < _SHALLOW or _plain_json(value)
        ):
            return value
    return stored_object(raw, where, table, column)


def _plain_json(value: dict[str, Any]) -> bool:
    """Whether a decoded object is nested shallowly enough that ``json.loads`` surely read it
    too (its limit is Python's recursion limit less the stack it is called from; msgspec's
    its own): at most :data:`_SHALLOW` levels. (A number either decoder cannot hold, an
    integer past Python's limit on digits, msgspec refuses, as ``json.loads`` does or reads
    otherwise: then ``json.loads`` decides.)"""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        for v in item.values() if type(item) is dict else item:
            if type(v) is dict or type(v) is list:
                if depth >= _SHALLOW:
                    return False
                stack.append((v, depth + 1))
    return True


#: How deep an object :func:`decoded_object` takes msgspec's reading of without asking json
_SHALLOW = 100


def _lower(value: Any) -> Any:
    """SQL's lower() for SQLite: Python's, for every letter."""
    return value.lower() if isinstance(value, str) else value


class Row(dict[str, Any]):
    """A row as a dict whose columns can also be read and set as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


@lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (drp's SQL has no other ``?`` or ``%``)."""
    return sql.replace("%", "%%").replace("?", "%s")


class Conn:
    """One open transaction: run SQL written once for both engines."""

    def __init__(self, raw: Any, is_sqlite: bool, streams: list[Any] | None = None) -> None:
        self.raw = raw
        self.is_sqlite = is_sqlite
        #: the streams (generators) opened in the transaction, closed when it ends
        self.streams: list[Any] = [] if streams is None else streams

    @contextmanager
    def _converting(self) -> Iterator[None]:
        """A stored value the driver cannot turn into a Python value (SQLite's converters:
        an impossible date; psycopg: a date past year 9999, infinity) as
        :class:`MalformedValue` naming its row and column, found by :func:`malformed_values`."""
        try:
            yield
        except (ValueError, OverflowError):  # only a converter raises these in a fetch
            raise self.malformed() from None
        except sqlite3.OperationalError as exc:
            if str(exc).startswith("Could not decode"):  # text that is not UTF-8
                raise self.malformed() from None
            raise
        except Exception as exc:
            if _is_pg_data_error(exc):
                raise self.malformed() from None
            raise

    def malformed(self) -> DatabaseDamaged:
        """The first malformed stored value as :class:`MalformedValue` (or, if none is found
        again, :class:`DatabaseDamaged` saying only that one is there)."""
        try:
            found = next(malformed_values(self), None)
        except Exception:  # the scan could not read past it either
            found = None
        return found or DatabaseDamaged("a stored value is not one drp writes")

    def close_streams(self) -> None:
        """Close every stream still open (its cursor), before the transaction ends."""
        streams, self.streams[:] = list(self.streams), []
        for gen in streams:
            with suppress(Exception):
                gen.close()

    def _sql(self, sql: str) -> str:
        return sql if self.is_sqlite else _pyformat(sql)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = self.raw.cursor()
        cur.execute(self._sql(sql), tuple(params))
        return cur

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.execute(sql, params)
        try:
            with self._converting():
                return [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        cur = self.execute(sql, params)
        try:
            with self._converting():
                row = cur.fetchone()
            return tuple(row) if row is not None else None
        finally:
            cur.close()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return row[0] if row is not None else None

    def records(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = self.execute(sql, params)
        try:
            names = [d[0] for d in cur.description]
            with self._converting():
                found = cur.fetchall()
            return [Row(zip(names, r, strict=True)) for r in found]
        finally:
            cur.close()

    def record(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        found = self.records(sql, params)
        return found[0] if found else None

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        """Rows a batch at a time (a server-side cursor on PostgreSQL): memory stays flat.
        A stream left unfinished is closed when its transaction ends (never by the garbage
        collector, after the connection is gone)."""
        gen = self._stream(sql, params)
        self.streams.append(gen)
        return gen

    def stream_rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """:meth:`stream`'s rows as the driver gives them (tuples in the order selected), with
        no mapping made for each: for a read of millions (``drp verify``)."""
        gen = self._stream(sql, params, names=False)
        self.streams.append(gen)
        return gen

    def _stream(self, sql: str, params: Sequence[Any], names: bool = True) -> Iterator[Any]:
        if self.is_sqlite:
            cur = self.raw.cursor()
            cur.execute(sql, tuple(params))
        else:
            cur = self.raw.cursor(name=f"drp_stream_{id(self)}_{next(_names)}")
            cur.itersize = STREAM
            cur.execute(_pyformat(sql), tuple(params))
        try:
            columns: list[str] | None = None
            while True:
                with self._converting():
                    batch = cur.fetchmany(STREAM)
                if not batch:
                    break
                if not names:
                    yield from batch
                    continue
                if columns is None:
                    columns = [d[0] for d in cur.description]
                for r in batch:
                    yield Row(zip(columns, r, strict=True))
        finally:
            cur.close()

    # -- writes ------------------------------------------------------------------------------
    def insert(self, table: str, values: Mapping[str, Any]) -> int:
        """Insert one row; returns its id."""
        names = list(values)
        sql = (
            f"INSERT INTO {table} ({', '.join(_quote(n) for n in names)}) "
            f"VALUES ({', '.join('?' for _ in names)}) RETURNING id"
        )
        row = self.one(sql, [values[n] for n in names])
        assert row is not None
        return int(row[0])

    def insert_many(self, table: str, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert many rows given as tuples in ``names`` order, in that order. On SQLite,
        as many rows to a statement as its smallest limit on values allows (one statement a
        row takes the driver a quarter longer: an import inserts 600,000 events)."""
        head = f"INSERT INTO {table} ({', '.join(_quote(n) for n in names)}) VALUES "
        marks = f"({', '.join('?' for _ in names)})"
        cur = self.raw.cursor()
        try:
            if self.is_sqlite:
                rows = rows if isinstance(rows, list) else list(rows)
                # a row of the wrong length would shift the values of the rows after it
                if not all(map(len(names).__eq__, map(len, rows))):
                    raise ValueError(f"a row for {table} does not have {len(names)} values")
                insert_packed(cur, head, marks, len(names), rows)
            else:
                cur.executemany(self._sql(head + marks), rows)
        finally:
            cur.close()

    def update(self, table: str, row_id: int, values: Mapping[str, Any]) -> None:
        names = list(values)
        sets = ", ".join(f"{_quote(n)} = ?" for n in names)
        self.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*(values[n] for n in names),
                                                                  row_id]).close()  # fmt: skip

    @contextmanager
    def indexes_after(self, tables: Sequence[str]) -> Iterator[None]:
        """For a large insert into tables that hold no rows yet: their secondary indexes
        dropped, and made again when the block ends, one sort each instead of an insert
        into every index for every row (on SQLite: 2.7 s less in an import of 100,000
        concerns). Inside the transaction: on an error the rollback keeps them as they
        were. UNIQUE constraints stay (they are not separate indexes). They are made again
        in the order they were made first, so the schema reads as before: with no
        statistics, SQLite's planner may choose between equal indexes by that order."""
        made = self.drop_indexes(tables)
        yield
        self.make_indexes(made)

    def drop_indexes(self, tables: Sequence[str]) -> list[str]:
        """The first half of :meth:`indexes_after`, for a caller whose insert spans more
        than one transaction (a database being built, which no one else reads): the
        statements that make the dropped indexes again, for :meth:`make_indexes`."""
        if not self.is_sqlite:
            return []
        marks = ", ".join("?" for _ in tables)
        found = self.rows(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                          f"sql IS NOT NULL AND tbl_name IN ({marks}) ORDER BY rowid",
                          tuple(tables))  # fmt: skip
        for name, _sql in found:
            self.raw.execute(f"DROP INDEX {_quote(name)}")
        return [sql for _name, sql in found]

    def make_indexes(self, statements: Sequence[str]) -> None:
        """The indexes :meth:`drop_indexes` dropped, made again in the order they were."""
        for sql in statements:
            self.raw.execute(sql)

    @contextmanager
    def bulk(self, megabytes: int = 256) -> Iterator[None]:
        """Room for indexes being filled by a large insert (SQLite's page cache, 256 MB at
        most unless told, taken only as needed), set back to the default afterwards."""
        if not self.is_sqlite:
            yield
            return
        self.raw.execute(f"PRAGMA cache_size=-{int(megabytes) * 1024}")
        try:
            yield
        finally:
            self.raw.execute("PRAGMA cache_size=-2000")

    def column_types(self, table: str) -> dict[str, str]:
        """Each column of ``table`` as the schema declares it: 'date', 'datetime' or ''."""
        if self.is_sqlite:
            found = self.rows(f"PRAGMA table_info({table})")
            declared = {r[1]: str(r[2]).upper() for r in found}
        else:
            declared = {
                r[0]: str(r[1]).upper()
                for r in self.rows(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = ? AND table_schema = current_schema()",
                    (table,),
                )
            }
        kinds = {}
        for name, decl in declared.items():
            if decl.startswith(("DATETIME", "TIMESTAMP")):
                kinds[name] = "datetime"
            elif decl == "DATE":
                kinds[name] = "date"
            else:
                kinds[name] = ""
        return kinds


def insert_packed(
    raw: Any, head: str, values: str, width: int, rows: Sequence[Sequence[Any]]
) -> None:
    """SQLite: ``rows`` (each ``width`` values, for the ``?`` of ``values``, one row's
    parenthesised values) inserted by ``head`` (``INSERT INTO t (...) VALUES ``) on ``raw``
    (a connection or cursor) in their order, as many to a statement as SQLite's smallest
    limit on bound values allows: a statement a row takes the driver a third longer (it
    resets and binds it again for each; a plain event 3.2 us against 2.4 us)."""
    per = max(1, SQLITE_VALUES // max(1, width))
    whole = len(rows) - len(rows) % per if per > 1 else 0
    if whole:
        many = head + ", ".join([values] * per)
        flat = itertools.chain.from_iterable
        for i in range(0, whole, per):
            raw.execute(many, [*flat(rows[i : i + per])])
    if whole < len(rows):
        raw.executemany(head + values, rows[whole:])


def _quote(name: str) -> str:
    return f'"{name}"'


def _is_pg_data_error(exc: Exception) -> bool:
    """psycopg's DataError raised while loading a value (a date it cannot hold)."""
    import sys

    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.DataError)


@lru_cache(maxsize=1)
def _pg_day_loader() -> type:
    """psycopg's loader of a date that refuses, as SQLite's converter does, a day outside
    the days drp handles (ValueError: :meth:`Conn._converting` names its row and column)."""
    from psycopg.types.datetime import DateLoader

    class DayLoader(DateLoader):
        def load(self, data: Any) -> dt.date:
            return in_range(super().load(data))

    return DayLoader


def _valid_date(raw: bytes) -> bool:
    try:
        _read_date(raw)
    except (ValueError, OverflowError):
        return False
    return True


def _valid_moment(raw: bytes) -> bool:
    try:
        _read_moment(raw)
    except (ValueError, OverflowError):
        return False
    return True


def _suspects(conn: Conn, table: str, column: str, kind: str) -> str:
    """SQL for the rows of ``table`` whose ``column`` (a date or a datetime) may not read
    back as one: (row name, value as bytes on SQLite). On SQLite a cheap filter in SQL, each
    row it lets through then tried with the converter itself; on PostgreSQL, the values its
    types hold but Python's do not (infinity, before year 1, after 9999). A day outside
    the days drp handles (:data:`DAYS`) is one drp never wrote, on either engine."""
    who = ROW_NAMES[table][0]
    c = _quote(column)
    # a day outside the days drp handles; a moment Python cannot hold
    first, last = DAYS if kind == "date" else ("0001-01-02", "9999-12-30")
    if not conn.is_sqlite:
        return (f"SELECT {who}, NULL FROM {table} WHERE {c} IS NOT NULL AND NOT ({c} BETWEEN "
                f"'{first}' AND '{last}')")  # fmt: skip
    # what may follow a day, as the converter reads it (:func:`_calendar_date`); SQLite's
    # date functions pass white space at the end that Python's converters refuse
    if kind == "date":
        ok = (f"date(substr({c}, 1, 10), '+0 days') IS substr({c}, 1, 10) AND "
              f"substr({c}, 11, 1) IN ('', ' ', 'T') AND "
              f"substr({c}, 1, 10) BETWEEN '{first}' AND '{last}'")  # fmt: skip
    else:
        ok = (f"datetime({c}, '+0 days') IS replace(substr({c}, 1, 19), 'T', ' ') AND "
              f"rtrim({c}, ' ' || char(9, 10, 11, 12, 13)) IS {c}")  # fmt: skip
    return (f"SELECT {who}, CAST({c} AS BLOB) FROM {table} WHERE {c} IS NOT NULL AND NOT "
            f"(typeof({c}) = 'text' AND {ok})")  # fmt: skip


#: The columns SQLite must hold as one storage class (it keeps text or a blob in an INTEGER
#: column, a blob in a TEXT one): a row of no concern, or a link whose hash cannot be worked
#: out (the concern's own id is SQLite's rowid). NULL is left to the other checks.
_SQLITE_CLASSES = {
    "event": {"concern_id": "integer", "chain_seq": "integer", "text": "text",
              "details": "text", "salt": "text", "prev_hash": "text", "hash": "text"},
    "item": {"concern_id": "integer"},
    "attachment": {"concern_id": "integer"},
}  # fmt: skip


def malformed_values(conn: Conn, tables: Sequence[str] = TABLES) -> Iterator[MalformedValue]:
    """Every stored value drp could not have written, in table order: a date or datetime
    that does not read back as one, a JSON column that is not an object. Each one named by
    its row (:data:`ROW_NAMES`) and column, never by its value. ``tables``: only those (of
    :data:`TABLES`, in its order)."""
    for table in (t for t in TABLES if t in tables):
        for column, kind in (_SQLITE_CLASSES.get(table, {}) if conn.is_sqlite else {}).items():
            sql = (f"SELECT rowid FROM {table} WHERE typeof({column}) NOT IN ('{kind}', 'null') "
                   "ORDER BY rowid")  # fmt: skip
            for (rowid,) in conn.rows(sql):
                yield MalformedValue(f"{table} row {rowid}", table, column)
        for column, kind in conn.column_types(table).items():
            if not kind:
                continue
            check = _valid_date if kind == "date" else _valid_moment
            for where, raw in conn.rows(_suspects(conn, table, column, kind)):
                if raw is None or not check(bytes(raw)):
                    yield MalformedValue(str(where), table, column)
        for column in JSON_COLUMNS.get(table, ()):
            who = ROW_NAMES[table][0]
            cur = conn.raw.cursor()
            try:
                cur.execute(f"SELECT {who}, {_quote(column)} FROM {table}")
                while batch := cur.fetchmany(STREAM):
                    for where, raw in batch:
                        try:
                            stored_object(raw, str(where), table, column)
                        except MalformedValue as found:
                            yield found
            finally:
                cur.close()


_names = itertools.count(1)  # names of server-side cursors


# -- the database ----------------------------------------------------------------------------
#: libpq's parameters that hold a secret, which a URL may give in its query
_SECRETS = frozenset({"password", "sslpassword"})


def _hide_password(url: str) -> str:
    """``url`` as drp shows it (in every message and ``Store.label``): a password before the
    ``@`` or in the query (``?password=...``, which libpq accepts too) as ``***``."""
    parts = urlsplit(url)
    netloc, query = parts.netloc, parts.query
    if parts.password is not None:
        user = parts.username or ""
        host = parts.hostname or ""
        netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    if query:
        from urllib.parse import unquote

        fields = query.split("&")
        for i, field in enumerate(fields):
            name, equals, _ = field.partition("=")
            if equals and unquote(name).strip().lower() in _SECRETS:
                fields[i] = f"{name}=***"
        query = "&".join(fields)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


#: How long drp waits for a PostgreSQL server to answer a connection, in seconds.
CONNECT_TIMEOUT_S = 10


#: libpq's TCP keepalives, unless the URL sets its own: a server that drops off the network
#: while drp waits for its answer is found out in about a minute (30 s of quiet, then three
#: probes 10 s apart), not the two hours and more of the system's defaults; a server that is
#: only slow answers the probes. (A Unix socket has none: its server cannot vanish so.)
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10",
              "keepalives_count": "3"}  # fmt: skip


def _lock_limit() -> str:
    """The statement that makes a PostgreSQL session wait for a lock (a row another writer
    holds ``FOR UPDATE``, a table, the migration's advisory lock) at most as long as SQLite
    waits for its write lock (:data:`BUSY_TIMEOUT_MS`): then the statement fails (SQLSTATE
    55P03), its transaction is rolled back, and the command says the database is busy. Set
    by a statement, not by libpq's ``options``, which a connection pooler (PgBouncer) may
    refuse, and which would take the place of the user's own (in the URL or ``PGOPTIONS``).
    No limit on a statement's length: a ``verify`` or an import may rightly take long."""
    return f"SET lock_timeout = {int(BUSY_TIMEOUT_MS)}"


def limited_url(url: str, environ: Mapping[str, str] = os.environ) -> str:
    """``url`` (a PostgreSQL URL) with the same limit on waiting for a lock as
    :func:`_lock_limit` sets, for a connection drp does not open itself (the migration's,
    through SQLAlchemy): in libpq's ``options``, after the user's own (the URL's ``options``,
    else ``PGOPTIONS``, which libpq would read only when the URL gives none), so a later
    ``-c lock_timeout`` of theirs gives way to drp's; and, unless the URL or ``PGCONNECT_TIMEOUT``
    says otherwise, the same limit on connecting; the same keepalives (:data:`KEEPALIVES`)
    where it sets none. The rest of the URL is kept as it was."""
    from urllib.parse import quote, unquote

    url, hashmark, fragment = url.partition("#")
    base, _, query = url.partition("?")
    kept: list[str] = []
    given: str | None = None
    names: set[str] = set()
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        name = unquote(name)
        names.add(name)
        if name == "options":
            given = unquote(value)
        else:
            kept.append(part)
    if given is None:
        given = environ.get("PGOPTIONS", "")
    options = f"{given.strip()} -c lock_timeout={int(BUSY_TIMEOUT_MS)}".strip()
    kept.append(f"options={quote(options, safe='')}")
    if "connect_timeout" not in names and not environ.get("PGCONNECT_TIMEOUT"):
        kept.append(f"connect_timeout={CONNECT_TIMEOUT_S}")
    kept += [f"{k}={v}" for k, v in KEEPALIVES.items() if k not in names]
    return f"{base}?{'&'.join(kept)}{hashmark}{fragment}"


def libpq_reason(message: str) -> str:
    """Why libpq could not connect, from psycopg's message, in one line: what follows its last
    "failed: " (``Connection refused``, ``role "x" does not exist``, ...), then its hint
    (``is the server running ...?``). It names the server, database and role the URL gives
    (shown with the URL already), never a password, which libpq does not repeat."""
    first, _, rest = message.strip().partition("\n")
    reason = first.rpartition("failed: ")[2] if "failed: " in first else first
    reason = reason.removeprefix("FATAL:").strip() or "no reason given"
    hint = rest.strip().splitlines()[0].strip() if rest.strip() else ""
    if hint:
        reason = f"{reason}; {hint[:1].lower()}{hint[1:]}"
    return reason


def _conninfo(url: str) -> str:
    """A libpq URI for a SQLAlchemy-style PostgreSQL URL (``postgresql+psycopg://``)."""
    scheme, _, rest = url.partition("://")
    dialect = scheme.split("+", 1)[0]
    if dialect not in ("postgresql", "postgres"):
        raise DatabaseError(
            "drp works with a SQLite file or a PostgreSQL URL (postgresql+psycopg://...)"
        )
    return f"postgresql://{rest}"


class Store:
    """An open drp database (opening it creates nothing: see :meth:`create`)."""

    #: Called with :attr:`label` after this Store created a new database (the CLI says so
    #: on stderr); None to say nothing.
    on_create: Callable[[str], None] | None = None

    def __init__(
        self, db: str | os.PathLike[str] | None = None, *, prepare: bool = True,
        scratch: bool = False, db_key: bytes | None = None,
    ) -> None:  # fmt: skip
        """``scratch``: a SQLite file being built where no one else reads it (an import
        into no database builds it beside where it goes): no write-ahead log and no flush
        to disk at each commit, until :meth:`seal` makes it a database like any other.
        ``db_key``: the SQLCipher key to open (or create) the file with; without it an
        encrypted file is opened with the key in ``DRP_DB_KEY_FILE`` / ``db_key_file``."""
        self.target = resolve_target(db)
        self.scratch = scratch
        #: the key of an encrypted SQLite file (None: plain, or not yet opened)
        self.db_key = db_key
        self.path: Path | None = None
        self._exists = False
        self._raw: Any = None
        self._depth = 0  # transactions open on the connection (an inner one joins the outer)
        self._writing = False
        self._streams: list[Any] = []  # the open transaction's unfinished streams
        if is_url(self.target):
            if self.target.startswith("sqlite"):
                raise DatabaseError("give a SQLite database as a file path, not a URL")
            self.is_sqlite = False
            self._conninfo = _conninfo(self.target)
            check_transport(self._conninfo)
            self.label = _hide_password(self.target)
        else:
            self.is_sqlite = True
            self.path = Path(self.target).expanduser()
            check_location(self.path)
            check_private(self.path)
            self.label = str(self.path)
        self.prepare = prepare
        if prepare:
            self._prepare()

    # -- connecting ------------------------------------------------------------------------
    def _connect(self) -> Any:
        if self._raw is not None:
            return self._raw
        raw: Any
        if self.path is not None:
            key = self.encryption_key()
            try:
                if key is None:
                    raw = sqlite3.connect(
                        sqlite_uri(self.path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                        isolation_level=None, detect_types=sqlite3.PARSE_DECLTYPES,
                        check_same_thread=False,
                    )  # fmt: skip
                else:  # SQLCipher's driver, loaded only for an encrypted file
                    from drp_cli.store import cipher

                    raw = cipher.connect(
                        sqlite_uri(self.path), key, self.label, uri=True,
                        timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                        detect_types=cipher.PARSE_DECLTYPES, check_same_thread=False,
                    )  # fmt: skip
                # lower() folds every letter, as PostgreSQL's does in a UTF-8 locale (SQLite's
                # own folds only A-Z): the filters that ignore case match names like Łukasz
                raw.create_function("lower", 1, _lower, deterministic=True)
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                raw.execute("PRAGMA foreign_keys=ON")
                if self.scratch:  # a rollback journal in memory: pages added need none
                    raw.execute("PRAGMA journal_mode=MEMORY")
                    raw.execute("PRAGMA synchronous=OFF")
                else:
                    raw.execute("PRAGMA synchronous=FULL")
            except sqlite3.OperationalError as exc:
                raise translate(str(exc), type(exc).__name__, self.label) from None
            except sqlite3.DatabaseError as exc:
                if key is not None and "malformed" in str(exc):  # its key opened page 1
                    raise DatabaseDamaged(f"SQLCipher: {exc}") from None
                raise DatabaseError(f"{self.label} is not a drp database") from None
        else:
            try:
                import psycopg
            except ModuleNotFoundError as exc:
                raise DatabaseError(
                    f"the driver for this database is not installed ({exc.name}): "
                    "pip install 'drp-cli[postgres]'"
                ) from None
            try:
                given = psycopg.conninfo.conninfo_to_dict(self._conninfo)
                keep: dict[str, Any] = {k: v for k, v in KEEPALIVES.items() if k not in given}
                if "connect_timeout" not in given and not os.environ.get("PGCONNECT_TIMEOUT"):
                    keep["connect_timeout"] = CONNECT_TIMEOUT_S  # as limited_url's
                raw = psycopg.connect(self._conninfo, autocommit=True, **keep)
                try:  # a session setting, outside any transaction: a rollback keeps it
                    raw.execute(_lock_limit())
                    raw.autocommit = False
                except BaseException:
                    raw.close()
                    raise
            except psycopg.OperationalError as exc:
                found = translate(str(exc), type(exc).__name__, self.label)
                if str(found).startswith(("cannot use the database", "cannot connect to")):
                    # no connection: libpq's reason says which of the URL's parts to mend
                    found = DatabaseError(f"cannot connect to the database {self.label}: "
                                          f"{libpq_reason(str(exc))}")  # fmt: skip
                raise found from None
            except psycopg.Error as exc:
                raise DatabaseError(f"cannot use the database URL: {type(exc).__name__}") from None
            raw.adapters.register_loader("date", _pg_day_loader())
        self._raw = raw
        return raw

    def encryption_key(self) -> bytes | None:
        """The SQLCipher key this SQLite file is opened with: the one given, else (for a
        file that is encrypted) the one in ``DRP_DB_KEY_FILE`` / ``db_key_file``; None for a
        plain file or a server database."""
        if self.db_key is None and self.path is not None:
            from drp_cli.core import dbkey

            if dbkey.is_encrypted_file(self.path):
                self.db_key = dbkey.load_key(self.label)
        return self.db_key

    @property
    def encrypted(self) -> bool:
        return self.encryption_key() is not None

    @contextmanager
    def _transaction(self, write: bool, snapshot: bool = False) -> Iterator[Conn]:
        raw = self._connect()
        conn = Conn(raw, self.is_sqlite, self._streams)
        if self._depth:  # joins the transaction already open
            if write and not self._writing:
                raise RuntimeError("a write inside a read transaction")
            self._depth += 1
            try:
                yield conn
            finally:
                self._depth -= 1
            return
        with self._errors():
            if self.is_sqlite:
                raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            elif snapshot:
                raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._depth, self._writing = 1, write
        try:
            with self._errors():
                yield conn
                conn.close_streams()
                if self.is_sqlite:
                    raw.execute("COMMIT" if write else "ROLLBACK")
                elif write:
                    raw.commit()
                else:
                    raw.rollback()
        except BaseException:
            conn.close_streams()
            self._rollback()
            raise
        finally:
            self._depth, self._writing = 0, False

    def _rollback(self) -> None:
        raw = self._raw
        if raw is None:
            return
        try:
            if self.is_sqlite:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
            else:
                raw.rollback()
        except Exception:  # the connection is gone; close() tidies up
            pass

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """A driver's operational error as drp's own (never its parameters)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise translate(str(exc), type(exc).__name__, self.label) from None
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError):
                raise
            if "malformed" in str(exc):  # a damaged page, met while reading
                raise DatabaseDamaged(f"SQLite: {exc}") from None
            if self.db_key is not None and "not a database" in str(exc):
                # the key opened the first page: a later one fails SQLCipher's HMAC
                raise DatabaseDamaged("SQLCipher: a page fails its integrity check") from None
            raise DatabaseError(f"{self.label} is not a drp database") from None
        except Exception as exc:
            found = _server_error(exc, self.label)
            if found is None:
                raise
            raise found from None

    @contextmanager
    def read(self, *, snapshot: bool = False) -> Iterator[Conn]:
        """A read transaction (one consistent view); :class:`DatabaseMissing` if no drp
        database is there. ``snapshot``: PostgreSQL's REPEATABLE READ, for a long read."""
        self.require()
        with self._transaction(False, snapshot) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Conn]:
        """A short write transaction: committed on success, rolled back on any error. The
        first one creates the database if none is there (see :meth:`create`)."""
        if not self.exists:
            self.create()
        with self._transaction(True) as conn:
            yield conn

    # -- schema --------------------------------------------------------------------------
    def revision(self) -> str | None:
        """The database's Alembic revision; None when there is no database yet (no file, an
        empty file, no tables). Raises for a file or database that is not drp's."""
        if self.path is not None and is_blank(self.path):
            return None  # nothing to open (opening a missing file would be an error)
        raw = self._connect()
        conn = Conn(raw, self.is_sqlite)
        try:
            with self._errors():
                sql = (
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    if self.is_sqlite
                    else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                )
                tables = {r[0] for r in conn.rows(sql)}
                if not tables:
                    return None
                if "alembic_version" not in tables:
                    raise DatabaseError(f"{self.label} is a database but not a drp database")
                row = conn.one("SELECT version_num FROM alembic_version")
                return str(row[0]) if row else None
        finally:
            if not self._depth:
                self._rollback()

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
        from drp_cli.store.migrate import create_schema

        self.close()  # the migration uses its own connection
        created = create_schema(self._migration_target(), self.path, self.label, self.db_key)
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

    def _migration_target(self) -> str:
        """What the migration opens (its own connection, through SQLAlchemy): a server's URL
        with drp's limits on waiting (:func:`limited_url`), so that its advisory lock and its
        changes of tables give up as every other wait does."""
        return self.target if self.is_sqlite else limited_url(self.target)

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema up to this program's revision; returns (before, after)."""
        before = self.revision()
        if before is None:
            raise DatabaseMissing(self.label)
        if before not in known_revisions():
            raise DatabaseError(
                f"{self.label} was written by a newer drp (schema {before}): upgrade drp"
            )
        from drp_cli.store.migrate import upgrade_schema

        self.close()
        upgrade_schema(self._migration_target(), self.path, self.label, self.encryption_key())
        self._exists = True
        return before, SCHEMA_REVISION

    def copy_to(self, target: Path, application_id: int) -> None:
        """A consistent copy of a SQLite database in ``target`` (SQLite's online backup),
        marked with ``application_id``, in rollback-journal mode."""
        if self.path is None:
            raise DatabaseError("only a SQLite database can be copied as a file")
        self.require()
        if self.encrypted:
            self._export_to(target, application_id)
            return
        with self._errors():
            dst = sqlite3.connect(target)
            try:
                self._connect().backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
                dst.execute(f"PRAGMA application_id={int(application_id)}")
                dst.commit()
            finally:
                dst.close()

    def _export_to(self, target: Path, application_id: int) -> None:
        """A consistent copy of this encrypted database in ``target``, encrypted with the
        same key (SQLCipher's export: its backup API cannot copy an encrypted database)."""
        from drp_cli.store import cipher

        key = self.encryption_key()
        assert key is not None
        raw = self._connect()
        with self._errors():
            cipher.export(raw, str(target), key, application_id=application_id)

    def row_counts(self, tables: Sequence[str]) -> dict[str, int]:
        """How many rows each of ``tables`` holds, in one read."""
        with self.read() as conn:
            return {
                name: int(conn.scalar(f"SELECT count(*) FROM {_quote(name)}")) for name in tables
            }

    def checkpoint(self) -> None:
        """SQLite: every page of the write-ahead log copied into the file, the log emptied."""
        if self.path is not None:
            with self.read() as conn:
                conn.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def rekey(self, key: bytes) -> None:
        """Encrypt this SQLCipher database with ``key`` instead (every page rewritten, in
        one transaction)."""
        from drp_cli.core import dbkey

        assert self.encryption_key() is not None
        raw = self._connect()
        with self._errors():
            raw.execute(f"PRAGMA rekey = {dbkey.pragma(key)}").fetchall()
        self.db_key = key

    def scrub(self) -> None:
        """After a redaction: rewrite the database so that no copy of the removed text is
        left in free pages or the write-ahead log (SQLite: VACUUM with secure_delete, then a
        truncating checkpoint; PostgreSQL: VACUUM FULL of the tables that held it, which
        rewrites them without the dead row versions)."""
        raw = self._connect()
        with self._errors():
            if self.is_sqlite:
                raw.execute("PRAGMA secure_delete=ON")
                raw.execute("VACUUM")
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                raw.rollback()
                raw.autocommit = True
                try:
                    for table in (
                        "event",
                        "concern",
                        "item",
                        "attachment",
                        "subject_access_request",
                    ):
                        raw.execute(f"VACUUM FULL {table}")
                finally:
                    raw.autocommit = False

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

    def seal(self) -> None:
        """A scratch database made one like any other: the write-ahead log on again, the
        file flushed to disk, the connection closed."""
        assert self.scratch and self.path is not None
        self._connect().execute("PRAGMA journal_mode=WAL").close()
        self.close()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            with suppress(Exception):  # closing a lost connection
                raw.close()


def _server_error(exc: Exception, label: str) -> Exception | None:
    """psycopg's error as drp's, or None when it is not one drp explains."""
    import sys

    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(exc, psycopg.Error):
        return None
    if isinstance(exc, psycopg.OperationalError):
        return translate(str(exc), type(exc).__name__, label)
    if isinstance(exc, psycopg.DataError) and "out of range" in str(exc):
        # PostgreSQL's integer columns stop at 2147483647, SQLite's at 2^63 - 1
        return InvalidInput("a number given is larger than the database can hold")
    if isinstance(
        exc, psycopg.errors.InsufficientPrivilege | psycopg.errors.ReadOnlySqlTransaction
    ):
        return translate(str(exc), type(exc).__name__, label)
    return None


def is_drp_file(path: Path) -> bool:
    """Whether ``path`` is a SQLite file holding drp's schema (opened read-only)."""
    try:
        conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        return row is not None
    except sqlite3.Error:
        return False
    finally:
        conn.close()
