"""E-mail: drp's messages, built with the standard library and sent through the mail server in
the config file.

A message is an RFC 5322 message made with :class:`email.message.EmailMessage` (the default
policy: UTF-8 headers and bodies encoded as they must be), with drp's generator mark
(``X-Mailer: drp-cli``, so ``--force`` knows drp wrote an ``.eml``), a plain-text part and,
when given, an HTML alternative.

The mail server is ``smtp_host`` (``smtp_port``; STARTTLS unless ``smtp_starttls`` is no;
a login as ``smtp_user`` when set). The password is never a setting nor an option: it is
``DRP_SMTP_PASSWORD``, else the content of ``smtp_password_file``, which must be the user's
own and readable by no one else (0600), as drp's database must be.

A server that cannot be reached, or refuses the login, the sender, every recipient or the
message, is a :class:`~drp_cli.core.errors.MailError` (exit status 7) naming the server and the
SMTP reply code, never the server's text (it may quote an address). Nothing here records
anything: the caller records what was sent once :func:`send` has returned.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drp_cli.adapters.outpaths import GENERATOR
from drp_cli.core import config
from drp_cli.core.errors import DatabaseError, InvalidInput, MailError, fld

if TYPE_CHECKING:
    from drp_cli.services.tracker import Tracker

PASSWORD_ENV = "DRP_SMTP_PASSWORD"
#: seconds to wait for the mail server at each step
TIMEOUT = 30
PORT_STARTTLS = 587
PORT_PLAIN = 25
MAX_PASSWORD_FILE = 4096
_CHECK = f": check smtp_user and the password ({PASSWORD_ENV} or smtp_password_file)"
_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\]+")


@dataclass(frozen=True)
class Settings:
    """The mail server and the sender, from the config file."""

    host: str | None
    port: int
    starttls: bool
    user: str | None
    password_file: str | None
    sender: str | None
    alert_cc: tuple[str, ...]


def settings(cfg: config.Config | None = None) -> Settings:
    """The mail settings in the config file (``cfg``, else the user's)."""
    cfg = cfg if cfg is not None else config.load()
    starttls = cfg.get("smtp_starttls")
    starttls = True if starttls is None else bool(starttls)
    port = cfg.get("smtp_port")
    cc = cfg.get("alert_cc") or ""
    sender = cfg.get("smtp_from")
    return Settings(
        host=cfg.get("smtp_host"),
        port=port if isinstance(port, int) else (PORT_STARTTLS if starttls else PORT_PLAIN),
        starttls=starttls,
        user=cfg.get("smtp_user"),
        password_file=cfg.get("smtp_password_file"),
        sender=_setting_address(sender, "smtp_from") if sender else None,
        alert_cc=tuple(_setting_address(a, "alert_cc") for a in cc.split(",") if a.strip()),
    )


def _setting_address(value: str, key: str) -> str:
    if not is_address(value):
        what = "a list of e-mail addresses" if key == "alert_cc" else "an e-mail address"
        raise DatabaseError(f"the config file: {key} is not {what}")
    return value.strip()


def is_address(value: str) -> bool:
    """Whether ``value`` is one plain e-mail address (``name@example.org``)."""
    return _ADDRESS.fullmatch(value.strip()) is not None


def find_address(text: str | None) -> str | None:
    """The first e-mail address in free text (a professional's contact details), or None."""
    if not text:
        return None
    found = _ADDRESS.search(text)
    return found.group(0).strip(".") if found else None


def staff_addresses(t: Tracker) -> Mapping[str, str]:
    """The staff directory's e-mail addresses, by name as the directory matches it (case and
    spacing folded), as ``Name <address>``. An entry's link of the chain is checked when its
    address is looked up, so one entry changed behind drp's back refuses the mail that would
    go to it (:class:`RecordTampered`, exit 6), never the mail to everyone else."""
    from drp_cli.services import staff

    return _StaffAddresses({staff.key(p.name): p for p in staff.directory(t) if p.stored_email})


class _StaffAddresses(Mapping[str, str]):
    def __init__(self, people: dict[str, Any]) -> None:
        self._people = people

    def __getitem__(self, key: str) -> str:
        from email.headerregistry import Address

        person = self._people[key]
        return str(Address(display_name=person.name, addr_spec=person.email))

    def __contains__(self, key: object) -> bool:  # has an address: none is checked yet
        return key in self._people

    def __iter__(self) -> Iterator[str]:
        return iter(self._people)

    def __len__(self) -> int:
        return len(self._people)


def given_addresses(t: Tracker, values: Sequence[str], field: str) -> list[str]:
    """``--to`` / ``--cc`` values: addresses, or names in the staff directory with one (as
    ``Name <address>``); anything else is refused, naming the option, never the value."""
    from drp_cli.services import staff

    known: Mapping[str, str] | None = None
    out = []
    for item in values:
        text = item.strip()
        if not text:
            raise InvalidInput(f"{fld(field)}: an address is empty")
        if is_address(text):
            out.append(text)
            continue
        if known is None:
            known = staff_addresses(t)
        if staff.key(text) not in known:
            raise InvalidInput(
                f"{fld(field)}: give e-mail addresses, or names in the staff directory with one"
            )
        out.append(known[staff.key(text)])
    return out


def password(s: Settings) -> str | None:
    """The password to log in with: ``DRP_SMTP_PASSWORD``, else the password file's first
    line (refused unless it is a regular file of the user's own that no one else can read),
    else None."""
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    if not s.password_file:
        return None
    where = Path(s.password_file).expanduser()
    try:
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise DatabaseError(f"cannot read the mail password file {where}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DatabaseError(f"the mail password file {where} is not a regular file")
        if info.st_mode & 0o077 or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            raise DatabaseError(
                f"the mail password file {where} can be read by others: it must be yours "
                f"and owner-only (chmod 600 {where})"
            )
        raw = fh.read(MAX_PASSWORD_FILE + 1)
    if len(raw) > MAX_PASSWORD_FILE:
        raise DatabaseError(f"the mail password file {where} is too long")
    lines = raw.decode("utf-8", "replace").splitlines()
    return lines[0] if lines and lines[0] else None


def message(
    *,
    sender: str | None,
    to: Sequence[str],
    cc: Sequence[str] = (),
    subject: str,
    text: str,
    html: str | None = None,
    date: dt.datetime,
    attachments: Iterable[tuple[str, str, bytes]] = (),
    draft: bool = False,
) -> EmailMessage:
    """One message: ``text`` (and ``html`` as its alternative), from ``sender`` to ``to``,
    copied to ``cc`` (addresses, or ``Name <address>``), dated ``date``, with drp's mark;
    ``attachments`` are (filename, MIME type, content). A ``draft`` says ``X-Unsent: 1``
    (Outlook and Thunderbird open it as a message to send, not one received) and may have
    no ``sender`` (the mail program puts in the user's own)."""
    from email.utils import format_datetime, make_msgid

    msg = EmailMessage()
    msg["X-Mailer"] = GENERATOR  # first: outpaths recognises drp's .eml by it
    if draft:
        msg["X-Unsent"] = "1"
    if sender:
        msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = " ".join(subject.split())
    msg["Date"] = format_datetime(date)
    domain = (sender or "").rpartition("@")[2].rstrip(">").strip() or "drp-cli.invalid"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, mime, content in attachments:
        main, _, sub = mime.partition("/")
        msg.add_attachment(content, maintype=main, subtype=sub, filename=filename)
    return msg


def as_bytes(msg: EmailMessage) -> bytes:
    """The message as a file (``.eml``): CRLF line ends, as RFC 5322 has them."""
    from email import policy

    return msg.as_bytes(policy=policy.default.clone(linesep="\r\n"))


@dataclass(frozen=True)
class Sent:
    """What the server took: the recipients it accepted, and those it refused."""

    accepted: tuple[str, ...]
    refused: tuple[str, ...]


def recipients(msg: EmailMessage) -> list[str]:
    """Every address the message goes to (To, then Cc), once each."""
    from email.utils import getaddresses

    found = getaddresses([str(v) for k in ("To", "Cc") for v in msg.get_all(k, [])])
    return list(dict.fromkeys(addr for _, addr in found if addr))


def _login(server: Any, user: str, secret: str) -> None:
    """Log in with PLAIN when the server offers it (one try: a refusal is final), else
    with whatever smtplib finds."""
    offered = str(server.esmtp_features.get("auth", "")).upper().split()
    if "PLAIN" in offered:
        server.user, server.password = user, secret
        server.auth("PLAIN", server.auth_plain)
    else:
        server.login(user, secret)


def send(msg: EmailMessage, s: Settings) -> Sent:
    """Send ``msg`` through the configured server; returns the recipients it accepted and
    refused. Raises :class:`MailError` when nothing was sent."""
    import smtplib
    import ssl

    if not s.host:
        raise InvalidInput(
            "no mail server is set: set it with `drp config set smtp_host HOST` (or write the "
            "message to a file with --eml)"
        )
    secret = password(s) if s.user else None
    if s.user and secret is None:
        raise InvalidInput(
            f"smtp_user is set but there is no password: set {PASSWORD_ENV}, or "
            "`drp config set smtp_password_file FILE` (an owner-only file)"
        )
    where = f"{s.host}:{s.port}"
    everyone = recipients(msg)
    try:
        with smtplib.SMTP(s.host, s.port, timeout=TIMEOUT) as server:
            server.ehlo()
            if s.starttls:
                if not server.has_extn("starttls"):
                    raise MailError(
                        f"the mail server {where} does not offer STARTTLS (set smtp_starttls "
                        "to no only for a server on this machine or a trusted network)"
                    )
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            if s.user:
                assert secret is not None
                try:
                    _login(server, s.user, secret)
                except smtplib.SMTPServerDisconnected:  # some servers hang up on a bad login
                    raise MailError(f"the mail server {where} refused the login{_CHECK}") from None
            refused = server.send_message(msg)
    except MailError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"the mail server {where} refused the login ({exc.smtp_code}){_CHECK}"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({str(code) for code, _ in exc.recipients.values()})
        raise MailError(
            f"the mail server {where} refused every recipient ({', '.join(codes)})"
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        raise MailError(
            f"the mail server {where} refused the sender address ({exc.smtp_code})"
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"the mail server {where} refused the message ({exc.smtp_code})") from None
    except smtplib.SMTPNotSupportedError:
        raise MailError(f"the mail server {where} does not support what was asked") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"sending through {where} failed ({type(exc).__name__})") from None
    except ssl.SSLError as exc:
        raise MailError(f"the secure connection to {where} failed ({exc.reason})") from None
    except TimeoutError:
        raise MailError(f"the mail server {where} did not answer within {TIMEOUT} s") from None
    except ConnectionRefusedError:
        raise MailError(f"the mail server {where} refused the connection") from None
    except OSError as exc:
        raise MailError(
            f"the mail server {where} could not be reached ({exc.strerror or type(exc).__name__})"
        ) from None
    not_taken = tuple(a for a in everyone if a in refused)
    return Sent(tuple(a for a in everyone if a not in refused), not_taken)


# -- the morning check as an e-mail ------------------------------------------------------------
#: The morning e-mail's style: a ruled table on a wide screen; on a narrow one (a phone) each
#: concern becomes a block of "label: value" lines, so nothing runs off the right edge.
REPORT_CSS = """
body { font-family: Arial, "Liberation Sans", sans-serif; font-size: 14px; color: #111;
       margin: 0; padding: 8px; }
h1 { font-size: 17px; margin: 0 0 10px; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.nowrap { white-space: nowrap; }
p.tally { margin: 10px 0 0; font-weight: bold; }
@media screen and (max-width: 640px) {
  table, tbody, tr, td { display: block; width: auto; }
  thead { display: none; }
  tr { border: 1px solid #999; margin: 0 0 10px; padding: 4px 6px; }
  td { border: none; padding: 1px 0; white-space: normal; }
  td.nowrap { white-space: normal; }
  td::before { content: attr(data-label) ": "; font-weight: bold; }
}
"""
#: Columns whose values are never folded on a wide screen (the id, the child's reference)
_NOWRAP = frozenset({"ID", "Child", "Responded"})
_NOWRAP_CLASS = ' class="nowrap"'


def _columns(rule: str) -> list[tuple[int, int | None]]:
    """The columns of a plain aligned table, from its rule of dashes: (start, end) of each,
    the last open-ended."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    return [(start, end if n < len(spans) - 1 else None) for n, (start, end) in enumerate(spans)]


def report_html(heading: str, text: str) -> str:
    """The HTML part of a report e-mail whose plain part is ``text``: its heading line, a
    plain aligned table (a header line, a rule of dashes, a row a line, as `drp overdue`
    prints it in a pipe) and the lines after it (the tally). The table becomes a real
    ``<table>`` that reflows on a narrow screen (:data:`REPORT_CSS`); every value is escaped.
    Text without such a table is shown as paragraphs."""
    from html import escape

    from drp_cli.render.mdhtml import page

    lines = text.splitlines()
    if lines and lines[0].strip() == heading.strip():
        lines = lines[1:]
    at = next(
        (n for n in range(1, len(lines)) if re.fullmatch(r"-+(?:  -+)*", lines[n].rstrip())),
        None,
    )
    parts = [f"<h1>{escape(heading)}</h1>"]
    if at is None:
        parts += [f"<p>{escape(line)}</p>" for line in lines if line.strip()]
        return page(heading, "\n".join(parts), css=REPORT_CSS)
    spans = _columns(lines[at])
    headers = [lines[at - 1][a:b].strip() for a, b in spans]
    parts += [f"<p>{escape(line)}</p>" for line in lines[: at - 1] if line.strip()]
    rows = []
    end = at + 1
    while end < len(lines) and lines[end].strip():
        cells = [lines[end][a:b].strip() for a, b in spans]
        tds = "".join(
            f'<td data-label="{escape(h)}"{_NOWRAP_CLASS if h in _NOWRAP else ""}>{escape(c)}</td>'
            for h, c in zip(headers, cells, strict=True)
        )
        rows.append(f"<tr>{tds}</tr>")
        end += 1
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    parts.append(
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )
    parts += [f'<p class="tally">{escape(line)}</p>' for line in lines[end:] if line.strip()]
    return page(heading, "\n".join(parts), css=REPORT_CSS)
