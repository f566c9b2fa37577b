"""Reference commands: protocols, themes and the working-day calendar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from drp_cli.domain.protocols import Timescale

from drp_cli.cli import complete
from drp_cli.cli.app import (
    ByOption,
    JsonOption,
    MineOption,
    OwnerOption,
    TeamOption,
    command_group,
    examples,
    tracker,
)
from drp_cli.cli.output import console, print_json
from drp_cli.cli.textarg import text_option
from drp_cli.core.textsafe import shown_path
from drp_cli.domain.protocols import as_data

CLOSE_EXAMPLE = (
    'drp calendar close 2025-12-29 --to 2025-12-31 --reason "Offices closed between '
    'Christmas and New Year"'
)
protocols_app = command_group(
    help="The dispute resolution protocols drp knows.",
    no_args_is_help=False,
    epilog=examples("drp protocols", "drp protocols show knowsley", "drp protocols --paths"),
)
calendar_app = command_group(
    help="Working days: bank holidays, local closure days, deadline sums; deadlines for Outlook.",
    no_args_is_help=True,
    epilog=examples(
        CLOSE_EXAMPLE,
        "# the 20th working day after 3 March 2025",
        "drp calendar add 2025-03-03 20",
        "drp calendar export --mine -o drp-deadlines.ics",
    ),
)

commands = command_group()
commands.add_typer(protocols_app, name="protocols")
commands.add_typer(calendar_app, name="calendar")


def _protocol_dict(p: Any, path: Any) -> dict[str, Any]:
    data: dict[str, Any] = as_data(p)
    data["file"] = str(path)
    return data


@protocols_app.callback(invoke_without_command=True)
def protocols_list(
    ctx: typer.Context,
    paths: Annotated[
        bool, typer.Option("--paths", help="Show where protocol files are read from.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the protocols (built-in and your own); `drp protocols show SLUG` for one."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from drp_cli.domain.protocols import builtin_dir, registry, user_dirs

    if paths:
        typer.echo(f"built-in: {builtin_dir()}")
        for d in user_dirs():
            typer.echo(f"yours:    {d}{'' if d.is_dir() else ' (does not exist yet)'}")
        return
    reg = registry()
    if as_json:
        print_json([_protocol_dict(p, reg.paths[s]) for s, p in sorted(reg.protocols.items())])
        return
    table = Table()
    for name in ("Protocol", "Authority", "Stages", "Formal limit"):
        table.add_column(name, overflow="fold")
    for slug, p in sorted(reg.protocols.items()):
        stages = " > ".join(f"{s.slug} ({_short(s.clock)})" for s in p.stages)
        limit = f"{p.formal_cap_working_days} wd {p.cap_kind}" if p.cap_kind else "none"
        table.add_row(slug, p.authority, stages, limit)
    console().print(table)
    typer.echo(
        "Stage timescales in working days unless said ('aim': what the source aims for, not a "
        "limit); "
        "'-' means the source gives none."
    )


@protocols_app.command(
    "show", epilog=examples("drp protocols show west-sussex", "drp protocols show knowsley --json")
)
def protocols_show(
    slug: Annotated[str, typer.Argument(help="Protocol slug.", autocompletion=complete.protocols)],
    as_json: JsonOption = False,
) -> None:
    """Show one protocol's stages, who they go to, timescales and sources."""
    from rich.markup import escape
    from rich.table import Table

    from drp_cli.domain.protocols import registry

    reg = registry()
    p = reg.get(slug)
    if as_json:
        print_json(_protocol_dict(p, reg.paths[slug]))
        return
    out = console()
    out.print(f"[bold]{escape(p.title)}[/] ({escape(p.slug)})")
    dated = f" (dated {p.source_date})" if p.source_date[:4] not in p.source else ""
    out.print(f"{escape(p.authority)}. Source: {escape(p.source + dated)}")
    if p.summary:
        out.print(escape(p.summary))
    if p.cap_kind is None:
        limit = "none"
    else:
        limit = f"{p.formal_cap_working_days} working days ({p.cap_kind})"
        if p.formal_cap_roles:
            limit += f", for {', '.join(p.formal_cap_roles)}"
    out.print(f"Formal process limit: {limit}. {escape(p.formal_cap_citation)}")
    out.print(f"Bypass: {escape(p.bypass_citation)}")
    cafcass = p.referral
    out.print(f"CAFCASS: {'' if cafcass.offered else 'not offered. '}{escape(cafcass.citation)}")
    if cafcass.notify_before:
        out.print(f"  Notify before referring: {escape(cafcass.notify_before)}")
    if cafcass.after_stage:
        out.print(f"  The source places referral after: {escape(cafcass.after_stage)}")
    if cafcass.offered:
        referrers = "every role" if cafcass.roles is None else ", ".join(cafcass.roles)
        said = (f': "{cafcass.roles_quote}" ({cafcass.roles_citation})'
                if cafcass.roles_quote else "")  # fmt: skip
        out.print(f"  Who may refer: {escape(referrers + said)}")
    out.print(f"Raised by: {', '.join(p.roles)}")
    for r in p.routes:
        about = {"carer": "a carer household", "chair": "an independent chair"}.get(
            r.subject, "a child"
        )
        facts = [f"about {about}", f"raised by {', '.join(r.roles) or 'any role'}"]
        if not r.cafcass:
            facts.append("no CAFCASS referral")
        if not r.child_voice:
            facts.append("no child's-voice prompts")
        out.print(escape(f"Route {r.slug}: {r.title} ({'; '.join(facts)}; {r.citation})"))
        if r.guidance:
            out.print(escape(f"  {r.guidance}"))
    table = Table(show_lines=True)
    for name in ("Stage", "Who", "Timescale", "Steps and recording duties", "Source"):
        table.add_column(name, overflow="fold")
    for s in p.stages:
        clock = s.clock
        if clock is None:
            timescale = "none given"
        else:
            start = "" if clock.start == "stage" else f" from {clock.start}"
            of = "" if s.timescale is not None else f" (the step {s.timescale_step})"
            timescale = f"{clock.label} {clock.words}{start}{of} ({clock.kind})"
        if s.timescale_note:
            timescale += f"\n{s.timescale_note}"
        who = [f"To: {'; '.join(s.addressee_names)}", f"Reply: {s.response_by}"]
        for label, parties in (("Attend", s.attendees), ("Copy", s.copies),
                               ("Notify", s.notifications)):  # fmt: skip
            if parties:
                who.append(f"{label}: {'; '.join(x.who for x in parties)}")
        things = [
            f"{st.slug}: {st.who}"
            + (f", within {st.timescale.words} ({st.timescale.kind})" if st.timescale else "")
            + (" (meeting)" if st.meeting else "")
            + (" (optional)" if st.optional else "")
            for st in s.steps
        ] + [f"duty {d.slug}: {d.text}" for d in [*p.duties, *s.duties]]
        table.add_row(
            escape(f"{s.slug}\n{s.title}" + ("\n(formal)" if s.formal else "\n(informal)")),
            escape("\n".join(who)),
            escape(timescale),
            escape("\n".join(things) or "-"),
            escape(s.citation),
        )
    out.print(table)


