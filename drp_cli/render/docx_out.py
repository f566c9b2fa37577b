"""drp's Markdown documents as Word documents (python-docx): headings, paragraphs, tables and
lists from :func:`drp_cli.render.mdtext.blocks`, so no Markdown syntax reaches the page. The
document's creator (``dc:creator``) is drp's generator mark, so ``--force`` knows drp
wrote it. python-docx is imported only here, when a Word document is asked for.

The page is A4 with 2 cm margins (python-docx's own template is US Letter); the header
carries the authority's name and the protective marking (``OFFICIAL-SENSITIVE``), the
footer the marking again and "Page X of Y" as Word fields (``PAGE`` and ``NUMPAGES``), so
the numbers are right however the reader's Word lays the document out. Text is black
Arial (Word's "Heading" blue is for screens, not forms).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from drp_cli.adapters.outpaths import GENERATOR
from drp_cli.render.mdhtml import MARKING
from drp_cli.render.mdtext import Block, Run, blocks


def _runs(paragraph: Any, runs: list[Run], *, bold: bool = False) -> None:
    for r in runs:
        pieces = r.text.split("\n")
        for n, piece in enumerate(pieces):
            run = paragraph.add_run(piece)
            run.bold = r.bold or bold or None
            run.italic = r.italic or None
            if n < len(pieces) - 1:
                run.add_break()


def _add(doc: Any, found: list[Block], *, quote: bool = False) -> None:
    from docx.shared import Pt

    for b in found:
        if b.kind == "heading":
            _runs(doc.add_heading(level=min(b.level, 9)), b.runs)
        elif b.kind == "paragraph":
            p = doc.add_paragraph(style="Quote" if quote else None)
            _runs(p, b.runs)
        elif b.kind == "space":  # room to write in
            for _ in range(3):
                doc.add_paragraph()
        elif b.kind in ("bullets", "numbered"):
            style = "List Bullet" if b.kind == "bullets" else "List Number"
            for item in b.items:
                _runs(doc.add_paragraph(style=style), item)
        elif b.kind == "quote":
            _add(doc, b.children, quote=True)
        elif b.kind == "table" and b.rows:
            columns = max(len(r) for r in b.rows)
            table = doc.add_table(rows=0, cols=columns)
            table.style = "Table Grid"
            for n, row in enumerate(b.rows):
                cells = table.add_row().cells
                for c, content in enumerate(row):
                    p = cells[c].paragraphs[0]
                    _runs(p, content, bold=b.header and n == 0)
                    for run in p.runs:
                        run.font.size = Pt(10)
            _layout(table, b)
            doc.add_paragraph()


#: A table of at most this many rows is kept on one page (a reply box with its heading)
KEEP_TOGETHER_ROWS = 12
#: The label column of a table of labels and values (no header row), in millimetres
LABEL_MM = 48
TEXT_WIDTH_MM = 170


def _layout(table: Any, b: Block) -> None:
    """No row split across pages; a short table kept on one page with its header (a reply
    box never leaves its question behind); a table of labels and values with a narrow
    label column."""
    from docx.oxml import OxmlElement
    from docx.shared import Mm

    rows = table.rows
    for n, row in enumerate(rows):
        props = row._tr.get_or_add_trPr()
        props.append(OxmlElement("w:cantSplit"))
        if len(rows) <= KEEP_TOGETHER_ROWS and n < len(rows) - 1:
            for cell in row.cells:
                for p in cell.paragraphs:
                    p.paragraph_format.keep_with_next = True
    if not b.header and len(table.columns) == 2:
        table.autofit = False
        table.columns[0].width = Mm(LABEL_MM)
        table.columns[1].width = Mm(TEXT_WIDTH_MM - LABEL_MM)
        for row in rows:
            row.cells[0].width = Mm(LABEL_MM)
            row.cells[1].width = Mm(TEXT_WIDTH_MM - LABEL_MM)


#: A4, in millimetres, and the margins drp's forms use
A4_MM = (210, 297)
MARGIN_MM = 20


def _field(paragraph: Any, instruction: str) -> None:
    """A Word field (``PAGE``, ``NUMPAGES``) in ``paragraph``: Word and LibreOffice compute
    it as they lay the document out; "1" shows until they do."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def char(kind: str) -> Any:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        return el

    run = paragraph.add_run()
    run._r.append(char("begin"))
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    run = paragraph.add_run()
    run._r.append(code)
    run = paragraph.add_run()
    run._r.append(char("separate"))
    paragraph.add_run("1")
    run = paragraph.add_run()
    run._r.append(char("end"))


def _page_setup(doc: Any, authority: str | None, marking: str) -> None:
    """A4 with drp's margins; the header (authority, marking) and the footer (marking,
    "Page X of Y") on every page; black Arial throughout."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    for name in ("Normal", "Title", *(f"Heading {n}" for n in range(1, 4))):
        style = doc.styles[name]
        style.font.name = "Arial"
        style.font.color.rgb = RGBColor(0, 0, 0)
    doc.styles["Normal"].font.size = Pt(10.5)
    for name, size in (("Heading 1", 15), ("Heading 2", 12.5), ("Heading 3", 11)):
        doc.styles[name].font.size = Pt(size)
    for section in doc.sections:
        section.page_width, section.page_height = Mm(A4_MM[0]), Mm(A4_MM[1])
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Mm(MARGIN_MM))
        section.header_distance = section.footer_distance = Mm(10)
        head = section.header.paragraphs[0]
        head.text = ""
        if authority:
            head.add_run(authority)
            head.add_run("\t\t")
        else:
            head.add_run("\t\t")
        mark = head.add_run(marking)
        mark.bold = True
        foot = section.footer.paragraphs[0]
        foot.text = ""
        mark = foot.add_run(marking)
        mark.bold = True
        foot.add_run("\t\tPage ")
        _field(foot, "PAGE")
        foot.add_run(" of ")
        _field(foot, "NUMPAGES")
        for p in (head, foot):
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT
            for r in p.runs:
                r.font.size = Pt(9)
                r.font.name = "Arial"


def document(
    markdown: str,
    *,
    title: str,
    created: dt.datetime | None = None,
    authority: str | None = None,
    marking: str = MARKING,
) -> bytes:
    """The Word document (``.docx``) of a Markdown document drp rendered: A4, with
    ``authority`` and ``marking`` in the header and "Page X of Y" in the footer."""
    import docx

    doc = docx.Document()
    _page_setup(doc, authority, marking)
    props = doc.core_properties
    props.author = GENERATOR
    props.last_modified_by = GENERATOR
    props.title = title
    props.comments = "Written by drp-cli"
    if created is not None:
        props.created = props.modified = created.replace(tzinfo=None)
    _add(doc, blocks(markdown))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
