"""Schema migrations and the tamper-evident record."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from drp_cli.core.errors import DatabaseError
from drp_cli.services.tracker import Tracker
from drp_cli.store.connection import Store
from drp_cli.store.migrate import upgrade_to
from drp_cli.store.models import SCHEMA_REVISION
from tests.conftest import open_args

D = dt.date


def url_of(target: str) -> str:
    return target if "://" in target else f"sqlite:///{target}"


def test_migrations_match_the_models(db_target):
    """The schema Alembic builds is the schema the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with Store(db_target).write():
        pass  # the first write creates the database
    engine = create_engine(url_of(db_target))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_the_store_reads_and_writes_the_columns_the_models_declare(db_target):
    """The runtime speaks DB-API: what it writes is every column the models declare, and
    the schema tells it which columns are dates and times (SQLite's declared DATE and
    DATETIME, PostgreSQL's own types), so that they come back as dates and UTC datetimes."""
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    from drp_cli.domain.lifecycle import ROW_FIELDS
    from drp_cli.store.record import ATTACHMENT_COLUMNS, EVENT_COLUMNS, ITEM_COLUMNS

    tables = SQLModel.metadata.tables
    written = {
        "concern": {"id", *ROW_FIELDS, "created_at", "updated_at"},
        "event": {"id", *EVENT_COLUMNS},
        "item": {"id", *ITEM_COLUMNS},
        "attachment": {"id", *ATTACHMENT_COLUMNS},
    }
    for name, columns in written.items():
        assert columns == {c.name for c in tables[name].columns}, name
    store = Store(db_target)
    with store.write() as conn:
        for name, table in tables.items():
            kinds = conn.column_types(name)
            for column in table.columns:
                declared = getattr(column.type, "impl", column.type)  # a TypeDecorator's
                want = (
                    "datetime" if isinstance(declared, sa.DateTime)
                    else "date" if isinstance(declared, sa.Date)
                    else ""
                )  # fmt: skip
                assert kinds[column.name] == want, (name, column.name)
    store.close()


def test_upgrade_from_the_first_revision_keeps_everything(db_target, db_label, drp, sql):
    if "://" in db_target:  # start from an empty PostgreSQL database
        sql("DROP SCHEMA public CASCADE")
        sql("CREATE SCHEMA public")
    engine = create_engine(url_of(db_target))
    with engine.begin() as conn:
        upgrade_to(conn, "0001")
        conn.execute(text(
            "INSERT INTO concern (id, protocol, child, category, summary, impact, recommended, "
            "raised_by, role, status, stage, stage_started_on, deadline, opened_on, "
            "event_count, created_at, updated_at) VALUES (1, 'knowsley', 'KN-1', 'statutory', "
            "'No social worker', '', '', 'Old IRO', 'iro', 'open', 'stage-2', '2025-03-10', "
            "'2025-03-17', '2025-03-03', 4, '2025-03-10 09:00:00', '2025-03-10 09:00:00')"
        ))  # fmt: skip
        # a response at stage-1, then one at stage-2: 0004 stores the stage-2 one
        for seq, kind, on, stage in [(1, "opened", "2025-03-03", "stage-1"),
                                     (2, "response", "2025-03-05", "stage-1"),
                                     (3, "escalated", "2025-03-10", "stage-2"),
                                     (4, "response", "2025-03-11", "stage-2")]:  # fmt: skip
            conn.execute(
                text(
                    'INSERT INTO event (concern_id, seq, kind, effective_on, stage, "by", '
                    "recorded_at, text, details) VALUES (1, :seq, :kind, :on, :stage, "
                    "'Old IRO', '2025-03-10 09:00:00.000000', '', '{}')"
                ),
                {"seq": seq, "kind": kind, "on": on, "stage": stage},
            )
    if "://" not in db_target:
        Path(db_target).chmod(0o600)
    engine.dispose()
    for command in ("list", "overdue"):
        r = drp(command)
        assert (r.exit_code, r.stderr) == (
            4, f"Error: {db_label} is at schema 0001; this drp needs {SCHEMA_REVISION}: run "
            "`drp db upgrade` (take a `drp backup` first)\n",
        )  # fmt: skip
    r = drp("db", "upgrade")
    assert r.stdout == f"Upgraded {db_label} from schema 0001 to {SCHEMA_REVISION}.\n"
    c = drp("show", "1", "--json", "--on", "2025-03-12").json()
    assert (c["child"], c["stage"], c["deadline"]) == ("KN-1", "stage-2", "2025-03-17")
    # the recorded fields, which the old opening event did not carry, enter the chain
    assert [e["kind"] for e in c["events"]] == [
        "opened",
        "fields-recorded",
        "response",
        "escalated",
        "response",
    ]
    assert c["events"][1]["by"] == "drp (upgrade)"
    assert sql("SELECT stage_responded_on FROM concern") == [
        ("2025-03-11",) if "://" not in db_target else (dt.date(2025, 3, 11),)
    ]
    (late,) = drp("overdue", "--on", "2025-03-20", "--json").json()
    assert (late["deadline"], late["responded"]) == ("2025-03-17", True)
    assert drp("verify").exit_code == 0
    assert drp("escalate", "1", "--on", "2025-03-12").exit_code == 0
    assert drp("verify").exit_code == 0
    assert drp("db", "upgrade").stdout == f"{db_label} is already at schema {SCHEMA_REVISION}.\n"


