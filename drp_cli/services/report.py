"""The manager's quality-assurance report (``drp report``): figures about the concerns
opened in a period, as the record stood on a day.

The day a report is judged on is a day that has come: by default the earlier of today and
the period's last day (a year still running is judged today, and says so), or a day given
(``on``), never one after today. :attr:`Period.judged` says which, and :func:`judged_text`
puts it in words for the table, the page and the file outputs alike.

Counts by recorded field (protocol, theme, issue, owner, team, month of opening) are
set-based SQL over ``concern`` (:mod:`drp_cli.store.reportsql`). Everything that depends on the
day the report is judged on (status, the furthest stage, whether each stage kept to time,
the referral, the child's voice, the time to resolve) comes from the one lifecycle rule:
each concern's events in effect on that day are folded (:func:`drp_cli.domain.lifecycle.fold`) and
its stage visits judged by :func:`drp_cli.domain.views.stage_visits`, exactly as ``drp show``
judges them. Nothing here works out a deadline or a result of its own.

By default a report holds no child reference, name or free text: counts, protocol, stage and
theme slugs, and the names of the owners and teams (the manager's staff). ``with_children``
adds one row per concern with its id, external reference and child reference.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import msgspec

from drp_cli.core.dates import in_words, iso, parse_date
from drp_cli.core.dates import today as _today
from drp_cli.core.errors import InvalidInput, fld
from drp_cli.domain import lifecycle, views
from drp_cli.domain.lifecycle import Fact
from drp_cli.domain.views import ConcernView
from drp_cli.store import reportsql
from drp_cli.store.reportsql import ReportRow, Scope

if TYPE_CHECKING:
    from drp_cli.domain.calendar import WorkingCalendar
    from drp_cli.domain.protocols import Protocol
    from drp_cli.services.tracker import Tracker

#: How each stage result of ``drp show`` (:data:`drp_cli.domain.views.RESULTS`) counts in a report,
#: for a stage with a firm deadline and for one with an aim.
FIRM_RESULTS = {
    "met": "met",
    "missed": "missed",
    "pending": "open_in_time",
    "overdue": "open_overdue",
    "left-in-time": "left_in_time",
}
AIM_RESULTS = {
    "met": "met",
    "aim-missed": "missed",
    "pending": "open_in_time",
    "past-aim": "open_past_aim",
    "left-in-time": "left_in_time",
}
FIRM_KEYS = ("met", "missed", "open_in_time", "open_overdue", "left_in_time")
AIM_KEYS = ("met", "missed", "open_in_time", "open_past_aim", "left_in_time")
STATUS_KEYS = ("open", "resolved", "withdrawn")
VOICE_KEYS = (
    "wishes_sought",
    "wishes_not_sought",
    "not_recorded",
    "not_applicable",
    "told_outcome",
)
#: The figures repeated for the previous period, so that a trend shows.
HEADLINE = (
    "concerns",
    "status",
    "resolved_informally",
    "resolved_formally",
    "cafcass_referrals",
    "stage_deadlines",
    "stage_aims",
    "working_days_to_resolve",
    "child_voice",
)
#: The tables of a report that count concerns by one thing, in the order they are shown:
#: each one's key in the report's data, and what it counts them by (its column's name).
TABLES = {
    "by_protocol": "protocol",
    "by_theme": "theme",
    "by_issue": "issue",
    "by_owner": "owner",
    "by_team": "team",
    "by_month": "month",
    "furthest_stage": "furthest stage",
}


#: How a report's judging day was chosen (:attr:`Period.judged`, the report's ``on_is``):
#: today, while the period runs past today; the period's last day, once it has come; or a
#: day given with ``--on``.
JUDGED = ("today", "period-end", "given")


@dataclass(frozen=True)
class Period:
    """The days a report covers (both included) and the day it is judged on (``judged``:
    how that day was chosen, one of :data:`JUDGED`; not part of a period's equality)."""

    first: dt.date
    last: dt.date
    on: dt.date
    judged: str = field(default="given", compare=False)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period just before, judged as long after its end: the same number of whole
        months when the period is whole months (a year from April, a quarter, a month),
        else the same number of days."""
        day = dt.timedelta(days=1)
        if self.first.day == 1 and (self.last + day).day == 1:
            months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month
            back = self.first.year * 12 + self.first.month - 1 - (months + 1)
            first, last = dt.date(back // 12, back % 12 + 1, 1), self.first - day
        else:
            first, last = self.first - self.days * day, self.first - day
        return Period(first, last, last + (self.on - self.last))


def year_period(year: int) -> tuple[dt.date, dt.date]:
    """The local-authority year ``year``: 1 April ``year`` to 31 March ``year + 1``."""
    if not 1990 <= year <= 2198:
        raise InvalidInput(f"{fld('year')} must be from 1990 to 2198")
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)


def period(
    first: dt.date | str | None,
    last: dt.date | str | None,
    on: dt.date | str | None = None,
    *,
    year: int | None = None,
    today: dt.date | None = None,
) -> Period:
    """The period from the options: ``first`` and ``last`` (both needed), or ``year``;
    judged on ``on``, which may not be after ``today`` (default: the local date), or by
    default on the earlier of today and the period's last day: a report never judges a day
    that has not come (an open stage whose deadline is still ahead is not overdue)."""
    now = today if today is not None else _today()
    if year is not None:
        if first is not None or last is not None:
            raise InvalidInput(f"give {fld('year')} or {fld('from')} and {fld('to')}, not both")
        start, end = year_period(year)
    else:
        if first is None or last is None:
            raise InvalidInput(f"give {fld('from')} and {fld('to')} (or {fld('year')})")
        start, end = parse_date(first, fld("from")), parse_date(last, fld("to"))
        if start > end:
            raise InvalidInput(f"{fld('from')} is after {fld('to')}")
    if on is not None:
        day = parse_date(on, fld("on"))
        if day > now:
            raise InvalidInput(
                f"{fld('on')} {day.isoformat()} is in the future: a report is judged on a day "
                f"that has come (today is {now.isoformat()})"
            )
        if day < start:
            raise InvalidInput(f"{fld('on')} is before {fld('from')}")
        return Period(start, end, day, "given")
    if now < start:
        name = fld("year") if year is not None else fld("from")
        raise InvalidInput(
            f"the period ({name}) begins on {start.isoformat()}, after today "
            f"({now.isoformat()}): there is nothing to report yet"
        )
    if now < end:
        return Period(start, end, now, "today")
    return Period(start, end, end, "period-end")


def judged_text(data: Mapping[str, Any]) -> str:
    """The day a report's figures stand on, in words, from its data (``on``, ``on_is``,
    ``to``): "as the record stood on 6 December 2026, today (the period runs to 31 March
    2027, so its figures are not final)"."""
    on, last, how = data["on"], data["to"], data.get("on_is", "given")
    said = f"as the record stood on {day_words(on)}"
    if how == "today":
        return f"{said}, today (the period runs to {day_words(last)}, so its figures are not final)"
    if on == last:
        return f"{said}, the period's last day"
    if on < last:  # ISO dates compare as text
        return f"{said} (the period runs to {day_words(last)}, so its figures are not final)"
    return f"{said}, after the period's end on {day_words(last)}"


