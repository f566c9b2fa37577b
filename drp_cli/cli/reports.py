"""Commands that read: list, show, overdue."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from drp_cli.cli import complete
from drp_cli.cli.app import (
    ConcernId,
    JsonOption,
    JudgeOnOption,
    command_group,
    examples,
    tracker,
)
from drp_cli.cli.output import (
    PLAIN_ABOVE,
    concern_data,
    concern_table,
    console,
    documents_data,
    print_json,
    show,
)
from drp_cli.errors import EXIT_OK, EXIT_OVERDUE
from drp_cli.overdue import OverdueItem

commands = command_group()


@commands.command(
    "list",
    epilog=examples("drp list", "drp list --status all --protocol knowsley --stage stage-2 --json"),
)
def list_(
    ctx: typer.Context,
    status: Annotated[
        str,
        typer.Option(help="open, resolved, withdrawn or all.", autocompletion=complete.statuses),
    ] = "open",
    protocol: Annotated[
        str | None,
        typer.Option(help="Only this protocol.", autocompletion=complete.protocols),
    ] = None,
    child: Annotated[str | None, typer.Option(help="Only this child reference.")] = None,
    stage: Annotated[
        str | None,
        typer.Option(help="Only concerns at this stage.", autocompletion=complete.stages),
    ] = None,
    raised_by: Annotated[
        str | None, typer.Option(help="Only concerns raised by this person.")
    ] = None,
    on: JudgeOnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List concerns (open ones by default)."""
    t = tracker(ctx)
    # the table needs no events; --json includes each concern's events
    views = t.concerns(status=status, protocol=protocol, child=child, stage=stage,
                       raised_by=raised_by, with_events=as_json)  # fmt: skip
    rows = [concern_data(t, v, on, timeline=False) for v in views]
    if as_json:
        print_json(rows)
    else:
        concern_table(rows)


