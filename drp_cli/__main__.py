"""Entry point of the ``drp`` command.

``drp --version`` is answered before anything heavy is imported; everything else goes to
the Typer app in :mod:`drp_cli.cli`.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.umask(0o077)  # every file drp writes is owner-only
    if sys.argv[1:] == ["--version"]:
        from drp_cli import __version__

        print(f"drp {__version__}")
        return
    from drp_cli.cli import app

    app(prog_name="drp")


if __name__ == "__main__":
    main()
