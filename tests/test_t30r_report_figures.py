"""drp report, issue 30 item 4: every rate, every activity figure and the longest-running
open concerns of a month, worked out by hand and built through the command line with fixed
``--on`` dates.

The month is November 2025 (Sat 1 to Sun 30; no bank holiday in October or November 2025),
judged on its last day (it has ended: ``on_is`` "period-end"). The timescales, from the
protocol files:

- West Sussex (protocols/west-sussex.toml): informal, 5 working days, firm, counted from the
  request to the Practice Manager (``timescale_from = "pm-request"``, §3 iv); stage-1, 5
  working days, firm, from the stage's start (§5 Stage 1). The 20 working days for the
  whole formal process are guidance (``formal_cap_kind = "guidance"``), never missed.
- Knowsley (protocols/knowsley.toml): every stage an aim of 5 working days
  (``timescale_kind = "aim"``, Standards 3.1-3.4); the formal process (stages 2-4) a firm
  limit of 20 working days (Standard 3.5); CAFCASS at any point (Standard 2.2).

Opened before the month:
  R  West Sussex, opened informal Mon 10-06 (request that day: deadline Mon 10-13),
     resolved Wed 10-08: resolved in time, before November. Nothing in November.
  Q  Knowsley, opened at stage-1 Wed 10-01 (aim Wed 10-08), escalated to stage-2 Tue 10-07
     (stage-1 left in time; stage-2 aim Tue 10-14, passed); referred to CAFCASS Wed 11-12;
     still open on 11-30: 42 working days open (22 in October after the 1st, 20 in
     November).
  P  West Sussex, opened informal Mon 10-20 (request that day: deadline Mon 10-27), no
     response; escalated to stage-1 Mon 11-03 (informal missed); stage-1 deadline Mon
     11-10, response Thu 11-06 (met); resolved Fri 11-07: a November resolution, NOT within
     timescale (the informal deadline was missed).
Opened in November:
  A  West Sussex, opened informal Mon 11-03 (request that day: deadline Mon 11-10),
     response Wed 11-05, resolved Thu 11-06: resolved informally, within timescale; 3
     working days.
  B  Knowsley, opened at stage-1 Mon 11-03 (aim Mon 11-10), escalated to stage-2 Wed 11-12
     with no response (aim missed); stage-2 aim Wed 11-19, response Tue 11-18 (met);
     resolved Thu 11-20 (formal limit: 20 working days from 11-12, 12-10, kept): resolved
     formally, NOT within timescale (stage-1's aim missed); 13 working days.
  C  West Sussex, opened informal Mon 11-10 (request that day: deadline Mon 11-17), no
     response; escalated to stage-1 Tue 11-18 (informal missed); stage-1 deadline Tue
     11-25, no response: open and overdue on 11-30; 14 working days open. Resolved on
     12-03, after the month: not counted.
  D  Knowsley, opened at stage-1 Mon 11-24 (aim Mon 12-01), withdrawn Wed 11-26: stage-1
     left in time.
After November: E, West Sussex, opened 12-01: in no figure.

So, of the 4 concerns opened in November (A, B, C, D): 2 resolved (A, B), 1 of them within
timescale (A) and 1 at the informal stage (A); 2 escalated (B, C); none referred.
Activity in November, whatever the month the concern was opened: 3 escalations (P 11-03,
B 11-12, C 11-18), 3 responses (A 11-05, P 11-06, B 11-18), 3 resolutions (A, P, B) of which
1 within timescale (A), 1 withdrawal (D), 1 referral to CAFCASS (Q 11-12); open on 11-30:
Q and C, Q opened before the month; C 14 working days (up to 20), Q 42 (41 to 60).
October (the month before, judged on 10-31): R, Q and P opened; R resolved in time and
informally; Q escalated; Q's referral (11-12) is after 10-31.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.test_report import ACTIONS
from tests.test_report_html import chromium, needs_chromium

NOVEMBER = ["report", "--from", "2025-11-01", "--to", "2025-11-30"]


def _rate(count: int, of: int, percent: int | None) -> dict[str, int | None]:
    return {"count": count, "of": of, "percent": percent}


@pytest.fixture
def month(drp) -> dict[str, int]:
    """The scenario above, through the command line; each concern's id by its letter."""
    ids: dict[str, int] = {}

    def run(*args: str) -> None:
        result = drp(*args)
        assert result.exit_code == 0, (args, result.stderr)

    def opened(name: str, protocol: str, on: str) -> int:
        result = drp("open", "--protocol", protocol, "--child", f"CH-{name}", "--category",
                     "care-plan", "--summary", f"Concern {name}", "--on", on, "--json")  # fmt: skip
        assert result.exit_code == 0, result.stderr
        ids[name] = cid = result.json()["id"]
        if protocol == "west-sussex":  # the Practice Manager's clock starts at the request
            run("done", str(cid), "pm-request", "--on", on)
        return cid

    r = opened("R", "west-sussex", "2025-10-06")
    run("resolve", str(r), "--outcome", "Done", "--on", "2025-10-08")
    q = opened("Q", "knowsley", "2025-10-01")
    run("escalate", str(q), "--on", "2025-10-07")
    run("refer", str(q), "--text", "Why now", "--on", "2025-11-12")
    p = opened("P", "west-sussex", "2025-10-20")
    run("escalate", str(p), "--on", "2025-11-03")
    run("respond", str(p), "--text", "Plan", "--from", "Practice Manager", "--on", "2025-11-06")
    run("resolve", str(p), "--outcome", "Agreed", "--on", "2025-11-07")

    a = opened("A", "west-sussex", "2025-11-03")
    run("respond", str(a), "--text", "Will do", "--from", "Practice Manager", "--on", "2025-11-05")
    run("resolve", str(a), "--outcome", "Done", "--on", "2025-11-06")
    b = opened("B", "knowsley", "2025-11-03")
    run("escalate", str(b), "--on", "2025-11-12")
    run("respond", str(b), "--text", "Meeting held", "--from", "Head of Service",
        "--on", "2025-11-18")  # fmt: skip
    run("resolve", str(b), "--outcome", "Plan updated", "--on", "2025-11-20")
    c = opened("C", "west-sussex", "2025-11-10")
    run("escalate", str(c), "--on", "2025-11-18")
    run("resolve", str(c), "--outcome", "Late", "--on", "2025-12-03")
    d = opened("D", "knowsley", "2025-11-24")
    run("withdraw", str(d), "--reason", "Raised in error", "--on", "2025-11-26")
    opened("E", "west-sussex", "2025-12-01")
    return ids


