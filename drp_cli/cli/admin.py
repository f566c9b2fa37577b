"""Commands that look after the database: verify, db upgrade / status."""

from __future__ import annotations

import typer

from drp_cli.cli.app import JsonOption, app, tracker
from drp_cli.cli.output import print_json
from drp_cli.errors import EXIT_TAMPERED

db_app = typer.Typer(help="The database's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db", rich_help_panel="Database")


@app.command(rich_help_panel="Database")
def verify(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Check the tamper-evident record: the event hash chain and every concern's state."""
    report = tracker(ctx).verify()
    if as_json:
        print_json(
            {"ok": report.ok, "events": report.events, "concerns": report.concerns,
             "problems": report.problems}
        )  # fmt: skip
    elif report.ok:
        typer.echo(
            f"OK: {report.events} events in an unbroken chain; {report.concerns} concerns match "
            "their events."
        )
    else:
        for problem in report.problems:
            typer.echo(f"TAMPERED: {problem}", err=True)
    if not report.ok:
        raise typer.Exit(EXIT_TAMPERED)


def _store(ctx: typer.Context) -> object:
    from drp_cli.cli.app import _state
    from drp_cli.db import Store

    return Store(_state(ctx).db, prepare=False)


@db_app.command("status")
def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the database, its schema revision and the one this drp needs."""
    from drp_cli.db import Store
    from drp_cli.models import SCHEMA_REVISION

    store = _store(ctx)
    assert isinstance(store, Store)
    current = store.revision()
    if as_json:
        print_json({"database": store.label, "revision": current, "needed": SCHEMA_REVISION})
        return
    state = "up to date" if current == SCHEMA_REVISION else "run `drp db upgrade`"
    typer.echo(f"{store.label}: schema {current or 'none'} (this drp: {SCHEMA_REVISION}); {state}")


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Upgrade the database's schema to this drp's (take a `drp backup` first)."""
    from drp_cli.db import Store

    store = _store(ctx)
    assert isinstance(store, Store)
    before, after = store.upgrade()
    if before == after:
        typer.echo(f"{store.label} is already at schema {after}.")
    else:
        typer.echo(f"Upgraded {store.label} from schema {before or 'none'} to {after}.")
