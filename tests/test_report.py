"""drp report: every figure of a hand-worked scenario, the privacy default, the files it
writes, bad input, and (hypothesis) that the counts add up.

The scenario, June and July 2025 (no bank holiday in either), judged on 2025-07-31:

West Sussex (every stage 5 working days, firm; informal, then formal stages 1-5):
  A  opened informal Mon 06-02 (deadline Mon 06-09), response 06-04, resolved Thu 06-05:
     informal met; resolved informally in 3 working days; wishes sought, told the outcome.
     Theme general, issue contact, team North.
  B  opened informal Mon 06-02 (deadline 06-09), no response, escalated to stage-1 Tue 06-10
     (informal missed, 1 working day late); stage-1 deadline Tue 06-17, response 06-12
     (met); referred to CAFCASS 06-20; resolved Tue 06-24: resolved formally in 16 working
     days (06-03..06-24). Wishes not sought. Theme statutory, team North.
  C  opened straight at stage-2 Wed 07-02 (a bypass; deadline Wed 07-09), nothing since:
     open and overdue. Theme statutory.
  D  opened informal Mon 07-28 (deadline Mon 08-04), escalated to stage-1 07-29 and the
     escalation retracted 07-30: back at informal, open and in time. Theme care-plan.
Knowsley (every stage an aim of 5 working days; stage-1 informal):
  E  opened at stage-1 Mon 06-16 (aim Mon 06-23), withdrawn Wed 06-18: left in time.
     Theme general.
  F  opened at stage-1 Tue 07-01 (aim Tue 07-08), escalated to stage-2 Thu 07-10 with no
     response (aim missed); stage-2 aim Thu 07-17, response 07-15 (met), resolved Wed 07-16:
     resolved formally in 11 working days (07-02..07-16). Theme statutory.
The period before (April and May 2025, judged on 05-31):
  G  West Sussex, opened informal Tue 05-20 (deadline Wed 05-28: the 26th is a bank
     holiday), resolved Thu 05-22: informal met, 2 working days.
And one concern opened after the period (08-01), which no figure counts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drp_cli.services import corrections, report
from drp_cli.services.tracker import Tracker

PERIOD = ["--from", "2025-06-01", "--to", "2025-07-31"]


def scenario(t: Tracker) -> dict[str, int]:
    ids: dict[str, int] = {}

    def opened(name: str, protocol: str, on: str, category: str = "statutory", **kw: str) -> int:
        c = t.open(
            protocol=protocol,
            child=f"CH-{name}",
            category=category,
            summary=f"Concern {name} about the plan",
            on=on,
            **kw,
        )
        ids[name] = c.id
        if protocol == "west-sussex" and "stage" not in kw:
            # the Practice Manager's 5 working days count from the IRO's request (West
            # Sussex §3 iv; issue 28 finding 8): made the day the concern was opened
            t.done(c.id, "pm-request", on=on)
        return c.id

    a = opened("A", "west-sussex", "2025-06-02", "general", issue="contact", team="North")
    t.respond(a, text="Will do", respondent="TM", on="2025-06-04")
    t.resolve(a, outcome="Done", on="2025-06-05")
    t.record_voice(a, "wishes-sought", on="2025-06-05")
    t.record_voice(a, "told-outcome", on="2025-06-06")

    b = opened("B", "west-sussex", "2025-06-02", team="North")
    t.escalate(b, on="2025-06-10")
    t.respond(b, text="Allocated", respondent="HoS", on="2025-06-12")
    t.refer(b, text="Referred", on="2025-06-20")
    t.resolve(b, outcome="Agreed", on="2025-06-24")
    t.record_voice(b, "wishes-not-sought", text="Too young", on="2025-06-24")

    opened("C", "west-sussex", "2025-07-02", stage="stage-2", reason="Immediate safety")

    d = opened("D", "west-sussex", "2025-07-28", "care-plan")
    t.escalate(d, on="2025-07-29")
    corrections.retract(t, d, 3, reason="Escalated in error", on="2025-07-30")  # 2: the request

    e = opened("E", "knowsley", "2025-06-16", "general")
    t.withdraw(e, reason="Raised in error", on="2025-06-18")

    f = opened("F", "knowsley", "2025-07-01")
    t.escalate(f, on="2025-07-10")
    t.respond(f, text="Meeting held", respondent="SM", on="2025-07-15")
    t.resolve(f, outcome="Plan updated", on="2025-07-16")

    g = opened("G", "west-sussex", "2025-05-20")
    t.resolve(g, outcome="Done", on="2025-05-22")

    opened("H", "west-sussex", "2025-08-01")
    return ids


EXPECTED = {
    "title": "Dispute resolution: quality-assurance report",
    "from": "2025-06-01",
    "to": "2025-07-31",
    "on": "2025-07-31",
    "on_is": "period-end",
    "filters": {"protocol": None, "category": None, "owner": None, "team": None},
    "concerns": 6,
    "by_protocol": {"west-sussex": 4, "knowsley": 2},
    "by_theme": {"statutory": 3, "general": 2, "care-plan": 1},
    "by_issue": {"(none)": 5, "contact": 1},
    "by_owner": {"Test IRO": 6},
    "by_team": {"(none)": 4, "North": 2},
    "by_month": {"2025-06": 3, "2025-07": 3},
    "by_month_split": {
        "2025-06": {"informal": 2, "formal": 1},
        "2025-07": {"informal": 1, "formal": 2},
    },
    "status": {"open": 2, "resolved": 3, "withdrawn": 1},
    "furthest_stage": {
        "knowsley:stage-1": 1,
        "knowsley:stage-2": 1,
        "west-sussex:informal": 2,
        "west-sussex:stage-1": 1,
        "west-sussex:stage-2": 1,
    },
    "resolved_informally": 1,
    "resolved_formally": 2,
    "cafcass_referrals": 1,
    "stage_deadlines": {
        "met": 2,
        "missed": 1,
        "open_in_time": 1,
        "open_overdue": 1,
        "left_in_time": 0,
    },
    "stage_deadlines_by_stage": {
        "west-sussex:informal": {
            "met": 1,
            "missed": 1,
            "open_in_time": 1,
            "open_overdue": 0,
            "left_in_time": 0,
        },
        "west-sussex:stage-1": {
            "met": 1,
            "missed": 0,
            "open_in_time": 0,
            "open_overdue": 0,
            "left_in_time": 0,
        },
        "west-sussex:stage-2": {
            "met": 0,
            "missed": 0,
            "open_in_time": 0,
            "open_overdue": 1,
            "left_in_time": 0,
        },
    },
    "stage_aims": {
        "met": 1,
        "missed": 1,
        "open_in_time": 0,
        "open_past_aim": 0,
        "left_in_time": 1,
    },
    "stage_aims_by_stage": {
        "knowsley:stage-1": {
            "met": 0,
            "missed": 1,
            "open_in_time": 0,
            "open_past_aim": 0,
            "left_in_time": 1,
        },
        "knowsley:stage-2": {
            "met": 1,
            "missed": 0,
            "open_in_time": 0,
            "open_past_aim": 0,
            "left_in_time": 0,
        },
    },
    "working_days_to_resolve": {"count": 3, "median": 11, "mean": 10.0, "max": 16},
    "child_voice": {
        "wishes_sought": 1,
        "wishes_not_sought": 1,
        "not_recorded": 4,
        "not_applicable": 0,
        "told_outcome": 1,
    },
    "previous_period": {
        "from": "2025-04-01",
        "to": "2025-05-31",
        "on": "2025-05-31",
        "concerns": 1,
        "status": {"open": 0, "resolved": 1, "withdrawn": 0},
        "resolved_informally": 1,
        "resolved_formally": 0,
        "cafcass_referrals": 0,
        "stage_deadlines": {
            "met": 1,
            "missed": 0,
            "open_in_time": 0,
            "open_overdue": 0,
            "left_in_time": 0,
        },
        "stage_aims": {
            "met": 0,
            "missed": 0,
            "open_in_time": 0,
            "open_past_aim": 0,
            "left_in_time": 0,
        },
        "working_days_to_resolve": {"count": 1, "median": 2, "mean": 2.0, "max": 2},
        "child_voice": {
            "wishes_sought": 0,
            "wishes_not_sought": 0,
            "not_recorded": 1,
            "not_applicable": 0,
            "told_outcome": 0,
        },
        "escalated": 0,
        "rates": {  # G: resolved informally, its informal deadline met
            "resolved_within_timescale": {"count": 1, "of": 1, "percent": 100},
            "resolved_informally": {"count": 1, "of": 1, "percent": 100},
            "escalated": {"count": 0, "of": 1, "percent": 0},
            "referred_to_cafcass": {"count": 0, "of": 1, "percent": 0},
        },
    },
    # B and F escalated (D's escalation was retracted)
    "escalated": 2,
    "rates": {
        # of A, B, F resolved: only A kept every stage's timescale (B's informal deadline
        # was missed, F's stage-1 aim was missed)
        "resolved_within_timescale": {"count": 1, "of": 3, "percent": 33},
        "resolved_informally": {"count": 1, "of": 3, "percent": 33},  # A
        "escalated": {"count": 2, "of": 6, "percent": 33},
        "referred_to_cafcass": {"count": 1, "of": 6, "percent": 17},  # B
    },
    # every concern in the period was opened in it (G closed in May): the same events
    "activity": {
        "from": "2025-06-01",
        "to": "2025-07-31",
        "concerns_opened": 6,
        "escalations": 2,  # B 06-10, F 07-10
        "responses": 3,  # A, B, F
        "resolutions": 3,  # A, B, F
        "withdrawals": 1,  # E
        "reopened": 0,
        "cafcass_referrals": 1,  # B
        "concerns_escalated": 2,
        "resolved_within_timescale": {"count": 1, "of": 3, "percent": 33},
        "resolved_no_timescale": 0,
        "open_at_end": 2,  # C and D
        "open_at_end_opened_before": 0,
        "open_at_end_by_stage": {"west-sussex:informal": 1, "west-sussex:stage-2": 1},
        # C: 07-02 to 07-31 is 21 working days; D: 07-28 to 07-31, 3
        "open_at_end_by_working_days": {"up_to_20": 1, "21_to_40": 1, "41_to_60": 0, "over_60": 0},
    },
    "names": {
        "protocols": {
            "knowsley": "Knowsley Metropolitan Borough Council",
            "west-sussex": "West Sussex County Council",
        },
        "stages": {
            "knowsley:stage-1": "Stage 1: Cause for Concern / Informal Challenge",
            "knowsley:stage-2": "Stage 2: Dispute Resolution",
            "west-sussex:informal": "Informal dispute resolution",
            "west-sussex:stage-1": "Stage 1: Practice Manager",
            "west-sussex:stage-2": "Stage 2: Group Manager",
        },
        "themes": {
            "statutory": "Failure to meet statutory requirements for the child",
            "general": "General issues",
            "care-plan": "Care plan implementation",
        },
        "issues": {"(none)": "(none)", "contact": "Unsuitable / inadequate contact arrangements"},
        "months": {"2025-06": "June 2025", "2025-07": "July 2025"},
    },
}


def test_every_figure_of_the_hand_worked_scenario(tracker, drp):
    scenario(tracker)
    result = drp("report", *PERIOD, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == EXPECTED


def test_the_stage_results_are_those_drp_show_gives(tracker, drp):
    """The report counts the results `drp show` prints, one rule for both."""
    ids = scenario(tracker)
    shown = {}
    for name in "ABCD":
        stages = drp("show", str(ids[name]), "--on", "2025-07-31", "--json").json()["stages"]
        shown[name] = [(s["stage"], s["result"]) for s in stages]
    assert shown == {
        "A": [("informal", "met")],
        "B": [("informal", "missed"), ("stage-1", "met")],
        "C": [("stage-2", "overdue")],
        "D": [("informal", "pending")],
    }


def test_as_of_an_earlier_day(tracker, drp):
    """--on 2025-07-12: D is not yet opened; F is at stage 2, in time; C is overdue."""
    scenario(tracker)
    data = drp(
        "report", "--from", "2025-07-01", "--to", "2025-07-31", "--on", "2025-07-12", "--json"
    ).json()
    assert data["concerns"] == 2
    assert data["status"] == {"open": 2, "resolved": 0, "withdrawn": 0}
    assert data["furthest_stage"] == {"knowsley:stage-2": 1, "west-sussex:stage-2": 1}
    assert data["stage_deadlines"]["open_overdue"] == 1
    assert data["stage_aims"] == {
        "met": 0,
        "missed": 1,
        "open_in_time": 1,
        "open_past_aim": 0,
        "left_in_time": 0,
    }
    assert data["resolved_formally"] == 0
    # the period before is July's length (31 days) back, judged as long after its end
    assert data["previous_period"]["from"] == "2025-06-01"
    assert data["previous_period"]["to"] == "2025-06-30"
    assert data["previous_period"]["on"] == "2025-06-11"
    assert data["previous_period"]["concerns"] == 2  # A and B, opened 06-02
    assert data["previous_period"]["status"] == {"open": 1, "resolved": 1, "withdrawn": 0}


def test_filters(tracker, drp):
    scenario(tracker)
    data = drp("report", *PERIOD, "--protocol", "knowsley", "--json").json()
    assert data["concerns"] == 2 and data["by_protocol"] == {"knowsley": 2}
    assert data["stage_deadlines"]["met"] == 0
    data = drp("report", *PERIOD, "--team", "north", "--json").json()
    assert data["concerns"] == 2
    assert data["cafcass_referrals"] == 1
    assert data["filters"]["team"] == "north"
    data = drp("report", *PERIOD, "--category", "general", "--json").json()
    assert data["concerns"] == 2 and data["by_theme"] == {"general": 2}
    data = drp("report", *PERIOD, "--owner", "TEST iro", "--json").json()
    assert data["concerns"] == 6
    data = drp("report", *PERIOD, "--owner", "Someone Else", "--json").json()
    assert data["concerns"] == 0
    assert data["working_days_to_resolve"] == {
        "count": 0,
        "median": None,
        "mean": None,
        "max": None,
    }


def test_annual_preset_is_april_to_march(tracker, drp):
    scenario(tracker)
    data = drp("report", "--year", "2025", "--json").json()
    assert (data["from"], data["to"], data["on"]) == ("2025-04-01", "2026-03-31", "2026-03-31")
    assert data["on_is"] == "period-end"  # the year has ended: judged on its last day
    assert data["title"] == "IRO annual report 2025/26"
    assert data["concerns"] == 8  # A-H: all opened from April 2025
    prev = data["previous_period"]
    assert (prev["from"], prev["to"], prev["concerns"]) == ("2024-04-01", "2025-03-31", 0)


def test_no_child_reference_or_free_text_by_default(tracker, drp):
    scenario(tracker)
    out = drp("report", *PERIOD, "--json").stdout
    table = drp("report", *PERIOD).stdout
    for text in (out, table):
        assert "CH-" not in text
        assert "Concern A" not in text and "Immediate safety" not in text
        assert "Too young" not in text and "Escalated in error" not in text
    data = drp("report", *PERIOD, "--with-children", "--json").json()
    assert sorted(c["child"] for c in data["children"]) == [f"CH-{n}" for n in "ABCDEF"]
    assert all("summary" not in c for c in data["children"])


def test_table_output_for_people(tracker, drp):
    scenario(tracker)
    result = drp("report", *PERIOD)
    assert result.exit_code == 0
    assert "Headline figures" in result.stdout
    assert "firm stage deadlines: open overdue" in result.stdout
    # names, not slugs; months in words; rates with their denominators
    assert "West Sussex County Council: Stage 2: Group Manager" in result.stdout
    assert "west-sussex" not in result.stdout and "care-plan" not in result.stdout
    assert "Care plan implementation" in result.stdout and "July 2025" in result.stdout
    assert "2025-07" not in result.stdout
    assert "resolved within timescale" in result.stdout and "1 of 3 (33%)" in result.stdout


def test_csv_tables_are_flat(tracker, drp, tmp_path: Path):
    scenario(tracker)
    out = tmp_path / "qa"
    result = drp("report", *PERIOD, "--csv", str(out))
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            ".drp-folder",
            "SHA256SUMS",
            "summary.csv",
            "by_protocol.csv",
            "by_theme.csv",
            "by_issue.csv",
            "by_owner.csv",
            "by_team.csv",
            "by_month.csv",
            "by_month_split.csv",
            "furthest_stage.csv",
            "stage_deadlines_by_stage.csv",
            "stage_aims_by_stage.csv",
            "rates.csv",
            "activity.csv",
        ]
    )
    rows = list(csv.reader(io.StringIO((out / "furthest_stage.csv").read_text())))
    assert rows[0] == ["protocol", "stage", "concerns"]
    assert ["west-sussex", "informal", "2"] in rows
    summary = list(csv.DictReader(io.StringIO((out / "summary.csv").read_text())))
    found = {(r["period"], r["figure"], r["part"]): r["value"] for r in summary}
    assert found[("report", "concerns", "")] == "6"
    assert found[("report", "stage_deadlines", "missed")] == "1"
    assert found[("previous", "working_days_to_resolve", "median")] == "2"
    assert found[("report", "working_days_to_resolve", "mean")] == "10.0"
    assert (out / "summary.csv").stat().st_mode & 0o777 == 0o600
    # an existing folder is refused without --force, replaced with it
    again = drp("report", *PERIOD, "--csv", str(out))
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert drp("report", *PERIOD, "--csv", str(out), "--force").exit_code == 0


def test_bad_input_is_refused(tracker, drp):
    cases = [
        (["report"], "give --from and --to (or --year)"),
        (["report", "--from", "2025-02-01", "--to", "2025-01-01"], "--from is after --to"),
        (["report", "--year", "2025", "--from", "2025-01-01"], "not both"),
        (["report", *PERIOD, "--on", "2025-05-01"], "--on is before --from"),
        (["report", *PERIOD, "--protocol", "nowhere"], "unknown protocol 'nowhere'"),
        (["report", *PERIOD, "--team", " "], "--team is empty"),
        (["report", "--from", "2025-13-01", "--to", "2025-12-31"], "--from"),
    ]
    for args, message in cases:
        result = drp(*args)
        assert result.exit_code == 2, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_previous_period_of_whole_months_and_of_days():
    p = report.period("2025-03-01", "2025-03-31")
    assert report.period("2025-03-01", "2025-03-31").previous() == report.Period(
        dt.date(2025, 2, 1), dt.date(2025, 2, 28), dt.date(2025, 2, 28)
    )
    assert p.previous().previous().first == dt.date(2025, 1, 1)
    q = report.period("2025-03-10", "2025-03-16", "2025-03-20")
    assert q.previous() == report.Period(
        dt.date(2025, 3, 3), dt.date(2025, 3, 9), dt.date(2025, 3, 13)
    )
    y = report.period(None, None, year=2024)
    assert y.previous() == report.Period(
        dt.date(2023, 4, 1), dt.date(2024, 3, 31), dt.date(2024, 3, 31)
    )


# -- the counts add up, whatever happened ------------------------------------------------------
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["west-sussex", "knowsley", "sbc-fciro", "nottinghamshire-2016"]),
        st.integers(0, 40),  # the day opened, from 2025-06-02
        st.lists(
            st.sampled_from(
                ["escalate", "respond", "resolve", "withdraw", "refer", "voice", "retract"]
            ),
            max_size=4,
        ),
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ACTIONS)
def test_the_counts_add_up(tracker, actions):
    from drp_cli.core.errors import DrpError

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
                elif step in ("resolve", "withdraw"):
                    getattr(tracker, step)(
                        c.id, **{"outcome" if step == "resolve" else "reason": "x"}, on=on
                    )
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
    p = report.period("2025-06-01", "2025-08-31", "2025-09-30")
    d = report.build(tracker, p)
    n = d["concerns"]
    assert sum(d["status"].values()) == n
    for key in (
        "by_protocol",
        "by_theme",
        "by_issue",
        "by_owner",
        "by_team",
        "by_month",
        "furthest_stage",
    ):
        assert sum(d[key].values()) == n, key
    assert sum(sum(m.values()) for m in d["by_month_split"].values()) == n
    assert d["resolved_informally"] + d["resolved_formally"] == d["status"]["resolved"]
    assert d["working_days_to_resolve"]["count"] == d["status"]["resolved"]
    v = d["child_voice"]
    assert (
        v["wishes_sought"] + v["wishes_not_sought"] + v["not_recorded"] + v["not_applicable"] == n
    )
    assert v["told_outcome"] <= n and d["cafcass_referrals"] <= n
    for total, by_stage in (
        ("stage_deadlines", "stage_deadlines_by_stage"),
        ("stage_aims", "stage_aims_by_stage"),
    ):
        for k, value in d[total].items():
            assert sum(c[k] for c in d[by_stage].values()) == value
