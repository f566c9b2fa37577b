"""Export of the whole record: drp's own JSON or CSV (every concern with its events, which
:mod:`drp_cli.exchange.transfer` imports back as they were) and the workbook or CSV folder of
flat tables (:mod:`drp_cli.exchange.flat`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drp_cli.core.dates import iso
from drp_cli.core.errors import InvalidInput
from drp_cli.core.textsafe import neutralise_cell
from drp_cli.domain.views import shown_details
from drp_cli.exchange.checks import COLUMNS
from drp_cli.services.tracker import STAGE_ENTRIES, Tracker

if TYPE_CHECKING:
    from drp_cli.domain.views import ConcernView
    from drp_cli.exchange.pseudonymise import Pseudonymiser


# -- export ----------------------------------------------------------------------------------
def concern_views(tracker: Tracker, pseudonym: Pseudonymiser | None = None) -> list[ConcernView]:
    """Every concern, pseudonymised with ``pseudonym`` when given
    (:mod:`drp_cli.exchange.pseudonymise`)."""
    views = tracker.concerns(status="all")
    return pseudonym.views(views) if pseudonym is not None else views


def export_rows(
    tracker: Tracker, views: Iterable[ConcernView] | None = None
) -> Iterable[dict[str, Any]]:
    for c in views if views is not None else tracker.concerns(status="all"):
        entries = [e for e in c.events if e.kind in STAGE_ENTRIES]
        due = entries[-1].details.get("due") if entries else None
        yield {
            "external_ref": c.external_ref or "",
            "uid": c.uid or "",
            "protocol": c.protocol,
            "child": c.child,
            "category": c.category,
            "issue": c.issue or "",
            "summary": c.summary,
            "impact": c.impact,
            "recommended": c.recommended,
            "raised_by": c.raised_by,
            "role": c.role,
            "opened_on": iso(c.opened_on),
            "stage": c.stage,
            "stage_started_on": iso(c.stage_started_on),
            "formal_started_on": iso(c.formal_started_on) or "",
            "due": due or "",
            "status": c.status,
            "referred_on": iso(c.referred_on) or "",
            "closed_on": iso(c.closed_on) or "",
            "outcome": c.outcome or "",
            "events": [
                {
                    "kind": e.kind,
                    "on": iso(e.on),
                    "stage": e.stage,
                    "from_stage": e.from_stage,
                    "by": e.by,
                    "recorded_at": e.recorded_at.astimezone(dt.UTC).isoformat(),
                    "text": e.text,
                    "details": shown_details(e),
                }
                for e in sorted(c.events, key=lambda e: e.seq)
            ],
        }


def is_folder_target(target: str | os.PathLike[str]) -> bool:
    """``drp export --format csv -o TARGET``: a folder of flat CSV files when TARGET's name
    has no suffix (``-o drp-2025-03``, ``-o out/``); a file name with one (``export.csv``,
    ``x.txt``) gets the one-file export, as before."""
    return Path(target).suffix == "" or str(target).endswith(("/", os.sep))


def export_file(
    tracker: Tracker,
    target: str | os.PathLike[str] | None,
    fmt: str,
    *,
    force: bool = True,
    judged_on: dt.date | None = None,
    pseudonym: Pseudonymiser | None = None,
) -> tuple[str | None, int]:
    """Write all concerns with their events and the local closure days in force; returns
    (text if no target, count). CSV cells that a spreadsheet would run as formulas are
    neutralised (and restored by import). ``xlsx``, and ``csv`` to a target that is not a
    ``.csv`` file: the flat tables of :mod:`drp_cli.exchange.flat` (a workbook; a folder of CSV
    files), their deadlines judged on ``judged_on`` (today). ``pseudonym``: every format
    pseudonymised (:mod:`drp_cli.exchange.pseudonymise`; the folder without the attached
    documents)."""
    views = concern_views(tracker, pseudonym) if pseudonym is not None else None
    if fmt == "xlsx" or (fmt == "csv" and target is not None and is_folder_target(target)):
        # the flat tables for managers (drp_cli/exchange/flat.py): a workbook, or a folder of CSVs
        from drp_cli.exchange import flat

        if target is None:
            raise InvalidInput("--format xlsx needs --output FILE")
        return None, flat.export(tracker, str(target), fmt, judged_on=judged_on or
                                 tracker.today(), force=force, views=views)  # fmt: skip
    if fmt not in ("csv", "json"):
        raise InvalidInput(f"unknown format {fmt!r}; allowed: csv, json, xlsx")
    rows = list(export_rows(tracker, views))
    closures = [{"day": iso(c.day), "reason": c.reason} for c in tracker.closures()]
    if fmt == "json":
        text = json.dumps({"format": "drp-export", "version": 1, "closure_days": closures,
                           "concerns": rows}, indent=1, ensure_ascii=False) + "\n"  # fmt: skip
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for n, row in enumerate(rows):
            cells = {**row, "events": json.dumps(row["events"], ensure_ascii=False),
                     "closure_days": json.dumps(closures, ensure_ascii=False)
                     if n == 0 and closures else ""}  # fmt: skip
            writer.writerow({k: neutralise_cell(v) if isinstance(v, str) else v
                             for k, v in cells.items()})  # fmt: skip
        text = buffer.getvalue()
    if target is None:
        return text, len(rows)
    from drp_cli.adapters.outpaths import protected_paths, write_file

    write_file(target, text, protected=protected_paths(tracker.store), force=force,
               what="export")  # fmt: skip
    return None, len(rows)
