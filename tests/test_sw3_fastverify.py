"""sw3's hostile sweep of ``drp verify``'s fast walk (drp_cli/store/fastverify.py): every case
compares the fast walk's answer with the full walk's (record.verify with the fast walk
switched off). A defect is a record the fast walk finds whole while the full walk finds
problems: each is an ``xfail(strict=True)`` test naming it."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from drp_cli.domain import chain
from drp_cli.services.tracker import Tracker
from drp_cli.store import fastverify, record

D = dt.date
MIN_ID = -(2**63)


def small(t: Tracker) -> None:
    c = t.open(
        protocol="knowsley",
        child="KN-1",
        category="statutory",
        issue=None,
        summary="Plan",
        impact="Drift",
        recommended="Allocate",
        on=D(2025, 3, 3),
    )
    t.respond(c.id, text="Looking", respondent="TM", on=D(2025, 3, 4))
    c2 = t.open(
        protocol="west-sussex", child="WS-2", category="general", summary="Late", on=D(2025, 3, 5)
    )
    t.note(c2.id, text="a note", on=D(2025, 3, 6))


def fast(t: Tracker) -> Any:
    options = record.VerifyOptions(key=t.key, attachments_dir=t.store.attachments_dir)
    options.files_key = t.store.encryption_key()
    found = fastverify.verify(t.store, t.protocols.protocols, options)
    t.store.close()
    return found


def slow(monkeypatch: pytest.MonkeyPatch, t: Tracker) -> Any:
    with monkeypatch.context() as m:
        m.setattr(fastverify, "verify", lambda *a, **k: None)
        report = t.verify()
    t.store.close()
    return report


def agree(monkeypatch: pytest.MonkeyPatch, t: Tracker) -> None:
    """The fast walk finds the record whole only where the full walk does."""
    try:
        full = slow(monkeypatch, t)
        ok, problems = full.ok, full.problems
    except Exception as exc:  # the full walk could not finish: not whole either
        t.store.close()
        ok, problems = False, [repr(exc)]
    quick = fast(t)
    assert isinstance(quick, record.StoreReport) == ok, (problems, quick)


@pytest.fixture
def built(db_target: str) -> Any:
    t = Tracker(db_target)
    small(t)
    t.store.close()
    yield t
    t.store.close()


def test_a_whole_record_agrees(built, monkeypatch):
    assert slow(monkeypatch, built).ok
    assert isinstance(fast(built), record.StoreReport)


def copy_row(db_target: str, table: str, row_id: int, **changes: Any) -> None:
    """Insert a copy of ``table``'s row ``row_id`` with ``changes`` (behind drp's back)."""
    from sqlalchemy import create_engine, text

    url = db_target if "://" in db_target else f"sqlite:///{db_target}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            found = conn.execute(text(f"SELECT * FROM {table} WHERE id = :id"), {"id": row_id})
            row = dict(found.mappings().one())
            row.update(changes)
            keys = ", ".join(f'"{k}"' for k in row)
            marks = ", ".join(f":{k}" for k in row)
            conn.execute(text(f"INSERT INTO {table} ({keys}) VALUES ({marks})"), row)
    finally:
        engine.dispose()


def test_a_concern_with_the_least_id_and_no_events(built, db_path, monkeypatch):
    copy_row(str(db_path), "concern", 1, id=MIN_ID, uid="f" * 32)
    agree(monkeypatch, built)


def test_a_concern_with_a_large_negative_id_and_no_events(built, db_target, monkeypatch):
    least = MIN_ID + 1 if "://" not in db_target else -(2**31)  # PostgreSQL: an integer
    copy_row(db_target, "concern", 1, id=least, uid="e" * 32)
    agree(monkeypatch, built)


def rehash_last_event(db_path: Path, **changes: Any) -> None:
    """Change the chain's last link (an event) and give it, and the chain head, the hash the
    fast walk computes from the stored text (what a forger of an unkeyed chain would do)."""
    import sqlite3

    con = sqlite3.connect(db_path)
    try:
        head_seq, _ = con.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        cols = fastverify._EVENT_COLUMNS
        eid, *values = con.execute(
            f"SELECT id, {', '.join(cols)} FROM event WHERE chain_seq = ?", (head_seq,)
        ).fetchone()
        row = dict(zip(cols, values, strict=True))
        row.update(changes)
        if row["content"] is not None and ({"text", "details"} & set(changes)):
            row["content"] = chain.commitment(row["salt"], row["text"], row["details"])
            changes = {**changes, "content": row["content"]}
        for k, v in changes.items():
            con.execute(f'UPDATE event SET "{k}" = ? WHERE id = ?', (v, eid))
        rec = fastverify._moment_text(row["recorded_at"])
        imp = None if row["imported_at"] is None else fastverify._moment_text(row["imported_at"])
        body = chain.event_json_of(
            row["concern_id"],
            row["seq"],
            row["kind"],
            row["effective_on"][:10],
            row["stage"],
            row["from_stage"],
            row["by"],
            rec,
            row["text"],
            row["details"],
            row["imported_by"],
            imp,
            row["content"],
            row["chain_seq"],
            row["prev_hash"],
        )
        assert body is not None
        digest = hashlib.sha256(body.encode()).hexdigest()
        con.execute("UPDATE event SET hash = ? WHERE id = ?", (digest, eid))
        con.execute("UPDATE chain_head SET hash = ? WHERE id = 1", (digest,))
        con.commit()
    finally:
        con.close()


def test_a_rehashed_last_event_in_drp_s_own_shape_is_whole_to_both(built, db_path, monkeypatch):
    """The forger's rehash itself is sound: a moment drp would write, rehashed, is whole."""
    rehash_last_event(db_path, recorded_at="2025-03-04 10:00:00.123000")
    agree(monkeypatch, built)
    assert isinstance(fast(built), record.StoreReport)


