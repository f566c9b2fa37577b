"""Encryption at rest for a SQLite database (SQLCipher): ``drp init --encrypted``, ``drp db
encrypt`` (a plain database converted in place) and ``drp db rekey`` (a new key).

The key file is named by ``DRP_DB_KEY_FILE`` or the config's ``db_key_file``
(:mod:`drp_cli.core.dbkey`). A conversion never leaves a half-made database: the encrypted
copy is written owner-only beside the database, opened with the key and checked as ``drp
verify`` checks it (and its rows counted against the original's), and only then renamed
over it. A rekey writes the new key beside the old one (``KEYFILE.new``) before the
database changes, so a key is never lost; the old key stays as ``KEYFILE.old`` (0600):
backups taken before the rekey are still encrypted with it.

The attached files (:mod:`drp_cli.store.filestore`) go the same way, and a crash at any
point leaves a store that works: every file is first written encrypted under its new name
beside the old copy (a plain one, or one under the old key's name), then the database is
switched, then the old copies are removed. Stopped before the switch, the database and its
old copies are as they were (the new copies, encrypted, are used again by the next run);
stopped after it, the new copies are all there and are the ones read, and running ``drp db
encrypt`` again removes plain copies left behind (a rekey's leftovers are encrypted with the
old key, kept as ``KEYFILE.old``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from drp_cli.adapters.outpaths import check_protected, protected_paths
from drp_cli.core import dbkey
from drp_cli.core.errors import DatabaseError, InvalidInput, RecordTampered
from drp_cli.core.files import write_private
from drp_cli.store import filestore
from drp_cli.store.connection import TABLES, Store
from drp_cli.store.dbfile import SIDE_FILES, sqlite_uri


@dataclass(frozen=True)
class KeyChoice:
    path: Path
    key: bytes
    created: bool  # a new key was written (False: the file held one already)
    #: attached files encrypted (under their new names)
    files: int = 0
    #: only the plain copies an interrupted `drp db encrypt` left were finished
    resumed: bool = False


def _sqlite(store: Store, what: str) -> Path:
    if store.path is None:
        raise InvalidInput(
            f"{what} is for a SQLite database; a PostgreSQL server encrypts its own disk "
            "(see the manual's data-protection page)"
        )
    return store.path


def _key_path(store: Store) -> Path:
    path = dbkey.key_file()
    if path is None:
        raise InvalidInput(f"set {dbkey.SETTING} to the file the database key is written to")
    if dbkey.in_keyring(path) is None:
        check_protected(path, protected_paths(store), what="database key file")
    return path


def choose_key(store: Store) -> KeyChoice:
    """The key a database is encrypted with: the one already in the key file, else a new
    random one written there (owner-only)."""
    path = _key_path(store)
    if dbkey.key_exists(path):
        return KeyChoice(path, dbkey.read_key(path), False)
    key = dbkey.new_key()
    dbkey.write_key(path, key)
    return KeyChoice(path, key, True)


def init_encrypted(store: Store) -> KeyChoice | None:
    """Create an encrypted database; None when a database is there already (an encrypted
    one; a plain one is refused: ``drp db encrypt`` converts it)."""
    _sqlite(store, "--encrypted")
    if store.exists:
        if not store.encrypted:
            raise InvalidInput(
                f"{store.label} is a plain (unencrypted) drp database already: run "
                "`drp db encrypt` to encrypt it"
            )
        return None
    choice = choose_key(store)
    store.db_key = choice.key
    store.create()
    return choice


def counts(store: Store) -> dict[str, int]:
    return store.row_counts(TABLES)


def _checked(copy: Path, key: bytes, expected: dict[str, int]) -> None:
    """Open the copy with ``key``: its record must verify and hold as many rows as the
    original, or nothing is replaced."""
    from drp_cli.services.tracker import Tracker

    store = Store(copy, db_key=key)
    try:
        found = counts(store)
        report = Tracker(store).verify(files=False)
    finally:
        store.close()
    if found != expected:
        raise DatabaseError("the encrypted copy does not hold every row: nothing was changed")
    if not report.ok:
        raise DatabaseError(
            "the encrypted copy does not verify: nothing was changed (run `drp verify`)"
        )


def _shas(store: Store) -> list[str]:
    """Every stored file to carry: those the attachments name, and any other plain file
    in the folder (none is left readable)."""
    with store.read() as conn:
        named = filestore.attached_shas(conn)
    return sorted(set(named) | set(filestore.plain_files(store.attachments_dir)))


def _move_files(store: Store, shas: list[str], old: bytes | None, new: bytes) -> list[Path]:
    """Write every stored file of ``shas`` encrypted with ``new`` (the old copies stay).
    Returns the new copies this call wrote: the caller removes them if the database is not
    switched. A copy that is not its file refuses the whole change (exit 6)."""
    root = store.attachments_dir
    written: list[Path] = []
    try:
        for sha in shas:
            target = filestore.stored_path(root, sha, new)
            there = os.path.lexists(target)
            try:
                filestore.move_stored(root, sha, old, new)
            except (filestore.StoredFileDamaged, InvalidInput):
                raise RecordTampered(
                    "a stored attached file does not match its SHA-256: nothing was changed "
                    "(run `drp verify`)"
                ) from None
            except OSError as exc:
                raise DatabaseError(
                    f"cannot encrypt the attached files in {store.attachments_dir}: "
                    f"{exc.strerror}; nothing was changed"
                ) from None
            if not there and os.path.lexists(target):
                written.append(target)
    except BaseException:
        _unlink(written)
        raise
    return written


def _unlink(paths: list[Path]) -> None:
    for written in paths:
        written.unlink(missing_ok=True)


def _drop_old(store: Store, shas: list[str], old: bytes | None, new: bytes) -> None:
    """Once the database is switched to ``new``: remove each file's copy under ``old`` (and
    any plain one), and what a stopped copy left in the folder. A file whose new copy is
    missing keeps its old one."""
    root = store.attachments_dir
    for sha in shas:
        if not os.path.lexists(filestore.stored_path(root, sha, new)):
            continue
        kept = filestore.stored_path(root, sha, new)
        for path in {filestore.stored_path(root, sha, old), filestore.plain_path(root, sha)}:
            if path != kept:
                path.unlink(missing_ok=True)
    for leftover in filestore.incoming(root):
        leftover.unlink(missing_ok=True)


def finish_files(store: Store) -> int:
    """An encrypted database's plain stored files (left by a ``drp db encrypt`` that was
    stopped, or by an older drp that did not encrypt them): encrypted, then removed.
    Returns how many."""
    key = store.encryption_key()
    assert key is not None
    root = store.attachments_dir
    plain = filestore.plain_files(root)
    left = filestore.incoming(root)
    if not plain and not left:
        return 0
    _move_files(store, plain, None, key)
    _drop_old(store, plain, None, key)
    return len(plain) or len(left)


def encrypt(store: Store) -> KeyChoice:
    """Encrypt the plain database in place with the key in the key file (a new one if the
    file is not there): its attached files written encrypted first, then the database
    exported, checked, and renamed over it, then the plain files removed. An encrypted
    database whose plain files were left (a stopped run): they are finished."""
    from drp_cli.store import cipher

    path = _sqlite(store, "drp db encrypt")
    store.require()
    if store.encrypted:
        done = finish_files(store)
        if not done:
            raise InvalidInput(
                f"{store.label} is encrypted already (`drp db rekey` changes its key)"
            )
        key_path = dbkey.key_file()
        return KeyChoice(key_path or Path(), store.encryption_key() or b"", False, done, True)
    store.checkpoint()  # every page of the write-ahead log into the file
    before = counts(store)
    shas = _shas(store)
    store.close()
    choice = choose_key(store)
    written = _move_files(store, shas, None, choice.key)

    def write(tmp: Path) -> None:
        try:
            src = cipher.connect(sqlite_uri(path), None, store.label, uri=True,
                                 isolation_level=None)  # fmt: skip
            try:
                cipher.export(src, str(tmp), choice.key, journal="WAL")
                again = Store(path)
                try:
                    changed = counts(again) != before
                finally:
                    again.close()
                if changed:
                    raise DatabaseError(f"{store.label} changed while it was being encrypted: "
                                        "nothing was changed; try again")  # fmt: skip
            finally:
                src.close()
            _checked(tmp, choice.key, before)
        finally:
            for side in SIDE_FILES:
                Path(f"{tmp}{side}").unlink(missing_ok=True)

    try:
        write_private(path, write)
    except OSError as exc:
        _unlink(written)
        raise DatabaseError(f"cannot write beside {store.label}: {exc.strerror}") from None
    except BaseException:
        _unlink(written)
        raise
    for side in ("-wal", "-shm"):  # the plain file's, now stale
        Path(f"{path}{side}").unlink(missing_ok=True)
    store.db_key = choice.key
    _drop_old(store, shas, None, choice.key)
    return KeyChoice(choice.path, choice.key, choice.created, len(shas))


def rekey(store: Store) -> Path:
    """Encrypt the database with a new key: written first to ``KEYFILE.new``, the database
    rekeyed (one transaction), checked, then the old key kept as ``KEYFILE.old`` and the new
    one renamed into place. Returns the key file."""
    _sqlite(store, "drp db rekey")
    store.require()
    old = store.encryption_key()
    if old is None:
        raise InvalidInput(f"{store.label} is not encrypted: `drp db encrypt` encrypts it")
    path = _key_path(store)
    new = dbkey.new_key()
    fresh = path.with_name(path.name + ".new")
    dbkey.write_key(fresh, new)
    before = counts(store)
    written: list[Path] = []
    try:
        shas = _shas(store)
        written = _move_files(store, shas, old, new)  # the files first, under new names
        store.rekey(new)
    except BaseException:
        _unlink(written)
        dbkey.remove_key(fresh)
        raise
    store.close()
    _checked(store.path or Path(), new, before)
    dbkey.write_key(path.with_name(path.name + ".old"), old)
    dbkey.replace_key(fresh, path)
    store.db_key = new
    _drop_old(store, shas, old, new)
    return path
