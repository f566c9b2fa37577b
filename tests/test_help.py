"""Help for people: every command's help ends with examples that are checked against the
code, lists of commands show whole summaries (wrapped, never cut), and `drp version`.

The examples are docs checked against code: each one is parsed as the shell would (shlex)
and by the command it invokes, so an option renamed or removed, an argument added or a
command moved fails here, naming the command whose help is wrong.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.core import TyperGroup

from drp_cli.cli import app as drp_app
from drp_cli.cli.app import DrpCommand, HelpGroup, examples, summary
from drp_cli.cli.commands import COMMANDS

HEADINGS = ("Example:", "Examples:")


def walk() -> Iterator[tuple[Any, typer.Context]]:
    """Every registered command (the root, each group and each leaf) with its context, as
    `drp --help` and the shell reach them: whatever commands exist when the test runs."""
    root = typer.main.get_command(drp_app)
    todo: list[tuple[Any, typer.Context]] = [(root, typer.Context(root, info_name="drp"))]
    while todo:
        command, ctx = todo.pop(0)
        yield command, ctx
        if isinstance(command, TyperGroup):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                todo.append((sub, typer.Context(sub, info_name=name, parent=ctx)))


def example_section(help_text: str) -> list[str] | None:
    """The lines of the help's last section when it is "Example:" or "Examples:" (flush
    left, as "Options:" is), without the heading; None when there is none."""
    lines = help_text.rstrip("\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line in HEADINGS]
    if not starts:
        return None
    body = lines[starts[-1] + 1 :]
    assert body and all(line.startswith("  ") for line in body), help_text
    return [line[2:] for line in body]


def invocations(section: list[str]) -> list[str]:
    """The command lines of an example section: comments left out, lines continued with
    a backslash joined."""
    found: list[str] = []
    pending = ""
    for line in section:
        if not pending and line.startswith("#"):
            continue
        pending += line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip() + " "
        else:
            found.append(pending)
            pending = ""
    assert not pending, f"an example ends with a backslash: {section}"
    return found


def parse(words: list[str]) -> str:
    """Parse a drp command line as drp would, without running it, and return the path of
    the command it invokes (click's usage errors are raised)."""
    assert words and words[0] == "drp", f"does not start with drp: {words}"
    command: Any = typer.main.get_command(drp_app)
    ctx: Any = None
    path, rest = ["drp"], words[1:]
    while isinstance(command, TyperGroup):
        probe = typer.Context(command, info_name=path[-1], parent=ctx)
        _opts, args, _order = command.make_parser(probe).parse_args(args=list(rest))
        if not args:
            break  # the group itself, with its own options
        sub = command.get_command(probe, args[0])
        assert sub is not None, f"{' '.join(path)} has no command {args[0]!r}"
        own = rest[: len(rest) - len(args) + 1]  # the group's options and the command's name
        ctx = command.make_context(path[-1], own, parent=ctx)  # checks the group's options
        command, rest = sub, args[1:]
        path.append(args[0])
    command.make_context(path[-1], rest, parent=ctx)  # checks everything else
    return " ".join(path)


@pytest.fixture
def plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Free text is taken as given: ``@FILE`` and ``-`` in an example read nothing."""
    from drp_cli.cli import textarg

    monkeypatch.setattr(textarg, "resolve", lambda value, option, meta=None: value)


def test_every_command_is_drps_own_kind():
    """Commands made with `command_group()` list whole summaries and show their examples
    as the help's last section."""
    for command, ctx in walk():
        kind = HelpGroup if isinstance(command, TyperGroup) else DrpCommand
        assert isinstance(command, kind), (
            f"`{ctx.command_path}` is a {type(command).__name__}: make its Typer app with "
            "drp_cli.cli.app.command_group(...)"
        )


def test_every_command_has_examples_that_parse_as_that_command(plain_text):
    seen = 0
    for command, ctx in walk():
        path = ctx.command_path
        section = example_section(command.get_help(ctx))
        assert section is not None, (
            f"`{path} --help` has no examples: give its command() (or command_group() / "
            f"add_typer) epilog=examples(...), from drp_cli.cli.app"
        )
        found = invocations(section)
        assert found, f"`{path} --help`: its examples are all comments"
        for line in found:
            words = shlex.split(line, comments=True)
            assert words and words[0] == "drp", f"`{path} --help`: {line!r} does not start with drp"
            try:
                invoked = parse(words)
            except typer.TyperException as exc:  # click's usage errors
                pytest.fail(f"`{path} --help`: the example {line!r} does not parse: {exc}")
            if isinstance(command, TyperGroup):  # the group itself or one of its commands
                assert f"{invoked} ".startswith(f"{path} "), (path, line)
            else:
                assert invoked == path, f"`{path} --help`: the example {line!r} runs {invoked}"
            seen += 1
    assert seen > len(COMMANDS)


def test_examples_fit_80_columns():
    for command, ctx in walk():
        section = example_section(command.get_help(ctx)) or []
        for line in section:
            assert len("  " + line) <= 78, f"`{ctx.command_path} --help`: {line!r} is too long"


def test_an_example_is_shown_as_typed(drp):
    r = drp("open", "--help")
    assert r.exit_code == 0
    assert r.stdout.endswith(
        "\n\nExamples:\n"
        "  drp open --protocol knowsley --child KN-2231 --category statutory \\\n"
        "      --issue no-social-worker \\\n"
        '      --summary "No social worker since the review on 20 February." \\\n'
        "      --on 2025-03-03\n"
        "  # at a later stage; the summary from a file, out of the shell's history\n"
        "  drp open --protocol west-sussex --child WS-0418 --category care-plan \\\n"
        "      --stage stage-2 \\\n"
        '      --reason "Immediate safety: the placement ends on Friday" \\\n'
        "      --summary @concern.txt\n"
    ), r.stdout
    r = drp("version", "--help")
    assert r.stdout.endswith("Options:\n  --help  Show this message and exit.\n\n"
                             "Example:\n  drp version\n")  # fmt: skip


def test_examples_are_wrapped_before_an_option():
    assert examples("drp note 4 --text x") == "\b\nExample:\n  drp note 4 --text x"
    long = 'drp due 4 2025-03-20 --reason "' + "x" * 60 + '" --on 2025-03-03 --json'
    assert examples("# why", long, "drp show 4").split("\n") == [
        "\b",
        "Examples:",
        "  # why",
        "  drp due 4 2025-03-20 \\",
        '      --reason "' + "x" * 60 + '" \\',
        "      --on 2025-03-03 --json",
        "  drp show 4",
    ]


# the lists of commands: whole summaries -------------------------------------------------


def rows(help_text: str, heading: str) -> dict[str, str]:
    """The commands listed under ``heading``, each with its summary (wrapped lines joined)."""
    found: dict[str, str] = {}
    name = None
    for line in help_text.split(f"\n{heading}\n", 1)[1].split("\n\n")[0].splitlines():
        if line[2] != " ":
            name, _, text = line[2:].partition(" ")
            found[name] = text.strip()
        else:
            assert name is not None
            found[name] += " " + line.strip()
    return found


def run_drp(*argv: str, columns: int) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "drp_cli", *argv], capture_output=True, text=True, check=True,
        env={**os.environ, "COLUMNS": str(columns)},
    )  # fmt: skip
    return out.stdout


