"""drp's own export into another database (issue 30, "The sheet"): the attached files come
too, or the import is refused before anything is written; the new ids are said."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import open_args


@pytest.fixture
def exported(drp, tmp_path, db_path: Path) -> dict[str, Path]:
    """A database with three concerns, the second with an attached file, exported every
    way (and where its attachments store is)."""
    for child in ("KN-1", "KN-2", "KN-3"):
        assert drp(*open_args(child=child)).exit_code == 0
    doc = tmp_path / "care-order.pdf"
    doc.write_text("the care order\n")
    r = drp("attach", "2", str(doc), "--kind", "care-order", "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr
    out = {"store": db_path.parent / f"{db_path.stem}-attachments"}
    for fmt, name in (("json", "export.json"), ("csv", "export.csv"), ("xlsx", "export.xlsx"),
                      ("csv", "folder")):  # fmt: skip
        out[name] = tmp_path / name
        r = drp("export", "--format", fmt, "-o", str(out[name]), "--on", "2025-03-05")
        assert r.exit_code == 0, r.stderr
    return out


@pytest.mark.parametrize("name", ["export.json", "export.csv", "export.xlsx", "folder"])
def test_an_export_with_attached_files_needs_them(drp, tmp_path, exported, name):
    other = tmp_path / "central.sqlite3"
    if name == "folder":  # the folder carries them: attachments/SHA-256
        (copy,) = (exported[name] / "attachments").iterdir()
        copy.unlink()
    r = drp("--db", str(other), "import", str(exported[name]))
    assert (r.exit_code, r.stderr) == (2, "Error: the export refers to 1 attached file; give "
                                          "--attachments DIR (the folder that holds them: the "
                                          "exporting database's attachments folder, "
                                          "DATABASE-attachments)\n")  if name != "folder" else (
        2, f"Error: the export refers to 1 attached file; 1 of them is not in "
           f"{exported[name]}/attachments (give --attachments DIR: the folder that holds them, "
           "such as the exporting database's DATABASE-attachments)\n")  # fmt: skip
    assert not other.exists()  # refused before anything was written
    empty = tmp_path / "empty"
    empty.mkdir()
    r = drp("--db", str(other), "import", str(exported[name]), "--attachments", str(empty))
    assert r.exit_code == 2 and "1 of them is not in" in r.stderr
    assert not other.exists()


@pytest.mark.parametrize("name", ["export.json", "export.xlsx", "folder"])
def test_an_export_brings_its_attached_files_and_says_the_new_ids(drp, tmp_path, exported, name):
    other = tmp_path / "central.sqlite3"
    # the central database already holds a concern: the imported ones are renumbered
    assert drp("--db", str(other), *open_args(child="KN-9")).exit_code == 0
    r = drp("--db", str(other), "import", str(exported[name]), "--attachments",
            str(exported["store"]))  # fmt: skip
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Imported 3 of 3 rows."
    assert lines[1] == "Carried 1 attached file into the attachments store."
    refs = [ln.split()[-1] for ln in lines[3:]]
    if name == "export.json":  # the JSON export gives no ids: the new ones, by reference
        assert lines[2] == "The concerns' ids here (the export gives none):"
        assert [ln.split()[0] for ln in lines[3:]] == ["2", "3", "4"]
    else:
        assert lines[2] == "Ids in the export -> ids here:"
        assert [ln.split()[:3] for ln in lines[3:]] == [["1", "->", "2"], ["2", "->", "3"],
                                                         ["3", "->", "4"]]  # fmt: skip
    assert len(refs) == 3
    assert drp("--db", str(other), "verify").exit_code == 0
    shown = drp("--db", str(other), "show", "3", "--json").json()
    assert [a["filename"] for a in shown["attachments"]] == ["care-order.pdf"]


def test_the_json_mapping(drp, tmp_path, exported):
    other = tmp_path / "central.sqlite3"
    assert drp("--db", str(other), *open_args(child="KN-9")).exit_code == 0
    r = drp("--db", str(other), "import", str(exported["export.xlsx"]), "--attachments",
            str(exported["store"]), "--json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    got = r.json()
    assert got["attachments"] == 1
    assert [(m["old_id"], m["id"]) for m in got["renumbered"]] == [(1, 2), (2, 3), (3, 4)]


def test_files_named_by_their_sha256_and_a_false_one(drp, tmp_path, exported):
    store = exported["store"]
    (stored,) = [p for p in store.rglob("*") if p.is_file() and len(p.name) == 64]
    flat = tmp_path / "files"
    flat.mkdir()
    shutil.copy(stored, flat / stored.name)
    other = tmp_path / "central.sqlite3"
    r = drp("--db", str(other), "import", str(exported["export.json"]), "--attachments", str(flat))
    assert r.exit_code == 0, r.stderr
    assert drp("--db", str(other), "verify").exit_code == 0
    (flat / stored.name).write_text("not the care order\n")
    third = tmp_path / "third.sqlite3"
    r = drp("--db", str(third), "import", str(exported["export.json"]), "--attachments", str(flat))
    assert (r.exit_code, r.stderr) == (2, f"Error: {flat / stored.name} is not the attached file "
                                          "of that SHA-256 (its content differs); nothing was "
                                          "imported\n")  # fmt: skip
    assert not third.exists()


def test_an_export_without_attachments_needs_no_folder(drp, tmp_path, db_path):
    assert drp(*open_args(child="KN-1")).exit_code == 0
    out = tmp_path / "plain.json"
    assert drp("export", "--format", "json", "-o", str(out)).exit_code == 0
    other = tmp_path / "central.sqlite3"
    r = drp("--db", str(other), "import", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    # into an empty database the ids are as they were: nothing renumbered, nothing said
    assert "attachments" not in r.json() and "renumbered" not in json.loads(r.stdout)
    r = drp("--db", str(other), "import", str(out))  # known: skipped, nothing renumbered
    assert r.stdout == "Imported 0 of 1 rows; 1 already in the database.\n"


def test_the_export_folder_carries_the_attached_files(drp, tmp_path, exported):
    (copy,) = (exported["folder"] / "attachments").iterdir()
    assert copy.read_text() == "the care order\n" and copy.stat().st_mode & 0o777 == 0o600
    other = tmp_path / "central.sqlite3"
    r = drp("--db", str(other), "import", str(exported["folder"]))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[:2] == [
        "Imported 3 of 3 rows.",
        "Carried 1 attached file into the attachments store.",
    ]
    assert drp("--db", str(other), "verify").exit_code == 0
    # written by drp: --force replaces it
    r = drp("export", "--format", "csv", "-o", str(exported["folder"]), "--force")
    assert r.exit_code == 0, r.stderr
