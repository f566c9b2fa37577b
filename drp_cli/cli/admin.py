"""Commands that look after the database: init, verify, backup, restore, import, export,
db upgrade / status."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from drp_cli.cli.app import JsonOption, command_group, examples, tracker
from drp_cli.cli.output import print_json
from drp_cli.core.errors import EXIT_TAMPERED

commands = command_group()

db_app = command_group(
    help="The database's schema.",
    no_args_is_help=True,
    epilog=examples("drp db status", "drp db upgrade"),
)
commands.add_typer(db_app, name="db")


@commands.command(
    epilog=examples(
        "drp verify",
        "# fail unless the chain still holds the head an earlier run printed",
        'drp verify --expect "$(cat last-head.txt)"',
    )
)
def verify(
    ctx: typer.Context,
    as_json: JsonOption = False,
    expect: Annotated[
        str | None,
        typer.Option(
            metavar="SEQ:HASH",
            help="A head printed by an earlier verify: fail unless the chain still holds it "
            "(catches truncation and wholesale replacement).",
        ),
    ] = None,
    seal: Annotated[
        bool,
        typer.Option(
            help="Keyed mode: seal every link with the key in DRP_KEY_FILE (after "
            "checking the record without it)."
        ),
    ] = False,
    files: Annotated[
        bool, typer.Option("--files/--no-files", help="Check every attached file's SHA-256.")
    ] = True,
) -> None:
    """Check the tamper-evident record: the hash chain, every concern's state, the stored files.

    First the file itself: SQLite's integrity check reads every page and compares every
    index with its table (a damaged file exits 6 too). The chain covers events and closure
    days; every concern's stored state, items and attachment rows are compared with the fold
    of its events.
    """
    t = tracker(ctx)
    if seal:
        sealed = t.seal()
        typer.echo(f"Sealed {sealed} link{'s' if sealed != 1 else ''} with the key.")
    report = t.verify(expect=expect, files=files)
    # what the store checked of the file itself (SQLite's integrity check), as it says it
    checked = str(getattr(report, "integrity", ""))
    damaged = any(p.startswith("the file is damaged") for p in report.problems)
    if as_json:
        print_json(
            {"ok": report.ok, "head": {"seq": report.head_seq, "hash": report.head_hash},
             "mode": report.mode, "events": report.events, "closures": report.closures,
             "concerns": report.concerns, "files": report.files,
             "integrity": {"ok": not damaged, "checked": checked}, "problems": report.problems}
        )  # fmt: skip
    else:
        if report.ok:
            typer.echo(
                f"OK: {report.events} events and {report.closures} closure-day changes in an "
                f"unbroken chain; {report.concerns} concerns match their events; "
                f"{report.files} stored files match their SHA-256."
            )
        for problem in report.problems:
            kind, _, said = problem.partition("the file is damaged: ")
            typer.echo(f"DAMAGED: {said}" if not kind and said else f"TAMPERED: {problem}",
                       err=True)  # fmt: skip
        typer.echo(f"Head: {report.head}")
        typer.echo(
            "Mode: keyed (HMAC-SHA256 with the key in DRP_KEY_FILE)"
            if report.mode == "hmac-sha256"
            else "Mode: unkeyed (SHA-256 chain; set DRP_KEY_FILE for keyed mode)"
        )
        if checked and not damaged:
            typer.echo(f"File: {checked}.")
    if not report.ok:
        raise typer.Exit(EXIT_TAMPERED)


KEY_EXAMPLES = (
    "drp key create ~/.config/drp/chain.key",
    "# then set DRP_KEY_FILE=~/.config/drp/chain.key and run: drp verify --seal",
)
key_app = command_group(
    help="The key that seals the chain (keyed mode).",
    no_args_is_help=True,
    epilog=examples(*KEY_EXAMPLES),
)
commands.add_typer(key_app, name="key")


@key_app.command("create", epilog=examples(*KEY_EXAMPLES))
def key_create(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(metavar="FILE", help="Where to write the key (0600).")],
) -> None:
    """Write a new random key, owner-only; keep it outside the database's folder and backups."""
    from drp_cli.adapters.outpaths import check_protected, protected_paths
    from drp_cli.store.connection import Store
    from drp_cli.store.record import create_key

    # never the database, its -wal, -shm or -journal (SQLite would delete or overwrite the
    # key, and every command would then fail for want of it) nor inside the attachment store
    store = _store(ctx)
    assert isinstance(store, Store)
    check_protected(path, protected_paths(store), what="key file")
    written = create_key(path)
    typer.echo(f"Wrote a new key to {written}. Set DRP_KEY_FILE={written}, then run "
               "`drp verify --seal` once.")  # fmt: skip


