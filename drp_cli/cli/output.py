"""Rendering for people (Rich) and for scripts (JSON). Rich is imported lazily.

Stored text never drives the terminal: every value from the record is shown through
:func:`drp_cli.core.textsafe.visible` (one-line fields with ``one_line=True``, so a newline in
a child reference cannot forge a row), and reaches Rich as a ``Text`` object, never as
markup (``[bold]`` in a summary is printed as it is). JSON is safe as it is (``json.dumps``
escapes control characters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from drp_cli.core.textsafe import UNSAFE_IN_LINE, visible

if TYPE_CHECKING:
    import datetime as dt

    from rich.console import Console
    from rich.text import Text

    from drp_cli.services.tracker import ConcernView, Tracker


#: Above this many rows a table is printed as plain aligned text: Rich takes seconds to lay
#: out tens of thousands of rows, and the daily check must stay quick.
PLAIN_ABOVE = 200


def plain_table(headers: list[str], rows: list[list[str]]) -> None:
    """Aligned columns, written straight to stdout (no wrapping, no colour). Every cell is
    shown as one line (:func:`visible`); a row is searched once and copied only if unsafe."""
    import sys

    search = UNSAFE_IN_LINE.search
    rows = [
        row if search(" ".join(row)) is None else [visible(c, one_line=True) for c in row]
        for row in rows
    ]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(headers)
    widths = [max(len(h), *map(len, col)) for h, col in zip(headers, columns, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row).rstrip() for row in rows]
    sys.stdout.write("\n".join(lines) + "\n")


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, emoji=False)


def print_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def judge_date(t: Tracker, on: str | None) -> dt.date:

    return t.judge_day(on)


def concern_data(
    t: Tracker, c: ConcernView, on: str | None = None, *, timeline: bool = True
) -> dict[str, Any]:
    from drp_cli.domain.views import concern_dict

    return concern_dict(
        c,
        t.protocols.protocols.get(c.protocol),
        t.calendar(),
        judge_date(t, on),
        timeline=timeline,
    )


def _esc(text: Any, *, one_line: bool = True) -> str:
    """Stored text for Rich markup: escaped, and its unsafe characters made visible."""
    from rich.markup import escape

    return escape(visible(str(text), one_line=one_line))


def _text(value: Any, *, one_line: bool = True) -> Text:
    """Stored text as a Rich ``Text``: no markup, no emoji, unsafe characters visible."""
    from rich.text import Text

    return Text(visible(str(value), one_line=one_line))


def one_line(verb: str, d: dict[str, Any]) -> None:
    """The confirmation a write command prints: what happened and what is due next."""
    parts = [f"{verb} concern {d['id']}", f"{d['protocol']} {d['stage']} ({d['stage_title']})"]
    if d["status"] != "open":
        parts.append(f"{d['status']} on {d['closed_on']}")
    else:
        parts.append(f"stage deadline {d['deadline'] or 'none (no timescale)'}")
        if d["formal_deadline"]:
            parts.append(f"formal deadline {d['formal_deadline']}")
    if d["referred_to_cafcass_on"]:
        parts.append(f"referred to CAFCASS {d['referred_to_cafcass_on']}")
    typer.echo(visible(": ".join(parts[:2]) + "; " + "; ".join(parts[2:]) + ".", one_line=True))
    for item in d["missing"]:
        typer.echo(visible(f"Note: {item}.", one_line=True))


def show(d: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    out = console()
    flag = d["status"].upper()
    if d["overdue"]:
        flag += f", OVERDUE by {d['working_days_overdue']} working day"
        flag += "s" if d["working_days_overdue"] != 1 else ""
    if d.get("past_aim"):
        flag += ", past its aim"
    if d.get("past_guidance"):
        flag += ", past the IRO Handbook's 20 working days (guidance)"
    style = "bold red" if d["overdue"] else "bold"
    out.print(
        Text.assemble(
            (visible(f"Concern {d['id']}: {flag}", one_line=True), style),
            f" (judged on {d['judged_on']})",
        )
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    category = d["category"] + (f" / {d['issue']}" if d["issue"] else "")
    subject = {"carer": "Carer household", "chair": "Chair"}.get(d.get("subject") or "", "Child")
    grid.add_row(subject, _text(d["child"]))
    if d.get("other_open_concerns"):  # the child's other open concerns
        others = d["other_open_concerns"]
        listed = ("concern " if len(others) == 1 else "concerns ") + ", ".join(map(str, others))
        grid.add_row("Also open", _text(listed))
    grid.add_row("Protocol", _text(d["protocol"] + (f" (route {d['route']})" if d.get("route")
                                                    else "")))  # fmt: skip
    grid.add_row("Category", _text(category))
    grid.add_row("Raised by", _text(f"{d['raised_by']} ({d['role']}) on {d['opened_on']}"))
    if d.get("owner"):
        grid.add_row("Owner", _text(d["owner"] + (f" ({d['team']})" if d.get("team") else "")))
    grid.add_row("Summary", _text(d["summary"], one_line=False))
    grid.add_row("Impact on child", _text(d["impact"] or "-", one_line=False))
    grid.add_row("Recommended", _text(d["recommended"] or "-", one_line=False))
    grid.add_row(
        "Stage",
        _text(
            f"{d['stage']} - {d['stage_title']}, since {d['stage_started_on']}, "
            f"deadline {d['deadline'] or 'none'}"
            + (" (an aim, not a limit)" if d.get("deadline_kind") == "aim" else "")
        ),
    )
    if d.get("next_step"):
        step = d["next_step"]
        grid.add_row("Next step", _text(f"{step['title']} ({step['slug']}), due {step['due']}"))
    formal = (
        f"started {d['formal_started_on']}, deadline {d['formal_deadline']} ({d['formal_result']})"
        + (" - IRO Handbook guidance" if d.get("formal_deadline_kind") == "guidance" else "")
        if d["formal_deadline"]
        else "not started"
        if d["formal_started_on"] is None
        else "no overall limit"
    )
    grid.add_row("Formal process", _text(formal))
    protocol = _protocol_of(d)
    route = protocol.route_or_none(d.get("route")) if protocol is not None else None
    if route is not None and route.guidance and protocol is not None and protocol.routes:
        grid.add_row("Route guidance", _text(f"{route.guidance} ({route.citation})",
                                             one_line=False))  # fmt: skip
    cafcass = "not referred"
    if d["referred_to_cafcass_on"]:
        cafcass = f"referred {d['referred_to_cafcass_on']}"
        officer = f" ({d['senior_officer']})" if d.get("senior_officer") else ""
        if d["senior_officer_notified_on"]:
            cafcass += f"; senior officer{officer} notified {d['senior_officer_notified_on']}"
        elif officer:
            cafcass += f"; senior officer{officer} named, date of notification NOT RECORDED"
        elif protocol is None or protocol.referral.notify_before:
            # only where the source asks for a notification before referring (000 §1.2
            # para 4, 003): knowsley and west-sussex ask none (issue 28 finding 13)
            cafcass += "; senior officer NOT RECORDED AS NOTIFIED"
    grid.add_row("CAFCASS", _text(cafcass))
    wishes = {"sought": "sought", "not-sought": "not sought (reason recorded)"}.get(
        d["child_wishes"] or "", "NOT RECORDED"
    )
    told = {"told": "told", "not-told": "not told (reason recorded)"}.get(
        d["child_told_outcome"] or "",
        "NOT RECORDED" if d["status"] == "resolved" else "-",
    )
    grid.add_row("Child's voice", _text(f"wishes: {wishes}; told the outcome: {told}"))
    if d["status"] != "open":
        outcome = f"{d['status']} on {d['closed_on']}: {d['outcome']}"
        grid.add_row("Outcome", _text(outcome, one_line=False))
    out.print(grid)

    stages = Table(title="Stages", title_justify="left", show_lines=False)
    for name in ("Stage", "Entered", "Deadline", "First response", "Left", "Result"):
        stages.add_column(name, overflow="fold")
    for v in d["stages"]:
        result = v["result"] + (
            f" ({v['working_days_late']} wd late)" if v["working_days_late"] else ""
        )
        bypass = f" (bypassed {', '.join(v['bypassed'])})" if v["bypassed"] else ""
        row_style = "red" if v["result"] in ("missed", "overdue") else None
        stages.add_row(
            _text(v["stage"] + bypass),
            _text(v["entered_on"]),
            _text((v["deadline"] or "-") + (" (set by IRO)" if v["due_set_by_iro"] else "")),
            _text(v["first_response_on"] or "-"),
            _text(f"{v['left_on']} ({v['left_by']})" if v["left_on"] else "-"),
            _text(result),
            style=row_style,
        )
    out.print(stages)
    _show_inside_stages(d)
    _show_documents(d)

    for c in d.get("corrections", []):
        out.print(_text(f"Correction {c['seq']} ({c['on']}, {c['by']}): {c['kind']} {c['what']}: "
                        f"{c['reason']}", one_line=False))  # fmt: skip
    events = Table(title="Events", title_justify="left")
    for name in ("#", "Date", "Event", "Stage", "By", "Details"):
        events.add_column(name, overflow="fold")
    for e in d["events"]:
        events.add_row(
            _text(str(e["seq"])),
            _text(e["on"]),
            _text(e["kind"] + (" (RETRACTED)" if e.get("retracted") else "")),
            _text(e["stage"]),
            _text(e["by"]),
            _text(event_text(e), one_line=False),
        )
    out.print(events)


def _protocol_of(d: dict[str, Any]) -> Any:
    """The concern's protocol, or None if it is no longer installed."""
    from drp_cli.domain.protocols import registry

    return registry().protocols.get(d["protocol"])


