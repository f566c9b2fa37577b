"""The morning check, ``drp overdue``, without Typer: what it does once its options are
known (:func:`run`, which the Typer command in :mod:`drp_cli.cli.reports` calls), its lines
and JSON, and the quick way in (:func:`quick`).

IROs run the check every morning, and cron runs it for them. Its everyday arguments (``--on``,
``--within``, ``--owner``, ``--mine``, ``--team``, ``--json``, and the root's ``--db`` and
``--debug``) are read here without loading Typer, which alone costs as much as the rest of
the check: :func:`quick` parses them as click would, and leaves anything else to the Typer
app (any other option or form, a value that starts with ``-``, a repeated option, a number
Typer's coercion would have to read, standard streams that are not UTF-8, shell completion).
Both ways run :func:`run` and end at :mod:`drp_cli.cli.edge`, so the output, the messages
and the exit status are the same (``tests/test_lead7_quick_check.py`` holds them to it,
option by option, against the Typer command's own definition).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from drp_cli.cli.edge import State, ended, utf8_stream
from drp_cli.cli.output import PLAIN_ABOVE, fit_table, names, said, short
from drp_cli.cli.output import is_terminal as _is_terminal  # tests put a terminal here
from drp_cli.core.errors import EXIT_OK, EXIT_OVERDUE, InvalidInput
from drp_cli.core.textsafe import is_one_line, shown_path, visible

if TYPE_CHECKING:
    from drp_cli.domain.overdue import ActionDue, OverdueItem
    from drp_cli.services.tracker import Tracker

#: How a line is written: ``typer.echo`` in the Typer app, :func:`echo` on the quick way
Echo = Callable[..., None]


def run(
    state: State,
    echo: Echo,
    *,
    on: str | None = None,
    within: int = 0,
    owner: str | None = None,
    mine: bool = False,
    team: str | None = None,
    eml: str | None = None,
    send: bool = False,
    to: str | None = None,
    force: bool = False,
    as_json: bool = False,
) -> int:
    """The check, given its options as the command has them: its exit status (1 where a
    firm deadline or a request's due date is passed). Errors are raised, for the edge."""
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
    # one connection for the check, the requests and the audit's row (each state.store() would
    # open the file and check its schema again)
    db = state.store()
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
        if requests and not as_json:  # the requests it shows name children too: by number
            shown = f"{len(requests)} subject access request{'s' if len(requests) != 1 else ''}"
            detail = f"{detail}; {shown} shown" if detail else f"{shown} shown"
        audit.record_read(db, "overdue", count=len(set(map(_ID, found))), detail=detail)
        late = sum(map("overdue".__eq__, map(_STATE, found))) + sum(r.overdue for r in requests)
        if mailing:
            single = to is not None or owner is not None or mine
            _mail_check(state.tracker(), echo, found, day, within, stale, eml=eml, to=to,
                        single=single, force=force, requests=bool(requests))  # fmt: skip
        elif as_json:
            sys.stdout.write(overdue_json(found))
            sys.stdout.write("\n")
        elif not found and not requests:
            echo(
                said(
                    f"Nothing overdue on {day.isoformat()} and nothing due within {within} "
                    "working days."
                    if within
                    else f"Nothing overdue or due on {day.isoformat()}."
                )
            )
        elif not found:  # never "Nothing overdue" above a request that is
            echo(
                said(
                    f"No concern is overdue on {day.isoformat()} or due within {_days(within)}."
                    if within
                    else f"No concern is overdue or due on {day.isoformat()}."
                )
            )
        else:
            if len(found) > PLAIN_ABOVE or not _is_terminal():
                # plain aligned text for cron mail, pipes and very long lists
                echo(f"Deadlines on {day.isoformat()}")
                sys.stdout.write(overdue_lines(found, day))
            else:
                # on a terminal: a table that fits it, else blocks (cli.output.fit_table)
                fit_table(list(OVERDUE_HEADERS), [_overdue_cells(i, day) for i in found],
                          free=OVERDUE_FREE_TEXT, title=f"Deadlines on {day.isoformat()}",
                          styles=[_overdue_style(i.state) for i in found], drop=OVERDUE_DROP,
                          heading=2)  # fmt: skip
            echo(said(_tally(found, within, stale)))
        if requests and not as_json:  # the e-mails leave them out: said here, after them
            from drp_cli.cli.privacy import request_lines

            echo("\n" + request_lines(requests), nl=False)
        return EXIT_OVERDUE if late else EXIT_OK
    finally:
        # the lines freed before the collector is back: it would walk every one of them
        # (allocated while it was off, all still in its youngest generation) at its next
        # turn, as long as making them took
        found.clear()
        if collecting:
            gc.enable()


def _mail_check(
    t: Tracker,
    echo: Echo,
    found: list[OverdueItem],
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
        echo(f"Nothing to send: no concern is overdue or due on {day.isoformat()}."
                   if requests else
                   f"Nothing to send: nothing overdue or due on {day.isoformat()}.")  # fmt: skip
        return
    if eml is not None:
        protected = protected_paths(t.store)
        if single:
            done = write_file(eml, mail.as_bytes(messages[0][1]), protected=protected,
                              force=force, what="e-mail")  # fmt: skip
            echo(f"Replaced {shown_path(eml)}." if done.replaced else f"Wrote {shown_path(eml)}.")
            return
        files = {f"{n:03d}-{_slug(who)}.eml": mail.as_bytes(msg)
                 for n, (who, msg) in enumerate(messages, 1)}  # fmt: skip
        done = write_folder(eml, files, protected=protected, force=force, what="folder of e-mails")
        verb = "Replaced" if done.replaced else "Wrote"
        echo(f"{verb} {shown_path(eml)}: {len(files)} e-mail{'s' if len(files) != 1 else ''}.")
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
    echo(f"Sent the check to {len(messages)} "
               f"{'owner' if to is None else 'recipient list'}"
               f"{'s' if len(messages) != 1 and to is None else ''}.")  # fmt: skip


def _slug(name: str | None) -> str:
    import re as _re

    return _re.sub(r"[^a-z0-9]+", "-", (name or "all").casefold()).strip("-")[:60] or "owner"


def _tally(found: list[OverdueItem], within: int, stale: int) -> str:
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


def _overdue_cells(i: OverdueItem, day: dt.date | None = None) -> list[str]:
    return [str(i.id), _shown(i.child), _shown(i.protocol), _shown(i.stage), _when(i),
            _state_text(i, day), "yes" if i.responded else "no", _shown(names(i.addressed_to)),
            _shown(i.owner or "-"), _shown(short(i.summary) or "-")]  # fmt: skip


def _when(i: OverdueItem) -> str:
    """The deadline and which one: "2025-03-10 (stage)", "... (step: contact)", "... (action
    2: Team Manager)", "none (stage since 2025-03-06)"."""
    if i.deadline is None:
        return f"none (stage since {i.stage_started_on})"
    if i.action is not None:
        owner = f": {_shown(i.action.owner)}" if i.action.owner else ""
        return f"{i.deadline} (action {i.action.n}{owner})"
    which = i.which.replace("step", f"step: {i.step}") if i.step else i.which
    return f"{i.deadline} ({which})"


def _state_text(i: OverdueItem, day: dt.date | None = None) -> str:
    if i.state == "no-deadline":
        return f"no deadline for {_days(i.working_days_at_stage)}"
    if i.state == "due" and day is not None and i.deadline is not None and i.deadline < day:
        # it fell on the working day before a weekend, holiday or closure day judged now: not
        # yet a working day late, but not "due today" either
        return "due, passed on the last working day (late from the next)"
    return _deadline_state(i.state, i.working_days_overdue, i.working_days_left)


def overdue_lines(found: list[OverdueItem], day: dt.date | None = None) -> str:
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


def overdue_json(found: list[OverdueItem]) -> str:
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

    def action_json(a: ActionDue | None) -> str:
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


# -- the quick way in ---------------------------------------------------------------------
#: The options :func:`quick` reads, each as the Typer app defines it (its parameter, and
#: whether it takes a value): the root's (before the command's name), then the check's.
#: ``tests/test_lead7_quick_check.py`` holds them to the Typer command's own parameters.
ROOT_OPTIONS = {"--db": ("db", True), "--debug": ("debug", False)}
QUICK_OPTIONS = {"--on": ("on", True), "--within": ("within", True), "--owner": ("owner", True),
                 "--team": ("team", True), "--mine": ("mine", False),
                 "--json": ("as_json", False)}  # fmt: skip


def quick_arguments(argv: list[str]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The root's options and the check's, from ``argv``, as click gives them to the
    commands; None wherever :func:`quick` leaves the command to the Typer app: another
    command or option, an option given twice (click keeps the last), ``--flag=value``, a
    value that starts with ``-`` (click would take it; it is more likely a slip), a
    ``--within`` that is not a plain whole number (Typer's coercion reads the rest)."""
    given: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    table, part, i = ROOT_OPTIONS, 0, 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if part == 0 and word == "overdue":
            table, part = QUICK_OPTIONS, 1
            continue
        name, eq, value = word.partition("=")
        entry = table.get(name)
        if entry is None or entry[0] in given[part]:
            return None
        param, valued = entry
        if not valued:
            if eq:
                return None
            given[part][param] = True
            continue
        if not eq:
            if i == len(argv):
                return None
            value = argv[i]
            i += 1
        if value.startswith("-"):
            return None
        given[part][param] = value
    if part == 0:
        return None
    within = given[1].get("within")
    if within is not None:
        if not (within.isascii() and within.isdigit() and len(within) <= 9):
            return None
        given[1]["within"] = int(within)
    return given


def echo(message: str = "", nl: bool = True, err: bool = False) -> None:
    """``typer.echo`` of one of the check's lines, on a UTF-8 stream (what :func:`quick`
    runs with): written and flushed. (Typer's also takes ANSI escapes out of a line written
    to a pipe; the check's lines hold none: stored text is shown through
    :func:`drp_cli.core.textsafe.visible`.)"""
    stream = sys.stderr if err else sys.stdout
    if nl:
        message += "\n"
    if message:
        stream.write(message)
    stream.flush()


def _say_error(line: str) -> None:
    echo(line, err=True)


class _Pacified:
    """A standard stream whose reader went away: flushing it says nothing more (what
    Typer does to them before it exits with status 1 at a broken pipe)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        import errno

        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def quick(argv: list[str]) -> int | None:
    """``drp overdue`` with its everyday arguments (:func:`quick_arguments`), run without
    Typer: its exit status, or None, having done nothing, where the Typer app must run it
    (see the module's docstring). The error edge is :mod:`drp_cli.cli.edge`'s, as the
    Typer app's is."""
    if "_DRP_COMPLETE" in os.environ or not (utf8_stream(sys.stdout) and utf8_stream(sys.stderr)):
        return None
    from drp_cli.core.encoding import not_utf8

    if not_utf8(argv) is not None:  # the app refuses it, in its words
        return None
    given = quick_arguments(argv)
    if given is None:
        return None
    root, options = given
    state = State()
    state.db = root.get("db")  # else the store reads DRP_DB, as click would have
    state.debug = root.get("debug", False)
    try:
        try:
            return run(state, echo, **options)
        except BrokenPipeError:
            raise
        except Exception as exc:
            return ended(exc, state, _say_error)
        finally:
            state.close()  # no connection outlives the command
    except KeyboardInterrupt:
        return 130  # as Typer ends at Ctrl-C (and SIGTERM: drp_cli.__main__)
    except BrokenPipeError:  # the reader went away: as Typer ends
        sys.stdout = _Pacified(sys.stdout)
        sys.stderr = _Pacified(sys.stderr)
        return 1
