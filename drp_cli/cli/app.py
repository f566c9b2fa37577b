"""The Typer app, the global options, the one error handler at the edge, and the table
of commands.

Commands are loaded lazily: ``drp --help`` lists them from :data:`COMMANDS` without
importing their modules, and ``drp COMMAND`` imports only the module that defines
COMMAND (``drp_cli/cli/<module>.py``, whose Typer app is called ``commands``). A test
checks that the table matches the commands the modules define.

Help for people: every list of commands shows each command's whole summary (wrapped to the
terminal, never cut), and every command's help ends with examples, given as
``epilog=examples(...)`` and checked against the commands by ``tests/test_help.py``. Shell
completion of values is in :mod:`drp_cli.cli.complete`.
"""

# No `from __future__ import annotations` here: Typer reads the root's options from the
# annotations, and strings would be compiled by eval() on every run (twice: for the
# signature and for the type hints), 8 M instructions of `drp overdue` and 20 M of its
# shell completion; evaluated at import, they come from the byte-compiled file.
# Names imported only for type checking are quoted.

import importlib
import inspect
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import CompletionItem, TyperCommand, TyperGroup

from drp_cli import __version__
from drp_cli.cli import complete
from drp_cli.cli.commands import COMMANDS
from drp_cli.cli.edge import State, ended, ready_streams
from drp_cli.cli.helplist import command_sections, dl_text
from drp_cli.core.encoding import not_utf8
from drp_cli.core.errors import EXIT_USAGE

if TYPE_CHECKING:
    from drp_cli.services.tracker import Tracker
    from drp_cli.store.connection import Store


