"""What each source says, through the commands people use: aims that may be extended, steps
with their own clocks, meetings, recording duties, routes, and CAFCASS per protocol. Each
expected value has its source quote beside it."""

from __future__ import annotations

from tests.conftest import open_args


def opened(drp, **kw: str) -> dict:
    r = drp(*open_args(**kw), "--json")
    assert r.exit_code == 0, r.stderr
    return r.json()


def show(drp, cid: int, on: str) -> dict:
    r = drp("show", str(cid), "--on", on, "--json")
    assert r.exit_code == 0, r.stderr
    return r.json()


# -- timescales as the source states them ---------------------------------------------------
def test_knowsley_aims_pass_without_overdue_and_may_be_extended(drp):
    # "within Knowsley the aim is 5 working days to complete" (Standard 3.1): Mon 3 Mar 2025
    # -> Mon 10 Mar, an aim. "STAGE 2 - 4 cannot take longer than 20 working days" (3.5): firm.
    c = opened(drp)
    assert (c["deadline"], c["deadline_kind"]) == ("2025-03-10", "aim")
    d = show(drp, 1, "2025-03-12")
    assert (d["overdue"], d["past_aim"], d["stages"][0]["result"]) == (False, True, "past-aim")
    assert d["stages"][0]["timescale_kind"] == "aim"
    # "it can vary as appropriate but must not drift" (1.3): extended, with a reason
    r = drp("due", "1", "2025-03-20", "--on", "2025-03-11")
    assert (r.exit_code, r.stderr) == (2, "Error: --reason must not be empty\n")
    r = drp("due", "1", "2025-03-20", "--reason", "TM on leave; agreed", "--on", "2025-03-11")
    assert r.exit_code == 0, r.stderr
    d = show(drp, 1, "2025-03-12")
    assert (d["deadline"], d["deadline_kind"], d["past_aim"]) == ("2025-03-20", "aim", False)
    assert d["events"][-1]["kind"] == "due-set" and d["events"][-1]["text"] == "TM on leave; agreed"
    # formal from Stage 2 on Thu 13 Mar: 20 working days -> Thu 10 Apr, firm
    drp("escalate", "1", "--on", "2025-03-13")
    d = show(drp, 1, "2025-04-11")
    assert (d["formal_deadline"], d["formal_deadline_kind"], d["overdue"]) == (
        "2025-04-10", "firm", True)  # fmt: skip
    r = drp("overdue", "--on", "2025-04-11", "--json")
    assert r.exit_code == 1
    # the firm limit passed, and the stage's aim (Thu 20 Mar) passed beside it: a line each
    assert [(i["state"], i["which"], i["timescale"]) for i in r.json()] == [
        ("overdue", "formal", "firm"), ("past-aim", "stage", "aim")]  # fmt: skip


def test_a_firm_timescale_cannot_be_extended(drp):
    # West Sussex Stage 1: "Issue to be resolved/ sufficiently progressed within 5 days of
    # initiation" (§5). (The informal stage's 5 days count from the request to the Practice
    # Manager, §3 iv, so they are not the example: issue 28 finding 8.)
    opened(drp, protocol="west-sussex", stage="stage-1", reason="Immediate safety")
    r = drp("due", "1", "2025-03-20", "--reason", "asked", "--on", "2025-03-04")
    assert r.exit_code == 2
    assert r.stderr == (
        "Error: --due 2025-03-20 is later than the protocol allows for stage 'stage-1' (5 "
        "working days: 2025-03-10); a due date can only shorten a firm timescale\n"
    )
    assert drp("due", "1", "2025-03-07", "--reason", "urgent", "--on", "2025-03-04").exit_code == 0
    assert show(drp, 1, "2025-03-04")["deadline"] == "2025-03-07"


def test_protocol_json_carries_the_kinds(drp):
    kn = drp("protocols", "show", "knowsley", "--json").json()
    assert [s["timescale_kind"] for s in kn["stages"]] == ["aim", "aim", "aim", "aim"]
    assert kn["formal_cap_kind"] == "firm"
    sbc = drp("protocols", "show", "sbc-fciro", "--json").json()
    assert (sbc["formal_cap_kind"], sbc["formal_cap_working_days"]) == (None, None)
    assert sbc["cafcass"]["offered"] is False
    ws = drp("protocols", "show", "west-sussex", "--json").json()
    # "request that the Practice Manager confirms within 5 working days" (§3 iv)
    assert ws["stages"][0]["responder"] == "Practice Manager"
    assert ws["cafcass"]["after_stage"] == "stage-5"


