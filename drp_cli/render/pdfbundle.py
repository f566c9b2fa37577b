"""The CAFCASS referral bundle as one PDF (``drp bundle ID --pdf FILE``), the way a family
court bundle is served (Practice Direction 27A and the e-bundle guidance after it): a cover
sheet, an index whose entries link to their pages, the bundle's sections, then the attached
documents in date order; page numbers printed on every page that are the PDF's own page
numbers (and page labels), and a bookmark for every section and document.

It is the same bundle as the Markdown folder (:func:`drp_cli.render.documents.bundle_content`: one
context, one checklist, the same rendered sections). The sections' Markdown becomes HTML
through :mod:`drp_cli.render.mdhtml`, and WeasyPrint lays the whole bundle out as one HTML document
with CSS paged media (``templates/bundle/pdf.css``): page numbers, the index's page numbers
(``target-counter``), its links and the bookmarks all come from that one layout. An attached
PDF gets as many placeholder pages there as it has pages (counted first with pypdf), each
with its page number printed in the margin; pypdf then draws each of its pages, scaled to
fit, onto its placeholder. An attached image is placed on a page of its own; any other file
is listed in the index as served separately.

No network: WeasyPrint is given only drp's own HTML, and its URL fetcher serves the attached
images and refuses everything else. Fonts come from the system (DejaVu, from Debian's
``fonts-dejavu-core``; ``scripts/pdf-deps.sh`` installs it and Pango).

WeasyPrint, pypdf and Pillow are imported only inside these functions.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drp_cli import __version__
from drp_cli.adapters.outpaths import (
    GENERATOR,
    PDF_DOCUMENT,
    WriteResult,
    check_output,
    protected_paths,
    write_file,
)
from drp_cli.core.errors import EXIT_DATA, DrpError
from drp_cli.render import documents as docs
from drp_cli.render.mdhtml import page, to_html, without_empty_heads
from drp_cli.services import attachments as att
from drp_cli.services.tracker import Tracker

#: The sections, in the bundle's order, with their titles in the index and the bookmarks.
SECTION_TITLES = {
    "iro-report": "IRO report",
    "statement-of-issues": "Statement of issues",
    "chronology": "Record of the dispute resolution process",
    "wishes-and-feelings": "The child's wishes and feelings",
    "professionals": "Professionals",
    "important-people": "Important people in the child's life",
    "diversity-and-communication": "Diversity and communication needs",
}
#: Image formats placed on a page (as Pillow names them); anything else is served separately.
IMAGE_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
#: The page an attached PDF's page is drawn on: A4, the box inside these margins (mm) is
#: where it goes, scaled to fit; the margins hold the document's title and the page number.
A4_MM = (210.0, 297.0)
ATTACHMENT_MARGINS_MM = {"top": 14.0, "right": 10.0, "bottom": 14.0, "left": 10.0}
_PT_PER_MM = 72 / 25.4
#: The URL scheme of an attached image in the bundle's HTML (served from memory).
_IMAGE_SCHEME = "drp-document:"


class PdfEngineMissing(DrpError):
    """WeasyPrint or the system libraries it needs (Pango) cannot be loaded."""

    exit_code = EXIT_DATA


@dataclass
class PlacedDocument:
    """An attached document in the PDF: its number (in date order), what it is, and how it
    is placed (``pdf``: its pages merged; ``image``: on a page; ``separate``: served
    separately, with the reason)."""

    number: int
    view: att.AttachmentView
    #: its file name in the bundle folder (``attachments/...``)
    name: str
    placement: str
    pages: int = 0
    reason: str = ""
    data: bytes = field(default=b"", repr=False)
    image_type: str = ""
    #: an attached PDF's page sizes (points, as shown)
    sizes: list[tuple[float, float]] = field(default_factory=list, repr=False)

    @property
    def anchor(self) -> str:
        return f"d{self.number}"

    def page_anchor(self, i: int) -> str:
        """The anchor of its ``i``-th page (1-based)."""
        return f"d{self.number}-p{i}"

    #: an attached PDF's own title (its document information), if it has one
    own_title: str = ""

    @property
    def title(self) -> str:
        """What the document is: its kind and description ("Care Plan: as filed"); a
        document of kind "other" by its description, else its own title (a PDF's), else its
        file name, said as an image or a document ("Image: bedroom.jpg"), never "Other
        document" alone."""
        kind = att.KINDS.get(self.view.kind, self.view.kind)
        if self.view.kind != "other":
            return f"{kind}: {self.view.description}" if self.view.description else kind
        if self.view.description:
            return self.view.description
        what = "Image" if self.placement == "image" else "Document"
        return f"{what}: {self.own_title or self.view.filename}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "kind": self.view.kind,
            "description": self.view.description,
            "dated": self.view.dated,
            "file": Path(self.name).name,
            "sha256": self.view.sha256,
            "placement": self.placement,
            "pages": self.pages,
            "reason": self.reason,
            "anchor": self.anchor,
            "last_anchor": self.page_anchor(self.pages) if self.pages > 1 else None,
        }


