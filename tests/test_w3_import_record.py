"""Issue 32: the import made cheaper writes the same record. The bench's rows imported with
the randomness and the clock held still give the chain head they gave before (a hash over
every event's hashed fields, its salted commitment and its place in the chain); the events'
fast check finds a problem exactly where the event-by-event check does."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drp_cli.exchange import checks, transfer
from drp_cli.services.tracker import Tracker
from tests.conftest import PG_URL

FIXED = dt.datetime(2026, 12, 7, 3, 0, 0, 123456, tzinfo=dt.UTC)
#: the chain head of the import below, as drp wrote it before issue 32's work on the import
#: (367edd7), on each engine (the engine draws on the randomness the test fixes differently)
HEAD_BEFORE = {
    "sqlite": (345, "ad85aacb9fcc8e4e3db2551931fd6947fff1ad99b685ec2aa11722ce03cdc0c6"),
    "postgresql": (345, "6884a606b1312c11ec8bd434e98120d3804d97e406baf413701ebbd5c00c9041"),
}


def _bench_rows(n: int, path: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from data import rows, write

    return write(path, rows(n, open_share=0.25, overdue_share=0.3))


def _head(tracker: Tracker) -> tuple[int, str]:
    with tracker.store.read() as conn:
        row = conn.execute("select seq, hash from chain_head").fetchone()
    return int(row[0]), str(row[1])


def test_the_bench_rows_import_to_the_record_they_did(drp, db_target, tmp_path, monkeypatch):
    rng = random.Random(7)
    monkeypatch.setattr(os, "urandom", rng.randbytes)
    made = itertools.count(1)  # the uids made up for the rows: numbered, not random
    monkeypatch.setattr(checks, "new_uid", lambda: f"{next(made):032x}")
    monkeypatch.setattr(transfer, "WORKERS", 1)  # one process: one stream of randomness
    path = _bench_rows(60, tmp_path / "bench.json")
    tracker = Tracker(db_target, now=lambda: FIXED)
    try:
        result = transfer.import_file(tracker, path, by="bench")
        assert (result.imported, result.events) == (60, 345)
        assert _head(tracker) == HEAD_BEFORE["postgresql" if PG_URL else "sqlite"]
    finally:
        tracker.store.close()
    r = drp("verify")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_the_helpers_write_the_same_events(drp, sql, tmp_path, monkeypatch):
    """Through the two helper processes, which write in turns: the same rows but for what is
    random (salts, their commitments, the hashes over them, uids made up), and verify
    passes."""
    monkeypatch.setattr(transfer, "WORKERS", 2)
    monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
    monkeypatch.setattr(transfer, "CHUNK", 7)
    path = _bench_rows(60, tmp_path / "bench.json")
    r = drp("import", str(path), "--by", "bench")
    assert (r.exit_code, r.stdout) == (0, "Imported 60 of 60 rows.\n"), r.stderr
    assert drp("verify").exit_code == 0
    events = sql("select concern_id, seq, kind, effective_on, stage, from_stage, by, text, "
                 "details, imported_by, chain_seq from event order by chain_seq")  # fmt: skip
    assert len(events) == 345
    assert [tuple(e[:2]) for e in events[:6]] == [(1, n) for n in range(1, 6)] + [(2, 1)]
    assert [e[10] for e in events] == list(range(1, 346))
    fields = [e for e in events if e[2] == "fields-recorded"]
    assert len(fields) == 60 and all(e[1] == 6 or e[1] == 5 for e in fields)


# -- the events' fast check ---------------------------------------------------------------
KINDS = ["imported", "opened", "note", "response", "resolved", "fields-recorded", "attached",
         "item-added", "retracted", "redacted", "escalated", "nonsense", 7, None]  # fmt: skip
DAYS = ["2025-03-03", "2025-03-04", "2026-06-01", "1999-01-01", "2031-01-01", "03/03/2025",
        "2025-02-30", 20250303, None]  # fmt: skip
TEXTS = ["", "Phoned TM", "caf\u00e9", "two\nlines", "tab\there", "bell\x07", "bidi\u202e",
         None, 3]  # fmt: skip
STAGES = ["stage-1", "stage-2", "", "stage-9", None, 1]

details = st.one_of(
    st.none(),
    st.just([]),
    st.dictionaries(
        st.sampled_from(["due", "from", "n", "seq", "opened_on", "bypassed", "before", "x"]),
        st.one_of(
            st.sampled_from(TEXTS),
            st.sampled_from(DAYS),
            st.integers(-1, 3),
            st.lists(st.integers(), max_size=2),
            st.just({"a": 1}),
            st.booleans(),
        ),
        max_size=4,
    ),
)
event = st.fixed_dictionaries(
    {"kind": st.sampled_from(KINDS), "on": st.sampled_from(DAYS)},
    optional={
        "stage": st.sampled_from(STAGES),
        "from_stage": st.sampled_from(STAGES),
        "by": st.sampled_from(TEXTS),
        "text": st.sampled_from(TEXTS),
        "recorded_at": st.sampled_from([None, "2025-03-03T10:00:00Z", "garbage"]),
        "details": details,
    },
)


def _problems(events, fast: bool) -> list[str]:
    from drp_cli.domain.protocols import registry

    protocol = registry().protocols["knowsley"]
    found: list[str] = []
    with pytest.MonkeyPatch.context() as m:
        if not fast:
            m.setattr(checks, "_plainly_good", lambda *a: False)
        checks._check_events(events, protocol, dt.date(2025, 3, 3), dt.date(2026, 6, 1),
                             lambda col, message: found.append(f"{col}: {message}"))  # fmt: skip
    return found


@settings(max_examples=400, deadline=None)
@given(st.lists(event, min_size=1, max_size=5))
def test_the_fast_check_finds_what_the_event_by_event_check_finds(events):
    assert _problems(events, True) == _problems(events, False)


def test_the_fast_check_passes_the_bench_events():
    """The usual events are told good the fast way (else it would save nothing); one
    unsafe character anywhere in them, and they are not."""
    from drp_cli.domain.protocols import registry

    protocol = registry().protocols["knowsley"]
    events = [
        {"kind": "imported", "on": "2025-03-03", "stage": "stage-1", "by": "bench",
         "text": "No allocated social worker", "details": {"due": None, "bypassed": []}},
        {"kind": "note", "on": "2025-03-03", "stage": "stage-1", "by": "bench",
         "text": "Phoned TM", "details": {}},
        {"kind": "response", "on": "2025-03-04", "stage": "stage-1", "by": "bench",
         "text": "Will allocate", "details": {"from": "TM"}},
    ]  # fmt: skip
    stages = checks._stage_set(protocol)
    good = checks._plainly_good
    assert good(events, dt.date(2025, 3, 3), dt.date(2026, 6, 1), stages)
    events[2]["details"] = {"from": "T\u202eM"}
    assert not good(events, dt.date(2025, 3, 3), dt.date(2026, 6, 1), stages)
    assert _problems(events, True) == [
        "events: event 3: details.from contains control, line-separator or bidi characters"
    ]


@pytest.mark.parametrize("by", ["two\nlines", "bidi\u202e"])
def test_who_recorded_an_event_is_one_line(by):
    events = [{"kind": "imported", "on": "2025-03-03", "by": "bench"},
              {"kind": "note", "on": "2025-03-03", "by": by}]  # fmt: skip
    assert _problems(events, True) == [
        "events: event 2: 'by' contains control, line-separator or bidi characters"
    ]


def test_a_row_its_events_contradict_is_refused_naming_the_columns(drp, tmp_path):
    """The fold of a row's events is compared with its columns at once; where they differ,
    each column that does is named, in the row's order."""
    import json

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from data import rows

    row = rows(1, open_share=0.0, overdue_share=0.0)[0]  # resolved
    row.update(status="open", closed_on="")
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([row]))
    r = drp("import", str(path), "--by", "bench")
    assert r.exit_code == 2
    assert r.stderr == (
        "Error: 2 problems found; nothing was imported:\n"
        "  item 1, column status: does not match the row's events\n"
        "  item 1, column closed_on: does not match the row's events\n"
    )


