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

import re
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


#: The protective marking of every document about a child (Government Security
#: Classifications: OFFICIAL, with the SENSITIVE caveat for personal data about a child).
MARKING = "OFFICIAL-SENSITIVE"


def css_string(text: str) -> str:
    """``text`` as a CSS string: every character but letters, digits and spaces escaped
    (``\\22 `` for a quote), so a setting's value cannot end the string or the rule."""
    out = "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in text)
    return f'"{out}"'


def form_css(authority: str | None, marking: str = MARKING) -> str:
    """:data:`BASE_CSS` for a form a recipient prints: the authority and the marking in the
    top margin of every page, the marking and "Page X of Y" in the bottom one (CSS paged
    media: Chromium, Edge and WeasyPrint print them); on screen, the banner above the form;
    reply boxes (a table of one column) tall and white."""
    top_left = css_string(authority) if authority else '""'
    mark = css_string(marking)
    return BASE_CSS + (
        "@page { margin: 22mm 16mm 20mm;\n"
        f"  @top-left {{ content: {top_left}; font: 9pt Arial, sans-serif; }}\n"
        f"  @top-right {{ content: {mark}; font: bold 9pt Arial, sans-serif; }}\n"
        f"  @bottom-left {{ content: {mark}; font: bold 9pt Arial, sans-serif; }}\n"
        '  @bottom-right { content: "Page " counter(page) " of " counter(pages); '
        "font: 9pt Arial, sans-serif; } }\n"
        ".banner { display: flex; justify-content: space-between; font-size: 9pt; "
        "border-bottom: 1px solid #888; padding-bottom: 3pt; margin-bottom: 10pt; }\n"
        ".banner .marking { font-weight: bold; }\n"
        "@media print { .banner { display: none; } }\n"
        "table, tr { page-break-inside: avoid; }\n"
        "h2 { page-break-after: avoid; }\n"
        "@media screen { body { padding: 0 10px; } }\n"
    )


def form_page(title: str, body: str, authority: str | None, marking: str = MARKING) -> str:
    """A form as a whole HTML page (:func:`page`) with :func:`form_css` and the banner (the
    authority and the marking) above ``body``."""
    banner = (
        f'<div class="banner"><span class="authority">{escape(authority or "")}</span>'
        f'<span class="marking">{escape(marking)}</span></div>\n'
    )
    return page(title, banner + body, css=form_css(authority, marking))


_EMPTY_HEAD = re.compile(r"<table>\s*<thead>\s*<tr>\s*(?:<th>\s*</th>\s*)+</tr>\s*</thead>\s*")


def without_empty_heads(html: str) -> str:
    """Every label-and-value table (whose Markdown header row is empty) without its empty
    header row, marked as such: ``<table class="labels">``."""
    return _EMPTY_HEAD.sub('<table class="labels">\n', html)


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
