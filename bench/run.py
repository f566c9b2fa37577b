"""`make bench`: whole-process timings of drp's commands, written to bench/RESULTS.md.

Never part of `make test`. Every ratio compares medians of runs interleaved in the same
rounds, so the machine's drift falls on both sides of it:

- start-up (`--version`, `--help`, `overdue --help`, completion) beside `python -c pass`
  and `python -c "import typer"`, in 3 x DRP_BENCH_RUNS rounds (they are cheap);
- every everyday command on every SQLite database (1,000 / 10,000 / 100,000 concerns by
  default, DRP_BENCH_SIZES), with `python -c "import typer"` run before each command in
  each round, in DRP_BENCH_RUNS rounds;
- the pathological daily check (half of 100,000 open and overdue) beside plain sqlite3;
- the same commands on a throw-away PostgreSQL server with 1,000 concerns (no targets).

A timed command that drp refuses (an unexpected exit status) is counted and reported: it
would time an error message, not the command. Each round therefore escalates, answers,
notes, refers and resolves a different open concern at its first stage (see bench/data.py
for the databases' shape). Where a target is missed, the command is run once under cProfile
and the top of the table is written under the target.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import hashlib
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).parent))

import report_bench
from data import PROTOCOL, TODAY, each_row, rows, tasks, write, write_each

from drp_cli.domain.calendar import WorkingCalendar

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
#: drp as an IRO types it: the command pip installs beside this python (`python -m drp_cli`
#: would time Python's runpy too, 17 M instructions that `drp` does not run)
DRP = [str(Path(PY).parent / "drp")]
TYPER = [PY, "-c", "import typer"]
#: rounds of the commands: 21, as the medians of 9 moved by up to 15% from run to run on a
#: quiet 2-core machine (2026-12-07) and the whole bench then took 6 minutes
RUNS = int(os.environ.get("DRP_BENCH_RUNS", "21"))
SIZES = [int(n) for n in os.environ.get("DRP_BENCH_SIZES", "1000,10000,100000").split(",")]
PG_SIZE = 1000
PG_PORT = os.environ.get("DRP_BENCH_PG_PORT", "54339")  # not the test suite's 54329
ON = TODAY.isoformat()
PROFILE_LINES = 15

#: Issue 32's targets ("as fast as the floor allows"), each a ratio of medians.
EVERYDAY_LIMIT = 2.0  # an everyday command / import typer, on 1,000 and on 100,000
SIZES_LIMIT = 1.2  # a command on 100,000 / the same on 1,000
DOCUMENTS_LIMIT = 4.0  # alert and bundle / import typer (kept from issue 14)
OVERDUE_LIMIT = 1.3  # drp overdue / import typer, on 1,000 and on 100,000
VERSION_LIMIT = 1.36  # drp --version / python -c pass (wave 1's ratio)
HELP_LIMIT = 1.12  # drp --help / import typer (wave 1's ratio, kept)
CMD_HELP_LIMIT = 1.06  # drp overdue --help / import typer (wave 1's ratio)
COMPLETION_LIMIT = 1.18  # shell completion / import typer (wave 1's ratio)
PATHO_LIMIT = 3.0  # the pathological morning check / plain sqlite3
IMPORT_LIMIT = 0.85  # drp import of 100,000 / taskwarrior's import, same rounds

#: Each target's ratio in the run issue 32 was filed after (the committed bench/RESULTS.md
#: of 2026-12-06 19:59 UTC, commit 705da91, this machine): the "before" column.
BEFORE = "bench/RESULTS.md of 2026-12-06 19:59 UTC (commit 705da91), on this machine"
BEFORE_RATIOS: dict[str, float] = {
    **{f"{k}@small": v for k, v in [("open", 2.76), ("escalate", 2.45), ("respond", 2.39),
       ("note", 1.99), ("refer", 2.05), ("resolve", 2.21), ("show", 2.85), ("list", 2.40),
       ("alert", 3.59), ("bundle", 3.13), ("overdue", 1.38)]},
    **{f"{k}@large": v for k, v in [("open", 2.35), ("escalate", 2.16), ("respond", 2.11),
       ("note", 2.03), ("refer", 2.28), ("resolve", 2.31), ("show", 2.72), ("list", 3.79),
       ("alert", 3.40), ("bundle", 3.26), ("overdue", 1.80)]},
    **{f"{k}@sizes": v for k, v in [("open", 0.85), ("escalate", 0.88), ("respond", 0.88),
       ("note", 1.02), ("refer", 1.11), ("resolve", 1.05), ("show", 0.95), ("list", 1.58),
       ("overdue", 1.31)]},
    "version": 1.38, "help": 1.16, "cmd_help": 1.18, "completion": 1.17,
    "patho_table": 7.20, "patho_json": 5.91, "import_task": 1.10, "import_mb": 0.32,
    "report": 0.99,
}  # fmt: skip

EVERYDAY = ["open", "escalate", "respond", "note", "refer", "resolve", "show", "list"]
DOCUMENTS = ["alert", "bundle"]


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)
    #: CPU seconds (user + system, the process and every helper it waited for) of each
    #: sample, where measured: what a loaded machine does not inflate as it does wall time
    cpu: list[float] = field(default_factory=list)
    refused: int = 0
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)


# one timed run: a key to file it under, the argv, the environment, accepted exit statuses
Step = tuple[str, list[str], dict[str, str], tuple[int, ...]]


def interleave(plan: Callable[[int], list[Step]], rounds: int) -> dict[str, Timing]:
    """Run ``plan(r)`` for r in range(rounds), one process after another; time each."""
    out: dict[str, Timing] = {}
    for r in range(rounds):
        for key, argv, env, ok in plan(r):
            start = time.perf_counter()
            proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, check=False)  # fmt: skip
            took = time.perf_counter() - start
            timing = out.setdefault(key, Timing())
            timing.samples.append(took)
            if proc.returncode not in ok:
                timing.refused += 1
                if not timing.error:
                    err = proc.stderr.decode(errors="replace").strip().splitlines()
                    timing.error = f"exit {proc.returncode}: {err[-1] if err else ''}"
                    print(f"  refused: {key}: {timing.error}", file=sys.stderr, flush=True)
    return out


def where(file: str, line: int, func: str) -> str:
    """A profile row's function, with its path from site-packages or the repository."""
    for cut in ("site-packages/", f"{ROOT}/", f"{sysconfig.get_paths()['stdlib']}/"):
        if cut in file:
            file = file.split(cut, 1)[1]
    return f"{file}:{line}({func})" if line else func


