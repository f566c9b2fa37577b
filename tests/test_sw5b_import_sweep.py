"""The hostile sweep of issue 32's import work (sw5b): what the sweep found still wrong.

The new import (helpers that each decode their own chunks of a JSON list, the one-call
hashing, the fast event check) was compared with the tree before it (367edd7) on hostile
files: strings with escaped quotes and backslashes cut at every block edge, multi-byte UTF-8
split across blocks, byte order marks, huge rows, bad rows and broken JSON in either helper's
chunk. The records (chain heads under a fixed clock) and refusals were the same. What is pinned
here is older than that work, and as wrong before it as after: a row nested deeply enough
stops the import with an internal error (exit 70) instead of a refusal (exit 2), and a cell
that is a JSON list or object is stored as Python's repr of it.
"""

from __future__ import annotations

import json

import pytest

DEPTH = 990  # below Python's recursion limit: the JSON decoders read it, the checks do not


def _row(**cells: object) -> dict[str, object]:
    row: dict[str, object] = {
        "protocol": "knowsley",
        "child": "KN-1",
        "category": "statutory",
        "summary": "No allocated social worker",
        "opened_on": "2026-05-31",
        "stage": "stage-1",
        "stage_started_on": "2026-05-31",
        "status": "open",
    }
    row.update(cells)
    return row


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("shape", ["list", "object"])
def test_a_deeply_nested_cell_is_refused_not_a_crash(drp, tmp_path, shape):
    marker = '"@@"'
    text = json.dumps([_row(child="@@")]).replace(marker, _nested(DEPTH))
    if shape == "object":  # {"concerns": [...]}: read by ijson, not the fast decoder
        text = '{"concerns": ' + text + "}"
    path = tmp_path / "rows.json"
    path.write_text(text, encoding="utf-8")
    r = drp("import", str(path), "--by", "bench")
    # fixed: the fast reader leaves a row nested past Python's stack to ijson, and the
    # checks refuse a cell that is a list or an object without spelling it out
    assert "internal error" not in r.stderr
    assert r.exit_code == 2
    assert r.stderr.startswith("Error: ")
    assert "item 1, column child: is a list, not one value" in r.stderr


@pytest.mark.parametrize(
    ("column", "value"),
    [("summary", ["No allocated social worker"]), ("child", {"a": ["KN-1"]})],
)
def test_a_cell_that_is_a_list_or_an_object_is_refused(drp, sql, tmp_path, column, value):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([_row(**{column: value})]), encoding="utf-8")
    r = drp("import", str(path), "--by", "bench")
    stored = sql(f"select {column} from concern") if r.exit_code == 0 else []
    assert stored == []  # was: [("['No allocated social worker']",)], [("{'a': ['KN-1']}",)]
    assert r.exit_code == 2
    kind = "a list" if isinstance(value, list) else "an object"
    assert f"item 1, column {column}: is {kind}, not one value" in r.stderr


def test_a_cell_that_is_text_is_imported_as_it_is(drp, sql, tmp_path):
    """What the test above refuses, written as text, is imported (so that its refusal is
    of the cell's kind, not of its content)."""
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([_row(summary="['No allocated social worker']")]))
    r = drp("import", str(path), "--by", "bench")
    assert (r.exit_code, r.stdout) == (0, "Imported 1 of 1 rows.\n"), r.stderr
    assert sql("select summary from concern") == [("['No allocated social worker']",)]
