"""The words drp uses for what it records and judges: one place for every output.

The CLI, the forms, the bundle, the e-mails and the report say a state, a kind of timescale,
an event or a CAFCASS step in these words, and nothing matches wording by text: code compares
slugs and states, and asks this module how to say them. Pure: no I/O, no imports of drp's
own beyond the standard library, so any layer above may use it (a web view later, too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: The state of an open clock on a day (drp_cli.domain.judgement.OPEN_STATES), for a reader.
CLOCK_STATE_WORDS: dict[str, str] = {
    "overdue": "OVERDUE",
    "past-guidance": "past the guidance",
    "past-aim": "past its aim",
    "action-overdue": "past its due date",
    "due": "due",
    "pending": "not yet due",
}

#: What each stage result means (shown in ``drp show`` and the README).
RESULTS: dict[str, str] = {
    "met": "a response (or the resolution) came on or before the stage's deadline",
    "missed": "the stage was left after its deadline with no response by the deadline",
    "overdue": "current stage, deadline passed: resolve or escalate (a response may have come)",
    "pending": "current stage, deadline not yet reached",
    "left-in-time": "left by its deadline without a response (bypass or early escalation)",
    "no-timescale": "the protocol gives no timescale and no due date was set",
    "past-aim": "current stage, past its aim (the source aims for it; it is not a limit)",
    "aim-missed": "the stage was left after its aim with no response by then",
    "waiting": "the stage's timescale runs from a step not yet recorded (the urgent plan)",
}

#: A stage's result in words for the reader of a document.
RESULT_WORDS: dict[str, str] = {
    "met": "responded in time",
    "missed": "no response in time",
    "overdue": "current stage, its deadline has passed",
    "pending": "current stage, within its deadline",
    "left-in-time": "moved on before its deadline",
    "no-timescale": "no timescale",
    "past-aim": "current stage, past its aim (not a limit)",
    "aim-missed": "left after its aim (not a limit)",
    "waiting": "its timescale runs from a step not yet recorded",
}

#: The whole formal process's result (drp_cli.domain.views.formal_result) in words.
FORMAL_RESULT_WORDS: dict[str, str] = {
    "met": "the process ended in time",
    "missed": "the process ended late",
    "overdue": "now passed",
    "pending": "not yet reached",
    "guidance-met": "the process ended within the guidance",
    "guidance-missed": "the process ended after the guidance",
    "past-guidance": "now passed",
    "guidance-pending": "not yet reached",
}

#: What can be recorded about a CAFCASS referral besides the referral itself (seed 000 §1.2
#: paras 4-6, 8; seed 003), with the words drp shows for each.
CAFCASS_STEPS: dict[str, str] = {
    "senior-officer-notified": "nominated senior officer notified that a referral is considered",
    "helpline": "discussed with the CAFCASS Legal duty helpline",
    "legal-advice": "independent legal advice taken",
    "confirmed-in-writing": "referral confirmed in writing to the CAFCASS duty lawyer",
    "outcome": "CAFCASS's outcome",
}

#: Each kind of event in words (the bundle's record, the e-mails); a kind not listed is shown
#: with its hyphens as spaces.
EVENT_WORDS: dict[str, str] = {
    "opened": "opened",
    "imported": "brought in from the earlier record",
    "escalated": "escalated",
    "response": "response",
    "note": "note",
    "done": "step or duty done",
    "meeting": "meeting",
    "due-set": "due date set",
    "cafcass": "CAFCASS",
    "referred": "referred to CAFCASS",
    "not-applicable": "bundle item not applicable",
    "good-practice": "good practice",
    "wishes-sought": "child's wishes and feelings sought",
    "wishes-not-sought": "child's wishes and feelings not sought",
    "told-outcome": "child told the outcome",
    "not-told-outcome": "child not told the outcome",
    "resolved": "resolved",
    "withdrawn": "withdrawn",
    "reopened": "reopened",
    "assigned": "handed over",
    "amended": "amended",
    "retracted": "retracted",
    "redacted": "redacted",
    "alert-sent": "alert form sent",
}


def event_words(kind: str, details: Mapping[str, Any] | None = None) -> str:
    """An event's kind in words; a CAFCASS step says which step."""
    words = EVENT_WORDS.get(kind, kind.replace("-", " "))
    if kind == "cafcass" and details and details.get("step"):
        step = str(details["step"])
        words = f"CAFCASS: {CAFCASS_STEPS.get(step, step.replace('-', ' '))}"
    return words