def _store(ctx: typer.Context) -> object:
    from drp_cli.cli.app import _state
    from drp_cli.store.connection import Store

    return Store(_state(ctx).db, prepare=False)


@commands.command(epilog=examples("drp init", "drp --db ~/drp/team.sqlite3 init"))
def init(ctx: typer.Context) -> None:
    """Create the database (owner-only), or say that it is already there."""
    store = tracker(ctx).store  # refuses a file that is not drp's, or at another schema
    if not store.create():  # says "Created a new drp database at ..." itself
        typer.echo(f"drp database at {store.label} already exists (schema {store.revision()})")


@db_app.command("status", epilog=examples("drp db status", "drp db status --json"))
def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the database, its schema revision and the one this drp needs."""
    from drp_cli.store.connection import SCHEMA_REVISION, Store

    store = _store(ctx)
    assert isinstance(store, Store)
    store.require()
    current = store.revision()
    if as_json:
        print_json({"database": store.label, "revision": current, "needed": SCHEMA_REVISION})
        return
    if current == SCHEMA_REVISION:
        state = "up to date"
    elif current and current.isdigit() and current > SCHEMA_REVISION:
        # a newer drp wrote it: an upgrade of the database cannot help, one of drp can
        state = "the database is newer than this drp: upgrade drp, never the database"
    else:
        state = "run `drp db upgrade`"
    typer.echo(f"{store.label}: schema {current or 'none'} (this drp: {SCHEMA_REVISION}); {state}")


@db_app.command(
    "upgrade",
    epilog=examples(
        "# take a backup first: drp backup before.json --format json", "drp db upgrade"
    ),
)
def upgrade(ctx: typer.Context) -> None:
    """Upgrade the database's schema to this drp's (take a `drp backup` first)."""
    from drp_cli.services.tracker import Tracker
    from drp_cli.store.connection import Store

    store = _store(ctx)
    assert isinstance(store, Store)
    before, after = Tracker(store).upgrade()  # the schema, then the data folded into the chain
    if before == after:
        typer.echo(f"{store.label} is already at schema {after}.")
    else:
        typer.echo(f"Upgraded {store.label} from schema {before or 'none'} to {after}.")


@commands.command(
    epilog=examples(
        "drp backup drp-2025-03-31.sqlite3",
        "drp backup drp-2025-03-31.json --format json",
    )
)
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
    from drp_cli.core.errors import InvalidInput
    from drp_cli.services import backup as b

    store = tracker(ctx).store
    chosen = fmt or ("sqlite" if store.is_sqlite else "json")
    if chosen in ("sqlite", "json"):
        store.require()  # never a copy of nothing
    if chosen == "sqlite":
        path = b.backup_sqlite(store, target, force=force)
    elif chosen == "json":
        path = b.export_json(store, target, force=force)
    else:
        raise InvalidInput(f"unknown format {fmt!r}; allowed: sqlite, json")
    typer.echo(
        f"Backed up {store.label} to {path} ({chosen}). Back up {store.attachments_dir} too."
    )


@commands.command(epilog=examples("drp restore drp-2025-03-31.json"))
def restore(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FILE", help="A `drp backup --format json`.")],
) -> None:
    """Load a JSON backup into an empty database (SQLite or PostgreSQL)."""
    from drp_cli.services import backup as b

    store = tracker(ctx).store
    # a new database is the usual place to restore into: restore_json creates it once the
    # backup has been read and checked, and removes it again if the restore fails
    counts = b.restore_json(store, source)
    typer.echo(
        f"Restored {counts['concern']} concerns and {counts['event']} events into {store.label}."
    )


@commands.command(
    "import",
    epilog=examples(
        "drp import log.xlsx --suggest-map",
        "drp import log.xlsx --map log.map.toml --dry-run",
        "drp import log.xlsx --map log.map.toml",
        "drp import log.xlsx --map log.map.toml --update",
        "drp import tracker.csv",
    ),
)
def import_(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="An Excel workbook (.xlsx), a CSV (comma, semicolon or tab; UTF-8 or "
            "Windows-1252), or drp's own export (CSV, JSON, workbook or folder of CSV files).",
        ),
    ],
    map_path: Annotated[
        str | None,
        typer.Option(
            "--map",
            metavar="MAP",
            help="A TOML map: which column holds which field and what the sheet's words "
            "mean (see README, 'Bringing in the council's spreadsheet').",
        ),
    ] = None,
    suggest_map: Annotated[
        bool,
        typer.Option(
            "--suggest-map",
            help="Print a starting map for FILE (its columns and words), with every word drp "
            "cannot place marked CHOOSE; nothing is imported.",
        ),
    ] = False,
    sheet: Annotated[
        str | None, typer.Option("--sheet", metavar="NAME", help="The workbook's sheet to read.")
    ] = None,
    ignore_extra: Annotated[
        bool,
        typer.Option(
            "--ignore-extra",
            help="Leave out the columns the map does not use (else kept as an imported note).",
        ),
    ] = False,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Record what changed in the sheet since the last import, as events "
            "(escalated, resolved, responded, amended); without it changes are only listed.",
        ),
    ] = False,
    protocol: Annotated[
        str | None,
        typer.Option("--protocol", help="With --suggest-map: the protocol every row is under."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and say what would happen.")
    ] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who is importing.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Import concerns from a spreadsheet tracker: all rows or none; importing it again
    records what changed (with --update), never a second copy."""
    import sys

    from drp_cli.exchange import transfer

    if suggest_map:
        from drp_cli.exchange.sheetmap import suggest

        found = suggest(source, sheet=sheet, protocol=protocol)
        typer.echo(found.text, nl=False)
        unmapped = sum(len(v) for v in found.unmapped.values())
        if unmapped or found.missing:
            typer.echo(
                f"{unmapped} word{'s' if unmapped != 1 else ''} and {len(found.missing)} "
                "required field"
                + ("s" if len(found.missing) != 1 else "")
                + " need a choice (marked CHOOSE).",
                err=True,
            )
        return
    t = tracker(ctx)
    progress_bar: Any = None
    task: Any = None

    def progress(done: int) -> None:
        """Rows written so far (the file is read once, so there is no total to show)."""
        nonlocal progress_bar, task
        if not sys.stderr.isatty():
            return
        if progress_bar is None:
            from rich.progress import Progress, SpinnerColumn, TextColumn

            progress_bar = Progress(SpinnerColumn(), TextColumn("Importing: {task.completed:,} "
                                    "rows written"), transient=True)  # fmt: skip
            progress_bar.start()
            task = progress_bar.add_task("Importing", total=None)
        progress_bar.update(task, completed=done)

    try:
        result = transfer.import_file(
            t, source, dry_run=dry_run, by=by, progress=progress, map_path=map_path,
            sheet=sheet, ignore_extra=ignore_extra, update=update,
        )  # fmt: skip
    finally:
        if progress_bar is not None:
            progress_bar.stop()
    if result.stale_removed:
        n = result.stale_removed
        typer.echo(f"Removed {n} unfinished database file{'s' if n != 1 else ''} that a "
                   "stopped import had left in the data folder.", err=True)  # fmt: skip
    if as_json:
        print_json(
            {"rows": result.rows, "imported": result.imported, "skipped": result.skipped,
             "events": result.events, "dry_run": result.dry_run,
             "unchanged": result.unchanged, "updated": result.updated,
             "changed": [{"row": p.label, "concern": p.concern_id, "ref": p.ref,
                          "differences": p.differences, "not_changed": p.not_changed}
                         for p in result.changed],
             "blank_rows": result.blank_rows, "total_rows": result.total_rows,
             "stale_removed": result.stale_removed}
        )  # fmt: skip
        return
    typer.echo(import_summary(result, dry_run=dry_run, update=update))


