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
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from drp_cli.core.errors import InvalidInput
from drp_cli.exchange.sources import shown

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
    if is_workbook(path):
        kind, name, encoding, delimiter = "xlsx", _sheet_name(path, sheet), None, None
    else:
        if sheet is not None:
            raise InvalidInput(f"{shown(path)} is not a workbook; --sheet is for .xlsx files")
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
    raise InvalidInput(f"{shown(path)}: no header row found (a row with the columns' names)")


def _check_header(path: Path, number: int, header: tuple[str, ...]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if not name:
            continue
        key = name.casefold()
        if key in seen:
            raise InvalidInput(
                f"{shown(path)}, row {number}: columns {seen[key]} and {i} have the same name"
            )
        seen[key] = i


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


# -- workbooks -----------------------------------------------------------------------------
#: The most a workbook file may hold, and the most all its parts together may inflate to
#: (what a council's log never comes near; the reader's memory stays within a few hundred MB).
MAX_WORKBOOK = 100 << 20
MAX_INFLATED = 256 << 20
#: A part that inflates more than this many times its compressed size, past a megabyte, is a
#: bomb, not a spreadsheet (real sheets inflate 5 to 30 times).
MAX_RATIO = 200
_CHUNK = 1 << 20
#: The markup a workbook's XML may hold after "<!": a comment or a CDATA section, in each
#: encoding an XML part may be in. Anything else after "<!" (a DOCTYPE, an ENTITY, in any
#: case: the XML reader takes "<!doctype" too) is a declaration no workbook needs.
_BANGS = tuple(("<!".encode(e), ("--".encode(e), "[CDATA[".encode(e)))
               for e in ("utf-8", "utf-16-le", "utf-16-be"))  # fmt: skip
_LOOK = len("[CDATA[".encode("utf-16-le"))  # bytes looked at after "<!"
_checked: dict[tuple[int, ...], None] = {}  # the files found safe (device, inode, size, time)


def _not_workbook(path: Path) -> InvalidInput:
    return InvalidInput(f"{shown(path)} cannot be read as an Excel workbook (.xlsx)")


def check_workbook(path: Path) -> None:
    """Refuse, before the workbook reader sees it, a workbook that is not a regular file, is
    larger than :data:`MAX_WORKBOOK`, declares an XML document type or entity in any part, or
    inflates past :data:`MAX_INFLATED` (declared or actual: every part is inflated here, a
    megabyte at a time, counting what it gives, whatever the zip says of its size)."""
    import zipfile

    from drp_cli.core.files import open_regular

    try:
        fd = open_regular(path, what=shown(path), limit=MAX_WORKBOOK)
    except OSError as exc:
        raise InvalidInput(f"cannot read {shown(path)}: {exc.strerror}") from None
    with open(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if key in _checked:
            return
        try:
            book = zipfile.ZipFile(fh)
            parts = book.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            raise _not_workbook(path) from None
        declared = sum(i.file_size for i in parts)
        if declared > MAX_INFLATED or any(
            i.file_size > _CHUNK and i.file_size > MAX_RATIO * max(i.compress_size, 1)
            for i in parts
        ):
            raise _bomb(path)
        total = 0
        for info in parts:
            if info.is_dir():
                continue
            # read past the size the zip declares: what counts is what the part inflates to
            info.file_size = MAX_INFLATED - total + 1
            try:
                with book.open(info) as part:
                    tail = b""
                    while chunk := part.read(_CHUNK):
                        total += len(chunk)
                        if total > MAX_INFLATED or (
                            total > _CHUNK and total > MAX_RATIO * max(info.compress_size, 1)
                        ):
                            raise _bomb(path)
                        seen = tail + chunk
                        if _declares(seen, final=False):
                            raise _declared(path)
                        tail = seen[-64:]
                    if _declares(tail, final=True):
                        raise _declared(path)
            except InvalidInput:
                raise
            except Exception:  # a damaged, encrypted or lying part (zipfile, zlib)
                raise _not_workbook(path) from None
    if len(_checked) > 64:
        _checked.clear()
    _checked[key] = None


def _declares(seen: bytes, *, final: bool) -> bool:
    """True when ``seen`` holds "<!" followed by anything but a comment or a CDATA section
    (in UTF-8 or UTF-16). Unless ``final``, a "<!" too near the end to tell is left for the
    next look (the caller keeps the last bytes)."""
    for bang, allowed in _BANGS:
        at = seen.find(bang)
        while at >= 0:
            rest = seen[at + len(bang) : at + len(bang) + _LOOK]
            if not any(rest.startswith(a) or (not final and a.startswith(rest)) for a in allowed):
                return True
            at = seen.find(bang, at + 1)
    return False


def _declared(path: Path) -> InvalidInput:
    return InvalidInput(
        f"{shown(path)} declares an XML document type or entity, which a workbook never "
        "needs; drp does not read it (save it again from Excel)"
    )


def _bomb(path: Path) -> InvalidInput:
    return InvalidInput(
        f"{shown(path)} would inflate to more than {MAX_INFLATED >> 20} MB (or far more than "
        "its size): larger than any spreadsheet drp reads; drp did not open it"
    )


def _workbook(path: Path) -> Any:
    from python_calamine import CalamineWorkbook

    check_workbook(path)
    with calamine_errors(path):
        return CalamineWorkbook.from_path(str(path))


@contextmanager
def calamine_errors(path: Path) -> Iterator[None]:
    """The workbook reader's errors (its XmlError, ZipError, PasswordError, a panic in its
    Rust code) as one line naming the file, never the reader's words (they may quote a
    cell): wherever calamine reads, from opening the file to its last row."""
    try:
        yield
    except BaseException as exc:  # pyo3's PanicException is a BaseException
        raise _unreadable(path, exc) from None


_OWN = (InvalidInput, KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)
_WHY = {
    "XmlError": "a part of it is not well-formed XML",
    "ZipError": "it is not a well-formed zip file",
    "PasswordError": "it is protected by a password (save it again without one)",
}


def _unreadable(path: Path, exc: BaseException) -> BaseException:
    """What the workbook reader's error ``exc`` is raised as: drp's one line, or ``exc``
    itself when it is not the reader's (drp's own error, an interrupt, memory)."""
    if isinstance(exc, _OWN):
        return exc
    why = _WHY.get(type(exc).__name__, "it is damaged or not a workbook")
    return InvalidInput(f"the workbook {shown(path)} cannot be read: {why}; save it again "
                        "from Excel")  # fmt: skip


def sheet_names(path: str | os.PathLike[str]) -> list[str]:
    book = _workbook(Path(path))
    with calamine_errors(Path(path)):
        return list(book.sheet_names)


def _sheet_name(path: Path, sheet: str | None) -> str:
    book = _workbook(path)
    with calamine_errors(path):
        names = list(book.sheet_names)
    if not names:
        raise InvalidInput(f"{shown(path)} has no sheets")
    if sheet is None:
        return str(names[0])
    for name in names:
        if name.casefold().strip() == sheet.casefold().strip():
            return str(name)
    raise InvalidInput(f"{shown(path)} has no sheet of that name; its sheets: {', '.join(names)}")


def _raw_rows(table: Table) -> Iterator[tuple[int, list[Any]]]:
    if table.kind == "xlsx":
        book = _workbook(table.path)
        with calamine_errors(table.path):
            sheet = book.get_sheet_by_name(table.sheet)
            first = (sheet.start or (0, 0))[0] + 1  # calamine starts at the first used row
            rows = iter(sheet.iter_rows())
        number = first - 1
        while True:
            try:  # the reader's errors, not those of the code the rows are yielded to
                cells = next(rows)
            except StopIteration:
                return
            except BaseException as exc:
                raise _unreadable(table.path, exc) from None
            number += 1
            yield number, cells
    with open_text(table.path, table.encoding or "utf-8") as fh:
        reader = csv.reader(fh, delimiter=table.delimiter or ",", strict=True)
        number = 0  # a spreadsheet's row: a quoted cell may hold line breaks
        with csv_errors(table.path, table.encoding, lambda: number):
            for number, cells in enumerate(reader, start=1):
                if not_one_encoding(cells, table.encoding):
                    raise mixed(table.path, number, table.encoding)
                yield number, cells


# -- CSV text: one reader of encodings for drp's own CSV and a council's -------------------
def open_text(path: Path, encoding: str) -> IO[str]:
    """The CSV file as text in ``encoding`` (a regular file of bounded size)."""
    from drp_cli.core.files import open_regular
    from drp_cli.exchange.sources import MAX_STREAMED

    try:
        fd = open_regular(path, what=shown(path), limit=MAX_STREAMED)
    except OSError as exc:
        raise InvalidInput(f"cannot read {shown(path)}: {exc.strerror}") from None
    # a byte that is not UTF-8 is kept (as a lone surrogate) for the row that holds it to be
    # named (:func:`not_one_encoding`): the decoder reads ahead of the rows
    errors = "surrogateescape" if encoding in _UTF8 else "strict"
    return open(fd, encoding=encoding, errors=errors, newline="")


@contextmanager
def csv_errors(path: Path, encoding: str | None, row: Callable[[], int]) -> Iterator[None]:
    """The CSV reader's and the decoder's errors as drp's, naming the row (``row()``: the
    last row read whole)."""
    try:
        yield
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InvalidInput(
                f'{shown(path)}, row {row() + 1}: a quoted cell is never closed (a " opens a '
                'cell on that row and no " closes it before the end of the file)'
            ) from None
        if "expected after" in str(exc):
            raise InvalidInput(
                f"{shown(path)}, row {row() + 1}: a quoted cell is not closed where it ends (a "
                '" opens a cell on that row, and the " that closes it is followed by more text)'
            ) from None
        raise InvalidInput(f"{shown(path)}, row {row() + 1}: not a well-formed CSV row") from None
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{shown(path)}, row {row() + 1}: not {_named(encoding)} text as the rows before it "
            "are; the file mixes encodings: save it again as CSV UTF-8"
        ) from None


def _named(encoding: str | None) -> str:
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252",
            "latin_1": "Latin-1"}.get(encoding or "utf-8", encoding or "UTF-8")  # fmt: skip


