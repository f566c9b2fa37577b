"""Issue 32, wave 7: the import's cheaper ways give what the plain ways give. The events the
fast check tells good are made in its pass exactly as ``_event_rows`` makes them; concern rows
written with their Nones as NULL in the statement read back as ``insert_many`` writes them;
a stage's timescale read once is the one the stage gives."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drp_cli.domain import lifecycle
from drp_cli.exchange import checks
from drp_cli.store import importsql
from tests.conftest import PG_URL
from tests.test_w3_import_record import event

TODAY = dt.date(2026, 6, 1)
OPENED = dt.date(2025, 3, 3)


def _protocol():
    from drp_cli.domain.protocols import registry

    return registry().protocols["knowsley"]


@settings(max_examples=500, deadline=None)
@given(st.lists(event, min_size=1, max_size=6), st.sampled_from(["bench", "O'Brien"]),
       st.booleans(), st.sampled_from(["stage-1", "stage-2"]))  # fmt: skip
def test_events_made_by_the_fast_check_are_event_rows(events, recorder, encode, stage):
    protocol = _protocol()
    stages = checks._stage_set(protocol)
    made: list = []
    good = checks._plainly_good(events, OPENED, TODAY, stages, (stage, recorder, encode, made))
    assert good == checks._plainly_good(events, OPENED, TODAY, stages)
    if good:
        assert made == [checks._event_rows(events, stage, recorder, encode)]
    else:
        assert made == []


def test_the_bench_events_are_made_in_the_check():
    """validate, told who imports, hands prepare the events its check made; prepare then
    gives the state and rows it gives from the events themselves."""
    from types import SimpleNamespace

    from drp_cli.domain.calendar import WorkingCalendar
    from drp_cli.domain.protocols import registry

    row = {
        "protocol": "knowsley", "child": "C-000001", "category": "statutory",
        "summary": "No allocated social worker", "opened_on": "2025-03-03", "stage": "stage-1",
        "stage_started_on": "2025-03-03", "status": "resolved", "closed_on": "2025-03-04",
        "outcome": "Allocated", "external_ref": "bench-1",
        "events": [
            {"kind": "imported", "on": "2025-03-03", "stage": "stage-1", "by": "bench",
             "text": "No allocated social worker", "details": {"due": None, "bypassed": []}},
            {"kind": "note", "on": "2025-03-03", "by": "", "text": "Phoned TM"},
            {"kind": "response", "on": "2025-03-04", "stage": "stage-1", "by": "bench",
             "text": "Will allocate", "details": {"from": "TM"}},
            {"kind": "resolved", "on": "2025-03-04", "stage": "stage-1", "by": "bench",
             "text": "Allocated", "details": {}},
        ],
    }  # fmt: skip
    tracker = SimpleNamespace(protocols=registry())  # what validate and prepare read
    fast, problems = checks.validate(tracker, "item 1", row, TODAY, recorder="imp")  # type: ignore[arg-type]
    plain, problems2 = checks.validate(tracker, "item 1", row, TODAY)  # type: ignore[arg-type]
    assert problems == problems2 == []
    assert fast is not None and plain is not None
    assert fast["_rows"] is not None and plain["_rows"] is None
    assert fast["_rows"][0][1][4] == "imp"  # the note's empty 'by': the recorder
    cal = WorkingCalendar()
    got = checks.prepare(fast, tracker, cal, "imp", lambda c, m: None)  # type: ignore[arg-type]
    want = checks.prepare(plain, tracker, cal, "imp", lambda c, m: None)  # type: ignore[arg-type]
    assert got is not None and want is not None
    assert got[0][:4] == want[0][:4]  # the uid made up for each differs: fields-recorded's
    assert got[1].row() | {"uid": None} == want[1].row() | {"uid": None}


COLUMNS = ("id", "a", "b", "c")
ROWS = [(1, "x", None, 3), (2, None, None, 4), (3, None, None, None), (4, "y", "z", 5),
        (5, "y", None, 6), (6, b"\x00", 0, "")]  # fmt: skip


class _Conn:
    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw


RUN = [(7, "p", None, 8), (8, "q", None, 9), (9, "r", None, 10)]  # one shape, in turn


@pytest.mark.parametrize(
    "order", [ROWS, ROWS[::-1], ROWS[1:3] + ROWS[:1], RUN + ROWS, ROWS + RUN[::-1]]
)
def test_rows_with_nulls_in_the_statement_read_back_as_bound(order):
    raw = sqlite3.connect(":memory:")
    for table in ("t", "u"):  # rowid: the order rows were written in
        raw.execute(f"create table {table} (id integer unique, a, b, c)")
    importsql.insert_rows(_Conn(raw), "t", COLUMNS, order)
    raw.executemany("insert into u (id, a, b, c) values (?, ?, ?, ?)", order)
    read = "select rowid, id, a, b, c, typeof(a), typeof(b), typeof(c) from {} order by rowid"
    assert raw.execute(read.format("t")).fetchall() == raw.execute(read.format("u")).fetchall()
    assert [r[1] for r in raw.execute(read.format("t"))] == [r[0] for r in order]


def test_a_row_of_the_wrong_width_is_refused():
    raw = sqlite3.connect(":memory:")
    raw.execute("create table t (id integer unique, a, b, c)")
    with pytest.raises(ValueError, match="a row for t does not have 4 values"):
        importsql.insert_rows(_Conn(raw), "t", COLUMNS, [(1, 2, 3, 4), (2, 3, 4)])


def test_a_timescale_read_once_is_the_stages():
    protocol = _protocol()
    for stage in protocol.stages:
        assert lifecycle._timescale_of(stage) == stage.timescale
        assert lifecycle._timescale_of(stage) is lifecycle._timescale_of(stage)
        for step in stage.steps:
            assert lifecycle._timescale_of(step) == step.timescale


def _visit_state(protocol, stage, entered, due, opening, route, role, formal):
    return lifecycle.ConcernState(
        protocol=protocol.slug, stage=stage, route=route, role=role,
        visits=[lifecycle.Visit(stage, entered, due, opening)], entries=[(stage, entered)],
        formal_started_given=formal, stage_started_on=entered,
    )  # fmt: skip


def _finished(state):
    return state.row(), [(v.previous_outcome, v.deadline, v.kind) for v in state.visits]


_DAYS = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2026, 12, 31))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_kept_finish_is_finish(data):
    """finish_kept gives what finish gives, worked out or kept, on every protocol, stage,
    route and role: a concern finished after one that differs from it in one thing only
    (so that what was kept for that one is at hand), and again after itself; a visit with
    a step done is finished as finish does."""
    import msgspec

    from drp_cli.domain.calendar import WorkingCalendar
    from drp_cli.domain.protocols import registry

    installed = registry().protocols
    capped = msgspec.structs.replace(installed["knowsley"], formal_cap_roles=["iro"])
    protocol = data.draw(st.sampled_from([*installed.values(), capped]))  # a cap by role
    cal = WorkingCalendar({data.draw(_DAYS)})
    draws = [
        st.just(protocol),
        st.sampled_from([s.slug for s in protocol.stages]),
        _DAYS,
        st.none() | _DAYS,
        st.booleans(),
        st.none() | st.sampled_from([r.slug for r in protocol.all_routes]),
        st.sampled_from(protocol.roles),
        st.none() | _DAYS,
    ]
    args = [data.draw(d) for d in draws]
    kept: dict = {}
    for i in range(1, len(draws)):
        other = list(args)
        other[i] = data.draw(draws[i])
        done = data.draw(st.booleans())  # a step done: finished as finish does
        for first, then in ((args, other), (other, other)):
            lifecycle.finish_kept(_visit_state(*first), protocol, cal, kept)
            state, plain = _visit_state(*then), _visit_state(*then)
            if done:
                state.visits[0].done["x"] = plain.visits[0].done["x"] = then[2]
            if data.draw(st.booleans()):  # entries that are not the visit's: finish's own
                entry = (data.draw(draws[1]), data.draw(_DAYS))
                state.entries[:] = plain.entries[:] = [entry] * data.draw(st.integers(1, 2))
            want = _finished(lifecycle.finish(plain, protocol, cal))
            assert _finished(lifecycle.finish_kept(state, protocol, cal, kept)) == want


def _long_rows(n: int) -> list[tuple]:
    """Rows in runs of one shape, some longer than a statement holds (999 values)."""
    out: list[tuple] = []
    for i in range(1, n + 1):
        shape = (i // 250) % 3  # runs of 250 rows of one shape
        out.append((i, f"t{i}", None if shape else i * 2, None if shape == 2 else "x"))
    return out


@pytest.mark.parametrize("n", [1, 249, 250, 251, 333, 1000])
def test_long_runs_of_rows_are_written_in_their_order(n):
    rows = _long_rows(n)
    raw = sqlite3.connect(":memory:")
    for table in ("t", "u"):
        raw.execute(f"create table {table} (id integer unique, a, b, c)")
    importsql.insert_rows(_Conn(raw), "t", COLUMNS, rows)
    raw.executemany("insert into u (id, a, b, c) values (?, ?, ?, ?)", rows)
    read = "select rowid, id, a, b, c, typeof(b), typeof(c) from {} order by rowid"
    assert raw.execute(read.format("t")).fetchall() == raw.execute(read.format("u")).fetchall()


@pytest.mark.parametrize("n", [0, 1, 76, 77, 153, 500])
def test_plain_events_are_written_many_to_a_statement_in_their_order(n):
    """The plain events' statement, with a recorder whose name holds what a statement's
    text could be misread by (a '?', the word VALUES, quotes), many rows to a statement."""
    raw = sqlite3.connect(":memory:")
    names = (*importsql.PLAIN_EVENT_COLUMNS, "from_stage", "recorded_at", "imported_by",
             "imported_at", "mac")  # fmt: skip
    for table in ("event", "want"):
        raw.execute(f"create table {table} ({', '.join(chr(34) + c + chr(34) for c in names)})")
    by = "who? ) VALUES ('x"
    sql = importsql.plain_event_sql("2026-12-07 03:00:00.123456+00:00", by, False)
    rows = [(i // 6 + 1, i % 6 + 1, "note", "2025-03-03", "stage-1", "bench", f"text {i}", "{}",
             f"{i:032x}", "c" * 64, i + 1, "p" * 64, f"{i:064x}") for i in range(n)]  # fmt: skip
    importsql.insert_plain_events(_Conn(raw), sql, rows)
    raw.executemany(sql.replace("INSERT INTO event", "INSERT INTO want"), rows)
    read = "select rowid, * from {} order by rowid"
    got = raw.execute(read.format("event")).fetchall()
    assert got == raw.execute(read.format("want")).fetchall()
    assert len(got) == n and all(r[-3] == by for r in got)


def test_a_plain_event_of_the_wrong_width_is_refused():
    raw = sqlite3.connect(":memory:")
    sql = importsql.plain_event_sql("2026-12-07 03:00:00+00:00", "bench", False)
    with pytest.raises(ValueError, match="a plain event does not have 13 values"):
        importsql.insert_plain_events(_Conn(raw), sql, [(1,) * 13, (2,) * 12])


_FIELDS = ["protocol", "child", "category", "issue", "raised_by", "role", "external_ref", "uid"]


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*_FIELDS, "zeta", "a"]),
        st.text() | st.none() | st.integers() | st.just(["x"]),
        max_size=9,
    )
)
def test_the_recorded_fields_are_spelled_as_the_encoder_spells_them(missing):
    assert checks._spell_fields(missing) == checks._encode_details(missing)


def test_the_cells_a_row_gives_are_those_with_a_value_the_map_did_not_default():
    """What the comparison with drp's record takes as given (given_cells, read only when a
    row is compared): cells with a value, less those the sheet's map filled by default."""
    from types import SimpleNamespace

    from drp_cli.domain.protocols import registry

    row = {
        "protocol": "knowsley", "child": "C-1", "category": "statutory", "summary": "S",
        "opened_on": "2025-03-03", "stage": "stage-1", "stage_started_on": "2025-03-03",
        "status": "open", "team": "North", "owner": "", "issue": None,
        "_defaulted": ["team"],
    }  # fmt: skip
    tracker = SimpleNamespace(protocols=registry())
    checked, problems = checks.validate(tracker, "row 2", row, TODAY)  # type: ignore[arg-type]
    assert problems == [] and checked is not None
    assert checks.given_cells(checked) == {
        "protocol", "child", "category", "summary", "opened_on", "stage", "stage_started_on",
        "status",
    }  # fmt: skip


