"""`drp import` reads its file once, as a stream: every row is checked, and written while no
row has a problem, in the one transaction; the reading may be shared with helper processes.
And the functions that spell the chain's JSON fast are the reference encoding."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import inspect
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drp_cli.core.errors import InvalidInput
from drp_cli.exchange import checks, readers, transfer

PERSONAL = "Jane Doe"


def concern(n: int, **overrides: object) -> dict[str, object]:
    """A concern as an export carries it: with its events (about 5, as the bench's)."""
    on, later = "2025-03-03", "2025-03-04"
    row: dict[str, object] = {
        "external_ref": f"ref-{n}", "protocol": "knowsley", "child": f"C-{n:04d}",
        "category": "statutory", "summary": "No allocated social worker", "opened_on": on,
        "stage": "stage-1", "stage_started_on": on, "status": "resolved", "closed_on": later,
        "outcome": "Allocated",
        "events": [
            {"kind": "imported", "on": on, "stage": "stage-1", "by": "bench",
             "text": "No allocated social worker", "details": {"due": None, "bypassed": []}},
            {"kind": "note", "on": on, "stage": "stage-1", "by": "bench", "text": "Phoned TM",
             "details": {}},
            {"kind": "response", "on": later, "stage": "stage-1", "by": "bench",
             "text": "Will allocate", "details": {"from": "TM"}},
            {"kind": "resolved", "on": later, "stage": "stage-1", "by": "bench",
             "text": "Allocated", "details": {}},
        ],
    }  # fmt: skip
    row.update(overrides)
    return row


def counts(sql):
    import os

    target = os.environ["DRP_DB"]
    if "://" not in target and not os.path.exists(target):
        return (0, 0)
    return (sql("select count(*) from concern")[0][0], sql("select count(*) from event")[0][0])


@pytest.fixture
def two_processes(monkeypatch):
    """Both passes shared with a second process even for a small file, in small chunks."""
    monkeypatch.setattr(transfer, "WORKERS", 2)
    monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
    monkeypatch.setattr(transfer, "CHUNK", 3)


# -- the source ------------------------------------------------------------------------------
def test_closure_days_after_the_concerns_are_read(drp, tmp_path):
    path = tmp_path / "export.json"
    days = [{"day": "2025-03-06", "reason": "Move"}]
    path.write_text(json.dumps({"concerns": [concern(1)], "format": "x", "closure_days": days}))
    source = readers.open_source(path)
    assert (source.fmt, source.closures) == ("json", [(dt.date(2025, 3, 6), "Move")])
    r = drp("import", str(path))
    assert (r.exit_code, r.stdout) == (0, "Imported 1 of 1 rows.\n"), r.stderr
    closures = drp("calendar", "closures", "--json").json()
    assert [(c["day"], c["reason"]) for c in closures] == [("2025-03-06", "Move")]


def test_closure_days_before_the_concerns_are_read(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"closure_days": [{"day": "2025-03-06", "reason": "Move"}],
                                "concerns": [concern(1), concern(2)]}))  # fmt: skip
    source = readers.open_source(path)
    assert source.closures == [(dt.date(2025, 3, 6), "Move")]
    assert [label for label, _ in source.rows()] == ["item 1", "item 2"]


def test_rows_are_read_one_at_a_time_and_afresh(tmp_path):
    """The first row comes before the rest of the file is read: here the rest is not even
    JSON, and that is found only when the reading gets there."""
    path = tmp_path / "big.json"
    path.write_text("[" + json.dumps(concern(1)) + ", " + json.dumps(concern(2)) + ", {oops")
    source = readers.open_source(path)
    assert inspect.isgenerator(source.rows())
    rows = source.rows()
    label, row = next(rows)
    assert (label, row["external_ref"]) == ("item 1", "ref-1")
    assert next(rows)[0] == "item 2"
    with pytest.raises(InvalidInput) as caught:
        next(rows)
    assert (
        str(caught.value) == f"{path} is not valid JSON (after item 2): invalid char in json text"
    )
    # a second reading starts again from the first row
    assert next(source.rows())[0] == "item 1"


