"""The child as a unit: the people in a child's life, their wishes and feelings, their needs
and their documents belong to the child, and every concern about the child draws on them,
whichever concern they were recorded on; a second open concern for the child is pointed
out; and every view agrees on whether the child's wishes were sought.

A child is their reference, exactly as recorded, within one database, whatever the
protocol, among concerns about the same subject (a child, a foster carer household, a
chair). Each item is still an event on the concern it was added to: the record is unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from drp_cli.domain.views import OtherConcern, concern_dict
from drp_cli.render import documents
from drp_cli.services import attachments, details
from tests.conftest import open_args
from tests.test_documents import check_golden, fixed_tracker
from tests.test_forms import (
    MARKDOWN,
    check_form,
    check_readable,
    headings,
    tables,
)

D = dt.date
CHILD = "KN-2231"
#: concern B: the same child, under another protocol, opened a week after concern A
SECOND = open_args(protocol="west-sussex", stage="stage-1", role="cpa", category="care-plan",
                   reason="Immediate safety", summary="Drift in the care plan.",
                   on="2025-03-10")  # fmt: skip
WARNING = "Warning: child already has open concern(s) 1 (stage-1, knowsley)\n"


def child_record(drp: Any, tmp_path: Path) -> None:
    """Concern 1 (knowsley) with the child's people, wishes, needs and a care order, and an
    action of its own."""
    assert drp(*open_args()).exit_code == 0
    for args in (
        ["person", "add", "1", "--kind", "professional", "--name", "Tom Reid", "--role",
         "Social worker", "--contact", "tom.reid@example.org"],
        ["person", "add", "1", "--kind", "important-person", "--name", "Sara",
         "--relationship", "Mother", "--involvement", "Contact twice a week"],
        ["wishes", "add", "1", "--text", "Wants to stay with her carers", "--how",
         "Seen alone", "--obtained-on", "2025-03-03"],
        ["needs", "add", "1", "--text", "Mother needs a Polish interpreter"],
        ["action", "add", "1", "--text", "Allocate a social worker", "--owner", "TM"],
    ):  # fmt: skip
        r = drp(*args, "--on", "2025-03-04")
        assert r.exit_code == 0, r.stderr
    (tmp_path / "care-order.pdf").write_text("the care order\n")
    r = drp("attach", "1", str(tmp_path / "care-order.pdf"), "--kind", "care-order",
            "--dated", "2023-11-20", "--on", "2025-03-04")  # fmt: skip
    assert r.exit_code == 0, r.stderr


def shared(kind: str, n: int, fields: dict[str, Any], on: str = "2025-03-04",
           source: int | None = 1) -> dict[str, Any]:  # fmt: skip
    """An item as `list --json` shows it."""
    return {
        "kind": kind, "n": n, **fields, "added_on": on, "added_by": "Test IRO",
        "done_on": None, "done_by": None, "removed_on": None, "from_concern": source,
    }  # fmt: skip


TOM = {"name": "Tom Reid", "role": "Social worker", "organisation": "",
       "contact": "tom.reid@example.org"}  # fmt: skip
SARA = {"name": "Sara", "relationship": "Mother", "involvement": "Contact twice a week"}
WISHES = {"text": "Wants to stay with her carers", "how": "Seen alone",
          "obtained_on": "2025-03-03"}  # fmt: skip
NEEDS = {"text": "Mother needs a Polish interpreter"}
CARE_ORDER_SHA = hashlib.sha256(b"the care order\n").hexdigest()


# -- a second open concern ----------------------------------------------------------------------
def test_opening_a_second_concern_warns_and_names_the_others(drp):
    r = drp(*open_args(), "--json")
    assert r.json()["other_open_concerns"] == []
    assert "Warning" not in r.stderr
    r = drp(*SECOND)
    assert (r.exit_code, r.stderr) == (0, WARNING)  # never refused; no child reference in it
    assert r.stdout == (
        "Opened concern 2: west-sussex stage-1 (Stage 1: Practice Manager); stage deadline "
        "2025-03-17; formal deadline 2025-04-07.\nNext: a response from Practice Manager by "
        "2025-03-17; if it is not resolved by then, escalate to Stage 2: Group Manager, "
        "addressed to Group Manager (`drp escalate 2`).\nNote: the child's wishes and feelings "
        'are not recorded: record them with `drp voice 2 wishes-sought --text "..."` (or '
        "wishes-not-sought, with why).\n"
    )
    r = drp(*open_args(on="2025-03-11"), "--json")
    assert r.stderr == (
        "Warning: child already has open concern(s) 1 (stage-1, knowsley), "
        "2 (stage-1, west-sussex)\n"
    )
    assert r.json()["other_open_concerns"] == [1, 2]
    # a closed concern is not open: only the open ones are named
    drp("escalate", "1", "--on", "2025-03-12")
    drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-12")
    r = drp(*open_args(on="2025-03-12"), "--json")
    assert r.stderr == (
        "Warning: child already has open concern(s) 2 (stage-1, west-sussex), "
        "3 (stage-1, knowsley)\n"
    )
    assert r.json()["other_open_concerns"] == [2, 3]
    # show and every other concern view name them too; the child's own are never listed
    assert drp("show", "2", "--json", "--on", "2025-03-12").json()["other_open_concerns"] == [3, 4]
    assert drp("show", "1", "--json", "--on", "2025-03-12").json()["other_open_concerns"] == [
        2, 3, 4,
    ]  # fmt: skip
    listed = drp("list", "--json", "--on", "2025-03-12").json()
    assert {c["id"]: c["other_open_concerns"] for c in listed} == {
        2: [3, 4], 3: [2, 4], 4: [2, 3],
    }  # fmt: skip
    shown = drp("show", "2", "--on", "2025-03-12").stdout.splitlines()
    assert [line.rstrip() for line in shown[1:3]] == [
        "Child            KN-2231",
        "Also open        concerns 3, 4",
    ]
    r = drp("note", "2", "--text", "Chased", "--on", "2025-03-12", "--json")
    assert r.json()["other_open_concerns"] == [3, 4]


def test_another_child_or_a_carer_with_the_same_reference_is_not_the_child(drp):
    drp(*open_args())
    r = drp(*open_args(child="KN-2232"), "--json")  # exact match: another child
    assert ("Warning" in r.stderr, r.json()["other_open_concerns"]) == (False, [])
    carer = [a if a != "--child" else "--carer" for a in open_args(protocol="sbc-fciro")]
    r = drp(*carer, "--role", "fciro", "--json")  # a carer household, not the child
    assert ("Warning" in r.stderr, r.json()["other_open_concerns"]) == (False, [])
    r = drp(*carer, "--role", "fciro", "--json")
    assert (
        r.stderr == "Warning: carer household already has open concern(s) 3 (informal, sbc-fciro)\n"
    )
    assert r.json()["other_open_concerns"] == [3]
    drp("person", "add", "3", "--kind", "professional", "--name", "Supervising SW",
        "--role", "Fostering", "--on", "2025-03-04")  # fmt: skip
    assert drp("person", "list", "1", "--json").json() == []
    assert [p["from_concern"] for p in drp("person", "list", "4", "--json").json()] == [3]


def test_the_library_says_which_concerns_are_open_for_the_child(tracker):
    t = tracker
    a = t.open(protocol="knowsley", child=CHILD, category="statutory", summary="x",
               on=D(2025, 3, 3))  # fmt: skip
    assert (a.other_concerns, a.wishes_recorded_on) == ((), ())
    b = t.open(protocol="west-sussex", child=CHILD, category="care-plan", summary="y",
               stage="stage-1", role="cpa", on=D(2025, 3, 10))  # fmt: skip
    assert b.other_concerns == (OtherConcern(1, "knowsley", "stage-1", "open"),)
    assert [c.id for c in t.open_concerns_for_child(CHILD)] == [1, 2]
    assert t.open_concerns_for_child(CHILD, subject="carer") == []
    t.withdraw(1, reason="Raised in error", on=D(2025, 3, 11))
    assert t.get(2).other_concerns == (OtherConcern(1, "knowsley", "stage-1", "withdrawn"),)
    assert [c.id for c in t.open_concerns_for_child(CHILD)] == [2]
    assert concern_dict(t.get(2), None, t.calendar(), D(2025, 3, 11))["other_open_concerns"] == []


# -- the child's record, shared ------------------------------------------------------------------
def test_the_child_s_people_wishes_needs_and_documents_show_on_every_concern(drp, tmp_path):
    child_record(drp, tmp_path)
    assert drp(*SECOND).stderr == WARNING
    assert drp("person", "list", "2", "--json").json() == [
        shared("important-person", 1, SARA), shared("professional", 1, TOM),
    ]  # fmt: skip
    assert drp("wishes", "list", "2", "--json").json() == [shared("wishes", 1, WISHES)]
    assert drp("needs", "list", "2", "--json").json() == [shared("needs", 1, NEEDS)]
    assert drp("action", "list", "2", "--json").json() == []  # actions stay with concern 1
    assert drp("attachments", "2", "--json").json() == [{
        "n": 1, "kind": "care-order", "filename": "care-order.pdf", "sha256": CARE_ORDER_SHA,
        "size": 15, "dated": "2023-11-20", "description": "", "added_on": "2025-03-04",
        "added_by": "Test IRO", "from_concern": 1,
    }]  # fmt: skip
    # concern 2's own come first; each concern sees the other's
    r = drp("person", "add", "2", "--kind", "professional", "--name", "Dr Okafor", "--role",
            "Paediatrician", "--on", "2025-03-10", "--json")  # fmt: skip
    okafor = {"name": "Dr Okafor", "role": "Paediatrician", "organisation": "", "contact": ""}
    assert r.json() == shared("professional", 1, okafor, "2025-03-10", None)
    assert drp("person", "list", "2", "--json").json() == [
        shared("important-person", 1, SARA), shared("professional", 1, okafor, "2025-03-10", None),
        shared("professional", 1, TOM),
    ]  # fmt: skip
    assert drp("person", "list", "1", "--json").json() == [
        shared("important-person", 1, SARA, source=None),
        shared("professional", 1, TOM, source=None),
        shared("professional", 1, okafor, "2025-03-10", 2),
    ]  # fmt: skip
    # the table says where each was recorded (the numbers are that concern's)
    assert drp("needs", "list", "2").stdout == (
        "┏━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓\n"
        "┃ N ┃ Text                              ┃ Added                  ┃ From      ┃\n"
        "┡━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩\n"
        "│ 1 │ Mother needs a Polish interpreter │ 2025-03-04 by Test IRO │ concern 1 │\n"
        "└───┴───────────────────────────────────┴────────────────────────┴───────────┘\n"
    )
    assert "From" not in drp("action", "list", "1").stdout  # nothing from elsewhere
    # the record is unchanged: every item is an event of the concern it was added to
    kinds = [e["kind"] for e in drp("show", "2", "--json", "--on", "2025-03-10").json()["events"]]
    assert kinds == ["opened", "professional-added"]
    assert drp("verify").exit_code == 0


def test_removing_it_where_it_was_recorded_removes_it_for_the_child(drp, tmp_path):
    child_record(drp, tmp_path)
    drp(*SECOND)
    r = drp("person", "remove", "2", "1", "--kind", "professional", "--on", "2025-03-11")
    assert (r.exit_code, r.stderr) == (3, (
        "Error: concern 2 has no professional 1: the child's professional 1 was recorded on "
        "concern 1; remove it there\n"
    ))  # fmt: skip
    r = drp("needs", "remove", "2", "7", "--on", "2025-03-11")
    assert (r.exit_code, r.stderr) == (
        3,
        "Error: concern 2 has no diversity / communication needs 7\n",
    )
    r = drp("person", "remove", "1", "1", "--kind", "professional", "--on", "2025-03-11")
    assert r.exit_code == 0, r.stderr
    for cid in ("1", "2"):
        assert [p["name"] for p in drp("person", "list", cid, "--json").json()] == ["Sara"]
    events = drp("show", "1", "--json", "--on", "2025-03-11").json()["events"]
    assert events[-1]["kind"] == "professional-removed"
    assert [e["kind"] for e in drp("show", "2", "--json", "--on", "2025-03-11").json()
            ["events"]] == ["opened"]  # fmt: skip


def test_the_same_entry_recorded_again_on_another_concern_shows_once(drp, tmp_path):
    child_record(drp, tmp_path)
    drp(*SECOND)
    drp("needs", "add", "2", "--text", NEEDS["text"], "--on", "2025-03-10")
    drp(
        "attach",
        "2",
        str(tmp_path / "care-order.pdf"),
        "--kind",
        "care-order",
        "--on",
        "2025-03-10",
    )
    assert drp("needs", "list", "2", "--json").json() == [
        shared("needs", 1, NEEDS, "2025-03-10", None)
    ]
    assert drp("needs", "list", "1", "--json").json() == [shared("needs", 1, NEEDS, source=None)]
    assert [(a["n"], a["from_concern"]) for a in drp("attachments", "2", "--json").json()] == [
        (1, None)
    ]
    drp("needs", "remove", "2", "1", "--on", "2025-03-11")
    assert drp("needs", "list", "2", "--json").json() == [shared("needs", 1, NEEDS)]


def test_show_lists_the_child_s_record(drp, tmp_path):
    child_record(drp, tmp_path)
    drp(*SECOND)
    d = drp("show", "2", "--json", "--on", "2025-03-10").json()
    assert d["items"] == [
        shared("important-person", 1, SARA), shared("needs", 1, NEEDS),
        shared("professional", 1, TOM), shared("wishes", 1, WISHES),
    ]  # fmt: skip
    assert [(a["kind"], a["n"], a["from_concern"]) for a in d["attachments"]] == [
        ("care-order", 1, 1)
    ]
    assert [i["kind"] for i in drp("show", "1", "--json").json()["items"]] == [
        "action", "important-person", "needs", "professional", "wishes",
    ]  # fmt: skip
    text = drp("show", "2", "--on", "2025-03-10").stdout
    table = text.split("For the documents (people, wishes, needs and files are the child's)")[1]
    rows = [line for line in table.splitlines() if line.startswith("│")][:5]
    assert [[cell.strip() for cell in row.split("│")[1:-1]] for row in rows] == [
        ["important-person", "1", "Sara (Mother)", "2025-03-04", "concern 1"],
        ["needs", "1", "Mother needs a Polish interpreter", "2025-03-04", "concern 1"],
        ["professional", "1", "Tom Reid (Social worker)", "2025-03-04", "concern 1"],
        ["wishes", "1", "Wants to stay with her carers", "2025-03-04", "concern 1"],
        ["attached care-order", "1", "care-order.pdf", "2025-03-04", "concern 1"],
    ]
    assert rows[0] == (
        "│ important-person    │ 1 │ Sara (Mother)                     │ 2025-03-04 │ concern 1   │"
    )


# -- the documents ------------------------------------------------------------------------------
def two_concerns(t: Any, tmp_path: Path) -> tuple[int, int]:
    """Concern A (knowsley) with the child's record; concern B (west-sussex, Stage 1) with
    an action and a care plan of its own."""
    by = "Priya Shah"
    a = t.open(protocol="knowsley", child="CR-30417", category="care-plan",
               summary="No allocated social worker.", raised_by=by, role="cp-chair",
               on=D(2025, 5, 1), by=by).id  # fmt: skip
    record: list[tuple[str, dict[str, Any]]] = [
        ("professional", {"name": "Tom Reid", "role": "Social worker",
                          "organisation": "Children's Services", "contact": "0115 000 0001"}),
        ("important-person", {"name": "Sara", "relationship": "Mother",
                              "involvement": "Supervised contact twice a week"}),
        ("wishes", {"text": "Mia wants to go home \"before school starts\".",
                    "how": "Seen alone at her placement", "obtained_on": "2025-05-28"}),
        ("needs", {"text": "Mother's first language is Polish: interpreter needed."}),
    ]  # fmt: skip
    for kind, fields in record:
        details.add(t, a, kind, on=D(2025, 5, 28), by=by, **fields)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, kind, dated in [
        ("care-order.pdf", "care-order", "2023-11-20"),
        ("review-2024-03.pdf", "review-record", "2024-03-19"),  # more than 12 months before
        ("review-2025-05.pdf", "review-record", "2025-05-12"),
        ("plan.pdf", "care-plan", "2025-05-12"),
    ]:
        (docs / name).write_text(f"contents of {name}\n")
        attachments.attach(t, a, docs / name, kind=kind, dated=dated, on=D(2025, 5, 28), by=by)
    b = t.open(
        protocol="west-sussex", child="CR-30417", category="care-plan", issue="drift-delay",
        # the IRO's: West Sussex §6 gives the power to refer to CAFCASS to the IRO, not to a
        # CPA (issue 28 finding 12), and concern B is referred in the bundle's test
        summary="The plan for Mia to return home has drifted.", role="iro", stage="stage-1",
        reason="Immediate safety", raised_by=by, on=D(2025, 6, 2), by=by,
    ).id  # fmt: skip
    details.add(t, b, "action", text="Commission the parenting assessment", owner="Team Manager",
                due="2025-06-09", on=D(2025, 6, 2), by=by)  # fmt: skip
    (docs / "plan-2025-06.pdf").write_text("the newest care plan\n")
    attachments.attach(t, b, docs / "plan-2025-06.pdf", kind="care-plan", dated="2025-06-01",
                       on=D(2025, 6, 2), by=by)  # fmt: skip
    return a, b


def test_the_form_shows_the_child_s_wishes_recorded_on_another_concern(db_target, tmp_path):
    t = fixed_tracker(db_target)
    a, b = two_concerns(t, tmp_path)
    text = documents.alert(t, b, on=D(2025, 6, 3))
    check_golden("forms/extras/west-sussex-stage-1-child-s-wishes.md", text)
    proto = t.protocols.get("west-sussex")
    check_form(text, proto, proto.stage("stage-1"), "the child's wishes")  # no drp ids either
    tokens = MARKDOWN.parse(text)
    h2 = [h for tag, h in headings(tokens) if tag == "h2"]
    assert h2[3:5] == [
        "Recommended actions, in order of priority",
        "The child's wishes and feelings",
    ]
    wishes = text.split("## The child's wishes and feelings\n\n")[1].split("\n\n")[0]
    assert wishes == (
        '- Wed 28 May 2025, Seen alone at her placement: Mia wants to go home "before school '
        'starts".'
    )
    actions = next(tb for tb in tables(tokens) if tb[0][0] == "Priority")
    assert [row[1] for row in actions[1:]] == ["Commission the parenting assessment"]
    # concern A's own form: its wishes, no actions of B
    text = documents.alert(t, a, on=D(2025, 6, 3))
    assert "Mia wants to go home" in text and "No actions recorded yet." in text


def test_the_bundle_draws_on_the_child_s_record(db_target, tmp_path):
    t = fixed_tracker(db_target)
    _, b = two_concerns(t, tmp_path)
    t.refer(b, senior_officer="Group Manager", notified_on=D(2025, 6, 20),
            text="The placement ends in September.", on=D(2025, 6, 24),
            by="Priya Shah")  # fmt: skip
    out = tmp_path / "bundle"
    result = documents.bundle(t, b, out, on=D(2025, 6, 25))
    # present from concern A: the care order, the review record, the people, the wishes, the
    # needs; from B itself: the why-now and the newest care plan
    assert result.missing == [
        "Final Care Plan filed in proceedings",
        "Children's guardian's report immediately preceding the Care Order",
        "Chronology of the child's case",
    ]
    assert [f for f in result.files if f.startswith("attachments/")] == [
        "attachments/01-care-plan-plan-2025-06.pdf",  # B's own keep their numbers
        "attachments/02-care-order-care-order.pdf",  # A's come after them
        "attachments/04-review-record-review-2025-05.pdf",  # 03: left out, before the window
        "attachments/05-care-plan-plan.pdf",
    ]
    assert (out / "attachments/02-care-order-care-order.pdf").read_text() == (
        "contents of care-order.pdf\n"
    )
    for line in (out / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    for name in result.files:
        if name.endswith(".md"):  # no drp ids, nothing a lawyer must not see
            check_readable((out / name).read_text(), name)
    index = (out / "index.md").read_text()
    check_golden("forms/extras/bundle-index-child-s-record.md", index)
    rows = {row[1]: row for row in tables(MARKDOWN.parse(index))[1][1:]}
    assert rows["Final Care Order"] == [
        "present", "Final Care Order", "attachments/02-care-order-care-order.pdf",
    ]  # fmt: skip
    assert rows["The most recent Care Plan"][2] == "attachments/01-care-plan-plan-2025-06.pdf"
    assert "- review-2024-03.pdf (dated Tue 19 March 2024)" in index
    professionals = tables(MARKDOWN.parse((out / "05-professionals.md").read_text()))[0]
    assert professionals[1] == ["Tom Reid", "Social worker", "Children's Services", "0115 000 0001"]
    people = tables(MARKDOWN.parse((out / "06-important-people.md").read_text()))[0]
    assert people[1] == ["Sara", "Mother", "Supervised contact twice a week"]
    assert (
        (out / "07-diversity-and-communication.md")
        .read_text()
        .endswith("- Mother's first language is Polish: interpreter needed.\n")
    )
    assert (out / "04-wishes-and-feelings.md").read_text().split("\n\n")[2:] == [
        "## Wed 28 May 2025, Seen alone at her placement",
        'Mia wants to go home "before school starts".\n',
    ]
    # the statement of issues is B's own: its actions, not A's
    statement = (out / "02-statement-of-issues.md").read_text()
    assert "Commission the parenting assessment" in statement
    assert t.verify().ok


# -- the child's voice agrees in every view --------------------------------------------------------
def voice_views(drp: Any, cid: int, tmp_path: Path, on: str) -> dict[str, Any]:
    """Whether the child's wishes were sought, as each view of concern ``cid`` says it."""
    shown = drp("show", str(cid), "--json", "--on", on).json()
    text = drp("show", str(cid), "--on", on).stdout
    listed = {c["id"]: c for c in drp("list", "--status", "all", "--json", "--on", on).json()}
    table = drp("list", "--status", "all", "--on", on).stdout
    row = next(line for line in table.splitlines() if line.startswith(f"{cid} "))
    form = drp("alert", str(cid), "--on", on).stdout
    out = tmp_path / f"bundle-{cid}"
    drp("bundle", str(cid), "-o", str(out), "--force", "--on", on)
    index = MARKDOWN.parse((out / "index.md").read_text())
    checklist = {r[1]: r[0] for r in tables(index)[1][1:]}
    wishes_file = (out / "04-wishes-and-feelings.md").read_text().split("\n\n")[2:]
    return {
        "show": shown["child_wishes"],
        "show missing": shown["missing"],
        "show text": next(line for line in text.splitlines() if "Child's voice" in line)
        .split("Child's voice")[1]
        .strip(),
        "list": listed[cid]["child_wishes"],
        "list flag": "wishes?" in row,
        "form": form.split("## The child's wishes and feelings\n\n")[1].split("\n")[0]
        if "## The child's wishes and feelings" in form
        else None,
        "checklist": checklist["IRO report on the child's wishes and feelings"],
        "bundle": wishes_file[0],
    }


