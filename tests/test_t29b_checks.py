"""Issue 29 items 19-22 still hold (each has its test: test_review_findings.py and
test_integrity.py); what those left out: item 20's other files that are no database (a
device that never ends, a FIFO, a folder) are refused, never chmodded nor read."""

from __future__ import annotations

import os
import stat

import pytest


@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_a_database_that_is_not_a_regular_file_is_refused(drp, db_path, tmp_path, monkeypatch,
                                                          kind):  # fmt: skip
    target = "/dev/zero" if kind == "device" else str(tmp_path / kind)
    if kind == "fifo":
        os.mkfifo(target, 0o644)
    elif kind == "folder":
        os.mkdir(target, 0o755)
    mode = stat.S_IMODE(os.stat(target).st_mode)
    monkeypatch.setenv("DRP_DB", target)
    for args in (["overdue", "--on", "2025-03-10"], ["note", "1", "--text", "x"], ["init"]):
        r = drp(*args)
        assert (r.exit_code, r.stderr) == (
            4, f"Error: {target} is not a regular file: it cannot be a database\n"
        ), args  # fmt: skip
    assert stat.S_IMODE(os.stat(target).st_mode) == mode  # never chmodded
