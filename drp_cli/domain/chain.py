"""The tamper-evident record: every event carries a SHA-256 of its content chained to the
previous event's hash, in the order events were written (``chain_seq``).

``verify`` re-walks the chain and reports the first event that was altered, deleted or
inserted out of band, and any concern whose stored state no longer matches its events.
Nothing here imports typer or rich.

Redaction. An event recorded from schema 0007 on is hashed over a *commitment* to its text
and details, ``content`` = SHA-256 of a random ``salt`` with them, not over the text itself.
Redacting personal data entered in error replaces the text in the row, removes the salt and
appends a ``redacted`` event (a link of the chain) that records the link's hash before
(``before``) and a digest of the row as it now reads (``after``). ``verify`` then checks the
redacted row against ``after`` instead of its commitment, and the chain still links through
the hash it always had. Without the salt the commitment says nothing about the text that
was removed; an event recorded before 0007 has no salt, so its hash (over the text itself)
could confirm a guess of what was redacted: ``drp redact`` says so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, BinaryIO

from drp_cli.core.digests import hmac_sha256_hex, sha256_hex

GENESIS = "0" * 64
HASHED_FIELDS = (
    "concern_id", "seq", "kind", "effective_on", "stage", "from_stage", "by", "recorded_at",
    "text", "details",
)  # fmt: skip


@lru_cache(maxsize=65536)
def _moment(value: dt.datetime | str) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


#: A moment as every link of the chain writes it (UTC, naive, to the microsecond).
moment_text = _moment


@lru_cache(maxsize=65536)
def _day(value: dt.date | str) -> str:
    if isinstance(value, str):
        return value[:10]
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def _canon(name: str, value: Any) -> Any:
    """One canonical form per value, whichever engine or driver read it."""
    if value is None:
        return None
    if name == "recorded_at":
        return _moment(value)
    if name == "effective_on":
        return _day(value)
    if name == "details" and not isinstance(value, str):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, int | str):
        return value
    return str(value)


#: The canonical JSON's definition: what :func:`canonical_json` writes, faster.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _json(value: Any) -> str:
    """JSON for a canonical value, as ``_ENCODE`` writes it."""
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring(value)
    if type(value) is int:
        return int.__repr__(value)
    return _ENCODE(value)


def _plain(value: Any) -> str:
    """``_json(_canon(name, value))`` for a field with no special form."""
    if type(value) is str:
        return encode_basestring(value)
    if type(value) is int:
        return int.__repr__(value)
    return _json(_canon("", value))


def new_salt() -> str:
    return os.urandom(16).hex()  # as secrets.token_hex(16) makes it


def new_salts(n: int) -> list[str]:
    """``n`` salts such as :func:`new_salt` makes (16 random bytes in hex), from one read of
    the system's randomness: an import salts hundreds of thousands of events."""
    block = os.urandom(16 * n).hex()
    return [block[i : i + 32] for i in range(0, 32 * n, 32)]


def commitment(salt: str, text: str, details: Any) -> str:
    """The salted commitment an event's hash covers instead of its text and details: the
    SHA-256 of :func:`_committed`."""
    return sha256_hex(_committed(salt, text, details))


def _committed(salt: str, text: str, details: Any) -> str:
    """What :func:`commitment` hashes: ``_ENCODE([salt, text, details as canonical
    text])``, spelled out here for text values (a property test holds the two to the same
    bytes)."""
    spelled = details if type(details) is str else (_canon("details", details) or "")
    text = text or ""
    if type(salt) is str and type(text) is str:
        q = encode_basestring
        return f"[{q(salt)},{q(text)},{q(spelled)}]"
    return str(_ENCODE([salt, text, spelled]))


