"""Retention, legal holds and purge (issue 31 item 2).

* :func:`hold` / :func:`unhold`: a legal hold placed on a concern and lifted, recorded as
  events (``held``, ``hold-lifted``: the registry's rules, :mod:`drp_cli.domain.transitions`).
* :func:`judge`: what the council's schedule (the config's ``retention_years``,
  ``retention_by_route``, ``retention_by_role``: :mod:`drp_cli.domain.retention`) says is past
  its period on a day, and what is kept under a hold.
* :func:`purge`: removes those concerns, their events, items, attachment rows and the
  stored files no other concern refers to (and the subject access requests about a subject
  none of whose concerns is left), in one transaction with a tombstone in the chain;
  then rewrites the database so no copy of the removed text is left in it or its
  write-ahead log (:meth:`drp_cli.store.connection.Store.scrub`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drp_cli.core.errors import DatabaseError, InvalidInput, TransitionRefused, fld
from drp_cli.core.textsafe import clean_text
from drp_cli.domain import retention
from drp_cli.domain.lifecycle import HOLD, HOLD_LIFTED, replay
from drp_cli.domain.retention import Closed, Due, Schedule
from drp_cli.store import purgesql, sarsql

if TYPE_CHECKING:
    from drp_cli.domain.views import ConcernView
    from drp_cli.services.tracker import Tracker
    from drp_cli.store.connection import Conn


def schedule(values: Any = None) -> Schedule:
    """The council's schedule from the config (``values``: the settings, by key; default:
    the config file's). A malformed setting is an error naming it (exit 4)."""
    if values is None:
        from drp_cli.core import config

        values = config.load().values
    try:
        return retention.schedule(values)
    except InvalidInput as exc:
        raise DatabaseError(
            f"the retention schedule in the config: {exc.message}; set it with "
            "`drp config set KEY VALUE`"
        ) from None


def hold(tracker: Tracker, concern_id: int, *, reason: str, on: dt.date | str | None = None,
         by: str | None = None) -> ConcernView:  # fmt: skip
    """Place a legal hold on a concern (open or closed): never disposed of while held."""
    why = clean_text(reason, fld("reason"), required=True)
    return tracker.record_event(concern_id, HOLD, text=why, on=on, by=by,
                                action="place a legal hold on", allow_closed=True)  # fmt: skip


def unhold(tracker: Tracker, concern_id: int, *, reason: str, on: dt.date | str | None = None,
           by: str | None = None) -> ConcernView:  # fmt: skip
    """Lift a concern's legal hold, with the reason."""
    why = clean_text(reason, fld("reason"), required=True)
    return tracker.record_event(concern_id, HOLD_LIFTED, text=why, on=on, by=by,
                                action="lift the legal hold on", allow_closed=True)  # fmt: skip


def _closed(conn: Conn) -> tuple[list[Closed], set[int]]:
    """The closed concerns as the schedule reads them, and those of them held because a
    subject access request about their child is not yet answered (said so, not as a legal
    hold: `drp unhold` does not lift it, marking the request sent does)."""
    holds = purgesql.hold_facts(conn)
    out, awaiting = [], set()
    for r in purgesql.closed_concerns(conn):
        facts = holds.get(r["id"], [])
        state = replay(facts)
        if state.held and state.hold_reason == purgesql.REQUEST_HOLD:
            legal = replay([f for f in facts if not purgesql.is_request_hold(f)]).held
            if not legal:  # under a legal hold too: said as one (unhold comes first)
                awaiting.add(r["id"])
        out.append(Closed(r["id"], r["status"], r["closed_on"], r["route"], r["role"],
                          state.held))  # fmt: skip
    return out, awaiting


@dataclass
class Judged:
    """What is past its period on ``on``: due for disposal, and kept under a hold."""

    on: dt.date
    due: list[Due]
    held: list[Due]
    schedule: Schedule
    #: the held ones kept for a subject access request not yet answered
    awaiting: set[int] = field(default_factory=set)


def judge(
    tracker: Tracker, on: dt.date | str | None = None, plan: Schedule | None = None
) -> Judged:
    """What is past its retention period on ``on`` (default today) and not held."""
    day = tracker.judge_day(on)
    plan = plan if plan is not None else schedule()
    with tracker.store.read() as conn:
        closed, awaiting = _closed(conn)
        due, held = retention.due(plan, closed, day)
    return Judged(day, due, held, plan, awaiting)


@dataclass
class Purged:
    """What a purge removed (or, a dry run, would remove)."""

    on: dt.date
    concerns: list[Due]
    events: int = 0
    items: int = 0
    attachments: int = 0
    files: int = 0
    tombstone: int | None = None  # its chain position
    #: subject access requests about a subject none of whose concerns is left
    requests: int = 0
    dry_run: bool = False
    held: list[Due] = field(default_factory=list)
    #: the held ones kept for a subject access request not yet answered
    awaiting: set[int] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "dry_run": self.dry_run,
            "concerns": [d.to_dict() for d in self.concerns],
            "events": self.events,
            "items": self.items,
            "attachments": self.attachments,
            "files": self.files,
            "subject_access_requests": self.requests,
            "tombstone": self.tombstone,
        }


