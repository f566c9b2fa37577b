"""The protocol files: each follows its seed, and bad files fail with clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drp_cli.core.errors import ProtocolFileError
from drp_cli.domain.protocols import builtin_dir, load_protocol_file, load_registry, themes

EXPECTED = {
    # slug: [(stage, formal, working days, kind)]
    "nottinghamshire-2016": [
        ("alert", False, 10, "firm"),  # "within the maximum 10 working days" (§1 para 6)
        # "An urgent plan will be agreed with actions to be taken within 7 working days"
        ("stage-1", True, 7, "firm"),
        # the meeting is "within 7 working days following the outcome of Stage 1": a step
        ("stage-2", True, None, None),
        ("stage-3", True, 5, "firm"),  # "with the service director within 5 working days"
    ],
    "sbc-fciro": [
        # "It is expected that this matter will be resolved within ten working days" (§1)
        # an expectation, an aim (issue 28 finding 5)
        ("informal", False, 10, "aim"),
        ("level-1", True, 5, "firm"),  # Table 1: "5 working days" at each level
        ("level-2", True, 5, "firm"),
        ("level-3", True, 5, "firm"),
        ("level-4", True, 5, "firm"),
    ],
    "knowsley": [
        ("stage-1", False, 5, "aim"),  # "the aim is 5 working days to complete" (3.1)
        ("stage-2", True, 5, "aim"),  # "aiming for 5 working days to resolve" (3.2-3.4)
        ("stage-3", True, 5, "aim"),
        ("stage-4", True, 5, "aim"),
    ],
    "nottinghamshire-crp": [
        # no timescales: the flow chart is not in the text; no informal stage is named
        ("discussion", True, None, None),
        ("manager-review", True, None, None),
        ("escalation", True, None, None),
    ],
    "west-sussex": [
        # "request that the Practice Manager confirms within 5 working days" (§3 iv)
        ("informal", False, 5, "firm"),
        ("stage-1", True, 5, "firm"),  # "within 5 days of initiation" (§5)
        ("stage-2", True, 5, "firm"),  # "within 5 days of escalation to Stage 2"
        ("stage-3", True, 5, "firm"),  # "within 5 days of escalation to Stage 3"
        ("stage-4", True, 5, "firm"),  # "within 5 days or escalation to Stage 5"
        ("stage-5", True, None, None),  # §5 Stage 5 gives none
    ],
}
CAPS: dict[str, tuple[int | None, str | None, list[str]]] = {
    # slug: (working days, kind, roles it applies to)
    # "cannot take longer than 20 working days to resolve" (3.5)
    "knowsley": (20, "firm", []),
    # §2 quotes the Handbook's "should": "should have timescales in total of no more than 20
    # working days": guidance, not a limit of its own (issue 28 finding 7)
    "west-sussex": (20, "guidance", []),
    # the source sets none, and nothing is carried from another council's document (issue 28
    # finding 11)
    "nottinghamshire-2016": (None, None, []),
    # issue 28 finding 10: no numbers at all in the source, so no Handbook clock either
    "nottinghamshire-crp": (None, None, []),
    # reviews of foster carers: the Handbook does not apply, the source sets none
    "sbc-fciro": (None, None, []),
}


def test_builtin_protocols_follow_the_seeds():
    reg = load_registry([])
    assert sorted(reg.protocols) == sorted(EXPECTED)
    for slug, stages in EXPECTED.items():
        p = reg.protocols[slug]
        assert [(s.slug, s.formal, s.timescale_working_days, s.kind) for s in p.stages] == stages
        assert (p.formal_cap_working_days, p.cap_kind, p.formal_cap_roles) == CAPS[slug]
        assert p.source_file.startswith(("000_", "001_", "002_", "003_", "004_")), slug
        for s in p.stages:
            assert s.citation.strip(), (slug, s.slug)
            assert s.addressed_to
            if s.timescale_working_days is None:
                assert "no timescale" in s.timescale_note, (slug, s.slug)


def test_caps_and_who_they_apply_to():
    reg = load_registry([])
    assert reg.protocols["knowsley"].cap_applies("cp-chair")  # "adopted the same process"
    assert reg.protocols["west-sussex"].cap_applies("cpa")
    crp = reg.protocols["nottinghamshire-crp"]
    assert not crp.cap_applies("iro")  # the source sets no limit (issue 28 finding 10)
    assert not crp.cap_applies("social-care")
    assert not crp.cap_applies("cp-coordinator")
    sbc = reg.protocols["sbc-fciro"]
    assert not sbc.cap_applies("fciro")
    assert "gives no overall limit" in sbc.formal_cap_citation
    # Nottinghamshire 2016 sets no total and quotes none from another council (finding 11)
    n = reg.protocols["nottinghamshire-2016"]
    assert (n.formal_cap_quote, n.cap_applies("iro")) == ("", False)
    assert "004: " not in n.bypass_quote


def test_knowsley_meetings_and_parties():
    kn = load_registry([]).protocols["knowsley"]
    # "If following the DR meeting" (3.3): a meeting the source names, with no timescale
    dr = kn.stage("stage-2").step("dr-meeting")
    assert dr is not None and dr.meeting and dr.optional and dr.within_working_days is None
    s4 = kn.stage("stage-4")
    # "IRO/CP Chair, social worker, Service Manager & Head of Service meet with Director"
    assert s4.addressee_names == ["Director"]
    assert [p.who for p in s4.attendees] == [
        "IRO/CP Chair",
        "Social worker",
        "Service Manager",
        "Head of Service",
    ]
    assert s4.copy_names == []
    meeting = s4.step("director-meeting")
    assert meeting is not None and meeting.meeting and not meeting.optional
    # "copying both the Social Worker's Team Manager on ICS" (3.1): the Team Manager the
    # discussion is with, already addressed, so not copied as well (issue 28 finding 23)
    assert kn.stage("stage-1").addressee_names == ["Social worker", "Team Manager"]
    assert kn.stage("stage-1").copy_names == []
    # "all actions are recorded on the child's case record" (2.5): at every stage
    assert [d.slug for d in kn.duties_at("stage-3", None, opening=False)] == ["case-record"]
    assert [d.slug for d in kn.duties_at("stage-1", None, opening=True)] == [
        "case-record",
        "child-file",
        "ics-record",
    ]
    # "at any point in the dispute resolution process" (2.2)
    assert kn.referral.offered and kn.referral.after_stage == ""
    assert kn.referral.notify_before == ""


def test_nottinghamshire_2016_steps_and_parties():
    n = load_registry([]).protocols["nottinghamshire-2016"]
    alert = n.stage("alert")
    # the Team Manager completes the "Response by Team Manager" section (§1 para 6)
    assert alert.response_by == "Team Manager"
    assert alert.addressee_names == ["Social worker", "Team Manager"]
    # "A copy should be sent to IRO Business Support to the email address IRO alerts"
    assert alert.copy_names == ["IRO Business Support (IRO alerts email address)"]
    # "The IRO admin will log all alert forms sent out" ... "a copy of the alert form is
    # placed in the documents section of the child's file" (§1 para 7)
    assert [d.slug for d in n.duties_at("alert", None, opening=True)] == [
        "central-log",
        "child-file",
    ]
    s1 = n.stage("stage-1")
    # "At this stage, within 24 hours, the service manager ICS will communicate with the
    # service manager for the child's social worker": 24 hours from the escalation, the next
    # calendar day (issue 28 finding 1)
    contact = s1.step("contact")
    assert contact is not None
    assert (contact.within_hours, contact.within_working_days, contact.kind, contact.after) == (
        24, None, "firm", "escalation")  # fmt: skip
    plan = s1.step("urgent-plan")
    assert plan is not None
    assert (plan.within_working_days, plan.after) == (None, "contact")
    # "An urgent plan will be agreed with actions to be taken within 7 working days": the
    # plan's actions, not a reply (finding 9)
    assert (s1.timescale_from, s1.timescale_for) == ("urgent-plan", "act")
    # the Service Manager ICS, the IRO's own manager who makes the contact, is copied
    assert s1.addressee_names == ["Service Manager for the child's social worker"]
    assert len(s1.copy_names) == 1 and s1.copy_names[0].startswith("Service Manager, Indep")
    s2 = n.stage("stage-2")
    # "a professionals meeting should be held within 7 working days following the outcome of
    # Stage 1"
    meeting = s2.step("professionals-meeting")
    assert meeting is not None
    # "should be held ... following the outcome of Stage 1": an aim, from the outcome
    assert (meeting.within_working_days, meeting.kind, meeting.meeting, meeting.after) == (
        7, "aim", True, "previous-outcome")  # fmt: skip
    assert s2.clock is not None and s2.clock.purpose == "meeting"  # finding 3
    # "with attendance of the social worker, IRO, Team Manager and Children's Service Manager"
    assert [p.who for p in s2.attendees] == [
        "Social worker",
        "IRO",
        "Team Manager",
        "Children's Service Manager",
    ]
    # the Group Managers "will discuss if there is still no resolution following the meeting":
    # they act, so they are a step, not a copy
    discuss = s2.step("group-managers-discuss")
    assert discuss is not None and discuss.after == "professionals-meeting"
    assert s2.copy_names == []
    s3 = n.stage("stage-3")
    # "the Group Manager (Safeguarding And Independent Review) will discuss concerns with the
    # service director within 5 working days"
    # the source names no responder; the Group Manager discusses and agrees (finding 11)
    assert s3.response_by == "Group Manager (Safeguarding and Independent Review)"
    assert s3.addressee_names == ["Group Manager (Safeguarding and Independent Review)"]
    assert s3.copy_names == []
    # "prior to making a referral, the IRO should notify a nominated Local Authority senior
    # officer (group manager, safeguarding and independent review)" (§1.2 para 4)
    assert n.referral.notify_before.startswith("Nominated senior officer")
    assert [r.slug for r in n.all_routes] == ["care-plan", "external-agency"]
    # "the IRO must discuss the matter with the service manager, independent chair service,
    # in the first instance, and the practice issue will be raised by way of a letter"
    assert [s.slug for s in n.steps_at("alert", "external-agency", opening=True)] == [
        "ics-discussion",
        "letter-endorsed",
    ]
    assert n.steps_at("alert", "external-agency", opening=False) == []
    assert n.route(None).slug == "care-plan"


def test_nottinghamshire_crp_routes():
    crp = load_registry([]).protocols["nottinghamshire-crp"]
    assert [r.slug for r in crp.all_routes] == [
        "child",
        "partner-agency",
        "foster-carer",
        "social-care",
    ]
    # "If social care is concerned about the practice of the independent chair"
    sc = crp.route("social-care")
    assert (sc.subject, sc.roles, sc.cafcass, sc.child_voice) == (
        "chair",
        ["social-care"],
        False,
        False,
    )
    esc = crp.stage("escalation")
    # "escalate the concern through the appropriate channels" is said of a partner agency only
    assert "only for a concern within a partner agency" in esc.guidance
    assert esc.copy_names == []  # the Group Manager is named only for CAFCASS notification
    # "recording the discussion on the child or adult's file within the MOSAIC step";
    # "Concerns actions, responses, and outcomes must be recorded and agreed"
    assert [d.slug for d in crp.duties] == ["mosaic-step", "recorded-agreed"]
    assert crp.referral.notify_quote == "Prior to making a referral, the IRO should notify"


def test_sbc_copies_alerts_and_no_cafcass():
    sbc = load_registry([]).protocols["sbc-fciro"]
    assert sbc.stage("level-1").addressee_names == ["Team Manager"]
    # "at each level, the immediate line manager should be copied in"
    for level in ("level-1", "level-2", "level-3", "level-4"):
        assert sbc.stage(level).copy_names[0] == "Immediate line manager"
    # Table 1, Level 3: "A copy must also be provided to: Board Director, Commissioning"
    assert "Board Director, Commissioning (DCS/DASS)" in sbc.stage("level-3").copy_names
    # "depending on the level, the Service Manager, Quality Assurance and Review and the
    # relevant Operational Service Manager should also be alerted": the source does not say at
    # which levels, so none lists them (issue 28 finding 14); the guidance quotes §1
    for level in ("level-1", "level-2", "level-3", "level-4"):
        assert sbc.stage(level).notifications == []
        assert "the source does not say at which" in sbc.stage(level).guidance
    # the source never mentions CAFCASS
    assert not sbc.referral.offered and sbc.referral.quote == ""
    carer = sbc.route(None)
    assert (carer.slug, carer.subject, carer.cafcass, carer.child_voice) == (
        "carer",
        "carer",
        False,
        False,
    )
    # "Where appropriate, the Fostering Family should be informed by the IRO"
    duties = {d.slug: d for d in sbc.duties_at("informal", "carer", opening=True)}
    assert list(duties) == ["ics-exemplar", "fostering-family-informed", "carer-file"]
    assert duties["fostering-family-informed"].conditional


def test_west_sussex_parties_steps_and_duties():
    ws = load_registry([]).protocols["west-sussex"]
    informal = ws.stage("informal")
    # "request that the Practice Manager confirms within 5 working days" (§3 iv)
    assert informal.response_by == "Practice Manager"
    assert "immediate safety" in informal.guidance
    # "The IRO / CPA emails the relevant line manager and social worker, alerting them to the
    # escalation stage" (§4), and §5's "to be notified": notified, never copied
    for slug in ("stage-1", "stage-2", "stage-3", "stage-4", "stage-5"):
        assert ws.stage(slug).copy_names == [], slug
    for slug in ("stage-1", "stage-2", "stage-3", "stage-4"):
        names = [p.who for p in ws.stage(slug).notifications]
        assert names[:2] == ["Relevant line manager", "Social worker"], slug
        # "can invite the Relevant Manager to a dispute resolution meeting within the 5 working
        # days of the initiated Stage, if needed"
        dr = ws.stage(slug).step("dr-meeting")
        assert dr is not None and dr.optional and dr.meeting
        assert (dr.within_working_days, dr.kind) == (5, "firm")
    # "IRO/ CPA TM to be notified" (§5 Stage 2)
    assert "IRO/CPA Team Manager" in [p.who for p in ws.stage("stage-2").notifications]
    s5 = ws.stage("stage-5")
    # "Assistant Director Safeguarding Quality and Practice notifies the Deputy Director and
    # Executive Director Children's Services"
    assert s5.addressee_names == ["Assistant Director Safeguarding Quality and Practice"]
    assert [p.who for p in s5.notifications] == [
        "Deputy Director",
        "Executive Director Children's Services",
    ]
    assert s5.step("executive-notified") is not None
    # "Following stage 5" (§6)
    assert ws.referral.after_stage == "stage-5"
    assert ws.referral.notify_before == ""
    assert [d.slug for d in ws.duties if d.conditional] == [
        "child-told-process",
        "participants-advised",
        "complaint-rights",
    ]


def test_themes_are_the_four_of_the_seeds():
    t = themes()
    assert [x.slug for x in t.themes] == ["general", "statutory", "care-plan", "service"]
    # sources named by document and section, never by seed number (issue 28 finding 23)
    assert t.check_issue("statutory", "no-social-worker").sources == [
        "SBC 1.6.3 Table 2",
        "West Sussex DRP App. 2",
        "NSCB 11.3.4 §1 para 2",  # "Non allocation of social worker"
    ]
    # "Lack of clear exit plan" (NSCB 11.3.4 §1 para 2)
    assert t.check_issue("care-plan", "exit-plan").sources == ["NSCB 11.3.4 §1 para 2"]
    # every NSCB 11.3.4 example has an issue (issue 28 finding 18)
    nscb = {i.slug for x in t.themes for i in x.issues if "NSCB 11.3.4 §1 para 2" in i.sources}
    assert nscb == {"care-planning", "plan-not-implemented", "care-planning-decisions",
                    "drift-delay", "exit-plan", "no-social-worker", "professional-practice",
                    "child-voice"}  # fmt: skip
    assert t.check_issue("care-plan", "care-planning").text == "Care planning"
    assert t.check_issue("care-plan", "care-planning-decisions").text == (
        "Decisions relating to the care planning process"
    )
    # West Sussex DRP Appendix 1
    assert t.check_issue("care-plan", "plan-safeguarding").sources == ["West Sussex DRP App. 1"]
    assert t.check_issue("care-plan", "plan-child-needs").sources == ["West Sussex DRP App. 1"]
    for theme in t.themes:
        assert "seed" not in theme.citation, theme.slug
        for i in theme.issues:
            assert not any(re.match(r"\d{3} ", src) for src in i.sources), i.slug


GOOD = """
slug = "{slug}"
title = "Test protocol"
authority = "Test Council"
source = "test"
roles = ["iro"]
formal_cap_working_days = 20
formal_cap_citation = "IRO Handbook"
bypass_citation = "IRO Handbook 6.2"
cafcass_citation = "s.25B(3)"

