"""The staff directory: the IROs, managers and business-support officers concerns are owned
by and handed over to. Names match whatever their case; an unknown name gets suggestions.

While the directory is empty any name is taken as given (a single IRO's own database needs
no directory); once it has names, ``drp assign --to`` and ``--owner`` take only those.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drp_cli.core.errors import InvalidInput, RecordTampered, fld
from drp_cli.core.textsafe import MAX_REF, clean_line
from drp_cli.domain.chain import staff_link_problem
from drp_cli.services.tracker import Tracker, current_user
from drp_cli.store import record
from drp_cli.store.connection import Conn

ROLES = ("iro", "cp-chair", "fostering-iro", "manager", "business-support", "other")


@dataclass(frozen=True)
class Person:
    """A staff-directory entry. Its address (:attr:`email`) is given only while the entry's
    own link of the chain holds: an entry inserted or changed behind drp's back must never
    decide where an alert or ``overdue --send`` goes."""

    name: str
    stored_email: str | None
    team: str | None
    role: str | None
    added_by: str
    added_at: dt.datetime
    #: the stored row and the chain's key, to check the entry's link when its address is
    #: used (None: an entry this process has just written)
    row: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    key: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def email(self) -> str | None:
        """The entry's e-mail address; :class:`RecordTampered` (naming the entry by its
        key, never the address) when its link of the chain does not hold."""
        if self.row is not None:
            problem = staff_link_problem(self.row, self.key)
            if problem is not None:
                raise RecordTampered(
                    f"{record.staff_where(self.row)} {problem}: its e-mail address is not "
                    "used; run `drp verify`"
                )
        return self.stored_email

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "team": self.team,
            "role": self.role,
            "added_by": self.added_by,
            "added_at": self.added_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        }


def key(name: str) -> str:
    """A name as the directory matches it: case and spacing folded."""
    return " ".join(name.split()).casefold()


def directory(t: Tracker) -> list[Person]:
    if not t.store.exists:
        return []
    with t.store.read() as conn:
        rows = record.staff(conn)
    return [Person(r.name, r.email, r.team, r.role, r.added_by, r.added_at, r, t.key)
            for r in rows]  # fmt: skip


def add(
    t: Tracker,
    name: str,
    *,
    email: str | None = None,
    team: str | None = None,
    role: str | None = None,
    by: str | None = None,
) -> Person:
    """Add a person to the directory (a name already there, in any case, is refused)."""
    shown = clean_line(name, fld("name"), MAX_REF * 2)
    mail = clean_line(email, fld("email"), MAX_REF * 2) if email else None
    if mail is not None and ("@" not in mail or " " in mail):
        raise InvalidInput(f"{fld('email')} is not an email address")
    team_name = clean_line(team, fld("team"), MAX_REF * 2) if team else None
    if role is not None and role not in ROLES:
        raise InvalidInput(f"{fld('role')} must be one of {', '.join(ROLES)}")
    recorder = current_user(by)
    now = t.moment()
    with t.unit_of_work() as uow:  # the entry is a link of the chain
        if any(key(p.name) == key(shown) for p in record.staff(uow.conn)):
            raise InvalidInput("that name is already in the staff directory")
        uow.add_staff({"name": shown, "key": key(shown), "email": mail, "team": team_name,
                       "role": role, "added_by": recorder, "added_at": now})  # fmt: skip
    return Person(shown, mail, team_name, role, recorder, now)


def suggestions(name: str, names: list[str]) -> str:
    """`` (did you mean: A, B?)`` for the closest names, or nothing."""
    folded = {key(n): n for n in names}
    close = difflib.get_close_matches(key(name), list(folded), n=3, cutoff=0.6)
    if not close:
        close = [k for k in folded if key(name) in k][:3]
    return f" (did you mean: {', '.join(folded[k] for k in close)}?)" if close else ""


def match(t: Tracker, name: str, field: str = "to") -> Person | None:
    """The directory's entry for ``name`` (any case), None when the directory is empty;
    an unknown name is refused with the closest names."""
    wanted = clean_line(name, fld(field), MAX_REF * 2)
    people = directory(t)
    if not people:
        return None
    found = next((p for p in people if key(p.name) == key(wanted)), None)
    if found is None:
        raise InvalidInput(
            f"{fld(field)}: that name is not in the staff directory"
            f"{suggestions(wanted, [p.name for p in people])}; add it with `drp staff add`"
        )
    return found


#: How a filter's unknown name is described, by the field it was given as.
_WHO = {
    "owner": "no concern is owned by, and no one in the staff directory is named",
    "team": "no concern is held by, and no one in the staff directory is in, a team named",
}


def refuse_unknown(conn: Conn, field: str, value: str) -> None:
    """Refuse (:class:`InvalidInput`) an owner or team filter naming nobody drp knows (no
    concern's, no staff directory entry's, whatever the case), with the closest names: a
    misspelt name in a cron line must never read as an all-clear."""
    names = record.known_names(conn, field)
    if value.lower() in {n.lower() for n in names}:
        return
    raise InvalidInput(
        f"{fld(field)}: {_WHO[field]} that{suggestions(value, names)}; check the spelling "
        "(`drp staff list`)"
    )


def check_filters(t: Tracker, *, owner: str | None = None, team: str | None = None) -> None:
    """:func:`refuse_unknown` for each of ``owner`` and ``team`` given (stripped, as the
    filters take them)."""
    given = [(f, v.strip()) for f, v in (("owner", owner), ("team", team)) if v and v.strip()]
    if not given or not t.store.exists:
        return
    with t.store.read() as conn:
        for field, value in given:
            refuse_unknown(conn, field, value)
