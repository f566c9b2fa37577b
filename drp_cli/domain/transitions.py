"""The transitions: every kind of event drp writes, and the rule that says when it is allowed.

One registry (:data:`REGISTRY`), one check (:func:`check`): the commands call it before they
append an event, and an import calls it for every event of a concern's history as it replays
it (:func:`replay_checked`), so that a history the commands would refuse (an escalation
backwards, a concern resolved twice with no reopening between) is refused there too. What an
event changes is the fold's (:func:`drp_cli.domain.lifecycle.apply`); here is only whether it may
happen, given the concern's state so far (a :class:`~drp_cli.domain.lifecycle.ConcernState`
replayed up to it) and its protocol. An unknown kind is an error, never a silent no-op.

Pure: no database, no I/O, no clock. Messages never carry personal data: only the concern's
id (when known), stage and step slugs, entry numbers and dates; fields are named with
:func:`~drp_cli.core.errors.fld`.

What each kind needs (the concern's status; the date it may carry; its own rule):

* ``opened`` / ``imported``: the first event, at a stage of the protocol.
* ``escalated``: an open concern, to a stage later in the protocol's order than the current
  one, dated on or after the current stage began.
* ``resolved`` / ``withdrawn``: an open concern, dated on or after the current stage began.
* ``reopened``: a closed concern, dated on or after it was closed.
* ``response``: an open concern, at a stage the concern has been at.
* ``due-set``: an open concern, at its current stage, dated on or after the stage began.
* ``done``: a step or recording duty of the stage it names, which the concern was at on or
  before its date (any stage visited, so a duty of an earlier stage can be done after an
  escalation), not already done at that visit.
* ``meeting``: the meeting step it meets (if any) is a meeting of the stage it names.
* ``referred``: an open concern whose protocol and route give a referral, raised in a role
  the source gives the power to refer (``Cafcass.roles``), not referred yet.
* ``cafcass``: one of :data:`CAFCASS_STEPS`, where the protocol, route and role give a referral.
* ``alert-sent``: an open concern.
* ``identified`` (the child's identification for the bundle: name, date of birth, court,
  case number, children's guardian): whenever (open or closed).
* ``amended``: fields that can be amended; the referral's reason only once referred.
* ``retracted``: an earlier entry that can be retracted and is not yet; a stage entry or a
  reopening only when no later one still counts.
* ``redacted``: an earlier entry that is not itself a correction.
* ``<item>-added`` / ``attached``: a number not yet used; ``action-done``: an action there,
  not done, done on or after it was added; ``<item>-removed``: an item there.
* ``held``: a legal hold on a concern (open or closed) not held already; ``hold-lifted``:
  a concern under a hold. Neither is retracted: a hold placed in error is lifted, and one
  lifted in error is placed again, both on the record.
* ``note``, ``good-practice``, ``not-applicable``, the child's voice, ``assigned``,
  ``fields-recorded``: whenever (open or closed).

Every kind but ``fields-recorded`` (an upgrade's record of what an older database held) is
dated on or after the concern was opened (the stage-dated kinds check the later date instead).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from drp_cli.core.errors import DrpError, InvalidInput, TransitionRefused, fld
from drp_cli.core.plainclass import Frozen, set_fields
from drp_cli.domain.lifecycle import (
    AMENDABLE,
    CLOSING,
    HOLD,
    HOLD_LIFTED,
    ITEM_KINDS,
    STAGE_ENTRIES,
    UNRETRACTABLE,
    VOICE,
    ConcernState,
    Fact,
    apply,
    live,
    new_state,
    replay,
    visit_at,
)

if TYPE_CHECKING:
    from drp_cli.domain.protocols import Protocol

#: What can be recorded about a CAFCASS referral besides the referral itself (seed 000 §1.2
#: paras 4-6, 8; seed 003); drp_cli.domain.wording says each in words.
CAFCASS_STEPS: tuple[str, ...] = (
    "senior-officer-notified", "helpline", "legal-advice", "confirmed-in-writing", "outcome",
)  # fmt: skip
#: The items' words in messages (as drp_cli.services.details names them).
_ITEM_WORDS = {"action": "action", "professional": "professional",
               "important-person": "important person", "wishes": "wishes and feelings",
               "needs": "needs"}  # fmt: skip

Status = Literal["open", "closed", "any"]
#: The dates an event may not be before, checked in this order: the day the concern was
#: opened, the day its current stage began, the day it was closed.
Since = tuple[Literal["opened", "stage", "closed"], ...]
#: A kind's own rule: (state so far, the event, the protocol or None when it is not
#: installed, the concern's earlier events, how messages name the concern).
Rule = Callable[[ConcernState, Fact, "Protocol | None", Sequence[Fact], str], None]


class Transition(Frozen):
    """One kind of event: what it needs of the concern, and its own rule."""

    kind: str
    #: the concern's status the event needs: open, closed, or any
    status: Status
    #: what the event does, as a refusal says it ("cannot {verb} it")
    verb: str
    since: Since
    rule: Rule | None
    #: the first event of a concern (and only the first)
    opening: bool

    _fields = (
        "kind",
        "status",
        "verb",
        "since",
        "rule",
        "opening",
    )

    def __init__(
        self,
        kind: str,
        status: Status,
        verb: str,
        since: Since = ("opened",),
        rule: Rule | None = None,
        opening: bool = False,
    ) -> None:
        set_fields(
            self,
            kind=kind,
            status=status,
            verb=verb,
            since=since,
            rule=rule,
            opening=opening,
        )


class Refused(DrpError):
    """An imported history an event of which the commands would refuse: ``n`` is the
    event's number in the history (from 1), ``error`` the refusal."""

    def __init__(self, n: int, error: DrpError) -> None:
        super().__init__(error.template)
        self.n = n
        self.error = error
        self.exit_code = error.exit_code


