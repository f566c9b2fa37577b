"""The forms and the bundle as their readers get them: a golden file for the form of every
stage of every protocol, each read back through a real Markdown parser (markdown-it-py).

A form goes to the manager who must reply and the bundle to a CAFCASS duty lawyer: they
carry no drp commands, no drp ids, no "seed" file numbers, and no Markdown escaped twice.
Everything about people is taken from the protocol object, so when the protocol files
change only the golden files need regenerating (``DRP_UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from drp_cli.domain.protocols import Protocol, Stage, load_registry
from drp_cli.render import documents
from drp_cli.services import attachments, details
from drp_cli.services.tracker import Tracker
from tests.test_documents import check_golden, fixed_tracker, full_case

D = dt.date
MARKDOWN = MarkdownIt("commonmark").enable("table")
TEMPLATES = Path(__file__).parent.parent / "templates"
#: the built-in protocols (the test's own user folder is empty)
BUILTIN = load_registry([]).protocols
EVERY_STAGE = [(p, s.slug) for p in sorted(BUILTIN) for s in BUILTIN[p].stages]

#: the sections every form has, in this order, before the optional ones
FORM_SECTIONS = [
    "The concern",
    "Impact on the child",
    "Recommended resolution",
    "Recommended actions, in order of priority",
]
OPTIONAL_SECTIONS = {
    "The child's wishes and feelings",
    "Steps at this stage",
    "Recording duties",
    "How this concern has been raised so far",
}
#: what a reader must never see: a drp command or id, a seed file, an escape shown as text
FORBIDDEN = [
    (re.compile(r"\bdrp\b", re.IGNORECASE), "the name of the tool (a command or an id)"),
    (re.compile(r"\bconcern \d+", re.IGNORECASE), "a drp concern id"),
    (re.compile(r"seed \d", re.IGNORECASE), "a seed file number"),
    (re.compile(r"\\[#|\-*_`\[\]<>]"), "a backslash escape shown as text"),
    (re.compile(r"&(amp|nbsp|lt|gt);"), "an HTML entity shown as text"),
    (re.compile(r"\(([a-z0-9]+-)+[a-z0-9]+\)"), "a slug in brackets"),
]


# -- reading a document back ---------------------------------------------------------------
def _text(inline: Token) -> str:
    return "".join(c.content for c in inline.children or [] if c.type != "html_inline")


def headings(tokens: list[Token]) -> list[tuple[str, str]]:
    """(tag, text) of every heading, in order."""
    return [
        (tok.tag, _text(tokens[i + 1]))
        for i, tok in enumerate(tokens)
        if tok.type == "heading_open"
    ]


def texts(tokens: list[Token]) -> list[str]:
    """Every piece of text a reader sees (text, inline code, code blocks)."""
    found = []
    for tok in tokens:
        if tok.type in ("fence", "code_block"):
            found.append(tok.content)
        for c in tok.children or []:
            if c.type in ("text", "text_special", "code_inline"):
                found.append(c.content)
    return found


def tables(tokens: list[Token]) -> list[list[list[str]]]:
    """Every table, as rows of cell texts (the header row first)."""
    found: list[list[list[str]]] = []
    for i, tok in enumerate(tokens):
        if tok.type == "table_open":
            found.append([])
        elif tok.type == "tr_open":
            found[-1].append([])
        elif tok.type in ("th_open", "td_open"):
            found[-1][-1].append(_text(tokens[i + 1]).strip())
    return found


def check_readable(markdown: str, name: str) -> list[Token]:
    """Nothing in the rendered text a reader must not see; returns the tokens."""
    tokens = MARKDOWN.parse(markdown)
    for piece in texts(tokens):
        for pattern, what in FORBIDDEN:
            found = pattern.search(piece)
            assert found is None, f"{name}: {what} in the text: {found.group(0)!r} in {piece!r}"
    return tokens


def check_form(
    markdown: str, protocol: Protocol, stage: Stage, name: str, deadline_kind: str | None = None
) -> None:
    tokens = check_readable(markdown, name)
    heads = headings(tokens)
    assert heads[0][0] == "h1" and [t for t, _ in heads].count("h1") == 1, name
    h2 = [text for tag, text in heads if tag == "h2"]
    assert [tag for tag, _ in heads[1:]] == ["h2"] * len(h2), f"{name}: only h2 under the h1"
    assert h2[: len(FORM_SECTIONS)] == FORM_SECTIONS, name
    assert h2[-1].startswith("Response by "), name
    if stage.responder or not (TEMPLATES / protocol.slug / "alert.md.j2").is_file():
        # a protocol's own form may name the responder its source's form names, until
        # the protocol file does
        assert h2[-1] == f"Response by {stage.response_by}", name
    assert set(h2[len(FORM_SECTIONS) : -1]) <= OPTIONAL_SECTIONS, name

    # the header table comes before the first section and holds who and when
    first_h2 = next(i for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2")
    assert any(t.type == "table_open" for t in tokens[:first_h2]), f"{name}: no header table"
    rows = {row[0]: row[1] for row in tables(tokens)[0][1:]}
    assert rows["To"] == "; ".join(stage.addressee_names), name
    assert rows["Copy to"] == ("; ".join(stage.copy_names) or "-"), name
    assert ("Attending" in rows) == bool(stage.attendees), name
    assert ("To be notified" in rows) == bool(stage.notifications), name
    if stage.attendees:
        assert rows["Attending"] == "; ".join(p.who for p in stage.attendees), name
    if stage.notifications:
        assert rows["To be notified"] == "; ".join(p.who for p in stage.notifications), name
    # the stage's clock, said as the source says what it is for ("Resolve by", "Hold the
    # meeting by"), in its own units, from where it counts (issue 28)
    clock = stage.clock
    respond = rows[clock.label if clock is not None else "Respond by"]
    kind = deadline_kind or (clock.kind if clock is not None else None)
    if clock is None:
        assert "sets no timescale" in respond, name
    else:
        word = {"aim": "aim", "guidance": "guidance"}.get(kind or "", "limit")
        if clock.start in ("stage", "escalation", "previous-outcome"):
            assert f"({word}: {clock.words}" in respond, name
        else:  # counted from a step not yet done (Nottinghamshire 2016 Stage 1: the plan)
            assert respond.startswith(f"{word}: {clock.words} from when the step"), name
    whole = rows["Whole formal process"]
    if protocol.cap_kind is None:
        assert whole == "the protocol sets no overall limit", name
    elif protocol.cap_kind == "guidance":
        assert "guidance (IRO Handbook 2010)" in whole, name
    else:
        assert "(limit: " in whole or "does not apply" in whole, name


# -- the concern every form is rendered for --------------------------------------------------
def open_at(t: Tracker, protocol: Protocol, stage: str) -> int:
    c = t.open(
        protocol=protocol.slug, child="CR-30417", category="care-plan", issue="drift-delay",
        summary="The plan for Mia to return home has drifted: the parenting assessment agreed "
        "at the review on 12 May has not started.",
        impact="Mia (7) asks every week when she is going home; her placement is short-term "
        "and the carers have given notice for September.",
        recommended="Start the parenting assessment now & agree a timetable for the return "
        "home at a planning meeting.",
        role=protocol.roles[0], stage=stage, raised_by="Priya Shah", on=D(2025, 6, 2),
        by="Priya Shah",
    )  # fmt: skip
    for text, owner, due in [
        ("Commission the parenting assessment", "Team Manager", "2025-06-09"),
        ("Hold a planning meeting on the return home", "Social worker", "2025-06-13"),
    ]:
        details.add(t, c.id, "action", text=text, owner=owner, due=due, on=D(2025, 6, 2),
                    by="Priya Shah")  # fmt: skip
    return c.id


@pytest.mark.parametrize(
    ("protocol", "stage"), EVERY_STAGE, ids=[f"{p}-{s}" for p, s in EVERY_STAGE]
)
def test_form_of_every_stage(db_target, protocol, stage):
    t = fixed_tracker(db_target)
    proto = t.protocols.get(protocol)
    cid = open_at(t, proto, stage)
    text = documents.alert(t, cid, on=D(2025, 6, 3))
    check_golden(f"forms/{protocol}/{stage}.md", text)
    check_form(text, proto, proto.stage(stage), f"{protocol} {stage}")


def test_every_protocol_has_forms():
    """Every built-in protocol and every one of its stages has a golden form."""
    assert len(BUILTIN) == 5
    folder = Path(__file__).parent / "golden" / "forms"
    for protocol, stage in EVERY_STAGE:
        assert (folder / protocol / f"{stage}.md").is_file(), (protocol, stage)


def test_form_after_a_response_and_an_escalation(db_target):
    t = fixed_tracker(db_target)
    proto = t.protocols.get("knowsley")
    cid = open_at(t, proto, proto.first_stage.slug)
    t.respond(cid, text="Assessment to start in July", respondent="Team Manager",
              on=D(2025, 6, 6), by="Priya Shah")  # fmt: skip
    t.escalate(cid, on=D(2025, 6, 10), note="July is too late for Mia", by="Priya Shah")
    text = documents.alert(t, cid, on=D(2025, 6, 11))
    check_form(text, proto, proto.stages[1], "knowsley, escalated")
    assert "## How this concern has been raised so far" in text


# -- what the other records add (steps, duties, meetings, notices, not applicable) ---------
def with_extras(monkeypatch: pytest.MonkeyPatch, extras: dict[str, Any]) -> None:
    """Give the concern's JSON view keys that the domain code adds (the templates render
    them only when present)."""
    real = documents.concern_dict

    def concern_dict(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**real(*args, **kwargs), **extras}

    monkeypatch.setattr(documents, "concern_dict", concern_dict)


def test_form_with_steps_and_duties(db_target, monkeypatch):
    t = fixed_tracker(db_target)
    proto = t.protocols.get("west-sussex")
    stage = proto.stage("stage-1")
    who = stage.response_by
    with_extras(monkeypatch, {
        "external_ref": "WS-2025-0042",
        "deadline_kind": "aim",
        "steps": [
            {"stage": "stage-1", "slug": "meet", "title": "Dispute resolution meeting",
             "who": who, "due": "2025-06-09", "kind": "aim", "done_on": None,
             "meeting": True, "optional": True, "state": "pending"},
            {"stage": "stage-1", "slug": "reply", "title": "Written response",
             "who": who, "due": "2025-06-09", "kind": "firm", "done_on": "2025-06-05",
             "meeting": False, "optional": False, "state": "done"},
            {"stage": "stage-2", "slug": "later", "title": "Not at this stage", "who": "x",
             "due": None, "kind": None, "done_on": None, "meeting": False,
             "optional": False, "state": "pending"},
        ],
        "duties": [
            {"stage": "stage-1", "slug": "case-note", "text": "Record a case note on Mosaic",
             "who": "IRO", "conditional": False, "done_on": "2025-06-02"},
            {"stage": "stage-1", "slug": "copy", "text": "Copy the form to the child's file",
             "who": "Business support", "conditional": True, "done_on": None},
        ],
    })  # fmt: skip
    cid = open_at(t, proto, "stage-1")
    text = documents.alert(t, cid, on=D(2025, 6, 3))
    check_golden("forms/extras/west-sussex-stage-1-with-steps.md", text)
    check_form(text, proto, stage, "steps and duties", deadline_kind="aim")
    tokens = MARKDOWN.parse(text)
    h2 = [h for tag, h in headings(tokens) if tag == "h2"]
    # the recording duties are the IRO's own to-do list: not the manager's (issue 30 item 5)
    assert "Steps at this stage" in h2 and "Recording duties" not in h2
    steps = next(tb for tb in tables(tokens) if tb[0][0] == "Step")
    assert [row[0] for row in steps[1:]] == [
        "Dispute resolution meeting (a meeting, if needed)", "Written response",
    ]  # fmt: skip
    assert steps[1][2:] == ["Mon 9 June 2025 (aim)", "not yet"]
    assert steps[2][2:] == ["Mon 9 June 2025", "Thu 5 June 2025"]
    assert "reference WS-2025-0042" in text
    assert "the date the protocol aims for" in text
    assert "Record a case note" not in text and "Copy the form to the child's file" not in text


def test_bundle_reads_well(db_target, tmp_path, monkeypatch):
    """Every bundle file: nothing a lawyer must not see; meetings and notices in the IRO
    report and on the cover; an item marked not applicable is not MISSING."""
    with_extras(monkeypatch, {
        "external_ref": "NOTTS-118",
        "meetings": [{"on": "2025-06-19", "stage": "stage-1", "attendees": ["Tom Reid",
                      "Priya Shah"], "text": "Assessment dates discussed.",
                      "actions": ["Book the assessor"]}],
        "notices": ["The Service Manager's response came after the stage's timescale."],
        "not_applicable": {"professionals": "only the IRO is involved so far",
                           "care-plan": "ignored: a Care Plan is attached"},
    })  # fmt: skip
    t = fixed_tracker(db_target)
    cid = full_case(t, tmp_path)
    for n in (1, 2):
        details.remove(t, cid, "professional", n, on=D(2025, 6, 24), by="Priya Shah")
    out = tmp_path / "bundle"
    result = documents.bundle(t, cid, out, on=D(2025, 6, 25))
    assert result.missing == []
    for name in result.files:
        if name.endswith(".md"):
            tokens = check_readable((out / name).read_text(), name)
            assert [tag for tag, _ in headings(tokens)].count("h1") == 1, name
    index = (out / "index.md").read_text()
    check_golden("forms/extras/bundle-index-with-extras.md", index)
    rows = {
        row[1]: row
        for row in next(
            tb for tb in tables(MARKDOWN.parse(index)) if tb[0][1:] == ["Item", "Where"]
        )[1:]
    }
    assert rows["Names and contact details of the relevant professionals"][0] == (
        "not applicable: only the IRO is involved so far"
    )
    assert "Not applicable: only the IRO is involved so far" in (
        (out / "05-professionals.md").read_text()
    )
    assert rows["The most recent Care Plan"][0] == "present"  # present wins
    assert rows["Statement of issues"][0] == "present"
    assert "The Service Manager's response came after" in index
    report = (out / "01-iro-report.md").read_text()
    assert "## Meetings" in report and "- Book the assessor" in report
    assert "## Please note" in report


def test_the_case_chronology_is_an_attached_document(db_target, tmp_path):
    """drp's own record of the process is not the chronology of the child's case."""
    t = fixed_tracker(db_target)
    cid = open_at(t, t.protocols.get("knowsley"), "stage-1")
    out = tmp_path / "bundle"
    result = documents.bundle(t, cid, out, on=D(2025, 6, 25))
    assert "Chronology of the child's case" in result.missing
    index = MARKDOWN.parse((out / "index.md").read_text())
    rows = {row[1]: row for row in tables(index)[1][1:]}
    assert rows["Chronology of the child's case"][0] == "MISSING"
    assert rows["Chronology of the child's case"][2] == "no chronology of the child's case attached"
    (tmp_path / "chron.pdf").write_text("chronology")
    attachments.attach(t, cid, tmp_path / "chron.pdf", kind="case-chronology",
                       dated="2025-06-20", on=D(2025, 6, 24))  # fmt: skip
    result = documents.bundle(t, cid, out, force=True, on=D(2025, 6, 25))
    assert "Chronology of the child's case" not in result.missing
    record = (out / "03-chronology.md").read_text()
    assert record.startswith("# Record of the dispute resolution process\n")


def test_checklist_uses_the_bundle_items():
    from drp_cli.domain.views import BUNDLE_ITEMS

    context = {
        "concern": {"events": [], "child_wishes": None, "not_applicable": {"diversity": "n/a"}},
        "wishes": [], "professionals": [], "important_people": [], "needs": [],
    }  # fmt: skip
    items = documents.checklist(context, [], D(2024, 6, 25))
    assert [(e["slug"], e["item"]) for e in items] == list(BUNDLE_ITEMS.items())
    by_slug = {e["slug"]: e for e in items}
    assert by_slug["diversity"]["not_applicable"] == "n/a"
    assert by_slug["diversity"]["why_missing"] == ""
    assert by_slug["case-chronology"]["present"] is False
    assert by_slug["statement-of-issues"]["present"] is True
    for e in items:  # what is missing, in words: never how to type it
        assert "drp" not in e["why_missing"] and "--" not in e["why_missing"]
