"""Sweep sw8 of ``drp --help`` without Typer (issue 32, commit 5ee5dd6): where the help
printed from its file is not what the Typer app prints (a full disk, ``python -OO``), and
the edges where it is (odd COLUMNS values; click's ``write_dl`` for rows nearer the edges
than tests/test_o32_help_wrap.py draws)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._click.formatting import HelpFormatter

from drp_cli.cli.helplist import dl_text

ROOT = Path(__file__).resolve().parent.parent
LIVE = "from drp_cli.cli import app; app(prog_name='drp')"  # the help as Typer builds it
FULL = "Error: No space left on device\n"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "_DRP_COMPLETE")}
    env.update(extra)
    return env


def _run(
    code: list[str], args: list[str], stdout: int | IO[Any] = subprocess.PIPE, **extra: str
) -> tuple[int, str | None, str]:
    shown = subprocess.run([sys.executable, *code, *args], stdout=stdout, stderr=subprocess.PIPE,
                           env=_env(**extra), cwd=ROOT, text=True)  # fmt: skip
    return shown.returncode, shown.stdout, shown.stderr


FAST, APP = ["-m", "drp_cli"], ["-c", LIVE]
needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")


# -- defects -------------------------------------------------------------------------------
@needs_dev_full
def test_the_apps_command_help_to_a_full_disk_is_one_line():
    """What held: the app says the disk is full, exit 4 (the file's answer must match it)."""
    with open("/dev/full", "w") as full:
        assert _run(APP, ["open", "--help"], stdout=full) == (4, None, FULL)


@needs_dev_full
def test_a_commands_help_from_its_file_to_a_full_disk_is_the_apps_line():
    with open("/dev/full", "w") as full:
        assert _run(FAST, ["open", "--help"], stdout=full) == (4, None, FULL)


@needs_dev_full
@pytest.mark.parametrize("code", [FAST, APP], ids=["from-file", "typer-app"])
def test_drp_help_to_a_full_disk_is_one_line(code):
    with open("/dev/full", "w") as full:
        assert _run(code, ["--help"], stdout=full) == (4, None, FULL)


@pytest.mark.xfail(strict=True, reason="python -OO: the app's command help loses its text")
@pytest.mark.parametrize("args", [["open", "--help"], ["list", "--help"]])
def test_under_python_oo_a_commands_help_is_the_apps(args):
    fast = _run(FAST, args, PYTHONOPTIMIZE="2", COLUMNS="100")
    live = _run(APP, args, PYTHONOPTIMIZE="2", COLUMNS="100")
    assert fast[0] == 0
    assert fast == live


# -- what held -----------------------------------------------------------------------------
@pytest.mark.parametrize("columns", ["+120", " 120 ", "\u0661\u0662\u0660", "1_20", "1000000"])
def test_odd_columns_values_are_read_as_the_app_reads_them(columns):
    """int() reads them in both (shutil's and drp_cli.__main__.terminal_columns)."""
    fast, live = _run(FAST, ["--help"], COLUMNS=columns), _run(APP, ["--help"], COLUMNS=columns)
    assert fast == live
    assert fast[0] == 0
    assert ("  cafcass         Record a step around a CAFCASS referral (notification, "
            "helpline, advice, outcome).\n") in str(fast[1])  # fmt: skip


def _clicks(rows: list[tuple[str, str]], width: int, indent: int) -> str:
    formatter = HelpFormatter(width=width)
    formatter.current_indent = indent
    formatter.write_dl(rows)
    return formatter.getvalue()


ATOMS = st.sampled_from(
    ["a", "x", "-", "--", ".", "!", "?", ",", ";", ":", "'", '"', "(", ")", "2025-03-04",
     "1-2", "e.g.", "Mr.", "-x", "x-", "a-b-c", "/", "...", "Z", "0", "_", "=", "`"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    data=st.data(),
    width=st.integers(1, 400),
    indent=st.integers(0, 40),
    names=st.lists(st.text(alphabet="abz-_ .", max_size=45), min_size=1, max_size=4),
)
def test_dl_text_is_clicks_at_the_edges(data, width, indent, names):
    """Widths 1-400, indents 0-40, names past 30, words exactly as wide as the column,
    hyphens at either end, '--', dates, sentence ends: where dl_text writes a list it is
    click's text."""
    first_col = min(max(len(name) for name in names), 30) + 2
    text_width = max(width - first_col - 2, 10)
    short = st.lists(ATOMS, min_size=1, max_size=10).map("".join)
    word = st.one_of(
        short.filter(lambda w: len(w) <= text_width),
        st.just("y" * text_width),
        st.just("-" + "y" * (text_width - 1)),
        st.just("y" * (text_width - 1) + "-"),
    )
    rows = [(name, " ".join(data.draw(st.lists(word, min_size=1, max_size=30)))) for name in names]
    ours = dl_text(rows, width, indent)
    assert ours is not None  # plain ASCII words no wider than the column: written here
    assert ours == _clicks(rows, width, indent)
