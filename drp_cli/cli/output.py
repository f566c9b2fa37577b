"""Rendering for people (Rich) and for scripts (JSON). Rich is imported lazily.

Stored text never drives the terminal: every value from the record is shown through
:func:`drp_cli.core.textsafe.visible` (one-line fields with ``one_line=True``, so a newline in
a child reference cannot forge a row), and reaches Rich as a ``Text`` object, never as
markup (``[bold]`` in a summary is printed as it is). JSON is safe as it is (``json.dumps``
escapes control characters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drp_cli.core import textsafe
from drp_cli.core.textsafe import visible

if TYPE_CHECKING:
    import datetime as dt

    from rich.console import Console
    from rich.text import Text

    from drp_cli.services.listing import Shown, TableRow
    from drp_cli.services.tracker import ConcernView, Tracker


#: Above this many rows a table is printed as plain aligned text: Rich takes seconds to lay
#: out tens of thousands of rows, and the daily check must stay quick.
PLAIN_ABOVE = 200


def plain_table(headers: list[str], rows: list[list[str]]) -> None:
    """Aligned columns, written straight to stdout (no wrapping, no colour). Every cell is
    shown as one line (:func:`visible`); a row is searched once and copied only if unsafe."""
    import sys

    search = textsafe.UNSAFE_IN_LINE.search  # compiled on first use, not at import
    rows = [
        row if search(" ".join(row)) is None else [visible(c, one_line=True) for c in row]
        for row in rows
    ]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(headers)
    widths = [max(len(h), *map(len, col)) for h, col in zip(headers, columns, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row).rstrip() for row in rows]
    sys.stdout.write("\n".join(lines) + "\n")


#: How narrow a column of free text (a summary, a name) may be made before the table is
#: laid out another way: a reference, a date or a state is never narrower than its longest word,
#: and free text is folded at spaces, never narrower than its longest word either ("Supervising
#: social worker" never as "Supervisin g"), unless that word is longer than :data:`LONG_WORD`
#: (a web address, a path): only such a word may be folded, down to this width.
FREE_TEXT_MIN = 10
LONG_WORD = 20


def _longest_word(text: str, most: int | None = None) -> int:
    """The length of the longest word of ``text`` (of those no longer than ``most``)."""
    return max((len(w) for w in text.split() if most is None or len(w) <= most), default=0)


def _free_least(texts: tuple[str, ...], natural: int) -> int:
    """How narrow a column of free text may be: as wide as its longest word, so it is folded
    at spaces, except for words longer than :data:`LONG_WORD`."""
    longest = max(map(_longest_word, texts), default=0)
    ordinary = max((_longest_word(t, LONG_WORD) for t in texts), default=0)
    return min(natural, longest, max(FREE_TEXT_MIN, ordinary))


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def column_widths(
    headers: list[str], rows: list[list[str]], free: set[str], width: int, *, whole: bool = False
) -> list[int] | None:
    """Widths for a boxed table of ``headers`` and ``rows`` in ``width`` columns, or None if
    it cannot fit. No column is narrower than its longest word (a child's reference, a date,
    a state and a header are never broken; with ``whole``, nor is any line of a column not
    of ``free`` text); a column of ``free`` text is folded at spaces, only a word longer than
    :data:`LONG_WORD` folded within it (:func:`_free_least`); the room left goes first to
    the other columns (so a deadline or a state keeps to one line), then evenly to the free
    text."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(headers)
    natural = [max(len(h), *map(_longest_line, col))
               for h, col in zip(headers, columns, strict=True)]  # fmt: skip
    least, words = [], []
    for h, col, nat in zip(headers, columns, natural, strict=True):
        longest = max(_longest_word(h), *map(_longest_word, col))
        words.append(min(longest, nat))
        least.append(_free_least((h, *col), nat) if h in free else nat if whole else longest)
    room = width - (3 * len(headers) + 1)  # the box's rules and each cell's padding
    widths = list(least)
    if sum(widths) > room:
        return None
    spare = room - sum(widths)
    for i, h in enumerate(headers):  # the references, dates and states first
        if h not in free:
            more = min(natural[i] - widths[i], spare)
            widths[i] += more
            spare -= more
    for i, h in enumerate(headers):  # then free text wide enough for its longest word
        if h in free:
            more = min(max(words[i] - widths[i], 0), spare)
            widths[i] += more
            spare -= more
    growing = [i for i, h in enumerate(headers) if h in free and widths[i] < natural[i]]
    while spare > 0 and growing:  # then the free text, a column at a time
        for i in list(growing):
            if spare == 0:
                break
            widths[i] += 1
            spare -= 1
            if widths[i] >= natural[i]:
                growing.remove(i)
    return widths


