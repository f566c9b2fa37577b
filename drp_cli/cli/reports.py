"""Commands that read: list, show, overdue."""

from __future__ import annotations

from typing import Annotated

import typer

from drp_cli.cli.app import (
    ConcernId,
    JsonOption,
    JudgeOnOption,
    command_group,
    database,
    tracker,
)
from drp_cli.cli.output import (
    PLAIN_ABOVE,
    concern_data,
    concern_table,
    console,
    plain_table,
    print_json,
    print_json_records,
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
    from drp_cli import daily

    day, found = daily.overdue(database(ctx), on=on, within=within)
    late = sum(1 for i in found if i.state == "overdue")
    if as_json:
        print_json_records([i.to_dict() for i in found])
    elif not found:
        typer.echo(
            f"Nothing overdue on {day.isoformat()}"
            + (f" and nothing due within {within} working days." if within else ".")
        )
    else:
        headers = ["ID", "Child", "Protocol", "Stage", "Deadline", "State", "Responded"]
        # the deadline and state columns repeat: each distinct text is made once
        deadline_text: dict[tuple[object, str], str] = {}
        state_text: dict[tuple[str, int, int], str] = {}
        lines = []
        for i in found:
            when = deadline_text.get((i.deadline, i.which))
            if when is None:
                when = deadline_text[i.deadline, i.which] = f"{i.deadline} ({i.which})"
            key = (i.state, i.working_days_overdue, i.working_days_left)
            state = state_text.get(key)
            if state is None:
                state = state_text[key] = _deadline_state(*key)
            lines.append([str(i.id), i.child, i.protocol, i.stage, when, state,
                          "yes" if i.responded else "no"])  # fmt: skip
        if len(lines) > PLAIN_ABOVE:
            typer.echo(f"Deadlines on {day.isoformat()}")
            plain_table(headers, lines)
        else:
            from rich.markup import escape
            from rich.table import Table

            table = Table(title=f"Deadlines on {day.isoformat()}", title_justify="left")
            for name in headers:
                table.add_column(name)
            for line, i in zip(lines, found, strict=True):
                table.add_row(
                    *[escape(v) for v in line],
                    style="bold red" if i.state == "overdue" else None,
                )
            console().print(table)
        due = len(found) - late
        typer.echo(
            f"{late} overdue" + (f", {due} due within {within} working days." if within else ".")
        )
    raise typer.Exit(EXIT_OVERDUE if late else EXIT_OK)


def _deadline_state(state: str, overdue_by: int, left: int) -> str:
    if state == "overdue":
        return f"OVERDUE {overdue_by} working day{'s' if overdue_by != 1 else ''}"
    return "due today" if left == 0 else f"due in {left} working day{'s' if left != 1 else ''}"
