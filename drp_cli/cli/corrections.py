"""Commands that correct the record and hand concerns over: amend, retract, reopen, redact,
assign. Each is an event with who, when and the reason."""

from __future__ import annotations

from typing import Annotated

import typer

from drp_cli.cli import complete
from drp_cli.cli.app import (
    ByOption,
    ConcernId,
    JsonOption,
    OnOption,
    command_group,
    examples,
    tracker,
)
from drp_cli.cli.concerns import DueOption, report
from drp_cli.cli.textarg import text_option

commands = command_group()

ReasonOption = Annotated[
    str, text_option("--reason", help="Why (required): what was wrong, or why it changes.")
]
Seq = Annotated[
    int,
    typer.Argument(help="The entry's number (`drp show ID`, or events[].seq).", metavar="SEQ",
                   min=1),
]  # fmt: skip


@commands.command(
    epilog=examples(
        'drp amend 3 --impact "Not seen alone for 9 weeks." --reason "Impact left out."'
    )
)
def amend(
    ctx: typer.Context,
    concern_id: ConcernId,
    reason: ReasonOption,
    summary: Annotated[str | None, text_option("--summary", help="The corrected summary.")] = None,
    impact: Annotated[str | None, text_option("--impact", help="The impact on the child.")] = None,
    recommended: Annotated[
        str | None, text_option("--recommended", help="The recommended resolution.")
    ] = None,
    child: Annotated[
        str | None, typer.Option(help="The child's case reference (not their name).")
    ] = None,
    category: Annotated[str | None, typer.Option(help="The theme.")] = None,
    issue: Annotated[str | None, typer.Option(help="The issue within the theme.")] = None,
    raised_by: Annotated[str | None, typer.Option(help="Who raised it.")] = None,
    role: Annotated[str | None, typer.Option(help="The role it was raised in.")] = None,
    referral_reason: Annotated[
        str | None,
        text_option("--referral-reason", help="Why the CAFCASS referral was made now."),
    ] = None,
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Correct what was recorded about a concern, with the reason.

    The correction is an event: `drp show` and the bundle show the value as corrected and
    the history keeps what was first recorded (use `drp redact` for personal data typed in
    error).
    """
    from drp_cli.services import corrections

    given = {
        "summary": summary, "impact": impact, "recommended": recommended, "child": child,
        "category": category, "issue": issue, "raised_by": raised_by, "role": role,
        "referral_reason": referral_reason,
    }  # fmt: skip
    changes = {k: v for k, v in given.items() if v is not None}
    view = corrections.amend(tracker(ctx), concern_id, changes, reason=reason, on=on, by=by)
    report(ctx, f"Amended {', '.join(changes)} of", view, as_json)


@commands.command(epilog=examples('drp retract 2 4 --reason "Escalated the wrong concern."'))
def retract(
    ctx: typer.Context,
    concern_id: ConcernId,
    seq: Seq,
    reason: ReasonOption,
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Retract an entry made in error: it stays in the history, marked, and no longer counts.

    Retracting a wrong escalation puts the concern back at its earlier stage, with that
    stage's deadline.
    """
    from drp_cli.services import corrections

    view = corrections.retract(tracker(ctx), concern_id, seq, reason=reason, on=on, by=by)
    report(ctx, f"Retracted entry {seq} of", view, as_json)


@commands.command(
    epilog=examples('drp reopen 5 --reason "Contact has stopped again." --on 2026-05-04')
)
def reopen(
    ctx: typer.Context,
    concern_id: ConcernId,
    reason: ReasonOption,
    due: DueOption = None,
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reopen a resolved or withdrawn concern at the stage it was at (its clock restarts)."""
    from drp_cli.services import corrections

    view = corrections.reopen(tracker(ctx), concern_id, reason=reason, on=on, due=due, by=by)
    report(ctx, "Reopened", view, as_json)


@commands.command(
    epilog=examples('drp assign 3 --to "Priya Shah" --reason "Sam on leave until 2 June."')
)
def assign(
    ctx: typer.Context,
    concern_id: ConcernId,
    to: Annotated[
        str,
        typer.Option("--to", help="The IRO who takes it over.", autocompletion=complete.owners),
    ],
    reason: ReasonOption,
    team: Annotated[
        str | None, typer.Option(help="Their team (default: the staff directory's).")
    ] = None,
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Hand a concern over to another IRO (and team), with the reason."""
    from drp_cli.services import corrections

    view = corrections.assign(tracker(ctx), concern_id, to=to, team=team, reason=reason,
                              on=on, by=by)  # fmt: skip
    report(ctx, f"Handed to {view.owner}:", view, as_json)


@commands.command(
    epilog=examples('drp redact 3 1 --field child --reason "Child\'s name typed as the reference."')
)
def redact(
    ctx: typer.Context,
    concern_id: ConcernId,
    seq: Seq,
    field: Annotated[
        list[str],
        typer.Option(
            "--field", help="What to remove: text, or a detail such as child (repeat for more)."
        ),
    ],
    reason: ReasonOption,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove personal data entered in error from an entry (a name typed as a reference).

    The text is removed from the database (rewritten so that no copy is left in it) and
    from every later backup and export; the history records that something was redacted,
    by whom and why, and `drp verify` still passes. Correct the value with `drp amend`.
    """
    from drp_cli.services import corrections

    done = corrections.redact(tracker(ctx), concern_id, seq, field, reason=reason, by=by)
    for warning in done.warnings:
        typer.echo(f"Warning: {warning}", err=True)
    report(ctx, f"Redacted {', '.join(dict.fromkeys(field))} of entry {seq} of", done.concern,
           as_json)  # fmt: skip