def fit_table(
    headers: list[str],
    rows: list[list[str]],
    *,
    free: set[str],
    title: str | None = None,
    styles: list[str | None] | None = None,
    drop: tuple[str, ...] = (),
    heading: int = 1,
    page: RichPage | PlainPage | None = None,
) -> None:
    """A table on a terminal that fits its width, whatever it is (from 60 columns): each
    cell's text (already made safe with :func:`visible`) is never cut with "…" and no line is
    wider than the terminal. In this order: the whole table (free text folded, see
    :func:`column_widths`); without the columns in ``drop``, one by one in that order, with a
    line naming those left out; else one block per row, its first ``heading`` cells on its
    first line and each other cell on its own line, "Header: value", wrapped at spaces.
    ``page``: where it is printed (by default with Rich, at once)."""
    out = page if page is not None else RichPage()
    width = out.width
    styles = styles or [None] * len(rows)
    # each way to lay it out, fewest columns left out first: the first that keeps every
    # reference, date and state on one line, else the first that fits at all
    ways: list[tuple[list[int], list[str]]] = [(list(range(len(headers))), [])]
    for name in drop:
        if name in headers:
            kept = [i for i in ways[-1][0] if headers[i] != name]
            ways.append((kept, [*ways[-1][1], name]))
    widths: list[int] | None = None
    left_out: list[str] = []
    for whole in (True, False):
        for shown, _left_out in ways if whole else ways[:3]:  # folded: at most 2 left out
            widths = column_widths([headers[i] for i in shown],
                                   [[r[i] for i in shown] for r in rows], free, width,
                                   whole=whole)  # fmt: skip
            if widths is not None:
                left_out = _left_out
                break
        if widths is not None:
            break
    if widths is not None:
        out.table(title, [headers[i] for i in shown], widths,
                  [[row[i] for i in shown] for row in rows], styles)  # fmt: skip
        if left_out:
            out.text([f"({', '.join(left_out)} left out to fit {width} columns: widen the "
                      "window to see them, or use --json.)"])  # fmt: skip
        return
    import textwrap

    if title:
        out.text([title])
    for n_row, (row, style) in enumerate(zip(rows, styles, strict=True)):
        named = row[0].isdigit()  # "ID 2", "# 4"; a stage's or a step's title as it is
        first = (f"{headers[0]} {row[0]}" if named else row[0]) + "".join(
            f"  {c}" for c in row[1:heading])  # fmt: skip
        lines = ([""] if n_row else []) + textwrap.wrap(first, width, break_on_hyphens=False)
        for h, cell in zip(headers[heading:], row[heading:], strict=True):
            for n, part in enumerate(cell.splitlines() or [""]):
                lead = f"  {h}: " if n == 0 else "    "
                lines += textwrap.wrap(part, width, initial_indent=lead, subsequent_indent="    ",
                                       break_on_hyphens=False) or [lead.rstrip()]  # fmt: skip
        out.text(["\n".join(lines)], style=style)
    return


class NotPlain(Exception):
    """A page holds what only Rich lays out as Rich does (see :class:`PlainPage`)."""


class RichPage:
    """A page printed with Rich as it is built: on a terminal (styles, its width)."""

    def __init__(self) -> None:
        self.out = console()
        self.width = self.out.width

    def text(self, parts: list[str | tuple[str, str]], style: str | None = None) -> None:
        """A paragraph (``parts``: text, or (text, its style)), wrapped at the width."""
        from rich.text import Text

        self.out.print(Text.assemble(*parts), style=style)

    def grid(self, rows: list[tuple[str, str]]) -> None:
        """Two columns without rules: a bold label, and its value (already made safe)."""
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        for label, value in rows:
            grid.add_row(label, Text(value))
        self.out.print(grid)

    def table(self, title: str | None, headers: list[str], widths: list[int],
              rows: list[list[str]], styles: list[str | None]) -> None:  # fmt: skip
        """A boxed table, its columns ``widths`` wide (text folded to them)."""
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, title_justify="left")
        for h, w in zip(headers, widths, strict=True):
            table.add_column(h, width=w, overflow="fold", no_wrap=False)
        for row, style in zip(rows, styles, strict=True):
            table.add_row(*[Text(c) for c in row], style=style)
        self.out.print(table)

    def documents(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        """A boxed table that Rich sizes to its cells (folded where the width is short)."""
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, title_justify="left")
        for name in headers:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*[Text(c) for c in row])
        self.out.print(table)


#: The box Rich draws a table's rules with (box.HEAVY_HEAD): top, below the header, bottom
#: (left, rule, between columns, right), and the header's and the rows' upright rules.
_TOP, _UNDER_HEAD, _BOTTOM = "┏━┳┓", "┡━╇┩", "└─┴┘"
_HEAD_BAR, _ROW_BAR = "┃", "│"


