"""The morning check's quick way in (drp_cli.cli.dailycheck.quick) against the Typer app.

``drp overdue`` with its everyday arguments is run without Typer; everything else goes to
the Typer command. Whatever the arguments, the quick way either leaves the command to Typer
having done nothing, or ends exactly as Typer would: the same standard output, the same
standard error, the same exit status. These tests hold it to that on a caseload of four
protocols with an action, a subject access request, text that would drive a terminal, and
damaged records; its options to the Typer command's own definition; and its edge (a bug, a
driver's error, Ctrl-C, a reader gone) to the app's.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drp_cli.cli.dailycheck import QUICK_OPTIONS, ROOT_OPTIONS, quick, quick_arguments
from tests.conftest import PG_URL
from tests.test_caseload_check import caseload

Outcome = tuple[int, str, str]


@pytest.fixture
def both(drp: Callable[..., Any], capsys: pytest.CaptureFixture[str]) -> Callable[..., Any]:
    """Run argv both ways: (the quick way's outcome or None where it left it to Typer, and
    the Typer app's outcome)."""

    def run(*argv: str) -> tuple[Outcome | None, Outcome]:
        capsys.readouterr()
        code = quick(list(argv))
        out, err = capsys.readouterr()
        fast = None if code is None else (code, out, err)
        if code is None:
            assert (out, err) == ("", ""), "the quick way printed before leaving it to Typer"
        r = drp(*argv)
        return fast, (r.exit_code, r.stdout, r.stderr)

    return run


@pytest.fixture
def record(tracker: Any, drp: Callable[..., Any]) -> None:
    """test_caseload_check's caseload, a staff directory's team, and a subject access request
    for KN-1 (received 2025-02-28: due a calendar month on)."""
    caseload(tracker)
    r = drp("subject-access", "KN-1", "--received", "2025-02-28")
    assert r.exit_code == 0, r.stderr


DAYS = ["2025-03-03", "2025-03-07", "2025-03-12", "2025-03-17", "2025-03-31", "2025-04-30"]
SAME = [
    *(["overdue", "--on", d] for d in DAYS),
    *(
        ["overdue", "--on", "2025-03-17", "--json", *extra]
        for extra in ([], ["--mine"], ["--within", "5"], ["--owner", "jo bloggs"])
    ),
    ["overdue", "--on", "2025-03-10", "--within", "2"],
    ["overdue", "--on", "2025-03-10", "--within", "007"],
    ["overdue", "--on", "2025-03-10", "--within", "0"],
    ["overdue", "--on", "2025-03-10", "--within", "260"],
    ["overdue", "--on", "2025-03-10", "--within", "261"],  # refused: exit 2
    ["overdue", "--on", "2025-03-10", "--within", "999999999"],
    ["overdue", "--on=2025-03-17", "--owner=Łukasz Nowak"],
    ["overdue", "--on", "2025-03-17", "--owner", "  TEST IRO "],
    ["overdue", "--on", "2025-03-17", "--owner", "Nobody"],  # a misspelt owner: exit 2
    ["overdue", "--on", "2025-03-17", "--owner", ""],
    ["overdue", "--on", "2025-03-17", "--owner="],
    ["overdue", "--on", "2025-03-17", "--team", "NORTH", "--mine"],
    ["overdue", "--on", "2025-03-17", "--team", "South", "--owner", "Test IRO"],
    ["overdue", "--on", "2025-03-17", "--team", "Nowhere"],
    ["overdue", "--mine", "--on", "17/03/2025"],
    ["overdue", "--on", "31/02/2025"],
    ["overdue", "--on", "yesterday"],
    ["overdue", "--on", ""],
    ["overdue", "--on", "2025-13-01"],
    ["overdue", "--on", "2025-W12-1"],
    ["overdue"],  # today
    ["--debug", "overdue", "--on", "2025-03-17"],
    ["--db", "{db}", "overdue", "--on", "2025-03-17", "--json"],
    ["--db={db}", "--debug", "overdue", "--on", "2025-03-28", "--within", "3"],
    ["--db", "{missing}", "overdue", "--on", "2025-03-17"],
    ["--db", "", "overdue", "--on", "2025-03-17"],
]


@pytest.mark.parametrize("argv", SAME, ids=" ".join)
def test_the_quick_way_ends_as_typer_does(both, record, tmp_path, db_target, argv):
    argv = [a.format(db=db_target, missing=tmp_path / "missing.sqlite3") for a in argv]
    for _ in range(3):  # without --on both ways read today: again if midnight fell between
        day = dt.date.today()
        fast, slow = both(*argv)
        if dt.date.today() == day:
            break
    assert fast is not None, "left to Typer"
    assert fast == slow
    assert slow[0] in (0, 1, 2, 4)


@pytest.mark.parametrize("value", ["", " ", "{missing}"])
def test_drp_db_is_read_the_same(both, record, tmp_path, monkeypatch, value):
    monkeypatch.setenv("DRP_DB", value.format(missing=tmp_path / "missing.sqlite3"))
    fast, slow = both("overdue", "--on", "2025-03-17")
    assert fast == slow
    assert slow[0] in (2, 4)


def test_the_outcomes_cover_what_matters(both, record):
    """The matrix above reaches each kind of ending: all clear, overdue, refused, damaged."""
    outcomes = {both(*argv)[1][0] for argv in (["overdue", "--on", "2025-03-03"],
                                               ["overdue", "--on", "2025-03-17"],
                                               ["overdue", "--on", "31/02/2025"])}  # fmt: skip
    assert outcomes == {0, 1, 2}


LEFT_TO_TYPER = [
    ["overdue", "--eml", "out"],
    ["overdue", "--send"],
    ["overdue", "--to", "a@example.org"],
    ["overdue", "--force"],
    ["overdue", "--no-force"],
    ["overdue", "--help"],
    ["overdue", "-h"],
    ["overdue", "--on"],
    ["overdue", "--within", "-1"],
    ["overdue", "--within", "1.5"],
    ["overdue", "--within", " 2"],
    ["overdue", "--within", "+2"],
    ["overdue", "--within", "٢"],
    ["overdue", "--within", "1234567890"],
    ["overdue", "--json=1"],
    ["overdue", "--mine=yes"],
    ["overdue", "--owner", "-x"],
    ["overdue", "--owner", "--mine"],
    ["overdue", "--on", "2025-03-17", "--on", "2025-03-18"],
    ["overdue", "--mine", "--mine"],
    ["overdue", "extra"],
    ["overdue", "--"],
    ["overdue", "-"],
    ["--version", "overdue"],
    ["--debug", "--debug", "overdue"],
    ["overdue", "--db", "x"],
    ["overdue", "--debug"],
    ["list", "overdue"],
    ["--db"],
    ["overdue-x"],
    [],
]


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=" ".join)
def test_anything_else_is_left_to_typer(both, record, argv):
    assert quick_arguments(argv) is None
    fast, _ = both(*argv)
    assert fast is None