def period_text(first: str, last: str) -> str:
    """A period in words: "November 2026" for a whole month, "1 April 2026 to 31 March 2027"
    otherwise."""
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    if a.day == 1 and (a.year, a.month) == (b.year, b.month) and (b + dt.timedelta(1)).day == 1:
        return month_words(first[:7])
    return f"{day_words(first)} to {day_words(last)}"


def scope(
    t: Tracker,
    p: Period,
    *,
    protocol: str | None = None,
    category: str | None = None,
    owner: str | None = None,
    team: str | None = None,
) -> Scope:
    """The concerns opened in ``p`` (and by its judging day), checked filters applied."""
    if protocol is not None:
        protocol = t.protocols.get(protocol).slug
    if category is not None:
        from drp_cli.domain.protocols import themes

        category = themes().theme(category).slug
    names = {}
    for name, value in (("owner", owner), ("team", team)):
        if value is not None:
            names[name] = value.strip()
            if not names[name]:
                raise InvalidInput(f"{fld(name)} is empty")
    return Scope(
        p.first, min(p.last, p.on), protocol, category, names.get("owner"), names.get("team")
    )


# -- per concern, through the lifecycle rule -----------------------------------------------------
_NO_DETAILS = ("{}", "", None)
_OPENING = ("opened", "imported", "retracted")
_VISITS = (*lifecycle.STAGE_ENTRIES, "reopened", "response")


@dataclass
class Tally:
    """The figures of one period that depend on the judging day, added up a concern at a
    time."""

    period: Period
    status: Counter[str] = field(default_factory=Counter)
    furthest: Counter[str] = field(default_factory=Counter)
    resolved_informally: int = 0
    resolved_formally: int = 0
    referrals: int = 0
    escalated: int = 0
    #: resolved concerns by :func:`kept_to_time`: True, False, None (no timescale to judge)
    kept: Counter[bool | None] = field(default_factory=Counter)
    firm: Counter[str] = field(default_factory=Counter)
    aim: Counter[str] = field(default_factory=Counter)
    firm_by_stage: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    aim_by_stage: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    voice: Counter[str] = field(default_factory=Counter)
    to_resolve: list[int] = field(default_factory=list)
    month_split: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    children: list[dict[str, Any]] | None = None
    #: what each concern shows (:func:`_one`), counted: added to the figures above once
    #: every concern is in (:func:`_count_profiles`)
    profiles: Counter[tuple[Any, ...]] = field(default_factory=Counter)


def _furthest(order: Mapping[str, int], stages: list[str]) -> str:
    """The furthest of ``stages`` in the protocol's ``order`` (stage -> index); the latest
    entered if the protocol does not know them."""
    known = [s for s in stages if s in order]
    return max(known, key=order.__getitem__) if known else stages[-1]


class _Event(NamedTuple):
    """An event as the fold and ``stage_visits`` read it (the attributes of a
    :class:`~drp_cli.domain.lifecycle.Fact` and of an
    :class:`~drp_cli.domain.views.EventView`): made
    for tens of thousands of events at a time, without their text or author."""

    seq: int
    kind: str
    effective_on: dt.date
    stage: str
    details: dict[str, Any]
    retracted: bool = False
    by: str = ""
    text: str = ""

    @property
    def on(self) -> dt.date:
        return self.effective_on


class _Concern(NamedTuple):
    """What ``stage_visits``, ``formal_result`` and ``child_wishes`` read of a concern, as of
    the day: its status, closing day, own record of the child's wishes, the events that count
    and its route."""

    status: str
    closed_on: dt.date | None
    wishes: str | None
    live_events: list[_Event]
    wishes_recorded_on: tuple[int, ...] | None = None
    route: str | None = None  # the stage as the concern's route has it
    formal_deadline: dt.date | None = None
    formal_deadline_kind: str | None = None


@dataclass(slots=True)
class _Folded:
    """One concern's events in effect on a day, folded by the lifecycle rule and its stage
    visits judged as ``drp show`` judges them; ``kept``: :func:`kept_to_time`, once worked
    out (for the tally and the activity alike); ``escalated``: whether an escalation
    counts (one not retracted)."""

    facts: list[_Event]
    state: lifecycle.ConcernState
    view: ConcernView
    visits: list[dict[str, Any]]
    kept: bool | str | None = "unknown"
    escalated: bool = False


def _details(concern_id: int, raw: str | bytes) -> dict[str, Any]:
    """An event's stored details (JSON, decoded fast); what drp never writes (not JSON, or
    JSON that is no object) is the store's MalformedValue (exit 4), naming the concern."""
    if raw in _NO_DETAILS:
        return {}
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        value = None
    if not isinstance(value, dict):
        from drp_cli.store.connection import MalformedValue

        raise MalformedValue(f"concern {concern_id}", "event", "details")
    return value


