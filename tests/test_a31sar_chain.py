"""The subject access requests inside a tamper-evident chain (issue 31 item 3): a request row
edited, deleted or inserted outside drp, or a link of the requests' chain altered, removed
or added, is found by `sarsql.chain_problems` (what `drp verify` runs: exit 6), named by the
request's id, never by the child's reference; a purge's removal is a link, so verify passes
after it; migration 0013 links the requests of a database in use.

`drp verify` runs the check once the lead wires it into `store.record.verify`; until then the
`verify_hook` fixture makes the same call through the audit's check, which verify already
runs, and `test_verify_itself_runs_the_requests_check` is skipped saying so.
"""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from drp_cli.domain.subject_access import link_hash, row_digest
from drp_cli.services.tracker import Tracker
from drp_cli.store import purgesql, record, sarsql
from tests.conftest import open_args
from tests.test_t31ret_purge import CHILD, KEPT_CHILD
from tests.test_t31ret_purge import record as purge_record
from tests.test_t31ret_retention import schedule_settings

__all__ = ["purge_record", "schedule_settings"]

MIGRATION = importlib.import_module("drp_cli.store.migrations.versions.0013_subject_access_chain")
KEY = bytes(range(32))


def verify_wired() -> bool:
    return "chain_problems" in Path(record.__file__).read_text(encoding="utf-8")


def purge_wired() -> bool:
    from drp_cli.services import retention

    return "remove_requests" in Path(retention.__file__).read_text(encoding="utf-8")


@pytest.fixture
def verify_hook(monkeypatch):
    """`drp verify` runs `sarsql.chain_problems` (the lead's hook, or this stand-in for it)."""
    if verify_wired():
        return
    from drp_cli.store import audit

    original = audit.verify_audit

    def both(conn, key=None):
        return original(conn, key) + sarsql.chain_problems(conn, key)

    monkeypatch.setattr(audit, "verify_audit", both)


@pytest.fixture
def purge_hook(monkeypatch):
    """`drp purge` removes requests through `sarsql.remove_requests` (the hook in
    services/retention.py, or this stand-in for it)."""
    if not purge_wired():
        monkeypatch.setattr(purgesql, "delete_requests", sarsql.remove_requests)


@pytest.fixture
def requests(drp, monkeypatch):
    """Request 1 about KN-1 received and sent (links 1, 2), request 2 about KN-2 received
    (link 3)."""
    for child in ("KN-1", "KN-2"):
        assert drp(*open_args(child=child, on="2026-11-02")).exit_code == 0
    monkeypatch.setattr(Tracker, "today", lambda self: dt.date(2026, 12, 31))
    for args in (("KN-1", "--received", "2026-11-03"), ("KN-1", "--sent", "2026-11-10"),
                 ("KN-2", "--received", "2026-11-20")):  # fmt: skip
        r = drp("subject-access", *args)
        assert r.exit_code == 0, r.stderr


def problems(tracker, key=None) -> list[str]:
    with tracker.store.read() as conn:
        return sarsql.chain_problems(conn, key)


def test_an_intact_chain_has_no_problem(requests, tracker, sql):
    assert problems(tracker) == []
    assert sql("SELECT request_id, change, chain_seq FROM subject_access_link ORDER BY id") == [
        (1, "received", 1), (1, "sent", 2), (2, "received", 3),
    ]  # fmt: skip
    ((seq, head),) = sql("SELECT seq, hash FROM subject_access_head")
    assert (seq, head) == (3, sql("SELECT hash FROM subject_access_link WHERE chain_seq = 3")[0][0])
    # each link's hash is the domain's rule over what it stores
    for rid, change, digest, seq, prev, h in sql(
        "SELECT request_id, change, row_digest, chain_seq, prev_hash, hash FROM subject_access_link"
    ):
        link = {"request_id": rid, "change": change, "row_digest": digest}
        assert link_hash(link, seq, prev) == h


def test_an_edited_request_is_named_by_its_id(requests, tracker, sql):
    sql("UPDATE subject_access_request SET sent_on = '2026-11-09' WHERE id = 1")
    found = problems(tracker)
    assert found == [
        "subject access request 1 was altered after it was recorded (its row is not the one "
        "its last link, chain position 2, records)"
    ]
    assert not any("KN-" in p for p in found)


