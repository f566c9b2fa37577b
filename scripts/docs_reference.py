"""Write the command reference (docs/reference/*.md) from drp's commands themselves.

It walks drp's Typer/Click command tree, as ``drp --help`` and the shell reach it, and
writes one page per top-level command (its groups' commands as sections of that page) and
an index by the sections of ``drp --help``: each command's help, usage, arguments, options
(with their defaults and environment variables) and the examples that end its ``--help``.
Nothing is typed by hand, so the reference says what the commands say.

    .venv/bin/python scripts/docs_reference.py          # (re)write docs/reference/
    .venv/bin/python scripts/docs_reference.py --check  # exit 1 if a page differs

It also writes each command's ``--help`` into drp_cli/cli/helptext/, which ``drp COMMAND
--help`` prints without loading Typer (:func:`help_files`).

``tests/test_docs_reference.py`` fails when a committed page differs from what this writes
(run it again after changing a command's help, options or examples).
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"
HELP_TEXT = ROOT / "drp_cli" / "cli" / "helptext"
CONFIG = ROOT / "mkdocs.yml"
NAV_BEGIN = "      # BEGIN the commands' pages: written by scripts/docs_reference.py\n"
NAV_END = "      # END the commands' pages\n"
sys.path.insert(0, str(ROOT))  # this checkout's drp, whatever else is installed
HEADER = (
    "<!-- Written by scripts/docs_reference.py from drp's commands: do not edit by hand "
    "(run `make docs-reference`). -->\n"
)


def _root() -> Any:
    from drp_cli.cli import app

    return typer.main.get_command(app)


def _escape(text: str) -> str:
    """Text for a Markdown table cell or paragraph: no pipe, no raw HTML, no stray markup."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("*", "\\*")
        .replace("_", "\\_")
    )


def _paragraphs(help_text: str | None) -> list[str]:
    """A command's help as paragraphs (click's ``\\b`` no-rewrap markers removed)."""
    text = inspect.cleandoc(help_text or "")
    out = []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line.strip() != "\b"]
        if lines:
            out.append(" ".join(line.strip() for line in lines))
    return out


def _examples(epilog: str | None) -> list[str]:
    """The lines of a command's examples (its epilog), without the heading."""
    lines = inspect.cleandoc(epilog or "").split("\n")
    lines = [line for line in lines if line.strip() != "\b"]
    if lines and lines[0] in ("Example:", "Examples:"):
        lines = lines[1:]
    return [line[2:] if line.startswith("  ") else line for line in lines]


def _is_argument(param: Any) -> bool:
    return bool(param.param_type_name == "argument")


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")


def _param_row(ctx: Any, param: Any) -> tuple[str, str] | None:
    """(how it is typed, what it is) for one argument or option, as ``--help`` says them
    (its default, environment variable and whether it is required included)."""
    record = param.get_help_record(ctx)
    if record is None:
        if not _is_argument(param):
            return None
        record = (param.human_readable_name, "[required]" if param.required else "")
    typed, what = record
    return f"`{typed}`", _escape(" ".join(what.split()))


def _usage(command: Any, ctx: Any) -> str:
    return " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])


def _slug(heading: str) -> str:
    """The id MkDocs gives a heading (its toc extension's default): lower case, words
    joined by hyphens."""
    return "-".join(re.sub(r"[^\w\s-]", "", heading).strip().lower().split())


def _section(command: Any, ctx: Any, level: int) -> list[str]:
    """The Markdown for one command (and, for a group, each of its commands)."""
    out: list[str] = []
    title = ctx.command_path
    out.append(f"{'#' * level} `{title}`")
    out.append("")
    for para in _paragraphs(command.help):
        out.append(_escape(para))
        out.append("")
    out.append("```text")
    out.append(f"Usage: {_usage(command, ctx)}")
    out.append("```")
    out.append("")
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if _is_argument(p)]
    options = [p for p in params if not _is_argument(p)]
    if arguments:
        out.append("**Arguments**")
        out.append("")
        out.append("| argument | what it is |")
        out.append("| --- | --- |")
        for p in arguments:
            row = _param_row(ctx, p)
            if row is not None:
                out.append(f"| {row[0]} | {row[1]} |")
        out.append("")
    if options:
        out.append("**Options**")
        out.append("")
        out.append("| option | what it does |")
        out.append("| --- | --- |")
        for p in options:
            row = _param_row(ctx, p)
            if row is not None:
                out.append(f"| {row[0]} | {row[1]} |")
        out.append("")
    lines = _examples(command.epilog)
    if lines and any(line.strip() for line in lines):
        out.append("**Examples**")
        out.append("")
        out.append("```text")
        out.extend(lines)
        out.append("```")
        out.append("")
    if _is_group(command):
        subs = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            subs.append((name, sub))
        if subs:
            out.append("**Commands**")
            out.append("")
            out.append("| command | what it does |")
            out.append("| --- | --- |")
            for name, sub in subs:
                first = _paragraphs(sub.help)[:1]
                anchor = _slug(f"{ctx.command_path} {name}")
                out.append(f"| [`{name}`](#{anchor}) | {_escape(first[0]) if first else ''} |")
            out.append("")
            for name, sub in subs:
                sub_ctx = typer.Context(sub, info_name=name, parent=ctx)
                out.extend(_section(sub, sub_ctx, level + 1))
    return out


