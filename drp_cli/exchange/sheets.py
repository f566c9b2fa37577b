"""Reading the spreadsheets councils keep: ``.xlsx`` workbooks and ``.csv`` files as they
come out of Excel and other tools.

* ``.xlsx`` (and ``.xlsm``): read with python-calamine (the Rust calamine reader, fast and
  row by row); the first sheet, or the one named. Date cells arrive as dates, numbers as
  numbers, empty cells as ``""``.
* ``.csv`` (or any text table): the encoding is UTF-8 with or without a byte-order mark
  when the bytes are valid UTF-8, else what charset-normalizer finds among the encodings
  Windows and Excel write (Windows-1252 first); the delimiter is comma, semicolon or tab, as
  :class:`csv.Sniffer` finds in the first lines.

The header is the first row with at least two filled cells (title rows above it are
allowed: council workbooks often have one). Every row keeps its number as the spreadsheet
shows it, so that a message can say "row 7". Rows are read afresh each time
:meth:`Table.rows` is called: an import reads the file twice (check, then write) and never
holds it whole. Nothing here quotes a cell in a message.

Standard library, python-calamine and charset-normalizer (each imported when needed) and
:mod:`drp_cli.core.errors`.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drp_cli.core.errors import InvalidInput

#: The encodings a CSV may be in besides UTF-8 (what Excel on Windows writes, in order).
FALLBACK_ENCODINGS = ("cp1252", "latin_1")
#: How much of a CSV is looked at to tell its encoding and delimiter.
SAMPLE = 256 * 1024
XLSX_SUFFIXES = (".xlsx", ".xlsm")
HEADER_SCAN = 20  # rows searched for the header


@dataclass(frozen=True)
class Table:
    """A sheet or CSV file: its header (as written) and its rows, read on demand."""

    path: Path
    kind: str  # "xlsx" or "csv"
    sheet: str | None  # the sheet read (xlsx)
    encoding: str | None  # csv
    delimiter: str | None  # csv
    header: tuple[str, ...]
    header_row: int  # the spreadsheet's number of the header row (the first is 1)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cells) for every row after the header, cells padded or cut to the
        header's width; dates from a workbook are :class:`datetime.date` (or datetime)."""
        width = len(self.header)
        for number, cells in _raw_rows(self):
            if number <= self.header_row:
                continue
            cells = list(cells[:width])
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            yield number, cells


def is_workbook(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in XLSX_SUFFIXES


def open_table(path: str | os.PathLike[str], *, sheet: str | None = None) -> Table:
    """Open ``path`` as a table and find its header row (see the module's docstring)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"cannot read {path}: no such file")
    if is_workbook(path):
        kind, name, encoding, delimiter = "xlsx", _sheet_name(path, sheet), None, None
    else:
        if sheet is not None:
            raise InvalidInput(f"{path} is not a workbook; --sheet is for .xlsx files")
        kind, name = "csv", None
        encoding, delimiter = _csv_dialect(path)
    probe = Table(path, kind, name, encoding, delimiter, (), 0)
    for number, cells in _raw_rows(probe):
        filled = [c for c in cells if _text(c)]
        if len(filled) >= 2:
            header = tuple(_text(c) for c in cells)
            while header and not header[-1]:
                header = header[:-1]
            _check_header(path, number, header)
            return Table(path, kind, name, encoding, delimiter, header, number)
        if number >= HEADER_SCAN:
            break
    raise InvalidInput(f"{path}: no header row found (a row with the columns' names)")


def _check_header(path: Path, number: int, header: tuple[str, ...]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if not name:
            continue
        key = name.casefold()
        if key in seen:
            raise InvalidInput(
                f"{path}, row {number}: columns {seen[key]} and {i} have the same name"
            )
        seen[key] = i


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


# -- workbooks -----------------------------------------------------------------------------
def _workbook(path: Path) -> Any:
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception:  # calamine raises its own errors for a damaged or encrypted file
        raise InvalidInput(f"{path} cannot be read as an Excel workbook (.xlsx)") from None


def sheet_names(path: str | os.PathLike[str]) -> list[str]:
    return list(_workbook(Path(path)).sheet_names)


def _sheet_name(path: Path, sheet: str | None) -> str:
    names = list(_workbook(path).sheet_names)
    if not names:
        raise InvalidInput(f"{path} has no sheets")
    if sheet is None:
        return str(names[0])
    for name in names:
        if name.casefold().strip() == sheet.casefold().strip():
            return str(name)
    raise InvalidInput(f"{path} has no sheet of that name; its sheets: {', '.join(names)}")


def _raw_rows(table: Table) -> Iterator[tuple[int, list[Any]]]:
    if table.kind == "xlsx":
        book = _workbook(table.path)
        sheet = book.get_sheet_by_name(table.sheet)
        first = (sheet.start or (0, 0))[0] + 1  # calamine starts at the first used row
        for number, cells in enumerate(sheet.iter_rows(), start=first):
            yield number, cells
        return
    with open(table.path, encoding=table.encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=table.delimiter or ",")
        number = 0  # a spreadsheet's row: a quoted cell may hold line breaks
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except csv.Error:
            raise InvalidInput(
                f"{table.path}, row {number + 1}: not a well-formed CSV row"
            ) from None
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{table.path}: not all of it is {table.encoding} text (the encoding of its "
                "start); save it again as CSV UTF-8"
            ) from None


# -- CSV dialect ---------------------------------------------------------------------------
def _csv_dialect(path: Path) -> tuple[str, str]:
    """(encoding, delimiter) of a CSV file, from its start."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE)
    encoding = _encoding(path, head)
    text = head.decode(encoding, errors="ignore")
    sample = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:  # one column, or nothing to tell by: the commonest
        counts = {d: sample.count(d) for d in ",;\t"}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    return encoding, delimiter


def _encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # a sample may end inside a character: an incremental decoder allows that
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SAMPLE)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(head, cp_isolation=list(FALLBACK_ENCODINGS)).best()
    if best is None:
        raise InvalidInput(
            f"{path} is neither UTF-8 nor Windows-1252 text; save it again as CSV UTF-8"
        )
    return str(best.encoding)
