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
    import platformdirs

    return Path(platformdirs.user_cache_dir("drp"))


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
