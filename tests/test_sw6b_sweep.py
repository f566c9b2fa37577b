"""sw6b (issue 32, wave 6): a hostile sweep of the import and the written help. Each test
pins a defect found in this session's speed work as a strict xfail: it turns red when the
defect is fixed (then drop the mark)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PG_URL, open_args

ROOT = Path(__file__).resolve().parent.parent
LIVE = "from drp_cli.cli import app; app(prog_name='drp')"  # the help as Typer builds it


def _env(**extra: str) -> dict[str, str]:
    drop = ("COLUMNS", "LINES", "_DRP_COMPLETE", "DRP_DB", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


def test_help_from_a_source_outside_the_fingerprint_is_not_stale(tmp_path):
    copy = tmp_path / "tree"
    shutil.copytree(ROOT / "drp_cli", copy / "drp_cli",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    textarg = copy / "drp_cli" / "cli" / "textarg.py"
    source = textarg.read_text(encoding="utf-8")
    assert "(default vi)" in source
    textarg.write_text(source.replace("(default vi)", "(default nano)"), encoding="utf-8")
    env = _env(PYTHONPATH=str(copy), COLUMNS="100")
    run = {"capture_output": True, "text": True, "env": env, "cwd": copy}
    fast = subprocess.run([sys.executable, "-m", "drp_cli", "note", "--help"], **run)
    live = subprocess.run([sys.executable, "-c", LIVE, "note", "--help"], **run)
    assert live.returncode == 0 and "(default nano)" in live.stdout  # the copy is what runs
    assert (fast.returncode, fast.stderr) == (0, "")
    assert fast.stdout == live.stdout


def _mapped(pid: int, path: Path) -> bool:
    try:
        return str(path) in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _reading(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has begun reading ``path``: mapped it, or read past its
    first byte through a descriptor."""
    if _mapped(pid, path):
        return True
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) != str(path):
                continue
            pos = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text().split()[1]
        except (OSError, IndexError):
            continue
        if int(pos) > 1:
            return True
    return False


@pytest.mark.skipif(PG_URL is not None or not Path("/proc/self/maps").exists(),
                    reason="a SQLite file; Linux's /proc")  # fmt: skip
def test_a_file_cut_short_while_searched_is_refused_not_a_crash(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    rows = work / "rows.json"
    with open(rows, "wb") as fh:  # 6 GiB, sparse (no disk): a JSON list that never ends
        fh.write(b"[")
        fh.truncate(6 << 30)
    argv = [sys.executable, "-m", "drp_cli", "--db", str(work / "d.sqlite3"), "import",
            str(rows)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env=_env(DRP_USER="tester"), text=True)  # fmt: skip
    try:
        # cut once it reads the file (maps it, or has read past the "["), however long a
        # busy machine takes to start it: a cut after a fixed 3 s came before it opened the
        # file when it had not started by then
        deadline = time.monotonic() + 120
        while not _reading(proc.pid, rows):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the import never mapped the file"
            time.sleep(0.005)
        os.truncate(rows, 0)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out) == (2, "")
    assert err == f"Error: {rows} is not valid JSON (after item 0): premature EOF\n"
    assert sorted(p.name for p in work.iterdir()) == ["rows.json"]


ROW = {"protocol": "knowsley", "child": "KN-1", "category": "statutory", "summary": "S",
       "opened_on": "2025-03-03", "stage": "stage-1", "stage_started_on": "2025-03-03",
       "status": "open"}  # fmt: skip


@pytest.mark.skipif(PG_URL is not None, reason="a SQLite file")
def test_an_import_into_an_empty_database_file_imports(drp, isolated, tmp_path):
    import json

    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([ROW]), encoding="utf-8")
    fresh = drp("--db", str(tmp_path / "fresh.sqlite3"), "import", str(rows))
    assert (fresh.exit_code, fresh.stdout) == (0, "Imported 1 of 1 rows.\n")
    empty = Path(isolated)
    empty.touch(mode=0o600)
    shown = drp("import", str(rows))
    assert (shown.exit_code, shown.stdout) == (fresh.exit_code, fresh.stdout)
    assert drp("list", "--status", "all").exit_code == 0


@pytest.mark.skipif(PG_URL is not None, reason="SQLite files")
def test_an_attached_event_spelled_with_an_escape_still_needs_its_file(drp, tmp_path):
    document = tmp_path / "order.txt"
    document.write_text("care order\n", encoding="utf-8")
    assert drp(*open_args()).exit_code == 0
    attached = drp("attach", "1", str(document), "--kind", "care-order", "--on", "2025-03-04")
    assert attached.exit_code == 0
    export = tmp_path / "export.json"
    assert drp("export", "--format", "json", "-o", str(export)).exit_code == 0
    text = export.read_text(encoding="utf-8")
    escaped = tmp_path / "escaped.json"
    escaped.write_text(text.replace('"kind": "attached"', '"kind": "\\u0061ttached"'))
    assert escaped.read_text() != text  # the same JSON, one kind spelled with an escape
    plain = drp("--db", str(tmp_path / "a.sqlite3"), "import", str(export))
    assert plain.exit_code == 2 and plain.stderr.startswith("Error: the export refers to 1 ")
    shown = drp("--db", str(tmp_path / "b.sqlite3"), "import", str(escaped))
    assert (shown.exit_code, shown.stdout, shown.stderr) == (2, "", plain.stderr)
