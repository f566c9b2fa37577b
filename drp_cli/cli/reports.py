"""Commands that read: list, show, overdue."""

# No `from __future__ import annotations` here: Typer reads each command's options from the
# annotations, and strings would be compiled by eval() on every run (twice: for the
# signature and for the type hints), 8 M instructions of `drp overdue` and 20 M of its
# shell completion; evaluated at import, they come from the byte-compiled file.
# Names imported only for type checking are quoted. The options written out in full for
# `list` and `show` are quoted too ("""Annotated[...]"""): Typer evaluates them only when it
# builds that command, so the morning check, which imports this module, does not make
# their Option objects (2 M instructions).

import datetime as dt
import sys
from operator import itemgetter
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from drp_cli.domain.overdue import ActionDue, OverdueItem
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
    store,
    tracker,
)
from drp_cli.cli.output import (
    PLAIN_ABOVE,
    concern_data,
    concern_table,
    documents_data,
    fit_table,
    listed_table,
    names,
    print_json,
    say,
    short,
    show,
)
from drp_cli.core.errors import EXIT_OK, EXIT_OVERDUE, InvalidInput
from drp_cli.core.textsafe import is_one_line, shown_path, visible

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
    from drp_cli.core import config
    from drp_cli.core.dates import parse_date, today
    from drp_cli.domain.overdue import check_within

    day = parse_date(on, "--on") if on is not None else today()
    check_within(within)  # bad input is refused before the database is opened
    mailing = eml is not None or send
    if mailing and (as_json or (eml is not None and send)):
        raise InvalidInput("give one of --eml, --send and --json")
    if not mailing and (to is not None or force):
        raise InvalidInput("--to and --force are for --eml and --send")
    from drp_cli.services import morning

    stale = config.load().no_deadline_after
    # one connection for the check, the requests and the audit's row (each store(ctx) would
    # open the file and check its schema again)
    db = store(ctx)
    import gc

    collecting = gc.isenabled()
    gc.disable()  # the check's lines make no cycles: the collector would only walk them
    found: list[OverdueItem] = []
    try:
        # the check itself loads only what it needs (drp_cli.services.morning): it runs every day
        found, cal = morning.check(db, day, within=within, owner=owner, mine=mine, team=team,
                                   no_deadline_after=stale)  # fmt: skip
        # the subject access requests due by the same horizon (issue 31 item 3): listed in the
        # text only (--json stays a list of concerns' lines), counted in the exit status always
        requests = morning.requests_due(db, day, cal, within=within, owner=owner, mine=mine,
                                        team=team)  # fmt: skip
        from drp_cli.services import audit

        # one row for the run, before anything is shown or sent: where it cannot be written the
        # check fails (exit 4 or 5), never an all-clear
        given = [("--on", day), ("--within", within or None), ("--owner", owner), ("--mine", mine),
                 ("--team", team), ("--eml", eml is not None), ("--send", send),
                 ("--to", to is not None)]  # fmt: skip
        detail = audit.options_detail(given)
        if requests:  # the requests it shows name children too: said, by number
            shown = f"{len(requests)} subject access request{'s' if len(requests) != 1 else ''}"
            detail = f"{detail}; {shown} shown" if detail else f"{shown} shown"
        audit.record_read(db, "overdue", count=len(set(map(_ID, found))), detail=detail)
        late = sum(map("overdue".__eq__, map(_STATE, found))) + sum(r.overdue for r in requests)
        if mailing:
            single = to is not None or owner is not None or mine
            _mail_check(tracker(ctx), found, day, within, stale, eml=eml, to=to, single=single,
                        force=force, requests=bool(requests))  # fmt: skip
        elif as_json:
            sys.stdout.write(overdue_json(found))
            sys.stdout.write("\n")
        elif not found and not requests:
            say(
                f"Nothing overdue on {day.isoformat()} and nothing due within {within} "
                "working days."
                if within
                else f"Nothing overdue or due on {day.isoformat()}."
            )
        elif not found:  # never "Nothing overdue" above a request that is
            say(
                f"No concern is overdue on {day.isoformat()} or due within {_days(within)}."
                if within
                else f"No concern is overdue or due on {day.isoformat()}."
            )
        else:
            if len(found) > PLAIN_ABOVE or not _is_terminal():
                # plain aligned text for cron mail, pipes and very long lists
                typer.echo(f"Deadlines on {day.isoformat()}")
                sys.stdout.write(overdue_lines(found, day))
            else:
                # on a terminal: a table that fits it, else blocks (cli.output.fit_table)
                fit_table(list(OVERDUE_HEADERS), [_overdue_cells(i, day) for i in found],
                          free=OVERDUE_FREE_TEXT, title=f"Deadlines on {day.isoformat()}",
                          styles=[_overdue_style(i.state) for i in found], drop=OVERDUE_DROP,
                          heading=2)  # fmt: skip
            say(_tally(found, within, stale))
        if requests and not as_json:  # the e-mails leave them out: said here, after them
            from drp_cli.cli.privacy import request_lines

            typer.echo("\n" + request_lines(requests), nl=False)
        raise typer.Exit(EXIT_OVERDUE if late else EXIT_OK)
    finally:
        # the lines freed before the collector is back: it would walk every one of them
        # (allocated while it was off, all still in its youngest generation) at its next
        # turn, as long as making them took
        found.clear()
        if collecting:
            gc.enable()