@pytest.mark.parametrize(
    "moment",
    ["2025-03-04 10:00:00.123+01", "2025-03-04 10:00:00.12345Z", "2025-03-04 10:00:00.1+0100"],
)
def test_a_moment_with_an_offset_in_drp_s_length(built, db_path, monkeypatch, moment):
    rehash_last_event(db_path, recorded_at=moment)
    agree(monkeypatch, built)


@pytest.mark.parametrize(
    "moment",
    [
        "2025-03-04 10:00:00.123456+01:00",
        "2025-03-04T10:00:00",
        "2025-03-04 10:00:00Z",
        "2025-03-04 10:00:00+05:30",
    ],
)
def test_other_moments_agree(built, db_path, monkeypatch, moment):
    rehash_last_event(db_path, recorded_at=moment)
    agree(monkeypatch, built)


def sqlite_do(db_path: Path, query: str, *params: Any) -> None:
    import sqlite3

    con = sqlite3.connect(db_path)
    try:
        con.execute(query, params)
        con.commit()
    finally:
        con.close()


def append_event(db_path: Path, concern_id: Any) -> None:
    """A copy of the last event appended to the chain as its new last link, with
    ``concern_id`` and a hash no rule gives (linked, so only a recomputed hash shows it)."""
    import sqlite3

    con = sqlite3.connect(db_path)
    try:
        seq, digest = con.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        names = [r[1] for r in con.execute("PRAGMA table_info(event)")]
        last = con.execute("SELECT * FROM event WHERE chain_seq = ?", (seq,)).fetchone()
        row = dict(zip(names, last, strict=True))
        new = "ab" * 32
        row.update(id=None, concern_id=concern_id, chain_seq=seq + 1, prev_hash=digest, hash=new)
        keys = ", ".join(f'"{k}"' for k in row)
        con.execute(
            f"INSERT INTO event ({keys}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
        )
        con.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (seq + 1, new))
        con.commit()
    finally:
        con.close()


def test_an_item_of_the_least_concern_id(built, db_path, monkeypatch):
    sqlite_do(
        db_path,
        "INSERT INTO item (concern_id, kind, n, position, data, added_on, "
        "added_by) VALUES (?, 'action', 1, 1, '{}', '2025-03-04', 'x')",
        MIN_ID,
    )
    agree(monkeypatch, built)


def test_an_item_whose_concern_id_is_text(built, db_path, monkeypatch):
    sqlite_do(
        db_path,
        "INSERT INTO item (concern_id, kind, n, position, data, added_on, "
        "added_by) VALUES (?, 'action', 1, 1, '{}', '2025-03-04', 'x')",
        "x",
    )
    agree(monkeypatch, built)


def test_a_linked_event_of_the_least_concern_id(built, db_path, monkeypatch):
    append_event(db_path, MIN_ID)
    agree(monkeypatch, built)


@pytest.mark.parametrize("cid", ["x", b"2"])
def test_a_linked_event_whose_concern_id_is_not_an_integer(built, db_path, monkeypatch, cid):
    append_event(db_path, cid)
    agree(monkeypatch, built)


