"""drp report, issue 32 (wave 6): the report of a year at 100,000 concerns is made faster (each
stored day read once, each distinct details text decoded once, fewer columns, less made a
concern at a time) and every figure stays exactly as it was.

The report as it was made before (``drp_cli/services/report.py`` and
``drp_cli/store/reportsql.py`` at ca56956) is kept here, frozen, as the oracle: its SQL, its
per-concern fold and its tallies. A seeded record rich in what a report counts (five
protocols and their routes, escalations, responses, referrals, the child's voice, due dates,
steps, retractions, amended and redacted references, holds, reopenings, withdrawals,
resolutions in and outside the year) is reported both ways and the JSON compared, on every
engine the suite runs on. A malformed stored day or details text is refused both ways with
the same error (exit 4), never counted or skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import msgspec
import pytest

from drp_cli.core.dates import iso
from drp_cli.core.errors import DrpError
from drp_cli.domain import lifecycle, views
from drp_cli.domain.lifecycle import Fact
from drp_cli.domain.views import ConcernView
from drp_cli.services import corrections, details, report, retention
from drp_cli.services.report import (
    _ACTIVITY_KEYS,
    _WISHES,
    AIM_RESULTS,
    FIRM_RESULTS,
    OPEN_BANDS,
    Activity,
    Period,
    Tally,
)
from drp_cli.services.tracker import Tracker
from drp_cli.store import reportsql
from drp_cli.store.connection import Conn, Row
from drp_cli.store.reportsql import SKIPPED_KINDS, Scope, active_where

if TYPE_CHECKING:
    from drp_cli.domain.calendar import WorkingCalendar
    from drp_cli.domain.protocols import Protocol


# -- the report as it was made before (frozen: the oracle) ----------------------------------------
def old_concern_rows(conn: Conn, scope: Scope, active: dt.date | None = None) -> list[Row]:
    clause, params = scope.where()
    if active is not None:
        more, extra = active_where(active)
        clause, params = f"{clause} AND {more}", [*params, *extra]
    return conn.records(
        "SELECT id, protocol, child, external_ref, category, issue, route, role, owner, team, "
        f"opened_on FROM concern WHERE {clause} ORDER BY id",
        params,
    )


EVENT_COLUMNS = ("concern_id", "seq", "kind", "effective_on", "stage", "details")


def old_events(
    conn: Conn, scope: Scope, on: dt.date, active: dt.date | None = None
) -> list[tuple[Any, ...]]:
    clause, params = scope.where("c")
    if active is not None:
        more, extra = active_where(active, alias="c")
        clause, params = f"{clause} AND {more}", [*params, *extra]
    skipped = ", ".join("?" for _ in SKIPPED_KINDS)
    return conn.rows(
        f"SELECT {', '.join('e.' + c for c in EVENT_COLUMNS)} "
        f"FROM concern c CROSS JOIN event e WHERE e.concern_id = c.id AND {clause} "
        f"AND e.kind NOT IN ({skipped}) "
        "AND (e.effective_on <= ? OR e.kind IN ('opened', 'imported', 'retracted')) "
        "ORDER BY c.id",
        [*params, *SKIPPED_KINDS, on],
    )


def old_grouped(rows: list[tuple[Any, ...]]) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    current: int | None = None
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        cid = row[0]
        if cid != current:
            if current is not None:
                yield current, batch
            current, batch = cid, []
        batch.append(row)
    if current is not None:
        yield current, batch


_NO_DETAILS = ("{}", "", None)
_OPENING = ("opened", "imported", "retracted")
_VISITS = (*lifecycle.STAGE_ENTRIES, "reopened", "response")


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


@dataclass
class _Concern:
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
    out (for the tally and the activity alike)."""

    facts: list[_Event]
    state: lifecycle.ConcernState
    view: ConcernView
    visits: list[dict[str, Any]]
    kept: bool | str | None = "unknown"


