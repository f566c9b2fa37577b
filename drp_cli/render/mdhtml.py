"""drp's Markdown documents as HTML: one rendering for every HTML output (the alert form as
HTML and in an e-mail, the bundle's sections in its PDF).

Templates escape every value a user typed (:func:`drp_cli.render.documents.md`): ``<`` becomes
``\\<`` and ``&`` becomes ``&amp;``, so the only raw HTML in a rendered document is what a
template wrote itself (``<br>`` line breaks, comments). That is why HTML is passed through
here: a user's text cannot become markup.

markdown-it-py (the CommonMark reference port, with GFM tables) is imported only when a
document is rendered.
"""

from __future__ import annotations

from html import escape

from drp_cli.adapters.outpaths import GENERATOR

#: A plain, printable style shared by drp's HTML documents (A4, system fonts, ruled tables).
BASE_CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10.5pt;
       line-height: 1.4; color: #111; max-width: 180mm; margin: 0 auto; }
h1 { font-size: 16pt; margin: 0 0 8pt; } h2 { font-size: 13pt; margin: 14pt 0 6pt; }
h3 { font-size: 11.5pt; margin: 12pt 0 4pt; }
table { border-collapse: collapse; width: 100%; margin: 6pt 0 10pt; }
th, td { border: 1px solid #888; padding: 3pt 5pt; text-align: left; vertical-align: top; }
th { background: #eee; }
blockquote { margin: 6pt 0; padding-left: 8pt; border-left: 3px solid #aaa; color: #333; }
"""


def to_html(markdown: str) -> str:
    """The HTML fragment of a Markdown document drp rendered (CommonMark with tables)."""
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown))


def page(title: str, body: str, *, css: str = BASE_CSS, lang: str = "en-GB") -> str:
    """A whole, self-contained HTML page around ``body`` (an HTML fragment), with drp's
    generator mark (so ``--force`` knows drp wrote it) and no request to any other place."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="generator" content="{GENERATOR}">\n'
        f"<title>{escape(title)}</title>\n<style>{css}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