def import_summary(result: Any, *, dry_run: bool, update: bool) -> str:
    """What an import did, in words: counts, then each changed row's differences."""
    verb = "Would import" if dry_run else "Imported"
    parts = []
    recordable = [p for p in result.changed if p.changed]
    pending = 0 if result.updated else len(recordable)
    others = len(result.changed) - len(recordable)  # differences drp does not record
    already = result.skipped - result.unchanged - pending - others  # drp's own: not compared
    if result.unchanged:
        parts.append(f"{result.unchanged} unchanged")
    if already:
        parts.append(f"{already} already in the database")
    if result.updated:
        parts.append(f"{result.updated} updated")
    elif pending:
        hint = ")" if dry_run and update else "; --update records them)"
        parts.append(f"{pending} changed in the sheet (not recorded{hint}")
    if others:
        parts.append(f"{others} with differences drp does not record from a sheet")
    skipped = []
    if result.blank_rows:
        skipped.append(f"{result.blank_rows} blank row{'s' if result.blank_rows != 1 else ''}")
    if result.total_rows:
        skipped.append(f"{result.total_rows} total row{'s' if result.total_rows != 1 else ''}")
    line = f"{verb} {result.imported} of {result.rows} rows"
    if parts:
        line += "; " + "; ".join(parts)
    if skipped:
        line += "; skipped " + " and ".join(skipped)
    line += "." if not dry_run else " (nothing was written)."
    lines = [line]
    for p in result.changed:
        said = "; ".join(p.differences) or "nothing to record"
        lines.append(f"  {p.label} ({p.ref}, concern {p.concern_id}): {said}")
        lines += [f"    not changed: {n}" for n in p.not_changed]
    return "\n".join(lines)