def _details(concern_id: int, raw: str | bytes) -> dict[str, Any]:
    """An event's stored details (JSON, decoded fast); what drp never writes (not JSON, or
    JSON that is no object) is the store's MalformedValue (exit 4), naming the concern."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        value = None
    if not isinstance(value, dict):
        from drp_cli.store.connection import MalformedValue

        raise MalformedValue(f"concern {concern_id}", "event", "details")
    return value


def _fold(
    evs: list[tuple[Any, ...]], protocol: Protocol | None, cal: WorkingCalendar, on: dt.date
) -> _Folded:
    """Fold a concern's events (rows of :func:`drp_cli.store.reportsql.events`) in effect on
    ``on``."""
    facts = [
        _Event(seq, kind, day, stage, {} if raw in _NO_DETAILS else _details(cid, raw))
        for cid, seq, kind, day, stage, raw in evs
        if day <= on or kind in _OPENING
    ]
    state = lifecycle.fold(cast(list[Fact], facts), {protocol.slug: protocol} if protocol else {},
                           cal)  # fmt: skip
    gone = state.retracted
    # the events stage_visits reads (it is given the state, so it does not fold again)
    concern = _Concern(state.status, state.closed_on, state.wishes,
                       [f for f in facts if f.kind in _VISITS and f.seq not in gone],
                       route=state.route, formal_deadline=state.formal_deadline,
                       formal_deadline_kind=state.formal_deadline_kind)  # fmt: skip
    view = cast(ConcernView, concern)
    visits = views.stage_visits(view, protocol, cal, on, state) if state.visits else []
    live = [f for f in facts if f.seq not in gone] if gone else facts
    return _Folded(live, state, view, visits)


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
    row: Mapping[str, Any],
    folded: _Folded,
    protocol: Protocol | None,
    order: Mapping[str, int],
    cal: WorkingCalendar,
) -> None:
    """Add up what one concern's events in effect on the tally's day show."""
    on = tally.period.on
    state, view, visits = folded.state, folded.view, folded.visits
    status = state.status
    tally.status[status] += 1
    slug = row["protocol"]
    furthest = _furthest(order, [v["stage"] for v in visits]) if visits else None
    if furthest is not None:
        tally.furthest[f"{slug}:{furthest}"] += 1
    formal = state.formal_started_on is not None
    opened = state.opened_on or row["opened_on"]
    if any(e.kind == "escalated" for e in folded.facts):
        tally.escalated += 1
    if status == "resolved":
        if formal:
            tally.resolved_formally += 1
        else:
            tally.resolved_informally += 1
        tally.to_resolve.append(cal.working_days_between(opened, state.closed_on or opened))
        tally.kept[kept_to_time(folded, cal, on)] += 1
    if state.referred_on is not None:
        tally.referrals += 1
    for v in visits:
        result, kind = v["result"], v["timescale_kind"]
        if kind == "firm" and result in FIRM_RESULTS:
            tally.firm[FIRM_RESULTS[result]] += 1
            tally.firm_by_stage[f"{slug}:{v['stage']}"][FIRM_RESULTS[result]] += 1
        elif kind == "aim" and result in AIM_RESULTS:
            tally.aim[AIM_RESULTS[result]] += 1
            tally.aim_by_stage[f"{slug}:{v['stage']}"][AIM_RESULTS[result]] += 1
    route = protocol.route_or_none(row["route"]) if protocol else None
    if route is not None and not route.child_voice:
        tally.voice["not_applicable"] += 1
    else:
        wishes = views.child_wishes(view)  # this concern's own record, as of the day
        tally.voice[_WISHES.get(wishes or "", "not_recorded")] += 1
    if state.told_outcome == "told":
        tally.voice["told_outcome"] += 1
    month = row["opened_on"].isoformat()[:7]
    tally.month_split[month]["formal" if formal else "informal"] += 1
    if tally.children is not None:
        tally.children.append(
            {
                "id": row["id"],
                "external_ref": row["external_ref"],
                "child": row["child"],
                "protocol": slug,
                "category": row["category"],
                "opened_on": iso(row["opened_on"]),
                "status": status,
                "closed_on": iso(state.closed_on),
                "furthest_stage": furthest,
                "formal": formal,
                "referred_to_cafcass_on": iso(state.referred_on),
            }
        )


#: What "activity in the period" counts: the events of each kind dated in the period.


def _activity(
    act: Activity, row: Mapping[str, Any], folded: _Folded, cal: WorkingCalendar, names: bool
) -> None:
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
        act.kept[kept_to_time(folded, cal, last)] += 1
    if state.status != "open":
        return
    act.open_at_end += 1
    opened = state.opened_on or row["opened_on"]
    if opened < first:
        act.open_opened_before += 1
    if state.stage:
        act.open_by_stage[f"{row['protocol']}:{state.stage}"] += 1
    days = cal.working_days_between(opened, last)
    act.open_bands[next(k for k, top in OPEN_BANDS if top is None or days <= top)] += 1
    if names:
        item = {
            "id": row["id"],
            "external_ref": row["external_ref"],
            "child": row["child"],
            "protocol": row["protocol"],
            "stage": f"{row['protocol']}:{state.stage}" if state.stage else None,
            "opened_on": iso(opened),
            "working_days_open": days,
        }
        act.open_days.append((-days, row["id"], item))


def old_tallies(
    t: Tracker, scopes: list[tuple[Scope, Period]], with_children: bool
) -> tuple[list[tuple[Tally, dict[str, dict[str, int]]]], Activity]:
    """Each period's tally and counts by recorded field, in one pass over the events of
    them all (the periods do not overlap), and the first period's activity: what happened
    in its days (to its judging day, if earlier) to any concern in its filters."""
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
    with t.store.read(snapshot=True) as conn:
        counts = [reportsql.counts_by(conn, s) for s, _ in scopes]
        rows = {r["id"]: r for r in old_concern_rows(conn, whole)}
        evs = old_events(conn, whole, latest)
        earlier = {r["id"]: r for r in old_concern_rows(conn, before, active)}
        earlier_evs = old_events(conn, before, act.last, active) if earlier else []
    which = {}
    orders: dict[str, dict[str, int]] = {}
    for cid, row in rows.items():
        for i, (s, _) in enumerate(scopes):
            if s.first <= row["opened_on"] <= s.last:
                which[cid] = i

    def order(slug: str) -> dict[str, int]:
        if slug not in orders:
            proto = installed.get(slug)
            orders[slug] = {st: i for i, st in enumerate(proto.stage_slugs)} if proto else {}
        return orders[slug]

    for cid, group in old_grouped(evs):
        if cid in which:
            row = rows[cid]
            proto = installed.get(row["protocol"])
            tally = tallies[which[cid]]
            folded = _fold(group, proto, cal, tally.period.on)
            _one(tally, row, folded, proto, order(row["protocol"]), cal)
            if which[cid] == 0:  # opened in the period: its activity too, as of its end
                if act.last != tally.period.on:
                    folded = _fold(group, proto, cal, act.last)
                _activity(act, row, folded, cal, with_children)
    for cid, group in old_grouped(earlier_evs):
        row = earlier[cid]
        proto = installed.get(row["protocol"])
        _activity(act, row, _fold(group, proto, cal, act.last), cal, with_children)
    return list(zip(tallies, counts, strict=True)), act


# -- a record rich in what a report counts ------------------------------------------------------
#: (protocol, route, role, subject) of the concerns opened: every protocol drp ships, the carer
#: and chair routes whose child's voice does not apply among them
KINDS_OF_CONCERN = [
    ("west-sussex", None, None, None),
    ("knowsley", None, None, None),
    ("nottinghamshire-2016", None, None, None),
    ("nottinghamshire-crp", "child", None, None),
    ("nottinghamshire-crp", "partner-agency", None, None),
    ("nottinghamshire-crp", "foster-carer", "fciro", "carer"),
    ("nottinghamshire-crp", "social-care", "social-care", "chair"),
    ("sbc-fciro", "carer", "fciro", "carer"),
]
CATEGORIES = ["general", "statutory", "care-plan", "service"]
TEAMS = [None, "North", "South"]
OWNERS = [None, "Ann Other", "Bo Smith"]


def _try(step: Any, *args: Any, **kw: Any) -> bool:
    """Do one step of the history; a step drp refuses (it would not be recorded) is left out."""
    try:
        step(*args, **kw)
    except DrpError:
        return False
    return True


def rich_record(t: Tracker, seed: int, concerns: int = 48) -> None:
    """``concerns`` concerns opened from January 2023 to December 2025, each with a seeded
    history of up to nine steps, some days apart."""
    rng = random.Random(seed)
    for n in range(concerns):
        protocol, route, role, subject = rng.choice(KINDS_OF_CONCERN)
        day = dt.date(2023, 1, 2) + dt.timedelta(days=rng.randrange(0, 1090))
        try:
            c = t.open(protocol=protocol, child=f"CH-{n % 17}", category=rng.choice(CATEGORIES),
                       summary=f"Concern {n}", route=route, role=role, subject=subject,
                       team=rng.choice(TEAMS), owner=rng.choice(OWNERS), on=day.isoformat(),
                       stage=rng.choice([None, None, None, "stage-2"]),
                       reason="Immediate safety")  # fmt: skip
        except DrpError:
            c = t.open(protocol=protocol, child=f"CH-{n % 17}", category="general",
                       summary=f"Concern {n}", route=route, role=role, subject=subject,
                       on=day.isoformat())  # fmt: skip
        cid = c.id
        for _ in range(rng.randrange(0, 10)):
            day += dt.timedelta(days=rng.choice([0, 1, 2, 3, 5, 8, 13, 30, 90]))
            if day > dt.date(2026, 6, 30):
                break
            on = day.isoformat()
            step = rng.randrange(19)
            if step < 3:
                _try(t.escalate, cid, on=on)
            elif step < 6:
                _try(t.respond, cid, text="Reply", respondent="TM", on=on)
            elif step == 6:
                _try(t.refer, cid, text="Why now", on=on)
            elif step == 7:
                _try(t.record_voice, cid, rng.choice(["wishes-sought", "told-outcome"]), on=on)
            elif step == 8:
                _try(t.record_voice, cid, rng.choice(["wishes-not-sought", "not-told-outcome"]),
                     text="Too young", on=on)  # fmt: skip
            elif step in (9, 10):
                if step == 9:
                    _try(t.resolve, cid, outcome="Done", on=on)
                else:
                    _try(t.withdraw, cid, reason="In error", on=on)
                if rng.random() < 0.3:  # reopened later
                    day += dt.timedelta(days=rng.choice([0, 4, 40]))
                    _try(corrections.reopen, t, cid, reason="Not done", on=day.isoformat())
            elif step == 11:
                _try(corrections.reopen, t, cid, reason="Not done after all", on=on)
            elif step == 12:  # the latest entry, taken back
                last = t.get(cid).events[-1].seq
                _try(corrections.retract, t, cid, last, reason="In error", on=on)
            elif step == 13:
                _try(t.set_due, cid, day + dt.timedelta(days=rng.randrange(1, 20)),
                     reason="Agreed", on=on)  # fmt: skip
            elif step == 14:
                _try(corrections.amend, t, cid, {"child": f"CH-A{n}"}, reason="Typo", on=on)
            elif step == 15:  # a name typed as the reference, redacted from the opening
                _try(corrections.redact, t, cid, 1, ["child"], reason="A name")
            elif step == 16:
                _try(retention.hold, t, cid, reason="Litigation", on=on)
                _try(retention.unhold, t, cid, reason="Settled", on=on)
            elif step == 17:
                _try(details.add, t, cid, "wishes", text="To stay", how="Visit", on=on)
            else:
                _try(corrections.assign, t, cid, to="Cy Jones", team="East", reason="Leave",
                     on=on)  # fmt: skip


#: The reports compared: the local-authority years (judged on their last day, the one
#: before them also counted), a year judged part-way, a month judged after its end (its
#: activity then folded as of another day than its figures), and each filter.
REPORTS: list[dict[str, Any]] = [
    {"year": 2023},
    {"year": 2024},
    {"year": 2025},
    {"year": 2024, "on": "2024-12-20"},
    {"first": "2024-11-01", "last": "2024-11-30", "on": "2025-02-03"},
    {"first": "2025-01-01", "last": "2025-06-30"},
    {"year": 2024, "protocol": "knowsley"},
    {"year": 2024, "team": "north"},
    {"year": 2025, "owner": "Ann Other", "category": "statutory"},
]


def both_ways(t: Tracker, monkeypatch: pytest.MonkeyPatch, with_children: bool,
              year: int | None = None, first: str | None = None, last: str | None = None,
              on: str | None = None, **filters: str) -> tuple[str, str]:  # fmt: skip
    """The report's JSON made now and as it was made before."""
    p = report.period(first, last, on, year=year, today=t.today())

    def made() -> str:
        data = report.build(t, p, with_children=with_children, year=year, **filters)
        return json.dumps(data, indent=2)

    now = made()
    with monkeypatch.context() as m:
        m.setattr(report, "_tallies", old_tallies)
        before = made()
    return now, before


