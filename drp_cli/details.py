"""What a concern collects for its alert form and CAFCASS bundle: recommended actions (in
priority order, each with an owner and a due date), professionals, important people in the
child's life, the child's wishes and feelings, and diversity / communication needs.

Each change appends an event to the concern's log (``action-added``, ``action-done``,
``professional-removed`` ...); the ``item`` rows are written from the fold of those events
(:mod:`drp_cli.lifecycle`) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from drp_cli import record
from drp_cli.dates import iso, parse_date
from drp_cli.errors import InvalidInput, NotFound, TransitionRefused, fld
from drp_cli.lifecycle import ItemState
from drp_cli.record import Loaded
from drp_cli.store import Row
from drp_cli.textsafe import MAX_REF, clean_line, clean_text
from drp_cli.tracker import Tracker, current_user

#: kind -> (required fields, optional fields); every field is text except the dates.
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "action": (("text", "owner"), ("due",)),
    "professional": (("name", "role"), ("organisation", "contact")),
    "important-person": (("name", "relationship"), ("involvement",)),
    "wishes": (("text", "how"), ("obtained_on",)),
    "needs": (("text",), ()),
}
LABELS = {
    "action": "Action",
    "professional": "Professional",
    "important-person": "Important person",
    "wishes": "Wishes and feelings",
    "needs": "Diversity / communication needs",
}
DATE_FIELDS = ("due", "obtained_on")
ONE_LINE_FIELDS = ("owner", "name", "role", "organisation", "relationship")


@dataclass(frozen=True)
class ItemView:
    kind: str
    n: int
    position: int
    fields: dict[str, Any]
    added_on: dt.date
    added_by: str
    done_on: dt.date | None
    done_by: str | None
    removed_on: dt.date | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n": self.n,
            **self.fields,
            "added_on": iso(self.added_on),
            "added_by": self.added_by,
            "done_on": iso(self.done_on),
            "done_by": self.done_by,
            "removed_on": iso(self.removed_on),
        }


def _view(row: Row) -> ItemView:
    return ItemView(
        kind=row.kind,
        n=row.n,
        position=row.position,
        fields=json.loads(row.data),
        added_on=row.added_on,
        added_by=row.added_by,
        done_on=row.done_on,
        done_by=row.done_by,
        removed_on=row.removed_on,
    )


def _view_state(item: ItemState) -> ItemView:
    return ItemView(
        kind=item.kind,
        n=item.n,
        position=item.position,
        fields=dict(item.data),
        added_on=item.added_on,
        added_by=item.added_by,
        done_on=item.done_on,
        done_by=item.done_by,
        removed_on=item.removed_on,
    )


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}")


def _clean_fields(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    required, optional = KINDS[kind]
    unknown = set(values) - set(required) - set(optional)
    if unknown:
        raise InvalidInput(f"{kind} has no field {sorted(unknown)[0]!r}")
    fields: dict[str, Any] = {}
    for name in (*required, *optional):
        value = values.get(name)
        option = fld(name)
        if name in DATE_FIELDS:
            fields[name] = iso(parse_date(value, option)) if value else None
            continue
        if name in ONE_LINE_FIELDS:
            text = str(value or "")
            fields[name] = (
                clean_line(text, option, MAX_REF * 4) if text.strip() or name in required else ""
            )
        else:
            fields[name] = clean_text(value, option, required=name in required)
    return fields


def add(
    tracker: Tracker,
    concern_id: int,
    kind: str,
    *,
    on: dt.date | str | None = None,
    by: str | None = None,
    position: int | None = None,
    **values: Any,
) -> ItemView:
    """Add an item of ``kind`` to a concern (open or closed: bundles are made afterwards)."""
    _check_kind(kind)
    fields = _clean_fields(kind, values)
    recorder = current_user(by)
    day = tracker.event_date(on)
    if kind == "wishes" and fields.get("obtained_on") is None:
        fields["obtained_on"] = iso(day)
    if position is not None and position < 1:
        raise InvalidInput(f"{fld('priority')} must be 1 or more")
    with tracker.unit_of_work() as uow:
        loaded = uow.load(concern_id)
        n = max((k[1] for k in loaded.state.items if k[0] == kind), default=0) + 1
        summary = fields.get("text") or fields.get("name") or ""
        uow.append(
            loaded,
            f"{kind}-added",
            day,
            recorder,
            stage=tracker.stage_at(loaded, day),
            text=f"{LABELS[kind]} {n}: {summary}",
            details={"n": n, "position": position if position is not None else n, **fields},
        )
        return _view_state(loaded.state.items[(kind, n)])


def _find(loaded: Loaded, concern_id: int, kind: str, n: int) -> ItemState:
    item = loaded.state.items.get((kind, n))
    if item is None or item.removed_on is not None:
        raise NotFound(f"concern {concern_id} has no {LABELS[kind].lower()} {n}")
    return item


def mark_done(
    tracker: Tracker,
    concern_id: int,
    n: int,
    *,
    on: dt.date | str | None = None,
    by: str | None = None,
) -> ItemView:
    recorder = current_user(by)
    day = tracker.event_date(on)
    with tracker.unit_of_work() as uow:
        loaded = uow.load(concern_id)
        item = _find(loaded, concern_id, "action", n)
        if item.done_on is not None:
            raise TransitionRefused(
                f"action {n} of concern {concern_id} was already done on {item.done_on}"
            )
        if day < item.added_on:
            raise InvalidInput(f"{fld('on')} {day.isoformat()} is before the action was added")
        uow.append(loaded, "action-done", day, recorder, stage=tracker.stage_at(loaded, day),
                   text=f"Action {n} done", details={"n": n})  # fmt: skip
        return _view_state(loaded.state.items[("action", n)])


def remove(
    tracker: Tracker,
    concern_id: int,
    kind: str,
    n: int,
    *,
    on: dt.date | str | None = None,
    by: str | None = None,
    reason: str = "",
) -> ItemView:
    """Remove an item from the concern's documents; the event log keeps it."""
    _check_kind(kind)
    why = clean_text(reason, fld("reason"), required=False)
    recorder = current_user(by)
    day = tracker.event_date(on)
    with tracker.unit_of_work() as uow:
        loaded = uow.load(concern_id)
        _find(loaded, concern_id, kind, n)
        uow.append(
            loaded, f"{kind}-removed", day, recorder, stage=tracker.stage_at(loaded, day),
            text=f"{LABELS[kind]} {n} removed" + (f": {why}" if why else ""), details={"n": n},
        )  # fmt: skip
        return _view_state(loaded.state.items[(kind, n)])


def items(
    tracker: Tracker, concern_id: int, kind: str | None = None, *, include_removed: bool = False
) -> list[ItemView]:
    """A concern's items (actions in priority order), optionally of one kind."""

    if kind is not None:
        _check_kind(kind)
    with tracker.store.read() as conn:
        if record.concern(conn, concern_id) is None:
            raise NotFound(f"no concern with id {concern_id}")
        rows = record.items_of(conn, concern_id, kind)
    return [_view(r) for r in rows if include_removed or r.removed_on is None]