class PlainPage:
    """A page as the very text Rich prints where its output is not a terminal (a pipe, a
    file), without importing Rich: its word wrapping, grid and boxed tables, for text of
    printable ASCII (and newlines) only. Whatever else it meets raises :class:`NotPlain`
    before a line is written, and the page is printed with Rich instead
    (tests/test_s32_plain_show.py holds the two to the same bytes)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[str] = []

    def text(self, parts: list[str | tuple[str, str]], style: str | None = None) -> None:
        text = "".join(p if isinstance(p, str) else p[0] for p in parts)
        self.lines += _wrapped(text, self.width)

    def grid(self, rows: list[tuple[str, str]]) -> None:
        labels = [label for label, _ in rows]
        values = [value for _, value in rows]
        # Rich's widths: each column as wide as its longest line (the labels' with their
        # padding of 2), the values' narrowed to the width left
        first = max(map(len, labels), default=0) + 2
        second = max((len(line) for v in values for line in v.splitlines()), default=0) or 1
        if first + second > self.width:
            second = self.width - first
            if second < first:  # Rich would narrow both: not laid out here
                raise NotPlain("narrow grid")
        for label, value in rows:
            left = _cells(label, first - 2, fold=False)
            right = _cells(value, second, fold=False)
            height = max(len(left), len(right))
            left += [" " * (first - 2)] * (height - len(left))
            right += [" " * second] * (height - len(right))
            self.lines += [a + "  " + b for a, b in zip(left, right, strict=True)]

    def table(self, title: str | None, headers: list[str], widths: list[int],
              rows: list[list[str]], styles: list[str | None]) -> None:  # fmt: skip
        table_width = sum(widths) + 3 * len(widths) + 1
        if title:
            self.lines += _cells(title, table_width)

        def rule(box: str) -> str:
            return box[0] + box[2].join(box[1] * (w + 2) for w in widths) + box[3]

        def row_lines(cells: list[str], bar: str) -> list[str]:
            wrapped = [_cells(c, w) for c, w in zip(cells, widths, strict=True)]
            height = max(map(len, wrapped), default=0)
            for col, w in zip(wrapped, widths, strict=True):
                blank = [" " * w] * (height - len(col))
                col[:] = blank + col if bar == _HEAD_BAR else col + blank  # a header: bottom
            return [bar + bar.join(f" {part} " for part in parts) + bar
                    for parts in zip(*wrapped, strict=True)]  # fmt: skip

        self.lines.append(rule(_TOP))
        self.lines += row_lines(headers, _HEAD_BAR)
        self.lines.append(rule(_UNDER_HEAD))
        for row in rows:
            self.lines += row_lines(row, _ROW_BAR)
        self.lines.append(rule(_BOTTOM))

    def documents(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        raise NotPlain("a table Rich sizes")

    def write(self) -> None:
        import sys

        sys.stdout.write("".join(line + "\n" for line in self.lines))


def plain_width() -> int | None:
    """The width Rich would lay a page out in when it would print plain text (no colour,
    no styles: not a terminal, FORCE_COLOR and TTY_COMPATIBLE not asking for one, UTF-8), as
    :class:`rich.console.Console` decides both; None where it would not, or the width is
    below 40."""
    import os
    import sys

    if sys.platform == "win32" or getattr(sys.stdin, "__module__", "").startswith("idlelib"):
        return None
    env = os.environ
    compatible = env.get("TTY_COMPATIBLE", "")
    if compatible == "1":
        return None
    if compatible != "0":
        force = env.get("FORCE_COLOR")
        if force is not None:
            if force != "":
                return None
        else:
            try:
                if sys.stdout.isatty():
                    return None
            except (AttributeError, ValueError):
                pass
    encoding = (getattr(sys.stdout, "encoding", "utf-8") or "utf-8").lower()
    if not encoding.startswith("utf"):
        return None
    columns = env.get("COLUMNS")
    if columns is not None and columns.isdigit():
        width = int(columns)
    else:
        width = 0
        for fd in (0, 1, 2):
            try:
                width = os.get_terminal_size(fd)[0]
            except (AttributeError, ValueError, OSError):
                continue
            break
        width = width or 80
    return width if width >= 40 else None


def _plain_text(text: str) -> None:
    """Raise :class:`NotPlain` unless ``text`` is printable ASCII and newlines."""
    if not (text.isascii() and (text.isprintable() or text.replace("\n", "").isprintable())):
        raise NotPlain("not printable ASCII")


def _lines_of(text: str, width: int, fold: bool) -> list[str]:
    """``text`` wrapped at ``width`` as Rich wraps it (rich._wrap.divide_line), for
    printable ASCII."""
    import itertools
    import re

    _plain_text(text)
    out: list[str] = []
    for line in text.split("\n"):
        breaks: list[int] = []
        offset = 0
        for match in re.finditer(r"\s*\S+\s*", line):
            start, word = match.start(), match.group()
            length = len(word.rstrip())
            if width - offset >= length:
                offset += len(word)
            elif length > width:
                if not fold:  # Rich would crop it with an ellipsis
                    raise NotPlain("a word wider than its column")
                chunks = [word[i : i + width] for i in range(0, len(word), width)]
                for n, chunk in enumerate(chunks):
                    if start:
                        breaks.append(start)
                    if n == len(chunks) - 1:
                        offset = len(chunk)
                    else:
                        start += len(chunk)
            elif offset and start:
                breaks.append(start)
                offset = len(word)
        ends = [0, *breaks, len(line)]
        # (beyond the width a line holds only spaces, which the callers cut)
        out += [line[a:b] for a, b in itertools.pairwise(ends)]
    return out


def _wrapped(text: str, width: int) -> list[str]:
    """A paragraph as Rich's console prints it: wrapped, folded, never wider than ``width``."""
    return [line[:width] for line in _lines_of(text, width, fold=True)]


