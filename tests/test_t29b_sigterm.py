"""SIGTERM is handled as Ctrl-C (issue 29 item 24): an import into a new database that is
stopped with `kill PID` (or a service manager's stop, which signals every process) removes
its build files and ends its helper processes, and drp ends as SIGTERM ends a process.
Run in a real subprocess, sent a real signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_import_stream import concern

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads a process's children from /proc"
)

#: drp's own entry point, its import slowed (every row takes 20 ms) and shared with a helper
#: process, so that the signal comes while both are at work
SLOW_IMPORT = """
import sys, time
from drp_cli.exchange import transfer
transfer.WORKERS, transfer.PARALLEL_FROM, transfer.CHUNK = 2, 0, 5
checked = transfer._checked_row
def slow(*args, **kwargs):
    time.sleep(0.02)
    return checked(*args, **kwargs)
transfer._checked_row = slow
sys.argv = ["drp", *sys.argv[1:]]
from drp_cli.__main__ import main
main()
"""


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has ended


def start_import(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, set[int]]:
    """A slow import into a new database, once its helper runs and its build file is there."""
    source = tmp_path / "rows.json"
    source.write_text(json.dumps([concern(n) for n in range(1, 401)]))
    target = tmp_path / "new" / "drp.sqlite3"
    target.parent.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_IMPORT, "--db", str(target), "import", str(source)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    helpers: set[int] = set()
    while time.monotonic() < deadline:
        helpers = children(proc.pid)
        building = list(target.parent.glob(f".{target.name}.import-*"))
        if helpers and building:
            return proc, target, helpers
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.kill()
    proc.communicate()
    raise AssertionError("the import never started its helper and its build file")


def ended_clean(proc: subprocess.Popen[str], target: Path, helpers: set[int]) -> None:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM, (proc.returncode, err)
    assert "Traceback" not in err, err
    assert out == ""
    assert sorted(p.name for p in target.parent.iterdir()) == []  # no database, no build
    deadline = time.monotonic() + 10
    while any(alive(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in helpers)


def test_sigterm_to_drp_cleans_up_as_ctrl_c_does(tmp_path):
    proc, target, helpers = start_import(tmp_path)
    os.kill(proc.pid, signal.SIGTERM)
    ended_clean(proc, target, helpers)


def test_sigterm_to_every_process_of_drp_cleans_up(tmp_path):
    """A service manager stopping a job signals each of its processes: the helpers end
    at once, and drp still removes what it was building."""
    proc, target, helpers = start_import(tmp_path)
    os.killpg(proc.pid, signal.SIGTERM)
    ended_clean(proc, target, helpers)


def test_without_sigterm_drp_exits_as_before(tmp_path):
    r = subprocess.run([sys.executable, "-m", "drp_cli", "--db", str(tmp_path / "x.sqlite3"),
                        "overdue"], capture_output=True, text=True)  # fmt: skip
    assert r.returncode in (0, 1, 4), r.stderr
    assert r.returncode != -signal.SIGTERM
