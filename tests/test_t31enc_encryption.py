"""Encryption at rest (issue 31, what to build 1): `drp init --encrypted`, every command with
the key and none without it, `drp db encrypt`, `drp db rekey`, encrypted backups, the
import's build, and the refusal of a PostgreSQL connection without TLS."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from drp_cli.core import dbkey
from drp_cli.core.errors import DatabaseError
from drp_cli.store.connection import Store
from drp_cli.store.dbfile import SCHEMA_REVISION, check_transport
from tests.conftest import PG_URL, open_args

needs_sqlite = pytest.mark.skipif(bool(PG_URL), reason="SQLCipher encrypts a SQLite file")

CHILD = "KN-SECRET-7731"
SUMMARY = "Zanzibar placement plan not reviewed since the autumn"
NOTE = "Quokka visits arranged by the aunt"
NEEDLES = (CHILD.encode(), b"Zanzibar", b"Quokka", CHILD.encode("utf-16-le"))
NO_KEY = (
    "Error: the database {db} is encrypted: set DRP_DB_KEY_FILE (or the config's "
    "db_key_file) to the file holding its key\n"
)
WRONG_KEY = (
    "Error: the key in the file named by DRP_DB_KEY_FILE (or the config's db_key_file) does "
    "not open the encrypted database {db}: give the key it was encrypted with\n"
)


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "db.key"
    monkeypatch.setenv("DRP_DB_KEY_FILE", str(path))
    return path


def _populate(drp) -> None:
    assert drp(*open_args(child=CHILD, summary=SUMMARY)).exit_code == 0
    assert drp("note", "1", "--text", NOTE, "--on", "2025-03-04").exit_code == 0


def _plain_text_in(folder: Path) -> list[str]:
    """Every file under ``folder`` that holds a child's reference, summary or note."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if any(n in data for n in NEEDLES):
                found.append(path.name)
    return found


def _write_key(path: Path, key: bytes) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_text(key.hex() + "\n")
    path.chmod(0o600)


@needs_sqlite
def test_init_encrypted_writes_an_owner_only_key_and_a_file_with_no_sqlite_header(
    drp, db_path: Path, key_file: Path
) -> None:
    r = drp("init", "--encrypted")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (
        f"Encrypted it with SQLCipher. Wrote a new key to {key_file}: keep it owner-only, "
        "apart from the database and its backups; without it the database cannot be read.\n"
    )
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(bytes.fromhex(key_file.read_text().strip())) == 32
    assert not db_path.read_bytes().startswith(b"SQLite format 3\x00")
    assert dbkey.is_encrypted_file(db_path)
    again = drp("init", "--encrypted")
    assert again.stdout == (
        f"encrypted drp database at {db_path} already exists (schema {SCHEMA_REVISION})\n"
    )


@needs_sqlite
def test_no_file_drp_writes_holds_a_child_in_plain_text(
    drp, db_path: Path, key_file: Path, tmp_path: Path
) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    _populate(drp)
    backups = tmp_path / "backups"
    backups.mkdir()
    assert drp("backup", str(backups / "b.sqlite3")).exit_code == 0
    r = drp("backup", str(backups / "b.json"), "--format", "json", "--encrypt")
    assert r.exit_code == 0, r.stderr
    # a connection left open after a write: the pages it wrote are in the write-ahead log
    store = Store(db_path)
    try:
        with store.write() as conn:
            conn.execute("UPDATE concern SET summary = summary || ' again'").close()
        wal = Path(f"{db_path}-wal")
        assert wal.stat().st_size > 4096
        assert _plain_text_in(tmp_path) == []
    finally:
        store.close()
    assert _plain_text_in(tmp_path) == []
    # the backups are drp's and open with the key
    assert json.loads((backups / "b.json").read_text())["encryption"] == "AES-256-GCM"
    copy = Store(backups / "b.sqlite3")
    try:
        with copy.read() as conn:
            assert conn.scalar("SELECT child FROM concern") == CHILD
    finally:
        copy.close()


