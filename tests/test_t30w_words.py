"""Issue 30 item 2, people's words: dates as typed in England, stages and themes by name,
errors in words that name what is missing."""

from __future__ import annotations

import datetime as dt

import pytest

from drp_cli.core.dates import parse_date
from drp_cli.core.errors import InvalidInput
from drp_cli.domain.protocols import registry, stage_slug_anywhere, themes
from tests.conftest import open_args

FORMS = "DD/MM/YYYY or YYYY-MM-DD, e.g. 14/03/2025 or 2025-03-14"


# -- dates ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("02/11/2026", dt.date(2026, 11, 2)),
        ("2/11/2026", dt.date(2026, 11, 2)),
        ("2/3/2025", dt.date(2025, 3, 2)),  # day first: never 3 February
        ("13/01/2025", dt.date(2025, 1, 13)),
        (" 2026-11-02 ", dt.date(2026, 11, 2)),
        ("02.11.2026", dt.date(2026, 11, 2)),
    ],
)
def test_a_date_is_day_month_year_or_iso(typed, day):
    assert parse_date(typed, "--on") == day


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("11/31/2026", f"--on '11/31/2026' is not a real date: use {FORMS}"),  # never mm/dd
        ("2/11/26", f"--on '2/11/26' has a two-digit year: give the year in full ({FORMS})"),
        ("2025-W10-1", f"--on is not a real date: use {FORMS}"),
        ("2025-062", f"--on '2025-062' is not a real date: use {FORMS}"),
        ("31/02/2026", f"--on '31/02/2026' is not a real date: use {FORMS}"),
        ("1/1/1989", "--on 1989-01-01 is outside the dates drp handles: use a date from "
                     "1990-01-01 to 2199-12-31"),
    ],
)  # fmt: skip
def test_a_date_that_is_not_one_is_refused_naming_the_forms(typed, message):
    with pytest.raises(InvalidInput) as caught:
        parse_date(typed, "--on")
    assert str(caught.value) == message


def test_every_date_option_takes_day_month_year(drp):
    r = drp(*open_args(on="03/03/2025"))
    assert r.exit_code == 0, r.stderr
    assert drp("show", "1", "--json").json()["opened_on"] == "2025-03-03"
    r = drp("escalate", "1", "--note", "No reply.", "--on", "11/3/2025")
    assert r.exit_code == 0, r.stderr
    r = drp("list", "--opened-from", "1/3/2025", "--opened-to", "31/03/2025", "--json")
    assert [c["id"] for c in r.json()] == [1]
    r = drp("overdue", "--on", "21/03/2025", "--json")
    assert r.exit_code in (0, 1), r.stderr
    r = drp("calendar", "add", "03/03/2025", "1", "--json")
    assert r.exit_code == 0 and "2025-03-04" in r.stdout


# -- stages and themes by name -------------------------------------------------------------
def test_a_stage_by_name_is_the_importers_rule():
    ks = registry().get("knowsley")
    assert ks.stage_named("Stage 3") == "stage-3"
    assert ks.stage_named("  stage   3 ") == "stage-3"
    assert ks.stage_named("STAGE-3") == "stage-3"
    assert ks.stage_named(ks.stage("stage-2").title.upper()) == "stage-2"
    assert ks.stage_named("Stage 9") is None
    sbc = registry().get("sbc-fciro")
    assert sbc.stage_named("Informal") == "informal"
    assert stage_slug_anywhere("Informal", registry().protocols.values()) == "informal"
    assert themes().theme_named("care plan") == "care-plan"
    assert themes().theme_named("Care Plan") == "care-plan"
    assert themes().theme_named("housing") is None


