"""Issue 29: what drp writes cannot be turned against its reader or its record: the report's
CSV cells are never formulas (finding 7); a key is never written onto the database's own
files or into the attachment store (finding 8)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.conftest import open_args

HOSTILE = {"owner": "=1+2", "team": '=HYPERLINK("http://example.org/x","x")'}


def test_report_csv_cells_are_never_formulas(drp, tmp_path: Path):
    args = open_args(child="@SUM(A1)", on="2025-05-06", **HOSTILE)
    assert drp(*args).exit_code == 0
    out = tmp_path / "qa"
    r = drp("report", "--year", "2025", "--on", "2025-06-30", "--csv", str(out),
            "--with-children")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    cells = [
        cell
        for f in sorted(out.glob("*.csv"))
        for row in csv.reader(io.StringIO(f.read_text()))
        for cell in row
    ]
    assert "'=1+2" in cells
    assert "'" + HOSTILE["team"] in cells
    assert "'@SUM(A1)" in cells  # the child reference, with --with-children
    live = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert live == []
    assert not [
        c for c in cells if c.startswith("-") and not c.lstrip("-").replace(".", "").isdigit()
    ]


@pytest.mark.parametrize("suffix", ["-wal", "-journal", "-shm"])
def test_key_create_refuses_the_databases_side_files(drp, db_path, suffix):
    assert drp(*open_args()).exit_code == 0
    side = Path(f"{db_path}{suffix}")
    side.unlink(missing_ok=True)
    r = drp("key", "create", str(side))
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == (
        f"Error: will not write the key file {side}: it is a file of drp's database\n"
    )
    assert not side.exists()
    r = drp("key", "create", str(db_path))
    assert r.exit_code == 2 and "it is drp's database" in r.stderr


def test_key_create_refuses_the_attachment_store(drp, tmp_path: Path):
    assert drp(*open_args()).exit_code == 0
    sample = tmp_path / "letter.txt"
    sample.write_text("a letter")
    assert drp("attach", "1", str(sample), "--kind", "other").exit_code == 0
    from drp_cli.services.tracker import Tracker

    t = Tracker()
    store = Path(t.store.attachments_dir)
    t.store.close()
    assert store.is_dir()
    target = store / "chain.key"
    r = drp("key", "create", str(target))
    assert r.exit_code == 2
    assert "it is inside drp's attachment store" in r.stderr
    assert not target.exists()
    elsewhere = tmp_path / "chain.key"
    r = drp("key", "create", str(elsewhere))
    assert r.exit_code == 0 and elsewhere.exists()
