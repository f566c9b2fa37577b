"""The CAFCASS bundle as one PDF (`drp bundle ID --pdf FILE`), read back the way a court's
e-bundle is checked: pypdf for the page count, page labels, bookmarks and their pages, the
index's links and the page numbers it prints, the text of every section and page number;
pdftoppm for what a person sees (pages rendered to PNG, saved under the test's tmp_path).

One bundle is built once for the module (WeasyPrint takes about a second) and every test
reads it; the refusals and the CLI use small bundles of their own.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from drp_cli.render import documents
from drp_cli.services import attachments, details, staff
from drp_cli.services.tracker import Tracker
from tests.test_documents import fixed_tracker, realistic

pypdf = pytest.importorskip("pypdf")
try:
    import weasyprint
except (ImportError, OSError) as exc:  # pragma: no cover - scripts/pdf-deps.sh installs Pango
    pytest.skip(f"WeasyPrint cannot load (run scripts/pdf-deps.sh): {exc}", allow_module_level=True)

from drp_cli.render import pdfbundle  # noqa: E402

D = dt.date
BY = "Priya Shah"
DOC1 = "Document 1: Final Care Order: Made at Nottingham (Mon 20 November 2023)"
SECTIONS = [
    "IRO report",
    "Statement of issues",
    "Record of the dispute resolution process",
    "The child's wishes and feelings",
    "Professionals",
    "Important people in the child's life",
    "Diversity and communication needs",
]


def attachment_pdf() -> bytes:
    """A real two-page PDF (portrait, then landscape), as a local authority would send."""
    html = (
        "<style>@page { size: A4; margin: 20mm } @page wide { size: A4 landscape }"
        " .wide { page: wide } p { font-size: 20pt }</style>"
        "<p>FINAL CARE ORDER PAGE ONE</p><p class=wide>FINAL CARE ORDER PAGE TWO</p>"
    )
    return bytes(weasyprint.HTML(string=html).write_pdf())


def png(width: int = 60, height: int = 40) -> bytes:
    """A small red PNG, made with zlib (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xc8\x28\x28" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def case(t: Tracker, tmp: Path) -> int:
    """A referred concern with people, wishes, needs (no guardian's report: missing; no
    final care plan: not applicable) and four documents: a PDF, an image, a Word file and a
    damaged PDF."""
    cid = realistic(t, "nottinghamshire-2016", role="iro", stage=None)
    staff.add(t, BY, email="priya.shah@example.org", team="IRO Service", by=BY)
    details.add(t, cid, "professional", name="Tom Reid", role="Social worker",
                organisation="Children's Services", contact="tom.reid@example.org",
                on=D(2025, 6, 2), by=BY)  # fmt: skip
    details.add(t, cid, "important-person", name="Sara (mother)", relationship="Mother",
                involvement="Contact twice a week", on=D(2025, 6, 2), by=BY)  # fmt: skip
    details.add(t, cid, "needs", text="Mother's first language is Polish.", on=D(2025, 6, 2),
                by=BY)  # fmt: skip
    details.add(t, cid, "wishes", text="Mia wants to go home <b>before</b> school # starts.",
                how="Seen alone", obtained_on="2025-05-28", on=D(2025, 6, 2), by=BY)  # fmt: skip
    t.not_applicable(cid, "final-care-plan", reason="No proceedings were issued.",
                     on=D(2025, 6, 2), by=BY)  # fmt: skip
    files: dict[str, tuple[bytes, str, str | None, str]] = {
        "order.pdf": (attachment_pdf(), "care-order", "2023-11-20", "Made at Nottingham"),
        "photo.png": (png(), "other", "2025-02-01", "Photo of the bedroom"),
        "notes.docx": (b"PK\x03\x04 not a real Word file", "other", None, "Notes in Word"),
        "broken.pdf": (b"%PDF-1.7 broken", "case-chronology", "2025-06-02", ""),
    }
    for name, (data, kind, dated, description) in files.items():
        (tmp / name).write_bytes(data)
        attachments.attach(t, cid, tmp / name, kind=kind, dated=dated, description=description,
                           on=D(2025, 6, 3), by=BY)  # fmt: skip
    t.escalate(cid, on=D(2025, 6, 17), note="No response", by=BY)
    t.refer(cid, senior_officer="Group Manager", notified_on=D(2025, 6, 23),
            text="The placement ends in September.", on=D(2025, 6, 24), by=BY)  # fmt: skip
    return cid


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The bundle, written with the folder from one call of the CLI's library path."""
    tmp = tmp_path_factory.mktemp("pdf")
    db = str(tmp / "drp.sqlite3")
    keys = ("DRP_DB", "DRP_USER", "DRP_PROTOCOLS", "DRP_CONFIG", "DRP_ATTACHMENTS")
    old = {k: os.environ.get(k) for k in keys}
    (tmp / "protocols").mkdir()
    os.environ.update(
        DRP_DB=db,
        DRP_USER="Test IRO",
        DRP_PROTOCOLS=str(tmp / "protocols"),
        DRP_CONFIG=str(tmp / "config.toml"),
        DRP_ATTACHMENTS=str(tmp / "store"),
    )
    try:
        t = fixed_tracker(db)
        cid = case(t, tmp)
        content = documents.bundle_content(t, cid, on=D(2025, 6, 25))
        result = pdfbundle.write_pdf(t, cid, tmp / "bundle.pdf", content=content)
        folder = documents.bundle(t, cid, tmp / "bundle", content=content)
        reader = pypdf.PdfReader(tmp / "bundle.pdf")
        texts = [p.extract_text() for p in reader.pages]
        return {"tmp": tmp, "result": result, "folder": folder, "reader": reader, "texts": texts}
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def outline(reader: Any) -> dict[str, int]:
    return {o.title: reader.get_destination_page_number(o) for o in reader.outline}


def test_bookmarks_page_numbers_and_labels(built):
    reader, texts = built["reader"], built["texts"]
    n = len(reader.pages)
    assert built["result"].pages == n
    marks = outline(reader)
    assert list(marks) == [
        "Cover sheet", "Index", *SECTIONS,
        DOC1,
        "Document 2: Photo of the bedroom (Sat 1 February 2025)",  # labelled by what it is
    ]  # fmt: skip
    assert marks["Cover sheet"] == 0 and marks["Index"] == 1
    pages = list(marks.values())
    assert pages == sorted(pages)
    # the cover, the index, the first section and each document start a page; the short
    # sections share pages (issue 30 item 5): fewer pages than sections
    starts = [marks[k] for k in ("Cover sheet", "Index", SECTIONS[0], DOC1)]
    assert len(set(starts)) == 4
    assert len({marks[k] for k in SECTIONS}) < len(SECTIONS)
    # the two attached pages, then the image, are the last three pages
    assert pages[-2:] == [n - 3, n - 1]
    # every page prints its own number, the PDF's, and its label is that number
    assert reader.page_labels == [str(i) for i in range(1, n + 1)]
    for i, text in enumerate(texts, 1):
        assert f"Page {i} of {n}" in text, i
    # each section's text is on the page its bookmark points to
    for title, heading in [
        ("IRO report", "IRO report: why the matter is referred now"),
        ("Statement of issues", "Statement of issues"),
        ("The child's wishes and feelings", "Mia wants to go home <b>before</b> school # starts."),
        ("Professionals", "Tom Reid"),
        ("Important people in the child's life", "Sara (mother)"),
        ("Diversity and communication needs", "Mother's first language is Polish."),
    ]:
        assert heading in texts[marks[title]], title


def test_attached_pdf_merged_page_for_page(built):
    reader, texts = built["reader"], built["texts"]
    n = len(reader.pages)
    first = outline(reader)[DOC1]
    assert "FINAL CARE ORDER PAGE ONE" in texts[first]
    assert "FINAL CARE ORDER PAGE TWO" in texts[first + 1]
    assert (
        "Document 1: Final Care Order: Made at Nottingham (Mon 20 November 2023), page 2 of 2"
        in (texts[first + 1])
    )
    assert f"Page {first + 2} of {n}" in texts[first + 1]
    # every page of the bundle is A4 portrait, the landscape page scaled into it
    for p in reader.pages:
        assert (round(float(p.mediabox.width)), round(float(p.mediabox.height))) == (595, 842)
    # the image is on a page of its own, as an image
    image_page = reader.pages[n - 1]
    assert len(image_page.images) == 1
    assert image_page.images[0].image.size == (60, 40)


def index_pages(built: dict[str, Any]) -> list[int]:
    marks = outline(built["reader"])
    return list(range(marks["Index"], marks["IRO report"]))


def test_index_links_and_printed_pages(built):
    reader, texts = built["reader"], built["texts"]
    marks = outline(reader)
    index = " ".join(" ".join(texts[i] for i in index_pages(built)).split())
    # the index prints the page each section starts on: the bookmark's page, counted from 1
    for number, title in enumerate(SECTIONS, 1):
        m = re.search(rf"{number} {re.escape(title)}[^\d]*?(\d+) ", index)
        assert m is not None, title
        assert int(m.group(1)) == marks[title] + 1, title
    doc1 = marks[DOC1]
    assert f"{doc1 + 1}\u2013{doc1 + 2}" in index  # the merged PDF's two pages (an en dash)
    # the others are listed as served separately, with their file name in the folder
    assert "served separately as 03-other-notes.docx (not a PDF or an image)" in index
    assert re.search(
        r"served separately as 04-case-chronology-\s?broken\.pdf \(cannot be read", index
    )
    # every link of the index goes to the page of what it names
    named = {k: reader.get_destination_page_number(v) for k, v in reader.named_destinations.items()}
    targets = set()
    for i in index_pages(built):
        for annot in reader.pages[i].get("/Annots") or []:
            a = annot.get_object()
            assert a["/Subtype"] == "/Link"
            targets.add(named[a["/Dest"]])
    expected = {marks[t] for t in ["Cover sheet", "Index", *SECTIONS]} | {doc1, doc1 + 1}
    expected.add(len(reader.pages) - 1)  # the image
    assert targets == expected


def test_checklist_says_what_is_missing_and_not_applicable(built):
    index = " ".join(" ".join(built["texts"][i] for i in index_pages(built)).split())
    guardian = "Children's guardian's report immediately preceding the Care Order"
    for expected in [
        f"{guardian} MISSING: no document attached",
        "Final Care Plan filed in proceedings not applicable: No proceedings were issued.",
        "Chronology of the child's case present document 3, served separately as 04-case-",
    ]:
        assert expected in index, expected
    assert built["result"].missing == built["folder"].missing
    assert guardian in built["result"].missing
    cover = " ".join(built["texts"][0].split())
    for expected in [
        "Child (case reference) CR-30417", "Local authority Nottinghamshire County Council",
        "Referring officer Priya Shah (Independent Reviewing Officer), IRO Service",
        "Contact priya.shah@example.org", "Date of referral Tue 24 June 2025",
        "Date of this bundle Wed 25 June 2025", "What the referral is about Care plan",
        "Why it is referred now The placement ends in September.",
        f"Checklist {len(built['result'].missing)} items missing",
    ]:  # fmt: skip
        assert expected in cover, expected


def test_generator_mark_and_privacy(built):
    path = built["tmp"] / "bundle.pdf"
    meta = built["reader"].metadata
    assert meta["/Creator"].startswith("drp-cli") and meta["/Producer"].startswith("drp-cli")
    assert meta["/Title"] == "CAFCASS referral bundle"  # no child reference in the metadata
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the folder is the same bundle: its sections are the ones the PDF holds
    assert (built["tmp"] / "bundle" / "01-iro-report.md").read_text().startswith("# IRO report")


def darkest(gray: Any, box: tuple[int, int, int, int]) -> int:
    low, _ = gray.crop(box).getextrema()
    return int(low)


def test_pages_look_right(built):
    """Render the cover, the index, a section and the attached pages to PNG (kept under the
    test's tmp folder to be looked at) and check each shows something where it should."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is missing: scripts/pdf-deps.sh installs poppler-utils")
    from PIL import Image

    tmp, marks = built["tmp"], outline(built["reader"])
    doc1 = marks[DOC1]
    wanted = {"cover": 0, "index": 1, "report": marks["IRO report"], "order": doc1,
              "order-wide": doc1 + 1, "image": len(built["reader"].pages) - 1}  # fmt: skip
    for name, index in wanted.items():
        subprocess.run(
            ["pdftoppm", "-png", "-r", "40", "-f", str(index + 1), "-l", str(index + 1),
             "-singlefile", str(tmp / "bundle.pdf"), str(tmp / f"page-{name}")],
            check=True, timeout=60,
        )  # fmt: skip
        with Image.open(tmp / f"page-{name}.png") as im:
            gray = im.convert("L")
            w, h = gray.size
            assert (w, h) == (331, 468)  # A4 at 40 dpi
            # ink at the foot (the page number) and in the body
            assert darkest(gray, (0, int(h * 0.93), w, h)) < 128, name
            assert darkest(gray, (0, int(h * 0.05), w, int(h * 0.9))) < 128, name
            if name == "image":  # the red picture, scaled to the page's width, at its top
                r, g, b = im.convert("RGB").getpixel((w // 2, int(h * 0.2)))  # type: ignore[misc]
                assert r > 150 and g < 90 and b < 90


# -- the command ---------------------------------------------------------------------------
def small_case(t: Tracker) -> int:
    return realistic(t, "nottinghamshire-2016", role="iro", stage=None)


def test_cli_pdf_and_folder_together(db_target, tmp_path, drp):
    cid = small_case(fixed_tracker(db_target))
    pdf, folder = tmp_path / "b.pdf", tmp_path / "b"
    r = drp("bundle", str(cid), "--pdf", str(pdf), "-o", str(folder), "--on", "2025-06-25",
            "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) == {"path", "files", "missing", "pdf", "pdf_pages", "served_separately"}
    assert out["pdf"] == str(pdf) and out["path"] == str(folder)
    assert out["pdf_pages"] == len(pypdf.PdfReader(pdf).pages)
    assert out["served_separately"] == [] and "index.md" in out["files"]
    assert "IRO report: why the matter is referred now and the steps taken" in out["missing"]
    # the PDF alone; then again: refused without --force, replaced with it
    only = tmp_path / "only.pdf"
    r = drp("bundle", str(cid), "--pdf", str(only), "--on", "2025-06-25")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"Wrote {only} (")
    assert "MISSING (" in r.stdout
    before = only.read_bytes()
    r = drp("bundle", str(cid), "--pdf", str(only), "--on", "2025-06-25")
    assert r.exit_code == 2
    assert r.stderr == f"Error: {only} already exists; use --force to replace it\n"
    assert only.read_bytes() == before
    r = drp("bundle", str(cid), "--pdf", str(only), "--on", "2025-06-25", "--force")
    assert r.exit_code == 0 and r.stdout.startswith(f"Replaced {only} (")


def test_cli_refusals_write_nothing(db_target, db_path, tmp_path, drp):
    cid = small_case(fixed_tracker(db_target))
    r = drp("bundle", str(cid))
    assert r.exit_code == 2
    assert r.stderr == "Error: give -o DIR (a folder), --pdf FILE (one PDF), or both\n"
    # never over the database, even with --force
    r = drp("bundle", str(cid), "--pdf", str(db_path), "--force")
    assert r.exit_code == 2 and "database" in r.stderr
    # never over a PDF drp did not write
    theirs = tmp_path / "theirs.pdf"
    theirs.write_bytes(attachment_pdf())
    r = drp("bundle", str(cid), "--pdf", str(theirs), "--force")
    assert r.exit_code == 2
    assert "drp did not write it" in r.stderr
    # a folder that is refused stops the PDF too: both or neither
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("mine")
    pdf = tmp_path / "new.pdf"
    r = drp("bundle", str(cid), "--pdf", str(pdf), "-o", str(tmp_path / "taken"), "--force")
    assert r.exit_code == 2 and not pdf.exists()


def test_without_pdf_engine_a_clear_error(db_target, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pango(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    t = fixed_tracker(db_target)
    cid = small_case(t)
    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(pdfbundle.PdfEngineMissing, match="needs WeasyPrint and Pango"):
        pdfbundle.write_pdf(t, cid, tmp_path / "b.pdf")
    assert not (tmp_path / "b.pdf").exists()


def test_image_and_pdf_detection():
    assert pdfbundle._image_type(png()) == "image/png"
    assert pdfbundle._image_type(b"GIF89a nonsense") == ""
    assert pdfbundle._pdf_pages(attachment_pdf()) == (2, "")
    assert pdfbundle._pdf_pages(b"%PDF-1.7 broken") == (0, "cannot be read as a PDF")
    w = pypdf.PdfWriter()
    w.add_blank_page(100, 100)
    w.encrypt("secret")
    out = io.BytesIO()
    w.write(out)
    assert pdfbundle._pdf_pages(out.getvalue()) == (0, "password-protected")


def test_turned_pages_are_measured_as_shown():
    w = pypdf.PdfWriter()
    w.add_blank_page(200, 100).rotate(90)
    w.add_blank_page(200, 100)
    out = io.BytesIO()
    w.write(out)
    assert pdfbundle._pdf_sizes(out.getvalue()) == ([(100.0, 200.0), (200.0, 100.0)], "")
    # a page is drawn as large as fits A4's box, centred: 190 mm wide less the frame's room
    scale, x, y = pdfbundle._fit((200.0, 100.0))
    mm = [round(v / 72 * 25.4, 1) for v in (x, y, 200 * scale, 100 * scale)]
    assert mm == [12.0, 16 + (265 - 93) / 2, 186.0, 93.0]
