"""What `drp db encrypt` and a purge leave behind (issue 31 item 1, the sweep sw1): no folder
named by the first two digits of a plain document's SHA-256 once its plain copy is gone, and
no encrypted copy of the database left beside it by a `drp db encrypt` that was killed, once
it is run again."""

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
from tests.test_sw1_rekey import KILL_AFTER

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLCipher encrypts a SQLite file")

BODIES = [b"ZEBRAQUOKKA-LEFT %d\n" % n * 100 for n in range(3)]


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "db.key"
    monkeypatch.setenv("DRP_DB_KEY_FILE", str(path))
    return path


def _root(db_path: Path) -> Path:
    return db_path.parent / f"{db_path.stem}-attachments"


@pytest.fixture
def attached(drp, tmp_path: Path) -> list[str]:
    """A plain database with three documents attached to concern 1: their SHA-256s."""
    given = tmp_path / "given"
    given.mkdir()
    assert drp(*open_args()).exit_code == 0
    for n, body in enumerate(BODIES):
        (given / f"doc{n}.txt").write_bytes(body)
        r = drp("attach", "1", str(given / f"doc{n}.txt"), "--kind", "other", "--on", "2025-03-04")
        assert r.exit_code == 0, r.stderr
    return [hashlib.sha256(b).hexdigest() for b in BODIES]


def _folders(db_path: Path) -> list[str]:
    return sorted(p.name for p in _root(db_path).iterdir())


def test_db_encrypt_leaves_no_folder_named_by_a_plain_sha256(
    drp, db_path: Path, key_file: Path, attached: list[str]
) -> None:
    assert _folders(db_path) == sorted({sha[:2] for sha in attached})
    r = drp("db", "encrypt")
    assert (r.exit_code, r.stderr) == (0, "")
    names = [p.name for p in _root(db_path).rglob("*.enc")]
    assert len(names) == 3
    assert _folders(db_path) == sorted({name[:2] for name in names})


def test_a_purge_removes_the_folder_it_empties(
    drp, db_path: Path, key_file: Path, attached: list[str]
) -> None:
    assert drp("db", "encrypt").exit_code == 0
    assert drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-10").exit_code == 0
    assert drp("config", "set", "retention_years", "1").exit_code == 0
    r = drp("purge", "--on", "2026-03-12", "--yes")
    assert r.exit_code == 0, r.stderr
    assert _folders(db_path) == []
    assert drp("verify").exit_code == 0


def test_a_db_encrypt_killed_after_writing_its_copy_leaves_none_once_run_again(
    drp, db_path: Path, key_file: Path, attached: list[str]
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AFTER, "drp_cli.store.cipher", "export", "1", "db",
         "encrypt"],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(),
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = [p for p in db_path.parent.iterdir() if p.name.startswith(f".{db_path.name}.")]
    assert left and all(dbkey.is_encrypted_file(p) for p in left if p.suffix == ".tmp")
    assert not dbkey.is_encrypted_file(db_path)
    r = drp("db", "encrypt")
    assert (r.exit_code, r.stderr) == (0, "")
    assert [p for p in db_path.parent.iterdir() if p.name.startswith(f".{db_path.name}.")] == []
    assert drp("verify").exit_code == 0


def test_a_db_encrypt_interrupted_while_writing_a_copy_leaves_no_empty_folder(
    drp, db_path: Path, key_file: Path, attached: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C or SIGTERM between the folder of a new copy being made and the copy being put
    in it: the folder goes with the copy."""
    from drp_cli.store import filestore

    before = _folders(db_path)
    made = filestore.private_dir

    def interrupted(path: Path) -> None:
        made(path)
        if path != _root(db_path):
            raise KeyboardInterrupt

    monkeypatch.setattr(filestore, "private_dir", interrupted)
    assert drp("db", "encrypt").exit_code == 130
    assert _folders(db_path) == before