class _Seen:
    """What a report's concerns share, worked out once for them all: each stored day's date
    (:func:`drp_cli.store.reportsql.days_of`), each distinct stored details text decoded
    (the fold and ``stage_visits`` only read them), each protocol's mapping for the fold,
    and the working days between two days."""

    def __init__(self, cal: WorkingCalendar, days: dict[Any, dt.date]) -> None:
        self.cal = cal
        self.days = days
        self.details: dict[Any, dict[str, Any]] = {}
        self.protocols: dict[str, dict[str, Protocol]] = {}
        self.between: dict[tuple[dt.date, dt.date], int] = {}
        self.months: dict[dt.date, str] = {}

    def protocol_map(self, protocol: Protocol | None) -> dict[str, Protocol]:
        if protocol is None:
            return {}
        found = self.protocols.get(protocol.slug)
        if found is None:
            found = self.protocols[protocol.slug] = {protocol.slug: protocol}
        return found

    def month(self, day: dt.date) -> str:
        """A day's month, ``YYYY-MM``."""
        found = self.months.get(day)
        if found is None:
            found = self.months[day] = day.isoformat()[:7]
        return found

    def working_days(self, first: dt.date, last: dt.date) -> int:
        """:meth:`WorkingCalendar.working_days_between`, each pair of days counted once."""
        n = self.between.get((first, last))
        if n is None:
            n = self.between[(first, last)] = self.cal.working_days_between(first, last)
        return n


_make_event = _Event._make
_make_concern = _Concern._make


def _decoded(decoded: dict[Any, dict[str, Any]], concern_id: int, raw: Any) -> dict[str, Any]:
    """:func:`_details`, kept in ``decoded`` by its stored text."""
    found = decoded[raw] = _details(concern_id, raw)
    return found


def _fold(
    evs: list[tuple[Any, ...]], protocol: Protocol | None, seen: _Seen, on: dt.date
) -> _Folded:
    """Fold a concern's events (rows of :func:`drp_cli.store.reportsql.events`) in effect on
    ``on``."""
    days, decoded = seen.days, seen.details
    facts = [
        _make_event((seq, kind, day, stage,
                     decoded[raw] if raw in decoded else _decoded(decoded, cid, raw),
                     False, "", ""))
        for cid, seq, kind, stored, stage, raw in evs
        if (day := days[stored]) <= on or kind in _OPENING
    ]  # fmt: skip
    escalations = [f.seq for f in facts if f.kind == "escalated"]
    cal = seen.cal
    state = lifecycle.fold(cast(list[Fact], facts), seen.protocol_map(protocol), cal,
                           where=f"concern {evs[0][0]}" if evs else None)  # fmt: skip
    gone = state.retracted
    # the events stage_visits reads (it is given the state, so it does not fold again)
    concern = _make_concern((state.status, state.closed_on, state.wishes,
                             [f for f in facts if f.kind in _VISITS and f.seq not in gone],
                             None, state.route, state.formal_deadline,
                             state.formal_deadline_kind))  # fmt: skip
    view = cast(ConcernView, concern)
    visits = views.stage_visits(view, protocol, cal, on, state) if state.visits else []
    live = [f for f in facts if f.seq not in gone] if gone else facts
    escalated = any(seq not in gone for seq in escalations) if escalations else False
    return _Folded(live, state, view, visits, escalated=escalated)


#: The stage results (:data:`drp_cli.domain.views.RESULTS`) of a stage that kept to its
#: timescale (firm or aim), and of one that did not.
KEPT_RESULTS = ("met", "left-in-time")
MISSED_RESULTS = ("missed", "aim-missed")


def kept_to_time(f: _Folded, cal: WorkingCalendar, on: dt.date) -> bool | None:
    """Whether a resolved concern was resolved within timescale: no stage it visited missed
    its deadline or aim (each judged as ``drp show`` judges it), and the formal process,
    where its protocol sets a firm limit for it, ended within that limit. None when no
    stage it visited had a timescale (nothing to judge it by). Worked out once a fold."""
    if f.kept != "unknown":
        return cast("bool | None", f.kept)
    f.kept = _kept(f, cal, on)
    return f.kept


def _kept(f: _Folded, cal: WorkingCalendar, on: dt.date) -> bool | None:
    results = [v["result"] for v in f.visits]
    if any(r in MISSED_RESULTS for r in results):
        return False
    if views.formal_result(f.view, cal, on) == "missed":  # a firm limit; guidance is no limit
        return False
    return True if any(r in KEPT_RESULTS for r in results) else None


def _one(
    tally: Tally,
    row: ReportRow,
    folded: _Folded,
    order: Callable[[str], Mapping[str, int]],
    seen: _Seen,
) -> None:
    """Add up what one concern's events in effect on the tally's day show: its profile
    (everything the figures count it by, :func:`_count_profiles`) and its working days to
    resolve."""
    state, visits = folded.state, folded.visits
    status = state.status
    formal = state.formal_started_on is not None
    kept: bool | str | None = ""  # not resolved
    if status == "resolved":
        opened = state.opened_on or row.opened_on
        tally.to_resolve.append(seen.working_days(opened, state.closed_on or opened))
        kept = kept_to_time(folded, seen.cal, tally.period.on)
    shown = tuple([(v["stage"], v["timescale_kind"], v["result"]) for v in visits])
    tally.profiles[
        (row.protocol, row.route, status, formal, folded.escalated, kept,
         state.referred_on is not None, views.child_wishes(folded.view),
         state.told_outcome == "told", seen.month(row.opened_on), shown)
    ] += 1  # fmt: skip
    if tally.children is not None:
        furthest = _furthest(order(row.protocol), [v[0] for v in shown]) if shown else None
        tally.children.append(
            {
                "id": row.id,
                "external_ref": row.external_ref,
                "child": row.child,
                "protocol": row.protocol,
                "category": row.category,
                "opened_on": iso(row.opened_on),
                "status": status,
                "closed_on": iso(state.closed_on),
                "furthest_stage": furthest,
                "formal": formal,
                "referred_to_cafcass_on": iso(state.referred_on),
            }
        )