def _mail_check(
    t: "Tracker",
    found: "list[OverdueItem]",
    day: dt.date,
    within: int,
    stale: int,
    *,
    eml: str | None,
    to: str | None,
    single: bool,
    force: bool,
    requests: bool = False,
) -> None:
    """The morning check as e-mails: one to each owner (their address from the staff
    directory), or the whole of it to ``to``; written to ``eml`` (one file when ``single``,
    else a folder of one file per owner), or sent. The text is the check's own plain table
    and tally; an owner with nothing to report gets no e-mail."""

    from drp_cli.adapters.outpaths import protected_paths, write_file, write_folder
    from drp_cli.render import mail

    s = mail.settings()
    groups: dict[str | None, list[OverdueItem]] = {}
    if to is not None or single:
        if found:
            groups[None if to is not None else found[0].owner] = found
    else:
        for i in found:
            groups.setdefault(i.owner, []).append(i)
    addresses: dict[str | None, list[str]]
    if to is not None:
        addresses = {None: mail.given_addresses(t, to.split(","), "to")}
    else:
        from drp_cli.services import staff

        known = mail.staff_addresses(t)
        addresses = {o: [known[staff.key(o)]] if o and staff.key(o) in known else []
                     for o in groups}  # fmt: skip
        lacking = sum(1 for a in addresses.values() if not a)
        if lacking:
            raise InvalidInput(
                f"{lacking} of the {len(groups)} owners with something to report "
                f"{'has' if lacking == 1 else 'have'} no e-mail address in the staff "
                "directory: add them with `drp staff add NAME --email ADDRESS`, or send the "
                "whole check to one address with --to"
            )
    sender = s.sender
    if groups and not sender:
        raise InvalidInput(
            "no address to send from: set it with `drp config set smtp_from ADDRESS`"
        )
    messages = []
    for who, items in groups.items():
        tally = _tally(items, within, stale)
        heading = f"Deadlines on {day.isoformat()}" + (f" for {who}" if who else "")
        text = f"{heading}\n\n{overdue_lines(items, day)}\n{tally}\n"
        html = mail.report_html(heading, text)
        assert sender is not None
        msg = mail.message(sender=sender, to=addresses[who], subject=f"DRP deadlines on "
                           f"{day.isoformat()}: {tally.rstrip('.')}", text=text, html=html,
                           date=t.moment())  # fmt: skip
        messages.append((who, msg))
    if not messages:  # never "nothing overdue" above a request that is (listed after this)
        typer.echo(f"Nothing to send: no concern is overdue or due on {day.isoformat()}."
                   if requests else
                   f"Nothing to send: nothing overdue or due on {day.isoformat()}.")  # fmt: skip
        return
    if eml is not None:
        protected = protected_paths(t.store)
        if single:
            done = write_file(eml, mail.as_bytes(messages[0][1]), protected=protected,
                              force=force, what="e-mail")  # fmt: skip
            typer.echo(
                f"Replaced {shown_path(eml)}." if done.replaced else f"Wrote {shown_path(eml)}."
            )
            return
        files = {f"{n:03d}-{_slug(who)}.eml": mail.as_bytes(msg)
                 for n, (who, msg) in enumerate(messages, 1)}  # fmt: skip
        done = write_folder(eml, files, protected=protected, force=force, what="folder of e-mails")
        verb = "Replaced" if done.replaced else "Wrote"
        typer.echo(
            f"{verb} {shown_path(eml)}: {len(files)} e-mail{'s' if len(files) != 1 else ''}."
        )
        return
    from drp_cli.core.errors import MailError

    for n, (_, msg) in enumerate(messages):
        try:
            mail.send(msg, s)
        except MailError as exc:
            if n:
                raise MailError(f"{exc.template} ({n} of {len(messages)} e-mails were sent "
                                "before it)") from None  # fmt: skip
            raise
    typer.echo(f"Sent the check to {len(messages)} "
               f"{'owner' if to is None else 'recipient list'}"
               f"{'s' if len(messages) != 1 and to is None else ''}.")  # fmt: skip


