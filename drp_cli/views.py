"""Plain-data views of concerns: the JSON shapes and the stage-by-stage timeline.

Nothing here imports typer or rich; the CLI renders these dicts as tables or JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drp_cli.calendar import WorkingCalendar
from drp_cli.dates import iso
from drp_cli.lifecycle import STAGE_ENTRIES, stage_deadline

if TYPE_CHECKING:
    from drp_cli.protocols import Protocol


# -- value objects the library returns ---------------------------------------------------
@dataclass(frozen=True)
class EventView:
    seq: int
    kind: str
    on: dt.date
    stage: str
    from_stage: str | None
    by: str
    recorded_at: dt.datetime
    text: str
    details: dict[str, Any]


@dataclass(frozen=True)
class ConcernView:
    id: int
    protocol: str
    child: str
    category: str
    issue: str | None
    summary: str
    impact: str
    recommended: str
    raised_by: str
    role: str
    status: str
    stage: str
    stage_started_on: dt.date
    deadline: dt.date | None
    formal_started_on: dt.date | None
    formal_deadline: dt.date | None
    referred_on: dt.date | None
    senior_officer_notified_on: dt.date | None
    wishes: str | None
    told_outcome: str | None
    opened_on: dt.date
    closed_on: dt.date | None
    outcome: str | None
    events: list[EventView] = field(default_factory=list)
    external_ref: str | None = None
    uid: str | None = None


#: What each stage result means (shown in ``drp show`` and the README).
RESULTS = {
    "met": "a response (or the resolution) came on or before the stage's deadline",
    "missed": "the stage was left after its deadline with no response by the deadline",
    "overdue": "current stage, deadline passed: resolve or escalate (a response may have come)",
    "pending": "current stage, deadline not yet reached",
    "left-in-time": "left by its deadline without a response (bypass or early escalation)",
    "no-timescale": "the protocol gives no timescale and no due date was set",
}


def event_dict(e: EventView) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "kind": e.kind,
        "on": iso(e.on),
        "stage": e.stage,
        "from_stage": e.from_stage,
        "by": e.by,
        "text": e.text,
        "recorded_at": e.recorded_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "details": e.details,
    }


def stage_visits(
    c: ConcernView, protocol: Protocol | None, cal: WorkingCalendar, judged_on: dt.date
) -> list[dict[str, Any]]:
    """Each stage the concern entered, with its deadline and whether it was met."""
    entries = [e for e in c.events if e.kind in STAGE_ENTRIES]
    visits: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        entered = entry.on
        left = entries[i + 1].on if i + 1 < len(entries) else c.closed_on
        how_left = (
            "escalated" if i + 1 < len(entries) else (c.status if c.status != "open" else None)
        )
        due_text = entry.details.get("due")
        due = dt.date.fromisoformat(due_text) if due_text else None
        stage = (
            protocol.stage(entry.stage) if protocol and protocol.has_stage(entry.stage) else None
        )
        deadline = stage_deadline(cal, stage, entered, due) if stage else due
        responses = [
            e.on
            for e in c.events
            if e.kind == "response"
            and e.stage == entry.stage
            and e.on >= entered
            and (left is None or e.on <= left)
        ]
        first_response = min(responses) if responses else None
        resolved_here = how_left == "resolved"
        late = 0
        if deadline is None:
            result = "no-timescale"
        elif left is None:
            # the current stage: its deadline is the IRO's decision point (resolve or
            # escalate), so it is overdue once passed, whether or not a response came
            late = cal.working_days_overdue(deadline, judged_on)
            result = "overdue" if late else "pending"
        elif (first_response is not None and first_response <= deadline) or (
            resolved_here and left <= deadline
        ):
            result = "met"
        else:
            late = cal.working_days_overdue(deadline, left)
            result = "missed" if late else "left-in-time"
        visits.append(
            {
                "stage": entry.stage,
                "title": stage.title if stage else entry.stage,
                "formal": stage.formal if stage else None,
                "entered_on": iso(entered),
                "left_on": iso(left),
                "left_by": how_left,
                "bypassed": entry.details.get("bypassed", []),
                "deadline": iso(deadline),
                "due_set_by_iro": due is not None,
                "first_response_on": iso(first_response),
                "result": result,
                "working_days_late": late,
            }
        )
    return visits


def formal_result(c: ConcernView, cal: WorkingCalendar, judged_on: dt.date) -> str | None:
    if c.formal_deadline is None:
        return None
    end = c.closed_on if c.closed_on is not None else judged_on
    late = cal.working_days_overdue(c.formal_deadline, end)
    if c.closed_on is not None:
        return "missed" if late else "met"
    return "overdue" if late else "pending"


def missing_voice(c: ConcernView) -> list[str]:
    """What is missing about the child's voice (seed 004, "Child's Voice")."""
    missing = []
    if c.wishes is None:
        missing.append("child's wishes not recorded")
    if c.status == "resolved" and c.told_outcome is None:
        missing.append("child not recorded as told the outcome")
    return missing


