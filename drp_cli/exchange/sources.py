"""What ``drp import`` reads: a source of rows, whatever the file's format.

A :class:`Source` is read twice: once to check every row (nothing is written while any row
is bad), once to write. So it never holds the rows: ``rows()`` reads the file afresh each
time it is called and yields one ``(label, row)`` at a time, ``label`` naming the row as the
person who made the file would find it ("row 3" in a spreadsheet, "item 3" in a JSON list),
``row`` a dict of column name to cell (text, or for JSON any JSON value; ``events`` may be a
list). ``closures`` are the local closure days the file carries, already checked.

A reader raises :class:`drp_cli.core.errors.InvalidInput` for a file it cannot read, naming the
file and what was expected, never quoting a cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from drp_cli.core.textsafe import visible

#: One row: its label ("row 3", "item 3") and its cells by column name.
Row = tuple[str, dict[str, Any]]
#: ``rows_from(start, after, at)``: see :attr:`Source.rows_from`
RowsFrom = Callable[[int, int, list[Callable[[], int]]], Generator[Row, None, None]]
#: A local closure day and its reason.
Closure = tuple[dt.date, str]


@dataclass
class Source:
    """A file of rows to import: its format, its closure days, and its rows on demand."""

    fmt: str  # "json", "csv", ...
    read: Callable[[], Iterator[Row]] = field(repr=False)
    closures: list[Closure] = field(default_factory=list)
    #: rows the reader passed over, by kind ("blank", "total"), filled as it reads
    skipped: dict[str, int] = field(default_factory=dict)
    #: a JSON list's rows from where one ends, so that a process can go on from where another
    #: stopped without reading the rows before (see :func:`drp_cli.exchange.readers.
    #: _json_source`); None: only ``rows()``
    rows_from: RowsFrom | None = field(default=None, repr=False)

    def rows(self) -> Iterator[Row]:
        """The rows, read afresh from the start of the file (a generator: one at a time)."""
        return self.read()


#: The most a text file drp reads a row at a time (CSV, JSON) may hold: bounded, and far
#: beyond any real record (the bench's 100,000 concerns are about 150 MB).
MAX_STREAMED = 8 << 30
#: The most a map file may hold.
MAX_MAP = 1 << 20


def shown(path: Any) -> str:
    """A user's path as a message may show it: one line, with control, escape and bidi
    characters shown as visible escapes (a file name can hold any of them)."""
    return visible(str(path), one_line=True)
