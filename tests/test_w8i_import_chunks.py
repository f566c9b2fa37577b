"""Issue 32, wave 8: the helper processes send back a chunk they wrote whole as one
(transfer.WrittenChunk: its labels, keys and event counts), not a tuple a row; the import
reads them as before: the same rows imported, the same refusal of a reference or uid on two
rows (in a chunk so sent, or one not), nothing left behind, and the record verified."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drp_cli.exchange import transfer
from tests.conftest import PG_URL
from tests.test_w6i_import_record import _bench_rows


@pytest.fixture
def shared(monkeypatch):
    """Two helper processes, chunks of 7 rows, whatever the file's size."""
    monkeypatch.setattr(transfer, "WORKERS", 2)
    monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
    monkeypatch.setattr(transfer, "CHUNK", 7)


@pytest.mark.skipif(PG_URL is not None, reason="the helpers build a SQLite file")
def test_chunks_written_whole_import_and_verify(drp, tmp_path, shared, monkeypatch):
    sent: list[tuple[int, int]] = []
    whole = transfer._Writer.written_chunk

    def written_chunk(self, first_id, counts, last):
        sent.append((first_id, len(counts)))
        whole(self, first_id, counts, last)

    monkeypatch.setattr(transfer._Writer, "written_chunk", written_chunk)
    path = _bench_rows(50, tmp_path / "bench.json")
    r = drp("import", str(path), "--by", "bench")
    assert (r.exit_code, r.stdout) == (0, "Imported 50 of 50 rows.\n"), r.stderr
    # every chunk of 7 rows came back whole, in the file's order
    assert sent == [(1 + 7 * k, 7) for k in range(7)] + [(50, 1)]
    r = drp("verify")
    assert r.exit_code == 0, r.stdout + r.stderr


@pytest.mark.skipif(PG_URL is not None, reason="the helpers build a SQLite file")
@pytest.mark.parametrize(("first", "again"), [(2, 30), (10, 12), (29, 30)])
def test_a_reference_on_two_rows_is_refused_as_before(drp, tmp_path, shared, first, again):
    """The same external reference on rows in chunks written whole (2 and 30), in one
    chunk (10 and 12), or next to each other: refused with both rows named, exit 2, no
    database."""
    path = _bench_rows(50, tmp_path / "bench.json")
    rows = json.loads(path.read_text())
    rows[again - 1]["external_ref"] = rows[first - 1]["external_ref"]
    path.write_text(json.dumps(rows))
    r = drp("import", str(path), "--by", "bench")
    assert r.exit_code == 2
    assert r.stderr == (
        "Error: 1 problem found; nothing was imported:\n"
        f"  item {again}, column external_ref: the same reference is on item {first}\n"
    )
    assert not Path(os.environ["DRP_DB"]).exists()


@pytest.mark.skipif(PG_URL is not None, reason="the helpers build a SQLite file")
def test_a_uid_on_two_rows_is_refused_as_before(drp, tmp_path, shared):
    path = _bench_rows(40, tmp_path / "bench.json")
    rows = json.loads(path.read_text())
    for n in (3, 33):
        rows[n - 1]["events"][0]["details"]["uid"] = "0" * 31 + "7"
    path.write_text(json.dumps(rows))
    r = drp("import", str(path), "--by", "bench")
    assert r.exit_code == 2
    assert r.stderr == (
        "Error: 1 problem found; nothing was imported:\n"
        "  item 33, column uid: the same concern is on item 3\n"
    )
    assert not Path(os.environ["DRP_DB"]).exists()
