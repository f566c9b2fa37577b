"""Commands for the documents: actions, people, the child's wishes, needs, attachments,
`drp alert` and `drp bundle`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from drp_cli.cli.app import (
    ByOption,
    ConcernId,
    JsonOption,
    OnOption,
    check_id,
    command_group,
    examples,
    tracker,
)
from drp_cli.cli.output import print_json
from drp_cli.cli.textarg import EditOption, main_text, text_option
from drp_cli.core.textsafe import shown_path

commands = command_group()

TemplatesOption = Annotated[
    str | None,
    typer.Option(
        "--templates",
        envvar="DRP_TEMPLATES",
        metavar="DIR",
        help="Your own template folder, used before the built-in templates.",
    ),
]
Number = Annotated[
    int,
    typer.Argument(help="The item's number within the concern.", metavar="N", callback=check_id),
]


def _print_items(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("None recorded.")
        return
    from drp_cli.cli.output import items_table

    items_table(rows, columns)


def _kind_app(
    kind: str, name: str, help_text: str, columns: list[str], add_example: str
) -> typer.Typer:
    """A command group with `list` and `remove` for one kind of item; `add` is added after
    (``add_example`` is its example)."""
    remove = f"drp {name} remove 1 2" + (" --kind professional" if kind == "person" else "")
    sub = command_group(
        help=help_text,
        no_args_is_help=True,
        epilog=examples(add_example, f"drp {name} list 1", remove),
    )

    @sub.command("list", epilog=examples(f"drp {name} list 1", f"drp {name} list 1 --json"))
    def list_items(ctx: typer.Context, concern_id: ConcernId, as_json: JsonOption = False) -> None:
        """List them."""
        from drp_cli.services import audit, details

        t = tracker(ctx)
        found = details.items(t, concern_id, kind if kind != "person" else None)
        # a read of the child's record: audited as `show` is (the concern, what was listed)
        audit.record_read(t, "show", concern=concern_id, count=1, detail=f"{name} list")
        rows = [
            i.to_dict()
            for i in found
            if kind != "person" or i.kind in ("professional", "important-person")
        ]
        _print_items(rows, (["kind"] if kind == "person" else []) + columns, as_json)

    @sub.command(
        "remove",
        epilog=examples(remove, f'{remove} --reason "Recorded on the wrong concern"'),
    )
    def remove_item(
        ctx: typer.Context,
        concern_id: ConcernId,
        n: Number,
        kind_option: Annotated[
            str,
            typer.Option("--kind", help="professional or important-person (for `person`)."),
        ] = kind,
        reason: Annotated[str | None, text_option("--reason", help="Why it is removed.")] = None,
        on: OnOption = None,
        by: ByOption = None,
        edit: EditOption = False,
    ) -> None:
        """Remove one from the documents (the record keeps it)."""
        from drp_cli.services import details

        reason = main_text(reason, edit, "--reason", required=False)

        details.remove(tracker(ctx), concern_id, kind_option, n, reason=reason, on=on, by=by)
        typer.echo(f"Removed {kind_option} {n} from concern {concern_id}.")

    commands.add_typer(sub, name=name)
    return sub


def _added(ctx: typer.Context, concern_id: int, kind: str, as_json: bool, **values: Any) -> None:
    from drp_cli.services import details

    item = details.add(tracker(ctx), concern_id, kind, **values)
    if as_json:
        print_json(item.to_dict())
    else:
        typer.echo(f"Added {details.LABELS[kind].lower()} {item.n} to concern {concern_id}.")


ACTION_ADD = (
    'drp action add 1 --text "Commission the parenting assessment" --owner "Team Manager" '
    "--due 2025-06-09"
)
PERSON_ADD = (
    'drp person add 1 --kind professional --name "A. Smith" --role "Social worker" '
    '--organisation "Children\'s Services" --contact "a.smith@example.org"'
)
PERSON_ADD_IMPORTANT = (
    'drp person add 1 --kind important-person --name "Maternal grandmother" '
    '--relationship Grandmother --involvement "Contact every Saturday"'
)
WISHES_ADD = (
    'drp wishes add 1 --text "Wants to stay at the same school" --how "Seen alone at school" '
    "--obtained-on 2025-05-28"
)
NEEDS_ADD = 'drp needs add 1 --text "Mother\'s first language is Polish: interpreter needed"'

action_app = _kind_app(
    "action", "action", "Recommended actions, in priority order, with owners and due dates.",
    ["text", "owner", "due", "done_on"], ACTION_ADD,
)  # fmt: skip
person_app = _kind_app(
    "person", "person", "Professionals, and important people in the child's life.",
    ["name", "role", "organisation", "contact", "relationship", "involvement"], PERSON_ADD,
)  # fmt: skip
wishes_app = _kind_app(
    "wishes", "wishes", "The child's wishes and feelings.", ["obtained_on", "how", "text"],
    WISHES_ADD,
)  # fmt: skip
needs_app = _kind_app(
    "needs", "needs", "Diversity issues and communication needs of the child and family.",
    ["text"], NEEDS_ADD,
)  # fmt: skip


@action_app.command(
    "add",
    epilog=examples(
        ACTION_ADD,
        "# first in the order of priority",
        'drp action add 1 --text "Hold the PEP meeting" --owner "Designated Teacher" --priority 1',
    ),
)
def action_add(
    ctx: typer.Context,
    concern_id: ConcernId,
    owner: Annotated[str, typer.Option(help="Who must do it (role, or name and role).")],
    text: Annotated[str | None, text_option("--text", help="What must be done.")] = None,
    due: Annotated[str | None, typer.Option(metavar="DATE", help="By when.")] = None,
    priority: Annotated[
        int | None,
        typer.Option(help="Its place in the order, 1 or more (default: last).", callback=check_id),
    ] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Add a recommended action."""
    text = main_text(text, edit, "--text", required=True)
    _added(ctx, concern_id, "action", as_json, text=text, owner=owner, due=due,
           position=priority, on=on, by=by)  # fmt: skip