def _count_profiles(
    tally: Tally, installed: Mapping[str, Protocol], order: Callable[[str], Mapping[str, int]]
) -> None:
    """Each profile of :func:`_one`, as many times as concerns showed it, in the figures: the
    status, the furthest stage, escalated, resolved informally or formally and within
    timescale, referred, each stage's result against its deadline or aim, the child's voice
    (unless the concern's route is not about a child's plan) and the month's split."""
    for profile, n in tally.profiles.items():
        slug, route, status, formal, escalated, kept, referred, wishes, told, month, shown = profile
        tally.status[status] += n
        if shown:
            tally.furthest[f"{slug}:{_furthest(order(slug), [v[0] for v in shown])}"] += n
        if escalated:
            tally.escalated += n
        if status == "resolved":
            if formal:
                tally.resolved_formally += n
            else:
                tally.resolved_informally += n
            tally.kept[kept] += n
        if referred:
            tally.referrals += n
        for stage, kind, result in shown:
            if kind == "firm" and result in FIRM_RESULTS:
                tally.firm[FIRM_RESULTS[result]] += n
                tally.firm_by_stage[f"{slug}:{stage}"][FIRM_RESULTS[result]] += n
            elif kind == "aim" and result in AIM_RESULTS:
                tally.aim[AIM_RESULTS[result]] += n
                tally.aim_by_stage[f"{slug}:{stage}"][AIM_RESULTS[result]] += n
        protocol = installed.get(slug)
        on_route = protocol.route_or_none(route) if protocol else None
        if on_route is not None and not on_route.child_voice:
            tally.voice["not_applicable"] += n
        else:
            tally.voice[_WISHES.get(wishes or "", "not_recorded")] += n
        if told:
            tally.voice["told_outcome"] += n
        tally.month_split[month]["formal" if formal else "informal"] += n
    tally.profiles.clear()


#: What "activity in the period" counts: the events of each kind dated in the period.
ACTIVITY_EVENTS = {
    "escalations": "escalated",
    "responses": "response",
    "resolutions": "resolved",
    "withdrawals": "withdrawn",
    "reopened": "reopened",
    "cafcass_referrals": "referred",
}
_ACTIVITY_KEYS = {kind: key for key, kind in ACTIVITY_EVENTS.items()}
#: The bands of working days open that the open caseload is counted in (the upper bound of
#: each, None: no bound): 20 working days is the whole formal process's limit in most of the
#: protocols (the IRO Handbook's 20 working days).
OPEN_BANDS = (("up_to_20", 20), ("21_to_40", 40), ("41_to_60", 60), ("over_60", None))
#: How many of the longest-running open concerns a report lists (with ``--with-children``).
LONGEST = 10


@dataclass
class Activity:
    """What happened in a period's days (``first`` to ``last``, the period's last day or its
    judging day if earlier), whenever each concern was opened: events dated in those days,
    and the open caseload at their end."""

    first: dt.date
    last: dt.date
    events: Counter[str] = field(default_factory=Counter)
    concerns_escalated: int = 0
    kept: Counter[bool | None] = field(default_factory=Counter)
    open_at_end: int = 0
    open_opened_before: int = 0
    open_by_stage: Counter[str] = field(default_factory=Counter)
    open_bands: Counter[str] = field(default_factory=Counter)
    open_days: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)


def _activity(act: Activity, row: ReportRow, folded: _Folded, seen: _Seen, names: bool) -> None:
    """Add one concern's events dated in the activity's days and, if it was open at their
    end, the concern to the open caseload."""
    first, last = act.first, act.last
    escalated = False
    for e in folded.facts:
        key = _ACTIVITY_KEYS.get(e.kind)
        if key is not None and first <= e.effective_on <= last:
            act.events[key] += 1
            escalated = escalated or key == "escalations"
    act.concerns_escalated += escalated
    state = folded.state
    if state.status == "resolved" and state.closed_on and first <= state.closed_on <= last:
        act.kept[kept_to_time(folded, seen.cal, last)] += 1
    if state.status != "open":
        return
    act.open_at_end += 1
    opened = state.opened_on or row.opened_on
    if opened < first:
        act.open_opened_before += 1
    if state.stage:
        act.open_by_stage[f"{row.protocol}:{state.stage}"] += 1
    days = seen.working_days(opened, last)
    act.open_bands[next(k for k, top in OPEN_BANDS if top is None or days <= top)] += 1
    if names:
        item = {
            "id": row.id,
            "external_ref": row.external_ref,
            "child": row.child,
            "protocol": row.protocol,
            "stage": f"{row.protocol}:{state.stage}" if state.stage else None,
            "opened_on": iso(opened),
            "working_days_open": days,
        }
        act.open_days.append((-days, row.id, item))


_WISHES = {"sought": "wishes_sought", "not-sought": "wishes_not_sought"}


def _keys(counter: Counter[str], keys: tuple[str, ...]) -> dict[str, int]:
    return {k: counter[k] for k in keys}


def _to_resolve(days: list[int]) -> dict[str, Any]:
    if not days:
        return {"count": 0, "median": None, "mean": None, "max": None}
    median = statistics.median(days)
    return {
        "count": len(days),
        "median": int(median) if float(median).is_integer() else median,
        "mean": round(statistics.fmean(days), 1),
        "max": max(days),
    }


