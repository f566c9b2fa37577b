"""`make bench`: whole-process timings against databases of 1,000 to 100,000 concerns,
beside the floors of the stack, written to bench/RESULTS.md. Never part of `make test`.

Databases: 1,000 / 10,000 / 100,000 concerns with about 5 events each, 1% open and a tenth
of those overdue (a realistic service), and a pathological 100,000 with half open and all of
those overdue. Each command runs several times; the median and the minimum are reported.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from data import TODAY, rows, write

from drp_cli.calendar import WorkingCalendar

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
RUNS = int(os.environ.get("DRP_BENCH_RUNS", "7"))
SIZES = [int(n) for n in os.environ.get("DRP_BENCH_SIZES", "1000,10000,100000").split(",")]
ON = TODAY.isoformat()


def timed(argv: list[str], env: dict[str, str], runs: int = RUNS,
          before: Callable[[], None] | None = None) -> tuple[float, float]:  # fmt: skip
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)  # fmt: skip
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def interleaved(
    runs: list[tuple[list[str], dict[str, str], Callable[[], None] | None]], rounds: int = RUNS
) -> list[tuple[float, float]]:
    """Median and minimum of each command, run in turn ``rounds`` times."""
    samples: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for i, (argv, env, before) in enumerate(runs):
            if before is not None:
                before()
            start = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)  # fmt: skip
            samples[i].append(time.perf_counter() - start)
    return [(statistics.median(s), min(s)) for s in samples]


PLAIN_OVERDUE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
rows = conn.execute(
    "SELECT id, child, stage, deadline FROM concern WHERE status = 'open' "
    "AND (deadline < ? OR formal_deadline < ?) ORDER BY deadline, id", (sys.argv[2], sys.argv[2]))
out = sys.stdout
for r in rows:
    out.write(f"{r[0]}\\t{r[1]}\\t{r[2]}\\t{r[3]}\\n")
"""


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="drp-bench-"))
    # byte-compile the package first, as pip does when it installs the wheel: the editable
    # install in .venv has no .pyc files, and PYTHONDONTWRITEBYTECODE (set on some machines)
    # would make every run compile drp_cli's sources again
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "drp_cli")], check=True)
    base = {**os.environ, "DRP_USER": "bench", "DRP_PROTOCOLS": str(work / "none"),
            "COLUMNS": "120", "NO_COLOR": "1"}  # fmt: skip
    drp = [PY, "-m", "drp_cli"]
    results: list[tuple[str, str, float, float]] = []

    def record(group: str, name: str, value: tuple[float, float]) -> tuple[float, float]:
        results.append((group, name, *value))
        print(f"{group:<14} {name:<52} median {value[0]:8.3f}s  min {value[1]:8.3f}s", flush=True)
        return value

    # the floors and the start-up commands, interleaved
    completion = {**base, "_DRP_COMPLETE": "complete_bash", "COMP_WORDS": "drp overdue --w",
                  "COMP_CWORD": "2"}  # fmt: skip
    startup = interleaved(
        [
            ([PY, "-c", "pass"], base, None),
            ([PY, "-c", "import typer"], base, None),
            ([PY, "-c", "import typer, rich, sqlmodel, holidays, jinja2"], base, None),
            ([*drp, "--version"], base, None),
            ([*drp, "--help"], base, None),
            ([*drp, "overdue", "--help"], base, None),
            (drp, completion, None),
        ]
    )
    floor_pass = record("floor", "python -c pass", startup[0])
    floor_typer = record("floor", "python -c 'import typer'", startup[1])
    floor_stack = record(
        "floor", "python -c 'import typer, rich, sqlmodel, holidays, jinja2'", startup[2]
    )
    version = record("startup", "drp --version", startup[3])
    helps = record("startup", "drp --help", startup[4])
    cmd_help = record("startup", "drp overdue --help", startup[5])
    complete = record("startup", "shell completion (drp overdue --w<TAB>, bash)", startup[6])

    # working-day arithmetic, in-process
    cal = WorkingCalendar()
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=i % 3000) for i in range(100_000)]
    cal.add(days[0], 1)
    cal.add(dt.date(2029, 12, 1), 60)
    start = time.perf_counter()
    for d in days:
        cal.add(d, 10)
    arithmetic = time.perf_counter() - start
    results.append(("in-process", "100,000 deadline computations", arithmetic, arithmetic))
    print(f"in-process     100,000 deadline computations {arithmetic:.3f}s", flush=True)

    # build every database first, then time each command on all sizes in interleaved
    # rounds, so that the machine's drift falls on every size alike
    envs: dict[int, dict[str, str]] = {}
    import_100k = None
    for n in SIZES:
        data = write(work / f"{n}.json", rows(n, open_share=0.01, overdue_share=0.1))
        db = work / f"{n}.sqlite3"
        env = envs[n] = {**base, "DRP_DB": str(db)}
        start = time.perf_counter()
        subprocess.run([*drp, "import", str(data), "--by", "bench"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        took = time.perf_counter() - start
        record(f"{n:,} db", f"drp import ({n:,} rows, ~5 events each), once", (took, took))
        if n == 100_000:
            import_100k = took
    open_id = "1"
    out = work / "bundle"

    def clear(out: Path = out) -> None:
        shutil.rmtree(out, ignore_errors=True)

    opening = ["open", "--protocol", "knowsley", "--child", "B-1", "--category", "general",
               "--summary", "bench"]  # fmt: skip
    commands: list[tuple[str, str, list[str], Callable[[], None] | None]] = [
        ("overdue", "drp overdue", ["overdue"], None),
        ("list", "drp list --status open", ["list", "--status", "open"], None),
        ("show", "drp show ID", ["show", open_id], None),
        ("open", "drp open", opening, None),
        ("escalate", "drp escalate (refused after the last stage)", ["escalate", open_id], None),
        ("bundle", "drp bundle", ["bundle", open_id, "-o", str(out)], clear),
    ]
    per_size: dict[int, dict[str, tuple[float, float]]] = {n: {} for n in SIZES}
    for key, _name, argv, before in commands:
        runs = [([*drp, *argv, "--on", ON], envs[n], before) for n in SIZES]
        for n, value in zip(SIZES, interleaved(runs), strict=True):
            per_size[n][key] = value
    for n in SIZES:
        for key, name, _, _ in commands:
            record(f"{n:,} db", name, per_size[n][key])
    largest = max(SIZES)
    per_size[largest]["plain"] = record(
        f"{largest:,} db",
        "floor: python + sqlite3 overdue query",
        timed([PY, "-c", PLAIN_OVERDUE, envs[largest]["DRP_DB"], ON], base),
    )

    # the pathological case: half of 100,000 open and overdue
    n = max(SIZES)
    data = write(work / "patho.json", rows(n, open_share=0.5, overdue_share=1.0))
    db = work / "patho.sqlite3"
    env = {**base, "DRP_DB": str(db)}
    subprocess.run([*drp, "import", str(data), "--by", "bench"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    heavy = max(1, RUNS // 2)
    table_t, json_t, plain_t = interleaved(
        [
            ([*drp, "overdue", "--on", ON], env, None),
            ([*drp, "overdue", "--on", ON, "--json"], env, None),
            ([PY, "-c", PLAIN_OVERDUE, str(db), ON], env, None),
        ],
        heavy,
    )
    p_table = record("pathological", f"drp overdue ({n // 2:,} rows, table)", table_t)
    p_json = record("pathological", f"drp overdue --json ({n // 2:,} rows)", json_t)
    p_plain = record("pathological", f"floor: python + sqlite3 printing {n // 2:,} rows", plain_t)
    shutil.rmtree(work, ignore_errors=True)

    small, large = per_size[min(SIZES)], per_size[max(SIZES)]
    targets = [
        ("drp --version <= 3x python -c pass", version[0] / floor_pass[0], 3.0),
        ("drp --help <= 1.3x import typer", helps[0] / floor_typer[0], 1.3),
        ("drp overdue --help <= 1.3x import typer", cmd_help[0] / floor_typer[0], 1.3),
        ("shell completion <= 1.3x import typer", complete[0] / floor_typer[0], 1.3),
        (
            f"overdue {max(SIZES):,} vs {min(SIZES):,} <= 1.2x",
            large["overdue"][0] / small["overdue"][0],
            1.2,
        ),
        (
            f"list --status open {max(SIZES):,} vs {min(SIZES):,} <= 1.2x",
            large["list"][0] / small["list"][0],
            1.2,
        ),
        ("overdue <= 1.5x import floor of the stack", large["overdue"][0] / floor_stack[0], 1.5),
        ("list --status open <= 1.5x import floor", large["list"][0] / floor_stack[0], 1.5),
        ("pathological overdue (table) <= 3x plain sqlite3", p_table[0] / p_plain[0], 3.0),
        ("pathological overdue --json <= 3x plain sqlite3", p_json[0] / p_plain[0], 3.0),
    ]
    if import_100k is not None:
        targets.append(("import 100,000 rows < 20 s", import_100k / 20.0, 1.0))
    targets.append(("100,000 deadline computations < 0.2 s", arithmetic / 0.2, 1.0))
    write_results(results, targets)


def write_results(results: list[tuple[str, str, float, float]],
                  targets: list[tuple[str, float, float]]) -> None:  # fmt: skip
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown"
    lines = [
        "# Benchmark results",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `make bench` on {platform.node()}: "
        f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
        f"{platform.system()} {platform.release()}. {RUNS} runs per command (fewer for the "
        "pathological case), the sizes' runs interleaved; times are whole processes, wall "
        "clock, with drp_cli byte-compiled as an installed wheel is.",
        "",
        "## Timings",
        "",
        "| group | command | median (s) | min (s) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {g} | {name} | {med:.3f} | {low:.3f} |" for g, name, med, low in results]
    lines += [
        "",
        "## Targets",
        "",
        "| target | measured ratio | limit | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {ratio:.2f} | {limit:.2f} | {'yes' if ratio <= limit else '**no**'} |"
        for name, ratio, limit in targets
    ]
    path = Path(__file__).parent / "RESULTS.md"
    notes = path.parent / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
