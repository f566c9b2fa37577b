"""Benchmarks (`make bench`; never part of `make test`).

A first cut: working-day arithmetic in-process, and whole `drp` processes against a
database of N concerns. The full benchmark (100,000-concern databases, floors, RESULTS.md)
is the "drp at scale" issue.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from drp_cli.calendar import WorkingCalendar
from drp_cli.tracker import Tracker


def timed(fn: object, runs: int = 5) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def calendar_bench() -> None:
    cal = WorkingCalendar()
    start = dt.date(2020, 1, 1)
    days = [start + dt.timedelta(days=i % 3000) for i in range(100_000)]
    cal.add(start, 1)
    cal.add(dt.date(2028, 12, 31), 30)

    def run() -> None:
        for d in days:
            cal.add(d, 10)

    med, low = timed(run)
    print(f"100,000 deadline computations: median {med:.3f}s, min {low:.3f}s")


def process_bench(n: int) -> None:
    folder = Path(tempfile.mkdtemp())
    db = folder / "bench.sqlite3"
    t = Tracker(db)
    for i in range(n):
        c = t.open(
            protocol="knowsley", child=f"C-{i}", category="general", summary="bench",
            on=dt.date(2024, 1, 1) + dt.timedelta(days=i % 300),
        )  # fmt: skip
        if i % 100:
            t.resolve(c.id, outcome="done", on=c.opened_on + dt.timedelta(days=3))
    env = {**os.environ, "DRP_DB": str(db), "DRP_USER": "bench"}
    drp = [sys.executable, "-m", "drp_cli"]
    for args in (["--version"], ["--help"], ["overdue", "--on", "2025-01-01"], ["list"]):

        def run(args: list[str] = args) -> None:
            subprocess.run(drp + args, env=env, capture_output=True, check=False)

        med, low = timed(run)
        print(f"{n:>6} concerns  drp {' '.join(args):<28} median {med:.3f}s  min {low:.3f}s")


if __name__ == "__main__":
    calendar_bench()
    process_bench(1000)
