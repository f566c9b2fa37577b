"""Issue 30 item 1: tables that fit. On a real pseudo-terminal of 60, 80, 100 and 200
columns (COLUMNS unset, the window's size set with TIOCSWINSZ), `drp overdue`, `drp list` and
`drp show` never cut a child's reference, a date or a state, and no line is wider than the
terminal; in a pipe the plain table is as scripts expect."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios

import pytest

from tests.conftest import open_args

WIDTHS = (60, 80, 100, 200)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
LONG_REF = "KN-2231/123/4"


def on_terminal(width: int, *args: str) -> tuple[int, str]:
    """``drp ARGS`` on a pseudo-terminal ``width`` columns wide: its exit status and what
    it showed (colour codes and carriage returns taken out)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    pid, fd = pty.fork()
    if pid == 0:  # the child: drp, its output the terminal's
        try:
            os.execve(sys.executable, [sys.executable, "-m", "drp_cli", *args], env)
        finally:
            os._exit(70)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child has gone: the terminal is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    text = _ANSI.sub("", b"".join(chunks).decode("utf-8")).replace("\r", "")
    return os.waitstatus_to_exitcode(status), text


@pytest.fixture
def caseload(drp):
    """Three open concerns: a long child reference past its aim, one overdue at a stage
    whose state and deadline are long, and a third with a long summary."""
    assert drp(*open_args(child=LONG_REF, on="2025-03-03")).exit_code == 0
    assert drp("escalate", "1", "--note", "No reply.", "--on", "2025-03-11").exit_code == 0
    r = drp(*open_args(protocol="west-sussex", child="WS-0457", category="care-plan",
                       stage="stage-1", reason="Urgent", on="2025-03-05",
                       summary="Sibling contact in the care plan has not happened for three "
                       "months and the placement plan says it should be weekly."))  # fmt: skip
    assert r.exit_code == 0
    assert drp(*open_args(child="NT-1004-AB", on="2025-03-10")).exit_code == 0
    return drp


def check_fits(width: int, text: str, whole: list[str]) -> None:
    """No line wider than ``width``; each of ``whole`` shown on one line, never cut."""
    lines = text.splitlines()
    assert lines, "nothing shown"
    for line in lines:
        assert len(line) <= width, f"{len(line)} > {width}: {line!r}"
    for token in whole:
        assert any(token in line for line in lines), f"{token!r} not shown whole at {width}"
        for k in range(1, len(token)):
            assert token[:k] + "…" not in text, f"{token!r} cut at {width}"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_morning_check_fits_the_terminal(caseload, width):
    code, text = on_terminal(width, "overdue", "--on", "2025-03-21", "--within", "3")
    assert code == 1  # west-sussex stage 1 is overdue
    expected = caseload("overdue", "--on", "2025-03-21", "--within", "3", "--json").json()
    whole = [LONG_REF, "WS-0457", "NT-1004-AB", *{i["deadline"] for i in expected}]
    check_fits(width, text, whole)
    assert "OVERDUE 7 working days" in text  # the state on one line
    assert "OVER…" not in text and "2026…" not in text and "(for…" not in text


@pytest.mark.parametrize("width", WIDTHS)
def test_the_list_fits_the_terminal(caseload, width):
    code, text = on_terminal(width, "list", "--on", "2025-03-21")
    assert code == 0
    rows = caseload("list", "--on", "2025-03-21", "--json").json()
    whole = [LONG_REF, "WS-0457", "NT-1004-AB"]
    whole += [d for c in rows for d in (c["deadline"], c["formal_deadline"]) if d]
    check_fits(width, text, whole)
    assert "KN-\n" not in text and "KN-/" not in text
    assert "OVERDUE 7 working days" in text and "7wd" not in text  # words on a terminal
    assert "OVERDUE 7wd" in caseload("list", "--on", "2025-03-21").stdout  # a pipe: as it was


@pytest.mark.parametrize("width", WIDTHS)
def test_show_fits_the_terminal(caseload, width):
    for ref in ("1", "2"):
        code, text = on_terminal(width, "show", ref, "--on", "2025-03-21")
        assert code == 0
        data = caseload("show", ref, "--on", "2025-03-21", "--json").json()
        dates = {data["deadline"], data["formal_deadline"], data["opened_on"]}
        dates |= {v[k] for v in data["stages"] for k in ("entered_on", "deadline", "left_on")}
        dates |= {e["on"] for e in data["events"]}
        check_fits(width, text, [data["child"], *(dates - {None})])
        # words, not slugs or abbreviations (issue 30 item 2)
        for slug in (" wd ", "aim-missed", "left-in-time", "guidance-pending"):
            assert slug not in text
    code, text = on_terminal(width, "show", LONG_REF, "--on", "2025-03-21")  # the child's list
    assert code == 0
    check_fits(width, text, [LONG_REF])


def test_show_says_whom_the_stage_is_addressed_to_and_what_comes_next(caseload):
    code, text = on_terminal(200, "show", "2", "--on", "2025-03-21")
    assert code == 0
    assert "Addressed to     Practice Manager" in text
    assert re.search(r"\nCategory +Care plan implementation *\n", text)  # not care-plan
    assert (
        "What comes next  a response from Practice Manager by 2025-03-12; if it is not "
        "resolved by then, escalate to Stage 2: Group Manager, addressed to Group Manager "
        "(`drp escalate 2`)." in text
    )


def test_in_a_pipe_the_check_is_the_plain_table(caseload):
    r = caseload("overdue", "--on", "2025-03-21")
    lines = r.stdout.splitlines()
    assert lines[0] == "Deadlines on 2025-03-21"
    assert lines[1].split() == ["ID", "Child", "Protocol", "Stage", "Deadline", "State",
                                "Responded", "Addressed", "to", "Owner", "Summary"]  # fmt: skip
    assert "┃" not in r.stdout and "…" not in lines[3].split("  ")[1]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_list_of_attachments_fits(monkeypatch, capsys, width):
    """`drp attachments`'s table (output.items_table): the date and the kind never cut, the
    SHA-256 the first left out."""
    from drp_cli.cli import output

    monkeypatch.setenv("COLUMNS", str(width))
    rows = [{"n": 1, "kind": "final-care-plan", "filename": "Care plan (final) March.pdf",
             "dated": "2025-03-04", "sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa742"
             "5e73043362938b9824", "added_on": "2025-03-05", "added_by": "Sam Patel (IRO)",
             "from_concern": None}]  # fmt: skip
    output.items_table(rows, ["kind", "filename", "dated", "sha256"])
    text = capsys.readouterr().out
    check_fits(width, text, ["final-care-plan", "2025-03-04", "2025-03-05"])
    assert "2cf24dba" in text or "(Sha256 left out to fit" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_drp_attachments_on_a_terminal_never_cuts_the_date(caseload, tmp_path, width):
    """`drp attachments` itself on a real terminal (cli/documents.py through
    output.items_table): the number, the kind and the date never cut."""
    letter = tmp_path / "letter-to-the-team-manager-about-contact.pdf"
    letter.write_bytes(b"%PDF-1.4\n%%EOF\n")
    r = caseload("attach", "1", str(letter), "--kind", "review-record", "--on", "2025-03-12")
    assert r.exit_code == 0, r.stderr
    status, text = on_terminal(width, "attachments", "1")
    assert status == 0, text
    check_fits(width, text, ["2025-03-12"])
