"""Paths a user gives are never echoed raw: ESC, OSC, BEL and newlines are shown as escapes
in every message that names them (issue 29 item 23; the sweep's finding 5)."""

from __future__ import annotations

import pytest

from tests.conftest import open_args

NASTY = "x\x1b]0;PWNED\x07\nl2"


def _clean(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text
    assert "PWNED\\x07\\x0al2" in text


@pytest.mark.parametrize("fmt", ["json", "sqlite"])
def test_backup_names_its_copy_escaped(drp, tmp_path, fmt, db_target):
    if fmt == "sqlite" and "://" in db_target:
        pytest.skip("a SQLite copy is of a SQLite database")
    assert drp(*open_args()).exit_code == 0
    r = drp("backup", str(tmp_path / f"{NASTY}.{fmt}"), "--format", fmt)
    assert r.exit_code == 0, r.stderr
    _clean(r.stdout)


def test_key_create_names_its_file_escaped(drp, tmp_path):
    assert drp(*open_args()).exit_code == 0
    r = drp("key", "create", str(tmp_path / f"k{NASTY}"))
    assert r.exit_code == 0, r.stderr
    _clean(r.stdout)


def test_an_error_naming_a_path_shows_it_escaped(drp, tmp_path):
    assert drp(*open_args()).exit_code == 0
    r = drp("restore", str(tmp_path / f"no-such-{NASTY}.json"))
    assert r.exit_code != 0
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr


def test_an_error_naming_the_database_shows_its_path_escaped(drp, tmp_path, db_target):
    if "://" in db_target:
        pytest.skip("a SQLite path")
    r = drp("--db", str(tmp_path / f"missing-{NASTY}.sqlite3"), "list")
    assert r.exit_code == 4
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert "PWNED\\x07" in r.stderr


@pytest.mark.parametrize("make", ["alert", "bundle", "calendar"])
def test_documents_name_what_they_wrote_escaped(drp, tmp_path, make):
    assert drp(*open_args()).exit_code == 0
    if make == "alert":
        args = ["alert", "1", "-o", str(tmp_path / f"a{NASTY}.md")]
    elif make == "bundle":
        args = ["bundle", "1", "-o", str(tmp_path / f"b{NASTY}")]
    else:
        args = ["calendar", "export", "--output", str(tmp_path / f"c{NASTY}.ics")]
    r = drp(*args)
    assert r.exit_code == 0, r.stderr
    _clean(r.stdout)
