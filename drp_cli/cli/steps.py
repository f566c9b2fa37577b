"""Commands that record what happens inside a stage and around a referral: meeting, done,
due, cafcass, not-applicable, good-practice."""

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
from drp_cli.cli.concerns import report
from drp_cli.cli.textarg import EditOption, main_text, text_option

commands = command_group()


@commands.command(
    epilog=examples(
        'drp meeting 4 --attendees "Practice Manager; Social Worker; IRO" '
        '--text "The PEP to be held by 28 March" --actions "SW to book the PEP by 21 March" '
        "--on 2025-03-12"
    )
)
def meeting(
    ctx: typer.Context,
    concern_id: ConcernId,
    attendees: Annotated[
        str, typer.Option(help='Who attended, separated by ";" ("A. Smith, SW; B. Jones, TM").')
    ],
    text: Annotated[str | None, text_option("--text", help="What was discussed.")] = None,
    actions: Annotated[
        str, typer.Option(help='Actions agreed, separated by ";" (with who and by when).')
    ] = "",
    step: Annotated[
        str | None,
        typer.Option(help="The stage's meeting this was (default: the first not yet held)."),
    ] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Record a meeting held: who attended, what was discussed, the actions agreed.

    It meets the stage's meeting step (a professionals' meeting, say), shown in `drp show`,
    the chronology and the bundle.
    """
    text = main_text(text, edit, "--text", required=True)
    view = tracker(ctx).meeting(
        concern_id,
        attendees=attendees.split(";"),
        text=text,
        actions=actions.split(";") if actions else [],
        step=step,
        on=on,
        by=by,
    )
    report(ctx, "Recorded a meeting on", view, as_json)


@commands.command(
    epilog=examples(
        "drp done 4 central-log --on 2025-03-03",
        'drp done 7 contact --text "Service managers spoke by phone"',
    )
)
def done(
    ctx: typer.Context,
    concern_id: ConcernId,
    what: Annotated[
        str,
        typer.Argument(help="The step or recording duty (see `drp show ID`).", metavar="WHAT"),
    ],
    text: Annotated[str, text_option("--text", help="A note on it.")] = "",
    stage: Annotated[
        str | None,
        typer.Option(
            help="The stage it belongs to, by its slug or name (default: the stage of the day, "
            "else an earlier stage that has it not yet done).",
            metavar="STAGE",
        ),
    ] = None,
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a step of the stage, or a recording duty, as done.

    It is recorded at the stage it belongs to (the stage of the day, else an earlier stage
    that has it not yet done, or --stage), and the confirmation names that stage."""
    t = tracker(ctx)
    if stage is not None:  # a stage by name ("Stage 1"), as every option takes one
        from drp_cli.domain.protocols import stage_slug_anywhere

        stage = stage_slug_anywhere(stage, t.protocols.protocols.values())
    view = t.done(concern_id, what, text=text, on=on, by=by, stage=stage)
    done = next((e for e in reversed(view.events) if e.kind == "done"), None)
    at = f" at {done.stage}" if done is not None else ""
    report(ctx, f"Recorded {what}{at} as done on", view, as_json)


@commands.command(
    epilog=examples(
        "# an aim extended (a firm timescale can only be shortened)",
        'drp due 1 2025-03-14 --reason "Team Manager on leave; agreed with the IRO manager"',
    )
)
def due(
    ctx: typer.Context,
    concern_id: ConcernId,
    date: Annotated[
        str, typer.Argument(help="The new due date (DD/MM/YYYY or YYYY-MM-DD).", metavar="DATE")
    ],
    reason: Annotated[str, text_option("--reason", help="Why (required).")] = "",
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set or change the current stage's due date, with the reason.

    Never later than a firm timescale allows; an aim may be extended.
    """
    view = tracker(ctx).set_due(concern_id, date, reason=reason, on=on, by=by)
    report(ctx, "Set the due date of", view, as_json)


@commands.command(
    epilog=examples(
        'drp cafcass 4 senior-officer-notified --officer "Group Manager, Safeguarding" '
        "--on 2025-03-12",
        'drp cafcass 4 helpline --text "The duty lawyer advised a referral"',
    )
)
def cafcass(
    ctx: typer.Context,
    concern_id: ConcernId,
    step: Annotated[
        str,
        typer.Argument(
            help="senior-officer-notified, helpline, legal-advice, confirmed-in-writing or "
            "outcome.",
            metavar="STEP",
            autocompletion=complete.cafcass_steps,
        ),
    ],
    officer: Annotated[
        str, typer.Option(help="For senior-officer-notified: who was notified.")
    ] = "",
    text: Annotated[str, text_option("--text", help="What was said or decided.")] = "",
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a step around a CAFCASS referral (notification, helpline, advice, outcome)."""
    view = tracker(ctx).cafcass_step(concern_id, step, officer=officer, text=text, on=on, by=by)
    report(ctx, f"Recorded CAFCASS step {step} on", view, as_json)


@commands.command(
    "not-applicable",
    epilog=examples(
        'drp not-applicable 4 care-order --reason "Accommodated under s.20: no care order"'
    ),
)
def not_applicable(
    ctx: typer.Context,
    concern_id: ConcernId,
    item: Annotated[
        str,
        typer.Argument(
            help="The bundle item (care-order, guardian-report, ...).",
            autocompletion=complete.bundle_items,
        ),
    ],
    reason: Annotated[str, text_option("--reason", help="Why it does not apply.")] = "",
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark an item of the CAFCASS bundle as not applicable, with the reason."""
    view = tracker(ctx).not_applicable(concern_id, item, reason=reason, on=on, by=by)
    report(ctx, f"Marked {item} not applicable on", view, as_json)


@commands.command(
    "good-practice",
    epilog=examples(
        'drp good-practice 4 --text "The manager arranged the PEP within two days of the alert"'
    ),
)
def good_practice(
    ctx: typer.Context,
    concern_id: ConcernId,
    text: Annotated[str | None, text_option("--text", help="The good practice.")] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Record good practice or a positive resolution."""
    text = main_text(text, edit, "--text", required=True)
    view = tracker(ctx).good_practice(concern_id, text=text, on=on, by=by)
    report(ctx, "Recorded good practice on", view, as_json)
