"""Reading drp's own import files (JSON and CSV) a concern at a time: the JSON stream
parser, the CSV reader and its encoding check, and the closure days a file carries.

What a spreadsheet of the council's own is read by: :mod:`drp_cli.exchange.sheets` and its
map, :mod:`drp_cli.exchange.sheetmap`. What the rows are checked against:
:mod:`drp_cli.exchange.checks`.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import os
import re
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from drp_cli.core.errors import InvalidInput
from drp_cli.core.files import open_regular
from drp_cli.core.textsafe import is_one_line, restore_cell
from drp_cli.exchange.checks import COLUMNS, REQUIRED, _event_day
from drp_cli.exchange.sheets import csv_encoding, csv_errors, mixed, not_one_encoding, open_text
from drp_cli.exchange.sources import MAX_STREAMED, Closure, Row, Source, shown


# -- reading ---------------------------------------------------------------------------------
def _closure_days(value: Any, where: str) -> list[Closure]:
    """The local closure days an export carries: a list of {"day", "reason"}."""
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: closure_days must be a list of days and reasons")
    days: list[Closure] = []
    for n, entry in enumerate(value, start=1):
        day = _event_day(entry.get("day")) if isinstance(entry, dict) else None
        reason = entry.get("reason", "") if isinstance(entry, dict) else None
        if day is None or not isinstance(reason, str) or not is_one_line(reason or "x"):
            raise InvalidInput(f"{where}: closure day {n} needs a date and a one-line reason")
        days.append((day, reason))
    return days


def open_source(
    path: Path,
    *,
    map_path: str | os.PathLike[str] | None = None,
    sheet: str | None = None,
    ignore_extra: bool = False,
) -> Source:
    """The rows of the file, read as a stream (twice: to check, then to write), and the
    local closure days it carries.

    * drp's own workbook or folder of flat CSV files: read by :mod:`drp_cli.exchange.flat` into rows
      that each carry their events;
    * a workbook, a file read through a map, or a CSV whose columns are not drp's: a
      council's spreadsheet, read through :mod:`drp_cli.exchange.sheetmap` (its blank and total rows
      are counted in the source's ``skipped``);
    * else drp's CSV or JSON, by its suffix, else its first character (``[`` or ``{``:
      JSON)."""
    from drp_cli.exchange import flat

    if not path.is_dir():  # a folder is drp's folder of CSV files, or nothing drp reads
        _opened_regular(path).close()  # not a FIFO, a device or a file past any bound
    if map_path is None and sheet is None and flat.is_drp_export(path):
        rows_of, flat_closures = flat.read_export(path)
        return Source("flat", rows_of, flat_closures)
    if map_path is not None or sheet is not None or _is_sheet(path):
        from drp_cli.exchange.sheetmap import mapped_source

        mapped = mapped_source(path, map_path, sheet=sheet, ignore_extra=ignore_extra)
        counts: dict[str, int] = {}

        def read() -> Iterator[Row]:
            yield from mapped.rows()
            counts.update(blank=mapped.counts.blank, total=mapped.counts.total,
                          formal_inferred=mapped.counts.formal_inferred)  # fmt: skip

        return Source("sheet", read, [], counts)
    with _opened_regular(path) as f:
        start = f.read(4096)
    if start.startswith(codecs.BOM_UTF8):
        start = start[len(codecs.BOM_UTF8) :]
    if path.suffix.lower() == ".json" or start.lstrip().startswith((b"[", b"{")):
        return _json_source(path)
    return _csv_source(path)


@contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    """The file in binary, past a UTF-8 byte order mark."""
    with _opened_regular(path) as f:
        if f.read(3) != codecs.BOM_UTF8:
            f.seek(0)
        yield f


def _opened_regular(path: Path) -> IO[bytes]:
    """The file in binary: a regular file of bounded size (not /dev/zero, a FIFO, a folder)."""
    try:
        fd = open_regular(path, what=shown(path), limit=MAX_STREAMED)
    except OSError as exc:
        raise InvalidInput(f"cannot read {shown(path)}: {exc.strerror}") from None
    return open(fd, "rb")


def _not_json(path: Path, exc: Exception, where: str = "") -> InvalidInput:
    """The parser's complaint without the text it quotes (the file holds personal data)."""
    first = str(exc).lstrip("b'\"").split("\\n")[0].split("\n")[0].strip()
    if "UTF8" in first:
        return InvalidInput(f"{shown(path)} is not UTF-8 text (save the spreadsheet as CSV UTF-8)")
    kind = re.fullmatch(r"(?:lexical|parse) error: ([a-zA-Z0-9 ()-]+)\.?", first)
    return InvalidInput(
        f"{shown(path)} is not valid JSON{where}" + (f": {kind.group(1)}" if kind else "")
    )


