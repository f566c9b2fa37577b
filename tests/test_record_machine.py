"""A hypothesis state machine over the event log: any sequence of open, escalate, bypass,
respond, note, refer, voice, resolve, withdraw, closure changes and import leaves every stored
row equal to the fold of its events (`verify` passes), and `drp overdue` equal to a
brute-force count worked out here from the events with a day-by-day calendar (not drp's)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

import holidays
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from drp_cli.core.errors import DrpError
from drp_cli.domain.protocols import registry
from drp_cli.exchange import transfer
from drp_cli.services import corrections
from drp_cli.services.tracker import Tracker

D = dt.date
TODAY = D(2026, 6, 30)
PROTOCOLS = ("knowsley", "west-sussex", "nottinghamshire-2016")
ENGLAND = holidays.country_holidays("GB", subdiv="ENG", years=range(2024, 2028))

pytestmark = pytest.mark.skipif(
    os.environ.get("DRP_TEST_ENGINE") == "postgresql", reason="runs on a SQLite file"
)


def working(day: D, closed: set[D]) -> bool:
    return day.weekday() < 5 and day not in ENGLAND and day not in closed


def naive_add(day: D, n: int, closed: set[D]) -> D:
    while n:
        day += dt.timedelta(days=1)
        if working(day, closed):
            n -= 1
    return day


def brute_overdue(t: Tracker, on: D) -> list[int]:
    """Open concerns with a firm deadline past on ``on``, from the events: the stage's (an aim
    never counts; a stage counted from a step the machine never records has none yet), a
    step of the stage with its own firm clock, and the whole-process limit where it is firm
    and applies to the concern's role."""
    closed = {c.day for c in t.closures()}
    late = []
    for c in t.concerns(status="all"):
        retracted = {e.details["seq"] for e in c.events if e.kind == "retracted"}
        events = sorted((e for e in c.events if e.seq not in retracted), key=lambda e: e.seq)
        closings = [e.kind for e in events if e.kind in ("resolved", "withdrawn", "reopened")]
        if closings and closings[-1] != "reopened":
            continue
        proto = registry().get(c.protocol)
        entries = [e for e in events
                   if e.kind in ("opened", "imported", "escalated", "reopened")]  # fmt: skip
        current = entries[-1]
        due = current.details.get("due")
        stage = proto.stage(current.stage)
        firm: list[D | None] = []
        if stage.kind != "aim":
            firm.append(D.fromisoformat(due) if due else (
                naive_add(current.on, stage.timescale_working_days, closed)
                if stage.timescale_working_days and stage.timescale_from == "stage" else None
            ))  # fmt: skip
        opening = len(entries) == 1
        for s in proto.steps_at(current.stage, c.route, opening=opening):
            if s.kind != "firm" or s.after not in ("stage", "escalation") or s.optional:
                continue
            if s.within_working_days:
                firm.append(naive_add(current.on, s.within_working_days, closed))
            elif s.within_calendar_days:  # whatever the day
                firm.append(current.on + dt.timedelta(days=s.within_calendar_days))
            elif s.within_hours:  # as whole days: 24 hours of Friday is Saturday
                firm.append(current.on + dt.timedelta(days=-(-s.within_hours // 24)))
        formal_start = next((e.on for e in entries if e.kind != "reopened"
                             and proto.stage(e.stage).formal), None)  # fmt: skip
        if formal_start and proto.cap_kind == "firm" and proto.cap_applies(c.role):
            firm.append(naive_add(formal_start, proto.formal_cap_working_days or 0, closed))
        if any(d is not None and d < on and any(
            working(d + dt.timedelta(days=k), closed) for k in range(1, (on - d).days + 1)
        ) for d in firm):  # fmt: skip
            late.append(c.id)
    return sorted(late)


class Record(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="drp-machine-")
        self.t = Tracker(Path(self.dir) / "drp.sqlite3", clock=lambda: TODAY)
        self.day = D(2025, 1, 6)
        self.ids: list[int] = []
        self.imports = 0

    def teardown(self) -> None:
        self.t.store.close()
        # each example's own folder, removed with it: in a checkout too deep for the suite's
        # short temporary folder (tests/conftest.py), mkdtemp falls back to the system's
        shutil.rmtree(self.dir, ignore_errors=True)

    def next_day(self, step: int) -> D:
        self.day = min(self.day + dt.timedelta(days=step), TODAY)
        return self.day

    def attempt(self, action) -> None:
        # refused by the rules: nothing may have been written (the invariants check it)
        with contextlib.suppress(DrpError):
            action()

    @rule(protocol=st.sampled_from(PROTOCOLS), bypass=st.booleans(), step=st.integers(0, 3))
    def open(self, protocol: str, bypass: bool, step: int) -> None:
        proto = registry().get(protocol)
        stage = proto.stage_slugs[-1] if bypass else None
        c = self.t.open(protocol=protocol, child=f"C-{len(self.ids)}", category="general",
                        summary="s", stage=stage, on=self.next_day(step))  # fmt: skip
        self.ids.append(c.id)

    @precondition(lambda self: self.ids)
    @rule(i=st.integers(0, 50), step=st.integers(0, 6), last=st.booleans(),
          due=st.booleans())  # fmt: skip
    def escalate(self, i: int, step: int, last: bool, due: bool) -> None:
        cid = self.ids[i % len(self.ids)]
        c = self.t.get(cid)
        to = registry().get(c.protocol).stage_slugs[-1] if last else None
        day = self.next_day(step)
        self.attempt(
            lambda: self.t.escalate(
                cid, to=to, on=day, due=day + dt.timedelta(days=1) if due else None
            )
        )

    @precondition(lambda self: self.ids)
    @rule(i=st.integers(0, 50), step=st.integers(0, 4),
          kind=st.sampled_from(["respond", "note", "refer", "wishes-sought", "told-outcome",
                                "resolve", "withdraw"]))  # fmt: skip
    def event(self, i: int, step: int, kind: str) -> None:
        cid = self.ids[i % len(self.ids)]
        day = self.next_day(step)
        t = self.t
        actions = {
            "respond": lambda: t.respond(cid, text="r", on=day),
            "note": lambda: t.note(cid, text="n", on=day),
            "refer": lambda: t.refer(cid, text="why", on=day),
            "wishes-sought": lambda: t.record_voice(cid, "wishes-sought", on=day),
            "told-outcome": lambda: t.record_voice(cid, "told-outcome", on=day),
            "resolve": lambda: t.resolve(cid, outcome="done", on=day),
            "withdraw": lambda: t.withdraw(cid, reason="gone", on=day),
        }
        self.attempt(actions[kind])

    @precondition(lambda self: self.ids)
    @rule(i=st.integers(0, 50), seq=st.integers(1, 8), step=st.integers(0, 3))
    def retract(self, i: int, seq: int, step: int) -> None:
        cid = self.ids[i % len(self.ids)]
        day = self.next_day(step)
        self.attempt(lambda: corrections.retract(self.t, cid, seq, reason="error", on=day))

    @precondition(lambda self: self.ids)
    @rule(i=st.integers(0, 50), step=st.integers(0, 3))
    def reopen(self, i: int, step: int) -> None:
        cid = self.ids[i % len(self.ids)]
        day = self.next_day(step)
        self.attempt(lambda: corrections.reopen(self.t, cid, reason="again", on=day))

    @rule(offset=st.integers(0, 120))
    def close_a_day(self, offset: int) -> None:
        day = D(2025, 1, 6) + dt.timedelta(days=offset)
        self.attempt(lambda: self.t.add_closures(day, reason="closed"))

    @precondition(lambda self: self.t.closures())
    @rule(i=st.integers(0, 50))
    def reopen_a_day(self, i: int) -> None:
        days = self.t.closures()
        self.t.remove_closure(days[i % len(days)].day)

    @rule(status=st.sampled_from(["open", "resolved"]), step=st.integers(0, 3))
    def import_a_row(self, status: str, step: int) -> None:
        day = self.next_day(step)
        self.imports += 1
        row = {"protocol": "knowsley", "child": f"IM-{self.imports}", "category": "service",
               "summary": "imported", "opened_on": day.isoformat(), "stage": "stage-2",
               "stage_started_on": day.isoformat(), "status": status,
               "closed_on": day.isoformat() if status == "resolved" else "",
               "outcome": "done" if status == "resolved" else ""}  # fmt: skip
        path = Path(self.dir) / f"import-{self.imports}.json"
        path.write_text(json.dumps([row]))
        result = transfer.import_file(self.t, path)
        self.ids += result.ids

    @invariant()
    def rows_equal_the_fold(self) -> None:
        if not self.ids:
            return
        report = self.t.verify()
        assert report.ok, report.problems

    @invariant()
    def overdue_equals_brute_force(self) -> None:
        if not self.ids:
            return
        on = min(self.day + dt.timedelta(days=10), TODAY)
        items = self.t.overdue(on=on)
        fast = sorted({i.id for i in items if i.state == "overdue"})  # a line per clock
        assert fast == brute_overdue(self.t, on)


Record.TestCase.settings = settings(
    max_examples=25, stateful_step_count=15, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
TestRecord = Record.TestCase