def test_the_rates_of_the_month_by_hand(month, drp):
    data = drp(*NOVEMBER, "--json").json()
    assert (data["on"], data["on_is"], data["concerns"]) == ("2025-11-30", "period-end", 4)
    assert data["status"] == {"open": 1, "resolved": 2, "withdrawn": 1}
    assert data["escalated"] == 2  # B, C
    assert data["rates"] == {
        "resolved_within_timescale": _rate(1, 2, 50),  # A of A, B
        "resolved_informally": _rate(1, 2, 50),  # A of A, B
        "escalated": _rate(2, 4, 50),  # B, C of A-D
        "referred_to_cafcass": _rate(0, 4, 0),
    }
    # the stage results behind them, as drp show judges each visit
    assert data["stage_deadlines"] == {  # A informal met; C informal missed, stage-1 overdue
        "met": 1, "missed": 1, "open_in_time": 0, "open_overdue": 1, "left_in_time": 0,
    }  # fmt: skip
    assert data["stage_aims"] == {  # B stage-1 missed, stage-2 met; D stage-1 left in time
        "met": 1, "missed": 1, "open_in_time": 0, "open_past_aim": 0, "left_in_time": 1,
    }  # fmt: skip
    assert data["working_days_to_resolve"] == {"count": 2, "median": 8, "mean": 8.0, "max": 13}
    prev = data["previous_period"]
    assert (prev["from"], prev["to"], prev["on"], prev["concerns"]) == (
        "2025-10-01", "2025-10-31", "2025-10-31", 3
    )  # fmt: skip
    assert prev["rates"] == {
        "resolved_within_timescale": _rate(1, 1, 100),  # R
        "resolved_informally": _rate(1, 1, 100),  # R
        "escalated": _rate(1, 3, 33),  # Q (P's escalation is dated 11-03)
        "referred_to_cafcass": _rate(0, 3, 0),  # Q's referral is dated 11-12
    }


def test_what_happened_in_the_month_by_hand(month, drp):
    data = drp(*NOVEMBER, "--json").json()
    assert data["activity"] == {
        "from": "2025-11-01",
        "to": "2025-11-30",
        "concerns_opened": 4,
        "escalations": 3,  # P 11-03, B 11-12, C 11-18
        "responses": 3,  # A 11-05, P 11-06, B 11-18
        "resolutions": 3,  # A 11-06, P 11-07, B 11-20 (C's 12-03 is after the month)
        "withdrawals": 1,  # D
        "reopened": 0,
        "cafcass_referrals": 1,  # Q 11-12, a concern opened in October
        "concerns_escalated": 3,
        "resolved_within_timescale": _rate(1, 3, 33),  # A; not P (informal missed), not B
        "resolved_no_timescale": 0,
        "open_at_end": 2,  # Q, C
        "open_at_end_opened_before": 1,  # Q
        "open_at_end_by_stage": {"knowsley:stage-2": 1, "west-sussex:stage-1": 1},
        "open_at_end_by_working_days": {"up_to_20": 1, "21_to_40": 0, "41_to_60": 1, "over_60": 0},
    }
    assert "longest_open" not in data  # it names references: only with --with-children


