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

    try:
        app(prog_name="drp")
    except BrokenPipeError:
        # the reader went away (`drp overdue | head`): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)


if __name__ == "__main__":
    main()