@pytest.mark.parametrize(
    "column, value",
    [("child", "KN-1"), ("received_on", "2026-11-04"), ("recorded_by", "Someone"),
     ("extension_reason", "Complex"), ("salt", "00"), ("recorded_at", "2026-12-31 10:00:00")],
)  # fmt: skip
def test_every_column_is_covered(requests, tracker, sql, column, value):
    sql(f"UPDATE subject_access_request SET {column} = :v WHERE id = 2", v=value)
    assert [p[:61] for p in problems(tracker)] == [
        "subject access request 2 was altered after it was recorded (i"
    ]


def test_a_deleted_request_is_named_by_its_id(requests, tracker, sql):
    sql("DELETE FROM subject_access_request WHERE id = 2")
    assert problems(tracker) == [
        "subject access request 2 was deleted outside drp (its last link, chain position 3, "
        "records it)"
    ]


def test_an_inserted_request_is_named_by_its_id(requests, tracker, sql):
    sql("INSERT INTO subject_access_request (id, child, received_on, recorded_by, recorded_at) "
        "VALUES (7, 'KN-1', '2026-12-01', 'X', '2026-12-01 10:00:00')")  # fmt: skip
    assert problems(tracker) == [
        "subject access request 7 was inserted out of band: no link of the requests' chain "
        "records it"
    ]


def test_a_request_answered_then_unanswered_is_found(requests, tracker, sql):
    # the tamperer removes the 'sent' link and the answer, and moves the head back: the
    # links after it no longer follow
    sql("DELETE FROM subject_access_link WHERE chain_seq = 2")
    sql("UPDATE subject_access_request SET sent_on = NULL, sent_by = NULL WHERE id = 1")
    assert problems(tracker) == [
        "the subject access requests' chain: 1 link deleted before subject access request 2 "
        "(received, chain position 3) (chain position 2 is missing)"
    ]


def test_the_latest_link_removed_with_the_head_moved_back(requests, tracker, sql):
    ((prev,),) = sql("SELECT prev_hash FROM subject_access_link WHERE chain_seq = 3")
    sql("DELETE FROM subject_access_link WHERE chain_seq = 3")
    sql("UPDATE subject_access_head SET seq = 2, hash = :h", h=prev)
    assert problems(tracker) == [
        "subject access request 2 was inserted out of band: no link of the requests' chain "
        "records it"
    ]
    sql("DELETE FROM subject_access_head")
    assert problems(tracker)[0] == (
        "the subject access requests' chain head is missing (altered requests)"
    )


def test_a_link_rewritten_to_match_an_edit_is_found(requests, tracker, sql):
    sql("UPDATE subject_access_request SET sent_on = '2026-11-09' WHERE id = 1")
    with tracker.store.read() as conn:
        row = conn.record("SELECT * FROM subject_access_request WHERE id = 1")
    sql("UPDATE subject_access_link SET row_digest = :d WHERE chain_seq = 2",
        d=row_digest(1, row))  # fmt: skip
    assert problems(tracker) == [
        "the subject access requests' chain: subject access request 1 (sent, chain position "
        "2) was altered after it was recorded"
    ]


def test_links_drp_never_writes_are_problems_not_crashes(requests, tracker, sql):
    sql("UPDATE subject_access_link SET chain_seq = -5 WHERE id = 1")
    assert problems(tracker)[0].startswith(
        "the subject access requests' chain: the link with id 1: its chain links are not "
        "values drp writes"
    )
    sql("UPDATE subject_access_link SET chain_seq = 1 WHERE id = 1")
    sql("UPDATE subject_access_head SET hash = 'x'")
    assert problems(tracker)[0] == (
        "the subject access requests' chain head is not one drp writes (altered requests)"
    )