@commands.command(
    "export",
    epilog=examples(
        "drp export -o concerns.csv",
        "drp export --format json -o concerns.json",
        "# for managers: a workbook, or a folder of CSV files (one per table)",
        "drp export --format xlsx -o drp-2025-03.xlsx",
        "drp export --format csv -o drp-2025-03",
    ),
)
def export(
    ctx: typer.Context,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            metavar="PATH",
            help="Write to PATH: the workbook (xlsx); with csv, a PATH without a suffix "
            "(drp-2025-03, out/) is a folder of flat CSV files, a file name with one "
            "(export.csv) the one-file export.",
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="csv, json or xlsx (a workbook; needs -o).")
    ] = "csv",
    on: Annotated[
        str | None,
        typer.Option(
            "--on",
            metavar="DATE",
            help="Judge deadlines (stages met or missed, overdue) on DATE in the workbook "
            "and the folder (default: today).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace PATH if drp wrote it.")] = False,
) -> None:
    """Export every concern with its events (CSV or JSON); `drp import` takes it back.

    For managers, the flat tables (concerns, events, stage visits, actions, closure days): a
    workbook (--format xlsx -o FILE) or a folder of CSV files (--format csv -o DIR); `drp
    import` takes those back too."""
    from drp_cli.exchange import export

    t = tracker(ctx)
    text, count = export.export_file(
        t, output, fmt, force=force, judged_on=t.judge_day(on) if on is not None else None
    )
    if text is not None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"Exported {count} concerns to {output}.")