def concern_dict(
    c: ConcernView,
    protocol: Protocol | None,
    cal: WorkingCalendar,
    judged_on: dt.date,
    *,
    timeline: bool = True,
) -> dict[str, Any]:
    stage = protocol.stage(c.stage) if protocol and protocol.has_stage(c.stage) else None
    overdue_by = 0
    if c.status == "open":
        for d in (c.deadline, c.formal_deadline):
            if d is not None:
                overdue_by = max(overdue_by, cal.working_days_overdue(d, judged_on))
    data: dict[str, Any] = {
        "id": c.id,
        "external_ref": c.external_ref,
        "uid": c.uid,
        "protocol": c.protocol,
        "child": c.child,
        "category": c.category,
        "issue": c.issue,
        "status": c.status,
        "stage": c.stage,
        "stage_title": stage.title if stage else c.stage,
        "stage_started_on": iso(c.stage_started_on),
        "deadline": iso(c.deadline),
        "formal_started_on": iso(c.formal_started_on),
        "formal_deadline": iso(c.formal_deadline),
        "formal_result": formal_result(c, cal, judged_on),
        "referred_to_cafcass_on": iso(c.referred_on),
        "senior_officer_notified_on": iso(c.senior_officer_notified_on),
        "summary": c.summary,
        "impact": c.impact,
        "recommended": c.recommended,
        "raised_by": c.raised_by,
        "role": c.role,
        "opened_on": iso(c.opened_on),
        "closed_on": iso(c.closed_on),
        "outcome": c.outcome,
        "child_wishes": c.wishes,
        "child_told_outcome": c.told_outcome,
        "missing": missing_voice(c),
        "judged_on": iso(judged_on),
        "overdue": overdue_by > 0,
        "working_days_overdue": overdue_by,
    }
    if timeline:
        data["stages"] = stage_visits(c, protocol, cal, judged_on)
    data["events"] = [event_dict(e) for e in c.events]
    return data


#: What a CAFCASS referral bundle holds (seed 000 §1.2 item 7; seed 003), by slug; an item
#: may be marked not applicable with a reason (`drp not-applicable ID ITEM --reason ...`).
BUNDLE_ITEMS: dict[str, str] = {
    "care-order": "Final Care Order",
    "final-care-plan": "Final Care Plan filed in proceedings",
    "guardian-report": "Children's guardian's report immediately preceding the Care Order",
    "review-records": "Review records from the preceding 12 months",
    "iro-report": "IRO report: why the matter is referred now and the steps taken",
    "wishes-feelings": "IRO report on the child's wishes and feelings",
    "professionals": "Names and contact details of the relevant professionals",
    "case-chronology": "Chronology of the child's case",
    "statement-of-issues": "Statement of issues",
    "important-people": "Important people in the child's life",
    "diversity": "Diversity issues and communication needs",
    "care-plan": "The most recent Care Plan",
}
