"""Commands that record: open, escalate, respond, note, refer, voice, resolve, withdraw."""

# No `from __future__ import annotations`: Typer reads the signatures of the commands, their
# parameters' callbacks and completions with eval() of every annotation string on each run;
# evaluated at import, they come from the byte-compiled file (issue 32).

from enum import StrEnum
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
from drp_cli.cli.output import concern_data, one_line, print_json
from drp_cli.cli.textarg import EditOption, main_text, text_option
from drp_cli.core.textsafe import visible

commands = command_group()

DueOption = Annotated[
    str | None,
    typer.Option(
        "--due",
        metavar="DATE",
        help="A stage deadline earlier than the protocol's (or one where it sets none).",
    ),
]


def report(
    ctx: typer.Context, verb: str, view: object, as_json: bool, kind: str | None = None
) -> None:
    """What a recording command prints: the concern as JSON, or a line saying what was done
    and what comes next (``kind``, the event recorded, says whether to ask for the child's
    voice: :data:`drp_cli.domain.wording.VOICE_ASKED_AFTER`)."""
    t = tracker(ctx)
    data = concern_data(t, view)  # type: ignore[arg-type]
    if as_json:
        print_json(data)
    else:
        one_line(verb, data, kind)


@commands.command(
    "open",
    epilog=examples(
        "drp open --protocol knowsley --child KN-2231 --category statutory --issue "
        'no-social-worker --summary "No social worker since the review on 20 February." '
        "--on 2025-03-03",
        "# at a later stage; the summary from a file, out of the shell's history",
        "drp open --protocol west-sussex --child WS-0418 --category care-plan --stage "
        'stage-2 --reason "Immediate safety: the placement ends on Friday" --summary '
        "@concern.txt",
    ),
)
def open_(
    ctx: typer.Context,
    category: Annotated[
        str,
        typer.Option(
            help='Theme: general, statutory, care-plan or service (or its title: "care plan").',
            autocompletion=complete.categories,
        ),
    ],
    protocol: Annotated[
        str | None,
        typer.Option(
            help="Protocol slug (see `drp protocols`; default: your config's).",
            autocompletion=complete.protocols,
        ),
    ] = None,
    child: Annotated[
        str | None, typer.Option(help="The child's case reference (not their name).")
    ] = None,
    summary: Annotated[
        str | None, text_option("--summary", help="The concern, in a sentence or two.")
    ] = None,
    impact: Annotated[str, text_option("--impact", help="The impact on the child.")] = "",
    recommended: Annotated[
        str,
        text_option("--recommended", help="Recommended resolution / actions, in priority order."),
    ] = "",
    issue: Annotated[
        str | None,
        typer.Option(
            help="Finer issue within the theme (see `drp themes`).",
            autocompletion=complete.issues,
        ),
    ] = None,
    stage: Annotated[
        str | None,
        typer.Option(
            help="Start at this stage instead of the first (e.g. immediate safety): its slug or "
            'name (stage-2, "Stage 2").',
            autocompletion=complete.stages,
        ),
    ] = None,
    raised_by: Annotated[
        str | None, typer.Option(help="Who raised it (default: the recorder).")
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            help="iro, cp-chair, cpa, cp-coordinator, fciro, social-care.",
            autocompletion=complete.roles,
        ),
    ] = None,
    carer: Annotated[
        str | None,
        typer.Option(
            help="On a foster-carer route (sbc-fciro, nottinghamshire-crp's foster-carer): the "
            "carer household's reference."
        ),
    ] = None,
    chair: Annotated[
        str | None,
        typer.Option(
            help="On a route about an independent chair (nottinghamshire-crp's social-care): "
            "the chair's staff reference."
        ),
    ] = None,
    route: Annotated[
        str | None,
        typer.Option(
            help="The protocol's route (see `drp protocols show`); default: the first.",
            autocompletion=complete.routes,
        ),
    ] = None,
    reason: Annotated[
        str, text_option("--reason", help="Why it opens at a later --stage (immediate safety).")
    ] = "",
    owner: Annotated[
        str | None,
        typer.Option(
            help="The IRO who owns it (default: who opens it).", autocompletion=complete.owners
        ),
    ] = None,
    team: Annotated[str | None, typer.Option(help="Their team (default: your config's).")] = None,
    due: DueOption = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Open a concern at the protocol's first stage (or --stage).

    --protocol, --role and --team default to your config file's (`drp config show`).
    """
    from drp_cli.core import config
    from drp_cli.core.errors import InvalidInput

    given = {s: ref for s, ref in (("child", child), ("carer", carer), ("chair", chair))
             if ref is not None}  # fmt: skip
    if len(given) != 1:
        raise InvalidInput(
            "give one of --child (a child's case reference), --carer (a carer household's) or "
            "--chair (an independent chair's staff reference)"
        )
    [(subject, ref)] = given.items()
    settings = config.load()
    protocol = protocol or settings.get("protocol")
    if not protocol:
        raise InvalidInput(
            "give --protocol (see `drp protocols`), or set a default: "
            "`drp config set protocol SLUG`"
        )
    role = role or settings.get("role")
    team = team or settings.get("team")
    if owner is not None:
        from drp_cli.services import staff

        found = staff.match(tracker(ctx), owner, "owner")
        owner, team = (found.name, team or found.team) if found else (owner, team)
    summary = main_text(summary, edit, "--summary", required=True)
    if route is None and subject != "child":
        route = _route_about(ctx, protocol, subject, role)
    view = tracker(ctx).open(
        protocol=protocol,
        child=ref,
        subject=subject,
        route=route,
        reason=reason,
        category=category,
        summary=summary,
        impact=impact,
        recommended=recommended,
        issue=issue,
        stage=stage,
        raised_by=raised_by,
        role=role,
        owner=owner,
        team=team,
        on=on,
        due=due,
        by=by,
    )
    others = [o for o in view.other_concerns or () if o.status == "open"]
    if others:  # a second open concern for the child: say so, and go on (no child ref shown)
        who = {"carer": "carer household", "chair": "chair"}.get(
            tracker(ctx).subject_of(view.protocol, view.route), "child"
        )
        listed = ", ".join(f"{o.id} ({o.stage}, {o.protocol})" for o in others)
        typer.echo(visible(f"Warning: {who} already has open concern(s) {listed}", one_line=True),
                   err=True)  # fmt: skip
    report(ctx, "Opened", view, as_json, "opened")


def _route_about(ctx: typer.Context, protocol: str, subject: str, role: str | None) -> str | None:
    """The first of the protocol's routes about ``subject`` (a carer, a chair) open to
    ``role``: `--chair REF` alone opens social care's concern about a chair. None if there
    is none (the tracker then says which reference the route needs)."""
    from drp_cli.core.errors import DrpError

    try:
        p = tracker(ctx).protocols.get(protocol)
    except DrpError:  # the tracker reports an unknown protocol itself
        return None
    return next(
        (r.slug for r in p.all_routes
         if r.subject == subject and (not r.roles or role is None or role in r.roles)),
        None,
    )  # fmt: skip


@commands.command(
    epilog=examples(
        'drp escalate 1 --note "No response from the Team Manager" --on 2025-03-11',
        "# bypass: forward to a later stage",
        'drp escalate 1 --to stage-3 --note "The placement ends this week"',
    )
)
def escalate(
    ctx: typer.Context,
    concern_id: ConcernId,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help='Bypass forward to this later stage: its slug or name (stage-3, "Stage 3").',
            autocompletion=complete.stages,
        ),
    ] = None,
    note: Annotated[str | None, text_option("--note", help="Why it is escalated.")] = None,
    due: DueOption = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Escalate to the next stage, or forward to any later stage with --to."""
    note = main_text(note, edit, "--note", required=False)
    view = tracker(ctx).escalate(concern_id, to=to, note=note, due=due, on=on, by=by)
    report(ctx, "Escalated", view, as_json, "escalated")


