"""drp subject-access: one child's whole record written for review (HTML, PDF, JSON and the
attached documents), and nothing of any other child; the request's due date (issue 31
item 3)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import stat
from pathlib import Path

import pytest

from drp_cli.services.tracker import Tracker
from tests.conftest import open_args


@pytest.fixture(autouse=True)
def schema_with_requests():
    """The requests' table is part of the schema drp writes (0010 and later): nothing to do
    (kept so that test_t31sar_requests.py's import of it still holds)."""


@pytest.fixture
def on_day(monkeypatch):
    """Fix drp's today."""

    def fix(day: dt.date) -> None:
        monkeypatch.setattr(Tracker, "today", lambda self: day)

    return fix


OTHER_FILE = b"the other child's care plan: nobody else's\n"
OTHER = {
    "ref": "KN-9999",
    "summary": "Placement broke down after the incident at Larchfield Road",
    "note": "Zebedee Quartermaine phoned about the contact arrangements",
    "person": "Ottoline Frobisher",
    "wishes": "Wants a bedroom of her own at Larchfield",
}


def _add(drp, *args: str) -> None:
    r = drp(*args)
    assert r.exit_code == 0, (args, r.stdout, r.stderr)


def two_children(drp, tmp_path: Path) -> None:
    """KN-1 (two concerns) and KN-9999 (one), sharing a professional, a chair and a
    document: the same social worker, the same chair recording and attending, the same
    file attached to both."""
    shared = tmp_path / "shared-letter.pdf"
    shared.write_bytes(b"%PDF-1.4 a letter about both children\n")
    own = tmp_path / "care-plan.txt"
    own.write_bytes(b"KN-1's care plan\n")
    other = tmp_path / "other-plan.txt"
    other.write_bytes(OTHER_FILE)
    chair = ["--by", "Pat Chair"]
    _add(
        drp,
        *open_args(child="KN-1", summary="No allocated social worker for KN-1", on="2026-11-02"),
        *chair,
    )
    _add(drp, *open_args(child=OTHER["ref"], summary=OTHER["summary"], on="2026-11-02"), *chair)
    _add(drp, *open_args(child="KN-1", summary="The review was not held on time", on="2026-11-09",
                         protocol="west-sussex"))  # fmt: skip
    for cid in ("1", "2"):
        _add(drp, "person", "add", cid, "--kind", "professional", "--name", "Jane Smith",
             "--role", "Social worker", "--contact", "jane.smith@example.org",
             "--on", "2026-11-03")  # fmt: skip
        _add(drp, "meeting", cid, "--attendees", "Jane Smith; Pat Chair", "--text",
             "Professionals' meeting", "--on", "2026-11-04", *chair)  # fmt: skip
        _add(drp, "attach", cid, str(shared), "--kind", "other", "--on", "2026-11-05")
    _add(drp, "person", "add", "1", "--kind", "important-person", "--name", "Grandma Rose",
         "--relationship", "grandmother", "--on", "2026-11-03")  # fmt: skip
    _add(drp, "wishes", "add", "1", "--text", "Wants to see Grandma Rose", "--how", "Seen alone",
         "--on", "2026-11-03")  # fmt: skip
    _add(drp, "note", "3", "--text", "Jane Smith will book the review", "--on", "2026-11-10")
    _add(drp, "attach", "3", str(own), "--kind", "care-plan", "--on", "2026-11-10")
    _add(drp, "person", "add", "2", "--kind", "important-person", "--name", OTHER["person"],
         "--relationship", "aunt", "--on", "2026-11-03")  # fmt: skip
    _add(drp, "wishes", "add", "2", "--text", OTHER["wishes"], "--how", "Seen alone",
         "--on", "2026-11-03")  # fmt: skip
    _add(drp, "note", "2", "--text", OTHER["note"], "--on", "2026-11-06", *chair)
    _add(drp, "attach", "2", str(other), "--kind", "care-plan", "--on", "2026-11-06")


def written_text(folder: Path) -> dict[str, bytes]:
    """Every file written, as bytes; the PDF's text extracted too (its streams are
    compressed, so its bytes alone would prove nothing)."""
    from pypdf import PdfReader

    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "subject-access.pdf":
                text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
                found[str(path.relative_to(folder)) + " (text)"] = text.encode()
            found[str(path.relative_to(folder))] = data
    return found


def test_the_record_holds_the_child_and_nothing_of_the_other_child(drp, tmp_path):
    two_children(drp, tmp_path)
    out = tmp_path / "sar"
    r = drp("subject-access", "KN-1", "-o", str(out), "--on", "2026-12-01")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (
        f"Wrote {out}: 5 files, 2 concerns.\n"
        "5 third parties named: review them before release (highlighted in "
        "subject-access.html, listed under 'Third-party data to review').\n"
    )
    files = written_text(out)
    assert sorted(files) == [
        ".drp-folder", "SHA256SUMS", "attachments/1-1-shared-letter.pdf",
        "attachments/3-1-care-plan.txt",
        "subject-access.html", "subject-access.json", "subject-access.pdf",
        "subject-access.pdf (text)",
    ]  # fmt: skip
    # the child's own record is there, in every readable form ...
    for name in ("subject-access.html", "subject-access.json", "subject-access.pdf (text)"):
        assert b"No allocated social worker for KN-1" in files[name], name
        assert b"The review was not held on time" in files[name], name
        assert b"Grandma Rose" in files[name], name
    # ... and nothing of the other child's, in any file (its reference, summary, notes,
    # people, wishes, the document attached to it alone)
    for name, data in files.items():
        for secret in (OTHER["ref"], OTHER["summary"], OTHER["note"], OTHER["person"],
                       OTHER["wishes"], "Larchfield", "Zebedee"):  # fmt: skip
            assert secret.encode() not in data, (name, secret)
        assert OTHER_FILE not in data, name
        assert hashlib.sha256(OTHER_FILE).hexdigest().encode() not in data, name
    record = json.loads(files["subject-access.json"])
    assert [c["id"] for c in record["concerns"]] == [1, 3]
    assert {c["child"] for c in record["concerns"]} == {"KN-1"}


def test_a_redacted_or_unknown_reference_is_not_found_and_never_repeated(drp, tmp_path):
    two_children(drp, tmp_path)
    for ref in ("Amelia Unknown-Child", "[redacted]", "  ", "kn-1"):
        out = tmp_path / "sar"
        r = drp("subject-access", ref, "-o", str(out))
        assert (r.exit_code, r.stdout, r.stderr) == (
            3,
            "",
            "Error: no concern about that reference\n",
        ), ref
        assert not out.exists()
        r = drp("subject-access", ref, "--received", "2026-11-20")
        assert (r.exit_code, r.stderr) == (3, "Error: no concern about that reference\n"), ref
    # a carer household's concern under the child's reference is not the child's
    r = drp("subject-access", "KN-1", "--subject", "carer", "-o", str(tmp_path / "c"))
    assert (r.exit_code, r.stderr) == (3, "Error: no concern about that reference\n")


def test_a_redacted_reference_names_no_child(drp, tmp_path):
    """Two children's names typed as references, both redacted: "[redacted]" is nobody's,
    and gathering it would put one child's record in the other's answer."""
    for name in ("Amelia Jones", "Bethany Smith"):
        _add(drp, *open_args(child=name, summary=f"Summary about {name.split()[0]}"))
    for cid in ("1", "2"):
        _add(drp, "redact", cid, "1", "--field", "child", "--reason", "A name typed")
    assert json.loads(drp("show", "1", "--json").stdout)["child"] == "[redacted]"
    r = drp("subject-access", "[redacted]", "-o", str(tmp_path / "sar"))
    assert (r.exit_code, r.stderr) == (3, "Error: no concern about that reference\n")
    assert not (tmp_path / "sar").exists()


def test_a_carer_household_is_not_the_child_of_the_same_reference(drp, tmp_path):
    _add(drp, *open_args(child="KN-1", summary="About the child"))
    carers = open_args(child="KN-1", summary="About the carers", protocol="sbc-fciro")
    _add(drp, *["--carer" if a == "--child" else a for a in carers])
    out = tmp_path / "sar"
    assert drp("subject-access", "KN-1", "-o", str(out), "--no-pdf").exit_code == 0
    data = json.loads((out / "subject-access.json").read_text())
    assert [c["summary"] for c in data["concerns"]] == ["About the child"]
    assert b"About the carers" not in (out / "subject-access.html").read_bytes()
    out2 = tmp_path / "sar-carer"
    assert (
        drp("subject-access", "KN-1", "-o", str(out2), "--no-pdf", "--subject", "carer").exit_code
        == 0
    )
    data = json.loads((out2 / "subject-access.json").read_text())
    assert [c["summary"] for c in data["concerns"]] == ["About the carers"]


def test_json_keys_and_third_party_markers(drp, tmp_path):
    two_children(drp, tmp_path)
    out = tmp_path / "sar"
    assert (
        drp("subject-access", "KN-1", "-o", str(out), "--no-pdf", "--on", "2026-12-01").exit_code
        == 0
    )
    data = json.loads((out / "subject-access.json").read_text())
    assert list(data) == ["format", "version", "subject", "written_at", "written_by",
                          "judged_on", "concerns", "requests", "third_party_review"]  # fmt: skip
    assert (data["format"], data["version"], data["subject"], data["judged_on"]) == (
        "drp-subject-access",
        1,
        {"reference": "KN-1", "kind": "child"},
        "2026-12-01",
    )
    first = data["concerns"][0]
    for key in ("events", "stages", "corrections", "actions", "professionals",
                "important_people", "wishes", "needs", "attachments", "summary"):  # fmt: skip
        assert key in first, key
    assert first["third_party"] == ["raised_by", "owner"]
    assert [p["name"] for p in first["professionals"]] == ["Jane Smith"]
    assert first["professionals"][0]["third_party"] == ["contact", "name", "added_by"]
    assert first["important_people"][0]["third_party"] == ["name", "added_by"]
    # the wishes name no one by their name field, but their text mentions Grandma Rose
    assert first["wishes"][0]["third_party"] == ["added_by", "text"]
    meeting = next(e for e in first["events"] if e["kind"] == "meeting")
    assert set(meeting) >= {"seq", "kind", "on", "by", "recorded_at", "text", "details"}
    assert meeting["by"] == "Pat Chair" and meeting["third_party"] == ["by"]
    assert meeting["details"]["third_party"] == ["attendees"]
    added = next(e for e in first["events"] if e["kind"] == "professional-added")
    assert added["details"]["third_party"] == ["contact", "name"]
    assert first["attachments"] == [{
        "n": 1, "kind": "other", "filename": "shared-letter.pdf",
        "sha256": hashlib.sha256(b"%PDF-1.4 a letter about both children\n").hexdigest(),
        "size": 38, "dated": None, "description": "", "added_on": "2026-11-05",
        "added_by": "Test IRO", "from_concern": None,
        "file": "attachments/1-1-shared-letter.pdf", "third_party": ["added_by"],
    }]  # fmt: skip
    # each entry is a third party's name: marked as such
    assert {tuple(p.pop("third_party")) for p in data["third_party_review"]} == {("name",)}
    assert data["third_party_review"] == [
        {"name": "Grandma Rose", "as": ["important person in the child's life",
                                        "named in the record's text"], "concerns": [1]},
        {"name": "Jane Smith", "as": ["attended a meeting", "named in the record's text",
                                      "professional"], "concerns": [1, 3]},
        {"name": "jane.smith@example.org", "as": ["professional's contact details"],
         "concerns": [1]},
        {"name": "Pat Chair", "as": ["attended a meeting", "owns a concern or an action",
                                     "raised a concern", "recorded an entry"], "concerns": [1]},
        {"name": "Test IRO", "as": ["owns a concern or an action", "raised a concern",
                                    "recorded an entry", "recorded an item"],
         "concerns": [1, 3]},
    ]  # fmt: skip


def test_html_highlights_every_third_party_and_lists_them(drp, tmp_path):
    two_children(drp, tmp_path)
    out = tmp_path / "sar"
    assert drp("subject-access", "KN-1", "-o", str(out), "--no-pdf").exit_code == 0
    html = (out / "subject-access.html").read_text()
    assert '<meta name="generator" content="drp-cli">' in html
    assert "<h2>Third-party data to review</h2>" in html
    review = html.split("<h2>Third-party data to review</h2>", 1)[1].split("</section>", 1)[0]
    for name in ("Grandma Rose", "Jane Smith", "jane.smith@example.org", "Pat Chair", "Test IRO"):
        assert f'<td><mark class="third-party">{name}</mark></td>' in review, name
    # in free text too: the note that names the social worker
    assert 'Wants to see <mark class="third-party">Grandma Rose</mark>' in html
    assert '<mark class="third-party">Jane Smith</mark> will book the review' in html
    # no name is left unmarked anywhere outside the marks and the document's own lines
    body = html.split("</section>", 1)[1]
    for name in ("Grandma Rose", "Jane Smith", "Pat Chair"):
        assert body.count(name) == body.count(f'<mark class="third-party">{name}</mark>'), name


def test_the_folder_is_owner_only_and_checked(drp, tmp_path, db_target):
    two_children(drp, tmp_path)
    out = tmp_path / "sar"
    assert drp("subject-access", "KN-1", "-o", str(out), "--no-pdf").exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in out.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    # an existing folder: refused without --force, replaced with it (drp wrote it)
    r = drp("subject-access", "KN-1", "-o", str(out), "--no-pdf")
    assert (r.exit_code, r.stderr) == (
        2,
        f"Error: {out} already exists; use --force to replace it\n",
    )
    r = drp("subject-access", "KN-1", "-o", str(out), "--no-pdf", "--force")
    assert r.exit_code == 0 and r.stdout.startswith(f"Replaced {out}: ")
    # a folder drp did not write is never replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    r = drp("subject-access", "KN-1", "-o", str(mine), "--force")
    assert r.exit_code == 2 and "will not replace" in r.stderr
    assert (mine / "notes.txt").read_text() == "mine"
    # nor anywhere inside the attachment store
    store = Tracker(db_target).store.attachments_dir
    r = drp("subject-access", "KN-1", "-o", str(store / "sar"))
    assert r.exit_code == 2 and "attachment store" in r.stderr
    # each document is checked against its SHA-256 on the way out: a changed one stops it
    sha = hashlib.sha256(b"KN-1's care plan\n").hexdigest()
    stored = store / sha[:2] / sha
    os.chmod(stored, 0o600)
    stored.write_bytes(b"changed behind drp's back\n")
    r = drp("subject-access", "KN-1", "-o", str(tmp_path / "sar2"), "--no-pdf")
    assert (r.exit_code, r.stderr) == (
        6,
        "Error: the stored copy of attachment 1 does not match its SHA-256: it was changed "
        "outside drp; run `drp verify`\n",
    )
    assert not (tmp_path / "sar2").exists()


def test_one_action_at_a_time(drp, tmp_path):
    _add(drp, *open_args(child="KN-1"))
    r = drp("subject-access", "KN-1", "-o", str(tmp_path / "x"), "--received", "2025-03-04")
    assert (r.exit_code, r.stderr) == (
        2,
        "Error: give one of -o, --received, --extend, --sent, --due (not -o and --received)\n",
    )
    r = drp("subject-access", "KN-1", "--reason", "why")
    assert (r.exit_code, r.stderr) == (2, "Error: --reason goes with --extend\n")
    assert not (tmp_path / "x").exists()


def test_the_pdf_is_drps_and_holds_the_record(drp, tmp_path):
    from pypdf import PdfReader

    two_children(drp, tmp_path)
    out = tmp_path / "sar"
    assert drp("subject-access", "KN-1", "-o", str(out)).exit_code == 0
    reader = PdfReader(out / "subject-access.pdf")
    assert reader.metadata is not None
    assert str(reader.metadata["/Creator"]).startswith("drp-cli")
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Third-party data to review" in text
    assert "Subject access: the record drp holds" in text


def test_the_childs_identification_is_theirs_and_the_guardian_a_third_party(drp, tmp_path):
    from drp_cli.cli.commands import COMMANDS

    if "identify" not in COMMANDS:
        pytest.skip("this drp records no identification (drp identify)")
    _add(drp, *open_args(child="KN-1"))
    _add(drp, "identify", "1", "--name", "Amy Smith", "--dob", "14/03/2015",
         "--guardian", "K. Patel (Cafcass)")  # fmt: skip
    out = tmp_path / "sar"
    assert drp("subject-access", "KN-1", "-o", str(out), "--no-pdf").exit_code == 0
    data = json.loads((out / "subject-access.json").read_text())
    ident = data["concerns"][0]["identification"]
    assert [(i["field"], i["value"]) for i in ident] == [
        ("name", "Amy Smith"),
        ("dob", "2015-03-14"),
        ("guardian", "K. Patel (Cafcass)"),
    ]
    assert ident[2]["third_party"] == ["value", "by"]
    assert "third_party" not in ident[0] or "value" not in ident[0]["third_party"]
    names = {p["name"]: p["as"] for p in data["third_party_review"]}
    assert names["K. Patel (Cafcass)"] == ["children's guardian"]
    assert "Amy Smith" not in names
    html = (out / "subject-access.html").read_text()
    assert "<td>Amy Smith</td>" in html
    assert '<mark class="third-party">K. Patel (Cafcass)</mark>' in html


def test_json_says_what_was_written(drp, tmp_path):
    _add(drp, *open_args(child="KN-1"))
    out = tmp_path / "sar"
    r = drp("subject-access", "KN-1", "-o", str(out), "--no-pdf", "--json")
    assert r.exit_code == 0
    assert r.json() == {
        "path": str(out), "files": ["subject-access.html", "subject-access.json"],
        "concerns": 1, "third_parties": 1,
    }  # fmt: skip
    assert (out / "SHA256SUMS").read_text().splitlines() == [
        f"{hashlib.sha256((out / name).read_bytes()).hexdigest()}  {name}"
        for name in ("subject-access.html", "subject-access.json")
    ]
