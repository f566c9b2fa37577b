"""What drp relies on in Typer beyond its documented API, checked against the Typer installed.

``drp_cli/cli/app.py`` replaces two of click's documented hooks on Typer's public classes:
``process_value`` on TyperOption and TyperArgument (a short cut past Typer's pydantic
coercion, which halves the start-up time of `drp overdue`) and ``parse_args`` on
TyperCommand (extra arguments reported by count, never by content). It also builds one
command at a time with ``typer.main``'s undocumented helpers. pyproject.toml pins the Typer
versions this was tested with; these tests fail when a Typer moves or reshapes any of it,
so that a new Typer is taken up on purpose, never by accident.
"""

from __future__ import annotations

import importlib
import inspect
import re
import tomllib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from packaging.requirements import Requirement
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from drp_cli.cli.commands import COMMANDS
from tests.conftest import open_args

app_module = importlib.import_module("drp_cli.cli.app")  # `from drp_cli.cli import app`: the app

ROOT = Path(__file__).resolve().parent.parent
SECRET = "was hit by his carer"


def walk(app: typer.Typer | None = None) -> Iterator[tuple[Any, typer.Context]]:
    """Every command of drp, or of ``app`` (the root, each group and each leaf), with a
    context for it."""
    root = typer.main.get_command(app or app_module.app)
    root_ctx = typer.Context(root, info_name="drp")
    todo: list[tuple[Any, typer.Context]] = [(root, root_ctx)]
    while todo:
        command, ctx = todo.pop()
        yield command, ctx
        if isinstance(command, TyperGroup):
            for name in command.commands:
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                todo.append((sub, typer.Context(sub, info_name=name, parent=ctx)))


def parameters(app: typer.Typer | None = None) -> Iterator[tuple[Any, typer.Context]]:
    for command, ctx in walk(app):
        for param in command.get_params(ctx):  # with its --help
            yield param, ctx


def test_typer_is_pinned_and_the_installed_one_is_in_the_pin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (typer_req,) = [r for r in map(Requirement, project["dependencies"]) if r.name == "typer"]
    upper = [s for s in typer_req.specifier if s.operator == "<"]
    assert upper, f"Typer is not pinned below a version: {typer_req}"
    assert typer_req.specifier.contains(typer.__version__), (typer.__version__, str(typer_req))


