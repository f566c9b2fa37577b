"""Issue 29 items 10 and 11: a stored value drp never wrote (an impossible date, garbage in a
date or datetime column, JSON that is no object), written behind drp's back, makes `drp
verify` exit 6 naming the row and column (never the value), and every other command a
one-line error, exit 4: never a crash (exit 70), never a traceback. A stored attachment
replaced by a FIFO or a device makes `verify` exit 6 at once."""

from __future__ import annotations

import datetime as dt
import inspect
import os
from pathlib import Path

import pytest

from drp_cli.services import attachments, details
from drp_cli.services.tracker import Tracker
from drp_cli.store.connection import SCHEMA_REVISION

D = dt.date


@pytest.fixture
def record(db_target, tmp_path, sql):
    t = Tracker(db_target)
    c = t.open(protocol="knowsley", child="KN-1", category="statutory", issue=None,
               summary="No social worker", impact="Drift", recommended="Allocate",
               on=D(2025, 3, 3))  # fmt: skip
    t.respond(c.id, text="Looking", respondent="TM", on=D(2025, 3, 4))
    t.escalate(c.id, on=D(2025, 3, 11), due=D(2025, 3, 14))
    details.add(t, c.id, "action", text="Allocate a worker", owner="TM", due=D(2025, 3, 20),
                on=D(2025, 3, 4))  # fmt: skip
    doc = tmp_path / "plan.txt"
    doc.write_text("care plan")
    attachments.attach(t, c.id, doc, kind="care-plan", on=D(2025, 3, 5))
    t.open(protocol="west-sussex", child="WS-2", category="general", summary="Late review",
           on=D(2025, 3, 5))  # fmt: skip
    t.add_closures(D(2025, 3, 20), reason="Office move")
    assert t.verify().ok
    t.store.close()
    return sql


PG_ONLY_JSON = "PostgreSQL's date and timestamp types refuse the text itself"

# (statement, the row and column verify names, whether PostgreSQL's types allow the value)
EDITS = {
    "deadline": ("UPDATE concern SET deadline = '2025-02-30' WHERE id = 1",
                 "concern 1: stored concern.deadline", False),
    "stage_due_override": ("UPDATE concern SET stage_due_override = 'soon' WHERE id = 1",
                           "concern 1: stored concern.stage_due_override", False),
    "created_at": ("UPDATE concern SET created_at = 'yesterday' WHERE id = 1",
                   "concern 1: stored concern.created_at", False),
    "updated_at": ("UPDATE concern SET updated_at = '2025-13-01 00:00:00' WHERE id = 1",
                   "concern 1: stored concern.updated_at", False),
    "recorded_at": ("UPDATE event SET recorded_at = 'nope' WHERE concern_id = 1 AND seq = 2",
                    "concern 1: stored event.recorded_at", False),
    "imported_at": ("UPDATE event SET imported_at = '2025-02-29 10:00:00' WHERE id = 1",
                    "concern 1: stored event.imported_at", False),
    "effective_on": ("UPDATE event SET effective_on = '2025-04-31' WHERE id = 1",
                     "concern 1: stored event.effective_on", False),
    "closure": ("UPDATE closure_change SET recorded_at = 'zz'",
                "closure change 1: stored closure_change.recorded_at", False),
    "details": ("UPDATE event SET details = '{bad' WHERE id = 1",
                "concern 1: stored event.details", True),
    "data": ("UPDATE item SET data = '[1]' WHERE concern_id = 1",
             "concern 1: stored item.data", True),
    "infinity": ("UPDATE concern SET deadline = 'infinity' WHERE id = 1",
                 "concern 1: stored concern.deadline", True),
}  # fmt: skip

COMMANDS = (
    ("overdue", "--on", "2025-04-01"),
    ("show", "1"),
    ("alert", "1", "--on", "2025-04-01"),
    ("db", "upgrade"),
)


def corrupt(record, db_target, name):
    statement, _, on_pg = EDITS[name]
    is_pg = "://" in db_target
    if is_pg and not on_pg:
        pytest.skip(PG_ONLY_JSON)
    if not is_pg and name == "infinity":
        statement = "UPDATE concern SET deadline = 'infinity' WHERE id = 1"
    record(statement)


@pytest.mark.parametrize("name", sorted(EDITS))
def test_verify_names_the_row_and_column(drp, record, db_target, name):
    corrupt(record, db_target, name)
    r = drp("verify")
    assert r.exit_code == 6, (r.stdout, r.stderr)
    assert f"TAMPERED: {EDITS[name][1]} is malformed (drp never wrote it)" in r.stderr
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr
    for value in ("2025-02-30", "soon", "yesterday", "nope", "{bad", "zz"):
        assert value not in r.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
@pytest.mark.parametrize("name", ["deadline", "recorded_at", "details", "data", "infinity"])
def test_every_other_command_says_one_line(drp, record, db_target, name, args):
    corrupt(record, db_target, name)
    r = drp(*args)
    if args[0] == "db":  # the upgrade checks the record first (sweep item 1)
        assert r.exit_code == 6, (r.stdout, r.stderr)
        (line,) = r.stderr.splitlines()
        assert f"(nothing was changed): {EDITS[name][1]} is malformed (drp never wrote it)" in line
        return
    if name in ("details", "recorded_at") and args[0] == "overdue":
        assert r.exit_code == 0  # the morning check reads neither (Knowsley sets aims)
        return
    assert r.exit_code == 4, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert lines == [
        f"Error: the database is damaged ({EDITS[name][1].replace(': stored', ': its stored')} "
        "is not a value drp writes): nothing read from it can be trusted; run `drp verify`, "
        "and restore the latest good backup (`drp restore`)"
    ]


