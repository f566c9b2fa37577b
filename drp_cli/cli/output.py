"""Rendering for people (Rich) and for scripts (JSON). Rich is imported lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import datetime as dt

    from rich.console import Console

    from drp_cli.tracker import ConcernView, Tracker


#: Above this many rows a table is printed as plain aligned text: Rich takes seconds to lay
#: out tens of thousands of rows, and the daily check must stay quick.
PLAIN_ABOVE = 200


def plain_table(headers: list[str], rows: list[list[str]]) -> None:
    """Aligned columns, written straight to stdout (no wrapping, no colour)."""
    import sys

    columns = list(zip(*rows, strict=True)) if rows else [()] * len(headers)
    widths = [max(len(h), *map(len, col)) for h, col in zip(headers, columns, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row).rstrip() for row in rows]
    sys.stdout.write("\n".join(lines) + "\n")


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def print_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def judge_date(t: Tracker, on: str | None) -> dt.date:
    from drp_cli.dates import parse_date

    return parse_date(on, "--on") if on is not None else t._clock()


def concern_data(
    t: Tracker, c: ConcernView, on: str | None = None, *, timeline: bool = True
) -> dict[str, Any]:
    from drp_cli.views import concern_dict

    return concern_dict(
        c,
        t.protocols.protocols.get(c.protocol),
        t.calendar(),
        judge_date(t, on),
        timeline=timeline,
    )


def _esc(text: Any) -> str:
    from rich.markup import escape

    return escape(str(text))


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
    typer.echo(": ".join(parts[:2]) + "; " + "; ".join(parts[2:]) + ".")
    for item in d["missing"]:
        typer.echo(f"Note: {item}.")


def show(d: dict[str, Any]) -> None:
    from rich.table import Table

    out = console()
    flag = d["status"].upper()
    if d["overdue"]:
        flag += f", OVERDUE by {d['working_days_overdue']} working day"
        flag += "s" if d["working_days_overdue"] != 1 else ""
    style = "bold red" if d["overdue"] else "bold"
    out.print(
        f"[{style}]Concern {d['id']}: {_esc(flag)}[/] (judged on {d['judged_on']})",
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    category = d["category"] + (f" / {d['issue']}" if d["issue"] else "")
    grid.add_row("Child", _esc(d["child"]))
    grid.add_row("Protocol", _esc(d["protocol"]))
    grid.add_row("Category", _esc(category))
    grid.add_row("Raised by", _esc(f"{d['raised_by']} ({d['role']}) on {d['opened_on']}"))
    grid.add_row("Summary", _esc(d["summary"]))
    grid.add_row("Impact on child", _esc(d["impact"] or "-"))
    grid.add_row("Recommended", _esc(d["recommended"] or "-"))
    grid.add_row(
        "Stage",
        _esc(
            f"{d['stage']} - {d['stage_title']}, since {d['stage_started_on']}, "
            f"deadline {d['deadline'] or 'none'}"
        ),
    )
    formal = (
        f"started {d['formal_started_on']}, deadline {d['formal_deadline']} ({d['formal_result']})"
        if d["formal_deadline"]
        else "not started"
        if d["formal_started_on"] is None
        else "no overall limit"
    )
    grid.add_row("Formal process", _esc(formal))
    cafcass = "not referred"
    if d["referred_to_cafcass_on"]:
        cafcass = f"referred {d['referred_to_cafcass_on']}; senior officer " + (
            f"notified {d['senior_officer_notified_on']}"
            if d["senior_officer_notified_on"]
            else "NOT RECORDED AS NOTIFIED"
        )
    grid.add_row("CAFCASS", _esc(cafcass))
    wishes = {"sought": "sought", "not-sought": "not sought (reason recorded)"}.get(
        d["child_wishes"] or "", "NOT RECORDED"
    )
    told = {"told": "told", "not-told": "not told (reason recorded)"}.get(
        d["child_told_outcome"] or "",
        "NOT RECORDED" if d["status"] == "resolved" else "-",
    )
    grid.add_row("Child's voice", _esc(f"wishes: {wishes}; told the outcome: {told}"))
    if d["status"] != "open":
        grid.add_row("Outcome", _esc(f"{d['status']} on {d['closed_on']}: {d['outcome']}"))
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
            _esc(v["stage"] + bypass),
            v["entered_on"],
            (v["deadline"] or "-") + (" (set by IRO)" if v["due_set_by_iro"] else ""),
            v["first_response_on"] or "-",
            _esc(f"{v['left_on']} ({v['left_by']})" if v["left_on"] else "-"),
            result,
            style=row_style,
        )
    out.print(stages)

    events = Table(title="Events", title_justify="left")
    for name in ("Date", "Event", "Stage", "By", "Details"):
        events.add_column(name, overflow="fold")
    for e in d["events"]:
        events.add_row(e["on"], e["kind"], _esc(e["stage"]), _esc(e["by"]), _esc(event_text(e)))
    out.print(events)


def event_text(e: dict[str, Any]) -> str:
    details = e["details"]
    bits = [e["text"]] if e["text"] else []
    if e["kind"] == "escalated":
        bits.insert(0, f"from {e['from_stage']}")
    if details.get("bypassed"):
        bits.append(f"bypassed {', '.join(details['bypassed'])}")
    if details.get("due"):
        bits.append(f"due date set: {details['due']}")
    if details.get("from"):
        bits = [f"from {details['from']}: {e['text']}"]
    if e["kind"] == "referred":
        officer = details.get("senior_officer") or "senior officer not named"
        notified = details.get("senior_officer_notified_on")
        bits.append(f"{officer}, notified {notified}" if notified else f"{officer}, not notified")
        if details.get("curtailed_reason"):
            bits.append(f"process curtailed: {details['curtailed_reason']}")
    return "; ".join(bits)


def concern_table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    headers = ["ID", "Child", "Protocol", "Stage", "Status", "Deadline", "Formal", "Flags"]
    table = Table()
    for name in headers:
        table.add_column(name, overflow="fold")
    plain: list[list[str]] = []
    for d in rows:
        flags = []
        if d["overdue"]:
            flags.append(f"OVERDUE {d['working_days_overdue']}wd")
        if d["referred_to_cafcass_on"]:
            flags.append("CAFCASS")
        if d["child_wishes"] is None:
            flags.append("wishes?")
        if d["status"] == "resolved" and d["child_told_outcome"] is None:
            flags.append("told?")
        if len(rows) > PLAIN_ABOVE:
            cells = [str(d["id"]), d["child"], d["protocol"], d["stage"], d["status"]]
            cells += [d["deadline"] or "-", d["formal_deadline"] or "-", " ".join(flags)]
            plain.append(cells)
            continue
        table.add_row(
            str(d["id"]),
            _esc(d["child"]),
            _esc(d["protocol"]),
            _esc(d["stage"]),
            d["status"],
            d["deadline"] or "-",
            d["formal_deadline"] or "-",
            " ".join(flags),
            style="bold red" if d["overdue"] else None,
        )
    if plain:
        plain_table(headers, plain)
    else:
        console().print(table)
    typer.echo(
        f"{len(rows)} concern{'s' if len(rows) != 1 else ''}. "
        "Flags: wishes? = child's wishes not recorded; told? = child not recorded as told the "
        "outcome."
        if rows
        else "No concerns match."
    )