def _tallies(
    t: Tracker, scopes: list[tuple[Scope, Period]], with_children: bool
) -> tuple[list[tuple[Tally, dict[str, dict[str, int]]]], Activity]:
    """Each period's tally and counts by recorded field, in one pass over the events of
    them all (the periods do not overlap), and the first period's activity: what happened
    in its days (to its judging day, if earlier) to any concern in its filters.

    A large report (:data:`PARALLEL_FROM` events) on a machine with two cores shares the
    folding with a second process (:class:`_Helper`), forked once the concerns opened in
    the periods are read: it folds the later of them while this one reads the rest (the
    counts, the concerns opened before) and folds the earlier; its sums are added to this
    one's. The figures, and any error, are those of one process doing it all in order."""
    cal = t.calendar()
    installed = t.protocols.protocols
    tallies = [Tally(p) for _, p in scopes]
    if with_children:
        tallies[0].children = []
    whole = replace(
        scopes[0][0], first=min(s.first for s, _ in scopes), last=max(s.last for s, _ in scopes)
    )
    latest = max(p.on for _, p in scopes)
    sc, p = scopes[0]
    act = Activity(p.first, min(p.last, p.on))
    # the concerns opened before the period that were open in it or did something in it
    before = replace(sc, first=dt.date.min, last=p.first - dt.timedelta(days=1))
    active = act.first
    orders: dict[str, dict[str, int]] = {}

    def order(slug: str) -> dict[str, int]:
        if slug not in orders:
            proto = installed.get(slug)
            orders[slug] = {st: i for i, st in enumerate(proto.stage_slugs)} if proto else {}
        return orders[slug]

    def add_up(part: list[_Job], tallies: list[Tally], act: Activity) -> None:
        for i, cid, group in part:
            if i is None:
                row = earlier[cid]
                proto = installed.get(row.protocol)
                _activity(act, row, _fold(group, proto, seen, act.last), seen, with_children)
                continue
            row = rows[cid]
            proto = installed.get(row.protocol)
            tally = tallies[i]
            folded = _fold(group, proto, seen, tally.period.on)
            _one(tally, row, folded, order, seen)
            if i == 0:  # opened in the period: its activity too, as of its end
                if act.last != tally.period.on:
                    folded = _fold(group, proto, seen, act.last)
                _activity(act, row, folded, seen, with_children)

    def fresh() -> tuple[list[Tally], Activity]:
        made = [Tally(p) for _, p in scopes]
        if with_children:
            made[0].children = []
        return made, Activity(act.first, act.last)

    def jobs_of(evs: list[tuple[Any, ...]]) -> list[_Job]:
        """Each concern's part: the period it was opened in, its id and its events, in the
        order one process takes them."""
        return [(which[cid], cid, group) for cid, group in reportsql.grouped(evs) if cid in which]

    helper: _Helper | None = None
    first: list[_Job] = []  # the helper's jobs, the first ones
    try:
        with t.store.read(snapshot=True) as conn:
            rows = {r.id: r for r in reportsql.concern_rows(conn, whole, names=with_children)}
            # the period each concern was opened in, worked out once a day of opening
            periods: dict[dt.date, int | None] = {}
            which = {}
            for cid, row in rows.items():
                day = row.opened_on
                i = periods.get(day, -1)
                if i == -1:
                    found = [i for i, (s, _) in enumerate(scopes) if s.first <= day <= s.last]
                    i = periods[day] = found[-1] if found else None
                if i is not None:
                    which[cid] = i
            ids = [cid for cid in rows if cid in which]  # by id
            k = _shared(len(ids))
            seen = _Seen(cal, {})
            rest: Scope | None = whole
            if k:  # the first k concerns' events read, and folded by the helper meanwhile
                evs, days = reportsql.events(conn, replace(whole, ids=(ids[0], ids[k - 1])),
                                             latest)  # fmt: skip
                seen.days.update(days)
                first = jobs_of(evs)
                helper = _Helper.start(first, add_up, fresh)
                rest = replace(whole, ids=(ids[k], ids[-1])) if k < len(ids) else None
            evs, days = reportsql.events(conn, rest, latest) if rest is not None else ([], {})
            seen.days.update(days)
            jobs = jobs_of(evs)
            counts = [reportsql.counts_by(conn, s) for s, _ in scopes]
            earlier = {r.id: r for r in reportsql.concern_rows(conn, before, active,
                                                                 names=with_children)}  # fmt: skip
            earlier_evs, more_days = (
                reportsql.events(conn, before, act.last, active) if earlier else ([], {})
            )
        seen.days.update(more_days)
        if helper is None:  # none (no fork): this one folds them all, in order
            jobs, first = first + jobs, []
        failed: Exception | None = None
        try:
            add_up(jobs, tallies, act)
        except Exception as exc:  # raised once the helper's jobs, which come first, are
            if helper is None:
                raise
            failed = exc
        if helper is not None:
            sent = helper.result()
            if sent is None:  # not sent: folded here, as one process would (its error first)
                mine = fresh()
                add_up(first, *mine)
                sent = _plain(mine)
            if failed is not None:
                raise failed
            _add((tallies, act), sent)
        # the concerns opened before the period: their activity in it (None: no period)
        add_up([(None, cid, group) for cid, group in reportsql.grouped(earlier_evs)],
               tallies, act)  # fmt: skip
    finally:
        if helper is not None:
            helper.stop()
    for tally in tallies:
        _count_profiles(tally, installed, order)
    return list(zip(tallies, counts, strict=True)), act


#: A concern's part of a report (see :func:`_tallies`): the period it was opened in (None:
#: opened before the period, its activity only), its id and its events.
_Job = tuple[int | None, int, list[tuple[Any, ...]]]
#: How many concerns opened in its periods a report folds in one process; from this many
#: (a year at a large authority) it shares them with a second process where the machine
#: has two cores.
PARALLEL_FROM = 8_000
#: The share of those concerns the second process folds (the first ones by id, whose events
#: are read first): more than half, as this one reads the others' events, the counts and
#: the concerns opened before the period meanwhile.
HELPER_SHARE = 0.64


def _cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _shared(concerns: int) -> int:
    """How many of the ``concerns`` opened in the periods a helper folds (the first ones by
    id): none, or, from :data:`PARALLEL_FROM` on a machine with two cores (and ``fork``),
    :data:`HELPER_SHARE` of them."""
    import os

    if concerns < PARALLEL_FROM or not hasattr(os, "fork") or _cores() < 2:
        return 0
    return max(1, min(concerns, int(concerns * HELPER_SHARE)))


