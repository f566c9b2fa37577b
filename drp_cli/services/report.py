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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import msgspec

from drp_cli.core.dates import iso, parse_date
from drp_cli.core.dates import today as _today
from drp_cli.core.errors import InvalidInput, fld
from drp_cli.domain import lifecycle, views
from drp_cli.domain.lifecycle import Fact
from drp_cli.domain.views import ConcernView
from drp_cli.store import reportsql
from drp_cli.store.reportsql import Scope

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
    ``to``): "as the record stood on 2026-12-06, today (the period runs to 2027-03-31, so
    its figures are not final)"."""
    on, last, how = data["on"], data["to"], data.get("on_is", "given")
    said = f"as the record stood on {on}"
    if how == "today":
        return f"{said}, today (the period runs to {last}, so its figures are not final)"
    if on == last:
        return f"{said}, the period's last day"
    if on < last:  # ISO dates compare as text
        return f"{said} (the period runs to {last}, so its figures are not final)"
    return f"{said}, after the period's end on {last}"


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
    """What ``stage_visits`` and ``child_wishes`` read of a concern, as of the day: its
    status, closing day, own record of the child's wishes, the events that count and its
    route."""

    status: str
    closed_on: dt.date | None
    wishes: str | None
    live_events: list[_Event]
    wishes_recorded_on: tuple[int, ...] | None = None
    route: str | None = None  # the stage as the concern's route has it


def _one(
    tally: Tally,
    row: Mapping[str, Any],
    evs: list[tuple[Any, ...]],
    protocol: Protocol | None,
    order: Mapping[str, int],
    cal: WorkingCalendar,
) -> None:
    """Fold one concern's events in effect on the tally's day and add up what they show."""
    on = tally.period.on
    decode = msgspec.json.decode
    facts = [
        _Event(seq, kind, day, stage, {} if raw in _NO_DETAILS else decode(raw))
        for _, seq, kind, day, stage, raw in evs
        if day <= on or kind in _OPENING
    ]
    state = lifecycle.fold(cast(list[Fact], facts), {protocol.slug: protocol} if protocol else {},
                           cal)  # fmt: skip
    gone = state.retracted
    # the events stage_visits reads (it is given the state, so it does not fold again)
    concern = _Concern(state.status, state.closed_on, state.wishes,
                       [f for f in facts if f.kind in _VISITS and f.seq not in gone],
                       route=state.route)  # fmt: skip
    view = cast(ConcernView, concern)
    visits = views.stage_visits(view, protocol, cal, on, state) if state.visits else []
    status = state.status
    tally.status[status] += 1
    slug = row["protocol"]
    furthest = _furthest(order, [v["stage"] for v in visits]) if visits else None
    if furthest is not None:
        tally.furthest[f"{slug}:{furthest}"] += 1
    formal = state.formal_started_on is not None
    opened = state.opened_on or row["opened_on"]
    if status == "resolved":
        if formal:
            tally.resolved_formally += 1
        else:
            tally.resolved_informally += 1
        tally.to_resolve.append(cal.working_days_between(opened, state.closed_on or opened))
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
) -> list[tuple[Tally, dict[str, dict[str, int]]]]:
    """Each period's tally and counts by recorded field, in one pass over the events of
    them all (the periods do not overlap)."""
    cal = t.calendar()
    installed = t.protocols.protocols
    tallies = [Tally(p) for _, p in scopes]
    if with_children:
        tallies[0].children = []
    whole = replace(
        scopes[0][0], first=min(s.first for s, _ in scopes), last=max(s.last for s, _ in scopes)
    )
    latest = max(p.on for _, p in scopes)
    with t.store.read(snapshot=True) as conn:
        counts = [reportsql.counts_by(conn, s) for s, _ in scopes]
        rows = {r["id"]: r for r in reportsql.concern_rows(conn, whole)}
        evs = reportsql.events(conn, whole, latest)
    which = {}
    orders: dict[str, dict[str, int]] = {}
    for cid, row in rows.items():
        for i, (s, _) in enumerate(scopes):
            if s.first <= row["opened_on"] <= s.last:
                which[cid] = i
    for cid, group in reportsql.grouped(evs):
        if cid in which:
            row = rows[cid]
            proto = installed.get(row["protocol"])
            if row["protocol"] not in orders:
                orders[row["protocol"]] = (
                    {st: i for i, st in enumerate(proto.stage_slugs)} if proto else {}
                )
            _one(tallies[which[cid]], row, group, proto, orders[row["protocol"]], cal)
    return list(zip(tallies, counts, strict=True))


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
    (now, by), (then, by_then) = _tallies(t, [(sc, p), (prev_scope, before)], with_children)
    data.update(_figures(now, by, installed))
    prev = _figures(then, by_then, installed)
    data["previous_period"] = {
        "from": iso(before.first),
        "to": iso(before.last),
        "on": iso(before.on),
        **{k: prev[k] for k in HEADLINE},
    }
    return data


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
    return files