[[stages]]
slug = "informal"
title = "Informal"
formal = false
addressed_to = ["Team Manager"]
timescale_working_days = 3
citation = "para 1"

[[stages]]
slug = "formal"
title = "Formal"
formal = true
addressed_to = ["Service Manager"]
timescale_working_days = 4
citation = "para 2"
"""


def write(folder: Path, slug: str, text: str) -> Path:
    path = folder / f"{slug}.toml"
    path.write_text(text)
    return path


def test_user_protocol_is_loaded(user_protocols, drp):
    write(user_protocols, "testshire", GOOD.format(slug="testshire"))
    r = drp("protocols", "--json")
    assert r.exit_code == 0
    assert "testshire" in [p["slug"] for p in r.json()]
    r = drp(
        "open", "--protocol", "testshire", "--child", "T-1", "--category", "general",
        "--summary", "x", "--on", "2025-03-03", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert r.json()["deadline"] == "2025-03-06"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.format(slug="bad").replace('title = "Formal"\n', ""),
            "field stages.1.title: required, but missing",
        ),
        (
            GOOD.format(slug="bad").replace("days = 4", "days = 0"),
            "field stages.1.timescale_working_days: Expected `int` >= 1",
        ),
        (
            GOOD.format(slug="bad").replace("timescale_working_days = 4\n", ""),
            "field stages.1: timescale_note is required when "
            "timescale_working_days is absent: say that the source gives no timescale",
        ),
        (
            GOOD.format(slug="bad").replace('roles = ["iro"]', 'roles = ["judge"]'),
            "field roles: unknown role 'judge'; allowed: iro, cp-chair, cpa, "
            "cp-coordinator, fciro, social-care",
        ),
        (
            GOOD.format(slug="bad").replace('slug = "formal"', 'slug = "informal"'),
            "field (top level): stage slug 'informal' appears more than once",
        ),
        (
            GOOD.format(slug="bad")
            .replace("formal = false", "formal = true", 1)
            .replace('true\naddressed_to = ["Service', 'false\naddressed_to = ["Service'),
            "field (top level): stage 'formal' is informal but follows a formal stage",
        ),
        (GOOD.format(slug="other"), "field slug: 'other' must match the file name 'bad'"),
        (
            GOOD.format(slug="bad") + "colour = 'red'\n",
            "field stages.1.colour: not a known field",
        ),
    ],
)  # fmt: skip
def test_malformed_protocol_file(tmp_path, text, message):
    path = write(tmp_path, "bad", text)
    with pytest.raises(ProtocolFileError) as err:
        load_protocol_file(path)
    assert str(err.value) == f"protocol file {path}: {message}"


def test_invalid_toml_and_duplicate_slug(user_protocols, drp):
    path = write(user_protocols, "broken", "slug = ")
    r = drp("protocols")
    assert r.exit_code == 4
    assert r.stderr.startswith(f"Error: protocol file {path} is not valid TOML:")
    assert r.stderr.count("\n") == 1
    path.unlink()
    write(user_protocols, "knowsley", GOOD.format(slug="knowsley"))
    r = drp("protocols")
    assert r.exit_code == 4
    assert r.stderr == (
        f"Error: protocol file {user_protocols / 'knowsley.toml'}: field slug: 'knowsley' is "
        f"already defined by {builtin_dir() / 'knowsley.toml'}; give your protocol its own "
        "slug\n"
    )


def test_protocols_commands(drp):
    r = drp("protocols")
    assert r.exit_code == 0
    assert "west-sussex" in r.stdout and "informal (5) > stage-1 (5)" in r.stdout
    r = drp("protocols", "show", "west-sussex")
    assert r.exit_code == 0
    assert "stage-5" in r.stdout
    assert "none given" in r.stdout
    r = drp("protocols", "show", "west-sussex", "--json")
    assert r.json()["stages"][5]["timescale_working_days"] is None
    r = drp("protocols", "show", "nowhere")
    assert r.exit_code == 2
    assert r.stderr.startswith("Error: unknown protocol 'nowhere'; installed: knowsley, ")
    r = drp("protocols", "--paths")
    assert "built-in:" in r.stdout
    r = drp("themes")
    assert "no-social-worker" in r.stdout