@action_app.command("done", epilog=examples("drp action done 1 2 --on 2025-06-05"))
def action_done(
    ctx: typer.Context,
    concern_id: ConcernId,
    n: Number,
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark an action done."""
    from drp_cli.services import details

    item = details.mark_done(tracker(ctx), concern_id, n, on=on, by=by)
    if as_json:
        print_json(item.to_dict())
    else:
        typer.echo(f"Action {n} of concern {concern_id} done on {item.done_on}.")


@person_app.command("add", epilog=examples(PERSON_ADD, PERSON_ADD_IMPORTANT))
def person_add(
    ctx: typer.Context,
    concern_id: ConcernId,
    kind: Annotated[str, typer.Option(help="professional or important-person.")],
    name: Annotated[str, typer.Option(help="Their name.")],
    role: Annotated[str, typer.Option(help="A professional's role.")] = "",
    organisation: Annotated[str, typer.Option(help="A professional's organisation.")] = "",
    contact: Annotated[str, typer.Option(help="A professional's contact details.")] = "",
    relationship: Annotated[str, typer.Option(help="An important person's relationship.")] = "",
    involvement: Annotated[
        str, text_option("--involvement", help="Their involvement with the child.")
    ] = "",
    on: OnOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a professional or an important person in the child's life."""
    from drp_cli.core.errors import InvalidInput

    if kind == "professional":
        values = {"name": name, "role": role, "organisation": organisation, "contact": contact}
        stray = relationship or involvement
    elif kind == "important-person":
        values = {"name": name, "relationship": relationship, "involvement": involvement}
        stray = role or organisation or contact
    else:
        raise InvalidInput(f"unknown kind {kind!r}; allowed: professional, important-person")
    if stray:
        raise InvalidInput(
            "--role, --organisation and --contact are for professionals; --relationship and "
            "--involvement for important people"
        )
    _added(ctx, concern_id, kind, as_json, on=on, by=by, **values)


@wishes_app.command("add", epilog=examples(WISHES_ADD))
def wishes_add(
    ctx: typer.Context,
    concern_id: ConcernId,
    how: Annotated[
        str, text_option("--how", help="How it was obtained (e.g. seen alone at school).")
    ],
    text: Annotated[
        str | None, text_option("--text", help="What the child said or showed.")
    ] = None,
    obtained_on: Annotated[
        str | None, typer.Option(metavar="DATE", help="When (default: --on).")
    ] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Record the child's wishes and feelings (the lifecycle rule then counts their wishes
    as sought)."""
    text = main_text(text, edit, "--text", required=True)
    _added(ctx, concern_id, "wishes", as_json, text=text, how=how, obtained_on=obtained_on,
           on=on, by=by)  # fmt: skip


@needs_app.command("add", epilog=examples(NEEDS_ADD))
def needs_add(
    ctx: typer.Context,
    concern_id: ConcernId,
    text: Annotated[
        str | None, text_option("--text", help="The need (e.g. BSL interpreter).")
    ] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Record a diversity issue or communication need."""
    text = main_text(text, edit, "--text", required=True)
    _added(ctx, concern_id, "needs", as_json, text=text, on=on, by=by)


@commands.command(
    epilog=examples(
        "drp attach 1 care-order.pdf --kind care-order --dated 2023-11-20",
        "drp attach 1 review-2025-05.pdf --kind review-record --dated 2025-05-12",
    )
)
def attach(
    ctx: typer.Context,
    concern_id: ConcernId,
    path: Annotated[str, typer.Argument(help="The file to attach (it is copied).")],
    kind: Annotated[
        str,
        typer.Option(
            help="care-order, final-care-plan, care-plan, guardian-report, review-record, "
            "case-chronology (the chronology of the child's case), other."
        ),
    ],
    dated: Annotated[
        str | None, typer.Option(metavar="DATE", help="The document's own date.")
    ] = None,
    description: Annotated[
        str | None, text_option("--description", help="A short description.")
    ] = None,
    on: OnOption = None,
    by: ByOption = None,
    edit: EditOption = False,
    as_json: JsonOption = False,
) -> None:
    """Attach a document (copied into the store, SHA-256 recorded)."""
    from drp_cli.services import attachments

    description = main_text(description, edit, "--description", required=False)

    view = attachments.attach(
        tracker(ctx), concern_id, path, kind=kind, dated=dated, description=description,
        on=on, by=by,
    )  # fmt: skip
    if as_json:
        print_json(view.to_dict())
    else:
        typer.echo(
            f"Attached {view.filename} to concern {concern_id} as {view.kind} "
            f"{view.n} (sha256 {view.sha256[:12]}...)."
        )


@commands.command("attachments", epilog=examples("drp attachments 1", "drp attachments 1 --json"))
def attachments_list(
    ctx: typer.Context, concern_id: ConcernId, as_json: JsonOption = False
) -> None:
    """List a concern's attached documents."""
    from drp_cli.services import attachments, audit

    t = tracker(ctx)
    rows = [a.to_dict() for a in attachments.attachments(t, concern_id)]
    audit.record_read(t, "show", concern=concern_id, count=1, detail="attachments")
    _print_items(rows, ["kind", "filename", "dated", "sha256"], as_json)


IDENTIFY = (
    'drp identify 1 --name "Amy Smith" --dob 14/03/2015 --court "Family Court at Liverpool" '
    '--case-number LV25C00123 --guardian "J. Brown (Cafcass)"'
)


@commands.command(
    epilog=examples(
        IDENTIFY,
        "# a later change: only the field given changes",
        'drp identify 1 --guardian "K. Patel (Cafcass)"',
    )
)
def identify(
    ctx: typer.Context,
    concern_id: ConcernId,
    name: Annotated[str | None, typer.Option(metavar="NAME", help="The child's full name.")] = None,
    dob: Annotated[
        str | None, typer.Option(metavar="DATE", help="The child's date of birth.")
    ] = None,
    court: Annotated[
        str | None,
        typer.Option(metavar="COURT", help="The court hearing the proceedings, if any."),
    ] = None,
    case_number: Annotated[
        str | None,
        typer.Option("--case-number", metavar="NUMBER", help="The court's case number."),
    ] = None,
    guardian: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="The children's guardian (name, and Cafcass office)."),
    ] = None,
    on: OnOption = None,
    by: ByOption = None,
) -> None:
    """Record the child's name, date of birth, court, case number or guardian, for the bundle.

    Shown in the CAFCASS bundle alone (its cover sheet and IRO report): never in `drp
    show`, `list`, `overdue` or an error. A later change records only the fields given; the
    history keeps who recorded each and when; `drp redact` removes one entered in error."""
    from drp_cli.core.dates import parse_date
    from drp_cli.core.errors import InvalidInput
    from drp_cli.core.textsafe import clean_line
    from drp_cli.domain.views import IDENTIFIED, IDENTITY_FIELDS

    given = {"name": name, "dob": dob, "court": court, "case_number": case_number,
             "guardian": guardian}  # fmt: skip
    options = {k: "--" + k.replace("_", "-") for k in given}
    details: dict[str, str] = {}
    for key, value in given.items():
        if value is None:
            continue
        text = clean_line(value, options[key], 200)
        if key == "dob":
            try:  # the date is never repeated in an error: it is personal data
                text = parse_date(text).isoformat()
            except InvalidInput:
                raise InvalidInput(
                    "--dob is not a date: use dd/mm/yyyy or yyyy-mm-dd (1990 to 2199)"
                ) from None
        details[key] = text
    if not details:
        raise InvalidInput("give at least one of --name, --dob, --court, --case-number, --guardian")
    fields = ", ".join(IDENTITY_FIELDS[k].lower() for k in details)
    tracker(ctx).record_event(
        concern_id, IDENTIFIED, text=f"Identification for the bundle recorded: {fields}",
        on=on, by=by, details=details, action="record the identification of the child for",
        allow_closed=True,
    )  # fmt: skip
    typer.echo(f"Recorded the child's {fields} for the bundle of concern {concern_id}.")


