"""Issue 32 (wave 6): the morning check's row in the audit of reads is on the disk before
anything is shown: its transaction commits with SQLite's synchronous=FULL (one flush of
the WAL at the commit), as the record's writes do, where it committed with NORMAL and was
left to the checkpoint as the connection closed, after the output (a power cut could lose
a read that was shown)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from drp_cli.store import audit
from tests.conftest import PG_URL, open_args


def test_the_row_commits_flushed_before_anything_is_shown(
    drp: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    if PG_URL:
        pytest.skip("SQLite's synchronous setting")
    assert drp(*open_args(on="2025-01-06")).exit_code == 0
    seen: list[object] = []
    real = audit.append

    def append(conn: Any, values: Any, key: Any = None) -> Any:
        seen.append(conn.scalar("PRAGMA synchronous"))
        seen.append(str(conn.scalar("PRAGMA journal_mode")).lower())
        return real(conn, values, key)

    monkeypatch.setattr(audit, "append", append)
    r = drp("overdue", "--on", "2025-03-21")
    assert r.exit_code in (0, 1) and "Deadlines on 2025-03-21" in r.stdout
    assert seen == [2, "wal"]  # FULL, in WAL mode: the WAL flushed at the commit