@dataclass(frozen=True)
class PdfResult:
    path: Path
    pages: int
    #: the attached documents served separately (their file names in the bundle folder)
    separate: list[str]
    missing: list[str]
    replaced: bool = False


def _read(view: att.AttachmentView) -> bytes:
    """The stored copy of an attachment (decrypted if it is kept encrypted), checked
    against its SHA-256."""
    return att.read_bytes(view)


def _pdf_sizes(data: bytes) -> tuple[list[tuple[float, float]], str]:
    """The size (points, as shown: turned by its /Rotate) of each page of an attached PDF;
    none, and why, when it cannot be merged."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return [], "password-protected"
        sizes = []
        for p in reader.pages:
            w, h = float(p.cropbox.width), float(p.cropbox.height)
            if w <= 0 or h <= 0:
                raise ValueError("an empty page")
            sizes.append((h, w) if p.rotation % 180 else (w, h))
    except Exception:  # a damaged PDF is served as it is, never half-merged
        return [], "cannot be read as a PDF"
    return (sizes, "") if sizes else ([], "has no pages")


def _pdf_title(data: bytes) -> str:
    """An attached PDF's own title (its document information's /Title), one line; "" when
    it has none or it cannot be read."""
    from pypdf import PdfReader

    from drp_cli.core.textsafe import is_one_line

    try:
        meta = PdfReader(io.BytesIO(data)).metadata
        title = " ".join(str((meta.title if meta is not None else "") or "").split())
    except Exception:  # a title is a nicety: never a reason to refuse the bundle
        return ""
    return title[:120] if title and is_one_line(title) else ""


def _pdf_pages(data: bytes) -> tuple[int, str]:
    """How many pages an attached PDF has (0 and why, when it cannot be merged)."""
    sizes, reason = _pdf_sizes(data)
    return len(sizes), reason


def _box() -> tuple[float, float, float, float]:
    """Where an attached PDF's page may go on its A4 page (points from the bottom left):
    left, bottom, width, height."""
    inset = 2 * _PT_PER_MM  # room for the frame, inside the page's content box
    m = {k: v * _PT_PER_MM + inset for k, v in ATTACHMENT_MARGINS_MM.items()}
    width = A4_MM[0] * _PT_PER_MM - m["left"] - m["right"]
    height = A4_MM[1] * _PT_PER_MM - m["top"] - m["bottom"]
    return m["left"], m["bottom"], width, height


def _fit(size: tuple[float, float]) -> tuple[float, float, float]:
    """How a page of ``size`` is drawn: its scale, and its left and bottom on the page
    (centred in :func:`_box`, as large as fits)."""
    left, bottom, width, height = _box()
    w, h = size
    scale = min(width / w, height / h)
    return scale, left + (width - w * scale) / 2, bottom + (height - h * scale) / 2


def _image_type(data: bytes) -> str:
    """The MIME type of an attached image drp can place on a page ("" when it is not one)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format or ""
            im.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return ""
    if fmt not in IMAGE_FORMATS:
        return ""
    return f"image/{fmt.lower()}"


def place_documents(content: docs.BundleContent) -> list[PlacedDocument]:
    """The bundle's attached documents in date order (undated last, then by their number in
    the folder), each with how it goes into the PDF."""
    ordered = sorted(
        content.included,
        key=lambda pair: (pair[0].dated is None, pair[0].dated or dt.date.min, pair[1]),
    )
    placed = []
    for number, (view, name) in enumerate(ordered, 1):
        data = _read(view)
        doc = PlacedDocument(number, view, name, "separate")
        if data.startswith(b"%PDF-"):
            doc.sizes, doc.reason = _pdf_sizes(data)
            doc.pages = len(doc.sizes)
            if doc.pages:
                doc.placement, doc.data = "pdf", data
                doc.own_title = _pdf_title(data)
        elif image := _image_type(data):
            doc.placement, doc.pages, doc.data, doc.image_type = "image", 1, data, image
        if doc.placement == "separate" and not doc.reason:
            doc.reason = "not a PDF or an image"
        placed.append(doc)
    return placed


def _referring_officer(tracker: Tracker, context: dict[str, Any]) -> dict[str, Any]:
    """Who refers (who recorded the referral, else the concern's owner), with their e-mail
    address and team from the staff directory where it has them."""
    from drp_cli.services import staff

    c = context["concern"]
    referral = context.get("referral")
    name = (referral or {}).get("by") or c.get("owner") or c["raised_by"]
    person = next(
        (p for p in staff.directory(tracker) if staff.key(p.name) == staff.key(name)), None
    )
    return {
        "name": name,
        "email": person.email if person else None,
        "team": (person.team if person else None) or c.get("team"),
    }


