"""Issue 32, wave 8: an import's plain events (recorded by the import at its moment, from
no stage) carry only their stored values from the check to the link, where their hash text
is spelled in one go (``chain.link_imported``), their commitment made where they are
encoded (``transfer._new_concern``). Held here to the record's own definitions, for any
values: each row's hash is ``chain.event_hash`` of the row (its canonical JSON), its content
``chain.commitment``, its mac ``chain.mac``, plain events mixed with others, keyed or not."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drp_cli.domain import chain, lifecycle
from drp_cli.exchange import transfer
from drp_cli.store.importsql import PLAIN_EVENT_COLUMNS

texts = st.text(max_size=10)
words = st.sampled_from(["bench", 'O\'Brien "the" IRO', "Zoë", "a\\b", "x\u2028y", "n\x00l"])
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 1, 1),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-3))]),
)  # fmt: skip
days = st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31))
details = st.sampled_from(["{}", '{"from": "TM"}', '{"a": "\\u00e9\\"q\\""}', "[1]"]) | texts
#: an EventRow (checks.EventRow): kind, on, stage, from_stage, by, recorded_at, text,
#: details, parsed
events = st.tuples(
    st.sampled_from(["note", "imported", "response", 'k"i\u00e9nd']), days,
    st.sampled_from(["stage-1", "st\u00e4ge", 's"t']), st.none() | st.sampled_from(["stage-1"]),
    words, st.none() | moments, texts, details, st.none(),
)  # fmt: skip


def _job(recorder: str, now: dt.datetime) -> transfer._Job:
    return transfer._Job(None, None, None, None, recorder, now.date(), now=now,  # type: ignore[arg-type]
                         as_text=True)  # fmt: skip


def _salts():
    return (f"{n:032x}" for n in itertools.count(7))


def _as_row(values: tuple, recorder: str, now: dt.datetime) -> dict:
    """A written event row (plain: PLAIN_EVENT_COLUMNS; else transfer.NEW_EVENT_COLUMNS) by name,
    with what a plain one shares with every other (see importsql.plain_event_sql)."""
    if len(values) <= len(PLAIN_EVENT_COLUMNS) + 1:  # (its mac, in a keyed chain)
        row = dict(zip(PLAIN_EVENT_COLUMNS, values, strict=False))
        row.update(from_stage=None, recorded_at=now, imported_at=now, imported_by=recorder)
        return row
    return dict(zip(transfer.NEW_EVENT_COLUMNS, values, strict=True))


def _written(evs, recorder, now, seq0, prev0, key):
    job = _job(recorder, now)
    state = lifecycle.new_state()
    c = {"_events": list(evs), "_state": state}
    new = transfer._new_concern(job, c, 41, _salts())
    writer = transfer._Writer(None, transfer.ImportResult(), chain=(seq0, prev0), key=key,
                              job=job)  # fmt: skip
    writer.add(new)
    return new, writer


@settings(max_examples=300, deadline=None)
@given(st.lists(events, min_size=1, max_size=6), words, moments, st.integers(0, 10**6),
       st.sampled_from([chain.GENESIS, "ab" * 32]), st.none() | st.just(b"k" * 32))  # fmt: skip
def test_every_row_is_hashed_as_the_record_defines(evs, recorder, now, seq0, prev0, key):
    _new, writer = _written(evs, recorder, now, seq0, prev0, key)
    plain = "\x00" not in recorder
    assert writer.chain_seq == seq0 + len(evs)
    prev = prev0
    for n, (values, ev) in enumerate(zip(writer.events, evs, strict=True), start=1):
        kind, on, stage, from_stage, by, given_at, text, spelled, _parsed = ev
        simple = plain and given_at is None and from_stage is None
        width = len(PLAIN_EVENT_COLUMNS) + (key is not None)
        assert (len(values) == width) == simple
        row = _as_row(values, recorder, now)
        assert (row["concern_id"], row["seq"], row["kind"], row["stage"], row["by"],
                row["text"], row["details"]) == (41, n, kind, stage, by, text, spelled)  # fmt: skip
        assert str(row["effective_on"]) == on.isoformat()
        assert row["content"] == chain.commitment(row["salt"], text, spelled)
        assert (row["chain_seq"], row["prev_hash"]) == (seq0 + n, prev)
        assert row["hash"] == chain.event_hash(row, seq0 + n, prev)
        if key is not None:
            assert values[-1] == chain.mac(key, row["hash"])
        elif not simple:
            assert values[-1] is None
        prev = row["hash"]
    assert writer.prev == prev


@settings(max_examples=200, deadline=None)
@given(st.lists(events, min_size=1, max_size=6), words, moments, st.integers(0, 10**6))
def test_the_links_are_linked_hashes_of_the_old_parts(evs, recorder, now, seq0):
    """link_imported's hashes are linked_hashes of imported_hash_text's parts, as the import
    made them before: each event's hash text, plain or not, is the same bytes."""
    _new, writer = _written(evs, recorder, now, seq0, chain.GENESIS, None)
    parts = []
    for values in writer.events:
        row = _as_row(values, recorder, now)
        parts.append((None, *chain.imported_hash_text(
            row["concern_id"], row["seq"], row["kind"], dt.date.fromisoformat(
                str(row["effective_on"])[:10]), row["stage"], row["from_stage"], row["by"],
            row["recorded_at"] if isinstance(row["recorded_at"], dt.datetime)
            else dt.datetime.fromisoformat(row["recorded_at"]).replace(tzinfo=dt.UTC),
            row["content"], recorder, now)))  # fmt: skip
    got = [_as_row(v, recorder, now)["hash"] for v in writer.events]
    assert got == chain.linked_hashes(parts, seq0, chain.GENESIS, hashlib.sha256)


