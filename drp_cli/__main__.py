"""Entry point of the ``drp`` command.

``drp --version`` is answered before anything heavy is imported; everything else goes to
the Typer app in :mod:`drp_cli.cli`.

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


def main() -> None:
    os.umask(0o077)  # every file drp writes is owner-only
    if sys.argv[1:] == ["--version"]:
        from drp_cli import __version__

        print(f"drp {__version__}")
        return
    with _SigtermAsInterrupt():
        from drp_cli.cli import app

        try:
            app(prog_name="drp")
        except BrokenPipeError:
            # the reader went away (`drp overdue | head`): stop quietly, as other tools do
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)


if __name__ == "__main__":
    main()