def test_csv_rows_are_streamed_too(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(
        "protocol,child,category,summary,opened_on,stage,stage_started_on,status,closure_days\n"
        "knowsley,K-1,statutory,ok,2025-03-03,stage-1,2025-03-03,open,\n"
        'knowsley,K-2,statutory,ok,2025-03-03,stage-1,2025-03-03,open,"[{""day"": '
        '""2025-03-06"", ""reason"": ""Move""}]"\n'
    )
    source = readers.open_source(path)
    assert (source.fmt, source.closures) == ("csv", [(dt.date(2025, 3, 6), "Move")])
    assert inspect.isgenerator(source.rows())
    rows = source.rows()
    assert [(label, row["child"], "closure_days" in row) for label, row in rows] == [
        ("row 2", "K-1", False), ("row 3", "K-2", False),
    ]  # fmt: skip


def test_json_that_is_not_a_list_of_concerns(tmp_path):
    for text in ('{"concerns": {"a": 1}}', '{"format": 1}', "3", '[{"a": 1}, 2]'):
        path = tmp_path / "x.json"
        path.write_text(text)
        with pytest.raises(InvalidInput) as caught:
            list(readers.open_source(path).rows())
        assert str(caught.value) == f"{path}: expected a list of concern objects"


def test_parse_errors_never_quote_the_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('[{"child": "' + PERSONAL + '", ' + PERSONAL + "}]")
    with pytest.raises(InvalidInput) as caught:
        list(readers.open_source(path).rows())
    assert PERSONAL not in str(caught.value)
    assert (
        str(caught.value) == f"{path} is not valid JSON (after item 0): invalid char in json text"
    )
    path.write_bytes(b'[{"child": "caf\xe9"}]')
    with pytest.raises(InvalidInput) as caught:
        list(readers.open_source(path).rows())
    assert str(caught.value) == f"{path} is not UTF-8 text (save the spreadsheet as CSV UTF-8)"


# -- all or nothing --------------------------------------------------------------------------
@pytest.mark.parametrize("shared", [False, True])
def test_a_bad_row_in_the_middle_writes_nothing(drp, sql, tmp_path, monkeypatch, shared):
    if shared:
        monkeypatch.setattr(transfer, "WORKERS", 2)
        monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
        monkeypatch.setattr(transfer, "CHUNK", 3)
    rows = [concern(n) for n in range(1, 31)]
    rows[14] = concern(15, status=PERSONAL, opened_on=PERSONAL)
    rows[20] = concern(21, external_ref="ref-3")
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    r = drp("import", str(path))
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == (
        "Error: 3 problems found; nothing was imported:\n"
        "  item 15, column opened_on: is not a date drp takes (DD/MM/YYYY or "
        "YYYY-MM-DD, from 1990-01-01 to 2199-12-31)\n"
        "  item 15, column status: is not a status (allowed: open, resolved, withdrawn)\n"
        "  item 21, column external_ref: the same reference is on item 3\n"
    )
    assert PERSONAL not in r.stderr
    assert counts(sql) == (0, 0)


def test_a_bad_file_leaves_no_new_database_behind(drp, db_target, tmp_path):
    """Into no database at all: the database is made only when the file imports."""
    rows = [concern(n) for n in range(1, 4)]
    rows[1] = concern(2, status=PERSONAL)
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    r = drp("import", str(path))
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr.startswith("Error: 1 problem found; nothing was imported:\n"), r.stderr
    assert "Created a new drp database" not in r.stderr
    if db_target.startswith("postgresql"):  # the tests' server database has its tables
        assert drp("list", "--status", "all", "--json").json() == []
    else:
        assert drp("list").exit_code == 4  # no database
        db = Path(db_target)
        assert list(db.parent.glob(f"*{db.name}*")) == []
    path.write_text(json.dumps([concern(n) for n in range(1, 4)]))
    r = drp("import", str(path))
    assert (r.exit_code, r.stdout) == (0, "Imported 3 of 3 rows.\n"), r.stderr
    if not db_target.startswith("postgresql"):
        assert r.stderr.startswith("Created a new drp database at ")
        assert oct(Path(db_target).stat().st_mode & 0o777) == "0o600"
        assert sorted(p.name for p in Path(db_target).parent.glob(f"*{db.name}*")) == [db.name]


def test_error_messages_say_what_was_expected_never_what_was_there(drp, tmp_path):
    row = concern(1, protocol=PERSONAL, category=PERSONAL, stage_started_on=PERSONAL)
    other = concern(2, stage=PERSONAL, role=PERSONAL, issue=PERSONAL)
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([row, other]))
    r = drp("import", str(path))
    assert r.exit_code == 2
    assert PERSONAL not in r.stderr
    assert r.stderr == (
        "Error: 6 problems found; nothing was imported:\n"
        "  item 1, column stage_started_on: is not a date drp takes (DD/MM/YYYY or "
        "YYYY-MM-DD, from 1990-01-01 to 2199-12-31)\n"
        "  item 1, column protocol: is not an installed protocol (installed: knowsley, "
        "nottinghamshire-2016, nottinghamshire-crp, sbc-fciro, west-sussex)\n"
        "  item 1, column category: is not a category (allowed: general, statutory, "
        "care-plan, service)\n"
        "  item 2, column stage: is not a stage of protocol knowsley (stages: stage-1, "
        "stage-2, stage-3, stage-4)\n"
        "  item 2, column issue: is not an issue of category statutory (allowed: "
        "no-social-worker, assessment-out-of-date, care-plan-out-of-date, safety-plan, "
        "statutory-visits, pep, health-assessment, placement-plan, not-consulted-final-plan)\n"
        "  item 2, column role: is not a role of protocol knowsley (allowed: iro, cp-chair)\n"
    )