def _cells(text: str, width: int, *, fold: bool = True) -> list[str]:
    """A table cell's lines as Rich lays them out: wrapped, each exactly ``width`` wide."""
    return [line[:width].ljust(width) for line in _lines_of(text, width, fold)]


def say(text: str) -> None:
    """A line for people: on a terminal wrapped at spaces to its width, else as it is."""
    import typer

    typer.echo(said(text))


def said(text: str) -> str:
    """What :func:`say` prints of ``text`` (without the line's end)."""
    if is_terminal():
        import textwrap

        text = "\n".join(textwrap.wrap(text, console().width, break_on_hyphens=False))
    return text


def is_terminal() -> bool:
    """Whether standard output is a terminal (else a pipe or a file: cron, a script)."""
    import sys

    return sys.stdout.isatty()


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, emoji=False)


def print_json(data: Any) -> None:
    import json

    import typer

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def judge_date(t: Tracker, on: str | None) -> dt.date:

    return t.judge_day(on)


def concern_data(
    t: Tracker, c: ConcernView, on: str | None = None, *, timeline: bool = True
) -> dict[str, Any]:
    from drp_cli.domain.views import concern_dict

    return concern_dict(
        c,
        t.protocols.protocols.get(c.protocol),
        t.calendar(),
        judge_date(t, on),
        timeline=timeline,
    )


def _esc(text: Any, *, one_line: bool = True) -> str:
    """Stored text for Rich markup: escaped, and its unsafe characters made visible."""
    from rich.markup import escape

    return escape(visible(str(text), one_line=one_line))


def _text(value: Any, *, one_line: bool = True) -> Text:
    """Stored text as a Rich ``Text``: no markup, no emoji, unsafe characters visible."""
    from rich.text import Text

    return Text(visible(str(value), one_line=one_line))


def one_line(verb: str, d: dict[str, Any], kind: str | None = None) -> None:
    """The confirmation a write command prints: what happened and what is due next; what
    comes next where the protocol gives it; and, after the events where drp asks for the
    child's voice (``kind``, the event recorded), how to record what is missing of it."""
    from drp_cli.domain.wording import voice_notes

    parts = [f"{verb} concern {d['id']}", f"{d['protocol']} {d['stage']} ({d['stage_title']})"]
    if d["status"] != "open":
        parts.append(f"{d['status']} on {d['closed_on']}")
    else:
        parts.append(f"stage deadline {d['deadline'] or 'none (no timescale)'}")
        if d["formal_deadline"]:
            parts.append(f"formal deadline {d['formal_deadline']}")
    if d["referred_to_cafcass_on"]:
        parts.append(f"referred to CAFCASS {d['referred_to_cafcass_on']}")
    say(visible(": ".join(parts[:2]) + "; " + "; ".join(parts[2:]) + ".", one_line=True))
    following = next_line(d)
    if following is not None:
        say(visible(following, one_line=True))
    asks = bool(d["missing"])  # the route asks for the child's voice at all
    for note in voice_notes(kind, d["id"], wishes_missing=asks and d.get("child_wishes") is None,
                            told_missing=asks and d["status"] == "resolved"
                            and d.get("child_told_outcome") is None):  # fmt: skip
        say(note)


def next_line(d: dict[str, Any]) -> str | None:
    """What comes next on an open concern (:func:`drp_cli.domain.wording.next_words`, the
    one rule): whom the stage is addressed to and by when, or, after a response at the
    stage, the decision on it and the stage's steps; and the stage after it. None when
    closed or its protocol is no longer installed."""
    from drp_cli.domain.wording import next_words

    protocol = _protocol_of(d)
    if d["status"] != "open" or protocol is None or not protocol.has_stage(d["stage"]):
        return None
    after = protocol.next_stage(d["stage"])
    later = protocol.stage_for(after.slug, d.get("route")) if after is not None else None
    visits = d.get("stages") or []
    responded_on = visits[-1]["first_response_on"] if visits else None
    stage = protocol.stage_for(d["stage"], d.get("route"))
    steps = []
    for s in d.get("steps") or []:
        known = stage.step(s["slug"])
        steps.append({**s, "outcome": known is not None and known.outcome})
    return next_words(
        d["id"],
        addressed_to=d.get("addressed_to") or [],
        deadline=d["deadline"],
        deadline_kind=d.get("deadline_kind"),
        step=d.get("next_step"),
        next_title=later.title if later is not None else None,
        next_addressed_to=later.addressee_names if later is not None else [],
        last=after is None,
        responded_on=responded_on,
        steps=steps,
    )


def show(d: dict[str, Any]) -> None:
    """A concern's page. Where Rich would print it without colour or styles (a pipe, a
    file), the same text written without importing Rich (:class:`PlainPage`); on a
    terminal, or where the page holds what only Rich lays out, with Rich."""
    width = plain_width()
    if width is not None:
        page = PlainPage(width)
        try:
            _show_page(d, page)
        except NotPlain:
            pass
        else:
            page.write()
            return
    _show_page(d, RichPage())


