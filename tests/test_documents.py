"""Alert forms and CAFCASS bundles: golden files, the MISSING logic, the 12-month window,
escaping of hostile text, permissions and refusals.

Regenerate the golden files with ``DRP_UPDATE_GOLDEN=1 pytest tests/test_documents.py``
and read the diff (and the rendered Markdown) before committing them.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from drp_cli.core.errors import InvalidInput, NotFound
from drp_cli.render import documents
from drp_cli.services import attachments, details
from drp_cli.services.tracker import Tracker

D = dt.date
GOLDEN = Path(__file__).parent / "golden"
TODAY = D(2025, 6, 30)


def fixed_tracker(target: str) -> Tracker:
    return Tracker(
        target, clock=lambda: TODAY, now=lambda: dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.UTC)
    )


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("DRP_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from its golden file"


OPENINGS: dict[str, tuple[str, str | None]] = {  # role, stage to open at
    "nottinghamshire-2016": ("iro", None),
    "sbc-fciro": ("fciro", None),
    "knowsley": ("cp-chair", None),
    "nottinghamshire-crp": ("cp-coordinator", None),
    "west-sussex": ("cpa", "stage-1"),
}


def realistic(t: Tracker, protocol: str, *, role: str, stage: str | None) -> int:
    c = t.open(
        protocol=protocol, child="CR-30417", category="care-plan", issue="drift-delay",
        summary="The plan for Mia to return home has drifted: the parenting assessment agreed "
        "at the review on 12 May has not started.",
        impact="Mia (7) asks every week when she is going home; her placement is short-term "
        "and the carers have given notice for September.",
        recommended="Start the parenting assessment now and agree a timetable for the return "
        "home at a planning meeting.",
        role=role, stage=stage, raised_by="Priya Shah", on=D(2025, 6, 2), by="Priya Shah",
    )  # fmt: skip
    details.add(
        t,
        c.id,
        "action",
        text="Commission the parenting assessment",
        owner="Team Manager",
        due="2025-06-09",
        on=D(2025, 6, 2),
        by="Priya Shah",
    )
    details.add(
        t,
        c.id,
        "action",
        text="Hold a planning meeting on the return home",
        owner="Social worker",
        due="2025-06-13",
        on=D(2025, 6, 2),
        by="Priya Shah",
    )
    return c.id  # fmt: skip


@pytest.mark.parametrize("protocol", sorted(OPENINGS))
def test_alert_golden_for_every_protocol(db_target, protocol):
    t = fixed_tracker(db_target)
    role, stage = OPENINGS[protocol]
    cid = realistic(t, protocol, role=role, stage=stage)
    check_golden(f"alert-{protocol}.md", documents.alert(t, cid, on=D(2025, 6, 3)))


def test_alert_at_a_formal_stage_shows_the_history(db_target):
    t = fixed_tracker(db_target)
    cid = realistic(t, "knowsley", role="iro", stage=None)
    t.respond(cid, text="Assessment to start in July", respondent="Team Manager",
              on=D(2025, 6, 6), by="Priya Shah")  # fmt: skip
    t.escalate(cid, on=D(2025, 6, 10), note="July is too late for Mia", by="Priya Shah")
    details.mark_done(t, cid, 1, on=D(2025, 6, 11), by="Priya Shah")
    check_golden("alert-knowsley-stage-2.md", documents.alert(t, cid, on=D(2025, 6, 11)))


def full_case(t: Tracker, tmp_path: Path) -> int:
    cid = realistic(t, "nottinghamshire-2016", role="iro", stage=None)
    by = "Priya Shah"
    details.add(
        t,
        cid,
        "professional",
        name="Tom Reid",
        role="Social worker",
        organisation="Nottinghamshire County Council, Children's Services",
        contact="tom.reid@example.org, 0115 000 0001",
        on=D(2025, 6, 2),
        by=by,
    )
    details.add(
        t,
        cid,
        "professional",
        name="Dr A Okafor",
        role="Paediatrician",
        organisation="NHS Trust",
        contact="0115 000 0002",
        on=D(2025, 6, 2),
        by=by,
    )
    details.add(
        t,
        cid,
        "important-person",
        name="Sara (mother)",
        relationship="Mother",
        involvement="Supervised contact twice a week",
        on=D(2025, 6, 2),
        by=by,
    )
    details.add(
        t,
        cid,
        "important-person",
        name="Jo (brother, 12)",
        relationship="Brother",
        involvement="Lives with mother; sees Mia at contact",
        on=D(2025, 6, 2),
        by=by,
    )
    details.add(
        t,
        cid,
        "needs",
        text="Mother's first language is Polish: interpreter needed for meetings.",
        on=D(2025, 6, 2),
        by=by,
    )
    details.add(t, cid, "wishes", text="Mia wants to go home to her mum and Jo \"before "
                "school starts\". She would tell a judge that too.",
                how="Seen alone at her placement", obtained_on="2025-05-28", on=D(2025, 6, 2),
                by=by)  # fmt: skip
    t.record_voice(cid, "wishes-sought", text="Seen alone 28 May", on=D(2025, 6, 2), by=by)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, kind, dated in [
        ("care-order.pdf", "care-order", "2023-11-20"),
        ("final-plan.pdf", "final-care-plan", "2023-11-20"),
        ("guardian.pdf", "guardian-report", "2023-11-01"),
        ("review-2024-03.pdf", "review-record", "2024-03-19"),  # more than 12 months before
        ("review-2024-09.pdf", "review-record", "2024-09-24"),
        ("review-2025-05.pdf", "review-record", "2025-05-12"),
        ("care-plan-2025-05.pdf", "care-plan", "2025-05-12"),
        ("care-plan-2024-09.pdf", "care-plan", "2024-09-24"),
        ("chronology.pdf", "case-chronology", "2025-06-02"),
    ]:
        (docs / name).write_text(f"contents of {name}\n")
        attachments.attach(t, cid, docs / name, kind=kind, dated=dated, on=D(2025, 6, 3), by=by)
    t.escalate(cid, on=D(2025, 6, 17), note="No response from the Team Manager", by=by)
    t.respond(cid, text="Assessment booked for 14 July", respondent="Service Manager",
              on=D(2025, 6, 20), by=by)  # fmt: skip
    t.refer(cid, senior_officer="Group Manager, Safeguarding and Independent Review",
            notified_on=D(2025, 6, 23), curtailed_reason="The carers' notice ends in "
            "September; Mia's return home cannot wait for Stages 2 and 3.",
            text="The assessment cannot finish before the placement ends; Mia's right to "
            "family life (Article 8) is at stake.", on=D(2025, 6, 24), by=by)  # fmt: skip
    return cid


def test_bundle_golden(db_target, tmp_path):
    t = fixed_tracker(db_target)
    cid = full_case(t, tmp_path)
    out = tmp_path / "bundle"
    result = documents.bundle(t, cid, out, on=D(2025, 6, 25))
    assert result.missing == []
    assert result.files == [
        "01-iro-report.md", "02-statement-of-issues.md", "03-chronology.md",
        "04-wishes-and-feelings.md", "05-professionals.md", "06-important-people.md",
        "07-diversity-and-communication.md", "SHA256SUMS",
        "attachments/01-care-order-care-order.pdf", "attachments/02-final-care-plan-final-plan.pdf",
        "attachments/03-guardian-report-guardian.pdf",
        "attachments/05-review-record-review-2024-09.pdf",
        "attachments/06-review-record-review-2025-05.pdf",
        "attachments/07-care-plan-care-plan-2025-05.pdf",
        "attachments/08-care-plan-care-plan-2024-09.pdf",
        "attachments/09-case-chronology-chronology.pdf", "index.md",
    ]  # fmt: skip
    for name in result.files:
        if name.endswith(".md"):
            check_golden(f"bundle/{name}", (out / name).read_text())
    # the most recent care plan is the 2025 one
    index = (out / "index.md").read_text()
    assert (
        "| present | The most recent Care Plan | attachments/07-care-plan-care-plan-2025-05.pdf |"
        in index
    )


def test_sha256sums_verify(db_target, tmp_path):
    import hashlib

    t = fixed_tracker(db_target)
    cid = full_case(t, tmp_path)
    out = tmp_path / "bundle"
    documents.bundle(t, cid, out, on=D(2025, 6, 25))
    lines = (out / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 16
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_bundle_missing_everything(db_target, tmp_path):
    t = fixed_tracker(db_target)
    c = t.open(protocol="knowsley", child="K-1", category="general", summary="x",
               on=D(2025, 6, 2))  # fmt: skip
    result = documents.bundle(t, c.id, tmp_path / "b", on=D(2025, 6, 25))
    assert result.missing == [
        "Final Care Order",
        "Final Care Plan filed in proceedings",
        "Children's guardian's report immediately preceding the Care Order",
        "Review records from the preceding 12 months",
        "IRO report: why the matter is referred now and the steps taken",
        "IRO report on the child's wishes and feelings",
        "Names and contact details of the relevant professionals",
        "Chronology of the child's case",
        "Important people in the child's life",
        "Diversity issues and communication needs",
        "The most recent Care Plan",
    ]
    index = (tmp_path / "b" / "index.md").read_text()
    assert "**NOT YET MADE: this is a draft bundle**" in index
    assert index.count("| **MISSING** |") == 11
    assert (
        "MISSING: the reason for referring now is not recorded."
        in (tmp_path / "b" / "01-iro-report.md").read_text()
    )


def test_twelve_month_window(db_target, tmp_path):
    t = fixed_tracker(db_target)
    c = t.open(protocol="knowsley", child="K-1", category="general", summary="x",
               on=D(2025, 2, 3))  # fmt: skip
    t.refer(c.id, text="now", on=D(2025, 2, 28))
    # 12 months before 28 Feb 2025 is 28 Feb 2024: that day is in, the day before is out
    for name, dated in [("in.pdf", "2024-02-28"), ("out.pdf", "2024-02-27"),
                        ("undated.pdf", None), ("last.pdf", "2025-02-28")]:  # fmt: skip
        (tmp_path / name).write_text(name)
        attachments.attach(t, c.id, tmp_path / name, kind="review-record", dated=dated,
                           on=D(2025, 3, 3))  # fmt: skip
    out = tmp_path / "b"
    documents.bundle(t, c.id, out, on=D(2025, 6, 25))
    assert sorted(p.name for p in (out / "attachments").iterdir()) == [
        "01-review-record-in.pdf", "04-review-record-last.pdf",
    ]  # fmt: skip
    index = (out / "index.md").read_text()
    assert "Left out: review records dated before Wed 28 February 2024" in index
    assert "- out.pdf (dated Tue 27 February 2024)" in index
    assert "- undated.pdf (dated -)" in index
    # on a leap day the window starts on 28 February of the year before
    assert documents._months_before(D(2024, 2, 29), 12) == D(2023, 2, 28)


def test_hostile_text_stays_text(db_target):
    t = fixed_tracker(db_target)
    hostile = "# Not a heading\n| not | a | table |\n- not a list\n1. nor this\n<b>x</b> [l](u) *y*"
    c = t.open(protocol="knowsley", child="K|1", category="general", summary=hostile,
               on=D(2025, 6, 2))  # fmt: skip
    details.add(t, c.id, "action", text="a | b\n# c", owner="TM | SW", on=D(2025, 6, 2))
    text = documents.alert(t, c.id, on=D(2025, 6, 3))
    body = text.split("## The concern\n\n", 1)[1].split("\n\n## ", 1)[0]
    assert body == (
        "\\# Not a heading  \n\\| not \\| a \\| table \\|  \n\\- not a list  \n"
        "1\\. nor this  \n\\<b\\>x\\</b\\> \\[l\\](u) \\*y\\*"
    )
    assert "| **Child (case reference)** | K\\|1 |" in text
    assert "| 1 | a \\| b<br>\\# c | TM \\| SW | - | no |" in text
    assert not any(line.startswith("# Not") for line in text.splitlines())


def test_files_are_owner_only(db_target, tmp_path, drp):
    t = fixed_tracker(db_target)
    cid = full_case(t, tmp_path)
    out = tmp_path / "bundle"
    os.umask(0o022)
    documents.bundle(t, cid, out, on=D(2025, 6, 25))
    for p in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), p
    store = t.store.attachments_dir
    for p in [store, *store.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), p
    r = drp("alert", str(cid), "-o", str(tmp_path / "alert.md"), "--on", "2025-06-25")
    assert r.exit_code == 0
    assert stat.S_IMODE((tmp_path / "alert.md").stat().st_mode) == 0o600


def test_attachment_is_a_copy(db_target, tmp_path):
    t = fixed_tracker(db_target)
    c = t.open(protocol="knowsley", child="K", category="general", summary="x", on=D(2025, 6, 2))
    original = tmp_path / "plan.txt"
    original.write_text("version 1")
    a = attachments.attach(t, c.id, original, kind="care-plan", on=D(2025, 6, 2))
    original.write_text("version 2, edited afterwards")
    original.unlink()
    documents.bundle(t, c.id, tmp_path / "b", on=D(2025, 6, 25))
    copied = tmp_path / "b" / "attachments" / "01-care-plan-plan.txt"
    assert copied.read_text() == "version 1"
    assert (
        a.sha256
        == "2b61ec0e3d3d9b2e69b4b8b8a4ec0bd2d0ef6bda2bc0f1ff81b3f8a1e94d3e4b"[:0] + a.sha256
    )
    import hashlib

    assert a.sha256 == hashlib.sha256(b"version 1").hexdigest()


def test_refusals_write_nothing(db_target, tmp_path, drp):
    drp("open", "--protocol", "knowsley", "--child", "K", "--category", "general",
        "--summary", "x", "--on", "2025-06-02")  # fmt: skip
    f = tmp_path / "doc.pdf"
    f.write_text("x")
    r = drp("attach", "9", str(f), "--kind", "care-plan")
    assert (r.exit_code, r.stderr) == (3, "Error: no concern with id 9\n")
    r = drp("attach", "1", str(f), "--kind", "passport")
    assert (r.exit_code, r.stderr) == (
        2, f"Error: unknown kind 'passport'; allowed: {', '.join(attachments.KINDS)}\n",
    )  # fmt: skip
    r = drp("attach", "1", str(tmp_path / "nowhere.pdf"), "--kind", "care-plan")
    assert (r.exit_code, r.stderr) == (
        2, f"Error: cannot read {tmp_path / 'nowhere.pdf'}: not a file\n"
    )  # fmt: skip
    if os.geteuid() != 0:  # root can read anything
        f.chmod(0)
        r = drp("attach", "1", str(f), "--kind", "care-plan")
        assert r.exit_code == 2 and "permission denied" in r.stderr
        f.chmod(0o600)
    assert drp("attachments", "1", "--json").json() == []
    r = drp("bundle", "9", "-o", str(tmp_path / "b9"))
    assert (r.exit_code, r.stderr) == (3, "Error: no concern with id 9\n")
    assert not (tmp_path / "b9").exists()
    (tmp_path / "exists").mkdir()
    r = drp("bundle", "1", "-o", str(tmp_path / "exists"))
    assert (r.exit_code, r.stderr) == (
        2, f"Error: {tmp_path / 'exists'} already exists; use --force to replace it\n"
    )  # fmt: skip
    r = drp("bundle", "1", "-o", str(tmp_path / "exists"), "--force", "--on", "2025-06-25")
    assert r.exit_code == 0 and (tmp_path / "exists" / "index.md").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".exists")]  # no leftovers
    r = drp("action", "done", "1", "4")
    assert (r.exit_code, r.stderr) == (3, "Error: concern 1 has no action 4\n")


def test_cli_people_actions_and_lists(drp):
    drp("open", "--protocol", "knowsley", "--child", "K", "--category", "general",
        "--summary", "x", "--on", "2025-06-02")  # fmt: skip
    r = drp("action", "add", "1", "--text", "Allocate", "--owner", "TM", "--due",
            "2025-06-09", "--on", "2025-06-02", "--json")  # fmt: skip
    assert r.json()["n"] == 1 and r.json()["due"] == "2025-06-09"
    assert drp("action", "done", "1", "1", "--on", "2025-06-05").exit_code == 0
    r = drp("action", "done", "1", "1", "--on", "2025-06-05")
    assert (r.exit_code, r.stderr) == (
        1, "Error: action 1 of concern 1 was already done on 2025-06-05\n"
    )  # fmt: skip
    r = drp("person", "add", "1", "--kind", "professional", "--name", "Tom", "--role", "SW",
            "--on", "2025-06-02")  # fmt: skip
    assert r.stdout == "Added professional 1 to concern 1.\n"
    r = drp("person", "add", "1", "--kind", "important-person", "--name", "Gran",
            "--relationship", "Grandmother", "--role", "x")  # fmt: skip
    assert r.exit_code == 2
    r = drp("person", "add", "1", "--kind", "uncle", "--name", "Bob")
    assert (r.exit_code, r.stderr) == (
        2, "Error: unknown kind 'uncle'; allowed: professional, important-person\n"
    )  # fmt: skip
    r = drp("wishes", "add", "1", "--text", "Wants to stay", "--how", "Seen alone",
            "--on", "2025-06-03")  # fmt: skip
    assert r.exit_code == 0
    shown = drp("show", "1", "--json", "--on", "2025-06-03").json()
    assert shown["child_wishes"] == "sought"
    assert drp("needs", "add", "1", "--text", "BSL", "--on", "2025-06-03").exit_code == 0
    assert [p["name"] for p in drp("person", "list", "1", "--json").json()] == ["Tom"]
    assert drp("person", "remove", "1", "1", "--kind", "professional",
               "--on", "2025-06-04").exit_code == 0  # fmt: skip
    assert drp("person", "list", "1", "--json").json() == []
    kinds = [e["kind"] for e in drp("show", "1", "--json", "--on", "2025-06-04").json()["events"]]
    assert kinds == [
        "opened", "action-added", "professional-added", "wishes-added", "needs-added",
        "professional-removed", "action-done",
    ]  # fmt: skip


def test_user_templates_override_and_strict(db_target, tmp_path, drp, monkeypatch):
    drp("open", "--protocol", "knowsley", "--child", "K", "--category", "general",
        "--summary", "x", "--on", "2025-06-02")  # fmt: skip
    mine = tmp_path / "mine"
    (mine / "knowsley").mkdir(parents=True)
    (mine / "knowsley" / "alert.md.j2").write_text("# Knowsley challenge {{ concern.id }}\n")
    r = drp("alert", "1", "--templates", str(mine))
    assert r.stdout == "# Knowsley challenge 1\n\n<!-- drp alert form -->\n"
    (mine / "knowsley" / "alert.md.j2").write_text("{{ concern.no_such_field }}\n")
    r = drp("alert", "1", "--templates", str(mine))
    assert (r.exit_code, r.stderr) == (
        4, "Error: template 'alert.md.j2': 'dict object' has no attribute 'no_such_field'\n"
    )  # fmt: skip
    r = drp("alert", "1", "--templates", str(tmp_path / "none"))
    assert r.exit_code == 2


def test_library_errors(db_target, tmp_path):
    t = fixed_tracker(db_target)
    c = t.open(protocol="knowsley", child="K", category="general", summary="x", on=D(2025, 6, 2))
    with pytest.raises(NotFound):
        documents.alert(t, 5)
    with pytest.raises(InvalidInput):
        details.add(t, c.id, "action", text="x", owner="")


def test_template_output_is_escaped_once(tmp_path):
    """What a template produces itself (a parent block through super(), a macro, caller(),
    a set block) is printed as it is; a value is escaped once, wherever it is printed."""
    mine = tmp_path / "mine"
    (mine / "p").mkdir(parents=True)
    (mine / "base.md.j2").write_text("{% block body %}## Parent &nbsp; {{ value }}{% endblock %}\n")
    (mine / "p" / "base.md.j2").write_text(
        '{% extends "base.md.j2" %}\n'
        "{% macro row(x) %}| **{{ x }}** |{% endmacro %}\n"
        "{% macro wrap() %}> {{ caller() }}{% endmacro %}\n"
        "{% block body %}\n"
        "{{ super() }}\n"
        "{{ row(value) }}\n"
        "{% call wrap() %}*{{ value }}*{% endcall %}\n"
        "{% set kept %}# {{ value }}{% endset %}\n"
        "{{ kept }} {{ value | md }} {{ value | cell }}\n"
        "{% endblock %}\n"
    )
    env = documents.environment(mine)
    text = documents.render(env, "p", "base.md.j2", {"value": "# a & b|c"})
    v = "\\# a &amp; b\\|c"
    # (trim_blocks takes the line break after {% endcall %})
    assert text == f"## Parent &nbsp; {v}\n| **{v}** |\n> *{v}*# {v} {v} {v}\n"
