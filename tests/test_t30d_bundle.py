"""The CAFCASS bundle as its reader needs it (issue 30 item 5): the substantive events in the
chronology and the administrative ones in an annex; the child's identification (`drp
identify`) in the bundle alone, its changes recorded, redactable; a statement of truth and
the IRO's signature block; documents labelled by what they are."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.conftest import open_args

NAME, DOB, COURT = "Amy Smith", "14/03/2015", "Family Court at Liverpool"
CASE, GUARDIAN = "LV25C00123", "J. Brown (Cafcass)"
#: every identifying value as it could be printed (the date of birth in each form)
SECRETS = (NAME, "2015-03-14", "14/03/2015", "14 March 2015", COURT, CASE, GUARDIAN)


def referred(drp) -> None:
    assert drp(*open_args()).exit_code == 0
    r = drp("person", "add", "1", "--kind", "professional", "--name", "A. Smith", "--role",
            "Social worker", "--on", "2025-03-03")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = drp("respond", "1", "--text", "Social worker allocated from 24 March", "--on",
            "2025-03-05")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = drp("refer", "1", "--text", "The plan has drifted for a year.", "--on", "2025-03-06")
    assert r.exit_code == 0, r.stderr


def identify(drp) -> None:
    r = drp("identify", "1", "--name", NAME, "--dob", DOB, "--court", COURT,
            "--case-number", CASE, "--guardian", GUARDIAN, "--on", "2025-03-06")  # fmt: skip
    assert (r.exit_code, r.stderr) == (0, "")
    assert r.stdout == (
        "Recorded the child's name, date of birth, court, case number, children's guardian "
        "for the bundle of concern 1.\n"
    )


def bundle(drp, tmp_path: Path, name: str = "b") -> Path:
    out = tmp_path / name
    r = drp("bundle", "1", "-o", str(out), "--on", "2025-03-07")
    assert r.exit_code == 0, r.stderr
    return out


def test_chronology_keeps_substantive_events_and_an_annex_the_administrative(drp, tmp_path):
    referred(drp)
    identify(drp)
    photo = tmp_path / "bedroom.png"
    photo.write_bytes(b"not really a picture")
    r = drp("attach", "1", str(photo), "--kind", "other", "--on", "2025-03-06")
    assert r.exit_code == 0, r.stderr
    folder = bundle(drp, tmp_path)
    text = (folder / "03-chronology.md").read_text()
    # the folder's index labels the document by what it is, not "Other document"
    index = (folder / "index.md").read_text()
    assert ") | bedroom.png | - | `" in index
    assert "Other document" not in index
    body, annex = text.split("\n## Annex: administrative entries\n")
    rows = [line for line in body.splitlines() if line.startswith("| ") and "Date" not in line]
    assert [r.split(" | ")[1] for r in rows] == ["opened", "response", "referred to CAFCASS"]
    assert rows[0].startswith("| 3\u00a0Mar\u00a02025 | opened | Stage 1 | ")
    entries = [line.split(" | ")[1] for line in annex.splitlines() if line.startswith("| ")]
    assert entries == ["Entry", "professional added", "identified", "attached"]
    assert (
        "| identified | Stage 1 | Identification for the bundle recorded: name, date of birth, "
        "court, case number, children's guardian | Test IRO, "
    ) in annex
    assert not any(s in text for s in SECRETS)


def test_identification_is_in_the_bundle_alone(drp, tmp_path):
    referred(drp)
    identify(drp)
    report = (bundle(drp, tmp_path) / "01-iro-report.md").read_text()
    assert (
        "| | |\n|---|---|\n| **Name** | Amy Smith |\n| **Date of birth** | 14 March 2015 |\n"
        "| **Court** | Family Court at Liverpool |\n| **Case number** | LV25C00123 |\n"
        "| **Children's guardian** | J. Brown (Cafcass) |\n"
    ) in report
    shown = drp("show", "1", "--json", "--on", "2025-03-07")
    assert shown.exit_code == 0
    [event] = [e for e in shown.json()["events"] if e["kind"] == "identified"]
    assert event["details"] == {"fields": ["name", "dob", "court", "case_number", "guardian"]}
    for args in (("show", "1", "--json"), ("show", "1"), ("list",), ("list", "--json"),
                 ("overdue", "--on", "2025-03-07"), ("overdue", "--json", "--on", "2025-03-07"),
                 ("alert", "1", "--on", "2025-03-07")):  # fmt: skip
        r = drp(*args)
        out = r.stdout + r.stderr
        assert not any(s in out for s in SECRETS), args


@pytest.mark.parametrize("fmt,name", [("json", "export.json"), ("csv", "export.csv"),
                                      ("xlsx", "export.xlsx"), ("csv", "folder")])  # fmt: skip
def test_identification_is_not_exported(drp, tmp_path, fmt, name):
    """Exports name the identification's fields, never their values (views.shown_details)."""
    referred(drp)
    identify(drp)
    out = tmp_path / name
    assert drp("export", "--format", fmt, "-o", str(out)).exit_code == 0
    files = [p for p in out.rglob("*") if p.is_file()] if out.is_dir() else [out]
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            import zipfile

            with zipfile.ZipFile(path) as z:
                data = b"".join(z.read(n) for n in z.namelist())
        assert not any(s.encode() in data for s in SECRETS), path.name


