"""The alert as an e-mail: `drp alert ID --eml`, `--send` through a real SMTP server on
loopback (aiosmtpd), `--sent` by hand, the `alert-sent` event, the mail settings and the
password file; and the morning check as one e-mail per owner (`drp overdue --eml/--send`)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import os
import re
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import open_args

# the process and who raises it, the child's reference, the stage, and what the date is for
# as Knowsley says it: "the aim is 5 working days to complete" (Standard 3.1)
SUBJECT = (
    "Informal challenge (IRO): child KN-2231: Stage 1: Cause for Concern / Informal "
    "Challenge, aim: resolve by Mon 10 March 2025"
)
TO = '"A. Smith" <a.smith@example.org>, Team Manager <tm@example.org>'


class Server:
    """What the test server does: take everything, or refuse a step."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse_data = False
        self.refuse_rcpt: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return "554 5.7.1 message rejected"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Server, int]]:
    """An SMTP server on 127.0.0.1, and a config file that sends through it."""
    handler = Server()
    port = free_port()
    # a busy machine may not start the server's thread within aiosmtpd's 5 s
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=120)
    controller.start()
    write_config(tmp_path, port)
    try:
        yield handler, port
    finally:
        controller.stop()


def write_config(tmp_path: Path, port: int, **extra: Any) -> None:
    values = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
              "smtp_from": "iro@example.org", **extra}  # fmt: skip
    values = {k: v for k, v in values.items() if v is not None}
    lines = [
        f"{k} = {str(v).lower() if isinstance(v, bool) else v if isinstance(v, int) else repr(v)}"
        for k, v in values.items()
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines).replace("'", '"') + "\n")
    path.chmod(0o600)


def concern(drp: Any) -> None:
    """A Knowsley concern at stage 1 (to the social worker and the Team Manager, the one
    Standard 3.1 copies on ICS): the social worker on the child's record, the Team Manager
    in the staff directory."""
    assert drp(*open_args()).exit_code == 0
    r = drp("person", "add", "1", "--kind", "professional", "--name", "A. Smith", "--role",
            "Social worker", "--contact", "a.smith@example.org, 0151 000 0000",
            "--on", "2025-03-03")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert drp("staff", "add", "Team Manager", "--email", "tm@example.org").exit_code == 0