@commands.command("show", epilog=examples("drp show 1", "drp show 1 --on 2025-03-21 --json"))
def show_(
    ctx: typer.Context,
    concern_id: ConcernId,
    on: JudgeOnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one concern: its stages with deadlines met or missed, and every event."""
    t = tracker(ctx)
    data = concern_data(t, t.get(concern_id), on)
    data.update(documents_data(t, concern_id))  # the child's record, shared by their concerns
    if as_json:
        print_json(data)
    else:
        show(data)


@commands.command(
    epilog=examples(
        "# the morning check: overdue today, and what falls due within 2 working days",
        "drp overdue --within 2",
        "drp overdue --on 2025-03-21 --json",
    )
)
def overdue(
    ctx: typer.Context,
    on: JudgeOnOption = None,
    within: Annotated[
        int,
        typer.Option(help="Also list concerns due within this many working days (0-260)."),
    ] = 0,
    as_json: JsonOption = False,
) -> None:
    """The daily check: what is overdue (exit status 1 if a firm deadline is passed), what is
    past an aim or guidance, and what is due soon."""
    from drp_cli.dates import parse_date, today
    from drp_cli.overdue import check_within

    day = parse_date(on, "--on") if on is not None else today()
    check_within(within)  # bad input is refused before the database is opened
    found = tracker(ctx).overdue(on=day, within=within)
    late = sum(1 for i in found if i.state == "overdue")
    if as_json:
        sys.stdout.write(overdue_json(found) + "\n")
    elif not found:
        typer.echo(
            f"Nothing overdue on {day.isoformat()}"
            + (f" and nothing due within {within} working days." if within else ".")
        )
    else:
        if len(found) > PLAIN_ABOVE or not _is_terminal():
            # plain aligned text for cron mail, pipes and very long lists
            typer.echo(f"Deadlines on {day.isoformat()}")
            sys.stdout.write(overdue_lines(found))
        else:
            from rich.markup import escape
            from rich.table import Table

            table = Table(title=f"Deadlines on {day.isoformat()}", title_justify="left")
            for name in OVERDUE_HEADERS:
                table.add_column(name)
            for i in found:
                table.add_row(
                    *[escape(v) for v in _overdue_cells(i)],
                    style="bold red"
                    if i.state == "overdue"
                    else ("yellow" if i.state.startswith("past") else None),
                )
            console().print(table)
        past = sum(1 for i in found if i.state.startswith("past"))
        due = len(found) - late - past
        typer.echo(
            f"{late} overdue"
            + (f", {past} past an aim or the IRO Handbook's guidance" if past else "")
            + (f", {due} due within {within} working days." if within else ".")
        )
    raise typer.Exit(EXIT_OVERDUE if late else EXIT_OK)


def _is_terminal() -> bool:
    return sys.stdout.isatty()


OVERDUE_HEADERS = ("ID", "Child", "Protocol", "Stage", "Deadline", "State", "Responded")


def _shown(value: str) -> str:
    """A stored one-line value as it may reach a terminal or a cron mail: control, separator
    and bidi characters as visible escapes (a forged newline cannot add a row)."""
    from drp_cli.textsafe import is_one_line, visible

    return value if is_one_line(value) else visible(value, one_line=True)


def _overdue_cells(i: OverdueItem) -> list[str]:
    state = _deadline_state(i.state, i.working_days_overdue, i.working_days_left)
    return [str(i.id), _shown(i.child), _shown(i.protocol), _shown(i.stage),
            f"{i.deadline} ({_which(i)})", state, "yes" if i.responded else "no"]  # fmt: skip


def _which(i: OverdueItem) -> str:
    """Which deadline: "stage", "formal", "step: contact", ..."""
    return i.which.replace("step", f"step: {i.step}") if i.step else i.which


def overdue_lines(found: list[OverdueItem]) -> str:
    """The plain aligned table of :func:`drp_cli.cli.output.plain_table` for many rows, in
    one pass: the deadline and state columns repeat, so each distinct text is made once."""
    whens: dict[tuple[object, str, str | None], str] = {}
    states: dict[tuple[str, int, int], str] = {}
    rows = []
    for i in found:
        when = whens.get((i.deadline, i.which, i.step))
        if when is None:
            when = whens[i.deadline, i.which, i.step] = f"{i.deadline} ({_which(i)})"
        key = (i.state, i.working_days_overdue, i.working_days_left)
        state = states.get(key)
        if state is None:
            state = states[key] = _deadline_state(*key)
        rows.append((i.id, _shown(i.child), _shown(i.protocol), _shown(i.stage), when, state,
                     "yes" if i.responded else "no"))  # fmt: skip
    columns = [
        [str(max((i.id for i in found), default=0))],
        {r[1] for r in rows},
        {r[2] for r in rows},
        {r[3] for r in rows},
        whens.values(),
        states.values(),
        ["yes", "no"] if found else [],
    ]
    widths = [max(len(h), *map(len, c)) for h, c in zip(OVERDUE_HEADERS, columns, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    lines = [fmt.format(*OVERDUE_HEADERS), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines) + "\n"


_OVERDUE_OBJECT = (
    '  {{\n    "id": {},\n    "child": {},\n    "protocol": {},\n    "stage": {},\n'
    '    "state": {},\n    "deadline": {},\n    "which": {},\n'
    '    "working_days_overdue": {},\n    "working_days_left": {},\n    "responded": {},\n'
    '    "timescale": {},\n    "step": {}\n  }}'
)


def overdue_json(found: list[OverdueItem]) -> str:
    """``json.dumps([i.to_dict() for i in found], indent=2, ensure_ascii=False)``, written
    straight from the items: printing 50,000 of them is the slow part of `--json` otherwise
    (a test holds the two to the same text)."""
    if not found:
        return "[]"
    from json.encoder import encode_basestring

    quoted: dict[str, str] = {}

    def q(text: str) -> str:
        done = quoted.get(text)
        if done is None:
            done = quoted[text] = encode_basestring(text)
        return done

    return (
        "[\n"
        + ",\n".join(
            _OVERDUE_OBJECT.format(
                i.id,
                encode_basestring(i.child),
                q(i.protocol),
                q(i.stage),
                q(i.state),
                q(i.deadline.isoformat()),
                q(i.which),
                i.working_days_overdue,
                i.working_days_left,
                "true" if i.responded else "false",
                q(i.timescale),
                "null" if i.step is None else q(i.step),
            )
            for i in found
        )
        + "\n]"
    )


def _deadline_state(state: str, overdue_by: int, left: int) -> str:
    days = f"{overdue_by} working day{'s' if overdue_by != 1 else ''}"
    if state == "overdue":
        return f"OVERDUE {days}"
    if state == "past-aim":
        return f"past its aim by {days}"
    if state == "past-guidance":
        return f"past the IRO Handbook's 20 days by {days}"
    return "due today" if left == 0 else f"due in {left} working day{'s' if left != 1 else ''}"