AddressOption = Annotated[
    str | None,
    typer.Option(
        metavar="ADDRESSES",
        help="Addresses (or names in the staff directory), separated by commas, instead of "
        "the stage's addressees (--to) or copy list (--cc). With --sent: whom it went to.",
    ),
]


def _split(value: str | None) -> list[str]:
    """A comma-separated --to / --cc: its items (an empty item is refused later)."""
    return [] if value is None else value.split(",")


@commands.command(
    epilog=examples(
        "drp alert 1",
        "drp alert 1 -o alert-KN-2231.md",
        "drp alert 1 --format docx -o alert-KN-2231.docx",
        "drp alert 1 --format html -o alert-KN-2231.html",
        "# an e-mail to the stage's addressees, to open in a mail program",
        "drp alert 1 --eml alert-KN-2231.eml",
        "# send it through the mail server in the config file, and record it",
        "drp alert 1 --send --cc business.support@example.org --attach-docx",
        "# record one sent by hand",
        'drp alert 1 --sent --to "tm@example.org, sw@example.org" --on 2025-03-04',
    )
)
def alert(
    ctx: typer.Context,
    concern_id: ConcernId,
    output: Annotated[
        str | None, typer.Option("-o", "--output", metavar="FILE", help="Write to FILE.")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", metavar="FORMAT", help="md (the default), html or docx (needs -o)."
        ),
    ] = "md",
    eml: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Write the alert as a draft e-mail (.eml, X-Unsent: 1: your mail program "
            "opens it ready to check and send; no mail settings needed): the form as text "
            "and HTML, to the stage's addressees, copied to its copy list and to those to "
            "be notified whose addresses drp knows.",
        ),
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Send the e-mail through the mail server in the config file, and record "
            "it (alert-sent) once the server has taken it.",
        ),
    ] = False,
    sent: Annotated[
        bool,
        typer.Option("--sent", help="Record an alert sent by hand (with --to, and --on)."),
    ] = False,
    to: AddressOption = None,
    cc: AddressOption = None,
    no_copy: Annotated[
        bool, typer.Option("--no-copy", help="Do not copy the e-mail to the stage's copy list.")
    ] = False,
    attach_docx: Annotated[
        bool,
        typer.Option(
            "--attach-docx",
            help="Attach the form as a Word document to the e-mail, for the manager's reply.",
        ),
    ] = False,
    force: Annotated[bool, typer.Option(help="Replace FILE if it exists.")] = False,
    on: OnOption = None,
    by: ByOption = None,
    templates: TemplatesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render the current stage's form (Markdown, HTML or Word), or send it as an e-mail."""
    from drp_cli.core.errors import InvalidInput
    from drp_cli.render import alerts

    modes = [name for name, given in (("--eml", eml is not None), ("--send", send),
                                      ("--sent", sent)) if given]  # fmt: skip
    if len(modes) > 1:
        raise InvalidInput(f"give one of {', '.join(modes)}, not several")
    if modes and (output is not None or fmt != "md"):
        raise InvalidInput(f"{modes[0]} makes an e-mail: -o and --format are for the form alone")
    if not modes and (to or cc):
        raise InvalidInput("--to and --cc are for --eml, --send and --sent")
    if (not modes or sent) and (no_copy or attach_docx):
        raise InvalidInput("--no-copy and --attach-docx are for --eml and --send")
    if fmt not in alerts.FORMATS:
        raise InvalidInput(f"--format must be one of {', '.join(alerts.FORMATS)}")
    if not modes and output is None and fmt == "docx":
        raise InvalidInput("--format docx writes a file: give -o FILE")
    t = tracker(ctx)
    if not sent:  # the form is read out (a hand-sent alert recorded shows nothing of it)
        from drp_cli.services import audit

        given = [("--format", fmt if fmt != "md" else None), ("-o", output is not None),
                 ("--eml", eml is not None), ("--send", send),
                 ("--attach-docx", attach_docx)]  # fmt: skip
        audit.record_read(t, "alert", concern=concern_id, count=1,
                          detail=audit.options_detail(given))  # fmt: skip
    # said once the e-mail is written or sent (an error first is all there is to read)
    late = alerts.passed_warning(t, concern_id, on) if send or eml is not None else None
    if sent:
        view = alerts.record_sent(t, concern_id, to=_split(to), cc=_split(cc), on=on, by=by)
        event = max(view.events, key=lambda e: e.seq)  # the one just recorded
        if as_json:
            print_json({"concern_id": concern_id, "on": event.on.isoformat(),
                        **{k: event.details[k] for k in ("to", "cc", "via")}})  # fmt: skip
        else:
            typer.echo(f"Recorded the alert for concern {concern_id} as sent on {event.on}.")
        return
    mail_options: dict[str, Any] = {"to": _split(to), "cc": _split(cc), "no_copy": no_copy,
                                    "templates": templates,
                                    "attach_docx": attach_docx}  # fmt: skip
    if send:
        done = alerts.send(t, concern_id, on=on, by=by, **mail_options)
        if as_json:
            print_json({"concern_id": concern_id, "on": done.on.isoformat(), "to": done.to,
                        "cc": done.cc, "refused": done.refused})  # fmt: skip
        else:
            copied = f", copied to {len(done.cc)}" if done.cc else ""
            typer.echo(
                f"Sent the alert for concern {concern_id} to {len(done.to)} "
                f"address{'es' if len(done.to) != 1 else ''}{copied}, and recorded it."
            )
        if late is not None:
            typer.echo(f"Warning: {late}.", err=True)
        if done.refused:
            typer.echo(
                f"Warning: the mail server refused {done.refused} of the recipients: they were "
                f"not sent it (see `drp show {concern_id}` for those who were).",
                err=True,
            )
        return
    if eml is not None:
        written, made = alerts.write_eml(t, concern_id, eml, force=force, on=on, by=by,
                                         **mail_options)  # fmt: skip
        if as_json:
            print_json({"path": eml, "to": made.to, "cc": made.cc,
                        "not_copied": made.not_copied})  # fmt: skip
        else:
            typer.echo(
                f"Replaced {shown_path(eml)}." if written.replaced else f"Wrote {shown_path(eml)}."
            )
        if late is not None:
            typer.echo(f"Warning: {late}.", err=True)
        if made.not_copied and not as_json:
            typer.echo(
                f"Not copied (no e-mail address known): {'; '.join(made.not_copied)}: "
                "named in the e-mail as to be notified.",
                err=True,
            )
        return
    if output is None:
        text = alerts.render(t, concern_id, fmt, on=on, templates=templates)
        assert isinstance(text, str)
        typer.echo(text, nl=False)
        return
    if fmt == "md":
        from drp_cli.render import documents

        written = documents.write_alert(t, concern_id, output, force=force, on=on,
                                        templates=templates)  # fmt: skip
    else:
        written = alerts.write(t, concern_id, output, fmt, force=force, on=on,
                               templates=templates)  # fmt: skip
    typer.echo(
        f"Replaced {shown_path(output)}." if written.replaced else f"Wrote {shown_path(output)}."
    )


