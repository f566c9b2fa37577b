"""Nothing drp writes can destroy the record: no bundle, alert form, export or backup is
written over (or into, or around) the database, its side files or the attachment store, and
``--force`` replaces only what drp itself wrote there before.

After every refusal the record is checked: ``drp show 1 --json`` gives what it gave before,
``drp verify`` passes, and every other file under the test folder is byte for byte the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drp_cli.adapters import outpaths
from drp_cli.adapters.outpaths import check_output, protected_paths
from drp_cli.core.errors import InvalidInput
from drp_cli.render import documents
from drp_cli.services.tracker import Tracker
from tests.conftest import PG_URL, open_args

Drp = Callable[..., Any]


# -- helpers -------------------------------------------------------------------------------
def make_record(drp: Drp, tmp_path: Path) -> dict[str, Any]:
    """A concern with a response and an attached file (so the attachment store exists)."""
    assert drp(*open_args()).exit_code == 0
    drp("respond", "1", "--text", "Worker from Monday", "--from", "HoS", "--on", "2025-03-04")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "plan.txt").write_text("the care plan\n")
    r = drp("attach", "1", str(docs / "plan.txt"), "--kind", "care-plan", "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr
    return shown(drp)


def shown(drp: Drp) -> dict[str, Any]:
    r = drp("show", "1", "--json", "--on", "2025-03-20")
    assert r.exit_code == 0, r.stderr
    return r.json()


def create_database(drp: Drp, path: Path) -> None:
    r = drp("--db", str(path), "init")
    assert r.exit_code == 0, r.stderr


def store_of(db_target: str) -> Any:
    from drp_cli.store.connection import Store

    return Store(db_target)


def attachments_dir(db_target: str) -> Path:
    store = store_of(db_target)
    try:
        return Path(store.attachments_dir)
    finally:
        store.close()


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with its contents' digest, but SQLite databases (their
    bytes move with checkpoints: the record is checked through drp instead)."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        if path.name.endswith(".sqlite3"):
            found[rel] = "a SQLite database"
            continue
        if path.is_symlink():
            found[rel] = "link -> " + os.readlink(path)
        elif path.is_dir():
            found[rel] = "folder"
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


class Record:
    """The record as it was, to check it is unchanged after a refusal."""

    def __init__(self, drp: Drp, tmp_path: Path, db_target: str) -> None:
        self.drp = drp
        self.root = tmp_path
        self.db_target = db_target
        self.show = make_record(drp, tmp_path)
        self.files = snapshot(tmp_path)
        self.store = attachments_dir(db_target)

    def intact(self) -> None:
        assert shown(self.drp) == self.show
        r = self.drp("verify")
        assert r.exit_code == 0, r.stdout + r.stderr
        assert snapshot(self.root) == self.files
        if not PG_URL:
            assert Path(self.db_target).is_file()
        stored = [p for p in self.store.rglob("*") if p.is_file()]
        assert len(stored) == 1 and stored[0].read_text() == "the care plan\n"

    def refused(self, *args: str, says: str) -> None:
        r = self.drp(*args)
        assert r.exit_code == 2, (r.stdout, r.stderr)
        assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
        assert says in r.stderr, r.stderr
        assert "KN-2231" not in r.stderr and "Traceback" not in r.stderr
        self.intact()


@pytest.fixture
def record(drp: Drp, tmp_path: Path, db_target: str) -> Record:
    return Record(drp, tmp_path, db_target)


# -- bundles -------------------------------------------------------------------------------
@pytest.mark.parametrize("force", [[], ["--force"]])
def test_bundle_into_the_database_folder_is_refused(record, tmp_path, force):
    # on SQLite tmp_path holds the database; on PostgreSQL it holds the attachment store
    holds = "drp's attachment store" if PG_URL else "drp's database"
    record.refused("bundle", "1", "-o", str(tmp_path), *force, says=f"it holds {holds}")


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_bundle_onto_or_inside_the_attachment_store_is_refused(record, force):
    store = record.store
    assert store.is_dir()
    record.refused("bundle", "1", "-o", str(store), *force, says="it is drp's attachment store")
    for inside in (store / "bundle", store / next(store.iterdir()).name):
        record.refused(
            "bundle", "1", "-o", str(inside), *force, says="it is inside drp's attachment store"
        )
    assert not (store / "bundle").exists()


def test_a_symbolic_link_does_not_hide_the_store(record, tmp_path):
    link = tmp_path / "looks-harmless"
    link.symlink_to(record.store, target_is_directory=True)
    record.files = snapshot(tmp_path)
    record.refused("bundle", "1", "-o", str(link), "--force", says="drp's attachment store")
    record.refused(
        "bundle", "1", "-o", str(link / "new"), says="it is inside drp's attachment store"
    )


def test_force_replaces_an_earlier_bundle_and_says_so(drp, tracker, tmp_path):
    assert drp(*open_args()).exit_code == 0
    out = tmp_path / "bundle"
    first = documents.bundle(tracker, 1, out, on="2025-06-25")
    assert first.replaced is False
    assert (out / outpaths.BUNDLE_MARKER).is_file()
    assert outpaths.BUNDLE_MARKER not in first.files
    again = documents.bundle(tracker, 1, out, force=True, on="2025-06-26")
    assert again.replaced is True and again.files == first.files
    assert "Thu 26 June 2025" in (out / "index.md").read_text()
    r = drp("bundle", "1", "-o", str(out), "--force", "--on", "2025-06-27")
    assert r.exit_code == 0, r.stderr
    assert "Fri 27 June 2025" in (out / "index.md").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]  # no leftovers


def test_cli_says_it_replaced_a_bundle(drp, tmp_path):
    drp(*open_args())
    out = tmp_path / "bundle"
    assert drp("bundle", "1", "-o", str(out)).exit_code == 0
    r = drp("bundle", "1", "-o", str(out), "--force")
    assert r.exit_code == 0 and "replaced" in r.stdout.replace(str(out), "").lower()


def test_force_refuses_a_folder_with_other_files(record, tmp_path):
    out = tmp_path / "bundle"
    assert record.drp("bundle", "1", "-o", str(out)).exit_code == 0
    (out / "my notes.txt").write_text("not drp's")
    record.files = snapshot(tmp_path)
    record.refused("bundle", "1", "-o", str(out), "--force", says="not in its SHA256SUMS")
    (out / "my notes.txt").unlink()
    with (out / "01-iro-report.md").open("a") as fh:
        fh.write("edited by hand\n")
    record.files = snapshot(tmp_path)
    record.refused("bundle", "1", "-o", str(out), "--force", says="changed after drp wrote")
    # a folder drp never wrote into
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "photo.jpg").write_bytes(b"\xff\xd8")
    record.files = snapshot(tmp_path)
    record.refused("bundle", "1", "-o", str(mine), "--force", says="not a bundle drp wrote")
    # a file where the folder should go
    record.refused("bundle", "1", "-o", str(mine / "photo.jpg"), "--force", says="is not a folder")


def test_bundle_into_a_missing_folder_is_refused(record, tmp_path):
    record.refused(
        "bundle", "1", "-o", str(tmp_path / "no" / "b"),
        says=f"folder {tmp_path / 'no'} does not exist",
    )  # fmt: skip


# -- alert forms and exports -----------------------------------------------------------------
def test_alert_to_a_missing_folder_is_refused(record, tmp_path):
    record.refused(
        "alert", "1", "-o", str(tmp_path / "missing" / "dir" / "a.md"),
        says=f"folder {tmp_path / 'missing' / 'dir'} does not exist",
    )  # fmt: skip


def test_alert_force_replaces_only_an_alert_form(record, tmp_path):
    out = tmp_path / "alert.md"
    assert record.drp("alert", "1", "-o", str(out)).exit_code == 0
    assert out.read_text().rstrip().endswith(outpaths.ALERT_MARKER)
    assert record.drp("alert", "1", "-o", str(out), "--force").exit_code == 0
    letter = tmp_path / "letter.md"
    letter.write_text("# My own letter\n")
    record.files = snapshot(tmp_path)
    record.refused("alert", "1", "-o", str(letter), "--force", says="drp did not write it")
    record.refused("alert", "1", "-o", str(tmp_path / "docs"), "--force", says="is a folder")
    if Path("/dev/null").exists():
        record.refused("alert", "1", "-o", "/dev/null", "--force", says="not a regular file")


def test_export_onto_the_database_is_refused(record, db_path):
    for target in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        if not target.exists():
            target = db_path
        for fmt in ("csv", "json"):
            record.refused(
                "export", "--format", fmt, "-o", str(target), "--force", says="drp's database"
            )


def test_export_replaces_an_export_but_not_a_backup(record, tmp_path):
    out = tmp_path / "export.csv"
    assert record.drp("export", "-o", str(out)).exit_code == 0
    assert record.drp("export", "--format", "json", "-o", str(out), "--force").exit_code == 0
    assert out.read_text().startswith('{\n "format": "drp-export"')
    assert record.drp("export", "-o", str(out), "--force").exit_code == 0
    saved = tmp_path / "saved.json"
    assert record.drp("backup", str(saved), "--format", "json").exit_code == 0
    record.files = snapshot(tmp_path)
    record.refused("export", "-o", str(saved), "--force", says="it is a JSON backup drp wrote")


def test_export_into_the_attachment_store_is_refused(record):
    record.refused(
        "export", "-o", str(record.store / "export.csv"), says="inside drp's attachment store"
    )


def test_alert_into_the_attachment_store_is_refused(record):
    record.refused(
        "alert", "1", "-o", str(record.store / "a.md"), says="inside drp's attachment store"
    )


def test_write_file_refuses_protected_paths(record, tracker, db_target):
    protected = protected_paths(tracker.store)
    for target in [record.store / "x.md", record.store, record.root]:
        with pytest.raises(InvalidInput, match="will not write the export"):
            outpaths.write_file(target, "x", protected=protected, what="export")
    if not PG_URL:
        with pytest.raises(InvalidInput, match="it is drp's database"):
            outpaths.write_file(db_target, "x", protected=protected, force=True)
    record.intact()
    done = outpaths.write_file(record.root / "new.csv", outpaths.CSV_EXPORT_HEADER + "events\n")
    assert (done.replaced, done.path) == (False, record.root / "new.csv")
    with pytest.raises(InvalidInput, match="already exists; use force to replace it"):
        outpaths.write_file(record.root / "new.csv", "x", force=False)
    assert documents.write_file(record.root / "new.csv", "x").replaced is True


def test_write_alert(record, tracker):
    out = record.root / "form.md"
    first = documents.write_alert(tracker, 1, out)
    assert first.replaced is False and outpaths.recognise_file(out) == outpaths.ALERT_FORM
    with pytest.raises(InvalidInput, match="already exists"):
        documents.write_alert(tracker, 1, out)
    assert documents.write_alert(tracker, 1, out, force=True).replaced is True
    with pytest.raises(InvalidInput, match="inside drp's attachment store"):
        documents.write_alert(tracker, 1, record.store / "form.md")


# -- backups and restore ------------------------------------------------------------------
def test_backup_onto_the_database_is_refused(record, db_path):
    for fmt in ("sqlite", "json"):
        for target in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-journal")):
            for force in ([], ["--force"]):
                record.refused(
                    "backup", str(target), "--format", fmt, *force, says="drp's database"
                )


def test_backup_into_the_attachment_store_is_refused(record):
    fmt = "json" if PG_URL else "sqlite"
    record.refused(
        "backup", str(record.store / "b"), "--format", fmt, says="inside drp's attachment store"
    )
    record.refused("backup", str(record.store), "--force", says="it is drp's attachment store")


def test_backup_force_replaces_only_a_backup(record, tmp_path, db_target):
    fmt = "json" if PG_URL else "sqlite"
    out = tmp_path / "backup.bak"
    assert record.drp("backup", str(out), "--format", fmt).exit_code == 0
    assert record.drp("backup", str(out), "--format", fmt, "--force").exit_code == 0
    assert record.drp("backup", str(out), "--format", "json", "--force").exit_code == 0
    exported = tmp_path / "export.csv"
    assert record.drp("export", "-o", str(exported)).exit_code == 0
    other = tmp_path / "other.sqlite3"
    create_database(record.drp, other)  # another drp database
    record.files = snapshot(tmp_path)
    record.refused("backup", str(exported), "--force", says="it is a CSV export drp wrote")
    record.refused("backup", str(other), "--force", says="drp did not write it")
    record.refused("backup", str(tmp_path / "no" / "b"), says="folder")


def test_backup_missing_folder(record, tmp_path):
    record.refused(
        "backup", str(tmp_path / "nowhere" / "b.json"), "--format", "json",
        says=f"folder {tmp_path / 'nowhere'} does not exist",
    )  # fmt: skip


def test_restore_from_the_database_or_its_store_is_refused(record, tmp_path):
    dump = tmp_path / "dump.json"
    assert record.drp("backup", str(dump), "--format", "json").exit_code == 0
    # a new, empty database to restore into, and a copy of the backup in its attachment store
    fresh = tmp_path / "fresh.sqlite3"
    create_database(record.drp, fresh)
    fresh_store = attachments_dir(str(fresh))
    fresh_store.mkdir(mode=0o700, exist_ok=True)
    inside = fresh_store / "dump.json"
    inside.write_bytes(dump.read_bytes())
    for source, says in [
        (inside, "it is inside drp's attachment store"),
        (fresh_store, "it is drp's attachment store"),
        (fresh, "it is drp's database"),
    ]:
        r = record.drp("--db", str(fresh), "restore", str(source))
        assert (r.exit_code, r.stderr) == (
            2, f"Error: will not read the backup {source}: {says}\n"
        )  # fmt: skip
    assert record.drp("--db", str(fresh), "list", "--json").json() == []
    inside.unlink()
    record.files = snapshot(tmp_path)
    record.intact()
    assert record.drp("--db", str(fresh), "restore", str(dump)).exit_code == 0


# -- the guard itself ----------------------------------------------------------------------
def test_check_output_relations(tmp_path):
    db = tmp_path / "data" / "drp.sqlite3"
    db.parent.mkdir()
    db.write_bytes(b"SQLite format 3\x00")
    store = tmp_path / "data" / "drp-attachments"
    protected = [db, Path(f"{db}-wal"), store]

    def check(target: Path, **kw: Any) -> Path:
        kw.setdefault("force", False)
        kw.setdefault("kind", "file")
        return check_output(target, protected, what="export", **kw)

    with pytest.raises(InvalidInput, match="it is drp's database"):
        check(db, force=True)
    with pytest.raises(InvalidInput, match="it is a file of drp's database"):
        check(Path(f"{db}-wal"))
    with pytest.raises(InvalidInput, match="it holds drp's database"):
        check(tmp_path / "data", kind="folder", force=True)
    with pytest.raises(InvalidInput, match="it holds drp's database"):
        check(tmp_path, kind="folder")
    with pytest.raises(InvalidInput, match="inside drp's record"):  # the store is not made yet
        check(store / "a" / "b.csv")
    (tmp_path / "alias").symlink_to(db)
    with pytest.raises(InvalidInput, match="it is drp's database"):
        check(tmp_path / "alias", force=True)
    (tmp_path / "dots").mkdir()
    with pytest.raises(InvalidInput, match="it is drp's database"):
        check(tmp_path / "dots" / ".." / "data" / "drp.sqlite3", force=True)
    assert check(tmp_path / "data" / "fine.csv") == (tmp_path / "data" / "fine.csv").resolve()
    with pytest.raises(InvalidInput, match=r"folder .*missing does not exist"):
        check(tmp_path / "missing" / "x.csv")
    with pytest.raises(InvalidInput, match=r"not-a-folder is not a folder"):
        (tmp_path / "not-a-folder").write_text("x")
        check(tmp_path / "not-a-folder" / "x.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check(empty, kind="folder", force=True) == empty.resolve()


def test_recognised_outputs(tmp_path, drp, db_target):
    from drp_cli.exchange import checks

    assert ",".join(checks.COLUMNS).startswith(outpaths.CSV_EXPORT_HEADER)
    assert "events" in checks.COLUMNS
    drp(*open_args())
    for fmt, kind in (("csv", outpaths.CSV_EXPORT), ("json", outpaths.JSON_EXPORT)):
        # a name with a suffix: `--format csv -o NAME` without one writes the folder of flat
        # tables (tests/test_flat_export.py)
        assert drp("export", "--format", fmt, "-o", str(tmp_path / f"x.{fmt}")).exit_code == 0
        assert outpaths.recognise_file(tmp_path / f"x.{fmt}") == kind
    assert drp("backup", str(tmp_path / "b.json"), "--format", "json").exit_code == 0
    assert outpaths.recognise_file(tmp_path / "b.json") == outpaths.JSON_BACKUP
    assert json.loads((tmp_path / "b.json").read_text())["format"] == "drp-backup"
    if not PG_URL:
        assert drp("backup", str(tmp_path / "b.sqlite3")).exit_code == 0
        assert outpaths.recognise_file(tmp_path / "b.sqlite3") == outpaths.SQLITE_BACKUP
        # the live database is a drp database, but not a backup
        assert outpaths.recognise_file(Path(db_target)) is None
    (tmp_path / "x.csv").write_text("protocol,child\n")
    assert outpaths.recognise_file(tmp_path / "x.csv") is None


def test_protected_paths(tracker, db_target):
    paths = protected_paths(tracker.store)
    assert paths[-1] == Path(tracker.store.attachments_dir)
    if PG_URL:
        assert len(paths) == 1
    else:
        assert paths[:4] == [Path(db_target), *(Path(db_target + s) for s in
                                                ("-wal", "-shm", "-journal"))]  # fmt: skip


def test_library_bundle_refuses_the_store(tracker, drp, tmp_path):
    drp(*open_args())
    with pytest.raises(InvalidInput, match="attachment store"):
        documents.bundle(tracker, 1, tracker.store.attachments_dir, force=True)
    assert isinstance(tracker, Tracker)