@pytest.mark.parametrize("columns", [200, 100, 60])
def test_root_help_shows_whole_summaries_at_any_width(columns):
    text = run_drp("--help", columns=columns)
    listed: dict[str, str] = {}
    for section in dict.fromkeys(e.section for e in COMMANDS.values()):
        listed |= rows(text, f"{section}:")
    assert listed == {name: e.summary for name, e in COMMANDS.items()}
    assert not re.search(r"(\w\.\.\.|…)\n", text)  # nothing cut
    lines = text.splitlines()
    if columns == 200:  # wide enough: each command on one line
        assert sum(1 for line in lines if line.startswith("   ")) < 10  # the options' only
    assert max(map(len, lines)) <= max(columns - 2, 78)


@pytest.mark.parametrize("columns", [200, 60])
def test_group_help_shows_whole_summaries(columns):
    for command, ctx in walk():
        if not isinstance(command, TyperGroup) or ctx.parent is None:
            continue
        text = run_drp(*ctx.command_path.split()[1:], "--help", columns=columns)
        subs = {name: command.get_command(ctx, name) for name in command.list_commands(ctx)}
        expected = {name: summary(sub.help if sub else "") for name, sub in subs.items()}
        assert rows(text, "Commands:") == expected, ctx.command_path


# drp version ---------------------------------------------------------------------------


def test_version_is_the_same_as_dash_dash_version(drp):
    from drp_cli import __version__

    r = drp("version")
    assert (r.exit_code, r.stdout, r.stderr) == (0, f"drp {__version__}\n", "")
    assert drp("--version").stdout == r.stdout
    installed = subprocess.run([sys.executable, "-m", "drp_cli", "version"], capture_output=True,
                               text=True, check=True)  # fmt: skip
    assert installed.stdout == f"drp {__version__}\n"