@commands.command(
    epilog=examples(
        "drp bundle 1 -o bundle-KN-2231",
        "drp bundle 1 --pdf bundle-KN-2231.pdf",
        "drp bundle 1 -o bundle-KN-2231 --pdf bundle-KN-2231.pdf --force",
    )
)
def bundle(
    ctx: typer.Context,
    concern_id: ConcernId,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", metavar="DIR", help="The folder to create (Markdown)."),
    ] = None,
    pdf: Annotated[
        str | None,
        typer.Option(
            "--pdf",
            metavar="FILE",
            help="Also (or only) write the bundle as one PDF: cover sheet, linked index, "
            "page numbers, bookmarks, the attached documents merged in.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace DIR or FILE if it exists (only one drp wrote).")
    ] = False,
    on: OnOption = None,
    templates: TemplatesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Assemble the CAFCASS referral bundle in a new folder and/or one PDF, and say what is
    missing."""
    from drp_cli.core.errors import InvalidInput
    from drp_cli.render import documents

    if output is None and pdf is None:
        raise InvalidInput("give -o DIR (a folder), --pdf FILE (one PDF), or both")
    from drp_cli.services import audit

    t = tracker(ctx)
    content = documents.bundle_content(t, concern_id, on=on, templates=templates)
    if output is not None:  # refused before the read is recorded, and before any writing
        documents.check_bundle_folder(t, output, force=force)
    given = [("-o", output is not None), ("--pdf", pdf is not None)]
    audit.record_read(t, "bundle", concern=concern_id, count=1,
                      detail=audit.options_detail(given))  # fmt: skip
    folder = None
    written_pdf = None
    if pdf is not None:
        from drp_cli.render import pdfbundle

        written_pdf = pdfbundle.write_pdf(t, concern_id, pdf, force=force, content=content)
    if output is not None:
        folder = documents.bundle(t, concern_id, output, force=force, content=content)
    missing = content.missing
    if as_json:
        print_json(
            {
                "path": str(folder.path) if folder else None,
                "files": folder.files if folder else [],
                "missing": missing,
                "pdf": str(written_pdf.path) if written_pdf else None,
                "pdf_pages": written_pdf.pages if written_pdf else None,
                "served_separately": written_pdf.separate if written_pdf else [],
            }
        )
        return
    if folder is not None:
        if folder.replaced:
            typer.echo(f"Replaced the earlier bundle at {shown_path(folder.path)}.")
        typer.echo(f"Wrote {len(folder.files)} files to {shown_path(folder.path)}.")
    if written_pdf is not None:
        verb = "Replaced" if written_pdf.replaced else "Wrote"
        typer.echo(f"{verb} {shown_path(written_pdf.path)} ({written_pdf.pages} pages).")
        if written_pdf.separate:
            n = len(written_pdf.separate)
            typer.echo(
                f"{n} attached document{'s are' if n != 1 else ' is'} neither PDF nor image: "
                "listed in the PDF's index as served separately."
            )
    if missing:
        typer.echo(f"MISSING ({len(missing)}):")
        for item in missing:
            typer.echo(f"  - {item}")
    else:
        typer.echo("Nothing required is missing.")
