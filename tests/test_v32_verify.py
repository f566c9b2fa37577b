"""Issue 32: ``drp verify``'s fast walk (drp_cli/store/fastverify.py) gives exactly the full
walk's answer, on both engines.

* A whole record is found whole by the fast walk itself, with the same counts and head as
  the full walk (record.verify with the fast walk switched off).
* Every stored value the full walk checks, altered by one character (or one day, or one),
  makes the fast walk give up, and verify then fails (exit 6) as it always did.
* The hash rule it uses (chain.event_json_of from the stored text) gives byte-identical
  canonical JSON to chain.canonical_json of the converted values, on awkward values; the
  moments it reads as text are the chain's moment_text of the converter's values; the
  details it decodes with msgspec are json.loads's.
* Its memory stays flat: the peak of a verify of 20,000 events is about that of 2,000.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drp_cli.domain import chain
from drp_cli.services import attachments, corrections, details
from drp_cli.services.tracker import Tracker
from drp_cli.store import connection, fastverify, record
from drp_cli.store.connection import Row

D = dt.date


def build(t: Tracker, tmp_path: Path) -> None:
    """A record with one of most things: non-ASCII and emoji, items, an attachment, an
    amendment, a retraction, a redaction, a closure day, a resolved concern."""
    c = t.open(protocol="knowsley", child="KN-1", category="statutory", issue=None,
               summary="Łukasz's plan 😀 — \"quoted\" \\ back\nslash", impact="Drift",
               recommended="Allocate", on=D(2025, 3, 3))  # fmt: skip
    t.respond(c.id, text="Looking ✓", respondent="TM", on=D(2025, 3, 4))
    t.escalate(c.id, on=D(2025, 3, 11), due=D(2025, 3, 14))
    t.note(c.id, text="Ünïcödé note\twith a tab", on=D(2025, 3, 11))
    t.refer(c.id, senior_officer="Head of Service", notified_on=D(2025, 3, 12), text="why",
            on=D(2025, 3, 13))  # fmt: skip
    t.record_voice(c.id, "wishes-sought", text="Seen alone", on=D(2025, 3, 13))
    details.add(t, c.id, "action", text="Allocate a worker 😀", owner="TM", on=D(2025, 3, 4))
    details.add(t, c.id, "professional", name="J Smith", role="Social worker", on=D(2025, 3, 4))
    details.mark_done(t, c.id, 1, on=D(2025, 3, 12))
    doc = tmp_path / "plan.txt"
    doc.write_text("care plan")
    attachments.attach(t, c.id, doc, kind="care-plan", on=D(2025, 3, 5))
    corrections.amend(t, c.id, {"impact": "Drift — ongoing"}, reason="typo", on=D(2025, 3, 14))
    n = t.note(c.id, text="Child's address: 1 Secret Road", on=D(2025, 3, 14))
    corrections.redact(t, c.id, len(n.events), ["text"], reason="entered in error")
    c2 = t.open(protocol="west-sussex", child="WS-2", category="general", summary="Late review",
                on=D(2025, 3, 5))  # fmt: skip
    t.note(c2.id, text="wrong concern", on=D(2025, 3, 6))
    corrections.retract(t, c2.id, 2, reason="wrong concern", on=D(2025, 3, 6))
    t.record_voice(c2.id, "told-outcome", on=D(2025, 3, 6))
    t.resolve(c2.id, outcome="Review held", on=D(2025, 3, 7))
    t.add_closures(D(2025, 3, 20), reason="Office move")


@pytest.fixture
def tracker_built(db_target: str, tmp_path: Path) -> Any:
    t = Tracker(db_target)
    build(t, tmp_path)
    yield t
    t.store.close()


def slow(monkeypatch: pytest.MonkeyPatch, t: Tracker) -> Any:
    """The full walk's report (the fast walk switched off)."""
    with monkeypatch.context() as m:
        m.setattr(fastverify, "verify", lambda *a, **k: None)
        return t.verify()


def fast(t: Tracker) -> Any:
    """What the fast walk alone answers: a report (whole), else not one."""
    options = record.VerifyOptions(key=t.key, attachments_dir=t.store.attachments_dir)
    options.files_key = t.store.encryption_key()
    return fastverify.verify(t.store, t.protocols.protocols, options)