def test_shared_import_is_the_same_as_one_process(drp, tmp_path, monkeypatch):
    rows = [concern(n) for n in range(1, 11)]
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    alone = tmp_path / "alone.sqlite3"
    r = drp("--db", str(alone), "import", str(path))
    assert (r.exit_code, r.stdout) == (0, "Imported 10 of 10 rows.\n"), r.stderr
    monkeypatch.setattr(transfer, "WORKERS", 2)
    monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
    monkeypatch.setattr(transfer, "CHUNK", 3)
    shared = tmp_path / "shared.sqlite3"
    r = drp("--db", str(shared), "import", str(path))
    assert (r.exit_code, r.stdout) == (0, "Imported 10 of 10 rows.\n"), r.stderr
    assert drp("--db", str(shared), "verify").exit_code == 0

    def same(c):
        # each import makes up its own uids and records its own moment
        events = [{**e, "recorded_at": None, "details": {**e["details"], "uid": None}}
                  for e in c["events"]]  # fmt: skip
        return {**c, "uid": None, "events": events}

    for n in range(1, 11):
        a = drp("--db", str(alone), "show", str(n), "--json", "--on", "2025-03-20").json()
        b = drp("--db", str(shared), "show", str(n), "--json", "--on", "2025-03-20").json()
        assert same(a) == same(b)
        assert "fields-recorded" in [e["kind"] for e in a["events"]]
    # a second import of the same file skips every row, in either way
    r = drp("--db", str(shared), "import", str(path), "--json")
    assert r.json() == {"rows": 10, "imported": 0, "skipped": 10, "events": 0, "dry_run": False,
                        "unchanged": 0, "updated": 0, "changed": [], "blank_rows": 0,
                        "total_rows": 0, "stale_removed": 0, "formal_inferred": 0}  # fmt: skip


def test_the_file_is_read_once(tracker, tmp_path):
    """One reading checks and writes: a file that changes meanwhile cannot be half read
    one way and half the other."""
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([concern(1), concern(2)]))
    source = readers.open_source(path)
    readings = []

    def rows():
        readings.append(1)
        yield from [("item 1", concern(1)), ("item 2", concern(2))]

    source.read = rows
    result = transfer._import(tracker, source, path, dry_run=False, by=None, progress=None,
                              known_rows=transfer.KnownRows())  # fmt: skip
    assert (result.rows, result.imported, len(readings)) == (2, 2, 1)
    assert [c.external_ref for c in tracker.concerns(status="all")] == ["ref-1", "ref-2"]


def test_known_rows_go_through_the_hook(drp, tracker, tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([concern(1), concern(2)]))
    assert transfer.import_file(tracker, path).imported == 2
    path.write_text(json.dumps([concern(1), concern(2), concern(3)]))
    seen: dict[str, list[str]] = {"check": [], "write": []}

    class Refuse(transfer.KnownRows):
        sees_rows = True

        def check(self, conn, batch):
            seen["check"] += [label for label, _, _ in batch]
            return [f"{label}, column external_ref: known" for label, _, _ in batch[:1]]

        def write(self, uow, batch):
            seen["write"] += [state.external_ref for _, _, state in batch]
            return 1

    with pytest.raises(transfer.ImportRefused) as caught:
        transfer.import_file(tracker, path, known_rows=Refuse())
    assert caught.value.errors == ["item 1, column external_ref: known"]
    assert seen == {"check": ["item 1", "item 2"], "write": []}

    class Count(Refuse):
        def check(self, conn, batch):
            return []

    seen["check"] = []
    result = transfer.import_file(tracker, path, known_rows=Count())
    assert (result.imported, result.updated, result.skipped) == (1, 1, 1)
    assert seen["write"] == ["ref-1", "ref-2"]


