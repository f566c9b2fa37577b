"""`drp list` makes its concerns' views a row at a time without the frozen dataclass's
``__init__``, checks them against the protocols found once, skips the legal hold's fold where
no hold was ever recorded, and reads --on once (issue 32 item 3): every view, key and value
as the ordinary way makes it, on a varied record."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from drp_cli.domain import lifecycle, views
from drp_cli.domain.lifecycle import Fact
from drp_cli.services.tracker import VIEW_COLUMNS, Tracker
from tests.conftest import open_args


@pytest.fixture
def varied(drp: Callable[..., Any]) -> None:
    """Concerns of one child and of others: held, held and released, a retracted note, an
    owner changed, a referral, the child's wishes, resolved."""

    def ok(*args: str) -> None:
        result = drp(*args)
        assert result.exit_code == 0, (args, result.stderr)

    ok(*open_args(child="KN-1", on="2025-03-03"))
    ok(*open_args(child="KN-1", on="2025-03-04", summary="Second concern about KN-1"))
    ok(*open_args(child="KN-2", on="2025-03-05"))
    ok(*open_args(child="KN-3", on="2025-01-06"))
    ok(*open_args(child="KN-4", on="2025-02-03"))
    ok("hold", "1", "--reason", "Inquiry", "--on", "2025-03-06")
    ok("hold", "3", "--reason", "Claim", "--on", "2025-03-06")
    ok("unhold", "3", "--reason", "Claim settled", "--on", "2025-03-07")
    ok("note", "2", "--text", "Phoned", "--on", "2025-03-06")
    note = drp("show", "2", "--json").json()["events"][-1]
    assert note["kind"] == "note"
    ok("retract", "2", str(note["seq"]), "--reason", "Wrong concern", "--on", "2025-03-07")
    ok("assign", "2", "--to", "Priya Shah", "--reason", "Leave", "--on", "2025-03-07")
    ok("respond", "4", "--from", "TM", "--text", "Will allocate", "--on", "2025-01-08")
    ok("escalate", "4", "--on", "2025-01-20")
    ok("voice", "1", "wishes-sought", "--text", "Seen alone", "--on", "2025-03-05")
    ok("resolve", "5", "--outcome", "Allocated", "--on", "2025-02-10")


def ordinary(view: views.ConcernView) -> views.ConcernView:
    """The same view made by the dataclass's own ``__init__``."""
    return views.ConcernView(**{f.name: getattr(view, f.name)
                                for f in dataclasses.fields(view)})  # fmt: skip


def test_a_list_view_is_the_dataclass_s_own(varied: None, tracker: Tracker) -> None:
    found = tracker.concerns(status="all")
    assert [v.id for v in found] == [1, 2, 3, 4, 5]
    names = {f.name for f in dataclasses.fields(views.ConcernView)}
    for v in found:
        assert set(vars(v)) == names  # every field, and nothing else
        assert v == ordinary(v)
    assert set(VIEW_COLUMNS) < names


def test_a_view_of_a_value_drp_never_wrote_is_refused(varied: None, tracker: Tracker) -> None:
    v = tracker.get(1)
    values = {**vars(v), "status": "lost"}
    with pytest.raises(Exception, match=r"concern 1: its stored concern.status"):
        views.view_of(values)


def test_the_legal_hold_without_its_fold_is_the_fold_s(varied: None, tracker: Tracker) -> None:
    held = {}
    for v in tracker.concerns(status="all"):
        state = lifecycle.replay(
            Fact(e.seq, e.kind, e.on, e.stage, e.by, e.text, e.details) for e in v.events
        )
        expected = (
            None if state.held_on is None
            else {"since": state.held_on.isoformat(), "reason": state.hold_reason}
        )  # fmt: skip
        assert views.legal_hold(v) == expected
        held[v.id] = expected
    assert held == {1: {"since": "2025-03-06", "reason": "Inquiry"}, 2: None, 3: None,
                    4: None, 5: None}  # fmt: skip


def test_list_json_is_each_concern_s_own_json(varied: None, drp: Callable[..., Any]) -> None:
    """Every key and value of `list --json` as `show ID --json` has it (the one concern's
    way: its own view, its own judgement)."""
    listed = drp("list", "--status", "all", "--json", "--on", "2025-03-20").json()
    assert [row["id"] for row in listed] == [1, 2, 3, 4, 5]
    for row in listed:
        own = drp("show", str(row["id"]), "--json", "--on", "2025-03-20").json()
        assert row == {k: own[k] for k in row}, row["id"]
    assert listed[0]["legal_hold"] == {"since": "2025-03-06", "reason": "Inquiry"}
    assert listed[0]["other_open_concerns"] == [2] and listed[0]["child_wishes"] == "sought"
    assert listed[1]["owner"] == "Priya Shah" and listed[1]["child_wishes"] is None
    assert [e["retracted"] for e in listed[1]["events"]][-3:] == [True, False, False]
    json.dumps(listed)


def test_judge_day_reads_a_day_once_and_still_refuses_a_bad_one(tracker: Tracker) -> None:
    first = tracker.judge_day("2025-03-20")
    assert first.isoformat() == "2025-03-20"
    assert tracker.judge_day("2025-03-20") is first
    assert tracker.judge_day("20/03/2025") == first
    for _ in range(2):
        with pytest.raises(Exception, match="on"):
            tracker.judge_day("2025-13-40")
