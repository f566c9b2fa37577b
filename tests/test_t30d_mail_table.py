"""The morning e-mail's HTML part as a real table that reflows on a narrow screen, not a
``<pre>`` block that runs off the right edge (issue 30 item 5): made from the plain part
the e-mail carries, by :func:`drp_cli.render.mail.report_html`."""

from __future__ import annotations

import email
import email.policy

from drp_cli.render import mail
from tests.conftest import open_args


def morning_text(drp, tmp_path) -> str:
    """The plain part of `drp overdue --eml` on a day with one concern overdue."""
    assert drp(*open_args(summary="Plan <not> & reviewed")).exit_code == 0
    assert drp("config", "set", "smtp_from", "iro@example.org").exit_code == 0
    out = tmp_path / "morning.eml"
    r = drp("overdue", "--eml", str(out), "--to", "iro@example.org", "--on", "2025-03-20")
    assert r.exit_code == 0, r.stderr
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_the_check_becomes_a_table_with_a_row_a_concern(drp, tmp_path):
    text = morning_text(drp, tmp_path)
    heading = text.splitlines()[0]
    assert heading == "Deadlines on 2025-03-20"
    page = mail.report_html(heading, text)
    assert "<pre>" not in page
    assert "<h1>Deadlines on 2025-03-20</h1>" in page
    assert (
        "<thead><tr><th>ID</th><th>Child</th><th>Protocol</th><th>Stage</th><th>Deadline</th>"
        "<th>State</th><th>Responded</th><th>Addressed to</th><th>Owner</th><th>Summary</th>"
        "</tr></thead>"
    ) in page
    [row] = [line for line in page.splitlines() if line.startswith("<tr><td")]
    assert row.startswith(
        '<tr><td data-label="ID" class="nowrap">1</td>'
        '<td data-label="Child" class="nowrap">KN-2231</td>'
        '<td data-label="Protocol">knowsley</td>'
    )
    assert '<td data-label="Summary">Plan &lt;not&gt; &amp; reviewed</td></tr>' in row
    assert '<p class="tally">' in page
    # on a narrow screen each row is a block of "label: value" lines
    assert "@media screen and (max-width: 640px)" in page
    assert 'td::before { content: attr(data-label) ": ";' in page


def test_text_without_a_table_is_paragraphs():
    page = mail.report_html("Deadlines", "Deadlines\n\nNothing <due>.\n")
    assert "<h1>Deadlines</h1>\n<p>Nothing &lt;due&gt;.</p>" in page
    assert "<table>" not in page