SOUGHT = {
    "show": "sought",
    "show missing": [],
    "show text": "wishes: sought; told the outcome: -",
    "list": "sought",
    "list flag": False,
    "form": "- Mon 3 March 2025, Seen alone: Wants to stay with her carers",
    "checklist": "present",
    "bundle": "## Mon 3 March 2025, Seen alone",
}


def test_wishes_recorded_on_another_concern_are_sought_in_every_view(drp, tmp_path):
    child_record(drp, tmp_path)
    r = drp(*SECOND)
    assert "wishes not recorded" not in r.stdout  # the child's wishes are recorded
    assert voice_views(drp, 2, tmp_path, "2025-03-10") == SOUGHT
    # another child with no wishes: every view says so
    drp(*open_args(child="KN-9999", on="2025-03-10"))
    assert voice_views(drp, 3, tmp_path, "2025-03-10") == {
        "show": None,
        "show missing": ["child's wishes not recorded"],
        "show text": "wishes: NOT RECORDED; told the outcome: -",
        "list": None,
        "list flag": True,
        "form": None,
        "checklist": "MISSING",
        "bundle": "**MISSING: no wishes and feelings are recorded.**\n",
    }


def test_a_later_not_sought_keeps_the_recorded_wishes_in_every_view(drp, tmp_path):
    """What an IRO expects: the record keeps the "not sought" (with its reason, in the
    events and the bundle's record of the process), but wishes recorded for the child stay
    the child's voice: no view says "not sought" while they are there. Removing them (they
    were recorded in error) lets the concern's own latest record speak again."""
    child_record(drp, tmp_path)
    drp(*SECOND)
    r = drp("voice", "2", "wishes-not-sought", "--text", "Too upset to talk about it",
            "--on", "2025-03-11")  # fmt: skip
    assert r.exit_code == 0
    assert r.stderr == (
        "Warning: the child's wishes and feelings are recorded on concern(s) 1; every view "
        "still counts the wishes as sought\n"
    )
    assert "wishes not recorded" not in r.stdout
    views = voice_views(drp, 2, tmp_path, "2025-03-11")
    assert views == SOUGHT
    record = (tmp_path / "bundle-2" / "03-chronology.md").read_text()
    assert (
        "| child's wishes and feelings not sought | Stage 1 "
        "| Too upset to talk about it |" in record
    )
    # on the concern the wishes were recorded on, the same
    r = drp("voice", "1", "wishes-not-sought", "--text", "Declined", "--on", "2025-03-11")
    assert voice_views(drp, 1, tmp_path, "2025-03-11") == SOUGHT
    # the wishes removed: each concern's own latest record speaks
    assert drp("wishes", "remove", "1", "1", "--on", "2025-03-12").exit_code == 0
    not_sought = {
        "show": "not-sought",
        "show missing": [],
        "show text": "wishes: not sought (reason recorded); told the outcome: -",
        "list": "not-sought",
        "list flag": False,
        "form": None,
        "checklist": "present",
        "bundle": "The child's wishes were not sought; the reason is given in the record of "
        "the dispute resolution process.\n",
    }
    assert voice_views(drp, 2, tmp_path, "2025-03-12") == not_sought
    assert voice_views(drp, 1, tmp_path, "2025-03-12") == not_sought
    # wishes recorded again, on B this time: sought, on both
    drp("wishes", "add", "2", "--text", "Wants to stay with her carers", "--how", "Seen alone",
        "--obtained-on", "2025-03-03", "--on", "2025-03-12")  # fmt: skip
    assert voice_views(drp, 1, tmp_path, "2025-03-12") == SOUGHT
    assert voice_views(drp, 2, tmp_path, "2025-03-12") == SOUGHT
    assert drp("verify").exit_code == 0  # the stored rows are still each concern's own fold


