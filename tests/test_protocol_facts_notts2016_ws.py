"""Nottinghamshire 2016 (NSCB 11.3.4) and West Sussex (DRP 2020), fact by fact: each fact with
its source's words and the tool's answer through the commands an IRO uses (deadline, kind,
addressees, responder, the form's wording). Issue 28 findings 1-4, 7-9 and 11. Dates are
worked by hand; England has no bank holiday in November 2026."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import Result
from tests.test_protocol_sources import normalise, seed_dir, seed_text

NOTTS, WS = "nottinghamshire-2016", "west-sussex"
SEEDS = {NOTTS: "000", WS: "004"}


@dataclass(frozen=True)
class Fact:
    name: str
    protocol: str
    quote: str  # verbatim from the source
    #: commands after `drp open` (concern 1), each a list of arguments
    steps: list[list[str]]
    on: str  # the day it is judged
    #: fields of `drp show 1 --json` on that day
    show: dict[str, Any] = field(default_factory=dict)
    #: lines (or parts of lines) the form has, and must not have
    form: list[str] = field(default_factory=list)
    not_in_form: list[str] = field(default_factory=list)
    overdue_exit: int | None = None  # `drp overdue --on DAY`
    opening: dict[str, str] = field(default_factory=dict)


FACTS = [
    # -- Nottinghamshire 2016 ------------------------------------------------------------------
    Fact(
        "notts-stage-1-contact-within-24-hours",
        NOTTS,
        "At this stage, within 24 hours, the service manager ICS will communicate with the "
        "service manager for the child's social worker",
        # escalated Fri 6 Nov 2026: 24 hours -> Sat 7 Nov (not Mon 9 Nov), firm
        [["escalate", "1", "--on", "2026-11-06"]],
        "2026-11-06",
        show={
            "stage": "stage-1",
            "next_step": {
                "slug": "contact",
                "title": "Service managers communicate",
                "due": "2026-11-07",
                "kind": "firm",
            },
        },
        overdue_exit=0,
    ),
    Fact(
        "notts-stage-1-contact-late-on-monday",
        NOTTS,
        "within 24 hours",
        # the Saturday deadline is still in time at the weekend; Monday 9 Nov is the first
        # working day after it: 1 working day overdue
        [["escalate", "1", "--on", "2026-11-06"]],
        "2026-11-09",
        show={"overdue": True, "working_days_overdue": 1},
        overdue_exit=1,
    ),
    Fact(
        "notts-stage-1-weekend-not-overdue",
        NOTTS,
        "within 24 hours",
        [["escalate", "1", "--on", "2026-11-06"]],
        "2026-11-08",
        show={"overdue": False},
        overdue_exit=0,
    ),
    Fact(
        "notts-stage-1-form-actions-not-reply",
        NOTTS,
        "An urgent plan will be agreed with actions to be taken within 7 working days",
        # the 7 days are the plan's actions, from the plan; the Service Manager ICS, who
        # makes the contact, is copied, not addressed
        [["escalate", "1", "--on", "2026-11-06"]],
        "2026-11-06",
        show={
            "deadline": None,
            "addressed_to": ["Service Manager for the child's social worker"],
        },
        form=[
            "| **To** | Service Manager for the child's social worker |",
            "| **Copy to** | Service Manager, Independent Chair Service (ICS), who "
            "communicates with them |",
            '| **Actions to be taken by** | limit: 7 working days from when the step "Urgent '
            'plan agreed" is done (not yet recorded; §1 para 8) |',
            "## Response by Service Manager for the child's social worker",
            'Actions to be taken by: within 7 working days of the step "Urgent plan agreed" '
            "(not yet recorded).",
        ],
        not_in_form=["return the form to Test IRO (Independent Reviewing Officer) within 7"],
    ),
    Fact(
        "notts-stage-1-plan-agreed",
        NOTTS,
        "An urgent plan will be agreed with actions to be taken within 7 working days",
        # plan agreed Tue 10 Nov: 11-13 (3), 16-19 (7) -> Thu 19 Nov, firm
        [
            ["escalate", "1", "--on", "2026-11-06"],
            ["done", "1", "contact", "--on", "2026-11-07"],
            ["done", "1", "urgent-plan", "--on", "2026-11-10"],
        ],
        "2026-11-10",
        show={"deadline": "2026-11-19", "deadline_kind": "firm", "next_step": None},
        form=[
            "| **Actions to be taken by** | **Thu 19 November 2026** (limit: 7 working days "
            'from the step "Urgent plan agreed", §1 para 8) |'
        ],
    ),
    Fact(
        "notts-stage-2-meeting-from-the-outcome-of-stage-1",
        NOTTS,
        "a professionals meeting should be held within 7 working days following the outcome "
        "of Stage 1",
        # outcome of Stage 1 recorded Mon 16 Nov, Stage 2 from Thu 19 Nov: 17-20 (4), 23-25
        # (7) -> Wed 25 Nov, an aim ("should"); the stage's clock on the form
        [
            ["escalate", "1", "--on", "2026-11-06"],
            ["done", "1", "outcome", "--on", "2026-11-16"],
            ["escalate", "1", "--on", "2026-11-19"],
        ],
        "2026-11-19",
        show={
            "stage": "stage-2",
            "deadline": None,
            "next_step": {
                "slug": "professionals-meeting",
                "title": "Professionals' meeting",
                "due": "2026-11-25",
                "kind": "aim",
            },
        },
        form=[
            "| **Hold the meeting by** | **Wed 25 November 2026** (aim: 7 working days "
            "following the outcome of the previous stage, §1 para 8) |"
        ],
        not_in_form=["the protocol sets no timescale for this stage"],
    ),
    Fact(
        "notts-stage-2-no-outcome-counts-from-the-escalation",
        NOTTS,
        "following the outcome of Stage 1",
        # no outcome recorded: from the escalation Thu 19 Nov: 20 (1), 23-27 (6), 30 (7)
        [["escalate", "1", "--on", "2026-11-06"], ["escalate", "1", "--on", "2026-11-19"]],
        "2026-11-19",
        show={
            "next_step": {
                "slug": "professionals-meeting",
                "title": "Professionals' meeting",
                "due": "2026-11-30",
                "kind": "aim",
            }
        },
    ),
    Fact(
        "notts-stage-2-meeting-past-its-aim-is-not-overdue",
        NOTTS,
        "should be held within 7 working days",
        [
            ["escalate", "1", "--on", "2026-11-06"],
            ["done", "1", "outcome", "--on", "2026-11-16"],
            ["escalate", "1", "--on", "2026-11-19"],
        ],
        "2026-11-26",
        show={"overdue": False, "past_aim": True},
        overdue_exit=0,
    ),
    Fact(
        "notts-stage-3-group-manager-replies",
        NOTTS,
        "the Group Manager (Safeguarding And Independent Review) will discuss concerns with "
        "the service director within 5 working days to agree any further action",
        # Stage 3 from Mon 30 Nov: 1-4 Dec (4), Mon 7 Dec (5), firm; the source names no
        # responder: the Group Manager discusses and agrees (finding 11)
        [["escalate", "1", "--on", "2026-11-30", "--to", "stage-3"]],
        "2026-11-30",
        show={
            "deadline": "2026-12-07",
            "deadline_kind": "firm",
            "addressed_to": ["Group Manager (Safeguarding and Independent Review)"],
        },
        form=[
            "| **Discuss by** | **Mon 7 December 2026** (limit: 5 working days, §1 para 8) |",
            "## Response by Group Manager (Safeguarding and Independent Review)",
            "| **Attending** | Service Director (the Group Manager discusses the concerns with "
            "them) |",
        ],
        not_in_form=["Response by Service Director"],
    ),
    Fact(
        "notts-no-overall-limit-carried-from-elsewhere",
        NOTTS,
        "If no resolution has been achieved, Stage 2 of the procedure requires",
        # the source sets no overall limit; the Handbook's 20 days are not carried in
        [["escalate", "1", "--on", "2026-11-06"]],
        "2026-12-31",
        show={"formal_deadline": None, "formal_deadline_kind": None, "past_guidance": False},
        form=["| **Whole formal process** | the protocol sets no overall limit |"],
    ),
    Fact(
        "notts-external-agency-letter",
        NOTTS,
        "the practice issue will be raised by way of a letter, which must be endorsed by the "
        "service manager, ICS",
        # a letter to the external professionals, endorsed by the Service Manager ICS: no
        # 10-day limit, no Team Manager response section, no alert log
        [],
        "2026-11-20",
        opening={"route": "external-agency"},
        show={"deadline": None, "deadline_kind": None, "duties": []},
        form=[
            "# Letter: concern about practice (Letter to the external agency)",
            "| **To** | The professionals external to children's social care whose practice is "
            "of concern (e.g. adult services or outside organisations) |",
            "| **Respond by** | the protocol sets no timescale for this stage |",
            "## Endorsement by the Service Manager, Independent Chair Service",
        ],
        not_in_form=[
            "IRO Alert Form",
            "Response by Team Manager",
            "10 working days",
            "IRO Business Support",
        ],
        overdue_exit=0,
    ),
    Fact(
        "notts-alert-form-keeps-its-10-days",
        NOTTS,
        "within the maximum 10 working days",
        # the care-plan route: the IRO Alert Form, Mon 2 Nov -> 3-6 (4), 9-13 (9), Mon 16
        [],
        "2026-11-02",
        show={
            "deadline": "2026-11-16",
            "deadline_kind": "firm",
            "addressed_to": ["Social worker", "Team Manager"],
        },
        form=[
            "# IRO Alert Form",
            "## Response by Team Manager",
            "| **Respond by** | **Mon 16 November 2026** (limit: 10 working days, §1 paras 2-7) |",
        ],
    ),
    # -- West Sussex ------------------------------------------------------------------------------
    Fact(
        "ws-informal-waits-for-the-request",
        WS,
        "with request that the Practice Manager confirms within 5 working days how the issue "
        "has been or is to be resolved",
        # opened Mon 2 Nov; the request not yet made: no deadline, nothing overdue
        [],
        "2026-11-20",
        show={"deadline": None, "overdue": False},
        form=[
            '| **Respond by** | limit: 5 working days from when the step "Request to the '
            'Practice Manager" is done (not yet recorded; §3 i-vi) |'
        ],
        overdue_exit=0,
    ),
    Fact(
        "ws-informal-counts-from-the-request",
        WS,
        "request that the Practice Manager confirms within 5 working days",
        # request Wed 4 Nov: 5-6 (2), 9-11 (5) -> Wed 11 Nov, firm; overdue Thu 12 Nov
        [["done", "1", "pm-request", "--on", "2026-11-04"]],
        "2026-11-12",
        show={"deadline": "2026-11-11", "deadline_kind": "firm", "overdue": True},
        form=[
            "| **Respond by** | **Wed 11 November 2026** (limit: 5 working days from the step "
            '"Request to the Practice Manager", §3 i-vi) |'
        ],
        overdue_exit=1,
    ),
    Fact(
        "ws-stage-1-resolve-by",
        WS,
        "Issue to be resolved/ sufficiently progressed within 5 days of initiation",
        # Stage 1 from Fri 6 Nov: 9-13 (5) -> Fri 13 Nov, firm, to resolve
        [["escalate", "1", "--on", "2026-11-06"]],
        "2026-11-06",
        show={
            "deadline": "2026-11-13",
            "deadline_kind": "firm",
            "addressed_to": ["Practice Manager"],
        },
        form=[
            "| **Resolve by** | **Fri 13 November 2026** (limit: 5 working days, §4; §5 Stage 1) |",
            "Resolve by **Fri 13 November 2026**.",
        ],
    ),
    Fact(
        "ws-twenty-days-are-guidance",
        WS,
        'the formal dispute resolution process "should have timescales in total of no more '
        'than 20 working days"',
        # formal from Fri 6 Nov: 20 working days -> Fri 4 Dec; the Handbook's "should":
        # guidance, past it on Mon 7 Dec but not overdue (bypassed to Stage 5: no stage clock)
        [["escalate", "1", "--on", "2026-11-06", "--to", "stage-5"]],
        "2026-12-07",
        show={
            "formal_deadline": "2026-12-04",
            "formal_deadline_kind": "guidance",
            "overdue": False,
            "past_guidance": True,
        },
        form=[
            "| **Whole formal process** | to end by Fri 4 December 2026 (guidance (IRO "
            "Handbook 2010): 20 working days from Fri 6 November 2026) |"
        ],
        overdue_exit=0,
    ),
]


@pytest.mark.parametrize("fact", FACTS, ids=[f.name for f in FACTS])
def test_fact(drp: Callable[..., Result], fact: Fact) -> None:
    folder = seed_dir()
    if folder is not None:  # the words are the source's own
        assert normalise(fact.quote) in seed_text(folder, SEEDS[fact.protocol]), fact.name
    opening = [
        "open",
        "--protocol",
        fact.protocol,
        "--child",
        "CH-1",
        "--category",
        "care-plan",
        "--summary",
        "The plan has drifted",
        "--on",
        "2026-11-02",
        "--role",
        "iro",
    ]
    for key, value in fact.opening.items():
        opening += [f"--{key}", value]
    r = drp(*opening)
    assert r.exit_code == 0, r.stderr
    for args in fact.steps:
        r = drp(*args)
        assert r.exit_code == 0, (args, r.stderr)
    shown = drp("show", "1", "--json", "--on", fact.on)
    assert shown.exit_code == 0, shown.stderr
    data = shown.json()
    for key, want in fact.show.items():
        got = data[key]
        if key == "duties":
            got = [d for d in got if d["stage"] == data["stage"]]
        assert got == want, (fact.name, key)
    if fact.form or fact.not_in_form:
        form = drp("alert", "1", "--on", fact.on)
        assert form.exit_code == 0, form.stderr
        for line in fact.form:
            assert line in form.stdout, (fact.name, line)
        for words in fact.not_in_form:
            assert words not in form.stdout, (fact.name, words)
    if fact.overdue_exit is not None:
        assert drp("overdue", "--on", fact.on).exit_code == fact.overdue_exit, fact.name


def test_protocols_show_says_the_timescales() -> None:
    """The protocol data: Nottinghamshire 2016 sets no overall limit; West Sussex's is
    guidance; Stage 2's clock is the meeting; the contact is in hours."""
    from drp_cli.domain.protocols import load_registry

    reg = load_registry([]).protocols
    n, ws = reg[NOTTS], reg[WS]
    assert (n.formal_cap_working_days, n.cap_kind) == (None, None)
    assert (ws.formal_cap_working_days, ws.cap_kind) == (20, "guidance")
    contact = n.stage("stage-1").step("contact")
    assert contact is not None and contact.timescale is not None
    assert (contact.timescale.words, contact.timescale.start) == ("24 hours", "escalation")
    clock = n.stage("stage-2").clock
    assert clock is not None and (clock.label, clock.kind) == ("Hold the meeting by", "aim")
    informal = ws.stage("informal").timescale
    assert informal is not None and informal.start == "pm-request"


