"""Data protection: subject access (issue 31 item 3); the audit of reads (item 4)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from drp_cli.cli.app import ByOption, JsonOption, check_id, command_group, examples, tracker
from drp_cli.cli.output import print_json
from drp_cli.core.textsafe import shown_path

if TYPE_CHECKING:
    from drp_cli.services.subject_access import DueRequest, Request

commands = command_group()


def _day(value: dt.date | None) -> str:
    return f"{value.isoformat()} ({value:%a})" if value is not None else "-"


def _request_line(r: Request) -> str:
    line = f"received {_day(r.received_on)}, due {_day(r.due_on)}"
    if r.extended_on is not None:
        line += f" (extended, notice {r.extended_on.isoformat()})"
    if r.sent_on is not None:
        late = (r.sent_on - r.due_on).days
        line += f"; answered {r.sent_on.isoformat()}" + (
            f", {late} day{'s' if late != 1 else ''} late" if late > 0 else ", in time"
        )
    else:
        line += "; not yet answered"
    return line


def request_lines(requests: list[DueRequest]) -> str:
    """Subject access requests waiting for an answer, as the morning check (``drp overdue``)
    and ``drp subject-access --due`` list them: each one's id, the reference it is about (as
    the check's concern lines show it), the day its answer is due in words and the calendar
    days left or passed: "Request 3 about KN-2231: answer due 10 April 2025, OVERDUE 2
    days (extended)"."""
    from drp_cli.core.dates import in_words
    from drp_cli.core.textsafe import is_one_line, visible

    late = sum(r.overdue for r in requests)
    lines = ["Subject access requests not yet answered" + (f" ({late} overdue)" if late else "")]
    for r in requests:
        # a stored reference as it may reach a terminal or a cron mail: one line, escaped
        ref = r.child if is_one_line(r.child) else visible(r.child, one_line=True)
        lines.append(f"  Request {r.id} about {ref}: answer due {in_words(r.due_on)}, "
                     f"{r.state}{' (extended)' if r.extended else ''}")  # fmt: skip
    return "\n".join(lines) + "\n"