# -- steps, meetings and the morning check ----------------------------------------------------
def test_nottinghamshire_2016_stage_1_steps_in_the_morning_check(drp):
    # Stage 1 on Mon 2 Jun 2025: "within 24 hours, the service manager ICS will communicate
    # with the service manager for the child's social worker" -> by Tue 3 Jun (§1 para 8)
    opened(drp, protocol="nottinghamshire-2016", stage="stage-1", on="2025-06-02",
           reason="Immediate safety: placement breaking down", category="care-plan")  # fmt: skip
    r = drp("overdue", "--on", "2025-06-04", "--json")
    assert r.exit_code == 1
    assert [(i["which"], i["step"], i["deadline"], i["timescale"]) for i in r.json()] == [
        ("step", "contact", "2025-06-03", "firm")]  # fmt: skip
    assert "(step: contact)" in drp("overdue", "--on", "2025-06-04").stdout
    assert drp("done", "1", "contact", "--on", "2025-06-03").exit_code == 0
    r = drp("done", "1", "contact", "--on", "2025-06-03")
    assert (r.exit_code, r.stderr) == (1, "Error: 'contact' was already recorded as done at "
                                          "stage 'stage-1' on 2025-06-03\n")  # fmt: skip
    r = drp("done", "1", "lunch")
    assert r.exit_code == 2
    assert r.stderr.startswith("Error: the name given is not a step or recording duty of stage "
                               "'stage-1'; allowed: contact, urgent-plan, outcome")  # fmt: skip
    # "An urgent plan will be agreed with actions to be taken within 7 working days": agreed
    # Wed 4 Jun -> 5-6 (2), 9-13 (7) -> Fri 13 Jun
    drp("done", "1", "urgent-plan", "--on", "2025-06-04")
    d = show(drp, 1, "2025-06-04")
    assert (d["deadline"], d["next_step"]) == ("2025-06-13", None)
    assert [(s["slug"], s["done_on"], s["state"]) for s in d["steps"]] == [
        ("contact", "2025-06-03", "done"), ("urgent-plan", "2025-06-04", "done"),
        ("outcome", None, "optional")]  # fmt: skip
    assert d["notices"] == []  # the reason for opening at Stage 1 is recorded


def test_a_meeting_meets_the_professionals_meeting(drp):
    # Stage 2: "a professionals meeting should be held within 7 working days following the
    # outcome of Stage 1" (§1 para 8): opened at Stage 2, no outcome of Stage 1 recorded, so
    # from Mon 2 Jun 2025 -> 3-6 (4), 9-11 (7) -> Wed 11 Jun, an aim ("should")
    opened(drp, protocol="nottinghamshire-2016", stage="stage-2", on="2025-06-02",
           category="care-plan")  # fmt: skip
    d = show(drp, 1, "2025-06-02")
    assert d["next_step"] == {"slug": "professionals-meeting", "title": d["next_step"]["title"],
                              "due": "2025-06-11", "kind": "aim"}  # fmt: skip
    assert d["notices"] == ["opened at stage-2 without a recorded reason for going straight to it"]
    r = drp(
        "meeting",
        "1",
        "--on",
        "2025-06-10",
        "--attendees",
        "SM ICS (chair); SW; IRO; TM",
        "--text",
        "Plan agreed",
        "--actions",
        "SW to visit by 13 Jun; TM to fund",
    )
    assert r.exit_code == 0, r.stderr
    d = show(drp, 1, "2025-06-12")
    assert d["meetings"] == [{"on": "2025-06-10", "stage": "stage-2",
                              "attendees": ["SM ICS (chair)", "SW", "IRO", "TM"],
                              "text": "Plan agreed", "actions": ["SW to visit by 13 Jun",
                                                                 "TM to fund"],
                              "step": "professionals-meeting"}]  # fmt: skip
    assert d["next_step"] is None and not d["overdue"]
    r = drp("meeting", "1", "--attendees", " ; ", "--text", "x")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --attendees: name at least one person who attended\n")  # fmt: skip


def test_recording_duties_outstanding_then_done(drp):
    # "The IRO admin will log all alert forms sent out ... on a centrally maintained
    # database" (NSCB 11.3.4 §1 para 7)
    opened(drp, protocol="nottinghamshire-2016", category="care-plan")
    duties = {d["slug"]: d["done_on"] for d in show(drp, 1, "2025-03-03")["duties"]}
    assert duties == {"central-log": None, "child-file": None}
    drp("done", "1", "central-log", "--on", "2025-03-04")
    duties = {d["slug"]: d["done_on"] for d in show(drp, 1, "2025-03-05")["duties"]}
    assert duties == {"central-log": "2025-03-04", "child-file": None}
    assert "OUTSTANDING" in drp("show", "1").stdout


# -- routes -------------------------------------------------------------------------------------
def test_sbc_is_about_a_carer_household_and_has_no_cafcass_referral(drp):
    r = drp(*open_args(protocol="sbc-fciro", role="fciro"))
    assert r.exit_code == 2
    assert r.stderr == ("Error: --route 'carer' of protocol 'sbc-fciro' is about a carer, not a "
                        "child: give its reference with --carer\n")  # fmt: skip
    args = [a if a != "--child" else "--carer" for a in open_args(protocol="sbc-fciro")]
    assert drp(*args).exit_code == 0
    d = show(drp, 1, "2025-03-03")
    assert (d["subject"], d["route"], d["missing"]) == ("carer", "carer", [])
    r = drp("refer", "1")
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: protocol 'sbc-fciro' gives no CAFCASS referral: ")