def test_shell_completion_and_streams_not_utf8_are_left_to_typer(record, monkeypatch):
    argv = ["overdue", "--on", "2025-03-17"]
    monkeypatch.setenv("_DRP_COMPLETE", "complete_bash")
    assert quick(argv) is None
    monkeypatch.delenv("_DRP_COMPLETE")

    class Ascii:
        encoding = "ascii"

    for stream in ("stdout", "stderr"):
        with monkeypatch.context() as m:
            m.setattr(sys, stream, Ascii())
            assert quick(argv) is None
    # an argument that is not UTF-8 (as Python hands it on): the app refuses it in its words
    assert quick(["overdue", "--owner", "\udcff"]) is None


def test_the_check_shows_stored_text_safely_both_ways(both, record, sql):
    """A child's reference, an owner and a summary holding an escape, a bidi override and a
    newline (stored outside drp): shown as escapes, the same both ways, table and JSON."""
    sql("UPDATE concern SET child = :c, owner = :o, summary = :s WHERE id = 2",
        c="WS\x1b[31m-2", o="Jo\u202eBloggs", s="Care\nplan\x07")  # fmt: skip
    for extra in ([], ["--json"], ["--owner", "jo\u202ebloggs"]):
        fast, slow = both("overdue", "--on", "2025-03-17", *extra)
        assert fast == slow
        if "--json" in extra:  # JSON escapes control characters; a bidi override is text
            assert "\x1b" not in slow[1] and "WS\\u001b[31m-2" in slow[1]
        else:
            assert "\x1b" not in slow[1] and "\u202e" not in slow[1]
            assert "WS\\x1b[31m-2" in slow[1]


