"""Commands that look after the database: verify, db upgrade / status."""

from __future__ import annotations

from typing import Annotated

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


@app.command(rich_help_panel="Database")
def backup(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="FILE", help="Where to write the backup.")],
    fmt: Annotated[
        str,
        typer.Option("--format", help="sqlite (a working copy; SQLite only) or json (portable)."),
    ] = "",
    force: Annotated[bool, typer.Option(help="Replace FILE if it exists.")] = False,
) -> None:
    """Take a consistent copy while others are writing (files are owner-only)."""
    from drp_cli import backup as b
    from drp_cli.errors import InvalidInput

    store = tracker(ctx).store
    chosen = fmt or ("sqlite" if store.is_sqlite else "json")
    if chosen == "sqlite":
        path = b.backup_sqlite(store, target, force=force)
    elif chosen == "json":
        path = b.export_json(store, target, force=force)
    else:
        raise InvalidInput(f"unknown format {fmt!r}; allowed: sqlite, json")
    typer.echo(
        f"Backed up {store.label} to {path} ({chosen}). Back up {store.attachments_dir} too."
    )


@app.command(rich_help_panel="Database")
def restore(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FILE", help="A `drp backup --format json`.")],
) -> None:
    """Load a JSON backup into an empty database (SQLite or PostgreSQL)."""
    from drp_cli import backup as b

    store = tracker(ctx).store
    counts = b.restore_json(store, source)
    typer.echo(
        f"Restored {counts['concern']} concerns and {counts['event']} events into {store.label}."
    )
