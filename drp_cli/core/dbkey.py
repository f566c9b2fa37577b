"""The key of an encrypted SQLite database (SQLCipher): where it is kept, how it is read and
written, and how drp tells an encrypted file from a plain one. No database here (the core
never imports one): the store opens the file with what this module gives it.

The key is 256 random bits, kept as 64 hexadecimal digits in an owner-only (0600) file
named by ``DRP_DB_KEY_FILE`` or the config's ``db_key_file``; or, where that setting is
``keyring:SERVICE/NAME``, in the OS keyring (macOS Keychain, Windows Credential Locker, the
Secret Service on Linux) through the optional ``keyring`` package. SQLCipher is given the raw key
(a blob literal, ``x'...'``), never a passphrase, so opening the database costs no key
derivation. The attachments store's key is derived from it (HKDF-SHA256), so the one file
opens everything.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drp_cli.core.errors import DatabaseError

#: The environment variable and the config setting that name the key file.
KEY_ENV = "DRP_DB_KEY_FILE"
KEY_SETTING = "db_key_file"
#: How an error names them.
SETTING = f"{KEY_ENV} (or the config's {KEY_SETTING})"
KEY_BYTES = 32
#: How every plain SQLite file starts; an encrypted one starts with its random salt.
SQLITE_HEADER = b"SQLite format 3\x00"
#: The smallest page a SQLite (or SQLCipher) file is made of: its size is a multiple of it.
MIN_PAGE = 512
#: How the setting names an entry of the OS keyring instead of a file.
KEYRING = "keyring:"


def is_encrypted_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like an encrypted database: whole pages (at least two of the
    smallest) that do not start with SQLite's header. An empty or missing file, a plain
    database and a short file of something else are not: the store says what those are."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < 2 * MIN_PAGE or size % MIN_PAGE:
                return False
            return fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER
    except OSError:
        return False


def key_file() -> Path | None:
    """The key file: ``DRP_DB_KEY_FILE``, else the config's ``db_key_file``; None if
    neither is set."""
    given = os.environ.get(KEY_ENV)
    if given is not None and given.strip():
        return Path(given).expanduser()
    from drp_cli.core import config

    configured = config.load().get(KEY_SETTING)
    if isinstance(configured, str) and configured.strip():
        return Path(configured).expanduser()
    return None


def load_key(label: str) -> bytes:
    """The key that opens the encrypted database ``label`` (named only in the message)."""
    path = key_file()
    if path is None:
        raise DatabaseError(
            f"the database {label} is encrypted: set {SETTING} to the file holding its key"
        )
    return read_key(path)


def in_keyring(path: Path) -> tuple[str, str] | None:
    """``(service, name)`` when ``path`` names an OS keyring entry (``keyring:SERVICE/NAME``);
    None for a file."""
    text = str(path)
    if not text.startswith(KEYRING):
        return None
    service, slash, name = text[len(KEYRING) :].partition("/")
    if not service or not slash or not name:
        raise DatabaseError(
            f"{SETTING} names the OS keyring as keyring:SERVICE/NAME (for example "
            f"keyring:drp/main), not {text}"
        )
    return service, name


def _keyring(path: Path) -> Any:
    """The ``keyring`` package (an optional extra), imported only for a key kept in the OS
    keyring."""
    import importlib

    try:
        return importlib.import_module("keyring")
    except ImportError:
        raise DatabaseError(
            f"{SETTING} names the OS keyring ({path}), but the keyring package is not "
            "installed: install drp with its keyring extra (pip install 'drp[keyring]') or "
            "name a key file"
        ) from None


def _keyring_call(path: Path, call: Callable[[Any], Any]) -> Any:
    """``call(keyring)``, its failures as one line naming the setting (exit 4)."""
    import importlib

    keyring = _keyring(path)
    errors = importlib.import_module("keyring.errors")
    try:
        return call(keyring)
    except errors.NoKeyringError:
        raise DatabaseError(
            f"{SETTING} names the OS keyring ({path}), but no keyring is available on this "
            "machine: name a key file instead"
        ) from None
    except errors.PasswordDeleteError:
        return None  # nothing to remove
    except errors.KeyringError as exc:
        raise DatabaseError(
            f"the OS keyring named by {SETTING} ({path}) refused: {type(exc).__name__}"
        ) from None


def _parsed(text: bytes, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip().decode("ascii"))
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise DatabaseError(
            f"{where} named by {SETTING} does not hold a key ({KEY_BYTES * 2} hexadecimal digits)"
        )
    return key


def read_key(path: Path) -> bytes:
    """The key in ``path``: an owner-only regular file holding 64 hexadecimal digits (or the
    OS keyring entry it names)."""
    entry = in_keyring(path)
    if entry is not None:
        held = _keyring_call(path, lambda k: k.get_password(*entry))
        if held is None:
            raise DatabaseError(
                f"the OS keyring holds no database key at {path} named by {SETTING}"
            )
        return _parsed(held.encode("ascii", "replace")[:1025], f"the OS keyring entry {path}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DatabaseError(
            f"cannot read the database key file {path} named by {SETTING}: {exc.strerror}"
        ) from None
    try:  # checked before Python opens it as a file (a folder cannot be)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > 1024:
            raise DatabaseError(f"the database key file {path} named by {SETTING} is not a key")
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise DatabaseError(
                f"the database key file {path} named by {SETTING} can be read by other users: "
                f"run `chmod 600 {path}`"
            )
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "rb") as fh:
        raw = fh.read(1025)
    return _parsed(raw, f"the database key file {path}")


def key_exists(path: Path) -> bool:
    """Whether a key is kept at ``path`` (a file, or an OS keyring entry)."""
    entry = in_keyring(path)
    if entry is None:
        return path.exists()
    return _keyring_call(path, lambda k: k.get_password(*entry)) is not None


def remove_key(path: Path) -> None:
    """Remove the key kept at ``path``, if there is one."""
    entry = in_keyring(path)
    if entry is None:
        path.unlink(missing_ok=True)
        return
    _keyring_call(path, lambda k: k.delete_password(*entry))


def replace_key(source: Path, target: Path) -> None:
    """Put the key kept at ``source`` at ``target`` (a file renamed over it; a keyring
    entry written, then the source removed)."""
    if in_keyring(source) is None and in_keyring(target) is None:
        os.replace(source, target)
        return
    write_key(target, read_key(source))
    remove_key(source)


def wrong_key(label: str) -> DatabaseError:
    """The error for a key that does not open the encrypted database ``label``; when a
    ``drp db rekey`` that was stopped left its new key beside the key file (``.new``), it
    says so and how to finish it."""
    said = (
        f"the key in the file named by {SETTING} does not open the encrypted database "
        f"{label}: give the key it was encrypted with"
    )
    path = key_file()
    if path is not None:
        pending = path.with_name(path.name + ".new")
        try:
            stopped = key_exists(pending)
        except DatabaseError:
            stopped = False
        if stopped:
            said += (
                f", or, as a `drp db rekey` was stopped and left its new key in {pending}, "
                "run `drp db rekey` again to finish it"
            )
    return DatabaseError(said)


def new_key() -> bytes:
    import secrets

    return secrets.token_bytes(KEY_BYTES)


def write_key(path: Path, key: bytes) -> None:
    """Write ``key`` to ``path`` owner-only and atomically (its folder made 0700 if missing),
    or to the OS keyring entry it names."""
    entry = in_keyring(path)
    if entry is not None:
        _keyring_call(path, lambda k: k.set_password(*entry, key.hex()))
        return
    from drp_cli.core.files import write_private

    try:
        write_private(path, key.hex() + "\n", make_parents=True)
    except OSError as exc:
        raise DatabaseError(f"cannot write the database key file {path}: {exc.strerror}") from None


def pragma(key: bytes) -> str:
    """The key as SQLCipher takes a raw key, quoted (no passphrase derivation)."""
    if len(key) != KEY_BYTES:
        raise ValueError("a database key is 32 bytes")
    return f"\"x'{key.hex()}'\""


def derive(key: bytes, purpose: str) -> bytes:
    """A 256-bit key for ``purpose`` derived from the database key (HKDF-SHA256, RFC 5869,
    no salt): the attachments' and the JSON backups' keys, never the database key itself.
    (hashlib and hmac are imported here: every command imports this module, few derive.)"""
    import hashlib
    import hmac

    prk = hmac.new(b"\0" * 32, key, hashlib.sha256).digest()
    return hmac.new(prk, f"drp {purpose}".encode() + b"\x01", hashlib.sha256).digest()