#: The report made in one process, and shared with a second (forked) one from the first event
IN_ONE, IN_TWO = 10**9, 1


@pytest.fixture(autouse=True)
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two cores, whatever this machine lets the test use (the report shares its work only
    on two): on one (a runner of one core, ``taskset -c 0``) IN_TWO made the report in one
    process, and the second process's half was never tested."""
    monkeypatch.setattr(report, "_cores", lambda: 2)


@pytest.mark.parametrize("seed, parallel_from", [(3, IN_ONE), (11, IN_ONE), (11, IN_TWO)])
def test_every_figure_as_before_on_a_rich_record(tracker, sql, monkeypatch, seed, parallel_from):
    monkeypatch.setattr(report, "PARALLEL_FROM", parallel_from)
    rich_record(tracker, seed)
    kinds = {k for (k,) in sql("SELECT DISTINCT kind FROM event")}
    assert {"escalated", "response", "referred", "resolved", "withdrawn", "reopened",
            "retracted", "due-set", "amended", "redacted", "held", "hold-lifted",
            "wishes-added", "assigned", "wishes-sought", "told-outcome"} <= kinds  # fmt: skip
    counted = 0
    for spec in REPORTS:
        for with_children in (False, True):
            now, before = both_ways(tracker, monkeypatch, with_children, **spec)
            assert now == before, spec
        counted += json.loads(now)["concerns"]
    assert counted > 60  # the reports count something