def nested(file: str, func: str) -> bool:
    """Rows that only nest the others: Python's import machinery, runpy and exec, and the
    dispatch from drp's entry point through click (vendored in typer) down to drp's command.
    Their imports stay."""
    if file.startswith("<frozen") or file == "<string>":
        return True
    if func in ("<built-in method builtins.exec>", "<built-in method builtins.__import__>"):
        return True
    if file.endswith("drp_cli/__main__.py"):
        return True
    if file.endswith("drp_cli/cli/app.py") and func in ("main", "invoke", "_invoke"):
        return True
    return "/typer/" in file and func != "<module>"


def profile_top(stats: pstats.Stats) -> str:
    """The top PROFILE_LINES rows by cumulative time, the nesting rows left out."""
    table = stats.stats  # type: ignore[attr-defined]
    total = sum(nc for _, nc, _, _, _ in table.values())
    took = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(table.items(), key=lambda item: item[1][3], reverse=True)
    lines = [f"{total} function calls in {took:.3f} seconds", "",
             "  ncalls  tottime  cumtime  function"]  # fmt: skip
    shown = 0
    for (file, line, func), (cc, nc, tt, ct, _) in rows:
        if nested(file, func):
            continue
        calls = f"{nc}/{cc}" if nc != cc else str(nc)
        lines.append(f"{calls:>8} {tt:8.3f} {ct:8.3f}  {where(file, line, func)}")
        shown += 1
        if shown == PROFILE_LINES:
            break
    return "\n".join(lines)


