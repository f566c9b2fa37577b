"""Every command that appends an event goes through the registry's check
(Tracker.append_checked): attach, the items (person, wishes, needs, action: add, done,
remove) refuse a day before the concern was opened, as `note` does, and record nothing; so
the record's own export always imports (sw8i: an attachment dated before the opening made
the export refused by `drp import`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PG_URL, open_args

BEFORE = "Error: --on 2025-03-01 is before the concern was opened (2025-03-03)\n"
EARLY = ("--on", "2025-03-01")


def _file(tmp_path: Path) -> str:
    path = tmp_path / "given" / "plan.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"a care plan\n")
    return str(path)


ADDS = [
    ("person", "add", "1", "--kind", "professional", "--name", "A. Smith", "--role", "SW"),
    ("wishes", "add", "1", "--text", "Wants to stay at the same school", "--how", "Seen"),
    ("needs", "add", "1", "--text", "An interpreter"),
    ("action", "add", "1", "--text", "Allocate a social worker", "--owner", "TM"),
]


@pytest.fixture
def opened(drp, sql):
    assert drp(*open_args(on="2025-03-03")).exit_code == 0
    return lambda: sql("SELECT count(*) FROM event")[0][0]


@pytest.mark.parametrize("args", ADDS, ids=lambda a: " ".join(a[:2]))
def test_an_item_added_before_the_opening_is_refused(drp, opened, args):
    before = opened()
    r = drp(*args, *EARLY)
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", BEFORE)
    assert opened() == before


def test_an_attachment_before_the_opening_is_refused_and_nothing_kept(drp, opened, tmp_path):
    before = opened()
    r = drp("attach", "1", _file(tmp_path), "--kind", "care-plan", *EARLY)
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", BEFORE)
    assert opened() == before
    assert drp("attachments", "1", "--json").json() == []


@pytest.mark.parametrize(
    "args",
    [("action", "done", "1", "1"), ("person", "remove", "1", "1", "--kind", "professional")],
    ids=["action done", "person remove"],
)
def test_a_step_on_an_item_before_the_opening_is_refused(drp, opened, args):
    assert drp(*ADDS[0], "--on", "2025-03-03").exit_code == 0
    assert drp(*ADDS[3], "--on", "2025-03-03").exit_code == 0
    before = opened()
    r = drp(*args, *EARLY)
    assert r.exit_code == 2
    assert r.stderr in (BEFORE, "Error: --on 2025-03-01 is before the action was added\n")
    assert opened() == before


def test_the_records_own_export_imports(drp, opened, tmp_path, db_path):
    """A record made with each of these commands, on and after its opening day, exports and
    imports into a new database whole (verify passes on both)."""
    if PG_URL:
        pytest.skip("the attachments folder beside a SQLite file")
    for args in ADDS:
        assert drp(*args, "--on", "2025-03-03").exit_code == 0
    r = drp("attach", "1", _file(tmp_path), "--kind", "care-plan", "--on", "2025-03-03")
    assert r.exit_code == 0, r.stderr
    assert drp("action", "done", "1", "1", "--on", "2025-03-04").exit_code == 0
    assert drp("person", "remove", "1", "1", "--kind", "professional",
               "--on", "2025-03-05").exit_code == 0  # fmt: skip
    out = tmp_path / "export.json"
    assert drp("export", "--format", "json", "-o", str(out)).exit_code == 0
    kinds = {e["kind"] for c in json.loads(out.read_text())["concerns"] for e in c["events"]}
    assert {"attached", "action-added", "action-done", "professional-removed"} <= kinds
    target = tmp_path / "copy.sqlite3"
    files = db_path.parent / f"{db_path.stem}-attachments"
    r = drp("--db", str(target), "import", str(out), "--attachments", str(files))
    assert r.exit_code == 0, r.stderr
    assert drp("--db", str(target), "verify").exit_code == 0
