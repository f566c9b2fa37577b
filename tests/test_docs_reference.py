"""The command reference (docs/reference/*.md) says what the commands say: every page is
what scripts/docs_reference.py writes from drp's command tree now, and mkdocs.yml lists
every command's page. After changing a command's help, options or examples, run
`make docs-reference` and commit the pages with the change."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference", ROOT / "scripts/docs_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _script()


def test_every_committed_page_is_what_the_commands_say(script: ModuleType) -> None:
    wanted = script.pages()
    folder = ROOT / "docs" / "reference"
    committed = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.md")}
    assert sorted(committed) == sorted(wanted), "run `make docs-reference`"
    stale = [name for name in wanted if committed[name] != wanted[name]]
    assert stale == [], f"run `make docs-reference`: these pages are stale: {stale}"


def test_the_site_lists_every_command_page(script: ModuleType) -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert script.navigation(config, list(script.pages())) == config, "run `make docs-reference`"


def test_a_page_holds_the_help_options_and_examples(script: ModuleType) -> None:
    from drp_cli.cli.commands import COMMANDS

    pages = script.pages()
    assert set(pages) == {"index.md", *(f"{name}.md" for name in COMMANDS)}
    page = pages["overdue.md"]
    assert page.startswith(script.HEADER + "\n# `drp overdue`\n")
    assert "| `--within <int>` |" in page
    assert "**Examples**\n\n```text\n# the morning check" in page
    # a group's commands are sections of its page, linked from its table
    calendar = pages["calendar.md"]
    assert "| [`close`](#drp-calendar-close) |" in calendar
    assert "\n## `drp calendar close`\n" in calendar
    # the index lists every command under the heading `drp --help` gives it
    assert "## Record\n" in pages["index.md"]
    assert "| [`drp overdue`](overdue.md) |" in pages["index.md"]


def test_the_pages_do_not_depend_on_the_terminal_or_the_user(
    script: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = script.pages()
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("DRP_DB", "/elsewhere/drp.sqlite3")
    monkeypatch.setenv("DRP_USER", "Someone Else")
    assert script.pages() == before
