"""Commands that move concerns in and out: import (a spreadsheet tracker or drp's own
export) and export."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from drp_cli.cli.app import JsonOption, command_group, examples, tracker
from drp_cli.cli.output import print_json
from drp_cli.core.textsafe import visible

commands = command_group()


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
    attachments: Annotated[
        str | None,
        typer.Option(
            "--attachments",
            metavar="DIR",
            help="drp's own export with attached files: the folder that holds them (the "
            "exporting database's DATABASE-attachments folder, or files named by their "
            "SHA-256); they are copied into this database's store.",
        ),
    ] = None,
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
                + " need a choice (marked CHOOSE)"
                + (
                    f": {', '.join(found.missing)}; edit the lines marked CHOOSE in the map"
                    if found.missing
                    else "."
                ),
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
            sheet=sheet, ignore_extra=ignore_extra, update=update, attachments=attachments,
        )  # fmt: skip
    finally:
        if progress_bar is not None:
            progress_bar.stop()
    if result.stale_removed:
        n = result.stale_removed
        typer.echo(f"Removed {n} unfinished database file{'s' if n != 1 else ''} that a "
                   "stopped import had left in the data folder.", err=True)  # fmt: skip
    if result.formal_inferred:
        n = result.formal_inferred
        typer.echo(
            f"Warning: {n} row{'s' if n != 1 else ''} at a formal stage after the first "
            f"{'give' if n != 1 else 'gives'} no formal start: drp dated the formal process "
            "from the current stage's start. Name the column that holds it in the map "
            '([columns] formal_started_on), or say formal_started_on = "infer" under '
            "[defaults].",
            err=True,
        )
    if as_json:
        print_json(
            {"rows": result.rows, "imported": result.imported, "skipped": result.skipped,
             "formal_inferred": result.formal_inferred,
             "events": result.events, "dry_run": result.dry_run,
             "unchanged": result.unchanged, "updated": result.updated,
             "changed": [{"row": p.label, "concern": p.concern_id, "ref": p.ref,
                          "differences": p.differences, "not_changed": p.not_changed}
                         for p in result.changed],
             "blank_rows": result.blank_rows, "total_rows": result.total_rows,
             "stale_removed": result.stale_removed}
            | ({"attachments": result.attachments} if result.attachments else {})
            | ({"renumbered": [{"old_id": old, "ref": ref, "id": new}
                               for old, ref, new in result.written]}
               if result.written else {})
        )  # fmt: skip
        return
    typer.echo(import_summary(result, dry_run=dry_run, update=update))
    if result.attachments:
        n = result.attachments
        typer.echo(f"Carried {n} attached file{'s' if n != 1 else ''} into the attachments store.")
    if result.written:
        typer.echo(renumbering(result.written))


#: the most concerns whose new ids are listed one a line (--json gives them all)
LISTED = 50


def renumbering(written: list[tuple[int | None, str, int]]) -> str:
    """How the concerns of drp's own export are numbered here: a table, one a line."""
    n = len(written)
    if n > LISTED:
        return (f"The {n:,} concerns have new ids here (ids {written[0][2]} to {written[-1][2]}); "
                "--json lists each with its id in the export.")  # fmt: skip
    with_old = any(old is not None for old, _ref, _new in written)
    head = ("Ids in the export -> ids here:" if with_old
            else "The concerns' ids here (the export gives none):")  # fmt: skip
    width = max(len(str(old)) for old, _r, _n in written) if with_old else 0
    lines = [head]
    for old, ref, new in written:
        shown = visible(ref, one_line=True)
        lines.append(f"  {str(old).rjust(width)} -> {new}  {shown}" if with_old
                     else f"  {new}  {shown}")  # fmt: skip
    return "\n".join(lines)


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
    pseudonymise: Annotated[
        bool,
        typer.Option(
            "--pseudonymise",
            help="Replace every child's, carer's and chair's reference, every person's name "
            "and every free text with keyed pseudonyms (the same under the same key: exports "
            "can be joined; no one without the key can go back). Dates stay. Needs the key.",
        ),
    ] = False,
    pseudonym_key: Annotated[
        str | None,
        typer.Option(
            "--pseudonym-key",
            metavar="FILE",
            help="The council's pseudonym key file (owner-only; default: "
            "$DRP_PSEUDONYM_KEY_FILE; `drp key create FILE` makes one).",
        ),
    ] = None,
) -> None:
    """Export every concern with its events (CSV, JSON or xlsx); `drp import` takes it back.

    For managers, the flat tables (concerns, events, stage visits, actions, closure days): a
    workbook (--format xlsx -o FILE) or a folder of CSV files (--format csv -o DIR); `drp
    import` takes those back too."""
    from drp_cli.exchange import export

    pseudonym = None
    if pseudonymise:
        from drp_cli.exchange.pseudonymise import Pseudonymiser, load_key

        pseudonym = Pseudonymiser(load_key(pseudonym_key))
    elif pseudonym_key is not None:
        from drp_cli.core.errors import InvalidInput

        raise InvalidInput("--pseudonym-key is the key of --pseudonymise: give both")
    t = tracker(ctx)
    from drp_cli.services import audit

    given = [("--format", fmt), ("-o", output is not None), ("--pseudonymise", pseudonymise)]
    audit.record_read(t, "export", whole=True, detail=audit.options_detail(given))
    text, count = export.export_file(
        t,
        output,
        fmt,
        force=force,
        judged_on=t.judge_day(on) if on is not None else None,
        pseudonym=pseudonym,
    )
    if text is not None:
        typer.echo(text, nl=False)
    else:
        typer.echo(visible(f"Exported {count} concerns to {output}.", one_line=True))
