"""The alert form in the formats people send and receive: Markdown (for those who edit),
HTML, Word, and an e-mail to the stage's addressees, sent through the configured mail server
and recorded as an ``alert-sent`` event.

Every format comes from the one Markdown form :func:`drp_cli.render.documents.alert` renders from
the template data: HTML through :mod:`drp_cli.render.mdhtml`, plain text and Word through
:mod:`drp_cli.render.mdtext`'s blocks, so the reader never sees Markdown syntax.

Addressees: the stage's addressees (To) and copy list (Cc) are roles ("Social worker",
"Team Manager"). Each becomes addresses through the child's record (a professional with that
role and an e-mail address in their contact details, ``drp person add``), else the staff
directory (an entry with that name and an e-mail address, e.g. a shared mailbox), unless
``to`` / ``cc`` are given (addresses, or names in the staff directory). A role with no
address is an error naming the role, never a person. ``alert_cc`` in the config is always
copied in (e.g. IRO Business Support).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from drp_cli.adapters.outpaths import (
    ALERT_MARKER,
    WriteResult,
    check_output,
    protected_paths,
    write_file,
)
from drp_cli.core.dates import iso
from drp_cli.core.errors import DatabaseError, DrpError, InvalidInput, TransitionRefused, fld
from drp_cli.core.textsafe import MAX_REF, clean_line
from drp_cli.domain.protocols import Protocol, Stage
from drp_cli.domain.views import ConcernView
from drp_cli.render import documents, mail, mdhtml, mdtext
from drp_cli.services import details, staff
from drp_cli.services.tracker import Tracker, current_user

FORMATS = ("md", "html", "docx")
#: the Word form attached to an e-mail (its name carries no child reference)
DOCX_NAME = "IRO alert form.docx"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EVENT = "alert-sent"
#: how an alert went: sent by drp through the mail server, or sent by the IRO and recorded
VIA_EMAIL = "e-mail through drp"
VIA_HAND = "recorded as sent"


def markdown(
    t: Tracker, concern_id: int, *, on: dt.date | str | None = None, templates: Any = None
) -> str:
    """The form as Markdown, without the marker line (:data:`ALERT_MARKER`)."""
    text = documents.alert(t, concern_id, on=on, templates=templates)
    return text.replace(ALERT_MARKER, "").rstrip() + "\n"


def title_of(md: str) -> str:
    """The form's first heading (its kind and stage: no child reference)."""
    first = next((b for b in mdtext.blocks(md) if b.kind == "heading"), None)
    return first.text.strip() if first is not None else "Alert form"


_EMPTY_HEAD = re.compile(r"<thead>\s*<tr>\s*(?:<th>\s*</th>\s*)+</tr>\s*</thead>\s*")
#: The protective marking on every copy of the form (:data:`drp_cli.render.mdhtml.MARKING`)
MARKING = mdhtml.MARKING


def authority_name(protocol: Protocol) -> str:
    """The authority the form is from: the ``authority`` setting (``drp config set authority
    "Knowsley Council"``), else the protocol's authority."""
    return documents.authority_name(protocol)


def html_of(md: str, authority: str | None = None) -> str:
    """The form as a whole HTML page: a label-and-value table (whose Markdown header row is
    empty) shows no empty header row; the authority and the marking above it on screen, and
    in every printed page's margins with "Page X of Y" (:func:`mdhtml.form_page`)."""
    return mdhtml.form_page(title_of(md), _EMPTY_HEAD.sub("", mdhtml.to_html(md)), authority)


