"""Writing a file owner-only and atomically: the one way drp writes a whole file.

Records about children leave drp only in files their owner alone can read (0600, folders
0700) and are never seen half-written: each file is written to a private temporary file
beside its target (``mkstemp`` makes it 0600 from the first byte) and renamed over it, so a
reader sees the old file or the new one, never a mix, and an interrupted write leaves the
target as it was and no temporary file behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

Writer = Callable[[Path], None]


def cache_dir() -> Path:
    """Where drp keeps what it can always make again (the bank holidays, the protocols'
    addressees): ``DRP_CACHE``, else the user's cache folder. Nothing about a child."""
    env = os.environ.get("DRP_CACHE")
    if env:
        return Path(env).expanduser()
    from drp_cli.core.userdirs import user_dir

    return user_dir("cache")


def write_private(path: str | os.PathLike[str], content: str | bytes | Writer,
                  *, make_parents: bool = False) -> None:  # fmt: skip
    """Write ``content`` (text as UTF-8, bytes, or a function that writes the file it is
    given) to ``path``, owner-only and atomically. ``make_parents`` makes missing folders,
    owner-only. OSError reaches the caller; the temporary file is removed whatever happens."""
    import tempfile  # only when writing: reading commands never need it

    target = Path(path)
    if make_parents:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if callable(content):
            os.close(fd)
            content(Path(tmp))
            os.chmod(tmp, 0o600)  # a writer (SQLite's backup, say) may have made it anew
        else:
            with open(fd, "wb") as fh:
                fh.write(content.encode("utf-8") if isinstance(content, str) else content)
        os.replace(tmp, target)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def open_regular(path: str | os.PathLike[str], *, what: str, limit: int) -> int:
    """Open ``path`` for reading and return its descriptor, refusing what is not a regular
    file (a FIFO, a device such as /dev/zero, a directory) or is larger than ``limit``
    bytes, before a byte is read: the one check every reader of a user's file makes.
    ``what`` names the file in the message (never its path: paths can hold a child's name).
    Raises :class:`InvalidInput` (exit 2); OSError (no such file, no permission) reaches
    the caller. ``O_NONBLOCK`` keeps a FIFO with no writer from hanging the open."""
    import stat

    from drp_cli.core.errors import InvalidInput

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(f"{what} is not a regular file")
        if st.st_size > limit:
            raise InvalidInput(f"{what} is over {_size(limit)}: larger than drp reads")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str | os.PathLike[str], *, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`open_regular`);
    a file that grows past ``limit`` while being read is refused too."""
    from drp_cli.core.errors import InvalidInput

    fd = open_regular(path, what=what, limit=limit)
    with open(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"{what} is over {_size(limit)}: larger than drp reads")
    return data


def _size(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{limit:,} bytes"