@pytest.mark.skipif(PG_URL is not None, reason="a SQLite file built by the helpers")
def test_the_helpers_rows_refer_only_to_concerns_there(drp, tmp_path, monkeypatch):
    """The helpers write with SQLite's foreign-key check off after their first turn: every
    event they write is of a concern they wrote before it, so the database they build holds
    no reference to a concern that is not there (and verify passes); a bad row is refused
    through them as ever, and no database is left."""
    from drp_cli.exchange import transfer
    from tests.test_w6i_import_record import _bench_rows

    monkeypatch.setattr(transfer, "WORKERS", 2)
    monkeypatch.setattr(transfer, "PARALLEL_FROM", 0)
    monkeypatch.setattr(transfer, "CHUNK", 7)
    path = _bench_rows(60, tmp_path / "bench.json")
    r = drp("import", str(path), "--by", "bench")
    assert (r.exit_code, r.stdout) == (0, "Imported 60 of 60 rows.\n"), r.stderr
    raw = sqlite3.connect(os.environ["DRP_DB"])
    try:
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        assert raw.execute("select count(*) from event").fetchone() == (359,)
    finally:
        raw.close()
    assert drp("verify").exit_code == 0
    rows = json.loads(path.read_text())
    rows[40]["events"][1]["on"] = "2019-01-01"  # before the concern was opened
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rows))
    monkeypatch.setenv("DRP_DB", str(tmp_path / "new.sqlite3"))
    r = drp("import", str(bad), "--by", "bench")
    assert r.exit_code == 2
    assert "item 41, column events: event 2: 'on' is before opened_on" in r.stderr
    assert not (tmp_path / "new.sqlite3").exists()


