"""The exceptions the library raises, each with the exit status the CLI gives it.

Messages never carry personal data (child references, summaries, names): only concern
ids, protocol/stage slugs, dates and what is allowed. The CLI prints them as one line,
``Error: <message>``, on stderr.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Exit statuses, documented in the README ("Exit statuses").
EXIT_OK = 0
EXIT_REFUSED = 1  # refused by the rules (e.g. escalating a resolved concern)
EXIT_OVERDUE = 1  # `drp overdue`: at least one concern is overdue
EXIT_USAGE = 2  # bad input: unknown option, impossible date, unknown protocol/stage ...
EXIT_NOT_FOUND = 3  # the concern (or other record) does not exist
EXIT_DATA = 4  # a protocol file or the database is malformed, missing or unwritable; a file error
EXIT_BUSY = 5  # the database is locked by another writer
EXIT_TAMPERED = 6  # `drp verify`: the record was altered outside drp
EXIT_MAIL = 7  # the mail server could not be reached, or refused the message: nothing recorded
EXIT_INTERNAL = 70  # an unexpected error (a bug): run again with --debug


_FIELD = "\x00([a-z][a-z0-9_]*)\x00"  # compiled on first use (re's cache), not at import


def fld(name: str) -> str:
    """How a message names a field (the library's keyword, e.g. ``on``): a marker no path,
    date or slug in the message can contain (NUL)."""
    return f"\x00{name}\x00"


class DrpError(Exception):
    """Base class: a problem the user can understand and fix.

    A message names the fields it is about with :func:`fld` (the library's keyword, e.g.
    ``fld("on")``): :attr:`fields` lists them, :attr:`message` shows them as the library's
    names, and the CLI edge shows them as its flags (:meth:`render`)."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.template = message
        self.fields: tuple[str, ...] = tuple(dict.fromkeys(re.findall(_FIELD, message)))

    @property
    def field(self) -> str | None:
        """The field the error is about (the first one it names), or None."""
        return self.fields[0] if self.fields else None

    def render(self, name: Callable[[str], str] = str) -> str:
        """The message with each field shown as ``name(field)``."""
        return re.sub(_FIELD, lambda m: name(m.group(1)), self.template)

    @property
    def message(self) -> str:
        return self.render()

    def __str__(self) -> str:
        return self.message


class InvalidInput(DrpError):
    """A value given on the command line or through the API is not acceptable."""

    exit_code = EXIT_USAGE


class NotFound(DrpError):
    """No such concern (or closure day, or protocol installed for a stored concern)."""

    exit_code = EXIT_NOT_FOUND


class TransitionRefused(DrpError):
    """The protocol's rules do not allow this step (backwards, closed concern, ...)."""

    exit_code = EXIT_REFUSED


class ProtocolFileError(DrpError):
    """A protocol file could not be read or does not validate."""

    exit_code = EXIT_DATA


class DatabaseError(DrpError):
    """The database cannot be used (unreadable, newer schema, ...)."""

    exit_code = EXIT_DATA


class MailError(DrpError):
    """The mail server could not be reached or refused the message (nothing was recorded)."""

    exit_code = EXIT_MAIL


class RecordTampered(DrpError):
    """The record (or a backup of it) was altered outside drp: its chain or a concern does
    not match what drp recorded. Nothing was done with it."""

    exit_code = EXIT_TAMPERED


class DatabaseBusy(DrpError):
    """Another process holds the write lock for longer than the busy timeout."""

    exit_code = EXIT_BUSY


class DatabaseMissing(DatabaseError):
    """No drp database is there yet (no file, an empty file, or a database with no tables):
    only a recording command, or `drp init`, creates one."""

    def __init__(self, label: str) -> None:
        super().__init__(
            f"no drp database at {label}: run `drp init` to create one (or check --db / DRP_DB)"
        )
        self.label = label


class DatabaseDamaged(DatabaseError):
    """The database file is damaged (SQLite found a malformed page, or an index no longer
    matches its table): nothing read from it can be trusted, least of all an all-clear."""

    def __init__(self, finding: str) -> None:
        super().__init__(
            f"the database is damaged ({finding}): nothing read from it can be trusted; run "
            "`drp verify`, and restore the latest good backup (`drp restore`)"
        )
        self.finding = finding


class MalformedValue(DatabaseDamaged):
    """A stored value drp never wrote (an impossible date, text that is no date, JSON that
    is no object): named by the row it is in (a concern's id) and its column, never by the
    value, which may be personal data. (The domain raises it too, where a fold meets a value
    in an event no write could have stored: ``where`` is then "an event" until the caller,
    which knows the concern, names it: see :func:`drp_cli.domain.lifecycle.fold`.)"""

    def __init__(self, where: str, table: str, column: str) -> None:
        super().__init__(f"{where}: its stored {table}.{column} is not a value drp writes")
        self.where, self.table, self.column = where, table, column

    @property
    def problem(self) -> str:
        """How ``drp verify`` reports it."""
        return f"{self.where}: stored {self.table}.{self.column} is malformed (drp never wrote it)"
