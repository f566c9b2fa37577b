"""Importing a spreadsheet again: what changed since drp last read it, and (``--update``) the
changes recorded as events, never as edits.

A row whose concern drp already holds (the same reference) is compared with the concern as
drp holds it, field by field, where the row gives a value (an empty cell changes nothing):

* a later stage: an ``escalated`` event (stages passed over are recorded as bypassed), dated
  the row's stage start;
* resolved or withdrawn: a ``resolved``/``withdrawn`` event with the row's outcome, dated the
  row's closing date;
* a CAFCASS referral date where drp has none: a ``referred`` event;
* a response drp does not have: a ``response`` event;
* a corrected summary, impact, recommended action, child, category, issue, IRO or role: one
  ``amended`` event, its reason naming the file and row;
* the sheet's other columns changed: a note with them.

A row that would move a concern backwards (an earlier stage, an open concern that drp has
closed, a resolved one withdrawn) is refused with its row number: drp's own corrections
(``drp retract``, ``drp reopen``) do that, with a reason. Differences drp does not record
from a sheet (an opening date, a closing date or an outcome already recorded) are listed as
not changed. Every event goes through the unit of work like any other, so ``drp verify``
holds after an update.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drp_cli.core.dates import as_day as _day
from drp_cli.core.dates import iso
from drp_cli.domain.protocols import Protocol
from drp_cli.store.record import Row

#: Fields an update corrects with an ``amended`` event (as ``drp amend`` does).
AMENDED = ("summary", "impact", "recommended", "child", "category", "issue", "raised_by", "role")
NOTES_PREFIX = "From the spreadsheet:"


@dataclass(frozen=True)
class Planned:
    kind: str
    on: dt.date
    stage: str | None = None
    from_stage: str | None = None
    text: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """What one row changes on its concern."""

    label: str
    concern_id: int
    ref: str | None
    differences: list[str] = field(default_factory=list)  # "stage: stage-1 -> stage-2"
    events: list[Planned] = field(default_factory=list)
    not_changed: list[str] = field(default_factory=list)  # differences not recorded

    @property
    def changed(self) -> bool:
        return bool(self.events)


def _same(a: Any, b: Any) -> bool:
    return (a or None) == (b or None)


def plan(
    label: str,
    checked: Mapping[str, Any],
    given: set[str],
    row: Row,
    protocol: Protocol,
    events: list[Row] | None,
    source: str,
) -> tuple[Plan, list[str]]:
    """The plan for one row (``checked``: the row as :func:`drp_cli.exchange.checks.validate`
    checked it; ``given``: the fields the row gave a value for) against the concern ``row``
    drp holds, with its ``events`` where the row has a response or notes to compare; and
    the row's errors (each "column NAME: message"), which refuse the whole import."""
    p = Plan(label, int(row["id"]), row["external_ref"])
    errors: list[str] = []
    if checked["protocol"].slug != row["protocol"]:
        errors.append("column protocol: differs from the concern's; an import does not move a "
                      "concern to another protocol")  # fmt: skip
        return p, errors
    reason = f"Changed in the spreadsheet {source}, {label}"
    # -- corrected fields
    amended: dict[str, Any] = {}
    for name in AMENDED:
        if name not in given:
            continue
        new = checked[name]
        if not _same(new, row[name]):
            amended[name] = new
            p.differences.append(f"{name} changed")
    if amended:
        if "category" in amended and "issue" not in amended and row["issue"]:
            amended["issue"] = None
        p.events.append(Planned("amended", _today_or(checked), text=reason, details=amended))
    # -- the stage
    status = row["status"]
    current = row["stage"]
    started = _day(row["stage_started_on"])
    if "stage" in given and checked["stage"].slug != current:
        target = checked["stage"].slug
        here, there = protocol.index(current), protocol.index(target)
        on = checked["stage_started_on"]
        if there < here:
            errors.append(f"column stage: would move the concern back from {current} to "
                          f"{target}; an import never moves a concern backwards (`drp "
                          "retract` undoes an escalation recorded in error)")  # fmt: skip
        elif status != "open":
            errors.append(f"column stage: the concern is {status} in drp; an import does not "
                          "escalate a closed concern (`drp reopen` first)")  # fmt: skip
        elif started is not None and on < started:
            errors.append("column stage_started_on: is before the concern's current stage "
                          "began in drp")  # fmt: skip
        else:
            bypassed = protocol.stage_slugs[here + 1 : there]
            p.events.append(Planned("escalated", on, stage=target, from_stage=current,
                                    details={"due": None, "bypassed": bypassed}))  # fmt: skip
            p.differences.append(f"stage: {current} -> {target} on {iso(on)}")
    elif (
        "stage_started_on" in given
        and started is not None
        and (checked["stage_started_on"] != started)
    ):
        p.not_changed.append("stage_started_on differs (the stage's start is not changed)")
    # -- the referral
    referred = _day(row["referred_on"])
    if checked["referred_on"] is not None:
        if referred is None:
            p.events.append(Planned("referred", checked["referred_on"]))
            p.differences.append(f"referred to CAFCASS on {iso(checked['referred_on'])}")
        elif referred != checked["referred_on"]:
            p.not_changed.append("referred_on differs (a referral's date is not changed)")
    # -- the response
    response = checked.get("response") or ""
    if response and events is not None:
        had = {e["text"] for e in events if e["kind"] == "response"}
        if response not in had:
            on = checked.get("responded_on") or _today_or(checked)
            p.events.append(Planned("response", on, text=response))
            p.differences.append("a new response")
    # -- the sheet's other columns
    notes = checked.get("notes") or ""
    if notes and events is not None:
        kept = [e["text"] for e in events if e["kind"] in ("note", "imported")
                and str(e["text"]).startswith(NOTES_PREFIX)]  # fmt: skip
        if not kept or kept[-1] != notes:
            p.events.append(Planned("note", _today_or(checked), text=notes))
            p.differences.append("the sheet's other columns changed")
    # -- the status
    new_status = checked["status"]
    if "status" in given and new_status != status:
        if status != "open":
            word = "reopen" if new_status == "open" else f"mark {new_status}"
            errors.append(f"column status: the concern is {status} in drp; an import does not "
                          f"{word} it (`drp reopen`, with a reason, does)")  # fmt: skip
        else:
            closed = checked["closed_on"]
            stage_start = max(
                [d for d in (started, *(e.on for e in p.events if e.kind == "escalated"))
                 if d is not None], default=None,
            )  # fmt: skip
            if stage_start is not None and closed < stage_start:
                errors.append("column closed_on: is before the concern's current stage began")
            else:
                p.events.append(Planned(new_status, closed, text=checked["outcome"] or ""))
                p.differences.append(f"status: open -> {new_status} on {iso(closed)}")
    elif status != "open" and "status" in given:
        if checked["closed_on"] and _day(row["closed_on"]) != checked["closed_on"]:
            p.not_changed.append("closed_on differs (a closing date is not changed)")
        if checked["outcome"] and not _same(checked["outcome"], row["outcome"]):
            p.not_changed.append("outcome differs (the outcome recorded is not changed)")
    if "opened_on" in given and checked["opened_on"] != _day(row["opened_on"]):
        p.not_changed.append("opened_on differs (an opening date is not changed)")
    return p, errors


def _today_or(checked: Mapping[str, Any]) -> dt.date:
    """The date a correction or note from the sheet is recorded on: the import's day."""
    day: dt.date = checked["_today"]
    return day