def profile_command(args: list[str], env: dict[str, str]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "prof"
        argv = [PY, "-m", "cProfile", "-o", str(out), "-m", "drp_cli", *args]
        subprocess.run(argv, env=env, capture_output=True, check=False)
        if not out.exists():
            return "(no profile written)"
        top = profile_top(pstats.Stats(str(out)))
    shown = " ".join(["python -m cProfile -o PROF -m drp_cli", *args])
    return f"$ {shown}   # then PROF sorted by cumtime\n{top}"


def import_profile(args: list[str], env: dict[str, str], runs: int = 3) -> str:
    """What ``drp ARGS`` imports beyond ``python -c "import typer"`` (``python -X
    importtime``): each module's own time, the least of ``runs`` runs, the largest first,
    and the totals by top-level package."""

    def own_times(argv: list[str]) -> dict[str, int]:
        proc = subprocess.run([PY, "-X", "importtime", *argv], env=env, capture_output=True,
                              text=True, check=False)  # fmt: skip
        found = {}
        for line in proc.stderr.splitlines():
            head, _, rest = line.partition("|")
            us = head.removeprefix("import time:").strip()
            if us.isdigit() and "|" in rest:
                found[rest.split("|", 1)[1].strip()] = int(us)
        return found

    floor = own_times(["-c", "import typer"])
    seen = [own_times(["-m", "drp_cli", *args]) for _ in range(runs)]
    extra = {m: min(r.get(m, us) for r in seen) for m, us in seen[0].items() if m not in floor}
    packages: dict[str, int] = {}
    for module, us in extra.items():
        packages[module.split(".")[0]] = packages.get(module.split(".")[0], 0) + us
    lines = [f"$ python -X importtime -m drp_cli {' '.join(args)}   # beside import typer",
             f"{len(extra)} modules beyond `import typer`, {sum(extra.values()) / 1000:.1f} ms "
             "of their own time (least of 3 runs); by package: "
             + ", ".join(f"{k} {v / 1000:.1f}" for k, v in
                         sorted(packages.items(), key=lambda kv: -kv[1])[:8]),
             "", "      ms  module"]  # fmt: skip
    for module, us in sorted(extra.items(), key=lambda kv: -kv[1])[:PROFILE_LINES]:
        lines.append(f"{us / 1000:8.1f}  {module}")
    return "\n".join(lines)


def drp_json(args: list[str], env: dict[str, str]) -> object:
    proc = subprocess.run([*DRP, *args, "--json"], env=env, capture_output=True, check=True)
    return json.loads(proc.stdout)


def first_stage_concerns(env: dict[str, str], need: int) -> list[int]:
    """``need`` open concerns at their first stage, not referred: those of the data first
    (the overdue ones come first), then fresh ones opened (untimed) if there are too few."""
    found = drp_json(["list", "--status", "open", "--stage", "stage-1", "--on", ON], env)
    assert isinstance(found, list)
    ids = [c["id"] for c in found if c["protocol"] == PROTOCOL and not c["referred_to_cafcass_on"]]
    while len(ids) < need:
        opening = ["open", "--protocol", PROTOCOL, "--child", f"X-{len(ids)}",
                   "--category", "general", "--summary", "bench", "--on", ON]  # fmt: skip
        made = drp_json(opening, env)
        assert isinstance(made, dict)
        ids.append(made["id"])
    return ids[:need]


@dataclass
class Database:
    """One database the commands run on: its environment and the concerns they use."""

    label: str
    env: dict[str, str]
    reader: int = 0  # stays open: show, alert, bundle
    lifecycle: list[int] = field(default_factory=list)  # one per round, then one to profile

    def choose(self, rounds: int) -> None:
        ids = first_stage_concerns(self.env, rounds + 2)
        self.reader, self.lifecycle = ids[0], ids[1:]


def command_args(key: str, db: Database, r: int, work: Path) -> tuple[list[str], tuple[int, ...]]:
    """The argv of command ``key`` for round ``r`` on ``db``, and its accepted statuses."""
    c, reader = str(db.lifecycle[r]), str(db.reader)
    args = {
        "open": ["open", "--protocol", PROTOCOL, "--child", f"B-{r}", "--category", "general",
                 "--summary", "bench"],
        "escalate": ["escalate", c, "--note", "No response"],
        "respond": ["respond", c, "--text", "Will allocate", "--from", "TM"],
        "note": ["note", c, "--text", "Chased"],
        "refer": ["refer", c, "--text", "Referred"],
        "resolve": ["resolve", c, "--outcome", "Allocated"],
        "show": ["show", reader],
        "list": ["list", "--status", "open"],
        "alert": ["alert", reader],
        "bundle": ["bundle", reader, "-o", str(work / f"bundle-{db.label}-{r}")],
        "overdue": ["overdue"],
    }[key]  # fmt: skip
    # overdue exits 1 when something is overdue, as it is in every database here
    return [*args, "--on", ON], (0, 1) if key == "overdue" else (0,)


COMMANDS = [*EVERYDAY, *DOCUMENTS, "overdue"]
NAMES = {
    "open": "drp open",
    "escalate": "drp escalate ID",
    "respond": "drp respond ID",
    "note": "drp note ID",
    "refer": "drp refer ID",
    "resolve": "drp resolve ID",
    "show": "drp show ID",
    "list": "drp list --status open",
    "alert": "drp alert ID",
    "bundle": "drp bundle ID -o DIR",
    "overdue": "drp overdue",
}


def command_rounds(dbs: list[Database], work: Path, base: dict[str, str]) -> dict[str, Timing]:
    """Every command on every database, `import typer` before each command, in rounds."""

    def plan(r: int) -> list[Step]:
        steps: list[Step] = []
        for key in COMMANDS:
            steps.append(("typer", TYPER, base, (0,)))
            for db in dbs:
                argv, ok = command_args(key, db, r, work)
                steps.append((f"{key}@{db.label}", [*DRP, *argv], db.env, ok))
        return steps

    return interleave(plan, RUNS)


#: The import's peak memory before it streamed its file (issue 14): 830 MB for 100,000
#: concerns of ~5 events each; the target since, 400 MB.
IMPORT_BEFORE_MB = 830.0
IMPORT_TARGET_MB = 400.0
#: the 100,000-row import and taskwarrior's, timed in turn this many times each
IMPORT_ROUNDS = int(os.environ.get("DRP_BENCH_IMPORT_ROUNDS", "3"))


def taskwarrior() -> str | None:
    """Taskwarrior's `task`, installed from Debian's packages when missing (None: it could
    not be)."""
    done = subprocess.run(["bash", str(ROOT / "scripts" / "taskwarrior.sh")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    found = done.stdout.strip()
    if not found:
        print(f"  taskwarrior: {done.stderr.strip()}", file=sys.stderr, flush=True)
    return found or None


def import_rounds(
    data: Path, env: dict[str, str], work: Path, task: str | None
) -> dict[str, Timing]:
    """``drp import`` of ``data`` into a new database and taskwarrior's ``task import`` of the
    same concerns as tasks into a new data folder, one after the other, IMPORT_ROUNDS times:
    the floor (issue 14's "faster than taskwarrior") measured on this machine, now."""
    tw_data = write(work / "tasks.json", tasks(json.loads(data.read_text())))
    out: dict[str, Timing] = {"drp": Timing(), "task": Timing()}
    for r in range(IMPORT_ROUNDS):
        db = work / f"round-{r}.sqlite3"
        used = _children_cpu()
        out["drp"].samples.append(load(data, {**env, "DRP_DB": str(db)}))
        out["drp"].cpu.append(_children_cpu() - used)
        for leftover in work.glob(f"round-{r}.sqlite3*"):
            leftover.unlink()
        if task is None:
            continue
        folder = work / f"task-{r}"
        folder.mkdir()
        rc = folder / "taskrc"
        rc.write_text(f"data.location={folder}\nconfirmation=off\nverbose=nothing\n")
        start, used = time.perf_counter(), _children_cpu()
        quiet = subprocess.DEVNULL
        subprocess.run([task, "import", str(tw_data)], env={**env, "TASKRC": str(rc)},
                       check=True, stdout=quiet, stderr=quiet)  # fmt: skip
        out["task"].samples.append(time.perf_counter() - start)
        out["task"].cpu.append(_children_cpu() - used)
        shutil.rmtree(folder)
    return out


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's children waited for so far."""
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def load(data: Path, env: dict[str, str], peaks: dict[Path, float] | None = None) -> float:
    """Seconds (wall) to import ``data``; its peak resident memory in MB goes in ``peaks``.

    The peak is GNU time's %M (the largest resident set of the drp process and of the
    helper processes it waited for), not this process's RUSAGE_CHILDREN: a child started
    from this large process inherits its peak across exec."""
    gnu_time = Path("/usr/bin/time")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        argv = [*DRP, "import", str(data), "--by", "bench"]
        if peaks is not None and gnu_time.exists():
            argv = [str(gnu_time), "-f", "%M", "-o", rss.name, *argv]
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        if peaks is not None:
            text = rss.read().strip().splitlines()
            peaks[data] = int(text[-1]) / 1024 if text else float("nan")  # kB
    return elapsed


#: Issue 32: ``drp verify`` of 2,000,000 events (400,000 concerns of five events each) in
#: under 30 s and 300 MB. The database takes minutes to build, so it is built once and kept
#: in bench/.cache (git-ignored), named by a hash of what shapes it (the bench's data, the
#: store's migrations); a new one replaces it when one of those changes or it fails to
#: verify. The untimed first verify also brings the file into the page cache.
VERIFY_CONCERNS = int(os.environ.get("DRP_BENCH_VERIFY_CONCERNS", "400000"))
VERIFY_ROUNDS = int(os.environ.get("DRP_BENCH_VERIFY_ROUNDS", "1"))
VERIFY_S = 30.0
VERIFY_MB = 300.0
CACHE = Path(__file__).parent / ".cache"


@dataclass
class Verified:
    status: str = ""
    concerns: int = 0
    events: int = 0
    seconds: float = 0.0
    peak: float = 0.0
    refused: int = 0
    built: float | None = None  # seconds to build the database, when this run built it
    profile: Callable[[], str] | None = None


def verify_key() -> str:
    """What the kept database's rows depend on: the bench's data and the store's schema. (A
    change to how drp hashes or folds events shows as a failed verify: the database is
    then built again, once.)"""
    digest = hashlib.sha256(str(VERIFY_CONCERNS).encode())
    shapes = [Path(__file__).parent / "data.py",
              *sorted((ROOT / "drp_cli/store/migrations/versions").glob("*.py"))]  # fmt: skip
    for path in shapes:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def verify_database(work: Path, base: dict[str, str]) -> tuple[Path, float | None]:
    """The kept database of VERIFY_CONCERNS concerns, built (and timed) if there is none."""
    CACHE.mkdir(exist_ok=True)
    db = CACHE / f"verify-{VERIFY_CONCERNS}-{verify_key()}.sqlite3"
    if db.exists():
        return db, None
    for old in CACHE.glob(f"verify-{VERIFY_CONCERNS}-*.sqlite3*"):  # superseded
        old.unlink()
    data = write_each(work / "verify.json", each_row(VERIFY_CONCERNS, open_share=0.01,
                                                     overdue_share=0.1, chased=False))  # fmt: skip
    building = CACHE / "verify-building.sqlite3"
    for part in CACHE.glob("verify-building.sqlite3*"):  # a build cut short
        part.unlink()
    took = load(data, {**base, "DRP_DB": str(building)})
    data.unlink()
    for part in CACHE.glob("verify-building.sqlite3*"):  # with any journal beside it
        part.rename(CACHE / part.name.replace("verify-building", db.stem))
    return db, took


def verify_rounds(work: Path, base: dict[str, str], profile_env: dict[str, str]) -> Verified:
    """``drp verify --json`` on the kept database, VERIFY_ROUNDS times: the median seconds
    and the largest peak resident memory (GNU time's %M). Its profile (for a missed target)
    is of ``profile_env``'s verify (the middle size: the same work an event, in a fraction
    of the time)."""
    out = Verified()
    try:
        db, out.built = verify_database(work, base)
        env = {**base, "DRP_DB": str(db)}
        check = subprocess.run([*DRP, "verify", "--json"], env=env, capture_output=True,
                               check=False)  # fmt: skip
        if check.returncode != 0 and out.built is None:  # kept from older code: build anew
            print("  the kept database does not verify: building it again", flush=True)
            for old in CACHE.glob(f"{db.name}*"):
                old.unlink()
            db, out.built = verify_database(work, base)
        samples = []
        for _ in range(VERIFY_ROUNDS):
            rss = work / "verify.rss"
            argv = ["/usr/bin/time", "-f", "%M", "-o", str(rss), *DRP, "verify", "--json"]
            start = time.perf_counter()
            proc = subprocess.run(argv, env=env, capture_output=True, check=False)
            samples.append(time.perf_counter() - start)
            out.peak = max(out.peak, int(rss.read_text().split()[-1]) / 1024)
            if proc.returncode != 0:
                out.refused += 1
                print(f"  refused: verify: exit {proc.returncode}", file=sys.stderr, flush=True)
                continue
            out.events = json.loads(proc.stdout)["events"]
        out.seconds = statistics.median(samples)
        out.concerns = int(subprocess.run(
            [PY, "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("
             "'SELECT count(*) FROM concern').fetchone()[0])", str(db)],
            capture_output=True, text=True, check=True).stdout)  # fmt: skip
        out.profile = lambda: profile_command(["verify", "--json"], profile_env)
        out.status = "ok"
    except Exception as exc:  # the bench must finish and say why
        out.status = f"the verify run failed ({type(exc).__name__}: {exc})"
    return out


def encrypted_database(plain: Database, work: Path) -> tuple[Database | None, str]:
    """Issue 31's encrypted database: a copy of ``plain`` encrypted with `drp db encrypt`
    (SQLCipher, a new key in DRP_DB_KEY_FILE), and its environment; or None and why not.
    The bench times every command on it in rounds interleaved with a plain database of the
    same size, and reports each ratio to the plain one."""
    import sqlite3

    copy = work / "encrypted.sqlite3"
    source = sqlite3.connect(plain.env["DRP_DB"])
    target = sqlite3.connect(copy)
    try:
        source.backup(target)  # a consistent copy, whatever the journal holds
    finally:
        target.close()
        source.close()
    copy.chmod(0o600)  # drp refuses to encrypt a file others can read
    env = {**plain.env, "DRP_DB": str(copy), "DRP_DB_KEY_FILE": str(work / "db.key")}
    done = subprocess.run([*DRP, "db", "encrypt"], env=env, capture_output=True, text=True,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return None, f"`drp db encrypt` failed with exit {done.returncode} ({said})"
    return Database("encrypted", env), "ok"


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


@dataclass
class Target:
    group: str
    name: str
    ratio: float
    limit: float
    today: float | None = None
    refused: int = 0
    profile: Callable[[], str] | None = None
    profiled: str = ""

    @property
    def met(self) -> bool:
        # at the two decimals the limits (and today's ratios) are given in
        return round(self.ratio, 2) <= self.limit and not self.refused


@dataclass
class Postgres:
    status: str = ""
    timings: dict[str, Timing] = field(default_factory=dict)
    load: float = 0.0


def postgres(work: Path, data: Path, base: dict[str, str]) -> Postgres:
    """The commands on a throw-away PostgreSQL server; the reason instead if it fails."""
    result = Postgres()
    pgdir = tempfile.mkdtemp(prefix="drp-pg-bench.", dir="/tmp")  # short: a socket lives there
    script = str(ROOT / "scripts" / "pg.sh")
    env = {**os.environ, "DRP_PG_PORT": PG_PORT}
    started = subprocess.run(["bash", script, "start", pgdir], env=env, capture_output=True,
                             text=True, check=False)  # fmt: skip
    try:
        if started.returncode != 0:
            log = Path(pgdir) / "log"  # the server's own words, if it got that far
            said = log.read_text(errors="replace") if log.exists() else started.stderr
            why = (said.strip().splitlines() or ["no message"])[-1]
            result.status = f"the PostgreSQL server could not start ({why})"
            return result
        url = started.stdout.strip()
        import psycopg

        parts = urlsplit(url)
        server = urlunsplit(parts._replace(scheme="postgresql"))
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute("CREATE DATABASE drp_bench")
        db = Database("pg", {**base, "DRP_DB": urlunsplit(parts._replace(path="/drp_bench"))})
        result.load = load(data, db.env)
        db.choose(RUNS)
        (work / "pg").mkdir()
        result.timings = command_rounds([db], work / "pg", base)
        result.status = "ok"
    except Exception as exc:  # the bench must finish and say why
        result.status = f"the PostgreSQL run failed ({type(exc).__name__}: {exc})"
    finally:
        subprocess.run(["bash", script, "stop", pgdir], env=env, capture_output=True,
                       check=False)  # fmt: skip
    return result


def main() -> None:
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="drp-bench-"))
    # byte-compile the package first, as pip does when it installs the wheel: the editable
    # install in .venv has no .pyc files, and PYTHONDONTWRITEBYTECODE (set on some machines)
    # would make every run compile drp_cli's sources again
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "drp_cli")], check=True)
    base = {**os.environ, "DRP_USER": "bench", "DRP_PROTOCOLS": str(work / "none"),
            "COLUMNS": "120", "NO_COLOR": "1"}  # fmt: skip
    # and a module not yet compiled (typer's, say) is compiled once, not in every run
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        write_results(*measure(work, base), minutes=(time.perf_counter() - began) / 60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class Measured:
    startup: dict[str, Timing]
    timings: dict[str, Timing]
    dbs: list[Database]
    loads: dict[int, float]
    peaks: dict[int, float]
    heavy: dict[str, Timing]
    arithmetic: float
    pg: Postgres
    imports: dict[str, Timing] = field(default_factory=dict)
    verified: Verified = field(default_factory=Verified)
    encrypted: dict[str, Timing] = field(default_factory=dict)
    encrypted_status: str = ""


def measure(work: Path, base: dict[str, str]) -> tuple[Measured, list[Target]]:
    small, large = min(SIZES), max(SIZES)

    # start-up, beside the floors
    completion = {**base, "_DRP_COMPLETE": "complete_bash", "COMP_WORDS": "drp overdue --w",
                  "COMP_CWORD": "2"}  # fmt: skip
    startup_argv = {
        "pass": ([PY, "-c", "pass"], base),
        "typer": (TYPER, base),
        "version": ([*DRP, "--version"], base),
        "help": ([*DRP, "--help"], base),
        "cmd_help": ([*DRP, "overdue", "--help"], base),
        "completion": (DRP, completion),
    }
    print("start-up ...", flush=True)
    startup = interleave(
        lambda r: [(k, argv, env, (0,)) for k, (argv, env) in startup_argv.items()], 3 * RUNS
    )

    # working-day arithmetic, in-process
    cal = WorkingCalendar()
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=i % 3000) for i in range(100_000)]
    cal.add(days[0], 1)
    cal.add(dt.date(2029, 12, 1), 60)

    def computations() -> None:
        for d in days:
            cal.add(d, 10)

    start = time.perf_counter()
    computations()
    arithmetic = time.perf_counter() - start

    # the databases, then every command on all of them in interleaved rounds
    dbs: list[Database] = []
    loads: dict[int, float] = {}
    peaks: dict[int, float] = {}
    datas: dict[int, Path] = {}
    for n in SIZES:
        print(f"importing {n:,} concerns ...", flush=True)
        datas[n] = write(work / f"{n}.json", rows(n, open_share=0.01, overdue_share=0.1))
        db = Database(f"{n:,}", {**base, "DRP_DB": str(work / f"{n}.sqlite3")})
        seen: dict[Path, float] = {}
        loads[n] = load(datas[n], db.env, seen)
        peaks[n] = seen[datas[n]]
        db.choose(RUNS)
        dbs.append(db)
    by_size = dict(zip(SIZES, dbs, strict=True))
    print(f"{len(COMMANDS)} commands x {len(dbs)} databases, {RUNS} rounds ...", flush=True)
    timings = command_rounds(dbs, work, base)

    # the pathological daily check: half of the largest size open and all of those overdue
    print("pathological overdue ...", flush=True)
    patho = work / "patho.sqlite3"
    patho_env = {**base, "DRP_DB": str(patho)}
    load(write(work / "patho.json", rows(large, open_share=0.5, overdue_share=1.0)), patho_env)
    overdue_argv = ["overdue", "--on", ON]
    heavy = interleave(
        lambda r: [
            # Knowsley's stage timescales are aims (Standard 3.1): every line is past-aim, and
            # the check exits 0; a firm deadline passed would make it 1
            ("table", [*DRP, *overdue_argv], patho_env, (0, 1)),
            ("json", [*DRP, *overdue_argv, "--json"], patho_env, (0, 1)),
            ("plain", [PY, "-c", PLAIN_OVERDUE, str(patho), ON], patho_env, (0,)),
        ],
        max(3, RUNS // 2),
    )

    # the large import again, in turn with taskwarrior's import of the same as tasks
    imports: dict[str, Timing] = {}
    if 100_000 in datas:
        print(f"drp import and task import of 100,000, {IMPORT_ROUNDS} rounds ...", flush=True)
        imports = import_rounds(datas[100_000], base, work, taskwarrior())

    # verify of 2,000,000 events, on the database kept in bench/.cache
    print(f"drp verify of {VERIFY_CONCERNS:,} concerns ...", flush=True)
    verified = verify_rounds(work, base, dbs[len(dbs) // 2].env)
    print(f"verify: {verified.status}", flush=True)

    # the encrypted database (issue 31): the same commands beside a plain database
    encrypted: dict[str, Timing] = {}
    secret, encrypted_status = encrypted_database(by_size[small], work)
    print(f"encrypted database: {encrypted_status}", flush=True)
    if secret is not None:
        print("encrypted database ...", flush=True)
        plain = Database("plain", by_size[small].env)
        plain.choose(RUNS)
        secret.choose(RUNS)
        (work / "encrypted").mkdir()
        encrypted = command_rounds([plain, secret], work / "encrypted", base)

    # PostgreSQL, no targets
    print("PostgreSQL ...", flush=True)
    data_pg = datas.get(PG_SIZE) or write(
        work / "pg.json", rows(PG_SIZE, open_share=0.01, overdue_share=0.1)
    )
    pg = postgres(work, data_pg, base)
    print(f"PostgreSQL: {pg.status}", flush=True)

    # the targets
    typer = timings["typer"].median
    targets: list[Target] = []

    def t(key: str, n: int) -> Timing:
        return timings[f"{key}@{by_size[n].label}"]

    profiles: dict[tuple[str, int], str] = {}

    def rerun(key: str, n: int) -> Callable[[], str]:
        """Profile ``key`` on size ``n`` once: on the spare concern (the round after the
        last), into a fresh bundle folder; a second target asking for it shares it."""

        def run() -> str:
            if (key, n) not in profiles:
                argv = command_args(key, by_size[n], RUNS, work)[0]
                profiles[key, n] = profile_command(argv, by_size[n].env)
            return profiles[key, n]

        return run

    def with_imports(
        profile: Callable[[], str], args: list[str], env: dict[str, str]
    ) -> Callable[[], str]:
        """A start-up or morning-check profile, and what it imports beyond `import typer`."""
        return lambda: profile() + "\n\n" + import_profile(args, env)

    for key, limit, group in [(k, EVERYDAY_LIMIT, "everyday") for k in EVERYDAY] + [
        (k, DOCUMENTS_LIMIT, "documents") for k in DOCUMENTS
    ]:
        for n, at in ((small, "small"), (large, "large")):
            targets.append(Target(group, f"{NAMES[key]}, {n:,} concerns, x import typer",
                                  t(key, n).median / typer, limit, BEFORE_RATIOS.get(f"{key}@{at}"),
                                  refused=t(key, n).refused, profile=rerun(key, n)))  # fmt: skip
        if group == "everyday":
            worse = t(key, large).refused + t(key, small).refused
            targets.append(Target(group, f"{NAMES[key]}, {large:,} vs {small:,} concerns",
                                  t(key, large).median / t(key, small).median, SIZES_LIMIT,
                                  BEFORE_RATIOS.get(f"{key}@sizes"), refused=worse,
                                  profile=rerun(key, large)))  # fmt: skip

    for n, at in ((small, "small"), (large, "large")):
        argv = command_args("overdue", by_size[n], RUNS, work)[0]
        targets.append(Target("morning", f"drp overdue, {n:,} concerns, x import typer",
                              t("overdue", n).median / typer, OVERDUE_LIMIT,
                              BEFORE_RATIOS[f"overdue@{at}"], t("overdue", n).refused,
                              with_imports(rerun("overdue", n), argv, by_size[n].env)))  # fmt: skip
    targets.append(Target("morning", f"drp overdue, {large:,} vs {small:,} concerns",
                          t("overdue", large).median / t("overdue", small).median,
                          SIZES_LIMIT, BEFORE_RATIOS["overdue@sizes"],
                          profile=rerun("overdue", large)))  # fmt: skip
    s_typer = startup["typer"].median
    for key, name, ratio, limit in [
        ("cmd_help", "drp overdue --help, x import typer",
         startup["cmd_help"].median / s_typer, CMD_HELP_LIMIT),
        ("completion", "shell completion (drp overdue --w<TAB>), x import typer",
         startup["completion"].median / s_typer, COMPLETION_LIMIT),
        ("version", "drp --version, x python -c pass",
         startup["version"].median / startup["pass"].median, VERSION_LIMIT),
        ("help", "drp --help, x import typer", startup["help"].median / s_typer, HELP_LIMIT),
    ]:  # fmt: skip
        argv, env = startup_argv[key]

        def profile_startup(argv: list[str] = argv, env: dict[str, str] = env) -> str:
            return profile_command(argv[len(DRP) :], env)

        targets.append(Target("morning", name, ratio, limit, BEFORE_RATIOS[key],
                              startup[key].refused,
                              with_imports(profile_startup, argv[len(DRP) :], env)))  # fmt: skip

    def patho_profile() -> str:
        return profile_command(overdue_argv, patho_env)

    targets += [
        Target("morning", f"pathological drp overdue ({large // 2:,} rows, table), x plain "
               "sqlite3", heavy["table"].median / heavy["plain"].median, PATHO_LIMIT,
               BEFORE_RATIOS["patho_table"], heavy["table"].refused, patho_profile),
        Target("morning", f"pathological drp overdue --json ({large // 2:,} rows), x plain "
               "sqlite3", heavy["json"].median / heavy["plain"].median, PATHO_LIMIT,
               BEFORE_RATIOS["patho_json"], heavy["json"].refused,
               lambda: profile_command([*overdue_argv, "--json"], patho_env)),
    ]  # fmt: skip

    report = report_bench.target(Target, by_size[large].env, interleave, profile_command,
                                 RUNS, by_size[large].label)  # fmt: skip
    report.today = BEFORE_RATIOS["report"]
    targets.append(report)

    if 100_000 in loads:

        def profile_import() -> str:
            env = {**base, "DRP_DB": str(work / "profile-import.sqlite3")}
            return profile_command(["import", str(datas[100_000]), "--by", "bench"], env)

        seconds, peak = imports["drp"].median, peaks[100_000]
        if imports["task"].samples:
            floor = imports["task"].median
            name = (
                f"drp import of 100,000 concerns (~5 events each), x taskwarrior's import "
                f"of the same as 100,000 tasks; {seconds:.1f} s against {floor:.1f} s"
            )
            targets.append(Target("import", name, seconds / floor, IMPORT_LIMIT,
                                  BEFORE_RATIOS["import_task"], 0, profile_import))  # fmt: skip
        targets.append(
            Target("import", f"its peak memory, x {IMPORT_TARGET_MB:.0f} MB; {peak:.0f} MB, "
                   f"{peak / IMPORT_BEFORE_MB:.2f} x the {IMPORT_BEFORE_MB:.0f} MB before "
                   "streaming", peak / IMPORT_TARGET_MB, 1.0, BEFORE_RATIOS["import_mb"])
        )  # fmt: skip

    if verified.status == "ok":
        vprofile = verified.profile
        targets += [
            Target("verify", f"drp verify of {verified.events:,} events ({verified.concerns:,} "
                   f"concerns), x {VERIFY_S:.0f} s; {verified.seconds:.1f} s",
                   verified.seconds / VERIFY_S, 1.0, None, verified.refused, vprofile),
            Target("verify", f"its peak memory, x {VERIFY_MB:.0f} MB; {verified.peak:.0f} MB",
                   verified.peak / VERIFY_MB, 1.0, None, verified.refused),
        ]  # fmt: skip

    def profile_arithmetic() -> str:
        prof = cProfile.Profile()
        prof.runcall(computations)
        return "(in-process)\n" + profile_top(pstats.Stats(prof))

    targets.append(Target("kept", "100,000 deadline computations in-process, x 0.2 s",
                          arithmetic / 0.2, 1.0, None, profile=profile_arithmetic))  # fmt: skip

    for target in targets:
        if not target.met and target.profile is not None:
            print(f"profiling: {target.name}", flush=True)
            target.profiled = target.profile()

    measured = Measured(startup, timings, dbs, loads, peaks, heavy, arithmetic, pg, imports,
                        verified, encrypted, encrypted_status)  # fmt: skip
    return measured, targets


def ms(timing: Timing) -> str:
    mark = f" ({timing.refused} refused)" if timing.refused else ""
    return f"{timing.median * 1000:.0f} ({timing.low * 1000:.0f}){mark}"


def _import_samples(imports: dict[str, Timing]) -> str:
    """Each import's seconds, in the order they ran."""
    said = []
    for key, name in (("drp", "drp import"), ("task", "task import")):
        if imports.get(key) and imports[key].samples:
            said.append(f"{name}: {', '.join(f'{s:.1f}' for s in imports[key].samples)} s")
    if imports.get("drp") and not imports["task"].samples:
        said.append("taskwarrior could not be installed here")
    # drp's helper processes share the work of two cores, taskwarrior runs on one: on a
    # loaded machine drp's wall time grows more than its work does, which CPU time shows
    cpu = [f"{name} {', '.join(f'{s:.1f}' for s in imports[key].cpu)} s"
           for key, name in (("drp", "drp import"), ("task", "task import"))
           if imports.get(key) and imports[key].cpu]  # fmt: skip
    if cpu:
        said.append(f"CPU time (user + system, every process): {'; '.join(cpu)}")
    return f" Each run: {'; '.join(said)}." if said else ""


def write_results(m: Measured, targets: list[Target], minutes: float) -> None:
    startup, timings, dbs, loads, heavy, pg = m.startup, m.timings, m.dbs, m.loads, m.heavy, m.pg
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown"
    missed = [t for t in targets if not t.met]
    lines = [
        "# Benchmark results",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `make bench` on {platform.node()}: "
        f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
        f"{platform.system()} {platform.release()}. The whole bench took {minutes:.1f} minutes. "
        "Times are whole processes, wall clock, with drp_cli byte-compiled as an installed "
        "wheel is. Every ratio is of medians of runs interleaved in the same rounds "
        f"({RUNS} rounds for the commands, {3 * RUNS} for start-up); SQLite is the database.",
        "",
        f"**{len(targets) - len(missed)} of {len(targets)} targets met.**"
        + (
            " Missed: "
            + "; ".join(f"{t.name} ({t.ratio:.2f}, limit {t.limit:.2f})" for t in missed)
            + "."
            if missed
            else ""
        ),
        "",
        "## Targets",
        "",
    ]
    typer_ms = m.timings["typer"].median * 1000
    v = m.verified
    verify_intro = (
        f"`drp verify --json` (the chain, every concern's fold, SQLite's integrity check) on a "
        f"database of {v.concerns:,} concerns kept in bench/.cache between runs"
        + (f" (built by this run, in {v.built:.0f} s)" if v.built is not None else "")
        + f"; {VERIFY_ROUNDS} run(s), the median; peak resident memory is GNU time's %M."
        if v.status == "ok"
        else f"Not measured: {v.status}."
    )
    sections = [
        ("morning", "The morning check and start-up (issue 32)",
         f"`drp overdue` at most {OVERDUE_LIMIT}x `python -c \"import typer\"` on 1,000 and on "
         f"100,000 concerns and within {SIZES_LIMIT}x between them; `overdue --help`, "
         f"completion and `--version` back to wave 1's ratios; the pathological check (half "
         f"the largest database open and overdue) at most {PATHO_LIMIT:.0f}x a plain `sqlite3` "
         f"query of the same rows. The before column is {BEFORE}; here `import typer` took "
         f"{typer_ms:.0f} ms."),
        ("everyday", f"Everyday commands: at most {EVERYDAY_LIMIT}x `python -c \"import typer\"` "
         f"on 1,000 and on 100,000 concerns, and within {SIZES_LIMIT}x between the two sizes",
         ""),
        ("documents", f"Documents: at most {DOCUMENTS_LIMIT:.0f}x `python -c \"import typer\"`",
         ""),
        ("import", f"Import: at most {IMPORT_LIMIT}x taskwarrior's",
         f"`drp import` of 100,000 concerns into a new database and taskwarrior's `task "
         f"import` of the same concerns as 100,000 tasks (each event after the first an "
         f"annotation) into a new data folder, one after the other, {IMPORT_ROUNDS} times; "
         f"medians, so the machine's drift falls on both sides. Then the peak resident memory "
         f"(GNU time's %M: the drp process and its helper processes, in the first import) "
         f"over {IMPORT_TARGET_MB:.0f} MB." + _import_samples(m.imports)),
        ("verify", f"Verify: 2,000,000 events in under {VERIFY_S:.0f} s and {VERIFY_MB:.0f} MB",
         verify_intro),
        ("kept", "Kept from before", ""),
    ]  # fmt: skip
    for group, title, intro in sections:
        lines += [f"### {title}", ""]
        if intro:
            lines += [intro, ""]
        lines += ["| target | ratio | limit | before | result |", "|---|---|---|---|---|"]
        for t in targets:
            if t.group != group:
                continue
            today = f"{t.today:.2f}" if t.today is not None else "-"
            result = "PASS" if t.met else "**FAIL**"
            if t.refused:
                result += f" ({t.refused} runs refused)"
            lines.append(f"| {t.name} | {t.ratio:.2f} | {t.limit:.2f} | {today} | {result} |")
        lines.append("")
    if missed:
        lines += [
            "### Profiles of the missed targets",
            "",
            f"Each command run once under cProfile; the top {PROFILE_LINES} rows by cumulative "
            "time (seconds, under the profiler), leaving out the rows that only nest the "
            "others: Python's import machinery, runpy, exec, and the dispatch from drp's entry "
            "point through click (inside typer) to the command. `<module>` rows are imports.",
            "",
        ]
        for t in missed:
            lines += [f"**{t.name}** ({t.ratio:.2f}, limit {t.limit:.2f})", "", "```",
                      t.profiled.rstrip(), "```", ""]  # fmt: skip

    labels = [db.label for db in dbs]
    lines += [
        "## Timings (SQLite)",
        "",
        "Milliseconds: median (minimum). `import typer` ran before each command in each round. "
        "The 10,000-concern database has no target of its own.",
        "",
        f"| command | {' | '.join(f'{label} concerns' for label in labels)} |",
        "|---|" + "---|" * len(labels),
        f'| floor: python -c "import typer" | {ms(timings["typer"])} |' + " |" * (len(labels) - 1),
    ]
    lines += [
        f"| {NAMES[key]} | {' | '.join(ms(timings[f'{key}@{label}']) for label in labels)} |"
        for key in COMMANDS
    ]
    lines += [
        "",
        f"Start-up ({3 * RUNS} rounds):",
        "",
        "| command | median (min), ms |",
        "|---|---|",
    ]
    startup_names = {
        "pass": "floor: python -c pass",
        "typer": 'floor: python -c "import typer"',
        "version": "drp --version",
        "help": "drp --help",
        "cmd_help": "drp overdue --help",
        "completion": "shell completion (drp overdue --w<TAB>, bash)",
    }
    lines += [f"| {name} | {ms(startup[key])} |" for key, name in startup_names.items()]
    half = max(SIZES) // 2
    lines += [
        "",
        "Once, or in-process:",
        "",
        "| what | seconds |",
        "|---|---|",
        *[f"| drp import of {n:,} concerns (~5 events each), once (peak {m.peaks[n]:.0f} MB) | "
          f"{s:.2f} |" for n, s in loads.items()],
        f"| pathological drp overdue ({half:,} rows, table), median | "
        f"{heavy['table'].median:.3f} |",
        f"| pathological drp overdue --json ({half:,} rows), median | "
        f"{heavy['json'].median:.3f} |",
        f"| floor: python + sqlite3 printing the {half:,} rows, median | "
        f"{heavy['plain'].median:.3f} |",
        f"| 100,000 deadline computations, in-process | {m.arithmetic:.3f} |",
        *([f"| drp verify of {m.verified.events:,} events ({m.verified.concerns:,} concerns), "
           f"median (peak {m.verified.peak:.0f} MB) | {m.verified.seconds:.2f} |"]
          if m.verified.status == "ok" else []),
        "",
        f"## PostgreSQL ({PG_SIZE:,} concerns; no targets)",
        "",
    ]  # fmt: skip
    if pg.status != "ok":
        lines += [f"Not measured: {pg.status}.", ""]
    else:
        pg_typer = pg.timings["typer"].median
        sq_label = f"{PG_SIZE:,}"
        beside = sq_label in labels  # the SQLite database of the same size, timed above

        def sqlite(key: str) -> str:
            if not beside:
                return "- | -"
            got = timings[f"{key}@{sq_label}"]
            return f"{ms(got)} | {got.median / timings['typer'].median:.2f}"

        def times(key: str) -> str:
            got = pg.timings[f"{key}@pg"]
            ratio = got.median / pg_typer
            if not beside:
                return f"{ms(got)} | {ratio:.2f} | -"
            sq = timings[f"{key}@{sq_label}"].median / timings["typer"].median
            return f"{ms(got)} | {ratio:.2f} | {ratio / sq:.2f}"

        lines += [
            f"A throw-away server from scripts/pg.sh (fsync off), on its Unix socket; the same "
            f"JSON imported with `drp import` in {pg.load:.2f} s; {RUNS} rounds, `import "
            "typer` before each command. Beside it, the SQLite database of the same size from "
            "the rounds above; the last column is PostgreSQL's ratio to `import typer` over "
            "SQLite's.",
            "",
            "| command | SQLite ms | SQLite x import typer | PostgreSQL ms | PostgreSQL x "
            "import typer | PostgreSQL / SQLite |",
            "|---|---|---|---|---|---|",
            f'| floor: python -c "import typer" | {ms(timings["typer"])} | 1.00 | '
            f"{ms(pg.timings['typer'])} | 1.00 | - |",
        ]
        lines += [f"| {NAMES[key]} | {sqlite(key)} | {times(key)} |" for key in COMMANDS]
        lines.append("")
    lines += ["## The encrypted database (issue 31)", ""]
    if not m.encrypted:
        lines += [f"Not measured: {m.encrypted_status or 'not run'}.", ""]
    else:
        lines += [
            f"The same commands on a plain database of {min(SIZES):,} concerns and on a copy "
            f"of it encrypted with `drp db encrypt` (SQLCipher; the key in DRP_DB_KEY_FILE), "
            f"interleaved in {RUNS} rounds.",
            "",
            "| command | plain ms | encrypted ms | encrypted / plain |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {NAMES[key]} | {ms(m.encrypted[f'{key}@plain'])} | "
            f"{ms(m.encrypted[f'{key}@encrypted'])} | "
            f"{m.encrypted[f'{key}@encrypted'].median / m.encrypted[f'{key}@plain'].median:.2f} |"
            for key in COMMANDS
        ]
        lines.append("")
    path = Path(__file__).parent / "RESULTS.md"
    notes = path.parent / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text().rstrip()]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}: {len(targets) - len(missed)} of {len(targets)} targets met")
    for t in targets:
        print(f"  {'PASS' if t.met else 'FAIL'}  {t.ratio:5.2f} <= {t.limit:.2f}  {t.name}")


if __name__ == "__main__":
    main()
