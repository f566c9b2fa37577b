"""Entry point of the ``drp`` command.

``drp --version`` is answered before anything heavy is imported, a command's ``--help``
from its file, and the morning check's everyday arguments without Typer
(:func:`drp_cli.cli.dailycheck.quick`); everything else goes to the Typer app in
:mod:`drp_cli.cli`.

SIGTERM (``kill PID``, a service manager stopping a job, a timeout) is handled as Ctrl-C
is: the command is interrupted where it is (:class:`KeyboardInterrupt` in the main thread),
so what it was writing is cleaned up as for Ctrl-C (an import into a new database removes
its build files, a write in progress is rolled back), and then drp ends as SIGTERM ends a
process (status 143 in a shell). A helper process forked by an import ends at once on
SIGTERM, as it did before; the process that forked it ends its helpers as it unwinds.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not `typing`'s: importing typing costs as much as the rest of this
if TYPE_CHECKING:
    from types import FrameType, TracebackType
    from typing import Any

# `signal` (which loads `enum`) and `contextlib` are imported where they are used, after
# `drp --version` has been answered: that answer costs Python's start and this file only.


class _Terminated:
    """Whether this process (not a helper it forked) was sent SIGTERM."""

    pid = 0
    received = False
    deferred = 0  # times the interrupt waited for a callback to return


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _Terminated.pid:
        import signal

        # a helper process forked by an import: end as SIGTERM always ended it
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _Terminated.received:  # a second SIGTERM while cleaning up: the cleanup goes on
        return
    if _swallowed_there(frame) and _Terminated.deferred < 40:
        # Python prints and drops an exception raised in a callback ("Exception ignored
        # in ..."): the interrupt would be lost and the command would go on, half torn. Ask
        # again in a few milliseconds, when the callback has returned (at most 40 times).
        import signal

        _Terminated.deferred += 1
        signal.signal(signal.SIGALRM, _again)
        signal.setitimer(signal.ITIMER_REAL, 0.005)
        return
    _Terminated.received = True
    raise KeyboardInterrupt


def _again(signum: int, frame: FrameType | None) -> None:
    import signal

    _on_sigterm(signal.SIGTERM, frame)


def _swallowed_there(frame: FrameType | None) -> bool:
    """Whether an exception raised in ``frame`` might be printed and dropped by Python rather
    than unwind the command: it runs in a weakref callback (the import machinery's module
    locks, a WeakValueDictionary's) or a finaliser."""
    while frame is not None:
        if frame.f_code.co_name in _CALLBACKS:
            return True
        frame = frame.f_back
    return False


_CALLBACKS = frozenset({"cb", "remove", "_remove", "__del__", "_callback"})


class _SigtermAsInterrupt:
    """SIGTERM as Ctrl-C while drp runs; once cleaned up, the process ends by SIGTERM."""

    def __enter__(self) -> None:
        import signal

        _Terminated.pid, _Terminated.received, _Terminated.deferred = os.getpid(), False, 0
        self.previous: Any = None
        self.installed = False
        try:
            self.previous = signal.signal(signal.SIGTERM, _on_sigterm)
            self.installed = True
        except ValueError:  # not the main thread (drp run inside another program): as before
            pass

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        if not self.installed:
            return
        import signal

        signal.signal(signal.SIGTERM, self.previous)
        if _Terminated.received:
            _end_by_sigterm()


def _end_by_sigterm() -> None:
    """End the process as SIGTERM would have (its parent sees it was terminated)."""
    import signal
    from contextlib import suppress

    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
    sys.exit(128 + signal.SIGTERM)  # where a signal cannot end the process (Windows)


# -- a command's --help, written once ----------------------------------------------------
# `drp COMMAND --help` prints what click would print at 78 columns (any terminal of 80 or
# more, or a pipe), read from drp_cli/cli/helptext/COMMAND.txt, without loading Typer: it
# is the same text (no command's help depends on the environment or the database), in a
# fifth of the time. scripts/docs_reference.py writes the files from the commands and
# `--check`s them (`make docs`, tests/test_help_cache.py). Each file's first line names the
# sources its text comes from (every module loaded with the command's) and their CRC-32:
# an edited source (before the files are written again) makes drp build the help as
# before, so it is never stale.
HELP_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli", "helptext")
HELP_WIDTH = 80  # the least terminal width at which click writes a command's help at 78


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, the width click's help is written for,
    without importing shutil (its compression modules cost more than this whole answer):
    COLUMNS if a positive whole number, else the width of the terminal on standard
    output, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns


def help_fingerprint(sources: list[str]) -> str:
    """The CRC-32 of the sources (paths inside drp_cli) a command's help is written from."""
    import zlib

    package = os.path.dirname(os.path.abspath(__file__))
    crc = 0
    for source in sources:
        with open(os.path.join(package, source), "rb") as file:
            crc = zlib.crc32(file.read(), crc)
    return f"{crc:08x}"


def help_header(version: str, sources: list[str]) -> str:
    """The first line of a help file: what it was written by and from."""
    return f"drp-help {version} {help_fingerprint(sources)} {' '.join(sources)}\n"


# `drp --help` is printed the same way, from drp_cli/cli/helptext/_drp.txt (a name no command
# can have): the text before and after its lists of commands, which are the only part
# wrapped to the terminal's width, not 78 columns; the line ROOT_LISTS stands where they go,
# and drp_cli.cli.helplist writes them from the table of commands, as the app does.
ROOT_FILE = "_drp"
ROOT_LISTS = "{lists of commands}\n"


def cached_help(args: list[str]) -> str | None:
    """The help ``drp COMMAND --help`` or ``drp --help`` prints, from its file, or None where
    it must be built: other arguments, shell completion, a terminal under 80 columns, a
    DRP_* variable that is not UTF-8 (the command refuses it), standard output closed (the
    command says so), no file, or a file not written from the sources as they are now."""
    if args == ["--help"]:
        name = ROOT_FILE
    elif len(args) != 2 or args[1] != "--help":
        return None
    else:
        name = args[0]
        if not (name.isascii() and name.replace("-", "").isalpha() and name.islower()):
            return None
    if "_DRP_COMPLETE" in os.environ or sys.stdout is None:
        return None
    columns = terminal_columns()
    if columns < HELP_WIDTH:
        return None
    from drp_cli.core.encoding import not_utf8

    if not_utf8(args) is not None:  # the app refuses it: left to the app
        return None
    try:
        with open(os.path.join(HELP_FOLDER, f"{name}.txt"), encoding="utf-8") as file:
            fields = file.readline().split()
            text = file.read()
        from drp_cli import __version__

        if fields[:2] != ["drp-help", __version__] or len(fields) < 4:
            return None
        if help_fingerprint(fields[3:]) != fields[2]:
            return None
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if name != ROOT_FILE:
        return text
    head, found, tail = text.partition(ROOT_LISTS)
    if not found:
        return None
    from drp_cli.cli.helplist import command_sections

    lists = command_sections(columns - 2)  # the app's: the whole terminal, less click's 2
    return None if lists is None else head + lists + tail


def _reader_gone() -> None:
    """The reader went away (`drp overdue | head`): stop quietly, as other tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(141)


def main() -> None:
    os.umask(0o077)  # every file drp writes is owner-only
    if sys.argv[1:] == ["--version"]:
        from drp_cli import __version__

        print(f"drp {__version__}")
        return
    text = cached_help(sys.argv[1:])
    if text is not None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            _reader_gone()
        except OSError as exc:  # a full disk: the line and status the app would give
            from drp_cli.cli.edge import State, ended

            sys.exit(ended(exc, State(), lambda line: print(line, file=sys.stderr)))
        return
    with _SigtermAsInterrupt():
        if "overdue" in sys.argv[1:]:
            # the morning check's everyday arguments, read without loading Typer
            from drp_cli.cli.dailycheck import quick

            code = quick(sys.argv[1:])
            if code is not None:
                sys.exit(code)
        from drp_cli.cli import app

        try:
            app(prog_name="drp")
        except BrokenPipeError:
            _reader_gone()


if __name__ == "__main__":
    main()