def event_detail(e: Mapping[str, Any]) -> str:
    """What an event records beyond its kind, in one line of words: who was notified, what
    was done, whom a concern was handed to, what a correction corrected."""
    details = e["details"]
    kind = e["kind"]
    bits = [e["text"]] if e["text"] else []
    if kind == "escalated":
        bits.insert(0, f"from {e['from_stage']}")
    if details.get("bypassed"):
        bits.append(f"bypassed {', '.join(details['bypassed'])}")
    if details.get("due"):
        bits.append(f"due date set: {details['due']}")
    if details.get("from"):
        bits = [f"from {details['from']}: {e['text']}"]
    if kind == "meeting":
        bits.insert(0, "attended by " + "; ".join(details.get("attendees", [])))
        bits += [f"action: {a}" for a in details.get("actions", [])]
        if details.get("step"):
            bits.append(f"meets {details['step']}")
    if kind == "done":
        bits.insert(0, str(details.get("what")))
    if kind == "cafcass":
        step = str(details.get("step"))
        bits.insert(0, step + (f" ({details['officer']})" if details.get("officer") else ""))
    if kind == "not-applicable":
        bits.insert(0, f"{details.get('item')} not applicable")
    if kind == "amended":
        bits.insert(0, "corrected " + ", ".join(f"{k}" for k in sorted(details)))
    if kind in ("retracted", "redacted"):
        fields = f" ({', '.join(details.get('fields', []))})" if details.get("fields") else ""
        bits.insert(0, f"entry {details.get('seq')}{fields}")
    if kind == "assigned":
        bits.insert(0, f"to {details.get('owner')}"
                    + (f" ({details['team']})" if details.get("team") else ""))  # fmt: skip
    if kind == "referred":
        officer = details.get("senior_officer") or "senior officer not named"
        notified = details.get("senior_officer_notified_on")
        bits.append(f"{officer}, notified {notified}" if notified else f"{officer}, not notified")
        if details.get("curtailed_reason"):
            bits.append(f"process curtailed: {details['curtailed_reason']}")
    return "; ".join(bits)


def days(n: int) -> str:
    """``n`` working days, in words."""
    return f"{n} working day{'s' if n != 1 else ''}"


def deadline_state(state: str, late: int, left: int) -> str:
    """A line of the morning check's state in words: "OVERDUE 3 working days", "past its aim
    by 2 working days", "due today", "due in 3 working days"."""
    if state == "overdue":
        return f"OVERDUE {days(late)}"
    if state in ("past-aim", "past-guidance", "action-overdue"):
        return f"{CLOCK_STATE_WORDS[state]} by {days(late)}"
    return "due today" if left == 0 else f"due in {days(left)}"


#: Words for a stage result that are not the document's (:data:`RESULT_WORDS`), shown in
#: ``drp show``'s table of stages.
LEFT_BY_WORDS: dict[str, str] = {
    "escalated": "escalated",
    "resolved": "resolved",
    "withdrawn": "withdrawn",
    "referred": "referred to CAFCASS",
}


def stage_result(result: str, late: int = 0) -> str:
    """A stage visit's result in words, with how late: "no response in time, 2 working
    days late" (never "missed (2 wd late)")."""
    words = RESULT_WORDS.get(result, result.replace("-", " "))
    return f"{words}, {days(late)} late" if late else words


def names_words(names: Sequence[str]) -> str:
    """Whom a stage is addressed to, in one phrase."""
    return "; ".join(names) if names else "no one the protocol names"


#: The events after which drp asks for the child's voice where the concern's route asks for
#: it at all (West Sussex DRP, "Child's Voice": the child's wishes and feelings are sought
#: when a concern is raised, and again at each stage and at a referral; and the child is told
#: the outcome when it is resolved): what it asks for after each.
VOICE_ASKED_AFTER: dict[str, tuple[str, ...]] = {
    "opened": ("wishes",),
    "escalated": ("wishes",),
    "referred": ("wishes",),
    "resolved": ("wishes", "told"),
}


def voice_notes(
    kind: str | None, concern_id: int, *, wishes_missing: bool, told_missing: bool
) -> list[str]:
    """The notes that follow a recording command (``kind``: the event it recorded) about
    the child's voice: only after the events of :data:`VOICE_ASKED_AFTER`, only for what is
    missing, and each saying the command that records it."""
    asked = VOICE_ASKED_AFTER.get(kind or "", ())
    notes = []
    if "wishes" in asked and wishes_missing:
        notes.append(
            "Note: the child's wishes and feelings are not recorded: record them with "
            f'`drp voice {concern_id} wishes-sought --text "..."` (or wishes-not-sought, '
            "with why)."
        )
    if "told" in asked and told_missing:
        notes.append(
            "Note: the child is not recorded as told the outcome: record it with "
            f'`drp voice {concern_id} told-outcome --text "..."` (or not-told-outcome, '
            "with why)."
        )
    return notes


