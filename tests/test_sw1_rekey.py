"""`drp db rekey` stopped at any point loses no key and leaves no stray copy (issue 31 item 1,
the sweep sw1): Ctrl-C or SIGTERM that arrives while SQLCipher rewrites the pages ends the
call only once the database has its new key, so that key must be kept; a rekey killed between
the database taking its key and the key file getting it is finished by running it again (and
the error says so); a rekey killed while it copies the attached files leaves none of its
copies once run again."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from drp_cli.core import dbkey
from tests.conftest import PG_URL, open_args

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLCipher encrypts a SQLite file")

MARKER = b"ZEBRAQUOKKA-REKEY"
PLAN = MARKER + b" care plan\n" * 300
ORDER = MARKER + b" final care order\n" * 200
STOPPED = 130

#: drp's own entry point with one call (module, attribute, which call) ending the process
#: with SIGKILL as soon as it returns: a machine switched off at that moment
KILL_AFTER = """
import importlib, os, signal, sys
module, attr, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
owner = importlib.import_module(module)
name = attr
if "." in attr:
    cls, name = attr.split(".")
    owner = getattr(owner, cls)
original = getattr(owner, name)
calls = [0]
def killing(*args, **kwargs):
    result = original(*args, **kwargs)
    calls[0] += 1
    if calls[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(owner, name, killing)
sys.argv = ["drp", *sys.argv[4:]]
from drp_cli.__main__ import main
main()
"""


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "db.key"
    monkeypatch.setenv("DRP_DB_KEY_FILE", str(path))
    return path


def _store_dir(db_path: Path) -> Path:
    return db_path.parent / f"{db_path.stem}-attachments"


def _stored(db_path: Path) -> list[Path]:
    return sorted(p for p in _store_dir(db_path).rglob("*") if p.is_file())


@pytest.fixture
def encrypted(drp, db_path: Path, key_file: Path, tmp_path: Path) -> bytes:
    """An encrypted database with two documents attached (one on two concerns); its key."""
    given = tmp_path / "given"
    given.mkdir()
    (given / "plan.txt").write_bytes(PLAN)
    (given / "order.txt").write_bytes(ORDER)
    assert drp("init", "--encrypted").exit_code == 0
    assert drp(*open_args()).exit_code == 0
    assert drp(*open_args(child="KN-7788")).exit_code == 0
    for cid, name in (("1", "plan.txt"), ("1", "order.txt"), ("2", "plan.txt")):
        r = drp("attach", cid, str(given / name), "--kind", "other", "--on", "2025-03-04")
        assert r.exit_code == 0, r.stderr
    assert len(_stored(db_path)) == 2
    return dbkey.read_key(key_file)


def _kill_after(module: str, attr: str, nth: int, *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AFTER, module, attr, str(nth), *args],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(),
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)


def _works(drp, db_path: Path, key_file: Path) -> None:
    """The database opens with the key file, verify passes, each document reads back, and
    the store holds one encrypted copy of each, under the key in the key file."""
    r = drp("verify")
    assert (r.exit_code, r.stderr) == (0, ""), r.stderr
    out = db_path.parent / "bundle"
    r = drp("bundle", "1", "-o", str(out), "--on", "2025-03-05")
    assert r.exit_code == 0, r.stderr
    got = sorted(p.read_bytes() for p in (out / "attachments").iterdir())
    assert got == sorted([PLAN, ORDER])
    key = dbkey.read_key(key_file)
    from drp_cli.store import filestore

    root = _store_dir(db_path)
    wanted = sorted(
        filestore.stored_path(root, hashlib.sha256(body).hexdigest(), key) for body in (PLAN, ORDER)
    )
    assert _stored(db_path) == wanted
    assert not any(MARKER in p.read_bytes() for p in _stored(db_path))
    assert not Path(f"{key_file}.new").exists()


def test_an_interrupt_once_the_database_has_its_new_key_keeps_that_key(
    drp, db_path: Path, key_file: Path, encrypted: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C or SIGTERM while SQLCipher rewrites the pages is raised once the call returns,
    the rekey done: the new key went with the cleanup before, and the record with it."""
    from drp_cli.store.connection import Store

    rekey = Store.rekey

    def interrupted(self: Store, key: bytes) -> None:
        rekey(self, key)
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(Store, "rekey", interrupted)
        assert drp("db", "rekey").exit_code == STOPPED
    assert dbkey.read_key(key_file) != encrypted
    assert dbkey.read_key(Path(f"{key_file}.old")) == encrypted
    _works(drp, db_path, key_file)


def test_an_interrupt_before_the_database_changes_leaves_it_as_it_was(
    drp, db_path: Path, key_file: Path, encrypted: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drp_cli.store.connection import Store

    before = _stored(db_path)

    def interrupted(self: Store, key: bytes) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(Store, "rekey", interrupted)
        assert drp("db", "rekey").exit_code == STOPPED
    assert dbkey.read_key(key_file) == encrypted
    assert _stored(db_path) == before
    _works(drp, db_path, key_file)


def test_a_rekey_killed_before_the_key_file_has_the_new_key_is_finished_by_running_it_again(
    drp, db_path: Path, key_file: Path, encrypted: bytes
) -> None:
    _kill_after("drp_cli.store.connection", "Store.rekey", 1, "db", "rekey")
    r = drp("verify")
    assert r.exit_code == 4
    assert r.stderr == (
        "Error: the key in the file named by DRP_DB_KEY_FILE (or the config's db_key_file) does "
        f"not open the encrypted database {db_path}: give the key it was encrypted with, or, as "
        f"a `drp db rekey` was stopped and left its new key in {key_file}.new, run `drp db "
        "rekey` again to finish it\n"
    )
    r = drp("db", "rekey")
    assert (r.exit_code, r.stderr) == (0, "")
    assert r.stdout == (
        f"Finished the rekey of {db_path} that was stopped: the new key is in {key_file}; the "
        f"old one is in {key_file}.old for the backups taken before (delete it once they are "
        "gone). Run `drp db rekey` again for another key.\n"
    )
    assert dbkey.read_key(Path(f"{key_file}.old")) == encrypted
    _works(drp, db_path, key_file)


@pytest.mark.parametrize(
    ("module", "attr", "nth"),
    [
        ("drp_cli.store.filestore", "_write_new", 1),  # one new copy written
        ("drp_cli.services.dbcrypt", "_checked", 1),  # switched, the old copies still there
    ],
)
def test_a_rekey_killed_part_way_then_run_again_leaves_one_copy_of_each_file(
    drp, db_path: Path, key_file: Path, encrypted: bytes, module: str, attr: str, nth: int
) -> None:
    _kill_after(module, attr, nth, "db", "rekey")
    assert drp("verify").exit_code == 0  # the store works as it is
    r = drp("db", "rekey")
    assert (r.exit_code, r.stderr) == (0, "")
    _works(drp, db_path, key_file)


def test_a_document_attached_while_the_rekey_ran_is_carried_too(
    drp, db_path: Path, key_file: Path, encrypted: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another drp attaches a document after the rekey listed the stored files and before
    the database took its new key: its copy, under the old key's name, is carried too."""
    from drp_cli.services import dbcrypt

    listed = dbcrypt._shas
    calls = [0]

    def before_the_attach(store: object) -> list[str]:
        calls[0] += 1
        found = listed(store)  # type: ignore[arg-type]
        return (
            [sha for sha in found if sha != hashlib.sha256(ORDER).hexdigest()]
            if calls[0] == 1
            else found
        )

    monkeypatch.setattr(dbcrypt, "_shas", before_the_attach)
    r = drp("db", "rekey")
    assert (r.exit_code, r.stderr) == (0, "")
    _works(drp, db_path, key_file)


def test_rekey_without_the_key_setting_says_what_it_said_before(
    drp, db_path: Path, key_file: Path, encrypted: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DRP_DB_KEY_FILE")
    r = drp("db", "rekey")
    assert (r.exit_code, r.stderr) == (
        4,
        f"Error: the database {db_path} is encrypted: set DRP_DB_KEY_FILE (or the config's "
        "db_key_file) to the file holding its key\n",
    )
