"""Backups: a consistent copy while others are writing.

* SQLite: ``backup(store, FILE)`` uses SQLite's online backup API; the copy is a working
  drp database (0600).
* Any engine: ``export_json(store, FILE)`` writes every table as portable JSON, read in one
  snapshot; ``restore_json(store, FILE)`` loads it into an empty database of either engine,
  so a service can move from SQLite to PostgreSQL and back.

Encrypted: a SQLite copy of an encrypted database is encrypted with the same key (SQLCipher's
export). A JSON backup taken with ``encrypt=True`` (``--encrypt``) is an envelope that drp
still recognises as its backup: the JSON backup itself, encrypted with AES-256-GCM under a
key derived (HKDF-SHA256) from the database key in ``DRP_DB_KEY_FILE`` / ``db_key_file``;
``drp restore`` decrypts it with the same key.

Attached files live in the attachments folder (``Store.attachments_dir``): back it up with
the database.

What drp writes it can recognise unchanged: ``--force`` replaces a backup only if it is as
drp wrote it (a SQLite copy is a working database that someone may have recorded in since).
Each backup carries a digest of its own bytes (:func:`_stamp_sqlite`, :func:`_stamp_json`):
a SQLite copy in its header's user version (4 bytes), a JSON backup as its ``sha256``.

A restore reads only a regular file of at most :data:`MAX_BACKUP_BYTES`, refuses JSON
nested deeper than a backup is, and checks the restored record as ``drp verify`` does
(the chain, every concern against its events) before it commits: a backup with a forged
event is refused (exit 6) and leaves the target as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drp_cli.adapters.outpaths import (
    BACKUPS,
    SQLITE_BACKUP_ID,
    check_output,
    check_source,
    protected_paths,
)
from drp_cli.core.errors import DatabaseError, InvalidInput, RecordTampered, fld
from drp_cli.core.files import read_regular, write_private
from drp_cli.core.textsafe import shown_path
from drp_cli.store import record
from drp_cli.store.connection import TABLES, Conn, Store
from drp_cli.store.dbfile import SCHEMA_REVISION, SIDE_FILES, is_blank

if TYPE_CHECKING:
    from drp_cli.domain.protocols import Protocol

FORMAT = "drp-backup"
VERSION = 1
#: The largest JSON backup ``drp restore`` reads (it is read whole, then parsed).
MAX_BACKUP_BYTES = 1024 * 1024 * 1024
#: How long a temporary copy beside a backup goes untouched before it counts as left by a
#: backup that was killed (a running backup writes it continuously): then the next backup
#: into that folder removes it.
STALE_AFTER = 3600  # seconds


def _private_target(store: Store, path: Path, force: bool) -> Path:
    """Where to write a backup (resolved): never the database, its side files or the
    attachment store; with ``force`` it replaces only an earlier backup drp wrote."""
    return check_output(
        path, protected_paths(store), force=force, kind="file", what="backup", replaces=BACKUPS
    )


def _write_atomically(path: Path, writer: Any) -> None:
    write_private(path, writer)
    remove_stale_temporaries(path.parent)


# -- a backup knows whether it changed since drp wrote it -----------------------------------
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Where a SQLite file keeps its user version (4 bytes, big-endian): drp's digest of a copy.
_USER_VERSION_AT = 60
_DIGEST_KEY = '"sha256": "'
_JSON_DIGEST = re.compile(rb'\{\s*"format":\s*"drp-backup",[^{}]{0,300}?"sha256": "([0-9a-f]{64})"')
#: How drp's JSON files start (a backup or an export), as json.dumps writes them.
_JSON_START = re.compile(rb'\A\{\s*"format":\s*"drp-')
_BLANK_DIGEST = "0" * 64


def _digest(path: Path, at: int, length: int, blank: bytes) -> bytes:
    """SHA-256 of the file with its ``length`` bytes at ``at`` read as ``blank`` (where the
    file keeps its own digest)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        head = bytearray(fh.read(max(at + length, 1024 * 1024)))
        if len(head) >= at + length:  # (a file too short to hold a digest has none)
            head[at : at + length] = blank * length
        h.update(head)
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)
    return h.digest()