_SINGLE_BYTE = ("cp1252", "latin_1")
_UTF8 = ("utf-8", "utf-8-sig")
_ESCAPED = re.compile("[\udc80-\udcff]")


def not_one_encoding(cells: list[Any], encoding: str | None) -> bool:
    """True when a row is not in the encoding of the file's start: in a file read as
    Windows-1252 (or Latin-1), a row of UTF-8 text (its letters would be stored garbled,
    "ZoÃ«"); in a UTF-8 file, a row with bytes that are not UTF-8. Costs nothing on a row of
    plain ASCII."""
    if encoding in _UTF8:
        return any(isinstance(c, str) and not c.isascii() and _ESCAPED.search(c) for c in cells)
    if encoding not in _SINGLE_BYTE:
        return False
    for cell in cells:
        if not isinstance(cell, str) or cell.isascii():
            continue
        raw = cell.encode(encoding, errors="ignore")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False


def mixed(path: Path, number: int, encoding: str | None) -> InvalidInput:
    if encoding in _UTF8:
        return InvalidInput(
            f"{shown(path)}, row {number}: not UTF-8 text as the rows before it are; the file "
            "mixes encodings: save it again as CSV UTF-8"
        )
    return InvalidInput(
        f"{shown(path)}, row {number}: UTF-8 text in a file whose other rows are "
        f"{_named(encoding)}; the file mixes encodings: save it again as CSV UTF-8"
    )