@pytest.mark.parametrize(
    ("cells", "problems"),
    [
        ({}, []),
        ({"summary": "two\nlines\tand a tab", "child": "Łukasz"}, []),  # safe: not ASCII
        ({"child": "C-1\n2"}, ["row 2, column child: must be one line without control, "
                               "line-separator or bidi characters"]),
        ({"summary": "a bell \x07"}, ["row 2, column summary: contains control, "
                                      "line-separator or bidi characters"]),
        ({"impact": "bidi \u202e", "team": "No\u2028rth"},
         ["row 2, column impact: contains control, line-separator or bidi characters",
          "row 2, column team: must be one line without control, line-separator or bidi "
          "characters"]),
    ],
)  # fmt: skip
def test_a_rows_cells_are_checked_for_unsafe_characters(cells, problems):
    """Printable ASCII in every cell is told safe at once; anything else is checked cell by
    cell as before, each unsafe one named."""
    from types import SimpleNamespace

    from drp_cli.domain.protocols import registry

    row = {
        "protocol": "knowsley", "child": "C-1", "category": "statutory", "summary": "S",
        "opened_on": "2025-03-03", "stage": "stage-1", "stage_started_on": "2025-03-03",
        "status": "open", "impact": "", "team": "",
    } | cells  # fmt: skip
    tracker = SimpleNamespace(protocols=registry())
    _checked, got = checks.validate(tracker, "row 2", row, TODAY)  # type: ignore[arg-type]
    assert got == problems