def redacted_digest(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """What a ``redacted`` event records as ``after``: the SHA-256 of the redacted row's
    canonical JSON with its text and details, as it now reads."""
    plain = {**row, "content": None}
    return sha256_hex(canonical_json(plain, chain_seq, prev_hash))


def canonical_json(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """The event's canonical JSON with its chain links: exactly ``_ENCODE`` of the dict of
    canonical values (sorted keys, no spaces, UTF-8 kept), written out field by field in
    key order, because building a JSON encoder for each of hundreds of thousands of
    imported events is slow. A property test holds the two to the same bytes.

    ``imported_at`` and ``imported_by`` (who brought an imported event into this database)
    are in it when they are set, so events written before they existed keep their hashes."""
    q = encode_basestring
    content = row.get("content")
    by, kind, stage, text, from_stage = (
        row["by"], row["kind"], row["stage"], row["text"], row["from_stage"]
    )  # fmt: skip
    details = row["details"]
    spelled = q(details) if type(details) is str else _json(_canon("details", details))
    body = f'"content":{q(content)},' if content is not None else f'"details":{spelled},'
    imported_at, imported_by = row.get("imported_at"), row.get("imported_by")
    provenance = (
        f'"imported_at":{_json(_canon("recorded_at", imported_at))},'
        f'"imported_by":{_plain(imported_by)},'
        if imported_at is not None or imported_by is not None
        else ""
    )
    return (
        f'{{"by":{q(by) if type(by) is str else _plain(by)},"chain_seq":{_json(chain_seq)},'
        f'"concern_id":{_plain(row["concern_id"])},'
        f"{body}"
        f'"effective_on":{q(_canon("effective_on", row["effective_on"]))},'
        f'"from_stage":{q(from_stage) if type(from_stage) is str else _plain(from_stage)},'
        f"{provenance}"
        f'"kind":{q(kind) if type(kind) is str else _plain(kind)},'
        f'"prev_hash":{q(prev_hash) if type(prev_hash) is str else _json(prev_hash)},'
        f'"recorded_at":{q(_canon("recorded_at", row["recorded_at"]))},'
        f'"seq":{_plain(row["seq"])},"stage":{q(stage) if type(stage) is str else _plain(stage)}'
        + (
            "}"
            if content is not None
            else f',"text":{q(text) if type(text) is str else _plain(text)}}}'
        )
    )


def event_hash(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """SHA-256 of the event's canonical JSON (sorted keys, no spaces) with its chain links
    (over its ``content`` commitment instead of its text and details where it has one)."""
    return sha256_hex(canonical_json(row, chain_seq, prev_hash))


def event_json_of(
    concern_id: Any, seq: Any, kind: Any, day: Any, stage: Any, from_stage: Any, by: Any,
    moment: Any, text: Any, details: Any, imported_by: Any, imported_moment: Any,
    content: Any, chain_seq: Any, prev_hash: Any,
) -> str | None:  # fmt: skip
    """:func:`canonical_json` of an event from its fields, without a mapping or a call a
    field (``drp verify`` hashes two million): its day as ISO text (``_day``'s), its moments
    as :func:`moment_text` writes them (imported: None when it has none), its details as
    their stored JSON text. None when a value is not of the types drp stores (then
    :func:`canonical_json` of the row decides). A property test holds the two to the same
    text."""
    if not (
        type(concern_id) is int and type(seq) is int and type(chain_seq) is int
        and type(kind) is str and type(stage) is str and type(by) is str
        and type(prev_hash) is str and type(day) is str and type(moment) is str
        and (from_stage is None or type(from_stage) is str)
        and (imported_by is None or type(imported_by) is str)
        and (imported_moment is None or type(imported_moment) is str)
    ):  # fmt: skip
        return None
    q = encode_basestring
    if content is not None:
        if type(content) is not str:
            return None
        body = f'"content":{q(content)},'
        end = "}"
    else:
        if type(details) is not str or not (text is None or type(text) is str):
            return None
        body = f'"details":{q(details)},'
        end = f',"text":{"null" if text is None else q(text)}}}'
    provenance = (
        f'"imported_at":{"null" if imported_moment is None else q(imported_moment)},'
        f'"imported_by":{"null" if imported_by is None else q(imported_by)},'
        if imported_moment is not None or imported_by is not None
        else ""
    )
    return (
        f'{{"by":{q(by)},"chain_seq":{int.__repr__(chain_seq)},'
        f'"concern_id":{int.__repr__(concern_id)},{body}'
        f'"effective_on":{q(day)},'
        f'"from_stage":{"null" if from_stage is None else q(from_stage)},{provenance}'
        f'"kind":{q(kind)},"prev_hash":{q(prev_hash)},"recorded_at":{q(moment)},'
        f'"seq":{int.__repr__(seq)},"stage":{q(stage)}{end}'
    )


#: Stand-ins for the chain links in :func:`event_hash_parts` (no JSON text can hold their
#: quoted forms: a quote inside a string is escaped)
_SEQ_MARK, _PREV_MARK = "\x00chain_seq\x00", "\x00prev_hash\x00"


def event_hash_parts(row: Mapping[str, Any]) -> tuple[bytes, bytes, bytes]:
    """The event's canonical JSON (UTF-8) cut where its chain links go, so that the links
    can be filled in later, in chain order: ``hash_of_parts(event_hash_parts(row), seq,
    prev) == event_hash(row, seq, prev)`` (a property test holds them to it)."""
    by, kind, stage, from_stage = row["by"], row["kind"], row["stage"], row["from_stage"]
    content, imported_at = row.get("content"), row.get("imported_at")
    imported_by = row.get("imported_by")
    if (
        type(content) is str and type(by) is str and type(kind) is str and type(stage) is str
        and type(from_stage) in (str, type(None)) and type(row["concern_id"]) is int
        and type(row["seq"]) is int and type(imported_by) is str
        and isinstance(imported_at, dt.datetime) and isinstance(row["recorded_at"], dt.datetime)
        and isinstance(row["effective_on"], dt.date)
    ):  # fmt: skip
        # what an import writes
        return imported_hash_parts(row["concern_id"], row["seq"], kind, row["effective_on"],
                                   stage, from_stage, by, row["recorded_at"], content,
                                   imported_by, imported_at)  # fmt: skip
    text = canonical_json(row, _SEQ_MARK, _PREV_MARK)  # type: ignore[arg-type]
    head, seq_mark, rest = text.partition(encode_basestring(_SEQ_MARK))
    middle, prev_mark, tail = rest.partition(encode_basestring(_PREV_MARK))
    if not seq_mark or not prev_mark:
        raise ValueError("the chain links are not where the canonical JSON puts them")
    return head.encode("utf-8"), middle.encode("utf-8"), tail.encode("utf-8")


def imported_hash_parts(
    concern_id: int, seq: int, kind: str, effective_on: dt.date, stage: str,
    from_stage: str | None, by: str, recorded_at: dt.datetime, content: str,
    imported_by: str, imported_at: dt.datetime,
) -> tuple[bytes, bytes, bytes]:  # fmt: skip
    """:func:`event_hash_parts` of an imported event, from its values (of these types: an
    import makes hundreds of thousands), spelled as :func:`canonical_json` spells them."""
    head, middle, tail = imported_hash_text(concern_id, seq, kind, effective_on, stage,
                                            from_stage, by, recorded_at, content, imported_by,
                                            imported_at)  # fmt: skip
    return head.encode(), middle.encode(), tail.encode()


@lru_cache(maxsize=1024)
def _by_head(by: str) -> str:
    return f'{{"by":{encode_basestring(by)},"chain_seq":'


@lru_cache(maxsize=4096)
def _imported_middle_end(
    from_stage: str | None, imported_at: dt.datetime, imported_by: str, kind: str
) -> str:
    q = encode_basestring
    return (f',"from_stage":{"null" if from_stage is None else q(from_stage)},'
            f'"imported_at":{q(_moment(imported_at))},"imported_by":{q(imported_by)},'
            f'"kind":{q(kind)},"prev_hash":')  # fmt: skip


@lru_cache(maxsize=4096)
def _recorded_seq(recorded_at: dt.datetime) -> str:
    return f',"recorded_at":{encode_basestring(_moment(recorded_at))},"seq":'


@lru_cache(maxsize=1024)
def _stage_end(stage: str) -> str:
    return f',"stage":{encode_basestring(stage)}}}'


def imported_hash_text(
    concern_id: int, seq: int, kind: str, effective_on: dt.date, stage: str,
    from_stage: str | None, by: str, recorded_at: dt.datetime, content: str,
    imported_by: str, imported_at: dt.datetime,
) -> tuple[str, str, str]:  # fmt: skip
    """:func:`imported_hash_parts` as text (not yet UTF-8), for :func:`hash_of_text_parts`:
    the few values an import repeats (who, which kind, stage and moments) spelled once
    each, not for every event."""
    return (
        _by_head(by),
        (f',"concern_id":{int.__repr__(concern_id)},"content":{encode_basestring(content)},'
         f'"effective_on":{encode_basestring(_day(effective_on))}'
         f"{_imported_middle_end(from_stage, imported_at, imported_by, kind)}"),
        f"{_recorded_seq(recorded_at)}{int.__repr__(seq)}{_stage_end(stage)}",
    )  # fmt: skip


def imported_event_parts(
    concern_id: int, seq: int, kind: str, effective_on: dt.date, stage: str,
    from_stage: str | None, by: str, recorded_at: dt.datetime, salt: str, text: str,
    details: str, imported_by: str, imported_at: dt.datetime, sha256: Any,
) -> tuple[str, str, str, str]:  # fmt: skip
    """An imported event's :func:`commitment` (``sha256``: hashlib's, which the caller
    imports once) and its :func:`imported_hash_text`, in one call: an import makes
    hundreds of thousands."""
    content: str = sha256(_committed(salt, text, details).encode()).hexdigest()
    head, middle, tail = imported_hash_text(concern_id, seq, kind, effective_on, stage,
                                            from_stage, by, recorded_at, content, imported_by,
                                            imported_at)  # fmt: skip
    return content, head, middle, tail


#: how many of each repeated piece :func:`imported_parts_of` keeps (then starts again)
_PIECES_KEPT = 4096


def imported_parts_of(
    imported_by: str, imported_at: dt.datetime, sha256: Any
) -> Callable[..., tuple[str, str, str, str]]:  # fmt: skip
    """:func:`imported_event_parts` for the events of one import (who imports them and when
    given once), called as ``parts(concern_id, seq, kind, effective_on, stage, from_stage,
    by, recorded_at, salt, text, details)``: the same four texts (a property test holds the
    two to the same), with the pieces an import repeats (the recorder's head, each day, each
    kind's middle, each moment, each stage's end) spelled once each and kept in plain
    dictionaries, and the content (a hex digest, which JSON quotes as it is) not escaped."""
    q = encode_basestring
    heads: dict[str, str] = {}
    days: dict[Any, str] = {}
    middles: dict[tuple[str | None, str], str] = {}
    moments: dict[dt.datetime, str] = {}
    ends: dict[str, str] = {}

    def parts(concern_id: int, seq: int, kind: str, effective_on: dt.date, stage: str,
              from_stage: str | None, by: str, recorded_at: dt.datetime, salt: str,
              text: str, details: str) -> tuple[str, str, str, str]:  # fmt: skip
        if type(salt) is str and type(text) is str and type(details) is str:
            committed = f"[{q(salt)},{q(text)},{q(details)}]"
        else:
            committed = _committed(salt, text, details)
        content: str = sha256(committed.encode()).hexdigest()
        head = heads.get(by)
        if head is None:
            if len(heads) >= _PIECES_KEPT:
                heads.clear()
            head = heads[by] = f'{{"by":{q(by)},"chain_seq":'
        day = days.get(effective_on)
        if day is None:
            if len(days) >= _PIECES_KEPT:
                days.clear()
            day = days[effective_on] = q(_day(effective_on))
        middle = middles.get((from_stage, kind))
        if middle is None:
            if len(middles) >= _PIECES_KEPT:
                middles.clear()
            middle = middles[from_stage, kind] = _imported_middle_end(
                from_stage, imported_at, imported_by, kind)  # fmt: skip
        moment = moments.get(recorded_at)
        if moment is None:
            if len(moments) >= _PIECES_KEPT:
                moments.clear()
            moment = moments[recorded_at] = (
                f',"recorded_at":{q(_moment(recorded_at))},"seq":')  # fmt: skip
        end = ends.get(stage)
        if end is None:
            if len(ends) >= _PIECES_KEPT:
                ends.clear()
            end = ends[stage] = f',"stage":{q(stage)}}}'
        return (
            content,
            head,
            f',"concern_id":{int.__repr__(concern_id)},"content":"{content}",'
            f'"effective_on":{day}{middle}',
            f"{moment}{int.__repr__(seq)}{end}",
        )

    return parts


def hash_of_parts(parts: tuple[bytes, bytes, bytes], chain_seq: int, prev_hash: str) -> str:
    """:func:`event_hash` from :func:`event_hash_parts` and the links."""
    import hashlib  # OpenSSL's: an import hashes every event (digests.py says why)

    head, middle, tail = parts
    return hashlib.sha256(
        b"".join((head, int.__repr__(chain_seq).encode(), middle,
                  encode_basestring(prev_hash).encode("utf-8"), tail))
    ).hexdigest()  # fmt: skip


def hash_of_text_parts(head: str, middle: str, tail: str, chain_seq: int, prev_hash: str,
                       sha256: Any) -> str:  # fmt: skip
    """:func:`hash_of_parts` of :func:`imported_hash_text`'s parts (``sha256``: hashlib's,
    which the caller imports once)."""
    digest: str = sha256(
        f"{head}{int.__repr__(chain_seq)}{middle}{encode_basestring(prev_hash)}{tail}".encode()
    ).hexdigest()
    return digest


def linked_hashes(parts: Iterable[tuple[Any, str, str, str]], chain_seq: int, prev_hash: str,
                  sha256: Any) -> list[str]:  # fmt: skip
    """:func:`hash_of_text_parts` of each of ``parts`` (``(anything, head, middle, tail)``)
    in turn, linked: the first at ``chain_seq + 1`` after ``prev_hash``, each next after
    the one before (whose hex digest JSON quotes as it is: not escaped again)."""
    quoted, out = encode_basestring(prev_hash), []
    for _, head, middle, tail in parts:
        chain_seq += 1
        digest: str = sha256(
            f"{head}{int.__repr__(chain_seq)}{middle}{quoted}{tail}".encode()
        ).hexdigest()
        out.append(digest)
        quoted = f'"{digest}"'
    return out


class ImportedPieces:
    """The pieces of the hash text of an import's *plain* events (recorded by the import at
    its moment, from no stage) that repeat from event to event, each spelled once and kept
    (``heads`` by who recorded the event, ``middles`` by its kind, ``ends`` by its stage;
    :func:`linked_imported_hashes` asks :meth:`head`, :meth:`middle` and :meth:`end` for one
    it has not met), as :func:`imported_hash_text` spells them."""

    def __init__(self, imported_by: str, imported_at: dt.datetime) -> None:
        self.imported_by, self.imported_at = imported_by, imported_at
        self.heads: dict[str, str] = {}
        self.middles: dict[str, str] = {}
        self.ends: dict[str, str] = {}
        #: what follows the previous hash: the moment, then the event's seq
        self.moment = _recorded_seq(imported_at)

    @staticmethod
    def _kept(table: dict[str, str], key: str, piece: str) -> str:
        if len(table) >= _PIECES_KEPT:
            table.clear()
        table[key] = piece
        return piece

    def head(self, by: str) -> str:
        return self._kept(self.heads, by, _by_head(by))

    def middle(self, kind: str) -> str:
        return self._kept(self.middles, kind, _imported_middle_end(
            None, self.imported_at, self.imported_by, kind))  # fmt: skip

    def end(self, stage: str) -> str:
        return self._kept(self.ends, stage, _stage_end(stage))


#: how long a plain event is (see :func:`linked_imported_hashes`)
PLAIN_EVENT_LENGTH = 10


def link_imported(events: Iterable[tuple[Any, ...]], chain_seq: int, prev_hash: str,
                  pieces: ImportedPieces, sha256: Any, rows: list[tuple[Any, ...]],
                  mac: Callable[[str], str] | None = None) -> tuple[int, str]:  # fmt: skip
    """An import's events linked into the chain after ``chain_seq`` and ``prev_hash``, in
    turn: each event's row added to ``rows``, its values followed by its links
    ``(chain_seq, prev_hash, hash)`` and, ``mac`` given (a keyed chain), ``mac(hash)`` (an
    event that is not plain: its mac or None). Returns the last (chain_seq, hash).

    An event is either *plain* (recorded by the import at its moment, from no stage), given
    as its stored values ``(concern_id, seq, kind, day as ISO text, stage, by, text,
    details, salt, content)``, its hash text spelled here in one go from them and
    ``pieces`` (the same text as :func:`imported_hash_text` with ``from_stage`` None and
    ``recorded_at`` the import's moment: a property test holds the two to the same), or
    ``(its values, head, middle, tail)``: :func:`imported_hash_text`'s parts, as
    :func:`linked_hashes` takes them."""
    prev, quoted = prev_hash, encode_basestring(prev_hash)
    heads, middles, ends, moment = pieces.heads, pieces.middles, pieces.ends, pieces.moment
    add = rows.append
    for event in events:
        chain_seq += 1
        if len(event) == PLAIN_EVENT_LENGTH:
            concern_id, seq, kind, day, stage, by, _text, _details, _salt, content = event
            try:
                head = heads[by]
            except KeyError:
                head = pieces.head(by)
            try:
                middle = middles[kind]
            except KeyError:
                middle = pieces.middle(kind)
            try:
                end = ends[stage]
            except KeyError:
                end = pieces.end(stage)
            digest: str = sha256(
                f'{head}{chain_seq},"concern_id":{concern_id},"content":"{content}",'
                f'"effective_on":"{day}"{middle}{quoted}{moment}{seq}{end}'.encode()
            ).hexdigest()
            if mac is None:
                add(event + (chain_seq, prev, digest))  # noqa: RUF005 (no list made)
            else:
                add((*event, chain_seq, prev, digest, mac(digest)))
        else:
            values, head, middle, tail = event
            digest = sha256(f"{head}{chain_seq}{middle}{quoted}{tail}".encode()).hexdigest()
            add((*values, chain_seq, prev, digest, None if mac is None else mac(digest)))
        prev, quoted = digest, f'"{digest}"'
    return chain_seq, prev


CLOSURE_FIELDS = ("day", "action", "reason", "by", "recorded_at")


def closure_json(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """A closure-day change as a link of the chain (``"entry": "closure"`` tells it apart)."""
    return _ENCODE(
        {
            "action": row["action"],
            "by": row["by"],
            "chain_seq": chain_seq,
            "day": _day(row["day"]),
            "entry": "closure",
            "prev_hash": prev_hash,
            "reason": row["reason"],
            "recorded_at": _moment(row["recorded_at"]),
        }
    )


def closure_hash(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    return sha256_hex(closure_json(row, chain_seq, prev_hash))


STAFF_FIELDS = ("name", "key", "email", "team", "role", "added_by", "added_at")


def staff_json(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """A staff-directory entry as a link of the chain (``"entry": "staff"`` tells it apart):
    its name, key, address, team and role, who added it and when."""
    return _ENCODE(
        {
            **{name: row[name] for name in STAFF_FIELDS if name != "added_at"},
            "added_at": _moment(row["added_at"]),
            "chain_seq": chain_seq,
            "entry": "staff",
            "prev_hash": prev_hash,
        }
    )


def staff_hash(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    return sha256_hex(staff_json(row, chain_seq, prev_hash))


def staff_link_problem(row: Mapping[str, Any], key: bytes | None = None) -> str | None:
    """What is wrong with one staff entry's own link of the chain, as ``drp verify`` words
    it (after the entry's name), or None: it is no link (no position, previous hash or
    hash), its hash is not the one its content gives, or (keyed) the key did not seal it.
    One row's check, for a look-up that is about to use the entry's address: it does not
    walk the chain (``drp verify`` does)."""
    seq, prev, digest = row.get("chain_seq"), row.get("prev_hash"), row.get("hash")
    if seq is None or prev is None or digest is None:
        return "was inserted out of band (it is not in the chain)"
    if staff_hash(row, seq, prev) != digest:
        return "was altered after it was recorded"
    if key is not None and row.get("mac") != mac(key, digest):
        return "is not sealed by the key"
    return None


def mac(key: bytes, link_hash: str) -> str:
    """The keyed seal of one link: HMAC-SHA256 of its hash under the service's key. Each
    hash covers every link before it, so a valid MAC on a link vouches for the chain up to
    it; without the key nobody can seal a rewritten chain."""
    return hmac_sha256_hex(key, link_hash)


@dataclass
class VerifyReport:
    events: int = 0
    closures: int = 0
    staff: int = 0
    purges: int = 0
    concerns: int = 0
    files: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    mode: str = "sha256"  # or "hmac-sha256" (keyed)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def head(self) -> str:
        return f"{self.head_seq}:{self.head_hash}"


@dataclass
class ChainWalk:
    """Walks the chain one link at a time (events and closure changes merged in chain
    order), so memory stays flat however long the history. Stops at the first break."""

    key: bytes | None = None
    expect: tuple[int, str] | None = None
    prev: str = GENESIS
    seq: int = 0
    problems: list[str] = field(default_factory=list)
    expect_seen: bool = False
    #: the runs of chain positions purges removed (``drp purge``), by their first position:
    #: (first, last, the hash before first, the hash of last), as the tombstones record them
    #: (:func:`drp_cli.domain.retention.tombstone_gaps`); each tombstone is itself a link, so
    #: a gap recorded or altered out of band fails the tombstone's own hash
    gaps: dict[int, tuple[int, int, str, str]] = field(default_factory=dict)
    gaps_crossed: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        # the empty chain's head (0:GENESIS, what verify prints for an empty database) is
        # held by every chain: it is where every chain begins
        if self.expect is not None and self.expect[0] == 0:
            self.expect_seen = True
            if self.expect[1] != GENESIS:
                self.problems.append(
                    "the recorded head 0 is not the empty chain's: position 0 holds nothing"
                )

    @property
    def broken(self) -> bool:
        return bool(self.problems)

    def feed(self, where: str, row: Mapping[str, Any], digest: str | None) -> None:
        """One link: ``row`` has chain_seq, prev_hash, hash, mac; ``digest`` is the hash
        recomputed from its content (None when it is not in the chain)."""
        if self.broken:
            return
        if row["chain_seq"] is None or row["hash"] is None:
            self.problems.append(f"{where} was inserted out of band: it is not in the chain")
            return
        expected = self.seq + 1
        if row["chain_seq"] > expected and expected in self.gaps:
            if not self._cross(expected, row["chain_seq"], where):
                return
            expected = self.seq + 1
        if expected in self.gaps and row["chain_seq"] == expected:
            first, last = self.gaps[expected][:2]
            self.problems.append(
                f"a purge records chain positions {first} to {last} as removed, but {where} "
                f"is still at position {expected} (altered chain)"
            )
            return
        if row["chain_seq"] != expected:
            missing = row["chain_seq"] - expected
            self.problems.append(
                f"{missing} link{'s' if missing != 1 else ''} deleted before {where} "
                f"(chain position {expected} is missing)"
                if missing > 0
                else f"{where} repeats chain position {row['chain_seq']} (altered chain)"
            )
            return
        if row["prev_hash"] != self.prev:
            self.problems.append(f"{where} does not follow the link before it (altered chain)")
            return
        if digest != row["hash"]:
            self.problems.append(f"{where} was altered after it was recorded")
            return
        if self.key is not None and row.get("mac") != mac(self.key, row["hash"]):
            self.problems.append(
                f"{where} is not sealed by the key (chain position {expected}): the record was "
                "rewritten without the key, or the key is not the one this database was "
                "sealed with"
            )
            return
        if self.expect is not None and expected == self.expect[0]:
            self.expect_seen = True
            if row["hash"] != self.expect[1]:
                self.problems.append(
                    f"the chain no longer holds the recorded head {self.expect[0]}:"
                    f"{self.expect[1][:16]}...: the history up to it was replaced"
                )
                return
        self.prev, self.seq = row["hash"], expected

    def _cross(self, expected: int, upto: int, where: str) -> bool:
        """Walk past the purged runs of positions from ``expected`` up to the link at
        ``upto`` (each must follow the link before it); False when one does not."""
        while expected < upto and expected in self.gaps:
            first, last, before, after = self.gaps[expected]
            if self.prev != before or last >= upto:
                self.problems.append(
                    f"the purge of chain positions {first} to {last} does not fit the links "
                    f"around it (before {where}): altered chain"
                )
                return False
            self.gaps_crossed.add(first)
            if self.expect is not None and first <= self.expect[0] <= last:
                self.expect_seen = True  # purged: the tombstone vouches for it
                if self.expect[0] == last and after != self.expect[1]:
                    self.problems.append(
                        f"the chain no longer holds the recorded head {self.expect[0]}:"
                        f"{self.expect[1][:16]}...: the history up to it was replaced"
                    )
                    return False
            self.prev, self.seq = after, last
            expected = last + 1
        return True

    def close(self, head: Mapping[str, Any] | None) -> None:
        """After the last link: the stored head and the expected head must agree, and
        every purged run of positions a tombstone records was met on the way."""
        if self.broken:
            return
        for first in sorted(set(self.gaps) - self.gaps_crossed):
            last = self.gaps[first][1]
            self.problems.append(
                f"a purge records chain positions {first} to {last} as removed, but the "
                "chain does not pass there (altered chain)"
            )
            return
        if head is not None and (head["seq"] != self.seq or head["hash"] != self.prev):
            lost = head["seq"] - self.seq
            self.problems.append(
                f"the chain ends at position {self.seq} but {head['seq']} links were "
                f"recorded: {lost} latest link{'s' if lost != 1 else ''} deleted"
                if lost > 0
                else "the chain head does not match the last link (altered chain)"
            )
        if self.expect is not None and not self.expect_seen:
            self.problems.append(
                f"the chain ends at position {self.seq}, before the recorded head "
                f"{self.expect[0]}: the latest history was deleted"
            )


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content (read a megabyte at a time)."""
    with path.open("rb") as fh:
        return file_sha256_of(fh)


def file_sha256_of(fh: BinaryIO) -> str:
    """The SHA-256 of what an open file holds (read a megabyte at a time)."""
    import hashlib  # OpenSSL's, the faster per byte

    digest = hashlib.sha256()
    while chunk := fh.read(1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()
