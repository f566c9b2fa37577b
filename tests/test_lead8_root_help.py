"""``drp --help`` without Typer (issue 32): printed from drp_cli/cli/helptext/_drp.txt, its
lists of commands written for the terminal's width by drp_cli.cli.helplist, the same text
as the Typer app prints at every width, from a pipe or on a terminal."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from drp_cli import __main__ as entry
from drp_cli import __version__
from drp_cli.cli import helplist

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "drp_cli" / "cli" / "helptext"
LIVE = "from drp_cli.cli import app; app(prog_name='drp')"  # the help as Typer builds it
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "_DRP_COMPLETE")}
    env.update(extra)
    return env


def _run(argv: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=_env(**extra), cwd=ROOT)


def _both(*args: str, **extra: str) -> tuple[subprocess.CompletedProcess[str], ...]:
    fast = _run([sys.executable, "-m", "drp_cli", *args], **extra)
    live = _run([sys.executable, "-c", LIVE, *args], **extra)
    return fast, live


@pytest.mark.parametrize("columns", ["", "80", "81", "99", "100", "120", "137", "200", "250"])
def test_drp_help_is_what_typer_prints(columns):
    extra = {"COLUMNS": columns} if columns else {}
    fast, live = _both("--help", **extra)
    assert (fast.returncode, fast.stderr) == (0, "")
    assert fast.stdout == live.stdout
    assert fast.stdout.startswith("Usage: drp [OPTIONS] COMMAND [ARGS]...\n")
    widest = max(len(line) for line in fast.stdout.splitlines())
    assert widest <= int(columns or 80) - 2


def _written(columns: int) -> str:
    """What the file and the lists make at ``columns``: the quick way's text, in process."""
    head, _, tail = (FOLDER / "_drp.txt").read_text().split("\n", 1)[1].partition(entry.ROOT_LISTS)
    lists = helplist.command_sections(columns - 2)
    assert lists is not None
    return head + lists + tail


def test_wide_lists_are_one_line_each_and_narrow_ones_wrapped():
    """At 200 columns each command is one line; at 80 the longer summaries wrap under their
    column, as click wraps them."""
    wide, narrow = _written(200), _written(80)
    one_line = "Record a step around a CAFCASS referral (notification, helpline, advice, outcome)."
    assert f"  cafcass         {one_line}\n" in wide
    assert (
        "  cafcass         Record a step around a CAFCASS referral (notification,\n"
        "                  helpline, advice, outcome).\n"
    ) in narrow
    assert len(wide.splitlines()) < len(narrow.splitlines())


def _on_terminal(width: int, *args: str) -> tuple[int, str]:
    """``drp ARGS`` on a pseudo-terminal already ``width`` columns wide when it starts."""
    main, side = os.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    env = _env(TERM="xterm")
    argv = [sys.executable, *args]
    child = subprocess.Popen(argv, stdin=side, stdout=side, stderr=side, env=env, cwd=ROOT)
    os.close(side)
    chunks = []
    try:
        while select.select([main], [], [], 30)[0]:
            try:
                data = os.read(main, 65536)
            except OSError:  # the child has gone: the terminal is closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(main)
        status = child.wait(30)
    return status, _ANSI.sub("", b"".join(chunks).decode("utf-8")).replace("\r", "")


@pytest.mark.parametrize("width", [60, 79, 80, 100, 200])
def test_on_a_terminal_it_is_typers_for_its_width(width):
    fast = _on_terminal(width, "-m", "drp_cli", "--help")
    live = _on_terminal(width, "-c", LIVE, "--help")
    assert fast == live
    assert fast[0] == 0
    assert (fast[1] == _written(width)) is (width >= 80)  # under 80: built by the app


def test_drp_help_loads_no_typer_nor_click():
    code = (
        "import sys; sys.argv = ['drp', '--help']\n"
        "from drp_cli.__main__ import main; main()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('typer', 'click', 'rich'))),"
        " file=sys.stderr)"
    )
    shown = _run([sys.executable, "-c", code], COLUMNS="120")
    assert shown.stdout.startswith("Usage: drp [OPTIONS] COMMAND [ARGS]...\n")
    assert shown.stderr == "[]\n"


