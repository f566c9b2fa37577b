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
from drp_cli.core.textsafe import shown_path

commands = command_group()


def _counts(title: str, values: dict[str, Any], label: str, words: Any) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column(label)
    table.add_column("concerns", justify="right")
    for name, n in values.items():
        table.add_row(escape(words(name)), str(n))
    return table


def _results(
    title: str, by_stage: dict[str, dict[str, int]], total: dict[str, int], words: Any
) -> Any:
    from rich.table import Table

    keys = list(total)
    table = Table(title=title, title_justify="left")
    table.add_column("stage")
    for k in keys:
        table.add_column(k.replace("_", " "), justify="right")
    for stage, counts in by_stage.items():
        table.add_row(escape(words(stage)), *(str(counts[k]) for k in keys))
    table.add_row("all stages", *(str(total[k]) for k in keys), style="bold")
    return table


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def show_report(data: dict[str, Any]) -> None:
    """The report as Rich tables: names, not slugs; months and days in words."""
    from rich.table import Table

    from drp_cli.services.report import (
        OPEN_BANDS,
        RATE_WORDS,
        TABLES,
        day_words,
        judged_text,
        named,
        period_text,
        rate_text,
        scope_words,
    )

    out = console()
    prev = data["previous_period"]
    act = data["activity"]

    def label(table: str) -> Any:
        return lambda key: named(data, table, key)

    out.print(f"[bold]{escape(data['title'])}[/bold]")
    out.print(
        escape(
            f"Concerns opened {period_text(data['from'], data['to'])} ({scope_words(data)}), "
            f"{judged_text(data)}; the period before: {period_text(prev['from'], prev['to'])}, "
            f"as on {day_words(prev['on'])}."
        ),
        highlight=False,
    )
    table = Table(title="Rates", title_justify="left")
    table.add_column("rate")
    table.add_column("this period", justify="right")
    table.add_column("period before", justify="right")
    table.add_column("of the")
    for key, (what, of, _) in RATE_WORDS.items():
        table.add_row(what, rate_text(data["rates"][key]), rate_text(prev["rates"][key]), of)
    out.print(table)
    out.print(
        escape(
            "Of the concerns opened in each period, as judged: "
            + "; ".join(f"{what}: {means}" for what, _, means in RATE_WORDS.values())
            + "."
        ),
        highlight=False,
    )

    table = Table(
        title=f"Activity in the period ({period_text(act['from'], act['to'])}), "
        "whenever the concern was opened",
        title_justify="left",
    )
    table.add_column("what happened")
    table.add_column("count", justify="right")
    rows = [
        ("concerns opened", act["concerns_opened"]),
        (f"escalations (of {act['concerns_escalated']} concerns)", act["escalations"]),
        ("responses recorded", act["responses"]),
        ("resolutions", act["resolutions"]),
        ("  resolved within timescale", rate_text(act["resolved_within_timescale"])),
        ("withdrawals", act["withdrawals"]),
        ("reopened", act["reopened"]),
        ("referrals to CAFCASS", act["cafcass_referrals"]),
        (f"open on {day_words(act['to'])}", act["open_at_end"]),
        ("  of them opened before the period", act["open_at_end_opened_before"]),
        *(
            (f"  open {_band(k)} working days", act["open_at_end_by_working_days"][k])
            for k, _ in OPEN_BANDS
        ),
    ]
    for name, n in rows:
        table.add_row(name, str(n))
    out.print(table)
    if act["resolutions"] and act["resolved_no_timescale"]:
        out.print(
            f"{act['resolved_no_timescale']} resolved at stages with no timescale: "
            "not counted in the rate within timescale.",
            highlight=False,
        )
    if "longest_open" in data:
        _longest(data, label("stage"))
    elif act["open_at_end"]:
        out.print(
            "The longest-running open concerns are listed with --with-children (they name "
            "the child's reference).",
            highlight=False,
        )
    out.print(
        _counts("Open at the period's end, by stage", act["open_at_end_by_stage"], "stage",
                label("stage"))
    )  # fmt: skip

    table = Table(title="Headline figures (concerns opened in the period)", title_justify="left")
    table.add_column("figure")
    table.add_column("this period", justify="right")
    table.add_column("period before", justify="right")
    wd, pwd = data["working_days_to_resolve"], prev["working_days_to_resolve"]
    rows3 = [
        ("concerns", data["concerns"], prev["concerns"]),
        *((f"status: {k}", v, prev["status"][k]) for k, v in data["status"].items()),
        ("resolved informally", data["resolved_informally"], prev["resolved_informally"]),
        ("resolved formally", data["resolved_formally"], prev["resolved_formally"]),
        ("escalated", data["escalated"], prev["escalated"]),
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
    for name, now, was in rows3:
        table.add_row(name, "-" if now is None else str(now), "-" if was is None else str(was))
    out.print(table)
    for key, what in TABLES.items():
        kind = "stage" if key == "furthest_stage" else what
        out.print(_counts(f"Concerns by {what}", data[key], what, label(kind)))
    out.print(
        _results(
            "Stage deadlines (firm), by stage visit",
            data["stage_deadlines_by_stage"],
            data["stage_deadlines"],
            label("stage"),
        )
    )
    out.print(
        _results(
            "Stage aims, by stage visit",
            data["stage_aims_by_stage"],
            data["stage_aims"],
            label("stage"),
        )
    )
    if "children" in data:
        listed = [
            [
                str(c["id"]),
                c["external_ref"] or "",
                c["child"],
                named(data, "protocol", c["protocol"]),
                c["status"],
                data["names"]["stages"].get(
                    f"{c['protocol']}:{c['furthest_stage']}", c["furthest_stage"] or ""
                ),
            ]
            for c in data["children"]
        ]
        heads = ("id", "reference", "child", "protocol", "status", "furthest stage")
        out.print(_whole("Concerns", heads, listed, keep=(0, 1, 2, 4)))


def _whole(title: str, heads: tuple[str, ...], rows: list[list[str]], keep: tuple[int, ...],
           right: tuple[int, ...] = ()) -> Any:  # fmt: skip
    """A table whose ``keep`` columns (ids, references, dates, states) are never wrapped or
    cut, however narrow the terminal: the other columns wrap (a long word folds, never
    cut short)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    # the external reference is optional: a column no concern fills is left out
    shown = [i for i in range(len(heads)) if heads[i] != "reference" or any(r[i] for r in rows)]
    heads = tuple(heads[i] for i in shown)
    rows = [[r[i] for i in shown] for r in rows]
    keep = tuple(shown.index(i) for i in keep if i in shown)
    right = tuple(shown.index(i) for i in right if i in shown)
    for i, name in enumerate(heads):
        widest = max([len(name), *(len(r[i]) for r in rows)]) if i in keep else None
        table.add_column(name, no_wrap=i in keep, min_width=widest or 8,
                         overflow="fold", justify="right" if i in right else "left")  # fmt: skip
    for r in rows:
        table.add_row(*(escape(v) for v in r))
    return table


def _band(key: str) -> str:
    return key.replace("_", " ")


def _longest(data: dict[str, Any], stage_words: Any) -> None:
    from drp_cli.services.report import LONGEST, day_words

    rows = [
        [
            str(c["id"]),
            c["external_ref"] or "",
            c["child"],
            stage_words(c["stage"]) if c["stage"] else "",
            day_words(c["opened_on"]),
            str(c["working_days_open"]),
        ]
        for c in data["longest_open"]
    ]
    heads = ("id", "reference", "child", "stage", "opened", "days open")
    title = f"The longest-running open concerns (up to {LONGEST}), by working days open"
    console().print(_whole(title, heads, rows, keep=(0, 1, 2, 4, 5), right=(5,)))


@commands.command(
    epilog=examples(
        "# the monthly quality-assurance meeting: what happened in November",
        "drp report --from 2026-11-01 --to 2026-11-30",
        "# the same, with the ten longest-running open concerns by child reference",
        "drp report --from 2026-11-01 --to 2026-11-30 --with-children",
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
            "--from",
            help="The first day of the period (concerns opened from it; what happened from it).",
            metavar="DATE",
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            help="The last day of the period (concerns opened up to it; what happened up to it).",
            metavar="DATE",
        ),
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
            help="Add each concern's id, external reference and child reference, and list the "
            "ten longest-running open concerns (left out by default).",
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
    """The manager's quality-assurance report: rates, activity in the period, the open
    caseload.

    For the concerns opened in a period: counts and rates (resolved within timescale, at the
    informal stage, escalated, referred to CAFCASS), stages reached, deadlines kept, time to
    resolve and the child's voice; and what happened in the period to any concern
    (escalations, responses, resolutions, referrals, the open caseload at its end)."""
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
    if with_children:  # the children's references are read out: recorded before any is shown
        from drp_cli.services import audit

        named = {item["id"] for key in ("children", "longest_open") for item in data.get(key, [])}
        given = [("--with-children", True), ("--from", data["from"]), ("--to", data["to"]),
                 ("--on", data["on"]), ("--year", year), ("--protocol", protocol),
                 ("--team", team), ("--owner", owner), ("--category", category)]  # fmt: skip
        audit.record_read(t, "report", count=len(named), detail=audit.options_detail(given))
    wrote = []
    if csv_dir is not None:
        written = write_folder(
            csv_dir,
            service.csv_files(data),
            protected=protected_paths(t.store),
            force=force,
            what="report tables",
        )
        wrote.append(f"Wrote the report's tables to {shown_path(written.path)}")
    if html is not None:
        from drp_cli.render import reporthtml

        page = write_file(
            html,
            reporthtml.render(data),
            protected=protected_paths(t.store),
            force=force,
            what="HTML report",
        )
        wrote.append(f"Wrote the HTML report to {shown_path(page.path)}")
    if as_json:
        print_json(data)
    elif not wrote:
        show_report(data)
    for line in wrote:
        typer.echo(line, err=as_json)
