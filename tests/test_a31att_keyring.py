"""The database key in the OS keyring, as an option (issue 31.1): ``DRP_DB_KEY_FILE`` (or
``db_key_file``) set to ``keyring:SERVICE/NAME``. Tested with an in-memory keyring backend:
nothing here touches a real keyring. Without the keyring package, or with no keyring on the
machine, one line naming the setting, exit 4."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drp_cli.core import dbkey
from tests.conftest import PG_URL, open_args

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLCipher encrypts a SQLite file")

SPEC = "keyring:drp/test-team"
MARKER = b"KEYRINGQUOKKA care plan"


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[tuple[str, str], str]]:
    # (imported by name: the keyring package is an optional extra, and may be missing)
    keyring = pytest.importorskip("keyring")
    backend = pytest.importorskip("keyring.backend")
    errors = pytest.importorskip("keyring.errors")

    held: dict[tuple[str, str], str] = {}

    base: Any = backend.KeyringBackend

    class Memory(base):
        priority = 1

        def get_password(self, service: str, username: str) -> str | None:
            return held.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            held[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            if held.pop((service, username), None) is None:
                raise errors.PasswordDeleteError("no such entry")

    before = keyring.get_keyring()
    keyring.set_keyring(Memory())
    monkeypatch.setenv("DRP_DB_KEY_FILE", SPEC)
    try:
        yield held
    finally:
        keyring.set_keyring(before)


def test_init_encrypted_keeps_the_key_in_the_keyring_and_every_command_opens_it(
    drp, db_path: Path, memory_keyring: dict[tuple[str, str], str], tmp_path: Path
) -> None:
    r = drp("init", "--encrypted")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (
        f"Encrypted it with SQLCipher. Wrote a new key to {SPEC}: keep it owner-only, apart "
        "from the database and its backups; without it the database cannot be read.\n"
    )
    assert list(memory_keyring) == [("drp", "test-team")]
    key = bytes.fromhex(memory_keyring[("drp", "test-team")])
    assert len(key) == 32 and dbkey.is_encrypted_file(db_path)
    assert not Path(SPEC).exists() and not (Path.cwd() / "keyring:drp").exists()
    assert drp(*open_args()).exit_code == 0
    plan = tmp_path / "given.txt"
    plan.write_bytes(MARKER * 100)
    r = drp("attach", "1", str(plan), "--kind", "care-plan", "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr
    r = drp("bundle", "1", "-o", str(tmp_path / "b"))
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "b/attachments/01-care-plan-given.txt").read_bytes() == MARKER * 100
    attachments = tmp_path / "drp-attachments"
    assert [p for p in attachments.rglob("*") if p.is_file() and MARKER in p.read_bytes()] == []


def test_rekey_keeps_the_old_key_beside_the_new_one_in_the_keyring(
    drp, db_path: Path, memory_keyring: dict[tuple[str, str], str]
) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    old = memory_keyring[("drp", "test-team")]
    r = drp("db", "rekey")
    assert r.exit_code == 0, r.stderr
    assert sorted(memory_keyring) == [("drp", "test-team"), ("drp", "test-team.old")]
    assert memory_keyring[("drp", "test-team.old")] == old
    assert memory_keyring[("drp", "test-team")] != old
    assert drp("list").exit_code == 0


def test_a_missing_entry_is_exit_4_naming_the_setting(
    drp, db_path: Path, memory_keyring: dict[tuple[str, str], str]
) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    memory_keyring.clear()
    r = drp("list")
    assert (r.exit_code, r.stderr) == (
        4,
        f"Error: the OS keyring holds no database key at {SPEC} named by DRP_DB_KEY_FILE (or "
        "the config's db_key_file)\n",
    )


def test_no_keyring_on_the_machine_is_exit_4(drp, memory_keyring) -> None:
    keyring = pytest.importorskip("keyring")
    fail = pytest.importorskip("keyring.backends.fail")
    keyring.set_keyring(fail.Keyring())
    r = drp("init", "--encrypted")
    assert (r.exit_code, r.stderr) == (
        4,
        f"Error: DRP_DB_KEY_FILE (or the config's db_key_file) names the OS keyring ({SPEC}), "
        "but no keyring is available on this machine: name a key file instead\n",
    )


def test_without_the_keyring_package_exit_4(
    drp, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # as if it were not installed
    monkeypatch.setenv("DRP_DB_KEY_FILE", SPEC)
    r = drp("init", "--encrypted")
    assert (r.exit_code, r.stderr) == (
        4,
        f"Error: DRP_DB_KEY_FILE (or the config's db_key_file) names the OS keyring ({SPEC}), "
        "but the keyring package is not installed: install drp with its keyring extra (pip "
        "install 'drp[keyring]') or name a key file\n",
    )
    assert not db_path.exists()


def test_a_malformed_keyring_setting_is_exit_4(drp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRP_DB_KEY_FILE", "keyring:drp")
    r = drp("init", "--encrypted")
    assert (r.exit_code, r.stderr) == (
        4,
        "Error: DRP_DB_KEY_FILE (or the config's db_key_file) names the OS keyring as "
        "keyring:SERVICE/NAME (for example keyring:drp/main), not keyring:drp\n",
    )
