"""The ``drp`` command line: Typer commands split by group, thin over :mod:`drp_cli.tracker`.

Only typer is imported at module level; the library, SQLAlchemy, pydantic, holidays and
rich are imported inside the commands that need them, so ``drp --help`` stays fast.
"""

from drp_cli.cli import admin, concerns, documents, reference, reports  # noqa: F401  (registers commands)
from drp_cli.cli.app import app

__all__ = ["app"]