def render(
    t: Tracker,
    concern_id: int,
    fmt: str,
    *,
    on: dt.date | str | None = None,
    templates: Any = None,
) -> str | bytes:
    """The form as ``fmt`` (md, html or docx: bytes)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"{fld('format')} must be one of {', '.join(FORMATS)}")
    if fmt == "md":
        return documents.alert(t, concern_id, on=on, templates=templates)
    md = markdown(t, concern_id, on=on, templates=templates)
    authority = authority_name(t.protocols.for_stored(t.get(concern_id).protocol))
    if fmt == "html":
        return html_of(md, authority)
    from drp_cli.render import docx_out

    return docx_out.document(md, title=title_of(md), created=t.moment(), authority=authority)


def passed_warning(t: Tracker, concern_id: int, on: dt.date | str | None = None) -> str | None:
    """A warning when the date the form asks for has passed on the day it is prepared (the
    subject would say "respond by" a day gone): what to do about it. None otherwise."""
    view = t.get(concern_id)
    day = t.judge_day(on)
    if view.status != "open" or view.deadline is None or view.deadline >= day:
        return None
    return (
        f"the date this form asks for ({documents.long_date(view.deadline)}) passed before "
        f"it was prepared ({documents.long_date(day)}): set a new one with `drp due "
        f"{concern_id} DATE --reason ...`, or say in the e-mail that it is overdue"
    )


def write(
    t: Tracker,
    concern_id: int,
    output: str | os.PathLike[str],
    fmt: str,
    *,
    force: bool = False,
    on: dt.date | str | None = None,
    templates: Any = None,
) -> WriteResult:
    """Write the form as ``fmt`` to ``output`` (never over the database; ``force`` replaces
    only a document drp wrote)."""
    protected = protected_paths(t.store)
    check_output(output, protected, force=force, kind="file", what="alert form")
    content = render(t, concern_id, fmt, on=on, templates=templates)
    return write_file(output, content, protected=protected, force=force, what="alert form")


# -- addresses ------------------------------------------------------------------------------
def _formatted(name: str | None, address: str) -> str:
    from email.headerregistry import Address

    return str(Address(display_name=" ".join((name or "").split()), addr_spec=address))


def _roles(t: Tracker, concern_id: int, roles: Sequence[str], field: str, what: str) -> list[str]:
    """The addresses of the stage's ``roles``: the child's professionals with that role and
    an e-mail address, else the staff directory entry of that name."""
    professionals = [i.to_dict() for i in details.items(t, concern_id, "professional")]
    known = mail.staff_addresses(t)
    out: list[str] = []
    for role in roles:
        k = staff.key(role)
        found = [
            _formatted(p.get("name"), address)
            for p in professionals
            if staff.key(str(p.get("role") or "")) == k
            and (address := mail.find_address(p.get("contact"))) is not None
        ]
        if not found and k in known:
            found = [known[k]]
        if not found:
            raise InvalidInput(
                f"no e-mail address for {what} '{role}': give {fld(field)} ADDRESS, record a "
                "professional with that role and an e-mail address (`drp person add`), or add "
                "that role to the staff directory with one (`drp staff add`)"
            )
        out += found
    return out


def sender(t: Tracker, s: mail.Settings, by: str | None = None) -> str:
    """Who the e-mail is from: ``smtp_from``, else your own address in the staff directory."""
    if s.sender:
        return s.sender
    found = mail.staff_addresses(t).get(staff.key(current_user(by)))
    if found is None:
        raise InvalidInput(
            "no address to send from: set it with `drp config set smtp_from ADDRESS`, or give "
            "yourself an e-mail address in the staff directory"
        )
    return found


@dataclass(frozen=True)
class AlertMail:
    message: EmailMessage
    to: list[str]
    cc: list[str]
    #: the "to be notified" roles not copied (no address known), named in the message
    not_copied: list[str] = field(default_factory=list)


def _unique(values: list[str]) -> list[str]:
    from email.utils import parseaddr

    seen: set[str] = set()
    out = []
    for v in values:
        key = parseaddr(v)[1].lower()
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


#: Who raises the concern, as a subject line names them (the source's own words for them)
_RAISERS = {"iro": "IRO", "cp-chair": "CP Chair", "cpa": "CPA",
            "cp-coordinator": "CP Co-ordinator", "fciro": "Fostering IRO",
            "social-care": "Children's Social Care"}  # fmt: skip
#: What the concern is about, as a subject line names it
_ABOUT = {"child": "child", "carer": "carer household", "chair": "chair"}


def process_name(protocol: Protocol, stage: Stage | None) -> str:
    """What the process is called where the protocol calls it something of its own (the
    2021 Nottinghamshire "Concerns Resolution Process"), else informal challenge or dispute
    resolution by the stage; an IRO Alert is the alert its source names."""
    if "Concerns Resolution" in protocol.title:
        return "Concerns resolution"
    if stage is not None and stage.title.startswith("IRO Alert"):
        return "IRO alert"
    return "Dispute resolution" if stage is None or stage.formal else "Informal challenge"


def subject(view: ConcernView, protocol: Protocol, stage: Stage | None = None) -> str:
    """The process, who raises it, what it is about (a reference, never a name), the stage,
    and the date with what it is for, as the source says it ("respond by", "resolve by",
    an aim): "Dispute resolution (CPA): child WS-0418: Stage 1: Practice Manager, resolve
    by Mon 9 March 2026"."""
    title = stage.title if stage is not None else documents.stage_title(view.stage, protocol)
    clock = getattr(stage, "clock", None)  # what the deadline is for, where the stage says
    label = str(getattr(clock, "label", "") or "Respond by")
    if view.deadline is not None:
        due = f"{label[0].lower()}{label[1:]} {documents.long_date(view.deadline)}"
        if view.deadline_kind == "aim":
            due = f"aim: {due}"
    else:
        due = "no timescale set" if stage is not None and stage.kind is None else "please respond"
    raiser = _RAISERS.get(view.role or "", view.role or "")
    route = protocol.route_or_none(view.route)
    about = _ABOUT.get(route.subject if route is not None else "child", "child")
    who = f" ({raiser})" if raiser else ""
    return f"{process_name(protocol, stage)}{who}: {about} {view.child}: {title}, {due}"


