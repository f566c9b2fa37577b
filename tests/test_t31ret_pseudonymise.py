"""drp export --pseudonymise: every format (JSON, the CSV file, the workbook, the CSV folder)
with keyed, stable pseudonyms for the references, people's names and free text; refused
without the council's key (issue 31 item 5)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import open_args

CHILD = "KN-SECRET-4410"
OTHER = "KN-OTHER-2231"
SECRETS = {
    CHILD, OTHER,
    "Wombatdust placement ended without notice",  # summary
    "Axolotl contact visits stopped",  # impact
    "Platypus allocate a social worker",  # recommended
    "Narwhal visit notes uploaded late",  # note
    "Pangolin Pemberton",  # meeting attendee
    "Okapi budget agreed",  # meeting text
    "Tapir Tattersall",  # action owner
    "Tapirs book the review",  # action text
    "Quetzal Quigley",  # professional
    "Marmoset resolved at stage 1",  # outcome
    "Test IRO",  # the recorder (DRP_USER)
}  # fmt: skip


def _key(tmp_path: Path, name: str, drp) -> Path:
    path = tmp_path / name
    r = drp("key", "create", str(path))
    assert r.exit_code == 0, r.stderr
    return path


@pytest.fixture
def record(drp, tmp_path):
    r = drp(*open_args(child=CHILD, summary="Wombatdust placement ended without notice",
                       on="2025-03-03"), "--impact", "Axolotl contact visits stopped",
            "--recommended", "Platypus allocate a social worker")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert drp(*open_args(child=CHILD, on="2025-03-04")).exit_code == 0
    assert drp(*open_args(child=OTHER, on="2025-03-04")).exit_code == 0
    steps = [
        ("note", "1", "--text", "Narwhal visit notes uploaded late", "--on", "2025-03-05"),
        ("meeting", "1", "--attendees", "Pangolin Pemberton; IRO", "--text",
         "Okapi budget agreed", "--on", "2025-03-05"),
        ("action", "add", "1", "--text", "Tapirs book the review", "--owner", "Tapir Tattersall",
         "--on", "2025-03-05"),
        ("person", "add", "1", "--kind", "professional", "--name", "Quetzal Quigley",
         "--role", "Social worker",
         "--on", "2025-03-05"),
        ("resolve", "1", "--outcome", "Marmoset resolved at stage 1", "--on", "2025-03-10"),
    ]  # fmt: skip
    for args in steps:
        r = drp(*args)
        assert r.exit_code == 0, (args, r.stderr)


def _texts(path: Path) -> list[str]:
    """Every file's text: a folder's files, a workbook's parts."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    out = []
    for f in files:
        if zipfile.is_zipfile(f):
            with zipfile.ZipFile(f) as z:
                out += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        else:
            out.append(f.read_bytes().decode("utf-8-sig", "replace"))
    return out


def _export(drp, tmp_path: Path, key: Path, fmt: str, name: str) -> Path:
    target = tmp_path / name
    r = drp("export", "--pseudonymise", "--pseudonym-key", str(key), "--format", fmt,
            "-o", str(target))  # fmt: skip
    assert (r.exit_code, r.stderr) == (0, ""), r.stderr
    return target


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("json", "out.json"), ("csv", "out.csv"), ("xlsx", "out.xlsx"), ("csv", "folder")],
)
def test_no_reference_name_or_text_is_left_in_any_format(drp, record, tmp_path, fmt, name):
    key = _key(tmp_path, "council.key", drp)
    # the plain export holds every one of them (so the test can fail)
    plain = tmp_path / f"plain-{name}"
    assert drp("export", "--format", fmt, "-o", str(plain)).exit_code == 0
    joined = "\n".join(_texts(plain))
    assert {s for s in SECRETS if s not in joined} == set()
    out = _export(drp, tmp_path, key, fmt, name)
    joined = "\n".join(_texts(out))
    assert {s for s in SECRETS if s in joined} == set()
    assert "ref-" in joined and "text-" in joined and "person-" in joined
    # dates stay (the workbook holds them as day numbers: 45719 is 2025-03-03)
    days = ("45719", "45726") if fmt == "xlsx" else ("2025-03-03", "2025-03-10")
    assert all(d in joined for d in days)
    if out.is_dir():  # no attached documents in a pseudonymised folder
        assert not (out / "attachments").exists()


def test_the_same_key_gives_the_same_pseudonyms_and_another_key_others(drp, record, tmp_path):
    one, two = _key(tmp_path, "one.key", drp), _key(tmp_path, "two.key", drp)
    first = json.loads(_export(drp, tmp_path, one, "json", "a.json").read_text())["concerns"]
    again = json.loads(_export(drp, tmp_path, one, "json", "b.json").read_text())["concerns"]
    other = json.loads(_export(drp, tmp_path, two, "json", "c.json").read_text())["concerns"]
    refs = [c["child"] for c in first]
    assert refs == [c["child"] for c in again]
    # the child's two concerns keep one pseudonym; the other child has another
    assert refs[0] == refs[1] != refs[2]
    assert all(r.startswith("ref-") and len(r) == 24 for r in refs)
    assert other[0]["child"] not in refs
    assert first[0]["summary"] == again[0]["summary"] != other[0]["summary"]
    assert first[0]["events"][0]["by"] == again[0]["events"][0]["by"] != other[0]["events"][0]["by"]
    # the reference in the opening event's details is the column's pseudonym
    assert first[0]["events"][0]["details"]["child"] == refs[0]
    # slugs, dates and kinds stay as they were
    plain = json.loads(drp("export", "--format", "json").stdout)["concerns"]
    for name in ("protocol", "category", "issue", "stage", "status", "opened_on", "closed_on"):
        assert first[0][name] == plain[0][name], name
    assert [e["kind"] for e in first[0]["events"]] == [e["kind"] for e in plain[0]["events"]]
    # the same workbook or folder joins to the JSON by the same pseudonym
    folder = _export(drp, tmp_path, one, "csv", "folder")
    assert refs[0] in "\n".join(_texts(folder))


def test_refused_without_a_key(drp, record, tmp_path, monkeypatch):
    r = drp("export", "--pseudonymise", "--format", "json")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == (
        "Error: --pseudonym-key is needed to pseudonymise: the council's key file "
        "(--pseudonym-key FILE or DRP_PSEUDONYM_KEY_FILE; `drp key create FILE` makes one)\n"
    )
    r = drp("export", "--pseudonym-key", str(tmp_path / "k"), "--format", "json")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --pseudonym-key is the key of --pseudonymise: give both\n"
    )  # fmt: skip
    r = drp("export", "--pseudonymise", "--pseudonym-key", str(tmp_path / "none.key"))
    assert r.exit_code == 2
    assert "does not exist" in r.stderr
    loose = tmp_path / "loose.key"
    loose.write_text("x" * 64)
    loose.chmod(0o644)
    r = drp("export", "--pseudonymise", "--pseudonym-key", str(loose))
    assert r.exit_code == 2
    assert "can be read by other users" in r.stderr
    # the key named by the environment
    key = _key(tmp_path, "env.key", drp)
    monkeypatch.setenv("DRP_PSEUDONYM_KEY_FILE", str(key))
    r = drp("export", "--pseudonymise", "--format", "json")
    assert r.exit_code == 0
    assert CHILD not in r.stdout
    by_flag = _export(drp, tmp_path, key, "json", "flag.json").read_text()
    assert json.loads(r.stdout)["concerns"] == json.loads(by_flag)["concerns"]
