"""Attached documents encrypted at rest (issue 31.1): with an encrypted database no file in
the attachments folder holds a readable byte of a document or its SHA-256 in its name, every
reader still gets the document, verify catches a changed byte, `drp db encrypt` and `drp db
rekey` carry the files (and a stopped run leaves a store that works), a purge removes
them; a plain database keeps its layout."""

from __future__ import annotations

import hashlib
import inspect
import stat
from pathlib import Path

import pytest

from drp_cli.core import dbkey
from drp_cli.core.errors import DatabaseError
from drp_cli.store import filestore
from tests.conftest import PG_URL, open_args

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLCipher encrypts a SQLite file")

MARKER = b"ZEBRAQUOKKA-CARE-PLAN"
#: more than two chunks, not a whole number of them
BODY = MARKER + b" placement with the maternal aunt\n" * 70_000
WRONG_KEY = (
    "Error: the key in the file named by DRP_DB_KEY_FILE (or the config's db_key_file) does "
    "not open the encrypted database {db}: give the key it was encrypted with\n"
)


def _wired() -> bool:
    """Whether ``drp verify`` checks the stored files through the file store (the lead
    wires the hook in store/record.py)."""
    from drp_cli.store import record

    return "filestore.stored_sha256" in inspect.getsource(record)


@pytest.fixture(autouse=True)
def verify_files(monkeypatch: pytest.MonkeyPatch, db_path: Path) -> None:
    """Until the hook is wired, verify's check of a stored file is given the file store's
    answer here, as the hook will give it (then this does nothing)."""
    if _wired():
        return
    from drp_cli.store import record
    from drp_cli.store.connection import Store

    def stored(path: Path) -> str | None:
        store = Store(db_path)
        try:
            key = store.encryption_key()
        finally:
            store.close()
        return filestore.stored_sha256(path.parent.parent, path.name, key)

    monkeypatch.setattr(record, "_file_sha256", stored)


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "db.key"
    monkeypatch.setenv("DRP_DB_KEY_FILE", str(path))
    return path


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    source = tmp_path / "given" / "care-plan.txt"
    source.parent.mkdir()
    source.write_bytes(BODY)
    return source


