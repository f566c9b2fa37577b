"""Instruction counts of drp commands, as a multiple of ``python -c "import typer"``.

Wall time on a shared machine moves with its load; the number of instructions a process
runs does not, so an A/B of a change is exact. Each count is valgrind's cachegrind "I refs"
of the whole process, with the bench's environment (DRP_USER=bench, an empty protocol
folder, COLUMNS=120, NO_COLOR=1), PYTHONHASHSEED=0, byte-compiled into a cache of its own,
after one untimed run (which compiles anything not yet compiled); each run works on a fresh
copy of the database, so a command that writes counts the same each time.

    .venv/bin/python bench/instructions.py 'label|DB|drp arguments' ...

DB is 1000, 100000 or patho (bench/data.py's rows: 1% open and a tenth of those overdue;
patho: 100,000 rows, half open, all overdue), built once into bench/.cache/instructions/,
or ``-`` for none. The arguments are split on spaces and given to the installed ``drp``
command (the console script beside this python); ``M:args`` runs ``python -m drp_cli args``
instead, and ``PY:code`` runs ``python -c code``.
Example: ``'note|1000|note 5 --text Chased --on 2026-06-01'``. Needs valgrind.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache" / "instructions"
PY = sys.executable
DRP_SCRIPT = str(Path(PY).parent / "drp")  # the console script pip installs beside python
#: name: (concerns, open share, overdue share of the open)
DATABASES = {
    "1000": (1000, 0.01, 0.1),
    "100000": (100_000, 0.01, 0.1),
    "patho": (100_000, 0.5, 1.0),
}


def database(name: str) -> Path:
    """bench/data.py's database ``name``, imported once and kept."""
    db = CACHE / f"{name}.sqlite3"
    if not db.exists():
        sys.path.insert(0, str(ROOT / "bench"))
        from data import rows, write

        n, open_share, overdue_share = DATABASES[name]
        CACHE.mkdir(parents=True, exist_ok=True)
        data = write(CACHE / f"{name}.json", rows(n, open_share=open_share,
                                                  overdue_share=overdue_share))  # fmt: skip
        env = {**os.environ, "DRP_DB": str(db), "DRP_USER": "bench"}
        subprocess.run([PY, "-m", "drp_cli", "import", str(data), "--by", "bench"], env=env,
                       cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        data.unlink()
    return db


def count(spec: str) -> tuple[str, int | None, int]:
    """(label, instructions or None, the warm-up's exit status) of one 'label|DB|args'."""
    label, db, args = spec.split("|", 2)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        none = Path(tmp) / "none"
        none.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": "0", "HOME": tmp, "DRP_USER": "bench",
               "DRP_PROTOCOLS": str(none), "COLUMNS": "120", "NO_COLOR": "1",
               "PYTHONPYCACHEPREFIX": str(CACHE / "pycache"),
               "XDG_CACHE_HOME": str(CACHE / "xdg")}  # fmt: skip
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        copy = Path(tmp) / "db.sqlite3"

        def fresh() -> None:
            if db != "-":
                shutil.copy(database(db), copy)
                copy.chmod(0o600)
                env["DRP_DB"] = str(copy)

        if args.startswith("PY:"):
            argv = [PY, "-c", args[3:]]
        elif args.startswith("M:"):  # as `python -m drp_cli`, which runs runpy first
            argv = [PY, "-m", "drp_cli", *args[2:].split()]
        else:  # the installed `drp` command, as an IRO types it
            argv = [DRP_SCRIPT, *args.split()]
        fresh()
        warm = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True)
        fresh()  # the warm-up may have written
        done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                               "--cachegrind-out-file=/dev/null", *argv],
                              env=env, cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        return label, int(found.group(1).replace(",", "")) if found else None, warm.returncode


def main(specs: list[str]) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    for db in {s.split("|", 2)[1] for s in specs} - {"-"}:
        database(db)
    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(count, ["typer|-|PY:import typer", *specs]))
    floor = counts[0][1] or 1
    for label, n, status in counts:
        shown = f"{n / 1e6:9.1f} M  x import typer {n / floor:.3f}" if n else "failed"
        print(f"{label:24} {shown}  (exit {status})")


if __name__ == "__main__":
    main(sys.argv[1:])