def test_a_damaged_record_is_refused_the_same(both, record, sql):
    sql("UPDATE concern SET deadline_kind = 'soon' WHERE id = 2")  # a kind drp never writes
    fast, slow = both("overdue", "--on", "2025-03-17")
    assert fast == slow
    assert slow[0] == 4 and slow[1] == ""


def test_a_file_that_is_no_database_is_refused_the_same(both, tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not a database\n" * 100)
    folder = tmp_path / "folder"
    folder.mkdir()
    for target in (junk, folder):
        fast, slow = both("--db", str(target), "overdue", "--on", "2025-03-17")
        assert fast == slow
        assert slow[0] == 4


@pytest.mark.parametrize(
    "raised",
    [
        RuntimeError("a bug, with a child's name KN-1 in it"),
        ValueError("embedded null byte"),
        OSError(28, "No space left on device", "/some/where/drp.sqlite3"),
        OSError(13, "Permission denied"),
        KeyboardInterrupt(),
        EOFError(),
    ],
    ids=lambda e: type(e).__name__ + str(getattr(e, "errno", "") or ""),
)
@pytest.mark.parametrize("debug", [False, True])
def test_the_edge_is_the_apps(both, record, monkeypatch, raised, debug):
    """What the check raises ends the same both ways (with --debug, the traceback's frames
    differ: the last line is the same)."""
    from drp_cli.services import morning

    def check(*args: Any, **kwargs: Any) -> Any:
        raise raised

    monkeypatch.setattr(morning, "check", check)
    argv = [*(["--debug"] if debug else []), "overdue", "--on", "2025-03-17"]
    fast, slow = both(*argv)
    assert fast is not None
    if debug:
        assert fast[:2] == slow[:2]
        assert fast[2].splitlines()[-1:] == slow[2].splitlines()[-1:]
    else:
        assert fast == slow
    assert "KN-1" not in fast[2] or debug


def test_a_driver_error_is_put_in_words_the_same(both, record, monkeypatch):
    import sqlite3

    from drp_cli.services import morning

    def check(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(morning, "check", check)
    fast, slow = both("overdue", "--on", "2025-03-17")
    assert fast == slow
    assert slow[0] == 4 and slow[2].startswith("Error: ")


def test_the_options_are_the_typer_commands(tmp_path):
    """Each option the quick way reads is the Typer command's: its name, the parameter it
    fills, whether it takes a value, no callback, no environment variable (but --db's), no
    --no-form, one value; and --within a whole number, the rest text or a flag."""
    from drp_cli.cli.app import app, load_command

    command = load_command("overdue")
    root = {o: p for p in __import__("typer").main.get_group(app).params for o in p.opts}
    own = {o: p for p in command.params for o in p.opts}
    for table, params in ((ROOT_OPTIONS, root), (QUICK_OPTIONS, own)):
        for option, (name, valued) in table.items():
            p = params[option]
            assert p.name == name
            assert (not p.is_flag) == valued
            assert p.secondary_opts == [] and p.nargs == 1 and not p.multiple
            assert p.callback is None and not p.required
            if p.is_flag:
                assert p.default is False
            else:
                assert p.default == (0 if name == "within" else None)
            # --db's variable: read by the store itself where --db is not given
            assert p.envvar == ("DRP_DB" if option == "--db" else None)
    assert own["--within"].type_descriptor.annotation is int
    for option in ("--on", "--owner", "--team"):
        assert own[option].type_descriptor.annotation is str  # None: absent
    # what the quick way does not read is left to Typer by name: no option of the check is
    # read under another name
    assert set(QUICK_OPTIONS) < set(own)


TOKENS = ["overdue", "--on", "--within", "--owner", "--team", "--mine", "--json", "--db",
          "--debug", "2025-03-17", "2025-03-12", "17/03/2025", "2", "0", "261", "Test IRO",
          "jo bloggs", "North", "--on=2025-03-10", "--within=1", "--owner=", "-x", "",
          "{db}", "--eml", "--send", "x"]  # fmt: skip


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(argv=st.lists(st.sampled_from(TOKENS), max_size=7))
def test_any_arguments_end_as_typer_ends_them(both, record, db_target, argv):
    """Whatever the arguments: left to Typer, or ended exactly as Typer ends them."""
    argv = [a.format(db=db_target) for a in argv]
    fast, slow = both(*argv)
    if fast is not None:
        assert fast == slow


# -- as a process ---------------------------------------------------------------------------
TYPER_APP = "import sys; from drp_cli.cli import app; app(prog_name='drp')"


def _drp(args: list[str], env: dict[str, str], typer: bool, **kw: Any) -> Any:
    command = [sys.executable, "-c", TYPER_APP] if typer else [sys.executable, "-m", "drp_cli"]
    if "stdout" in kw:
        return subprocess.run([*command, *args], env=env, stderr=subprocess.PIPE, **kw)
    return subprocess.run([*command, *args], env=env, capture_output=True, **kw)


@pytest.mark.skipif(PG_URL is not None, reason="one engine is enough for the process edge")
def test_a_process_ends_the_same_both_ways(record, db_target):
    env = {**os.environ, "DRP_DB": db_target}
    for args in (["overdue", "--on", "2025-03-17"], ["overdue", "--on", "2025-03-03"],
                 ["overdue", "--within", "300"]):  # fmt: skip
        fast, slow = _drp(args, env, False), _drp(args, env, True)
        assert (fast.returncode, fast.stdout, fast.stderr) == (
            slow.returncode, slow.stdout, slow.stderr)  # fmt: skip


@pytest.mark.skipif(PG_URL is not None, reason="one engine is enough for the process edge")
def test_a_reader_gone_ends_the_same_both_ways(record, db_target):
    """`drp overdue | true`: the reader closes the pipe before the check writes."""
    env = {**os.environ, "DRP_DB": db_target}
    outcomes = []
    for typer in (False, True):
        read, write = os.pipe()
        os.close(read)
        try:
            done = _drp(["overdue", "--on", "2025-03-17"], env, typer, stdout=write)
        finally:
            os.close(write)
        outcomes.append((done.returncode, done.stderr))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 1


@pytest.mark.parametrize("debug", [False, True])
def test_a_bug_says_its_kind_or_with_debug_its_traceback(both, record, monkeypatch, debug):
    """The one edge (drp_cli.cli.edge.ended), both ways: a bug's line names its kind only
    (exit 70); with --debug the traceback is shown in its place (it may hold personal data:
    asked for), never both."""
    from drp_cli.services import morning

    def check(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("KN-1")

    monkeypatch.setattr(morning, "check", check)
    argv = [*(["--debug"] if debug else []), "overdue", "--on", "2025-03-17"]
    for code, out, err in both(*argv):
        assert (code, out) == (70, "")
        if debug:
            assert err.startswith("Traceback (most recent call last):\n")
            assert err.endswith("RuntimeError: KN-1\n") and "internal error" not in err
        else:
            assert err == (
                "Error: internal error (RuntimeError); nothing more is shown because it may "
                "hold personal data: run again with --debug for details\n"
            )