def _show_page(d: dict[str, Any], out: RichPage | PlainPage) -> None:
    from drp_cli.domain.wording import (
        FORMAL_RESULT_WORDS,
        LEFT_BY_WORDS,
        event_words,
        names_words,
        stage_result,
    )

    flag = d["status"].upper()
    if d["overdue"]:
        flag += f", OVERDUE by {d['working_days_overdue']} working day"
        flag += "s" if d["working_days_overdue"] != 1 else ""
    if d.get("past_aim"):
        flag += ", past its aim"
    if d.get("past_guidance"):
        flag += ", past the IRO Handbook's 20 working days (guidance)"
    style = "bold red" if d["overdue"] else "bold"
    out.text([(visible(f"Concern {d['id']}: {flag}", one_line=True), style),
              f" (judged on {d['judged_on']})"])  # fmt: skip
    grid: list[tuple[str, str]] = []
    category = _theme_words(d["category"], d["issue"])
    subject = {"carer": "Carer household", "chair": "Chair"}.get(d.get("subject") or "", "Child")
    _row(grid, subject, _safe(d["child"]))
    if d.get("other_open_concerns"):  # the child's other open concerns
        others = d["other_open_concerns"]
        listed = ("concern " if len(others) == 1 else "concerns ") + ", ".join(map(str, others))
        _row(grid, "Also open", _safe(listed))
    _row(grid, "Protocol", _safe(d["protocol"] + (f" (route {d['route']})" if d.get("route")
                                                    else "")))  # fmt: skip
    _row(grid, "Category", _safe(category))
    _row(grid, "Raised by", _safe(f"{d['raised_by']} ({d['role']}) on {d['opened_on']}"))
    if d.get("owner"):
        _row(grid, "Owner", _safe(d["owner"] + (f" ({d['team']})" if d.get("team") else "")))
    _row(grid, "Summary", _safe(d["summary"], one_line=False))
    _row(grid, "Impact on child", _safe(d["impact"] or "-", one_line=False))
    _row(grid, "Recommended", _safe(d["recommended"] or "-", one_line=False))
    _row(
        grid,
        "Stage",
        _safe(
            f"{d['stage']} - {d['stage_title']}, since {d['stage_started_on']}, "
            f"deadline {d['deadline'] or 'none'}"
            + (" (an aim, not a limit)" if d.get("deadline_kind") == "aim" else "")
        ),
    )
    if d["status"] == "open":
        _row(grid, "Addressed to", _safe(names_words(d.get("addressed_to") or [])))
    if d.get("next_step"):
        step = d["next_step"]
        _row(grid, "Next step", _safe(f"{step['title']}, due {step['due']} (record it with "
                                        f"`drp done {d['id']} {step['slug']}`)"))  # fmt: skip
    following = next_line(d)
    if following is not None:
        _row(grid, "What comes next", _safe(following.removeprefix("Next: ")))
    formal_words = FORMAL_RESULT_WORDS.get(d["formal_result"] or "", d["formal_result"])
    formal = (
        f"started {d['formal_started_on']}, deadline {d['formal_deadline']} ({formal_words})"
        + (" - IRO Handbook guidance" if d.get("formal_deadline_kind") == "guidance" else "")
        if d["formal_deadline"]
        else "not started"
        if d["formal_started_on"] is None
        else "no overall limit"
    )
    _row(grid, "Formal process", _safe(formal))
    protocol = _protocol_of(d)
    route = protocol.route_or_none(d.get("route")) if protocol is not None else None
    if route is not None and route.guidance and protocol is not None and protocol.routes:
        _row(grid, "Route guidance", _safe(f"{route.guidance} ({route.citation})",
                                             one_line=False))  # fmt: skip
    cafcass = "not referred"
    if d["referred_to_cafcass_on"]:
        cafcass = f"referred {d['referred_to_cafcass_on']}"
        officer = f" ({d['senior_officer']})" if d.get("senior_officer") else ""
        if d["senior_officer_notified_on"]:
            cafcass += f"; senior officer{officer} notified {d['senior_officer_notified_on']}"
        elif officer:
            cafcass += f"; senior officer{officer} named, date of notification NOT RECORDED"
        elif protocol is None or protocol.referral.notify_before:
            # only where the source asks for a notification before referring (000 §1.2
            # para 4, 003): knowsley and west-sussex ask none (issue 28 finding 13)
            cafcass += "; senior officer NOT RECORDED AS NOTIFIED"
    _row(grid, "CAFCASS", _safe(cafcass))
    wishes = {"sought": "sought", "not-sought": "not sought (reason recorded)"}.get(
        d["child_wishes"] or "", "NOT RECORDED"
    )
    told = {"told": "told", "not-told": "not told (reason recorded)"}.get(
        d["child_told_outcome"] or "",
        "NOT RECORDED" if d["status"] == "resolved" else "-",
    )
    _row(grid, "Child's voice", _safe(f"wishes: {wishes}; told the outcome: {told}"))
    if d["status"] != "open":
        outcome = f"{d['status']} on {d['closed_on']}: {d['outcome']}"
        _row(grid, "Outcome", _safe(outcome, one_line=False))
    out.grid(grid)

    protocol_now = _protocol_of(d)
    rows, styles = [], []
    for v in d["stages"]:
        title = v["stage"]
        if protocol_now is not None and protocol_now.has_stage(v["stage"]):
            title = protocol_now.stage_for(v["stage"], d.get("route")).title
        bypass = f" (bypassed {', '.join(v['bypassed'])})" if v["bypassed"] else ""
        left = "-"
        if v["left_on"]:
            left = f"{v['left_on']} ({LEFT_BY_WORDS.get(v['left_by'], v['left_by'])})"
        rows.append([visible(c, one_line=True) for c in (
            title + bypass, v["entered_on"],
            (v["deadline"] or "-") + (" (set by the IRO)" if v["due_set_by_iro"] else ""),
            v["first_response_on"] or "-", left,
            stage_result(v["result"], v["working_days_late"] or 0))])  # fmt: skip
        styles.append("red" if v["result"] in ("missed", "overdue") else None)
    fit_table(["Stage", "Entered", "Deadline", "First response", "Left", "Result"], rows,
              free={"Stage", "Result"}, title="Stages", styles=styles, heading=1,
              page=out)  # fmt: skip
    _show_inside_stages(d, out)
    _show_documents(d, out)

    for c in d.get("corrections", []):
        out.text([visible(f"Correction {c['seq']} ({c['on']}, {c['by']}): {c['kind']} "
                          f"{c['what']}: {c['reason']}")])  # fmt: skip
    rows = [[visible(c, one_line=n != 5) for n, c in enumerate((
        str(e["seq"]), e["on"],
        event_words(e["kind"], e["details"]) + (" (RETRACTED)" if e.get("retracted") else ""),
        e["stage"], e["by"], event_text(e)))] for e in d["events"]]  # fmt: skip
    fit_table(["#", "Date", "Event", "Stage", "By", "Details"], rows,
              free={"Event", "By", "Details"}, title="Events", heading=2, page=out)  # fmt: skip