def test_the_longest_running_open_concerns_name_children_only_when_asked(month, drp):
    data = drp(*NOVEMBER, "--with-children", "--json").json()
    assert data["longest_open"] == [
        {"id": month["Q"], "external_ref": None, "child": "CH-Q", "protocol": "knowsley",
         "stage": "knowsley:stage-2", "opened_on": "2025-10-01", "working_days_open": 42},
        {"id": month["C"], "external_ref": None, "child": "CH-C", "protocol": "west-sussex",
         "stage": "west-sussex:stage-1", "opened_on": "2025-11-10", "working_days_open": 14},
    ]  # fmt: skip
    table = drp(*NOVEMBER, "--with-children").stdout
    assert "The longest-running open concerns" in table and "CH-Q" in table
    plain = drp(*NOVEMBER).stdout
    assert "CH-" not in plain
    assert "listed with --with-children" in plain


def test_the_table_says_the_rates_with_their_denominators_in_words(month, drp):
    result = drp(*NOVEMBER)
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert text.startswith("Dispute resolution: quality-assurance report Concerns opened "
                           "November 2025 (all concerns), as the record stood on 30 November "
                           "2025, the period's last day; the period before: October 2025, as on "
                           "31 October 2025.")  # fmt: skip
    for words in (
        "resolved within timescale │ 1 of 2 (50%) │ 1 of 1 (100%) │ concerns resolved",
        "resolved at the informal stage │ 1 of 2 (50%) │ 1 of 1 (100%) │ concerns resolved",
        "escalated │ 2 of 4 (50%) │ 1 of 3 (33%) │ concerns opened",
        "referred to CAFCASS │ 0 of 4 (0%) │ 0 of 3 (0%) │ concerns opened",
        "Activity in the period (November 2025)",
        "escalations (of 3 concerns) │ 3",
        "resolved within timescale │ 1 of 3 (33%)",
        "open on 30 November 2025 │ 2",
        "Knowsley Metropolitan Borough Council: Stage 2: Dispute Resolution │ 1",
        "West Sussex County Council: Stage 1: Practice Manager │ 1",
        "Care plan implementation │ 4",
        "November 2025 │ 4",
    ):
        assert words in text, words
    for slug in ("west-sussex", "knowsley:", "care-plan", "2025-11"):
        assert slug not in result.stdout, slug


def test_the_page_and_the_files_say_the_same(month, drp, tmp_path: Path):
    page = tmp_path / "november.html"
    assert drp(*NOVEMBER, "--html", str(page)).exit_code == 0
    html = page.read_text()
    for words in (
        "Activity in the period: November 2025",
        "1 of 2 (50%)",
        "1 of 3 (33%)",
        "West Sussex County Council: Stage 1: Practice Manager",
        "Care plan implementation",
        "thead { display: table-header-group; }",
        "break-inside: avoid",
        'counter(page) " of " counter(pages)',
    ):
        assert words in html, words
    assert "west-sussex:" not in html and "care-plan" not in html
    assert "OFFICIAL-SENSITIVE" not in html  # counts only; the marking comes with children
    folder = tmp_path / "qa"
    assert drp(*NOVEMBER, "--csv", str(folder)).exit_code == 0
    rates = (folder / "rates.csv").read_text().splitlines()
    assert rates[0] == "period,rate,count,of,percent,of what"
    assert rates[1] == (
        "report,resolved_within_timescale,1,2,50,concerns resolved (at stages with a timescale)"
    )
    activity = (folder / "activity.csv").read_text().splitlines()
    assert "escalations,,3" in activity and "open_at_end_by_working_days,41_to_60,1" in activity