def next_words(
    concern_id: int,
    *,
    addressed_to: Sequence[str],
    deadline: str | None,
    deadline_kind: str | None,
    step: Mapping[str, Any] | None,
    next_title: str | None,
    next_addressed_to: Sequence[str],
    last: bool,
    responded_on: str | None = None,
    steps: Sequence[Mapping[str, Any]] = (),
) -> str:
    """What comes next on an open concern, in one sentence, from what the protocol and the
    fold give (the stage's addressees and deadline, the step due, the stage after, whether a
    response came at the stage, and its steps not yet done):

    * no response yet: "Next: a response from the Practice Manager by 2025-03-12; if it is
      not resolved by then, escalate to Stage 2: Service Manager (`drp escalate 2`)."
    * after a response (``responded_on``, the first at the current stage): the IRO decides
      on it by the stage's deadline (the decision point, met or not): resolve the concern,
      or escalate (recording first the stage's outcome step, where the protocol has one, as
      a later clock counts from it); any step of the stage the protocol requires and not
      yet done comes first (the urgent plan); the meetings the protocol allows at the stage
      and not yet held are named.

    ``steps`` are the current stage's steps (``slug``, ``title``, ``state`` as
    :data:`STEP_STATE_WORDS` has it, ``meeting``, ``optional``, ``outcome``)."""
    aim = " (its aim, not a limit)" if deadline_kind == "aim" else ""
    by = "" if deadline is None else f" by {deadline}{aim}"
    if next_title is not None:
        escalate = (f"escalate to {next_title}, addressed to {names_words(next_addressed_to)} "
                    f"(`drp escalate {concern_id}`)")  # fmt: skip
    else:
        escalate = ""
    last_words = ("this is the last stage (resolve it, withdraw it, or refer it to CAFCASS "
                  "where the protocol allows)")  # fmt: skip
    due = f"{step.get('title') or step.get('slug')}, due {step['due']}" if (
        step is not None and step.get("due")) else None  # fmt: skip
    if responded_on is None:
        if due is not None:
            now = due
        elif deadline is not None:
            now = f"a response from {names_words(addressed_to)}{by}"
        else:
            now = f"a response from {names_words(addressed_to)} (the protocol sets no timescale)"
        when = " by then" if deadline is not None else ""
        if escalate:
            then = f"if it is not resolved{when}, {escalate}"
        elif last:
            then = f"if it is not resolved{when}: {last_words}"
        else:
            then = ""
        return f"Next: {now}" + (f"; {then}" if then else "") + "."
    # after a response: the steps the protocol requires first, then the IRO's decision
    first = [due] if due is not None else []
    first += [f"{s['title']} (record it with `drp done {concern_id} {s['slug']}`)"
              for s in steps if s.get("state") == "open" and not s.get("optional")
              and not s.get("outcome")]  # fmt: skip
    decide = (f"decide on the response of {responded_on}{by}: if it resolves the concern, "
              f"resolve it (`drp resolve {concern_id}`)")  # fmt: skip
    outcome = [f"record {s['title']} (`drp done {concern_id} {s['slug']}`)"
               for s in steps if s.get("outcome") and s.get("state") != "done"]  # fmt: skip
    if escalate:
        decide += "; if not, " + " and ".join([*outcome, escalate])
    elif last:
        decide += ("; if not, this is the last stage (withdraw it, or refer it to CAFCASS "
                   "where the protocol allows)")  # fmt: skip
    meetings = [f"{s['title']} (`drp meeting {concern_id} --step {s['slug']} --attendees "
                '"..."`)' for s in steps if s.get("meeting") and s.get("optional")
                and s.get("state") == "optional"]  # fmt: skip
    also = (
        f"; the protocol allows at this stage, if needed: {', '.join(meetings)}" if meetings else ""
    )
    return "Next: " + ("; ".join(first) + ", then " if first else "") + decide + also + "."


#: A step's state at its stage (drp_cli.domain.views: a clock's state, or the step's own).
STEP_STATE_WORDS: dict[str, str] = {
    "done": "done",
    "waiting": "waits for an earlier step",
    "optional": "optional",
    "open": "to do (no due date)",
    "pending": "not yet due",
    **{k: v for k, v in CLOCK_STATE_WORDS.items() if k not in ("due", "pending")},
}