def _stamp_sqlite(path: Path) -> None:
    """Put the copy's digest (its first 4 bytes) in its header's user version, which drp
    never sets: a copy someone records in or edits no longer matches it."""
    digest = _digest(path, _USER_VERSION_AT, 4, b"\0")[:4]
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, digest, _USER_VERSION_AT)
    finally:
        os.close(fd)


def _json_digest_at(head: bytes) -> int | None:
    """Where a JSON backup keeps its digest (in the first line's keys, before the tables)."""
    m = _JSON_DIGEST.match(head)
    return m.start(1) if m else None


def _changed_since_written(real: Path) -> str | None:
    """Why the backup ``real`` (one drp wrote, as :func:`check_output` recognised it) may not
    be replaced: it changed since drp wrote it, or cannot be shown not to have; None: as
    drp wrote it."""
    for side in SIDE_FILES:
        if os.path.lexists(f"{real}{side}"):
            return (f"it is in use or was left mid-change (its {side} file is beside it): "
                    "someone may have recorded in it")  # fmt: skip
    with open(real, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(_SQLITE_MAGIC):
        stored = head[_USER_VERSION_AT : _USER_VERSION_AT + 4]
        if stored == _digest(real, _USER_VERSION_AT, 4, b"\0")[:4]:
            return None
        if stored == b"\0\0\0\0":
            return "drp cannot tell whether it changed since it was written (an older drp wrote it)"
        return "it changed after drp wrote it (someone recorded in it or edited it)"
    at = _json_digest_at(head)
    if at is None:
        return "drp cannot tell whether it changed since it was written (an older drp wrote it)"
    if head[at : at + 64].decode() == _digest(real, at, 64, b"0").hex():
        return None
    return "it changed after drp wrote it (someone edited it)"


def _replaceable(real: Path, shown: str) -> None:
    """With ``--force``: refuse to replace a backup that is not as drp wrote it (exit 2, as
    every other target ``--force`` will not replace)."""
    if not os.path.lexists(real):
        return
    problem = _changed_since_written(real)
    if problem is not None:
        raise InvalidInput(
            f"will not replace {shown}: {problem}; move it aside or choose another name"
        )


# -- temporaries a killed backup left ------------------------------------------------------
#: A temporary file :func:`drp_cli.core.files.write_private` makes beside a backup
#: (``.NAME.`` + mkstemp's 8 characters + ``.tmp``), and SQLite's files beside it.
_TEMPORARY = re.compile(
    r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp" f"(?P<side>{'|'.join(map(re.escape, SIDE_FILES))})?"
)


def _looks_like_backup(path: Path) -> bool:
    """A temporary copy a backup was writing: empty, a SQLite file (plain or encrypted) or
    a drp JSON file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:  # never through a link, never waiting on a FIFO put there since it was looked at
        fd = os.open(path, flags)
    except OSError:
        return False
    with open(fd, "rb") as fh:
        try:
            head = fh.read(32)
            size = os.fstat(fh.fileno()).st_size
        except OSError:
            return False
    encrypted = size >= 1024 and size % 512 == 0  # whole pages, no header: SQLCipher's
    return (not head or head.startswith(_SQLITE_MAGIC) or encrypted
            or _JSON_START.match(head) is not None)  # fmt: skip


def remove_stale_temporaries(folder: Path) -> int:
    """Remove what a backup (or another of drp's whole-file writes) that was killed left in
    ``folder``: its owner-only temporary copy of the record and SQLite's journal beside it,
    which no one else would find or remove. Only a regular file (never through a symbolic
    link) named as such a temporary, owned by this user and untouched for
    :data:`STALE_AFTER`; the copy itself only if it looks like one (empty, a SQLite file,
    drp's JSON). Returns how many copies were removed."""
    removed = 0
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return 0
    uid = os.getuid() if hasattr(os, "getuid") else None
    now = time.time()
    for name in names:
        made = _TEMPORARY.fullmatch(name)
        if made is None:
            continue
        path = folder / name
        try:
            seen = path.lstat()
        except OSError:
            continue
        if (not stat.S_ISREG(seen.st_mode) or now - seen.st_mtime <= STALE_AFTER
                or (uid is not None and seen.st_uid != uid)):  # fmt: skip
            continue
        if made.group("side") is None and not _looks_like_backup(path):
            continue
        try:
            path.unlink()
        except OSError:  # gone meanwhile, or not ours to remove: the backup stands
            continue
        removed += made.group("side") is None
    return removed


def backup_sqlite(store: Store, target: str | os.PathLike[str], *, force: bool = False) -> Path:
    """A consistent copy of a SQLite database, taken with the online backup API."""
    if store.path is None:
        raise InvalidInput(f"a server database is backed up with {fld('format')} json")
    path = Path(target)
    real = _private_target(store, path, force)
    _replaceable(real, shown_path(path))

    def write(tmp: Path) -> None:
        # marked as a backup, so that `--force` may replace it later, and stamped with its
        # digest, so that `--force` replaces it only as drp wrote it (an encrypted copy is
        # encrypted with the database's key: its header cannot carry a digest)
        store.copy_to(tmp, SQLITE_BACKUP_ID)
        if not store.encrypted:
            _stamp_sqlite(tmp)

    _write_atomically(real, write)
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def export_data(store: Store) -> dict[str, Any]:
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "schema": SCHEMA_REVISION}
    out: dict[str, list[dict[str, Any]]] = {}
    with store.read(snapshot=True) as conn:
        for name in TABLES:
            out[name] = [{k: _jsonable(v) for k, v in row.items()}
                         for row in record.table_rows(conn, name)]  # fmt: skip
    data["tables"] = out
    return data


def _stamped_json(data: Mapping[str, Any]) -> bytes:
    """The backup as JSON with the digest of its own bytes (taken with the digest blank) as
    its ``sha256``, before its tables."""
    stamped = {k: v for k, v in data.items() if k != "tables"}
    stamped["sha256"] = _BLANK_DIGEST
    stamped["tables"] = data["tables"]
    raw = json.dumps(stamped, indent=1, ensure_ascii=False).encode("utf-8")
    at = raw.index((_DIGEST_KEY + _BLANK_DIGEST).encode()) + len(_DIGEST_KEY)
    digest = hashlib.sha256(raw).hexdigest().encode()
    return raw[:at] + digest + raw[at + 64 :]


def export_json(store: Store, target: str | os.PathLike[str], *, force: bool = False,
                encrypt: bool = False) -> Path:  # fmt: skip
    """A JSON backup; ``encrypt``: encrypted with the database key (:func:`_sealed_json`)."""
    path = Path(target)
    real = _private_target(store, path, force)
    _replaceable(real, shown_path(path))
    key = _backup_key(store) if encrypt else None
    data = export_data(store)
    raw = _stamped_json(data)
    if key is not None:
        raw = _sealed_json(raw, key)
    _write_atomically(real, lambda tmp: tmp.write_bytes(raw))
    return path


# -- an encrypted JSON backup ---------------------------------------------------------------
CIPHER = "AES-256-GCM"
_AAD = b"drp-backup"


def _backup_key(store: Store | None) -> bytes:
    """The key a JSON backup is encrypted with: derived from the database key (the open
    database's, or the one in ``DRP_DB_KEY_FILE`` / ``db_key_file``)."""
    from drp_cli.core import dbkey

    key = store.encryption_key() if store is not None and store.path is not None else None
    if key is None:
        path = dbkey.key_file()
        if path is None:
            raise InvalidInput(
                f"{fld('encrypt')} needs the database key: set {dbkey.SETTING} (`drp init "
                "--encrypted` or `drp db encrypt` writes one)"
            )
        key = dbkey.read_key(path)
    return dbkey.derive(key, "json backup")


def _sealed_json(plain: bytes, key: bytes) -> bytes:
    """The JSON backup ``plain`` encrypted (AES-256-GCM) in an envelope drp recognises as
    its backup, stamped with the digest of the envelope's own bytes."""
    import base64

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plain, _AAD)
    envelope = {
        "format": FORMAT,
        "version": VERSION,
        "schema": SCHEMA_REVISION,
        "encryption": CIPHER,
        "key": "derived from the database key (HKDF-SHA256)",
        "nonce": nonce.hex(),
        "tables": base64.b64encode(sealed).decode("ascii"),
    }
    return _stamped_json(envelope)


def _opened_json(envelope: Mapping[str, Any], shown: str) -> bytes:
    """The JSON backup inside an encrypted envelope, decrypted with the database key."""
    import base64
    import binascii

    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from drp_cli.core import dbkey

    if envelope.get("encryption") != CIPHER:
        raise InvalidInput(f"{shown} is encrypted in a way this drp does not know")
    try:
        nonce = bytes.fromhex(str(envelope.get("nonce")))
        sealed = base64.b64decode(str(envelope.get("tables")), validate=True)
    except (ValueError, binascii.Error):
        raise InvalidInput(f"{shown} is not a drp JSON backup") from None
    key = _backup_key(None)
    try:
        return AESGCM(key).decrypt(nonce, sealed, _AAD)
    except (InvalidTag, ValueError):
        raise DatabaseError(
            f"the key in the file named by {dbkey.SETTING} does not open the encrypted "
            f"backup {shown}: give the key it was encrypted with"
        ) from None


_SCALARS = (str, int, float, bool, type(None))
#: The integers a database column holds (SQLite's and PostgreSQL's bigint)
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def _parse(types: dict[str, str], row: Any, where: str) -> dict[str, Any]:
    """A backed-up row with its dates and times as the schema's columns take them; a row
    drp did not write is refused, naming the table and row (never a value)."""
    if not isinstance(row, dict):
        raise InvalidInput(f"{where} is not a row drp writes")
    parsed: dict[str, Any] = {}
    for name, kind in types.items():
        if name not in row:
            continue
        value = row[name]
        try:
            if (
                not isinstance(value, _SCALARS)
                or (value is not None and kind in ("datetime", "date")
                    and not isinstance(value, str))
                or (isinstance(value, int) and not _INT_MIN <= value <= _INT_MAX)
            ):  # fmt: skip
                raise TypeError(name)
            if isinstance(value, str) and kind == "datetime":
                value = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
            elif isinstance(value, str) and kind == "date":
                value = dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"{where}, column {name}: not a value drp writes") from None
        parsed[name] = value
    return parsed