class _Commands(typer.Typer):
    """A Typer app whose commands are :class:`DrpCommand` unless told otherwise."""

    def command(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("cls") is None:
            kwargs["cls"] = DrpCommand
        return super().command(*args, **kwargs)


def command_group(**attrs: Any) -> typer.Typer:
    """The Typer app a command module registers its commands on, or a group of commands
    (``command_group(help=..., epilog=examples(...))``, added with ``add_typer``): its
    ``--help`` lists each command's whole summary (see :class:`HelpGroup`), and each
    command's help ends with its examples (see :func:`examples`)."""
    return _Commands(cls=HelpGroup, rich_markup_mode=None, pretty_exceptions_enable=False,
                     add_completion=False, **attrs)  # fmt: skip


_loaded: dict[str, Any] = {}


def load_module_commands(module: str) -> Mapping[str, Any]:
    """Import ``drp_cli.cli.<module>`` and build every click command it defines."""
    if module not in _loaded:
        mod = importlib.import_module(f"drp_cli.cli.{module}")
        _loaded[module] = typer.main.get_group(mod.commands).commands
    return _loaded[module]


def load_command(name: str) -> Any:
    """Build the one click command ``name`` (a module can define several; building each
    costs Typer a signature walk)."""
    entry = COMMANDS[name]
    if entry.module in _loaded:
        return _loaded[entry.module][name]
    commands = importlib.import_module(f"drp_cli.cli.{entry.module}").commands
    try:
        for info in commands.registered_commands:
            if (info.name or typer.main.get_command_name(info.callback.__name__)) == name:
                return typer.main.get_command_from_info(
                    info, pretty_exceptions_short=True, rich_markup_mode=None
                )
        for group in commands.registered_groups:
            if group.name == name:
                return typer.main.get_group_from_info(
                    group, pretty_exceptions_short=True, rich_markup_mode=None,
                    suggest_commands=True,
                )  # fmt: skip
    except (AttributeError, TypeError):  # pragma: no cover - a Typer whose internals moved
        pass
    return load_module_commands(entry.module)[name]


class _LazyCommands(Mapping[str, Any]):
    """The group's ``commands``: names from :data:`COMMANDS`, each command built on first use."""

    def __getitem__(self, name: str) -> Any:
        return load_command(name)

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


# Typer 0.29 coerces every parameter value through a pydantic TypeAdapter built on first
# use, and building one imports pydantic (~0.1 s): even for a value that is absent, or a
# string that is already a string, and even for `drp overdue --help` (the root's --db and
# every --help flag). This hands such values on unchanged, which is what the adapter does
# with them, turns a plain whole number into the int a concern id is (as the adapter does),
# and leaves every other value to Typer. Measured (median of 15 runs):
# `drp overdue --help` and `drp overdue` on an empty database take ~80 ms with it and
# ~160 ms without; commands that read concerns import pydantic anyway and gain nothing.
#
# It replaces `process_value` (click's documented per-parameter hook) on Typer's two public
# parameter classes, TyperOption and TyperArgument, and reads their `type_descriptor`, which
# Typer does not document: pyproject.toml pins the Typer versions this was tested with, and
# tests/test_typer_contract.py fails if the hook or those attributes move or change shape,
# or if the short cut gives any value or error Typer's own would not. If a Typer outside the
# pin has no such hook, nothing is patched and drp is only slower.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,30}")


def _as_given(param: Any, value: Any) -> Any:
    """``value`` as Typer's coercion would give it, where that needs no pydantic: a value of
    the parameter's own type, absent, or a plain whole number for an ``int`` (an id)."""
    descriptor = param.type_descriptor
    if (
        type(value) is str
        and descriptor.annotation in (int, int | None)
        and _WHOLE_NUMBER.fullmatch(value)
    ):
        return int(value)
    return value


def _needs_no_coercion(param: Any, value: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or param.nargs != 1 or getattr(param, "multiple", False):
        return False  # a list, a tuple or a repeated option: Typer makes it a tuple
    info = descriptor.parameter_info
    if getattr(info, "min", None) is not None or getattr(info, "max", None) is not None:
        return False
    if value is None:
        return not param.required
    if type(value) is str and descriptor.annotation in (int, int | None):
        return _WHOLE_NUMBER.fullmatch(value) is not None
    return type(value) in (str, int, bool) and descriptor.annotation in (
        type(value),
        type(value) | None,
    )


def _plain(original: Any) -> Any:
    """Typer's ``process_value`` with the short cut in front."""

    def process_value(self: Any, ctx: Any, value: Any) -> Any:
        if value is None and self.required and ctx.resilient_parsing:
            # shell completion: Typer's coercion would raise "missing", which click turns
            # into None when parsing resiliently (completing `drp escalate <TAB>`)
            return None
        if _needs_no_coercion(self, value):
            value = _as_given(self, value)
            return self.callback(ctx, self, value) if self.callback is not None else value
        return original(self, ctx, value)

    process_value.drp_plain = True  # type: ignore[attr-defined]
    process_value.drp_original = original  # type: ignore[attr-defined]
    return process_value


def _skip_needless_coercion() -> None:
    from typer.core import TyperArgument, TyperOption

    for cls in (TyperOption, TyperArgument):
        original = getattr(cls, "process_value", None)
        if original is not None and not getattr(original, "drp_plain", False):
            cls.process_value = _plain(original)  # type: ignore[method-assign]


_skip_needless_coercion()


#: The options that take a command's main text, in the order one is said to be missing.
TEXT_OPTIONS = ("text", "summary", "outcome", "note", "reason")


def extra_arguments_message(count: int, missing: str | None = None) -> str:
    """Click's "Got unexpected extra argument(s) (was hit by his carer)" prints what was
    typed, which is often a record about a child: this names only how many there were, and
    the text option not given (``missing``, e.g. "--text"), which is what was meant."""
    extra = f"Got {count} unexpected extra argument{'s' if count != 1 else ''} (not shown)"
    if missing is not None:
        return (
            f'{missing} is missing: give the text as {missing} "..." (in quotes), or '
            f"{missing} - to read it from standard input ({extra[0].lower()}{extra[1:]})"
        )
    return (
        f"{extra}: put text with spaces in quotes, or use --text - to read it from standard input"
    )


def _text_option_not_given(command: Any, ctx: Any) -> str | None:
    """The command's main text option (:data:`TEXT_OPTIONS`) if it was not given."""
    options = {p.name: p for p in command.params if getattr(p, "opts", None)
               and p.param_type_name == "option"}  # fmt: skip
    for name in TEXT_OPTIONS:
        if name in options and ctx.params.get(name) in (None, ""):
            return str(options[name].opts[0])
    return None


def _quiet_extra_arguments() -> None:
    """Make every leaf command report extra arguments by number, never by content.

    Typer makes every leaf command a TyperCommand (the command modules' sub-apps too), so
    this replaces ``parse_args`` (click's documented hook) on that public class;
    tests/test_typer_contract.py checks that the hook is still there and still used."""
    from typer.core import TyperCommand

    original = TyperCommand.parse_args
    if getattr(original, "drp_quiet", False):
        return

    def parse_args(self: Any, ctx: Any, args: list[str]) -> list[str]:
        if ctx.allow_extra_args or ctx.resilient_parsing:
            return original(self, ctx, args)
        ctx.allow_extra_args = True
        try:
            rest = original(self, ctx, args)
        finally:
            ctx.allow_extra_args = False
        if rest:
            ctx.args = []
            missing = _text_option_not_given(self, ctx)
            ctx.fail(extra_arguments_message(len(rest), missing))  # a usage error: exit 2
        return rest

    parse_args.drp_quiet = True  # type: ignore[attr-defined]
    TyperCommand.parse_args = parse_args  # type: ignore[method-assign]


_quiet_extra_arguments()

# compiled on first use (re's cache): only a usage error needs them
_COMMAND_WORD = r"[a-z][a-z0-9-]{0,30}"
_NOT_ONE_OF = r"(?s)'.*' is not one of "


def _quiet_usage(message: str) -> str:
    """A usage error's message without a value the user typed (a bad choice, an unknown
    command that is not a command-like word): they may be text about a child."""
    message = re.sub(_NOT_ONE_OF, "the value (not shown) is not one of ", message)
    m = re.fullmatch(r"(?s)No such command '(.*)'\.(.*)", message)
    if m and not re.fullmatch(_COMMAND_WORD, m.group(1)):
        message = "No such command (the word is not shown): see `drp --help`."
    return message


def argument_words(param: Any) -> str:
    """An argument in words for an error (never its metavariable, SEQ or WHAT): the first
    sentence of its help, "The concern's id." as "the concern's id"."""
    text = (getattr(param, "help", None) or "").strip()
    if not text:
        return "the " + str(param.name or "value").replace("_", " ")
    text = text.split(". ")[0].split("; ")[0].rstrip(".")
    return text[0].lower() + text[1:]


#: What pydantic's integer coercion says of a value that is not one (said in words instead).
_NOT_WHOLE = "Input should be a valid integer"


def _in_words(exc: Any) -> None:
    """A usage error about an argument names it in words: "Missing the entry's number ...",
    "Invalid value for what to record: ...", not "Missing argument 'SEQ'"."""
    click = sys.modules[type(exc).__module__]  # Typer's own copy of click's exceptions

    param = getattr(exc, "param", None)
    if param is None:
        return
    argument = getattr(param, "param_type_name", "") == "argument"
    if isinstance(exc, click.BadParameter) and _NOT_WHOLE in str(exc.message):
        if argument:
            named = argument_words(param).split(":")[0].split(" (")[0].split(",")[0]
            named = named[0].upper() + named[1:]
        else:
            named = max(getattr(param, "opts", None) or [str(param.name)], key=len)
        exc.message = f"{named} is a whole number, such as 12."
        exc.param = exc.param_hint = None  # format_message then shows the message alone
        exc.__class__ = click.UsageError
        return
    if not argument:
        return
    words = argument_words(param)
    if isinstance(exc, click.MissingParameter):
        exc.message = f"Missing {words}."
        exc.param = None  # format_message then shows the message alone
        exc.param_hint = None
        exc.__class__ = click.UsageError
    elif isinstance(exc, click.BadParameter):
        exc.param_hint = words.split(":")[0]  # "what to record", not its list of values
        exc.message = exc.message.replace("Value error, ", "")


def summary(help_text: str | None) -> str:
    """A command's summary, as the lists of commands show it: the first paragraph of its
    help on one line (the table in ``commands.py`` holds the same text)."""
    return " ".join((help_text or "").split("\n\n")[0].split())


def _list_width(ctx: Any, formatter: Any) -> int:
    """The width a list of commands may take: the whole terminal (less click's margin of
    2), never less than the rest of the help. Click keeps help to 78 columns, which is
    right for prose, but a list cut to it would have to cut the summaries; this way each
    summary is on one line where the terminal is wide enough and wrapped where it is not."""
    if ctx.terminal_width is not None:  # a width given on purpose
        return int(formatter.width)
    return max(int(formatter.width), shutil.get_terminal_size().columns - 2)


def write_dl(formatter: Any, rows: list[tuple[str, str]]) -> None:
    """``formatter.write_dl(rows)``, written by :func:`drp_cli.cli.helplist.dl_text` where it
    can (plain summaries, as every command's is): click wraps each with a TextWrapper
    (regular expressions over every word), and ``drp --help`` lists sixty summaries. Any
    other list is click's to write; tests/test_o32_help_wrap.py holds the two to the same
    text."""
    text = dl_text(rows, formatter.width, formatter.current_indent)
    if text is None:
        formatter.write_dl(rows)
    else:
        formatter.write(text)


def write_commands(ctx: Any, formatter: Any, heading: str, rows: list[tuple[str, str]]) -> None:
    """A section listing commands with their whole summaries (wrapped, never cut)."""
    saved = formatter.width
    formatter.width = _list_width(ctx, formatter)
    try:
        with formatter.section(heading):
            write_dl(formatter, rows)
    finally:
        formatter.width = saved


class _ExamplesSection:
    """The epilog (a command's examples, see :func:`examples`) as a section of the help,
    its heading flush left like "Options:", rather than click's indented paragraph."""

    epilog: str | None

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        if self.epilog:
            formatter.write_paragraph()
            formatter.write_text(inspect.cleandoc(self.epilog))


class DrpCommand(_ExamplesSection, TyperCommand):
    """A command of drp: Typer's, with its examples as the last section of its help."""


class HelpGroup(_ExamplesSection, TyperGroup):
    """A group whose ``--help`` lists each command's whole summary (Typer's own list cuts
    a summary to fit 78 columns, after its first sentence or with "...", whatever the
    terminal's width), and ends with its examples."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary(command.help)))
        if rows:
            write_commands(ctx, formatter, "Commands", rows)


# -- examples ---------------------------------------------------------------------------
#: How wide an example's lines may be: indented by 2 in the help, they fit 78 columns.
EXAMPLE_WIDTH = 76
_SHELL_WORD = re.compile(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""")


def _shell_lines(command: str) -> list[str]:
    """One invocation as lines of at most :data:`EXAMPLE_WIDTH` characters where it can be,
    broken before an option (an option stays with its value), ``\\`` ending each line but
    the last, as it would be typed."""
    units: list[str] = []
    for word in _SHELL_WORD.findall(command):
        last = units[-1] if units else ""
        if last.startswith("-") and " " not in last and not word.startswith("-"):
            units[-1] = f"{last} {word}"  # the option's value
        else:
            units.append(word)
    lines = [units[0]] if units else [""]
    for unit in units[1:]:
        if len(lines[-1]) + len(unit) + len(" ") + len(" \\") <= EXAMPLE_WIDTH:
            lines[-1] += " " + unit
        else:
            lines.append("    " + unit)
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def examples(*lines: str) -> str:
    """The epilog that ends a command's help: "Example:" or "Examples:", then each
    invocation as typed, wrapped to fit 80 columns with ``\\`` continuations; a line that
    starts with ``#`` is a comment, shown as it is. Pass it as ``epilog=examples(...)`` to
    ``command()``, ``command_group()`` or ``add_typer``. Use made-up references (KN-2231),
    never real names: ``tests/test_help.py`` checks that every command has an example and
    that each one parses as a drp command line."""
    count = sum(1 for line in lines if not line.startswith("#"))
    shown = ["\b", "Example:" if count == 1 else "Examples:"]  # \b: click rewraps nothing
    for line in lines:
        for part in [line] if line.startswith("#") else _shell_lines(line):
            shown.append("  " + part)
    return "\n".join(shown)


def announce_created(label: str) -> None:
    """What a command that created the database says (on stderr, so output stays clean)."""
    typer.echo(f"Created a new drp database at {label}", err=True)


def _state(ctx: Any) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State(announce_created)
    return root.obj


class DrpGroup(HelpGroup):
    """The root command: loads commands lazily, and turns the library's errors into one
    line on stderr and a documented exit status."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands()  # type: ignore[assignment]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The commands by section, from the table (no command module is imported)."""
        lists = command_sections(_list_width(ctx, formatter))
        if lists is not None:  # as `drp --help` writes them without Typer (drp_cli.__main__)
            formatter.write(lists)
            return
        width = max(len(name) for name in COMMANDS)
        for section in dict.fromkeys(e.section for e in COMMANDS.values()):
            rows = [(name.ljust(width), e.summary)
                    for name, e in COMMANDS.items() if e.section == section]  # fmt: skip
            write_commands(ctx, formatter, section, rows)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[CompletionItem]:
        names = [
            CompletionItem(name, help=e.summary)
            for name, e in COMMANDS.items()
            if name.startswith(incomplete)
        ]
        return names + super(TyperGroup, self).shell_complete(ctx, incomplete)

    def main(self, args: Any = None, *pargs: Any, **kwargs: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        problem = not_utf8(argv) or ready_streams()
        if problem is not None:  # refused before parsing: never echoed, never stored
            typer.echo(f"Error: {problem}", err=True)
            if kwargs.get("standalone_mode", True):
                sys.exit(EXIT_USAGE)
            return EXIT_USAGE
        try:
            return super().main(args, *pargs, **kwargs)
        except OSError as exc:
            # writing what is printed as the arguments are read (`drp --help` to a full
            # disk), before any command's own edge: the same line and status as a command's
            if isinstance(exc, BrokenPipeError):
                raise
            code = ended(exc, State(), _say_error)
            if kwargs.get("standalone_mode", True):
                sys.exit(code)
            return code

    def invoke(self, ctx: Any) -> Any:
        try:
            return self._invoke(ctx)
        finally:
            _state(ctx).close()  # no connection outlives the command

    def _invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.TyperException as exc:  # a usage error (or another error click shows)
            exc.message = _quiet_usage(exc.message)
            _in_words(exc)
            raise
        except (typer.Exit, typer.Abort, BrokenPipeError):
            raise
        except Exception as exc:
            # the one edge (drp_cli.cli.edge), as the morning check's quick way in ends
            code = ended(exc, _state(ctx), _say_error)
            raise typer.Exit(code) from None


def _say_error(line: str) -> None:
    typer.echo(line, err=True)


app = typer.Typer(
    cls=DrpGroup,
    name="drp",
    help=(
        "Track Dispute Resolution Process concerns (IROs, CP chairs, fostering IROs): "
        "stages, working-day deadlines, responses and CAFCASS referrals."
    ),
    epilog=examples(
        "drp open --protocol knowsley --child KN-2231 --category statutory --summary "
        '"No social worker since the review on 20 February."',
        'drp escalate 1 --note "No response from the Team Manager"',
        "drp overdue --within 2",
        "# every command's --help ends with examples: drp open --help",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
)


def version_text() -> str:
    """What ``drp --version`` and ``drp version`` print."""
    return f"drp {__version__}"


def _version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="DRP_DB",
            metavar="PATH|URL",
            help="Database file (default: drp.sqlite3 in your user data folder), or a "
            "PostgreSQL URL.",
            show_envvar=True,
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks (may include personal data).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    state = _state(ctx)
    state.db = db
    state.debug = debug


def state(ctx: typer.Context) -> State:
    """The root options' state: what the command opens, and ``--debug``."""
    return _state(ctx)


def tracker(ctx: typer.Context) -> "Tracker":
    return _state(ctx).tracker()


def store(ctx: typer.Context) -> "Store":
    return _state(ctx).store()


def database(ctx: typer.Context) -> str | None:
    """The --db / DRP_DB value, for library functions that open the database themselves."""
    return _state(ctx).db


# Options shared by several commands ---------------------------------------------------
OnOption = Annotated[
    str | None,
    typer.Option(
        "--on", help="Date it happened (DD/MM/YYYY or YYYY-MM-DD; default today).", metavar="DATE"
    ),
]
JudgeOnOption = Annotated[
    str | None,
    typer.Option(
        "--on",
        help="Judge deadlines as on this date (DD/MM/YYYY or YYYY-MM-DD; default today).",
        metavar="DATE",
    ),
]
ByOption = Annotated[
    str | None,
    typer.Option(
        "--by", help="Who records this (default: $DRP_USER, your config's name, your login)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
OwnerOption = Annotated[
    str | None,
    typer.Option(
        help="Only the concerns this person owns (whatever the case).",
        metavar="NAME",
        autocompletion=complete.owners,
    ),
]
MineOption = Annotated[
    bool,
    typer.Option(
        "--mine", help="Only the concerns you own (you: DRP_USER, else the config's name)."
    ),
]
TeamOption = Annotated[
    str | None, typer.Option(help="Only this team's concerns (whatever the case).", metavar="TEAM")
]


def check_id(value: int | None) -> int | None:
    """An id or item number: 1 to :data:`drp_cli.core.uids.MAX_ID` (what an integer column
    holds on both engines)."""
    from drp_cli.core.uids import MAX_ID

    if value is not None and not 1 <= value <= MAX_ID:
        raise typer.BadParameter(f"must be a whole number from 1 to {MAX_ID}")
    return value


ConcernId = Annotated[
    int,
    typer.Argument(
        help="The concern's id.",
        metavar="ID",
        callback=check_id,
        autocompletion=complete.concern_ids,
    ),
]