def parsed(path: Path) -> email.message.EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def plain_of(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def visible_text(page: str) -> str:
    """What a mail program shows of an HTML part: the body's text, one line per block."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.skip = False

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            self.skip = tag in ("style", "title")
            if tag in ("p", "tr", "li", "h1", "h2", "h3", "br", "blockquote"):
                self.parts.append("\n")

        def handle_endtag(self, tag: str) -> None:
            self.skip = False

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(page)
    return "".join(parser.parts)


def no_markdown(text: str) -> None:
    """No Markdown syntax a reader would see."""
    for line in text.splitlines():
        assert not line.lstrip().startswith("#"), line
        assert "|" not in line and "\\" not in line and "**" not in line, line
        assert not re.match(r"\s*[-*+] ", line), line


def alert_events(drp: Any) -> list[dict[str, Any]]:
    return [e for e in drp("show", "1", "--json").json()["events"] if e["kind"] == "alert-sent"]


def test_eml_is_one_message_with_text_and_html(drp, smtp, tmp_path):
    concern(drp)
    out = tmp_path / "alert.eml"
    r = drp("alert", "1", "--eml", str(out), "--cc", "bs@example.org", "--on", "2025-03-04")
    assert (r.exit_code, r.stdout, r.stderr) == (0, f"Wrote {out}.\n", "")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes().startswith(b"X-Mailer: drp-cli\r\n")
    msg = parsed(out)
    assert msg["From"] == "iro@example.org"
    assert msg["To"] == TO
    assert msg["Cc"] == "bs@example.org"
    assert msg["Subject"] == SUBJECT
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    # the file has CRLF line ends, as RFC 5322 has them
    plain, page = (part.get_content().replace("\r\n", "\n") for part in (text, html))
    no_markdown(plain)
    assert "Child (case reference): KN-2231\n" in plain
    assert "Resolve by:             Mon 10 March 2025 (aim: 5 working days" in plain
    assert "The concern\n-----------\n\nNo allocated social worker since the review" in plain
    assert '<meta name="generator" content="drp-cli">' in page
    no_markdown(visible_text(page))
    assert "<td><strong>To</strong></td>" in page and "<h2>The concern</h2>" in page
    # nothing is recorded by writing a file
    assert alert_events(drp) == []
    # --force replaces an e-mail drp wrote; without it the file is kept
    r = drp("alert", "1", "--eml", str(out), "--cc", "bs@example.org")
    assert r.exit_code == 2 and "already exists" in r.stderr
    r = drp("alert", "1", "--eml", str(out), "--cc", "bs@example.org", "--force")
    assert (r.exit_code, r.stdout) == (0, f"Replaced {out}.\n")


def test_a_role_with_no_address_is_named_not_guessed(drp, smtp, tmp_path):
    concern(drp)
    # Stage 2 is copied in to the HOS/Team Manager (Knowsley Standard 3.2), who has no address
    assert drp("escalate", "1", "--on", "2025-03-11").exit_code == 0
    out = tmp_path / "alert.eml"
    r = drp("alert", "1", "--eml", str(out), "--to", "Team Manager")
    assert r.exit_code == 2
    assert r.stderr == (
        "Error: no e-mail address for the copy 'HOS/Team Manager': give "
        "--cc ADDRESS, record a professional with that role and an e-mail address (`drp person "
        "add`), or add that role to the staff directory with one (`drp staff add`)\n"
    )
    assert not out.exists()
    # --no-copy sends without the copy list; a name in --to must be in the directory
    r = drp("alert", "1", "--eml", str(out), "--no-copy", "--to", "Nobody Known")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --to: give e-mail addresses, or names in the staff directory with one\n"
    )  # fmt: skip
    r = drp("alert", "1", "--eml", str(out), "--no-copy", "--to", "team manager")
    assert r.exit_code == 0, r.stderr
    assert parsed(out)["To"] == "Team Manager <tm@example.org>" and parsed(out)["Cc"] is None
    # an address given twice, or copied to someone it is addressed to, appears once
    r = drp("alert", "1", "--eml", str(out), "--force", "--to", "Team Manager, TM@example.org",
            "--cc", "tm@example.org, a.smith@example.org")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert (parsed(out)["To"], parsed(out)["Cc"]) == (
        "Team Manager <tm@example.org>", "a.smith@example.org"
    )  # fmt: skip


def test_send_records_alert_sent_with_recipients_and_time(drp, smtp):
    server, _ = smtp
    concern(drp)
    before = drp("show", "1", "--json", "--on", "2025-03-05").json()
    r = drp("alert", "1", "--send", "--cc", "bs@example.org", "--attach-docx")
    # sent today, long after the date the form asks for: said (issue 30 item 5)
    assert r.exit_code == 0
    assert (
        r.stderr.startswith(
            "Warning: the date this form asks for (Mon 10 March 2025) passed before it was prepared"
        )
        and r.stderr.count("\n") == 1
    )
    assert r.stdout == (
        "Sent the alert for concern 1 to 2 addresses, copied to 1, and recorded it.\n"
    )
    [envelope] = server.envelopes
    assert envelope.mail_from == "iro@example.org"
    assert envelope.rcpt_tos == ["a.smith@example.org", "tm@example.org", "bs@example.org"]
    received = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert received["Subject"] == SUBJECT and received["X-Mailer"] == "drp-cli"
    # the Word form rides along, for the manager's reply
    [word] = list(received.iter_attachments())
    assert word.get_filename() == "IRO alert form.docx"
    import docx

    document = docx.Document(io.BytesIO(word.get_content()))
    assert document.core_properties.author == "drp-cli"
    assert document.paragraphs[0].text.startswith("Informal challenge: Stage 1")
    [event] = alert_events(drp)
    assert event["details"]["to"] == ['"A. Smith" <a.smith@example.org>',
                                      "Team Manager <tm@example.org>"]  # fmt: skip
    assert event["details"]["cc"] == ["bs@example.org"]
    assert event["details"]["via"] == "e-mail through drp"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", event["details"]["sent_at"])
    assert event["details"]["message_id"] == received["Message-ID"]
    assert event["stage"] == "stage-1" and event["by"] == "Test IRO"
    # it changes nothing the lifecycle derives
    after = drp("show", "1", "--json", "--on", "2025-03-05").json()
    for key in ("stage", "deadline", "formal_deadline", "status", "stages", "missing"):
        assert after[key] == before[key], key
    # `drp show` and the chronology show it; the record still verifies
    shown = drp("show", "1")
    assert "alert form sent" in " ".join(shown.stdout.split()) and "tm@example.org" in shown.stdout
    assert drp("verify").exit_code == 0


def test_a_refusing_server_is_a_clear_error_and_nothing_is_recorded(drp, smtp):
    server, port = smtp
    concern(drp)
    server.refuse_data = True
    r = drp("alert", "1", "--send", "--cc", "bs@example.org")
    assert (r.exit_code, r.stdout) == (7, "")
    assert r.stderr == f"Error: the mail server 127.0.0.1:{port} refused the message (554)\n"
    assert alert_events(drp) == []
    server.refuse_data = False
    server.refuse_rcpt = {"a.smith@example.org", "tm@example.org", "bs@example.org"}
    r = drp("alert", "1", "--send", "--cc", "bs@example.org")
    assert r.exit_code == 7
    assert r.stderr == f"Error: the mail server 127.0.0.1:{port} refused every recipient (550)\n"
    assert alert_events(drp) == [] and server.envelopes == []


def test_one_refused_recipient_is_left_out_of_the_record(drp, smtp):
    server, _ = smtp
    concern(drp)
    server.refuse_rcpt = {"bs@example.org"}
    before = dt.date.today().isoformat()
    r = drp("alert", "1", "--send", "--cc", "bs@example.org", "--json")
    after = dt.date.today().isoformat()
    assert r.exit_code == 0
    on = r.json()["on"]
    assert on in {before, after}  # the day it was sent: either, when midnight came between
    assert r.json() == {"concern_id": 1, "on": on,
                        "to": ['"A. Smith" <a.smith@example.org>', "Team Manager <tm@example.org>"],
                        "cc": [], "refused": 1}  # fmt: skip
    assert r.stderr.endswith(  # after the warning that the date asked for has passed
        "Warning: the mail server refused 1 of the recipients: they were not sent it (see "
        "`drp show 1` for those who were).\n"
    )
    [event] = alert_events(drp)
    assert event["details"]["cc"] == [] and len(event["details"]["to"]) == 2


def test_no_server_listening(drp, tmp_path):
    port = free_port()
    write_config(tmp_path, port)
    concern(drp)
    r = drp("alert", "1", "--send", "--cc", "bs@example.org")
    assert r.exit_code == 7
    assert r.stderr == f"Error: the mail server 127.0.0.1:{port} refused the connection\n"
    assert alert_events(drp) == []


def test_starttls_is_required_unless_turned_off(drp, smtp, tmp_path):
    server, port = smtp
    concern(drp)
    write_config(tmp_path, port, smtp_starttls=True)
    r = drp("alert", "1", "--send", "--cc", "bs@example.org")
    assert r.exit_code == 7
    assert r.stderr.startswith(f"Error: the mail server 127.0.0.1:{port} does not offer STARTTLS")
    assert server.envelopes == [] and alert_events(drp) == []


def test_sent_by_hand(drp, smtp):
    concern(drp)
    # a later event first: what is shown is the event just recorded, whatever its date
    assert drp("note", "1", "--text", "Phoned the manager", "--on", "2025-03-06").exit_code == 0
    r = drp("alert", "1", "--sent", "--to", "Team Manager, a.smith@example.org", "--on",
            "2025-03-04", "--json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert r.json() == {"concern_id": 1, "on": "2025-03-04",
                        "to": ["Team Manager", "a.smith@example.org"], "cc": [],
                        "via": "recorded as sent"}  # fmt: skip
    [event] = alert_events(drp)
    assert event["on"] == "2025-03-04" and event["details"]["via"] == "recorded as sent"
    assert event["text"] == (
        "Alert form sent to Team Manager; a.smith@example.org (recorded as sent)"
    )
    r = drp("alert", "1", "--sent", "--to", "tm@example.org", "--on", "2025-03-05")
    assert r.stdout == "Recorded the alert for concern 1 as sent on 2025-03-05.\n"
    r = drp("alert", "1", "--sent", "--on", "2025-03-04")
    assert (r.exit_code, r.stderr) == (2, "Error: give --to: whom the alert was sent to\n")
    r = drp("alert", "1", "--sent", "--to", "x@example.org", "--on", "2025-03-01")
    assert r.exit_code == 2 and "before the concern was opened" in r.stderr
    assert len(alert_events(drp)) == 2


def test_options_that_do_not_go_together(drp, smtp, tmp_path):
    concern(drp)
    r = drp("alert", "1", "--send", "--sent", "--to", "x@example.org")
    assert (r.exit_code, r.stderr) == (2, "Error: give one of --send, --sent, not several\n")
    r = drp("alert", "1", "--to", "x@example.org")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --to and --cc are for --eml, --send and --sent\n"
    )  # fmt: skip
    r = drp("alert", "1", "--sent", "--to", "x@example.org", "--attach-docx")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --no-copy and --attach-docx are for --eml and --send\n"
    )  # fmt: skip
    r = drp("alert", "1", "--send", "--format", "html")
    assert r.exit_code == 2
    r = drp("alert", "1", "--eml", str(tmp_path / "a.eml"), "--to", "not an address")
    assert r.exit_code == 2


def test_send_refused_for_a_closed_concern_before_anything_is_sent(drp, smtp):
    server, _ = smtp
    concern(drp)
    assert drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-05").exit_code == 0
    r = drp("alert", "1", "--send", "--cc", "bs@example.org")
    assert (r.exit_code, r.stderr) == (
        1, "Error: concern 1 is resolved; cannot send an alert for it\n"
    )  # fmt: skip
    assert server.envelopes == []


def test_login_with_the_password_from_the_environment_or_an_owner_only_file(
    drp, tmp_path, monkeypatch
):
    from aiosmtpd.smtp import AuthResult

    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"iro" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)  # False: the server answers 535

    handler = Server()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=check,
                            auth_require_tls=False, ready_timeout=120)  # fmt: skip
    controller.start()
    try:
        secret = tmp_path / "smtp-password"
        secret.write_text("s3cret\n")
        secret.chmod(0o644)
        write_config(tmp_path, port, smtp_user="iro", smtp_password_file=str(secret))
        concern(drp)
        r = drp("alert", "1", "--send", "--cc", "bs@example.org")
        assert r.exit_code == 4
        assert r.stderr == (
            f"Error: the mail password file {secret} can be read by others: it must be yours "
            f"and owner-only (chmod 600 {secret})\n"
        )
        secret.chmod(0o600)
        monkeypatch.setenv("DRP_SMTP_PASSWORD", "wrong")
        r = drp("alert", "1", "--send", "--cc", "bs@example.org")
        assert (r.exit_code, r.stderr) == (
            7, f"Error: the mail server 127.0.0.1:{port} refused the login (535): check "
            "smtp_user and the password (DRP_SMTP_PASSWORD or smtp_password_file)\n"
        )  # fmt: skip
        assert "wrong" not in r.stderr
        monkeypatch.delenv("DRP_SMTP_PASSWORD")
        r = drp("alert", "1", "--send", "--cc", "bs@example.org")
        assert r.exit_code == 0, r.stderr
        assert len(handler.envelopes) == 1
    finally:
        controller.stop()
    assert len(alert_events(drp)) == 1


def test_mail_settings_are_checked(drp):
    r = drp("config", "set", "smtp_port", "70000")
    assert (r.exit_code, r.stderr) == (
        2, "Error: the value for smtp_port is a port number, 1 to 65535\n"
    )  # fmt: skip
    assert drp("config", "set", "smtp_starttls", "no").exit_code == 0
    assert drp("config", "set", "smtp_port", "2525").exit_code == 0
    shown = drp("config", "show", "--json").json()
    assert (shown["smtp_starttls"], shown["smtp_port"]) == (False, 2525)
    r = drp("config", "set", "smtp_starttls", "maybe")
    assert r.exit_code == 2
    # the password itself is never a setting
    assert "smtp_password" not in drp("config", "show", "--json").json()
    r = drp("config", "set", "smtp_password", "x")
    assert r.exit_code == 2 and "'smtp_password' is not a setting" in r.stderr


def test_alert_sent_exports_imports_and_verifies(drp, smtp, tmp_path):
    concern(drp)
    assert drp("alert", "1", "--send", "--cc", "bs@example.org").exit_code == 0
    out = tmp_path / "export.json"
    assert drp("export", "--format", "json", "-o", str(out)).exit_code == 0
    fresh = tmp_path / "fresh.sqlite3"
    r = drp("--db", str(fresh), "import", str(out))
    assert (r.exit_code, r.stdout) == (0, "Imported 1 of 1 rows.\n"), r.stderr
    copy = drp("--db", str(fresh), "show", "1", "--json").json()
    [event] = [e for e in copy["events"] if e["kind"] == "alert-sent"]
    assert event["details"] == alert_events(drp)[0]["details"]
    assert drp("--db", str(fresh), "verify").exit_code == 0
    assert os.environ.get("DRP_SMTP_PASSWORD") is None


# -- the morning check as e-mails ----------------------------------------------------------
def caseload(drp) -> None:
    """Two IROs in the staff directory: concern 1 (KN-2231) is Test IRO's, concern 2
    (KN-7000) Sam Patel's; both at stage 1 of Knowsley from 3 March (aim: 10 March)."""
    for name, address in (("Test IRO", "iro@example.org"), ("Sam Patel", "sam@example.org")):
        assert drp("staff", "add", name, "--email", address, "--role", "iro").exit_code == 0
    assert drp(*open_args()).exit_code == 0
    assert drp(*open_args(child="KN-7000")).exit_code == 0
    assert drp("assign", "2", "--to", "Sam Patel", "--reason", "Caseload",
               "--on", "2025-03-04").exit_code == 0  # fmt: skip


def test_overdue_eml_folder_one_message_per_owner(drp, smtp, tmp_path):
    caseload(drp)
    out = tmp_path / "check"
    plain = drp("overdue", "--on", "2025-03-11")
    r = drp("overdue", "--on", "2025-03-11", "--eml", str(out))
    assert (r.exit_code, r.stdout) == (plain.exit_code, f"Wrote {out}: 2 e-mails.\n")
    names = sorted(p.name for p in out.iterdir())
    assert names == [".drp-folder", "001-test-iro.eml", "002-sam-patel.eml", "SHA256SUMS"]
    mine, sams = parsed(out / "001-test-iro.eml"), parsed(out / "002-sam-patel.eml")
    assert (mine["To"], sams["To"]) == ("Test IRO <iro@example.org>",
                                        "Sam Patel <sam@example.org>")  # fmt: skip
    assert mine["Subject"] == (
        "DRP deadlines on 2025-03-11: 0 overdue, 1 past an aim or the IRO Handbook's guidance"
    )
    text = plain_of(mine)
    assert text.startswith("Deadlines on 2025-03-11 for Test IRO\n\nID  Child    Protocol")
    assert "KN-2231" in text and "KN-7000" not in text
    assert text.endswith("\n0 overdue, 1 past an aim or the IRO Handbook's guidance.\n")
    assert "KN-7000" in plain_of(sams)
    # one owner: one file
    single = tmp_path / "mine.eml"
    r = drp("overdue", "--on", "2025-03-11", "--mine", "--eml", str(single))
    assert r.stdout == f"Wrote {single}.\n"
    assert parsed(single)["To"] == "Test IRO <iro@example.org>"


def test_overdue_send_and_refusals(drp, smtp):
    server, port = smtp
    caseload(drp)
    r = drp("overdue", "--on", "2025-03-11", "--send")
    assert (r.stdout, r.stderr) == ("Sent the check to 2 owners.\n", "")
    assert sorted(e.rcpt_tos[0] for e in server.envelopes) == [
        "iro@example.org", "sam@example.org"
    ]  # fmt: skip
    r = drp("overdue", "--on", "2025-03-11", "--send", "--to", "tm@example.org, Sam Patel")
    assert r.stdout == "Sent the check to 1 recipient list.\n"
    assert server.envelopes[-1].rcpt_tos == ["tm@example.org", "sam@example.org"]
    # nothing to report: nothing sent
    r = drp("overdue", "--on", "2025-03-04", "--send")
    assert r.stdout == "Nothing to send: nothing overdue or due on 2025-03-04.\n"
    assert len(server.envelopes) == 3
    server.refuse_data = True
    r = drp("overdue", "--on", "2025-03-11", "--send")
    assert (r.exit_code, r.stderr) == (
        7, f"Error: the mail server 127.0.0.1:{port} refused the message (554)\n"
    )  # fmt: skip
    r = drp("overdue", "--on", "2025-03-11", "--send", "--json")
    assert (r.exit_code, r.stderr) == (2, "Error: give one of --eml, --send and --json\n")


def test_overdue_owner_with_no_address_stops_everything(drp, smtp):
    server, _ = smtp
    assert drp("staff", "add", "Test IRO", "--role", "iro").exit_code == 0
    assert drp(*open_args()).exit_code == 0
    r = drp("overdue", "--on", "2025-03-11", "--send")
    assert r.exit_code == 2
    assert r.stderr == (
        "Error: 1 of the 1 owners with something to report has no e-mail address in the staff "
        "directory: add them with `drp staff add NAME --email ADDRESS`, or send the whole "
        "check to one address with --to\n"
    )
    assert server.envelopes == []


def test_the_sender_is_smtp_from_else_you_in_the_staff_directory(drp, smtp, tmp_path):
    write_config(tmp_path, smtp[1], smtp_from=None)
    concern(drp)
    out = tmp_path / "a.eml"
    # a draft needs no sender: the mail program puts in the user's own (issue 30 item 5)
    r = drp("alert", "1", "--eml", str(out), "--no-copy")
    assert r.exit_code == 0, r.stderr
    assert parsed(out)["From"] is None and parsed(out)["X-Unsent"] == "1"
    r = drp("alert", "1", "--send", "--no-copy")
    assert (r.exit_code, r.stderr) == (2, (
        "Error: no address to send from: set it with `drp config set smtp_from ADDRESS`, or "
        "give yourself an e-mail address in the staff directory\n"))  # fmt: skip
    assert drp("staff", "add", "test iro", "--email", "me@example.org").exit_code == 0
    assert drp("alert", "1", "--eml", str(out), "--no-copy", "--force").exit_code == 0
    assert parsed(out)["From"] == "test iro <me@example.org>"
    write_config(tmp_path, smtp[1], smtp_from="not an address")
    r = drp("alert", "1", "--eml", str(out), "--no-copy", "--force")
    assert (r.exit_code, r.stderr) == (
        4, "Error: the config file: smtp_from is not an e-mail address\n"
    )  # fmt: skip


def test_the_morning_check_e_mail_html_is_a_table(drp, smtp, tmp_path):
    """Its HTML part is a table that reflows on a narrow screen, not a <pre> block that runs
    off the right edge (issue 30 item 5)."""
    caseload(drp)
    single = tmp_path / "mine.eml"
    assert drp("overdue", "--on", "2025-03-11", "--mine", "--eml", str(single)).exit_code == 0
    message = parsed(single)
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    assert "<pre>" not in html
    assert "<table" in html and "KN-2231</td>" in html
