"""sw6a (issue 32, wave 6 sweep): the morning check and the report on stored values drp
never writes, inside an action's data or an event's row.

Each is a malformed stored value (written outside drp): it must be refused as any other
(exit 4, naming the row and the column), never end in an internal error (exit 70). The tree
before the speed work (ca56956) and the tree after it both end in exit 70 (a ValueError or
TypeError), in one process and where ``drp report`` shares its work with a second one, so
these are pinned as strict xfails.
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
    "Error: the database is damaged (concern 1: its stored {column} is not a value drp "
    "writes): nothing read from it can be trusted; run `drp verify`, and restore the latest "
    "good backup (`drp restore`)\n"
)


def _drp(*args: str) -> subprocess.CompletedProcess[str]:
    """``drp ARGS`` in its own process, through drp's error handler (as cron runs it)."""
    return subprocess.run(
        [sys.executable, "-m", "drp_cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ('data = \'{"due": "soon", "owner": "TM", "text": "t"}\'', "item.data"),
        ('data = \'{"due": "2025-02-30", "owner": "TM", "text": "t"}\'', "item.data"),
        ("n = 'x'", "item.n"),
        ('data = \'{"due": "2025-W13-2", "owner": "TM", "text": "t"}\'', "item.data"),
        ('data = \'{"due": 20250325, "owner": "TM", "text": "t"}\'', "item.data"),
    ],
)
def test_overdue_refuses_a_malformed_action(
    db_path: Path,
    drp: Callable[..., Any],
    sql: Callable[..., list[Any]],
    change: str,
    column: str,
) -> None:
    assert drp(*open_args()).exit_code == 0
    added = drp("action", "add", "1", "--owner", "TM", "--text", "t", "--due", "2025-03-25",
                "--on", "2025-03-04")  # fmt: skip
    assert added.exit_code == 0
    sql(f"UPDATE item SET {change} WHERE concern_id = 1")
    done = _drp("overdue", "--on", "2025-03-26")
    assert (done.returncode, done.stdout, done.stderr) == (4, "", DAMAGED.format(column=column))


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ('details = \'{"due": "soon"}\'', "event.details"),
        ("kind = x'00'", "event.kind"),
    ],
)
def test_report_refuses_a_malformed_event(
    db_path: Path,
    drp: Callable[..., Any],
    sql: Callable[..., list[Any]],
    change: str,
    column: str,
) -> None:
    assert drp(*open_args()).exit_code == 0
    sql(f"UPDATE event SET {change} WHERE concern_id = 1 AND seq = 1")
    done = _drp("report", "--from", "2025-01-01", "--to", "2025-12-31", "--on", "2025-06-02",
                "--json")  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (4, "", DAMAGED.format(column=column))


NOT_UTF8 = (
    "Error: the database is damaged (a stored value is not one drp writes): nothing read "
    "from it can be trusted; run `drp verify`, and restore the latest good backup "
    "(`drp restore`)\n"
)


@pytest.mark.parametrize("column", ["child", "external_ref", "role"])
def test_report_reads_a_concerns_text_only_where_it_shows_it(
    db_path: Path, drp: Callable[..., Any], sql: Callable[..., list[Any]], column: str
) -> None:
    """Since f5608ec the report reads no child, external reference or role unless it shows
    children (--with-children): one stored as text that is not UTF-8 changes no figure, and
    is refused (exit 4) where it would be shown. (sw6a's finding 5, kept as the lead's
    decision: the figures are right, and nothing shown is read from the damaged text.)"""
    assert drp(*open_args()).exit_code == 0
    period = ("report", "--from", "2025-01-01", "--to", "2025-12-31", "--on", "2025-06-02")
    before = _drp(*period, "--json")
    sql(f"UPDATE concern SET {column} = CAST(x'ff' AS TEXT) WHERE id = 1")
    after = _drp(*period, "--json")
    assert (after.returncode, after.stdout, after.stderr) == (0, before.stdout, "")
    if column != "role":
        shown = _drp(*period, "--json", "--with-children")
        assert (shown.returncode, shown.stdout, shown.stderr) == (4, "", NOT_UTF8)