def _slug(name: str | None) -> str:
    import re as _re

    return _re.sub(r"[^a-z0-9]+", "-", (name or "all").casefold()).strip("-")[:60] or "owner"


def _tally(found: "list[OverdueItem]", within: int, stale: int) -> str:
    """The check's last line: how many of each (lines are clocks: where a concern has two
    clocks overdue, it says in how many concerns)."""
    from collections import Counter

    count = Counter(map(_STATE, found))
    # where no concern has two lines, no state has two lines of one concern
    once = len(set(map(_ID, found))) == len(found)

    def concerns(*states: str) -> str:
        """ " (in N concerns)" where a concern has more than one such line (one per clock)."""
        if once:
            return ""
        lines = sum(count[st] for st in states)
        ids = len({i.id for i in found if i.state in states})
        return "" if ids == lines else f" (in {ids} concern{'s' if ids != 1 else ''})"

    parts = [f"{count['overdue']} overdue{concerns('overdue')}"]
    if count["past-guidance"] or count["past-aim"]:
        n = count["past-guidance"] + count["past-aim"]
        parts.append(f"{n} past an aim or the IRO Handbook's guidance"
                     f"{concerns('past-guidance', 'past-aim')}")  # fmt: skip
    if n := count["action-overdue"]:
        parts.append(
            "1 recommended action past its due date"
            if n == 1
            else f"{n} recommended actions past their due dates"
        )
    if n := count["no-deadline"]:
        parts.append(f"{n} with no deadline for {stale} working days or more")
    if within:
        parts.append(f"{count['due']} due within {within} working days")
    elif count["due"]:
        parts.append(f"{count['due']} due today")
    return ", ".join(parts) + "."


_ID, _STATE = itemgetter(0), itemgetter(4)  # an OverdueItem's id and state


def _is_terminal() -> bool:
    return sys.stdout.isatty()


OVERDUE_HEADERS = ("ID", "Child", "Protocol", "Stage", "Deadline", "State", "Responded",
                   "Addressed to", "Owner", "Summary")  # fmt: skip


#: The morning check's columns of free text, folded to fit a terminal (never the id, the
#: child's reference, the protocol, the stage, the deadline or the state).
OVERDUE_FREE_TEXT = {"Addressed to", "Owner", "Summary"}
#: Left out, in this order, where the whole table does not fit a terminal; where it still
#: does not, one block per line of the check.
OVERDUE_DROP = ("Summary", "Owner", "Addressed to", "Responded", "Protocol")


def _overdue_style(state: str) -> str | None:
    return "bold red" if state == "overdue" else (None if state == "due" else "yellow")


def _shown(value: str) -> str:
    """A stored one-line value as it may reach a terminal or a cron mail: control, separator
    and bidi characters as visible escapes (a forged newline cannot add a row). (The
    import is the module's: a `from` import inside would cost each call a lookup of
    ``__path__`` through textsafe's module ``__getattr__``, 40% of the plain table's time.)"""
    return value if is_one_line(value) else visible(value, one_line=True)