def _show_inside_stages(d: dict[str, Any]) -> None:
    """Steps of the current stage, recording duties, meetings and notices."""
    from rich.table import Table

    out = console()
    if d.get("steps"):
        steps = Table(title="Steps at this stage", title_justify="left")
        for name in ("Step", "Who", "Due", "Done", "State"):
            steps.add_column(name, overflow="fold")
        for st in d["steps"]:
            due = (st["due"] or "-") + (" (aim)" if st["kind"] == "aim" else "")
            steps.add_row(_text(st["slug"] + (" (meeting)" if st["meeting"] else "")),
                          _text(st["who"]), _text(due), _text(st["done_on"] or "-"),
                          _text(st["state"]),
                          style="red" if st["state"] == "overdue" else None)  # fmt: skip
        out.print(steps)
    if d.get("duties"):
        duties = Table(title="Recording duties", title_justify="left")
        for name in ("Stage", "Duty", "By", "Done"):
            duties.add_column(name, overflow="fold")
        for du in d["duties"]:
            done = du["done_on"] or ("if it applies" if du["conditional"] else "OUTSTANDING")
            duties.add_row(_text(du["stage"]), _text(f"{du['slug']}: {du['text']}"),
                           _text(du["who"]), _text(done))  # fmt: skip
        out.print(duties)
    for m in d.get("meetings", []):
        out.print(_text(f"Meeting {m['on']} ({m['stage']}): " + "; ".join(m["attendees"])))
    for item, reason in d.get("not_applicable", {}).items():
        out.print(_text(f"Bundle item {item}: not applicable: {reason}"))
    for note in d.get("notices", []):
        out.print(_text(f"Note: {note}."), style="yellow")