@commands.command(
    epilog=examples(
        'drp respond 1 --from "Head of Service" --text "Worker allocated from 24 March" '
        "--on 2025-03-14"
    )
)
def respond(
    ctx: typer.Context,
    concern_id: ConcernId,
    text: Annotated[str | None, text_option("--text", help="What the manager said or did.")] = None,
    respondent: Annotated[
        str, typer.Option("--from", help="Who responded (role, or name and role).")
    ] = "",
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Record a response from the manager the concern is addressed to."""
    text = main_text(text, edit, "--text", required=True)
    view = tracker(ctx).respond(concern_id, text=text, respondent=respondent, on=on, by=by)
    report(ctx, "Recorded a response on", view, as_json)


@commands.command(
    epilog=examples(
        'drp note 1 --text "Team Manager on leave until 17 March"',
        "# the text read from a file, so that it stays out of the shell's history",
        "drp note 1 --text @visit-note.txt",
    )
)
def note(
    ctx: typer.Context,
    concern_id: ConcernId,
    text: Annotated[str | None, text_option("--text", help="The note.")] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Add a note to a concern's record."""
    text = main_text(text, edit, "--text", required=True)
    view = tracker(ctx).note(concern_id, text=text, on=on, by=by)
    report(ctx, "Added a note to", view, as_json)


@commands.command(
    epilog=examples(
        'drp refer 1 --senior-officer "Group Manager, Safeguarding and Independent Review" '
        "--notified-on 2025-03-12 --method telephone --on 2025-03-13 "
        '--text "Why now: the move would end the child\'s one stable relationship"'
    )
)
def refer(
    ctx: typer.Context,
    concern_id: ConcernId,
    senior_officer: Annotated[
        str,
        typer.Option(help="The nominated senior officer told that a referral is considered."),
    ] = "",
    notified_on: Annotated[
        str | None, typer.Option(metavar="DATE", help="When the senior officer was notified.")
    ] = None,
    curtailed: Annotated[
        str,
        text_option(
            "--curtailed", help="Why the dispute resolution process is being curtailed, if it is."
        ),
    ] = "",
    method: Annotated[
        str,
        typer.Option(help="telephone (to be confirmed in writing to the duty lawyer) or writing."),
    ] = "",
    text: Annotated[str | None, text_option("--text", help="Notes on the referral.")] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Record a referral to CAFCASS (the process goes on alongside it)."""
    text = main_text(text, edit, "--text", required=False)
    view = tracker(ctx).refer(
        concern_id,
        method=method,
        senior_officer=senior_officer,
        notified_on=notified_on,
        curtailed_reason=curtailed,
        text=text,
        on=on,
        by=by,
    )
    report(ctx, "Referred to CAFCASS:", view, as_json, "referred")


class Voice(StrEnum):
    wishes_sought = "wishes-sought"
    wishes_not_sought = "wishes-not-sought"
    told_outcome = "told-outcome"
    not_told_outcome = "not-told-outcome"


@commands.command(
    epilog=examples(
        'drp voice 1 wishes-sought --text "Seen alone at the review" --on 2025-03-03',
        'drp voice 1 told-outcome --text "IRO phoned after school"',
    )
)
def voice(
    ctx: typer.Context,
    concern_id: ConcernId,
    what: Annotated[
        Voice,
        typer.Argument(
            help="What to record: wishes-sought, wishes-not-sought, told-outcome or "
            "not-told-outcome.",
            metavar="WHAT",
        ),
    ],
    text: Annotated[
        str | None, text_option("--text", help="How (or, for the 'not' records, why not).")
    ] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Record the child's voice: were their wishes sought, were they told the outcome."""
    text = main_text(text, edit, "--text", required=False)
    view = tracker(ctx).record_voice(concern_id, what.value, text=text, on=on, by=by)
    if what is Voice.wishes_not_sought and view.wishes_recorded_on:
        # kept in the record, but wishes recorded stay the child's voice in every view
        where = ", ".join(map(str, view.wishes_recorded_on))
        typer.echo(
            f"Warning: the child's wishes and feelings are recorded on concern(s) {where}; "
            "every view still counts the wishes as sought",
            err=True,
        )
    report(ctx, "Recorded the child's voice on", view, as_json)


@commands.command(
    epilog=examples(
        'drp resolve 1 --outcome "Social worker allocated; visit completed" --on 2025-03-24'
    )
)
def resolve(
    ctx: typer.Context,
    concern_id: ConcernId,
    outcome: Annotated[str | None, text_option("--outcome", help="How it was resolved.")] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Mark a concern resolved, with its outcome."""
    outcome = main_text(outcome, edit, "--outcome", required=True)
    view = tracker(ctx).resolve(concern_id, outcome=outcome, on=on, by=by)
    report(ctx, "Resolved", view, as_json, "resolved")


@commands.command(
    epilog=examples('drp withdraw 2 --reason "Raised in error: the assessment was on file"')
)
def withdraw(
    ctx: typer.Context,
    concern_id: ConcernId,
    reason: Annotated[str | None, text_option("--reason", help="Why it is withdrawn.")] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a concern (raised in error, or overtaken by events)."""
    reason = main_text(reason, edit, "--reason", required=True)
    view = tracker(ctx).withdraw(concern_id, reason=reason, on=on, by=by)
    report(ctx, "Withdrew", view, as_json)