def test_a_days_text_is_kept_as_sqlite_stores_it(monkeypatch):
    """The import's kept texts of days are the store's (isoformat), found again, and the
    keeping starts again at its bound."""
    from drp_cli.exchange import transfer
    from drp_cli.store.connection import stored_day

    monkeypatch.setattr(transfer, "_DAY_TEXTS", {})
    monkeypatch.setattr(transfer, "DAY_TEXTS_KEPT", 3)
    days = [dt.date(2025, 3, 3) + dt.timedelta(days=n) for n in (0, 1, 2, 0, 3, 400, 1)]
    for day in days:
        assert transfer._day_text(day) == stored_day(day) == day.isoformat()
        assert len(transfer._DAY_TEXTS) <= 3
    row = tuple(None if n % 3 else dt.date(2024, 1, 1) + dt.timedelta(days=n)
                for n in range(len(transfer.ROW_FIELDS)))  # fmt: skip
    monkeypatch.setattr(transfer, "DAY_TEXTS_KEPT", 4096)
    transfer._row_days_as_text(row)  # its days kept: the second time they are found
    got = transfer._row_days_as_text(row)
    want = tuple(stored_day(v) if i in transfer._ROW_DAYS_AT and v is not None else v
                 for i, v in enumerate(row))  # fmt: skip
    assert got == want


_values_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=8,
)  # fmt: skip
_blank = st.text(alphabet=" \t\n\r", max_size=3)


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(st.dictionaries(st.text(max_size=4), _values_json, max_size=3), max_size=6),
    blanks=st.lists(_blank, min_size=20, max_size=20),
    block=st.integers(1, 64),
)
def test_the_fast_json_reader_reads_what_json_reads(items, blanks, block):
    """The import's reader of a JSON list (items one at a time, a block of the file at a
    time) gives what json.loads gives, whatever white space is between the items, however
    small the blocks; past the list, anything but white space is left to ijson."""
    import io

    from drp_cli.exchange import readers

    gaps = iter(blanks)
    text = next(gaps) + "[" + next(gaps)
    text += ("," + next(gaps)).join(json.dumps(i, ensure_ascii=False) + next(gaps) for i in items)
    text += "]" + next(gaps)  # (not ASCII escapes: a surrogate one is left to ijson)
    data = text.encode()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(readers, "JSON_BLOCK", block)
        assert list(readers._array_items(io.BytesIO(data))) == json.loads(text)
        with pytest.raises(readers._Unplain):
            list(readers._array_items(io.BytesIO(data + b"x")))


