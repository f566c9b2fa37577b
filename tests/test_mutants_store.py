"""End-to-end tests (through the database, on SQLite and PostgreSQL) that kill single-line
mutants of drp_cli/store/record.py that no other test caught: which concerns a new closure day
refolds, and every column of an item row that ``verify`` compares."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from drp_cli.services import details
from drp_cli.services.tracker import Tracker

D = dt.date

#: a one-stage protocol whose only clock on Mon 3 Mar 2025 is the one named: a stage
#: timescale (``deadline``), a step's (``step_deadline``) or the whole-process limit
#: (``formal_deadline``), each 5 working days, so each falls on Mon 10 Mar
CLOCKS = {
    "deadline": "timescale_working_days = 5\nformal = false",
    "step_deadline": (
        'timescale_note = "none given"\nformal = false\n\n[[stages.steps]]\nslug = "reply"\n'
        'title = "Reply"\nwho = "Team Manager"\nwithin_working_days = 5\nkind = "firm"\n'
        'quote = "q"\ncitation = "c"'
    ),
    "formal_deadline": 'timescale_note = "none given"\nformal = true',
}
PROTOCOL = """
slug = "{slug}"
title = "Test protocol"
authority = "Test Council"
source = "test"
roles = ["iro"]
{cap}
formal_cap_citation = "c"
bypass_citation = "c"
cafcass_citation = "c"

[[stages]]
slug = "stage-1"
title = "Stage 1"
addressed_to = ["Team Manager"]
citation = "c"
{stage}
"""


def _day(value: object) -> str | None:
    return None if value is None else str(value)[:10]


def test_a_closure_on_the_deadline_day_moves_each_kind_of_deadline(
    drp, db_target, user_protocols: Path, sql
):
    """A closure day added ON a concern's deadline day moves that deadline (the refold takes
    every concern with a deadline on or after the day), whichever of its three clocks it is."""
    for n, (column, stage) in enumerate(CLOCKS.items(), start=1):
        cap = "formal_cap_working_days = 5" if column == "formal_deadline" else ""
        slug = f"clock-{n}"
        (user_protocols / f"{slug}.toml").write_text(PROTOCOL.format(slug=slug, cap=cap,
                                                                     stage=stage))  # fmt: skip
    for n in range(1, len(CLOCKS) + 1):
        r = drp("open", "--protocol", f"clock-{n}", "--child", f"T-{n}", "--category", "general",
                "--summary", "x", "--on", "2025-03-03")  # fmt: skip
        assert r.exit_code == 0, r.stderr
    query = "SELECT deadline, step_deadline, formal_deadline FROM concern ORDER BY id"
    before = [tuple(_day(v) for v in row) for row in sql(query)]
    assert before == [
        ("2025-03-10", None, None),
        (None, "2025-03-10", None),
        (None, None, "2025-03-10"),
    ]
    r = drp("calendar", "close", "2025-03-10", "--reason", "Office move")
    assert r.exit_code == 0, r.stderr
    after = [tuple(_day(v) for v in row) for row in sql(query)]
    assert after == [
        ("2025-03-11", None, None),
        (None, "2025-03-11", None),
        (None, None, "2025-03-11"),
    ]
    r = drp("verify")
    assert r.exit_code == 0, r.stderr


@pytest.fixture
def items(db_target, sql):
    """A concern with an action added and done, and a professional added and removed: every
    column of both item rows holds a value."""
    t = Tracker(db_target)
    c = t.open(protocol="knowsley", child="KN-1", category="statutory", issue=None,
               summary="No social worker", on=D(2025, 3, 3))  # fmt: skip
    details.add(t, c.id, "action", text="Allocate a worker", owner="TM", on=D(2025, 3, 4))
    details.add(t, c.id, "professional", name="J Smith", role="Social worker", on=D(2025, 3, 4))
    details.mark_done(t, c.id, 1, on=D(2025, 3, 6))
    details.remove(t, c.id, "professional", 1, on=D(2025, 3, 7), reason="Left the team")
    report = t.verify()
    assert report.ok, report.problems
    t.store.close()
    rows = sql("SELECT kind, done_on, done_by, removed_on, removed_by FROM item ORDER BY kind")
    assert [tuple(_day(v) if i in (1, 3) else v for i, v in enumerate(r)) for r in rows] == [
        ("action", "2025-03-06", "Test IRO", None, None),
        ("professional", None, None, "2025-03-07", "Test IRO"),
    ]
    return sql


ITEM_EDITS = [
    ("action", "position", "7"),
    ("action", "data", '\'{"text": "Nothing", "owner": "TM", "due": null}\''),
    ("action", "added_on", "'2025-03-05'"),
    ("action", "added_by", "'Someone else'"),
    ("action", "done_on", "'2025-03-07'"),
    ("action", "done_by", "'Someone else'"),
    ("action", "removed_on", "'2025-03-07'"),
    ("action", "removed_by", "'Someone else'"),
    ("professional", "removed_on", "'2025-03-10'"),
    ("professional", "removed_by", "'Someone else'"),
    ("professional", "done_on", "'2025-03-07'"),
    ("professional", "done_by", "'Someone else'"),
]


@pytest.mark.parametrize(("kind", "column", "value"), ITEM_EDITS)
def test_verify_compares_every_column_of_an_item_row(drp, items, kind, column, value):
    """An out-of-band edit of any one column of an item row is reported, each alone."""
    items(f"UPDATE item SET {column} = {value} WHERE kind = '{kind}'")
    r = drp("verify")
    assert r.exit_code == 6, (r.stdout, r.stderr)
    assert f"concern 1: {kind} 1 does not match its events" in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("column", "value"), [("concern_id", "2"), ("n", "5"), ("kind", "'needs'")]
)
def test_verify_sees_an_item_row_moved(drp, items, db_target, column, value):
    """The key columns: an item row moved to another concern, number or kind is reported as
    the one deleted and another added out of band."""
    t = Tracker(db_target)
    t.open(protocol="knowsley", child="KN-2", category="statutory", issue=None, summary="x",
           on=D(2025, 3, 3))  # fmt: skip
    t.store.close()
    items(f"UPDATE item SET {column} = {value} WHERE kind = 'action'")
    r = drp("verify")
    assert r.exit_code == 6, (r.stdout, r.stderr)
    assert "concern 1: action 1 was deleted" in r.stderr, r.stderr
    moved = {"concern_id": "concern 2: action 1", "n": "concern 1: action 5",
             "kind": "concern 1: needs 1"}[column]  # fmt: skip
    assert f"{moved} was added out of band" in r.stderr, r.stderr