@needs_sqlite
def test_every_everyday_command_works_with_the_key(drp, key_file: Path, tmp_path: Path) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    _populate(drp)
    steps = [
        ("escalate", "1", "--on", "2025-03-11"),
        ("respond", "1", "--text", "Worker from Monday", "--from", "HoS", "--on", "2025-03-12"),
        ("list",),
        ("overdue", "--on", "2025-04-01"),
        ("show", "1"),
        ("alert", "1", "--on", "2025-03-12"),
        ("verify",),
        ("db", "status"),
        ("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-14"),
        ("list", "--json", "--status", "all"),
    ]
    for args in steps:
        r = drp(*args)
        assert r.exit_code == 0, (args, r.stderr)
    assert [c["child"] for c in drp("list", "--json", "--status", "all").json()] == [CHILD]
    assert _plain_text_in(tmp_path) == []
    assert drp("db", "status", "--json").json()["encrypted"] is True


@needs_sqlite
def test_without_the_key_or_with_a_wrong_one_exit_4_naming_the_setting(
    drp, db_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    _populate(drp)
    monkeypatch.delenv("DRP_DB_KEY_FILE")
    without: list[tuple[str, ...]] = [("list",), ("overdue",), ("show", "1"), ("verify",),
                                      ("backup", "x.json")]  # fmt: skip
    for args in without:
        r = drp(*args)
        assert (r.exit_code, r.stdout, r.stderr) == (4, "", NO_KEY.format(db=db_path)), args
    wrong = tmp_path / "wrong.key"
    _write_key(wrong, bytes(range(32)))
    monkeypatch.setenv("DRP_DB_KEY_FILE", str(wrong))
    wrongly: list[tuple[str, ...]] = [("list",), ("overdue",), ("note", "1", "--text", "x")]
    for args in wrongly:
        r = drp(*args)
        assert (r.exit_code, r.stdout, r.stderr) == (4, "", WRONG_KEY.format(db=db_path)), args
    # a key file others can read, or one that holds no key
    wrong.chmod(0o644)
    r = drp("list")
    assert (r.exit_code, r.stderr) == (
        4,
        f"Error: the database key file {wrong} named by DRP_DB_KEY_FILE (or the config's "
        f"db_key_file) can be read by other users: run `chmod 600 {wrong}`\n",
    )
    wrong.write_text("not a key\n")
    wrong.chmod(0o600)
    r = drp("list")
    assert (r.exit_code, r.stderr) == (
        4,
        f"Error: the database key file {wrong} named by DRP_DB_KEY_FILE (or the config's "
        "db_key_file) does not hold a key (64 hexadecimal digits)\n",
    )


@needs_sqlite
def test_db_encrypt_keeps_every_concern_and_verify_passes(
    drp, db_path: Path, key_file: Path, tmp_path: Path
) -> None:
    _populate(drp)
    assert drp(*open_args(child="KN-0002", summary="Second child")).exit_code == 0
    before = drp("list", "--json", "--status", "all").json()
    head = drp("verify", "--json").json()["head"]
    assert db_path.read_bytes().startswith(b"SQLite format 3\x00")
    assert drp("db", "status", "--json").json()["encrypted"] is False
    r = drp("db", "encrypt")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (
        f"Encrypted {db_path} with a new key written to {key_file}. Backups taken before are "
        "not encrypted: replace them.\n"
    )
    assert dbkey.is_encrypted_file(db_path)
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert drp("list", "--json", "--status", "all").json() == before
    after = drp("verify", "--json").json()
    assert (after["ok"], after["head"], after["concerns"]) == (True, head, 2)
    assert _plain_text_in(tmp_path) == []
    assert [p.name for p in db_path.parent.iterdir() if p.name.startswith(".")] == []
    r = drp("db", "encrypt")
    assert (r.exit_code, r.stderr) == (
        2,
        f"Error: {db_path} is encrypted already (`drp db rekey` changes its key)\n",
    )


@needs_sqlite
def test_db_encrypt_needs_the_setting(drp, db_path: Path) -> None:
    _populate(drp)
    r = drp("db", "encrypt")
    assert (r.exit_code, r.stderr) == (
        2,
        "Error: set DRP_DB_KEY_FILE (or the config's db_key_file) to the file the database "
        "key is written to\n",
    )
    assert db_path.read_bytes().startswith(b"SQLite format 3\x00")


@needs_sqlite
def test_rekey_keeps_the_old_key_for_older_backups(
    drp, db_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    _populate(drp)
    old = key_file.read_text()
    assert drp("backup", str(tmp_path / "before.sqlite3")).exit_code == 0
    r = drp("db", "rekey")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (
        f"Rekeyed {db_path}: the new key is in {key_file}; the old one is in {key_file}.old "
        "for the backups taken before (delete it once they are gone).\n"
    )
    old_file = Path(f"{key_file}.old")
    assert old_file.read_text() == old != key_file.read_text()
    assert stat.S_IMODE(old_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not Path(f"{key_file}.new").exists()
    assert drp("verify").exit_code == 0
    assert [c["child"] for c in drp("list", "--json").json()] == [CHILD]
    monkeypatch.setenv("DRP_DB_KEY_FILE", str(old_file))
    assert drp("list").stderr == WRONG_KEY.format(db=db_path)
    monkeypatch.setenv("DRP_DB", str(tmp_path / "before.sqlite3"))
    assert [c["child"] for c in drp("list", "--json").json()] == [CHILD]


@needs_sqlite
def test_an_encrypted_json_backup_restores_only_with_the_key(
    drp, key_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    _populate(drp)
    backup = tmp_path / "b.json"
    assert drp("backup", str(backup), "--format", "json", "--encrypt").exit_code == 0
    assert not any(n in backup.read_bytes() for n in NEEDLES)
    # --force replaces it: drp knows it as its own backup, unchanged
    again = drp("backup", str(backup), "--format", "json", "--encrypt", "--force")
    assert again.exit_code == 0, again.stderr
    restored = tmp_path / "restored.sqlite3"
    monkeypatch.setenv("DRP_DB", str(restored))
    r = drp("restore", str(backup))
    assert (r.exit_code, r.stdout) == (0, f"Restored 1 concerns and 2 events into {restored}.\n")
    assert dbkey.is_encrypted_file(restored)  # restored encrypted, with the same key
    assert drp("verify").exit_code == 0
    wrong = tmp_path / "wrong.key"
    _write_key(wrong, bytes(32))
    monkeypatch.setenv("DRP_DB_KEY_FILE", str(wrong))
    monkeypatch.setenv("DRP_DB", str(tmp_path / "other.sqlite3"))
    r = drp("restore", str(backup))
    assert (r.exit_code, r.stderr) == (
        4,
        "Error: the key in the file named by DRP_DB_KEY_FILE (or the config's db_key_file) "
        f"does not open the encrypted backup {backup}: give the key it was encrypted with\n",
    )
    assert not (tmp_path / "other.sqlite3").exists()


@needs_sqlite
def test_the_parallel_import_builds_an_encrypted_database(
    drp, db_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from drp_cli.exchange import transfer
    from drp_cli.services.tracker import Tracker

    assert drp("init", "--encrypted").exit_code == 0
    for n in range(7):
        assert drp(*open_args(child=f"{CHILD}-{n}", summary=SUMMARY)).exit_code == 0
    export = tmp_path / "export.json"
    r = drp("export", "--format", "json", "-o", str(export))
    assert r.exit_code == 0, r.stderr
    monkeypatch.setattr(transfer, "WORKERS", 2)
    monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
    monkeypatch.setattr(transfer, "CHUNK", 3)
    target = tmp_path / "new" / "imported.sqlite3"
    target.parent.mkdir(mode=0o700)
    store = Store(target, db_key=dbkey.read_key(key_file))
    tracker = Tracker(store)
    try:
        result = transfer.import_file(tracker, export)
    finally:
        store.close()
    assert result.imported == 7
    assert dbkey.is_encrypted_file(target)
    assert _plain_text_in(target.parent) == []
    monkeypatch.setenv("DRP_DB", str(target))
    assert drp("verify").exit_code == 0
    assert len(drp("list", "--json").json()) == 7


@needs_sqlite
def test_a_plain_database_never_loads_sqlcipher(db_path: Path, drp) -> None:
    import subprocess
    import sys

    _populate(drp)
    code = (
        "import sys\nfrom drp_cli.__main__ import main\nsys.argv = ['drp', 'overdue']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('@@', 'sqlcipher3' in sys.modules, 'drp_cli.store.cipher' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "DRP_DB": str(db_path)}, check=True)  # fmt: skip
    assert out.stdout.rsplit("@@", 1)[1] == " False False\n"


# -- PostgreSQL: never a remote server without TLS (a unit test: no server needed) ----------
@pytest.mark.parametrize(
    "url",
    [
        "postgresql://drp@localhost/drp",
        "postgresql://drp@127.0.0.1:5432/drp",
        "postgresql://drp@[::1]/drp",
        "postgresql://postgres@/postgres?host=/run/postgresql&port=5432",
        "postgresql://drp@/drp",
        "postgresql://drp@db.council.internal/drp?sslmode=verify-full",
        "postgresql://drp@db.council.internal/drp?sslmode=require",
        "postgresql://drp@db.council.internal/drp?sslmode=verify-ca",
    ],
)
def test_a_local_or_tls_connection_is_allowed(url: str) -> None:
    check_transport(url, {})


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("postgresql://drp@db.council.internal/drp", "db.council.internal"),
        ("postgresql://drp@db.council.internal/drp?sslmode=prefer", "db.council.internal"),
        ("postgresql://drp@10.1.2.3:5432/drp?sslmode=disable", "10.1.2.3"),
        ("postgresql://drp@/drp?host=db.council.internal", "db.council.internal"),
    ],
)
def test_a_remote_connection_without_tls_is_refused(url: str, host: str) -> None:
    with pytest.raises(DatabaseError) as caught:
        check_transport(url, {})
    assert str(caught.value) == (
        f"will not connect to the PostgreSQL server {host} without TLS: add "
        "sslmode=verify-full (or require) to the database URL, or set "
        "DRP_PG_ALLOW_PLAINTEXT=1 if the network between is trusted"
    )
    assert caught.value.exit_code == 4
    check_transport(url, {"DRP_PG_ALLOW_PLAINTEXT": "1"})
    if "sslmode" not in url:  # libpq's own variable, when the URL does not say
        check_transport(url, {"PGSSLMODE": "verify-full"})


def test_the_store_refuses_it_before_connecting(monkeypatch: pytest.MonkeyPatch, drp) -> None:
    monkeypatch.delenv("DRP_PG_ALLOW_PLAINTEXT", raising=False)
    monkeypatch.delenv("PGSSLMODE", raising=False)
    monkeypatch.setenv("DRP_DB", "postgresql+psycopg://drp@db.council.internal/drp")
    r = drp("list")
    assert (r.exit_code, r.stdout) == (4, "")
    assert r.stderr == (
        "Error: will not connect to the PostgreSQL server db.council.internal without TLS: add "
        "sslmode=verify-full (or require) to the database URL, or set DRP_PG_ALLOW_PLAINTEXT=1 "
        "if the network between is trusted\n"
    )


@needs_sqlite
def test_temporary_tables_and_indexes_stay_in_memory(drp, db_path: Path, key_file: Path) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    store = Store(db_path)
    try:
        with store.read() as conn:
            assert conn.scalar("PRAGMA temp_store") == 2  # MEMORY
            assert conn.scalar("PRAGMA cipher_version").startswith("4.")
    finally:
        store.close()


@needs_sqlite
def test_a_damaged_page_is_damage_not_a_wrong_key(drp, db_path: Path, key_file: Path) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    _populate(drp)
    pages = db_path.stat().st_size // 4096
    with open(db_path, "r+b") as fh:  # a page of the schema's, after the first
        fh.seek(4096 * (pages - 2) + 200)
        fh.write(b"\xff" * 50)
    r = drp("verify")
    assert r.exit_code == 6
    assert "DAMAGED: SQLite's integrity check says: database disk image is malformed" in r.stderr
    assert "key" not in r.stderr and "not a drp database" not in r.stderr


@needs_sqlite
def test_no_damaged_page_is_called_a_wrong_key(drp, db_path: Path, key_file: Path) -> None:
    """Each page in turn damaged: whatever the command meets is damage (SQLCipher's HMAC
    fails), never a wrong key nor "not a drp database"."""
    assert drp("init", "--encrypted").exit_code == 0
    _populate(drp)
    whole = db_path.read_bytes()
    said = set()
    for page in range(1, len(whole) // 4096):
        damaged = bytearray(whole)
        damaged[4096 * page + 200 : 4096 * page + 250] = b"\xff" * 50
        db_path.write_bytes(bytes(damaged))
        r = drp("list")
        assert "key" not in r.stderr and "not a drp database" not in r.stderr, page
        if r.exit_code:
            said.add(r.stderr.split("(", 1)[1].split(")", 1)[0])
    assert said == {"SQLCipher: database disk image is malformed",
                    "SQLite: database disk image is malformed"}  # fmt: skip
