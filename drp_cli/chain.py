"""The tamper-evident record: every event carries a SHA-256 of its content chained to the
previous event's hash, in the order events were written (``chain_seq``).

``verify`` re-walks the chain and reports the first event that was altered, deleted or
inserted out of band, and any concern whose stored state no longer matches its events.
Nothing here imports typer or rich.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

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


def canonical_json(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """The event's canonical JSON with its chain links: exactly ``_ENCODE`` of the dict of
    canonical values (sorted keys, no spaces, UTF-8 kept), written out field by field in
    key order, because building a JSON encoder for each of hundreds of thousands of
    imported events is slow. A property test holds the two to the same bytes."""
    q = encode_basestring
    by, kind, stage, text, from_stage = (
        row["by"], row["kind"], row["stage"], row["text"], row["from_stage"]
    )  # fmt: skip
    details = row["details"]
    return (
        f'{{"by":{q(by) if type(by) is str else _plain(by)},"chain_seq":{_json(chain_seq)},'
        f'"concern_id":{_plain(row["concern_id"])},'
        f'"details":{q(details) if type(details) is str else _json(_canon("details", details))},'
        f'"effective_on":{q(_canon("effective_on", row["effective_on"]))},'
        f'"from_stage":{q(from_stage) if type(from_stage) is str else _plain(from_stage)},'
        f'"kind":{q(kind) if type(kind) is str else _plain(kind)},'
        f'"prev_hash":{q(prev_hash) if type(prev_hash) is str else _json(prev_hash)},'
        f'"recorded_at":{q(_canon("recorded_at", row["recorded_at"]))},'
        f'"seq":{_plain(row["seq"])},"stage":{q(stage) if type(stage) is str else _plain(stage)},'
        f'"text":{q(text) if type(text) is str else _plain(text)}}}'
    )


def event_hash(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """SHA-256 of the event's canonical JSON (sorted keys, no spaces) with its chain links."""
    return hashlib.sha256(canonical_json(row, chain_seq, prev_hash).encode("utf-8")).hexdigest()


@dataclass
class VerifyReport:
    events: int = 0
    concerns: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_rows(events: list[Mapping[str, Any]], head: Mapping[str, Any] | None) -> list[str]:
    """Walk the chain. ``events`` ordered by ``chain_seq`` (nulls last); report problems."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for row in events:
        where = f"event {row['id']} (concern {row['concern_id']}, entry {row['seq']})"
        if row["chain_seq"] is None or row["hash"] is None:
            problems.append(f"{where} was inserted out of band: it is not in the chain")
            break
        if row["chain_seq"] != expected_seq:
            missing = row["chain_seq"] - expected_seq
            problems.append(
                f"{missing} event{'s' if missing != 1 else ''} deleted before {where} "
                f"(chain position {expected_seq} is missing)"
            )
            break
        if row["prev_hash"] != prev:
            problems.append(f"{where} does not follow the event before it (altered chain)")
            break
        if event_hash(row, row["chain_seq"], prev) != row["hash"]:
            problems.append(f"{where} was altered after it was recorded")
            break
        prev = row["hash"]
        expected_seq += 1
    if (
        not problems
        and head is not None
        and (head["seq"] != expected_seq - 1 or head["hash"] != prev)
    ):
        lost = head["seq"] - (expected_seq - 1)
        problems.append(
            f"the chain ends at position {expected_seq - 1} but {head['seq']} events were "
            f"recorded: {lost} latest event{'s' if lost != 1 else ''} deleted"
            if lost > 0
            else "the chain head does not match the last event (altered chain)"
        )
    return problems
