"""The hostile sweep of wave 7's import speed work (sw7i, issue 32).

The import of 947a2e8 was compared with the tree before wave 7 (97d29e0) on hostile files:
drp's own exports of a rich record (1,500 concerns under every protocol, route and role, with
holds, reopenings, retractions, redactions, amendments, due dates and a closure day), as
exported, without ``recorded_at`` (the fast check) and as an older drp wrote them (the
recorded fields missing, non-ASCII values); 3,465 spreadsheet rows of one stage visit each
(every protocol, stage and role, on bank holidays, a closure day and 2024-02-29, formal start
and due date given or not, open and closed: the kept deadlines' key); cells and event texts
with tabs, newlines, NUL, DEL, NEL, bidi and line separators, a BOM, 200,000 characters;
days such as 2025-3-4, ' 2025-03-04', 0001-01-01, 2200-01-01, 2025-02-29 and Arabic-Indic
digits; JSON with escaped NUL, lone and paired surrogates, CRLF, tabs, a BOM, NaN, duplicate
keys, trailing garbage, UTF-16; a bad row after thirty good ones in the helpers' second turn
(foreign keys off); re-imports, ``--update``, ``--dry-run``, a keyed chain, and a recorder
named ``O'Brien VALUES (?, ?)``. Every table (row by row), ``verify``, ``show --json``,
``list --json`` and ``overdue --json``, the exit status and the messages were the same.

What is pinned here is older than wave 7, and as wrong before it as after: an event's
details holding a list nested about a thousand deep stop the import with an internal error
(exit 70) where a refusal (exit 2) naming the row and event is due.
"""

from __future__ import annotations

import json

import pytest


def _row() -> dict[str, object]:
    return {
        "protocol": "knowsley",
        "child": "KN-1",
        "category": "statutory",
        "summary": "No allocated social worker",
        "opened_on": "2026-05-01",
        "stage": "stage-1",
        "stage_started_on": "2026-05-01",
        "status": "open",
        "events": [
            {"kind": "imported", "on": "2026-05-01", "stage": "stage-1",
             "text": "No allocated social worker", "details": {}},
            {"kind": "note", "on": "2026-05-02", "text": "Phoned", "details": {"a": "@@"}},
        ],
    }  # fmt: skip


def _file(tmp_path, depth: int):
    # json.dumps would itself stop at such a depth: the nesting is spelled by hand
    text = json.dumps([_row()]).replace('"@@"', "[" * depth + "]" * depth)
    path = tmp_path / "rows.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("depth", [300, 500])
def test_a_nested_detail_drp_can_spell_is_imported(drp, sql, tmp_path, depth):
    """The same row with its detail nested 300 or 500 deep (checks.DETAIL_DEPTH) is
    imported, and read back whole (what the test below refuses is only the depth)."""
    r = drp("import", str(_file(tmp_path, depth)), "--by", "bench")
    assert (r.exit_code, r.stdout) == (0, "Imported 1 of 1 rows.\n"), r.stderr
    [(details,)] = sql("select details from event where kind = 'note'")
    assert details == '{"a": ' + "[" * depth + "]" * depth + "}"
    assert drp("verify").exit_code == 0


# found by sw7i (older than wave 7: exit 70, a RecursionError spelling the details, or a
# RuntimeError in a helper); mended by the lead: refused, naming the row, event and detail
@pytest.mark.parametrize("depth", [501, 1000, 5000])
def test_an_event_detail_nested_too_deep_is_refused_not_a_crash(drp, tmp_path, depth):
    r = drp("import", str(_file(tmp_path, depth)), "--by", "bench")
    assert (r.exit_code, r.stdout, r.stderr) == (
        2, "", "Error: 1 problem found; nothing was imported:\n"
        "  item 1, column events: event 2: details.a nests lists more than 500 deep\n",
    )  # fmt: skip


def test_a_detail_nested_too_deep_is_refused_by_the_helpers_too(drp, db_path, tmp_path):
    """A file large enough to be read by two helper processes (4 MB), the deep row last:
    the same refusal, and no database left."""
    rows = []
    for n in range(1, 9001):
        row = _row()
        row["child"] = f"KN-{n}"
        row["summary"] = "No allocated social worker " + "x" * 300
        row["events"][0]["text"] = row["summary"]  # type: ignore[index]
        rows.append(row)
    text = json.dumps(rows)
    cut = text.rindex('"@@"')
    text = text[:cut].replace('"@@"', '"y"') + "[" * 1000 + "]" * 1000 + text[cut + 4 :]
    path = tmp_path / "rows.json"
    path.write_text(text, encoding="utf-8")
    from drp_cli.exchange.transfer import PARALLEL_FROM

    assert path.stat().st_size >= PARALLEL_FROM
    r = drp("import", str(path), "--by", "bench")
    assert (r.exit_code, r.stdout, r.stderr) == (
        2, "", "Error: 1 problem found; nothing was imported:\n"
        "  item 9000, column events: event 2: details.a nests lists more than 500 deep\n",
    )  # fmt: skip
    assert not db_path.exists()
