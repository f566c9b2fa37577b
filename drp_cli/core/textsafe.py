"""Text that cannot be turned against its reader: one place that knows which characters are
unsafe in a terminal, a one-line field, a spreadsheet cell. Standard library only (a leaf
module: anything may import it).

* A one-line field (a child reference, a name, a file name) refuses every control character
  (C0 including newline and tab, DEL, C1), the Unicode line and paragraph separators and
  the bidirectional overrides: they could forge rows, hide text or reorder it on screen.
* Free text keeps newlines and tabs, and refuses the rest.
* For display, :func:`visible` shows any such character as a visible escape (``\\x1b``,
  ``\\u202e``), so stored text never drives the terminal.
* Spreadsheet cells: :func:`neutralise_cell` puts a ``'`` before a cell that a spreadsheet
  would run as a formula (the OWASP rule: ``=``, ``+``, ``-``, ``@``, tab, carriage
  return), and :func:`restore_cell` takes it off again, so export then import is exact.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from drp_cli.core.errors import InvalidInput

#: Bidirectional formatting characters (Trojan Source): embeddings, overrides, isolates, marks.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: Characters that end a line somewhere (Unicode line/paragraph separators; U+0085 is C1).
SEPARATORS = "\u2028\u2029"

_C0 = "\x00-\x1f"
_DEL_C1 = "\x7f-\x9f"
#: The patterns, compiled on first use (compiling their non-ASCII classes costs ~0.6 ms,
#: which every command paid at import): ``UNSAFE_IN_LINE``, ``UNSAFE_IN_TEXT`` and
#: ``_LINE_BREAK`` are attributes of this module all the same. Printable ASCII, most text
#: drp sees, is answered without them: it holds none of these characters.
_PATTERNS = {
    "UNSAFE_IN_LINE": f"[{_C0}{_DEL_C1}{BIDI}{SEPARATORS}]",
    "UNSAFE_IN_TEXT": f"[\x00-\x08\x0b-\x1f{_DEL_C1}{BIDI}{SEPARATORS}]",
    # every way a line can end: CR LF, CR, LF, and U+0085, U+2028, U+2029 (which some
    # readers treat as line breaks and others do not)
    "_LINE_BREAK": "\r\n|[\r\x85\u2028\u2029]",
}
_compiled: dict[str, re.Pattern[str]] = {}


def _pattern(name: str) -> re.Pattern[str]:
    found = _compiled.get(name)
    if found is None:
        found = _compiled[name] = re.compile(_PATTERNS[name])
    return found


if TYPE_CHECKING:
    UNSAFE_IN_LINE: re.Pattern[str]
    UNSAFE_IN_TEXT: re.Pattern[str]
    _LINE_BREAK: re.Pattern[str]
else:

    def __getattr__(name: str) -> re.Pattern[str]:
        if name in _PATTERNS:
            return _pattern(name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_one_line(value: str) -> bool:
    """True when ``value`` holds no control, separator or bidi character (newline included)."""
    if value.isascii():  # of ASCII, C0 and DEL are unsafe: exactly what is not printable
        return value.isprintable()
    return _pattern("UNSAFE_IN_LINE").search(value) is None


def is_safe_text(value: str) -> bool:
    """True when ``value`` holds none of them but newlines and tabs."""
    if value.isascii() and value.isprintable():
        return True
    return _pattern("UNSAFE_IN_TEXT").search(value) is None


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: str, *, one_line: bool = False) -> str:
    """``value`` with every unsafe character shown as a visible escape; with ``one_line``,
    newlines and tabs too. Cheap for safe text (one regex search, no copy)."""
    if value.isascii() and value.isprintable():
        return value
    # what display escapes: everything unsafe in a line, and with one_line newlines and tabs
    # too (free text keeps them; the caller decides whether a newline may be shown as one)
    pattern = _pattern("UNSAFE_IN_LINE" if one_line else "UNSAFE_IN_TEXT")
    if pattern.search(value) is None:
        return value
    return pattern.sub(_escape, value)


def shown_path(path: str | os.PathLike[str]) -> str:
    """A path (or any name the user gave) as a message shows it: one line, every control,
    escape, separator and bidi character shown as a visible escape (a file name can hold
    any of them, and an echoed ESC or OSC would drive the terminal)."""
    return visible(os.fspath(path), one_line=True)


def split_lines(value: str) -> list[str]:
    """``value`` cut into lines at every kind of line break (:data:`_LINE_BREAK` and LF),
    but not at the other characters :meth:`str.splitlines` cuts at (they stay, to be shown
    by :func:`visible`)."""
    if value.isascii() and "\r" not in value:
        return value.split("\n")
    return _pattern("_LINE_BREAK").sub("\n", value).split("\n")


def neutralise_cell(value: str) -> str:
    """A CSV/xlsx cell that no spreadsheet runs as a formula; :func:`restore_cell` undoes it."""
    quoted = value[:1] == "'" and value[1:2] in (*FORMULA_START, "'")
    if value.startswith(FORMULA_START) or quoted:
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """The value :func:`neutralise_cell` was given."""
    if value[:1] == "'" and value[1:2] in (*FORMULA_START, "'"):
        return value[1:]
    return value


#: Longest free text and one-line reference the library accepts.
MAX_TEXT = 20_000
MAX_REF = 64


def clean_line(value: str, what: str, limit: int) -> str:
    """A one-line value, stripped; ``what`` names it in errors (:func:`drp_cli.core.errors.fld`)."""
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    if not is_one_line(text):
        raise InvalidInput(
            f"{what} must be one line without control, line-separator or bidi characters"
        )
    return text


def clean_text(value: str | None, what: str, *, required: bool) -> str:
    """Free text (line breaks allowed), stripped, at most :data:`MAX_TEXT` characters."""
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{what} is longer than {MAX_TEXT} characters")
    if not is_safe_text(text):
        raise InvalidInput(f"{what} contains control, line-separator or bidi characters")
    return text
