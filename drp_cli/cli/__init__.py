"""The ``drp`` command line: Typer commands split by group, thin over
:mod:`drp_cli.services.tracker`.

Only typer is imported to start; each command's module is imported when that command runs
(see :data:`drp_cli.cli.app.COMMANDS`), and the library, SQLAlchemy, pydantic, holidays
and rich inside the commands that need them, so ``drp --help`` stays fast. The morning
check's everyday arguments are read without Typer (:mod:`drp_cli.cli.dailycheck`), so this
package loads the app (:data:`app`) only when it is asked for.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`'s: `drp --help` and the morning check need no typing
if TYPE_CHECKING:
    from typing import Any

    from drp_cli.cli.app import app as app

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from drp_cli.cli.app import app

        # importing the module drp_cli.cli.app bound its name here to the module: the
        # package's ``app`` is the Typer app, as it always was
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