#: A notification someone other than the raiser makes (the source names who, or says
#: "notifies"): not copied on the raiser's e-mail, nor named in it
_BY_OTHERS = re.compile(r"\b(?:by|notifies)\b", re.I)


def _notified(t: Tracker, concern_id: int, stage: Stage) -> tuple[list[str], list[str]]:
    """The stage's "to be notified" roles (besides those the raiser e-mails, which
    :func:`_emailed` copies or refuses, and those someone else notifies: "DCS to be alerted
    at Stage 4 by IRO/CPA Team Manager", "notifies the Deputy Director"): the addresses of
    those drp knows (the child's professionals, the staff directory), and the roles of those
    it does not."""
    emailed = set(_emailed(stage))
    found: list[str] = []
    unknown: list[str] = []
    ours = [p.who for p in stage.notifications
            if p.who not in emailed and not _BY_OTHERS.search(f"{p.quote} {p.who}")]  # fmt: skip
    for role in dict.fromkeys(ours):
        try:
            found += _roles(t, concern_id, [role], "cc", "the notified")
        except InvalidInput:
            unknown.append(role)
    return found, unknown


def _emailed(stage: Stage) -> list[str]:
    """The parties the source says the raiser e-mails at this stage, besides its addressees
    and copies: West Sussex §4, "The IRO / CPA emails the relevant line manager and social
    worker". Those notified by someone else (the DCS alerted by the Team Manager, the
    directors notified by the Assistant Director) are not the raiser's to e-mail."""
    return [p.who for p in stage.notifications if re.search(r"\bemails?\b", p.quote)]


def email(
    t: Tracker,
    concern_id: int,
    *,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    no_copy: bool = False,
    on: dt.date | str | None = None,
    templates: Any = None,
    settings: mail.Settings | None = None,
    by: str | None = None,
    attach_docx: bool = False,
    draft: bool = False,
) -> AlertMail:
    """The alert as one e-mail: the form as plain text and as HTML, to the stage's
    addressees (or ``to``), copied to its copy list (or ``cc``; none with ``no_copy``), to
    the stage's "to be notified" roles whose addresses drp knows (those it does not are
    named above the form) and to ``alert_cc``; with ``attach_docx``, the form as a Word
    document too, for the reply. A ``draft`` (``X-Unsent: 1``, opened by the mail program
    as a message to send) needs no sender: the mail program fills it in."""
    s = settings if settings is not None else mail.settings()
    view = t.get(concern_id)
    protocol = t.protocols.for_stored(view.protocol)
    stage = protocol.stage_for(view.stage, view.route) if protocol.has_stage(view.stage) else None
    if to:
        to_list = mail.given_addresses(t, to, "to")
    elif stage is not None:
        to_list = _roles(t, concern_id, stage.addressee_names, "to", "the addressee")
    else:
        raise InvalidInput(f"the stage has no addressees in its protocol: give {fld('to')}")
    unnamed: list[str] = []
    if cc:
        cc_list = mail.given_addresses(t, cc, "cc")
    elif no_copy or stage is None:
        cc_list = []
    else:
        cc_list = _roles(t, concern_id, [*stage.copy_names, *_emailed(stage)], "cc", "the copy")
        notified, unnamed = _notified(t, concern_id, stage)
        cc_list += notified
    to_list = _unique(to_list)
    cc_list = _unique([*to_list, *cc_list, *s.alert_cc])[len(to_list) :]  # none twice
    md = markdown(t, concern_id, on=on, templates=templates)
    authority = authority_name(protocol)
    if unnamed:  # said above the form, to the recipients, in the e-mail alone
        names = "; ".join(documents.md(n) for n in unnamed)
        md = (
            f"*To be notified under the protocol, not copied (drp has no e-mail address for "
            f"them): {names}.*\n\n{md}"
        )
    html = html_of(md, authority)
    attachments = []
    if attach_docx:
        from drp_cli.render import docx_out

        word = docx_out.document(md, title=title_of(md), created=t.moment(), authority=authority)
        attachments.append((DOCX_NAME, DOCX_TYPE, word))
    from_address = s.sender if draft else sender(t, s, by)
    if draft and from_address is None:
        from_address = mail.staff_addresses(t).get(staff.key(current_user(by)))
    msg = mail.message(
        sender=from_address,
        to=to_list,
        cc=cc_list,
        subject=subject(view, protocol, stage),
        text=mdtext.to_text(md),
        html=html,
        date=t.moment(),
        attachments=attachments,
        draft=draft,
    )
    return AlertMail(msg, to_list, cc_list, unnamed)