def test_newer_database_is_refused_and_not_changed(db_path, drp):
    drp(*open_args())
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    before = db_path.read_bytes()
    for args in (["list"], ["db", "upgrade"]):
        r = drp(*args)
        assert r.exit_code == 4
        assert "was written by a newer drp (schema 0099" in r.stderr
    with pytest.raises(DatabaseError):
        Store(db_path)
    # the status never sends the user to `drp db upgrade`, which would refuse (issue 29, 21)
    r = drp("db", "status")
    assert r.stdout == (
        f"{db_path}: schema 0099 (this drp: {SCHEMA_REVISION}); the database is newer than "
        "this drp: upgrade drp, never the database\n"
    ), (r.exit_code, r.stderr)
    assert db_path.read_bytes() == before


@pytest.fixture
def record(drp, sql):
    drp(*open_args())
    drp("escalate", "1", "--on", "2025-03-11")
    drp("respond", "1", "--text", "Worker from Monday", "--on", "2025-03-12")
    drp(*open_args(child="KN-9"))
    drp("note", "2", "--text", "Phoned", "--on", "2025-03-04")
    out = drp("verify").stdout.splitlines()
    assert out[0] == (
        "OK: 5 events and 0 closure-day changes in an unbroken chain; 2 concerns match their "
        "events; 0 stored files match their SHA-256."
    )
    assert out[1].startswith("Head: 5:") and len(out[1]) == len("Head: 5:") + 64
    assert out[2] == "Mode: unkeyed (SHA-256 chain; set DRP_KEY_FILE for keyed mode)"
    return sql


def expect_tampered(drp, message):
    r = drp("verify")
    assert (r.exit_code, r.stderr) == (6, f"TAMPERED: {message}\n")


def test_altered_event_is_found(drp, record):
    record("UPDATE event SET text = 'Worker allocated' WHERE id = 3")
    expect_tampered(drp, "event 3 (concern 1, entry 3) was altered after it was recorded")


def test_altered_date_is_found(drp, record):
    # the escalation's date: the concern's stored stage start no longer matches it either
    record("UPDATE event SET effective_on = '2025-03-05' WHERE id = 2")
    expect_tampered(
        drp,
        "event 2 (concern 1, entry 2) was altered after it was recorded\n"
        "TAMPERED: concern 1: stored stage_started_on does not match its events\n"
        "TAMPERED: concern 1: stored deadline does not match its events\n"
        "TAMPERED: concern 1: stored formal_started_on does not match its events\n"
        "TAMPERED: concern 1: stored formal_deadline does not match its events",
    )


