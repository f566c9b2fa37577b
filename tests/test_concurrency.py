"""Several writers at once, and writers killed mid-stream: nothing lost, nothing doubled,
the database intact and the record unbroken."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from drp_cli.core.errors import DrpError, TransitionRefused
from drp_cli.services.tracker import Tracker

D = dt.date(2025, 3, 3)


def check_integrity(target: str) -> None:
    """SQLite's own integrity check (PostgreSQL's storage is checked by the server)."""
    if "://" not in target:
        with sqlite3.connect(target) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


PROCESSES = 8
OPERATIONS = 50


def worker(db: str, seed: int, out: str) -> None:
    rng = random.Random(seed)
    t = Tracker(db)
    results = []
    for _ in range(OPERATIONS):
        ids = [c.id for c in t.concerns(status="all", with_events=False)]
        op = rng.choices(["open", "escalate", "respond", "resolve"], [2, 4, 3, 1])[0]
        target = rng.choice(ids)
        try:
            if op == "open":
                target = t.open(protocol="sbc-fciro", child=f"C-{seed}", category="general",
                                summary="x", on=D, by=f"w{seed}").id  # fmt: skip
            elif op == "escalate":
                t.escalate(target, on=D, by=f"w{seed}")
            elif op == "respond":
                t.respond(target, text="r", on=D, by=f"w{seed}")
            else:
                t.resolve(target, outcome="done", on=D, by=f"w{seed}")
            results.append(["ok", op, target])
        except TransitionRefused:
            results.append(["refused", op, target])
        except DrpError as exc:  # busy, or anything else: reported, counted as not written
            results.append(["error", op, str(exc)])
    Path(out).write_text(json.dumps(results))


def test_eight_writers(db_target, sql, tmp_path):
    t = Tracker(db_target)
    for i in range(10):
        t.open(protocol="sbc-fciro", child=f"seed-{i}", category="general", summary="x", on=D)
    ctx = multiprocessing.get_context("fork")
    outs = [tmp_path / f"w{i}.json" for i in range(PROCESSES)]
    procs = [
        ctx.Process(target=worker, args=(db_target, i, str(outs[i]))) for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    results = [r for out in outs for r in json.loads(out.read_text())]
    assert len(results) == PROCESSES * OPERATIONS
    assert [r for r in results if r[0] == "error"] == []
    ok = [r for r in results if r[0] == "ok"]
    check_integrity(db_target)
    events = sql("SELECT count(*) FROM event")[0][0]
    per_concern = dict(sql("SELECT concern_id, count(*) FROM event GROUP BY 1"))
    counts = dict(sql("SELECT id, event_count FROM concern"))
    seqs = sql(
        "SELECT count(*) FROM (SELECT concern_id, seq FROM event GROUP BY 1, 2 "
        "HAVING count(*) > 1) AS doubled"
    )[0][0]
    assert events == 10 + len(ok)  # every success wrote exactly one event; no lost writes
    assert per_concern == counts
    assert seqs == 0
    report = Tracker(db_target).verify()
    assert report.ok, report.problems  # every concern's stage matches its events
    # sbc-fciro has 5 stages: no concern can have been escalated more than 4 times
    escalations: dict[int, int] = {}
    for r in ok:
        if r[1] == "escalate":
            escalations[r[2]] = escalations.get(r[2], 0) + 1
    assert max(escalations.values()) <= 4


WRITER = """
import datetime as dt, sys
from drp_cli.services.tracker import Tracker
t = Tracker(sys.argv[1])
i = 0
while True:
    c = t.open(protocol="knowsley", child="K", category="general", summary="x",
               on=dt.date(2025, 3, 3))
    t.escalate(c.id, on=dt.date(2025, 3, 4))
    print(c.id, flush=True)
"""


def test_killed_writers_lose_nothing_that_was_reported(db_target, sql):
    Tracker(db_target).store.create()  # opening creates nothing; the first write would
    reported: list[int] = []
    rng = random.Random(7)
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, db_target],
            stdout=subprocess.PIPE, text=True, env={**os.environ},
        )  # fmt: skip
        assert proc.stdout is not None
        first = proc.stdout.readline()  # it is writing
        reported.append(int(first))
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate()
        reported += [int(x) for x in rest.split()]
    check_integrity(db_target)
    present = {r[0] for r in sql("SELECT id FROM concern")}
    escalated = {r[0] for r in sql("SELECT concern_id FROM event WHERE kind = 'escalated'")}
    assert set(reported) <= present
    assert set(reported) <= escalated
    report = Tracker(db_target).verify()
    assert report.ok, report.problems


FIRST_WRITER = """
import sys
sys.argv = ["drp", "--db", sys.argv[1], "open", "--protocol", "knowsley", "--child", sys.argv[2],
            "--category", "general", "--summary", "x", "--on", "2025-03-03"]
from drp_cli.__main__ import main
main()
"""


def first_writers(target: str, label: str, n: int = 6) -> None:
    """``n`` processes record at once into a database that is not there yet: all succeed,
    the schema is made once, and exactly one of them says it created the database."""
    procs = [
        subprocess.Popen([sys.executable, "-c", FIRST_WRITER, target, f"C-{i}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(n)
    ]  # fmt: skip
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [err for _, err in outs]
    said = [err for _, err in outs if err]
    assert said == [f"Created a new drp database at {label}\n"]
    t = Tracker(target)
    assert sorted(c.child for c in t.concerns()) == [f"C-{i}" for i in range(n)]
    assert t.verify().ok
    t.store.close()


def test_first_writers_at_once_on_sqlite(tmp_path):
    target = tmp_path / "new" / "drp.sqlite3"
    first_writers(str(target), str(target))
    check_integrity(str(target))


def test_first_writers_at_once_on_postgresql():
    from sqlalchemy import create_engine, make_url, text

    from tests.conftest import PG_SERVER

    if not PG_SERVER:
        import pytest

        pytest.skip("needs DRP_TEST_PG_SERVER")
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    name = f"drp_first_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(PG_SERVER).set(database=name)
    try:
        first_writers(url.render_as_string(False), url.render_as_string(hide_password=True))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