# -- the rules -------------------------------------------------------------------------------
def _stage_index(protocol: Protocol, slug: str) -> int:
    return protocol.index(slug)  # InvalidInput naming the protocol's stages when it has none


def _opening(state: ConcernState, e: Fact, protocol: Protocol | None,
             history: Sequence[Fact], who: str) -> None:  # fmt: skip
    if protocol is not None:
        protocol.stage(e.stage)


def _escalated(state: ConcernState, e: Fact, protocol: Protocol | None,
               history: Sequence[Fact], who: str) -> None:  # fmt: skip
    # Tracker.escalate's rule: forward only, to any later stage (a bypass)
    if protocol is not None and state.stage is not None:
        here = _stage_index(protocol, state.stage)
        there = _stage_index(protocol, e.stage)
        if there <= here:
            later = protocol.stage_slugs[here + 1 :]
            allowed = ", ".join(later) if later else "none (this is the last stage)"
            word = "the stage it is already at" if there == here else "an earlier stage"
            raise TransitionRefused(
                f"{who} is at {state.stage!r}; {e.stage!r} is {word}; escalation goes forward "
                f"only: {allowed}"
            )
    _since_stage(state, e.effective_on)


def _visited(state: ConcernState, e: Fact, who: str) -> None:
    for v in state.visits:
        if v.stage == e.stage:
            return
    raise TransitionRefused(f"{who} has not been at stage {e.stage!r}")


def _response(state: ConcernState, e: Fact, protocol: Protocol | None,
              history: Sequence[Fact], who: str) -> None:  # fmt: skip
    _visited(state, e, who)


def _due_set(state: ConcernState, e: Fact, protocol: Protocol | None,
             history: Sequence[Fact], who: str) -> None:  # fmt: skip
    if e.stage != state.stage:
        raise TransitionRefused(
            f"a due date is set for the current stage of {who} ({state.stage!r}), not {e.stage!r}"
        )


def known_steps(protocol: Protocol, stage: str, route: str | None, opening: bool) -> list[str]:
    """The steps and recording duties of a stage visit that ``done`` records, in order."""
    steps = [s.slug for s in protocol.steps_at(stage, route, opening=opening)]
    seen = set(steps)
    return steps + [d.slug for d in protocol.duties_at(stage, route, opening=opening)
                    if d.slug not in seen]  # fmt: skip