# -- the helpers read only their own chunks of a JSON list ---------------------------------
def _rows_text(n: int, *, odd: dict[int, str] | None = None) -> str:
    """A JSON list of ``n`` of the bench's rows (non-ASCII text in some, so that bytes and
    characters differ), item ``i`` replaced by ``odd[i]``'s text where given."""
    import json

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from data import rows

    items = []
    for i, row in enumerate(rows(n, open_share=0.3, overdue_share=0.3), start=1):
        if i % 2 == 0:  # as UTF-8 (a surrogate pair's escape is read the slow way: ijson's)
            row["summary"] = row["events"][0]["text"] = "Caf\u00e9 \u2014 \U0001f600 na\u00efve"
        if i % 4 == 2:  # and escaped
            row["summary"] = row["events"][0]["text"] = "Caf\u00e9 \u2014 na\u00efve"
        text = json.dumps(row, ensure_ascii=i % 4 == 2)
        items.append((odd or {}).get(i, text))
    return "[" + ",\n ".join(items) + "]\n"


def _imported(drp, sql, path: Path, monkeypatch, workers: int) -> tuple[int, str, str, list]:
    monkeypatch.setattr(transfer, "WORKERS", workers)
    monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
    monkeypatch.setattr(transfer, "CHUNK", 3)
    r = drp("import", str(path), "--by", "bench")
    rows = sql("select id, child, summary from concern order by id") if r.exit_code == 0 else []
    return r.exit_code, r.stdout, r.stderr, [tuple(row) for row in rows]


