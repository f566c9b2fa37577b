"""A non-editable install carries the protocols and templates inside the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_protocols_and_templates(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("drp_cli-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for slug in ("knowsley", "nottinghamshire-2016", "nottinghamshire-crp", "sbc-fciro",
                 "west-sussex"):  # fmt: skip
        assert f"drp_cli/protocols/{slug}.toml" in names
    assert "drp_cli/protocols/_themes.toml" in names
    assert "drp_cli/templates/README.md" in names
    assert "drp_cli/templates/bundle/index.md.j2" in names
    assert "drp_cli/store/migrations/env.py" in names
    assert "drp_cli/store/migrations/versions/0001_core.py" in names
    assert "drp_cli/cli/helptext/overdue.txt" in names

    # run it from the unpacked wheel, away from the repository
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c",
         "import drp_cli.domain.protocols as p; print(p.builtin_dir()); "
         "print(sorted(p.load_registry([]).protocols))"],
        env=env, cwd=tmp_path, check=True, capture_output=True, text=True,
    )  # fmt: skip
    folder, slugs = out.stdout.splitlines()
    assert folder == str(target / "drp_cli" / "protocols")
    assert "west-sussex" in slugs
    # the installed package creates a database with its own migrations and renders a form
    db = tmp_path / "wheel.sqlite3"
    out = subprocess.run(
        [sys.executable, "-m", "drp_cli", "open", "--protocol", "knowsley", "--child", "K",
         "--category", "general", "--summary", "x", "--on", "2025-03-03"],
        env={**env, "DRP_DB": str(db), "DRP_USER": "t"}, cwd=tmp_path,
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "drp_cli", "alert", "1"],
        env={**env, "DRP_DB": str(db), "DRP_USER": "t"}, cwd=tmp_path,
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# Informal challenge: Stage 1")
    # a command's help from its file, as the commands wrote it, without loading Typer
    out = subprocess.run(
        [sys.executable, "-c",
         "import sys; sys.argv = ['drp', 'overdue', '--help']; import drp_cli.__main__ as m; "
         "m.main(); print(m.__file__, 'typer' in sys.modules, file=sys.stderr)"],
        env={k: v for k, v in env.items() if k != "COLUMNS"}, cwd=tmp_path,
        capture_output=True, text=True,
    )  # fmt: skip
    written = (ROOT / "drp_cli/cli/helptext/overdue.txt").read_text(encoding="utf-8")
    assert out.stdout == written.split("\n", 1)[1]
    assert out.stderr == f"{target / 'drp_cli' / '__main__.py'} False\n"


def test_console_script_version_is_fast_path():
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "drp_cli", "--version"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.startswith("drp ")
    assert "typer" not in out.stderr and "sqlalchemy" not in out.stderr