def test_list_and_export(drp, record, db_target, tmp_path):
    corrupt(record, db_target, "deadline" if "://" not in db_target else "infinity")
    for args in (("list",), ("export", "--output", str(tmp_path / "out.csv"))):
        r = drp(*args)
        assert r.exit_code == 4, (args, r.stderr)
        assert "concern 1: its stored concern.deadline is not a value drp writes" in r.stderr


def test_a_stream_left_unfinished_is_closed_with_its_transaction(db_target, record):
    """verify stops reading its streams at a malformed value: each is closed when the
    transaction ends, never by the garbage collector after the connection is gone
    ("Exception ignored in: <generator object Conn.stream>")."""
    from drp_cli.store.connection import Store

    store = Store(db_target)
    with store.read() as conn:
        stream = conn.stream("SELECT id FROM event ORDER BY id")
        assert next(stream)["id"] == 1
        assert conn.streams == [stream]
    assert inspect.getgeneratorstate(stream) == "GEN_CLOSED"  # type: ignore[arg-type]
    assert store._streams == []
    store.close()


# -- item 11: what is not a regular file in the store ----------------------------------------
def _stored(db_target) -> Path:
    t = Tracker(db_target)
    (view,) = attachments.attachments(t, 1)
    t.store.close()
    return view.path


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "link-to-file"])
def test_verify_refuses_what_is_not_a_regular_file(drp, record, db_target, tmp_path, kind):
    path = _stored(db_target)
    good = path.read_bytes()
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    else:  # a link to a copy elsewhere: the store holds files, not links
        other = tmp_path / "elsewhere"
        other.write_bytes(good)
        path.symlink_to(other)
    r = drp("verify")
    assert r.exit_code == 6, (r.stdout, r.stderr)
    assert r.stderr.splitlines() == [
        "TAMPERED: concern 1: the stored file of attachment 1 is not a regular file (a FIFO, "
        "device, folder or link was put in its place)"
    ]


# -- found by tests/test_t29r_fuzz.py ---------------------------------------------------------
@pytest.mark.parametrize(
    "statement, where",
    [
        # the judgement has no state for a kind drp never writes (was exit 70, KeyError)
        ("UPDATE concern SET deadline_kind = 'zz' WHERE id = 1", "concern.deadline_kind"),
        # a status drp never writes hid the concern from the morning check (was exit 0)
        ("UPDATE concern SET status = 'Open' WHERE id = 1", "concern.status"),
    ],
)
def test_the_morning_check_refuses_what_it_cannot_judge(drp, record, statement, where):
    record(statement)
    r = drp("overdue", "--on", "2025-04-01")
    assert (r.exit_code, r.stderr) == (4, (
        f"Error: the database is damaged (concern 1: its stored {where} is not a value drp "
        "writes): nothing read from it can be trusted; run `drp verify`, and restore the "
        "latest good backup (`drp restore`)\n"))  # fmt: skip
    assert drp("verify").exit_code == 6


def test_an_empty_moment_is_no_moment(drp, record, db_target):
    """SQLite's driver reads an empty DATETIME as None, without its converter: `show` met
    None where a moment must be (was exit 70, AttributeError)."""
    if "://" in db_target:
        pytest.skip(PG_ONLY_JSON)
    record("UPDATE event SET recorded_at = '' WHERE id = 1")
    r = drp("show", "1")
    assert r.exit_code == 4
    assert "concern 1: its stored event.recorded_at is not a value drp writes" in r.stderr
    r = drp("verify")
    assert r.exit_code == 6
    assert "TAMPERED: concern 1: stored event.recorded_at is malformed" in r.stderr


@pytest.mark.parametrize(
    "statement, where",
    [
        # Python reads an ISO week date as the day it names: verify passed it (was exit 0)
        ("UPDATE concern SET opened_on = '2025-W10-1' WHERE id = 1", "concern.opened_on"),
        ("UPDATE event SET effective_on = '20250303' WHERE id = 1", "event.effective_on"),
        # a kind or an item's kind drp never writes (show and alert: exit 70, KeyError)
        ("UPDATE concern SET formal_deadline_kind = 'zz' WHERE id = 1",
         "concern.formal_deadline_kind"),
        ("UPDATE item SET kind = '' WHERE concern_id = 1", "item.kind"),
    ],
)  # fmt: skip
def test_what_drp_never_writes_is_refused(drp, record, db_target, statement, where):
    if "://" in db_target and where.endswith("_on"):
        pytest.skip(PG_ONLY_JSON)
    record(statement)
    if where.endswith("_on"):
        r = drp("verify")
        assert r.exit_code == 6
        assert f"TAMPERED: concern 1: stored {where} is malformed" in r.stderr
    for args in (("show", "1"), ("alert", "1", "--on", "2025-04-01")):
        r = drp(*args)
        assert r.exit_code == 4, (args, r.stderr)
        assert f"concern 1: its stored {where} is not a value drp writes" in r.stderr


def test_upgrade_refuses_events_that_fold_into_no_concern(drp, record, db_label):
    """Found by the fuzz: an opening event's kind changed made `db upgrade` refold a concern
    with no protocol (was exit 70, IntegrityError: NOT NULL constraint failed). The upgrade
    now checks the record first (sweep item 1): the altered event is named, nothing folded."""
    record("UPDATE event SET kind = '' WHERE id = 1")
    r = drp("db", "upgrade")
    assert r.exit_code == 6
    assert r.stderr.startswith(
        f"Error: {db_label} is already at schema {SCHEMA_REVISION}, but the record does not "
        "verify (nothing was changed): event 1 (concern 1, entry 1) was altered after it was "
        "recorded (and "
    )
    assert r.stderr.endswith(" more problems); run `drp verify`\n")
    assert drp("verify").exit_code == 6
