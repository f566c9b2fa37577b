"""What a concern collects for its alert form and CAFCASS bundle: recommended actions (in
priority order, each with an owner and a due date), professionals, important people in the
child's life, the child's wishes and feelings, and diversity / communication needs.

Each change appends an event to the concern's log (``action-added``, ``action-done``,
``professional-removed`` ...); the ``item`` rows are written from the fold of those events
(:mod:`drp_cli.domain.lifecycle`) in the same transaction.

The child is a unit: professionals, important people, wishes and feelings and needs
(:data:`CHILD_KINDS`) belong to the child, so every concern about the child shows those
recorded on any of the child's concerns (``from_concern`` names the one it was recorded
on; removing it there removes it for the child). Actions belong to their concern.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from drp_cli.core.dates import iso, parse_date
from drp_cli.core.errors import InvalidInput, NotFound, TransitionRefused, fld
from drp_cli.core.textsafe import MAX_REF, clean_line, clean_text
from drp_cli.domain.lifecycle import ItemState
from drp_cli.services.tracker import Tracker, current_user
from drp_cli.store import record
from drp_cli.store.connection import Row
from drp_cli.store.record import Loaded

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
#: the kinds that belong to the child, shared by all the child's concerns
CHILD_KINDS = ("professional", "important-person", "wishes", "needs")
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
    #: the child's other concern it was recorded on; None: this concern's own
    from_concern: int | None = None

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
            "from_concern": self.from_concern,
        }


def _view(row: Row, concern_id: int) -> ItemView:
    return ItemView(
        kind=row.kind,
        n=row.n,
        position=row.position,
        fields=record.item_data(row),
        added_on=row.added_on,
        added_by=row.added_by,
        done_on=row.done_on,
        done_by=row.done_by,
        removed_on=row.removed_on,
        from_concern=None if row.concern_id == concern_id else row.concern_id,
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
        tracker.append_checked(
            uow,
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


def _find_own(tracker: Tracker, loaded: Loaded, concern_id: int, kind: str, n: int) -> None:
    """The concern's own item ``n`` of ``kind``, else NotFound, saying which of the child's
    other concerns holds a ``kind`` ``n`` (the one ``list`` shows as from that concern)."""
    try:
        _find(loaded, concern_id, kind, n)
    except NotFound as exc:
        if kind not in CHILD_KINDS or loaded.conn is None:
            raise
        ids = set(tracker.child_concern_ids(loaded.conn, loaded.row)) - {concern_id}
        others = sorted({r.concern_id for r in record.child_items(loaded.conn, loaded.row.child,
                                                                  [kind])
                         if r.n == n and r.removed_on is None and r.concern_id in ids})  # fmt: skip
        if not others:
            raise
        where = ("concern " if len(others) == 1 else "concerns ") + ", ".join(map(str, others))
        raise NotFound(
            f"{exc}: the child's {LABELS[kind].lower()} {n} was recorded on "
            f"{where}; remove it there"
        ) from None


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
        tracker.append_checked(uow, loaded, "action-done", day, recorder,
                               stage=tracker.stage_at(loaded, day), text=f"Action {n} done",
                               details={"n": n})  # fmt: skip
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
        _find_own(tracker, loaded, concern_id, kind, n)
        tracker.append_checked(
            uow, loaded, f"{kind}-removed", day, recorder, stage=tracker.stage_at(loaded, day),
            text=f"{LABELS[kind]} {n} removed" + (f": {why}" if why else ""), details={"n": n},
        )  # fmt: skip
        return _view_state(loaded.state.items[(kind, n)])


def items(
    tracker: Tracker, concern_id: int, kind: str | None = None, *, include_removed: bool = False
) -> list[ItemView]:
    """What a concern's documents draw on, optionally of one kind: its own actions (in
    priority order), and the child's professionals, important people, wishes and needs
    recorded on any of the child's concerns (:data:`CHILD_KINDS`).

    By kind, the concern's own first, then those of the child's other concerns by concern
    (each with ``from_concern``); one recorded again on another concern with the very same
    fields is shown once (the concern's own, else the earliest concern's)."""
    if kind is not None:
        _check_kind(kind)
    with tracker.store.read() as conn:
        row = record.concern(conn, concern_id)
        if row is None:
            raise NotFound(f"no concern with id {concern_id}")
        own = record.items_of(conn, concern_id, kind)
        kinds = [k for k in CHILD_KINDS if kind is None or k == kind]
        ids = set(tracker.child_concern_ids(conn, row)) - {concern_id} if kinds else set()
        others = [r for r in record.child_items(conn, row.child, kinds)
                  if r.concern_id in ids] if ids else []  # fmt: skip
    found: list[ItemView] = []
    seen: set[tuple[str, str]] = set()
    for r in sorted([*own, *others],
                    key=lambda r: (r.kind, r.concern_id != concern_id, r.concern_id)):  # fmt: skip
        if r.removed_on is not None and not include_removed:
            continue
        view = _view(r, concern_id)
        same = (view.kind, json.dumps(view.fields, sort_keys=True))
        if view.removed_on is None:
            if view.from_concern is not None and same in seen:
                continue
            seen.add(same)
        found.append(view)
    return found
