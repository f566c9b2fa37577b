"""--suggest-map (sweep item 8): a header that is exactly a field's name is that field's, and
the date format is guessed from the sheet's own dates (ISO when they are ISO, day/month/year
when they are; month/day/year never guessed), so that the map drp suggests for its own
example imports as it stands."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tracker.csv"


def test_the_suggested_map_for_the_example_imports_as_it_stands(drp, tmp_path):
    r = drp("import", str(EXAMPLE), "--suggest-map")
    assert (r.exit_code, r.stderr) == (0, "")
    assert [x for x in r.stdout.splitlines() if "CHOOSE" in x and not x.startswith("#")] == []
    m = tomllib.loads(r.stdout)
    assert m["sheet"] == {"date_format": "%Y-%m-%d"}
    header = EXAMPLE.read_text().splitlines()[0].split(",")
    assert m["columns"] == {name: name for name in header}  # every column by its own name
    assert ('date_format = "%Y-%m-%d"  # the sheet\'s dates typed as text are yyyy-mm-dd; date '
            "cells are read as dates") in r.stdout.splitlines()  # fmt: skip
    path = tmp_path / "tracker.map.toml"
    path.write_text(r.stdout)
    r = drp("import", str(EXAMPLE), "--map", str(path), "--dry-run")
    assert (r.exit_code, r.stdout) == (0, "Would import 3 of 3 rows (nothing was written).\n")
    assert not Path(os.environ["DRP_DB"]).exists()
    r = drp("import", str(EXAMPLE), "--map", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["imported"] == 3
    shown = drp("show", "2", "--json").json()
    assert (shown["opened_on"], shown["stage_started_on"]) == ("2025-03-03", "2025-03-03")


def sheet(tmp_path: Path, header: str, dates: list[str]) -> Path:
    """A council's CSV with ``header`` and a row per date (the date in every date column)."""
    rows = [
        f"R-{n},knowsley,K-{n},statutory,Summary {n},{d},Stage 1,{d},Open"
        for n, d in enumerate(dates, start=1)
    ]
    path = tmp_path / "log.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


HEADER = "Ref,Protocol,Child,Category,Summary,Date raised,Stage,Stage date,Status"


@pytest.mark.parametrize(
    ("dates", "line", "imported"),
    [
        (["2025-04-14", "2025-05-01"], '"%Y-%m-%d"', True),
        (["14/04/2025", "01/05/2025"], '"%d/%m/%Y"', True),
        (["03/04/2025", "01/05/2025"], '"%d/%m/%Y"', True),  # either way round: English
        (["2025-04-14", "14.04.2025", "1/5/2025"], '["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"]', True),
    ],
)
def test_the_date_format_is_the_sheets(drp, tmp_path, dates, line, imported):
    path = sheet(tmp_path, HEADER, dates)
    r = drp("import", str(path), "--suggest-map")
    assert r.exit_code == 0, r.stderr
    assert next(x for x in r.stdout.splitlines() if x.startswith("date_format")).startswith(
        f"date_format = {line}  # the sheet's dates typed as text are "
    )
    m = tmp_path / "log.map.toml"
    m.write_text(r.stdout)
    r = drp("import", str(path), "--map", str(m), "--dry-run")
    assert (r.exit_code, r.stdout) == (0, f"Would import {len(dates)} of {len(dates)} rows "
                                          "(nothing was written).\n"), r.stderr  # fmt: skip


def test_month_first_dates_are_never_guessed(drp, tmp_path):
    path = sheet(tmp_path, HEADER, ["03/04/2025", "04/14/2025"])
    r = drp("import", str(path), "--suggest-map")
    assert r.exit_code == 0
    assert r.stderr == ("0 words and 1 required field need a choice (marked CHOOSE): "
                        "date_format; edit the lines marked CHOOSE in the map\n")  # fmt: skip
    assert ('date_format = "CHOOSE"  # CHOOSE: row 3 has a date typed month first (mm/dd/yyyy), '
            'which drp never guesses; if every date in the sheet is, write "%m/%d/%Y"'
            ) in r.stdout.splitlines()  # fmt: skip
    m = tmp_path / "log.map.toml"
    m.write_text(r.stdout)
    r = drp("import", str(path), "--map", str(m), "--dry-run")
    assert (r.exit_code, r.stderr) == (2, f"Error: map {m}, sheet.date_format: still says CHOOSE; "
                                          "edit that line to say what the sheet holds (or delete "
                                          "it), then import again\n")  # fmt: skip
    m.write_text(r_text := m.read_text().replace('"CHOOSE"', '"%m/%d/%Y"', 1))
    assert "CHOOSE:" in r_text  # the comment stays; only the value is read
    r = drp("import", str(path), "--map", str(m), "--dry-run")
    assert r.exit_code == 0, r.stderr


def test_no_date_typed_as_text_keeps_both_forms(drp, tmp_path):
    path = sheet(tmp_path, HEADER, [""])
    r = drp("import", str(path), "--suggest-map")
    assert ('date_format = ["%Y-%m-%d", "%d/%m/%Y"]  # no date typed as text was found; date '
            "cells are read as dates") in r.stdout.splitlines()  # fmt: skip


@pytest.mark.parametrize("name", ["opened_on", "Opened on", "OPENED_ON", "opened  on"])
def test_a_field_s_own_name_comes_before_a_synonym(drp, tmp_path, name):
    """A column named opened_on is the one taken, wherever it is, though "Date" (a synonym
    of opened_on) comes first: "Date" is left as an extra column."""
    header = f"Ref,Protocol,Child,Category,Summary,Date,Stage,Stage date,Status,{name}"
    path = tmp_path / "log.csv"
    path.write_text(header + "\nR-1,knowsley,K-1,statutory,S,2025-01-01,Stage 1,2025-04-14,Open,"
                    "2025-04-14\n")  # fmt: skip
    r = drp("import", str(path), "--suggest-map")
    m = tomllib.loads(r.stdout)
    assert (m["columns"]["opened_on"], m["columns"]["stage_started_on"]) == (name, "Stage date")
    assert '#   "Date"' in r.stdout


def test_an_iso_date_that_is_no_day_is_still_refused(drp, tmp_path):
    """ISO text is read the fast way first; a day that does not exist is still no date."""
    path = sheet(tmp_path, HEADER, ["2025-04-14", "2025-02-30"])
    m = tmp_path / "log.map.toml"
    m.write_text(drp("import", str(path), "--suggest-map").stdout)
    r = drp("import", str(path), "--map", str(m), "--dry-run")
    assert (r.exit_code, r.stderr) == (2, (
        "Error: 2 problems found; nothing was imported:\n"
        "  row 3, column 'Date raised' (opened_on): is not a date (expected yyyy-mm-dd, or a "
        "date cell)\n"
        "  row 3, column 'Stage date' (stage_started_on): is not a date (expected yyyy-mm-dd, "
        "or a date cell)\n"))  # fmt: skip