# -- the chain's JSON, spelled fast ----------------------------------------------------------
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
details_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts,
    st.lists(texts, max_size=3),
)  # fmt: skip
details_dicts = st.dictionaries(texts, details_values, max_size=4)


@given(texts, st.one_of(st.none(), texts), st.one_of(st.none(), texts, details_dicts))
def test_commitment_is_exactly_the_reference_encoding(salt, text, details):
    from drp_cli.domain.chain import _ENCODE, _canon, commitment

    spelled = _canon("details", details) or ""
    reference = _ENCODE([salt, text or "", spelled]).encode("utf-8")
    assert commitment(salt, text, details) == hashlib.sha256(reference).hexdigest()


@given(details_dicts)
def test_details_encoder_is_json_dumps(details):
    assert checks._encode_details(details) == json.dumps(details, sort_keys=True)


imported_events = st.fixed_dictionaries(
    {
        "concern_id": st.integers(min_value=1, max_value=10**9),
        "seq": st.integers(min_value=1, max_value=10**6),
        "kind": st.sampled_from(["imported", "note", "response", "escalated"]),
        "effective_on": st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2199, 12, 31)),
        "stage": texts,
        "from_stage": st.one_of(st.none(), texts),
        "by": texts,
        "recorded_at": st.datetimes(timezones=st.just(dt.UTC)),
        "text": texts,
        "details": st.one_of(texts, details_dicts),
        "content": st.one_of(st.none(), st.text(alphabet="0123456789abcdef", max_size=64)),
        "imported_at": st.one_of(st.none(), st.datetimes(timezones=st.just(dt.UTC))),
        "imported_by": st.one_of(st.none(), texts),
    }
)


@given(imported_events, st.integers(min_value=1, max_value=10**12), texts)
def test_hash_from_parts_is_the_event_hash(row, chain_seq, prev):
    from drp_cli.domain.chain import event_hash, event_hash_parts, hash_of_parts

    parts = event_hash_parts(row)
    assert hash_of_parts(parts, chain_seq, prev) == event_hash(row, chain_seq, prev)


def test_salts_are_as_new_salt_makes_them():
    from drp_cli.domain.chain import new_salt, new_salts

    salts = new_salts(1000)
    assert len(salts) == len(set(salts)) == 1000
    assert {len(s) for s in salts} == {len(new_salt())} == {32}
    # lower-case hex as token_hex writes it (int(s, 16) would take "0x..", upper case, "_")
    assert all(set(s) <= set("0123456789abcdef") for s in salts), salts[:3]


def test_bench_data_shape_imports(drp, tmp_path, two_processes):
    """The bench's rows (bench/data.py) go in through both processes and verify."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from data import rows, write

    path = write(tmp_path / "bench.json", rows(40, open_share=0.25, overdue_share=0.3))
    r = drp("import", str(path), "--by", "bench")
    assert (r.exit_code, r.stdout) == (0, "Imported 40 of 40 rows.\n"), r.stderr
    assert drp("verify").exit_code == 0


def test_a_helper_process_that_dies_stops_the_import(tracker, tmp_path, two_processes, monkeypatch):
    if not tracker.store.is_sqlite:
        pytest.skip("the passes are shared with a second process on SQLite only")
    import os

    path = tmp_path / "rows.json"
    path.write_text(json.dumps([concern(n) for n in range(1, 11)]))
    real = transfer._check_part

    def dying(job, part, parts):
        if part == 1:
            os._exit(3)
        yield from real(job, part, parts)

    monkeypatch.setattr(transfer, "_check_part", dying)
    with pytest.raises(RuntimeError) as caught:
        transfer.import_file(tracker, path)
    assert str(caught.value) == "import process ended with status 3"
    # no database was there: none is left behind, nor the one being built beside it
    assert not tracker.store.exists
    assert list(tracker.store.path.parent.glob(f".{tracker.store.path.name}*")) == []


# -- the JSON rows, read fast where that reads them as ijson does ---------------------------
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)  # fmt: skip
odd_texts = st.sampled_from(
    [
        "NaN",
        "-Infinity",
        "1e400",
        '"\\ud800"',
        '"\\udc00x"',
        '"\\ud83d\\ude00"',
        "99999999999999999999",
        '"a\\tb"',
        '"a\tb"',
    ]
)


def _outcome(path: Path, fast: bool) -> tuple[str, object]:
    """What reading the rows gives: the rows, or the error's message."""
    real = readers._array_items
    if not fast:

        def slow(f):
            raise readers._Unplain(0)
            yield

        readers._array_items = slow
    try:
        return ("rows", list(readers.open_source(path).rows()))
    except InvalidInput as exc:
        return ("error", str(exc))
    finally:
        readers._array_items = real


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.dictionaries(st.text(max_size=5), json_values, max_size=3), max_size=5),
    st.sampled_from(["", " ", "\n  ", "\t"]),
    st.one_of(st.none(), odd_texts),
    st.sampled_from(["", "]", "x", ", {", "] []"]),
    st.integers(min_value=1, max_value=40),
)
def test_fast_json_reading_gives_what_ijson_gives(items, space, odd, tail, block):
    """Rows, the items' values, and the message at anything wrong: the same whichever reads
    them, however the file's blocks fall (the fast reader hands over to ijson at anything it
    does not read exactly as ijson does)."""
    import tempfile

    parts = [json.dumps(item, ensure_ascii=bool(block % 2)) for item in items]
    if odd is not None:
        parts.append('{"x": ' + odd + "}")
    text = "[" + space + ("," + space).join(parts) + space + "]"
    if tail:
        text = text[:-1] + tail
    real_block = readers.JSON_BLOCK
    readers.JSON_BLOCK = block
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "rows.json"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            assert _outcome(path, fast=True) == _outcome(path, fast=False)
    finally:
        readers.JSON_BLOCK = real_block


