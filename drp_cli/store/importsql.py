"""The SQL an import into SQLite writes with beyond :class:`~drp_cli.store.connection.Conn`'s
own (the store layer is where drp's SQL is written): the events it records at its moment
from no stage written with the columns they share given once, and SQLite's sorter on more
than one core while the indexes of a new database are made."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

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
    """``rows`` written by :func:`plain_event_sql`'s statement, in their order."""
    conn.raw.executemany(sql, rows)


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
