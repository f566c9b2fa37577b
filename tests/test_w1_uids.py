"""A concern's uid is made in blocks that double from one up to UID_BLOCK: ``drp open``
makes the one it needs, an import makes them 4,096 at a time (issue 32)."""

import uuid

import pytest

from drp_cli.core import uids


def test_blocks_double_from_one_to_the_most(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    real = uids.new_uids

    def counting(n: int) -> list[str]:
        made.append(n)
        return real(n)

    monkeypatch.setattr(uids, "new_uids", counting)
    monkeypatch.setattr(uids, "_block", [])
    monkeypatch.setattr(uids, "_next_block", [1])
    first = [uids.new_uid() for _ in range(1 + 2 + 4)]
    assert made == [1, 2, 4]
    many = [uids.new_uid() for _ in range(3 * uids.UID_BLOCK)]
    assert made[:3] == [1, 2, 4] and max(made) == uids.UID_BLOCK == 4096
    assert made[-1] == uids.UID_BLOCK and made[3:6] == [8, 16, 32]
    every = first + many
    assert len(set(every)) == len(every)
    for uid in every[:50]:
        assert uuid.UUID(hex=uid).version == 4 and uuid.UUID(hex=uid).hex == uid
