"""What comes next after a response (sweep item 9): `drp respond`'s "Next:" line and
`drp show`'s "What comes next" no longer ask for the response already recorded; they say
the protocol's next step, from the fold's state of the concern (one rule:
drp_cli.domain.wording.next_words). Every expected line is worked by hand from the protocol
files (protocols/*.toml) and the working-day calendar (March 2025 has no bank holiday)."""

from __future__ import annotations

from tests.conftest import open_args

NOTTS_STAGE_2 = (
    "escalate to Stage 2: professionals' meeting, addressed to Service Manager (ICS), chair "
    "of the professionals' meeting (`drp escalate 1`)"
)


def next_line(r) -> str:
    """The "Next:" line of a recording command's confirmation."""
    assert r.exit_code == 0, r.stderr
    return next(line for line in r.stdout.splitlines() if line.startswith("Next:"))


def shown(drp, *args: str) -> str:
    """`drp show` as one line of words (the grid wraps at the console's width)."""
    r = drp("show", *args)
    assert r.exit_code == 0, r.stderr
    return " ".join(r.stdout.split())


def test_nottinghamshire_2016_alert_after_a_response_asks_for_the_decision(drp):
    """The sweep's repro: the IRO Alert (10 working days, Mon 3 Mar to Mon 17 Mar 2025)
    answered on 5 Mar. §1 para 8: if it is not answered satisfactorily in time, the IRO
    progresses to Stage 1."""
    r = drp(*open_args(protocol="nottinghamshire-2016", child="NT-1", category="care plan"))
    assert next_line(r).startswith("Next: a response from Social worker; Team Manager by "
                                   "2025-03-17; ")  # fmt: skip
    r = drp("respond", "1", "--from", "Team Manager", "--text", "Allocated", "--on", "2025-03-05")
    expected = (
        "decide on the response of 2025-03-05 by 2025-03-17: if it resolves the concern, "
        "resolve it (`drp resolve 1`); if not, escalate to Stage 1: service managers agree an "
        "urgent plan, addressed to Service Manager for the child's social worker "
        "(`drp escalate 1`)."
    )
    assert next_line(r) == "Next: " + expected
    text = shown(drp, "1", "--on", "2025-03-05")
    assert f"What comes next {expected}" in text
    assert "a response from Social worker" not in text


def test_nottinghamshire_2016_stage_1_after_a_response_gives_the_plan_then_the_decision(drp):
    """Stage 1 (§1 para 8): within 24 hours the service managers communicate (escalated Tue
    4 Mar: due Wed 5 Mar); then the urgent plan is agreed (no timescale); its actions are due
    within 7 working days of it (agreed Thu 6 Mar: Mon 17 Mar). Stage 2's meeting counts
    from the outcome of Stage 1, so the escalation asks for it first until it is recorded."""
    drp(*open_args(protocol="nottinghamshire-2016", child="NT-1", category="care plan"))
    assert drp("escalate", "1", "--note", "No reply", "--on", "2025-03-04").exit_code == 0
    r = drp("respond", "1", "--from", "Service Manager", "--text", "Plan", "--on", "2025-03-05")
    decide = (
        "decide on the response of 2025-03-05{by}: if it resolves the concern, resolve it "
        "(`drp resolve 1`); if not, {outcome}" + NOTTS_STAGE_2 + "."
    )
    outcome = "record Outcome of Stage 1 (`drp done 1 outcome`) and "
    assert next_line(r) == "Next: Service managers communicate, due 2025-03-05, then " + (
        decide.format(by="", outcome=outcome)
    )
    r = drp("done", "1", "contact", "--on", "2025-03-05")
    assert next_line(r) == (
        "Next: Urgent plan agreed (record it with `drp done 1 urgent-plan`), then "
        + decide.format(by="", outcome=outcome)
    )
    r = drp("done", "1", "urgent-plan", "--on", "2025-03-06")
    assert next_line(r) == "Next: " + decide.format(by=" by 2025-03-17", outcome=outcome)
    r = drp("done", "1", "outcome", "--on", "2025-03-07")
    assert next_line(r) == "Next: " + decide.format(by=" by 2025-03-17", outcome="")
    # at the next stage no response has come yet: a response is asked for again
    r = drp("escalate", "1", "--note", "Unresolved", "--on", "2025-03-10")
    assert next_line(r).startswith("Next: Professionals' meeting, due ")


