"""drp purge: removes the closed concerns past their retention period and not held, with
their events, items, attachment rows and stored files, leaves a tombstone in the chain that
`drp verify` accepts, and leaves no trace of the text in the database file or its
write-ahead log (issue 31 item 2)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import open_args
from tests.test_t31ret_retention import schedule_settings

__all__ = ["schedule_settings"]

CHILD = "KN-PURGE-7741"
SUMMARY = "Zebracorn placement breakdown unreported for nine weeks"
NOTE = "Quokkafish visit notes never uploaded"
KEPT_CHILD = "KN-KEEP-1029"


@pytest.fixture
def record(drp, schedule_settings, tmp_path):
    """Concern 1 (CHILD) resolved 2025-03-10, with a note, an action and an attachment
    shared with concern 2; 2 (KEPT_CHILD) resolved 2025-03-12 and held; 3 open. Retention:
    6 years."""
    assert drp(*open_args(child=CHILD, summary=SUMMARY, on="2025-03-03")).exit_code == 0
    assert drp(*open_args(child=KEPT_CHILD, on="2025-03-03")).exit_code == 0
    assert drp(*open_args(child="KN-OPEN-1", on="2025-03-03")).exit_code == 0
    assert drp("note", "1", "--text", NOTE, "--on", "2025-03-04").exit_code == 0
    r = drp("action", "add", "1", "--text", "Allocate a social worker", "--owner", "TM",
            "--on", "2025-03-04")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    only = tmp_path / "only-one.pdf"
    only.write_bytes(b"%PDF-1.4 only concern one's care plan")
    shared = tmp_path / "shared.pdf"
    shared.write_bytes(b"%PDF-1.4 a care order both concerns attach")
    for cid, path in (("1", only), ("1", shared), ("2", shared)):
        r = drp("attach", cid, str(path), "--kind", "other", "--on", "2025-03-05")
        assert r.exit_code == 0, r.stderr
    assert drp("note", "2", "--text", "Kept", "--on", "2025-03-05").exit_code == 0
    assert drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-10").exit_code == 0
    assert drp("resolve", "2", "--outcome", "Allocated", "--on", "2025-03-12").exit_code == 0
    assert drp("hold", "2", "--reason", "Inquiry", "--on", "2025-04-01").exit_code == 0
    assert drp("note", "3", "--text", "After", "--on", "2025-04-02").exit_code == 0
    assert drp("config", "set", "retention_years", "6").exit_code == 0
    # a subject access request (answered) about the child whose only concern goes, and one
    # about the child whose concern stays
    for child in (CHILD, KEPT_CHILD):
        r = drp("subject-access", child, "--received", "2025-03-06")
        assert r.exit_code == 0, r.stderr
    # answered: a request not yet answered holds its child's concerns (DPA 2018 s.173)
    r = drp("subject-access", CHILD, "--sent", "2025-03-28")
    assert r.exit_code == 0, r.stderr
    assert drp("verify").exit_code == 0
    return {"only": only.read_bytes(), "shared": shared.read_bytes()}


def _stored(drp) -> list[str]:
    """The SHA-256 of every file in the attachments store."""
    shown = drp("attachments", "2", "--json")
    assert shown.exit_code == 0, shown.stderr
    return sorted(a["sha256"] for a in shown.json())


def test_purge_without_yes_lists_and_refuses(drp, record, sql):
    before = sql("SELECT count(*) FROM event")[0][0]
    r = drp("purge", "--on", "2031-03-12")
    assert r.exit_code == 2
    assert r.stdout == (
        "Would purge 1 concern past the retention period on 2031-03-12: 6 events, 1 item, "
        "2 attachments (1 stored file), 1 subject access request\n"
        "       1  closed 2025-03-10  due for disposal 2031-03-10  (retention_years=6)\n"
        "Kept under a legal hold though past their period: 2\n"
    )
    assert r.stderr == (
        "Error: a purge removes these concerns for good: run it again with --yes (or "
        "--dry-run to list them)\n"
    )
    r = drp("purge", "--on", "2031-03-12", "--dry-run", "--json")
    assert r.exit_code == 0
    assert r.json() == {
        "on": "2031-03-12", "dry_run": True,
        "concerns": [{"id": 1, "closed_on": "2025-03-10", "rule": "retention_years=6",
                      "due_for_disposal_on": "2031-03-10"}],
        "events": 6, "items": 1, "attachments": 2, "files": 1, "subject_access_requests": 1,
        "tombstone": None,
    }  # fmt: skip
    assert sql("SELECT count(*) FROM event")[0][0] == before
    # nothing due: nothing to refuse
    r = drp("purge", "--on", "2031-03-09")
    assert (r.exit_code, r.stdout) == (
        0, "Nothing is past its retention period on 2031-03-09 and not held.\n"
    )  # fmt: skip
    r = drp("purge", "--yes")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --on is required: the day the retention periods are judged\n"
    )  # fmt: skip


def test_a_held_or_undue_concern_named_is_refused(drp, record, sql):
    r = drp("purge", "2", "--on", "2031-03-12", "--yes")
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr == (
        "Error: concern 2 is under a legal hold: it is not purged until the hold is lifted "
        "(`drp unhold`)\n"
    )
    r = drp("purge", "1", "--on", "2031-03-09", "--yes")
    assert r.exit_code == 1
    assert r.stderr == (
        "Error: concern 1 is not past its retention period on 2031-03-09: due for disposal "
        "on 2031-03-10 (retention_years=6)\n"
    )
    r = drp("purge", "3", "--on", "2031-03-12", "--yes")
    assert r.exit_code == 1
    assert r.stderr == (
        "Error: concern 3 is not closed (or not there): only a closed concern past its "
        "retention period is purged\n"
    )
    assert sql("SELECT count(*) FROM concern")[0][0] == 3


def test_purge_removes_the_concern_and_verify_accepts_the_tombstone(drp, record, sql):
    files_before = _stored(drp)
    store_dir = _attachments_dir(drp)
    assert len({p.name for p in store_dir.rglob("*") if p.is_file()}) == 2
    r = drp("purge", "--on", "2031-03-12", "--yes", "--by", "Records Officer")
    assert (r.exit_code, r.stderr) == (0, "")
    head = sql("SELECT seq FROM chain_head")[0][0]
    assert r.stdout == (
        "Purged 1 concern past the retention period on 2031-03-12: 6 events, 1 item, "
        "2 attachments (1 stored file), 1 subject access request\n"
        "       1  closed 2025-03-10  due for disposal 2031-03-10  (retention_years=6)\n"
        f"Tombstone: chain position {head} (drp verify checks it).\n"
        "Kept under a legal hold though past their period: 2\n"
    )
    assert sql("SELECT id FROM concern ORDER BY id") == [(2,), (3,)]
    for table in ("event", "item", "attachment"):
        assert sql(f"SELECT count(*) FROM {table} WHERE concern_id = 1") == [(0,)]
    # the file only concern 1 attached is gone; the one concern 2 attaches too is kept
    assert _stored(drp) == files_before
    assert {p.name for p in store_dir.rglob("*") if p.is_file()} == set(files_before)
    # the tombstone: what, when, by whom, under which rule; no personal data
    (by, on, detail), = sql("SELECT by, purged_on, detail FROM purge")  # fmt: skip
    assert (by, str(on)[:10]) == ("Records Officer", "2031-03-12")
    d = json.loads(detail)
    assert {k: v for k, v in d.items() if k != "gaps"} == {
        "concerns": [1], "rules": {"1": "retention_years=6"}, "events": 6, "items": 1,
        "attachments": 2, "files": 1, "subject_access_requests": 1,
    }  # fmt: skip
    assert sql("SELECT child FROM subject_access_request") == [(KEPT_CHILD,)]
    assert CHILD not in detail and SUMMARY not in detail
    r = drp("verify")
    assert (r.exit_code, r.stderr) == (0, ""), r.stdout
    # the chain goes on after a purge, and a second purge is checked with the first
    assert drp("note", "3", "--text", "Later", "--on", "2025-04-03").exit_code == 0
    assert drp("unhold", "2", "--reason", "Released", "--on", "2025-05-01").exit_code == 0
    # still held while the request about its child is not yet answered
    assert drp("purge", "--on", "2031-03-12", "--yes").exit_code == 0
    assert sql("SELECT id FROM concern ORDER BY id") == [(2,), (3,)]
    assert drp("subject-access", KEPT_CHILD, "--sent", "2025-04-04").exit_code == 0
    assert drp("purge", "--on", "2031-03-12", "--yes").exit_code == 0
    assert sql("SELECT id FROM concern") == [(3,)]
    assert len(sql("SELECT id FROM purge")) == 2
    assert not [p for p in store_dir.rglob("*") if p.is_file()]
    r = drp("verify")
    assert (r.exit_code, r.stderr) == (0, ""), r.stdout


def _attachments_dir(drp) -> Path:
    from drp_cli.store.connection import Store

    return Store().attachments_dir


def test_a_purge_behind_drps_back_still_fails_verify(drp, record, sql):
    ids = [r[0] for r in sql("SELECT id FROM event WHERE concern_id = 1")]
    for table in ("attachment", "item", "event"):
        sql(f"DELETE FROM {table} WHERE concern_id = 1")
    sql("DELETE FROM concern WHERE id = 1")
    assert ids
    r = drp("verify")
    assert r.exit_code == 6
    assert "deleted before event" in r.stdout + r.stderr


def test_a_deletion_hidden_in_the_tombstone_fails_verify(drp, record, sql):
    """Deleting a later event and recording its position in the tombstone's gaps (with the
    right hashes around it) is caught: the tombstone no longer matches its own hash."""
    assert drp("purge", "--on", "2031-03-12", "--yes").exit_code == 0
    ((detail,),) = sql("SELECT detail FROM purge")
    d = json.loads(detail)
    ((seq, prev, digest, event_id),) = sql(
        "SELECT chain_seq, prev_hash, hash, id FROM event WHERE concern_id = 3 AND kind = 'note'"
    )
    d["gaps"].append([seq, seq, prev, digest])
    sql("UPDATE purge SET detail = :d", d=json.dumps(d))
    sql("DELETE FROM event WHERE id = :i", i=event_id)
    r = drp("verify")
    assert r.exit_code == 6
    assert "purge 1 (the tombstone of 2031-03-12) was altered after it was recorded" in r.stderr
    # a gap that claims a position still in the chain is caught too
    d["gaps"][-1] = [seq - 1, seq - 1, "0" * 64, "0" * 64]
    sql("UPDATE purge SET detail = :d", d=json.dumps(d))
    out = drp("verify")
    assert out.exit_code == 6
    assert f"a purge records chain positions {seq - 1} to {seq - 1} as removed" in out.stderr


@pytest.fixture
def wal_kept(drp, db_path):
    """Another connection open on the database throughout (a second IRO's drp, say), so that
    SQLite keeps its write-ahead log between commands instead of removing it."""
    assert drp("init").exit_code == 0
    other = sqlite3.connect(db_path)
    other.execute("SELECT count(*) FROM sqlite_master").fetchall()
    yield db_path.with_name(db_path.name + "-wal")
    other.close()


def test_no_trace_of_the_text_is_left_in_the_file_or_its_wal(drp, wal_kept, record, db_path):
    def holds(text: str) -> bool:
        return any(text.encode() in path.read_bytes()
                   for path in (db_path, wal_kept) if path.exists())  # fmt: skip

    assert wal_kept.exists() and wal_kept.stat().st_size > 0
    assert holds(CHILD) and holds(SUMMARY) and holds(NOTE)
    assert drp("purge", "--on", "2031-03-12", "--yes").exit_code == 0
    for text in (CHILD, SUMMARY, NOTE):
        assert not holds(text), text
    assert holds(KEPT_CHILD)
    assert drp("verify").exit_code == 0


def test_keyed_mode_and_an_earlier_head_hold_across_a_purge(drp, record, sql, tmp_path,
                                                            monkeypatch):  # fmt: skip
    key = tmp_path / "chain.key"
    assert drp("key", "create", str(key)).exit_code == 0
    monkeypatch.setenv("DRP_KEY_FILE", str(key))
    assert drp("verify", "--seal").exit_code == 0
    # a head printed before the purge: the last link (concern 3's note), and one inside
    # what the purge removes (concern 1's resolution)
    h = drp("verify", "--json").json()["head"]
    last = f"{h['seq']}:{h['hash']}"
    ((seq, digest),) = sql("SELECT chain_seq, hash FROM event WHERE concern_id = 1 "
                           "AND kind = 'resolved'")  # fmt: skip
    assert drp("purge", "--on", "2031-03-12", "--yes").exit_code == 0
    ((mac,),) = sql("SELECT mac FROM purge")
    assert mac is not None and len(mac) == 64
    for head in (last, f"{seq}:{digest}"):
        r = drp("verify", "--expect", head)
        assert (r.exit_code, r.stderr) == (0, ""), head
    r = drp("verify", "--expect", f"{seq}:{'0' * 64}")
    assert r.exit_code == 6
    # the tombstone is sealed: rewritten without the key, it fails
    sql("UPDATE purge SET mac = :m", m="0" * 64)
    r = drp("verify")
    assert r.exit_code == 6
    assert "purge 1 (the tombstone of 2031-03-12) is not sealed by the key" in r.stderr


def test_a_tombstone_made_unkeyed_is_sealed_with_the_rest(drp, record, sql, tmp_path,
                                                          monkeypatch):  # fmt: skip
    assert drp("purge", "--on", "2031-03-12", "--yes").exit_code == 0
    assert sql("SELECT mac FROM purge") == [(None,)]
    key = tmp_path / "chain.key"
    assert drp("key", "create", str(key)).exit_code == 0
    monkeypatch.setenv("DRP_KEY_FILE", str(key))
    assert drp("verify", "--seal").exit_code == 0
    ((mac,),) = sql("SELECT mac FROM purge")
    assert mac is not None
    r = drp("verify")
    assert (r.exit_code, r.stderr) == (0, "")


def test_a_json_backup_of_a_purged_record_restores_and_verifies(drp, record, tmp_path,
                                                                monkeypatch):  # fmt: skip
    assert drp("purge", "--on", "2031-03-12", "--yes").exit_code == 0
    backup = tmp_path / "b.json"
    assert drp("backup", str(backup), "--format", "json").exit_code == 0
    assert CHILD not in backup.read_text()
    store = _attachments_dir(drp)  # the stored files stay where they are
    monkeypatch.setenv("DRP_DB", str(tmp_path / "restored.sqlite3"))
    monkeypatch.setenv("DRP_ATTACHMENTS", str(store))
    r = drp("restore", str(backup))
    assert r.exit_code == 0, r.stderr
    r = drp("verify")
    assert (r.exit_code, r.stderr) == (0, ""), r.stderr