@pytest.mark.parametrize("cid", [2, "2", MIN_ID + 1, 2**63 - 1, 1.5, 3])
def test_a_linked_event_of_other_concern_ids(built, db_path, monkeypatch, cid):
    append_event(db_path, cid)
    agree(monkeypatch, built)


def test_verify_at_the_command_line_fails_an_item_of_a_text_concern_id(built, db_path, drp):
    sqlite_do(
        db_path,
        "INSERT INTO item (concern_id, kind, n, position, data, added_on, "
        "added_by) VALUES (?, 'action', 1, 1, '{}', '2025-03-04', 'x')",
        "x",
    )
    r = drp("verify")
    assert r.exit_code == 6, (r.exit_code, r.stderr)


def many(t: Tracker, n: int) -> None:
    for i in range(n):
        c = t.open(
            protocol="knowsley",
            child=f"KN-{i}",
            category="general",
            summary="Plan",
            on=D(2025, 3, 3),
        )
        if i % 2:
            t.note(c.id, text=f"note {i}", on=D(2025, 3, 4))


@pytest.fixture
def helped(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Nine concerns, shared between the helper processes (as 20,000 would be)."""
    t = Tracker(str(db_path))
    many(t, 9)
    t.store.close()
    monkeypatch.setattr(fastverify, "HELPED_FROM", 2)
    started: list[Any] = []
    real = fastverify._Helper.__init__

    def spy(self: Any, *args: Any) -> None:
        real(self, *args)
        started.append(args[-1])

    monkeypatch.setattr(fastverify._Helper, "__init__", spy)
    t.started = started  # type: ignore[attr-defined]
    yield t
    t.store.close()


def test_helpers_find_a_whole_record_whole(helped, monkeypatch):
    found = fast(helped)
    assert isinstance(found, record.StoreReport)
    assert len(helped.started) == fastverify.HELPERS
    assert found.concerns == 9
    agree(monkeypatch, helped)


@pytest.mark.parametrize("cid", range(1, 10))
@pytest.mark.parametrize("change", ["stage", "event", "item", "orphan"])
def test_helpers_agree_on_a_tamper_in_each_concern(helped, db_path, monkeypatch, cid, change):
    if change == "stage":
        sqlite_do(db_path, "UPDATE concern SET stage = 'stage-2' WHERE id = ?", cid)
    elif change == "event":
        sqlite_do(
            db_path, "UPDATE event SET text = text || '.' WHERE concern_id = ? AND seq = 1", cid
        )
    elif change == "item":
        sqlite_do(
            db_path,
            "INSERT INTO item (concern_id, kind, n, position, data, added_on, "
            "added_by) VALUES (?, 'action', 1, 1, '{}', '2025-03-04', 'x')",
            cid,
        )
    else:  # the concern row deleted: its events are of no concern
        sqlite_do(db_path, "DELETE FROM concern WHERE id = ?", cid)
    assert not isinstance(fast(helped), record.StoreReport)
    assert helped.started
    agree(monkeypatch, helped)


@pytest.mark.parametrize("when", ["ready", "result"])
def test_a_helper_killed_never_gives_ok(helped, db_path, monkeypatch, when):
    import signal

    sqlite_do(db_path, "UPDATE concern SET stage = 'stage-2' WHERE id = 9")
    real_ready, real_result = fastverify._Helper.ready, fastverify._Helper.result
    killed: list[int] = []

    def kill(h: Any) -> None:
        if not killed:
            os.kill(h.proc.pid, signal.SIGKILL)
            killed.append(h.proc.pid)

    def ready(self: Any) -> bool:
        ok = real_ready(self)
        if when == "ready":
            kill(self)
        return ok

    def result(self: Any) -> Any:
        if when == "result":
            kill(self)
        return real_result(self)

    monkeypatch.setattr(fastverify._Helper, "ready", ready)
    monkeypatch.setattr(fastverify._Helper, "result", result)
    assert not isinstance(fast(helped), record.StoreReport)
    assert killed
    report = helped.verify()
    helped.store.close()
    assert not report.ok
    assert report.problems == ["concern 9: stored stage does not match its events"]


def agree_expect(monkeypatch: pytest.MonkeyPatch, t: Tracker, expect: Any) -> bool:
    """Fast and full walks agree with ``expect`` (``SEQ:HASH``); whether it was whole."""
    wanted = record.parse_expect(expect) if expect is not None else None
    with monkeypatch.context() as m:
        m.setattr(fastverify, "verify", lambda *a, **k: None)
        full = t.verify(expect=wanted)
    t.store.close()
    options = record.VerifyOptions(
        key=t.key, expect=wanted, attachments_dir=t.store.attachments_dir
    )
    options.files_key = t.store.encryption_key()
    quick = fastverify.verify(t.store, t.protocols.protocols, options)
    t.store.close()
    assert isinstance(quick, record.StoreReport) == full.ok, (full.problems, quick)
    return bool(full.ok)


@pytest.fixture
def keyed(drp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_target: str) -> Any:
    key = tmp_path / "chain.key"
    assert drp("key", "create", str(key)).exit_code == 0
    monkeypatch.setenv("DRP_KEY_FILE", str(key))
    t = Tracker(db_target)
    small(t)
    t.add_closures(D(2025, 3, 20), reason="Office move")
    c = t.open(
        protocol="knowsley", child="KN-7", category="general", summary="After", on=D(2025, 3, 21)
    )
    t.note(c.id, text="late", on=D(2025, 3, 22))
    t.store.close()
    assert t.key is not None
    yield t
    t.store.close()


def heads(t: Tracker) -> list[tuple[int, str]]:
    with t.store.read() as conn:
        found = conn.rows("SELECT chain_seq, hash FROM event ORDER BY chain_seq")
    t.store.close()
    return [(int(a), str(b)) for a, b in found]


def test_keyed_expect_every_position_agrees(keyed, monkeypatch):
    links = heads(keyed)
    tried = 0
    for seq, digest in links:
        assert agree_expect(monkeypatch, keyed, f"{seq}:{digest}")
        assert not agree_expect(monkeypatch, keyed, f"{seq}:{'1' * 64}")
        tried += 2
    last = links[-1][0]
    for seq in (0, last + 1, last + 2, 4):  # the empty chain, past the head, a closure's link
        agree_expect(monkeypatch, keyed, f"{seq}:{'0' * 64}")
        tried += 1
    assert tried >= 14


@pytest.mark.parametrize("column", ["mac", "hash", "prev_hash", "chain_seq"])
@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_keyed_link_columns_altered_agree(keyed, sql, monkeypatch, column, which):
    links = heads(keyed)
    seq = {"first": links[0][0], "middle": links[len(links) // 2][0], "last": links[-1][0]}
    at = seq[which]
    if column == "mac":
        sql("UPDATE event SET mac = :v WHERE chain_seq = :s", v="0" * 64, s=at)
    elif column == "chain_seq":
        sql("UPDATE event SET chain_seq = chain_seq + 1000 WHERE chain_seq = :s", s=at)
    else:
        sql(f"UPDATE event SET {column} = :v WHERE chain_seq = :s", v="1" * 64, s=at)
    assert not agree_expect(monkeypatch, keyed, None)


def test_keyed_unsealed_is_refused_alike(keyed, sql, monkeypatch):
    sql("UPDATE event SET mac = NULL")
    assert not agree_expect(monkeypatch, keyed, None)
    sql("UPDATE closure_change SET mac = NULL")
    assert not agree_expect(monkeypatch, keyed, None)


DETAILS = [
    '{"a":1,"a":2}',
    '{"a":1e400}',
    '{"a":NaN}',
    '{"a":"\\ud800"}',
    '{"a":-0.0}',
    '{"a":123456789012345678901234567890}',
    '{"a":1} ',
    '{"a":1}\n',
    ' {"a":1}',
    '{ "a" : 1 }',
    '{"\\u0061":1}',
    '{"a":"\\u00e9"}',
    '{"a":"\u00e9"}',
    "{}",
    '\ufeff{"a":1}',
    "[1]",
    '"x"',
    "",
    "null",
    '{"a":Infinity}',
    '{"a":' * 120 + "1" + "}" * 120,
    '{"seq":1,"after":"x"}',
]


@pytest.mark.parametrize("value", DETAILS)
def test_forged_details_of_the_last_event_agree(built, db_path, monkeypatch, value):
    """The last link's details replaced, its commitment and hash made afresh (a forger of an
    unkeyed chain): whatever the two decoders make of the text, the walks agree."""
    rehash_last_event(db_path, details=value)
    agree(monkeypatch, built)


@pytest.mark.parametrize(
    "value",
    [
        "2025-03-04 ",
        "2025-03-04T00:00",
        "2025-03-04 junk",
        "2025-3-4",
        "2025-03-04\n",
        "20250304",
        "2025-W10-2",
    ],
)
def test_forged_days_of_the_last_event_agree(built, db_path, monkeypatch, value):
    rehash_last_event(db_path, effective_on=value.replace("\\n", "\n"))
    agree(monkeypatch, built)


def test_an_imported_moment_with_an_offset_in_drp_s_length(built, db_path, monkeypatch):
    rehash_last_event(db_path, imported_at="2025-03-04 10:00:00.123+01", imported_by="x")
    agree(monkeypatch, built)


def _altered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1000
    if isinstance(value, dt.datetime | dt.date):
        return value + dt.timedelta(days=1)
    text = str(value)
    i = len(text) // 2
    return text[:i] + ("y" if text[i : i + 1] != "y" else "z") + text[i + 1 :]


SIDE = [
    "closure_change",
    "staff",
    "subject_access_request",
    "read_audit",
    "read_audit_head",
    "subject_access_link",
    "subject_access_head",
    "chain_head",
    "item",
    "attachment",
]


def test_every_column_of_the_other_tables_altered_agrees(
    db_target, drp, sql, monkeypatch, tmp_path
):
    assert (
        drp(
            *[
                "open",
                "--protocol",
                "knowsley",
                "--child",
                "KN-1",
                "--category",
                "statutory",
                "--summary",
                "Plan",
                "--on",
                "2025-03-03",
            ]
        ).exit_code
        == 0
    )
    assert (
        drp(
            "action", "add", "1", "--owner", "TM", "--text", "Allocate", "--on", "2025-03-04"
        ).exit_code
        == 0
    )
    assert drp("staff", "add", "Priya Shah", "--team", "IRO North", "--role", "iro").exit_code == 0
    doc = tmp_path / "plan.txt"
    doc.write_text("care plan")
    drp("attach", "1", str(doc), "--kind", "care-plan", "--on", "2025-03-05")
    t0 = Tracker(db_target)
    t0.add_closures(D(2025, 3, 20), reason="Office move")
    t0.store.close()
    drp("show", "1")
    drp("subject-access", "KN-1", "--received", "2025-03-06")
    t = Tracker(db_target)
    t.store.close()
    assert slow(monkeypatch, t).ok
    tried, found = 0, set()
    for table in SIDE:
        rows = sql(f"SELECT * FROM {table} ORDER BY 1 LIMIT 1")
        if not rows:
            continue
        found.add(table)
        cols = _columns(sql, db_target, table)
        row = dict(zip(cols, rows[0], strict=True))
        key = "key" if table == "staff" else "id"
        for column, value in row.items():
            if value is None or column == key:
                continue
            try:
                sql(
                    f'UPDATE {table} SET "{column}" = :v WHERE "{key}" = :k',
                    v=_altered(value),
                    k=row[key],
                )
            except Exception:
                continue
            tried += 1
            try:
                agree(monkeypatch, t)
            finally:
                sql(f'UPDATE {table} SET "{column}" = :v WHERE "{key}" = :k', v=value, k=row[key])
    agree(monkeypatch, t)
    assert tried > 50, (tried, found)
    assert len(found) == len(SIDE), found


def _columns(sql: Any, db_target: str, table: str) -> list[str]:
    if "://" not in db_target:
        return [r[1] for r in sql(f"PRAGMA table_info({table})")]
    return [
        r[0]
        for r in sql(
            "SELECT column_name FROM information_schema.columns WHERE "
            "table_name = :t AND table_schema = current_schema() "
            "ORDER BY ordinal_position",
            t=table,
        )
    ]


@pytest.mark.parametrize("column", ["text", "details", "salt"])
def test_verify_words_an_event_value_stored_as_a_blob(built, db_path, drp, column):
    sqlite_do(db_path, f'UPDATE event SET "{column}" = CAST("{column}" AS BLOB) WHERE id = 2')
    r = drp("verify")
    assert r.exit_code == 6, (r.exit_code, r.stderr)


@pytest.mark.parametrize(
    ("column", "tail"),
    [("effective_on", "char(10)"), ("recorded_at", "char(10)"), ("recorded_at", "char(9)"),
     ("recorded_at", "' '")],
)  # fmt: skip
def test_verify_words_a_day_with_a_newline(built, db_path, drp, column, tail):
    """SQLite's date functions read '2025-03-04\n' as a day; drp's converter refuses it:
    verify names the value malformed (exit 6), not 'damaged' (exit 4)."""
    sqlite_do(db_path, f"UPDATE event SET {column} = {column} || {tail} WHERE id = 2")
    r = drp("verify")
    assert r.exit_code == 6, (r.exit_code, r.stderr)
    assert f"event.{column}" in r.stdout + r.stderr
