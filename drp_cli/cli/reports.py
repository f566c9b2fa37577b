"""Commands that read: list, show, overdue."""

from __future__ import annotations

from typing import Annotated

import typer

from drp_cli.cli.app import ConcernId, JsonOption, JudgeOnOption, command_group, tracker
from drp_cli.cli.output import (
    PLAIN_ABOVE,
    concern_data,
    concern_table,
    console,
    plain_table,
    print_json,
    show,
)
from drp_cli.errors import EXIT_OK, EXIT_OVERDUE

commands = command_group()


@commands.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="open, resolved, withdrawn or all.")] = "open",
    protocol: Annotated[str | None, typer.Option(help="Only this protocol.")] = None,
    child: Annotated[str | None, typer.Option(help="Only this child reference.")] = None,
    stage: Annotated[str | None, typer.Option(help="Only concerns at this stage.")] = None,
    raised_by: Annotated[
        str | None, typer.Option(help="Only concerns raised by this person.")
    ] = None,
    on: JudgeOnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List concerns (open ones by default)."""
    t = tracker(ctx)
    views = t.concerns(
        status=status, protocol=protocol, child=child, stage=stage, raised_by=raised_by
    )
    rows = [concern_data(t, v, on, timeline=False) for v in views]
    if as_json:
        print_json(rows)
    else:
        concern_table(rows)


@commands.command("show")
def show_(
    ctx: typer.Context,
    concern_id: ConcernId,
    on: JudgeOnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one concern: its stages with deadlines met or missed, and every event."""
    t = tracker(ctx)
    data = concern_data(t, t.get(concern_id), on)
    if as_json:
        print_json(data)
    else:
        show(data)


@commands.command()
def overdue(
    ctx: typer.Context,
    on: JudgeOnOption = None,
    within: Annotated[
        int,
        typer.Option(help="Also list concerns due within this many working days (0-260)."),
    ] = 0,
    as_json: JsonOption = False,
) -> None:
    """The daily check: what is overdue (exit status 1 if anything is), and what is due soon."""
    from rich.table import Table

    from drp_cli.cli.output import judge_date
    from drp_cli.views import overdue_dict

    t = tracker(ctx)
    day = judge_date(t, on)
    items = [overdue_dict(i) for i in t.overdue(on=day, within=within)]
    late = [i for i in items if i["state"] == "overdue"]
    if as_json:
        print_json(items)
    elif not items:
        typer.echo(
            f"Nothing overdue on {day.isoformat()}"
            + (f" and nothing due within {within} working days." if within else ".")
        )
    else:
        headers = ["ID", "Child", "Protocol", "Stage", "Deadline", "State", "Responded"]
        table = Table(title=f"Deadlines on {day.isoformat()}", title_justify="left")
        for name in headers:
            table.add_column(name)
        lines: list[list[str]] = []
        for i in items:
            if i["state"] == "overdue":
                wd = i["working_days_overdue"]
                state = f"OVERDUE {wd} working day{'s' if wd != 1 else ''}"
            else:
                wd = i["working_days_left"]
                state = (
                    "due today" if wd == 0 else f"due in {wd} working day{'s' if wd != 1 else ''}"
                )
            lines.append([str(i["id"]), i["child"], i["protocol"], i["stage"],
                          f"{i['deadline']} ({i['which']})", state,
                          "yes" if i["responded"] else "no"])  # fmt: skip
        if len(lines) > PLAIN_ABOVE:
            typer.echo(f"Deadlines on {day.isoformat()}")
            plain_table(headers, lines)
        else:
            from rich.markup import escape

            for line, i in zip(lines, items, strict=True):
                table.add_row(
                    *[escape(v) for v in line],
                    style="bold red" if i["state"] == "overdue" else None,
                )
            console().print(table)
        due = len(items) - len(late)
        typer.echo(
            f"{len(late)} overdue"
            + (f", {due} due within {within} working days." if within else ".")
        )
    raise typer.Exit(EXIT_OVERDUE if late else EXIT_OK)
