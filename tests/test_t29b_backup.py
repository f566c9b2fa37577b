"""Backups and restores that cannot lose or forge a record (issue 29 items 9, 15, 17, 23, 24).

* ``backup --force`` replaces a backup only as drp wrote it (a SQLite copy is a working
  database: someone may have recorded in it since);
* ``restore`` reads only a regular file of bounded size and depth, and checks the restored
  record as ``verify`` does before it commits (a forged event: exit 6, nothing left);
* paths are echoed with control characters shown, never raw;
* a backup removes the temporary copies a killed backup left in its folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from drp_cli.core.errors import InvalidInput
from drp_cli.services import backup as b
from drp_cli.store.connection import Store
from tests.conftest import open_args


def make_record(drp):
    assert drp(*open_args()).exit_code == 0
    assert drp("escalate", "1", "--on", "2025-03-11").exit_code == 0
    assert (
        drp("note", "1", "--text", "Spoke to the team manager", "--on", "2025-03-12").exit_code == 0
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- item 9: --force replaces only a backup as drp wrote it ----------------------------------
def test_force_refuses_a_sqlite_backup_someone_recorded_in(drp, db_path, tmp_path):
    make_record(drp)
    copy = tmp_path / "copy.sqlite3"
    assert drp("backup", str(copy)).exit_code == 0
    # verifying the copy changes nothing: it is still replaced
    assert drp("--db", str(copy), "verify").exit_code == 0
    assert drp("backup", str(copy), "--force").exit_code == 0
    # recording in it does (and so does reading it with show: the read is recorded in the
    # copy's own audit): the next --force is refused, the copy kept as it is
    assert drp("--db", str(copy), "note", "1", "--text", "Recorded in the copy",
               "--on", "2025-03-13").exit_code == 0  # fmt: skip
    before = digest(copy)
    r = drp("backup", str(copy), "--force")
    assert (r.exit_code, r.stderr) == (2, (
        f"Error: will not replace {copy}: it changed after drp wrote it (someone recorded in "
        "it or edited it); move it aside or choose another name\n"
    ))  # fmt: skip
    assert digest(copy) == before
    assert drp("--db", str(copy), "show", "1", "--json").json()["events"][-1]["text"] == (
        "Recorded in the copy"
    )


def test_force_refuses_a_sqlite_backup_edited_outside_drp_or_in_use(drp, db_path, tmp_path):
    make_record(drp)
    copy = tmp_path / "copy.sqlite3"
    assert drp("backup", str(copy)).exit_code == 0
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE concern SET owner = 'Someone'")
    conn.close()
    r = drp("backup", str(copy), "--force")
    assert r.exit_code == 2
    assert "it changed after drp wrote it" in r.stderr
    # a copy drp wrote, with a journal beside it (open, or left mid-change): refused too
    other = tmp_path / "other.sqlite3"
    assert drp("backup", str(other)).exit_code == 0
    Path(f"{other}-journal").write_bytes(b"")
    r = drp("backup", str(other), "--force")
    assert (r.exit_code, r.stderr) == (2, (
        f"Error: will not replace {other}: it is in use or was left mid-change (its -journal "
        "file is beside it): someone may have recorded in it; move it aside or choose another "
        "name\n"
    ))  # fmt: skip


def test_force_refuses_a_backup_drp_cannot_show_unchanged(drp, db_path, tmp_path):
    """A SQLite copy from before drp stamped its copies (user version 0): refused, since
    drp cannot tell whether someone recorded in it."""
    make_record(drp)
    copy = tmp_path / "copy.sqlite3"
    assert drp("backup", str(copy)).exit_code == 0
    with open(copy, "r+b") as fh:
        fh.seek(60)
        fh.write(b"\0\0\0\0")
    r = drp("backup", str(copy), "--force")
    assert (r.exit_code, r.stderr) == (2, (
        f"Error: will not replace {copy}: drp cannot tell whether it changed since it was "
        "written (an older drp wrote it); move it aside or choose another name\n"
    ))  # fmt: skip


def test_force_refuses_a_json_backup_edited_since(drp, tmp_path):
    make_record(drp)
    dump = tmp_path / "backup.json"
    assert drp("backup", str(dump), "--format", "json").exit_code == 0
    assert drp("backup", str(dump), "--format", "json", "--force").exit_code == 0
    text = dump.read_text()
    dump.write_text(text.replace("Spoke to the team manager", "Spoke to the team managex"))
    r = drp("backup", str(dump), "--format", "json", "--force")
    assert (r.exit_code, r.stderr) == (2, (
        f"Error: will not replace {dump}: it changed after drp wrote it (someone edited it); "
        "move it aside or choose another name\n"
    ))  # fmt: skip


# -- item 15: restore reads a regular file, bounded in size and depth -----------------------
def test_restore_refuses_a_device_or_fifo_and_leaves_nothing(drp, tmp_path):
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "restore", "/dev/zero")
    assert (r.exit_code, r.stderr) == (2, "Error: the backup /dev/zero is not a regular file\n")
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    r = drp("--db", str(fresh), "restore", str(fifo))
    assert (r.exit_code, r.stderr) == (2, f"Error: the backup {fifo} is not a regular file\n")
    assert not fresh.exists()


def test_restore_refuses_deep_nesting_in_one_line(drp, tmp_path):
    fresh = tmp_path / "fresh.sqlite3"
    deep = tmp_path / "deep.json"
    deep.write_text('{"format": "drp-backup", "tables": ' + "[" * 200_000 + "]" * 200_000 + "}")
    r = drp("--db", str(fresh), "restore", str(deep))
    assert (r.exit_code, r.stderr) == (
        2, f"Error: {deep} is not a drp JSON backup: it is nested deeper than a backup is\n"
    )  # fmt: skip
    assert not fresh.exists()


def test_restore_refuses_a_backup_over_the_size_limit(tmp_path, monkeypatch):
    dump = tmp_path / "big.json"
    dump.write_text('{"format": "drp-backup"}' + " " * 100)
    monkeypatch.setattr(b, "MAX_BACKUP_BYTES", 100)
    store = Store(tmp_path / "fresh.sqlite3")
    with pytest.raises(InvalidInput) as caught:
        b.restore_json(store, dump)
    assert str(caught.value) == f"the backup {dump} is over 100 bytes: larger than drp reads"
    assert not (tmp_path / "fresh.sqlite3").exists()


def test_restore_refuses_rows_drp_did_not_write(drp, tmp_path):
    make_record(drp)
    dump = tmp_path / "backup.json"
    assert drp("backup", str(dump), "--format", "json").exit_code == 0
    data = json.loads(dump.read_text())
    del data["sha256"]  # as a backup from before drp stamped them
    fresh = tmp_path / "fresh.sqlite3"
    for table, change, message in (
        ("concern", {"opened_on": "2025-02-30"},
         "table concern, row 1, column opened_on: not a value drp writes"),
        ("event", {"recorded_at": [1, [2]]},
         "table event, row 1, column recorded_at: not a value drp writes"),
        ("event", {"seq": 2**64}, "table event, row 1, column seq: not a value drp writes"),
    ):  # fmt: skip
        forged = json.loads(json.dumps(data))
        forged["tables"][table][0].update(change)
        dump.write_text(json.dumps(forged))
        r = drp("--db", str(fresh), "restore", str(dump))
        assert (r.exit_code, r.stderr) == (2, f"Error: {dump}: {message}\n")
        assert not fresh.exists()
    forged = json.loads(json.dumps(data))
    forged["tables"]["event"].append(dict(forged["tables"]["event"][0]))  # a repeated id
    dump.write_text(json.dumps(forged))
    r = drp("--db", str(fresh), "restore", str(dump))
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith(f"Error: {dump} is not a backup drp wrote: its rows break")
    assert not fresh.exists()


# -- item 17: a forged backup is refused as it is restored ----------------------------------
def forged_backup(drp, tmp_path) -> Path:
    """A backup whose note was rewritten (its stamp made again, as a forger would)."""
    make_record(drp)
    dump = tmp_path / "backup.json"
    assert drp("backup", str(dump), "--format", "json").exit_code == 0
    data = json.loads(dump.read_text())
    note = next(e for e in data["tables"]["event"] if e["kind"] == "note")
    note["text"] = "Nothing to worry about"
    dump.write_bytes(b._stamped_json(data))
    return dump


def test_restore_of_a_forged_event_is_refused_and_leaves_no_file(drp, tmp_path):
    dump = forged_backup(drp, tmp_path)
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "restore", str(dump))
    assert (r.exit_code, r.stdout) == (6, "")
    assert r.stderr == (
        f"Error: {dump} does not verify, nothing was restored: event 3 (concern 1, entry 3) "
        "was altered after it was recorded\n"
    )
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("fresh")) == []


def test_restore_of_a_forged_event_leaves_an_empty_database_untouched(drp, tmp_path):
    dump = forged_backup(drp, tmp_path)
    empty = tmp_path / "empty.sqlite3"
    assert drp("--db", str(empty), "init").exit_code == 0
    before = digest(empty)
    r = drp("--db", str(empty), "restore", str(dump))
    assert r.exit_code == 6
    assert digest(empty) == before
    assert drp("--db", str(empty), "list", "--json").json() == []


def test_restore_refuses_a_backup_changed_after_drp_stamped_it(drp, tmp_path):
    make_record(drp)
    dump = tmp_path / "backup.json"
    assert drp("backup", str(dump), "--format", "json").exit_code == 0
    dump.write_text(dump.read_text().replace("Spoke to the team manager", "Spoke to nobody"))
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "restore", str(dump))
    assert (r.exit_code, r.stderr) == (6, (
        f"Error: {dump} changed after drp wrote it (its sha256 does not match its content): "
        "nothing was restored\n"
    ))  # fmt: skip
    assert not fresh.exists()


def test_an_unchanged_backup_still_restores(drp, tmp_path):
    make_record(drp)
    dump = tmp_path / "backup.json"
    assert drp("backup", str(dump), "--format", "json").exit_code == 0
    assert (
        json.loads(dump.read_text())["sha256"]
        == b._stamped_json({k: v for k, v in json.loads(dump.read_text()).items() if k != "sha256"})
        .decode()
        .split('"sha256": "')[1][:64]
    )
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "restore", str(dump))
    assert (r.exit_code, r.stdout) == (0, f"Restored 1 concerns and 3 events into {fresh}.\n")
    assert drp("--db", str(fresh), "verify").exit_code == 0


# -- item 23: a path is echoed with its control characters shown -----------------------------
def test_restore_shows_a_path_with_escapes_never_raw(drp, tmp_path):
    name = tmp_path / "x\x1b]0;pwned\x07\u202e.json"
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "restore", str(name))
    assert r.exit_code == 2
    shown = f"{tmp_path}/x\\x1b]0;pwned\\x07\\u202e.json"
    assert r.stderr == f"Error: cannot read {shown}: No such file or directory\n"
    name.write_text("not json")
    r = drp("--db", str(fresh), "restore", str(name))
    assert r.stderr == f"Error: {shown} is not a drp JSON backup\n"
    assert "\x1b" not in r.stderr and "\u202e" not in r.stderr


def test_restore_into_a_database_not_empty_shows_its_path_with_escapes(drp, tmp_path):
    make_record(drp)
    dump = tmp_path / "backup.json"
    assert drp("backup", str(dump), "--format", "json").exit_code == 0
    db = tmp_path / "db\x1b[2J\n.sqlite3"
    assert drp("--db", str(db), *open_args()).exit_code == 0
    r = drp("--db", str(db), "restore", str(dump))
    assert (r.exit_code, r.stderr) == (2, (
        f"Error: the database {tmp_path}/db\\x1b[2J\\x0a.sqlite3 is not empty; restore into "
        "a new database\n"
    ))  # fmt: skip


# -- item 24: what a killed backup left is removed by the next ------------------------------
def test_a_backup_removes_stale_temporaries_a_killed_backup_left(drp, db_path, tmp_path):
    make_record(drp)
    folder = tmp_path / "backups"
    folder.mkdir()
    old = time.time() - 2 * b.STALE_AFTER
    stale_copy = folder / ".drp-2025-03-30.sqlite3.ab_c1234.tmp"
    stale_copy.write_bytes(b"SQLite format 3\x00" + b"\0" * 100)
    stale_journal = folder / ".drp-2025-03-30.sqlite3.ab_c1234.tmp-journal"
    stale_journal.write_bytes(b"journal")
    stale_json = folder / ".drp-2025-03-29.json.zzzzzzzz.tmp"
    stale_json.write_text('{"format": "drp-backup", "version": 1')
    # kept: not drp's content, too young, a symbolic link, another name pattern
    foreign = folder / ".notes.txt.abcdefgh.tmp"
    foreign.write_text("someone's notes")
    young = folder / ".drp-2025-03-31.sqlite3.qwertyui.tmp"
    young.write_bytes(b"SQLite format 3\x00")
    link = folder / ".link.sqlite3.abcdefgh.tmp"
    link.symlink_to(stale_copy)
    other = folder / "drp-2025-03-30.sqlite3.tmp"
    other.write_bytes(b"SQLite format 3\x00")
    for path in (stale_copy, stale_journal, stale_json, foreign, other):
        os.utime(path, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    assert drp("backup", str(folder / "drp-2025-03-31.sqlite3")).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [foreign.name, young.name, link.name, other.name, "drp-2025-03-31.sqlite3"]
    )


def test_stale_temporaries_of_another_user_are_kept(tmp_path, monkeypatch):
    stale = tmp_path / ".copy.sqlite3.abcdefgh.tmp"
    stale.write_bytes(b"")
    old = time.time() - 2 * b.STALE_AFTER
    os.utime(stale, (old, old))
    monkeypatch.setattr(os, "getuid", lambda: os.stat(stale).st_uid + 1)
    assert b.remove_stale_temporaries(tmp_path) == 0
    assert stale.exists()
    monkeypatch.undo()
    assert b.remove_stale_temporaries(tmp_path) == 1
    assert not stale.exists()


#: a backup that stops once its temporary copy is written (to be killed there)
STALLED_BACKUP = """
import sys, time
from drp_cli.store.connection import Store
copy = Store.copy_to
def stalled(self, target, application_id):
    copy(self, target, application_id)
    open(f"{target}-journal", "wb").close()  # as SQLite leaves it mid-transaction
    print("copied", flush=True)
    time.sleep(60)
Store.copy_to = stalled
sys.argv = ["drp", *sys.argv[1:]]
from drp_cli.__main__ import main
main()
"""


def test_what_a_backup_killed_with_sigkill_left_is_removed_by_the_next(drp, db_path, tmp_path):
    import signal
    import subprocess
    import sys

    make_record(drp)
    folder = tmp_path / "backups"
    folder.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", STALLED_BACKUP, "--db", str(db_path), "backup",
         str(folder / "drp-2025-03-30.sqlite3")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline() == "copied\n"
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    left = sorted(p.name for p in folder.iterdir())
    assert len(left) == 2 and all(b._TEMPORARY.fullmatch(name) for name in left), left
    assert drp("backup", str(folder / "drp-2025-03-31.sqlite3")).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == [*left, "drp-2025-03-31.sqlite3"]  # young
    old = time.time() - 2 * b.STALE_AFTER
    for name in left:
        os.utime(folder / name, (old, old))
    assert drp("backup", str(folder / "drp-2025-04-01.sqlite3")).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "drp-2025-03-31.sqlite3", "drp-2025-04-01.sqlite3"
    ]  # fmt: skip
