"""drp report: the manager's quality-assurance report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from drp_cli.cli import complete
from drp_cli.cli.app import (
    JsonOption,
    OwnerOption,
    TeamOption,
    command_group,
    examples,
    tracker,
)
from drp_cli.cli.output import console, print_json

commands = command_group()


def _counts(title: str, values: dict[str, Any], label: str) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column(label)
    table.add_column("concerns", justify="right")
    for name, n in values.items():
        table.add_row(name, str(n))
    return table


def _results(title: str, by_stage: dict[str, dict[str, int]], total: dict[str, int]) -> Any:
    from rich.table import Table

    keys = list(total)
    table = Table(title=title, title_justify="left")
    table.add_column("stage")
    for k in keys:
        table.add_column(k.replace("_", " "), justify="right")
    for stage, counts in by_stage.items():
        table.add_row(stage, *(str(counts[k]) for k in keys))
    table.add_row("all stages", *(str(total[k]) for k in keys), style="bold")
    return table


def show_report(data: dict[str, Any]) -> None:
    """The report as Rich tables."""
    from rich.table import Table

    out = console()
    prev = data["previous_period"]
    scope = ", ".join(f"{k} {v}" for k, v in data["filters"].items() if v) or "all concerns"
    out.print(f"[bold]{data['title']}[/bold]")
    from drp_cli.services.report import judged_text

    out.print(
        f"Concerns opened {data['from']} to {data['to']} ({scope}), {judged_text(data)}; "
        f"the period before: {prev['from']} to {prev['to']}, as on {prev['on']}.",
        highlight=False,
    )
    table = Table(title="Headline figures", title_justify="left")
    table.add_column("figure")
    table.add_column("this period", justify="right")
    table.add_column("period before", justify="right")
    wd, pwd = data["working_days_to_resolve"], prev["working_days_to_resolve"]
    rows = [
        ("concerns", data["concerns"], prev["concerns"]),
        *((f"status: {k}", v, prev["status"][k]) for k, v in data["status"].items()),
        ("resolved informally", data["resolved_informally"], prev["resolved_informally"]),
        ("resolved formally", data["resolved_formally"], prev["resolved_formally"]),
        ("CAFCASS referrals", data["cafcass_referrals"], prev["cafcass_referrals"]),
        *(
            (f"firm stage deadlines: {k.replace('_', ' ')}", v, prev["stage_deadlines"][k])
            for k, v in data["stage_deadlines"].items()
        ),
        *(
            (f"stage aims: {k.replace('_', ' ')}", v, prev["stage_aims"][k])
            for k, v in data["stage_aims"].items()
        ),
        *((f"working days to resolve: {k}", v, pwd[k]) for k, v in wd.items()),
        *(
            (f"child's voice: {k.replace('_', ' ')}", v, prev["child_voice"][k])
            for k, v in data["child_voice"].items()
        ),
    ]
    for name, now, was in rows:
        table.add_row(name, "-" if now is None else str(now), "-" if was is None else str(was))
    out.print(table)
    from drp_cli.services.report import TABLES

    for key, label in TABLES.items():
        out.print(_counts(f"Concerns by {label}", data[key], label))
    out.print(
        _results(
            "Stage deadlines (firm), by stage visit",
            data["stage_deadlines_by_stage"],
            data["stage_deadlines"],
        )
    )
    out.print(
        _results("Stage aims, by stage visit", data["stage_aims_by_stage"], data["stage_aims"])
    )
    if "children" in data:
        table = Table(title="Concerns", title_justify="left")
        for name in ("id", "external_ref", "child", "protocol", "status", "furthest_stage"):
            table.add_column(name)
        for c in data["children"]:
            table.add_row(
                *(
                    str(c[n] or "")
                    for n in ("id", "external_ref", "child", "protocol", "status", "furthest_stage")
                )
            )
        out.print(table)


@commands.command(
    epilog=examples(
        "# the monthly quality-assurance meeting",
        "drp report --from 2025-03-01 --to 2025-03-31",
        "# the IRO annual report for April 2025 to March 2026, as a printable page",
        "drp report --year 2025 --html iro-annual-report-2025.html",
        "drp report --year 2025 --team North --csv qa-2025-csv",
        "drp report --from 2025-01-01 --to 2025-03-31 --on 2025-04-30 --json",
    )
)
def report(
    ctx: typer.Context,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="The first day of the period (concerns opened from it).", metavar="DATE"
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help="The last day of the period (concerns opened up to it).", metavar="DATE"),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option(
            help="The local-authority year from 1 April YEAR to 31 March YEAR+1 "
            "(instead of --from and --to).",
            metavar="YEAR",
        ),
    ] = None,
    on: Annotated[
        str | None,
        typer.Option(
            "--on",
            help="Judge the record as it stood on this date, not after today "
            "(default: the earlier of today and the period's last day).",
            metavar="DATE",
        ),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(help="Only this protocol's concerns.", autocompletion=complete.protocols),
    ] = None,
    team: TeamOption = None,
    owner: OwnerOption = None,
    category: Annotated[
        str | None,
        typer.Option(help="Only this theme.", autocompletion=complete.categories),
    ] = None,
    with_children: Annotated[
        bool,
        typer.Option(
            "--with-children",
            help="Add each concern's id, external reference and "
            "child reference (left out by default).",
        ),
    ] = False,
    csv_dir: Annotated[
        str | None,
        typer.Option(
            "--csv", help="Write one flat CSV file per table into this new folder.", metavar="DIR"
        ),
    ] = None,
    html: Annotated[
        str | None,
        typer.Option(
            "--html",
            help="Write the report with its charts as one self-contained HTML page (prints on A4).",
            metavar="FILE",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace FILE or DIR if drp wrote it before.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The manager's quality-assurance report: counts, stages reached, deadlines kept,
    time to resolve, referrals and the child's voice, for the concerns opened in a period."""
    from drp_cli.adapters.outpaths import protected_paths, write_file, write_folder
    from drp_cli.services import report as service

    t = tracker(ctx)
    period = service.period(from_, to, on, year=year, today=t.today())
    data = service.build(
        t,
        period,
        protocol=protocol,
        category=category,
        owner=owner,
        team=team,
        with_children=with_children,
        year=year,
    )
    wrote = []
    if csv_dir is not None:
        written = write_folder(
            csv_dir,
            service.csv_files(data),
            protected=protected_paths(t.store),
            force=force,
            what="report tables",
        )
        wrote.append(f"Wrote the report's tables to {written.path}")
    if html is not None:
        from drp_cli.render import reporthtml

        page = write_file(
            html,
            reporthtml.render(data),
            protected=protected_paths(t.store),
            force=force,
            what="HTML report",
        )
        wrote.append(f"Wrote the HTML report to {page.path}")
    if as_json:
        print_json(data)
    elif not wrote:
        show_report(data)
    for line in wrote:
        typer.echo(line, err=as_json)
