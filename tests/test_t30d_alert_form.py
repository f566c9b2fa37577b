"""The alert form as its recipients see it (issue 30 item 5): A4 with the authority's name,
the OFFICIAL-SENSITIVE marking and "Page X of Y" in Word and in the printed HTML, reply
boxes (bordered cells), none of the IRO's own to-do list; `drp alert --eml` as a draft
(X-Unsent: 1) without mail settings, copying the "to be notified" roles drp has addresses
for and naming the others, and a warning when the date asked for has passed."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from tests.conftest import open_args


def knowsley(drp) -> None:
    assert drp(*open_args()).exit_code == 0
    r = drp("person", "add", "1", "--kind", "professional", "--name", "A. Smith", "--role",
            "Social worker", "--contact", "a.smith@example.org", "--on", "2025-03-03")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert drp("staff", "add", "Team Manager", "--email", "tm@example.org").exit_code == 0


def parsed(path: Path) -> email.message.EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def test_word_form_is_a4_with_authority_marking_and_page_numbers(drp, tmp_path):
    import docx

    knowsley(drp)
    assert drp("config", "set", "authority", "Knowsley Council").exit_code == 0
    out = tmp_path / "alert.docx"
    r = drp("alert", "1", "--format", "docx", "-o", str(out), "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr
    document = docx.Document(str(out))
    [section] = document.sections
    # A4 as Word stores it: 11906 x 16838 twentieths of a point (210 x 297 mm)
    width, height, left = section.page_width, section.page_height, section.left_margin
    assert width is not None and height is not None and left is not None
    assert (width.twips, height.twips) == (11906, 16838)
    assert round(left.mm) == 20
    assert section.header.paragraphs[0].text == "Knowsley Council\t\tOFFICIAL-SENSITIVE"
    footer = section.footer.paragraphs[0]
    assert footer.text == "OFFICIAL-SENSITIVE\t\tPage 1 of 1"
    codes = [t.text for t in footer._p.iter("{*}instrText")]
    assert codes == [" PAGE ", " NUMPAGES "]
    # the reply is written in bordered boxes, not on blank lines
    boxes = {t.rows[0].cells[0].text: t for t in document.tables if len(t.columns) == 1}
    box = boxes["How the concerns have been or will be addressed"]
    assert box.style is not None and box.style.name == "Table Grid"
    assert len(box.rows) == 2 and box.rows[1].cells[0].text.count("\n") == 5
    assert "Actions agreed, with who will do them and by when" in boxes
    signed = next(t for t in document.tables if t.rows[0].cells[0].text == "Name and role")
    assert [c.text for c in signed.rows[0].cells] == ["Name and role", "Date"]
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Recording duties" not in text and "case record" not in text
    assert "____" not in text


def test_without_the_setting_the_protocols_authority_heads_the_form(drp, tmp_path):
    import docx

    knowsley(drp)
    out = tmp_path / "alert.docx"
    assert drp("alert", "1", "--format", "docx", "-o", str(out)).exit_code == 0
    header = docx.Document(str(out)).sections[0].header.paragraphs[0].text
    assert header == "Knowsley Metropolitan Borough Council\t\tOFFICIAL-SENSITIVE"


def test_html_form_prints_marking_and_page_numbers(drp, tmp_path):
    knowsley(drp)
    assert drp("config", "set", "authority", 'Knowsley "Council"').exit_code == 0
    page = drp("alert", "1", "--format", "html", "--on", "2025-03-04").stdout
    assert "@page { size: A4;" in page
    assert '@top-left { content: "Knowsley \\22 Council\\22 "' in page
    assert '@top-right { content: "OFFICIAL\\2d SENSITIVE"' in page
    assert '@bottom-right { content: "Page " counter(page) " of " counter(pages);' in page
    assert (
        '<div class="banner"><span class="authority">Knowsley &quot;Council&quot;</span>'
        '<span class="marking">OFFICIAL-SENSITIVE</span></div>'
    ) in page
    assert "<th>How the concerns have been or will be addressed</th>" in page
    assert "Recording duties" not in page


def test_authority_setting_is_checked(drp):
    r = drp("config", "set", "authority", "Knowsley\u202eCouncil")
    assert r.exit_code == 2
    assert "must be one line" in r.stderr


def test_eml_is_a_draft_without_mail_settings(drp, tmp_path):
    knowsley(drp)
    out = tmp_path / "alert.eml"
    r = drp("alert", "1", "--eml", str(out), "--on", "2025-03-04")
    assert (r.exit_code, r.stdout, r.stderr) == (0, f"Wrote {out}.\n", "")
    msg = parsed(out)
    assert msg["X-Unsent"] == "1"
    assert msg["From"] is None
    assert msg["To"] == '"A. Smith" <a.smith@example.org>, Team Manager <tm@example.org>'
    assert msg["Message-ID"].endswith("@drp-cli.invalid>")


def test_eml_warns_when_the_date_asked_for_has_passed(drp, tmp_path):
    knowsley(drp)
    out = tmp_path / "alert.eml"
    r = drp("alert", "1", "--eml", str(out), "--on", "2025-03-11")
    assert r.exit_code == 0
    assert r.stderr == (
        "Warning: the date this form asks for (Mon 10 March 2025) passed before it was "
        "prepared (Tue 11 March 2025): set a new one with `drp due 1 DATE --reason ...`, or "
        "say in the e-mail that it is overdue.\n"
    )
    assert "respond" not in drp("alert", "1", "--on", "2025-03-11").stderr  # the form alone


def west_sussex_stage_2(drp) -> None:
    r = drp(*open_args(protocol="west-sussex", child="WS-0418", category="care-plan",
                       on="2025-03-03"), "--stage", "stage-2")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    for name, address in (("Group Manager", "gm@example.org"),
                          ("Relevant line manager", "lm@example.org"),
                          ("Social worker", "sw@example.org")):  # fmt: skip
        assert drp("staff", "add", name, "--email", address).exit_code == 0


def test_notified_roles_are_copied_when_known_and_named_when_not(drp, tmp_path):
    west_sussex_stage_2(drp)
    out = tmp_path / "alert.eml"
    r = drp("alert", "1", "--eml", str(out), "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == (
        "Not copied (no e-mail address known): IRO/CPA Team Manager: named in the e-mail as "
        "to be notified.\n"
    )
    msg = parsed(out)
    assert msg["To"] == "Group Manager <gm@example.org>"
    assert msg["Cc"] == "Relevant line manager <lm@example.org>, Social worker <sw@example.org>"
    body = msg.get_body(("plain",))
    assert body is not None
    assert (
        "To be notified under the protocol, not copied (drp has no e-mail address for them): "
        "IRO/CPA Team Manager."
    ) in str(body.get_content())
    assert (
        drp("staff", "add", "IRO/CPA Team Manager", "--email", "iro-tm@example.org").exit_code == 0
    )
    r = drp("alert", "1", "--eml", str(out), "--on", "2025-03-04", "--force")
    assert (r.exit_code, r.stderr) == (0, "")
    assert parsed(out)["Cc"] == (
        "Relevant line manager <lm@example.org>, Social worker <sw@example.org>, "
        "IRO/CPA Team Manager <iro-tm@example.org>"
    )


def test_authority_per_protocol_for_an_iro_working_for_two_councils(drp, tmp_path):
    import docx

    knowsley(drp)
    west_sussex_stage_2(drp)
    r = drp("config", "set", "authority",
            "knowsley=Knowsley Council; west-sussex = West Sussex County Council")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    heads = []
    for n in ("1", "2"):
        out = tmp_path / f"alert-{n}.docx"
        assert drp("alert", n, "--format", "docx", "-o", str(out)).exit_code == 0
        heads.append(docx.Document(str(out)).sections[0].header.paragraphs[0].text)
    assert heads == ["Knowsley Council\t\tOFFICIAL-SENSITIVE",
                     "West Sussex County Council\t\tOFFICIAL-SENSITIVE"]  # fmt: skip
    # a protocol the setting does not name: the protocol's own authority
    assert drp("config", "set", "authority", "west-sussex=WSCC").exit_code == 0
    out = tmp_path / "alert-1.docx"
    assert drp("alert", "1", "--format", "docx", "-o", str(out), "--force").exit_code == 0
    header = docx.Document(str(out)).sections[0].header.paragraphs[0].text
    assert header == "Knowsley Metropolitan Borough Council\t\tOFFICIAL-SENSITIVE"
    r = drp("config", "set", "authority", "Knowsley=Knowsley Council")
    assert r.exit_code == 2 and r.stderr.endswith(
        " for authority is a name (Knowsley Council), or one per protocol: "
        "knowsley=Knowsley Council; west-sussex=West Sussex County Council\n"
    )


def test_those_someone_else_notifies_are_neither_copied_nor_named(drp, tmp_path):
    """West Sussex §5 Stage 4: "DCS to be alerted at Stage 4 by IRO/CPA Team Manager": the
    Team Manager's to alert, not the IRO's e-mail's to copy."""
    r = drp(*open_args(protocol="west-sussex", child="WS-0418", category="care-plan",
                       on="2025-03-03"), "--stage", "stage-4")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    dcs = "Director of Children's Services (alerted by the IRO/CPA Team Manager)"
    adsq = "Assistant Director Safeguarding Quality and Practice"
    for name, address in (("Relevant Assistant Director / Deputy Director", "ad@example.org"),
                          ("Relevant line manager", "lm@example.org"),
                          ("Social worker", "sw@example.org"),
                          (adsq, "adsq@example.org"), (dcs, "dcs@example.org")):  # fmt: skip
        assert drp("staff", "add", name, "--email", address).exit_code == 0, name
    out = tmp_path / "alert.eml"
    r = drp("alert", "1", "--eml", str(out), "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == (
        "Not copied (no e-mail address known): IRO/CPA Team Manager / Principal Manager: named "
        "in the e-mail as to be notified.\n"
    )
    assert parsed(out)["Cc"] == (
        "Relevant line manager <lm@example.org>, Social worker <sw@example.org>, "
        "Assistant Director Safeguarding Quality and Practice <adsq@example.org>"
    )