def test_a_new_state_is_a_concern_state_as_init_makes_it():
    """new_state gives ConcernState() (every field, in the same order), each with
    containers of its own."""
    a, b, plain = lifecycle.new_state(), lifecycle.new_state(), lifecycle.ConcernState()
    assert a == plain and list(vars(a)) == list(vars(plain))
    assert type(a) is lifecycle.ConcernState
    for name, value in vars(plain).items():
        if isinstance(value, list | dict | set):
            assert getattr(a, name) is not getattr(b, name), name
            assert getattr(a, name) is not lifecycle._NEW_STATE[name], name


@pytest.mark.parametrize(
    "text", ["2025-03-03", "2025-02-30", "2025-W10-1", "20250303", "2025-3-3x", "0001-01-01"]
)
def test_a_day_read_before_is_the_day_iso_day_reads(text, monkeypatch):
    monkeypatch.setattr(checks, "_DAYS_READ", {})
    checks._iso_day.cache_clear()
    first = checks._iso_day(text)
    again = checks._DAYS_READ.get(text) or checks._iso_day(text)
    assert first == again == (dt.date.fromisoformat(text) if text in ("2025-03-03", "0001-01-01")
                              else None)  # fmt: skip
    assert list(checks._DAYS_READ) == ([text] if first is not None else [])


@settings(max_examples=300, deadline=None)
@given(
    held=st.fixed_dictionaries({f: st.none() | st.just(f"held {f}") for f in _FIELDS}),
    row=st.fixed_dictionaries(
        {f: st.none() | st.just(f"row {f}") for f in _FIELDS if f != "protocol"}
    ),
)
def test_the_fields_recorded_for_an_older_export_are_those_the_events_lack(held, row):
    """prepare records each field the row gives (its protocol, child, ... uid; who raised
    it, else the recorder) that its events did not give, as the comprehension it replaced
    chose them, in the same order."""
    from types import SimpleNamespace

    from drp_cli.domain.calendar import WorkingCalendar
    from drp_cli.domain.protocols import registry

    protocols = registry()
    knowsley = protocols.protocols["knowsley"]
    details = {k: v for k, v in held.items() if v is not None and k != "protocol"}
    if held["protocol"] is not None:
        details["protocol"] = "knowsley"
    events = [{"kind": "imported", "on": "2025-03-03", "stage": "stage-1", "by": "b",
               "text": "S", "details": details}]  # fmt: skip
    c = {
        **row, "protocol": knowsley, "stage": knowsley.stage("stage-1"), "summary": "S",
        "opened_on": OPENED, "stage_started_on": OPENED, "status": "open", "closed_on": None,
        "referred_on": None, "events": events,
    }  # fmt: skip
    state = lifecycle.replay(checks._event_rows(events, "stage-1", "imp")[1])
    want = {
        name: value
        for name, value in (("protocol", "knowsley"), ("child", row["child"]),
                            ("category", row["category"]), ("issue", row["issue"]),
                            ("raised_by", row["raised_by"] or "imp"), ("role", row["role"]),
                            ("external_ref", row["external_ref"]), ("uid", row["uid"]))
        if value is not None and getattr(state, name) is None
    }  # fmt: skip
    tracker = SimpleNamespace(protocols=protocols)
    got = checks.prepare(c, tracker, WorkingCalendar(), "imp", lambda col, m: None)  # type: ignore[arg-type]
    if got is None:  # the row's columns contradict its events (its child, say): no fields
        return
    rows = [e for e in got[0] if e[0] == "fields-recorded"]
    if not want:
        assert rows == []
        return
    (recorded,) = rows
    if "uid" not in want and state.uid is None:
        want["uid"] = recorded[8]["uid"]  # one made up
    assert list(recorded[8].items()) == list(want.items())


_SEVEN = {"protocol": "knowsley", "child": 'C-"1"\\é', "category": "statutory",
          "raised_by": "O'Brien\u202e", "role": "iro", "external_ref": "ref\n1",
          "uid": "0" * 32}  # fmt: skip


@pytest.mark.parametrize(
    "missing",
    [_SEVEN, {**_SEVEN, "uid": 5}, {**{k: v for k, v in _SEVEN.items() if k != "uid"}, "a": "x"},
     {**_SEVEN, "issue": "x"}, dict(reversed(list(_SEVEN.items())))],
)  # fmt: skip
def test_the_usual_recorded_fields_are_spelled_as_the_encoder_spells_them(missing):
    assert checks._spell_fields(missing) == checks._encode_details(missing)
