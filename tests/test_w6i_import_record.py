"""Issue 32, wave 6: the import made cheaper writes the same record, table for table. The
bench's rows (1,000, the bench's shape) imported into a new SQLite database with the
randomness, the clock and the made-up uids held still give every row of every table, and
the schema, exactly as the tree before this work wrote them (a SHA-256 over them all), both
through the two helper processes that build a new database and through one process."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import sqlite3
import sys
from pathlib import Path

import pytest

from drp_cli.exchange import checks, transfer
from drp_cli.services.tracker import Tracker
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(PG_URL is not None, reason="a SQLite file's tables")

FIXED = dt.datetime(2026, 12, 7, 3, 0, 0, 123456, tzinfo=dt.UTC)
#: the digest of every table as the tree before wave 6 (ca56956) wrote it
BEFORE = {
    "helpers": "4c471749a46ac9a90b9a99eb30f48fab22c162035693d3e91d9996a6559f0442",
    "one": "7c4ad4fafe33eafb2daf25bc036d6f95820411c942dec44bad87a65932495de1",
}


def _bench_rows(n: int, path: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from data import rows, write

    return write(path, rows(n, open_share=0.01, overdue_share=0.1))


def _salts(rng: random.Random, n: int) -> list[str]:
    block = rng.randbytes(16 * n).hex()
    return [block[i : i + 32] for i in range(0, 32 * n, 32)]


def _uid_of_caller() -> str:
    row = sys._getframe(1).f_locals["c"]
    return hashlib.sha256(row["child"].encode()).hexdigest()[:32]


def tables_digest(path: Path) -> str:
    """SHA-256 over the schema (sqlite_master by name: the order Alembic makes indexes in
    moves with Python's hash seed) and every row of every table
    (by rowid), each value with its SQLite type."""
    h = hashlib.sha256()
    conn = sqlite3.connect(path)
    try:
        master = conn.execute("select type, name, tbl_name, sql from sqlite_master "
                              "order by type, name").fetchall()  # fmt: skip
        h.update(repr(master).encode())
        for kind, name, _tbl, _sql in master:
            if kind != "table":
                continue
            cols = [r[1] for r in conn.execute(f'pragma table_info("{name}")')]
            typed = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
            for row in conn.execute(f'select {typed} from "{name}" order by rowid'):
                h.update(repr(row).encode())
    finally:
        conn.close()
    return h.hexdigest()


def _import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> str:
    rng = random.Random(7)
    # the salts from a stream of their own (the system's randomness is also drawn on by
    # whatever a process does first, such as multiprocessing's start: an order of tests)
    monkeypatch.setattr(transfer, "new_salts", lambda n: _salts(rng, n))
    # a made-up uid from the row it is made for (the helpers are forked: a count would repeat)
    monkeypatch.setattr(checks, "new_uid", _uid_of_caller)
    monkeypatch.setattr(transfer, "WORKERS", workers)
    monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
    monkeypatch.setattr(transfer, "CHUNK", 97)
    path = _bench_rows(1000, tmp_path / "bench.json")
    db = tmp_path / "new.sqlite3"
    tracker = Tracker(str(db), now=lambda: FIXED)
    try:
        result = transfer.import_file(tracker, path, by="bench")
        assert (result.imported, result.events) == (1000, 5990)
    finally:
        tracker.store.close()
    if os.environ.get("W6I_KEEP"):
        import shutil

        shutil.copy(db, os.environ["W6I_KEEP"])
    return tables_digest(db)


def test_the_helpers_build_the_same_tables(tmp_path, monkeypatch):
    assert _import(tmp_path, monkeypatch, 2) == BEFORE["helpers"]


def test_one_process_writes_the_same_tables(tmp_path, monkeypatch):
    assert _import(tmp_path, monkeypatch, 1) == BEFORE["one"]