def test_the_pieces_kept_are_bounded(monkeypatch):
    """A file of many recorders keeps at most _PIECES_KEPT heads (then starts again), and
    still spells each right."""
    monkeypatch.setattr(chain, "_PIECES_KEPT", 3)
    now = dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    evs = [("note", dt.date(2025, 1, 1), "stage-1", None, f"by {n}", None, "", "{}", None)
           for n in range(8)]  # fmt: skip
    _new, writer = _written(evs, "bench", now, 0, chain.GENESIS, None)
    assert len(writer.pieces.heads) <= 3
    prev = chain.GENESIS
    for n, values in enumerate(writer.events, start=1):
        row = _as_row(values, "bench", now)
        assert row["hash"] == chain.event_hash(row, n, prev)
        prev = row["hash"]


# -- a chunk a helper wrote whole, sent back as one (WrittenChunk) -----------------------------
@settings(max_examples=200, deadline=None)
@given(st.integers(0, 40), st.lists(st.integers(1, 9), min_size=1, max_size=30),
       st.integers(1, 7))  # fmt: skip
def test_a_written_chunk_counts_as_each_of_its_rows_written(done, counts, batch):
    """written_chunk leaves the writer and the result as written() of each row would, and
    tells the progress the same numbers."""
    told: dict[str, list[int]] = {"one": [], "chunk": []}
    one = transfer._Writer(None, transfer.ImportResult(), chain=(5, chain.GENESIS), key=None,
                           progress=told["one"].append)  # fmt: skip
    whole = transfer._Writer(None, transfer.ImportResult(), chain=(5, chain.GENESIS),
                             key=None, progress=told["chunk"].append)  # fmt: skip
    one.done = whole.done = done
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(transfer, "IMPORT_BATCH", batch)
        for n, events in enumerate(counts):
            one.written((100 + n, events, "ab" * 32 if n == len(counts) - 1 else None))
        whole.written_chunk(100, tuple(counts), "ab" * 32)
    assert told["one"] == told["chunk"]
    assert (one.done, one.chain_seq, one.prev) == (whole.done, whole.chain_seq, whole.prev)
    assert (one.result.ids, one.result.events) == (whole.result.ids, whole.result.events)
