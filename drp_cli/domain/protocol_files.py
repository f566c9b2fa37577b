"""Where protocol files are found: the ones drp ships and the user's own folders.

Kept apart from :mod:`drp_cli.domain.protocols` (which loads and validates them with msgspec)
so that a command can tell whether the protocols changed without loading them.
"""

from __future__ import annotations

import os
from pathlib import Path


def builtin_dir() -> Path:
    """The protocols shipped with drp: inside the wheel, or the repository's folder."""
    here = Path(__file__).resolve().parent.parent  # the package: drp_cli/
    packaged = here / "protocols"
    return packaged if packaged.is_dir() else here.parent / "protocols"


def user_dirs() -> list[Path]:
    """Folders searched for a user's own protocol files, in order."""
    env = os.environ.get("DRP_PROTOCOLS")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    from drp_cli.core.userdirs import user_dir

    return [user_dir("config") / "protocols"]


def signature() -> list[tuple[str, int, int]]:
    """Every protocol file drp would read now, with its size and modification time: what
    changes whenever the registry could."""
    found = []
    for folder in [builtin_dir(), *user_dirs()]:
        try:
            paths = sorted(folder.glob("*.toml"))
        except OSError:
            continue
        for path in paths:
            try:
                st = path.stat()
            except OSError:
                continue
            found.append((str(path), st.st_size, st.st_mtime_ns))
    return found