def test_keyed_mode_seals_each_link(requests, tracker, sql):
    assert problems(tracker, KEY)[0].startswith(
        "the subject access requests' chain: subject access request 1 (received, chain "
        "position 1) is not sealed by the key"
    )
    with tracker.store.write() as conn:
        assert sarsql.seal_all(conn, KEY) == 3
        assert sarsql.seal_all(conn, KEY) == 0
    assert problems(tracker, KEY) == []
    # a write made with the key seals its own link
    tracker.key = KEY
    from drp_cli.services import subject_access as sar

    sar.mark_sent(tracker, "KN-2", "2026-12-01")
    assert problems(tracker, KEY) == []
    # a whole chain rebuilt without the key (every hash right) is still found
    sql("UPDATE subject_access_request SET sent_on = '2026-11-30' WHERE id = 2")
    with tracker.store.read() as conn:
        row = conn.record("SELECT * FROM subject_access_request WHERE id = 2")
    link = {"request_id": 2, "change": "sent", "row_digest": row_digest(2, row)}
    ((prev,),) = sql("SELECT prev_hash FROM subject_access_link WHERE chain_seq = 4")
    h = link_hash(link, 4, prev)
    sql("UPDATE subject_access_link SET row_digest = :d, hash = :h WHERE chain_seq = 4",
        d=link["row_digest"], h=h)  # fmt: skip
    sql("UPDATE subject_access_head SET hash = :h", h=h)
    assert problems(tracker) == []  # unkeyed, a full rewrite cannot be told
    assert problems(tracker, KEY) == [
        "the subject access requests' chain: subject access request 2 (sent, chain position "
        "4) is not sealed by the key (chain position 4): the record was rewritten without "
        "the key, or the key is not the one this database was sealed with"
    ]


def test_a_removal_through_drp_is_a_link(requests, tracker, sql):
    with tracker.store.write() as conn:
        sarsql.remove_requests(conn, [2, 1])
    assert sql("SELECT count(*) FROM subject_access_request") == [(0,)]
    assert sql("SELECT request_id, change, row_digest FROM subject_access_link "
               "WHERE chain_seq > 3 ORDER BY chain_seq") == [
        (1, "removed", None), (2, "removed", None),
    ]  # fmt: skip
    assert problems(tracker) == []
    sql("INSERT INTO subject_access_request (id, child, received_on, recorded_by, recorded_at) "
        "VALUES (2, 'KN-2', '2026-11-20', 'X', '2026-12-01 10:00:00')")  # fmt: skip
    assert problems(tracker) == [
        "subject access request 2 is recorded as removed (chain position 5) but its row is "
        "there (altered requests)"
    ]


def test_drp_verify_fails_with_exit_6(drp, verify_hook, requests, sql):
    assert drp("verify").exit_code == 0
    sql("DELETE FROM subject_access_request WHERE id = 2")
    r = drp("verify")
    assert r.exit_code == 6
    assert (
        "subject access request 2 was deleted outside drp (its last link, chain position 3, "
        "records it)" in r.stdout + r.stderr
    )
    assert "KN-2" not in r.stdout + r.stderr


@pytest.mark.skipif(
    not verify_wired(),
    reason="drp verify does not yet call sarsql.chain_problems: the lead wires the hook in "
    "store/record.py (see the a31sar report); test_drp_verify_fails_with_exit_6 stands in",
)
def test_verify_itself_runs_the_requests_check(drp, requests, sql):
    sql("UPDATE subject_access_request SET received_on = '2026-11-04' WHERE id = 2")
    r = drp("verify")
    assert r.exit_code == 6
    assert "subject access request 2 was altered after it was recorded" in r.stdout + r.stderr