def pages() -> dict[str, str]:
    """Every page of the reference, by file name: index.md and one per command."""
    from drp_cli.cli.commands import COMMANDS

    root = _root()
    root_ctx = typer.Context(root, info_name="drp")
    result: dict[str, str] = {}
    # the index: drp's own options, then the commands by the sections of `drp --help`
    index = [HEADER, "# Command reference", ""]
    index.append(
        "Every page here is written from the commands themselves (their `--help`, options "
        "and examples) by `scripts/docs_reference.py`, and a test fails when a page and its "
        "command disagree. `drp COMMAND --help` prints the same in a terminal."
    )
    index.append("")
    index.extend(_section(root, root_ctx, 2)[2:])  # drp's own help, without a title
    # the root's list of commands is replaced by the sections below
    cut = next((i for i, line in enumerate(index) if line == "**Commands**"), len(index))
    index = index[:cut]
    for section in dict.fromkeys(e.section for e in COMMANDS.values()):
        index.append(f"## {section}")
        index.append("")
        index.append("| command | what it does |")
        index.append("| --- | --- |")
        for name, entry in COMMANDS.items():
            if entry.section == section:
                index.append(f"| [`drp {name}`]({name}.md) | {_escape(entry.summary)} |")
        index.append("")
    result["index.md"] = "\n".join(index).rstrip("\n") + "\n"
    for name in root.list_commands(root_ctx):
        command = root.get_command(root_ctx, name)
        if command is None or command.hidden:
            continue
        ctx = typer.Context(command, info_name=name, parent=root_ctx)
        body = _section(command, ctx, 1)
        page = [HEADER, *body, "See also: [all commands](index.md).", ""]
        result[f"{name}.md"] = "\n".join(page).rstrip("\n") + "\n"
    return result


def help_files() -> dict[str, str]:
    """Each command's ``--help`` as drp_cli/__main__.py prints it without loading Typer (see
    :func:`drp_cli.__main__.cached_help`), by file name: the text click writes at 80 columns
    (a pipe, or any wider terminal), after a first line naming the sources it comes from
    (:func:`help_sources`) and their CRC-32; ``drp --help``'s as ``_drp.txt``
    (:func:`_root_help_file`). A group of commands has no file: its help is built each
    time."""
    import contextlib
    import io
    import os

    from drp_cli import __version__
    from drp_cli.__main__ import ROOT_FILE, help_header
    from drp_cli.cli import app
    from drp_cli.cli.commands import COMMANDS

    root = _root()
    root_ctx = typer.Context(root, info_name="drp")
    result: dict[str, str] = {}
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # not click's CliRunner, which writes help 80 wide, not 78
    try:
        for name, entry in COMMANDS.items():
            command = root.get_command(root_ctx, name)
            if command is None or _is_group(command):
                continue
            shown = io.StringIO()
            with contextlib.redirect_stdout(shown), contextlib.suppress(SystemExit):
                app([name, "--help"], prog_name="drp")
            text = shown.getvalue()
            if not text.startswith("Usage: drp ") or not text.isascii():
                raise SystemExit(f"drp {name} --help: not a help text, or not ASCII")
            sources = help_sources(f"drp_cli.cli.{entry.module}")
            result[f"{name}.txt"] = help_header(__version__, sources) + text
        result[f"{ROOT_FILE}.txt"] = _root_help_file()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return result


def _root_help_file() -> str:
    """``drp --help`` as written at 80 columns, its lists of commands (the part wrapped to
    the terminal's width, :func:`drp_cli.cli.helplist.command_sections`) replaced by the line
    :data:`drp_cli.__main__.ROOT_LISTS`, after the first line naming its sources."""
    import contextlib
    import io

    from drp_cli import __version__
    from drp_cli.__main__ import ROOT_LISTS, help_header
    from drp_cli.cli import app
    from drp_cli.cli.helplist import command_sections

    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), contextlib.suppress(SystemExit):
        app(["--help"], prog_name="drp")
    text = shown.getvalue()
    lists = command_sections(78)
    if lists is None or text.count(lists) != 1 or ROOT_LISTS in text or not text.isascii():
        raise SystemExit("drp --help: its lists of commands are not where the file needs them")
    head, tail = text.split(lists)
    return help_header(__version__, help_sources("drp_cli.cli.app")) + head + ROOT_LISTS + tail