def test_a_whole_record_is_found_whole_by_the_fast_walk(tracker_built, monkeypatch):
    found = fast(tracker_built)
    assert isinstance(found, record.StoreReport), found
    full = slow(monkeypatch, tracker_built)
    assert full.ok, full.problems
    assert dataclasses.asdict(found) == dataclasses.asdict(full)
    assert found.events == 18 and found.concerns == 2 and found.files == 1
    assert dataclasses.asdict(tracker_built.verify()) == dataclasses.asdict(full)


#: every stored value the full walk checks: (table, column)
EVENT_CELLS = ["concern_id", "seq", "kind", "effective_on", "stage", "from_stage", "by",
               "recorded_at", "text", "details", "chain_seq", "prev_hash", "hash", "salt",
               "content"]  # fmt: skip


def _altered(value: Any) -> Any:
    """``value`` with one character changed (a number one more; a day one later)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1000  # clear of the other rows' (unique positions, ids)
    if isinstance(value, dt.datetime | dt.date):
        return value + dt.timedelta(days=1)
    text = str(value)
    i = len(text) // 2
    return text[:i] + ("y" if text[i] != "y" else "z") + text[i + 1 :]


def _cells(sql: Any, table: str, columns: list[str]) -> list[tuple[str, int, Any]]:
    """For each column, the first row (by id) where it holds a value: (column, id, value)."""
    out = []
    for column in columns:
        found = sql(f'SELECT id, "{column}" FROM {table} WHERE "{column}" IS NOT NULL '
                    "ORDER BY id LIMIT 1")  # fmt: skip
        if found:
            out.append((column, found[0][0], found[0][1]))
    return out


def test_every_value_altered_fails_verify_as_before(tracker_built, sql, monkeypatch, drp):
    from drp_cli.domain.lifecycle import ROW_FIELDS

    t = tracker_built
    t.store.close()
    cells = [("event", *c) for c in _cells(sql, "event", EVENT_CELLS)]
    cells += [("concern", *c) for c in _cells(sql, "concern", ["id", *ROW_FIELDS])]
    tried = 0
    for table, column, row_id, value in cells:
        try:
            sql(f'UPDATE {table} SET "{column}" = :v WHERE id = :id', v=_altered(value), id=row_id)
        except Exception:  # the server's own constraint refused it (a foreign key)
            continue
        tried += 1
        try:
            found = fast(t)
            t.store.close()
            assert not isinstance(found, record.StoreReport), (table, column)
            report = t.verify()
            t.store.close()
            assert not report.ok, (table, column)
            assert report.problems == slow(monkeypatch, t).problems
            t.store.close()
        finally:
            now = _altered(value) if column == "id" else row_id
            sql(f'UPDATE {table} SET "{column}" = :v WHERE id = :id', v=value, id=now)
    assert tried > 40
    assert isinstance(fast(t), record.StoreReport)
    t.store.close()
    # and at the command line: exit 6
    _column, row_id, value = cells[9][1:]
    sql('UPDATE event SET "details" = :v WHERE id = :id', v='{"x": 1}', id=row_id)
    r = drp("verify")
    assert r.exit_code == 6, (r.stdout, r.stderr)
    assert "TAMPERED" in r.stderr


def test_a_flipped_byte_in_the_file_fails_verify(tmp_path, db_path, drp):
    """A byte of a stored value flipped in the file itself (behind SQLite's back): exit 6."""
    t = Tracker(str(db_path))
    build(t, tmp_path)
    t.store.checkpoint()
    t.store.close()
    data = bytearray(db_path.read_bytes())
    at = data.find(b"Looking \xe2\x9c\x93")
    assert at > 0
    data[at] ^= 0x01  # 'L' -> 'M'
    db_path.write_bytes(bytes(data))
    r = drp("verify")
    assert r.exit_code == 6, (r.stdout, r.stderr)
    assert "was altered" in r.stderr


# -- the hash rule: the same bytes as canonical_json ---------------------------------------
AWKWARD = ["Łukasz", "😀", '"q"\\', "\n\t\x00", "\u202e", "é"]
texts = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(AWKWARD))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=8,
)  # fmt: skip
moments = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    max_value=dt.datetime(2199, 12, 31),
    timezones=st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))]),
)
days = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31))


def _stored(moment: dt.datetime) -> str:
    """The text SQLite holds for a moment drp wrote."""
    return connection.stored_moment(moment)


