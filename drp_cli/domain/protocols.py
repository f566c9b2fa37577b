"""Protocols as data: one TOML file per local authority, validated with msgspec.

Built-in protocols live in the package's ``protocols/`` folder (the repository's top-level
``protocols/``, shipped inside the wheel). A user adds their own authority's protocol by
dropping ``<slug>.toml`` into the user protocol folder
(``platformdirs.user_config_dir("drp")/protocols``, shown by ``drp protocols --paths``)
or into any folder named in ``DRP_PROTOCOLS`` (several folders separated by ``:``).
Files whose names start with ``_`` are not protocols (``_themes.toml`` holds the themes).
"""

# No `from __future__ import annotations`: msgspec reads every struct's annotations when it
# decodes the compiled cache, and would compile and evaluate each as a string (issue 32).

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import Meta

from drp_cli.core.errors import InvalidInput, NotFound, ProtocolFileError
from drp_cli.core.plainclass import Frozen, set_fields
from drp_cli.domain.protocol_files import builtin_dir, user_dirs

if TYPE_CHECKING:
    from drp_cli.domain.calendar import WorkingCalendar

# msgspec validates a protocol file in microseconds and loads in a few milliseconds: the
# protocols are read by every command, so their validation must not cost what the command
# itself costs (pydantic took ~0.1 s to import and build these models)
Slug = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Text = Annotated[str, Meta(min_length=1)]
Days = Annotated[int, Meta(ge=1, le=260)]

#: Roles of the person who raises a concern.
ROLES: dict[str, str] = {
    "iro": "Independent Reviewing Officer",
    "cp-chair": "Child protection chair",
    "cpa": "Child Protection Advisor (conference chair)",
    "cp-coordinator": "Child Protection Co-ordinator",
    "fciro": "Fostering IRO (foster carers' annual reviews)",
    "social-care": "Children's social care (concern about the chair service)",
}


_SPACES = re.compile(r"\s+")


def match_word(value: object) -> str:
    """How a word a person types is matched: trimmed, spaces collapsed, case folded."""
    return _SPACES.sub(" ", str(value)).strip().casefold()


def word_slug(value: object) -> str:
    """A word as a slug: "Stage 3" as ``stage-3`` (spaces and underscores as dashes)."""
    return re.sub(r"[\s_]+", "-", match_word(value))


def stage_slug_anywhere(text: str, protocols: "Iterable[Protocol]") -> str:
    """The slug a stage name means in any of ``protocols`` (for a filter over several):
    ``text`` itself if it is a slug of one, else the one slug its name gives, else ``text``
    unchanged (the caller refuses it, naming the stages)."""
    protocols = list(protocols)
    if any(p.has_stage(text) for p in protocols):
        return text
    found = {p.stage_named(text) for p in protocols} - {None}
    return found.pop() if len(found) == 1 else text  # type: ignore[return-value]


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A record read from a TOML file: unknown fields are refused, nothing is coerced."""


#: How binding a timescale is. ``firm``: a limit, breached when passed (the morning check's
#: exit status 1); ``aim``: what the source aims for ("aiming for 5 working days", "should be
#: held within"), shown as past its aim, never as overdue, and may be extended with a reason;
#: ``guidance``: what the source passes on as guidance (the IRO Handbook's "should"), shown
#: as past the guidance, never as overdue.
TIMESCALE_KINDS = ("firm", "aim", "guidance")
CAP_KINDS = ("firm", "guidance")
#: What a timescale is counted in. Working days skip weekends, bank holidays and closure
#: days; calendar days do not; hours are counted as whole days from the day the clock
#: starts (deadlines are dates: "within 24 hours" of Friday is Saturday).
UNITS = ("working-days", "calendar-days", "hours")
#: Where a clock starts, besides a recorded step of the stage (a request made, a plan
#: agreed). ``stage``: the day the stage began; ``escalation``: the day the concern was
#: escalated to the stage (or opened or reopened at it): the same day, named as the source
#: names it; ``previous-outcome``: the outcome of the stage before, the day its outcome step
#: was recorded, else the escalation.
STARTS = ("stage", "escalation", "previous-outcome")
#: What a timescale is for, and how a form says it.
PURPOSES: dict[str, str] = {
    "respond": "Respond by",
    "resolve": "Resolve by",
    "meeting": "Hold the meeting by",
    "act": "Actions to be taken by",
    "discuss": "Discuss by",
}
#: Whom a route's concern is about (the reference drp records for it).
SUBJECTS: dict[str, str] = {
    "child": "Child (case reference)",
    "carer": "Foster carer household (carer reference)",
    "chair": "Independent chair (staff reference)",
}
Kind = Annotated[str, Meta(pattern=r"^(firm|aim|guidance)$")]
Purpose = Annotated[str, Meta(pattern=r"^(respond|resolve|meeting|act|discuss)$")]
Hours = Annotated[int, Meta(ge=1, le=2160)]
CalendarDays = Annotated[int, Meta(ge=1, le=366)]
CapKind = Annotated[str, Meta(pattern=r"^(firm|guidance)$")]


class Party(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A person or role named by the source, with the words that name them."""

    who: Text
    quote: str = ""  # verbatim from the source (checked by the test suite for built-ins)
    citation: str = ""


