"""`drp --version` is answered before anything is imported but the package (issue 32)."""

from __future__ import annotations

import subprocess
import sys

from drp_cli import __version__

CODE = """
import sys
sys.argv = ["drp", "--version"]
from drp_cli.__main__ import main
main()
print(sorted(m for m in ("signal", "enum", "typing", "contextlib", "typer") if m in sys.modules))
"""


def test_version_loads_neither_signal_nor_typing() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout == f"drp {__version__}\n[]\n"
