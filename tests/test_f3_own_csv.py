"""drp's own columns take dates and stages as the commands do (sweep item 10): a date by
core.dates.parse_date (YYYY-MM-DD or DD/MM/YYYY, never month first, never a two-digit year,
never an ISO week), a stage by Protocol.stage_named ("Stage 1" is stage-1); one rule, the
commands', read the fast way first for what drp itself writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HEADER = "protocol,child,category,summary,opened_on,stage,stage_started_on,status"
TAKES = ("is not a date drp takes (DD/MM/YYYY or YYYY-MM-DD, from 1990-01-01 to "
         "2199-12-31)")  # fmt: skip


def own(tmp_path: Path, *rows: str, name: str = "own.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


@pytest.mark.parametrize(
    ("opened", "stage", "started", "as_stage", "as_started"),
    [
        ("03/03/2025", "Stage 1", "03/03/2025", "stage-1", "2025-03-03"),
        ("3/3/2025", "stage 2", "4/3/2025", "stage-2", "2025-03-04"),
        ("03.03.2025", "STAGE-3", "14-03-2025", "stage-3", "2025-03-14"),
        ("2025-03-03", "stage-1", "2025-03-03", "stage-1", "2025-03-03"),
    ],
)
def test_dates_and_stages_as_the_commands_take_them(drp, tmp_path, opened, stage, started,
                                                    as_stage, as_started):  # fmt: skip
    path = own(tmp_path, f"knowsley,K-1,statutory,S,{opened},{stage},{started},open")
    r = drp("import", str(path))
    assert (r.exit_code, r.stdout) == (0, "Imported 1 of 1 rows.\n"), r.stderr
    c = drp("show", "1", "--json").json()
    assert (c["opened_on"], c["stage"], c["stage_started_on"]) == ("2025-03-03", as_stage,
                                                                   as_started)  # fmt: skip
    # the command takes the same words
    assert drp("escalate", "1", "--to", "Stage 4", "--on", "20/03/2025").exit_code == 0


def test_a_json_file_takes_them_too(drp, tmp_path):
    values = ["knowsley", "K-1", "statutory", "S", "03/03/2025", "Stage 2", "10/03/2025", "open"]
    row = dict(zip(HEADER.split(","), values, strict=True))
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([row]))
    assert drp("import", str(path)).exit_code == 0
    c = drp("show", "1", "--json").json()
    assert (c["opened_on"], c["stage"], c["stage_started_on"]) == ("2025-03-03", "stage-2",
                                                                   "2025-03-10")  # fmt: skip


def test_what_the_commands_refuse_is_refused_without_quoting_it(drp, tmp_path):
    path = own(
        tmp_path,
        "knowsley,K-1,statutory,S,03/14/2025,stage-1,2025-03-03,open",  # month first
        "knowsley,K-2,statutory,S,03/03/25,stage-1,2025-03-03,open",  # two-digit year
        "knowsley,K-3,statutory,S,2025-W10-1,stage-1,2025-03-03,open",  # an ISO week
        "knowsley,K-4,statutory,S,01/01/1980,stage-1,2025-03-03,open",  # before 1990
        "knowsley,K-5,statutory,S,2025-03-03,Stage Five,2025-03-03,open",
    )
    r = drp("import", str(path))
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == (
        "Error: 5 problems found; nothing was imported:\n"
        f"  row 2, column opened_on: {TAKES}\n"
        f"  row 3, column opened_on: {TAKES}\n"
        f"  row 4, column opened_on: {TAKES}\n"
        f"  row 5, column opened_on: {TAKES}\n"
        "  row 6, column stage: is not a stage of protocol knowsley (stages: stage-1, "
        "stage-2, stage-3, stage-4)\n"
    )
    for quoted in ("03/14", "03/03/25", "W10", "1980", "Five"):
        assert quoted not in r.stderr


def test_a_row_is_the_same_concern_whichever_way_its_date_is_written(drp, tmp_path):
    """A row without a reference is known by its content: 03/03/2025 and 2025-03-03 are the
    same day, so importing the row again in ISO is not a second concern."""
    first = own(tmp_path, "knowsley,K-1,statutory,S,03/03/2025,Stage 1,03/03/2025,open")
    assert drp("import", str(first)).stdout == "Imported 1 of 1 rows.\n"
    again = own(tmp_path, "knowsley,K-1,statutory,S,2025-03-03,stage-1,2025-03-03,open",
                name="again.csv")  # fmt: skip
    r = drp("import", str(again))
    assert (r.exit_code, r.stdout) == (0, "Imported 0 of 1 rows; 1 unchanged.\n"), r.stderr
    assert len(drp("list", "--status", "all", "--json").json()) == 1


def test_the_fast_way_is_taken_for_iso(monkeypatch):
    """ISO text never reaches parse_date (its regular expressions cost more per cell)."""
    from drp_cli.exchange import checks

    called: list[str] = []
    real = checks.parse_date

    def counted(value, *args):
        called.append(value)
        return real(value, *args)

    monkeypatch.setattr(checks, "parse_date", counted)
    errors: list[str] = []
    checks._iso_day.cache_clear()
    assert str(checks._date("2025-03-03", "opened_on", errors, "row 2")) == "2025-03-03"
    assert str(checks._date("03/03/2025", "opened_on", errors, "row 2")) == "2025-03-03"
    assert (called, errors) == (["03/03/2025"], [])