def test_the_library_views_agree(tracker, tmp_path):
    t = tracker
    a = t.open(protocol="knowsley", child=CHILD, category="statutory", summary="x",
               on=D(2025, 3, 3))  # fmt: skip
    details.add(t, a.id, "wishes", text="Wants to stay", how="Seen alone", on=D(2025, 3, 4))
    b = t.open(protocol="knowsley", child=CHILD, category="general", summary="y",
               on=D(2025, 3, 5))  # fmt: skip
    assert (b.wishes, b.wishes_recorded_on) == (None, (1,))
    cal = t.calendar()
    assert concern_dict(b, None, cal, D(2025, 3, 5))["child_wishes"] == "sought"
    b = t.record_voice(b.id, "wishes-not-sought", text="Asleep", on=D(2025, 3, 6))
    assert (b.wishes, b.wishes_recorded_on) == ("not-sought", (1,))  # the row: B's own fold
    data = concern_dict(t.get(b.id), None, cal, D(2025, 3, 6))
    assert (data["child_wishes"], data["missing"]) == ("sought", [])
    assert [(i.kind, i.n, i.from_concern) for i in details.items(t, b.id)] == [("wishes", 1, 1)]
    details.remove(t, a.id, "wishes", 1, on=D(2025, 3, 7))
    assert t.get(b.id).wishes_recorded_on == ()
    assert concern_dict(t.get(b.id), None, cal, D(2025, 3, 7))["child_wishes"] == "not-sought"
    assert [v.wishes_recorded_on for v in t.concerns()] == [(), ()]
    assert t.verify().ok


