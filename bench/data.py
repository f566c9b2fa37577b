"""Synthetic trackers for the benchmark: N concerns with about 5 events each.

Shape (bench/run.py depends on it): every concern is under PROTOCOL (four stages), at its
first stage, with a response there, and none is referred to CAFCASS. The open ones come
first (ids 1 to ``n * open_share`` once imported into an empty database), and the overdue
ones first among those. So an open concern can be escalated three times, referred once and
resolved once: the bench takes a different one each round.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

START = dt.date(2020, 1, 6)
TODAY = dt.date(2026, 6, 1)
PROTOCOL = "knowsley"


def rows(n: int, *, open_share: float, overdue_share: float, seed: int = 1) -> list[dict[str, Any]]:
    """``open_share`` of the concerns open, ``overdue_share`` of those overdue on TODAY."""
    return list(each_row(n, open_share=open_share, overdue_share=overdue_share, seed=seed))


def each_row(
    n: int, *, open_share: float, overdue_share: float, seed: int = 1, chased: bool = True
) -> Iterator[dict[str, Any]]:
    """:func:`rows` one at a time; without ``chased``, no second note (a resolved concern is
    then five events once imported: imported, the recorded fields, a note, the response and
    the resolution)."""
    rng = random.Random(seed)
    n_open = round(n * open_share)
    n_overdue = round(n_open * overdue_share)
    for i in range(n):
        is_open = i < n_open
        overdue = i < n_overdue
        if is_open:
            # overdue ones started long ago; the rest started yesterday
            opened = TODAY - dt.timedelta(days=rng.randint(40, 400) if overdue else 1)
        else:
            opened = START + dt.timedelta(days=rng.randint(0, 2000))
        on = opened.isoformat()
        later = (opened + dt.timedelta(days=1)).isoformat()
        events = [
            {"kind": "imported", "on": on, "stage": "stage-1", "by": "bench",
             "text": "No allocated social worker", "details": {"due": None, "bypassed": []}},
            {"kind": "note", "on": on, "stage": "stage-1", "by": "bench", "text": "Phoned TM",
             "details": {}},
            {"kind": "response", "on": later, "stage": "stage-1", "by": "bench",
             "text": "Will allocate", "details": {"from": "TM"}},
            {"kind": "note", "on": later, "stage": "stage-1", "by": "bench", "text": "Chased",
             "details": {}},
        ]  # fmt: skip
        if not chased:
            events.pop()
        row: dict[str, Any] = {
            "external_ref": f"bench-{i}",
            "protocol": PROTOCOL,
            "child": f"C-{i:06d}",
            "category": "statutory",
            "summary": "No allocated social worker",
            "opened_on": on,
            "stage": "stage-1",
            "stage_started_on": on,
            "status": "open" if is_open else "resolved",
            "closed_on": "" if is_open else later,
            "outcome": "" if is_open else "Allocated",
        }
        if not is_open:
            events.append({"kind": "resolved", "on": later, "stage": "stage-1", "by": "bench",
                           "text": "Allocated", "details": {}})  # fmt: skip
        row["events"] = events
        yield row


def write(path: Path, data: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(data))
    return path


def write_each(path: Path, data: Iterable[dict[str, Any]]) -> Path:
    """A JSON array of ``data``, written a row at a time (400,000 rows held at once would
    take gigabytes)."""
    with path.open("w") as out:
        out.write("[")
        for i, row in enumerate(data):
            out.write((",\n" if i else "") + json.dumps(row))
        out.write("]")
    return path


def tasks(concerns: list[dict[str, Any]], seed: int = 1) -> list[dict[str, Any]]:
    """The same concerns as taskwarrior tasks, for the floor the import is timed against
    (`task import`): a task a concern, pending while the concern is open and completed once
    it is resolved, entered on its opening day with its deadline as the due date, and each
    of its events after the first as an annotation."""
    rng = random.Random(seed)

    def stamp(day: str) -> str:
        return day.replace("-", "") + "T090000Z"

    out = []
    for c in concerns:
        opened = dt.date.fromisoformat(c["opened_on"])
        task: dict[str, Any] = {
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "description": c["summary"],
            "status": "pending" if c["status"] == "open" else "completed",
            "entry": stamp(c["opened_on"]),
            "due": stamp((opened + dt.timedelta(days=28)).isoformat()),
            "project": f"{c['protocol']}.{c['stage']}",
            "tags": [c["category"]],
            "child": c["child"],
            "annotations": [
                {"entry": stamp(e["on"]), "description": e["text"]} for e in c["events"][1:]
            ],
        }
        if c["closed_on"]:
            task["end"] = stamp(c["closed_on"])
        out.append(task)
    return out