def _row(grid: list[tuple[str, str]], label: str, value: str) -> None:
    """A row of the page's grid: its label, and its value already made safe."""
    grid.append((label, value))


def _safe(value: Any, *, one_line: bool = True) -> str:
    """Stored text as a page shows it: unsafe characters visible (:func:`visible`)."""
    return visible(str(value), one_line=one_line)


def _theme_words(category: str, issue: str | None) -> str:
    """A concern's theme and issue by their titles ("Care plan: plan not implemented"), or
    their slugs where the themes no longer have them."""
    from drp_cli.core.errors import InvalidInput
    from drp_cli.domain.protocols import themes

    try:
        theme = themes().theme(category)
    except InvalidInput:
        return category + (f" / {issue}" if issue else "")
    words = theme.title
    if issue:
        text = next((i.text for i in theme.issues if i.slug == issue), issue)
        words += f": {text}"
    return words


def _protocol_of(d: dict[str, Any]) -> Any:
    """The concern's protocol, or None if it is no longer installed."""
    from drp_cli.domain.protocols import registry

    return registry().protocols.get(d["protocol"])


def _show_inside_stages(d: dict[str, Any], out: RichPage | PlainPage) -> None:
    """Steps of the current stage, recording duties, meetings and notices: in words, each
    outstanding one with the command that records it."""
    from drp_cli.domain.wording import STEP_STATE_WORDS

    if d.get("steps"):
        rows, styles = [], []
        for st in d["steps"]:
            due = (st["due"] or "-") + (" (aim)" if st["kind"] == "aim" else "")
            state = STEP_STATE_WORDS.get(st["state"], st["state"])
            title = st["title"] + (" (meeting)" if st["meeting"] else "")
            if st["done_on"] is None:  # the command that records it
                title += f" (drp done {d['id']} {st['slug']})"
            rows.append([visible(c, one_line=True) for c in (
                title, st["who"], due, st["done_on"] or "-", state)])  # fmt: skip
            styles.append("red" if st["state"] == "overdue" else None)
        fit_table(["Step", "Who", "Due", "Done", "State"], rows, free={"Step", "Who"},
                  title="Steps at this stage", styles=styles, page=out)  # fmt: skip
    if d.get("duties"):
        rows = []
        for du in d["duties"]:
            done = du["done_on"] or ("if it applies" if du["conditional"] else "OUTSTANDING")
            duty = du["text"]
            if du["done_on"] is None:  # the command that records it
                duty += f" (drp done {d['id']} {du['slug']}" + (
                    f" --stage {du['stage']})" if du["stage"] != d["stage"] else ")"
                )
            rows.append([visible(c, one_line=True)
                         for c in (du["stage"], duty, du["who"], done)])  # fmt: skip
        fit_table(["Stage", "Duty", "By", "Done"], rows, free={"Stage", "Duty", "By"},
                  title="Recording duties", page=out)  # fmt: skip
    for m in d.get("meetings", []):
        out.text([visible(f"Meeting {m['on']} ({m['stage']}): " + "; ".join(m["attendees"]),
                          one_line=True)])  # fmt: skip
    for item, reason in d.get("not_applicable", {}).items():
        out.text([visible(f"Bundle item {item}: not applicable: {reason}", one_line=True)])
    for note in d.get("notices", []):
        out.text([visible(f"Note: {note}.", one_line=True)], style="yellow")