def documents_data(t: Tracker, concern_id: int) -> dict[str, Any]:
    """What the concern's documents draw on, for ``show``: its actions and the child's
    people, wishes, needs (``items``) and documents (``attachments``), each with
    ``from_concern`` where it was recorded on the child's other concern."""
    from drp_cli.services import attachments, details

    return {
        "items": [i.to_dict() for i in details.items(t, concern_id)],
        "attachments": [a.to_dict() for a in attachments.attachments(t, concern_id)],
    }


def _show_documents(d: dict[str, Any]) -> None:
    """The actions, and the child's people, wishes, needs and documents."""
    from rich.table import Table

    rows = []
    for i in d.get("items", []):
        what = i.get("text") or i.get("name") or ""
        if i.get("role") or i.get("relationship"):
            what += f" ({i.get('role') or i.get('relationship')})"
        rows.append((i["kind"], i["n"], what, i["added_on"], i["from_concern"]))
    for a in d.get("attachments", []):
        rows.append((f"attached {a['kind']}", a["n"], a["filename"], a["added_on"],
                     a["from_concern"]))  # fmt: skip
    if not rows:
        return
    table = Table(title="For the documents (people, wishes, needs and files are the child's)",
                  title_justify="left")  # fmt: skip
    for name in ("Kind", "N", "What", "Added", "Recorded on"):
        table.add_column(name, overflow="fold")
    for kind, n, what, added, source in rows:
        table.add_row(_text(kind), _text(n), _text(what), _text(added),
                      _text("this concern" if source is None else f"concern {source}"))  # fmt: skip
    console().print(table)


