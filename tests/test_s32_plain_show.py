"""`drp show ID` into a pipe or a file writes its page without importing Rich (issue 32):
the very bytes Rich prints there, for every page of printable ASCII; any other page (a
character outside it, a word Rich would crop with an ellipsis, a documents table Rich sizes)
is printed by Rich itself."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drp_cli.cli import output
from tests.conftest import open_args


def rich_page(d: dict[str, Any]) -> str:
    """The page as Rich prints it where stdout is not a terminal (the way before)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        output._show_page(d, output.RichPage())
    return buf.getvalue()


def shown(d: dict[str, Any]) -> tuple[str, bool]:
    """What :func:`output.show` prints, and whether it was laid out without Rich."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        output.show(d)
    page = output.PlainPage(output.plain_width() or 0)
    try:
        output._show_page(d, page)
    except output.NotPlain:
        return buf.getvalue(), False
    return buf.getvalue(), True


@pytest.fixture
def page(drp: Callable[..., Any]) -> dict[str, Any]:
    """A concern with most of a page: steps, duties, stages, several events, a correction."""
    assert drp(*open_args(summary="Plan not implemented.\nSecond line of the summary"),
               "--impact", "Placement at risk", "--recommended", "Convene a meeting"
               ).exit_code == 0  # fmt: skip
    assert drp("respond", "1", "--from", "TM", "--text", "Will allocate",
               "--on", "2025-03-05").exit_code == 0  # fmt: skip
    assert drp("escalate", "1", "--on", "2025-03-12").exit_code == 0
    assert drp("note", "1", "--text", "Chased by phone", "--on", "2025-03-13").exit_code == 0
    result = drp("show", "1", "--json", "--on", "2025-04-01")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


#: the free text a page shows (never a slug the page looks up)
FREE = {"summary", "impact", "recommended", "child", "raised_by", "owner", "team", "text",
        "by", "title", "who", "outcome"}  # fmt: skip


def with_text(d: Any, texts: Iterator[str]) -> Any:
    """``d`` with each free text replaced by the next of ``texts``."""
    if isinstance(d, dict):
        return {k: next(texts) if k in FREE and isinstance(v, str) else with_text(v, texts)
                for k, v in d.items()}  # fmt: skip
    if isinstance(d, list):
        return [with_text(v, texts) for v in d]
    return d


#: words and the spaces and line breaks between them, now and then one longer than a column
ascii_text = st.lists(
    st.sampled_from(["a", "bc", "def", "Ghij", "klm-no", "(p)", "q,", "[r]", "s.", " ", "  ",
                     "\n", "x" * 23, "y" * 70]),
    max_size=40,
).map("".join)  # fmt: skip


@pytest.mark.parametrize("width", [40, 60, 79, 80, 100, 120, 200])
def test_a_page_without_rich_is_riches_page(
    page: dict[str, Any], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    text, plain = shown(page)
    assert plain
    assert text == rich_page(page)
    assert ("┏" in text or width < 60) and "Stages" in text and "Concern 1: OPEN" in text


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(texts=st.lists(ascii_text, min_size=60, max_size=60),
       width=st.integers(min_value=40, max_value=160))  # fmt: skip
def test_any_ascii_page_is_the_same_bytes(
    page: dict[str, Any], monkeypatch: pytest.MonkeyPatch, texts: list[str], width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    d = with_text(page, iter(texts * 10))
    text, _plain = shown(d)
    assert text == rich_page(d)


@pytest.mark.parametrize(
    "text",
    [
        "Café closed",  # not ASCII
        "a\ttab",  # shown as an escape
        "w" * 300,  # a word Rich crops in the grid ("…")
    ],
)
def test_what_plain_text_cannot_match_is_printed_by_rich(
    page: dict[str, Any], monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    d = {**page, "summary": text}
    out, plain = shown(d)
    assert not plain
    assert out == rich_page(d)


def test_the_documents_table_is_riches(page: dict[str, Any], drp: Callable[..., Any]) -> None:
    d = {**page, "items": [{"kind": "action", "n": 1, "text": "Allocate a social worker",
                            "added_on": "2025-03-03", "from_concern": None}]}  # fmt: skip
    out, plain = shown(d)
    assert not plain
    assert out == rich_page(d) and "For the documents" in out


@pytest.mark.parametrize(
    ("env", "plain"),
    [
        ({}, True),
        ({"FORCE_COLOR": "1"}, False),  # Rich writes styles
        ({"FORCE_COLOR": ""}, True),
        ({"TTY_COMPATIBLE": "1"}, False),
        ({"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, True),
        ({"COLUMNS": "30"}, False),  # narrower than the plain page lays out
    ],
)
def test_plain_only_where_rich_prints_no_styles(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], plain: bool
) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert (output.plain_width() is not None) is plain


def test_show_into_a_pipe_imports_no_rich(drp: Callable[..., Any], db_path: Path) -> None:
    assert drp(*open_args()).exit_code == 0
    script = (
        "import sys\n"
        "sys.argv = ['drp', 'show', '1', '--on', '2025-03-10']\n"
        "from drp_cli.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stdout.flush()\n"
        "print('@@', sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))\n"
    )
    env = {**os.environ, "DRP_DB": str(db_path), "COLUMNS": "100"}
    env.pop("FORCE_COLOR", None)
    env.pop("TTY_COMPATIBLE", None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env=env)  # fmt: skip
    page, _, modules = done.stdout.rpartition("@@ ")
    assert modules.strip() == "[]"
    assert page.startswith("Concern 1: OPEN") and "┃ Stage" in page


@pytest.fixture
def record(drp: Callable[..., Any]) -> int:
    """Concerns whose pages hold most of what a page can: a meeting, a bundle item not
    applicable, good practice, a referral, an amendment, a retraction, a hold, a second
    concern of the same child, a resolved and a withdrawn one. Returns how many."""

    def ok(*args: str) -> Any:
        result = drp(*args)
        assert result.exit_code == 0, (args, result.stderr)
        return result

    ok(*open_args(child="KN-1", on="2025-03-03"))
    ok(*open_args(child="KN-1", on="2025-03-04", summary="A second concern, with a much "
                  "longer summary that a narrow terminal folds over several lines"))  # fmt: skip
    ok(*open_args(child="KN-2", on="2025-01-06"))
    ok(*open_args(child="KN-3", on="2025-02-03"))
    ok("meeting", "1", "--attendees", "Practice Manager; Social Worker; IRO", "--text",
       "The PEP to be held by 28 March", "--actions", "SW to book the PEP by 21 March",
       "--on", "2025-03-05")  # fmt: skip
    ok("not-applicable", "1", "care-order", "--reason", "Accommodated under s.20")
    ok("good-practice", "1", "--text", "The manager arranged the PEP within two days")
    ok("refer", "1", "--senior-officer", "Group Manager", "--notified-on", "2025-03-12",
       "--method", "telephone", "--on", "2025-03-13", "--text", "Why now")  # fmt: skip
    ok("amend", "2", "--impact", "Not seen alone for 9 weeks.", "--reason", "Typo")
    ok("note", "2", "--text", "Phoned", "--on", "2025-03-06")
    note = ok("show", "2", "--json").json()["events"][-1]
    ok("retract", "2", str(note["seq"]), "--reason", "Wrong concern", "--on", "2025-03-07")
    ok("hold", "2", "--reason", "Inquiry", "--on", "2025-03-07")
    ok("respond", "3", "--from", "TM", "--text", "Will allocate", "--on", "2025-01-08")
    ok("escalate", "3", "--on", "2025-01-20")
    ok("resolve", "3", "--outcome", "Allocated\nand visited", "--on", "2025-02-10")
    ok("withdraw", "4", "--reason", "Raised in error")
    return 4


@pytest.mark.parametrize("width", [50, 72, 100, 160])
def test_every_page_of_a_varied_record_is_riches(
    record: int, drp: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    pages = []
    for cid in range(1, record + 1):
        d = drp("show", str(cid), "--json", "--on", "2025-03-20").json()
        text, plain = shown(d)
        assert plain, cid
        assert text == rich_page(d), cid
        pages.append(text)
    assert "\nMeeting 2025-03-05 (stage-1): " in pages[0]
    assert "\nBundle item care-order: not applicable: " in pages[0]
    assert "\nCorrection " in pages[1] and "\nNote: under a legal hold since " in pages[1]
    assert "WITHDRAWN" in pages[3]
