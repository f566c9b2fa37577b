"""`drp list`'s table (not ``--json``) as a use case, kept light.

The table shows of each concern its id, child, protocol, stage, status, stage and formal
deadlines, flags, addressees, owner and summary. The library's way to it
(:meth:`drp_cli.services.tracker.Tracker.concerns`, then each view's whole JSON shape,
:func:`drp_cli.domain.views.concern_dict`) reads every column, makes a view and forty keys a
concern, and loads the fold, the hash chain and the protocols to do it: ten times the work
of the table itself. This reads only the columns the table shows and judges
(:mod:`drp_cli.store.listing`), and works out what many concerns share (their protocol,
route, stage, status, deadlines and the child's voice: :class:`Shown`) once for each
distinct set of them: the deadlines judged by the one rule
(:func:`drp_cli.domain.judgement.passed_on`), what of the child's voice is missing by the one
rule (:func:`drp_cli.domain.judgement.voice_missing`), whom the stage is addressed to and
what a route is about from the morning check's cache of the protocols
(:func:`drp_cli.services.morning.protocol_table`: they are loaded only when one of their
files changed). tests/test_w2_list_lean.py holds the table to the library's way, byte for
byte, on a varied record.
"""

from __future__ import annotations

import datetime as dt
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from drp_cli.core.dates import parse_date, today
from drp_cli.core.errors import InvalidInput, ProtocolFileError, fld
from drp_cli.domain.judgement import passed_on, voice_missing, wishes_state
from drp_cli.services.morning import addressees_in, owner_filter, protocol_table, text_filter
from drp_cli.store import daily, listing
from drp_cli.store.connection import MalformedValue, Store
from drp_cli.store.listing import (
    CHILD,
    ID,
    OWNER,
    PROTOCOL,
    ROUTE,
    SHARED,
    STAGE,
    STATUS,
    SUMMARY,
    TOLD_OUTCOME,
    WISHES,
    WISHES_ANYWHERE,
)

if TYPE_CHECKING:
    from drp_cli.domain.calendar import WorkingCalendar
    from drp_cli.services.morning import ProtocolTable

#: Every status drp writes (a list may ask for ``all``)
STATUSES = daily.STATUSES


class Shown(NamedTuple):
    """What `drp list`'s table shows of a concern but its id, child, owner and summary: the
    values of its JSON shape (:func:`drp_cli.domain.views.concern_dict`) of the same names;
    ``overdue_by`` is ``working_days_overdue`` where ``overdue``, else 0."""

    protocol: str
    stage: str
    status: str
    deadline: str | None
    formal_deadline: str | None
    overdue_by: int
    past_aim: bool
    past_guidance: bool
    referred_to_cafcass_on: str | None
    missing: tuple[str, ...]
    addressed_to: list[str] | tuple[str, ...] | None


#: A row of the table: the concern's id, child, what it shares with others, owner, summary.
TableRow = tuple[int, str, Shown, str | None, str]


class _Clocks(NamedTuple):
    """A concern's status and three stored deadlines with their kinds, as the judgement
    reads them (:func:`drp_cli.domain.judgement.passed_on`)."""

    status: str
    deadline: dt.date | None
    deadline_kind: str | None
    step_deadline: dt.date | None
    step_deadline_kind: str | None
    formal_deadline: dt.date | None
    formal_deadline_kind: str | None