def test_stages_and_themes_are_taken_by_name_on_the_command_line(drp):
    assert drp(*open_args(category="care plan", stage="Stage 2", reason="Urgent")).exit_code == 0
    shown = drp("show", "1", "--json").json()
    assert (shown["category"], shown["stage"]) == ("care-plan", "stage-2")
    r = drp("escalate", "1", "--to", "Stage 4", "--note", "x", "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr
    assert drp("show", "1", "--json").json()["stage"] == "stage-4"
    r = drp("list", "--stage", "stage 4", "--category", "Care Plan", "--json")
    assert [c["id"] for c in r.json()] == [1]
    r = drp("escalate", "1", "--to", "Stage 9", "--on", "2025-03-05")
    assert r.exit_code in (1, 2) and "Stage 9" in r.stderr


def test_done_takes_its_stage_by_name(drp):
    assert drp(*open_args()).exit_code == 0
    assert drp("escalate", "1", "--note", "x", "--on", "2025-03-11").exit_code == 0
    r = drp("done", "1", "case-record", "--stage", "Stage 2", "--on", "2025-03-12")
    assert r.exit_code == 0, r.stderr
    assert "at stage-2" in r.stdout


# -- errors in words -----------------------------------------------------------------------
def test_text_without_its_option_names_the_option(drp):
    assert drp(*open_args()).exit_code == 0
    r = drp("respond", "1", "Transport plan agreed")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[-1] == (
        'Error: --text is missing: give the text as --text "..." (in quotes), or --text - to '
        "read it from standard input (got 1 unexpected extra argument (not shown))"
    )
    assert "Transport" not in r.stderr
    r = drp("withdraw", "1", "Raised in error")
    assert r.stderr.splitlines()[-1].startswith("Error: --reason is missing: ")


def test_errors_name_arguments_in_words_not_metavariables(drp):
    assert drp(*open_args()).exit_code == 0
    r = drp("retract", "1")
    assert (r.exit_code, r.stderr.splitlines()[-1]) == (
        2, "Error: Missing the entry's number (`drp show ID`, or events[].seq).")  # fmt: skip
    r = drp("done", "1")
    assert r.stderr.splitlines()[-1] == (
        "Error: Missing the step or recording duty (see `drp show ID`).")  # fmt: skip
    r = drp("voice", "1", "bogus")
    assert r.stderr.splitlines()[-1] == (
        "Error: Invalid value for what to record: the value (not shown) is not one of "
        "'wishes-sought', 'wishes-not-sought', 'told-outcome', 'not-told-outcome'.")  # fmt: skip
    r = drp("done", "1", "nonsense", "--on", "2025-03-04")
    assert r.stderr.startswith("Error: the name given is not a step or recording duty")
    for args in (("retract", "1"), ("done", "1"), ("voice", "1", "x"), ("show",)):
        last = drp(*args).stderr.splitlines()[-1]
        assert "SEQ" not in last and "WHAT" not in last and "'ID" not in last


# -- the child's voice and the next step -------------------------------------------------------
WISHES_NOTE = (
    "Note: the child's wishes and feelings are not recorded: record them with "
    '`drp voice 1 wishes-sought --text "..."` (or wishes-not-sought, with why).'
)


def test_the_voice_note_follows_only_the_events_that_ask_for_it(drp):
    r = drp(*open_args())
    assert r.stdout.splitlines()[-1] == WISHES_NOTE
    for args in (
        ("respond", "1", "--from", "TM", "--text", "Agreed", "--on", "2025-03-04"),
        ("note", "1", "--text", "Phoned", "--on", "2025-03-04"),
        ("withdraw", "1", "--reason", "Raised in error", "--on", "2025-03-05"),
    ):
        r = drp(*args)
        assert r.exit_code == 0, r.stderr
        assert "Note:" not in r.stdout and "wishes" not in r.stdout  # fmt: skip
    assert drp(*open_args(on="2025-03-06")).exit_code == 0
    r = drp("escalate", "2", "--on", "2025-03-11")
    assert WISHES_NOTE.replace("voice 1", "voice 2") in r.stdout
    # the command the note gives records the wishes, and the note is not said again
    r = drp("voice", "2", "wishes-sought", "--text", "Seen alone", "--on", "2025-03-11")
    assert r.exit_code == 0 and "Note:" not in r.stdout
    r = drp("resolve", "2", "--outcome", "Allocated", "--on", "2025-03-12")
    assert r.stdout.splitlines()[-1] == (
        "Note: the child is not recorded as told the outcome: record it with "
        '`drp voice 2 told-outcome --text "..."` (or not-told-outcome, with why).'
    )


def test_a_carers_concern_has_no_voice_note(drp):
    r = drp("open", "--protocol", "sbc-fciro", "--carer", "SB-1189", "--category", "service",
            "--role", "fciro", "--summary", "Review overdue.", "--on", "2025-03-10")  # fmt: skip
    assert r.exit_code == 0 and "Note:" not in r.stdout


def test_each_recording_command_says_what_comes_next(drp):
    r = drp(*open_args(protocol="west-sussex", stage="stage-1", reason="Urgent"))
    assert r.stdout.splitlines()[1] == (
        "Next: a response from Practice Manager by 2025-03-10; if it is not resolved by then, "
        "escalate to Stage 2: Group Manager, addressed to Group Manager (`drp escalate 1`)."
    )
    r = drp("note", "1", "--text", "Phoned", "--on", "2025-03-04")
    assert r.stdout.splitlines()[1].startswith("Next: a response from Practice Manager by ")
    r = drp("escalate", "1", "--to", "Stage 5", "--on", "2025-03-05")
    assert r.exit_code == 0, r.stderr
    assert "; if it is not resolved: this is the last stage (resolve it, withdraw it" in r.stdout
    r = drp("withdraw", "1", "--reason", "Raised in error", "--on", "2025-03-06")
    assert "Next:" not in r.stdout


def test_the_missing_text_option_is_the_commands_main_one(drp):
    """`drp open ... "No social worker"` misses --summary (not the optional --reason)."""
    r = drp("open", "--protocol", "knowsley", "--child", "KN-1", "--category", "statutory",
            "No social worker", "--on", "2025-03-03")  # fmt: skip
    assert r.exit_code == 2
    assert r.stderr.splitlines()[-1].startswith('Error: --summary is missing: give the text as '
                                                '--summary "..." (in quotes)')  # fmt: skip
    assert drp(*open_args()).exit_code == 0
    r = drp("resolve", "1", "Worker allocated", "--on", "2025-03-04")
    assert r.stderr.splitlines()[-1].startswith("Error: --outcome is missing: ")
    r = drp("done", "1", "case-record", "Recorded on ICS", "--on", "2025-03-04")
    assert r.stderr.splitlines()[-1].startswith("Error: --text is missing: ")
