"""Each fact of three sources, with its words, against what drp answers (issue 28, item 4).

Knowsley (Process for Informal Challenge & Dispute Resolution for the IROs/CP Chairs), SBC
1.6.3 (fostering IROs, revised January 2019) and Nottinghamshire's Independent Chair Service
Concerns Resolution Process (v6, 28 July 2022). One row per fact: the source's words, the
stage and route it is opened at, and what drp must say: the deadline (worked by hand on the
calendar of March and April 2026: Good Friday 3 April and Easter Monday 6 April are bank
holidays in England), its kind, the whole formal
process's deadline, the form's addressees, copies, notified and responder, and the e-mail's
subject. The quotes are checked against the source texts as the protocol files' are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drp_cli.domain.protocols import load_registry
from drp_cli.render import alerts
from tests.test_protocol_sources import normalise, seed_dir

SOURCES = {
    "knowsley": "002_4c9bfae3f74d8564.txt",
    "sbc-fciro": "001_b115a348499c3fdc.txt",
    "nottinghamshire-crp": "003_4b9d42b1e6be7c1c.txt",
}
NONE = "\\-"  # an empty cell, as the form writes it


@dataclass(frozen=True)
class Fact:
    protocol: str
    quote: str  # the source's words for the fact
    stage: str
    opened: str  # the day it is opened at the stage
    deadline: str | None  # worked by hand
    kind: str | None
    formal_deadline: str | None
    to: str  # the form's "To" row
    copy: str = NONE  # the form's "Copy to" row
    responder: str = ""  # "Response by ..." (default: the first of To)
    notified: str | None = None  # the form's "To be notified" row (None: no row)
    subject: str = ""  # the e-mail's subject
    role: str = ""
    route: str = ""
    ref: tuple[str, str] = ("--child", "CR-1")
    guidance: tuple[str, ...] = field(default_factory=tuple)  # words the form's guidance has


FACTS = [
    # -- Knowsley -----------------------------------------------------------------------
    Fact(
        # Mon 2 March + 5 working days = Mon 9 March; an aim. Standard 3.1's copy goes to
        # the Team Manager the discussion is with: once, in To (finding 23)
        "knowsley", "within Knowsley the aim is 5 working days to complete", "stage-1",
        "2026-03-02", "2026-03-09", "aim", None,
        to="Social worker; Team Manager", responder="Social worker",
        subject="Informal challenge (IRO): child CR-1: Stage 1: Cause for Concern / Informal "
        "Challenge, aim: resolve by Mon 9 March 2026",
    ),
    Fact(
        # "copies in": copies, not the addressee or responder (finding 6); 5 working days
        # from Mon 2 March, an aim, to resolve; Stages 2-4: 20 working days, a limit, from
        # Mon 2 March: 4 + 5 + 5 + 5 working days to Fri 27 March, the 20th Mon 30 March
        "knowsley", "copies in the HOS/Team Manager and IRO/CP Chair Team Manager", "stage-2",
        "2026-03-02", "2026-03-09", "aim", "2026-03-30",
        to="The Dispute Resolution recorded on ICS (the source names no addressee)",
        copy="HOS/Team Manager; IRO/CP Chair Team Manager",
        responder="Those completing the actions recorded on ICS (the source names no one)",
        role="cp-chair",
        subject="Dispute resolution (CP Chair): child CR-1: Stage 2: Dispute Resolution, aim: "
        "resolve by Mon 9 March 2026",
        # Standard 2.3, the process activated against the child's wishes (finding 19)
        guidance=("even if this may not be in accordance with the child's wishes",),
    ),
    Fact(
        # Fri 6 March + 5 working days = Fri 13 March; the cap from Fri 6 March: 15 working
        # days to Fri 27 March, 19 to Thu 2 April, then Good Friday (3 April) and Easter
        # Monday (6 April) are bank holidays: the 20th is Tue 7 April
        "knowsley", "escalates concerns to Assistant Director level aiming for 5 working days "
        "to resolve", "stage-3", "2026-03-06", "2026-03-13", "aim", "2026-04-07",
        to="Assistant Director",
    ),
    Fact(
        "knowsley", "IRO/CP Chair, social worker, Service Manager & Head of Service meet with "
        "Director", "stage-4", "2026-03-02", "2026-03-09", "aim", "2026-03-30",
        to="Director",
    ),
    # -- SBC 1.6.3 ------------------------------------------------------------------------
    Fact(
        # "It is expected": an aim (finding 5); Mon 2 March + 10 working days = Mon 16 March;
        # no overall limit: the source sets none
        "sbc-fciro", "It is expected that this matter will be resolved within ten working days",
        "informal", "2026-03-02", "2026-03-16", "aim", None,
        to="Supervising social worker; Their supervisor/manager; Fostering Managers",
        ref=("--carer", "FC-1"),
        subject="Informal challenge (Fostering IRO): carer household FC-1: Informal "
        "resolution, aim: resolve by Mon 16 March 2026",
        guidance=("Raise the concern informally through ICS",),
    ),
    Fact(
        # Table 1: 5 working days, firm, to resolve; the line manager copied at each level
        "sbc-fciro", "at each level, the immediate line manager should be copied in",
        "level-1", "2026-03-02", "2026-03-09", "firm", None,
        to="Team Manager",
        copy="Immediate line manager; Operational Service Manager; Service Manager, Quality "
        "Assurance and Review",
        ref=("--carer", "FC-1"),
        subject="Dispute resolution (Fostering IRO): carer household FC-1: Formal Level 1: "
        "Team Manager, resolve by Mon 9 March 2026",
        guidance=("continue to escalate", "the source does not say at which"),
    ),
    Fact(
        # "(From this stage onwards, the IRO may seek their own independent legal advice)"
        "sbc-fciro", "From this stage onwards, the IRO may seek their own independent legal "
        "advice", "level-2", "2026-03-02", "2026-03-09", "firm", None,
        to="Operational Service Manager",
        copy="Immediate line manager; Head of Service - Children, Families and Community "
        "Health; Service Manager, Quality Assurance and Review",
        ref=("--carer", "FC-1"),
        guidance=("may seek their own independent legal advice",),
    ),
    Fact(
        # the managers "alerted depending on the level": no level lists them (finding 14)
        "sbc-fciro", "depending on the level, the Service Manager, Quality Assurance and Review "
        "and the relevant Operational Service Manager should also be alerted",
        "level-3", "2026-03-02", "2026-03-09", "firm", None,
        to="Head of Service",
        copy="Immediate line manager; Board Director, Commissioning (DCS/DASS)",
        ref=("--carer", "FC-1"),
        guidance=("the source does not say at which",),
    ),
    Fact(
        "sbc-fciro", "Board Director, Commissioning", "level-4", "2026-03-02", "2026-03-09",
        "firm", None,
        to="Board Director, Commissioning",
        copy="Immediate line manager; Head of Service - Children, Families and Community "
        "Health; Service Manager, Quality Assurance and Review",
        ref=("--carer", "FC-1"),
    ),
    # -- Nottinghamshire Concerns Resolution Process (2021) -------------------------------
    Fact(
        # no numbers at all: no stage deadline and no 20-day clock (finding 10)
        "nottinghamshire-crp", "Resolving disagreements in a timely manner", "discussion",
        "2026-03-02", None, None, None,
        to="The people the concern is about (the flow chart that names them is not in the "
        "text)",
        subject="Concerns resolution (IRO): child CR-1: Concern raised and discussed, no "
        "timescale set",
        guidance=("face to face where possible",),
    ),
    Fact(
        "nottinghamshire-crp", "if required ensuring this is reviewed by the relevant manager "
        "and responded to", "manager-review", "2026-03-02", None, None, None,
        to="Relevant manager", role="cp-coordinator",
        subject="Concerns resolution (CP Co-ordinator): child CR-1: Reviewed and responded to "
        "by the relevant manager, no timescale set",
    ),
    Fact(
        # escalation is the text's for a partner agency only (finding 15)
        "nottinghamshire-crp", "escalate the concern through the appropriate channels",
        "escalation", "2026-03-02", None, None, None,
        to="The senior manager the flow chart names (the flow chart is not in the text)",
        route="partner-agency",
        guidance=("only for a concern within a partner agency",),
    ),
    Fact(
        # social care's concern about a chair: opened with --chair (finding 16)
        "nottinghamshire-crp", "If social care is concerned about the practice of the "
        "independent chair", "discussion", "2026-03-02", None, None, None,
        to="The people the concern is about (the flow chart that names them is not in the "
        "text)",
        role="social-care", ref=("--chair", "CH-7"),
        subject="Concerns resolution (Children's Social Care): chair CH-7: Concern raised and "
        "discussed, no timescale set",
    ),
    Fact(
        # a fostering IRO's concern about foster carers: a carer household (finding 17)
        "nottinghamshire-crp", "concerns identified in regard to how the support and "
        "assessment of Foster Carers is being managed", "discussion", "2026-03-02", None,
        None, None,
        to="The people the concern is about (the flow chart that names them is not in the "
        "text)",
        role="fciro", ref=("--carer", "FC-9"),
        subject="Concerns resolution (Fostering IRO): carer household FC-9: Concern raised "
        "and discussed, no timescale set",
    ),
]  # fmt: skip


def rows_of(form: str) -> dict[str, str]:
    rows = {}
    for line in form.splitlines():
        if line.startswith("| **"):
            label, _, value = line[4:].partition("** | ")
            rows[label] = value.rstrip(" |")
    return rows


@pytest.mark.parametrize("fact", FACTS, ids=[f"{i}-{f.stage}" for i, f in enumerate(FACTS)])
def test_fact(drp, tracker, fact: Fact):
    folder = seed_dir()
    if folder is not None:  # the words are the source's own
        text = normalise((folder / SOURCES[fact.protocol]).read_text(encoding="utf-8"))
        assert normalise(fact.quote) in text
    args = ["open", "--protocol", fact.protocol, *fact.ref, "--category", "general",
            "--summary", "A concern.", "--on", fact.opened]  # fmt: skip
    protocol = load_registry([]).protocols[fact.protocol]
    if fact.stage != protocol.first_stage.slug:
        args += ["--stage", fact.stage, "--reason", "Opened at this stage for the test"]
    if fact.role:
        args += ["--role", fact.role]
    if fact.route:
        args += ["--route", fact.route]
    r = drp(*args)
    assert r.exit_code == 0, r.stderr
    shown = drp("show", "1", "--json").json()
    assert (shown["deadline"], shown["deadline_kind"]) == (fact.deadline, fact.kind)
    assert shown["formal_deadline"] == fact.formal_deadline

    form = drp("alert", "1", "--on", fact.opened).stdout
    rows = rows_of(form)
    assert rows["To"] == fact.to
    assert rows["Copy to"] == fact.copy
    assert rows.get("To be notified") == fact.notified
    assert f"## Response by {fact.responder or fact.to.split('; ')[0]}\n" in form
    for words in fact.guidance:
        assert words in " ".join(form.split()), words
    if fact.subject:
        view = tracker.get(1)
        stage = protocol.stage(view.stage)
        assert alerts.subject(view, protocol, stage) == fact.subject


def test_facts_cover_every_stage_of_the_three():
    reg = load_registry([]).protocols
    for slug in SOURCES:
        assert {f.stage for f in FACTS if f.protocol == slug} == set(reg[slug].stage_slugs), slug


def test_no_20_day_clock_and_no_borrowed_bypass_for_the_2021_process():
    crp = load_registry([]).protocols["nottinghamshire-crp"]
    # "the IRO Handbook's words as another council quotes them" are not this council's rule
    assert crp.formal_cap_working_days is None and crp.cap_kind is None
    assert crp.bypass_quote == "" and "gives no bypass rule" in crp.bypass_citation
    assert not crp.formal_cap_quote.startswith("004: ")


def test_west_sussex_section_4_parties_are_among_the_recipients(drp, tmp_path: Path):
    """§4: "The IRO / CPA emails the relevant line manager and social worker": copied on
    the e-mail; the DCS, alerted by the Team Manager (§5 Stage 4), is not."""
    config = tmp_path / "config.toml"
    config.write_text('smtp_host = "127.0.0.1"\nsmtp_from = "cpa@example.org"\n')
    config.chmod(0o600)
    r = drp("open", "--protocol", "west-sussex", "--child", "WS-1", "--category", "general",
            "--summary", "A concern.", "--on", "2026-03-02", "--role", "cpa", "--stage",
            "stage-1", "--reason", "Immediate safety")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    for name, address in (("Practice Manager", "pm@example.org"),
                          ("Relevant line manager", "lm@example.org"),
                          ("Social worker", "sw@example.org"),
                          ("Director of Children's Services", "dcs@example.org")):  # fmt: skip
        assert drp("staff", "add", name, "--email", address).exit_code == 0
    out = tmp_path / "a.eml"
    r = drp("alert", "1", "--eml", str(out))
    assert r.exit_code == 0, r.stderr
    import email
    import email.policy

    msg: Any = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "Practice Manager <pm@example.org>"
    assert msg["Cc"] == "Relevant line manager <lm@example.org>, Social worker <sw@example.org>"
    assert msg["Subject"] == (
        "Dispute resolution (CPA): child WS-1: Stage 1: Practice Manager, "
        f"{msg['Subject'].rsplit(', ', 1)[1]}"
    )
    assert not msg["Subject"].startswith("IRO alert")