def table_rows(
    store: Store,
    *,
    status: str | None = "open",
    child: str | None = None,
    raised_by: str | None = None,
    owner: str | None = None,
    mine: bool = False,
    team: str | None = None,
    opened_from: str | None = None,
    opened_to: str | None = None,
    overdue: bool = False,
    on: str | None = None,
) -> list[TableRow]:
    """The concerns `drp list` shows, by id, judged on ``on`` (default today); the filters
    as :meth:`~drp_cli.services.tracker.Tracker.concerns` takes them, refused in its order
    and words. ``overdue``: only those with a firm deadline passed on ``on``."""
    judged = parse_date(on, fld("on")) if overdue and on is not None else None
    if overdue and judged is None:
        judged = today()
    where: dict[str, Any] = {}
    if status is not None and status != "all":
        if status not in STATUSES:
            raise InvalidInput(f"unknown status {status!r}; allowed: {', '.join(STATUSES)}, all")
        where["status"] = status
    if child is not None:
        where["child"] = child.strip()
    folded = {
        name: value
        for name, value in (
            ("raised_by", text_filter(raised_by, "raised_by")),
            ("owner", owner_filter(owner, mine)),
            ("team", text_filter(team, "team")),
        )
        if value is not None
    }
    first = parse_date(opened_from, fld("opened_from")) if opened_from is not None else None
    last = parse_date(opened_to, fld("opened_to")) if opened_to is not None else None
    if first is not None and last is not None and first > last:
        raise InvalidInput(f"{fld('opened_from')} is after {fld('opened_to')}")
    filters = listing.Filters(where, folded, first, last, open_only=judged is not None)
    with store.read() as conn:
        rows = listing.listed(conn, filters)
        if not rows:
            return []
        shapes = _Shapes(daily.calendar(conn), conn.is_sqlite)
        if judged is not None:  # a firm deadline passed on the day (the judgement's rule)
            rows = [r for r in rows if shapes.passed(r, judged)["firm"]]
            if not rows:
                return []
        shapes.facts = protocol_table()
        asked = listing.wishes_asked(rows)
        recorded = (
            listing.with_wishes(conn, filters)
            if asked and any(map(itemgetter(WISHES_ANYWHERE), rows))
            else []
        )
    shapes.day = judged if judged is not None else (
        parse_date(on, fld("on")) if on is not None else today()
    )  # fmt: skip
    return shapes.table(rows, recorded, asked)