def _read(text: str) -> dt.datetime:
    """What SQLite's converter gives for it (what the full walk hashes)."""
    return connection._read_moment(text.encode())


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(cid=st.integers(1, 2**40), seq=st.integers(1, 10**6), kind=st.text(min_size=1, max_size=9),
       day=days, stage=st.text(max_size=6), from_stage=texts, by=st.text(max_size=6),
       moment=moments, text=texts, details=st.dictionaries(st.text(max_size=5), json_values,
                                                            max_size=4),
       imported_by=texts, imported=st.one_of(st.none(), moments),
       content=st.one_of(st.none(), st.text(max_size=4)), chain_seq=st.integers(1, 2**40),
       prev=st.text(max_size=64))  # fmt: skip
def test_the_hash_rule_gives_the_same_bytes(cid, seq, kind, day, stage, from_stage, by, moment,
                                            text, details, imported_by, imported, content,
                                            chain_seq, prev):  # fmt: skip
    spelled = json.dumps(details, sort_keys=True)
    stored_at, stored_imp = _stored(moment), None if imported is None else _stored(imported)
    # what the full walk hashes: the converters' values (SQLite) / the driver's (PostgreSQL)
    row = Row(
        concern_id=cid,
        seq=seq,
        kind=kind,
        effective_on=day,
        stage=stage,
        from_stage=from_stage,
        by=by,
        recorded_at=_read(stored_at),
        text=text,
        details=spelled,
        imported_by=imported_by,
        imported_at=None if stored_imp is None else _read(stored_imp),
        content=content,
    )
    want = chain.canonical_json(row, chain_seq, prev)
    recorded = fastverify._moment_text(stored_at)
    imp = None if stored_imp is None else fastverify._moment_text(stored_imp)
    got = chain.event_json_of(
        cid,
        seq,
        kind,
        day.isoformat(),
        stage,
        from_stage,
        by,
        recorded,
        text,
        spelled,
        imported_by,
        imp,
        content,
        chain_seq,
        prev,
    )
    assert got == want
    # and the stored text itself, as the fast walk's fallback hashes it
    raw = Row(row, effective_on=day.isoformat(), recorded_at=stored_at, imported_at=stored_imp)
    assert chain.canonical_json(raw, chain_seq, prev) == want


@settings(max_examples=200, deadline=None)
@given(moment=moments, shape=st.sampled_from(["drp", "T", "seconds", "offset", "Z"]))
def test_moments_read_as_text_are_the_chains(moment, shape):
    naive = moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
    text = {
        "drp": _stored(moment),
        "T": naive.isoformat(timespec="microseconds"),
        "seconds": naive.isoformat(sep=" ", timespec="seconds"),
        "offset": moment.isoformat(sep=" "),
        "Z": naive.isoformat(timespec="microseconds") + "Z",
    }[shape]
    assert fastverify._moment_text(text) == chain.moment_text(_read(text))


@pytest.mark.parametrize(
    "text",
    ["2025-13-01 10:00:00.000000", "2025-02-30 10:00:00.000000", "2025-W10-1 10:00:00.000000",
     "2025-03-03 25:00:00.000000", "2025-03-03 10:00:00.00000x", "20250303 10:00:00.000000",
     "soon", "", "2025-03-03 10:00:00.\uff10" + "0" * 5],
)  # fmt: skip
def test_a_moment_the_converter_refuses_the_fast_walk_refuses(text):
    with pytest.raises(ValueError):
        _read(text)
    assert fastverify._moment_text(text) is None


@settings(max_examples=150, deadline=None)
@given(value=json_values, noise=st.sampled_from(["", " ", "\n", "x", "NaN", "1e400", "\\ud800"]))
def test_details_decode_as_json_loads_does(value, noise):
    for raw in (
        json.dumps(value),
        json.dumps({"a": value}) + noise,
        json.dumps({"a": value}, ensure_ascii=False),
        '{"s": "' + noise + '"}',
    ):
        try:
            want: Any = connection.stored_object(raw, "w", "event", "details")
        except connection.MalformedValue:
            want = "malformed"
        try:
            got: Any = connection.decoded_object(raw, "w", "event", "details")
        except connection.MalformedValue:
            got = "malformed"
        assert got == want and repr(got) == repr(want)


@pytest.mark.parametrize(
    "raw",
    ['{"a": ' + "[" * 150 + "]" * 150 + "}", '{"a": ' + "1" * 4400 + "}", '{"a": 1e400}',
     '{"a": "\\ud83d"}', '{"a": NaN}', "{}", "", '{"a": 1, "a": 2}', "[1]", '"x"'],
)  # fmt: skip
def test_details_at_the_decoders_edges(raw):
    try:
        want: Any = connection.stored_object(raw, "w", "event", "details")
    except connection.MalformedValue:
        want = "malformed"
    try:
        got: Any = connection.decoded_object(raw, "w", "event", "details")
    except connection.MalformedValue:
        got = "malformed"
    assert repr(got) == repr(want)


