"""The morning check as a use case (``drp overdue``), kept light.

It runs every morning, often from cron, so it loads only what it needs: the connection, the
morning check's queries (:mod:`drp_cli.store.daily`), the working-day calendar and the
overdue rule with the judgement it stands on (:mod:`drp_cli.domain.overdue`); the protocols
are read only when there is a line to say whom a stage is addressed to, and the rest of the
library (the fold, the chain, the views) not at all. :meth:`drp_cli.services.tracker.Tracker.
overdue` is this, for the library's callers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from drp_cli.core.errors import DatabaseError, InvalidInput, fld
from drp_cli.domain.calendar import WorkingCalendar
from drp_cli.domain.overdue import OverdueItem, check_within, horizon, overdue_items, stale_before
from drp_cli.store import daily
from drp_cli.store.connection import Store

if TYPE_CHECKING:
    from typing import TypedDict

    from drp_cli.services.subject_access import DueRequest


def text_filter(value: str | None, name: str) -> str | None:
    """A name to filter on, as it was stored (stripped); empty is refused."""
    if value is None:
        return None
    text = value.strip()  # as the name was stored: stripped (drp_cli.core.textsafe.clean_line)
    if not text:
        raise InvalidInput(f"{fld(name)} is empty")
    return text


def owner_filter(owner: str | None, mine: bool) -> str | None:
    """The owner a filter names: ``owner``, or with ``mine`` the configured you."""
    if mine and owner is not None:
        raise InvalidInput(f"give {fld('owner')} or {fld('mine')}, not both")
    if mine:
        from drp_cli.services.tracker import current_user

        return current_user()
    return text_filter(owner, "owner")


def check(
    store: Store,
    day: dt.date,
    *,
    within: int = 0,
    owner: str | None = None,
    mine: bool = False,
    team: str | None = None,
    no_deadline_after: int | None = None,
    addressees: Callable[[str, str, str | None], Sequence[str]] | None = None,
) -> tuple[list[OverdueItem], WorkingCalendar]:
    """The morning check on ``day`` (see :mod:`drp_cli.domain.overdue`), and the calendar it
    was judged with: open concerns' clocks passed or due that day (with ``within`` > 0, due
    within that many working days), recommended actions past their due date, and stages
    sitting with no deadline for ``no_deadline_after`` working days (default: the config's,
    10); only the concerns ``owner`` (or ``mine``: the configured you) owns, and ``team``'s,
    whatever the case. An ``owner`` or ``team`` naming nobody drp knows (no concern's, no
    staff directory entry's) is refused with the closest names, and a database with no
    concern at all is :class:`DatabaseError`: never an empty check. ``addressees`` names
    whom a protocol's stage is addressed to (default: the installed protocols)."""
    check_within(within)
    filters = {
        name: value
        for name, value in (("owner", owner_filter(owner, mine)),
                            ("team", text_filter(team, "team")))
        if value is not None
    }  # fmt: skip
    if no_deadline_after is None:
        from drp_cli.core import config

        no_deadline_after = config.load().no_deadline_after
    elif no_deadline_after < 1:
        raise InvalidInput(f"{fld('no_deadline_after')} must be 1 or more working days")
    with store.read() as conn:
        cal = daily.calendar(conn)
        rows = daily.overdue_rows(conn, horizon(cal, day, within),
                                  stale_before(day, no_deadline_after), filters)  # fmt: skip
        actions = daily.action_rows(conn, filters)
        if not rows and not actions:  # an empty record, a misspelt name: no all-clear
            if not daily.has_concerns(conn):
                raise DatabaseError(
                    f"no concerns are recorded in {store.label}: nothing can be "
                    "overdue, and there is nothing to check (a new or emptied database, "
                    "or the wrong one: check --db / DRP_DB)"
                )
            for name, value in filters.items():
                if name == "owner" and daily.recorded_a_waiting_request(conn, value):
                    continue  # they answer a request: their check lists it
                if not (name == "owner" and mine):
                    from drp_cli.services.staff import refuse_unknown

                    refuse_unknown(conn, name, value)
    items = overdue_items(rows, cal, day, within, actions=actions,
                          no_deadline_after=no_deadline_after,
                          addressees=addressees or installed_addressees)  # fmt: skip
    return items, cal


def requests_due(
    store: Store,
    day: dt.date,
    cal: WorkingCalendar,
    *,
    within: int = 0,
    owner: str | None = None,
    mine: bool = False,
    team: str | None = None,
) -> list[DueRequest]:
    """The subject access requests the morning check lists (issue 31 item 3): those not yet
    answered and due by the check's horizon (``day``, or ``within`` working days on, counted
    on the concerns' calendar ``cal``), the overdue ones included, soonest due first. With
    ``owner`` (or ``mine``), only the requests that person recorded; with ``team``, only
    those recorded by someone the staff directory puts in that team (a request has no
    owner: who recorded it answers it). One query, and where no request is waiting for an
    answer (most mornings) nothing else is loaded: the requests' modules (their hash chain,
    their dataclasses) cost the check a tenth of ``import typer``."""
    who = owner_filter(owner, mine)
    group = text_filter(team, "team")
    with store.read() as conn:
        if not daily.requests_waiting(conn):  # none open: none of them can be listed
            return []
        from drp_cli.services.subject_access import due_requests

        return due_requests(conn, day, until=horizon(cal, day, within), recorded_by=who,
                            team=group)  # fmt: skip


def installed_addressees(protocol: str, stage: str, route: str | None = None) -> list[str]:
    """Whom an installed protocol's stage is addressed to, as a concern on ``route`` has the
    stage (none for a protocol not installed), from :func:`protocol_table`: a concern with
    no route is on the protocol's first (:meth:`drp_cli.domain.protocols.Protocol.
    route_or_none`), whose own addressees, if it has any, are the stage's for it."""
    return addressees_in(protocol_table(), protocol, stage, route)


def addressees_in(table: ProtocolTable, protocol: str, stage: str, route: str | None) -> list[str]:
    """:func:`installed_addressees` from a :func:`protocol_table` already read (list's table
    reads it once for all its rows)."""
    stages = table["names"].get(protocol, {})
    if not route:
        routes = table["routes"].get(protocol)
        route = routes[0][0] if routes else None
    found = stages.get(f"{stage}@{route}") if route else None
    return list(found if found is not None else stages.get(stage, []))


#: The protocols' facts the morning check and `drp list`'s table read, by the files' signature
_TABLES: dict[str, ProtocolTable] = {}
#: the shape of addressees.json: ``names``, names by protocol, then stage, or "stage@route"
#: where a route addresses the stage to others; ``routes``, each protocol's routes in its
#: order (the first is a concern's with no route): [slug, subject, child_voice]
CACHE_VERSION = 3


if TYPE_CHECKING:  # (a class made at import would cost the morning check)

    class ProtocolTable(TypedDict):
        """What :func:`protocol_table` keeps of the installed protocols (see
        :data:`CACHE_VERSION`)."""

        names: dict[str, dict[str, list[str]]]
        routes: dict[str, list[tuple[str, str, bool]]]


def protocol_table() -> ProtocolTable:
    """Whom each installed protocol's stages are addressed to, by protocol and stage, and
    each protocol's routes. The protocols themselves are loaded (and checked) only when one
    of their files changed since drp last did: what is kept of them is in the cache folder
    beside the bank holidays, with the size and time of every protocol file it was read
    from. Every answer is the registry's own (:meth:`drp_cli.domain.protocols.Protocol.
    stage_for`, :attr:`~drp_cli.domain.protocols.Protocol.all_routes`), kept."""
    import json

    from drp_cli.core.files import cache_dir, write_private
    from drp_cli.domain.protocol_files import signature

    files = [list(f) for f in signature()]
    key = json.dumps(files)
    table = _TABLES.get(key)
    if table is not None:
        return table
    path = cache_dir() / "addressees.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if (cached.get("v") == CACHE_VERSION and cached.get("files") == files
                and isinstance(cached.get("names"), dict)
                and isinstance(cached.get("routes"), dict)):  # fmt: skip
            table = _TABLES[key] = {
                "names": cached["names"],
                "routes": {p: [(r[0], r[1], bool(r[2])) for r in routes]
                           for p, routes in cached["routes"].items()},
            }  # fmt: skip
            return table
    except (OSError, ValueError, AttributeError, IndexError, TypeError):
        pass
    from drp_cli.domain.protocols import registry

    table = _TABLES[key] = {"names": {}, "routes": {}}
    for slug, p in registry().protocols.items():
        names = table["names"][slug] = {s.slug: list(s.addressee_names) for s in p.stages}
        table["routes"][slug] = [(r.slug, r.subject, r.child_voice) for r in p.all_routes]
        for r in p.all_routes:  # where a route addresses a stage to others (a letter, say)
            for s in p.stages:
                own = list(p.stage_for(s.slug, r.slug).addressee_names)
                if own != names[s.slug]:
                    names[f"{s.slug}@{r.slug}"] = own
    with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
        write_private(path, json.dumps({"v": CACHE_VERSION, "files": files, **table}),
                      make_parents=True)  # fmt: skip
    return table
