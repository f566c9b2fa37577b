"""The user's folders for drp (config, cache, data) without importing ``platformdirs`` where
the answer is plain: on Linux with an absolute ``XDG_*_HOME`` or ``HOME``, the XDG rules
platformdirs itself applies (``$XDG_CONFIG_HOME/drp``, else ``~/.config/drp``; ``.cache``;
``.local/share``). Anywhere else (macOS, Windows, Android, no usable home) platformdirs
answers. Importing platformdirs costs a few milliseconds (it loads ``tempfile`` and
``random``), which every command paid for one path; ``tests/test_t32_userdirs.py`` checks
that the answers are platformdirs' own."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "drp"
#: per kind: the XDG variable, and the folder under the home when it is not set
_XDG = {
    "config": ("XDG_CONFIG_HOME", ".config"),
    "cache": ("XDG_CACHE_HOME", ".cache"),
    "data": ("XDG_DATA_HOME", ".local/share"),
}


def _plain(kind: str) -> str | None:
    if sys.platform != "linux" or "ANDROID_DATA" in os.environ:
        return None
    var, under = _XDG[kind]
    given = os.environ.get(var, "")
    if given.startswith("/"):
        return os.path.join(given, APP)
    home = os.environ.get("HOME", "")
    if home.startswith("/"):
        return os.path.join(os.path.expanduser(f"~/{under}"), APP)
    return None


def user_dir(kind: str) -> Path:
    """drp's user folder of ``kind`` (``config``, ``cache`` or ``data``)."""
    plain = _plain(kind)
    if plain is not None:
        return Path(plain)
    import platformdirs

    found = {"config": platformdirs.user_config_dir, "cache": platformdirs.user_cache_dir,
             "data": platformdirs.user_data_dir}[kind](APP)  # fmt: skip
    return Path(found)