class _Helper:
    """A process forked to fold the first ``jobs`` of a report (it has what this one read)
    and send back their sums (:func:`_plain`, pickled, through a pipe); it ends as soon as
    it has (or at its first error, sending nothing), touching nothing of this process's."""

    def __init__(
        self,
        jobs: list[_Job],
        add_up: Callable[[list[_Job], list[Tally], Activity], None],
        fresh: Callable[[], tuple[list[Tally], Activity]],
    ) -> None:
        import os
        import pickle

        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            raise
        if pid == 0:  # the helper
            status = 1
            try:
                os.close(read)
                mine = fresh()
                add_up(jobs, *mine)
                with os.fdopen(write, "wb") as out:
                    out.write(pickle.dumps(_plain(mine), protocol=pickle.HIGHEST_PROTOCOL))
                status = 0
            finally:
                os._exit(status)  # no atexit, no finaliser: its files are this process's
        os.close(write)
        self.pid, self.read, self.ended = pid, read, False

    @classmethod
    def start(
        cls,
        jobs: list[_Job],
        add_up: Callable[[list[_Job], list[Tally], Activity], None],
        fresh: Callable[[], tuple[list[Tally], Activity]],
    ) -> _Helper | None:
        """A helper for ``jobs``, or None where the system will not start one (no process
        or file left): then this process does them."""
        try:
            return cls(jobs, add_up, fresh)
        except OSError:
            return None

    def result(self) -> list[dict[str, Any]] | None:
        """The helper's sums once it has ended, or None if it sent none (it failed)."""
        import os
        import pickle

        with os.fdopen(self.read, "rb", closefd=False) as got:
            sent = got.read()
        status = os.waitpid(self.pid, 0)[1]
        self.ended = True
        return cast("list[dict[str, Any]]", pickle.loads(sent)) if status == 0 and sent else None

    def stop(self) -> None:
        """End the helper if it is still running (this process is ending: an error, an
        interrupt), and close the pipe."""
        import os

        if not self.ended:
            with suppress(OSError):
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            self.ended = True
        with suppress(OSError):
            os.close(self.read)


def _plain(sums: tuple[list[Tally], Activity]) -> list[dict[str, Any]]:
    """A helper's sums as plain values (its counters as dicts, its lists as they are), one
    per tally and the activity last."""
    tallies, act = sums
    out = []
    for made in (*tallies, act):
        values: dict[str, Any] = {}
        for name, value in vars(made).items():
            if isinstance(value, defaultdict):
                values[name] = {k: dict(c) for k, c in value.items()}
            elif isinstance(value, Counter):
                values[name] = dict(value)
            elif isinstance(value, int | list):
                values[name] = value
        out.append(values)
    return out


def _add(sums: tuple[list[Tally], Activity], plain: list[dict[str, Any]]) -> None:
    """A helper's sums (:func:`_plain`, of the concerns before these) added to these:
    counts added, its lists before these lists."""
    tallies, act = sums
    for made, values in zip((*tallies, act), plain, strict=True):
        for name, value in values.items():
            mine = getattr(made, name)
            if isinstance(mine, defaultdict):
                for k, c in value.items():
                    mine[k].update(c)
            elif isinstance(mine, Counter):
                mine.update(value)
            elif isinstance(mine, list):
                mine[:0] = value
            else:
                setattr(made, name, mine + value)


def rate(count: int, of: int) -> dict[str, Any]:
    """A count out of a whole, and its percentage to the nearest whole number (None when the
    whole is 0): ``{"count": 7, "of": 10, "percent": 70}``."""
    return {"count": count, "of": of, "percent": round(100 * count / of) if of else None}


def rate_text(r: Mapping[str, Any]) -> str:
    """A rate in words: "7 of 10 (70%)"; "0 of 0" when there is nothing to count."""
    if not r["of"]:
        return f"{r['count']} of 0"
    return f"{r['count']} of {r['of']} ({r['percent']}%)"


#: Each rate's name, what it is a share of (its denominator) and what it counts, in words,
#: for every output.
RATE_WORDS = {
    "resolved_within_timescale": (
        "resolved within timescale",
        "concerns resolved (at stages with a timescale)",
        "no stage's deadline or aim missed, as drp show judges each, and the formal process "
        "within its limit where the protocol sets a firm one",
    ),
    "resolved_informally": (
        "resolved at the informal stage",
        "concerns resolved",
        "resolved without entering a formal stage",
    ),
    "escalated": (
        "escalated",
        "concerns opened",
        "escalated at least once (an escalation retracted as made in error does not count)",
    ),
    "referred_to_cafcass": ("referred to CAFCASS", "concerns opened", "referred by the day judged"),
}


def _rates(tally: Tally, concerns: int) -> dict[str, Any]:
    resolved = tally.status["resolved"]
    return {
        "resolved_within_timescale": rate(tally.kept[True], tally.kept[True] + tally.kept[False]),
        "resolved_informally": rate(tally.resolved_informally, resolved),
        "escalated": rate(tally.escalated, concerns),
        "referred_to_cafcass": rate(tally.referrals, concerns),
    }


def _activity_figures(
    act: Activity, opened: int, installed: Mapping[str, Protocol]
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "from": iso(act.first),
        "to": iso(act.last),
        "concerns_opened": opened,
        **{k: act.events[k] for k in ACTIVITY_EVENTS},
        "concerns_escalated": act.concerns_escalated,
        "resolved_within_timescale": rate(act.kept[True], act.kept[True] + act.kept[False]),
        "resolved_no_timescale": act.kept[None],
        "open_at_end": act.open_at_end,
        "open_at_end_opened_before": act.open_opened_before,
        "open_at_end_by_stage": _stage_order(dict(act.open_by_stage), installed),
        "open_at_end_by_working_days": {k: act.open_bands[k] for k, _ in OPEN_BANDS},
    }
    return data