# -- memory stays flat ------------------------------------------------------------------------
def _import(db: Path, tmp_path: Path, n: int, drp: Any) -> None:
    rows = []
    for i in range(n):
        on = (D(2020, 1, 6) + dt.timedelta(days=i % 2000)).isoformat()
        later = (D.fromisoformat(on) + dt.timedelta(days=1)).isoformat()
        rows.append({
            "external_ref": f"m-{i}", "protocol": "knowsley", "child": f"C-{i:06d}",
            "category": "statutory", "summary": "No allocated social worker", "opened_on": on,
            "stage": "stage-1", "stage_started_on": on, "status": "resolved",
            "closed_on": later, "outcome": "Allocated",
            "events": [
                {"kind": "imported", "on": on, "stage": "stage-1", "by": "bench",
                 "text": "No allocated social worker", "details": {"due": None}},
                {"kind": "note", "on": on, "stage": "stage-1", "by": "bench", "text": "Phoned",
                 "details": {}},
                {"kind": "resolved", "on": later, "stage": "stage-1", "by": "bench",
                 "text": "Allocated", "details": {}},
            ],
        })  # fmt: skip
    data = tmp_path / f"rows-{n}.json"
    data.write_text(json.dumps(rows))
    os.environ["DRP_DB"] = str(db)
    r = drp("import", str(data), "--by", "bench")
    assert r.exit_code == 0, r.stderr


def _peak(db: Path) -> tuple[int, int]:
    t = Tracker(str(db))
    t.protocols  # noqa: B018  (loaded before the measure)
    tracemalloc.start()
    try:
        report = t.verify()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        t.store.close()
    assert report.ok, report.problems
    return report.events, peak


def test_memory_stays_flat(tmp_path, db_path, drp, monkeypatch):
    """Past a batch of rows (connection.STREAM) of each table read at once, the peak does not
    grow with the record: three times the events, about the same peak."""
    small, large = tmp_path / "small.sqlite3", tmp_path / "large.sqlite3"
    _import(small, tmp_path, 300, drp)
    _import(large, tmp_path, 900, drp)
    monkeypatch.setenv("DRP_DB", str(db_path))
    monkeypatch.setattr(connection, "STREAM", 100)  # a batch smaller than either record
    events_small, peak_small = _peak(small)
    events_large, peak_large = _peak(large)
    assert (events_small, events_large) == (1200, 3600)
    assert peak_large < peak_small * 1.2, (peak_small, peak_large)


def test_integrity_check_runs_beside_the_walk(tracker_built, monkeypatch, db_path):
    """SQLite: the file's check runs on a connection of its own, in a thread, and its
    answer is the report's (a damaged file: tests/test_integrity.py)."""
    threads = []
    real = fastverify._FileCheck.run

    def run(self: Any) -> None:
        threads.append(self.name)
        real(self)

    monkeypatch.setattr(fastverify._FileCheck, "run", run)
    report = tracker_built.verify()
    assert report.ok and threads == ["drp-integrity-check"]
    assert report.integrity == record.SQLITE_CHECK
    tracker_built.store.close()


# -- a chain rewritten without the key: each link hashes as it reads, the chain does not ----
def _relink(t: Tracker, sql: Any, change: dict[tuple[int, int], dict[str, Any]]) -> None:
    """Apply ``change`` ((concern id, seq) -> new values) to events, then hash every link
    again from the first, as someone who can write the database but holds no key could."""
    with t.store.read() as conn:
        rows = conn.records("SELECT * FROM event ORDER BY chain_seq")
    t.store.close()
    prev = chain.GENESIS
    for row in rows:
        row.update(change.get((row["concern_id"], row["seq"]), {}))
        digest = chain.event_hash(row, row["chain_seq"], prev)
        sql("UPDATE event SET seq = :s, prev_hash = :p, hash = :h WHERE id = :id",
            s=row["seq"], p=prev, h=digest, id=row["id"])  # fmt: skip
        prev = digest
    sql("UPDATE chain_head SET seq = :s, hash = :h WHERE id = 1", s=rows[-1]["chain_seq"], h=prev)


