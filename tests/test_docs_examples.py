"""Every shell example in the manual runs, as the page shows it.

The convention (docs/internals/testing.md): a ```console block is run, a line at a time,
in the page's order, against a fresh database (one per page: DRP_DB in the test's own
folder, which is also the working folder, holding copies of examples/tracker.csv and the
invented council log of tests/data). A command is a line starting with `$ drp`
(continued with a trailing backslash); `> FILE` after it writes its output to FILE. It
must end with exit status 0, or the one its trailing comment names (`# exit status 1`).
The lines a console block shows after a command are its output: each must occur in what
the command printed (stdout and stderr, runs of spaces counted as one), `...` standing
for lines left out. Examples that cannot run here (sending mail, setting up PostgreSQL,
Task Scheduler) are ```text blocks, never run; a ```sh, ```shell or ```bash block is
refused, so every example is one or the other.
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drp_cli.cli import app
from tests.conftest import PG_URL

#: The pages show drp as a reader first meets it: on its SQLite file (a backup copy is a
#: SQLite file, `--db FILE` opens one). The PostgreSQL run covers that engine elsewhere.
pytestmark = pytest.mark.skipif(PG_URL is not None, reason="the pages' examples use SQLite")

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")],
    key=lambda p: str(p.relative_to(ROOT)),
)
FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)")
STATUS = re.compile(r"#\s*exit status (\d+)\s*$")


@dataclass
class Example:
    line: int  # where the command starts in the page (1-based)
    command: str
    status: int = 0
    shown: list[str] = field(default_factory=list)


def blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """Each fenced block of a page: (its language, the line it starts on, its lines)."""
    found: list[tuple[str, int, list[str]]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            fence, language = m.group(1), m.group(2)
            start = i + 1
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith(fence):
                body.append(lines[i])
                i += 1
            found.append((language, start, body))
        i += 1
    return found


def examples(text: str) -> list[Example]:
    """The commands of a page's console blocks, in order, with what each shows."""
    found: list[Example] = []
    for language, start, body in blocks(text):
        if language != "console":
            continue
        current: Example | None = None
        pending = ""
        first = 0
        for offset, line in enumerate(body, start=start + 1):
            if pending or line.startswith("$ "):
                first = first if pending else offset
                part = line[2:] if not pending else line.strip()
                pending += part
                if pending.endswith("\\"):
                    pending = pending[:-1].rstrip() + " "
                    continue
                status = STATUS.search(pending)
                command = STATUS.sub("", pending).strip()
                current = Example(first, command, int(status.group(1)) if status else 0)
                found.append(current)
                pending = ""
            elif current is not None and line.strip():
                current.shown.append(line)
            else:
                assert current is not None or not line.strip(), (
                    f"line {offset}: output shown before any command"
                )
        assert not pending, f"a console block ends with a backslash (line {start})"
    return found


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def run(example: Example, where: Path) -> None:
    words = shlex.split(example.command, comments=True)
    assert words[0] == "drp", f"line {example.line}: a console example runs drp only"
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    result = CliRunner().invoke(app, words[1:], prog_name="drp")
    output = result.stdout + result.stderr
    assert result.exit_code == example.status, (
        f"line {example.line}: `{example.command}` ended with exit status "
        f"{result.exit_code}, the page says {example.status}:\n{output}"
    )
    if target is not None:
        (where / target).write_text(result.stdout, encoding="utf-8")
    printed = _squeeze(output)
    for line in example.shown:
        if line.strip() == "...":
            continue
        assert _squeeze(line) in printed, (
            f"line {example.line}: `{example.command}` did not print what the page shows:"
            f"\n  {line.strip()}\nIt printed:\n{output}"
        )


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_example_on_the_page_runs_as_shown(
    page: Path, isolated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = page.read_text(encoding="utf-8")
    for language, start, _body in blocks(text):
        assert language not in ("sh", "shell", "bash"), (
            f"{page.name} line {start}: a ```{language} block: make it ```console (run by "
            "this test) or ```text (shown only)"
        )
    found = examples(text)
    if not found:
        pytest.skip("no console example on this page")
    where = tmp_path / "work"
    where.mkdir()
    shutil.copy(ROOT / "examples" / "tracker.csv", where / "tracker.csv")
    for name in ("council-log.xlsx", "council-log.csv", "council-log.map.toml"):
        shutil.copy(ROOT / "tests" / "data" / name, where / name)
    monkeypatch.chdir(where)
    monkeypatch.setenv("DRP_USER", "Sam Patel")
    for example in found:
        run(example, where)


def test_the_reader_finds_commands_output_and_statuses() -> None:
    page = "\n".join(
        [
            "```console",
            "$ drp open --protocol knowsley \\",
            "    --child KN-1 --on 2025-03-03",
            "Opened concern 1: knowsley",
            "...",
            "$ drp overdue --on 2025-03-21  # exit status 1",
            "```",
            "```text",
            "$ drp alert 1 --send",
            "```",
        ]
    )
    found = examples(page)
    assert [(e.line, e.command, e.status, e.shown) for e in found] == [
        (2, "drp open --protocol knowsley --child KN-1 --on 2025-03-03", 0,
         ["Opened concern 1: knowsley", "..."]),
        (6, "drp overdue --on 2025-03-21", 1, []),
    ]  # fmt: skip


def test_the_readme_links_only_to_files_in_the_repository() -> None:
    """The README is read on its own (a repository's front page, the package's long
    description), outside the site's strict build: each relative link must name a file."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    assert links, "the README links into the manual"
    broken = [link for link in links if "://" not in link and not (ROOT / link).is_file()]
    assert broken == []
    for gone in ("../shared/", "seed 000", "seeds/"):
        assert gone not in text