def test_a_change_records_only_the_fields_given_and_a_redaction_removes_one(drp, tmp_path):
    referred(drp)
    identify(drp)
    r = drp("identify", "1", "--guardian", "K. Patel (Cafcass)", "--on", "2025-03-07")
    assert (r.exit_code, r.stdout) == (
        0, "Recorded the child's children's guardian for the bundle of concern 1.\n"
    )  # fmt: skip
    report = (bundle(drp, tmp_path) / "01-iro-report.md").read_text()
    assert "| **Children's guardian** | K. Patel (Cafcass) |" in report
    assert GUARDIAN not in report and "| **Name** | Amy Smith |" in report
    events = drp("show", "1", "--json", "--on", "2025-03-07").json()["events"]
    seq = next(e["seq"] for e in events if e["kind"] == "identified")
    r = drp("redact", "1", str(seq), "--field", "name", "--reason", "Name entered in error")
    assert r.exit_code == 0, r.stderr
    report = (bundle(drp, tmp_path, "c") / "01-iro-report.md").read_text()
    assert NAME not in report and "[redacted]" not in report
    assert "| **Case number** | LV25C00123 |" in report


def test_identify_refusals_never_repeat_the_value(drp):
    referred(drp)
    r = drp("identify", "1", "--dob", "31/02/2015")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --dob is not a date: use dd/mm/yyyy or yyyy-mm-dd (1990 to 2199)\n"
    )  # fmt: skip
    r = drp("identify", "1")
    assert (r.exit_code, r.stderr) == (
        2, "Error: give at least one of --name, --dob, --court, --case-number, --guardian\n"
    )  # fmt: skip
    r = drp("identify", "1", "--name", "Amy\u202eSmith")
    assert r.exit_code == 2 and "Amy" not in r.stderr
    r = drp("identify", "9", "--name", NAME)
    assert r.exit_code == 3 and NAME not in r.stderr
    events = drp("show", "1", "--json").json()["events"]
    assert not [e for e in events if e["kind"] == "identified"]


def test_statement_of_truth_and_signature_block(drp, tmp_path):
    referred(drp)
    assert drp("config", "set", "authority", "Knowsley Council").exit_code == 0
    report = (bundle(drp, tmp_path) / "01-iro-report.md").read_text()
    assert report.endswith(
        "## Statement of truth\n\n"
        "I believe that the facts stated in this report are true. I understand that "
        "proceedings for contempt of court may be brought against anyone who makes, or causes "
        "to be made, a false statement in a document verified by a statement of truth without "
        "an honest belief in its truth.\n\n"
        "| | |\n|---|---|\n| **Signed** | &nbsp;<br>&nbsp;<br>&nbsp; |\n"
        "| **Name** | Test IRO |\n"
        "| **Role** | Independent Reviewing Officer, Knowsley Council |\n"
        "| **Date** | &nbsp;<br>&nbsp; |\n"
    )


def view(kind: str, filename: str, description: str = ""):
    from drp_cli.services import attachments as att

    return att.AttachmentView(n=4, kind=kind, filename=filename, sha256="0" * 64, size=1,
                              dated=None, description=description, added_on=dt.date(2025, 3, 3),
                              added_by="Test IRO", path=Path("unused"))  # fmt: skip


def test_documents_are_labelled_by_what_they_are():
    from drp_cli.render.pdfbundle import PlacedDocument

    assert PlacedDocument(4, view("other", "bedroom.jpg"), "x", "image").title == (
        "Image: bedroom.jpg"
    )
    doc = PlacedDocument(4, view("other", "scan-0042.pdf"), "x", "pdf", own_title="PEP 2025")
    assert doc.title == "Document: PEP 2025"
    assert PlacedDocument(4, view("other", "a.pdf", "School report"), "x", "pdf").title == (
        "School report"
    )
    assert PlacedDocument(4, view("care-plan", "cp.pdf"), "x", "pdf").title == "Care Plan"
    assert PlacedDocument(4, view("care-plan", "cp.pdf", "As filed"), "x", "pdf").title == (
        "Care Plan: As filed"
    )


def test_show_json_of_an_identified_event_is_json(drp):
    referred(drp)
    identify(drp)
    out = drp("show", "1", "--json").stdout
    assert json.loads(out)["id"] == 1
