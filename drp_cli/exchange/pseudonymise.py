"""Pseudonymised export (issue 31 item 5): ``drp export --pseudonymise``, in every format.

Each child's, carer household's or chair's reference (the concern's subject), every
person's name (who recorded, raised, owns, attended, was notified) and every free-text field
(summary, impact, recommendation, outcome, the text of every event, every text in an event's
details and items) is replaced by a keyed pseudonym: ``ref-``, ``person-`` or ``text-`` and
the first 20 hex digits of HMAC-SHA256 under a key the council holds (a file: ``--pseudonym-key
FILE`` or ``DRP_PSEUDONYM_KEY_FILE``), over the kind and the value. So:

* the same reference gives the same pseudonym in every export made with the same key (two
  exports can be joined, and a child's concerns still group together), and a different key
  gives a different one;
* no one without the key can go back: an HMAC cannot be inverted, and without the key a
  guess (a reference's format is easy to guess) cannot be checked either.

Free text becomes a token rather than being dropped: the tables keep their shape (which
fields were filled, which events carried text, the same outcome recorded twice), and the
export stays one ``drp import`` reads; what the text said is gone. Slugs and numbers stay
(protocol, route, stage, theme, issue, role, team, kinds, step slugs), and so do dates:
dates can identify a child when joined with other data (a concern opened the day a
placement ended); coarsen them before sharing further if that matters. The attached
documents are left out of a pseudonymised folder, and an identification (``drp identify``)
was never exported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
from collections.abc import Iterable
from typing import Any

from drp_cli.core.errors import InvalidInput, fld
from drp_cli.domain.views import ConcernView, EventView

#: The environment variable naming the key file when ``--pseudonym-key`` is not given.
KEY_ENV = "DRP_PSEUDONYM_KEY_FILE"
#: Hex digits of the HMAC kept: 80 bits, so that two values share a pseudonym by chance
#: about once in a million million pairs.
DIGITS = 20
#: What an event's details hold that is no one's words: slugs, numbers, dates, field names.
STRUCTURAL = frozenset({
    "n", "kind", "step", "due", "bypassed", "what", "item", "seq", "fields", "committed",
    "position", "team", "protocol", "category", "issue", "role", "route", "opened_on",
    "formal_started_on", "senior_officer_notified_on", "dated", "size", "added_on",
    "removed_on", "done_on", "from_concern", "stage", "subject",
})  # fmt: skip
#: Details that name the subject (as the concern's own fields do).
REFERENCES = frozenset({"child", "external_ref", "uid"})
#: Details that name a person.
PEOPLE = frozenset({"owner", "officer", "senior_officer", "from", "attendees", "added_by",
                    "done_by", "raised_by", "by"})  # fmt: skip


def load_key(path: str | None) -> bytes:
    """The council's pseudonym key: the file ``path`` names, else ``DRP_PSEUDONYM_KEY_FILE``'s
    (owner-only, 32 bytes or more: ``drp key create FILE`` makes one). None of either is
    refused: a pseudonymised export without the council's key would be one no one could
    join with the next."""
    given = path or os.environ.get(KEY_ENV) or None
    if not given:
        raise InvalidInput(
            f"{fld('pseudonym_key')} is needed to pseudonymise: the council's key file "
            f"(--pseudonym-key FILE or {KEY_ENV}; `drp key create FILE` makes one)"
        )
    from drp_cli.store.record import load_key as load

    return load(given)


class Pseudonymiser:
    """Keyed, stable pseudonyms for one export."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._seen: dict[tuple[str, str], str] = {}

    def token(self, kind: str, value: str) -> str:
        """``kind-`` and the keyed digest of ``value`` (an empty value stays empty)."""
        if value == "":
            return ""
        found = self._seen.get((kind, value))
        if found is None:
            digest = hmac.new(self._key, f"{kind}\x00{value}".encode(), hashlib.sha256)
            found = self._seen[(kind, value)] = f"{kind}-{digest.hexdigest()[:DIGITS]}"
        return found

    def _opt(self, kind: str, value: str | None) -> str | None:
        return None if value is None else self.token(kind, value)

    def value(self, key: str, value: Any) -> Any:
        """A value of an event's details (or an item's data) under ``key``."""
        if key in STRUCTURAL or value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {k: self.value(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(key, v) for v in value]
        kind = "ref" if key in REFERENCES else "person" if key in PEOPLE else "text"
        return self.token(kind, str(value))

    def event(self, e: EventView) -> EventView:
        return dataclasses.replace(
            e,
            by=self.token("person", e.by),
            text=self.token("text", e.text),
            details={k: self.value(k, v) for k, v in e.details.items()},
        )

    def view(self, c: ConcernView) -> ConcernView:
        """The concern with its subject's reference, people's names and free text replaced."""
        return dataclasses.replace(
            c,
            child=self.token("ref", c.child),
            external_ref=self._opt("ref", c.external_ref),
            uid=self._opt("ref", c.uid),
            summary=self.token("text", c.summary),
            impact=self.token("text", c.impact),
            recommended=self.token("text", c.recommended),
            raised_by=self.token("person", c.raised_by),
            owner=self._opt("person", c.owner),
            outcome=self._opt("text", c.outcome),
            events=[self.event(e) for e in c.events],
        )

    def views(self, concerns: Iterable[ConcernView]) -> list[ConcernView]:
        return [self.view(c) for c in concerns]


__all__ = ["DIGITS", "KEY_ENV", "Pseudonymiser", "load_key"]