# -- what the helper processes hand over -----------------------------------------------------
def _stored(path, table, columns, order="id"):
    """A table's rows as SQLite holds them (no converters: the stored text itself)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"
                            ).fetchall()  # fmt: skip


def test_two_processes_store_the_text_one_process_stores(drp, db_path, tmp_path, monkeypatch):
    """The helper processes give SQLite each date and moment as the text it stores (not
    the driver's adapters in the writing process): an export imported by one process and
    by two is stored alike, and the events, items and concerns' dates as the commands
    that recorded them stored them."""
    from tests.test_backup import make_record

    make_record(drp)  # an escalation, a response, a referral, an action with a due date
    out = tmp_path / "export.json"
    assert drp("export", "--format", "json", "-o", str(out)).exit_code == 0
    one, two = tmp_path / "one.sqlite3", tmp_path / "two.sqlite3"
    assert drp("--db", str(one), "import", str(out)).exit_code == 0
    monkeypatch.setattr(transfer, "WORKERS", 2)
    monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
    monkeypatch.setattr(transfer, "CHUNK", 1)
    r = drp("--db", str(two), "import", str(out))
    assert (r.exit_code, r.stdout) == (0, "Imported 2 of 2 rows.\n"), r.stderr
    assert drp("--db", str(two), "verify").exit_code == 0
    # who imported it and when: the same form (the moment itself is each import's own)
    when = ("typeof(imported_at)", "length(imported_at)", "imported_by")
    assert _stored(one, "event", when) == _stored(two, "event", when)
    recorded = ("concern_id", "seq", "kind", "effective_on", "stage", "from_stage", '"by"',
                "recorded_at", "text", "details")  # fmt: skip
    original = _stored(db_path, "event", recorded, "concern_id, seq")
    assert len(original) == 7
    # the original's events (each copy may add a fields-recorded: what an export lacks)
    copied = [e for e in _stored(one, "event", recorded) if e[2] != "fields-recorded"]
    assert copied == original
    assert _stored(two, "event", recorded) == _stored(one, "event", recorded)
    items = ("concern_id", "kind", "n", "data", "added_on", "added_by", "done_on", "removed_on")
    assert _stored(two, "item", items) == _stored(db_path, "item", items)
    assert len(_stored(two, "item", items)) == 1
    dates = ("opened_on", "stage_started_on", "deadline", "formal_started_on",
             "formal_deadline", "referred_on", "senior_officer_notified_on", "closed_on",
             "step_deadline", "typeof(created_at)", "length(updated_at)")  # fmt: skip
    assert _stored(two, "concern", dates) == _stored(db_path, "concern", dates)
    assert _stored(one, "concern", dates) == _stored(db_path, "concern", dates)


def test_a_chunk_marshal_cannot_carry_comes_pickled(monkeypatch):
    """Chunks of plain values come back as marshal's bytes; any other value (a date, say)
    still comes back, pickled, in file order."""

    def make(part):
        yield [(part, "plain", None, b"x", 1.5)]
        yield [(part, dt.date(2025, 3, part))]

    got = list(transfer._in_order(make, transfer.SHARED))
    assert got == [[(1, "plain", None, b"x", 1.5)], [(2, "plain", None, b"x", 1.5)],
                   [(1, dt.date(2025, 3, 1))], [(2, dt.date(2025, 3, 2))]]  # fmt: skip


def test_an_import_removes_what_a_stopped_import_left(drp, db_path, tmp_path):
    """A killed import into no database leaves its owner-only copy of the rows beside the
    database (a dot file no one would find): the next import removes it, but only once it
    has gone unwritten for STALE_AFTER and its process is gone."""
    import os
    import subprocess
    import sys
    import time

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead, alive = int(gone.stdout), os.getpid()
    prefix = f".{db_path.name}.import-"
    old = time.time() - transfer.STALE_AFTER - 60
    made = {
        "stale": f"{prefix}{dead}-0a1b2c3d4e5f",
        "stale wal": f"{prefix}{dead}-0a1b2c3d4e5f-wal",
        "no process id": f"{prefix}9f8e7d6c5b4a",  # a name no build has (a user's own)
        "running": f"{prefix}{alive}-111111111111",
        "fresh": f"{prefix}{dead}-222222222222",
        "another database's": f".other.sqlite3.import-{dead}-333333333333",
        "not an import's name": f"{prefix}{dead}-444444444444.import-{dead}-555555555555",
    }
    for key, name in made.items():
        path = db_path.parent / name
        path.write_bytes(b"rows")
        if key != "fresh":
            os.utime(path, (old, old))
    # a link named as a stale build is not followed, nor removed: nor is what it points to
    elsewhere = tmp_path / "elsewhere.sqlite3"
    elsewhere.write_bytes(b"someone's database")
    os.utime(elsewhere, (old, old))
    made["a link"] = f"{prefix}{dead}-666666666666"
    (db_path.parent / made["a link"]).symlink_to(elsewhere)
    os.utime(db_path.parent / made["a link"], (old, old), follow_symlinks=False)
    made["a link to nowhere"] = f"{prefix}{dead}-777777777777"
    (db_path.parent / made["a link to nowhere"]).symlink_to("/" + "x" * 300 + "/y")
    source = tmp_path / "rows.json"
    source.write_text(json.dumps([concern(1)]))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([concern(2, status="lost")]))
    assert drp("import", str(bad)).exit_code == 2  # bad input changes nothing
    assert all((db_path.parent / name).is_symlink() or (db_path.parent / name).exists()
               for name in made.values())  # fmt: skip
    r = drp("import", str(source))
    assert (r.exit_code, r.stdout) == (0, "Imported 1 of 1 rows.\n"), r.stderr
    assert r.stderr.endswith(
        "Removed 1 unfinished database file that a stopped import had left in the data folder.\n"
    )
    left = {key for key, name in made.items() if (db_path.parent / name).is_symlink()
            or (db_path.parent / name).exists()}  # fmt: skip
    assert left == {"no process id", "running", "fresh", "another database's",
                    "not an import's name", "a link", "a link to nowhere"}  # fmt: skip
    assert elsewhere.read_bytes() == b"someone's database"
    # nothing more to remove: nothing said
    r = drp("import", str(tmp_path / "rows.json"), "--json")
    assert (r.exit_code, r.json()["stale_removed"], r.stderr) == (0, 0, "")


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=130),
       st.booleans())  # fmt: skip
@settings(max_examples=40, deadline=None)
def test_insert_many_writes_every_row_in_order(columns, n, as_generator):
    """Many rows to a statement on SQLite (as many as 999 values allow), the rest one a
    statement: every row, in the order given, whatever the count."""
    import sqlite3

    from drp_cli.store.connection import SQLITE_VALUES, Conn

    names = [f"c{i}" for i in range(columns)]
    raw = sqlite3.connect(":memory:", isolation_level=None)
    raw.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {', '.join(names)})")
    rows = [tuple(f"{r}.{c}" if c % 2 else r * 100 + c for c in range(columns)) for r in range(n)]
    with contextlib.closing(raw):
        Conn(raw, True).insert_many("t", names, (r for r in rows) if as_generator else rows)
        got = raw.execute(f"SELECT id, {', '.join(names)} FROM t ORDER BY id").fetchall()
    assert [r[1:] for r in got] == rows
    assert [r[0] for r in got] == list(range(1, n + 1))
    assert SQLITE_VALUES // columns >= 1


def test_a_stale_file_that_cannot_be_removed_leaves_the_import_standing(drp, db_path, tmp_path,
                                                                        monkeypatch):  # fmt: skip
    import os
    import time

    stale = db_path.parent / f".{db_path.name}.import-99999999-0a1b2c3d4e5f"  # no such process
    stale.write_bytes(b"rows")
    old = time.time() - transfer.STALE_AFTER - 60
    os.utime(stale, (old, old))
    real = Path.unlink

    def refused(self, *args, **kwargs):
        if self.name == stale.name:
            raise PermissionError(13, "Permission denied")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", refused)
    source = tmp_path / "rows.json"
    source.write_text(json.dumps([concern(1)]))
    r = drp("import", str(source), "--json")
    assert (r.exit_code, r.json()["imported"], r.json()["stale_removed"]) == (0, 1, 0), r.stderr
    assert stale.exists()


def test_insert_many_refuses_a_row_of_the_wrong_length():
    """Rows packed many to a statement: a short row next to a long one would shift values
    from row to row; it is refused, and nothing is written."""
    import sqlite3

    from drp_cli.store.connection import SQLITE_VALUES, Conn

    rows = [(1,), (2, 3, 4), *((n, n) for n in range(SQLITE_VALUES))]
    with contextlib.closing(sqlite3.connect(":memory:", isolation_level=None)) as raw:
        raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b)")
        with pytest.raises(ValueError) as caught:
            Conn(raw, True).insert_many("t", ["a", "b"], rows)
        assert str(caught.value) == "a row for t does not have 2 values"
        assert raw.execute("SELECT count(*) FROM t").fetchone() == (0,)


# -- the helpers write the database being built themselves ---------------------------------
def test_helpers_write_a_keyed_chain_with_closure_days(drp, db_path, tmp_path, monkeypatch,
                                                       two_processes):  # fmt: skip
    """Into no database, the helper processes write the rows themselves, a chunk each in
    turn: the chain runs on from one chunk to the next (sealed by the key where there is
    one), and the file's closure days go in after the rows, as with one process."""
    key = tmp_path / "drp.key"
    assert drp("key", "create", str(key)).exit_code == 0
    monkeypatch.setenv("DRP_KEY_FILE", str(key))
    days = [{"day": "2025-03-06", "reason": "Move"}]
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"concerns": [concern(n) for n in range(1, 12)],
                                "closure_days": days}))  # fmt: skip
    one = tmp_path / "one.sqlite3"
    with monkeypatch.context() as alone:
        alone.setattr(transfer, "WORKERS", 1)
        assert drp("--db", str(one), "import", str(path)).exit_code == 0
    r = drp("import", str(path), "--json")
    assert (r.exit_code, r.json()["imported"], r.json()["events"]) == (0, 11, 55), r.stderr
    r = drp("verify", "--json")
    assert (r.exit_code, r.json()["ok"], r.json()["mode"]) == (0, True, "hmac-sha256")
    closures = drp("calendar", "closures", "--json").json()
    assert [(c["day"], c["reason"]) for c in closures] == [("2025-03-06", "Move")]
    # the same chain as one process makes, link for link but the salts and moments
    shape = ("chain_seq", "concern_id", "seq", "kind", "length(hash)", "length(mac)")
    assert _stored(db_path, "event", shape, "chain_seq") == _stored(one, "event", shape,
                                                                    "chain_seq")  # fmt: skip
    # the closure day is the last link, on from the last event the helpers wrote
    link = ("chain_seq", "prev_hash = (SELECT hash FROM event WHERE chain_seq = 55)",
            "hash = (SELECT hash FROM chain_head)", "length(mac)")  # fmt: skip
    assert _stored(db_path, "closure_change", link) == [(56, 1, 1, 64)]
    # the indexes dropped while the rows went in are all there again (the order a new
    # schema makes them in is its own: the migration's, which varies from run to run)
    indexes = ("name", "sql")
    assert _stored(db_path, "sqlite_master WHERE type = 'index'", indexes, "name") == (
        _stored(one, "sqlite_master WHERE type = 'index'", indexes, "name")
    )


