"""The SQL an import into SQLite writes with beyond :class:`~drp_cli.store.connection.Conn`'s
own (the store layer is where drp's SQL is written): the events it records at its moment
from no stage written with the columns they share given once, and SQLite's sorter on more
than one core while the indexes of a new database are made."""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from drp_cli.store.connection import insert_packed

#: the columns of a plain event's row (then ``mac`` where the chain is keyed); the others
#: are the same for every plain event of the import (:func:`plain_event_sql`)
PLAIN_EVENT_COLUMNS = ("concern_id", "seq", "kind", "effective_on", "stage", "by", "text",
                       "details", "salt", "content", "chain_seq", "prev_hash", "hash")  # fmt: skip


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def plain_event_sql(stamp: str, recorder: str, keyed: bool) -> str:
    """The statement that writes an import's plain events (rows of PLAIN_EVENT_COLUMNS,
    then the ``mac`` where ``keyed``): the columns they share given as SQLite's literals:
    no stage left, recorded at the import's moment (``stamp``, as stored), which is also
    when it was imported, by ``recorder``, no ``mac`` but in a keyed chain (the same values
    the driver would store for them, as text). ``recorder`` holds no NUL."""
    assert "\x00" not in recorder and "\x00" not in stamp
    names = (*PLAIN_EVENT_COLUMNS, *(("mac",) if keyed else ()), "from_stage", "recorded_at",
             "imported_by", "imported_at", *(() if keyed else ("mac",)))  # fmt: skip
    values = ["?"] * (len(PLAIN_EVENT_COLUMNS) + keyed)
    values += ["NULL", _literal(stamp), _literal(recorder), _literal(stamp)]
    if not keyed:
        values.append("NULL")
    quoted = ", ".join(f'"{n}"' for n in names)
    return f"INSERT INTO event ({quoted}) VALUES ({', '.join(values)})"


def insert_plain_events(conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """``rows`` written by :func:`plain_event_sql`'s statement, in their order, many to a
    statement (see :func:`_insert`)."""
    if not rows:
        return
    head, _, values = sql.partition(" VALUES ")  # the first: the columns are only names
    width = len(rows[0])
    if not all(map(width.__eq__, map(len, rows))):  # it would shift the rows after it
        raise ValueError(f"a plain event does not have {width} values")
    insert_packed(conn.raw, head + " VALUES ", values, width, rows)


def foreign_keys_off(conn: Any) -> None:
    """SQLite's foreign-key check off on this connection (outside a transaction): for a
    database being built that no one else reads, whose rows refer only to rows written
    before them (see :func:`~drp_cli.exchange.transfer._write_part`)."""
    if conn.is_sqlite:
        conn.raw.execute("PRAGMA foreign_keys=OFF")


@contextmanager
def sort_threads(conn: Any, threads: int) -> Iterator[None]:
    """SQLite's sorter (CREATE INDEX) with up to ``threads`` helper threads, then none."""
    if not conn.is_sqlite or threads < 2:
        yield
        return
    conn.raw.execute(f"PRAGMA threads={int(threads)}")
    try:
        yield
    finally:
        conn.raw.execute("PRAGMA threads=0")


def insert_rows(conn: Any, table: str, names: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:  # fmt: skip
    """``rows`` (tuples in ``names`` order) inserted into SQLite's ``table`` in their order,
    each None written as NULL in the statement rather than bound: the driver asks a bound
    None for an adapter (two failed attribute lookups a value), and a concern row holds a
    dozen Nones. Rows in a run with their Nones in the same places share a statement."""
    raw = conn.raw
    head = f"INSERT INTO {table} ({', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)}) VALUES "
    width = len(names)
    is_not, nones, compress = operator.is_not, itertools.repeat(None), itertools.compress
    run: list[tuple[Any, ...]] = []
    shape: tuple[bool, ...] | None = None
    for row in rows:
        if len(row) != width:  # it would shift the values of the rows after it
            raise ValueError(f"a row for {table} does not have {width} values")
        given = tuple(map(is_not, row, nones))  # False where None (all in C)
        if given != shape:
            if run:
                insert_packed(raw, head, _values(shape), len(run[0]), run)
                run = []
            shape = given
        run.append(tuple(compress(row, given)))
    if run:
        insert_packed(raw, head, _values(shape), len(run[0]), run)


@functools.lru_cache(maxsize=256)
def _values(given: tuple[bool, ...] | None) -> str:
    """:func:`insert_rows`' values for a row with a value where ``given`` says, else None."""
    assert given is not None
    return "(" + ", ".join("?" if g else "NULL" for g in given) + ")"