@pytest.mark.parametrize("n", [1, 2, 3, 6, 7, 10])
def test_the_helpers_read_every_row_once(drp, sql, tmp_path, monkeypatch, n):
    path = tmp_path / "rows.json"
    path.write_bytes(b"\xef\xbb\xbf" + _rows_text(n).encode())  # a byte order mark too
    code, out, err, rows = _imported(drp, sql, path, monkeypatch, 2)
    assert (code, out) == (0, f"Imported {n} of {n} rows.\n"), err
    assert [r[1] for r in rows] == [f"C-{i:06d}" for i in range(n)]
    assert [r[2] for r in rows][1:4] == [
        "Caf\u00e9 \u2014 na\u00efve", "No allocated social worker",
        "Caf\u00e9 \u2014 \U0001f600 na\u00efve"][: n - 1]  # fmt: skip
    assert drp("verify").exit_code == 0


@pytest.mark.parametrize(
    "odd",
    [
        {8: '{"protocol": NaN}'},  # not JSON: ijson says what is wrong, after item 7
        {2: '{"protocol": NaN}'},
        {8: "[1, 2]"},  # not a concern object
        {5: '"text"'},
        {8: '{"protocol": "knowsley", "x": 1}'},  # a row the checks refuse
        {10: '{"a": 1} 3'},
    ],
)
def test_a_bad_item_is_said_as_one_process_says_it(drp, sql, tmp_path, monkeypatch, odd):
    path = tmp_path / "rows.json"
    path.write_text(_rows_text(10, odd=odd), encoding="utf-8")
    one = _imported(drp, sql, path, monkeypatch, 1)
    assert one[0] == 2 and one[2].startswith("Error: "), one
    assert _imported(drp, sql, path, monkeypatch, 2) == one


@pytest.mark.parametrize("n", [5, 6, 7, 12])
def test_each_part_decodes_only_its_own_chunks(tmp_path, monkeypatch, n):
    """The two parts (here two threads) share the chunks as before, and neither falls back
    to reading the file from its start: each decodes its own rows only."""
    import queue
    import threading

    from drp_cli.exchange import readers

    monkeypatch.setattr(transfer, "CHUNK", 3)
    path = tmp_path / "rows.json"
    path.write_bytes(b"\xef\xbb\xbf" + _rows_text(n).encode())
    source = readers.open_source(path)
    decoded: list[int] = []
    real = readers._DECODER

    class Counting:
        def raw_decode(self, text, pos):
            decoded.append(pos)
            return real.raw_decode(text, pos)

    monkeypatch.setattr(readers, "_DECODER", Counting())
    monkeypatch.setattr(source, "read", lambda: pytest.fail("read from the start"))
    job = transfer._Job(None, source, path, None, "bench", dt.date(2026, 6, 1))  # type: ignore[arg-type]
    job.starts = {1: queue.Queue(), 2: queue.Queue()}
    got: dict[int, list[tuple[int, str]]] = {}

    def run(part: int) -> None:
        try:
            got[part] = [(k, label) for k, label, _ in transfer._part_rows(job, part, (1, 2))]
        except BaseException as exc:  # said in the assertion below
            got[part] = [(-1, repr(exc))]

    threads = [threading.Thread(target=run, args=(part,)) for part in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    mine = {p: [(k, f"item {k + 1}") for k in range(n) if (k // 3) % 2 == p - 1] for p in (1, 2)}
    assert got == mine
    assert len(decoded) == n