def _done(state: ConcernState, e: Fact, protocol: Protocol | None,
          history: Sequence[Fact], who: str) -> None:  # fmt: skip
    slug = e.details.get("what")
    if type(slug) is not str or not slug:
        raise InvalidInput(f"{fld('what')}: name the step or recording duty done")
    visit = visit_at(state, e.stage, e.effective_on)
    if visit is None:
        raise TransitionRefused(
            f"{who} was not at stage {e.stage!r} on or before {e.effective_on.isoformat()}"
        )
    if protocol is not None:
        known = known_steps(protocol, e.stage, state.route, visit.opening)
        if slug not in known:
            # what was typed or imported is never quoted back: it may be a child's details
            raise InvalidInput(
                f"{fld('what')} is not a step or recording duty of stage "
                f"{e.stage!r}; allowed: {', '.join(known) or 'none'}"
            )
    if slug in visit.done:
        raise TransitionRefused(
            f"{slug!r} was already recorded as done at stage {e.stage!r} on "
            f"{visit.done[slug].isoformat()}"
        )


def stage_for_done(state: ConcernState, slug: str, day: dt.date, at: str,
                   protocol: Protocol) -> str:  # fmt: skip
    """The stage a step or duty ``slug`` done on ``day`` is recorded against: the stage the
    concern was at that day (``at``) when it is one of that stage's, done there or not (done
    twice is refused by :func:`check`, never quietly moved to an earlier stage); else the
    latest earlier stage visited by then that has it not yet done (a duty of an earlier
    stage done after an escalation); else the latest that has it (done: :func:`check` then
    says when), else ``at``."""
    found: list[str] = []
    for stage in [at, *(v.stage for v in reversed(state.visits) if v.entered <= day)]:
        if stage in found or not protocol.has_stage(stage):
            continue
        visit = visit_at(state, stage, day)
        if visit is None:
            continue
        if slug in known_steps(protocol, stage, state.route, visit.opening):
            if stage == at or slug not in visit.done:
                return stage
            found.append(stage)
    return found[0] if found else at


def _meeting(state: ConcernState, e: Fact, protocol: Protocol | None,
             history: Sequence[Fact], who: str) -> None:  # fmt: skip
    step = e.details.get("step")
    if step is None or protocol is None:
        return
    visit = visit_at(state, e.stage, e.effective_on)
    opening = visit.opening if visit is not None else False
    meetings = [s.slug for s in protocol.steps_at(e.stage, state.route, opening=opening)
                if s.meeting]  # fmt: skip
    if step not in meetings:
        raise InvalidInput(
            f"{fld('step')} is not a meeting of stage {e.stage!r}; "
            f"meetings: {', '.join(meetings) or 'none'}"
        )


def _referral_offered(state: ConcernState, protocol: Protocol | None, who: str) -> None:
    if protocol is None:
        return
    referral = protocol.referral
    if not referral.offered:
        raise TransitionRefused(
            f"protocol {protocol.slug!r} gives no CAFCASS referral: {referral.citation}"
        )
    route = protocol.route_or_none(state.route)
    if route is not None and not route.cafcass:
        raise TransitionRefused(
            f"a concern on route {route.slug!r} of protocol {protocol.slug!r} "
            f"({route.title}) is not referred to CAFCASS"
        )
    if not referral.may_refer(state.role):
        # the role, never the person: the source gives the power to a role
        allowed = " and ".join(repr(r) for r in referral.roles or [])
        where = f" ({referral.roles_citation})" if referral.roles_citation else ""
        said = f': "{referral.roles_quote}"{where}' if referral.roles_quote else where
        raise TransitionRefused(
            f"{who} was raised in the role {state.role!r}; protocol {protocol.slug!r} gives "
            f"the power to refer to CAFCASS to {allowed} only{said}"
        )


def _referred(state: ConcernState, e: Fact, protocol: Protocol | None,
              history: Sequence[Fact], who: str) -> None:  # fmt: skip
    _referral_offered(state, protocol, who)
    if state.referred_on is not None:
        raise TransitionRefused(
            f"{who} was already referred to CAFCASS on {state.referred_on.isoformat()}; "
            "add a note instead"
        )


def _cafcass(state: ConcernState, e: Fact, protocol: Protocol | None,
             history: Sequence[Fact], who: str) -> None:  # fmt: skip
    step = e.details.get("step")
    if type(step) is not str or step not in CAFCASS_STEPS:
        raise InvalidInput(
            f"{fld('cafcass_step')} is not a step around a referral; allowed: "
            f"{', '.join(CAFCASS_STEPS)}"
        )
    _referral_offered(state, protocol, who)


