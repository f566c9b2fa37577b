"""The retention schedule: how long a closed concern is kept, and when it is due for disposal.

drp ships no period as law: the council sets its schedule in the config, and drp applies
it. ``retention_years`` is the period after a concern was closed; ``retention_by_route``
and ``retention_by_role`` override it for a route or for the role the concern was raised in
(``slug=YEARS`` pairs separated by semicolons, e.g. ``child-protection=35``). The rule
(:func:`rule_for`):

* an override replaces the default (it may be shorter: that is the council's decision);
* where both a route's and a role's override apply, the longer one applies (the record is
  kept until both are satisfied; on a tie, the role's);
* where nothing applies (no ``retention_years`` and no override), the concern is never due.

A concern is due for disposal (:func:`due`) when it is closed (resolved or withdrawn), not
under a legal hold (``drp hold``: :mod:`drp_cli.domain.lifecycle`), and the day judged is on
or after its disposal date: the day it was closed, ``years`` later (29 February's
anniversary in a common year is 1 March: never earlier than the period).

A purge leaves a tombstone (:func:`tombstone_detail`, :func:`tombstone_hash`): a link of the
record's hash chain saying what was removed (the concerns' ids, the rule each went under,
how many events, items, attachment rows and files), when, by whom, and the chain positions
the removed events held (``gaps``: each run of positions with the hash before it and the
hash of its last link), so that ``drp verify`` walks past exactly those positions and checks
everything else. No personal data: no reference, summary or text. (The hashes of removed
links are already in the chain: each ``gap`` ends where a remaining link's ``prev_hash``
points, or where the tombstone's own does.)

Pure: no database, no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from drp_cli.core.config import MAX_YEARS  # the longest period (config set checks it too)
from drp_cli.core.digests import sha256_hex
from drp_cli.core.errors import InvalidInput, fld
from drp_cli.core.plainclass import Frozen, set_fields
from drp_cli.domain.chain import moment_text as _moment  # the chain's one rule

#: The settings the schedule is read from (``drp config set KEY VALUE``).
YEARS, BY_ROUTE, BY_ROLE = "retention_years", "retention_by_route", "retention_by_role"
SETTINGS = (YEARS, BY_ROUTE, BY_ROLE)
#: The statuses of a closed concern.
CLOSED = ("resolved", "withdrawn")


class Rule(Frozen):
    """One rule of the schedule: the setting that gives it, the route or role it is for
    (None for ``retention_years``), and the period in years."""

    setting: str
    name: str | None
    years: int

    _fields = (
        "setting",
        "name",
        "years",
    )

    def __init__(
        self,
        setting: str,
        name: str | None,
        years: int,
    ) -> None:
        set_fields(
            self,
            setting=setting,
            name=name,
            years=years,
        )

    def __str__(self) -> str:
        where = f":{self.name}" if self.name is not None else ""
        return f"{self.setting}{where}={self.years}"


class Schedule(Frozen):
    """The council's schedule, as the config gives it."""

    years: int | None
    by_route: Mapping[str, int]
    by_role: Mapping[str, int]

    _fields = (
        "years",
        "by_route",
        "by_role",
    )

    def __init__(
        self,
        years: int | None = None,
        by_route: Mapping[str, int] | None = None,
        by_role: Mapping[str, int] | None = None,
    ) -> None:
        set_fields(
            self,
            years=years,
            by_route={} if by_route is None else by_route,
            by_role={} if by_role is None else by_role,
        )

    @property
    def empty(self) -> bool:
        return self.years is None and not self.by_route and not self.by_role


def _years(value: Any, setting: str) -> int:
    text = str(value).strip()
    if type(value) is bool or not (text.isascii() and text.isdigit()):
        raise InvalidInput(
            f"{fld('value')} for {setting} is a whole number of years, 1 to {MAX_YEARS}"
        )
    years = int(text)
    if not 1 <= years <= MAX_YEARS:
        raise InvalidInput(
            f"{fld('value')} for {setting} is a whole number of years, 1 to {MAX_YEARS}"
        )
    return years


