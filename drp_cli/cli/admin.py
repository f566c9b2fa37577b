"""Commands that look after the database: init, verify, key, backup, restore, db upgrade /
status. (import and export are in :mod:`drp_cli.cli.transfers`.)"""

from __future__ import annotations

from typing import Annotated

import typer

from drp_cli.cli.app import JsonOption, command_group, examples, tracker
from drp_cli.cli.output import print_json
from drp_cli.core.errors import EXIT_TAMPERED
from drp_cli.core.textsafe import shown_path


def _a_path(value: str) -> str:
    """A file argument the system can name: no NUL character (a usage error, exit 2)."""
    if "\x00" in value:
        raise typer.BadParameter("a file path cannot hold a NUL character")
    return value


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
             "staff": report.staff, "concerns": report.concerns, "files": report.files,
             "integrity": {"ok": not damaged, "checked": checked}, "problems": report.problems}
        )  # fmt: skip
    else:
        if report.ok:
            staff = (
                f", {report.staff} staff-directory entr{'ies' if report.staff != 1 else 'y'}"
                if report.staff
                else ""
            )
            typer.echo(
                f"OK: {report.events} events{staff} and {report.closures} closure-day changes "
                f"in an unbroken chain; {report.concerns} concerns match their events; "
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
    path: Annotated[
        str, typer.Argument(metavar="FILE", help="Where to write the key (0600).", callback=_a_path)
    ],
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
    shown = shown_path(written)
    typer.echo(f"Wrote a new key to {shown}. Set DRP_KEY_FILE={shown}, then run "
               "`drp verify --seal` once.")  # fmt: skip


def _store(ctx: typer.Context) -> object:
    from drp_cli.cli.app import _state
    from drp_cli.store.connection import Store

    return Store(_state(ctx).db, prepare=False)


@commands.command(
    epilog=examples(
        "drp init",
        "drp --db ~/drp/team.sqlite3 init",
        "# with DRP_DB_KEY_FILE naming where the key goes (outside the backups):",
        "drp init --encrypted",
    )
)
def init(
    ctx: typer.Context,
    encrypted: Annotated[
        bool,
        typer.Option(
            "--encrypted",
            help="Encrypt the database (SQLCipher, AES-256) with a random key written "
            "owner-only to the file named by DRP_DB_KEY_FILE (or the config's db_key_file); "
            "a key already there is used.",
        ),
    ] = False,
) -> None:
    """Create the database (owner-only), or say that it is already there."""
    store = tracker(ctx).store  # refuses a file that is not drp's, or at another schema
    if encrypted:
        from drp_cli.services import dbcrypt

        choice = dbcrypt.init_encrypted(store)  # says "Created a new drp database at ..."
        if choice is None:
            typer.echo(f"encrypted drp database at {shown_path(store.label)} already exists "
                       f"(schema {store.revision()})")  # fmt: skip
            return
        said = "Wrote a new key to" if choice.created else "Used the key in"
        typer.echo(f"Encrypted it with SQLCipher. {said} {shown_path(choice.path)}: keep it "
                   "owner-only, "
                   "apart from the database and its backups; without it the database cannot "
                   "be read.")  # fmt: skip
        return
    if not store.create():  # says "Created a new drp database at ..." itself
        typer.echo(
            f"drp database at {shown_path(store.label)} already exists (schema {store.revision()})"
        )


@db_app.command(
    "encrypt",
    epilog=examples(
        "# with DRP_DB_KEY_FILE naming where the key goes (outside the backups):",
        "# (take a `drp backup` first)",
        "drp db encrypt",
    ),
)
def encrypt(ctx: typer.Context) -> None:
    """Encrypt a plain SQLite database in place (SQLCipher), with the key in DRP_DB_KEY_FILE.

    A new random key is written there if the file is not there yet. The attached files are
    encrypted first (beside the plain ones); the encrypted copy of the database is made
    beside it, checked as `drp verify` checks it, then renamed over it; then the plain
    attached files are removed. Stopped part way, the database still works: run it again
    to finish. Run it while no other drp uses the database; take a `drp backup` first.
    """
    from drp_cli.services import dbcrypt
    from drp_cli.store.connection import Store

    store = _store(ctx)
    assert isinstance(store, Store)
    choice = dbcrypt.encrypt(store)
    files = shown_path(store.attachments_dir)
    if choice.resumed:  # a run that was stopped: its plain attached files finished
        typer.echo(f"{shown_path(store.label)} was encrypted already; encrypted the attached "
                   f"files left plain in {files} and removed the plain copies.")  # fmt: skip
        return
    said = "a new key written to" if choice.created else "the key in"
    plural = "s" if choice.files != 1 else ""
    also = f", and its {choice.files} attached file{plural} in {files}," if choice.files else ""
    typer.echo(f"Encrypted {shown_path(store.label)}{also} with {said} "
               f"{shown_path(choice.path)}. Backups taken before "
               "are not encrypted: replace them.")  # fmt: skip


@db_app.command("rekey", epilog=examples("drp db rekey"))
def rekey(ctx: typer.Context) -> None:
    """Encrypt the database and its attached files with a new random key, written to
    DRP_DB_KEY_FILE.

    The old key is kept beside it as KEYFILE.old (owner-only): backups taken before the
    rekey still need it. Delete it once they are gone. The new key is written first to
    KEYFILE.new: a rekey that was stopped (the machine off, the process killed) is finished
    by running it again.
    """
    from drp_cli.services import dbcrypt
    from drp_cli.store.connection import Store

    store = _store(ctx)
    assert isinstance(store, Store)
    done = dbcrypt.rekey(store)
    path = done.path
    if done.resumed:
        typer.echo(
            f"Finished the rekey of {shown_path(store.label)} that was stopped: the new key is "
            f"in {shown_path(path)}; the old one is in {shown_path(path)}.old for the backups "
            "taken before (delete it once they are gone). Run `drp db rekey` again for "
            "another key."
        )
        return
    typer.echo(
        f"Rekeyed {shown_path(store.label)}: the new key is in {shown_path(path)}; the old one "
        f"is in {shown_path(path)}.old "
        "for the backups taken before (delete it once they are gone)."
    )


@db_app.command("scrub", epilog=examples("drp db scrub"))
def scrub(ctx: typer.Context) -> None:
    """Wipe copies of redacted or purged text from the database's free space.

    `drp redact` and `drp purge` do this as they end; where the database was busy then
    (on PostgreSQL the rewrite waits until no one else reads it), they say so, exit 5, and
    this finishes it. It changes no record; running it again is harmless.
    """
    from drp_cli.services import scrub as scrubbing
    from drp_cli.store.connection import Store

    store = _store(ctx)
    assert isinstance(store, Store)
    scrubbing.scrub(store)
    typer.echo(f"Scrubbed {shown_path(store.label)}: no copy of redacted or purged text is "
               "left in its free space.")  # fmt: skip


@db_app.command("status", epilog=examples("drp db status", "drp db status --json"))
def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the database, its schema revision and the one this drp needs."""
    from drp_cli.store import filestore
    from drp_cli.store.connection import SCHEMA_REVISION, Store

    store = _store(ctx)
    assert isinstance(store, Store)
    store.require()
    current = store.revision()
    # encrypted: SQLCipher (a SQLite file); None for a server database
    encrypted = store.encrypted if store.path is not None else None
    # an encrypted database's attached files still kept plain (a stopped `drp db encrypt`,
    # or an older drp): readable by whoever reads the folder, until `drp db encrypt` runs
    plain = len(filestore.plain_files(store.attachments_dir)) if encrypted else 0
    if as_json:
        print_json({"database": store.label, "revision": current, "needed": SCHEMA_REVISION,
                    "encrypted": encrypted, "plain_files": plain})  # fmt: skip
        return
    if current == SCHEMA_REVISION:
        state = "up to date"
    elif current and current.isdigit() and current > SCHEMA_REVISION:
        # a newer drp wrote it: an upgrade of the database cannot help, one of drp can
        state = "the database is newer than this drp: upgrade drp, never the database"
    else:
        state = "run `drp db upgrade`"
    typer.echo(
        f"{shown_path(store.label)}: schema {current or 'none'} (this drp: {SCHEMA_REVISION}); "
        f"{state}"
    )
    if plain:
        files = "file is" if plain == 1 else "files are"
        typer.echo(
            f"{plain} attached {files} kept plain in {shown_path(store.attachments_dir)}: run "
            "`drp db encrypt` to encrypt them"
        )


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
        typer.echo(f"{shown_path(store.label)} is already at schema {after}.")
    else:
        typer.echo(f"Upgraded {shown_path(store.label)} from schema {before or 'none'} to {after}.")


@commands.command(
    epilog=examples(
        "drp backup drp-2025-03-31.sqlite3",
        "drp backup drp-2025-03-31.json --format json",
    )
)
def backup(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(metavar="FILE", help="Where to write the backup.", callback=_a_path)
    ],
    fmt: Annotated[
        str,
        typer.Option("--format", help="sqlite (a working copy; SQLite only) or json (portable)."),
    ] = "",
    force: Annotated[bool, typer.Option(help="Replace FILE if it exists.")] = False,
    encrypt: Annotated[
        bool,
        typer.Option(
            "--encrypt",
            help="json: encrypt the backup (AES-256-GCM) with a key derived from the "
            "database key in DRP_DB_KEY_FILE; restore needs the same key. (A sqlite copy of "
            "an encrypted database is always encrypted with its key.)",
        ),
    ] = False,
    plain: Annotated[
        bool,
        typer.Option(
            "--plain",
            help="json of an encrypted database: write it readable, on purpose (to move the "
            "record to PostgreSQL); without --encrypt or --plain it is refused.",
        ),
    ] = False,
) -> None:
    """Take a consistent copy while others are writing (files are owner-only)."""
    from drp_cli.core.errors import InvalidInput
    from drp_cli.services import backup as b

    store = tracker(ctx).store
    chosen = fmt or ("sqlite" if store.is_sqlite else "json")
    if encrypt and chosen != "json":
        raise InvalidInput("--encrypt is for --format json: a sqlite copy of an encrypted "
                           "database is encrypted already")  # fmt: skip
    if plain and (chosen != "json" or encrypt):
        raise InvalidInput("--plain is for --format json without --encrypt")
    if chosen == "json" and not encrypt and not plain and store.is_sqlite and store.encrypted:
        # never a readable copy of an encrypted database by default (issue 31 item 1)
        raise InvalidInput("the database is encrypted: a JSON backup would hold every child's "
                           "record readable; give --encrypt, or --plain to write it readable "
                           "on purpose")  # fmt: skip
    if chosen in ("sqlite", "json"):
        store.require()  # never a copy of nothing
        from drp_cli.services import audit

        audit.record_read(tracker(ctx), "backup", whole=True, detail=audit.options_detail(
            [("--format", chosen), ("--encrypt", encrypt)]))  # fmt: skip
    if chosen == "sqlite":
        path = b.backup_sqlite(store, target, force=force)
    elif chosen == "json":
        path = b.export_json(store, target, force=force, encrypt=encrypt)
    else:
        raise InvalidInput(f"unknown format {fmt!r}; allowed: sqlite, json")
    typer.echo(
        f"Backed up {shown_path(store.label)} to {shown_path(path)} ({chosen}). Back up "
        f"{shown_path(store.attachments_dir)} too."
    )


@commands.command(epilog=examples("drp restore drp-2025-03-31.json"))
def restore(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(metavar="FILE", help="A `drp backup --format json`.", callback=_a_path)
    ],
) -> None:
    """Load a JSON backup into an empty database (SQLite or PostgreSQL)."""
    from drp_cli.services import backup as b

    t = tracker(ctx)
    store = t.store
    # a new database is the usual place to restore into: restore_json creates it once the
    # backup has been read and checked, and removes it again if the restore fails; a keyed
    # record's seals are checked with the key
    counts = b.restore_json(store, source, protocols=t.protocols.protocols, key=t.key)
    typer.echo(
        f"Restored {counts['concern']} concerns and {counts['event']} events into "
        f"{shown_path(store.label)}."
    )
