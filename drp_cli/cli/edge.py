"""The edge every command ends at, without Typer: the root options' state (the database a
command opens, ``--debug``) and the one rule that turns an error a command raised into the
line drp prints and its exit status.

The Typer app (:mod:`drp_cli.cli.app`) and the morning check's quick way in
(:mod:`drp_cli.cli.dailycheck`, which parses ``drp overdue``'s everyday arguments without
loading Typer) both end here, so an error reads and exits the same whichever way the
command came in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from drp_cli.core.errors import EXIT_DATA, EXIT_INTERNAL, EXIT_USAGE, DrpError

if TYPE_CHECKING:
    from drp_cli.services.tracker import Tracker
    from drp_cli.store.connection import Store


class State:
    """The root options, and the Tracker opened on first use. ``announce`` is told the
    database's name where a command creates it (the Typer app says so on stderr)."""

    def __init__(self, announce: Callable[[str], None] | None = None) -> None:
        self.db: str | None = None
        self.debug = False
        self.announce = announce
        self._tracker: Tracker | None = None
        self._store: Store | None = None

    def tracker(self) -> Tracker:
        if self._tracker is None:
            from drp_cli.services.tracker import Tracker

            self._tracker = Tracker(self.db)
            if self.announce is not None:
                self._tracker.store.on_create = self.announce
        return self._tracker

    def store(self) -> Store:
        """The database (the tracker's, once one is open), without loading the library: for
        the commands that only read, such as the morning check."""
        if self._tracker is not None:
            return self._tracker.store
        if self._store is None:
            from drp_cli.store.connection import Store

            self._store = Store(self.db)
        return self._store

    def close(self) -> None:
        """Close what the command opened: no connection outlives it."""
        for opened in (self._tracker.store if self._tracker is not None else None, self._store):
            if opened is not None:
                opened.close()
        self._tracker = self._store = None

    def label(self) -> str:
        """How the open database is named in a message (the path or the URL without its
        password), or "in use" before one is open."""
        opened = self._tracker.store if self._tracker is not None else self._store
        return opened.label if opened is not None else "in use"


def utf8_stream(stream: object) -> bool:
    """Whether ``stream`` (standard output or error) writes UTF-8."""
    encoding = getattr(stream, "encoding", None)
    return isinstance(encoding, str) and encoding.lower().replace("_", "-") in ("utf-8", "utf8")


def ready_streams() -> str | None:
    """Why drp cannot run with the standard streams it was given, or None; made ready on
    the way: where standard output is not UTF-8 (PYTHONIOENCODING=ascii, a Latin-1
    locale), a character it cannot encode is written as its escape (``\\u0141``), as
    Python writes standard error, rather than ending the command half written, as a bug."""
    if sys.stdout is None:  # `drp overdue >&-`: what it found would go nowhere
        return "standard output is closed: drp has nowhere to write (give it a file or a pipe)"
    reconfigure = getattr(sys.stdout, "reconfigure", None)  # a TextIOWrapper's
    if not utf8_stream(sys.stdout) and callable(reconfigure):
        reconfigure(errors="backslashreplace")
    return None


#: Library fields whose option is not simply ``--`` and the field's name with dashes.
FLAGS = {"respondent": "--from", "curtailed_reason": "--curtailed", "last": "--to",
         "what": "the name given", "item": "the bundle item", "cafcass_step": "the CAFCASS step",
         "key": "the name", "value": "the value"}  # fmt: skip


def flag_name(field: str) -> str:
    """The command-line option for a field a library error names (the CLI edge's job)."""
    return FLAGS.get(field, "--" + field.replace("_", "-"))


def failure(exc: Exception, state: State) -> tuple[str, int] | None:
    """The message and exit status a command ends with for ``exc`` (not yet made visible:
    :func:`error_line` does that), or None for a bug (exit 70, :func:`internal_line`). A
    broken pipe is the caller's, before this: the reader went away."""
    if isinstance(exc, DrpError):
        return exc.render(flag_name), exc.exit_code
    if isinstance(exc, OSError):
        return _os_error(exc), EXIT_DATA
    if isinstance(exc, ValueError) and "null byte" in str(exc):
        # os and open() refuse a path holding NUL
        return "a file path cannot hold a NUL character", EXIT_USAGE
    return _database_error(exc, state)


def ended(exc: Exception, state: State, say: Callable[[str], None]) -> int:
    """The end of a command that raised ``exc``: its line said on stderr through ``say``
    (with --debug, the traceback first; for a bug, the traceback in place of the line), and
    its exit status. Called while ``exc`` is being handled (the traceback is of it)."""
    found = failure(exc, state)
    if state.debug:
        print_traceback()
    if found is None:
        if not state.debug:
            say(internal_line(exc))
        return EXIT_INTERNAL
    say(error_line(found[0]))
    return found[1]


def error_line(message: str) -> str:
    """The line drp prints on stderr for an error: a path or name in the message shown with
    its control, escape and bidi characters as escapes (an echoed ESC or OSC would drive
    the terminal)."""
    from drp_cli.core.textsafe import visible

    return f"Error: {visible(message)}"


def internal_line(exc: BaseException) -> str:
    """The line for a bug: its kind only, as the rest may hold personal data."""
    return (
        f"Error: internal error ({type(exc).__name__}); nothing more is shown because it may "
        "hold personal data: run again with --debug for details"
    )


def print_traceback() -> None:
    """With --debug: the traceback of the exception being handled, on stderr."""
    import traceback

    traceback.print_exc(file=sys.stderr)


def _os_error(exc: OSError) -> str:
    """An operating-system error as one line: its reason and the file, never more."""
    import errno

    reason = exc.strerror or type(exc).__name__
    name = exc.filename
    if not isinstance(name, str | bytes | os.PathLike):
        name = None  # a file descriptor (an int), or nothing: no name to give
    if exc.errno == errno.ENOSPC and name is not None:
        return f"the disk holding {os.fsdecode(name)} is full"
    if name is None:
        return reason
    shown = os.fsdecode(name).encode("utf-8", "replace").decode("utf-8")
    return f"{reason}: {shown}"


def _database_error(exc: Exception, state: State) -> tuple[str, int] | None:
    """The one line and exit status for a database driver's error that escaped the library
    (a read-only file, a full disk, a lost server, a number too large for a column), or None
    for anything else (a bug)."""
    # the store turns its drivers' errors into drp's (drp_cli.store.connection.Store._errors);
    # this catches one that escaped it, from either driver, if that driver was loaded at all
    for driver in ("sqlite3", "psycopg"):
        module = sys.modules.get(driver)
        if module is not None and isinstance(exc, module.OperationalError):
            from drp_cli.store.dbfile import translate

            return str(translate(str(exc), type(exc).__name__, state.label())), EXIT_DATA
    return None