def test_show_by_reference_sees_the_child_as_show_by_id_does(drp, sql):
    """`drp show` by a child's or an external reference reads the child's other concerns
    and recorded wishes as `drp show ID` does."""
    base = ["--protocol", "knowsley", "--child", "KN-7", "--category", "statutory",
            "--on", "2025-03-03"]  # fmt: skip
    assert drp("open", *base, "--summary", "a").exit_code == 0
    assert drp("wishes", "add", "1", "--how", "Seen alone", "--text", "Stay",
               "--on", "2025-03-03").exit_code == 0  # fmt: skip
    assert drp("open", *base, "--summary", "b").exit_code == 0
    sql("UPDATE concern SET external_ref = 'NT-2' WHERE id = 2")
    by_id = drp("show", "2", "--json", "--on", "2025-03-03").json()
    by_ref = drp("show", "NT-2", "--json", "--on", "2025-03-03").json()
    assert (by_ref["child_wishes"], by_ref["other_open_concerns"]) == ("sought", [1])
    assert (by_id["child_wishes"], by_id["other_open_concerns"]) == ("sought", [1])
    listed = drp("show", "KN-7", "--json", "--on", "2025-03-03").json()
    assert [(c["id"], c["child_wishes"], c["other_open_concerns"]) for c in listed] == [
        (1, "sought", [2]),
        (2, "sought", [1]),
    ]