def test_a_helper_waiting_for_its_turn_ends_when_the_import_is_gone(monkeypatch):
    """A helper whose import was killed does not wait for its turn for ever."""
    import multiprocessing

    monkeypatch.setattr(transfer, "TURN_WAIT", 0.05)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    waiting = ctx.Process(target=transfer._turn, args=(queue, -1))  # not its parent: gone
    waiting.start()
    waiting.join(10)
    assert waiting.exitcode == 1
    queue.put((3, "abc", True))
    assert transfer._turn(queue, transfer.os.getppid()) == (3, "abc", True)


def test_a_helper_s_own_error_comes_back_as_it_was(tmp_path):
    """drp's own error in a helper (the disk full, say) is the import's error, word for
    word and of its kind (its words never hold the file's content); a bug is named only by
    its kind."""
    from drp_cli.core.errors import DatabaseBusy, DatabaseError

    def make(part, error):
        if part == 2:
            raise error
        yield [(part,)]

    for error in (DatabaseError("the disk holding x is full"), DatabaseBusy("busy now")):
        with pytest.raises(type(error)) as caught:
            list(transfer._in_order(functools.partial(make, error=error), transfer.SHARED))
        assert str(caught.value) == str(error)
    with pytest.raises(RuntimeError) as crashed:
        list(transfer._in_order(lambda part: make(part, KeyError(PERSONAL)), transfer.SHARED))
    assert str(crashed.value) == "import process failed: KeyError"