@pytest.fixture
def plain(db_target: str) -> Any:
    t = Tracker(db_target)
    c = t.open(protocol="knowsley", child="KN-1", category="statutory", summary="No worker",
               on=D(2025, 3, 3))  # fmt: skip
    t.respond(c.id, text="Looking", respondent="TM", on=D(2025, 3, 4))
    t.note(c.id, text="Chased", on=D(2025, 3, 5))
    t.open(protocol="knowsley", child="KN-2", category="statutory", summary="Late review",
           on=D(2025, 3, 6))  # fmt: skip
    yield t
    t.store.close()


def test_a_chain_hashed_again_whole_is_still_whole(plain, sql):
    _relink(plain, sql, {})
    assert isinstance(fast(plain), record.StoreReport)


def test_a_link_that_does_not_follow_the_one_before(plain, sql, monkeypatch):
    """A link whose own hash holds (hashed again over another previous hash): only the chain
    says it does not follow the link before it."""
    with plain.store.read() as conn:
        row = conn.record("SELECT * FROM event WHERE chain_seq = 2")
    plain.store.close()
    assert row is not None
    other = "f" * 64
    sql("UPDATE event SET prev_hash = :p, hash = :h WHERE chain_seq = 2", p=other,
        h=chain.event_hash(row, 2, other))  # fmt: skip
    assert not isinstance(fast(plain), record.StoreReport)
    plain.store.close()
    report = plain.verify()
    assert report.problems == ["event 2 (concern 1, entry 2) does not follow the link before "
                               "it (altered chain)"]  # fmt: skip


def test_entries_not_numbered_one_to_n(plain, sql):
    """An entry renumbered and the chain hashed again: only the numbering check finds it."""
    _relink(plain, sql, {(1, 2): {"seq": 7}})
    assert not isinstance(fast(plain), record.StoreReport)
    plain.store.close()
    assert plain.verify().problems == ["concern 1: its entries are not numbered 1 to 3"]


def test_keyed_mode_seals_are_checked(plain, sql, tmp_path, monkeypatch):
    key_file = tmp_path / "chain.key"
    record.create_key(key_file)
    monkeypatch.setenv("DRP_KEY_FILE", str(key_file))
    t = Tracker(plain.store.target)
    assert t.seal() > 0
    t.store.close()
    assert isinstance(fast(t), record.StoreReport)
    t.store.close()
    sql("UPDATE event SET mac = :m WHERE chain_seq = 3", m="0" * 64)
    assert not isinstance(fast(t), record.StoreReport)
    t.store.close()
    assert "is not sealed by the key" in t.verify().problems[0]
    t.store.close()


# -- helper processes: the concerns shared out, one state of the record -------------------
def test_helpers_share_the_concerns(tracker_built, db_path, sql, monkeypatch):
    """With helpers (a large record: here any), the same report; a concern altered in the
    last helper's range is found (the full walk then words it)."""
    monkeypatch.setattr(fastverify, "HELPED_FROM", 1)
    monkeypatch.setattr(fastverify, "HELPERS", 2)
    started = []
    real = fastverify._Helper.__init__

    def init(self: Any, *args: Any) -> None:
        started.append(args[-1])
        real(self, *args)

    monkeypatch.setattr(fastverify._Helper, "__init__", init)
    t = tracker_built
    found = fast(t)
    t.store.close()
    assert started == [(fastverify.EVERY[0], 1), (1, fastverify.EVERY[1])]
    assert isinstance(found, record.StoreReport)
    assert dataclasses.asdict(found) == dataclasses.asdict(slow(monkeypatch, t))
    t.store.close()
    sql("UPDATE concern SET summary = 'Nothing wrong' WHERE id = 2")
    assert not isinstance(fast(t), record.StoreReport)
    t.store.close()
    assert t.verify().problems == ["concern 2: stored summary does not match its events"]


def test_without_the_write_lock_no_helpers(tracker_built, db_path, monkeypatch):
    """A file whose write lock cannot be had (read-only, or a writer holding it): the walk is
    made in this process alone, the answer the same."""
    monkeypatch.setattr(fastverify, "HELPED_FROM", 1)
    monkeypatch.setattr(fastverify, "_lock", lambda store: None)
    monkeypatch.setattr(fastverify, "_Helper", None)  # would fail if it were made
    t = tracker_built
    assert isinstance(fast(t), record.StoreReport)


def test_a_helper_that_fails_to_start(tracker_built, db_path, monkeypatch):
    monkeypatch.setattr(fastverify, "HELPED_FROM", 1)
    monkeypatch.setattr(fastverify._Helper, "ready", lambda self: False)
    t = tracker_built
    assert not isinstance(fast(t), record.StoreReport)
    t.store.close()
    assert t.verify().ok