@pytest.mark.parametrize("parallel_from", [IN_ONE, IN_TWO])
def test_a_year_of_the_same_days_as_before(tracker, monkeypatch, parallel_from):
    """Many concerns opened the same days, with the same histories: what each fold shares
    (stored days, details texts, working days between two days) is shared, not mixed up."""
    monkeypatch.setattr(report, "PARALLEL_FROM", parallel_from)
    for n in range(30):
        opened = f"2024-0{4 + n % 3}-01"
        c = tracker.open(protocol=["knowsley", "west-sussex"][n % 2], child=f"CH-{n}",
                         category="statutory", summary="Same", on=opened)  # fmt: skip
        if n % 3:
            tracker.escalate(c.id, on=f"2024-0{4 + n % 3}-09")
        if n % 15 == 0:  # the day it was opened: none of the working days the others take
            tracker.resolve(c.id, outcome="Done", on=opened)
        elif n % 4:
            tracker.resolve(c.id, outcome="Done", on=f"2024-0{5 + n % 3}-02")
    now, before = both_ways(tracker, monkeypatch, True, year=2024)
    assert now == before
    assert json.loads(now)["concerns"] == 30


def _refusal(t: Tracker, monkeypatch: pytest.MonkeyPatch, oracle: bool) -> str:
    p = report.period(None, None, None, year=2024, today=t.today())
    with monkeypatch.context() as m:
        if oracle:
            m.setattr(report, "_tallies", old_tallies)
        with pytest.raises(DrpError) as refused:
            report.build(t, p, year=2024)
    return f"{type(refused.value).__name__}: {refused.value}"


