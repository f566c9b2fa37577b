"""drp's Markdown documents as a list of blocks (headings, paragraphs, tables, lists,
quotes), and as plain text: what an e-mail's text part and a Word document are made from.

The Markdown is parsed once by markdown-it-py (CommonMark with tables, as
:mod:`drp_cli.render.mdhtml` renders it), so what a template escaped (``\\|``, ``&amp;``) comes
back as the characters the user typed and no Markdown syntax is left in the text: no
pipes between cells, no backslashes, no ``**``, no ``#``. Raw HTML a template wrote itself
is read only for its line breaks (``<br>``); comments are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Run:
    """A piece of text with its emphasis (``\\n`` in it is a line break)."""

    text: str
    bold: bool = False
    italic: bool = False


@dataclass
class Block:
    """``kind``: heading (with ``level``), paragraph, space (room left to write in), table
    (``rows`` of cells, each a list of runs; ``header`` when the first row is a header row
    with any text), bullets or numbered (``items``: each a list of runs), quote
    (``children``)."""

    kind: str
    runs: list[Run] = field(default_factory=list)
    level: int = 0
    rows: list[list[list[Run]]] = field(default_factory=list)
    header: bool = False
    items: list[list[Run]] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)

    @property
    def text(self) -> str:
        return plain(self.runs)


_BR = re.compile(r"<br\s*/?>", re.I)


def plain(runs: list[Run]) -> str:
    return "".join(r.text for r in runs)


def _inline(token: Any) -> list[Run]:
    runs: list[Run] = []
    bold = italic = 0
    for child in token.children or []:
        kind = child.type
        if kind == "strong_open":
            bold += 1
        elif kind == "strong_close":
            bold -= 1
        elif kind == "em_open":
            italic += 1
        elif kind == "em_close":
            italic -= 1
        elif kind in ("text", "code_inline"):
            runs.append(Run(child.content, bold > 0, italic > 0))
        elif kind == "softbreak":
            runs.append(Run(" ", bold > 0, italic > 0))
        elif kind == "hardbreak" or (kind == "html_inline" and _BR.fullmatch(child.content)):
            runs.append(Run("\n", bold > 0, italic > 0))
    merged: list[Run] = []
    for r in runs:  # one run per stretch of the same emphasis
        if merged and (merged[-1].bold, merged[-1].italic) == (r.bold, r.italic):
            merged[-1] = Run(merged[-1].text + r.text, r.bold, r.italic)
        else:
            merged.append(r)
    return merged


def blocks(markdown: str) -> list[Block]:
    """The document's blocks, in order."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(markdown)
    out: list[Block] = []
    stack: list[list[Block]] = [out]
    i = 0
    while i < len(tokens):
        t = tokens[i]
        kind = t.type
        if kind == "heading_open":
            stack[-1].append(Block("heading", _inline(tokens[i + 1]), level=int(t.tag[1:])))
            i += 3
            continue
        if kind == "paragraph_open":
            runs = _inline(tokens[i + 1])
            # a paragraph of a non-breaking space is room to write in (a form's response)
            stack[-1].append(Block("paragraph" if plain(runs).strip() else "space", runs))
            i += 3
            continue
        if kind == "blockquote_open":
            quote = Block("quote")
            stack[-1].append(quote)
            stack.append(quote.children)
        elif kind == "blockquote_close":
            stack.pop()
        elif kind == "table_open":
            table = Block("table")
            j = i + 1
            row: list[list[Run]] = []
            while tokens[j].type != "table_close":
                tj = tokens[j]
                if tj.type == "tr_open":
                    row = []
                elif tj.type == "inline":
                    row.append(_inline(tj))
                elif tj.type == "tr_close":
                    table.rows.append(row)
                j += 1
            first = table.rows[0] if table.rows else []
            table.header = any(plain(c).strip() for c in first)
            if not table.header:
                table.rows = table.rows[1:]
            stack[-1].append(table)
            i = j + 1
            continue
        elif kind in ("bullet_list_open", "ordered_list_open"):
            listed = Block("bullets" if kind == "bullet_list_open" else "numbered")
            j = i + 1
            depth = 1
            while depth:
                tj = tokens[j]
                if tj.type in ("bullet_list_open", "ordered_list_open"):
                    depth += 1
                elif tj.type in ("bullet_list_close", "ordered_list_close"):
                    depth -= 1
                elif tj.type == "inline":
                    listed.items.append(_inline(tj))
                j += 1
            stack[-1].append(listed)
            i = j
            continue
        i += 1
    return out


def to_text(markdown: str) -> str:
    """The document as plain text, for an e-mail: headings underlined, a two-column table
    with no header as ``Label: value`` lines, any other table as one entry per row, lists
    with bullets; no Markdown syntax."""
    return text_of(blocks(markdown))


def text_of(found: list[Block], indent: str = "") -> str:
    parts: list[str] = []
    for b in found:
        if b.kind == "heading":
            title = b.text.strip()
            rule = "=" if b.level == 1 else "-"
            parts.append(title + ("\n" + rule * len(title) if b.level <= 2 else ""))
        elif b.kind == "paragraph":
            parts.append(_lines(b.text, indent))
        elif b.kind == "table":
            parts.append(_table_text(b, indent))
        elif b.kind in ("bullets", "numbered"):
            lines = []
            for n, item in enumerate(b.items, 1):
                mark = "\u2022 " if b.kind == "bullets" else f"{n}. "
                lines.append(indent + mark + plain(item).replace("\n", "\n" + indent + "  "))
            parts.append("\n".join(lines))
        elif b.kind == "quote":
            parts.append(text_of(b.children, indent + "    ").rstrip("\n"))
    return "\n\n".join(p for p in parts if p.strip()) + "\n"


def _lines(text: str, indent: str) -> str:
    return "\n".join(indent + line.strip() for line in text.strip("\n").split("\n"))


def _table_text(b: Block, indent: str) -> str:
    if not b.header:  # label | value rows
        labels = [plain(r[0]).strip() for r in b.rows]
        width = max((len(x) for x in labels), default=0) + 1
        lines = []
        for label, row in zip(labels, b.rows, strict=True):
            value = " ".join(plain(c).strip() for c in row[1:])
            pad = " " * (len(indent) + width + 1)
            lines.append(f"{indent}{label + ':':<{width}} " + value.replace("\n", "\n" + pad))
        return "\n".join(lines)
    headers = [plain(c).strip() for c in b.rows[0]]
    entries = []
    for row in b.rows[1:]:
        cells = [plain(c).strip().replace("\n", "; ") for c in row]
        # a numbered row says what the number is ("Priority 1"), any other its first cell
        head = f"{headers[0]} {cells[0]}" if cells[0].isdigit() else cells[0]
        lines = [indent + head]
        lines += [f"{indent}  {h}: {v}" for h, v in zip(headers[1:], cells[1:], strict=False)]
        entries.append("\n".join(lines))
    return "\n\n".join(entries)
