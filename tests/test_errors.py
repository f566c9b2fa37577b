"""Every failure is one clear line with a documented exit status (2 bad input, 4 database or
file), never exit 70 (internal error): dates out of range, impossible ids, text that is not
UTF-8, a read-only database, a full disk, an operating-system error, control characters."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import open_args

RANGE = "is outside the dates drp handles: use a date from 1990-01-01 to 2199-12-31"
MAX_ID = 2**31 - 1  # drp_cli.core.uids.MAX_ID, worked out by hand: PostgreSQL INTEGER


def one_line(r, code: int) -> str:
    """The error line, after checking the exit status and that there is exactly one."""
    assert r.exit_code == code, (r.exit_code, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    return lines[0]


# -- dates ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "what", "day"),
    [
        (open_args(on="1989-12-31"), "--on", "1989-12-31"),
        (["overdue", "--on", "9999-12-31"], "--on", "9999-12-31"),
        (["overdue", "--on", "2200-01-01", "--json"], "--on", "2200-01-01"),
        (["list", "--on", "9999-12-31"], "--on", "9999-12-31"),
        (["show", "1", "--on", "0001-01-01"], "--on", "0001-01-01"),
        (["alert", "1", "--on", "9999-12-31"], "--on", "9999-12-31"),
        (["escalate", "1", "--due", "9999-12-31", "--on", "2025-03-04"], "--due", "9999-12-31"),
        (["refer", "1", "--notified-on", "1900-01-01", "--on", "2025-03-04"], "--notified-on",
         "1900-01-01"),
        (["action", "add", "1", "--text", "x", "--owner", "y", "--due", "9999-12-31",
          "--on", "2025-03-04"], "--due", "9999-12-31"),
        (["wishes", "add", "1", "--text", "x", "--how", "y", "--obtained-on", "1900-01-01",
          "--on", "2025-03-04"], "--obtained-on", "1900-01-01"),
        (["calendar", "close", "2025-03-10", "--to", "9999-12-31"], "--to", "9999-12-31"),
        (["calendar", "add", "2300-01-01", "3"], "the date", "2300-01-01"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)  # fmt: skip
def test_dates_outside_the_calendar_are_refused(drp, sql, args, what, day):
    assert drp(*open_args()).exit_code == 0
    before = sql("select count(*) from event")
    r = drp(*args)
    assert one_line(r, 2) == f"Error: {what} {day} {RANGE}"
    assert sql("select count(*) from event") == before


def test_a_sum_past_the_calendar_is_refused(drp):
    assert drp("init").exit_code == 0
    r = drp("calendar", "add", "2199-12-01", "1000")
    assert one_line(r, 2) == (
        "Error: 1000 working days after 2199-12-01 is after 2199-12-31, the last day drp's "
        "calendar covers"
    )


def test_the_first_and_last_days_are_allowed(drp):
    assert drp("init").exit_code == 0
    for day in ("1990-01-01", "2199-12-31"):
        r = drp("overdue", "--on", day)  # accepted: only the empty record is refused (exit 4)
        assert r.exit_code == 4 and r.stderr.startswith("Error: no concerns are recorded"), day


def test_a_date_that_is_not_date_like_is_not_quoted(drp):
    r = drp(*open_args(on="seen on Tuesday by Mr Smith"))
    assert (
        one_line(r, 2) == "Error: --on is not a real date: use DD/MM/YYYY or YYYY-MM-DD, "
        "e.g. 14/03/2025 or 2025-03-14"
    )


# -- ids --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-1", str(MAX_ID + 1), "99999999999999999999999"])
@pytest.mark.parametrize(
    "command",
    [["show", "{}"], ["note", "{}", "--text", "x"], ["escalate", "{}"], ["alert", "{}"],
     ["action", "done", "1", "{}"], ["action", "add", "1", "--text", "x", "--owner", "y",
                                     "--priority", "{}"]],
    ids=lambda v: v[0] if v[0] != "action" else " ".join(v[:2]),
)  # fmt: skip
def test_ids_outside_1_to_2_31_are_usage_errors(drp, command, value):
    args = [a.replace("{}", value) for a in command]
    if value.startswith("-") and "--priority" not in args:
        args.insert(args.index(value), "--")  # else it is taken for an option
    r = drp(*args)
    line = one_line(r, 2)
    assert line.endswith(f"must be a whole number from 1 to {MAX_ID}")


def test_the_largest_id_is_simply_not_found(drp):
    drp(*open_args())
    r = drp("show", str(MAX_ID))
    assert one_line(r, 3) == f"Error: no concern with id {MAX_ID}"
    r = drp("note", str(MAX_ID), "--text", "x", "--on", "2025-03-04")
    assert one_line(r, 3) == f"Error: no concern with id {MAX_ID}"


def test_the_bound_is_drps_one_bound():
    from drp_cli.core import uids
    from drp_cli.store import record

    assert uids.MAX_ID == MAX_ID and record.MAX_ID is uids.MAX_ID


# -- text that is not UTF-8 -------------------------------------------------------------------
def test_an_argument_that_is_not_utf8_is_refused(drp, sql):
    drp(*open_args())
    before = sql("select count(*) from event")
    r = drp("note", "1", "--text", "caf\udce9 with carer", "--on", "2025-03-04")
    assert (r.exit_code, r.stderr, r.stdout) == (
        2, "Error: an argument is not valid UTF-8 text\n", ""
    )  # fmt: skip
    assert sql("select count(*) from event") == before


@pytest.mark.parametrize("name", ["DRP_USER", "DRP_DB"])
def test_an_environment_variable_that_is_not_utf8_is_refused(drp, monkeypatch, name):
    monkeypatch.setenv(name, "Jo \udcff")
    r = drp("list")
    assert (r.exit_code, r.stderr) == (2, f"Error: {name} is not valid UTF-8 text\n")


def test_bytes_that_are_not_utf8_on_a_real_command_line(tmp_path):
    """Through the real entry point: the OS hands Python bytes, Python surrogate escapes."""
    env = {**os.environ, "DRP_DB": str(tmp_path / "x.sqlite3"), "PYTHONUTF8": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "drp_cli", "note", "1", "--text", b"caf\xe9 secret"],
        capture_output=True, env=env, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    assert (out.returncode, out.stderr) == (2, b"Error: an argument is not valid UTF-8 text\n")
    assert not (tmp_path / "x.sqlite3").exists()
    env["DRP_USER"] = "J\xe9"  # surrogate-escaped by os.environ -> the byte 0xE9
    out = subprocess.run(
        [sys.executable, "-m", "drp_cli", "list"],
        capture_output=True, env={k: v for k, v in env.items() if k != "DRP_USER"}
        | {"DRP_USER": os.fsdecode(b"J\xe9")}, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    assert (out.returncode, out.stderr) == (2, b"Error: DRP_USER is not valid UTF-8 text\n")


# -- control characters, alike on SQLite and PostgreSQL -----------------------------------------
@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x1b[2J", "\x7f\x00"])
def test_control_characters_in_free_text_are_refused(drp, sql, bad):
    drp(*open_args())
    before = sql("select count(*) from event")
    r = drp("note", "1", "--text", f"Seen{bad}today", "--on", "2025-03-04")
    assert "contains control" in one_line(r, 2)
    r = drp("note", "1", "--text", "-", "--on", "2025-03-04", input=f"Seen{bad}today\n")
    assert "contains control" in one_line(r, 2)
    r = drp(*open_args(summary=f"No worker{bad}"))
    assert "contains control" in one_line(r, 2)
    assert sql("select count(*) from event") == before


# -- a read-only database, a full disk ----------------------------------------------------------
@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small file system of our own (needs root and mount), else the test is skipped."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(path)], capture_output=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount_read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


def fill(path: Path) -> None:
    """Use up every free block of the file system holding ``path``."""
    with open(path / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_a_read_only_database_on_a_read_only_disk(drp, tmp_path):
    with tmpfs(tmp_path / "ro", "2m") as disk:
        db = disk / "drp.sqlite3"
        assert drp("--db", str(db), *open_args()).exit_code == 0
        remount_read_only(disk)
        for args in (["note", "1", "--text", "x", "--on", "2025-03-04"], ["list"], ["overdue"]):
            r = drp("--db", str(db), *args)
            assert one_line(r, 4) == f"Error: the database {db} is read-only", args


def test_a_read_only_database_file(drp, db_path, monkeypatch):
    """A file SQLite can only open for reading (mode 0400 for anyone but root)."""
    import drp_cli.store.connection
    from drp_cli.store.dbfile import sqlite_uri

    drp(*open_args())
    if os.geteuid() == 0:  # root writes whatever the mode: open it read-only instead
        monkeypatch.setattr(
            drp_cli.store.connection, "sqlite_uri", lambda p: sqlite_uri(p)[: -len("rw")] + "ro"
        )
    else:
        db_path.chmod(0o400)
    before = sqlite3.connect(db_path).execute("select count(*) from event").fetchone()
    r = drp("note", "1", "--text", "x", "--on", "2025-03-04")
    assert one_line(r, 4) == f"Error: the database {db_path} is read-only"
    db_path.chmod(0o600)
    assert sqlite3.connect(db_path).execute("select count(*) from event").fetchone() == before


def test_a_full_disk(drp, tmp_path):
    with tmpfs(tmp_path / "full", "400k") as disk:
        db = disk / "drp.sqlite3"
        assert drp("--db", str(db), *open_args()).exit_code == 0
        fill(disk)
        for args in (["note", "1", "--text", "x", "--on", "2025-03-04"], ["list"], ["overdue"]):
            r = drp("--db", str(db), *args)
            assert one_line(r, 4) == f"Error: the disk holding {db} is full", args


def test_a_full_disk_for_an_output_file(drp, tmp_path):
    drp(*open_args())
    with tmpfs(tmp_path / "full", "64k") as disk:
        fill(disk)
        r = drp("export", "-o", str(disk / "export.csv"))
        # write() names no file: the reason alone (a file named is "the disk holding ...")
        assert one_line(r, 4) == "Error: No space left on device"
        assert [p.name for p in disk.iterdir()] == ["filler"]  # no partial file left


def test_the_disk_full_messages_of_the_drivers(tmp_path):
    from drp_cli.store.dbfile import translate

    for message, kind in [
        ("database or disk is full", "OperationalError"),
        ('could not extend file "base/1/2": No space left on device', "DiskFull"),
    ]:
        assert str(translate(message, kind, "DB")) == "the disk holding DB is full"
    assert str(translate("attempt to write a readonly database", "OperationalError", "DB")) == (
        "the database DB is read-only"
    )
    message = "cannot execute INSERT in a read-only transaction"
    assert str(translate(message, "ReadOnlySqlTransaction", "DB")) == "the database DB is read-only"


# -- anything else from the operating system or the driver ---------------------------------------
def test_an_os_error_is_its_reason_and_file(drp, monkeypatch):
    from drp_cli.services.tracker import Tracker

    def denied(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/drp/secret-folder")

    monkeypatch.setattr(Tracker, "concerns", denied)
    r = drp("list", "--json")
    assert (r.exit_code, r.stderr) == (4, "Error: Permission denied: /srv/drp/secret-folder\n")

    def no_space(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/out.csv")

    monkeypatch.setattr(Tracker, "concerns", no_space)
    r = drp("list", "--json")
    assert (r.exit_code, r.stderr) == (4, "Error: the disk holding /srv/out.csv is full\n")

    def no_file(self, *args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Tracker, "concerns", no_file)
    r = drp("list", "--json")
    assert (r.exit_code, r.stderr) == (4, "Error: Input/output error\n")


def test_a_driver_error_that_escapes_is_one_line(drp, db_label, monkeypatch):
    from drp_cli.services.tracker import Tracker

    drp(*open_args())

    def full(self, *args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Tracker, "concerns", full)
    r = drp("list", "--json")
    assert (r.exit_code, r.stderr) == (4, f"Error: the disk holding {db_label} is full\n")


# -- the field an error is about ---------------------------------------------------------------
def test_library_errors_name_the_field_and_the_cli_names_the_option(drp, db_target):
    """The library's messages name its own keywords; only the CLI turns them into options."""
    import datetime as dt

    from drp_cli.core.errors import InvalidInput
    from drp_cli.services.tracker import Tracker

    t = Tracker(db_target, clock=lambda: dt.date(2025, 3, 10))
    with pytest.raises(InvalidInput) as err:
        t.open(protocol="knowsley", child="C-1", category="statutory", summary="x",
               on="2025-03-11")  # fmt: skip
    assert (err.value.field, str(err.value)) == (
        "on",
        "on 2025-03-11 is in the future; events are recorded on or before today (2025-03-10)",
    )
    c = t.open(protocol="knowsley", child="C-1", category="statutory", summary="x",
               on="2025-03-03")  # fmt: skip
    with pytest.raises(InvalidInput) as err:
        t.respond(c.id, text="x", respondent="two\nlines", on="2025-03-04")
    assert err.value.fields == ("respondent",)
    assert str(err.value).startswith("respondent must be one line")
    with pytest.raises(InvalidInput) as err:
        t.refer(c.id, notified_on="2025-03-04", on="2025-03-04")
    assert err.value.fields == ("notified_on", "senior_officer")
    assert str(err.value) == "notified_on needs senior_officer: who was notified"
    t.store.close()
    r = drp("respond", str(c.id), "--text", "x", "--from", "two\nlines", "--on", "2025-03-04")
    assert r.exit_code == 2
    assert r.stderr.startswith("Error: --from must be one line")
    r = drp("refer", str(c.id), "--notified-on", "2025-03-04", "--on", "2025-03-04")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --notified-on needs --senior-officer: who was notified\n",
    )  # fmt: skip