def _party(value: str | Party) -> Party:
    return value if isinstance(value, Party) else Party(who=value)


class Timescale(Frozen):
    """A clock as its source states it: how long and in what unit, counted from when, how
    binding, and what it is for. Made from a step's or a stage's fields
    (:attr:`Step.timescale`, :attr:`Stage.timescale`); the fold counts with :meth:`due`."""

    amount: int
    unit: str  # one of UNITS
    start: str  # one of STARTS, or the slug of a step of the stage
    kind: str  # one of TIMESCALE_KINDS
    purpose: str  # one of PURPOSES
    quote: str

    _fields = (
        "amount",
        "unit",
        "start",
        "kind",
        "purpose",
        "quote",
    )

    def __init__(
        self,
        amount: int,
        unit: str,
        start: str,
        kind: str,
        purpose: str = "respond",
        quote: str = "",
    ) -> None:
        set_fields(
            self,
            amount=amount,
            unit=unit,
            start=start,
            kind=kind,
            purpose=purpose,
            quote=quote,
        )

    def due(self, cal: "WorkingCalendar", start: dt.date) -> dt.date:
        """The deadline of a clock started on ``start`` (that day itself not counted).

        Working days: the ``amount``-th working day after it. Calendar days: ``amount`` days
        after it, whatever the day. Hours: deadlines are dates and the time of day is not
        recorded, so the latest day the hours can end on: ``ceil(amount / 24)`` days after
        it ("within 24 hours" of Friday 6 November is Saturday 7 November)."""
        if self.unit == "working-days":
            return cal.add(start, self.amount)
        if self.unit == "calendar-days":
            return start + dt.timedelta(days=self.amount)
        return start + dt.timedelta(days=-(-self.amount // 24))

    @property
    def words(self) -> str:
        """How long, as a form says it: "7 working days", "24 hours", "1 calendar day"."""
        unit = {"working-days": "working day", "calendar-days": "calendar day",
                "hours": "hour"}[self.unit]  # fmt: skip
        return f"{self.amount} {unit}{'' if self.amount == 1 else 's'}"

    @property
    def label(self) -> str:
        """What the deadline is for, as a form's row says it ("Hold the meeting by")."""
        return PURPOSES[self.purpose]


def _amount(working: int | None, calendar: int | None, hours: int | None,
            names: tuple[str, str, str]) -> tuple[int, str] | None:  # fmt: skip
    """The one amount given, with its unit; an error naming the fields if more than one."""
    given = [(n, u) for n, u in zip((working, calendar, hours), UNITS, strict=True)
             if n is not None]  # fmt: skip
    if len(given) > 1:
        raise ValueError(f"field {names[0]}: give only one of {', '.join(names)}")
    return given[0] if given else None


class Step(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Something the source says happens inside a stage, by someone, maybe with its own clock.

    Its clock (``within_working_days``, ``within_calendar_days`` or ``within_hours``, with
    its ``kind``) starts at ``after``: ``"stage"`` (the day the stage began),
    ``"escalation"`` (the day the concern was escalated to it: the same day, as the source
    names it), ``"previous-outcome"`` (the outcome of the stage before: see
    :data:`STARTS`) or the slug of an earlier step of the same stage (the day that step was
    recorded as done). ``outcome`` marks the step that records the stage's outcome, from
    which the next stage's ``previous-outcome`` clocks count."""

    slug: Slug
    title: Text
    who: Text
    within_working_days: Days | None = None
    within_calendar_days: CalendarDays | None = None
    within_hours: Hours | None = None
    kind: Kind | None = None
    after: str = "stage"
    #: what the clock is for (default: "meeting" for a meeting, else "act")
    purpose: Purpose | None = None
    meeting: bool = False  # met by a recorded meeting (`drp meeting`)
    optional: bool = False  # the source says "may" / "if needed": shown, never chased
    outcome: bool = False  # recording it records the stage's outcome
    quote: Text
    citation: Text
    note: str = ""

    def __post_init__(self) -> None:
        names = ("within_working_days", "within_calendar_days", "within_hours")
        amount = _amount(
            self.within_working_days, self.within_calendar_days, self.within_hours, names
        )
        if (amount is None) != (self.kind is None):
            raise ValueError(
                "field kind: give it exactly when within_working_days, within_calendar_days "
                "or within_hours is given"
            )

    @property
    def timescale(self) -> Timescale | None:
        """The step's clock, or None."""
        amount = _amount(self.within_working_days, self.within_calendar_days,
                         self.within_hours, ("", "", ""))  # fmt: skip
        if amount is None or self.kind is None:
            return None
        purpose = self.purpose or ("meeting" if self.meeting else "act")
        return Timescale(amount[0], amount[1], self.after, self.kind, purpose, self.quote)


class Duty(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A recording duty the source sets (the central log, a copy on the child's file)."""

    slug: Slug
    text: Text
    who: Text
    #: the source says "where appropriate" / "where ...": shown, never chased
    conditional: bool = False
    quote: Text
    citation: Text


class Stage(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One stage (or level) of a protocol.

    Its timescale is one of ``timescale_working_days``, ``timescale_calendar_days`` or
    ``timescale_hours``, with its kind (firm by default), where it starts
    (``timescale_from``: "stage", "escalation", "previous-outcome" or a step of the stage)
    and what it is for (``timescale_for``: respond, resolve, meeting, act, discuss). A stage
    whose only clock is a step's (Nottinghamshire 2016 Stage 2: the professionals' meeting)
    names that step in ``timescale_step``: the forms show it as the stage's clock, and the
    step keeps it (met when the step is done)."""

    slug: Slug
    title: Text
    formal: bool
    #: who must reply at this stage
    addressed_to: Annotated[list[str | Party], Meta(min_length=1)]
    #: whom the form's response section names (default: the first addressed_to)
    responder: str = ""
    attends: list[str | Party] = msgspec.field(default_factory=list)
    copied_to: list[str | Party] = msgspec.field(default_factory=list)
    notified: list[str | Party] = msgspec.field(default_factory=list)
    #: the document's name as the source calls it ("IRO Alert Form", "letter"); "" for drp's
    form: str = ""
    timescale_working_days: Days | None = None
    timescale_calendar_days: CalendarDays | None = None
    timescale_hours: Hours | None = None
    timescale_kind: Kind | None = None
    #: where the stage's timescale starts: "stage", "escalation", "previous-outcome", or a
    #: step of this stage
    timescale_from: str = "stage"
    #: what the timescale is for: to respond, to resolve, to hold a meeting, the actions to
    #: be taken, to discuss
    timescale_for: Purpose = "respond"
    #: the step whose clock is the stage's, where the stage has none of its own
    timescale_step: str = ""
    timescale_quote: str = ""
    timescale_note: str = ""
    steps: list[Step] = msgspec.field(default_factory=list)
    duties: list[Duty] = msgspec.field(default_factory=list)
    guidance: str = ""
    citation: Text

    def __post_init__(self) -> None:
        amount = self._amount()
        if amount is None and not self.timescale_note.strip():
            raise ValueError(
                "timescale_note is required when timescale_working_days is absent: "
                "say that the source gives no timescale"
            )
        if amount is None and self.timescale_kind is not None:
            raise ValueError("field timescale_kind: given, but there is no timescale")
        steps = [s.slug for s in self.steps]
        for i, step in enumerate(self.steps):
            if step.after not in STARTS and step.after not in steps[:i]:
                raise ValueError(
                    f"field steps.{i}.after: {step.after!r} is none of {', '.join(STARTS)} "
                    "nor an earlier step of this stage"
                )
        if self.timescale_from not in STARTS and self.timescale_from not in steps:
            raise ValueError(
                f"field timescale_from: {self.timescale_from!r} is none of "
                f"{', '.join(STARTS)} nor a step of this stage"
            )
        if len(set(steps)) != len(steps):
            raise ValueError("field steps: a step slug appears more than once")
        if self.timescale_step:
            clocked = self.step(self.timescale_step)
            if clocked is None or clocked.timescale is None:
                raise ValueError(
                    f"field timescale_step: {self.timescale_step!r} is not a step of this "
                    "stage with a timescale"
                )
            if amount is not None:
                raise ValueError(
                    "field timescale_step: the stage has a timescale of its own; give one or "
                    "the other"
                )

    def _amount(self) -> tuple[int, str] | None:
        return _amount(self.timescale_working_days, self.timescale_calendar_days,
                       self.timescale_hours, ("timescale_working_days",
                       "timescale_calendar_days", "timescale_hours"))  # fmt: skip

    @property
    def timescale(self) -> Timescale | None:
        """The stage's own clock (the IRO's decision point: resolve or escalate), or None."""
        amount = self._amount()
        if amount is None:
            return None
        return Timescale(amount[0], amount[1], self.timescale_from,
                         self.timescale_kind or "firm", self.timescale_for,
                         self.timescale_quote)  # fmt: skip

    @property
    def clock(self) -> Timescale | None:
        """The clock a form shows for the stage: its own, else the step's it names."""
        own = self.timescale
        if own is not None or not self.timescale_step:
            return own
        step = self.step(self.timescale_step)
        return step.timescale if step is not None else None

    @property
    def kind(self) -> str | None:
        """How binding the stage's own timescale is: firm (the default), aim, guidance, or
        None."""
        t = self.timescale
        return t.kind if t is not None else None

    @property
    def addressees(self) -> list[Party]:
        return [_party(p) for p in self.addressed_to]

    @property
    def attendees(self) -> list[Party]:
        return [_party(p) for p in self.attends]

    @property
    def copies(self) -> list[Party]:
        return [_party(p) for p in self.copied_to]

    @property
    def notifications(self) -> list[Party]:
        return [_party(p) for p in self.notified]

    @property
    def addressee_names(self) -> list[str]:
        return [p.who for p in self.addressees]

    @property
    def copy_names(self) -> list[str]:
        return [p.who for p in self.copies]

    @property
    def response_by(self) -> str:
        """Who completes the form's response section."""
        return self.responder or self.addressee_names[0]

    def step(self, slug: str) -> Step | None:
        return next((s for s in self.steps if s.slug == slug), None)


class Cafcass(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the source says about referral to CAFCASS."""

    #: False where the role carries no power to refer (reviews of foster carers)
    offered: bool = True
    citation: Text
    quote: str = ""
    #: the senior officer the source says to notify before referring ("" if none)
    notify_before: str = ""
    notify_quote: str = ""
    #: the stage after which the source places referral ("" for "at any point")
    after_stage: str = ""
    after_stage_quote: str = ""
    #: the roles the source gives the power to refer (``None``: every role of the protocol,
    #: for a file written before roles were given; ``[]`` where nobody is given it)
    roles: list[Slug] | None = None
    #: the source's words giving that power to those roles, and where they are
    roles_quote: str = ""
    roles_citation: str = ""

    def __post_init__(self) -> None:
        if not self.offered and self.roles:
            raise ValueError("field roles: the referral is not offered, so no role may refer")
        if self.offered and self.roles == []:
            raise ValueError(
                "field roles: empty, so no role may refer: give offered = false instead"
            )

    def may_refer(self, role: str | None) -> bool:
        """Whether a concern raised in ``role`` may be referred (an unknown role: yes, the
        tool cannot tell, and the IRO's power to refer is statutory)."""
        if not self.offered:
            return False
        return self.roles is None or role is None or role in self.roles


#: A route's stage fields that replace the stage's timescale as a whole
_TIMESCALE_FIELDS = (
    "timescale_working_days", "timescale_calendar_days", "timescale_hours", "timescale_kind",
    "timescale_from", "timescale_for", "timescale_step", "timescale_quote", "timescale_note",
)  # fmt: skip


class RouteStage(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a route changes of one stage: whom it is addressed to (and who replies), who is
    copied, attends or is notified, the form, the timescale and the recording duties. A field
    not given keeps the stage's. The timescale is replaced as a whole: give the route's
    number, or only a ``timescale_note`` saying the source gives none. Addressees given
    without a ``responder``: the first of them replies."""

    stage: Slug
    title: str | None = None
    form: str | None = None
    addressed_to: Annotated[list[str | Party], Meta(min_length=1)] | None = None
    responder: str | None = None
    attends: list[str | Party] | None = None
    copied_to: list[str | Party] | None = None
    notified: list[str | Party] | None = None
    timescale_working_days: Days | None = None
    timescale_calendar_days: CalendarDays | None = None
    timescale_hours: Hours | None = None
    timescale_kind: Kind | None = None
    timescale_from: str | None = None
    timescale_for: Purpose | None = None
    timescale_step: str | None = None
    timescale_quote: str | None = None
    timescale_note: str | None = None
    duties: list[Duty] | None = None
    guidance: str | None = None
    citation: str = ""

    def apply(self, stage: Stage) -> Stage:
        """``stage`` as this route has it (validated as any stage is)."""
        changes: dict[str, Any] = {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if name not in ("stage", "citation") and getattr(self, name) not in (None, "")
        }
        if any(name in changes for name in _TIMESCALE_FIELDS):
            defaults = {"timescale_from": "stage", "timescale_for": "respond",
                        "timescale_step": "", "timescale_quote": "",
                        "timescale_note": ""}  # fmt: skip
            changes = {name: defaults.get(name) for name in _TIMESCALE_FIELDS} | changes
        if "addressed_to" in changes and "responder" not in changes:
            changes["responder"] = ""
        if self.citation:
            changes["citation"] = self.citation
        return msgspec.structs.replace(stage, **changes)


#: Stages as a route has them, made once: (route stage, stage) by their ids, with the pair
#: kept so that the ids stay theirs
_ROUTED: dict[tuple[int, int], tuple[RouteStage, Stage, Stage]] = {}


class Route(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A way into the protocol the source sets apart: whom the concern is about, and what
    differs (extra steps and duties at the first stage, no CAFCASS, no child's voice, and in
    ``stages`` what it changes of a stage: its addressees, form, timescale and duties)."""

    slug: Slug
    title: Text
    subject: Annotated[str, Meta(pattern=r"^(child|carer|chair)$")] = "child"
    roles: list[Slug] = msgspec.field(default_factory=list)  # empty: every role
    cafcass: bool = True
    child_voice: bool = True
    steps: list[Step] = msgspec.field(default_factory=list)
    duties: list[Duty] = msgspec.field(default_factory=list)
    stages: list[RouteStage] = msgspec.field(default_factory=list)
    guidance: str = ""
    quote: Text
    citation: Text

    def stage_as(self, stage: Stage) -> Stage:
        """``stage`` as this route has it."""
        for change in self.stages:
            if change.stage == stage.slug:
                key = (id(change), id(stage))
                if key not in _ROUTED:
                    _ROUTED[key] = (change, stage, change.apply(stage))
                return _ROUTED[key][2]
        return stage


_DEFAULT_ROUTE = Route(slug="child", title="Concern about a child's plan", quote="-", citation="-")


class Protocol(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A local authority's dispute resolution protocol."""

    slug: Slug
    title: Text
    authority: Text
    source: Text
    source_date: str = ""
    #: the file in ../shared/seeds (or elsewhere) whose text the quotes come from
    source_file: str = ""
    summary: str = ""
    roles: Annotated[list[Slug], Meta(min_length=1)]
    formal_cap_working_days: Days | None = None
    formal_cap_kind: CapKind | None = None
    #: the roles the whole-process limit applies to (empty: every role)
    formal_cap_roles: list[Slug] = msgspec.field(default_factory=list)
    formal_cap_citation: Text
    formal_cap_quote: str = ""
    bypass_citation: Text
    bypass_quote: str = ""
    cafcass_citation: str = ""
    cafcass: Cafcass | None = None
    #: duties at every stage (each stage may add its own)
    duties: list[Duty] = msgspec.field(default_factory=list)
    routes: list[Route] = msgspec.field(default_factory=list)
    stages: Annotated[list[Stage], Meta(min_length=1)]

    def __post_init__(self) -> None:
        unknown = [r for r in self.roles if r not in ROLES]
        if unknown:
            raise ValueError(
                f"field roles: unknown role {unknown[0]!r}; allowed: {', '.join(ROLES)}"
            )
        slugs = [s.slug for s in self.stages]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ValueError(f"stage slug {dupes[0]!r} appears more than once")
        self._check_route_stages(slugs)
        seen_formal = False
        for stage in self.stages:
            if seen_formal and not stage.formal:
                raise ValueError(f"stage {stage.slug!r} is informal but follows a formal stage")
            seen_formal = seen_formal or stage.formal
        if self.formal_cap_working_days is None and self.formal_cap_kind is not None:
            raise ValueError("field formal_cap_kind: given, but there is no limit")
        for role in [*self.formal_cap_roles, *(r for rt in self.routes for r in rt.roles)]:
            if role not in self.roles:
                raise ValueError(f"role {role!r} is not one of this protocol's roles")
        if self.cafcass is None and not self.cafcass_citation.strip():
            raise ValueError("field cafcass: required, but missing")
        if self.cafcass and self.cafcass.after_stage and self.cafcass.after_stage not in slugs:
            raise ValueError(f"field cafcass.after_stage: no stage {self.cafcass.after_stage!r}")
        for role in (self.cafcass.roles or []) if self.cafcass else []:
            if role not in self.roles:
                raise ValueError(
                    f"field cafcass.roles: {role!r} is not one of this protocol's roles"
                )
        routes = [r.slug for r in self.routes]
        if len(set(routes)) != len(routes):
            raise ValueError("field routes: a route slug appears more than once")

    def _check_route_stages(self, slugs: list[str]) -> None:
        """Each route's change of a stage names a stage, once, and leaves a valid stage."""
        for r, route in enumerate(self.routes):
            named = [c.stage for c in route.stages]
            for i, change in enumerate(route.stages):
                where = f"routes.{r}.stages.{i}"
                if change.stage not in slugs:
                    raise ValueError(f"field {where}.stage: no stage {change.stage!r}")
                if named.count(change.stage) > 1:
                    raise ValueError(f"field {where}.stage: {change.stage!r} given twice")
                try:
                    change.apply(self.stages[slugs.index(change.stage)])
                except (ValueError, TypeError, msgspec.ValidationError) as exc:
                    message = str(exc)
                    if message.startswith("field "):
                        message = message[len("field ") :]
                        raise ValueError(f"field {where}.{message}") from None
                    raise ValueError(f"field {where}: {message}") from None

    # -- what the source says about the whole process ---------------------------------
    @property
    def cap_kind(self) -> str | None:
        """How binding the whole-process limit is: firm (the default), guidance, or None."""
        if self.formal_cap_working_days is None:
            return None
        return self.formal_cap_kind or "firm"

    def cap_applies(self, role: str | None) -> bool:
        return self.formal_cap_working_days is not None and (
            not self.formal_cap_roles or role in self.formal_cap_roles
        )

    @property
    def referral(self) -> Cafcass:
        return self.cafcass or Cafcass(citation=self.cafcass_citation)

    @property
    def all_routes(self) -> list[Route]:
        """The routes; a protocol that names none has one: a concern about a child."""
        return list(self.routes) or [_DEFAULT_ROUTE]

    def route(self, slug: str | None) -> Route:
        routes = self.all_routes
        if slug is None:
            return routes[0]
        for r in routes:
            if r.slug == slug:
                return r
        raise InvalidInput(
            f"protocol {self.slug!r} has no route {slug!r}; routes: "
            f"{', '.join(r.slug for r in routes)}"
        )

    def route_or_none(self, slug: str | None) -> Route | None:
        return (
            next((r for r in self.all_routes if r.slug == slug), None)
            if slug
            else (self.all_routes[0])
        )

    def stage_for(self, slug: str, route: str | None) -> Stage:
        """A stage as a concern on ``route`` has it: with what the route changes of it (its
        addressees, form, timescale, duties); the stage itself on a route that changes
        nothing, or a route the protocol no longer has."""
        stage = self.stage(slug)
        r = self.route_or_none(route)
        return r.stage_as(stage) if r is not None else stage

    def steps_at(self, stage: str, route: str | None, *, opening: bool) -> list[Step]:
        """The steps of a stage; at the stage a concern was opened at, the route's own steps
        come first (an external agency's letter, say)."""
        own = list(self.stage_for(stage, route).steps)
        r = self.route_or_none(route) if opening else None
        return [*r.steps, *own] if r is not None else own

    def duties_at(self, stage: str, route: str | None, *, opening: bool) -> list[Duty]:
        """The recording duties at a stage: the protocol's, the stage's (as the route has
        it), and at the opening stage the route's."""
        r = self.route_or_none(route) if opening else None
        return [*self.duties, *self.stage_for(stage, route).duties,
                *(r.duties if r is not None else [])]  # fmt: skip

    # -- navigation ------------------------------------------------------------------
    @property
    def stage_slugs(self) -> list[str]:
        return [s.slug for s in self.stages]

    def stage(self, slug: str) -> Stage:
        """The stage ``slug``, or the stage a person names (:meth:`stage_named`: "Stage 3",
        its title), or :class:`InvalidInput` listing the stages."""
        for s in self.stages:
            if s.slug == slug:
                return s
        named = self.stage_named(slug)
        if named is not None:
            return self.stage(named)
        raise InvalidInput(
            f"protocol {self.slug!r} has no stage {slug!r}; stages: {', '.join(self.stage_slugs)}"
        )

    def stage_named(self, text: str) -> str | None:
        """The slug of the stage ``text`` names, as a person or a spreadsheet says it: its
        slug or title whatever the case and spacing, or its slug written with spaces ("Stage
        3", "stage 3" for ``stage-3``; "Informal" for ``informal``); None if none. The one
        rule for a stage by name (the importer's and every option's)."""
        w = match_word(text)
        for s in self.stages:
            if w in (s.slug, match_word(s.title)):
                return s.slug
        slug = word_slug(text)
        for s in self.stages:
            if s.slug == slug:
                return s.slug
        return None

    def has_stage(self, slug: str) -> bool:
        # every fold asks, several times a concern: no list made, and a plain loop (a
        # generator in any() takes four times as long)
        for s in self.stages:  # noqa: SIM110
            if s.slug == slug:
                return True
        return False

    def index(self, slug: str) -> int:
        self.stage(slug)
        return self.stage_slugs.index(slug)

    def next_stage(self, slug: str) -> Stage | None:
        i = self.index(slug)
        return self.stages[i + 1] if i + 1 < len(self.stages) else None

    @property
    def first_stage(self) -> Stage:
        return self.stages[0]


class Issue(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    slug: Slug
    text: Text
    sources: Annotated[list[Text], Meta(min_length=1)]


class Theme(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    slug: Slug
    title: Text
    citation: Text
    issues: list[Issue] = msgspec.field(default_factory=list)


class Themes(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    themes: Annotated[list[Theme], Meta(min_length=1)]

    def theme(self, slug: str) -> Theme:
        """The theme ``slug``, or the theme a person names by its title ("care plan",
        "Care Plan": :meth:`theme_named`)."""
        for t in self.themes:
            if t.slug == slug:
                return t
        named = self.theme_named(slug)
        if named is not None:
            return self.theme(named)
        raise InvalidInput(
            f"unknown category {slug!r}; allowed: {', '.join(t.slug for t in self.themes)}"
        )

    def theme_named(self, text: str) -> str | None:
        """The slug of the theme ``text`` names: its slug or title whatever the case and
        spacing, or its slug written with spaces ("care plan"); None if none."""
        w = match_word(text)
        slug = word_slug(text)
        for t in self.themes:
            if w in (t.slug, match_word(t.title)) or t.slug == slug:
                return t.slug
        return None

    def check_issue(self, category: str, issue: str) -> Issue:
        theme = self.theme(category)
        for i in theme.issues:
            if i.slug == issue:
                return i
        raise InvalidInput(
            f"category {category!r} has no issue {issue!r}; "
            f"allowed: {', '.join(i.slug for i in theme.issues)}"
        )


def as_data(value: msgspec.Struct) -> Any:
    """A protocol (or the themes) as plain JSON-able data. A protocol's defaults are filled
    in: every stage's ``timescale_kind``, the cap's ``formal_cap_kind``, people as
    ``{who, quote, citation}``, its CAFCASS section and its routes."""
    data = msgspec.to_builtins(value)
    if not isinstance(value, Protocol):
        return data
    data["formal_cap_kind"] = value.cap_kind
    data["cafcass"] = msgspec.to_builtins(value.referral)
    data["routes"] = msgspec.to_builtins(value.all_routes)
    for stage, out in zip(value.stages, data["stages"], strict=True):
        out["timescale_kind"] = stage.kind
        out["responder"] = stage.response_by
        for name, parties in (
            ("addressed_to", stage.addressees),
            ("attends", stage.attendees),
            ("copied_to", stage.copies),
            ("notified", stage.notifications),
        ):
            out[name] = msgspec.to_builtins(parties)
    return data


# -- loading -----------------------------------------------------------------------------
# compiled on first use (re's cache): only a protocol file with an error needs them
_MISSING = r"Object missing required field `(.+)`"
_UNKNOWN = r"Object contains unknown field `(.+)`"


def _describe(exc: msgspec.ValidationError) -> str:
    """msgspec's message as ``field LOCATION: PROBLEM`` (``stages.1.title``)."""
    message, _, where = str(exc).partition(" - at `$")
    loc = re.sub(r"\[(\d+)\]", r".\1", where.rstrip("`")).lstrip(".")
    if m := re.fullmatch(_MISSING, message):
        loc, message = ".".join(filter(None, (loc, m.group(1)))), "required, but missing"
    elif m := re.fullmatch(_UNKNOWN, message):
        loc, message = ".".join(filter(None, (loc, m.group(1)))), "not a known field"
    elif message.startswith("field ") and ": " in message:  # a check naming its own field
        named, _, message = message[len("field ") :].partition(": ")
        loc = ".".join(filter(None, (loc, named)))
    return f"field {loc or '(top level)'}: {message}"


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only when a file is read: the compiled cache spares most commands

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ProtocolFileError(f"cannot read protocol file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolFileError(f"protocol file {path} is not valid TOML: {exc}") from None


def load_protocol_file(path: Path) -> Protocol:
    """Read and validate one protocol file; errors name the file and the field."""
    data = _read_toml(path)
    try:
        protocol = msgspec.convert(data, Protocol)
    except msgspec.ValidationError as exc:
        raise ProtocolFileError(f"protocol file {path}: {_describe(exc)}") from None
    if protocol.slug != path.stem:
        raise ProtocolFileError(
            f"protocol file {path}: field slug: {protocol.slug!r} must match the file name "
            f"{path.stem!r}"
        )
    return protocol


class Registry(Frozen):
    protocols: dict[str, Protocol]
    paths: dict[str, Path]

    _fields = (
        "protocols",
        "paths",
    )

    def __init__(
        self,
        protocols: dict[str, Protocol],
        paths: dict[str, Path],
    ) -> None:
        set_fields(
            self,
            protocols=protocols,
            paths=paths,
        )

    def get(self, slug: str) -> Protocol:
        try:
            return self.protocols[slug]
        except KeyError:
            raise InvalidInput(
                f"unknown protocol {slug!r}; installed: {', '.join(sorted(self.protocols))}"
            ) from None

    def for_stored(self, slug: str) -> Protocol:
        """The protocol of a stored concern; its file may have been removed since."""
        try:
            return self.protocols[slug]
        except KeyError:
            raise NotFound(
                f"protocol {slug!r} of this concern is not installed; "
                f"installed: {', '.join(sorted(self.protocols))}"
            ) from None


def _protocol_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if not p.name.startswith("_"))


#: Changes whenever what the compiled cache holds changes shape (bump it with Protocol).
_COMPILED_VERSION = 1


def _compiled_key(files: list[Path]) -> bytes:
    """What compiled protocols (or themes) depend on: every file's path, size and time,
    this module's own (the structs are defined here), and msgspec's version."""
    here = Path(__file__).stat()
    stats = [(str(p), st.st_size, st.st_mtime_ns) for p in files for st in (p.stat(),)]
    return msgspec.json.encode([_COMPILED_VERSION, msgspec.__version__,
                                [here.st_size, here.st_mtime_ns], stats])  # fmt: skip


def _from_cache(name: str, key: bytes, kind: Any) -> Any:
    """What the cache file ``name`` holds for ``key``, decoded (and so checked) as ``kind``;
    None when it holds nothing for it, or cannot be read."""
    from drp_cli.core.files import cache_dir

    try:
        found, value = msgspec.msgpack.decode((cache_dir() / name).read_bytes(),
                                              type=tuple[bytes, kind])  # fmt: skip
    except (OSError, ValueError, msgspec.MsgspecError):
        return None
    return value if found == key else None


def _to_cache(name: str, key: bytes, value: Any) -> None:
    """Keep ``value`` for ``key`` in the cache file ``name``: owner-only, atomically; a
    cache that cannot be written is only slower."""
    from contextlib import suppress

    from drp_cli.core.files import cache_dir, write_private

    with suppress(OSError):
        write_private(cache_dir() / name, msgspec.msgpack.encode((key, value)),
                      make_parents=True)  # fmt: skip


class _Compiled(msgspec.Struct):
    protocols: list[Protocol]
    paths: list[str]


def load_registry(extra_dirs: Iterable[Path] | None = None) -> Registry:
    """All built-in protocols and the user's own; a slug defined twice is an error.

    Reading and checking the TOML files costs ~10 ms a command, so the protocols once
    checked are kept in the cache folder (msgpack, decoded into the same checked structs)
    with the path, size and time of every file they were read from: read again only when
    one of those changed. A cache that cannot be read or written is only slower."""
    folders = [builtin_dir(), *(user_dirs() if extra_dirs is None else extra_dirs)]
    try:
        key = _compiled_key([p for folder in folders for p in _protocol_files(folder)])
    except OSError:
        return _load_registry(folders)
    found = _from_cache("protocols.msgpack", key, _Compiled)
    if found is not None:
        return Registry({p.slug: p for p in found.protocols},
                        {p.slug: Path(w) for p, w in zip(found.protocols, found.paths,
                                                         strict=True)})  # fmt: skip
    loaded = _load_registry(folders)
    _to_cache("protocols.msgpack", key, _Compiled(list(loaded.protocols.values()),
              [str(loaded.paths[s]) for s in loaded.protocols]))  # fmt: skip
    return loaded


def _load_registry(folders: list[Path]) -> Registry:
    protocols: dict[str, Protocol] = {}
    paths: dict[str, Path] = {}
    for folder in folders:
        for path in _protocol_files(folder):
            protocol = load_protocol_file(path)
            if protocol.slug in protocols:
                raise ProtocolFileError(
                    f"protocol file {path}: field slug: {protocol.slug!r} is already defined "
                    f"by {paths[protocol.slug]}; give your protocol its own slug"
                )
            protocols[protocol.slug] = protocol
            paths[protocol.slug] = path
    return Registry(protocols, paths)


@lru_cache(maxsize=4)
def _cached_registry(key: tuple[str, ...]) -> Registry:
    return load_registry([Path(p) for p in key])


def registry() -> Registry:
    """The registry for the current ``DRP_PROTOCOLS`` setting (cached per setting)."""
    return _cached_registry(tuple(str(p) for p in user_dirs()))


@lru_cache(maxsize=1)
def themes() -> Themes:
    """The themes and their issues, kept checked in the cache folder as the protocols are."""
    path = builtin_dir() / "_themes.toml"
    try:
        key: bytes | None = _compiled_key([path])
    except OSError:
        key = None  # the read below says why
    if key is not None:
        found = _from_cache("themes.msgpack", key, Themes)
        if found is not None:
            return found
    try:
        loaded = msgspec.convert(_read_toml(path), Themes)
    except msgspec.ValidationError as exc:
        raise ProtocolFileError(f"themes file {path}: {_describe(exc)}") from None
    if key is not None:
        _to_cache("themes.msgpack", key, loaded)
    return loaded
