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


_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def event_hash(row: Mapping[str, Any], chain_seq: int, prev_hash: str) -> str:
    """SHA-256 of the event's canonical JSON (sorted keys, no spaces) with its chain links."""
    content = {name: _canon(name, row[name]) for name in HASHED_FIELDS}
    content["chain_seq"] = chain_seq
    content["prev_hash"] = prev_hash
    return hashlib.sha256(_ENCODE(content).encode("utf-8")).hexdigest()


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