def documents_data(t: Tracker, concern_id: int) -> dict[str, Any]:
    """What the concern's documents draw on, for ``show``: its actions and the child's
    people, wishes, needs (``items``) and documents (``attachments``), each with
    ``from_concern`` where it was recorded on the child's other concern."""
    from drp_cli.services import attachments, details

    return {
        "items": [i.to_dict() for i in details.items(t, concern_id)],
        "attachments": [a.to_dict() for a in attachments.attachments(t, concern_id)],
    }


def _show_documents(d: dict[str, Any], out: RichPage | PlainPage) -> None:
    """The actions, and the child's people, wishes, needs and documents."""
    rows = []
    for i in d.get("items", []):
        what = i.get("text") or i.get("name") or ""
        if i.get("role") or i.get("relationship"):
            what += f" ({i.get('role') or i.get('relationship')})"
        rows.append((i["kind"], i["n"], what, i["added_on"], i["from_concern"]))
    for a in d.get("attachments", []):
        rows.append((f"attached {a['kind']}", a["n"], a["filename"], a["added_on"],
                     a["from_concern"]))  # fmt: skip
    if not rows:
        return
    out.documents(
        "For the documents (people, wishes, needs and files are the child's)",
        ["Kind", "N", "What", "Added", "Recorded on"],
        [[visible(str(v), one_line=True) for v in (kind, n, what, added,
          "this concern" if source is None else f"concern {source}")]
         for kind, n, what, added, source in rows],
    )  # fmt: skip


#: An item list's columns never folded (the others are free text, folded to fit): the
#: number, the kind, and the dates.
ITEM_KEPT = {"N", "Kind", "Dated", "Due", "Obtained on", "Added"}
#: Left out, in this order, where an item list does not fit a terminal.
ITEM_DROP = ("Sha256", "From", "Contact", "Organisation")


def items_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A concern's items (``drp attachments``, ``drp person list``, ...) as a table that
    fits the terminal (:func:`fit_table`): the number, a date and a kind are never cut; the
    file's SHA-256 is the first left out (``--json`` has it). ``columns`` are the items'
    fields after the number; "Added" (when and by whom) follows, and "From" where an item was
    recorded on the child's other concern."""
    shared = any(r.get("from_concern") is not None for r in rows)
    headers = ["N", *[c.replace("_", " ").capitalize() for c in columns], "Added"]
    headers += ["From"] if shared else []
    cells = []
    for r in rows:
        source = r.get("from_concern")
        row = [str(r["n"]), *[visible(str(r.get(c) or "-"), one_line=True) for c in columns]]
        row.append(f"{r['added_on']} by {visible(r['added_by'], one_line=True)}")
        row += [f"concern {source}" if source is not None else "this concern"] if shared else []
        cells.append(row)
    fit_table(headers, cells, free=set(headers) - ITEM_KEPT, drop=ITEM_DROP, heading=2)


def event_text(e: dict[str, Any]) -> str:
    """An event's detail in words (:func:`drp_cli.domain.wording.event_detail`)."""
    from drp_cli.domain.wording import event_detail

    return event_detail(e)


#: The longest summary a table shows (JSON has the whole of it).
SHORT_SUMMARY = 40