def event_text(e: dict[str, Any]) -> str:
    """An event's detail in words (:func:`drp_cli.domain.wording.event_detail`)."""
    from drp_cli.domain.wording import event_detail

    return event_detail(e)


#: The longest summary a table shows (JSON has the whole of it).
SHORT_SUMMARY = 40


def short(text: str, limit: int = SHORT_SUMMARY) -> str:
    """``text`` on one line (runs of white space as one space), at most ``limit``
    characters: cut at the end of a word with "…" when longer (inside a word only when its
    first word alone is longer)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]  # and room for the "…"
    if line[limit - 1] != " " and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def names(values: list[str] | tuple[str, ...] | None) -> str:
    """A list of names in one cell."""
    return "; ".join(values) if values else "-"


LIST_HEADERS = ["ID", "Child", "Protocol", "Stage", "Status", "Deadline", "Formal", "Flags",
                "Addressed to", "Owner", "Summary"]  # fmt: skip


def concern_table(rows: list[dict[str, Any]], *, plain: bool = False) -> None:
    """The concerns as a table: Rich on a terminal; ``plain`` (cron mail, a pipe, a file)
    or above :data:`PLAIN_ABOVE` rows, aligned text, nothing wrapped or cut."""
    from rich.table import Table

    plain = plain or len(rows) > PLAIN_ABOVE
    table = Table()
    for name in LIST_HEADERS:  # an id or a date is never broken across lines
        table.add_column(name, overflow="fold", no_wrap=name in ("ID", "Deadline", "Formal"))
    cells_of: list[list[str]] = []
    for d in rows:
        flags = []
        if d["overdue"]:
            flags.append(f"OVERDUE {d['working_days_overdue']}wd")
        if d.get("past_aim"):
            flags.append("past-aim")
        if d.get("past_guidance"):
            flags.append("past-guidance")
        if d["referred_to_cafcass_on"]:
            flags.append("CAFCASS")
        if "child's wishes not recorded" in d["missing"]:
            flags.append("wishes?")
        if "child not recorded as told the outcome" in d["missing"]:
            flags.append("told?")
        cells = [str(d["id"]), d["child"], d["protocol"], d["stage"], d["status"]]
        cells += [d["deadline"] or "-", d["formal_deadline"] or "-", " ".join(flags)]
        cells += [names(d.get("addressed_to")), d.get("owner") or "-",
                  short(d.get("summary") or "") or "-"]  # fmt: skip
        if plain:
            cells_of.append(cells)  # plain_table shows every cell through visible()
            continue
        table.add_row(
            *[_text(c) for c in cells],
            style="bold red" if d["overdue"] else None,
        )
    if plain:
        if rows:
            plain_table(LIST_HEADERS, cells_of)
    else:
        console().print(table)
    typer.echo(
        f"{len(rows)} concern{'s' if len(rows) != 1 else ''}. "
        "Flags: wishes? = child's wishes not recorded; told? = child not recorded as told the "
        "outcome."
        if rows
        else "No concerns match."
    )
