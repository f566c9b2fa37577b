"""Issue 32: ``drp --help`` writes its lists of commands itself where every summary fits
its line (drp_cli.cli.app.write_dl), and leaves the rest to click: the text is the same
either way."""

from __future__ import annotations

import importlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._click.formatting import HelpFormatter

from drp_cli.cli.app import app, write_dl

app_module = importlib.import_module("drp_cli.cli.app")

WORDS = st.text(alphabet=st.sampled_from(list("ab- .,\t\n\b\u00e9\u2028xyz")), max_size=50)
NAMES = st.text(alphabet=st.sampled_from(list("abc-\u00e9 \x1b")), min_size=0, max_size=36)


def _both(rows: list[tuple[str, str]], width: int, indent: int) -> tuple[str, str]:
    out = []
    for write in (write_dl, lambda f, r: f.write_dl(r)):
        formatter = HelpFormatter(width=width)
        formatter.current_indent = indent
        try:
            write(formatter, rows)
        except TypeError as exc:  # click's: no rows, no columns
            out.append(f"TypeError: {exc}")
        else:
            out.append(formatter.getvalue())
    return out[0], out[1]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(NAMES, WORDS), max_size=5), width=st.integers(10, 120),
       indent=st.integers(0, 6))  # fmt: skip
def test_the_list_is_clicks_text(rows, width, indent):
    ours, clicks = _both(rows, width, indent)
    assert ours == clicks


PLAIN = st.lists(
    st.text(alphabet=st.sampled_from(list("ab-.,(')x")), min_size=1, max_size=14), max_size=12
).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(st.tuples(NAMES, PLAIN), min_size=1, max_size=4), width=st.integers(10, 120),
       indent=st.integers(0, 6))  # fmt: skip
def test_a_list_of_plain_words_is_wrapped_as_click_wraps_it(rows, width, indent):
    """Summaries of plain words (as every command's is) wrapped over several lines, with
    hyphens and words as long as the column: written by drp_cli.cli.helplist, not click."""
    ours, clicks = _both(rows, width, indent)
    assert ours == clicks


@pytest.mark.parametrize(
    "second", ["Open a concern.", "a  b", " lead", "trail ", "x" * 40, "", "\bno", "tab\there"]
)
@pytest.mark.parametrize("first", ["open", "x" * 29, "x" * 30, "x" * 31, "\u00e9t\u00e9"])
@pytest.mark.parametrize("width", [40, 79, 80, 81, 120])
def test_the_edges(first, second, width):
    rows = [(first, second), ("list", "List concerns.")]
    for indent in (0, 2):
        ours, clicks = _both(rows, width, indent)
        assert ours == clicks


@pytest.mark.parametrize("columns", ["40", "80", "120", "200"])
@pytest.mark.parametrize("argv", [["--help"], ["overdue", "--help"], ["list", "--help"]])
def test_the_help_is_the_same_text(monkeypatch, columns, argv):
    from typer.testing import CliRunner

    monkeypatch.setenv("COLUMNS", columns)
    runner = CliRunner()
    fast = runner.invoke(app, argv).stdout
    monkeypatch.setattr(app_module, "write_dl", lambda f, rows: f.write_dl(rows))
    monkeypatch.setattr(app_module, "command_sections", lambda width: None)
    slow = runner.invoke(app, argv).stdout
    assert fast == slow
    assert fast.startswith("Usage: ")
