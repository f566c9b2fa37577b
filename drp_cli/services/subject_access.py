"""Subject access (UK GDPR Art. 15; issue 31 item 3): everything drp holds about one child,
gathered for the officer who answers the request, and the requests themselves with the
date each answer is due.

A child is their reference exactly as recorded (``concern.child``), among concerns about
the same subject (a child; a foster carer household or a chair with ``subject``), whatever
the protocol: several concerns may share it, and the record gathered is every one of them,
with each concern's whole record as ``drp show --json`` gives it (events with who and
when, stages, corrections), its own items (actions, professionals, important people,
wishes and feelings, needs: removed ones too) and its own attached documents. Nothing of
another concern is read, so nothing of another child can be in it; a redacted reference
(:data:`~drp_cli.domain.lifecycle.REDACTED`) is nobody's and names no child.

Third parties: every name that is not the child's (who recorded each entry, who raised and
owns a concern, professionals, important people, meeting attendees, officers, respondents,
action owners) and professionals' contact details are marked for the officer to review
before release: each object holding one carries ``third_party``, the list of its keys that
hold or mention one, and :attr:`SubjectRecord.third_party` lists each name with what they
are and where they appear. A known name inside free text (a note that names the social
worker) is marked too; a name drp was never told as a name cannot be found, and the
officer reads every free text before release. Another child's reference is marked the same
way (as "another child's reference") wherever the record holds it: in free text (a note
naming a sibling), or as the reference a concern had before it was amended; every
reference drp holds a concern or a request about is a candidate (one query).

The requests: :func:`receive`, :func:`extend`, :func:`mark_sent`; :func:`due_requests` is
what the morning check lists (light: no tracker, no rendering).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drp_cli.core.dates import iso, parse_date
from drp_cli.core.errors import InvalidInput, NotFound, TransitionRefused, fld
from drp_cli.domain.subject_access import bank_holiday_calendar, due_date, due_words
from drp_cli.store import sarsql

if TYPE_CHECKING:
    from drp_cli.domain.calendar import WorkingCalendar
    from drp_cli.domain.views import ConcernView
    from drp_cli.services.attachments import AttachmentView
    from drp_cli.services.tracker import Tracker
    from drp_cli.store.connection import Conn, Row

#: What ``--subject`` may name: whom a concern's reference is about (a route's subject).
SUBJECTS = ("child", "carer", "chair")
FORMAT = "drp-subject-access"
VERSION = 1
#: The item kinds of a concern, under the keys the record gives them.
ITEM_GROUPS = {
    "action": "actions",
    "professional": "professionals",
    "important-person": "important_people",
    "wishes": "wishes",
    "needs": "needs",
}
#: Keys whose value is a person's name (or a list of names), and what it says of them.
NAME_KEYS = {
    "by": "recorded an entry",
    "raised_by": "raised a concern",
    "owner": "owns a concern or an action",
    "from": "responded for the service",
    "officer": "officer named in a CAFCASS step",
    "senior_officer": "senior officer",
    "attendees": "attended a meeting",
    "added_by": "recorded an item",
    "done_by": "recorded an item done",
    "removed_by": "removed an item",
    "recorded_by": "recorded a subject access request",
    "extended_by": "extended a subject access request",
    "sent_by": "sent the answer to a subject access request",
}
#: Keys of an item whose value is a third party's, by the item's kind.
ITEM_NAME_KEYS = {
    "professional": {"name": "professional", "contact": "professional's contact details"},
    "important-person": {"name": "important person in the child's life"},
}
#: Fields of the child's identification (``drp identify``) that name someone else.
IDENTITY_NAME_KEYS = {"guardian": "children's guardian"}
MARK = "third_party"
#: What another child's reference found in the record is, for the officer's review.
ANOTHER_CHILD = "another child's reference"


# -- the requests ------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """A subject access request and the date its answer is due."""

    id: int
    child: str
    received_on: dt.date
    recorded_by: str
    recorded_at: dt.datetime
    due_on: dt.date
    extended_on: dt.date | None
    extended_by: str | None
    extension_reason: str | None
    sent_on: dt.date | None
    sent_by: str | None

    @property
    def extended(self) -> bool:
        return self.extended_on is not None

    def to_dict(self) -> dict[str, Any]:
        """The request as the record and ``--json`` give it (without the reference: the
        caller knows whose it is)."""
        return {
            "id": self.id,
            "received_on": iso(self.received_on),
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "due_on": iso(self.due_on),
            "extended_on": iso(self.extended_on),
            "extended_by": self.extended_by,
            "extension_reason": self.extension_reason,
            "sent_on": iso(self.sent_on),
            "sent_by": self.sent_by,
        }


def _request(row: Row, cal: WorkingCalendar) -> Request:
    """A request row as a :class:`Request`: a received day drp never writes (not a day, or
    one whose answer would be due past the calendar's last day, 2199) is
    :class:`~drp_cli.store.connection.MalformedValue` (exit 4) naming the request's id, as
    other bad stored days are, never a crash; no guess at a due date is made (a due date
    counted without bank holidays would be a date drp cannot vouch for)."""
    from drp_cli.domain.subject_access import DueDateOutOfRange
    from drp_cli.store.connection import MalformedValue

    extended = row.extended_on is not None
    at = row.recorded_at
    bad = None
    if type(row.received_on) is not dt.date:
        bad = "received_on"
    elif not isinstance(at, dt.datetime):
        bad = "recorded_at"
    else:
        try:
            due = due_date(row.received_on, cal, extended=extended)
        except DueDateOutOfRange:
            bad = "received_on"
    if bad is not None:
        raise MalformedValue(f"subject access request {row.id}", sarsql.TABLE, bad)
    return Request(
        id=row.id, child=row.child, received_on=row.received_on, recorded_by=row.recorded_by,
        recorded_at=at if at.tzinfo else at.replace(tzinfo=dt.UTC),
        due_on=due, extended_on=row.extended_on,
        extended_by=row.extended_by, extension_reason=row.extension_reason,
        sent_on=row.sent_on, sent_by=row.sent_by,
    )  # fmt: skip


@dataclass(frozen=True)
class DueRequest:
    """A request not yet answered, as the morning check and ``drp subject-access --due``
    list it."""

    id: int
    child: str
    received_on: dt.date
    due_on: dt.date
    extended: bool
    #: calendar days from the day judged to the due date (negative: passed by that many)
    days_left: int
    #: who recorded it (the morning check's --owner and --team look at them)
    recorded_by: str = field(default="", compare=False)

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def state(self) -> str:
        """In words: "OVERDUE 3 days", "due today", "due in 5 days"."""
        return due_words(self.days_left)

    def to_dict(self) -> dict[str, Any]:
        """As ``drp subject-access --due --json`` gives it."""
        return {
            "id": self.id,
            "child": self.child,
            "received_on": iso(self.received_on),
            "due_on": iso(self.due_on),
            "extended": self.extended,
            "days_left": self.days_left,
            "recorded_by": self.recorded_by,
        }


def due_requests(
    conn: Conn, on: dt.date, *, until: dt.date | None = None, recorded_by: str | None = None,
    team: str | None = None,
) -> list[DueRequest]:  # fmt: skip
    """Every request not yet answered, judged on ``on``: its due date and the calendar days
    left (negative once passed), soonest due first; with ``until``, only those due by then
    (the overdue ones too); ``recorded_by`` and ``team`` as :func:`sarsql.open_requests`
    takes them. For the morning check: one query, no tracker, no rendering."""
    cal = bank_holiday_calendar()
    found = []
    for row in sarsql.open_requests(conn, recorded_by=recorded_by, team=team):
        r = _request(row, cal)
        if until is not None and r.due_on > until:
            continue
        found.append(DueRequest(r.id, r.child, r.received_on, r.due_on, r.extended,
                                (r.due_on - on).days, r.recorded_by))  # fmt: skip
    return sorted(found, key=lambda d: (d.due_on, d.id))


def _reference(child: str) -> str:
    """The reference as concerns hold it (trimmed, as ``drp open`` stored it)."""
    from drp_cli.domain.lifecycle import REDACTED

    ref = child.strip()
    if not ref or ref == REDACTED:  # a redacted reference joins no two children
        raise NotFound("no concern about that reference")
    return ref


def _check_subject(subject: str) -> None:
    if subject not in SUBJECTS:
        raise InvalidInput(f"{fld('subject')} {subject!r}: allowed: {', '.join(SUBJECTS)}")


def concerns_about(tracker: Tracker, child: str, subject: str = "child") -> list[ConcernView]:
    """Every concern (any status) about ``child`` as a ``subject``, by id, with its events;
    :class:`NotFound` (exit 3, never repeating the reference) when there is none."""
    _check_subject(subject)
    ref = _reference(child)
    found = [c for c in tracker.concerns(status="all", child=ref, with_events=True)
             if tracker.subject_of(c.protocol, c.route) == subject]  # fmt: skip
    if not found:
        raise NotFound("no concern about that reference")
    return found


def requests(tracker: Tracker, child: str, subject: str = "child") -> list[Request]:
    """The requests about ``child``, oldest first (NotFound when drp holds neither a concern
    nor a request about them: a request outlives its reference's amendment)."""
    _check_subject(subject)
    cal = bank_holiday_calendar()
    with tracker.store.read() as conn:
        found = [_request(r, cal) for r in sarsql.requests_for(conn, _reference(child))]
    if not found:
        concerns_about(tracker, child, subject)
    return found


def _day(tracker: Tracker, value: dt.date | str, name: str) -> dt.date:
    day = parse_date(value, fld(name))
    if day > tracker.today():
        raise InvalidInput(
            f"{fld(name)} {day.isoformat()} is in the future (today is "
            f"{tracker.today().isoformat()})"
        )
    return day


def receive(
    tracker: Tracker, child: str, received: dt.date | str, *, subject: str = "child",
    by: str | None = None,
) -> Request:  # fmt: skip
    """Record a request about ``child`` received on ``received`` (not in the future); refused
    (exit 1) while an earlier one is not yet answered."""
    from drp_cli.services.tracker import current_user

    day = _day(tracker, received, "received")
    concerns_about(tracker, child, subject)
    ref = _reference(child)
    recorder = current_user(by)
    cal = bank_holiday_calendar()
    with tracker.store.write() as conn:
        earlier = sarsql.open_request_for(conn, ref, lock=True)
        if earlier is not None:
            r = _request(earlier, cal)
            raise TransitionRefused(
                f"a subject access request about that reference received on "
                f"{iso(r.received_on)} (due {iso(r.due_on)}) is not yet answered: mark it sent "
                f"with {fld('sent')} DATE first"
            )
        new_id = sarsql.add_request(conn, ref, day, recorder, tracker.moment(), tracker.key)
        rows = [r for r in sarsql.requests_for(conn, ref) if r.id == new_id]
    return _request(rows[0], cal)


def _open(conn: Conn, ref: str | None, request: int | None = None) -> Row:
    """The request waiting for an answer: the one about ``ref``, or request ``request``."""
    if request is not None:
        found = sarsql.open_request_by_id(conn, request, lock=True)
        if found is None:
            raise NotFound(f"no subject access request {request} is waiting for an answer")
        return found
    row = sarsql.open_request_for(conn, ref, lock=True) if ref is not None else None
    if row is None:
        raise NotFound("no subject access request about that reference is waiting for an answer")
    return row


def _answerable(tracker: Tracker, child: str | None, subject: str) -> str:
    """The reference a request is extended or answered under: the request row is the source,
    so a request not yet answered is found by the reference it was recorded under even when
    no concern has that reference any more (amended since: ``drp amend --child``); without
    one, drp must hold a concern about it (NotFound as :func:`concerns_about` says)."""
    _check_subject(subject)
    if child is None:
        raise InvalidInput("give the CHILD reference, or the request's number with --request")
    ref = _reference(child)
    with tracker.store.read() as conn:
        waiting = sarsql.open_request_for(conn, ref)
    if waiting is None:
        concerns_about(tracker, child, subject)
    return ref


def extend(
    tracker: Tracker, child: str | None, reason: str, *, on: dt.date | str | None = None,
    subject: str = "child", by: str | None = None, request: int | None = None,
) -> Request:  # fmt: skip
    """Extend the open request by two months (complex, or one of several), the person told
    on ``on`` (today by default) with ``reason``. Refused (exit 1) when already extended,
    or when the notice comes after the first month's due date (the person must be told
    within it). ``request``: the request by its id, instead of ``child`` (one whose
    reference was redacted)."""
    from drp_cli.core.textsafe import clean_text
    from drp_cli.services.tracker import current_user

    why = clean_text(reason, fld("reason"), required=True)
    day = _day(tracker, on if on is not None else tracker.today(), "on")
    ref = _answerable(tracker, child, subject) if request is None else None
    recorder = current_user(by)
    cal = bank_holiday_calendar()
    with tracker.store.write() as conn:
        r = _request(_open(conn, ref, request), cal)
        if r.extended:
            raise TransitionRefused(
                f"the request received on {iso(r.received_on)} was already extended on "
                f"{iso(r.extended_on)} (due {iso(r.due_on)}); it can be extended once"
            )
        if day < r.received_on:
            raise InvalidInput(f"{fld('on')} {iso(day)} is before the request was received")
        if day > r.due_on:
            raise TransitionRefused(
                f"the request received on {iso(r.received_on)} was due {iso(r.due_on)}: an "
                "extension must be given within the first month"
            )
        sarsql.set_extended(conn, r.id, day, recorder, why, tracker.key)
        row = next(x for x in sarsql.requests_for(conn, r.child) if x.id == r.id)
    return _request(row, cal)


def mark_sent(
    tracker: Tracker, child: str | None, sent: dt.date | str, *, subject: str = "child",
    by: str | None = None, request: int | None = None,
) -> Request:  # fmt: skip
    """Mark the open request answered on ``sent`` (not before it was received, not in the
    future). ``request``: the request by its id, instead of ``child``."""
    from drp_cli.services.tracker import current_user

    day = _day(tracker, sent, "sent")
    ref = _answerable(tracker, child, subject) if request is None else None
    recorder = current_user(by)
    cal = bank_holiday_calendar()
    with tracker.store.write() as conn:
        r = _request(_open(conn, ref, request), cal)
        if day < r.received_on:
            raise InvalidInput(
                f"{fld('sent')} {iso(day)} is before the request was received "
                f"({iso(r.received_on)})"
            )
        sarsql.set_sent(conn, r.id, day, recorder, tracker.key)
        row = next(x for x in sarsql.requests_for(conn, r.child) if x.id == r.id)
    return _request(row, cal)


# -- the record ----------------------------------------------------------------------------
@dataclass
class ThirdParty:
    """A name (or contact details) that is not the child's, for the officer to review."""

    name: str
    roles: set[str] = field(default_factory=set)
    concerns: set[int] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "as": sorted(self.roles), "concerns": sorted(self.concerns)}


@dataclass
class SubjectRecord:
    """Everything drp holds about one child: the data written as JSON (and shown in the
    HTML and PDF), and the attached documents to copy (each with its name in the folder)."""

    reference: str
    subject: str
    data: dict[str, Any]
    files: list[tuple[AttachmentView, str]]
    third_party: list[ThirdParty]

    @property
    def names(self) -> list[str]:
        """The third parties' names and details, longest first (for highlighting)."""
        return sorted((t.name for t in self.third_party), key=lambda n: (-len(n), n))


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_name(concern_id: int, n: int, filename: str) -> str:
    """Where an attached document goes in the folder: ``attachments/<concern>-<n>-<name>``
    (the name's unsafe characters as ``_``)."""
    safe = _UNSAFE.sub("_", filename).strip("._") or "document"
    return f"attachments/{concern_id}-{n}-{safe[:120]}"


def gather(
    tracker: Tracker, child: str, *, subject: str = "child", on: dt.date | str | None = None
) -> SubjectRecord:
    """Everything drp holds about ``child`` (NotFound, exit 3, when nothing)."""
    from drp_cli.core.dates import utc_now
    from drp_cli.domain import views
    from drp_cli.services import attachments as att
    from drp_cli.services import details
    from drp_cli.services.tracker import current_user

    found = concerns_about(tracker, child, subject)
    ref = _reference(child)
    judged = tracker.judge_day(on)
    cal = tracker.calendar()
    concerns: list[dict[str, Any]] = []
    files: list[tuple[att.AttachmentView, str]] = []
    for c in found:
        protocol = tracker.protocols.protocols.get(c.protocol)
        data = views.concern_dict(c, protocol, cal, judged)
        # the child's identification for the bundle (`drp identify`: name, date of birth,
        # court, case number, guardian), whose values the events leave out, where this drp
        # records one
        identification = getattr(views, "identification", None)
        if identification is not None:
            data["identification"] = identification(c)
        own = [i for i in details.items(tracker, c.id, include_removed=True)
               if i.from_concern is None]  # fmt: skip
        for kind, key in ITEM_GROUPS.items():
            data[key] = [i.to_dict() for i in own if i.kind == kind]
        data["attachments"] = []
        for a in att.attachments(tracker, c.id):
            if a.from_concern is not None:
                continue
            name = _file_name(c.id, a.n, a.filename)
            data["attachments"].append({**a.to_dict(), "file": name})
            files.append((a, name))
        concerns.append(data)
    with tracker.store.read() as conn:
        reqs = [_request(r, bank_holiday_calendar()) for r in sarsql.requests_for(conn, ref)]
        others = sarsql.references(conn)
    # the references these concerns had before an amendment (one typed in error may be
    # another child's, and no concern holds it now)
    for held in concerns:
        for e in held.get("events", []):
            before = e.get("details", {}).get("child") if isinstance(e, dict) else None
            if isinstance(before, str):
                others.add(before)
    record: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "subject": {"reference": ref, "kind": subject},
        "written_at": utc_now().astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "written_by": current_user(),
        "judged_on": iso(judged),
        "concerns": concerns,
        "requests": [r.to_dict() for r in reqs],
    }
    parties = mark_third_parties(record, ref, others)
    # each entry is a third party's name (or another child's reference): marked as such
    record["third_party_review"] = [{**p.to_dict(), MARK: ["name"]} for p in parties]
    return SubjectRecord(ref, subject, record, files, parties)


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _strings(value)