def _imported_at_load(path: Path, module: str) -> set[str]:
    """The drp_cli modules ``module`` (at ``path``) imports as it loads: its imports at the
    top level, in an ``if`` or ``try`` there too, but not ``if TYPE_CHECKING:`` nor those in
    a function (which run after the help is built)."""
    import ast

    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = node.module or ""
                if node.level:
                    name = ".".join([*base, *([node.module] if node.module else [])])
                found.add(name)
                found.update(f"{name}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    walk(node.body)
                walk(node.orelse)
            elif isinstance(node, ast.Try):
                walk(node.body)
                walk(node.orelse)
                walk(node.finalbody)
                for handler in node.handlers:
                    walk(handler.body)

    walk(ast.parse(path.read_text(encoding="utf-8")).body)
    return {name for name in found if name == "drp_cli" or name.startswith("drp_cli.")}


def help_sources(module: str) -> list[str]:
    """The sources (paths inside drp_cli) a command's help is built from: the modules loaded
    with its module, the app and the table of commands (each with its packages)."""
    package = ROOT / "drp_cli"
    seen: set[Path] = set()
    todo = [module, "drp_cli.cli.app", "drp_cli.cli.commands"]
    while todo:
        name = todo.pop()
        parts = name.split(".")[1:]
        path = package.joinpath(*parts, "__init__.py")
        if not path.exists():
            path = package.joinpath(*parts).with_suffix(".py") if parts else path
        if not path.exists() or path in seen:
            continue  # a name imported from a module, not a module
        seen.add(path)
        todo += [".".join(name.split(".")[:i]) for i in range(1, len(name.split(".")))]
        todo += _imported_at_load(path, name)
    return sorted(path.relative_to(package).as_posix() for path in seen)


def _compare(wanted: dict[str, str], out: Path, pattern: str) -> list[str]:
    """The names of the files in ``out`` that differ from ``wanted`` (or are missing, or
    are not wanted)."""
    existing = {p.name for p in out.glob(pattern)} if out.is_dir() else set()
    return sorted(
        name
        for name in wanted.keys() | existing
        if name not in wanted
        or name not in existing
        or (out / name).read_text(encoding="utf-8") != wanted[name]
    )


def _write(wanted: dict[str, str], out: Path, differ: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in differ:
        if name in wanted:
            (out / name).write_text(wanted[name], encoding="utf-8")
        else:
            (out / name).unlink()


def navigation(config: str, names: list[str]) -> str:
    """mkdocs.yml with the commands' pages, in the order of ``drp --help``, between its
    markers in the navigation (so a new command's page is never left out of the site)."""
    begin = config.index(NAV_BEGIN) + len(NAV_BEGIN)
    end = config.index(NAV_END, begin)
    listed = "".join(
        f"      - drp {name[:-3]}: reference/{name}\n" for name in names if name != "index.md"
    )
    return config[:begin] + listed + config[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a diff")
    parser.add_argument("--out", type=Path, default=REFERENCE, help="the folder to write")
    args = parser.parse_args(argv)
    import os

    # the same help whatever the terminal: click wraps nothing here, but a default read
    # from the environment would differ
    for name in ("COLUMNS", "DRP_DB", "DRP_USER", "DRP_CONFIG"):
        os.environ.pop(name, None)
    wanted = pages()
    out: Path = args.out
    differ = _compare(wanted, out, "*.md")
    helps = help_files()
    help_differ = _compare(helps, HELP_TEXT, "*.txt")
    config = CONFIG.read_text(encoding="utf-8")
    wanted_config = navigation(config, list(wanted))
    if args.check:
        for name in differ:
            print(f"docs/reference/{name} differs from the commands", file=sys.stderr)
        for name in help_differ:
            print(f"drp_cli/cli/helptext/{name} differs from the commands", file=sys.stderr)
        if config != wanted_config:
            print("mkdocs.yml does not list every command's page", file=sys.stderr)
        if differ or help_differ or config != wanted_config:
            print("run `make docs-reference` to write them again", file=sys.stderr)
            return 1
        return 0
    if config != wanted_config:
        CONFIG.write_text(wanted_config, encoding="utf-8")
    _write(wanted, out, differ)
    _write(helps, HELP_TEXT, help_differ)
    print(f"docs/reference: {len(wanted)} pages, {len(differ)} written or removed")
    print(f"drp_cli/cli/helptext: {len(helps)} help files, {len(help_differ)} written or removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
