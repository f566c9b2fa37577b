"""Deadlines as an iCalendar file (RFC 5545, written with the icalendar library) for Outlook
and other calendars: one all-day event per open concern's current stage deadline, and one for
its firm deadline for the whole formal process (not for the IRO Handbook's guidance).

Each event's UID is made from the concern's own uid (kept by export and import) and which
deadline it is, so importing a newer file updates an event rather than adding a second one
(its SEQUENCE, the number of events the concern has, only grows). An event names the
concern by its id, protocol and stage; the child's reference only with ``with_children``
(a calendar is often shared or synced to a phone). icalendar is imported only here.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

from drp_cli.adapters.outpaths import (
    GENERATOR,
    WriteResult,
    check_output,
    protected_paths,
    write_file,
)
from drp_cli.domain.views import ConcernView
from drp_cli.render.documents import stage_title
from drp_cli.services.tracker import Tracker

PRODID = f"-//{GENERATOR}//drp deadlines//EN"
UID_DOMAIN = "drp-cli"


@dataclass(frozen=True)
class Deadline:
    """One event: which concern, which deadline (stage or formal), the day and how firm."""

    concern_id: int
    uid: str
    which: str  # stage | formal
    day: dt.date
    kind: str | None  # firm | aim (stage); firm (formal)


#: what a stage's date is for (drp_cli.domain.protocols.PURPOSES), as a calendar names it
_PURPOSE_NOUNS = {
    "respond": "response",
    "resolve": "resolution",
    "meeting": "meeting",
    "act": "action",
    "discuss": "discussion",
}


def deadlines(views: list[ConcernView]) -> list[Deadline]:
    """The deadlines a calendar shows for ``views``: each open concern's current stage
    deadline (firm or aim), and its formal deadline when it is firm."""
    out = []
    for v in views:
        if v.status != "open":
            continue
        base = v.uid or f"concern-{v.id}"
        if v.deadline is not None:
            out.append(Deadline(v.id, f"{base}-stage@{UID_DOMAIN}", "stage", v.deadline,
                                v.deadline_kind))  # fmt: skip
        if v.formal_deadline is not None and v.formal_deadline_kind == "firm":
            out.append(Deadline(v.id, f"{base}-formal@{UID_DOMAIN}", "formal", v.formal_deadline,
                                "firm"))  # fmt: skip
    return out


def calendar(
    t: Tracker,
    *,
    owner: str | None = None,
    mine: bool = False,
    team: str | None = None,
    with_children: bool = False,
) -> tuple[bytes, int]:
    """The iCalendar file of the open concerns' deadlines (``owner``'s, yours with ``mine``,
    ``team``'s), and how many events it holds."""
    import icalendar

    views = t.concerns(status="open", owner=owner, mine=mine, team=team, with_events=True)
    by_id = {v.id: v for v in views}
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "drp deadlines")
    stamp = t.moment().astimezone(dt.UTC)
    found = deadlines(views)
    for d in found:
        v = by_id[d.concern_id]
        protocol = t.protocols.protocols.get(v.protocol)
        stage = stage_title(v.stage, protocol) if protocol is not None else v.stage
        who = f"{v.child}, concern {v.id}" if with_children else f"concern {v.id}"
        if d.which == "stage":
            stage_as = (
                protocol.stage_for(v.stage, v.route)
                if protocol is not None and protocol.has_stage(v.stage)
                else None
            )
            # what the date is for, as the source says: a response, a resolution, a meeting
            clock = stage_as.clock if stage_as is not None else None
            noun = _PURPOSE_NOUNS.get(clock.purpose if clock is not None else "", "response")
            summary = f"DRP {noun} due ({'aim' if d.kind == 'aim' else 'deadline'}): {who}"
            how = "the protocol's aim" if d.kind == "aim" else "a firm deadline"
            lines = [f"The {noun} at the {stage} is due ({how})."]
            if stage_as is not None:
                lines.append("Addressed to: " + "; ".join(stage_as.addressee_names))
        else:
            summary = f"DRP formal process limit: {who}"
            lines = [
                "The whole formal dispute resolution process should end by this day (the IRO "
                "Handbook's guidance, which the protocol quotes)."
                if d.kind == "guidance"
                else "The whole formal dispute resolution process must end by this day."
            ]
        if protocol is not None:
            lines.append(f"Protocol: {protocol.title} ({protocol.authority}).")
        if v.owner:
            lines.append(f"Owner: {v.owner}.")
        lines.append(f"In drp: drp show {v.id}")
        event: Any = icalendar.Event()
        event.add("uid", d.uid)
        event.add("dtstamp", stamp)
        event.add("sequence", len(v.events))
        event.add("dtstart", d.day)
        event.add("dtend", d.day + dt.timedelta(days=1))
        event.add("summary", summary)
        event.add("description", "\n".join(lines))
        event.add("categories", ["DRP"])
        event.add("transp", "TRANSPARENT")
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical(), len(found)


def write(
    t: Tracker, output: str | os.PathLike[str], *, force: bool = False, **options: Any
) -> tuple[WriteResult, int]:
    """Write the calendar to ``output`` (never over the database; ``force`` replaces only a
    document drp wrote)."""
    protected = protected_paths(t.store)
    check_output(output, protected, force=force, kind="file", what="calendar file")
    content, count = calendar(t, **options)
    written = write_file(output, content, protected=protected, force=force, what="calendar file")
    return written, count
