"""The attachments store: the one place that knows where an attached file is kept and how
it is written and read.

A plain database (and a PostgreSQL one) keeps each file as it is, named by the SHA-256 of
its content: ``<root>/ab/abcdef...`` (folders 0700, files 0600). An encrypted SQLite
database (SQLCipher) keeps each file encrypted, named so that the name does not give the
plain file's SHA-256 away: ``<root>/xy/<HMAC-SHA256(name key, sha)>.enc``.

An encrypted file is a header (:data:`MAGIC`, a version byte, the key's id, a random salt),
then the content in chunks of :data:`CHUNK` bytes, each sealed with AES-256-GCM under a key
of its own for the file (derived from the content key and the salt). A chunk's nonce is its
number and whether it is the last one; the header and the plain file's SHA-256 are every
chunk's associated data. So a chunk cannot be changed, dropped, moved, repeated or taken
from another file, the file cannot be cut short or lengthened, and a file cannot be put in
another's place, without the read failing. A 200 MB file is never whole in memory.

The keys are derived from the database key (HKDF-SHA256, :func:`drp_cli.core.dbkey.derive`):
one for the content, one for the names, one for the id in the header; ``cryptography`` is
imported only when an encrypted file is written or read.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from drp_cli.core import dbkey
from drp_cli.core.errors import DatabaseError, InvalidInput, RecordTampered
from drp_cli.core.plainclass import Frozen, set_fields

if TYPE_CHECKING:
    from drp_cli.store.connection import Conn

#: How an encrypted stored file starts, and the one layout this drp writes.
MAGIC = b"drp-file"
VERSION = 1
KEY_ID_BYTES = 8
SALT_BYTES = 16
HEADER_BYTES = len(MAGIC) + 1 + KEY_ID_BYTES + SALT_BYTES
#: The plain bytes in each encrypted chunk (the last one may hold fewer, or none).
CHUNK = 1024 * 1024
TAG_BYTES = 16
#: The end of an encrypted file's name (a plain one is its SHA-256 alone).
SUFFIX = ".enc"
#: What :func:`stored_sha256` says of something that is not a regular file.
NOT_REGULAR = "not a regular file"
#: What :func:`stored_sha256` says of an encrypted file that does not decrypt (never a
#: SHA-256: verify calls the file altered).
UNREADABLE = "does not decrypt"
#: The temporary file a file is written to before it is renamed into place.
INCOMING = ".incoming-"
_SHA = re.compile(r"[0-9a-f]{64}")


class StoredFileDamaged(Exception):
    """An encrypted stored file that does not decrypt: altered, cut short, lengthened, its
    chunks moved, or another file's put in its place."""


class _Keys(Frozen):
    content: bytes
    name: bytes
    key_id: bytes

    _fields = (
        "content",
        "name",
        "key_id",
    )

    def __init__(
        self,
        content: bytes,
        name: bytes,
        key_id: bytes,
    ) -> None:
        set_fields(
            self,
            content=content,
            name=name,
            key_id=key_id,
        )


@functools.lru_cache(maxsize=4)
def _keys(key: bytes) -> _Keys:
    return _Keys(
        content=dbkey.derive(key, "attachments content"),
        name=dbkey.derive(key, "attachments names"),
        key_id=dbkey.derive(key, "attachments key id")[:KEY_ID_BYTES],
    )


#: Where a value that is not a SHA-256 (a row altered out of band) would be: never a file
#: drp writes, so it reads as missing and is never outside the folder.
NO_SUCH_FILE = ".not-a-sha256"


def plain_path(root: Path, sha: str) -> Path:
    """Where a plain database keeps the file of SHA-256 ``sha``."""
    if not _SHA.fullmatch(sha):
        return root / NO_SUCH_FILE
    return root / sha[:2] / sha


def stored_path(root: Path, sha: str, key: bytes | None) -> Path:
    """Where the file of SHA-256 ``sha`` is written: plain (``key`` None), or encrypted under
    a name derived from ``key`` (the database key) that does not give ``sha`` away."""
    if key is None:
        return plain_path(root, sha)
    import hashlib
    import hmac

    name = hmac.new(_keys(key).name, sha.encode("ascii"), hashlib.sha256).hexdigest()
    return root / name[:2] / f"{name}{SUFFIX}"