def _where(entry: dict[str, Any], placed: list[PlacedDocument]) -> list[dict[str, Any]]:
    """Where a checklist item is in the PDF: its section, or its documents."""
    if entry["files"]:
        keys = {(f.from_concern, f.n) for f in entry["files"]}
        return [d.to_dict() for d in placed if (d.view.from_concern, d.view.n) in keys]
    if entry["generated"]:
        key = next(k for k, v in docs.BUNDLE_FILES.items() if v == entry["generated"])
        return [{"title": SECTION_TITLES[key], "anchor": f"s-{key}", "placement": "section"}]
    return []


def _css(content: docs.BundleContent) -> str:
    """The bundle's style (``bundle/pdf.css``, which an authority may replace), then the
    geometry of attached PDFs' pages, which the merging relies on."""
    source: str = content.env.loader.get_source(content.env, "bundle/pdf.css")[0]
    m = ATTACHMENT_MARGINS_MM
    height = A4_MM[1] - m["top"] - m["bottom"] - 1  # a millimetre to spare: one page each
    return (
        source + f"\n@page attachment {{ size: A4; margin: {m['top']}mm {m['right']}mm "
        f"{m['bottom']}mm {m['left']}mm; }}\n"
        f".doc-page {{ height: {height}mm; overflow: hidden; }}\n"
        f".doc-page.image img {{ max-height: {height}mm; }}\n"
    )


def _html(tracker: Tracker, content: docs.BundleContent, placed: list[PlacedDocument]) -> str:
    from html import escape

    context = dict(content.context)
    sections = [
        {"key": k, "title": SECTION_TITLES[k], "anchor": f"s-{k}"} for k in docs.BUNDLE_FILES
    ]
    context.update(
        officer=_referring_officer(tracker, context),
        sections=sections,
        documents=[d.to_dict() for d in placed],
        where={e["slug"]: _where(e, placed) for e in content.items},
        missing=content.missing,
    )
    protocol = content.protocol
    cover = docs.render(content.env, protocol, "bundle/pdf-cover.md.j2", context)
    index = docs.render(content.env, protocol, "bundle/pdf-index.md.j2", context)
    parts = [
        f'<section id="cover" class="cover" data-bookmark="Cover sheet">{to_html(cover)}</section>',
        f'<section id="index" class="index" data-bookmark="Index">{to_html(index)}</section>',
    ]
    for s in sections:
        body = without_empty_heads(to_html(content.documents[docs.BUNDLE_FILES[s["key"]]]))
        parts.append(
            f'<section id="{s["anchor"]}" class="section" '
            f'data-bookmark="{escape(s["title"])}">{body}</section>'
        )
    for d in placed:
        if d.placement == "separate":
            continue
        label = f"Document {d.number}: {d.title}"
        if d.view.dated:
            label += f" ({docs.long_date(d.view.dated)})"
        pages = []
        for i in range(1, d.pages + 1):
            head = f"{label}, page {i} of {d.pages}" if d.pages > 1 else label
            inner = ""
            if d.placement == "pdf":  # a thin frame where the page is drawn in
                inner = _frame(d.sizes[i - 1])
            if d.placement == "image":
                alt = f"Document {d.number}"
                inner = f'<img src="{_IMAGE_SCHEME}{d.number}" alt="{escape(alt)}">'
            pages.append(
                f'<div class="doc-page {d.placement}" id="{d.page_anchor(i)}" '
                f'data-head="{escape(head)}">{inner}</div>'
            )
        parts.append(
            f'<section id="{d.anchor}" class="document" data-bookmark="{escape(label)}">'
            + "".join(pages)
            + "</section>"
        )
    return page("CAFCASS referral bundle", "\n".join(parts), css=_css(content))


def _frame(size: tuple[float, float]) -> str:
    """The frame around where :func:`_merge` draws an attached page (in the page's box)."""
    scale, x, y = _fit(size)
    # the content box of the placeholder page, where the frame's margins count from
    left = ATTACHMENT_MARGINS_MM["left"] * _PT_PER_MM
    top_of_box = (A4_MM[1] - ATTACHMENT_MARGINS_MM["top"]) * _PT_PER_MM
    pad = 1.0  # outside the page, which may paint itself white
    w, h = size[0] * scale + 2 * pad, size[1] * scale + 2 * pad
    x, y = x - pad, y - pad
    mm = 1 / _PT_PER_MM
    top = top_of_box - (y + h)
    return (
        f'<div class="frame" style="margin-left: {(x - left) * mm:.3f}mm; '
        f'margin-top: {top * mm:.3f}mm; width: {w * mm:.3f}mm; height: {h * mm:.3f}mm"></div>'
    )