def test_a_database_written_by_the_old_rule_is_refolded_on_upgrade(
    drp: Callable[..., Result],
    sql: Callable[..., list[Any]],
    db_label: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A database at schema 0007 holds deadlines worked by the old rule (West Sussex's
    informal 5 days from the stage's start, its 20 days firm): it is refused until `drp db
    upgrade`, which folds every concern again, and then `drp verify` passes. (The tables are
    today's, so this drp is taken to write 0008: the later migrations add what is there.)"""
    r = drp(
        "open",
        "--protocol",
        WS,
        "--child",
        "CH-1",
        "--category",
        "care-plan",
        "--summary",
        "x",
        "--on",
        "2026-11-02",
        "--role",
        "iro",
    )
    assert r.exit_code == 0, r.stderr
    assert drp("escalate", "1", "--on", "2026-11-03", "--to", "stage-5").exit_code == 0
    # what the old rule stored: a firm 20 working days
    sql("UPDATE concern SET formal_deadline_kind = 'firm'")
    sql("UPDATE alembic_version SET version_num = '0007'")
    from drp_cli.store import connection, dbfile, migrate

    for module in (dbfile, connection, migrate):
        monkeypatch.setattr(module, "SCHEMA_REVISION", "0008")
    r = drp("list")
    assert r.exit_code == 4 and "run `drp db upgrade`" in r.stderr
    r = drp("db", "upgrade")
    assert r.exit_code == 0, r.stderr
    assert drp("verify").exit_code == 0
    assert sql("SELECT formal_deadline_kind FROM concern") == [("guidance",)]