def _json_source(path: Path) -> Source:
    """A JSON file: a list of concern objects, or an object with ``concerns`` (that list)
    and ``closure_days``, in either order. Parsed a concern at a time (ijson's C parser)."""
    import ijson  # type: ignore[import-untyped]

    listed = f"{shown(path)}: expected a list of concern objects"
    closures: Any = None
    top = concerns = None
    with _opened(path) as f:
        # the top level and the closure days that come before the concerns
        try:
            events = ijson.parse(f)
            for prefix, event, value in events:
                if top is None:
                    top = event
                    if event != "start_map":
                        break
                elif prefix == "" and event == "map_key" and value == "closure_days":
                    builder, depth = ijson.ObjectBuilder(), 0
                    for _sub, ev, val in events:
                        builder.event(ev, val)
                        depth += ev in ("start_array", "start_map")
                        depth -= ev in ("end_array", "end_map")
                        if depth == 0:
                            break
                    closures = builder.value
                elif prefix == "concerns" and concerns is None:
                    concerns = event
                    break
        except ijson.JSONError as exc:
            raise _not_json(path, exc) from None
    if top == "start_map" and concerns is not None and closures is None:
        # the closure days may come after the concerns
        with _opened(path) as f:
            try:
                found = list(ijson.items(f, "closure_days"))
            except ijson.JSONError as exc:
                raise _not_json(path, exc) from None
            closures = found[-1] if found else None
    if top == "start_array":
        prefix = "item"
    elif top == "start_map" and concerns == "start_array":
        prefix = "concerns.item"
    else:
        raise InvalidInput(listed)
    days = _closure_days(closures, str(path))

    def rows() -> Iterator[Row]:
        n = 0
        if top == "start_array":  # the standard library's decoder, where it reads the same
            with _opened(path) as f:
                try:
                    for n, item in enumerate(_array_items(f), start=1):
                        if type(item) is not dict:
                            raise InvalidInput(listed)
                        yield f"item {n}", item
                    return
                except _Unplain as stopped:
                    n = stopped.n  # ijson goes on from the next item, and says what is wrong
        with _opened(path) as f:
            try:
                items = ijson.items(f, prefix, use_float=True)
                for m, item in enumerate(items, start=1):
                    if m <= n:
                        continue
                    if type(item) is not dict:
                        raise InvalidInput(listed)
                    yield f"item {m}", item
                    n = m
            except ijson.JSONError as exc:
                raise _not_json(path, exc, f" (after item {n})") from None
            except UnicodeDecodeError:  # ijson's reading of an escape of half a character
                raise InvalidInput(
                    f"{shown(path)} is not valid JSON (after item {n}): an escape "
                    "that is not a whole character"
                ) from None

    def rows_from(start: int, after: int,
                  at: list[Callable[[], int]]) -> Generator[Row, None, None]:  # fmt: skip
        """The items after item ``after``, from byte ``start`` (where that item ends, as
        ``at[0]()`` told; ``after`` 0: the start of the file) by the standard library's
        decoder; :class:`_Unplain` where it cannot go on (then ``rows`` reads the file)."""
        with _opened(path) as f:
            if after:
                f.seek(start)
            for m, item in enumerate(_items_after(f, after, at), start=after + 1):
                if type(item) is not dict:
                    raise InvalidInput(listed)
                yield f"item {m}", item

    return Source("json", rows, days, rows_from=rows_from if top == "start_array" else None)


class _Unplain(Exception):
    """Where :func:`_array_items` stops: after item ``n``, something it does not read
    exactly as ijson does (or not at all)."""

    def __init__(self, n: int = 0) -> None:
        super().__init__(n)
        self.n = n


def _plain_int(text: str) -> int:
    value = int(text)
    if not -(2**63) <= value < 2**63:  # ijson refuses what does not fit in 64 bits
        raise _Unplain
    return value


def _plain_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):  # ijson refuses an overflow
        raise _Unplain
    return value


def _unplain(text: str) -> Any:  # NaN and Infinity are not JSON
    raise _Unplain


_DECODER = json.JSONDecoder(parse_int=_plain_int, parse_float=_plain_float,
                            parse_constant=_unplain)  # fmt: skip
_SPACE = re.compile(r"[ \t\n\r]*")
_BLANK = " \t\n\r"  # JSON's white space
_LONE = re.compile(r"\\u[dD][89a-fA-F]")  # a surrogate escape: ijson reads a lone one as '?'
JSON_BLOCK = 1 << 20  # characters read at a time


def _array_items(f: IO[bytes]) -> Iterator[Any]:
    """The items of the JSON array that is the file, one at a time, by the standard
    library's C decoder (twice as fast as ijson's), a block of the file at a time. Raises
    :class:`_Unplain` at anything it does not read exactly as ijson does, so that the caller
    goes on with ijson (whose errors are the ones the file gets)."""
    return _items_after(f, 0, None)