def write_eml(
    t: Tracker,
    concern_id: int,
    output: str | os.PathLike[str],
    *,
    force: bool = False,
    **options: Any,
) -> tuple[WriteResult, AlertMail]:
    """Write the alert e-mail to ``output`` (an ``.eml`` file any mail program opens as a
    draft to check and send: ``X-Unsent: 1``; no mail settings needed)."""
    protected = protected_paths(t.store)
    check_output(output, protected, force=force, kind="file", what="e-mail")
    made = email(t, concern_id, draft=True, **options)
    written = write_file(
        output, mail.as_bytes(made.message), protected=protected, force=force, what="e-mail"
    )
    return written, made


# -- sending and recording ------------------------------------------------------------------
@dataclass(frozen=True)
class SentAlert:
    to: list[str]
    cc: list[str]
    refused: int
    view: ConcernView
    on: dt.date


def _check_can_record(t: Tracker, concern_id: int, on: dt.date | str | None) -> None:
    """Refuse before anything is sent what recording would refuse afterwards."""
    view = t.get(concern_id)
    if view.status != "open":
        raise TransitionRefused(
            f"concern {concern_id} is {view.status}; cannot send an alert for it"
        )
    day = t.event_date(on)
    if day < view.opened_on:
        raise InvalidInput(
            f"{fld('on')} {day.isoformat()} is before the concern was opened "
            f"({view.opened_on.isoformat()})"
        )


def record_sent(
    t: Tracker,
    concern_id: int,
    *,
    to: Sequence[str],
    cc: Sequence[str] = (),
    on: dt.date | str | None = None,
    by: str | None = None,
    via: str = VIA_HAND,
    sent_at: dt.datetime | None = None,
    message_id: str | None = None,
) -> ConcernView:
    """Record an ``alert-sent`` event: to whom (and copied to whom), on ``on``, how."""
    to_list = [clean_line(v, fld("to"), MAX_REF * 4) for v in to if v.strip()]
    cc_list = [clean_line(v, fld("cc"), MAX_REF * 4) for v in cc if v.strip()]
    if not to_list:
        raise InvalidInput(f"give {fld('to')}: whom the alert was sent to")
    info: dict[str, Any] = {"to": to_list, "cc": cc_list, "via": via}
    if sent_at is not None:
        info["sent_at"] = sent_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if message_id:
        info["message_id"] = message_id
    text = "Alert form sent to " + "; ".join(to_list)
    if cc_list:
        text += ", copied to " + "; ".join(cc_list)
    text += " (sent by e-mail through drp)" if via == VIA_EMAIL else " (recorded as sent)"
    return t.record_event(concern_id, EVENT, text=text, on=on, by=by, details=info,
                          action="record an alert sent for")  # fmt: skip


def send(
    t: Tracker,
    concern_id: int,
    *,
    on: dt.date | str | None = None,
    by: str | None = None,
    settings: mail.Settings | None = None,
    **options: Any,
) -> SentAlert:
    """Send the alert e-mail through the configured server, then record ``alert-sent`` with
    the recipients the server accepted and the time. Nothing is recorded when the server
    cannot be reached or refuses the message (:class:`~drp_cli.core.errors.MailError`)."""
    s = settings if settings is not None else mail.settings()
    _check_can_record(t, concern_id, on)
    made = email(t, concern_id, on=on, settings=s, by=by, **options)
    sent = mail.send(made.message, s)
    from email.utils import parseaddr

    taken = {a.lower() for a in sent.accepted}
    to = [v for v in made.to if parseaddr(v)[1].lower() in taken]
    cc = [v for v in made.cc if parseaddr(v)[1].lower() in taken]
    try:
        view = record_sent(t, concern_id, to=to or made.to, cc=cc, on=on, by=by,
                           via=VIA_EMAIL, sent_at=t.moment(),
                           message_id=str(made.message["Message-ID"]))  # fmt: skip
    except DrpError as exc:
        raise DatabaseError(
            f"the alert was sent, but recording it failed ({exc.template}): record it with "
            f"`drp alert {concern_id} --sent --to ADDRESS --on {iso(t.judge_day(on))}`"
        ) from None
    return SentAlert(to, cc, len(sent.refused), view, t.event_date(on))
