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
    Returns where this call wrote new copies (a path there may be missing: a file with no
    copy to carry): the caller removes them if the database is not switched. A copy that is
    not its file refuses the whole change (exit 6)."""
    root = store.attachments_dir
    written: list[Path] = []
    try:
        for sha in shas:
            target = filestore.stored_path(root, sha, new)
            if not os.path.lexists(target):
                written.append(target)  # before it is written: a stop part way removes it
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
    except BaseException:
        _unlink(written)
        raise
    return written


def _unlink(paths: list[Path]) -> None:
    for written in paths:
        filestore.discard(written)


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
                filestore.discard(path)  # and its folder once empty
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


def _drop_stale_copies(path: Path) -> None:
    """The encrypted copies of the database that a killed ``drp db encrypt`` left beside it
    (``.NAME.xxxxxxxx.tmp``, as :func:`drp_cli.core.files.write_private` names them, with
    their journal): removed. A copy is removed only if it is empty or encrypted."""
    import re

    pattern = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if not pattern.fullmatch(name):
            continue
        copy = path.parent / name
        try:
            empty = os.lstat(copy).st_size == 0
        except OSError:
            continue
        if empty or dbkey.is_encrypted_file(copy):
            for side in ("", *SIDE_FILES):
                Path(f"{copy}{side}").unlink(missing_ok=True)


def encrypt(store: Store) -> KeyChoice:
    """Encrypt the plain database in place with the key in the key file (a new one if the
    file is not there): its attached files written encrypted first, then the database
    exported, checked, and renamed over it, then the plain files removed. An encrypted
    database whose plain files were left (a stopped run): they are finished."""
    from drp_cli.store import cipher

    path = _sqlite(store, "drp db encrypt")
    store.require()
    _drop_stale_copies(path)
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


@dataclass(frozen=True)
class Rekeyed:
    #: the key file (or OS keyring entry) that holds the database's key now
    path: Path
    #: a rekey that was stopped after the database took its new key was finished (no new
    #: key was made this time)
    resumed: bool = False


def _pending(path: Path) -> Path:
    """Where a rekey keeps the new key until the database has it: ``KEYFILE.new``."""
    return path.with_name(path.name + ".new")


def _opens(path: Path, key: bytes) -> bool:
    """Whether ``key`` opens the encrypted database file ``path`` (its schema is read)."""
    from drp_cli.core.errors import DrpError

    probe = Store(path, db_key=key, prepare=False)
    try:
        return probe.revision() is not None
    except DrpError:
        return False
    finally:
        probe.close()


def _held(path: Path) -> bytes | None:
    """The key kept at ``path``; None when there is none, or what is there is not a key."""
    try:
        return dbkey.read_key(path) if dbkey.key_exists(path) else None
    except DatabaseError:
        return None


def _switch_keys(path: Path, old: bytes | None, new: bytes) -> None:
    """The database has taken the key in ``KEYFILE.new``: keep the old key as
    ``KEYFILE.old`` and put the new one in the key file."""
    if old is not None and old != new:
        dbkey.write_key(path.with_name(path.name + ".old"), old)
    dbkey.replace_key(_pending(path), path)


def _resume(store: Store, path: Path) -> bool:
    """A ``drp db rekey`` that was stopped (killed, the machine off) leaves its new key in
    ``KEYFILE.new``. Stopped before the database took it: the copies of the attached files
    it wrote under that key are removed, and the key. Stopped after: the database opens
    only with that key, so it is put in the key file (the old one kept as ``KEYFILE.old``)
    and the old copies are removed: returns True. Anything else is left as it is."""
    pending = _pending(path)
    new = _held(pending)
    db = store.path
    if new is None or db is None or not dbkey.is_encrypted_file(db):
        return False
    old = _held(path)
    root = store.attachments_dir
    if old is not None and old != new and _opens(db, old):
        store.close()
        store.db_key = old
        for sha in _shas(store):
            stale = filestore.stored_path(root, sha, new)
            if stale != filestore.stored_path(root, sha, old):
                filestore.discard(stale)
        for leftover in filestore.incoming(root):
            leftover.unlink(missing_ok=True)
        dbkey.remove_key(pending)
        return False
    if not _opens(db, new):
        return False  # neither key opens it: the usual error follows, both keys are kept
    store.close()
    store.db_key = new
    _switch_keys(path, old, new)
    _drop_old(store, _shas(store), old, new)
    return True


def _sweep_older(store: Store, path: Path, key: bytes, shas: list[str]) -> None:
    """Copies left under the key kept as ``KEYFILE.old`` by a rekey stopped before it removed
    them (each one's copy under ``key``, the database's, is there): removed before the key
    file ``.old`` is given the next key, without which they would open with no key left."""
    older = _held(path.with_name(path.name + ".old"))
    if older is None or older == key:
        return
    root = store.attachments_dir
    for sha in shas:
        if os.path.lexists(filestore.stored_path(root, sha, key)):
            filestore.discard(filestore.stored_path(root, sha, older))


def rekey(store: Store) -> Rekeyed:
    """Encrypt the database with a new key: written first to ``KEYFILE.new``, the attached
    files copied under it, the database rekeyed (one transaction), at once the old key kept
    as ``KEYFILE.old`` and the new one renamed into place, then the database checked and
    the old copies removed. A stop at any point loses no key: interrupted (Ctrl-C, SIGTERM)
    once the database has its new key, the keys are still switched; killed between the two,
    running it again finishes the job (see :func:`_resume`)."""
    _sqlite(store, "drp db rekey")
    if dbkey.key_file() is not None and _resume(store, _key_path(store)):
        return Rekeyed(_key_path(store), resumed=True)
    store.require()
    old = store.encryption_key()
    if old is None:
        raise InvalidInput(f"{store.label} is not encrypted: `drp db encrypt` encrypts it")
    path = _key_path(store)
    new = dbkey.new_key()
    fresh = _pending(path)
    dbkey.write_key(fresh, new)
    before = counts(store)
    written: list[Path] = []
    shas: list[str] = []
    db = store.path or Path()
    try:
        shas = _shas(store)
        _sweep_older(store, path, old, shas)
        written = _move_files(store, shas, old, new)  # the files first, under new names
        store.rekey(new)
    except BaseException:
        # Was the rekey done before this stopped it (Ctrl-C or SIGTERM while SQLCipher
        # rewrote the pages ends the call only once it has committed)? Then the new key is
        # the only one that opens the database: never remove it.
        store.close()
        if _opens(db, old):
            _unlink(written)
            dbkey.remove_key(fresh)
        elif _opens(db, new):
            store.db_key = new
            _switch_keys(path, old, new)
            _drop_old(store, shas, old, new)
        raise
    _switch_keys(path, old, new)
    store.close()
    store.db_key = new
    # a document attached by another drp after the files were listed, before the rekey:
    # its copy is under the old key's name, where the database no longer looks
    late = sorted(set(_shas(store)) - set(shas))
    if late:
        _move_files(store, late, old, new)
        shas = [*shas, *late]
    _checked(db, new, before)
    _drop_old(store, shas, old, new)
    return Rekeyed(path)