def _amended(state: ConcernState, e: Fact, protocol: Protocol | None,
             history: Sequence[Fact], who: str) -> None:  # fmt: skip
    if not e.details:
        raise InvalidInput(f"nothing to amend: give a field to correct, {fld('summary')} say")
    for name in e.details:
        if name not in AMENDABLE:
            raise InvalidInput(f"a field that cannot be amended; fields: {', '.join(AMENDABLE)}")
    if "referral_reason" in e.details and state.referred_on is None:
        raise TransitionRefused(f"{who} has no CAFCASS referral: record one with `drp refer`")


def _target(e: Fact, history: Sequence[Fact], who: str) -> Fact:
    seq = e.details.get("seq")
    if type(seq) is int and seq < e.seq:
        for earlier in history:
            if earlier.seq == seq:
                return earlier
    raise InvalidInput(f"{fld('seq')} is not an earlier entry of {who}")


def _retracted(state: ConcernState, e: Fact, protocol: Protocol | None,
               history: Sequence[Fact], who: str) -> None:  # fmt: skip
    target = _target(e, history, who)
    seq, kind = target.seq, target.kind
    if kind in UNRETRACTABLE:
        hint = (
            "withdraw the concern instead (`drp withdraw`)"
            if kind in ("opened", "imported")
            else "a correction cannot itself be retracted"
        )
        raise TransitionRefused(f"entry {seq} of {who} ({kind}): {hint}")
    if kind in (HOLD, HOLD_LIFTED):
        hint = (
            "a legal hold is lifted (`drp unhold`), never retracted"
            if kind == HOLD
            else "a hold lifted in error is placed again (`drp hold`), never retracted"
        )
        raise TransitionRefused(f"entry {seq} of {who} ({kind}): {hint}")
    if seq in state.retracted:
        raise TransitionRefused(f"entry {seq} of {who} is already retracted")
    if e.details.get("kind") not in (None, kind):
        raise InvalidInput(f"details.kind of the retraction is not the kind of entry {seq}")
    # an entry that moved the concern (a stage entry) or changed its status (a closing, a
    # reopening) is retracted only once what followed it is: else the later one would apply
    # to a concern in a state the commands refuse (reopened though never closed)
    follows = (
        (*STAGE_ENTRIES, "reopened") if kind in STAGE_ENTRIES
        else (*STAGE_ENTRIES, *CLOSING, "reopened") if kind == "reopened"
        else (*CLOSING, "reopened") if kind in CLOSING
        else ()
    )  # fmt: skip
    if follows:
        later = [x for x in live([x for x in history if x.seq < e.seq])
                 if x.seq > seq and x.kind in follows]  # fmt: skip
        if later:
            raise TransitionRefused(
                f"entry {seq} of {who} ({kind}) is followed by entry "
                f"{later[-1].seq} ({later[-1].kind}): retract that one first"
            )


def _redacted(state: ConcernState, e: Fact, protocol: Protocol | None,
              history: Sequence[Fact], who: str) -> None:  # fmt: skip
    target = _target(e, history, who)
    if target.kind in ("redacted", "retracted"):
        raise TransitionRefused(f"entry {target.seq} of {who} is a correction")


def _number(e: Fact) -> int:
    n = e.details.get("n")
    if type(n) is not int or n < 1:
        raise InvalidInput("details.n must be a whole number from 1")
    return n


def _added(state: ConcernState, e: Fact, protocol: Protocol | None,
           history: Sequence[Fact], who: str) -> None:  # fmt: skip
    kind, n = e.kind[:-6], _number(e)
    if (kind, n) in state.items:
        raise TransitionRefused(f"{who} already has {_ITEM_WORDS[kind]} {n}")


def _removed(state: ConcernState, e: Fact, protocol: Protocol | None,
             history: Sequence[Fact], who: str) -> None:  # fmt: skip
    kind, n = e.kind[:-8], _number(e)
    item = state.items.get((kind, n))
    if item is None or item.removed_on is not None:
        raise TransitionRefused(f"{who} has no {_ITEM_WORDS[kind]} {n}")


