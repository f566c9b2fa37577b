"""Hostile contents of the encrypted attachments store and of the key's place (issue 31 item 1,
the sweep sw1): attaching a document again mends a stored copy that was damaged or replaced
(a link, a FIFO, an empty or foreign file) instead of keeping it; a folder in its place is
refused, exit 6, and nothing is recorded; a file of another database's store put in its
place is reported as altered (exit 3), as verify calls it, not as a wrong key; `drp db
encrypt` never drops a good plain copy for a damaged encrypted one; a key file that is a
folder, or a keyring entry that is not a key, is one line, exit 4."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drp_cli.core import dbkey
from drp_cli.store import filestore
from tests.conftest import PG_URL, open_args

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLCipher encrypts a SQLite file")

MARKER = b"ZEBRAQUOKKA-STORE"
PLAN = MARKER + b" care plan\n" * 500
SHA = hashlib.sha256(PLAN).hexdigest()


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "db.key"
    monkeypatch.setenv("DRP_DB_KEY_FILE", str(path))
    return path


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "given" / "plan.txt"
    path.parent.mkdir()
    path.write_bytes(PLAN)
    return path


def _root(db_path: Path) -> Path:
    return db_path.parent / f"{db_path.stem}-attachments"


def _attach(drp, plan: Path, cid: str = "1", kind: str = "care-plan") -> Any:
    return drp("attach", cid, str(plan), "--kind", kind, "--on", "2025-03-04")


@pytest.fixture
def stored(drp, db_path: Path, key_file: Path, plan: Path) -> Path:
    """An encrypted database with the plan attached to concern 1: its stored copy."""
    assert drp("init", "--encrypted").exit_code == 0
    assert drp(*open_args()).exit_code == 0
    assert _attach(drp, plan).exit_code == 0
    path = filestore.stored_path(_root(db_path), SHA, dbkey.read_key(key_file))
    assert path.is_file()
    return path


def _symlink(path: Path, plan: Path) -> None:
    path.symlink_to(plan)


def _fifo(path: Path, plan: Path) -> None:
    os.mkfifo(path)


def _empty(path: Path, plan: Path) -> None:
    path.write_bytes(b"")


def _header_only(path: Path, plan: Path) -> None:
    path.write_bytes(filestore.MAGIC + bytes([filestore.VERSION]) + b"\0" * 24)


def _plain(path: Path, plan: Path) -> None:
    path.write_bytes(PLAN)


@pytest.mark.parametrize("damage", [_symlink, _fifo, _empty, _header_only, _plain])
def test_attaching_the_document_again_mends_a_damaged_stored_copy(
    drp, db_path: Path, stored: Path, plan: Path, damage: Any
) -> None:
    stored.unlink()
    damage(stored, plan)
    assert drp("verify").exit_code == 6
    r = _attach(drp, plan, kind="review-record")
    assert (r.exit_code, r.stderr) == (0, ""), r.stderr
    assert stored.is_file() and not stored.is_symlink()
    assert MARKER not in stored.read_bytes()
    r = drp("verify")
    assert (r.exit_code, r.stderr) == (0, "")


def test_a_folder_in_place_of_the_stored_copy_is_refused_and_nothing_is_recorded(
    drp, db_path: Path, stored: Path, plan: Path
) -> None:
    stored.unlink()
    stored.mkdir()
    r = _attach(drp, plan, kind="review-record")
    assert (r.exit_code, r.stderr) == (
        6,
        "Error: the attachments store has a folder where a stored file goes: nothing was "
        "written (run `drp verify`)\n",
    )
    r = drp("attachments", "1", "--json")
    assert [a["n"] for a in r.json()] == [1]


def test_a_file_of_another_store_in_its_place_is_altered_not_a_wrong_key(
    drp, db_path: Path, stored: Path, plan: Path
) -> None:
    """Another database's copy of the same document (another key) put under this one's
    name: the bundle says what verify says (altered), and never sends the officer looking
    for another key."""
    with stored.open("wb") as dst:
        filestore._encrypt([PLAN], dst, SHA, dbkey.new_key())
    r = drp("verify")
    assert r.exit_code == 6
    assert r.stderr == "TAMPERED: concern 1: the stored file of attachment 1 was altered\n"
    r = drp("bundle", "1", "-o", str(db_path.parent / "b"))
    assert (r.exit_code, r.stderr) == (
        6,
        "Error: the stored copy of attachment 1 does not match its SHA-256: it was changed "
        "outside drp; run `drp verify`\n",
    )


def test_an_encrypted_copy_written_removes_a_plain_one_left_beside_it(
    drp, db_path: Path, stored: Path, plan: Path
) -> None:
    """A plain copy left by an older drp or a stopped `drp db encrypt` goes once the
    document is attached again (encrypted)."""
    plain = filestore.plain_path(_root(db_path), SHA)
    plain.parent.mkdir(mode=0o700, exist_ok=True)
    plain.write_bytes(PLAN)
    assert _attach(drp, plan, kind="review-record").exit_code == 0
    assert not plain.exists()
    assert drp("verify").exit_code == 0


def test_db_encrypt_never_drops_a_good_plain_copy_for_a_damaged_encrypted_one(
    drp, db_path: Path, key_file: Path, plan: Path
) -> None:
    assert drp(*open_args()).exit_code == 0
    assert _attach(drp, plan).exit_code == 0
    key = dbkey.new_key()
    dbkey.write_key(key_file, key)
    target = filestore.stored_path(_root(db_path), SHA, key)
    target.parent.mkdir(mode=0o700, exist_ok=True)
    target.write_bytes(b"left by a disk that failed")
    r = drp("db", "encrypt")
    assert (r.exit_code, r.stderr) == (0, "")
    assert drp("verify").exit_code == 0
    assert b"".join(filestore.read_stored(target, SHA, key)) == PLAN
    assert not filestore.plain_path(_root(db_path), SHA).exists()


def test_a_key_file_that_is_a_folder_is_one_line_exit_4(
    drp, db_path: Path, key_file: Path, plan: Path
) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    key_file.rename(key_file.with_name("kept"))
    key_file.mkdir()
    r = drp("show", "1")
    assert (r.exit_code, r.stderr) == (
        4,
        f"Error: the database key file {key_file} named by DRP_DB_KEY_FILE (or the config's "
        "db_key_file) is not a key\n",
    )


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[tuple[str, str], str]]:
    keyring = pytest.importorskip("keyring")
    backend = pytest.importorskip("keyring.backend")
    held: dict[tuple[str, str], str] = {}
    base: Any = backend.KeyringBackend

    class Memory(base):
        priority = 1

        def get_password(self, service: str, username: str) -> str | None:
            return held.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            held[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            held.pop((service, username), None)

    before = keyring.get_keyring()
    keyring.set_keyring(Memory())
    monkeypatch.setenv("DRP_DB_KEY_FILE", "keyring:drp/sw1")
    try:
        yield held
    finally:
        keyring.set_keyring(before)


@pytest.mark.parametrize(
    "garbage",
    ["", "not a key", "ab" * 31, "ab" * 33, "é" * 64, "0x" + "ab" * 31, "ab" * 5000, "\x00" * 64],
)
def test_a_keyring_entry_that_is_not_a_key_is_one_line_exit_4_and_shows_none_of_it(
    drp, db_path: Path, memory_keyring: dict[tuple[str, str], str], garbage: str
) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    memory_keyring[("drp", "sw1")] = garbage
    r = drp("show", "1")
    assert (r.exit_code, r.stderr) == (
        4,
        "Error: the OS keyring entry keyring:drp/sw1 named by DRP_DB_KEY_FILE (or the config's "
        "db_key_file) does not hold a key (64 hexadecimal digits)\n",
    )


def test_db_status_says_when_attached_files_are_kept_plain(
    drp, db_path: Path, stored: Path, plan: Path
) -> None:
    """verify passes (a plain copy is the document), so db status says what is left plain
    in an encrypted database's store and how to finish it."""
    assert drp("db", "status", "--json").json()["plain_files"] == 0
    plain = filestore.plain_path(_root(db_path), SHA)
    plain.parent.mkdir(mode=0o700, exist_ok=True)
    plain.write_bytes(PLAN)
    stored.unlink()
    assert drp("verify").exit_code == 0
    r = drp("db", "status")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[1:] == [
        f"1 attached file is kept plain in {_root(db_path)}: run `drp db encrypt` to encrypt them"
    ]
    assert drp("db", "status", "--json").json()["plain_files"] == 1
    r = drp("db", "encrypt")
    assert (r.exit_code, r.stderr) == (0, "")
    assert drp("db", "status", "--json").json()["plain_files"] == 0
    assert len(drp("db", "status").stdout.splitlines()) == 1


def test_an_export_with_another_stores_file_in_place_says_altered_not_a_wrong_key(
    drp, db_path: Path, stored: Path, plan: Path
) -> None:
    with stored.open("wb") as dst:
        filestore._encrypt([PLAN], dst, SHA, dbkey.new_key())
    r = drp("export", "--format", "csv", "-o", str(db_path.parent / "export"))
    # tampering, as verify, the bundle and subject access say it (exit 6), not "missing"
    assert (r.exit_code, r.stderr) == (
        6,
        "Error: the stored copy of an attachment of concern 1 does not match its SHA-256: it "
        "was changed outside drp; run `drp verify`\n",
    )