def test_drp_names_nothing_private_of_typer():
    private = re.compile(
        r"\btyper(\.\w+)*\._\w|from typer[\w.]* import[^\n]*\b_\w|\b_click\b|\b_Typer\w"
    )
    for path in sorted((ROOT / "drp_cli").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not private.search(line), f"{path.relative_to(ROOT)}:{number}: {line}"


# process_value: the short cut past pydantic --------------------------------------------


@pytest.mark.parametrize("cls", [TyperOption, TyperArgument])
def test_process_value_is_a_hook_of_the_parameter_classes(cls):
    patched = cls.process_value
    assert getattr(patched, "drp_plain", False), f"{cls.__name__}.process_value is not drp's"
    original = patched.drp_original
    assert inspect.isfunction(original)
    assert list(inspect.signature(original).parameters) == ["self", "ctx", "value"]
    assert list(inspect.signature(patched).parameters) == ["self", "ctx", "value"]
    # Typer's coercion, which the short cut steps round, is reached from this hook
    assert "get_runtime_param" in inspect.getsource(original), "Typer's coercion moved"


def test_every_parameter_is_one_of_the_patched_classes_and_has_the_read_attributes():
    seen = 0
    for param, _ctx in parameters():
        assert type(param) in (TyperOption, TyperArgument), (param.name, type(param))
        descriptor = param.type_descriptor
        assert hasattr(descriptor, "parameter_info") and hasattr(descriptor, "annotation")
        assert isinstance(param.required, bool)
        assert param.callback is None or callable(param.callback)
        seen += 1
    assert seen > 100


def outcome(call: Any) -> tuple[str, Any]:
    try:
        return "value", call()
    except typer.Exit as exc:
        return "exit", exc.exit_code
    except SystemExit as exc:
        return "exit", exc.code
    except Exception as exc:
        return type(exc).__name__, str(exc)


SAMPLES: list[Any] = [None, "", "abc", "2025-01-01", "7", "0", "007", "-5", "+3", " 4", "1_0",
                     "9" * 30, 7, 0, True, False]  # fmt: skip

# kinds of parameter drp has no command with yet
others = typer.Typer()


@others.command()
def kinds(
    count: Annotated[int, typer.Argument(min=1)],
    level: Annotated[int, typer.Option(max=3)] = 0,
    clamped: Annotated[int | None, typer.Option(min=1, max=9, clamp=True)] = None,
    ratio: Annotated[float, typer.Option()] = 0.5,
    word: Annotated[str | None, typer.Option(envvar="DRP_TEST_WORD")] = None,
    many: Annotated[list[str] | None, typer.Option()] = None,
    when: Annotated[datetime | None, typer.Option()] = None,
    flag: Annotated[bool, typer.Option()] = False,
) -> None:
    """Parameters of several kinds."""


@pytest.mark.parametrize("app", [None, others], ids=["drp", "others"])
def test_the_short_cut_gives_what_typer_gives(app):
    """Every value the short cut passes on unchanged, Typer's own process_value gives back
    unchanged too (or fails the same way)."""
    short_cuts = 0
    for param, ctx in parameters(app):
        if param.callback is not None and not param.callback.__module__.startswith("drp_cli"):
            continue  # Typer's --install-completion would write to the shell's start-up file
        original = type(param).process_value.drp_original
        for value in SAMPLES:
            if not app_module._needs_no_coercion(param, value):
                continue
            short_cuts += 1
            ours = outcome(lambda: param.process_value(ctx, value))  # noqa: B023
            typers = outcome(lambda: original(param, ctx, value))  # noqa: B023
            assert ours == typers, (ctx.command_path, param.name, value)
    assert short_cuts > (200 if app is None else 10)


def test_a_missing_required_value_in_completion_is_none_as_with_typer():
    """Completing `drp escalate <TAB>` parses resiliently: Typer's coercion of a missing
    required value raises, and click stores None; the short cut gives None at once."""
    seen = 0
    for param, ctx in parameters():
        if not param.required:
            continue
        ctx.resilient_parsing = True
        original = type(param).process_value.drp_original
        assert outcome(lambda: param.process_value(ctx, None)) == ("value", None)  # noqa: B023
        assert outcome(lambda: original(param, ctx, None))[0] == "MissingParameter"  # noqa: B023
        seen += 1
    assert seen > 20


def test_typer_routes_values_through_the_hook(drp, monkeypatch):
    calls: list[bool] = []

    def counted(param: Any, value: Any) -> bool:
        calls.append(needs(param, value))
        return calls[-1]

    needs = app_module._needs_no_coercion
    monkeypatch.setattr(app_module, "_needs_no_coercion", counted)
    r = drp("overdue", "--help")
    assert r.exit_code == 0
    assert calls and all(calls)  # absent values and --help: all passed on unchanged
    assert drp("init").exit_code == 0
    assert drp(*open_args()).exit_code == 0  # an empty record is exit 4 (issue 29)
    calls.clear()
    assert drp("overdue", "--within", "3", "--on", "2025-03-03").exit_code == 0
    assert calls and all(calls)  # --on is a string, --within a plain whole number
    calls.clear()
    r = drp("overdue", "--within", "+3", "--on", "2025-03-03")
    assert r.exit_code == 0, r.stderr
    assert True in calls and False in calls  # "+3" is left to Typer, which reads it as 3


# parse_args: extra arguments counted, never shown ------------------------------------


def test_parse_args_is_a_hook_of_typer_command():
    patched = TyperCommand.parse_args
    assert getattr(patched, "drp_quiet", False), "TyperCommand.parse_args is not drp's"
    assert list(inspect.signature(patched).parameters) == ["self", "ctx", "args"]
    for command, ctx in walk():
        if not isinstance(command, TyperGroup):
            assert isinstance(command, TyperCommand), ctx.command_path
            assert type(command).parse_args is patched, ctx.command_path
        for name in ("allow_extra_args", "resilient_parsing", "args"):
            assert hasattr(ctx, name), name
        assert callable(ctx.fail)


def test_extra_arguments_are_counted_with_status_2_and_not_shown(drp):
    drp(*open_args())
    for argv in (["note", "1", "--text", "Child", *SECRET.split()],
                 ["calendar", "closures", *SECRET.split()]):  # fmt: skip
        r = drp(*argv)
        assert r.exit_code == 2, argv
        assert r.stderr.endswith(
            "Error: Got 5 unexpected extra arguments (not shown): put text with spaces in "
            "quotes, or use --text - to read it from standard input\n"
        ), r.stderr
        for word in SECRET.split():
            assert word not in r.stdout + r.stderr, argv


# typer.main: one command built alone ---------------------------------------------------


def test_each_command_is_built_without_building_its_module(monkeypatch):
    def refused(module: str) -> Any:
        raise AssertionError(f"built all of {module}: typer.main's helpers moved")

    monkeypatch.setattr(app_module, "_loaded", {})
    monkeypatch.setattr(app_module, "load_module_commands", refused)
    for name in COMMANDS:
        assert app_module.load_command(name).name == name