def test_verify_passes_after_a_purge(drp, verify_hook, purge_hook, purge_record, sql):
    assert sql("SELECT id, child FROM subject_access_request ORDER BY id") == [
        (1, CHILD), (2, KEPT_CHILD),
    ]  # fmt: skip
    r = drp("purge", "--on", "2031-03-12", "--yes")
    assert r.exit_code == 0, r.stderr
    assert sql("SELECT id FROM subject_access_request") == [(2,)]
    assert sql("SELECT request_id, change FROM subject_access_link ORDER BY chain_seq") == [
        (1, "received"), (2, "received"), (1, "sent"), (1, "removed"),
    ]  # fmt: skip
    r = drp("verify")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_upgrade_from_0012_links_the_requests_in_use(drp, sql, db_target, tracker):
    assert (MIGRATION.revision, MIGRATION.down_revision) == ("0013", "0012")
    from drp_cli.store.migrate import upgrade_to

    if "://" in db_target:
        sql("DROP SCHEMA public CASCADE")
        sql("CREATE SCHEMA public")
    engine = create_engine(db_target if "://" in db_target else f"sqlite:///{db_target}")
    with engine.begin() as conn:
        upgrade_to(conn, "0012")
    engine.dispose()
    if "://" not in db_target:
        Path(db_target).chmod(0o600)
    # two requests recorded at 0012 (the second answered)
    for rid, sent in ((1, None), (2, "2025-03-20")):
        sql("INSERT INTO subject_access_request (id, child, received_on, recorded_by, "
            "recorded_at, sent_on, sent_by) VALUES (:i, 'KN-1', '2025-03-10', 'Ann', "
            "'2025-03-10 09:30:00.123456', :s, :b)", i=rid, s=sent,
            b="Ann" if sent else None)  # fmt: skip
    r = drp("db", "upgrade")
    assert r.exit_code == 0, r.stderr
    assert sql("SELECT request_id, change, chain_seq FROM subject_access_link ORDER BY id") == [
        (1, "linked", 1), (2, "linked", 2),
    ]  # fmt: skip
    salts = sql("SELECT salt FROM subject_access_request ORDER BY id")
    assert [len(s) for (s,) in salts] == [32, 32] and salts[0] != salts[1]
    assert problems(tracker) == []
    # the chain goes on from there
    assert drp(*open_args(child="KN-1", on="2025-03-03")).exit_code == 0
    tracker.today = lambda: dt.date(2025, 4, 1)
    from drp_cli.services import subject_access as sar

    sar.mark_sent(tracker, "KN-1", "2025-03-25")
    assert sql("SELECT request_id, change, chain_seq FROM subject_access_link "
               "WHERE chain_seq = 3") == [(1, "sent", 3)]  # fmt: skip
    assert problems(tracker) == []


def test_a_link_moved_to_another_request_is_found(requests, tracker, sql):
    sql("UPDATE subject_access_link SET request_id = 1 WHERE chain_seq = 3")
    assert problems(tracker)[0] == (
        "the subject access requests' chain: subject access request 1 (received, chain "
        "position 3) was altered after it was recorded"
    )


def test_the_latest_link_removed_behind_the_head(requests, tracker, sql):
    sql("DELETE FROM subject_access_link WHERE chain_seq = 3")
    assert problems(tracker) == [
        "the subject access requests' chain: the chain ends at position 2 but 3 links were "
        "recorded: 1 latest link deleted",
        "subject access request 2 was inserted out of band: no link of the requests' chain "
        "records it",
    ]


def tables_wired() -> bool:
    from drp_cli.store import connection

    return {"subject_access_link", "subject_access_head"} <= set(connection.TABLES)


@pytest.fixture
def tables_hook(monkeypatch):
    """A JSON backup carries the requests' chain (the lead's hook: the two tables in
    ``connection.TABLES``, the head's one row replacing a new database's in
    ``record.restore_rows``), or this stand-in for it."""
    if tables_wired():
        return
    from drp_cli.services import backup
    from drp_cli.store import connection

    tables = (*connection.TABLES, "subject_access_link", "subject_access_head")
    for module in (connection, backup, record):
        monkeypatch.setattr(module, "TABLES", tables)
    original = record.restore_rows

    def restore_rows(conn, table, rows):
        if table == "subject_access_head":
            conn.execute("DELETE FROM subject_access_head").close()
        original(conn, table, rows)

    monkeypatch.setattr(record, "restore_rows", restore_rows)


def test_a_json_backup_restores_the_chain(drp, verify_hook, tables_hook, requests, tmp_path,
                                          db_target):  # fmt: skip
    if "://" in db_target:
        pytest.skip("restored into a new SQLite file")
    dump = tmp_path / "backup.json"
    assert drp("backup", str(dump), "--format", "json").exit_code == 0
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "restore", str(dump))
    assert r.exit_code == 0, r.stderr
    r = drp("--db", str(fresh), "verify")
    assert r.exit_code == 0, r.stdout + r.stderr
    t = Tracker(str(fresh))
    try:
        assert problems(t) == []
        with t.store.read() as conn:
            assert conn.rows("SELECT seq FROM subject_access_head") == [(3,)]
    finally:
        t.store.close()