def mark_third_parties(
    record: dict[str, Any], child: str, others: Iterable[str] = ()
) -> list[ThirdParty]:
    """Mark every third party in ``record`` (in place): each object holding a name that is
    not ``child``'s, or text that mentions one, gets ``third_party``, the list of those
    keys. ``others``: other children's references (every one drp holds, and those the
    concerns were amended away from): one found in the record (a note naming a sibling's
    reference, the reference a concern had before it was corrected) is marked as theirs.
    Returns the names and references found, by name."""
    from drp_cli.domain.lifecycle import REDACTED

    found: dict[str, ThirdParty] = {}
    # the child's own: their reference, and their name where the identification gives it
    own = {child.casefold(), REDACTED.casefold()} | {
        str(i.get("value", "")).strip().casefold()
        for c in record["concerns"] for i in c.get("identification", [])
        if i.get("field") == "name"
    }  # fmt: skip

    def note(name: Any, role: str, concern: int | None) -> bool:
        if not isinstance(name, str):
            return False
        text = name.strip()
        if not text or text.casefold() in own:
            return False
        party = found.setdefault(text.casefold(), ThirdParty(text))
        party.roles.add(role)
        if concern is not None:
            party.concerns.add(concern)
        return True

    def names(obj: Any, concern: int | None, item_kind: str | None = None) -> None:
        """``item_kind``: the kind of item ``obj`` holds the fields of (an item, or the
        details of the event that added it)."""
        if isinstance(obj, list):
            for v in obj:
                names(v, concern)
            return
        if not isinstance(obj, dict):
            return
        keys: list[str] = []
        if item_kind is None and "n" in obj and "added_on" in obj:  # an item
            item_kind = str(obj.get("kind"))
        by_kind = ITEM_NAME_KEYS.get(item_kind or "", {})
        if obj.get("field") in IDENTITY_NAME_KEYS and "value" in obj:  # an identification
            by_kind = {"value": IDENTITY_NAME_KEYS[str(obj["field"])]}
        added = str(obj.get("kind", "")) if "seq" in obj else ""  # an event
        for key, value in obj.items():
            role = by_kind.get(key) or NAME_KEYS.get(key)
            if role is not None:
                values = value if isinstance(value, list) else [value]
                if any([note(v, role, concern) for v in values]):
                    keys.append(key)
            elif key == "details" and added.endswith("-added"):
                names(value, concern, added.removesuffix("-added"))
            else:
                names(value, concern)
        if keys:
            obj[MARK] = keys

    for c in record["concerns"]:
        names(c, c["id"])
    names(record["requests"], None)
    # another child's reference: a candidate only where the record's text holds it at all
    text = "\n".join(_strings(record["concerns"])).casefold()
    theirs = {r.strip().casefold(): r.strip() for r in others if r.strip()
              and r.strip().casefold() not in own and r.strip().casefold() in text}  # fmt: skip
    pattern = mention_pattern([p.name for p in found.values()] + list(theirs.values()))

    def mentions(obj: Any, concern: int | None) -> None:
        if isinstance(obj, list):
            for v in obj:
                mentions(v, concern)
            return
        if not isinstance(obj, dict):
            return
        keys = list(obj.get(MARK, []))
        for key, value in obj.items():
            if key == MARK or key in keys:
                continue
            if isinstance(value, str) and pattern is not None:
                hits = {m.group(0).casefold() for m in pattern.finditer(value)}
                for hit in hits:
                    party = found.get(hit)
                    role = "named in the record's text"
                    if party is None and hit in theirs:
                        party = found.setdefault(hit, ThirdParty(theirs[hit]))
                        role = ANOTHER_CHILD
                    if party is None:  # a case that folds differently: marked all the same
                        continue
                    party.roles.add(role)
                    if concern is not None:
                        party.concerns.add(concern)
                if hits:
                    keys.append(key)
            else:
                mentions(value, concern)
        if keys:
            obj[MARK] = keys

    if pattern is not None:
        for c in record["concerns"]:
            mentions(c, c["id"])
    return sorted(found.values(), key=lambda p: (p.name.casefold(), p.name))


def mention_pattern(names: list[str]) -> re.Pattern[str] | None:
    """A pattern that finds any of ``names`` in text, whatever the case, as whole words
    (longest first); None when there are none."""
    if not names:
        return None
    ordered = sorted({n for n in names if n.strip()}, key=lambda n: (-len(n), n))
    alternatives = "|".join(re.escape(n) for n in ordered)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