def _read_backup(path: Path, shown: str) -> tuple[dict[str, Any], bool]:
    """The backup's JSON: a regular file of at most :data:`MAX_BACKUP_BYTES`, as deep as
    drp writes one, with the digest drp stamped on it (a backup from before drp stamped
    them has none); an encrypted one decrypted with the database key. Returns the JSON and
    whether it was encrypted."""
    try:
        raw = read_regular(path, what=f"the backup {shown}", limit=MAX_BACKUP_BYTES)
    except OSError as exc:
        raise InvalidInput(f"cannot read {shown}: {exc.strerror}") from None
    data = _parsed_backup(raw, shown)
    if "encryption" not in data:
        return data, False
    data = _parsed_backup(_opened_json(data, shown), shown)
    if "encryption" in data:
        raise InvalidInput(f"{shown} is not a drp JSON backup")
    return data, True


def _parsed_backup(raw: bytes, shown: str) -> dict[str, Any]:
    """A backup's bytes as its JSON, its stamped digest checked."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise InvalidInput(
            f"{shown} is not a drp JSON backup: it is nested deeper than a backup is"
        ) from None
    except ValueError:
        raise InvalidInput(f"{shown} is not a drp JSON backup") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(f"{shown} is not a drp JSON backup")
    at = _json_digest_at(raw[:4096])
    if at is not None:
        blank = raw[:at] + _BLANK_DIGEST.encode() + raw[at + 64 :]
        if hashlib.sha256(blank).hexdigest() != raw[at : at + 64].decode():
            raise RecordTampered(
                f"{shown} changed after drp wrote it (its sha256 does not match its "
                "content): nothing was restored"
            )
    return data


def _verify_restored(conn: Conn, shown: str, protocols: Mapping[str, Protocol],
                     key: bytes | None) -> None:  # fmt: skip
    """Check the rows just restored (in ``conn``, before they are committed) as ``drp
    verify`` does: the chain, and every concern against its events. Raises
    :class:`RecordTampered` with the first problem."""
    report = record.StoreReport(mode="hmac-sha256" if key is not None else "sha256")
    problems: list[str] = []
    try:
        record._verify_record(conn, report, protocols, record.VerifyOptions(key=key),
                              problems.append)  # fmt: skip
    except DatabaseError as exc:  # a value drp never wrote (an impossible date, not JSON)
        problems.append(str(getattr(exc, "problem", exc)))
    except (ValueError, TypeError, KeyError):
        problems.append("it holds a value drp never wrote")
    if problems:
        more = len(problems) - 1
        raise RecordTampered(
            f"{shown} does not verify, nothing was restored: {problems[0]}"
            + (f" (and {more} more problem{'s' if more != 1 else ''})" if more else "")
        )


#: DB-API 2.0's names for a row the database's rules refuse (the drivers are the store's
#: to import: these are told by name)
_REFUSED_ROW = frozenset({"IntegrityError", "DataError", "InterfaceError"})


def _integrity_error(exc: BaseException) -> bool:
    """A row the database's rules refuse (a repeated id, a missing value, a wrong type)."""
    return any(cls.__name__ in _REFUSED_ROW for cls in type(exc).__mro__)