@settings(max_examples=200)
@given(st.binary(min_size=16, max_size=16))
def test_a_uid_is_what_uuid4_makes_of_the_same_bytes(raw):
    import os
    import uuid

    from drp_cli.core import uids

    real = os.urandom
    try:
        os.urandom = lambda n: raw * (n // 16)
        made = uids.new_uids(2)
    finally:
        os.urandom = real
    want = uuid.UUID(bytes=raw, version=4).hex
    assert made == [want, want]


def test_a_forked_process_makes_uids_of_its_own():
    import os

    from drp_cli.core.uids import new_uid

    new_uid()  # this process's block is made
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.write(write, "".join(new_uid() for _ in range(50)).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    theirs = os.read(read, 50 * 32).decode()
    ours = "".join(new_uid() for _ in range(50))
    os.close(read)
    os.close(write)
    assert len(theirs) == len(ours) == 50 * 32
    assert {theirs[i : i + 32] for i in range(0, 1600, 32)}.isdisjoint(
        {ours[i : i + 32] for i in range(0, 1600, 32)}
    )


def test_the_helpers_stop_writing_once_a_row_is_refused(drp, db_path, tmp_path, monkeypatch,
                                                         two_processes):  # fmt: skip
    """A reference on two rows is found by the reading process, which the helpers cannot
    see: once it has, they write nothing more (a refused file does not fill the disk with a
    copy of the rows that is thrown away), and every problem is still listed."""
    written = tmp_path / "written"
    flush = transfer._Writer.flush

    def counted(self):
        with written.open("a") as f:  # from the helpers' processes too
            f.write(f"{len(self.concerns)}\n")
        flush(self)

    monkeypatch.setattr(transfer._Writer, "flush", counted)
    rows = [concern(n) for n in range(1, 301)]
    rows[4] = concern(5, external_ref="ref-1")  # in the second chunk
    rows[250] = concern(251, status=PERSONAL)  # and a bad row long after
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    r = drp("import", str(path))
    assert r.exit_code == 2
    assert "item 5, column external_ref: the same reference is on item 1" in r.stderr
    assert "item 251, column status: is not a status" in r.stderr
    assert PERSONAL not in r.stderr
    assert not db_path.exists() and sorted(p.name for p in db_path.parent.iterdir()
                                           if p.name.startswith(".")) == []  # fmt: skip
    total = sum(int(n) for n in written.read_text().split())
    assert 0 < total < 60  # a few chunks of 3 rows written before the helpers were told


def test_a_helper_whose_import_is_gone_does_not_wait_on_a_full_queue(monkeypatch):
    """A helper whose import was killed while the queue to it was full ends."""
    import multiprocessing

    monkeypatch.setattr(transfer, "TURN_WAIT", 0.05)
    ctx = multiprocessing.get_context("fork")
    full = ctx.Queue(maxsize=1)
    full.put("waiting")
    helper = ctx.Process(target=transfer._put, args=(full, "more", -1))  # not its parent
    helper.start()
    helper.join(10)
    assert helper.exitcode == 1
    ready = ctx.Queue(maxsize=1)
    transfer._put(ready, "sent", transfer.os.getppid())
    assert ready.get(timeout=5) == "sent"