def test_knowsley_stage_1_after_a_response(drp):
    """Standard 3.1: the aim is 5 working days to resolve (Mon 3 Mar: Mon 10 Mar), an aim."""
    drp(*open_args())
    r = drp("respond", "1", "--from", "Team Manager", "--text", "Allocated", "--on", "2025-03-05")
    expected = (
        "decide on the response of 2025-03-05 by 2025-03-10 (its aim, not a limit): if it "
        "resolves the concern, resolve it (`drp resolve 1`); if not, escalate to Stage 2: "
        "Dispute Resolution, addressed to The Dispute Resolution recorded on ICS (the source "
        "names no addressee) (`drp escalate 1`)."
    )
    assert next_line(r) == "Next: " + expected
    assert f"What comes next {expected}" in shown(drp, "1", "--on", "2025-03-05")
    r = drp("escalate", "1", "--on", "2025-03-06")
    assert next_line(r).startswith("Next: a response from The Dispute Resolution recorded on ICS")


def test_west_sussex_stage_1_after_a_response_names_the_meetings_it_allows(drp):
    """§4-§5 Stage 1: resolved within 5 working days (Mon 3 Mar: Mon 10 Mar, firm); the IRO
    may hold a professionals' meeting and may invite the Relevant Manager to a dispute
    resolution meeting: named until held."""
    drp(*open_args(protocol="west-sussex", stage="stage-1", reason="Urgent"))
    r = drp("respond", "1", "--from", "Practice Manager", "--text", "Ok", "--on", "2025-03-04")
    decide = (
        "Next: decide on the response of 2025-03-04 by 2025-03-10: if it resolves the concern, "
        "resolve it (`drp resolve 1`); if not, escalate to Stage 2: Group Manager, addressed "
        "to Group Manager (`drp escalate 1`)"
    )
    professionals = (
        'Professionals\' meeting (`drp meeting 1 --step professionals-meeting --attendees "..."`)'
    )
    assert next_line(r) == (
        f"{decide}; the protocol allows at this stage, if needed: {professionals}, Dispute "
        'resolution meeting (`drp meeting 1 --step dr-meeting --attendees "..."`).'
    )
    r = drp("meeting", "1", "--attendees", "IRO; Relevant Manager", "--text", "Met",
            "--step", "dr-meeting", "--on", "2025-03-05")  # fmt: skip
    assert next_line(r) == f"{decide}; the protocol allows at this stage, if needed: " + (
        f"{professionals}."
    )


def test_at_the_last_stage_the_decision_is_resolve_withdraw_or_refer(drp):
    """West Sussex Stage 5 (no timescale): the last stage."""
    drp(*open_args(protocol="west-sussex", stage="stage-1", reason="Urgent"))
    assert drp("escalate", "1", "--to", "Stage 5", "--on", "2025-03-04").exit_code == 0
    r = drp("respond", "1", "--from", "Director", "--text", "No", "--on", "2025-03-05")
    decide = (
        "decide on the response of 2025-03-05: if it resolves the concern, resolve it "
        "(`drp resolve 1`); if not, this is the last stage (withdraw it, or refer it to "
        "CAFCASS where the protocol allows)."
    )
    # §5 Stage 5: the Assistant Director notifies the Deputy and Executive Directors (a step
    # the protocol requires, with no timescale): asked for first, until recorded
    assert next_line(r) == (
        "Next: Deputy and Executive Directors notified (record it with `drp done 1 "
        f"executive-notified`), then {decide}"
    )
    r = drp("done", "1", "executive-notified", "--on", "2025-03-05")
    assert next_line(r) == f"Next: {decide}"


def test_an_outcome_step_is_asked_for_with_the_escalation_not_before_the_decision():
    """A step that records the stage's outcome (required or not) is asked for once, with the
    escalation a later clock counts from; a step done is not asked for."""
    from drp_cli.domain.wording import next_words

    steps = [
        {"slug": "plan", "title": "Plan agreed", "state": "done", "optional": False},
        {"slug": "outcome", "title": "Outcome", "state": "open", "optional": False,
         "outcome": True},
    ]  # fmt: skip
    assert next_words(
        7, addressed_to=["Team Manager"], deadline=None, deadline_kind=None, step=None,
        next_title="Stage 2", next_addressed_to=["Head of Service"], last=False,
        responded_on="2025-03-05", steps=steps,
    ) == (
        "Next: decide on the response of 2025-03-05: if it resolves the concern, resolve it "
        "(`drp resolve 7`); if not, record Outcome (`drp done 7 outcome`) and escalate to "
        "Stage 2, addressed to Head of Service (`drp escalate 7`)."
    )  # fmt: skip
