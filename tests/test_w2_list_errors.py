"""`drp list`'s table (drp_cli.services.listing) fails as every command does: an unexpected
error one line (exit 70, a traceback only with --debug), an operating-system or driver error
its reason (exit 4). The tests that raised these through Tracker.concerns now reach only
`drp list --json` that way (issue 32: the table no longer asks the library's views)."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from drp_cli.services import listing
from tests.conftest import open_args


def raising(exc: BaseException) -> Callable[..., Any]:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return boom


def test_an_unexpected_error_is_one_line_unless_debug(drp, monkeypatch):
    monkeypatch.setattr(listing, "table_rows", raising(RuntimeError("SECRET-CHILD-REF")))
    r = drp("list")
    assert (r.exit_code, r.stderr) == (70, (
        "Error: internal error (RuntimeError); nothing more is shown because it may hold "
        "personal data: run again with --debug for details\n"))  # fmt: skip
    r = drp("--debug", "list")
    assert r.exit_code == 70 and "SECRET-CHILD-REF" in r.stderr


@pytest.mark.parametrize(
    "exc, said",
    [
        (PermissionError(errno.EACCES, "Permission denied", "/srv/drp/secret-folder"),
         "Error: Permission denied: /srv/drp/secret-folder\n"),
        (OSError(errno.ENOSPC, "No space left on device", "/srv/out.csv"),
         "Error: the disk holding /srv/out.csv is full\n"),
        (OSError(errno.EIO, "Input/output error"), "Error: Input/output error\n"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", 7), "Error: Is a directory\n"),
    ],
)  # fmt: skip
def test_an_os_error_is_its_reason(drp, monkeypatch, exc, said):
    monkeypatch.setattr(listing, "table_rows", raising(exc))
    r = drp("list")
    assert (r.exit_code, r.stderr) == (4, said)


def test_a_driver_error_is_one_line(drp, db_label, monkeypatch):
    drp(*open_args())
    monkeypatch.setattr(listing, "table_rows",
                        raising(sqlite3.OperationalError("database or disk is full")))  # fmt: skip
    r = drp("list")
    # one line, exit 4, naming the database the table opened alone (as the morning check does)
    assert (r.exit_code, r.stderr) == (4, f"Error: the disk holding {db_label} is full\n")