def locate(root: Path, sha: str, key: bytes | None) -> Path:
    """The stored copy of ``sha``: where :func:`stored_path` puts it, else (an encrypted
    database whose files are not all encrypted yet: ``drp db encrypt`` finishes them) the
    plain copy if there is one; the first when there is neither."""
    path = stored_path(root, sha, key)
    if key is not None and not os.path.lexists(path):
        plain = plain_path(root, sha)
        if os.path.lexists(plain):
            return plain
    return path


def is_encrypted(path: Path) -> bool:
    return path.name.endswith(SUFFIX)


def private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


# -- the format ----------------------------------------------------------------------------
def _nonce(counter: int, last: bool) -> bytes:
    return b"\0" * 7 + counter.to_bytes(4, "big") + (b"\1" if last else b"\0")


def _file_aead(keys: _Keys, salt: bytes) -> Any:
    import hashlib
    import hmac

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(hmac.new(keys.content, b"drp file " + salt, hashlib.sha256).digest())


def _read_full(fh: BinaryIO, size: int) -> bytes:
    """``size`` bytes, fewer only at the end of the file."""
    parts = []
    while size > 0:
        part = fh.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _blocks(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    """``chunks`` again as blocks of :data:`CHUNK` bytes (the last may be shorter, and is
    empty only when everything is), each with whether it is the last."""
    pending = b""
    held: bytes | None = None
    for chunk in chunks:
        pending += chunk
        while len(pending) >= CHUNK:
            if held is not None:
                yield held, False
            held, pending = pending[:CHUNK], pending[CHUNK:]
    if pending or held is None:
        if held is not None:
            yield held, False
        yield pending, True
    else:
        yield held, True


def _encrypt(chunks: Iterable[bytes], dst: BinaryIO, sha: str, key: bytes) -> tuple[str, int]:
    """Write ``chunks`` to ``dst`` encrypted for ``sha``; return the SHA-256 and size of what
    was written (the caller checks them against ``sha``)."""
    import hashlib

    keys = _keys(key)
    salt = os.urandom(SALT_BYTES)
    header = MAGIC + bytes([VERSION]) + keys.key_id + salt
    aead = _file_aead(keys, salt)
    aad = header + sha.encode()
    dst.write(header)
    digest = hashlib.sha256()
    size = 0
    for counter, (block, last) in enumerate(_blocks(chunks)):
        digest.update(block)
        size += len(block)
        dst.write(aead.encrypt(_nonce(counter, last), block, aad))
    return digest.hexdigest(), size


def _decrypt(fh: BinaryIO, sha: str, key: bytes) -> Iterator[bytes]:
    """The plain bytes of the encrypted file open on ``fh``, a chunk at a time; raises
    :class:`StoredFileDamaged`, or :class:`DatabaseError` when ``key`` is not the one it
    was encrypted with."""
    from cryptography.exceptions import InvalidTag

    keys = _keys(key)
    header = _read_full(fh, HEADER_BYTES)
    if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
        raise StoredFileDamaged("not an encrypted drp file")
    if header[len(MAGIC)] != VERSION:
        raise StoredFileDamaged("written in a layout this drp does not know")
    at = len(MAGIC) + 1
    if header[at : at + KEY_ID_BYTES] != keys.key_id:
        raise wrong_key()
    aead = _file_aead(keys, header[at + KEY_ID_BYTES :])
    aad = header + sha.encode()
    sealed = CHUNK + TAG_BYTES
    block = _read_full(fh, sealed)
    counter = 0
    while True:
        following = _read_full(fh, sealed) if len(block) == sealed else b""
        last = not following
        try:
            yield aead.decrypt(_nonce(counter, last), block, aad)
        except (InvalidTag, ValueError):
            raise StoredFileDamaged("does not decrypt") from None
        if last:
            return
        block = following
        counter += 1


def wrong_key() -> DatabaseError:
    return DatabaseError(
        f"the key in the file named by {dbkey.SETTING} does not open the encrypted attached "
        "files: give the key they were encrypted with"
    )


# -- writing -------------------------------------------------------------------------------
def _file_chunks(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


def _too_large(limit: int) -> InvalidInput:
    return InvalidInput(f"the file is larger than {limit // (1024 * 1024)} MB")


def _limited(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        yield chunk


def _write_new(root: Path, final: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a file through ``write(fh)`` to a temporary file in ``root`` (0600) and rename
    it to ``final`` (its folder made 0700); nothing is left behind if it fails."""
    import tempfile

    private_dir(root)
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=INCOMING)
    try:
        with os.fdopen(fd, "wb") as dst:
            write(dst)
            dst.flush()
            os.fsync(dst.fileno())
        os.chmod(tmp_name, 0o600)
        private_dir(final.parent)
        os.replace(tmp_name, final)
    except BaseException:
        if os.path.lexists(tmp_name):
            os.unlink(tmp_name)
        raise


def _sound(path: Path, sha: str, key: bytes | None) -> bool:
    """Whether the stored copy at ``path`` is a regular file that reads back (decrypted with
    ``key`` if it is encrypted) as the file of SHA-256 ``sha``."""
    import hashlib

    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
    except OSError:
        return False
    digest = hashlib.sha256()
    try:
        for chunk in read_stored(path, sha, key):
            digest.update(chunk)
    except (OSError, InvalidInput, StoredFileDamaged, DatabaseError):
        return False
    return digest.hexdigest() == sha


def _room_for(final: Path) -> None:
    """Refuse (exit 6) a folder where a stored file goes: it cannot be replaced. A link, a
    FIFO or a damaged file there is replaced by the file written."""
    if stat.S_ISDIR(_mode(final)):
        raise RecordTampered(
            "the attachments store has a folder where a stored file goes: nothing was "
            "written (run `drp verify`)"
        )


def _mode(path: Path) -> int:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return 0


def write_stored(root: Path, source: Path, key: bytes | None, *, limit: int) -> tuple[str, int]:
    """Copy the file ``source`` into the store (plain, or encrypted with ``key``, the
    database key); return its SHA-256 and size. A file of more than ``limit`` bytes is
    refused (InvalidInput). Encrypted, it is read twice (its SHA-256 names it and seals it)
    and encrypted on its way in: no plain byte of it is written to the store."""
    import hashlib

    private_dir(root)
    with source.open("rb") as src:
        if key is None:  # as drp always has: copied while hashed, then named
            import tempfile

            digest = hashlib.sha256()
            size = 0
            fd, tmp_name = tempfile.mkstemp(dir=root, prefix=INCOMING)
            try:
                with os.fdopen(fd, "wb") as dst:
                    for chunk in _limited(_file_chunks(src), limit):
                        size += len(chunk)
                        digest.update(chunk)
                        dst.write(chunk)
                    dst.flush()
                    os.fsync(dst.fileno())
                sha = digest.hexdigest()
                final = plain_path(root, sha)
                private_dir(final.parent)
                if _sound(final, sha, None):  # stored already (a damaged copy is replaced)
                    os.unlink(tmp_name)
                else:
                    _room_for(final)
                    os.chmod(tmp_name, 0o600)
                    os.replace(tmp_name, final)
                return sha, size
            except BaseException:
                if os.path.lexists(tmp_name):
                    os.unlink(tmp_name)
                raise
        digest = hashlib.sha256()
        size = 0
        for chunk in _limited(_file_chunks(src), limit):
            size += len(chunk)
            digest.update(chunk)
        sha = digest.hexdigest()
        final = stored_path(root, sha, key)
        if not _sound(final, sha, key):  # not stored yet, or damaged: (re)written
            _room_for(final)
            src.seek(0)

            def write(dst: BinaryIO) -> None:
                got, _ = _encrypt(_limited(_file_chunks(src), limit), dst, sha, key)
                if got != sha:
                    raise InvalidInput("the file changed while it was being copied in: try again")

            _write_new(root, final, write)
        # a plain copy left from before the database was encrypted goes
        with contextlib.suppress(OSError):  # none (a folder there is verify's to report)
            os.unlink(plain_path(root, sha))
        return sha, size


def move_stored(root: Path, sha: str, old: bytes | None, new: bytes) -> Path | None:
    """Write the stored file of ``sha`` (plain, or encrypted with ``old``) encrypted with
    ``new`` under its new name, checked against ``sha`` on the way; the old copy stays.
    Returns the old copy to remove once the database has changed key (None: there was no
    copy, or it is the new one already). Raises :class:`StoredFileDamaged` for a copy that
    is not the file of that SHA-256 (nothing is written)."""
    target = stored_path(root, sha, new)
    source = locate(root, sha, old)
    if source == target or not os.path.lexists(source):
        return None
    if _sound(target, sha, new):  # a run stopped part way wrote it already
        return source
    _room_for(target)

    def write(dst: BinaryIO) -> None:
        got, _ = _encrypt(read_stored(source, sha, old), dst, sha, new)
        if got != sha:
            raise StoredFileDamaged(f"does not match its SHA-256 {sha}")

    _write_new(root, target, write)
    return source


# -- reading -------------------------------------------------------------------------------
def read_stored(path: Path, sha: str, key: bytes | None) -> Iterator[bytes]:
    """The plain bytes of the stored copy at ``path`` (from :func:`locate`) of the file of
    SHA-256 ``sha``, a chunk at a time. OSError (missing), InvalidInput (not a regular
    file), :class:`StoredFileDamaged`, DatabaseError (a wrong key) reach the caller; a
    plain copy is not checked against ``sha`` here (the caller hashes what it reads)."""
    from drp_cli.core.files import open_regular

    fd = open_regular(path, what="the stored file", limit=2**62)
    with open(fd, "rb") as fh:
        if not is_encrypted(path):
            yield from _file_chunks(fh)
            return
        if key is None:
            raise DatabaseError(
                f"the attached files are encrypted: set {dbkey.SETTING} to the file "
                "holding the database key"
            )
        yield from _decrypt(fh, sha, key)


def open_stored(root: Path, sha: str, key: bytes | None) -> Iterator[bytes]:
    """The plain bytes of the stored file of ``sha``, a chunk at a time (see
    :func:`read_stored`)."""
    return read_stored(locate(root, sha, key), sha, key)


def stored_sha256(root: Path, sha: str, key: bytes | None) -> str | None:
    """For ``drp verify``: the SHA-256 of what the stored copy of ``sha`` holds; None when
    it is missing; :data:`NOT_REGULAR` when something else is in its place (a FIFO, device,
    folder or link, found before a byte is read); :data:`UNREADABLE` for an encrypted copy
    that does not decrypt with ``key`` (altered, cut short, another file's)."""
    import hashlib

    path = locate(root, sha, key)
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return NOT_REGULAR
    except OSError:
        return None
    digest = hashlib.sha256()
    try:
        for chunk in read_stored(path, sha, key):
            digest.update(chunk)
    except InvalidInput:
        return NOT_REGULAR
    except (StoredFileDamaged, DatabaseError):
        return UNREADABLE
    except OSError:
        return None
    return digest.hexdigest()


# -- removing ------------------------------------------------------------------------------
def discard(path: Path) -> bool:
    """Remove the stored copy at ``path`` (False: there was none), and its folder once it
    is empty: a plain copy's folder is named by the first two digits of its SHA-256, which
    should not outlive it. OSError other than a missing file reaches the caller."""
    try:
        os.unlink(path)
        removed = True
    except FileNotFoundError:
        removed = False  # (its folder may be there, made for a copy that was stopped)
    if path.name != NO_SUCH_FILE:  # (that one is in the store's own folder)
        with contextlib.suppress(OSError):  # not empty (another file's copy), or gone
            os.rmdir(path.parent)
    return removed


def remove_stored(root: Path, sha: str, key: bytes | None) -> list[Path]:
    """Remove every copy of ``sha`` kept under ``key`` (the encrypted one and any plain one
    left), and their folders once empty; returns those removed. OSError other than a
    missing file reaches the caller."""
    return [
        path
        for path in dict.fromkeys((stored_path(root, sha, key), plain_path(root, sha)))
        if discard(path)
    ]


def plain_files(root: Path) -> list[str]:
    """The SHA-256s of the plain stored files in ``root`` (``ab/abcdef...``)."""
    found = []
    try:
        folders = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return []
    for folder in folders:
        if len(folder.name) != 2 or not folder.is_dir(follow_symlinks=False):
            continue
        for entry in sorted(os.scandir(folder.path), key=lambda e: e.name):
            if _SHA.fullmatch(entry.name) and entry.name[:2] == folder.name:
                found.append(entry.name)
    return found


def incoming(root: Path) -> list[Path]:
    """Temporary files left in ``root`` by a copy that was stopped."""
    try:
        return sorted(p for p in root.iterdir() if p.name.startswith(INCOMING))
    except OSError:
        return []


def attached_shas(conn: Conn) -> list[str]:
    """The SHA-256 of every file the database's attachments name."""
    return [r[0] for r in conn.rows("SELECT DISTINCT sha256 FROM attachment ORDER BY 1")]