def _overdue_cells(i: "OverdueItem", day: dt.date | None = None) -> list[str]:
    return [str(i.id), _shown(i.child), _shown(i.protocol), _shown(i.stage), _when(i),
            _state_text(i, day), "yes" if i.responded else "no", _shown(names(i.addressed_to)),
            _shown(i.owner or "-"), _shown(short(i.summary) or "-")]  # fmt: skip


def _when(i: "OverdueItem") -> str:
    """The deadline and which one: "2025-03-10 (stage)", "... (step: contact)", "... (action
    2: Team Manager)", "none (stage since 2025-03-06)"."""
    if i.deadline is None:
        return f"none (stage since {i.stage_started_on})"
    if i.action is not None:
        owner = f": {_shown(i.action.owner)}" if i.action.owner else ""
        return f"{i.deadline} (action {i.action.n}{owner})"
    which = i.which.replace("step", f"step: {i.step}") if i.step else i.which
    return f"{i.deadline} ({which})"


def _state_text(i: "OverdueItem", day: dt.date | None = None) -> str:
    if i.state == "no-deadline":
        return f"no deadline for {_days(i.working_days_at_stage)}"
    if i.state == "due" and day is not None and i.deadline is not None and i.deadline < day:
        # it fell on the working day before a weekend, holiday or closure day judged now: not
        # yet a working day late, but not "due today" either
        return "due, passed on the last working day (late from the next)"
    return _deadline_state(i.state, i.working_days_overdue, i.working_days_left)


def overdue_lines(found: "list[OverdueItem]", day: dt.date | None = None) -> str:
    """The plain aligned table of :func:`drp_cli.cli.output.plain_table` for many rows, in
    two passes: the columns between the child and the summary (protocol to owner) repeat
    from line to line, so each distinct run of them is made (and padded) once, and each
    distinct summary once; the children are checked for characters to escape all at once
    (:func:`_shown` makes visible any there are, cell by cell)."""
    middles: dict[tuple[object, ...], list[Any]] = {}  # what they show -> [cells, padded]
    briefs: dict[str, str] = {}
    rows: list[tuple[str, str, list[Any], str]] = []
    append = rows.append
    for i in found:
        # what the columns show: protocol .. step, whom to, the owner, the action; and the
        # day the stage began and the days since, where there is no deadline (they are shown)
        key = (i[2:12], i[13], i[14], i[18]) if i[5] is not None else i[2:12] + i[13:]
        middle = middles.get(key)
        if middle is None:
            middle = middles[key] = [(
                _shown(i.protocol), _shown(i.stage), _when(i), _state_text(i, day),
                "yes" if i.responded else "no", _shown(names(i.addressed_to)),
                _shown(i.owner or "-"),
            ), ""]  # fmt: skip
        summary = i[12]
        brief = briefs.get(summary)
        if brief is None:
            brief = briefs[summary] = _shown(short(summary) or "-")
        append((str(i[0]), i[1], middle, brief))
    ids = [r[0] for r in rows]
    children = [r[1] for r in rows]
    if not is_one_line(" ".join(children)):
        children = [_shown(c) for c in children]
    cells = [m[0] for m in middles.values()]
    widths = [
        max([len(OVERDUE_HEADERS[0]), *map(len, ids)]),
        max([len(OVERDUE_HEADERS[1]), *map(len, children)]),
        *(max([len(h), *(len(c[n]) for c in cells)])
          for n, h in enumerate(OVERDUE_HEADERS[2:9])),
        max([len(OVERDUE_HEADERS[9]), *map(len, briefs.values())]),
    ]  # fmt: skip
    pads = widths[2:9]
    for m in middles.values():
        m[1] = "  ".join(map(str.ljust, m[0], pads))
    w_id, w_child = widths[0], widths[1]
    lines = ["  ".join(map(str.ljust, OVERDUE_HEADERS, [*widths[:-1], 0])),
             "  ".join("-" * w for w in widths)]  # fmt: skip
    lines += [f"{cid.ljust(w_id)}  {child.ljust(w_child)}  {r[2][1]}  {r[3]}"
              for cid, child, r in zip(ids, children, rows, strict=True)]  # fmt: skip
    lines.append("")  # the last line's end: one join, no copy after it
    return "\n".join(lines)