def restore_json(
    store: Store,
    source: str | os.PathLike[str],
    *,
    protocols: Mapping[str, Protocol] | None = None,
    key: bytes | None = None,
) -> dict[str, int]:
    """Load a JSON backup into an empty database (a SQLite file not there yet is created
    once the backup is read and checked, and removed again if the restore fails); returns
    rows per table. The backup may not be the database itself nor lie in the attachment
    store. An encrypted backup (``--encrypt``) is decrypted with the database key, and a
    new SQLite database it is restored into is encrypted with that key. The restored
    record is checked as ``drp verify`` checks it (with ``key``, the
    links' seals too) before it is committed: one that does not verify is refused
    (:class:`RecordTampered`, exit 6) and nothing is left of it."""
    path = Path(source)
    shown = shown_path(path)
    check_source(path, protected_paths(store), what="backup")
    data, encrypted = _read_backup(path, shown)
    schema = data.get("schema")
    if schema != SCHEMA_REVISION:
        theirs = shown_path(str(schema)) if isinstance(schema, str | int) else "unknown"
        raise InvalidInput(
            f"{shown} is a backup of schema {theirs}; this drp restores {SCHEMA_REVISION}: "
            "restore it with the drp that wrote it, into a new SQLite file, then run `drp db "
            "upgrade` on that file with this drp"
        )
    tables = data.get("tables")
    if not isinstance(tables, dict) or any(
        name not in TABLES or not isinstance(rows, list) for name, rows in tables.items()
    ):
        raise InvalidInput(f"{shown} is not a drp JSON backup (its tables are not drp's)")
    if len(tables.get("chain_head", [])) != 1:
        raise InvalidInput(f"{shown} has no chain head: it is not a complete drp backup")
    if protocols is None:
        from drp_cli.domain.protocols import registry

        protocols = registry().protocols
    counts: dict[str, int] = {}
    # the write creates the file: one that was not there before is removed if it fails
    created = store.path is not None and not os.path.lexists(store.path)
    if encrypted and store.path is not None and is_blank(store.path):
        # an encrypted backup is restored into an encrypted database, with the same key
        from drp_cli.core import dbkey

        where = dbkey.key_file()
        if where is not None:
            store.db_key = dbkey.read_key(where)
    # and says it made a database only once the restore is in
    announce, store.on_create = store.on_create, None
    made: list[str] = []
    if announce is not None:
        store.on_create = made.append
    try:
        with store.write() as conn:
            if not record.is_empty(conn):
                raise InvalidInput(
                    f"the database {shown_path(store.label)} is not empty; restore into a new "
                    "database"
                )
            for name in TABLES:
                types = conn.column_types(name)
                rows = [_parse(types, r, f"{shown}: table {name}, row {n}")
                        for n, r in enumerate(tables.get(name, []), start=1)]  # fmt: skip
                record.restore_rows(conn, name, rows)
                counts[name] = len(rows)
            # before the rows are committed: a forged record is never restored
            _verify_restored(conn, shown, protocols, key)
    except BaseException as exc:
        if created:  # a refused restore leaves no empty database behind
            _remove_new_file(store)
        if _integrity_error(exc):
            raise InvalidInput(
                f"{shown} is not a backup drp wrote: its rows break the database's rules "
                "(a repeated id, a missing or mistyped value); nothing was restored"
            ) from None
        raise
    finally:
        store.on_create = announce
    if announce is not None:
        for label in made:
            announce(label)
    return counts


def _remove_new_file(store: Store) -> None:
    """Remove the SQLite file (and its side files) this restore created."""
    assert store.path is not None
    store.close()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{store.path}{suffix}").unlink(missing_ok=True)