def _action_done(state: ConcernState, e: Fact, protocol: Protocol | None,
                 history: Sequence[Fact], who: str) -> None:  # fmt: skip
    n = _number(e)
    item = state.items.get(("action", n))
    if item is None or item.removed_on is not None:
        raise TransitionRefused(f"{who} has no action {n}")
    if item.done_on is not None:
        raise TransitionRefused(
            f"action {n} of {who} was already done on {item.done_on.isoformat()}"
        )
    if e.effective_on < item.added_on:
        raise InvalidInput(
            f"{fld('on')} {e.effective_on.isoformat()} is before the action was added"
        )


def _held(state: ConcernState, e: Fact, protocol: Protocol | None,
          history: Sequence[Fact], who: str) -> None:  # fmt: skip
    if state.held_on is not None:
        raise TransitionRefused(
            f"{who} is already under a legal hold (since {state.held_on.isoformat()})"
        )


def _hold_lifted(state: ConcernState, e: Fact, protocol: Protocol | None,
                 history: Sequence[Fact], who: str) -> None:  # fmt: skip
    if state.held_on is None:
        raise TransitionRefused(f"{who} is not under a legal hold")
    if e.effective_on < state.held_on:
        raise InvalidInput(
            f"{fld('on')} {e.effective_on.isoformat()} is before the hold was placed "
            f"({state.held_on.isoformat()})"
        )


def _attached(state: ConcernState, e: Fact, protocol: Protocol | None,
              history: Sequence[Fact], who: str) -> None:  # fmt: skip
    n = _number(e)
    if n in state.attachments:
        raise TransitionRefused(f"{who} already has attachment {n}")


# -- the registry ----------------------------------------------------------------------------
def _registry() -> dict[str, Transition]:
    t = Transition
    kinds = [
        t("opened", "any", "open", since=(), rule=_opening, opening=True),
        t("imported", "any", "import", since=(), rule=_opening, opening=True),
        t("escalated", "open", "escalate", since=(), rule=_escalated),
        t("response", "open", "record a response on", rule=_response),
        t("note", "any", "add a note to"),
        t("due-set", "open", "set a due date on", since=("opened", "stage"), rule=_due_set),
        t("done", "any", "record a step on", rule=_done),
        t("meeting", "any", "record a meeting on", rule=_meeting),
        t("referred", "open", "refer", rule=_referred),
        t("cafcass", "any", "record a CAFCASS step on", rule=_cafcass),
        t("not-applicable", "any", "mark a bundle item of"),
        t("good-practice", "any", "record good practice on"),
        *(t(kind, "any", "record the child's voice on") for kind in VOICE),
        *(t(kind, "open", "resolve" if kind == "resolved" else "withdraw", since=("stage",))
          for kind in CLOSING),
        t("reopened", "closed", "reopen", since=("opened", "closed")),
        t("assigned", "any", "assign"),
        t("amended", "any", "amend", rule=_amended),
        t("retracted", "any", "retract an entry of", rule=_retracted),
        t("redacted", "any", "redact an entry of", rule=_redacted),
        t("fields-recorded", "any", "record the fields of", since=()),
        t("alert-sent", "open", "record an alert sent for"),
        t("identified", "any", "record the identification of the child for"),
        *(t(f"{kind}-added", "any", "add to", rule=_added) for kind in ITEM_KINDS),
        *(t(f"{kind}-removed", "any", "remove from", rule=_removed) for kind in ITEM_KINDS),
        t("action-done", "any", "record an action done on", rule=_action_done),
        t("attached", "any", "attach a file to", rule=_attached),
        t(HOLD, "any", "place a legal hold on", rule=_held),
        t(HOLD_LIFTED, "any", "lift the legal hold on", rule=_hold_lifted),
    ]  # fmt: skip
    return {k.kind: k for k in kinds}


#: Every kind of event drp writes, by kind.
REGISTRY: dict[str, Transition] = _registry()
#: The kinds, in the registry's order.
KINDS: tuple[str, ...] = tuple(REGISTRY)


def transition(kind: str) -> Transition:
    """The registry's entry for ``kind``; an unknown kind is an error (its text is not
    quoted: a file may hold anything there)."""
    found = REGISTRY.get(kind)
    if found is None:
        raise InvalidInput(f"{fld('kind')} is not an event kind drp records")
    return found


