"""Where the database is, and the checks made before it is opened: standard library only,
so that the daily read (:mod:`drp_cli.daily`) can open a SQLite file without SQLAlchemy.
:mod:`drp_cli.db` uses the same functions, so both paths refuse the same files with the same
messages."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from drp_cli.core.errors import DatabaseBusy, DatabaseError, DatabaseMissing, InvalidInput, fld


def _newest_revision() -> str:
    """The newest migration's revision: its file's four-digit prefix (``0010_...py`` is
    revision "0010"; tests/test_lead_schema_revision.py checks that each file's revision is
    its prefix and that the newest is Alembic's one head). Read from the folder, so a new
    migration needs no second edit here."""
    folder = Path(__file__).parent / "migrations" / "versions"
    return max(n[:4] for n in os.listdir(folder) if n[:4].isdigit() and n.endswith(".py"))


#: The Alembic revision this program writes; a database at another revision is refused.
SCHEMA_REVISION = _newest_revision()

BUSY_TIMEOUT_MS = 10_000
NETWORK_FILESYSTEMS = {"cifs", "smb", "smb2", "smb3", "smbfs", "nfs", "nfs4", "afs", "9p"}


def default_path() -> Path:
    from drp_cli.core.userdirs import user_dir

    return user_dir("data") / "drp.sqlite3"


def resolve_target(db: str | os.PathLike[str] | None) -> str:
    """The URL or path chosen by ``--db``, ``DRP_DB``, the config file's ``database`` or the
    default. An empty ``--db`` or
    ``DRP_DB`` is refused rather than taken to mean the default: a script that lost its
    variable must not write to, or read an all-clear from, another database."""
    value = os.fspath(db) if db is not None else os.environ.get("DRP_DB")
    if value is None:
        from drp_cli.core import config

        configured = config.load().get("database")
        return str(configured) if configured else str(default_path())
    if not value.strip():
        raise InvalidInput(f"{fld('db')} / DRP_DB is empty: give a database path or URL")
    if "\x00" in value:
        raise InvalidInput(f"{fld('db')} / DRP_DB holds a NUL character: no path or URL can")
    return value


def is_url(target: str) -> bool:
    return "://" in target


#: The hosts a PostgreSQL connection may reach without TLS: this machine.
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1", "[::1]"})
#: The ``sslmode`` values under which libpq refuses to talk without TLS.
TLS_MODES = frozenset({"require", "verify-ca", "verify-full"})
#: Set to 1 to let drp talk to a remote PostgreSQL server without TLS (a trusted network).
ALLOW_PLAINTEXT = "DRP_PG_ALLOW_PLAINTEXT"


def check_transport(url: str, environ: Mapping[str, str] = os.environ) -> None:
    """Refuse a PostgreSQL URL that would send children's records to another machine
    without TLS: a host that is not this one (not localhost, 127.0.0.1, ::1 or a Unix
    socket) unless ``sslmode`` is require, verify-ca or verify-full (in the URL, or libpq's
    ``PGSSLMODE``) or ``DRP_PG_ALLOW_PLAINTEXT=1`` says the network is trusted."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    try:
        named = parts.hostname or ""
    except ValueError:
        named = ""
    hosts = [named] if named or query.get("host") else [environ.get("PGHOST", "")]
    for value in query.get("host", []) + query.get("hostaddr", []):
        hosts += value.split(",")
    remote = [h for h in hosts if h.strip().lower() not in LOCAL_HOSTS
              and not h.strip().startswith("/")]  # fmt: skip
    if not remote:
        return
    mode = (query.get("sslmode") or [environ.get("PGSSLMODE", "")])[-1].strip().lower()
    if mode in TLS_MODES or environ.get(ALLOW_PLAINTEXT, "").strip() == "1":
        return
    raise DatabaseError(
        f"will not connect to the PostgreSQL server {remote[0].strip()} without TLS: add "
        f"sslmode=verify-full (or require) to the database URL, or set {ALLOW_PLAINTEXT}=1 "
        "if the network between is trusted"
    )


def resolve_path(db: str | os.PathLike[str] | None) -> Path:
    return Path(resolve_target(db)).expanduser()


def create_private(path: Path) -> None:
    """Create the parent folder (0700) and an empty file (0600) if they do not exist."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        except FileExistsError:  # another drp created it first
            return
        os.close(fd)
        os.chmod(path, 0o600)


def is_blank(path: Path) -> bool:
    """True when no database is there at all: no file, or an empty (zero-byte) one. Only a
    stat: nothing is opened, so nothing is created."""
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True


def sqlite_uri(path: Path) -> str:
    """A URI that opens the existing file ``path`` for reading and writing but never creates
    it (``sqlite3.connect(..., uri=True)``): a mistyped path is an error, not a new file."""
    from urllib.parse import quote

    return f"file:{quote(str(path.absolute()))}?mode=rw"


def filesystem_type(path: Path) -> str | None:
    """The type of the file system holding ``path``, from /proc/mounts (Linux)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    best, kind = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind


#: The files SQLite keeps beside a database file, by the suffix of their names.
SIDE_FILES = ("-wal", "-shm", "-journal")


def check_private(path: Path) -> None:
    """Refuse a database file that group or others can read or write."""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            st = candidate.stat()
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(st.st_mode):  # /dev/null, a FIFO, a folder: never chmod those
            raise DatabaseError(f"{candidate} is not a regular file: it cannot be a database")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise DatabaseError(
                f"{candidate} can be read by other users (mode {mode:o}); it holds children's "
                f"records: run `chmod 600 {candidate}` and try again"
            )


def check_location(path: Path) -> None:
    """Refuse a SQLite file on a network file system, where its locking is not safe."""
    fs = filesystem_type(path.parent if not path.exists() else path)
    if fs in NETWORK_FILESYSTEMS:
        raise DatabaseError(
            f"{path} is on a network file system ({fs}); SQLite's locking is not "
            "safe there: use PostgreSQL for a shared database (see README, 'A whole "
            "service')"
        )


def disk_full(path: Path) -> bool:
    """Whether the file system holding ``path`` has no space left for this user."""
    try:
        return os.statvfs(path.parent).f_bavail == 0
    except OSError:
        return False


def known_revisions() -> set[str]:
    folder = Path(__file__).parent / "migrations" / "versions"
    return {p.name.split("_", 1)[0] for p in folder.glob("[0-9]*_*.py")}


#: psycopg's errors for a lock not granted in time (SQLSTATE 55P03: the connection's
#: ``lock_timeout``, see :func:`drp_cli.store.connection._lock_limit`), or given up to let
#: another writer on (40P01, a deadlock): the database is busy, as SQLite's is.
LOCK_WAITS = frozenset({"LockNotAvailable", "DeadlockDetected"})


#: How SQLite's messages for a lock not granted begin (SQLITE_BUSY, SQLITE_LOCKED); a word
#: such as "busy" elsewhere in a message (a database or folder named busybox) is not one.
SQLITE_BUSY = ("database is locked", "database table is locked", "database schema is locked")


def translate(message: str, kind: str, label: str) -> Exception:
    """The drp error for a driver's operational error (its message and class name)."""
    if message.startswith(SQLITE_BUSY) or kind in LOCK_WAITS:
        return DatabaseBusy(
            f"the database {label} is busy (another drp is writing); try again in a moment"
        )
    if "file is not a database" in message:
        return DatabaseError(f"{label} is not a drp database")
    if "readonly" in message or "read-only" in message or kind == "ReadOnlySqlTransaction":
        return DatabaseError(f"the database {label} is read-only")
    if "disk is full" in message or "No space left" in message or kind == "DiskFull":
        return DatabaseError(f"the disk holding {label} is full")
    if "disk I/O error" in message and not is_url(label) and disk_full(Path(label)):
        # SQLite cannot grow its shared-memory file (-shm) on a full disk, even to read
        return DatabaseError(f"the disk holding {label} is full")
    if "unable to open database file" in message and not is_url(label):
        path = Path(label)
        if is_blank(path):
            return DatabaseMissing(label)
        if not os.access(path, os.W_OK):
            return DatabaseError(f"the database {label} is read-only")
        if not os.access(path.parent, os.W_OK):  # SQLite writes beside it, even to read
            return DatabaseError(f"the folder holding the database {label} is read-only")
    if "unable to open database file" in message:
        return DatabaseError(f"cannot open the database {label}")
    if "could not connect" in message or "Connection refused" in message:
        return DatabaseError(f"cannot connect to the database {label}")
    return DatabaseError(f"cannot use the database {label}: {kind}")