@commands.command(
    "subject-access",
    # words after CHILD reach ctx.args: said to be a reference unquoted, not "--reason is
    # missing" (the extra-argument hook's guess for a command with a text option)
    context_settings={"allow_extra_args": True},
    epilog=examples(
        "drp subject-access KN-2231 -o sar-2027-014",
        "drp subject-access KN-2231 --received 2027-01-31",
        'drp subject-access KN-2231 --extend --reason "Records from three concerns to review"',
        "drp subject-access KN-2231 --sent 2027-02-26",
        "# a request by its number (its reference redacted)",
        "drp subject-access --request 3 --sent 2027-02-26",
        "drp subject-access KN-2231",
        "# every request waiting for an answer, soonest due first",
        "drp subject-access --due --json",
    ),
)
def subject_access(
    ctx: typer.Context,
    child: Annotated[
        str | None,
        typer.Argument(
            metavar="CHILD",
            help="The child's reference, exactly as recorded (all their concerns); none "
            "with --due.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            metavar="DIR",
            help="Write everything held about the child into this new folder: HTML, PDF, "
            "JSON and the attached documents, third parties' names marked for review.",
        ),
    ] = None,
    received: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Record a request received on DATE and print when the answer is due.",
        ),
    ] = None,
    extend: Annotated[
        bool,
        typer.Option(
            "--extend",
            help="Extend the open request by two months (notice given --on, default today); "
            "needs --reason.",
        ),
    ] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why the request is extended (complex, or several).")
    ] = None,
    sent: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Mark the open request answered on DATE."),
    ] = None,
    request: Annotated[
        int | None,
        typer.Option(
            "--request",
            metavar="ID",
            help="With --sent or --extend, instead of CHILD: the request by its number (as "
            "the morning check lists it), one whose reference was redacted say.",
            callback=check_id,
        ),
    ] = None,
    due: Annotated[
        bool,
        typer.Option(
            "--due",
            help="List every request not yet answered (about any reference), soonest due "
            "first, with the calendar days left as on --on (default today).",
        ),
    ] = False,
    on: Annotated[
        str | None,
        typer.Option(
            "--on",
            metavar="DATE",
            help="With -o: judge deadlines as on DATE; with --extend: the day the person "
            "was told (default today); with --due: the day the days left are counted from.",
        ),
    ] = None,
    subject: Annotated[
        str,
        typer.Option(
            help="Whom the reference is about: child, or a foster carer household (carer) "
            "or a chair on a route about them.",
        ),
    ] = "child",
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="With -o: also the PDF.")] = True,
    force: Annotated[
        bool, typer.Option(help="Replace DIR if it exists (only a folder drp wrote).")
    ] = False,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Subject access: write everything drp holds about a child, for review before release;
    record a request and when its answer is due.

    With -o DIR: a new owner-only folder holding subject-access.html and .pdf (readable),
    subject-access.json (every concern's whole record) and attachments/ (each checked
    against its SHA-256). Every name that is not the child's is highlighted and listed as
    third-party data to review (in JSON: "third_party" on each object holding one).

    The answer is due one calendar month from receipt, on the corresponding date (the
    month's last day where there is none), or the next working day when that is a weekend
    or bank holiday; --extend makes it three months. Exit 3 when drp holds no concern about
    the reference (it is never repeated).
    """
    from drp_cli.core.errors import InvalidInput
    from drp_cli.services import subject_access as sar

    if ctx.args:  # a reference typed unquoted: its words are never repeated
        raise InvalidInput(
            f"the CHILD reference is one argument ({len(ctx.args) + 1} words given, not "
            "shown): put a reference with spaces in quotes"
        )
    given = {"-o": output is not None, "--received": received is not None,
             "--extend": extend, "--sent": sent is not None, "--due": due}  # fmt: skip
    chosen = [name for name, yes in given.items() if yes]
    if len(chosen) > 1:
        raise InvalidInput(
            f"give one of -o, --received, --extend, --sent, --due (not {' and '.join(chosen)})"
        )
    if reason is not None and not extend:
        raise InvalidInput("--reason goes with --extend")
    if due:
        if child is not None:
            raise InvalidInput("--due lists the requests about every reference: give no CHILD")
        _due(ctx, on, as_json)
        return
    if request is not None:
        if not (extend or sent is not None):
            raise InvalidInput("--request goes with --sent or --extend")
        if child is not None:
            raise InvalidInput("give the CHILD reference or --request, not both")
    elif child is None:
        raise InvalidInput("give the CHILD reference (or --due for every open request)")
    who = child or ""  # given wherever --request is not
    t = tracker(ctx)
    if output is not None:
        from drp_cli.render import subject_access as sar_render
        from drp_cli.services import audit

        # recorded before the folder is written: by the concerns' ids, never the reference
        ids = [v.id for v in sar.concerns_about(t, who, subject)]
        options: list[tuple[str, Any]] = [
            ("--subject", subject if subject != "child" else None), ("-o", True),
            ("--no-pdf", not pdf),
        ]  # fmt: skip
        audit.record_read(
            t,
            "subject-access",
            concern=ids[0] if len(ids) == 1 else None,
            count=len(ids),
            detail=audit.concerns_detail(ids, audit.options_detail(options)),
        )
        written = sar_render.write(t, who, output, subject=subject, force=force, on=on, pdf=pdf)
        if as_json:
            print_json({"path": str(written.path), "files": written.files,
                        "concerns": written.concerns,
                        "third_parties": written.third_parties})  # fmt: skip
            return
        verb = "Replaced" if written.replaced else "Wrote"
        typer.echo(
            f"{verb} {shown_path(written.path)}: {len(written.files)} files, {written.concerns} "
            f"concern{'s' if written.concerns != 1 else ''}."
        )
        n = written.third_parties
        typer.echo(
            f"{n} third part{'ies' if n != 1 else 'y'} named: review them before release "
            "(highlighted in subject-access.html, listed under 'Third-party data to review')."
            if n
            else "No third party is named; read every note before release all the same."
        )
        return
    if received is not None:
        r = sar.receive(t, who, received, subject=subject, by=by)
        verb = "Recorded"
    elif extend:
        if reason is None:
            raise InvalidInput("--extend needs --reason: why the request needs longer")
        r = sar.extend(t, child, reason, on=on, subject=subject, by=by, request=request)
        verb = "Extended"
    elif sent is not None:
        r = sar.mark_sent(t, child, sent, subject=subject, by=by, request=request)
        verb = "Answered"
    else:
        from drp_cli.services import audit

        found = sar.requests(t, who, subject)
        # the requests about a child read (no concern's record): never the reference
        n = len(found)
        audit.record_read(t, "subject-access",
                          detail=f"{n} request{'s' if n != 1 else ''} listed")  # fmt: skip
        if as_json:
            print_json([q.to_dict() for q in found])
        elif not found:
            typer.echo("No subject access request is recorded for that reference.")
        else:
            for q in found:
                typer.echo(f"Request {q.id}: {_request_line(q)}")
        return
    if as_json:
        print_json(r.to_dict())
        return
    if verb == "Recorded":
        typer.echo(f"Recorded the request received {_day(r.received_on)}: the answer is due "
                   f"{_day(r.due_on)}.")  # fmt: skip
    elif verb == "Extended":
        typer.echo(f"Extended the request received {_day(r.received_on)} by two months: the "
                   f"answer is now due {_day(r.due_on)}.")  # fmt: skip
    else:
        typer.echo(f"Request {r.id}: {_request_line(r)}.")


def _due(ctx: typer.Context, on: str | None, as_json: bool) -> None:
    """``drp subject-access --due``: every request waiting for an answer, soonest due first
    (``--json``: a list of ``{id, child, received_on, due_on, extended, days_left,
    recorded_by}``); recorded in the audit of reads as one run (it names references)."""
    from drp_cli.core.dates import parse_date
    from drp_cli.services import audit
    from drp_cli.services import subject_access as sar

    t = tracker(ctx)
    day = parse_date(on, "--on") if on is not None else t.today()
    with t.store.read() as conn:
        found = sar.due_requests(conn, day)
    audit.record_read(t, "subject-access", count=len(found),
                      detail=audit.options_detail([("--due", True), ("--on", day)]))  # fmt: skip
    if as_json:
        print_json([r.to_dict() for r in found])
    elif not found:
        typer.echo("No subject access request is waiting for an answer.")
    else:
        sys.stdout.write(request_lines(found))


@commands.command(
    "audit",
    epilog=examples(
        "drp audit --from 2027-01-01 --to 2027-01-31",
        "drp audit --concern 12",
        'drp audit --by "Ann Smith" --json',
    ),
)
def audit_(
    ctx: typer.Context,
    concern: Annotated[
        int | None,
        typer.Option(
            metavar="ID",
            help="Only the reads of this concern (and a child's reads that name it).",
            callback=check_id,
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Only the reads by this person (whatever the case)."),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="DATE", help="Only the reads on or after this day."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Only the reads on or before this day."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The audit of reads: who read what, and when (it cannot be turned off).

    One row for each show, alert, bundle, export, backup, report --with-children and
    subject-access, and each run of list and overdue (with its options and how many
    concerns it read); never a child's reference or a summary. `drp verify` checks that no
    row was deleted, edited or inserted outside drp. Days are local; times are shown in UTC.
    This listing is itself recorded."""
    from drp_cli.core.dates import parse_date
    from drp_cli.core.errors import InvalidInput
    from drp_cli.services import audit

    first = parse_date(from_, "--from") if from_ is not None else None
    last = parse_date(to, "--to") if to is not None else None
    if first is not None and last is not None and first > last:
        raise InvalidInput("--from is after --to")
    t = tracker(ctx)
    found = audit.reads(t, concern=concern, by=by, first=first, last=last)
    detail = audit.options_detail([("--concern", concern), ("--by", by), ("--from", first),
                                   ("--to", last)])  # fmt: skip
    audit.record_read(t, "audit", count=len(found), detail=detail)
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    if not found:
        typer.echo("No read is recorded" + (" for that choice." if detail else "."))
        return
    from drp_cli.cli.output import fit_table, plain_table
    from drp_cli.core.textsafe import visible

    headers = ["At (UTC)", "By", "Action", "Concern", "Count", "Detail"]
    rows = [
        [r.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"), str(r.by), str(r.action),
         str(r.concern) if r.concern is not None else "-",
         str(r.count) if r.count is not None else "-", str(r.detail or "-")]
        for r in found
    ]  # fmt: skip
    if sys.stdout.isatty():
        rows = [[visible(cell, one_line=True) for cell in row] for row in rows]
        fit_table(headers, rows, free={"By", "Detail"}, title="Reads recorded",
                  drop=("Detail", "Count"))  # fmt: skip
    else:
        plain_table(headers, rows)