@pytest.mark.parametrize(
    "table, column, value, where, who",
    [
        ("event", "effective_on", "2024-06-31", "e.concern_id = 2 AND e.seq = 2", 2),
        ("event", "effective_on", "2024-W23-1", "e.concern_id = 2 AND e.seq = 2", 2),
        ("event", "effective_on", "1066-10-14", "e.concern_id = 3 AND e.seq = 1", 3),
        ("event", "effective_on", "2024-06-03x", "e.concern_id = 3", 3),
        ("event", "effective_on", 20240603, "e.concern_id = 1 AND e.seq = 1", 1),
        ("event", "details", "{bad", "e.concern_id = 3 AND e.kind = 'response'", 3),
        ("event", "details", "[1, 2]", "e.concern_id = 1 AND e.kind = 'escalated'", 1),
        # the first concern's refusal, wherever each is folded
        ("event", "details", "{bad", "e.concern_id IN (1, 3) AND e.kind = 'response'", 1),
        ("event", "details", "{bad", "e.concern_id IN (2, 3) AND e.kind = 'response'", 2),
        ("concern", "opened_on", "2024-06-31", "e.id = 3", 3),
        ("concern", "opened_on", "2024-6-3", "e.id = 1", 1),
    ],
)
@pytest.mark.parametrize("parallel_from", [IN_ONE, IN_TWO])
def test_a_malformed_stored_value_is_refused_as_before(
    tracker, db_path, sql, drp, monkeypatch, table, column, value, where, who, parallel_from
):
    """Each stored day and details text a report reads, malformed: refused as it was before
    (the same error, exit 4, naming the row and column), never counted or skipped; a day
    read once for many rows (the same stored text twice) is refused all the same. Made in
    two processes, a malformed value in the second one's half is refused as in one."""
    monkeypatch.setattr(report, "PARALLEL_FROM", parallel_from)
    for n in range(3):
        c = tracker.open(protocol="knowsley", child=f"CH-{n}", category="statutory",
                         summary="S", on="2024-06-03")  # fmt: skip
        tracker.escalate(c.id, on="2024-06-12")
        tracker.respond(c.id, text="R", respondent="TM", on="2024-06-13")
    sql(f"UPDATE {table} AS e SET {column} = :v WHERE {where}", v=value)
    refused = _refusal(tracker, monkeypatch, oracle=False)
    assert refused == _refusal(tracker, monkeypatch, oracle=True)
    assert refused.startswith(
        f"MalformedValue: the database is damaged (concern {who}: its stored {table}.{column} "
        "is not a value drp writes)"
    )
    r = drp("report", "--year", "2024", "--json")
    assert (r.exit_code, r.stdout) == (4, "")
    assert r.stderr == f"Error: {refused.partition(': ')[2]}\n"


