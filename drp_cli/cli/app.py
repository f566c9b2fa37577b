"""The Typer app, the global options and the one error handler at the edge."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from drp_cli import __version__
from drp_cli.errors import EXIT_INTERNAL, DrpError

if TYPE_CHECKING:
    from drp_cli.tracker import Tracker


@dataclass
class State:
    db: str | None = None
    debug: bool = False
    _tracker: Tracker | None = None

    def tracker(self) -> Tracker:
        if self._tracker is None:
            from drp_cli.tracker import Tracker

            self._tracker = Tracker(self.db)
        return self._tracker


def _state(ctx: Any) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


class DrpGroup(TyperGroup):
    """Turns the library's errors into one line on stderr and a documented exit status."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DrpError as exc:
            if _state(ctx).debug:
                traceback.print_exc(file=sys.stderr)
            typer.echo(f"Error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            if _state(ctx).debug:
                traceback.print_exc(file=sys.stderr)
            else:
                typer.echo(
                    f"Error: internal error ({type(exc).__name__}); nothing more is shown "
                    "because it may hold personal data: run again with --debug for details",
                    err=True,
                )
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    cls=DrpGroup,
    name="drp",
    help=(
        "Track Dispute Resolution Process concerns (IROs, CP chairs, fostering IROs): "
        "stages, working-day deadlines, responses and CAFCASS referrals."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"drp {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="DRP_DB",
            help="Database file (default: drp.sqlite3 in your user data folder).",
            show_envvar=True,
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks (may include personal data).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    state = _state(ctx)
    state.db = db
    state.debug = debug


def tracker(ctx: typer.Context) -> Tracker:
    return _state(ctx).tracker()


# Options shared by several commands ---------------------------------------------------
OnOption = Annotated[
    str | None,
    typer.Option("--on", help="Date it happened (YYYY-MM-DD; default today).", metavar="DATE"),
]
JudgeOnOption = Annotated[
    str | None,
    typer.Option("--on", help="Judge deadlines as on this date (default today).", metavar="DATE"),
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who records this (default: $DRP_USER, else your login)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ConcernId = Annotated[int, typer.Argument(help="The concern's id.", metavar="ID")]