@pytest.mark.parametrize("args", [["--help"], ["open", "--help"]])
def test_standard_output_closed_is_the_apps_error(args):
    """`drp --help >&-`: the app's one line and exit 2 (the help from a file wrote a
    traceback and exit 1 before)."""
    argv = [sys.executable, "-m", "drp_cli", *args]
    shown = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(),
                           cwd=ROOT, text=True, preexec_fn=lambda: os.close(1))  # fmt: skip
    assert (shown.returncode, shown.stderr) == (
        2,
        "Error: standard output is closed: drp has nowhere to write (give it a file or a pipe)\n",
    )


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A help folder of its own, holding a _drp.txt written from the real sources."""
    monkeypatch.setattr(entry, "HELP_FOLDER", str(tmp_path))
    monkeypatch.delenv("_DRP_COMPLETE", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    sources = ["cli/app.py", "cli/commands.py", "cli/helplist.py"]
    header = entry.help_header(__version__, sources)
    (tmp_path / "_drp.txt").write_text(header + "HEAD\n" + entry.ROOT_LISTS + "\nTAIL\n")
    return tmp_path


def test_the_file_and_the_lists_make_the_help(folder):
    lists = helplist.command_sections(98)
    assert entry.cached_help(["--help"]) == f"HEAD\n{lists}\nTAIL\n"


def test_a_file_without_the_place_of_the_lists_is_not_used(folder):
    text = (folder / "_drp.txt").read_text().replace(entry.ROOT_LISTS, "")
    (folder / "_drp.txt").write_text(text)
    assert entry.cached_help(["--help"]) is None


def test_a_root_file_not_written_from_the_sources_as_they_are_is_not_used(folder):
    text = (folder / "_drp.txt").read_text()
    (folder / "_drp.txt").write_text(text.replace(f" {__version__} ", " 0.0.1 ", 1))
    assert entry.cached_help(["--help"]) is None


def test_lists_click_must_write_leave_the_help_to_the_app(folder, monkeypatch):
    monkeypatch.setattr(helplist, "dl_text", lambda rows, width, indent: None)
    assert entry.cached_help(["--help"]) is None


@pytest.mark.parametrize(
    "args", [["-h"], ["--help", "--help"], ["--debug", "--help"], ["--HELP"], ["_drp", "--help"]]
)
def test_other_arguments_build_the_help(folder, args):
    assert entry.cached_help(args) is None


@pytest.mark.parametrize("columns", ["79", "60", "1"])
def test_a_narrower_terminal_builds_the_help(folder, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    assert entry.cached_help(["--help"]) is None


def test_shell_completion_builds_the_help(folder, monkeypatch):
    monkeypatch.setenv("_DRP_COMPLETE", "complete_bash")
    assert entry.cached_help(["--help"]) is None


def test_a_drp_variable_that_is_not_utf8_is_the_apps_error(folder, monkeypatch):
    monkeypatch.setenv("DRP_DB", "caf\udce9.db")  # how Python holds a Latin-1 byte
    assert entry.cached_help(["--help"]) is None
    env: dict[str, str | bytes] = {**_env(), "DRP_DB": b"caf\xe9.db"}
    shown = subprocess.run([sys.executable, "-m", "drp_cli", "--help"], capture_output=True,
                           env=env, cwd=ROOT)  # fmt: skip
    assert (shown.returncode, shown.stdout) == (2, b"")
    assert shown.stderr == b"Error: DRP_DB is not valid UTF-8 text\n"


def test_a_reader_gone_ends_quietly():
    read, write = os.pipe()
    os.close(read)
    try:
        argv = [sys.executable, "-m", "drp_cli", "--help"]
        shown = subprocess.run(argv, stdout=write, stderr=subprocess.PIPE, env=_env(), cwd=ROOT)
    finally:
        os.close(write)
    assert (shown.returncode, shown.stderr) == (141, b"")