@commands.command(epilog=examples("drp themes", "drp themes --json"))
def themes(as_json: JsonOption = False) -> None:
    """The four themes (categories) and the example issues within each."""
    from drp_cli.domain.protocols import themes as load_themes

    t = load_themes()
    if as_json:
        print_json(as_data(t)["themes"])
        return
    for theme in t.themes:
        typer.echo(f"{theme.slug}: {theme.title}")
        for issue in theme.issues:
            typer.echo(f"  {issue.slug:<26} {issue.text}")


@calendar_app.command("closures", epilog=examples("drp calendar closures"))
def closures(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the local closure days in force."""
    t = tracker(ctx)
    t.store.require()  # no database is not the same as no closure days
    items = t.closures()
    if as_json:
        print_json(
            [
                {
                    "day": c.day.isoformat(),
                    "reason": c.reason,
                    "by": c.by,
                    "recorded_at": c.recorded_at.isoformat(),
                }
                for c in items
            ]
        )
        return
    if not items:
        typer.echo("No local closure days.")
    for c in items:
        typer.echo(f"{c.day.isoformat()} {c.day:%a}  {c.reason}  (added by {c.by})")


@calendar_app.command(
    "close",
    epilog=examples('drp calendar close 2025-08-15 --reason "Office move"', CLOSE_EXAMPLE),
)
def close(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(metavar="DATE", help="First closure day.")],
    to: Annotated[
        str | None, typer.Option("--to", metavar="DATE", help="Last closure day.")
    ] = None,
    reason: Annotated[
        str, text_option("--reason", help="Why the office is closed.")
    ] = "Office closure",
    force: Annotated[
        bool,
        typer.Option(
            help="Close the days even if that clears a firm deadline overdue today "
            "(it is refused otherwise, naming what it would clear)."
        ),
    ] = False,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add local closure days (weekdays not already bank holidays); deadlines move."""
    days = tracker(ctx).add_closures(day, to, reason=reason, by=by, force=force)
    if as_json:
        print_json([d.isoformat() for d in days])
        return
    typer.echo(
        f"Added {len(days)} closure day{'s' if len(days) != 1 else ''}: "
        + ", ".join(d.isoformat() for d in days)
        + ". Open concerns' deadlines recalculated."
    )


@calendar_app.command("reopen", epilog=examples("drp calendar reopen 2025-12-31"))
def reopen(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(metavar="DATE", help="The closure day to remove.")],
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a local closure day; deadlines move back."""
    removed = tracker(ctx).remove_closure(day, by=by)
    if as_json:
        print_json([removed.isoformat()])
        return
    typer.echo(
        f"{removed.isoformat()} is a working day again. Open concerns' deadlines recalculated."
    )


@calendar_app.command(
    "add",
    epilog=examples("# the 20th working day after 3 March 2025", "drp calendar add 2025-03-03 20"),
)
def add_days(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(metavar="DATE")],
    n: Annotated[int, typer.Argument(metavar="N", help="How many working days (1-1000).")],
    as_json: JsonOption = False,
) -> None:
    """The Nth working day after DATE (DATE itself not counted)."""
    from drp_cli.core.dates import parse_date
    from drp_cli.core.errors import InvalidInput
    from drp_cli.domain.wording import days

    if not 1 <= n <= 1000:
        raise InvalidInput("the number of working days must be from 1 to 1000")
    start = parse_date(day, "the date")
    try:
        result = tracker(ctx).calendar().add(start, n)
    except ValueError:  # past the last year the calendar knows
        raise InvalidInput(
            f"{days(n)} after {start.isoformat()} is after 2199-12-31, the last day "
            "drp's calendar covers"
        ) from None
    if as_json:
        print_json({"from": start.isoformat(), "working_days": n, "date": result.isoformat()})
    else:
        typer.echo(f"{days(n)} after {start.isoformat()}: {result.isoformat()} ({result:%a})")


@calendar_app.command(
    "holidays", epilog=examples("drp calendar holidays 2025", "drp calendar holidays 2026 --json")
)
def holidays_(
    year: Annotated[int, typer.Argument(help="A year, 1990-2199.")],
    as_json: JsonOption = False,
) -> None:
    """England & Wales bank holidays of a year (substitute days included)."""
    from drp_cli.core.errors import InvalidInput
    from drp_cli.domain.calendar import MAX_YEAR, MIN_YEAR, bank_holiday_names

    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"YEAR must be from {MIN_YEAR} to {MAX_YEAR}")
    names = sorted(bank_holiday_names(year).items())
    if as_json:
        print_json([{"day": d.isoformat(), "name": n} for d, n in names])
        return
    for d, n in names:
        typer.echo(f"{d.isoformat()} {d:%a}  {n}")


@calendar_app.command(
    "export",
    epilog=examples(
        "drp calendar export --mine -o drp-deadlines.ics",
        'drp calendar export --owner "Sam Patel" -o sam.ics --force',
        "# the child's reference in each event (only for a calendar no one else sees)",
        "drp calendar export --mine --with-children -o drp-deadlines.ics",
    ),
)
def calendar_export(
    ctx: typer.Context,
    output: Annotated[
        str,
        typer.Option("-o", "--output", metavar="FILE", help="The .ics file to write."),
    ],
    owner: OwnerOption = None,
    mine: MineOption = False,
    team: TeamOption = None,
    with_children: Annotated[
        bool,
        typer.Option(
            "--with-children", help="Put the child's reference in each event (default: not)."
        ),
    ] = False,
    force: Annotated[bool, typer.Option(help="Replace FILE if drp wrote it.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write the open concerns' deadlines as an iCalendar file (.ics) for Outlook: one
    all-day event per stage deadline and per firm formal deadline."""
    from drp_cli.render import ics

    written, count = ics.write(tracker(ctx), output, force=force, owner=owner, mine=mine,
                               team=team, with_children=with_children)  # fmt: skip
    if as_json:
        print_json({"path": output, "events": count})
        return
    verb = "Replaced" if written.replaced else "Wrote"
    typer.echo(f"{verb} {shown_path(output)}: {count} deadline{'s' if count != 1 else ''}.")


def _short(clock: Timescale | None) -> str:
    """A stage's clock in the protocols table: "5", "5 aim", "24 hours", or "-"."""
    if clock is None:
        return "-"
    amount = str(clock.amount) if clock.unit == "working-days" else clock.words
    return amount + ("" if clock.kind == "firm" else f" {clock.kind}")