def test_altered_stored_response_is_found(drp, record):
    # `drp overdue` reads "responded" from the concern row: a forged one is caught
    record("UPDATE concern SET stage_responded_on = NULL WHERE id = 1")
    expect_tampered(drp, "concern 1: stored stage_responded_on does not match its events")


def test_deleted_event_is_found(drp, record):
    record("DELETE FROM event WHERE id = 2")
    r = drp("verify")
    assert r.exit_code == 6
    assert r.stderr.startswith(
        "TAMPERED: 1 link deleted before event 3 (concern 1, entry 3) (chain position 2 is "
        "missing)\nTAMPERED: concern 1: its entries are not numbered 1 to 2\n"
        "TAMPERED: concern 1: stored stage does not match its events\n"
    )


def test_deleted_last_event_is_found(drp, record):
    record("DELETE FROM event WHERE id = 5")
    r = drp("verify")
    assert r.exit_code == 6
    assert r.stderr == (
        "TAMPERED: the chain ends at position 4 but 5 links were recorded: 1 latest link "
        "deleted\nTAMPERED: concern 2: stored event_count does not match its events\n"
    )


def test_inserted_event_is_found(drp, record):
    record(
        'INSERT INTO event (concern_id, seq, kind, effective_on, stage, "by", recorded_at, '
        "text, details) VALUES (1, 4, 'response', '2025-03-13', 'stage-2', 'Someone', "
        "'2025-03-13 10:00:00', 'All fine', '{}')"
    )
    r = drp("verify")
    assert r.exit_code == 6
    assert "event 6 (concern 1, entry 4) was inserted out of band" in r.stderr


def test_edited_concern_row_is_found(drp, record):
    record("UPDATE concern SET status = 'resolved' WHERE id = 2")
    expect_tampered(drp, "concern 2: stored status does not match its events")


def test_verify_json(drp, record):
    r = drp("verify", "--json")
    data = r.json()
    assert (data["ok"], data["events"], data["concerns"], data["problems"]) == (True, 5, 2, [])
    assert (data["head"]["seq"], data["mode"]) == (5, "sha256")


def test_library_verify(db_target):
    t = Tracker(db_target)
    c = t.open(protocol="knowsley", child="K", category="general", summary="x", on=D(2025, 3, 3))
    t.resolve(c.id, outcome="done", on=D(2025, 3, 4))
    assert t.verify().ok


def test_network_file_system_is_refused(tmp_path, monkeypatch, drp):
    import drp_cli.store.dbfile

    existing = tmp_path / "existing.sqlite3"
    assert drp("--db", str(existing), "init").exit_code == 0
    assert drp("--db", str(existing), "list", "--json").exit_code == 0
    monkeypatch.setattr(drp_cli.store.dbfile, "filesystem_type", lambda path: "cifs")
    target = tmp_path / "shared" / "drp.sqlite3"
    for db, command in ((target, "list"), (existing, "overdue"), (existing, "list")):
        r = drp("--db", str(db), command)
        assert (r.exit_code, r.stderr) == (
            4,
            f"Error: {db} is on a network file system (cifs); SQLite's locking is not safe "
            "there: use PostgreSQL for a shared database (see README, 'A whole service')\n",
        )
    assert not target.exists()


def test_filesystem_type_reads_proc_mounts(tmp_path):
    from drp_cli.store.dbfile import filesystem_type

    assert filesystem_type(tmp_path) not in (None, "cifs", "nfs")