def _who(concern: int | None) -> str:
    return f"concern {concern}" if concern is not None else _THE_CONCERN


_THE_CONCERN = "the concern"  # how messages name a concern whose id is not known


def precheck(state: ConcernState, kind: str, day: dt.date, *, concern: int | None = None,
             action: str = "") -> Transition:  # fmt: skip
    """What an event of ``kind`` dated ``day`` needs whatever it holds: a known kind, the
    concern opened (or not yet, for an opening), its status, and the dates it may not be
    before. :func:`check` starts with this; a command calls it first as well, so that a
    closed concern is refused as such before its input is looked at. ``action`` words the
    refusal of a closed concern (default: the registry's)."""
    t = transition(kind)
    if t.opening:
        if state.visits:
            raise TransitionRefused(
                f"{_who(concern)} is already open: only its first entry opens it"
            )
        return t
    if not state.visits:
        raise TransitionRefused(
            f"{_who(concern)} has no opening entry ('opened' or 'imported') first"
        )
    if t.status == "open" and state.status != "open":
        raise TransitionRefused(f"{_who(concern)} is {state.status}; cannot {action or t.verb} it")
    if t.status == "closed" and state.status == "open":
        raise TransitionRefused(f"{_who(concern)} is open; only a closed one is reopened")
    for since in t.since:
        if since == "opened":
            if state.opened_on is not None and day < state.opened_on:
                raise InvalidInput(
                    f"{fld('on')} {day.isoformat()} is before the concern was opened "
                    f"({state.opened_on.isoformat()})"
                )
        elif since == "stage":
            _since_stage(state, day)
        elif state.closed_on is not None and day < state.closed_on:
            raise InvalidInput(
                f"{fld('on')} {day.isoformat()} is before the concern was closed "
                f"({state.closed_on.isoformat()})"
            )
    return t


def _since_stage(state: ConcernState, day: dt.date) -> None:
    started = state.stage_started_on
    if started is not None and day < started:
        raise InvalidInput(
            f"{fld('on')} {day.isoformat()} is before the current stage began "
            f"({started.isoformat()})"
        )


def check(
    state: ConcernState,
    fact: Fact,
    protocol: Protocol | None,
    *,
    history: Sequence[Fact] = (),
    concern: int | None = None,
    action: str = "",
) -> None:
    """Whether ``fact`` may be recorded on a concern whose live events so far fold to
    ``state`` (:func:`drp_cli.domain.lifecycle.replay`; finished or not), on ``protocol`` (None: not
    installed, and what depends on it is not checked). ``history``: the concern's events
    recorded before it (retractions and redactions name one of them; later ones are
    ignored). ``concern``: its id, for the messages. Raises
    :class:`~drp_cli.core.errors.TransitionRefused` or
    :class:`~drp_cli.core.errors.InvalidInput`."""
    t = precheck(state, fact.kind, fact.effective_on, concern=concern, action=action)
    if t.rule is not None:
        t.rule(state, fact, protocol, history, _who(concern))


def replay_checked(facts: Sequence[Fact], protocol: Protocol | None) -> ConcernState:
    """A history replayed event by event, each checked by :func:`check` against the state
    as it stood when it was recorded (so an event a later retraction took back is checked
    too, and those after it see it as the commands did); the state returned is
    :func:`drp_cli.domain.lifecycle.replay`'s. ``facts`` are in recorded order, their seqs from 1.
    Raises :class:`Refused` with the number of the first event refused."""
    state = new_state()
    n = 0
    try:
        for n, e in enumerate(facts, start=1):
            # check(state, e, protocol, history=facts), a call fewer an event
            t = precheck(state, e.kind, e.effective_on)
            if t.rule is not None:
                t.rule(state, e, protocol, facts, _THE_CONCERN)
            if e.kind == "retracted":
                state = replay(facts[:n])  # the state with that event taken back
            else:
                apply(state, e)
    except DrpError as exc:
        raise Refused(n, exc) from None
    return state


__all__ = [
    "CAFCASS_STEPS",
    "KINDS",
    "REGISTRY",
    "Refused",
    "Transition",
    "check",
    "known_steps",
    "precheck",
    "replay_checked",
    "stage_for_done",
    "transition",
]
