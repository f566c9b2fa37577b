"""SHA-256 for the hash chains, without starting OpenSSL on every command.

``import hashlib`` starts OpenSSL (its ``_hashlib`` module): 11 M instructions, 4% of
``import typer``, paid by every command that reads the record (each read is a link of the
audit's chain). CPython's own SHA-256 (``_sha2``; ``_sha256`` before Python 3.12: the one
``hashlib`` itself falls back to) gives the same digests without it; where neither is
built in, ``hashlib``'s is used. The keyed seal (HMAC-SHA256) imports ``hmac``, and so
OpenSSL, only when a key is given. ``drp verify``, which hashes millions of links, keeps
``hashlib``'s (OpenSSL's is the faster per byte).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _builtin_sha256() -> Callable[..., Any]:
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            from hashlib import sha256
    return sha256  # type: ignore[no-any-return,unused-ignore]


#: ``sha256(data)``: a hash object as ``hashlib.sha256`` gives (``update``, ``hexdigest``).
sha256 = _builtin_sha256()


def sha256_hex(text: str) -> str:
    """The SHA-256 of ``text`` in UTF-8, as 64 hexadecimal digits."""
    return str(sha256(text.encode("utf-8")).hexdigest())


def hmac_sha256_hex(key: bytes, text: str) -> str:
    """HMAC-SHA256 of ``text`` (ASCII: a link's hash) under ``key``, as hexadecimal digits."""
    import hashlib
    import hmac

    return hmac.new(key, text.encode("ascii"), hashlib.sha256).hexdigest()