def test_private_whatever_the_umask(db_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        t = Tracker(db_path)
        t.open(protocol="knowsley", child="K", category="general", summary="x", on=D(2025, 3, 3))
        # the pooled connection is still open, so the WAL files exist: all three are checked
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{db_path}{suffix}")
            assert path.exists(), path
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        t.store.close()
    finally:
        os.umask(old)


def test_daily_queries_use_the_indexes(db_path, sql):
    """`drp overdue` and `drp list --status open` must not scan the whole history."""
    import datetime as dt

    from drp_cli.store.daily import OVERDUE_SQL

    day = dt.date(2025, 3, 3)
    with Store(db_path).write() as conn:
        plan = " ".join(str(r[-1]) for r in conn.rows("EXPLAIN QUERY PLAN " + OVERDUE_SQL,
                                                         (day, day, day, day)))  # fmt: skip
    # three deadlines and the stages with none: four searches, no scan
    assert plan.count("SEARCH concern USING INDEX ix_concern_status_") == 4
    assert "ix_concern_status_deadline" in plan
    assert "ix_concern_status_formal_deadline" in plan
    assert "ix_concern_status_step_deadline" in plan
    assert "SCAN" not in plan and " event " not in plan  # no event is read
    plan = " ".join(
        str(r[-1]) for r in sql("EXPLAIN QUERY PLAN SELECT id FROM concern WHERE status = 'open'")
    )
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan
    plan = " ".join(
        str(r[-1]) for r in sql("EXPLAIN QUERY PLAN SELECT * FROM event WHERE concern_id = 7")
    )
    assert "ix_event_concern_id" in plan


text_values = st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
event_rows = st.fixed_dictionaries(
    {
        "concern_id": st.integers(min_value=1, max_value=10**9),
        "seq": st.integers(min_value=1, max_value=10**6),
        "kind": st.sampled_from(["opened", "response", "note", "escalated"]),
        "effective_on": st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2199, 12, 31)),
        "stage": st.text(max_size=12),
        "from_stage": text_values,
        "by": st.text(max_size=20),
        "recorded_at": st.datetimes(timezones=st.just(dt.UTC)),
        "text": st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
        "details": st.one_of(
            st.dictionaries(st.text(max_size=5), text_values, max_size=3),
            st.text(max_size=20),  # as read back from the database
        ),
    }
)


@settings(deadline=None)  # a busy machine's pause must not fail an example
@given(event_rows, st.integers(min_value=1, max_value=10**9), st.text(max_size=64))
def test_canonical_json_is_exactly_the_reference_encoding(row, chain_seq, prev):
    """Hashes already stored must stay valid: the fast writer equals json's encoder."""
    from drp_cli.domain.chain import _ENCODE, HASHED_FIELDS, _canon, canonical_json

    content = {name: _canon(name, row[name]) for name in HASHED_FIELDS}
    content |= {"chain_seq": chain_seq, "prev_hash": prev}
    assert canonical_json(row, chain_seq, prev) == _ENCODE(content)


def test_event_hash_is_stable():
    from drp_cli.domain.chain import GENESIS, event_hash

    row = {"concern_id": 1, "seq": 1, "kind": "opened", "effective_on": dt.date(2025, 3, 3),
           "stage": "stage-1", "from_stage": None, "by": "A. IRO",
           "recorded_at": dt.datetime(2025, 3, 3, 9, 30, tzinfo=dt.UTC),
           "text": "No allocated social worker \u2013 «urgent»",
           "details": {"due": None}}  # fmt: skip
    # computed with the encoder drp used before canonical_json existed
    assert event_hash(row, 1, GENESIS) == (
        "9b46c8bfda96ad5998f2b033820e655eeeff94734d25a6c42b52edc87f6fc2e9"
    )


def test_sql_is_written_only_in_the_store():
    """One data path: no module outside the store layer (drp_cli/store: the connection, the
    record, the report's set-based queries and the migrations) writes SQL."""
    import io
    import re
    import tokenize

    import drp_cli

    package = Path(drp_cli.__file__).parent
    sql = re.compile(r"\b(SELECT\s|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|PRAGMA\s)")
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.parts[0] == "store":  # the store layer: connection, record, migrations ...
            continue
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        for tok in tokens:
            if tok.type == tokenize.STRING and sql.search(tok.string):
                found.append(f"{rel}:{tok.start[0]}")
    assert found == []
