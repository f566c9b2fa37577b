"""A concern's uid: a random UUID (version 4) as 32 hex digits, as ``uuid.uuid4().hex``
spells it, which stays with the concern through exports and imports.

An import makes one for every row that carries none (100,000 in a large file): they are made
a block at a time, from one read of the system's randomness, instead of a read each; the
blocks double from one uid up to :data:`UID_BLOCK`, so ``drp open``, which needs one, makes
one (4,096 cost it ~20 M instructions, 8% of its weight over ``import typer``). The block is
this process's own: a process forked from this one makes its own, so no two processes ever
hand out the same uids.
"""

from __future__ import annotations

import os

#: The largest id or item number drp gives or takes: what an INTEGER column holds on both
#: engines (PostgreSQL's stops at 2^31 - 1). The command line refuses a larger one as a usage
#: error, and the store never looks for one: one bound for the whole of drp.
MAX_ID = 2**31 - 1
UID_BLOCK = 4096  # the most uids made at a time
_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_4 = (4 << 76) | (0x8000 << 48)  # the version (4) and the variant (RFC 4122)

_block: list[str] = []
_next_block = [1]  # how many the next block makes
if hasattr(os, "register_at_fork"):  # a forked process makes its own block
    os.register_at_fork(after_in_child=_block.clear)


def new_uids(n: int) -> list[str]:
    """``n`` uids, each what ``uuid.UUID(bytes=..., version=4).hex`` makes of 16 random
    bytes (a property test holds the two to the same text)."""
    raw = os.urandom(16 * n)
    from_bytes = int.from_bytes
    return [f"{(from_bytes(raw[i : i + 16]) & _VERSION_MASK) | _VERSION_4:032x}"
            for i in range(0, 16 * n, 16)]  # fmt: skip


def new_uid() -> str:
    """A new uid (from this process's block)."""
    if not _block:
        size = _next_block[0]
        _block[:] = new_uids(size)
        _next_block[0] = min(size * 2, UID_BLOCK)
    return _block.pop()