def short(text: str, limit: int = SHORT_SUMMARY) -> str:
    """``text`` on one line (runs of white space as one space), at most ``limit``
    characters: cut at the end of a word with "…" when longer (inside a word only when its
    first word alone is longer)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]  # and room for the "…"
    if line[limit - 1] != " " and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def names(values: list[str] | tuple[str, ...] | None) -> str:
    """A list of names in one cell."""
    return "; ".join(values) if values else "-"


LIST_HEADERS = ["ID", "Child", "Protocol", "Stage", "Status", "Deadline", "Formal", "Flags",
                "Addressed to", "Owner", "Summary"]  # fmt: skip


#: The list's columns of free text, folded to fit a terminal (the others never are).
LIST_FREE_TEXT = {"Addressed to", "Owner", "Summary"}
#: The list's columns left out, in this order, where the whole table does not fit a
#: terminal; where it still does not, one block per concern (:func:`fit_table`).
LIST_DROP = ("Summary", "Owner", "Addressed to", "Protocol")


def concern_table(rows: list[dict[str, Any]], *, plain: bool = False) -> None:
    """The concerns (their JSON shapes, :func:`concern_data`) as a table: :func:`listed_table`
    of the values it shows."""
    from drp_cli.services.listing import Shown

    listed_table(
        [
            (d["id"], d["child"], Shown(
                d["protocol"], d["stage"], d["status"], d["deadline"], d["formal_deadline"],
                d["working_days_overdue"] if d["overdue"] else 0, bool(d.get("past_aim")),
                bool(d.get("past_guidance")), d["referred_to_cafcass_on"], tuple(d["missing"]),
                d.get("addressed_to"),
            ), d.get("owner"), d.get("summary") or "")
            for d in rows
        ],
        plain=plain,
    )  # fmt: skip


def listed_table(rows: list[TableRow], *, plain: bool = False) -> None:
    """The concerns as a table: Rich on a terminal; ``plain`` (cron mail, a pipe, a file)
    or above :data:`PLAIN_ABOVE` rows, aligned text, nothing wrapped or cut."""
    plain = plain or len(rows) > PLAIN_ABOVE
    if plain:
        if rows:
            _plain_list(rows)
    else:
        cells_of: list[list[str]] = []
        styles: list[str | None] = []
        for r in rows:
            shared = r[2]
            cells = [str(r[0]), r[1], *_shared_cells(shared, plain=False), r[3] or "-",
                     short(r[4]) or "-"]  # fmt: skip
            cells_of.append([visible(c, one_line=True) for c in cells])
            styles.append("bold red" if shared.overdue_by else None)
        fit_table(LIST_HEADERS, cells_of, free=LIST_FREE_TEXT, styles=styles, drop=LIST_DROP,
                  heading=2)  # fmt: skip
    say(
        f"{len(rows)} concern{'s' if len(rows) != 1 else ''}. "
        "Flags: wishes? = child's wishes not recorded; told? = child not recorded as told the "
        "outcome."
        if rows
        else "No concerns match."
    )


def _shared_cells(s: Shown, *, plain: bool) -> list[str]:
    """The cells of a row of the list that concerns share: protocol, stage, status,
    deadlines, flags and addressees. A pipe keeps the short flags scripts read; a terminal
    says them in words."""
    from drp_cli.domain.judgement import NOT_TOLD, WISHES_NOT_RECORDED

    flags = []
    if s.overdue_by:
        if plain:
            flags.append(f"OVERDUE {s.overdue_by}wd")
        else:
            from drp_cli.domain.wording import days

            flags.append(f"OVERDUE {days(s.overdue_by)}")
    if s.past_aim:
        flags.append("past-aim" if plain else "past its aim")
    if s.past_guidance:
        flags.append("past-guidance" if plain else "past the guidance")
    if s.referred_to_cafcass_on:
        flags.append("CAFCASS")
    if WISHES_NOT_RECORDED in s.missing:
        flags.append("wishes?")
    if NOT_TOLD in s.missing:
        flags.append("told?")
    return [s.protocol, s.stage, s.status, s.deadline or "-", s.formal_deadline or "-",
            " ".join(flags), names(s.addressed_to)]  # fmt: skip


def _plain_list(rows: list[TableRow]) -> None:
    """:func:`plain_table` of the list's rows, made in one pass: what concerns share (seven
    of the eleven columns) laid out once for each distinct set of it. Where any cell holds a
    character :func:`visible` would escape, :func:`plain_table` itself lays them out."""
    import sys
    from itertools import chain

    shared: dict[int, list[str]] = {}  # by the Shown's id: the rows hold every one
    for r in rows:
        if id(r[2]) not in shared:
            shared[id(r[2])] = _shared_cells(r[2], plain=True)
    own = [(str(r[0]), r[1], r[3] or "-", short(r[4]) or "-") for r in rows]
    if not textsafe.is_one_line(" ".join(chain(chain.from_iterable(own),
                                               chain.from_iterable(shared.values())))):  # fmt: skip
        plain_table(LIST_HEADERS, [[o[0], o[1], *shared[id(r[2])], o[2], o[3]]
                                   for o, r in zip(own, rows, strict=True)])  # fmt: skip
        return
    mine = list(zip(*own, strict=True))
    widths = [max(len(LIST_HEADERS[n]), *map(len, column)) for n, column in
              zip((0, 1, 9, 10), mine, strict=True)]  # fmt: skip
    between = [max(len(LIST_HEADERS[n]), *(len(c[n - 2]) for c in shared.values()))
               for n in range(2, 9)]  # fmt: skip
    w_id, w_child, w_owner, w_summary = widths
    every = [w_id, w_child, *between, w_owner, w_summary]
    segment = {key: "  ".join(map(str.ljust, cells, between)) for key, cells in shared.items()}
    lines = ["  ".join(map(str.ljust, LIST_HEADERS, every)).rstrip(),
             "  ".join("-" * w for w in every)]  # fmt: skip
    lines += [
        "  ".join((o[0].ljust(w_id), o[1].ljust(w_child), segment[id(r[2])], o[2].ljust(w_owner),
                   o[3])).rstrip()
        for o, r in zip(own, rows, strict=True)
    ]  # fmt: skip
    sys.stdout.write("\n".join(lines) + "\n")
