"""SIGTERM that arrives while Python runs a callback (a weakref callback such as the import
machinery's module locks, a finaliser) still interrupts the command: an exception raised
there would be printed as "Exception ignored in ..." and dropped, and the command would go
on half torn (seen once in `make test`: test_t29b_sigterm). The interrupt waits for the
callback to return and then comes, as Ctrl-C does."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SCRIPT = """
import os, signal, time, weakref
from drp_cli import __main__ as m

class Thing:
    pass

def cb(ref):
    os.kill(os.getpid(), signal.SIGTERM)  # the signal comes while the callback runs
    total = 0
    for n in range(1000):
        total += n

with m._SigtermAsInterrupt():
    try:
        thing = Thing()
        ref = weakref.ref(thing, cb)
        del thing
        time.sleep(2)
        print("went on", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        raise
"""


def test_a_sigterm_inside_a_callback_is_not_lost() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=30)  # fmt: skip
    assert done.stdout == "interrupted\n"
    assert "Exception ignored" not in done.stderr, done.stderr
    assert done.returncode == -signal.SIGTERM