_AWAITING = (
    "concern {cid} is held: a subject access request about its child is not yet "
    "answered; it is not purged until the request is marked sent "
    "(`drp subject-access CHILD --sent DATE`)"
)


def _chosen(judged: Sequence[Due], held: Sequence[Due], closed: Sequence[Closed],
            ids: Sequence[int], plan: Schedule, on: dt.date,
            awaiting: set[int]) -> list[Due]:  # fmt: skip
    """The concerns ``ids`` among those due (all of them when none are named); a concern
    named that is held, or not past its period, is refused."""
    if not ids:
        return list(judged)
    by_id = {d.id: d for d in judged}
    kept = {d.id: d for d in held}
    rows = {c.id: c for c in closed}
    out = []
    for cid in dict.fromkeys(ids):
        if cid in by_id:
            out.append(by_id[cid])
            continue
        if cid in awaiting:
            raise TransitionRefused(_AWAITING.format(cid=cid))
        if cid in kept:
            raise TransitionRefused(
                f"concern {cid} is under a legal hold: it is not purged until the hold is "
                "lifted (`drp unhold`)"
            )
        c = rows.get(cid)
        found = retention.judged(plan, c) if c is not None else None
        if c is None:
            raise TransitionRefused(f"concern {cid} is not closed (or not there): only a closed "
                                    "concern past its retention period is purged")  # fmt: skip
        if c.held:
            raise TransitionRefused(
                f"concern {cid} is under a legal hold: it is not purged until the hold is "
                "lifted (`drp unhold`)"
            )
        if found is None:
            raise TransitionRefused(f"concern {cid}: no retention rule applies to it; it is kept")
        raise TransitionRefused(
            f"concern {cid} is not past its retention period on {on.isoformat()}: due for "
            f"disposal on {found.due_for_disposal_on.isoformat()} ({found.rule})"
        )
    return out


def purge(
    tracker: Tracker,
    *,
    on: dt.date | str,
    ids: Sequence[int] = (),
    by: str | None = None,
    dry_run: bool = False,
    plan: Schedule | None = None,
) -> Purged:
    """Remove the concerns past their period on ``on`` and not held (``ids``: only these,
    each of which must be), with a tombstone in the chain, then scrub the database and the
    stored files no other concern refers to. ``dry_run``: say what would go, change
    nothing."""
    from drp_cli.services.tracker import current_user

    day = tracker.judge_day(on)
    plan = plan if plan is not None else schedule()
    recorder = current_user(by)
    if dry_run:
        with tracker.store.read() as conn:
            closed, awaiting = _closed(conn)
            due, held = retention.due(plan, closed, day)
            chosen = _chosen(due, held, closed, ids, plan, day, awaiting)
            ids_ = [d.id for d in chosen]
            n = purgesql.counts(conn, ids_) if ids_ else {}
            files = purgesql.files_only_of(conn, ids_) if ids_ else []
            requests = purgesql.requests_only_of(conn, ids_) if ids_ else []
        return Purged(day, chosen, n.get("event", 0), n.get("item", 0),
                      n.get("attachment", 0), len(files), dry_run=True, held=held,
                      requests=len(requests), awaiting=awaiting)  # fmt: skip
    with tracker.unit_of_work() as uow:
        uow.lock_concerns()
        conn = uow.conn
        closed, awaiting = _closed(conn)
        due, held = retention.due(plan, closed, day)
        chosen = _chosen(due, held, closed, ids, plan, day, awaiting)
        result = Purged(day, chosen, held=held, awaiting=awaiting)
        if not chosen:
            return result
        gone = [d.id for d in chosen]
        n = purgesql.counts(conn, gone)
        files = purgesql.files_only_of(conn, gone)
        links = purgesql.event_links(conn, gone)
        requests = purgesql.requests_only_of(conn, gone)
        purgesql.secure_delete(conn)
        sarsql.remove_requests(conn, requests, tracker.key)
        purgesql.delete_concerns(conn, gone)
        fields = {
            "purged_on": day,
            "by": recorder,
            "recorded_at": uow.now,
            "detail": {
                **retention.tombstone_detail(chosen, n, len(files), links),
                "subject_access_requests": len(requests),
            },
        }
        chain = uow.link(lambda seq, prev: retention.tombstone_hash(fields, seq, prev))
        purgesql.add_tombstone(conn, {**fields, **chain})
        result.events, result.items = n["event"], n["item"]
        result.attachments, result.files = n["attachment"], len(files)
        result.requests = len(requests)
        result.tombstone = chain["chain_seq"]
    _remove_files(tracker, files)
    from drp_cli.services import scrub

    scrub.after(tracker.store, "the purge")
    return result


def _remove_files(tracker: Tracker, shas: Sequence[str]) -> None:
    """Remove purged concerns' stored files (after the purge is committed: a purge rolled
    back leaves them all)."""
    from drp_cli.store import filestore

    root, key = tracker.store.attachments_dir, tracker.store.encryption_key()
    for sha in shas:
        try:  # the encrypted copy, and any plain one left beside it
            filestore.remove_stored(root, sha, key)
        except OSError as exc:
            raise DatabaseError(
                f"the purge is recorded, but a stored file could not be removed: {exc.strerror}; "
                f"remove {exc.filename} by hand"
            ) from None


__all__ = ["Judged", "Purged", "hold", "judge", "purge", "schedule", "unhold"]