#: An item of `drp overdue --json`, in the parts :func:`overdue_json` fills: what is the
#: concern's own (its id and child), the clock's (shared by many), the summary, the rest
_OVERDUE_HEAD = '  {{\n    "id": {},\n    "child": {},\n'
_OVERDUE_CLOCK = (
    '    "protocol": {},\n    "stage": {},\n'
    '    "state": {},\n    "deadline": {},\n    "which": {},\n'
    '    "working_days_overdue": {},\n    "working_days_left": {},\n    "responded": {},\n'
    '    "timescale": {},\n    "step": {},\n'
)
_OVERDUE_SUMMARY = '    "summary": {},\n'
_OVERDUE_TAIL = (
    '    "addressed_to": {},\n'
    '    "owner": {},\n    "team": {},\n    "stage_started_on": {},\n'
    '    "working_days_at_stage": {},\n    "action": {}\n  }}'
)
_OVERDUE_OBJECT = _OVERDUE_HEAD + _OVERDUE_CLOCK + _OVERDUE_SUMMARY + _OVERDUE_TAIL


def overdue_json(found: "list[OverdueItem]") -> str:
    """``json.dumps([i.to_dict() for i in found], indent=2, ensure_ascii=False)``, written
    straight from the items: printing 50,000 of them is the slow part of `--json` otherwise
    (a test holds the two to the same text). What lines share (their clock's fields; their
    addressees, owner, team and stage) is written once for each distinct value of it."""
    if not found:
        return "[]"
    from json.encoder import encode_basestring

    quoted: dict[object, str] = {None: "null"}

    def q(value: object) -> str:
        """A repeated string (or date, or None) as JSON, made once."""
        done = quoted.get(value)
        if done is None:
            text = value.isoformat() if isinstance(value, dt.date) else str(value)
            done = quoted[value] = encode_basestring(text)
        return done

    def names_json(values: tuple[str, ...]) -> str:
        return "[\n" + ",\n".join(f"      {q(v)}" for v in values) + "\n    ]" if values else "[]"

    def action_json(a: "ActionDue | None") -> str:
        if a is None:
            return "null"
        return (f'{{\n      "n": {a.n},\n      "text": {encode_basestring(a.text)},\n'
                f'      "owner": {q(a.owner)}\n    }}')  # fmt: skip

    clocks: dict[tuple[object, ...], str] = {}
    tails: dict[tuple[object, ...], str] = {}
    summaries: dict[str, str] = {}
    summary_part = _OVERDUE_SUMMARY.format
    # the whole text as its pieces, joined once (each item's four parts and the separator
    # after it, the last one the list's end): no piece is copied into another first
    parts = ["[\n"]
    add = parts.append
    for i in found:
        clock = i[2:12]  # protocol .. step
        text = clocks.get(clock)
        if text is None:
            (protocol, stage, state, deadline, which, late, left, responded, timescale,
             step) = clock  # fmt: skip
            text = clocks[clock] = _OVERDUE_CLOCK.format(
                q(protocol), q(stage), q(state), q(deadline), q(which), late, left,
                "true" if responded else "false", q(timescale), q(step),
            )  # fmt: skip
        rest = i[13:]  # addressed_to .. action
        tail = tails.get(rest)
        if tail is None:
            addressed_to, owner, team, started, at_stage, action = rest
            tail = tails[rest] = _OVERDUE_TAIL.format(
                names_json(addressed_to), q(owner), q(team), q(started), at_stage,
                action_json(action),
            )  # fmt: skip
        summary = summaries.get(i.summary)
        if summary is None:
            summary = summaries[i.summary] = summary_part(encode_basestring(i.summary))
        add(f'  {{\n    "id": {i.id},\n    "child": {encode_basestring(i.child)},\n')  # _HEAD
        add(text)
        add(summary)
        add(tail)
        add(",\n")
    parts[-1] = "\n]"
    return "".join(parts)


def _days(n: int) -> str:
    from drp_cli.domain.wording import days

    return days(n)


def _deadline_state(state: str, overdue_by: int, left: int) -> str:
    from drp_cli.domain.wording import deadline_state

    return deadline_state(state, overdue_by, left)
