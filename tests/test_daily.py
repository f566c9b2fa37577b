"""The daily check's own read path (drp_cli.daily): on a SQLite file it answers without
SQLAlchemy, and must agree with the Tracker (which runs the same query on its engine)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drp_cli import daily
from drp_cli.cli.output import json_records
from drp_cli.tracker import Tracker

D = dt.date


def busy_service(t: Tracker) -> None:
    """Concerns at every kind of point: in time, late, responded, formal cap, resolved."""
    a = t.open(protocol="knowsley", child="KN-1", category="statutory", summary="x",
               on=D(2025, 3, 3))  # fmt: skip
    b = t.open(protocol="west-sussex", child="WS-2", category="statutory", summary="x",
               stage="stage-1", role="cpa", on=D(2025, 3, 5))  # fmt: skip
    t.respond(b.id, text="Looking into it", on=D(2025, 3, 11))
    c = t.open(protocol="sbc-fciro", child="SB-3", category="general", summary="x",
               role="fciro", on=D(2025, 3, 10))  # fmt: skip
    t.escalate(c.id, on=D(2025, 3, 12))
    d = t.open(protocol="knowsley", child="KN-4", category="general", summary="x",
               on=D(2025, 3, 4))  # fmt: skip
    t.resolve(d.id, outcome="done", on=D(2025, 3, 6))
    t.open(protocol="nottinghamshire-crp", child="NC-5", category="general", summary="x",
           on=D(2025, 3, 6))  # fmt: skip
    t.add_closures(D(2025, 3, 14), reason="office move")
    t.escalate(a.id, on=D(2025, 3, 14))


DAYS = [D(2025, 3, 10), D(2025, 3, 13), D(2025, 3, 17), D(2025, 3, 28), D(2025, 5, 1)]


@pytest.mark.parametrize("within", [0, 3, 20])
def test_fast_path_agrees_with_the_tracker(db_target, within):
    t = Tracker(db_target)
    busy_service(t)
    for day in DAYS:
        judged, fast = daily.overdue(db_target, on=day, within=within)
        assert judged == day
        assert fast == t.overdue(on=day, within=within), day
    assert any(i.state == "overdue" for i in fast)
    if within:
        _, soon = daily.overdue(db_target, on=D(2025, 3, 10), within=within)
        assert any(i.state == "due" for i in soon)
    t.store.close()


def test_closure_day_counts_on_the_fast_path(db_path):
    t = Tracker(db_path)
    t.open(protocol="knowsley", child="KN-1", category="statutory", summary="x",
           on=D(2025, 3, 3))  # fmt: skip
    # stage-1 deadline Mon 10 Mar; on Mon 17 Mar it is 5 working days overdue
    assert daily.overdue(db_path, on="2025-03-17")[1][0].working_days_overdue == 5
    # closed Thu 6 Mar: the deadline moves to Tue 11 Mar, 4 working days before Mon 17 Mar
    t.add_closures(D(2025, 3, 6), reason="training day")
    (item,) = daily.overdue(db_path, on="2025-03-17")[1]
    assert (item.deadline, item.working_days_overdue) == (D(2025, 3, 11), 4)
    t.remove_closure(D(2025, 3, 6))
    assert daily.overdue(db_path, on="2025-03-17")[1][0].working_days_overdue == 5
    t.store.close()


def test_bad_within_is_refused_before_reading(db_path):
    with pytest.raises(daily.InvalidInput, match="--within must be from 0 to 260 working days"):
        daily.overdue(db_path, on="2025-03-17", within=261)
    assert not db_path.exists()


def test_overdue_on_sqlite_does_not_load_sqlalchemy(db_path):
    Tracker(db_path).open(protocol="knowsley", child="KN-1", category="statutory", summary="x",
                          on=D(2025, 3, 3))  # fmt: skip
    script = (
        "import sys\n"
        "sys.argv = ['drp', 'overdue', '--on', '2025-03-17', '--json']\n"
        "from drp_cli.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "sys.stdout.flush()\n"
        "print('@@', code, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'sqlmodel', 'pydantic', 'rich', 'holidays', 'jinja2')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={**os.environ, "DRP_DB": str(db_path)}, check=True)  # fmt: skip
    text, _, tail = out.stdout.rpartition("@@ ")
    assert tail.strip() == "1 []"
    assert json.loads(text)[0]["working_days_overdue"] == 5


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(["},\n    {", '"', "\\", "\u2028", "é", "{", "}"]),
)
records = st.lists(
    st.dictionaries(st.text(max_size=8), scalars, max_size=6),
    max_size=6,
)


@given(records)
def test_json_records_are_exactly_json_dumps_indent_2(rows):
    assert json_records(rows) == json.dumps(rows, indent=2, ensure_ascii=False)
