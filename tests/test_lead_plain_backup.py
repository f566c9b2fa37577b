"""A JSON backup of an encrypted database is never readable by default (the sweep's finding:
`drp backup b.json --format json` wrote every child's record in plain text, with no word):
refused, exit 2, writing nothing and recording no read, unless --encrypt or, on purpose,
--plain (to move the record to PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from tests.test_t31enc_encryption import CHILD, _populate, key_file, needs_sqlite  # noqa: F401

REFUSED = (
    "Error: the database is encrypted: a JSON backup would hold every child's record "
    "readable; give --encrypt, or --plain to write it readable on purpose\n"
)


@needs_sqlite
def test_a_plain_json_backup_of_an_encrypted_database_is_refused(
    drp,
    key_file: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    assert drp("init", "--encrypted").exit_code == 0
    _populate(drp)
    reads = [r for r in drp("audit", "--json").json() if r["action"] == "backup"]
    out = tmp_path / "b.json"
    r = drp("backup", str(out), "--format", "json")
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", REFUSED)
    assert not out.exists()
    backups = [r for r in drp("audit", "--json").json() if r["action"] == "backup"]
    assert backups == reads == []  # bad input records nothing
    r = drp("backup", str(out), "--format", "json", "--plain")
    assert r.exit_code == 0, r.stderr
    assert CHILD in out.read_text(encoding="utf-8")  # on purpose: readable
    r = drp("backup", str(tmp_path / "c.json"), "--format", "json", "--plain", "--encrypt")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --plain is for --format json without --encrypt\n")  # fmt: skip


def test_a_plain_database_backs_up_to_json_as_before(drp, tmp_path: Path) -> None:
    _populate(drp)
    r = drp("backup", str(tmp_path / "b.json"), "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert CHILD in (tmp_path / "b.json").read_text(encoding="utf-8")
