"""`drp COMMAND --help` from its written file (drp_cli/cli/helptext/), without loading Typer:
the same text the command builds, in a terminal of 80 columns or more or a pipe; anything
else (a narrower terminal, other arguments, shell completion, a source edited since the
file was written) builds it as before."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drp_cli import __main__ as entry
from drp_cli import __version__
from drp_cli.cli.commands import COMMANDS
from tests.test_docs_reference import _script
from tests.test_t30w_widths import on_terminal

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "drp_cli" / "cli" / "helptext"
LIVE = "from drp_cli.cli import app; app(prog_name='drp')"  # the help as Typer builds it
SAMPLE = ("overdue", "open", "list", "show", "import", "report", "subject-access")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "_DRP_COMPLETE")}
    env.update(extra)
    return env


def _run(argv: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=_env(**extra), cwd=ROOT)


def test_every_file_is_what_its_command_prints_now():
    wanted = _script().help_files()
    committed = {p.name: p.read_text(encoding="utf-8") for p in FOLDER.glob("*.txt")}
    assert sorted(committed) == sorted(wanted), "run `make docs-reference`"
    stale = [name for name in wanted if committed[name] != wanted[name]]
    assert stale == [], f"run `make docs-reference`: stale help files: {stale}"


def test_every_command_but_a_group_has_a_file():
    groups = {"action", "person", "wishes", "needs", "protocols", "calendar", "staff",
              "config", "key", "db"}  # fmt: skip
    assert {p.stem for p in FOLDER.glob("*.txt")} == set(COMMANDS) - groups | {"_drp"}


@pytest.mark.parametrize("name", SAMPLE)
@pytest.mark.parametrize("columns", ["", "80", "200"])
def test_drp_prints_what_typer_would(name, columns):
    extra = {"COLUMNS": columns} if columns else {}
    fast = _run([sys.executable, "-m", "drp_cli", name, "--help"], **extra)
    live = _run([sys.executable, "-c", LIVE, name, "--help"], **extra)
    assert (fast.returncode, fast.stderr) == (0, "")
    assert fast.stdout == live.stdout
    assert fast.stdout == (FOLDER / f"{name}.txt").read_text().split("\n", 1)[1]


def test_the_help_from_its_file_loads_no_typer():
    code = (
        "import sys; sys.argv = ['drp', 'overdue', '--help']\n"
        "from drp_cli.__main__ import main; main()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('typer', 'click', 'drp_cli.cli'))),"
        " file=sys.stderr)"
    )
    shown = _run([sys.executable, "-c", code])
    assert shown.stdout.startswith("Usage: drp overdue [OPTIONS]\n")
    assert shown.stderr == "[]\n"


@pytest.mark.parametrize("width", [60, 79, 80, 100, 200])
def test_on_a_terminal_the_help_is_typers_for_its_width(width):
    status, shown = on_terminal(width, "overdue", "--help")
    env = _env(COLUMNS=str(width))
    live = subprocess.run([sys.executable, "-c", LIVE, "overdue", "--help"],
                          capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip
    assert (status, shown) == (0, live.stdout)
    written = (FOLDER / "overdue.txt").read_text().split("\n", 1)[1]
    assert (shown == written) is (width >= 80)  # under 80 columns it is wrapped narrower


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A help folder of its own, holding an overdue.txt written from the real sources."""
    monkeypatch.setattr(entry, "HELP_FOLDER", str(tmp_path))
    monkeypatch.delenv("_DRP_COMPLETE", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    sources = ["cli/app.py", "cli/commands.py", "cli/reports.py"]
    (tmp_path / "overdue.txt").write_text(entry.help_header(__version__, sources) + "HELP\n")
    return tmp_path


def test_the_file_is_read_as_it_was_written(folder):
    assert entry.cached_help(["overdue", "--help"]) == "HELP\n"


@pytest.mark.parametrize(
    "args",
    [["overdue"], ["overdue", "--help", "--json"], ["--json", "overdue", "--help"],
     ["overdue", "-h"], ["--help"], ["Overdue", "--help"], ["../overdue", "--help"],
     ["over due", "--help"], ["list", "--help"]],  # list: no file in this folder
)  # fmt: skip
def test_other_arguments_build_the_help(folder, args):
    assert entry.cached_help(args) is None


@pytest.mark.parametrize("columns", ["79", "60", "1"])
def test_a_narrower_terminal_builds_the_help(folder, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    assert entry.cached_help(["overdue", "--help"]) is None


def test_shell_completion_builds_the_help(folder, monkeypatch):
    monkeypatch.setenv("_DRP_COMPLETE", "complete_bash")
    assert entry.cached_help(["overdue", "--help"]) is None


def test_a_drp_variable_that_is_not_utf8_is_left_to_the_command(folder, monkeypatch):
    monkeypatch.setenv("DRP_DB", "caf\udce9.db")  # how Python holds a Latin-1 byte
    assert entry.cached_help(["overdue", "--help"]) is None
    env: dict[str, str | bytes] = {**_env(), "DRP_DB": b"caf\xe9.db"}
    argv = [sys.executable, "-m", "drp_cli", "overdue", "--help"]
    shown = subprocess.run(argv, capture_output=True, env=env, cwd=ROOT)
    assert (shown.returncode, shown.stdout) == (2, b"")
    assert shown.stderr == b"Error: DRP_DB is not valid UTF-8 text\n"


@pytest.mark.parametrize(
    "header",
    [
        "drp-help 0.0.1 {crc} cli/app.py cli/commands.py cli/reports.py\n",  # another drp
        "drp-help {version} 00000000 cli/app.py cli/commands.py cli/reports.py\n",  # edited
        "drp-help {version} {crc} cli/app.py cli/commands.py cli/gone.py\n",  # no such source
        "drp-help {version} {crc}\n",  # no sources named
        "\n",
        "",
    ],
)
def test_a_file_not_written_from_the_sources_as_they_are_is_not_used(folder, header):
    sources = ["cli/app.py", "cli/commands.py", "cli/reports.py"]
    crc = entry.help_fingerprint(sources)
    text = header.format(crc=crc, version=__version__) + "HELP\n"
    (folder / "overdue.txt").write_text(text)
    assert entry.cached_help(["overdue", "--help"]) is None


def test_a_file_that_is_not_utf8_is_not_used(folder):
    (folder / "overdue.txt").write_bytes(b"\xff\xfe\n")
    assert entry.cached_help(["overdue", "--help"]) is None


def test_an_edited_source_is_seen(tmp_path, monkeypatch):
    """The fingerprint covers each source named: a byte changed in one changes it."""
    package = tmp_path / "drp_cli"
    (package / "cli").mkdir(parents=True)
    monkeypatch.setattr(entry, "__file__", str(package / "__main__.py"))
    for name in ("app", "commands", "reports"):
        (package / "cli" / f"{name}.py").write_text(f"# {name}\n")
    sources = ["cli/app.py", "cli/commands.py", "cli/reports.py"]
    before = entry.help_fingerprint(sources)
    (package / "cli" / "reports.py").write_text("# reportS\n")
    assert entry.help_fingerprint(sources) != before
    assert entry.help_fingerprint(sources[:2]) != before


@pytest.mark.parametrize("columns", [None, "", "abc", "0", "-3", "79", "80", "200", " 90"])
def test_the_terminal_width_is_shutils(monkeypatch, columns):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert entry.terminal_columns() == shutil.get_terminal_size().columns


def test_a_reader_gone_ends_quietly():
    read, write = os.pipe()
    os.close(read)
    try:
        argv = [sys.executable, "-m", "drp_cli", "overdue", "--help"]
        shown = subprocess.run(argv, stdout=write, stderr=subprocess.PIPE, env=_env(), cwd=ROOT)
    finally:
        os.close(write)
    assert (shown.returncode, shown.stderr) == (141, b"")


def test_the_sources_are_the_modules_loaded_with_the_command():
    sources = _script().help_sources("drp_cli.cli.concerns")
    assert {"cli/app.py", "cli/commands.py", "cli/concerns.py", "cli/textarg.py",
            "cli/output.py", "core/errors.py", "__init__.py"} <= set(sources)  # fmt: skip
    # app.py imports the tracker and the store for type checking only, and commands import
    # the library inside their functions, after the help is built
    assert not any(s.startswith(("services/", "store/", "domain/")) for s in sources)
    assert sources == sorted(set(sources))
