"""A subject access folder (``drp subject-access CHILD -o DIR``): everything drp holds about
one child, as a readable document (HTML, and the same page as PDF), as JSON, and the
attached documents, for the officer to review before release.

The folder is written by :func:`drp_cli.adapters.outpaths.write_folder`: owner-only (0700,
files 0600), all at once (a staging folder renamed into place), never over the database or
the attachment store, with a ``SHA256SUMS`` of what it holds, so that ``--force`` replaces
only a folder drp wrote. Each attached document is read from the store and checked
against its SHA-256 before it is written (:func:`drp_cli.render.pdfbundle._read`); a
missing or changed one stops the export and nothing is written.

The HTML is ``templates/subject_access.html.j2`` (a council may give its own in
``DRP_TEMPLATES``), autoescaped: every name of a third party is highlighted (``<mark
class="third-party">``) wherever it appears, and listed under "Third-party data to
review". The PDF is that page laid out by WeasyPrint as the bundle's PDF is (the bundle's
engine, loaded the same way, with its URL fetcher that fetches nothing), marked with drp's
generator.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drp_cli import __version__
from drp_cli.adapters.outpaths import FOLDER, GENERATOR, check_output, protected_paths, write_folder
from drp_cli.render import pdfbundle
from drp_cli.render.documents import long_date, template_dirs
from drp_cli.render.mdhtml import BASE_CSS
from drp_cli.services import subject_access as sar
from drp_cli.services.tracker import Tracker

TEMPLATE = "subject_access.html.j2"
HTML_FILE = "subject-access.html"
PDF_FILE = "subject-access.pdf"
JSON_FILE = "subject-access.json"
TITLE = "Subject access: the record drp holds"
CSS = (
    BASE_CSS
    + """
mark.third-party { background: #ffe066; color: #000; padding: 0 1pt;
                   border-bottom: 1.5pt solid #c77700; }
.review { border: 2pt solid #c77700; padding: 4pt 10pt; margin: 8pt 0 12pt; }
.review h2 { margin-top: 4pt; }
.meta { color: #333; }
.concern { page-break-before: always; }
.small { font-size: 9pt; }
td.text { white-space: pre-wrap; }
td { overflow-wrap: break-word; }
table.events { table-layout: fixed; }
table.events td, td.text { overflow-wrap: anywhere; }
@page { @bottom-right { content: "Page " counter(page) " of " counter(pages);
                        font: 8pt "DejaVu Sans", sans-serif; }
        @bottom-left { content: "Subject access: review third-party data before release";
                       font: 8pt "DejaVu Sans", sans-serif; color: #555; } }
.retracted { color: #666; text-decoration: line-through; }
"""
)


@dataclass(frozen=True)
class Written:
    path: Path
    files: list[str]
    concerns: int
    third_parties: int
    replaced: bool


def _environment(names: list[str]) -> Any:
    import jinja2
    from markupsafe import Markup, escape

    pattern = sar.mention_pattern(names)

    def tp(value: Any) -> Markup:
        """``value`` escaped, each third party's name in it highlighted."""
        if value is None:
            return Markup("")
        text = value if isinstance(value, str) else _plain(value)
        if pattern is None:
            return escape(text)
        out, last = [], 0
        for m in pattern.finditer(text):
            out += [escape(text[last : m.start()]),
                    Markup('<mark class="third-party">%s</mark>') % m.group(0)]  # fmt: skip
            last = m.end()
        out.append(escape(text[last:]))
        return Markup("").join(out)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs()]),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tp"] = tp
    env.filters["long_date"] = lambda v: str(long_date(v)) if v else "-"
    env.filters["label"] = lambda key: str(key).replace("_", " ")
    return env


def _plain(value: Any) -> str:
    """A value of an event's details as a line of text."""
    if isinstance(value, list):
        return "; ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_plain(v)}" for k, v in value.items()
                         if k != sar.MARK and v not in (None, "", [], {}))  # fmt: skip
    return "" if value is None else str(value)


def render_html(record: sar.SubjectRecord) -> str:
    """The readable document: one self-contained HTML page."""
    env = _environment(record.names)
    return str(
        env.get_template(TEMPLATE).render(
            title=TITLE, css=CSS, generator=GENERATOR, version=__version__, r=record.data,
            review=[p.to_dict() for p in record.third_party], files=record.files,
        )
    )  # fmt: skip


def render_pdf(html: str) -> bytes:
    """The page as PDF, laid out by the bundle's engine, fetching nothing."""
    weasyprint = pdfbundle._weasyprint()
    from pypdf import PdfReader, PdfWriter

    pdf = weasyprint.HTML(string=html, url_fetcher=pdfbundle._fetcher([])).write_pdf()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    import pypdf

    writer.add_metadata(
        {
            "/Title": TITLE,
            "/Creator": f"{GENERATOR} {__version__}",
            "/Producer": f"{GENERATOR} {__version__} (WeasyPrint {weasyprint.__version__}, "
            f"pypdf {pypdf.__version__})",
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write(
    tracker: Tracker,
    child: str,
    output: str | os.PathLike[str],
    *,
    subject: str = "child",
    force: bool = False,
    on: dt.date | str | None = None,
    pdf: bool = True,
) -> Written:
    """Write everything drp holds about ``child`` into the new folder ``output``."""
    protected = protected_paths(tracker.store)
    # the folder is checked before anything is read or laid out
    check_output(output, protected, force=force, kind="folder", what="subject access folder",
                 replaces=(FOLDER,))  # fmt: skip
    record = sar.gather(tracker, child, subject=subject, on=on)
    files: dict[str, str | bytes] = {}
    for view, name in record.files:
        files[name] = pdfbundle._read(view)  # checked against its SHA-256
    html = render_html(record)
    files[HTML_FILE] = html
    if pdf:
        files[PDF_FILE] = render_pdf(html)
    files[JSON_FILE] = json.dumps(record.data, indent=1, ensure_ascii=False) + "\n"
    written = write_folder(output, files, protected=protected, force=force,
                           what="subject access folder")  # fmt: skip
    return Written(Path(output), sorted(files), len(record.data["concerns"]),
                   len(record.third_party), written.replaced)  # fmt: skip
