"""Start-up: `drp --help`, `drp COMMAND --help` and shell completion load only typer.

The root group lists commands from the table in ``drp_cli/cli/commands.py`` and imports a
command's module only when that command is asked for; these tests keep the table true to
the modules, and check that the short cut around Typer's pydantic coercion changes no
result and no error message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import typer

from drp_cli.cli.app import load_module_commands
from drp_cli.cli.commands import COMMANDS

HEAVY = (
    "pydantic",
    "sqlalchemy",
    "sqlmodel",
    "rich",
    "holidays",
    "jinja2",
    "drp_cli.services.tracker",
)


def modules_loaded(*argv: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """Run drp in a fresh interpreter; its stdout and the heavy modules it imported."""
    script = (
        "import sys, json\n"
        f"sys.argv = ['drp', *{list(argv)!r}]\n"
        "from drp_cli.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stdout.flush()\n"
        "print('\\n@@' + json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True,
    )  # fmt: skip
    text, _, mods = out.stdout.rpartition("\n@@")
    heavy = sorted({m for m in json.loads(mods) if m.split(".")[0] in HEAVY or m in HEAVY})
    return text.strip(), heavy


def command_modules() -> dict[str, typer.Typer]:
    """Every module of drp_cli.cli that defines commands (a Typer app called ``commands``)."""
    import importlib
    import pkgutil

    import drp_cli.cli

    found = {}
    for info in pkgutil.iter_modules(drp_cli.cli.__path__):
        commands = getattr(importlib.import_module(f"drp_cli.cli.{info.name}"), "commands", None)
        if isinstance(commands, typer.Typer):
            found[info.name] = commands
    return found


def test_table_matches_the_commands_the_modules_define():
    modules = command_modules()
    assert set(modules) == {e.module for e in COMMANDS.values()}  # no module left out
    defined: dict[str, tuple[str, str | None, str | None]] = {}
    for module in modules:
        for name, command in load_module_commands(module).items():
            assert name not in defined, f"{name} is defined twice"
            first = (command.help or "").split("\n\n")[0]
            defined[name] = (module, " ".join(first.split()), command.short_help)
    # every defined command is in the table, with its module and the first paragraph of its
    # help (no short_help, which `drp --help` would not show), and nothing else is
    assert defined == {name: (e.module, e.summary, None) for name, e in COMMANDS.items()}
    assert all(e.section for e in COMMANDS.values())


def test_help_lists_every_command_by_section(drp):
    r = drp("--help")  # COLUMNS=200: each command on one line, its whole summary
    assert r.exit_code == 0
    headings = [line for line in r.stdout.splitlines() if line and not line.startswith(" ")]
    assert headings[-7:] == ["Record:", "Correct:", "Read:", "Documents:", "Reference:",
                             "Database:", "Examples:"]  # fmt: skip
    listing = r.stdout.split("Record:")[1].split("Examples:")[0]
    listed = [line.split()[0] for line in listing.splitlines() if line.startswith("  ")]
    assert listed == list(COMMANDS)
    width = max(map(len, COMMANDS))
    for name, entry in COMMANDS.items():
        assert f"\n  {name.ljust(width)}  {entry.summary}\n" in r.stdout, name
    assert re.search(
        r"\n  overdue +The daily check: what is overdue \(exit status 1 if a firm deadline is "
        r"passed\), what is past an aim or guidance, and what is due soon\.\n",
        r.stdout,
    )


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["overdue", "--help"], ["calendar", "close", "--help"], ["db", "--help"]],
)
def test_help_imports_nothing_heavy(argv):
    text, heavy = modules_loaded(*argv)
    assert text.startswith("Usage: drp")
    assert heavy == []


def test_completion_imports_nothing_heavy():
    bash = {"_DRP_COMPLETE": "complete_bash"}
    text, heavy = modules_loaded(env={**bash, "COMP_WORDS": "drp ov", "COMP_CWORD": "1"})
    assert (text, heavy) == ("overdue", [])
    text, heavy = modules_loaded(env={**bash, "COMP_WORDS": "drp overdue --w", "COMP_CWORD": "2"})
    assert (text, heavy) == ("--within", [])


def test_completing_a_value_imports_only_what_it_reads(tmp_path):
    bash = {"_DRP_COMPLETE": "complete_bash", "DRP_DB": str(tmp_path / "none.sqlite3")}
    words = {"COMP_WORDS": "drp open --protocol kn", "COMP_CWORD": "3"}
    assert modules_loaded(env={**bash, **words}) == ("knowsley", [])  # msgspec: not heavy
    # a concern's id: the library's reading side, no pydantic for the missing id
    words = {"COMP_WORDS": "drp escalate ", "COMP_CWORD": "2"}
    assert modules_loaded(env={**bash, **words}) == ("", ["drp_cli.services.tracker"])
    assert not (tmp_path / "none.sqlite3").exists()


def test_values_still_coerced_and_checked_by_typer(drp):
    r = drp("overdue", "--within", "abc")
    assert r.exit_code == 2
    assert r.stderr.endswith("Error: --within is a whole number, such as 12.\n")
    r = drp("escalate", "x1")  # `show` takes a reference as well as an id
    assert r.exit_code == 2
    assert "Error: The concern's id is a whole number, such as 12." in r.stderr
    assert drp("init").exit_code == 0
    r = drp("overdue", "--within", "3", "--on", "2025-03-03", "--json")
    # the values taken; the empty record refused (issue 29): no all-clear from no concern
    assert (r.exit_code, r.stdout) == (4, "")
    assert r.stderr.startswith("Error: no concerns are recorded in ")
    r = drp("no-such-command")
    assert r.exit_code == 2 and "No such command 'no-such-command'." in r.stderr
    r = drp("overdu")
    assert "Did you mean 'overdue'?" in r.stderr


def test_unknown_command_is_not_imported():
    group = typer.main.get_command(__import__("drp_cli.cli", fromlist=["app"]).app)
    assert group.get_command(typer.Context(group), "nope") is None  # type: ignore[attr-defined]


def test_each_command_built_alone_is_the_same_command(monkeypatch):
    import importlib

    app_module = importlib.import_module("drp_cli.cli.app")

    for name, entry in COMMANDS.items():
        monkeypatch.setattr(app_module, "_loaded", {})
        alone = app_module.load_command(name)
        whole = load_module_commands(entry.module)[name]
        assert type(alone) is type(whole), name
        assert alone.get_help(typer.Context(alone, info_name=name)) == whole.get_help(
            typer.Context(whole, info_name=name)
        ), name