def _attach(drp, source: Path, cid: str = "1", kind: str = "care-plan") -> None:
    r = drp("attach", cid, str(source), "--kind", kind, "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr


def _store_dir(db_path: Path) -> Path:
    return db_path.parent / f"{db_path.stem}-attachments"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _readable(folder: Path, *needles: bytes) -> list[str]:
    """Every file under ``folder`` holding one of ``needles`` (or whose name does)."""
    return [
        str(p.relative_to(folder))
        for p in _files(folder)
        if any(n in p.read_bytes() or n.decode() in p.name for n in needles)
    ]


def _encrypted_with_plan(drp, plan: Path) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    assert drp(*open_args()).exit_code == 0
    _attach(drp, plan)


SHA = hashlib.sha256(BODY).hexdigest()


def test_no_file_in_the_store_or_beside_the_database_holds_the_document(
    drp, db_path: Path, key_file: Path, plan: Path
) -> None:
    _encrypted_with_plan(drp, plan)
    home = db_path.parent
    assert _readable(home / "given", MARKER) == ["care-plan.txt"]  # the one given
    everything_else = [p for p in _files(home) if "given" not in p.parts]
    assert everything_else, "nothing written"
    for path in everything_else:
        data = path.read_bytes()
        assert MARKER not in data and SHA.encode() not in data, path
        assert SHA not in path.name and SHA[:16] not in str(path), path
    stored = _files(_store_dir(db_path))
    assert len(stored) == 1
    (path,) = stored
    assert path.name.endswith(".enc") and path.parent.name == path.name[:2]
    assert path.read_bytes()[:9] == filestore.MAGIC + bytes([filestore.VERSION])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(_store_dir(db_path).stat().st_mode) == 0o700
    # the same document attached again is stored once
    _attach(drp, plan, kind="other")
    assert _files(_store_dir(db_path)) == stored


def test_every_reader_gets_the_document_back(
    drp,
    db_path: Path,
    key_file: Path,
    plan: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _encrypted_with_plan(drp, plan)
    shown = drp("attachments", "1", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert [(a["sha256"], a["size"]) for a in shown.json()] == [(SHA, len(BODY))]
    out = tmp_path / "out"
    out.mkdir()
    r = drp("bundle", "1", "-o", str(out / "bundle"), "--pdf", str(out / "bundle.pdf"))
    assert r.exit_code == 0, r.stderr
    assert (out / "bundle" / "attachments" / "01-care-plan-care-plan.txt").read_bytes() == BODY
    assert (out / "bundle.pdf").read_bytes().startswith(b"%PDF")
    r = drp("export", "--format", "csv", "-o", str(out / "export"))
    assert r.exit_code == 0, r.stderr
    assert (out / "export" / "attachments" / SHA).read_bytes() == BODY
    r = drp("subject-access", "KN-2231", "-o", str(out / "sar"), "--on", "2025-03-05", "--no-pdf")
    assert r.exit_code == 0, r.stderr
    assert (out / "sar" / "attachments" / "1-1-care-plan.txt").read_bytes() == BODY
    # the export imports into another encrypted database, its file encrypted on the way in
    monkeypatch.setenv("DRP_DB", str(tmp_path / "other" / "drp.sqlite3"))
    (tmp_path / "other").mkdir()
    assert drp("init", "--encrypted").exit_code == 0
    r = drp("import", str(out / "export"))
    assert r.exit_code == 0, r.stderr
    assert _readable(tmp_path / "other", MARKER) == []
    assert len(_files(tmp_path / "other" / "drp-attachments")) == 1
    assert drp("verify").exit_code == 0
    # nothing readable was left anywhere but the outputs asked for
    assert _readable(tmp_path, MARKER) == [
        "given/care-plan.txt",
        "out/bundle/attachments/01-care-plan-care-plan.txt",
        f"out/export/attachments/{SHA}",
        "out/sar/attachments/1-1-care-plan.txt",
    ]


def test_verify_passes_then_catches_one_changed_byte(
    drp, db_path: Path, key_file: Path, plan: Path
) -> None:
    _encrypted_with_plan(drp, plan)
    r = drp("verify")
    assert (r.exit_code, r.stderr) == (0, "")
    (path,) = _files(_store_dir(db_path))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    r = drp("verify")
    assert r.exit_code == 6
    assert r.stderr == "TAMPERED: concern 1: the stored file of attachment 1 was altered\n"
    r = drp("bundle", "1", "-o", str(db_path.parent / "b"))
    assert (r.exit_code, r.stderr) == (
        6,
        "Error: the stored copy of attachment 1 does not match its SHA-256: it was changed "
        "outside drp; run `drp verify`\n",
    )
    assert not (db_path.parent / "b").exists()
    path.unlink()
    r = drp("verify")
    assert r.stderr == "TAMPERED: concern 1: the stored file of attachment 1 is missing\n"


def test_a_wrong_key_is_exit_4_naming_the_setting(
    drp, db_path: Path, key_file: Path, plan: Path
) -> None:
    _encrypted_with_plan(drp, plan)
    key_file.write_text(dbkey.new_key().hex() + "\n")
    r = drp("bundle", "1", "-o", str(db_path.parent / "b"))
    assert (r.exit_code, r.stderr) == (4, WRONG_KEY.format(db=db_path))
    # a stored file read with another key than its own (the store's own reader)
    (path,) = _files(_store_dir(db_path))
    with pytest.raises(DatabaseError) as caught:
        b"".join(filestore.read_stored(path, SHA, dbkey.new_key()))
    assert str(caught.value) == (
        "the key in the file named by DRP_DB_KEY_FILE (or the config's db_key_file) does not "
        "open the encrypted attached files: give the key they were encrypted with"
    )


def test_db_encrypt_encrypts_the_stored_files_and_leaves_no_plain_one(
    drp, db_path: Path, key_file: Path, plan: Path
) -> None:
    assert drp(*open_args()).exit_code == 0
    _attach(drp, plan)
    plain = _store_dir(db_path) / SHA[:2] / SHA
    assert plain.read_bytes() == BODY  # a plain database keeps today's layout
    r = drp("db", "encrypt")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (
        f"Encrypted {db_path}, and its 1 attached file in {_store_dir(db_path)}, with a new "
        f"key written to {key_file}. Backups taken before are not encrypted: replace them.\n"
    )
    assert _readable(db_path.parent, MARKER) == ["given/care-plan.txt"]
    assert [p.name.endswith(".enc") for p in _files(_store_dir(db_path))] == [True]
    assert drp("verify").exit_code == 0
    r = drp("bundle", "1", "-o", str(db_path.parent / "b"))
    assert r.exit_code == 0, r.stderr
    assert (db_path.parent / "b/attachments/01-care-plan-care-plan.txt").read_bytes() == BODY
    r = drp("db", "encrypt")
    assert (r.exit_code, r.stderr) == (
        2,
        f"Error: {db_path} is encrypted already (`drp db rekey` changes its key)\n",
    )


def test_a_db_encrypt_stopped_part_way_leaves_a_working_store(
    drp, db_path: Path, key_file: Path, plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drp_cli.services import dbcrypt

    assert drp(*open_args()).exit_code == 0
    _attach(drp, plan)
    store = _store_dir(db_path)
    # stopped before the database is switched: as it was, no encrypted copy left over
    with monkeypatch.context() as m:
        m.setattr(dbcrypt, "_checked", _stop)
        assert drp("db", "encrypt").exit_code == STOPPED
    assert [p.name for p in _files(store)] == [SHA]
    assert not dbkey.is_encrypted_file(db_path)
    assert drp("verify").exit_code == 0
    # stopped after it, before the plain copies go: the encrypted ones are read
    with monkeypatch.context() as m:
        m.setattr(dbcrypt, "_drop_old", _stop)
        assert drp("db", "encrypt").exit_code == STOPPED
    assert dbkey.is_encrypted_file(db_path)
    assert sorted(p.name.endswith(".enc") for p in _files(store)) == [False, True]
    assert drp("verify").exit_code == 0
    r = drp("bundle", "1", "-o", str(db_path.parent / "b"))
    assert r.exit_code == 0, r.stderr
    # and running it again finishes
    r = drp("db", "encrypt")
    assert (r.exit_code, r.stderr) == (0, "")
    assert r.stdout == (
        f"{db_path} was encrypted already; encrypted the attached files left plain in "
        f"{store} and removed the plain copies.\n"
    )
    assert _readable(db_path.parent, MARKER) == [
        "b/attachments/01-care-plan-care-plan.txt",
        "given/care-plan.txt",
    ]
    assert drp("verify").exit_code == 0


def test_db_encrypt_refuses_a_stored_file_that_was_altered(
    drp, db_path: Path, key_file: Path, plan: Path
) -> None:
    assert drp(*open_args()).exit_code == 0
    _attach(drp, plan)
    plain = _store_dir(db_path) / SHA[:2] / SHA
    plain.write_bytes(BODY[:-1] + b"!")
    r = drp("db", "encrypt")
    assert (r.exit_code, r.stderr) == (
        6,
        "Error: a stored attached file does not match its SHA-256: nothing was changed (run "
        "`drp verify`)\n",
    )
    assert not dbkey.is_encrypted_file(db_path)
    assert [p.name for p in _files(_store_dir(db_path))] == [SHA]


#: how drp ends when it is interrupted (Ctrl-C)
STOPPED = 130


def _stop(*args: object) -> None:
    raise KeyboardInterrupt


def test_an_encrypted_database_with_plain_files_from_an_older_drp_works(
    drp, db_path: Path, key_file: Path, plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drp_cli.services import dbcrypt

    assert drp(*open_args()).exit_code == 0
    _attach(drp, plan)
    store = _store_dir(db_path)
    (store / ".incoming-stopped").write_bytes(BODY[:100])
    with monkeypatch.context() as m:  # encrypted as drp did before it encrypted the files
        m.setattr(dbcrypt, "_move_files", lambda *args: [])
        m.setattr(dbcrypt, "_drop_old", lambda *args: None)
        assert drp("db", "encrypt").exit_code == 0
    assert [p.name for p in _files(store)] == [".incoming-stopped", SHA]
    assert drp("verify").exit_code == 0
    r = drp("bundle", "1", "-o", str(db_path.parent / "b"))
    assert r.exit_code == 0, r.stderr
    r = drp("db", "encrypt")
    assert r.exit_code == 0, r.stderr
    assert _readable(db_path.parent, MARKER) == [
        "b/attachments/01-care-plan-care-plan.txt",
        "given/care-plan.txt",
    ]
    assert [p.name.endswith(".enc") for p in _files(store)] == [True]
    assert drp("verify").exit_code == 0


def test_rekey_encrypts_the_files_again_under_new_names(
    drp, db_path: Path, key_file: Path, plan: Path
) -> None:
    _encrypted_with_plan(drp, plan)
    (before,) = _files(_store_dir(db_path))
    r = drp("db", "rekey")
    assert r.exit_code == 0, r.stderr
    (after,) = _files(_store_dir(db_path))
    assert after.name != before.name and after.name.endswith(".enc")
    old = dbkey.read_key(Path(f"{key_file}.old"))
    new = dbkey.read_key(key_file)
    assert after == filestore.stored_path(_store_dir(db_path), SHA, new)
    assert b"".join(filestore.read_stored(after, SHA, new)) == BODY
    with pytest.raises(DatabaseError):
        b"".join(filestore.read_stored(after, SHA, old))
    assert drp("verify").exit_code == 0
    r = drp("bundle", "1", "-o", str(db_path.parent / "b"))
    assert r.exit_code == 0, r.stderr
    assert _readable(_store_dir(db_path), MARKER) == []


def test_a_rekey_that_fails_leaves_the_old_files(
    drp, db_path: Path, key_file: Path, plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drp_cli.store.connection import Store

    _encrypted_with_plan(drp, plan)
    before = _files(_store_dir(db_path))
    with monkeypatch.context() as m:
        m.setattr(Store, "rekey", _stop)
        assert drp("db", "rekey").exit_code == STOPPED
    assert _files(_store_dir(db_path)) == before
    assert not Path(f"{key_file}.new").exists()
    assert drp("verify").exit_code == 0


def test_a_purge_removes_the_encrypted_file(drp, db_path: Path, key_file: Path, plan: Path) -> None:
    _encrypted_with_plan(drp, plan)
    assert drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-10").exit_code == 0
    assert drp("config", "set", "retention_years", "6").exit_code == 0
    assert len(_files(_store_dir(db_path))) == 1
    r = drp("purge", "--on", "2031-03-12", "--yes")
    assert r.exit_code == 0, r.stderr
    assert _files(_store_dir(db_path)) == []
    assert drp("verify").exit_code == 0


def test_a_plain_database_keeps_its_files_as_they_are(drp, db_path: Path, plan: Path) -> None:
    assert drp(*open_args()).exit_code == 0
    _attach(drp, plan)
    assert [str(p.relative_to(db_path.parent)) for p in _files(_store_dir(db_path))] == [
        f"drp-attachments/{SHA[:2]}/{SHA}"
    ]
    assert (_store_dir(db_path) / SHA[:2] / SHA).read_bytes() == BODY
    assert drp("verify").exit_code == 0
