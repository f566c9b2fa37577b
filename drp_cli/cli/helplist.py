"""The lists of commands in ``drp --help``, written as click writes them, without click.

Click's ``HelpFormatter.write_dl`` wraps each summary with a ``TextWrapper`` (regular
expressions over every word) and ``import typer`` is most of what ``drp --help`` costs, so
the root help is printed from its file (``drp_cli/cli/helptext/_drp.txt``, the text before
and after the lists, see :func:`drp_cli.__main__.cached_help`) with the lists written here,
for the terminal's width. The Typer app writes its lists with the same function
(:func:`drp_cli.cli.app.write_dl`), so the two are one rule; ``tests/test_o32_help_wrap.py``
holds it to click's ``write_dl`` for any rows, widths and indents, and
``tests/test_lead8_root_help.py`` holds ``drp --help`` to the Typer app's at every width.

This module imports neither typer nor click (``tests/test_command_weight.py``).
"""

from __future__ import annotations

COL_MAX, COL_SPACING = 30, 2  # click's write_dl defaults


def _plain(text: str) -> bool:
    """Whether click's ``wrap_text`` treats ``text`` as plain words: one line of printable
    ASCII (no tab, newline or backspace, which it treats specially), no space at either end
    and no two together."""
    return (
        text != ""
        and text.isascii()
        and text.isprintable()
        and text[0] != " "
        and text[-1] != " "
        and "  " not in text
    )


def dl_text(rows: list[tuple[str, str]], width: int, indent: int) -> str | None:
    """What click's ``formatter.write_dl(rows)`` writes with the formatter ``width`` wide and
    indented by ``indent``, or None where click must write it: no rows, a first column that
    is not printable ASCII, a second that is not plain words (:func:`_plain`) or has a word
    too long for its column (click breaks those its own way)."""
    if not rows:
        return None
    first_col = min(max(len(first) for first, _ in rows), COL_MAX) + COL_SPACING
    text_width = max(width - first_col - 2, 10)
    margin = " " * (first_col + indent)
    lines = []
    for first, second in rows:
        if not (first.isascii() and first.isprintable() and _plain(second)):
            return None
        if len(first) <= first_col - COL_SPACING:
            gap = " " * (first_col - len(first))
        else:
            gap = "\n" + margin
        if len(second) > text_width:
            if any(len(word) > text_width for word in second.split(" ")):
                return None
            import textwrap  # only where a summary is wrapped: a narrow terminal

            wrapped = textwrap.TextWrapper(text_width, replace_whitespace=False).wrap(second)
            second = ("\n" + margin).join(wrapped)
        lines.append(f"{'':>{indent}}{first}{gap}{second}\n")
    return "".join(lines)


def command_sections(width: int) -> str | None:
    """The lists of ``drp --help``: each heading of the table of commands
    (:data:`drp_cli.cli.commands.COMMANDS`) and its commands with their summaries, written
    ``width`` wide (the terminal's, less click's margin of 2), as click writes a section
    after the options; or None where click must write a list (:func:`dl_text`)."""
    from drp_cli.cli.commands import COMMANDS

    name_width = max(len(name) for name in COMMANDS)
    parts = []
    for section in dict.fromkeys(entry.section for entry in COMMANDS.values()):
        rows = [
            (name.ljust(name_width), entry.summary)
            for name, entry in COMMANDS.items()
            if entry.section == section
        ]
        text = dl_text(rows, width, 2)
        if text is None:
            return None
        parts.append(f"\n{section}:\n{text}")
    return "".join(parts)
