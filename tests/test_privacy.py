"""Free text stays out of error messages, and need never be on the command line (where `ps`
and the shell's history keep it): every free-text option takes `-` (standard input) and
`@FILE`, and the recording commands take `--edit`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import open_args

SECRET = "was hit by his carer"


def events(drp) -> list[dict]:
    return drp("show", "1", "--json").json()["events"]


def test_extra_arguments_are_counted_not_shown(drp):
    drp(*open_args())
    r = drp("note", "1", "--text", "Child", *SECRET.split())
    assert r.exit_code == 2
    assert r.stderr.endswith(
        "Error: Got 5 unexpected extra arguments (not shown): put text with spaces in quotes, "
        "or use --text - to read it from standard input\n"
    )
    for word in SECRET.split():
        assert word not in r.stderr + r.stdout
    r = drp("resolve", "1", "--outcome", "x", "carer")
    assert "Got 1 unexpected extra argument (not shown)" in r.stderr
    assert "carer" not in r.stderr


def test_extra_arguments_after_a_subcommand_group_too(drp):
    r = drp("calendar", "closures", "hit", "by")
    assert r.exit_code == 2 and "Got 2 unexpected extra arguments" in r.stderr
    assert "hit" not in r.stderr


def test_a_bad_choice_and_a_bad_command_are_not_echoed(drp):
    drp(*open_args())
    r = drp("voice", "1", "Jayden said no")
    assert r.exit_code == 2 and "Jayden" not in r.stderr
    assert "is not one of 'wishes-sought'" in r.stderr
    r = drp("Jayden is scared")
    assert r.exit_code == 2 and "Jayden" not in r.stderr
    assert "No such command" in r.stderr
    r = drp("escalate", "Jayden")
    assert r.exit_code == 2 and "Jayden" not in r.stderr
    # `show` takes a reference too: what matches nothing is not found, and not repeated
    r = drp("show", "Jayden")
    assert (r.exit_code, r.stderr) == (3, "Error: no concern with that id or reference\n")


def test_text_from_standard_input(drp):
    drp(*open_args())
    r = drp(
        "note", "1", "--text", "-", "--on", "2025-03-04", input=f"Child {SECRET}.\nSecond line\n"
    )
    assert r.exit_code == 0, r.stderr
    assert events(drp)[-1]["text"] == f"Child {SECRET}.\nSecond line"


def test_summary_from_a_file(drp, tmp_path):
    source = tmp_path / "summary.txt"
    source.write_text("No social worker for 9 weeks; \u00e9t\u00e9 notes.\n", encoding="utf-8")
    r = drp(*open_args(summary=f"@{source}"), "--impact", "@@home is where")
    assert r.exit_code == 0, r.stderr
    c = drp("show", "1", "--json").json()
    assert c["events"][0]["text"] == "No social worker for 9 weeks; \u00e9t\u00e9 notes."
    assert c["impact"] == "@home is where"  # @@ is a literal @


def test_a_missing_file_is_one_line(drp, tmp_path, sql):
    drp(*open_args())
    before = sql("select count(*) from event")
    missing = tmp_path / "nope.txt"
    r = drp("note", "1", "--text", f"@{missing}", "--on", "2025-03-04")
    assert (r.exit_code, r.stderr, r.stdout) == (
        2, f"Error: cannot read {missing}: No such file or directory\n", ""
    )  # fmt: skip
    assert sql("select count(*) from event") == before


def test_a_file_that_is_not_utf8_is_refused(drp, tmp_path):
    drp(*open_args())
    source = tmp_path / "latin1.txt"
    source.write_bytes("caf\u00e9 with carer".encode("latin-1"))
    r = drp("note", "1", "--text", f"@{source}", "--on", "2025-03-04")
    assert (r.exit_code, r.stderr) == (2, f"Error: {source} is not UTF-8 text\n")
    r = drp("note", "1", "--text", "-", "--on", "2025-03-04", input=b"caf\xe9")  # bytes
    assert (r.exit_code, r.stderr) == (2, "Error: standard input is not UTF-8 text\n")


def test_standard_input_is_read_once(drp):
    r = drp(*open_args(summary="-"), "--impact", "-", input="x")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --summary and --impact both ask for standard input (-); give one of them "
        "with @FILE\n",
    )  # fmt: skip


def test_every_free_text_option_takes_a_file(drp, tmp_path):
    """--summary --impact --recommended --note --text --curtailed --outcome --reason
    --description --how --involvement, through the commands that have them."""
    text = tmp_path / "t.txt"
    text.write_text("From the file")
    f = f"@{text}"
    on = ["--on", "2025-03-04"]
    doc = tmp_path / "plan.txt"
    doc.write_text("plan")
    steps = [
        open_args(summary=f, impact=f, recommended=f),
        ["escalate", "1", "--note", f, *on],
        ["respond", "1", "--text", f, *on],
        ["note", "1", "--text", f, *on],
        ["voice", "1", "wishes-sought", "--text", f, *on],
        ["wishes", "add", "1", "--text", f, "--how", f, *on],
        ["needs", "add", "1", "--text", f, *on],
        ["action", "add", "1", "--text", f, "--owner", "SW", *on],
        ["person", "add", "1", "--kind", "important-person", "--name", "Gran",
         "--relationship", "grandmother", "--involvement", f, *on],
        ["action", "remove", "1", "1", "--reason", f, *on],
        ["attach", "1", str(doc), "--kind", "care-plan", "--description", f, *on],
        ["refer", "1", "--curtailed", f, "--text", f, *on],
        ["resolve", "1", "--outcome", f, *on],
        ["calendar", "close", "2025-12-29", "--reason", f],
    ]  # fmt: skip
    for args in steps:
        r = drp(*args)
        assert r.exit_code == 0, (args, r.stderr)
    c = drp("show", "1", "--json").json()
    assert "@" not in str(c)
    assert c["impact"] == c["recommended"] == c["outcome"] == "From the file"
    texts = [e["text"] for e in c["events"] if e["text"]]
    # item events describe the item ("Wishes and feelings 1: <text>"); person and attach
    # events name the person and the file
    assert sum(t.endswith("From the file") for t in texts) == 11, texts
    assert drp("calendar", "closures", "--json").json()[0]["reason"] == "From the file"
    r = drp("withdraw", "1", "--reason", f, *on)
    assert r.exit_code == 1  # resolved already: refused by the rules, but the text was read


# -- --edit ------------------------------------------------------------------------------------
@pytest.fixture
def editor(tmp_path, monkeypatch) -> Path:
    """EDITOR set to a script that writes into the file it is given, and notes the file's
    name and mode; standard input taken to be a terminal."""
    from drp_cli.cli import textarg

    log = tmp_path / "editor.log"
    script = tmp_path / "fake-editor"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, stat, sys\n"
        "path = sys.argv[-1]\n"
        f"open({str(log)!r}, 'w').write(path + ' ' + oct(stat.S_IMODE(os.stat(path).st_mode)))\n"
        "open(path, 'w').write(os.environ.get('FAKE_TEXT', 'Written in the editor\\n'))\n"
        "sys.exit(int(os.environ.get('FAKE_STATUS', '0')))\n"
    )
    script.chmod(0o700)
    monkeypatch.setenv("EDITOR", f"{script} --wait")
    monkeypatch.setattr(textarg, "stdin_is_terminal", lambda: True)
    return log


def test_edit_writes_the_text_in_the_editor(drp, editor):
    drp(*open_args())
    r = drp("note", "1", "--edit", "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr
    assert events(drp)[-1]["text"] == "Written in the editor"
    path, mode = editor.read_text().split()
    assert mode == "0o600"
    assert not os.path.exists(path)  # deleted afterwards
    assert os.path.basename(path).startswith("drp-text-")


def test_edit_for_a_required_text(drp, editor, monkeypatch):
    monkeypatch.setenv("FAKE_TEXT", "Summary from the editor")
    args = [a for a in open_args() if a not in ("--summary", open_args()[8])]
    r = drp(*args, "--edit")
    assert r.exit_code == 0, r.stderr
    assert events(drp)[0]["text"] == "Summary from the editor"


def test_edit_refusals(drp, editor, monkeypatch, sql):
    from drp_cli.cli import textarg

    drp(*open_args())
    before = sql("select count(*) from event")
    r = drp("note", "1", "--edit", "--text", "x")
    assert (r.exit_code, r.stderr) == (2, "Error: give --text or --edit, not both\n")
    monkeypatch.setenv("FAKE_STATUS", "3")
    r = drp("note", "1", "--edit")
    assert (r.exit_code, r.stderr) == (
        2, "Error: the editor exited with status 3; nothing was recorded\n"
    )  # fmt: skip
    monkeypatch.delenv("FAKE_STATUS")
    monkeypatch.setenv("FAKE_TEXT", "   \n")
    r = drp("note", "1", "--edit", "--on", "2025-03-04")
    assert r.exit_code == 2 and "--text must not be empty" in r.stderr
    monkeypatch.setenv("EDITOR", "/no/such/editor")
    r = drp("note", "1", "--edit")
    assert (r.exit_code, r.stderr) == (
        2, "Error: cannot run the editor /no/such/editor: No such file or directory\n"
    )  # fmt: skip
    monkeypatch.setattr(textarg, "stdin_is_terminal", lambda: False)
    r = drp("note", "1", "--edit")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --edit needs a terminal; use --text - to read standard input\n"
    )  # fmt: skip
    assert sql("select count(*) from event") == before


def test_a_missing_text_says_how_to_give_it(drp):
    drp(*open_args())
    r = drp("note", "1")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --text is required: give --text TEXT, --text - (standard input), --text "
        "@FILE, or --edit\n",
    )  # fmt: skip


def test_the_edit_file_is_private_even_with_a_loose_umask(drp, editor):
    old = os.umask(0o022)
    try:
        drp(*open_args())
        assert drp("note", "1", "--edit", "--on", "2025-03-04").exit_code == 0
    finally:
        os.umask(old)
    assert editor.read_text().split()[1] == "0o600"