class _Shapes:
    """What listed concerns share, worked out once for each distinct set of it."""

    def __init__(self, cal: WorkingCalendar, is_sqlite: bool) -> None:
        self.cal = cal
        self.is_sqlite = is_sqlite
        self.facts: ProtocolTable = {"names": {}, "routes": {}}
        self.day = dt.date.min
        self.deadlines: dict[tuple[Any, ...], listing.Deadlines] = {}
        self.judged: dict[tuple[Any, ...], dict[str, int]] = {}
        self.about: dict[tuple[str, str | None], tuple[str, bool]] = {}

    def checked(self, row: tuple[Any, ...]) -> listing.Deadlines:
        """The row's dates as ISO text and its kinds, checked (:func:`listing.checked`)."""
        key = row[SHARED:]
        found = self.deadlines.get(key)
        if found is None:
            found = self.deadlines[key] = listing.checked(row, self.is_sqlite)
        return found

    def passed(self, row: tuple[Any, ...], day: dt.date) -> dict[str, int]:
        """Working days each kind of the row's deadlines is passed by on ``day``
        (:func:`drp_cli.domain.judgement.passed_on`), judged once for each distinct set."""
        d = self.checked(row)
        key = (row[STATUS] == "open", d, day)
        found = self.judged.get(key)
        if found is None:
            clocks = _Clocks(row[STATUS], _day(d.deadline), d.deadline_kind,
                             _day(d.step_deadline), d.step_deadline_kind,
                             _day(d.formal_deadline), d.formal_deadline_kind)  # fmt: skip
            found = self.judged[key] = passed_on(self.cal, clocks, day)
        return found

    def subject(self, protocol: str, route: str | None) -> tuple[str, bool]:
        """What a concern on ``route`` is about (child, carer, chair; a protocol or route
        not installed: a child), and whether the child's voice is asked for
        (:meth:`~drp_cli.services.tracker.Tracker.subject_of`, over the kept routes)."""
        found = self.about.get((protocol, route))
        if found is None:
            kept = self.facts["routes"].get(protocol)
            r = _route(kept, route) if kept is not None else None
            found = (r[1], r[2]) if r is not None else ("child", True)
            self.about[protocol, route] = found
        return found

    def table(
        self, rows: list[tuple[Any, ...]], recorded: list[listing.WithWishes], asked: bool
    ) -> list[TableRow]:
        """The table's rows: each concern's own values, and what it shares with others
        (``asked``: whether the rows hold ``wishes_anywhere``, :func:`listing.wishes_asked`)."""
        # the child as a unit: which children (by reference and subject) hold wishes and
        # feelings recorded on any of their concerns; a redacted reference is nobody's, and
        # joins no two children (Tracker._same_child)
        ids = {w.id for w in recorded}
        sought: set[tuple[str, str]] = set()
        redacted = ""
        if recorded:
            from drp_cli.domain.lifecycle import REDACTED

            redacted = REDACTED
            sought = {(self.subject(w.protocol, w.route)[0], w.child) for w in recorded
                      if w.child != redacted}  # fmt: skip
        shown: dict[tuple[Any, ...], Shown] = {}
        out: list[TableRow] = []
        for row in rows:
            key: tuple[Any, ...] = row[SHARED:]
            recorded_here = False
            # only where it is asked may the child's other concerns hold wishes
            if asked and row[WISHES_ANYWHERE]:
                recorded_here = row[ID] in ids or (
                    row[CHILD] != redacted
                    and (self.subject(row[PROTOCOL], row[ROUTE])[0], row[CHILD]) in sought
                )
                key = (key, recorded_here)
            found = shown.get(key)
            if found is None:
                found = shown[key] = self.shown(row, recorded_here)
            out.append((row[ID], row[CHILD], found, row[OWNER], row[SUMMARY]))
        return out

    def shown(self, row: tuple[Any, ...], wishes_recorded: bool) -> Shown:
        """What the table shows of ``row`` but its own values: its words checked as
        :func:`drp_cli.domain.views.check_stored` checks every view (the same errors), its
        deadlines judged, what of the child's voice is missing, and whom the stage is
        addressed to (as :meth:`drp_cli.domain.protocols.Protocol.stage_for` has it)."""
        d = self.checked(row)
        protocol, route, stage, status = row[PROTOCOL], row[ROUTE], row[STAGE], row[STATUS]
        cid = row[ID]
        if status not in STATUSES:
            raise MalformedValue(f"concern {cid}", "concern", "status")
        names = self.facts["names"].get(protocol)
        if names is None:
            raise ProtocolFileError(
                f"concern {cid}: its stored concern.protocol names no installed protocol (if "
                "its protocol file was removed, put the file back in the protocols folder)"
            )
        if "@" in stage or stage not in names:
            raise MalformedValue(f"concern {cid}", "concern", "stage")
        routes = self.facts["routes"][protocol]
        on_route = _route(routes, route)
        if route is not None and on_route is None:
            raise MalformedValue(f"concern {cid}", "concern", "route")
        late = self.passed(row, self.day)
        _, child_voice = self.subject(protocol, route)
        missing = voice_missing(wishes_state(row[WISHES], wishes_recorded), status,
                                row[TOLD_OUTCOME], child_voice)  # fmt: skip
        addressed = addressees_in(self.facts, protocol, stage, route)
        return Shown(protocol, stage, status, d.deadline, d.formal_deadline,
                     late["firm"], late["aim"] > 0, late["guidance"] > 0, d.referred_on,
                     tuple(missing), addressed)  # fmt: skip


def _day(text: str | None) -> dt.date | None:
    """A date :func:`drp_cli.store.listing.checked` gave as ISO text."""
    return dt.date.fromisoformat(text) if text is not None else None


def _route(routes: list[tuple[str, str, bool]], slug: str | None) -> tuple[str, str, bool] | None:
    """:meth:`drp_cli.domain.protocols.Protocol.route_or_none` over the kept routes: the
    route ``slug``, the first for none, None for a route the protocol does not have."""
    if not slug:
        return routes[0]
    for r in routes:
        if r[0] == slug:
            return r
    return None