def test_social_care_concern_about_a_chair(drp):
    # "If social care is concerned about the practice of the independent chair" (crp)
    r = drp(*open_args(protocol="nottinghamshire-crp", role="social-care", category="service"),
            "--json")  # fmt: skip
    assert r.exit_code == 2  # the subject is a chair, not a child
    r = drp(*[a if a != "--child" else "--carer" for a in open_args(
        protocol="nottinghamshire-crp", role="social-care", category="service")])  # fmt: skip
    assert r.exit_code == 2
    r = drp(
        "open",
        "--protocol",
        "nottinghamshire-crp",
        "--role",
        "social-care",
        "--route",
        "social-care",
        "--category",
        "service",
        "--summary",
        "x",
        "--on",
        "2025-03-03",
        "--child",
        "CH-1",
    )
    assert r.exit_code == 2 and "is about a chair" in r.stderr


def test_external_agency_route_steps(drp):
    # "the practice issue will be raised by way of a letter, which must be endorsed by the
    # service manager, ICS" (NSCB 11.3.4 §1 para 2)
    opened(drp, protocol="nottinghamshire-2016", route="external-agency", category="service")
    d = show(drp, 1, "2025-03-03")
    assert [s["slug"] for s in d["steps"]] == ["ics-discussion", "letter-endorsed"]
    assert drp("done", "1", "letter-endorsed", "--on", "2025-03-04").exit_code == 0


# -- CAFCASS per protocol -----------------------------------------------------------------------
def test_notification_after_the_referral_is_recorded_and_flagged(drp):
    # "prior to making a referral, the IRO should notify a nominated Local Authority senior
    # officer" (NSCB 11.3.4 §1.2 para 4)
    opened(drp, protocol="nottinghamshire-2016", category="care-plan")
    r = drp(
        "refer",
        "1",
        "--on",
        "2025-03-05",
        "--senior-officer",
        "GM SIR",
        "--notified-on",
        "2025-03-06",
        "--method",
        "telephone",
        "--text",
        "Placement move in weeks",
    )
    assert r.exit_code == 0, r.stderr
    notices = show(drp, 1, "2025-03-06")["notices"]
    assert len(notices) == 1 and "after the referral on 2025-03-05" in notices[0]
    for step in ("helpline", "confirmed-in-writing", "legal-advice"):
        assert drp("cafcass", "1", step, "--on", "2025-03-06").exit_code == 0
    r = drp("cafcass", "1", "outcome", "--on", "2025-03-06")
    assert (r.exit_code, r.stderr) == (2, "Error: --text must not be empty\n")
    steps = [s["step"] for s in show(drp, 1, "2025-03-06")["cafcass_steps"]]
    assert steps == ["helpline", "confirmed-in-writing", "legal-advice"]


def test_notification_before_the_referral_is_in_order(drp):
    opened(drp, protocol="nottinghamshire-2016", category="care-plan")
    drp("cafcass", "1", "senior-officer-notified", "--officer", "GM SIR", "--on", "2025-03-04")
    drp("refer", "1", "--on", "2025-03-05", "--text", "why")
    d = show(drp, 1, "2025-03-06")
    assert (d["senior_officer_notified_on"], d["notices"]) == ("2025-03-04", [])


def test_no_notification_duty_no_warning(drp):
    # Knowsley sets no notification before referral ("The IRO/CP Chair has the power to refer
    # the matter to Cafcass at any point", Standard 2.2): nothing to flag
    opened(drp)
    drp("refer", "1", "--on", "2025-03-05", "--text", "why")
    assert show(drp, 1, "2025-03-06")["notices"] == []


def test_west_sussex_referral_before_stage_5_is_recorded_with_a_note(drp):
    # "Following stage 5 ... the IRO will determine ... referral to Cafcass" (§6); the power to
    # refer is statutory, so the referral is recorded, never refused
    opened(drp, protocol="west-sussex")
    r = drp("refer", "1", "--on", "2025-03-05", "--text", "Urgent")
    assert r.exit_code == 0
    (notice,) = show(drp, 1, "2025-03-06")["notices"]
    assert notice.startswith("referred on 2025-03-05, before stage-5, where the protocol places "
                             "referral ('Following stage 5')")  # fmt: skip


# -- the bundle ----------------------------------------------------------------------------------
def test_a_bundle_item_marked_not_applicable(drp, tmp_path):
    opened(drp)
    r = drp("not-applicable", "1", "care-order", "--reason", "Accommodated under s.20")
    assert r.exit_code == 0, r.stderr
    assert show(drp, 1, "2025-03-04")["not_applicable"] == {"care-order": "Accommodated under s.20"}
    r = drp("not-applicable", "1", "passport", "--reason", "x")
    assert r.exit_code == 2 and r.stderr.startswith(
        "Error: the bundle item 'passport': allowed: care-order"
    )
    drp("good-practice", "1", "--text", "Manager replied the same day")
    assert show(drp, 1, "2025-03-04")["good_practice"][0]["text"] == "Manager replied the same day"
    out = tmp_path / "bundle"
    r = drp("bundle", "1", "--output", str(out), "--on", "2025-03-04")
    assert r.exit_code in (0, 1), r.stderr
    index = (out / "index.md").read_text()
    assert "not applicable: Accommodated under s.20" in index