def parse_years(value: Any) -> int | None:
    """``retention_years`` as the config holds it (None: not set)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _years(value, YEARS)


def parse_overrides(value: Any, setting: str) -> dict[str, int]:
    """``slug=YEARS`` pairs separated by semicolons (None or empty: none)."""
    if value is None:
        return {}
    if not isinstance(value, str):
        raise InvalidInput(f"{fld('value')} for {setting} is text: slug=YEARS; slug=YEARS")
    out: dict[str, int] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        name, eq, years = part.partition("=")
        name = name.strip()
        if not eq or not name or any(c.isspace() for c in name):
            raise InvalidInput(
                f"{fld('value')} for {setting} is slug=YEARS pairs separated by semicolons, "
                "e.g. child-protection=35; stage-2=20"
            )
        if name in out:
            raise InvalidInput(f"{fld('value')} for {setting} names {name!r} twice")
        out[name] = _years(years, setting)
    return out


def schedule(values: Mapping[str, Any]) -> Schedule:
    """The schedule from the settings (``values``: the config's, by key)."""
    return Schedule(
        years=parse_years(values.get(YEARS)),
        by_route=parse_overrides(values.get(BY_ROUTE), BY_ROUTE),
        by_role=parse_overrides(values.get(BY_ROLE), BY_ROLE),
    )


def rule_for(plan: Schedule, route: str | None, role: str | None) -> Rule | None:
    """The rule that applies to a concern on ``route`` raised in ``role`` (see the module's
    docstring); None: no rule applies, the concern is kept."""
    overrides = []
    if role is not None and role in plan.by_role:
        overrides.append(Rule(BY_ROLE, role, plan.by_role[role]))
    if route is not None and route in plan.by_route:
        overrides.append(Rule(BY_ROUTE, route, plan.by_route[route]))
    if overrides:
        return max(overrides, key=lambda r: r.years)  # the first (the role's) on a tie
    if plan.years is not None:
        return Rule(YEARS, None, plan.years)
    return None


def disposal_date(closed_on: dt.date, years: int) -> dt.date:
    """The day a concern closed on ``closed_on`` is due for disposal, ``years`` on: the
    same day and month (29 February in a common year: 1 March)."""
    year = closed_on.year + years
    try:
        return closed_on.replace(year=year)
    except ValueError:  # 29 February
        return dt.date(year, 3, 1)


class Closed(Frozen):
    """What the schedule reads of a concern."""

    id: int
    status: str
    closed_on: dt.date | None
    route: str | None
    role: str | None
    held: bool

    _fields = (
        "id",
        "status",
        "closed_on",
        "route",
        "role",
        "held",
    )

    def __init__(
        self,
        id: int,
        status: str,
        closed_on: dt.date | None,
        route: str | None,
        role: str | None,
        held: bool = False,
    ) -> None:
        set_fields(
            self,
            id=id,
            status=status,
            closed_on=closed_on,
            route=route,
            role=role,
            held=held,
        )


class Due(Frozen):
    """A concern past its period: when it was closed, the rule, and its disposal date."""

    id: int
    closed_on: dt.date
    rule: Rule
    due_for_disposal_on: dt.date

    _fields = (
        "id",
        "closed_on",
        "rule",
        "due_for_disposal_on",
    )

    def __init__(
        self,
        id: int,
        closed_on: dt.date,
        rule: Rule,
        due_for_disposal_on: dt.date,
    ) -> None:
        set_fields(
            self,
            id=id,
            closed_on=closed_on,
            rule=rule,
            due_for_disposal_on=due_for_disposal_on,
        )

    def to_dict(self) -> dict[str, Any]:
        """As ``drp retention --json`` lists it (these four keys, exactly)."""
        return {
            "id": self.id,
            "closed_on": self.closed_on.isoformat(),
            "rule": str(self.rule),
            "due_for_disposal_on": self.due_for_disposal_on.isoformat(),
        }


def judged(plan: Schedule, c: Closed) -> Due | None:
    """The concern's disposal (past its period or not) when it is closed and a rule
    applies; None when it is open, or kept because no rule applies."""
    if c.status not in CLOSED or c.closed_on is None:
        return None
    rule = rule_for(plan, c.route, c.role)
    if rule is None:
        return None
    return Due(c.id, c.closed_on, rule, disposal_date(c.closed_on, rule.years))


def due(plan: Schedule, concerns: Iterable[Closed], on: dt.date) -> tuple[list[Due], list[Due]]:
    """The concerns past their period on ``on``: (due for disposal, kept under a legal
    hold), each by id."""
    out: list[Due] = []
    held: list[Due] = []
    for c in sorted(concerns, key=lambda c: c.id):
        found = judged(plan, c)
        if found is None or found.due_for_disposal_on > on:
            continue
        (held if c.held else out).append(found)
    return out, held


# -- the tombstone ------------------------------------------------------------------------------
#: A run of chain positions a purge removed: (first, last, hash before first, hash of last).
Gap = tuple[int, int, str, str]


def gaps(links: Sequence[tuple[int, str, str]]) -> list[Gap]:
    """The runs of consecutive positions among ``links`` (position, hash before, hash),
    each with the hash before its first link and the hash of its last."""
    out: list[list[Any]] = []
    for seq, prev, digest in sorted(links):
        if out and out[-1][1] == seq - 1:
            out[-1][1], out[-1][3] = seq, digest
        else:
            out.append([seq, seq, prev, digest])
    return [(a, b, before, after) for a, b, before, after in out]


def tombstone_detail(purged: Sequence[Due], counts: Mapping[str, int], files: int,
                     links: Sequence[tuple[int, str, str]]) -> dict[str, Any]:  # fmt: skip
    """What a tombstone records of a purge (no personal data)."""
    return {
        "concerns": [d.id for d in purged],
        "rules": {str(d.id): str(d.rule) for d in purged},
        "events": int(counts.get("event", 0)),
        "items": int(counts.get("item", 0)),
        "attachments": int(counts.get("attachment", 0)),
        "files": files,
        "gaps": [list(g) for g in gaps(links)],
    }


def _detail(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def tombstone_json(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """A tombstone as a link of the chain (``"entry": "purge"`` tells it apart)."""
    on = row["purged_on"]
    return json.dumps(
        {
            "by": row["by"],
            "chain_seq": chain_seq,
            "detail": _detail(row["detail"]),
            "entry": "purge",
            "prev_hash": prev_hash,
            "purged_on": on.isoformat() if isinstance(on, dt.date) else str(on)[:10],
            "recorded_at": _moment(row["recorded_at"]),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def tombstone_hash(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    return sha256_hex(tombstone_json(row, chain_seq, prev_hash))


def tombstone_gaps(row: Mapping[str, Any]) -> list[Gap]:
    """The gaps a stored tombstone records (none when its detail is not what drp writes:
    its own hash then fails)."""
    try:
        found = _detail(row["detail"]).get("gaps", [])
        return [(int(a), int(b), str(x), str(y)) for a, b, x, y in found]
    except (ValueError, TypeError, AttributeError):
        return []


__all__ = [
    "BY_ROLE",
    "BY_ROUTE",
    "CLOSED",
    "MAX_YEARS",
    "SETTINGS",
    "YEARS",
    "Closed",
    "Due",
    "Gap",
    "Rule",
    "Schedule",
    "disposal_date",
    "due",
    "gaps",
    "judged",
    "parse_overrides",
    "parse_years",
    "rule_for",
    "schedule",
    "tombstone_detail",
    "tombstone_gaps",
    "tombstone_hash",
    "tombstone_json",
]