def _fetcher(placed: list[PlacedDocument]) -> Any:
    """WeasyPrint's URL fetcher: the attached images, from memory; nothing else at all."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    images = {f"{_IMAGE_SCHEME}{d.number}": d for d in placed if d.placement == "image"}

    class Fetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            d = images.get(url)
            if d is None:
                raise ValueError("drp's PDF bundle fetches nothing")  # no network, no files
            return URLFetcherResponse(url, d.data, {"Content-Type": d.image_type})

    return Fetcher(allowed_protocols=())


def _weasyprint() -> Any:
    import logging

    # pypdf and WeasyPrint log what they cannot read or render (with the text around it):
    # not drp's output, and it could hold what the documents say
    for name in ("pypdf", "weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        import weasyprint
    except (ImportError, OSError):
        raise PdfEngineMissing(
            "the PDF bundle needs WeasyPrint and Pango (run scripts/pdf-deps.sh, or `make install`)"
        ) from None
    return weasyprint


def _merge(pdf: bytes, placed: list[PlacedDocument], where: dict[str, int]) -> Any:
    """The laid-out bundle with every attached PDF's pages drawn onto their placeholders;
    page labels 1, 2, 3... (the printed page numbers); drp's generator mark."""
    from pypdf import PdfReader, PdfWriter, Transformation
    from pypdf.constants import PageLabelStyle

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for d in placed:
        if d.placement != "pdf":
            continue
        reader = PdfReader(io.BytesIO(d.data))
        if reader.is_encrypted:
            reader.decrypt("")
        own = PdfWriter(clone_from=reader)  # its pages, to turn (a reader's are read-only)
        for i, (source, size) in enumerate(zip(own.pages, d.sizes, strict=True), 1):
            if source.rotation:
                source.transfer_rotation_to_content()
            box = source.cropbox
            scale, x, y = _fit(size)
            op = (
                Transformation()
                .translate(-float(box.left), -float(box.bottom))
                .scale(scale, scale)
                .translate(x, y)
            )
            writer.pages[where[d.page_anchor(i)]].merge_transformed_page(source, op)
    count = len(writer.pages)
    writer.set_page_label(0, count - 1, style=PageLabelStyle.DECIMAL, start=1)
    import pypdf
    import weasyprint

    writer.add_metadata(
        {
            "/Title": "CAFCASS referral bundle",
            "/Creator": f"{GENERATOR} {__version__}",
            "/Producer": f"{GENERATOR} {__version__} (WeasyPrint {weasyprint.__version__}, "
            f"pypdf {pypdf.__version__})",
        }
    )
    return writer


def render_pdf(
    tracker: Tracker, content: docs.BundleContent
) -> tuple[bytes, int, list[PlacedDocument]]:
    """The bundle as PDF bytes, its page count, and its attached documents as placed."""
    weasyprint = _weasyprint()
    placed = place_documents(content)
    html = _html(tracker, content, placed)
    document = weasyprint.HTML(string=html, url_fetcher=_fetcher(placed)).render()
    where: dict[str, int] = {}
    for number, pg in enumerate(document.pages):
        for anchor in pg.anchors:
            where.setdefault(anchor, number)
    for d in placed:  # each attached page has its own placeholder page (a bug otherwise)
        spots = [where.get(d.page_anchor(i)) for i in range(1, d.pages + 1)]
        if d.pages and (None in spots or len(set(spots)) != d.pages):
            raise DrpError("the bundle's layout lost an attached document's pages")
    writer = _merge(document.write_pdf(), placed, where)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages), placed


def write_pdf(
    tracker: Tracker,
    concern_id: int,
    output: str | os.PathLike[str],
    *,
    force: bool = False,
    on: dt.date | str | None = None,
    templates: str | os.PathLike[str] | None = None,
    content: docs.BundleContent | None = None,
) -> PdfResult:
    """Write the bundle as one PDF to ``output`` (owner-only, atomically, never over the
    database; with ``force`` only over a PDF drp wrote). ``content``: the bundle already
    rendered (:func:`drp_cli.render.documents.bundle_content`), shared with the Markdown folder."""
    protected = protected_paths(tracker.store)
    check_output(
        output, protected, force=force, kind="file", what="PDF bundle", replaces=(PDF_DOCUMENT,)
    )
    if content is None:
        content = docs.bundle_content(tracker, concern_id, on=on, templates=templates)
    data, pages, placed = render_pdf(tracker, content)
    written: WriteResult = write_file(
        output, data, protected=protected, force=force, what="PDF bundle"
    )
    separate = [Path(d.name).name for d in placed if d.placement == "separate"]
    return PdfResult(Path(output), pages, separate, content.missing, written.replaced)
