"""drp report is judged on a day that has come: by default the earlier of today and the
period's last day, and it says so in every output; a day given with --on may not be after
today.

"Today" is fixed by the tracker's clock (``Tracker.today``, which the command reads). The
scenario, the local-authority year 2025 (2025-04-01 to 2026-03-31), worked by hand from
protocols/west-sussex.toml (informal: 5 working days from the request, firm) and
protocols/knowsley.toml (stage-1: an aim of 5 working days), with no bank holiday from 17
November to 8 December:

  X  West Sussex, opened informal Mon 2025-11-17: deadline Mon 11-24; nothing since.
  W  West Sussex, opened informal Mon 2025-12-01: deadline Mon 12-08; nothing since.
  K  Knowsley, opened at stage-1 Thu 2025-11-27: aim Thu 12-04; nothing since.

Judged on Tue 2025-12-02 (the year runs on): X is open past its firm deadline; W's deadline
(12-08) and K's aim (12-04) are still ahead: open in time, though both are passed by the
year's end (2026-03-31), the day the report used to judge on whatever the date.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from drp_cli.services import report
from drp_cli.services.tracker import Tracker

YEAR = ["report", "--year", "2025"]
MID_YEAR = dt.date(2025, 12, 2)  # a Tuesday
AFTER_YEAR = dt.date(2026, 5, 11)


def firm(**counts: int) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in report.FIRM_KEYS}


def aims(**counts: int) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in report.AIM_KEYS}


def scenario(t: Tracker) -> None:
    for name, protocol, on in (
        ("X", "west-sussex", "2025-11-17"),
        ("W", "west-sussex", "2025-12-01"),
        ("K", "knowsley", "2025-11-27"),
    ):
        c = t.open(protocol=protocol, child=f"CH-{name}", category="statutory",
                   summary=f"Concern {name}", on=on)  # fmt: skip
        if protocol == "west-sussex":  # the Practice Manager's clock runs from the request
            t.done(c.id, "pm-request", on=on)  # (§3 iv; issue 28 finding 8)


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch):
    """Set the day drp takes for today (the clock every Tracker reads)."""

    def set_today(day: dt.date) -> None:
        monkeypatch.setattr(Tracker, "today", lambda self: day)

    return set_today


def flat(text: str) -> str:
    """Text as one line (Rich wraps long lines to the terminal)."""
    return " ".join(text.split())


def test_a_year_still_running_is_judged_today(tracker, drp, today, tmp_path: Path):
    scenario(tracker)
    today(MID_YEAR)
    data = drp(*YEAR, "--json").json()
    assert (data["from"], data["to"], data["on"], data["on_is"]) == (
        "2025-04-01", "2026-03-31", "2025-12-02", "today"
    )  # fmt: skip
    assert data["concerns"] == 3
    assert data["status"] == {"open": 3, "resolved": 0, "withdrawn": 0}
    # W's firm deadline (12-08) and K's aim (12-04) fall after the day judged, before the
    # year's end: open in time, not overdue; X's (11-24) has passed
    assert data["stage_deadlines"] == firm(open_in_time=1, open_overdue=1)
    assert data["stage_deadlines_by_stage"] == {
        "west-sussex:informal": firm(open_in_time=1, open_overdue=1)
    }
    assert data["stage_aims"] == aims(open_in_time=1)
    # the year before, judged as long before its end: the same part of the year
    prev = data["previous_period"]
    assert (prev["from"], prev["to"], prev["on"], prev["concerns"]) == (
        "2024-04-01", "2025-03-31", "2024-12-02", 0
    )  # fmt: skip

    said = (
        "as the record stood on 2 December 2025, today "
        "(the period runs to 31 March 2026, so its figures are not final)"
    )
    table = drp(*YEAR)
    assert table.exit_code == 0, table.stderr
    assert f"Concerns opened 1 April 2025 to 31 March 2026 (all concerns), {said};" in flat(
        table.stdout
    )
    page = tmp_path / "report.html"
    assert drp(*YEAR, "--html", str(page)).exit_code == 0
    assert f"Concerns opened 1 April 2025 to 31 March 2026, {said}; all concerns." in flat(
        page.read_text()
    )
    folder = tmp_path / "qa"
    assert drp(*YEAR, "--csv", str(folder)).exit_code == 0
    summary = csv.DictReader(io.StringIO((folder / "summary.csv").read_text()))
    found = {(r["period"], r["figure"]): r["value"] for r in summary if not r["part"]}
    assert found[("report", "on")] == "2025-12-02"
    assert found[("report", "on_is")] == "today"
    assert found[("previous", "on")] == "2024-12-02"


def test_a_year_that_has_ended_is_judged_on_its_last_day(tracker, drp, today):
    scenario(tracker)
    today(AFTER_YEAR)
    data = drp(*YEAR, "--json").json()
    assert (data["on"], data["on_is"]) == ("2026-03-31", "period-end")
    # by 2026-03-31 every deadline and aim of the three has passed
    assert data["stage_deadlines"] == firm(open_overdue=2)
    assert data["stage_aims"] == aims(open_past_aim=1)
    assert data["previous_period"]["on"] == "2025-03-31"
    table = flat(drp(*YEAR).stdout)
    assert "(all concerns), as the record stood on 31 March 2026, the period's last day;" in table

    # a day given with --on is the day judged, before the period's end or after it
    data = drp(*YEAR, "--on", "2025-12-05", "--json").json()
    assert (data["on"], data["on_is"]) == ("2025-12-05", "given")
    assert data["stage_deadlines"] == firm(open_in_time=1, open_overdue=1)  # W: 12-08
    assert data["stage_aims"] == aims(open_past_aim=1)  # K: 12-04
    table = flat(drp(*YEAR, "--on", "2025-12-05").stdout)
    assert (
        "as the record stood on 5 December 2025 (the period runs to 31 March 2026, "
        "so its figures are not final);" in table
    )
    data = drp(*YEAR, "--on", "2026-05-11", "--json").json()
    assert (data["on"], data["on_is"]) == ("2026-05-11", "given")
    table = flat(drp(*YEAR, "--on", "2026-05-11").stdout)
    assert "as the record stood on 11 May 2026, after the period's end on 31 March 2026;" in table


def test_a_day_that_has_not_come_is_refused(tracker, drp, today):
    scenario(tracker)
    today(MID_YEAR)
    result = drp(*YEAR, "--on", "2025-12-03", "--json")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: --on 2025-12-03 is in the future: a report is judged on a day that has come "
        "(today is 2025-12-02)\n"
    )
    result = drp("report", "--year", "2026")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: the period (--year) begins on 2026-04-01, after today (2025-12-02): "
        "there is nothing to report yet\n"
    )
    result = drp("report", "--from", "2025-12-03", "--to", "2025-12-31")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: the period (--from) begins on 2025-12-03, after today (2025-12-02): "
        "there is nothing to report yet\n"
    )
    # today itself may be given
    assert drp(*YEAR, "--on", "2025-12-02", "--json").json()["on"] == "2025-12-02"


def test_the_real_clock_refuses_a_future_day(tracker, drp):
    """Without a fixed clock, the command reads the local date."""
    result = drp(*YEAR, "--on", "2199-12-31")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --on 2199-12-31 is in the future: ")


def test_the_period_from_the_library():
    p = report.period(None, None, year=2025, today=MID_YEAR)
    assert (p.first, p.last, p.on, p.judged) == (
        dt.date(2025, 4, 1), dt.date(2026, 3, 31), MID_YEAR, "today"
    )  # fmt: skip
    p = report.period("2025-06-01", "2025-06-30", today=MID_YEAR)
    assert (p.on, p.judged) == (dt.date(2025, 6, 30), "period-end")
    p = report.period("2025-06-01", "2025-06-30", "2025-07-15", today=MID_YEAR)
    assert (p.on, p.judged) == (dt.date(2025, 7, 15), "given")