# -- CSV dialect ---------------------------------------------------------------------------
def _csv_dialect(path: Path) -> tuple[str, str]:
    """(encoding, delimiter) of a CSV file, from its start."""
    encoding, head = csv_encoding(path)
    text = head.decode(encoding, errors="ignore")
    sample = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:  # one column, or nothing to tell by: the commonest
        counts = {d: sample.count(d) for d in ",;\t"}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    return encoding, delimiter


def csv_encoding(path: Path) -> tuple[str, bytes]:
    """The encoding of a CSV file, told from its start (and that start): drp's own CSV and
    a council's are read alike."""
    with open_text(path, "latin_1") as fh:
        head = fh.buffer.read(SAMPLE)  # type: ignore[attr-defined]
    return _encoding(path, head), head


_UTF32 = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def _encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(_UTF32):  # before UTF-16's: UTF-32 LE's mark begins with it
        raise _unread(path, "UTF-32")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise _unread(path, "UTF-16 or UTF-32 (it has NUL bytes)")
    try:
        # a sample may end inside a character: an incremental decoder allows that
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SAMPLE)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(head, cp_isolation=list(FALLBACK_ENCODINGS)).best()
    if best is None:
        try:  # a mix (UTF-8 rows among Windows-1252 ones): the rows say which is which
            head.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
        raise InvalidInput(
            f"{shown(path)} is neither UTF-8 nor Windows-1252 text; save it again as CSV UTF-8"
        )
    return str(best.encoding)


def _unread(path: Path, what: str) -> InvalidInput:
    return InvalidInput(
        f"{shown(path)} is {what} text, an encoding drp does not read; save it again as CSV UTF-8"
    )
