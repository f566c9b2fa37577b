"""`drp alert ID --format md|html|docx`: the same form from the same template data, as
Markdown, as an HTML page (rendered in headless Chromium when it is installed) and as a Word
document read back with python-docx; and the plain text the e-mail carries."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from drp_cli.render import mdtext
from tests.conftest import open_args

HOSTILE = "Pipes | and \\ backslashes, **stars**, # hashes and <b>tags</b> & ampersands"


def concern(drp) -> None:
    assert drp(*open_args(summary=HOSTILE)).exit_code == 0
    r = drp("action", "add", "1", "--text", "Allocate a social worker", "--owner",
            "Team Manager", "--due", "2025-03-20", "--on", "2025-03-03")  # fmt: skip
    assert r.exit_code == 0, r.stderr


def test_markdown_stays_what_it_was(drp, tmp_path):
    concern(drp)
    md = drp("alert", "1", "--on", "2025-03-04").stdout
    assert md == drp("alert", "1", "--on", "2025-03-04", "--format", "md").stdout
    assert md.startswith("# Informal challenge: Stage 1: Cause for Concern / Informal Challenge\n")
    assert md.rstrip().endswith("<!-- drp alert form -->")


def test_html_page(drp, tmp_path):
    concern(drp)
    out = tmp_path / "alert.html"
    r = drp("alert", "1", "--format", "html", "-o", str(out), "--on", "2025-03-04")
    assert (r.exit_code, r.stdout) == (0, f"Wrote {out}.\n")
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>\n")
    assert '<meta name="generator" content="drp-cli">' in page
    assert (
        "<title>Informal challenge: Stage 1: Cause for Concern / Informal Challenge</title>" in page
    )
    # the user's text is text, never markup; no empty header row above the labels
    assert (
        "<p>Pipes | and \\ backslashes, **stars**, # hashes and &lt;b&gt;tags&lt;/b&gt; "
        "&amp; ampersands</p>" in page
    )
    assert "<th></th>" not in page and "<b>tags" not in page
    assert "<td><strong>Resolve by</strong></td>\n<td><strong>Mon 10 March 2025</strong>" in page
    assert "<th>Priority</th>" in page and "<td>Allocate a social worker</td>" in page
    # printed to the terminal without -o
    assert drp("alert", "1", "--format", "html", "--on", "2025-03-04").stdout == page


def test_docx_read_back(drp, tmp_path):
    import docx

    concern(drp)
    out = tmp_path / "alert.docx"
    r = drp("alert", "1", "--format", "docx", "-o", str(out), "--on", "2025-03-04")
    assert (r.exit_code, r.stdout) == (0, f"Wrote {out}.\n")
    document = docx.Document(str(out))
    assert document.core_properties.author == "drp-cli"
    paragraphs = [(p.style.name if p.style else "", p.text) for p in document.paragraphs if p.text]
    assert paragraphs[0] == (
        "Heading 1",
        "Informal challenge: Stage 1: Cause for Concern / Informal Challenge",
    )
    assert ("Heading 2", "The concern") in paragraphs
    assert ("Normal", HOSTILE) in paragraphs  # the user's text exactly, nothing escaped
    assert ("Heading 2", "Response by Social worker") in paragraphs
    labels, actions = document.tables[0], document.tables[1]
    rows = {r.cells[0].text: r.cells[1].text for r in labels.rows}
    assert rows["To"] == "Social worker; Team Manager"
    assert rows["Child (case reference)"] == "KN-2231"
    assert rows["Resolve by"].startswith("Mon 10 March 2025 (aim: 5 working days")
    assert [c.text for c in actions.rows[0].cells] == ["Priority", "Action", "Owner", "Due", "Done"]
    assert [c.text for c in actions.rows[1].cells] == [
        "1", "Allocate a social worker", "Team Manager", "Thu 20 March 2025", "no",
    ]  # fmt: skip
    everything = "\n".join(
        [p.text for p in document.paragraphs if p.text != HOSTILE]
        + [c.text for t in document.tables for r in t.rows for c in r.cells]
    )
    for syntax in ("|", "\\", "**", "&amp;", "<br>", "&nbsp;"):
        assert syntax not in everything, syntax
    # --force replaces a Word document drp wrote; a file drp did not write is kept
    r = drp("alert", "1", "--format", "docx", "-o", str(out), "--force")
    assert (r.exit_code, r.stdout) == (0, f"Replaced {out}.\n")
    theirs = tmp_path / "theirs.docx"
    theirs.write_bytes(b"PK\x03\x04 not drp's")
    r = drp("alert", "1", "--format", "docx", "-o", str(theirs), "--force")
    assert r.exit_code == 2 and "drp did not write it" in r.stderr
    assert theirs.read_bytes() == b"PK\x03\x04 not drp's"


def test_refusals(drp, tmp_path):
    concern(drp)
    r = drp("alert", "1", "--format", "docx")
    assert (r.exit_code, r.stderr) == (2, "Error: --format docx writes a file: give -o FILE\n")
    r = drp("alert", "1", "--format", "pdf")
    assert (r.exit_code, r.stderr) == (2, "Error: --format must be one of md, html, docx\n")
    r = drp("alert", "1", "--format", "html", "-o", str(tmp_path / "none" / "a.html"))
    assert r.exit_code == 2 and "does not exist" in r.stderr


def test_plain_text_has_no_markdown_syntax():
    md = (
        "# Title: Stage 1\n\n| | |\n|---|---|\n| **To** | Social worker; Team Manager |\n"
        "| **Child** | KN\\-1 \\| x |\n\n## Actions\n\n| Priority | Action | Owner |\n"
        "|---|---|---|\n| 1 | Do it<br>today | TM |\n\n- one \\*two\\*\n\n> **From the "
        "protocol:** wait\n\n&nbsp;\n"
    )
    assert mdtext.to_text(md) == (
        "Title: Stage 1\n==============\n\n"
        "To:    Social worker; Team Manager\nChild: KN-1 | x\n\n"
        "Actions\n-------\n\n"
        "Priority 1\n  Action: Do it; today\n  Owner: TM\n\n"
        "\u2022 one *two*\n\n"
        "    From the protocol: wait\n"
    )


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium not installed")
def test_html_renders_in_chromium(drp, tmp_path):
    concern(drp)
    out = tmp_path / "alert.html"
    assert drp("alert", "1", "--format", "html", "-o", str(out)).exit_code == 0
    png = tmp_path / "alert.png"
    profile = tmp_path / "chromium-profile"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--window-size=900,1400",
         f"--screenshot={png}", out.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
    Path(out).unlink()
