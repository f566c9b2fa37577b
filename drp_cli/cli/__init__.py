"""The ``drp`` command line: Typer commands split by group, thin over
:mod:`drp_cli.services.tracker`.

Only typer is imported to start; each command's module is imported when that command runs
(see :data:`drp_cli.cli.app.COMMANDS`), and the library, SQLAlchemy, pydantic, holidays
and rich inside the commands that need them, so ``drp --help`` stays fast.
"""

from drp_cli.cli.app import app

__all__ = ["app"]
