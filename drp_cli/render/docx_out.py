"""drp's Markdown documents as Word documents (python-docx): headings, paragraphs, tables and
lists from :func:`drp_cli.render.mdtext.blocks`, so no Markdown syntax reaches the page. The
document's creator (``dc:creator``) is drp's generator mark, so ``--force`` knows drp
wrote it. python-docx is imported only here, when a Word document is asked for.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from drp_cli.adapters.outpaths import GENERATOR
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
            doc.add_paragraph()


def document(markdown: str, *, title: str, created: dt.datetime | None = None) -> bytes:
    """The Word document (``.docx``) of a Markdown document drp rendered."""
    import docx

    doc = docx.Document()
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
