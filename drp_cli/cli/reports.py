"""Commands that read: list, show, overdue."""

# No `from __future__ import annotations` here: Typer reads each command's options from the
# annotations, and strings would be compiled by eval() on every run (twice: for the
# signature and for the type hints), 8 M instructions of `drp overdue` and 20 M of its
# shell completion; evaluated at import, they come from the byte-compiled file.
# Names imported only for type checking are quoted. The options written out in full for
# `list` and `show` are quoted too ("""Annotated[...]"""): Typer evaluates them only when it
# builds that command, so the morning check, which imports this module, does not make
# their Option objects (2 M instructions).

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from drp_cli.services.listing import TableRow
    from drp_cli.services.tracker import Tracker
    from drp_cli.store.connection import Store

from drp_cli.cli import complete
from drp_cli.cli.app import (
    JsonOption,
    JudgeOnOption,
    MineOption,
    OwnerOption,
    TeamOption,
    check_id,
    command_group,
    examples,
    state,
    store,
    tracker,
)
from drp_cli.cli.output import (
    concern_data,
    concern_table,
    documents_data,
    listed_table,
    print_json,
    show,
)
from drp_cli.cli.output import is_terminal as _is_terminal  # tests put a terminal here

commands = command_group()


@commands.command(
    "list",
    epilog=examples("drp list", "drp list --status all --protocol knowsley --stage stage-2 --json"),
)
def list_(
    ctx: typer.Context,
    status: """Annotated[
        str,
        typer.Option(help="open, resolved, withdrawn or all.", autocompletion=complete.statuses),
    ]""" = "open",
    protocol: """Annotated[
        str | None,
        typer.Option(help="Only this protocol.", autocompletion=complete.protocols),
    ]""" = None,
    child: """Annotated[str | None, typer.Option(help="Only this child reference.")]""" = None,
    stage: """Annotated[
        str | None,
        typer.Option(
            help='Only concerns at this stage: its slug or name (stage-2, "Stage 2").',
            autocompletion=complete.stages,
        ),
    ]""" = None,
    raised_by: """Annotated[
        str | None, typer.Option(help="Only concerns raised by this person (whatever the case).")
    ]""" = None,
    category: """Annotated[
        str | None,
        typer.Option(
            help='Only this theme: its slug or title (care-plan, "care plan").',
            autocompletion=complete.categories,
        ),
    ]""" = None,
    owner: OwnerOption = None,
    mine: MineOption = False,
    team: TeamOption = None,
    search: """Annotated[
        str | None,
        typer.Option(
            help="Only concerns with this text in the summary, outcome, notes or responses "
            "(whatever the case).",
            metavar="TEXT",
        ),
    ]""" = None,
    opened_from: """Annotated[
        str | None, typer.Option(help="Only concerns opened on or after this date.", metavar="DATE")
    ]""" = None,
    opened_to: """Annotated[
        str | None,
        typer.Option(help="Only concerns opened on or before this date.", metavar="DATE"),
    ]""" = None,
    overdue: """Annotated[
        bool, typer.Option("--overdue", help="Only concerns with a firm deadline passed on --on.")
    ]""" = False,
    on: JudgeOnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List concerns (open ones by default)."""
    source: Tracker | Store
    table: list[TableRow] | None = None
    if not as_json and search is None and protocol is None and stage is None and category is None:
        # the table reads only what it shows and judges (drp_cli.services.listing): the
        # same rows, a tenth of the work of the views and their JSON shape
        from drp_cli.services import listing

        source = store(ctx)
        table = listing.table_rows(source, status=status, child=child, raised_by=raised_by,
                                  owner=owner, mine=mine, team=team, opened_from=opened_from,
                                  opened_to=opened_to, overdue=overdue, on=on)  # fmt: skip
        if not table and (owner is not None or team is not None):
            from drp_cli.services import staff

            staff.check_filters(tracker(ctx), owner=owner, team=team)  # no misspelt name
        count = len(table)
    else:
        source = t = tracker(ctx)
        if stage is not None:  # a stage by name ("Stage 2"), as every option takes one
            from drp_cli.domain.protocols import stage_slug_anywhere

            chosen = [t.protocols.get(protocol)] if protocol is not None else None
            stage = stage_slug_anywhere(stage, chosen or t.protocols.protocols.values())
        rows = _listed(t, status=status, protocol=protocol, child=child, stage=stage,
                       raised_by=raised_by, category=category, owner=owner, mine=mine, team=team,
                       search=search, opened_from=opened_from, opened_to=opened_to,
                       overdue=overdue, on=on, as_json=as_json)  # fmt: skip
        count = len(rows)
    from drp_cli.services import audit

    # recorded before anything is shown (it cannot be turned off): a child's reference and
    # a text searched for are recorded as given, never their values
    given = [("--status", status), ("--protocol", protocol), ("--child", child),
             ("--stage", stage), ("--raised-by", raised_by), ("--category", category),
             ("--owner", owner), ("--mine", mine), ("--team", team), ("--search", search),
             ("--opened-from", opened_from), ("--opened-to", opened_to),
             ("--overdue", overdue), ("--on", on if overdue else None)]  # fmt: skip
    audit.record_read(source, "list", count=count,
                      detail=audit.options_detail(given, private=LIST_PRIVATE))  # fmt: skip
    if table is not None:
        listed_table(table, plain=not _is_terminal())
    elif as_json:
        print_json(rows)
    else:
        concern_table(rows, plain=not _is_terminal())


def _listed(
    t: "Tracker",
    *,
    status: str,
    protocol: str | None,
    child: str | None,
    stage: str | None,
    raised_by: str | None,
    category: str | None,
    owner: str | None,
    mine: bool,
    team: str | None,
    search: str | None,
    opened_from: str | None,
    opened_to: str | None,
    overdue: bool,
    on: str | None,
    as_json: bool,
) -> list[dict[str, Any]]:
    """`drp list`'s concerns the library's way: each one's view, then its JSON shape
    (``--json``, and the filters the table's own read does not take)."""
    # the table needs no events; --json includes each concern's events
    views = t.concerns(
        status=status, protocol=protocol, child=child, stage=stage, raised_by=raised_by,
        category=category, owner=owner, mine=mine, team=team, search=search,
        opened_from=opened_from, opened_to=opened_to,
        overdue_on=t.judge_day(on) if overdue else None, with_events=as_json,
    )  # fmt: skip
    if not views and (owner is not None or team is not None):
        from drp_cli.services import staff

        staff.check_filters(t, owner=owner, team=team)  # a misspelt name is no empty list
    return [concern_data(t, v, on, timeline=False) for v in views]


#: The options of `drp list` the audit of reads records as given, never their values: a
#: child's reference, and a text searched for (it may name a child).
LIST_PRIVATE = frozenset({"--child", "--search"})


def check_ref(value: str | None) -> str | None:
    """A concern's id, or a reference: a whole number must be an id (1 to 2^31 - 1)."""
    if value is not None and _is_whole_number(value.strip()):
        check_id(int(value.strip()))
    return value


def _is_whole_number(text: str) -> bool:
    """``re.fullmatch(r"-?[0-9]+", text)``, without compiling a pattern at import (every
    command of this module, the morning check too, would pay for it)."""
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


@commands.command(
    "show",
    epilog=examples("drp show 1", "drp show NT-1004 --json", "drp show 1 --on 2025-03-21 --json"),
)
def show_(
    ctx: typer.Context,
    ref: """Annotated[
        str,
        typer.Argument(
            help="The concern's id or external reference (NT-1004); or a child's reference, "
            "to list that child's concerns.",
            metavar="ID|REF",
            callback=check_ref,
            autocompletion=complete.concern_ids,
        ),
    ]""",
    on: JudgeOnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one concern: its stages with deadlines met or missed, and every event."""
    from drp_cli.services import audit

    t = tracker(ctx)
    found = t.find(ref)
    if found.by == "child":
        rows = [concern_data(t, v, on, timeline=False) for v in found.concerns]
        ids = [v.id for v in found.concerns]
        detail = audit.concerns_detail(ids, "by the child's reference")  # never the reference
        one = ids[0] if len(ids) == 1 else None
        audit.record_read(t, "show", concern=one, count=len(ids), detail=detail)
        if as_json:
            print_json(rows)
        else:
            concern_table(rows, plain=not _is_terminal())
        return
    data = concern_data(t, found.concerns[0], on)
    data.update(documents_data(t, found.concerns[0].id))  # the child's shared record
    audit.record_read(
        t,
        "show",
        concern=found.concerns[0].id,
        count=1,
        detail="by external reference" if found.by == "external_ref" else "",
    )
    if as_json:
        print_json(data)
    else:
        show(data)


@commands.command(
    epilog=examples(
        "# the morning check: overdue today, and what falls due within 2 working days",
        "drp overdue --within 2",
        "drp overdue --on 2025-03-21 --json",
        "# for cron: mail each IRO their own list (addresses: the staff directory)",
        "drp overdue --within 2 --send",
        "drp overdue --within 2 --eml morning-check",
        "drp overdue --mine --eml my-check.eml",
    )
)
def overdue(
    ctx: typer.Context,
    on: JudgeOnOption = None,
    within: Annotated[
        int,
        typer.Option(help="Also list concerns due within this many working days (0-260)."),
    ] = 0,
    owner: OwnerOption = None,
    mine: MineOption = False,
    team: TeamOption = None,
    eml: Annotated[
        str | None,
        typer.Option(
            metavar="PATH",
            help="Write the check as e-mails, one to each owner: a folder of .eml files (one "
            "per owner), or one .eml FILE with --owner, --mine or --to.",
        ),
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Send each owner their own list through the mail server in the config file "
            "(addresses from the staff directory).",
        ),
    ] = False,
    to: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESSES",
            help="With --eml or --send: the whole check as one e-mail to these addresses "
            "(separated by commas) instead of one to each owner.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="With --eml: replace what drp wrote there before.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The daily check: what is overdue (exit status 1 if a firm deadline is passed), what is
    past an aim or guidance, and what is due soon.

    Then the subject access requests not yet answered that are due by the same day (with
    --within, that many working days on), overdue ones included: exit status 1 too once
    one's due date is passed. --json lists the concerns' lines only (`drp subject-access
    --due --json` lists the requests); --eml and --send leave the requests out. With
    --owner or --mine: the requests that person recorded; with --team: those recorded by
    someone the staff directory puts in that team."""
    from drp_cli.cli.dailycheck import run

    raise typer.Exit(run(state(ctx), typer.echo, on=on, within=within, owner=owner, mine=mine,
                         team=team, eml=eml, send=send, to=to, force=force,
                         as_json=as_json))  # fmt: skip