@needs_chromium
def test_the_printed_month_keeps_its_tables_whole_and_numbers_its_pages(month, drp, tmp_path):
    """Printed by headless Chromium: every page says "Page N of M" (the @page counters), the
    marking is there only with children's references, and no table row is cut."""
    from pypdf import PdfReader

    for extra, marked in (((), False), (("--with-children",), True)):
        page = tmp_path / f"november{len(extra)}.html"
        assert drp(*NOVEMBER, *extra, "--html", str(page)).exit_code == 0
        pdf = tmp_path / f"november{len(extra)}.pdf"
        printed = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri(),
                           tmp=tmp_path)  # fmt: skip
        assert printed.returncode == 0, printed.stderr[-2000:]
        pages = [p.extract_text() for p in PdfReader(pdf).pages]
        assert 2 <= len(pages) <= 8
        for n, text in enumerate(pages, 1):
            assert f"Page {n} of {len(pages)}" in text, n
            assert ("OFFICIAL-SENSITIVE" in text) is marked, n
        whole = "\n".join(pages)
        assert "Activity in the period: November 2025" in whole
        assert ("CH-Q" in whole) is marked  # the longest-running open concern, by reference


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ACTIONS)
def test_activity_and_rates_agree_with_the_counts(tracker, actions):
    """Whatever happened: over a period that holds every event, judged on its last day, the
    activity in the period says what the counts of the concerns opened in it say, and every
    rate is a count out of its whole."""
    from drp_cli.core.errors import DrpError
    from drp_cli.services import corrections, report

    start = dt.date(2025, 6, 2)
    for protocol, offset, steps in actions:
        day = start + dt.timedelta(days=offset)
        c = tracker.open(protocol=protocol, child="HY-1", category="general", summary="x", on=day)
        for i, step in enumerate(steps, 1):
            on = day + dt.timedelta(days=2 * i)
            try:
                if step == "escalate":
                    tracker.escalate(c.id, on=on)
                elif step == "respond":
                    tracker.respond(c.id, text="r", respondent="TM", on=on)
                elif step == "resolve":
                    tracker.resolve(c.id, outcome="x", on=on)
                elif step == "withdraw":
                    tracker.withdraw(c.id, reason="x", on=on)
                elif step == "refer":
                    tracker.refer(c.id, text="x", on=on)
                elif step == "voice":
                    tracker.record_voice(c.id, "told-outcome", on=on)
                else:
                    seqs = [e.seq for e in tracker.get(c.id).live_events if e.kind == "escalated"]
                    if seqs:
                        corrections.retract(tracker, c.id, seqs[-1], reason="error", on=on)
            except DrpError:
                pass  # refused by the protocol's rules: nothing changed
    d = report.build(tracker, report.period("2025-06-01", "2025-09-30", "2025-09-30"))
    a = d["activity"]
    assert a["concerns_opened"] == d["concerns"]
    assert a["open_at_end"] == d["status"]["open"]
    assert sum(a["open_at_end_by_working_days"].values()) == a["open_at_end"]
    assert sum(a["open_at_end_by_stage"].values()) == a["open_at_end"]
    assert a["open_at_end_opened_before"] == 0
    assert a["resolutions"] == d["status"]["resolved"]
    assert a["withdrawals"] == d["status"]["withdrawn"]
    assert a["concerns_escalated"] == d["escalated"] <= a["escalations"]
    assert a["cafcass_referrals"] >= d["cafcass_referrals"]
    assert a["resolved_within_timescale"] == d["rates"]["resolved_within_timescale"]
    for r in [*d["rates"].values(), a["resolved_within_timescale"]]:
        assert 0 <= r["count"] <= r["of"]
        assert r["percent"] == (round(100 * r["count"] / r["of"]) if r["of"] else None)
    assert d["rates"]["resolved_informally"]["of"] == d["status"]["resolved"]
    assert d["rates"]["escalated"]["of"] == d["rates"]["referred_to_cafcass"]["of"] == d["concerns"]
    kept = d["rates"]["resolved_within_timescale"]["of"] + a["resolved_no_timescale"]
    assert kept == d["status"]["resolved"]


def test_the_references_and_dates_are_never_cut_on_a_narrow_terminal(month, drp, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    out = drp(*NOVEMBER, "--with-children").stdout
    assert max(len(line) for line in out.splitlines()) <= 60
    longest = out[out.index("The longest-running open concerns") :]
    for whole in ("CH-Q", "CH-C", "1 October 2025", "10 November 2025", "42", "14"):
        assert whole in longest, whole
    assert "reference" not in longest.split("\n\n")[0]  # no concern has one: left out


def test_two_protocols_of_one_authority_are_told_apart():
    from drp_cli.domain.protocols import registry
    from drp_cli.services.report import protocol_name

    installed = registry().protocols
    assert protocol_name(installed["west-sussex"], installed) == "West Sussex County Council"
    assert protocol_name(installed["nottinghamshire-2016"], installed) == (
        "Nottinghamshire County Council, IRO Dispute Resolution Process (NSCB 11.3.4)"
    )
    assert protocol_name(installed["nottinghamshire-crp"], installed) == (
        "Nottinghamshire County Council, Independent Chair Service Concerns Resolution Process"
    )