def test_the_second_process_folds_its_half(tracker, monkeypatch):
    """In two processes, this one folds only the first half of the concerns; where the
    second one sends nothing back (here it fails), this one folds its half too: the same
    figures either way."""
    for n in range(12):
        c = tracker.open(protocol="west-sussex", child=f"CH-{n}", category="statutory",
                         summary="S", on=f"2024-05-{n + 1:02d}")  # fmt: skip
        tracker.resolve(c.id, outcome="Done", on=f"2024-06-{n + 1:02d}")
    alone = json.dumps(report.build(tracker, report.period(None, None, None, year=2024), year=2024))
    folds: list[int] = []
    fold = report._fold

    def counted(*args: Any) -> Any:
        folds.append(1)
        return fold(*args)

    monkeypatch.setattr(report, "_fold", counted)
    monkeypatch.setattr(report, "PARALLEL_FROM", IN_TWO)
    shared = report.build(tracker, report.period(None, None, None, year=2024), year=2024)
    assert json.dumps(shared) == alone
    assert 0 < len(folds) < 12  # the others in the second process
    folds.clear()

    here = os.getpid()

    def fails_there(*args: Any) -> Any:  # the second process fails at its first fold
        if os.getpid() != here:
            raise RuntimeError("the helper fails")
        return counted(*args)

    monkeypatch.setattr(report, "_fold", fails_there)
    again = report.build(tracker, report.period(None, None, None, year=2024), year=2024)
    assert json.dumps(again) == alone
    assert len(folds) == 12


def test_no_second_process_to_be_had(tracker, monkeypatch):
    """Where the system starts no process (fork fails: none or no memory left), this one
    folds every concern, in order: the same figures."""
    for n in range(9):
        c = tracker.open(protocol="knowsley", child=f"CH-{n}", category="statutory",
                         summary="S", on=f"2024-07-{n + 1:02d}")  # fmt: skip
        if n % 2:
            tracker.resolve(c.id, outcome="Done", on=f"2024-08-{n + 1:02d}")
    p = report.period(None, None, None, year=2024)
    alone = json.dumps(report.build(tracker, p, year=2024, with_children=True))

    def no_fork() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(report, "PARALLEL_FROM", IN_TWO)
    assert json.dumps(report.build(tracker, p, year=2024, with_children=True)) == alone
