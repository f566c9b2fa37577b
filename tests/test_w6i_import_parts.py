"""Issue 32, wave 6: an import's events spelled for their hashes by one maker per import
(``chain.imported_parts_of``) give the very texts ``chain.imported_event_parts`` gives, for
any values; and the events the import writes with the columns they share given once
(``transfer._plain_event_sql``) read back as every other event does: through the helpers
and in one process, by a recorder whose name has quotes, in a keyed chain, and verify
passes."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drp_cli.domain import chain
from drp_cli.exchange import transfer
from tests.conftest import PG_URL
from tests.test_w6i_import_record import _bench_rows

texts = st.text(max_size=12)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 1, 1),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5))]),
)  # fmt: skip
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 1, 1))
event = st.tuples(
    st.integers(1, 10**9), st.integers(1, 500), st.sampled_from(["note", "imported", "x\"y"]),
    days, texts, st.none() | texts, texts, moments, st.text(max_size=40), texts, texts,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(event, min_size=1, max_size=8), texts, moments)
def test_the_maker_spells_what_imported_event_parts_spells(events, by, at):
    parts = chain.imported_parts_of(by, at, hashlib.sha256)
    for args in events * 2:  # each again: from what the maker kept
        cid, seq, kind, on, stage, was, who, when, salt, text, details = args
        want = chain.imported_event_parts(cid, seq, kind, on, stage, was, who, when, salt,
                                          text, details, by, at, hashlib.sha256)  # fmt: skip
        assert parts(*args) == want


@pytest.mark.skipif(PG_URL is not None, reason="a SQLite file's columns")
@pytest.mark.parametrize("workers", [1, 2])
def test_plain_events_read_back_as_any_other(drp, tmp_path, monkeypatch, workers):
    key = tmp_path / "chain.key"
    key.write_text(os.urandom(32).hex() + "\n")  # as `drp key create` writes one
    key.chmod(0o600)
    monkeypatch.setenv("DRP_KEY_FILE", str(key))
    monkeypatch.setattr(transfer, "WORKERS", workers)
    monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
    monkeypatch.setattr(transfer, "CHUNK", 7)
    path = _bench_rows(40, tmp_path / "bench.json")
    by = "O'Brien \"the\" 'IRO'"
    r = drp("import", str(path), "--by", by)
    assert (r.exit_code, r.stdout) == (0, "Imported 40 of 40 rows.\n"), r.stderr
    r = drp("verify")
    assert r.exit_code == 0, r.stdout + r.stderr
    db = os.environ["DRP_DB"]
    conn = sqlite3.connect(db)
    try:
        got = conn.execute(
            "select count(*), count(distinct recorded_at), min(recorded_at = imported_at), "
            "min(imported_by), max(imported_by), min(typeof(recorded_at)), count(mac), "
            "count(from_stage), min(typeof(imported_at)) from event"
        ).fetchone()
    finally:
        conn.close()
    assert got == (240, 1, 1, by, by, "text", 240, 0, "text")


def test_the_concern_row_days_are_the_folds_dates():
    from drp_cli.domain.lifecycle import ROW_DAYS, ROW_FIELDS, ConcernState

    typed: dict[str, object] = {}
    for cls in reversed(ConcernState.__mro__):
        typed.update(getattr(cls, "__annotations__", {}))
    dates = {name for name in ROW_FIELDS if "date" in str(typed[name])}
    assert dates == set(ROW_DAYS)
    assert len(transfer._ROW_DAYS_AT) == 11


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(texts, texts, texts), max_size=6), st.integers(0, 10**6), texts)
def test_linked_hashes_are_hash_of_text_parts_in_turn(parts, seq, prev):
    got = chain.linked_hashes([(None, *p) for p in parts], seq, prev, hashlib.sha256)
    want = []
    for head, middle, tail in parts:
        seq += 1
        prev = chain.hash_of_text_parts(head, middle, tail, seq, prev, hashlib.sha256)
        want.append(prev)
    assert got == want
