"""Retention, legal holds and purge (issue 31 item 2): `drp hold`, `drp unhold`,
`drp retention`, `drp purge`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from drp_cli.cli.app import (
    ByOption,
    ConcernId,
    JsonOption,
    OnOption,
    command_group,
    examples,
    tracker,
)
from drp_cli.cli.output import concern_data, one_line, print_json, say

if TYPE_CHECKING:
    from drp_cli.domain.retention import Due

commands = command_group()

ReasonOption = Annotated[
    str,
    typer.Option("--reason", help="Why (the inquiry, the claim, the request for disclosure)."),
]


@commands.command(
    epilog=examples(
        'drp hold 12 --reason "Independent inquiry: preservation notice of 3 March 2031"',
    )
)
def hold(
    ctx: typer.Context,
    concern_id: ConcernId,
    reason: ReasonOption,
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Place a legal hold on a concern: kept, whatever the retention schedule says, until
    the hold is lifted."""
    from drp_cli.services import retention

    t = tracker(ctx)
    view = retention.hold(t, concern_id, reason=reason, on=on, by=by)
    data = concern_data(t, view)
    print_json(data) if as_json else one_line("Placed a legal hold on", data)


@commands.command(
    epilog=examples('drp unhold 12 --reason "The inquiry released its preservation notice"')
)
def unhold(
    ctx: typer.Context,
    concern_id: ConcernId,
    reason: ReasonOption,
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lift a concern's legal hold, with the reason."""
    from drp_cli.services import retention

    t = tracker(ctx)
    view = retention.unhold(t, concern_id, reason=reason, on=on, by=by)
    data = concern_data(t, view)
    print_json(data) if as_json else one_line("Lifted the legal hold on", data)


JudgeOn = Annotated[
    str | None,
    typer.Option(
        "--on",
        metavar="DATE",
        help="Judge the retention periods as on this date (default today).",
    ),
]


def _lines(due: list[Due]) -> list[str]:
    return [
        f"  {d.id:>6}  closed {d.closed_on.isoformat()}  due for disposal "
        f"{d.due_for_disposal_on.isoformat()}  ({d.rule})"
        for d in due
    ]


def _held_line(held: list[Due], awaiting: set[int]) -> str:
    """The held concerns past their period: under a legal hold, and kept for a subject
    access request not yet answered (each said as what it is)."""
    lines = []
    legal = ", ".join(str(d.id) for d in held if d.id not in awaiting)
    if legal:
        lines.append(f"Kept under a legal hold though past their period: {legal}")
    waiting = ", ".join(str(d.id) for d in held if d.id in awaiting)
    if waiting:
        lines.append("Kept for a subject access request not yet answered though past their "
                     f"period: {waiting}")  # fmt: skip
    return "\n".join(lines)


@commands.command(
    "retention",
    epilog=examples(
        "# the schedule: drp config set retention_years N (by_route, by_role)",
        "drp retention --on 2031-04-01",
        "drp retention --json",
    ),
)
def retention_(ctx: typer.Context, on: JudgeOn = None, as_json: JsonOption = False) -> None:
    """List the closed concerns past their retention period and not under a legal hold."""
    from drp_cli.services import retention

    judged = retention.judge(tracker(ctx), on)
    if as_json:
        print_json([d.to_dict() for d in judged.due])
        return
    if judged.schedule.empty:
        typer.echo(
            "No retention schedule is set: nothing is ever due for disposal. The council "
            "sets it: drp config set retention_years N (and retention_by_route, "
            "retention_by_role)."
        )
        return
    n = len(judged.due)
    say(
        f"{n} concern{'s' if n != 1 else ''} past the retention period on "
        f"{judged.on.isoformat()} and not held" + (":" if n else ".")
    )
    for line in _lines(judged.due):
        typer.echo(line)
    if judged.held:  # a long list of ids wraps at a terminal's width, not mid-word
        for line in _held_line(judged.held, judged.awaiting).split("\n"):
            say(line)


@commands.command(
    epilog=examples(
        "drp purge --on 2031-04-01 --dry-run",
        "drp purge --on 2031-04-01 --yes",
        "drp purge 4 9 --on 2031-04-01 --yes",
    )
)
def purge(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None,
        typer.Argument(
            metavar="[ID]...",
            help="Only these concerns (each must be past its period and not held).",
        ),
    ] = None,
    on: Annotated[
        str | None,
        typer.Option(
            "--on",
            metavar="DATE",
            help="Judge the retention periods as on this date (required: the day you "
            "checked with --dry-run).",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Remove them for good (nothing is removed without it).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; change nothing.")
    ] = False,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove for good the closed concerns past their retention period and not held: their
    events, items and stored files, leaving a tombstone in the record that `drp verify`
    checks."""
    from drp_cli.core.errors import InvalidInput, fld
    from drp_cli.services import retention

    if on is None:
        raise InvalidInput(f"{fld('on')} is required: the day the retention periods are judged")
    t = tracker(ctx)
    if dry_run or not yes:
        found = retention.purge(t, on=on, ids=ids or (), by=by, dry_run=True)
        if as_json:
            print_json(found.to_dict())
        else:
            _say(found, would=True)
        if not dry_run and found.concerns:
            raise InvalidInput(
                "a purge removes these concerns for good: run it again with --yes "
                "(or --dry-run to list them)"
            )
        return
    done = retention.purge(t, on=on, ids=ids or (), by=by)
    if as_json:
        print_json(done.to_dict())
    else:
        _say(done, would=False)


def _say(p: object, *, would: bool) -> None:
    from drp_cli.services.retention import Purged

    assert isinstance(p, Purged)
    n = len(p.concerns)
    if not n:
        typer.echo(f"Nothing is past its retention period on {p.on.isoformat()} and not held.")
    else:
        verb = "Would purge" if would else "Purged"
        typer.echo(
            f"{verb} {n} concern{'s' if n != 1 else ''} past the retention period on "
            f"{p.on.isoformat()}: {p.events} event{'s' if p.events != 1 else ''}, "
            f"{p.items} item{'s' if p.items != 1 else ''}, {p.attachments} attachment"
            f"{'s' if p.attachments != 1 else ''} ({p.files} stored "
            f"file{'s' if p.files != 1 else ''})"
            + (
                f", {p.requests} subject access request{'s' if p.requests != 1 else ''}"
                if p.requests
                else ""
            )
        )
        for line in _lines(p.concerns):
            typer.echo(line)
        if p.tombstone is not None:
            typer.echo(f"Tombstone: chain position {p.tombstone} (drp verify checks it).")
    if p.held:
        typer.echo(_held_line(p.held, p.awaiting))
