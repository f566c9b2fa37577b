"""sw6a (issue 32, wave 6 sweep): the morning check on a stored value drp never writes.

A concern's child, protocol or stage stored as a BLOB (written outside drp) is a malformed
stored value: the morning check must refuse it as every other one (exit 4, naming the row
and the column), never crash. Both the tree before the speed work (ca56956) and after it
end in an internal error (exit 70: a TypeError before, an AttributeError in
``textsafe.is_one_line`` after), so these are pinned as strict xfails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import open_args

DAMAGED = (
    "Error: the database is damaged (concern 1: its stored concern.{column} is not a value "
    "drp writes): nothing read from it can be trusted; run `drp verify`, and restore the "
    "latest good backup (`drp restore`)\n"
)


def _overdue(*args: str) -> subprocess.CompletedProcess[str]:
    """``drp overdue ARGS`` as cron runs it: its own process, through drp's error handler."""
    return subprocess.run(
        [sys.executable, "-m", "drp_cli", "overdue", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )


@pytest.mark.xfail(
    strict=True,
    reason="drp overdue crashes (exit 70) on a concern whose column is a BLOB, not exit 4",
)
@pytest.mark.parametrize(
    ("column", "args"),
    [
        ("child", ()),
        ("child", ("--json",)),
        ("protocol", ()),
        ("stage", ()),
    ],
)
def test_overdue_refuses_a_blob_column(
    db_path: Path,
    drp: Callable[..., Any],
    sql: Callable[..., list[Any]],
    column: str,
    args: tuple[str, ...],
) -> None:
    assert drp(*open_args()).exit_code == 0
    sql(f"UPDATE concern SET {column} = x'00' WHERE id = 1")
    done = _overdue("--on", "2025-06-02", *args)
    assert (done.returncode, done.stdout, done.stderr) == (4, "", DAMAGED.format(column=column))
