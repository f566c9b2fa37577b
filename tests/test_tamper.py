"""Every table and column that holds case data: a direct edit, insert or delete is caught by
`drp verify` (exit 6), on SQLite and PostgreSQL. The record is built through the library
with one concern of each shape, a closure day and an attached file."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from drp_cli.services import attachments, details
from drp_cli.services.tracker import Tracker

D = dt.date


@pytest.fixture
def record(db_target, tmp_path, sql):
    t = Tracker(db_target)
    c = t.open(protocol="knowsley", child="KN-1", category="statutory", issue=None,
               summary="No social worker", impact="Drift", recommended="Allocate",
               on=D(2025, 3, 3))  # fmt: skip
    t.respond(c.id, text="Looking", respondent="TM", on=D(2025, 3, 4))
    t.escalate(c.id, on=D(2025, 3, 11), due=D(2025, 3, 14))
    t.respond(c.id, text="Allocated", on=D(2025, 3, 12))
    t.refer(c.id, senior_officer="Head of Service", notified_on=D(2025, 3, 12), text="why",
            on=D(2025, 3, 13))  # fmt: skip
    t.record_voice(c.id, "wishes-sought", text="Seen alone", on=D(2025, 3, 13))
    details.add(t, c.id, "action", text="Allocate a worker", owner="TM", on=D(2025, 3, 4))
    details.add(t, c.id, "professional", name="J Smith", role="Social worker", on=D(2025, 3, 4))
    details.mark_done(t, c.id, 1, on=D(2025, 3, 12))
    doc = tmp_path / "plan.txt"
    doc.write_text("care plan")
    attachments.attach(t, c.id, doc, kind="care-plan", on=D(2025, 3, 5))
    c2 = t.open(protocol="west-sussex", child="WS-2", category="general", summary="Late review",
                on=D(2025, 3, 5))  # fmt: skip
    t.record_voice(c2.id, "told-outcome", on=D(2025, 3, 6))
    t.resolve(c2.id, outcome="Review held", on=D(2025, 3, 7))
    t.add_closures(D(2025, 3, 20), reason="Office move")
    report = t.verify()
    assert report.ok, report.problems
    t.store.close()
    return sql


def verify_fails(drp, *needles):
    r = drp("verify")
    assert r.exit_code == 6, (r.stdout, r.stderr)
    for needle in needles:
        assert needle in r.stderr, r.stderr
    return r.stderr


CONCERN_EDITS = {
    "summary": "'Nothing wrong'",
    "child": "'KN-9'",
    "category": "'service'",
    "issue": "'no-social-worker'",
    "impact": "''",
    "recommended": "''",
    "raised_by": "'Someone else'",
    "role": "'cp-chair'",
    "external_ref": "'X-1'",
    "uid": "'forged'",
    "protocol": "'west-sussex'",
    "status": "'withdrawn'",
    "stage": "'stage-3'",
    "stage_started_on": "'2025-03-12'",
    "stage_due_override": "NULL",
    "stage_responded_on": "NULL",
    "deadline": "'2027-01-01'",
    "formal_started_on": "'2025-03-12'",
    "formal_deadline": "'2027-01-01'",
    "referred_on": "NULL",
    "senior_officer_notified_on": "NULL",
    "route": "'external-agency'",
    "deadline_kind": "'firm'",
    "formal_deadline_kind": "'guidance'",
    "step": "'contact'",
    "step_deadline": "'2025-03-12'",
    "step_deadline_kind": "'firm'",
    "wishes": "'not-sought'",
    "told_outcome": "'told'",
    "opened_on": "'2025-03-01'",
    "closed_on": "'2025-03-20'",
    "outcome": "'Resolved'",
    "event_count": "3",
    "owner": "'Someone else'",
    "team": "'Another team'",
}


@pytest.mark.parametrize("column", sorted(CONCERN_EDITS))
def test_every_concern_column(drp, record, column):
    record(f"UPDATE concern SET {column} = {CONCERN_EDITS[column]} WHERE id = 1")
    verify_fails(drp, f"concern 1: stored {column} does not match its events")


def test_hiding_an_overdue_concern_is_caught(drp, record):
    # concern 1 is past its Knowsley aim (due 14 Mar, "aiming for 5 working days", 3.2)
    assert [i["id"] for i in drp("overdue", "--on", "2025-03-17", "--json").json()] == [1]
    record("UPDATE concern SET deadline = '2027-01-01', formal_deadline = '2027-01-01'")
    assert drp("overdue", "--on", "2025-03-17", "--json").json() == []  # the edit hides it ...
    verify_fails(drp, "concern 1: stored deadline does not match")  # ... verify does not


def test_softening_a_firm_deadline_to_an_aim_is_caught(drp, record):
    """Turning a firm deadline into an aim takes it out of the exit status: verify says so."""
    r = drp(
        "open",
        "--protocol",
        "west-sussex",
        "--child",
        "WS-3",
        "--category",
        "general",
        "--summary",
        "x",
        "--on",
        "2025-03-03",
    )  # informal, 5 working days from the request to the Practice Manager: Mon 10 Mar
    assert r.exit_code == 0, r.stderr
    assert drp("done", "3", "pm-request", "--on", "2025-03-03").exit_code == 0
    assert drp("overdue", "--on", "2025-03-17").exit_code == 1
    record("UPDATE concern SET deadline_kind = 'aim' WHERE id = 3")
    assert drp("overdue", "--on", "2025-03-17").exit_code == 0  # the edit hides it ...
    verify_fails(drp, "concern 3: stored deadline_kind does not match")  # ... verify does not


@pytest.mark.parametrize(
    ("column", "value"),
    [("text", "'Edited'"), ("details", "'{}'"), ('"by"', "'Someone'"),
     ("recorded_at", "'2025-03-04 10:00:00'"), ("effective_on", "'2025-03-05'"),
     ("kind", "'note'"), ("stage", "'stage-3'"), ("from_stage", "'stage-2'"),
     ("imported_by", "'Someone'"), ("salt", "'00'"), ("salt", "NULL"),
     ("content", "'" + "c" * 64 + "'")],
)  # fmt: skip
def test_every_event_column(drp, record, column, value):
    record(f"UPDATE event SET {column} = {value} WHERE id = 2")
    verify_fails(drp, "event 2 (concern 1, entry 2) was altered after it was recorded")


@pytest.mark.parametrize(
    ("statement", "needle"),
    [
        ("UPDATE item SET data = '{\"text\": \"Nothing\", \"owner\": \"TM\", \"due\": null}' "
         "WHERE kind = 'action'", "concern 1: action 1 does not match its events"),
        ("UPDATE item SET done_on = NULL WHERE kind = 'action'",
         "concern 1: action 1 does not match its events"),
        ("UPDATE item SET removed_on = '2025-03-12' WHERE kind = 'professional'",
         "concern 1: professional 1 does not match its events"),
        ("UPDATE item SET position = 9 WHERE kind = 'action'",
         "concern 1: action 1 does not match its events"),
        ("DELETE FROM item WHERE kind = 'professional'", "concern 1: professional 1 was deleted"),
        ("INSERT INTO item (concern_id, kind, n, position, data, added_on, added_by) VALUES "
         "(2, 'needs', 1, 1, '{}', '2025-03-06', 'X')", "concern 2: needs 1 was added out of band"),
        ("UPDATE attachment SET filename = 'other.pdf'",
         "concern 1: attachment 1's row does not match its events"),
        ("UPDATE attachment SET description = 'x'",
         "concern 1: attachment 1's row does not match its events"),
        ("UPDATE attachment SET sha256 = '" + "b" * 64 + "'",
         "concern 1: attachment 1's row does not match its events"),
        ("DELETE FROM attachment", "concern 1: attachment 1's row was deleted"),
        ("UPDATE closure_change SET day = '2025-03-21'",
         "was altered after it was recorded"),
        ("UPDATE closure_change SET action = 'remove'", "was altered after it was recorded"),
        ("UPDATE closure_change SET reason = 'x'", "was altered after it was recorded"),
        ("DELETE FROM closure_change", "1 latest link deleted"),
        ("INSERT INTO closure_change (day, action, reason, \"by\", recorded_at) VALUES "
         "('2025-03-21', 'add', 'x', 'X', '2025-03-21 09:00:00')", "inserted out of band"),
    ],
)  # fmt: skip
def test_items_attachments_and_closures(drp, record, statement, needle):
    record(statement)
    verify_fails(drp, needle)


def test_stored_file_altered_or_missing(drp, record, db_target, tmp_path):
    t = Tracker(db_target)
    (view,) = attachments.attachments(t, 1)
    t.store.close()
    os.chmod(view.path, 0o600)
    view.path.write_text("another plan")
    verify_fails(drp, "concern 1: the stored file of attachment 1 was altered")
    view.path.unlink()
    verify_fails(drp, "concern 1: the stored file of attachment 1 is missing")


def test_deleting_a_concern_row_or_its_events(drp, record, db_target):
    if "://" in db_target:
        pytest.skip("PostgreSQL's foreign keys refuse the delete itself")
    record("DELETE FROM item WHERE concern_id = 2")
    record("DELETE FROM attachment WHERE concern_id = 2")
    record("DELETE FROM concern WHERE id = 2")
    verify_fails(drp, "events of concern 2 have no concern row (the row was deleted)")


def test_truncation_with_the_head_rewound_needs_expect(drp, record):
    head = drp("verify", "--json").json()["head"]
    seq, digest = head["seq"], head["hash"]
    # delete the newest links and rewind the head to the last one left: the chain itself
    # is consistent again, but the head written down earlier is no longer in it
    last = record("SELECT chain_seq, hash FROM event ORDER BY chain_seq DESC LIMIT 1 OFFSET 2")
    (keep_seq, keep_hash) = last[0]
    record(f"DELETE FROM closure_change WHERE chain_seq > {keep_seq}")
    for table in ("item", "attachment"):
        record(f"DELETE FROM {table} WHERE concern_id = 2")
    record(f"DELETE FROM event WHERE chain_seq > {keep_seq}")
    record(f"UPDATE chain_head SET seq = {keep_seq}, hash = '{keep_hash}'")
    r = drp("verify", "--expect", f"{seq}:{digest}")
    assert r.exit_code == 6
    assert f"before the recorded head {seq}" in r.stderr


def test_expect_a_replaced_history(drp, record):
    head = drp("verify", "--json").json()["head"]
    r = drp("verify", "--expect", f"{head['seq']}:{'0' * 64}")
    assert r.exit_code == 6
    assert "the chain no longer holds the recorded head" in r.stderr
    assert drp("verify", "--expect", f"{head['seq']}:{head['hash']}").exit_code == 0


def test_keyed_mode(drp, record, db_target, tmp_path, monkeypatch):
    key = tmp_path / "drp.key"
    assert drp("key", "create", str(key)).exit_code == 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("DRP_KEY_FILE", str(key))
    r = drp("verify")
    assert r.exit_code == 6 and "is not sealed by the key" in r.stderr
    assert drp("verify", "--seal").exit_code == 0
    r = drp("verify", "--json")
    assert (r.exit_code, r.json()["ok"], r.json()["mode"]) == (0, True, "hmac-sha256")
    assert drp("note", "1", "--text", "sealed as written", "--on", "2025-03-14").exit_code == 0
    assert drp("verify").exit_code == 0
    # someone who can write the database but not read the key rewrites the latest entry
    # with everything recomputed (its commitment, its hash, the head): only the seal is
    # wrong, so only the key catches it
    from drp_cli.domain.chain import commitment, event_hash

    names = ("id", "concern_id", "seq", "kind", "effective_on", "stage", "from_stage", "by",
             "recorded_at", "text", "details", "imported_by", "imported_at", "chain_seq",
             "prev_hash", "salt")  # fmt: skip
    quoted = ", ".join(f'"{n}"' for n in names)
    (last,) = record(f"SELECT {quoted} FROM event ORDER BY chain_seq DESC LIMIT 1")
    forged = dict(zip(names, last, strict=True))
    assert (forged["kind"], forged["text"]) == ("note", "sealed as written")
    assert record("SELECT MAX(chain_seq) FROM closure_change")[0][0] < forged["chain_seq"]
    forged["text"] = "Forged"
    forged["content"] = commitment(forged["salt"], forged["text"], forged["details"])
    digest = event_hash(forged, forged["chain_seq"], forged["prev_hash"])
    record(f"UPDATE event SET text = 'Forged', content = '{forged['content']}', "
           f"hash = '{digest}' WHERE id = {forged['id']}")  # fmt: skip
    record(f"UPDATE chain_head SET hash = '{digest}'")
    where = f"event {forged['id']} (concern {forged['concern_id']}, entry {forged['seq']})"
    r = drp("verify", "--json")
    assert (r.exit_code, r.json()["problems"]) == (6, [
        f"{where} is not sealed by the key (chain position {forged['chain_seq']}): the record "
        "was rewritten without the key, or the key is not the one this database was sealed "
        "with"])  # fmt: skip
    monkeypatch.delenv("DRP_KEY_FILE")
    r = drp("verify", "--json")  # without the key the forgery holds: the chain is whole
    assert (r.exit_code, r.json()["mode"], r.json()["problems"]) == (0, "sha256", [])
    assert r.json()["head"] == {"seq": forged["chain_seq"], "hash": digest}


def test_a_head_that_is_not_the_last_link(drp, record):
    """The stored head must be the last link itself, its hash as well as its position."""
    ((seq,),) = record("SELECT seq FROM chain_head")
    record(f"UPDATE chain_head SET hash = '{'0' * 64}'")
    r = drp("verify", "--json")
    assert (r.exit_code, r.json()["problems"]) == (
        6, ["the chain head does not match the last link (altered chain)"])  # fmt: skip
    assert record("SELECT seq FROM chain_head") == [(seq,)]


def test_key_file_must_be_private(drp, tmp_path, monkeypatch, record):
    key = tmp_path / "k"
    key.write_text("a" * 64)
    key.chmod(0o644)
    monkeypatch.setenv("DRP_KEY_FILE", str(key))
    r = drp("verify")
    assert (r.exit_code, r.stderr) == (
        2,
        f"Error: key file {key} can be read by other users: run `chmod 600 {key}`\n",
    )


def test_verify_json_shape(drp, record):
    r = drp("verify", "--json")
    data = r.json()
    assert set(data) >= {"ok", "head", "problems"}
    assert data["ok"] is True and data["problems"] == []
    assert set(data["head"]) == {"seq", "hash"} and len(data["head"]["hash"]) == 64
    record("UPDATE concern SET deadline = '2027-01-01' WHERE id = 1")
    r = drp("verify", "--json")
    assert r.exit_code == 6
    assert r.json()["problems"] == ["concern 1: stored deadline does not match its events"]


def test_path_of_the_store(db_target):
    assert isinstance(Path(db_target).name, str)