def _figures(
    tally: Tally, by: dict[str, dict[str, int]], installed: Mapping[str, Protocol]
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "concerns": sum(by["by_protocol"].values()),
        **by,
        "by_month_split": {
            m: {"informal": c["informal"], "formal": c["formal"]}
            for m, c in sorted(tally.month_split.items())
        },
        "status": _keys(tally.status, STATUS_KEYS),
        "furthest_stage": _stage_order(dict(tally.furthest), installed),
        "resolved_informally": tally.resolved_informally,
        "resolved_formally": tally.resolved_formally,
        "cafcass_referrals": tally.referrals,
        "stage_deadlines": _keys(tally.firm, FIRM_KEYS),
        "stage_deadlines_by_stage": {
            k: _keys(c, FIRM_KEYS) for k, c in _stage_order(tally.firm_by_stage, installed).items()
        },
        "stage_aims": _keys(tally.aim, AIM_KEYS),
        "stage_aims_by_stage": {
            k: _keys(c, AIM_KEYS) for k, c in _stage_order(tally.aim_by_stage, installed).items()
        },
        "working_days_to_resolve": _to_resolve(tally.to_resolve),
        "child_voice": _keys(tally.voice, VOICE_KEYS),
        "escalated": tally.escalated,
        "rates": _rates(tally, sum(by["by_protocol"].values())),
    }
    if tally.children is not None:
        data["children"] = tally.children
    return data


def _stage_order(values: Mapping[str, Any], installed: Mapping[str, Protocol]) -> dict[str, Any]:
    """``PROTOCOL:STAGE`` keys in protocol order, then each protocol's stage order."""

    def key(k: str) -> tuple[str, int, str]:
        slug, _, stage = k.partition(":")
        proto = installed.get(slug)
        at = proto.index(stage) if proto is not None and proto.has_stage(stage) else 999
        return (slug, at, stage)

    return {k: values[k] for k in sorted(values, key=key)}


def build(
    t: Tracker,
    p: Period,
    *,
    protocol: str | None = None,
    category: str | None = None,
    owner: str | None = None,
    team: str | None = None,
    with_children: bool = False,
    year: int | None = None,
) -> dict[str, Any]:
    """The report over ``p``: every figure, and the headline figures of the period before."""
    filters = {"protocol": protocol, "category": category, "owner": owner, "team": team}
    sc = scope(t, p, **filters)
    data: dict[str, Any] = {
        "title": (
            f"IRO annual report {year}/{(year + 1) % 100:02d}"
            if year is not None
            else "Dispute resolution: quality-assurance report"
        ),
        "from": iso(p.first),
        "to": iso(p.last),
        "on": iso(p.on),
        "on_is": p.judged,
        "filters": {
            "protocol": sc.protocol,
            "category": sc.category,
            "owner": sc.owner,
            "team": sc.team,
        },
    }
    before = p.previous()
    prev_scope = replace(sc, first=before.first, last=min(before.last, before.on))
    installed = t.protocols.protocols
    tallies, act = _tallies(t, [(sc, p), (prev_scope, before)], with_children)
    (now, by), (then, by_then) = tallies
    data.update(_figures(now, by, installed))
    data["activity"] = _activity_figures(act, data["concerns"], installed)
    longest = [item for *_, item in sorted(act.open_days, key=lambda x: x[:2])[:LONGEST]]
    if with_children:
        data["longest_open"] = longest
    data["names"] = names(data, installed)
    prev = _figures(then, by_then, installed)
    data["previous_period"] = {
        "from": iso(before.first),
        "to": iso(before.last),
        "on": iso(before.on),
        **{k: prev[k] for k in HEADLINE},
        "escalated": prev["escalated"],
        "rates": prev["rates"],
    }
    return data


# -- names for people ------------------------------------------------------------------------
def month_words(month: str) -> str:
    """A month of the report (``YYYY-MM``) as people write it: "November 2026"."""
    day = dt.date.fromisoformat(f"{month}-01")
    return f"{day:%B %Y}"


#: A day of the report (ISO) as people write it: "6 December 2026"; "-" for none.
day_words = in_words


def protocol_name(p: Protocol, installed: Mapping[str, Protocol]) -> str:
    """A protocol by its authority's name ("West Sussex County Council"); where two installed
    protocols share an authority, with the protocol's own title after it ("Nottinghamshire
    County Council, IRO Dispute Resolution Process (NSCB 11.3.4)")."""
    shared = sum(1 for other in installed.values() if other.authority == p.authority) > 1
    return f"{p.authority}, {p.title}" if shared else p.authority


def names(data: Mapping[str, Any], installed: Mapping[str, Protocol]) -> dict[str, Any]:
    """The words for the slugs and months a report's figures are keyed by, from the protocol
    files and the themes (their titles): ``protocols`` (slug: authority), ``stages``
    (``PROTOCOL:STAGE``: the stage's title), ``themes`` and ``issues`` (slug: title or text)
    and ``months`` (``YYYY-MM``: "November 2026"). A slug no protocol or theme knows any
    more keeps its slug."""
    from drp_cli.domain.protocols import themes

    keys: set[str] = set()
    for key in ("furthest_stage", "stage_deadlines_by_stage", "stage_aims_by_stage"):
        keys.update(data[key])
    keys.update(data["activity"]["open_at_end_by_stage"])
    for item in data.get("longest_open", []):
        if item["stage"]:
            keys.add(item["stage"])
    filters = data["filters"]
    slugs = {k.partition(":")[0] for k in keys} | set(data["by_protocol"])
    if filters["protocol"]:
        slugs.add(filters["protocol"])
    for item in data.get("children", []):
        slugs.add(item["protocol"])
    protocols = {
        slug: protocol_name(installed[slug], installed) if slug in installed else slug
        for slug in sorted(slugs)
    }
    stages = {}
    for key in sorted(keys):
        slug, _, stage = key.partition(":")
        proto = installed.get(slug)
        stages[key] = proto.stage(stage).title if proto and proto.has_stage(stage) else stage
    all_themes = themes().themes
    theme_words = {t.slug: t.title for t in all_themes}
    issue_words: dict[str, str] = {}
    for theme in all_themes:
        for issue in theme.issues:
            issue_words.setdefault(issue.slug, issue.text)
    return {
        "protocols": protocols,
        "stages": stages,
        "themes": {
            k: theme_words.get(k, k)
            for k in [*data["by_theme"], *filter(None, [filters["category"]])]
        },
        "issues": {k: issue_words.get(k, k) for k in data["by_issue"]},
        "months": {m: month_words(m) for m in data["by_month"]},
    }