def _items_after(f: IO[bytes], after: int,
                 at: list[Callable[[], int]] | None) -> Iterator[Any]:  # fmt: skip
    """:func:`_array_items`, from where item ``after`` ends (0: the start of the file; else
    ``f`` is there: where ``at[0]()`` told it was, after that item). ``at``: given, it holds
    (once this has started) the function that tells where in the file (in bytes) the last
    item given ends."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    decode = decoder.decode
    buf, pos, n, eof = "", 0, after, False

    def where() -> int:
        pending = len(decoder.getstate()[0])
        tail = len(buf) - pos if buf.isascii() else len(buf[pos:].encode("utf-8"))
        return f.tell() - pending - tail

    if at is not None:
        at[:] = [where]

    def more(size: int = JSON_BLOCK) -> None:
        nonlocal buf, pos, eof
        try:
            block = f.read(size)
            eof = not block
            buf = buf[pos:] + decode(block, final=eof)
        except UnicodeDecodeError:
            raise _Unplain(n) from None
        pos = 0

    def skip_space() -> str:
        """The next character that is not white space ('' at the end of the file)."""
        nonlocal pos
        while True:
            pos = _SPACE.match(buf, pos).end()  # type: ignore[union-attr]
            if pos < len(buf) or eof:
                return buf[pos : pos + 1]
            more()

    more()
    if not after:
        if skip_space() != "[":
            raise _Unplain(0)
        pos += 1
    read_item = _DECODER.raw_decode
    while True:
        ch = buf[pos : pos + 1]
        if ch in _BLANK:  # white space, or the buffer's end ("" is in any text)
            ch = skip_space()
        if ch == "]":
            pos += 1
            if skip_space() != "":  # something after the array
                raise _Unplain(n)
            return
        if n:
            if ch != ",":
                raise _Unplain(n)
            pos += 1
            if buf[pos : pos + 1] in _BLANK:
                skip_space()
        size = JSON_BLOCK
        while True:  # the item, the buffer grown while it runs past the buffer's end
            try:
                item, end = read_item(buf, pos)
            except (_Unplain, RecursionError):  # nested past Python's stack: ijson reads it
                raise _Unplain(n) from None
            except ValueError as exc:
                if eof or _wrong_already(exc, len(buf)):
                    raise _Unplain(n) from None  # ijson reads on, and words what is wrong
                more(size)
                size *= 2
                continue
            if end == len(buf) and not eof:  # a number may go on in the next block
                more(size)
                continue
            break
        if buf.find("\\", pos, end) >= 0 and _LONE.search(buf, pos, end):  # (memchr first)
            raise _Unplain(n)
        pos = end
        n += 1
        yield item


def _wrong_already(exc: ValueError, held: int) -> bool:
    """Whether the decoder's error lies in the text held (``held`` characters), not at its
    end, so that no more of the file can make the item whole: the reader stops there rather
    than read on to the end of the file (a file of one ``[`` and gigabytes of NUL bytes grew
    the buffer to several times its size). An unterminated string is reported where it
    starts, so it is read on; an error near the end may be a cut the next block completes."""
    pos = getattr(exc, "pos", None)
    return (
        isinstance(pos, int)
        and pos < held - 16
        and not str(getattr(exc, "msg", "")).startswith("Unterminated string")
    )


def _csv_source(path: Path) -> Source:
    """A CSV file (UTF-8, or what :func:`csv_encoding` finds) with a header row: its
    closure days may be in any row's ``closure_days`` cell (``drp export`` puts them in
    the first)."""
    encoding = csv_encoding(path)[0]
    with open_text(path, encoding) as text:
        reader = csv.reader(text, strict=True)
        with csv_errors(path, encoding, lambda: 0):
            header = next(reader, [])
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InvalidInput(f"{shown(path)}: missing column{'s' if len(missing) > 1 else ''}: "
                               f"{', '.join(missing)}")  # fmt: skip
        unknown = [c for c in header if c not in COLUMNS]
        if unknown:
            raise InvalidInput(
                f"{shown(path)}: unknown column {unknown[0]!r}; columns: {', '.join(COLUMNS)}"
            )

    def read(carried: list[Closure] | None = None) -> Iterator[Row]:
        with open_text(path, encoding) as text:
            reader = csv.DictReader(text, strict=True)
            n = 1  # the last line read whole (a quoted cell may hold line breaks)
            with csv_errors(path, encoding, lambda: n):
                for row in reader:
                    label = f"row {reader.line_num}"
                    if not_one_encoding(list(row.values()), encoding):
                        raise mixed(path, n + 1, encoding)
                    n = reader.line_num
                    # cells that drp export neutralised against spreadsheet formulas
                    cells = {k: restore_cell(v) if isinstance(v, str) else v
                             for k, v in row.items() if k is not None}  # fmt: skip
                    days = cells.pop("closure_days", None)
                    if carried is not None:
                        carried += _closure_days(days, f"{shown(path)}, {label}")
                    yield label, cells

    closures: list[Closure] = []
    if "closure_days" in header:
        for _ in read(closures):
            pass
    return Source("csv", read, closures)


def _is_sheet(path: Path) -> bool:
    """A workbook, or a CSV whose header does not have drp's own columns."""
    from drp_cli.exchange.sheets import is_workbook

    if is_workbook(path):
        return True
    if path.suffix.lower() == ".json":
        return False
    try:
        with _opened_regular(path) as fh:
            head = fh.read(4096)
    except (OSError, InvalidInput):
        return False
    if head.lstrip().startswith((b"[", b"{")):
        return False
    first = head.decode("utf-8-sig", errors="replace").splitlines()[:1]
    names = next(csv.reader(first), []) if first else []
    return not all(c in names for c in REQUIRED)
