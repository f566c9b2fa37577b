"""Corrections and handovers, each one an event with who, when and a required reason, folded
by the lifecycle rule like every other event: nothing recorded is ever edited, except that
redaction removes personal data entered in error (see :mod:`drp_cli.domain.chain`).

* :func:`amend`: correct recorded fields (summary, impact, child reference, category ...;
  the CAFCASS referral's reason).
* :func:`retract`: an event entered in error stays in the history, marked retracted, and no
  longer counts: retracting a wrong escalation puts the concern back at its earlier stage.
* :func:`reopen`: a resolved or withdrawn concern open again, at the stage it was at.
* :func:`assign`: hand a concern to another IRO (and team).
* :func:`redact`: remove personal data typed into an event (a name as a reference).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drp_cli.core.dates import iso
from drp_cli.core.errors import InvalidInput, NotFound, TransitionRefused, fld
from drp_cli.core.textsafe import MAX_REF, clean_line, clean_text
from drp_cli.domain.lifecycle import AMENDABLE, REDACTED, STAGE_ENTRIES, UNRETRACTABLE, live
from drp_cli.domain.views import ConcernView
from drp_cli.services import staff
from drp_cli.services.tracker import Tracker, current_user
from drp_cli.store import record, sarsql
from drp_cli.store.connection import Row
from drp_cli.store.record import Loaded, UnitOfWork, fact

#: Details that say what an event did rather than what a person wrote: never redacted.
STRUCTURAL = frozenset({
    "protocol", "category", "route", "uid", "role", "n", "position", "due", "opened_on",
    "formal_started_on", "what", "step", "item", "kind", "sha256", "size", "seq", "bypassed",
    "senior_officer_notified_on", "method", "before", "after", "fields", "obtained_on",
    "dated", "curtailed_reason", "external_ref",
})  # fmt: skip


@dataclass(frozen=True)
class Redaction:
    """What :func:`redact` did: the concern as it now stands, and what the IRO should know."""

    concern: ConcernView
    warnings: list[str] = field(default_factory=list)


def _reason(reason: str) -> str:
    return clean_text(reason, fld("reason"), required=True)


def _event(loaded: Loaded, seq: int) -> Row:
    found = next((e for e in loaded.events if e["seq"] == seq), None)
    if found is None:
        raise NotFound(f"concern {loaded.id} has no entry {seq} (see `drp show {loaded.id}`)")
    return found


def _correct(t: Tracker, concern_id: int, kind: str, why: str, on: dt.date | str | None,
             by: str | None, details: dict[str, Any],
             check: Callable[[Loaded, dt.date], None]) -> ConcernView:  # fmt: skip
    """Record a correction: on an open or a closed concern, at its current stage, with the
    reason as its text (``check`` refuses it, or fills ``details``, once it is loaded)."""
    return t.record_event(concern_id, kind, text=why, on=on, by=by, details=details,
                          check=check, action="", allow_closed=True, stage="current")  # fmt: skip


def _amended_value(t: Tracker, loaded: Loaded, name: str, value: str,
                   changes: Mapping[str, str]) -> str | None:  # fmt: skip
    """One amended field as it will be recorded (checked like the field at `drp open`)."""
    from drp_cli.domain.protocols import themes

    row = loaded.row
    if name == "summary":
        return clean_text(value, fld(name), required=True)
    if name in ("impact", "recommended"):
        return clean_text(value, fld(name), required=False)
    if name == "referral_reason":
        if row.referred_on is None:
            raise TransitionRefused(
                f"concern {loaded.id} has no CAFCASS referral: record one with `drp refer`"
            )
        return clean_text(value, fld(name), required=True)
    if name == "child":
        return clean_line(value, fld(name), MAX_REF)
    if name == "raised_by":
        return clean_line(value, fld(name), MAX_REF * 2)
    if name == "category":
        return themes().theme(value).slug
    if name == "issue":
        category = changes.get("category", row.category)
        if not value.strip():
            return None
        themes().check_issue(themes().theme(category).slug, value)
        return value
    if name == "role":
        proto = t.protocols.for_stored(row.protocol)
        if value not in proto.roles:
            raise InvalidInput(
                f"{fld('role')} {value!r} is not used in protocol {proto.slug!r}; "
                f"allowed: {', '.join(proto.roles)}"
            )
        return value
    raise InvalidInput(f"{name!r} cannot be amended; fields: {', '.join(AMENDABLE)}")


def amend(
    t: Tracker,
    concern_id: int,
    changes: Mapping[str, str],
    *,
    reason: str,
    on: dt.date | str | None = None,
    by: str | None = None,
) -> ConcernView:
    """Correct recorded fields; each value is checked as it would be at opening. A field
    given its current value is refused (nothing would change)."""
    if not changes:
        raise InvalidInput(f"nothing to amend: give a field to correct, {fld('summary')} say")
    why = _reason(reason)
    details: dict[str, Any] = {}

    def check(loaded: Loaded, _day: dt.date) -> None:
        state = loaded.state
        for name, value in changes.items():
            new = _amended_value(t, loaded, name, value, changes)
            old = state.referral_reason if name == "referral_reason" else getattr(state, name)
            if (old or None) == (new or None):
                raise InvalidInput(f"{fld(name)} already has that value: nothing to amend")
            details[name] = new
        if "category" in details and "issue" not in details and state.issue:
            from drp_cli.domain.protocols import themes

            try:
                themes().check_issue(str(details["category"]), state.issue)
            except InvalidInput:
                raise InvalidInput(
                    f"the concern's issue {state.issue!r} is not in category "
                    f"{details['category']!r}: give {fld('issue')} too (or an empty one)"
                ) from None

    return _correct(t, concern_id, "amended", why, on, by, details, check)


def retract(
    t: Tracker,
    concern_id: int,
    seq: int,
    *,
    reason: str,
    on: dt.date | str | None = None,
    by: str | None = None,
) -> ConcernView:
    """Mark entry ``seq`` as entered in error: it stays in the history and no longer counts."""
    why = _reason(reason)
    details: dict[str, Any] = {"seq": seq}

    def check(loaded: Loaded, _day: dt.date) -> None:
        kind = details["kind"] = _event(loaded, seq)["kind"]
        if kind in UNRETRACTABLE:
            hint = (
                "withdraw the concern instead (`drp withdraw`)"
                if kind in ("opened", "imported")
                else "a correction cannot itself be retracted"
            )
            raise TransitionRefused(f"entry {seq} of concern {concern_id} ({kind}): {hint}")
        if seq in loaded.state.retracted:
            raise TransitionRefused(f"entry {seq} of concern {concern_id} is already retracted")
        if kind in STAGE_ENTRIES or kind == "reopened":
            later = [e for e in live(loaded.facts()) if e.seq > seq
                     and (e.kind in STAGE_ENTRIES or e.kind == "reopened")]  # fmt: skip
            if later:
                raise TransitionRefused(
                    f"entry {seq} of concern {concern_id} ({kind}) is followed by entry "
                    f"{later[-1].seq} ({later[-1].kind}): retract that one first"
                )

    return _correct(t, concern_id, "retracted", why, on, by, details, check)


def reopen(
    t: Tracker,
    concern_id: int,
    *,
    reason: str,
    on: dt.date | str | None = None,
    due: dt.date | str | None = None,
    by: str | None = None,
) -> ConcernView:
    """Open a resolved or withdrawn concern again at the stage it was at; the stage's clock
    starts again from the day it is reopened."""
    why = _reason(reason)
    details: dict[str, Any] = {}

    def check(loaded: Loaded, day: dt.date) -> None:
        row = loaded.row
        if row.status == "open":
            raise TransitionRefused(f"concern {concern_id} is open; only a closed one is reopened")
        if row.closed_on is not None and day < row.closed_on:
            raise InvalidInput(
                f"{fld('on')} {day.isoformat()} is before the concern was closed "
                f"({row.closed_on.isoformat()})"
            )
        proto = t.protocols.for_stored(row.protocol)
        details["due"] = iso(t._check_due(due, day, proto.stage(row.stage), why))

    return _correct(t, concern_id, "reopened", why, on, by, details, check)


def assign(
    t: Tracker,
    concern_id: int,
    *,
    to: str,
    team: str | None = None,
    reason: str,
    on: dt.date | str | None = None,
    by: str | None = None,
) -> ConcernView:
    """Hand the concern to ``to`` (matched in the staff directory, any case), with their
    team (``team``, else the directory's, else unchanged)."""
    why = _reason(reason)
    person = staff.match(t, to, "to")
    owner = person.name if person else clean_line(to, fld("to"), MAX_REF * 2)
    team_name = (
        clean_line(team, fld("team"), MAX_REF * 2) if team else (person.team if person else None)
    )
    details: dict[str, Any] = {"owner": owner}
    if team_name is not None:
        details["team"] = team_name

    def check(loaded: Loaded, _day: dt.date) -> None:
        state = loaded.state
        same_team = team_name is None or team_name == state.team
        if staff.key(owner) == staff.key(state.owner or "") and same_team:
            raise InvalidInput(f"concern {concern_id} is already owned by {fld('to')}")

    return _correct(t, concern_id, "assigned", why, on, by, details, check)


def redactable(event: Mapping[str, Any]) -> list[str]:
    """The fields of an event that hold what a person wrote: ``text`` and the details that
    are not structural."""
    details = record.event_details(event)
    names = ["text"] if (event["text"] or "").strip() not in ("", REDACTED) else []
    for name, value in sorted(details.items()):
        if name in STRUCTURAL:
            continue
        if (isinstance(value, str) and value.strip() and value != REDACTED) or (
            isinstance(value, list)
            and value
            and value != [REDACTED]
            and all(isinstance(v, str) for v in value)
        ):
            names.append(name)
    return names


def redact(
    t: Tracker,
    concern_id: int,
    seq: int,
    fields: Sequence[str],
    *,
    reason: str,
    by: str | None = None,
) -> Redaction:
    """Remove the text of ``fields`` (``text``, or a detail such as ``child``) of entry
    ``seq``: the event keeps its place in the chain, the history records who redacted what
    and why, and the database is rewritten so that no copy of the text is left in it."""
    why = _reason(reason)
    if not fields:
        raise InvalidInput(f"give the field to redact with {fld('field')} (text, child, ...)")
    recorder = current_user(by)
    warnings: list[str] = []
    with t.unit_of_work() as uow:
        loaded = uow.load(concern_id)
        event = _event(loaded, seq)
        if event["kind"] in ("redacted", "retracted"):
            raise TransitionRefused(f"entry {seq} of concern {concern_id} is a correction")
        allowed = redactable(event)
        details = record.event_details(event)
        text = event["text"] or ""
        for name in dict.fromkeys(fields):
            if name not in allowed:
                already = (text if name == "text" else details.get(name)) in (
                    REDACTED, [REDACTED])  # fmt: skip
                raise InvalidInput(
                    f"{fld('field')} {name!r} of entry {seq} "
                    + ("is already redacted" if already else
                       f"cannot be redacted; fields with text: {', '.join(allowed) or 'none'}")
                )  # fmt: skip
            if name == "text":
                text = REDACTED
            else:
                details[name] = [REDACTED] if isinstance(details[name], list) else REDACTED
        if event.get("content") is None:
            warnings.append(
                f"entry {seq} was recorded before drp kept salted commitments (schema 0007): "
                "its text is gone, but the chain's hash over it could confirm a guess of it"
            )
        _check_fold(uow, loaded, event, text, details)
        before = record.event_details(event).get("child")
        uow.redact(loaded, event, text, details, list(dict.fromkeys(fields)), why, recorder,
                   t.event_date(None))  # fmt: skip
        if "child" in fields and isinstance(before, str):  # and from the requests about it
            sarsql.redact_reference(uow.conn, before, REDACTED, t.key)
        view = t._result(loaded)
    from drp_cli.services import scrub

    scrub.after(t.store, "the redaction")
    return Redaction(view, warnings)


def _check_fold(uow: UnitOfWork, loaded: Loaded, event: Row, text: str,
                details: Mapping[str, Any]) -> None:  # fmt: skip
    """A redaction must leave a concern the lifecycle rule can still fold."""
    trial = {**event, "text": text, "details": json.dumps(dict(details), sort_keys=True)}
    try:
        [fact(trial if e is event else e) for e in loaded.events]
    except (ValueError, TypeError, KeyError):  # pragma: no cover - structural keys are kept
        raise InvalidInput(f"{fld('field')} cannot be redacted: drp needs it") from None