def scope_words(data: Mapping[str, Any]) -> str:
    """The report's filters in words: "protocol West Sussex County Council, team North"
    (the text report and the HTML page say the same)."""
    f = data["filters"]
    bits = []
    if f["protocol"]:
        bits.append(f"protocol {named(data, 'protocol', f['protocol'])}")
    if f["category"]:
        bits.append(f"theme {named(data, 'theme', f['category'])}")
    bits += [f"{k} {f[k]}" for k in ("owner", "team") if f[k]]
    return ", ".join(bits) or "all concerns"


def named(data: Mapping[str, Any], table: str, key: str) -> str:
    """A table's key (a slug, ``PROTOCOL:STAGE`` or month) in words, from ``data["names"]``:
    a stage is "Authority: stage title"."""
    words = data["names"]
    if table in ("by_protocol", "protocol"):
        return str(words["protocols"].get(key, key))
    if table in ("by_theme", "theme"):
        return str(words["themes"].get(key, key))
    if table in ("by_issue", "issue"):
        return str(words["issues"].get(key, key))
    if table in ("by_month", "month"):
        return str(words["months"].get(key, key))
    if table == "stage":
        slug = key.partition(":")[0]
        return f"{words['protocols'].get(slug, slug)}: {words['stages'].get(key, key)}"
    return key


# -- flat tables, for a pivot table ----------------------------------------------------------
def _csv(header: list[str], rows: list[list[Any]]) -> str:
    """A CSV file whose text cells no spreadsheet runs as a formula (a team, an owner or a
    child reference starting ``=``, ``+``, ``-``, ``@``, a tab or CR gets a leading ``'``,
    as ``drp export`` does: :func:`drp_cli.core.textsafe.neutralise_cell`)."""
    import csv
    import io

    from drp_cli.core.textsafe import neutralise_cell

    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    for row in (header, *rows):
        out.writerow([neutralise_cell(v) if isinstance(v, str) else v for v in row])
    return buf.getvalue()


def _headline_rows(period_name: str, d: Mapping[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [[period_name, "concerns", "", d["concerns"]]]
    for figure in HEADLINE[1:]:
        value = d[figure]
        if isinstance(value, dict):
            rows += [[period_name, figure, k, "" if v is None else v] for k, v in value.items()]
        else:
            rows.append([period_name, figure, "", value])
    return rows


def csv_files(data: Mapping[str, Any]) -> dict[str, str]:
    """One flat CSV per table of the report (``summary.csv``: every headline figure of this
    period and the one before, one per row), by file name."""
    prev = data["previous_period"]
    files = {
        "summary.csv": _csv(
            ["period", "figure", "part", "value"],
            [
                ["report", "from", "", data["from"]],
                ["report", "to", "", data["to"]],
                ["report", "on", "", data["on"]],
                ["report", "on_is", "", data["on_is"]],
                ["previous", "from", "", prev["from"]],
                ["previous", "to", "", prev["to"]],
                ["previous", "on", "", prev["on"]],
                *_headline_rows("report", data),
                *_headline_rows("previous", prev),
            ],
        ),
    }
    files["rates.csv"] = _csv(
        ["period", "rate", "count", "of", "percent", "of what"],
        [
            [name, key, r["count"], r["of"], "" if r["percent"] is None else r["percent"],
             RATE_WORDS[key][1]]
            for name, d in (("report", data), ("previous", prev))
            for key, r in d["rates"].items()
        ],
    )  # fmt: skip
    act = data["activity"]
    files["activity.csv"] = _csv(
        ["figure", "part", "value"],
        [
            [k, p, "" if n is None else n]
            for k, v in act.items()
            for p, n in (v.items() if isinstance(v, dict) else [("", v)])
        ],
    )
    for key, label in TABLES.items():
        if key == "furthest_stage":  # below, with the protocol and the stage apart
            continue
        files[f"{key}.csv"] = _csv([label, "concerns"], [[k, v] for k, v in data[key].items()])
    files["by_month_split.csv"] = _csv(
        ["month", "informal", "formal"],
        [[m, c["informal"], c["formal"]] for m, c in data["by_month_split"].items()],
    )
    files["furthest_stage.csv"] = _csv(
        ["protocol", "stage", "concerns"],
        [[*k.split(":", 1), v] for k, v in data["furthest_stage"].items()],
    )
    for key, keys in (("stage_deadlines_by_stage", FIRM_KEYS), ("stage_aims_by_stage", AIM_KEYS)):
        files[f"{key}.csv"] = _csv(
            ["protocol", "stage", "result", "visits"],
            [[*k.split(":", 1), r, c[r]] for k, c in data[key].items() for r in keys],
        )
    if "children" in data:
        columns = [
            "id",
            "external_ref",
            "child",
            "protocol",
            "category",
            "opened_on",
            "status",
            "closed_on",
            "furthest_stage",
            "formal",
            "referred_to_cafcass_on",
        ]
        files["concerns.csv"] = _csv(
            columns, [["" if r[c] is None else r[c] for c in columns] for r in data["children"]]
        )
    if "longest_open" in data:
        columns = ["id", "external_ref", "child", "protocol", "stage", "opened_on",
                   "working_days_open"]  # fmt: skip
        files["longest_open.csv"] = _csv(
            columns,
            [["" if r[c] is None else r[c] for c in columns] for r in data["longest_open"]],
        )
    return files
