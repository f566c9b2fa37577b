"""The value classes that were dataclasses (issue 32: their ``exec`` at import was about a
third of an everyday command's weight over ``import typer``) behave as those dataclasses
did: the same equality, repr, hash and immutability, the same defaults, a fresh list or
dict for each instance, and ``dataclasses.replace``/``fields`` on the two views."""

import dataclasses
import datetime as dt
import inspect
from pathlib import Path
from typing import Any

import pytest

from drp_cli.core import config
from drp_cli.core.plainclass import Frozen, Plain
from drp_cli.domain import lifecycle, protocols, retention, transitions, views
from drp_cli.services import tracker as tracker_module
from drp_cli.services.tracker import Tracker
from drp_cli.store import filestore, record

#: every class converted, and whether it was frozen
CLASSES: list[tuple[type, bool]] = [
    (lifecycle.ItemState, False),
    (lifecycle.AttachmentState, False),
    (lifecycle.Visit, False),
    (lifecycle.StepDue, True),
    (lifecycle.ConcernState, False),
    (views.EventView, True),
    (views.OtherConcern, True),
    (retention.Rule, True),
    (retention.Schedule, True),
    (retention.Closed, True),
    (retention.Due, True),
    (transitions.Transition, True),
    (protocols.Timescale, True),
    (protocols.Registry, True),
    (config.Config, True),
    (filestore._Keys, True),
    (tracker_module.Closure, True),
    (tracker_module.Found, True),
    (record.Loaded, False),
    (record.UnitOfWork, False),
    (record.VerifyOptions, False),
]
#: fields the dataclass neither showed nor compared (``field(repr=False, compare=False)``)
HIDDEN = {(record.Loaded, "conn")}


def reference(cls: type, frozen: bool) -> Any:
    """The dataclass the class replaced, as far as equality, repr and hash go."""
    specs = [
        (name, Any, dataclasses.field(repr=(cls, name) not in HIDDEN,
                                      compare=(cls, name) not in HIDDEN))
        for name in cls._fields  # type: ignore[attr-defined]
    ]  # fmt: skip
    made = dataclasses.make_dataclass(cls.__name__, specs, frozen=frozen)
    made.__qualname__ = cls.__qualname__
    return made


def values(cls: type, bump: str | None = None) -> dict[str, Any]:
    return {
        name: (i + 100 if name == bump else i)
        for i, name in enumerate(cls._fields)  # type: ignore[attr-defined]
    }


@pytest.mark.parametrize(("cls", "frozen"), CLASSES, ids=[c.__name__ for c, _ in CLASSES])
def test_behaves_as_the_dataclass_it_replaced(cls: type, frozen: bool) -> None:
    ref = reference(cls, frozen)
    params = list(inspect.signature(cls).parameters)
    assert params == list(cls._fields)  # type: ignore[attr-defined]  # same order, same names
    one, same, ref_one = cls(**values(cls)), cls(**values(cls)), ref(**values(cls))
    assert repr(one) == repr(ref_one)
    assert one == same
    assert (one != same) is False
    assert one != ref_one  # another class: never equal (NotImplemented both ways)
    for name in cls._fields:  # type: ignore[attr-defined]
        other = cls(**values(cls, bump=name))
        assert (one == other) == (ref_one == ref(**values(cls, bump=name))), name
    assert issubclass(cls, Frozen if frozen else Plain)
    if frozen:
        assert hash(one) == hash(ref_one)
        for name in cls._fields:
            with pytest.raises(dataclasses.FrozenInstanceError) as mine:
                setattr(one, name, 1)
            with pytest.raises(dataclasses.FrozenInstanceError) as theirs:
                setattr(ref_one, name, 1)
            assert str(mine.value) == str(theirs.value)
            with pytest.raises(dataclasses.FrozenInstanceError) as mine:
                delattr(one, name)
            with pytest.raises(dataclasses.FrozenInstanceError) as theirs:
                delattr(ref_one, name)
            assert str(mine.value) == str(theirs.value)
    else:
        with pytest.raises(TypeError, match="unhashable"):
            hash(one)
        one.__dict__  # noqa: B018  (attributes can be set: a mutable value)
        setattr(one, cls._fields[0], "changed")
        assert getattr(one, cls._fields[0]) == "changed"


def test_the_defaults_are_the_dataclasses() -> None:
    state = lifecycle.ConcernState()
    assert state.status == "open" and state.impact == "" and state.recommended == ""
    assert state.event_count == 0 and state.held_on is None and state.hold_reason is None
    assert state.visits == [] and state.items == {} and state.retracted == set()
    other = lifecycle.ConcernState()
    other.visits.append(lifecycle.Visit("stage-1", dt.date(2025, 1, 6), None, True))
    other.retracted.add(3)
    assert state.visits == [] and state.retracted == set()  # a fresh list and set each
    visit = lifecycle.Visit("stage-1", dt.date(2025, 1, 6), None, True)
    assert (visit.done, visit.left, visit.deadline, visit.kind, visit.previous_outcome) == (
        {}, None, None, None, None,
    )  # fmt: skip
    item = lifecycle.ItemState("action", 1, 1, {}, dt.date(2025, 1, 6), "A")
    assert (item.done_on, item.done_by, item.removed_on, item.removed_by) == (None,) * 4
    assert retention.Schedule() == retention.Schedule(None, {}, {})
    assert retention.Schedule().empty
    assert retention.Closed(1, "open", None, None, None).held is False
    rule = transitions.Transition("note", "any", "add a note to")
    assert (rule.since, rule.rule, rule.opening) == (("opened",), None, False)
    scale = protocols.Timescale(5, "working-days", "stage", "firm")
    assert (scale.purpose, scale.quote) == ("respond", "")
    options = record.VerifyOptions()
    assert options.problems_limit == 200 and options.seen_files == set()
    assert options.key is None and options.revision is None
    assert record.VerifyOptions().seen_files is not options.seen_files
    assert repr(retention.Rule("retention_years", None, 7)) == (
        "Rule(setting='retention_years', name=None, years=7)"
    )
    assert str(retention.Rule("retention_by_role", "iro", 7)) == "retention_by_role:iro=7"
    assert config.Config({"name": "A. IRO"}, Path("x")).name == "A. IRO"


def test_the_views_are_still_dataclasses(tracker: Tracker) -> None:
    """The pseudonymised export replaces a view's fields with ``dataclasses.replace``."""
    view = tracker.open(protocol="knowsley", child="KN-1", category="statutory",
                        summary="No plan", on=dt.date(2025, 3, 3), by="A. IRO")  # fmt: skip
    assert dataclasses.is_dataclass(view)
    names = [f.name for f in dataclasses.fields(view)]
    assert names == list(views.ConcernView._fields)
    changed = dataclasses.replace(view, summary="Changed")
    assert changed.summary == "Changed" and changed.id == view.id
    assert changed != view and dataclasses.replace(view) == view
    event = dataclasses.replace(view.events[0], by="B. IRO")
    assert event.by == "B. IRO" and event.seq == view.events[0].seq
    assert [f.name for f in dataclasses.fields(event)] == list(views.EventView._fields)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.summary = "x"
    assert repr(view).startswith(f"ConcernView(id={view.id}, protocol='knowsley', child='KN-1'")
    assert tracker.get(view.id) == view
    with pytest.raises(TypeError, match="unhashable"):
        hash(view)  # its events are a list, as the frozen dataclass's were
