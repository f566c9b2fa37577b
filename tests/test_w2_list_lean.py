"""`drp list`'s table (not --json) reads only the columns it shows and judges, and works out
what concerns share once (drp_cli.services.listing; issue 32): byte for byte the table the
library's way makes (each concern's view and JSON shape, laid out as the table was laid out
before), on a varied record, for every --status and every filter the lean read takes, in a
pipe and on a terminal; and the same refusals."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

import pytest

from drp_cli.cli import reports
from drp_cli.cli.output import (
    LIST_DROP,
    LIST_FREE_TEXT,
    LIST_HEADERS,
    PLAIN_ABOVE,
    concern_table,
    fit_table,
    names,
    plain_table,
    say,
    short,
)
from drp_cli.core.textsafe import visible
from drp_cli.services.tracker import Tracker
from tests.conftest import open_args

ON = "2025-06-02"


def reference_table(rows: list[dict[str, Any]], *, plain: bool = False) -> None:
    """`drp list`'s table as cli.output.concern_table laid it out before issue 32's lean
    read (verbatim): the reference every way of making the table is held to."""
    from drp_cli.domain.wording import days

    plain = plain or len(rows) > PLAIN_ABOVE
    cells_of: list[list[str]] = []
    styles: list[str | None] = []
    for d in rows:
        flags = []
        if d["overdue"]:
            late = d["working_days_overdue"]
            flags.append(f"OVERDUE {late}wd" if plain else f"OVERDUE {days(late)}")
        if d.get("past_aim"):
            flags.append("past-aim" if plain else "past its aim")
        if d.get("past_guidance"):
            flags.append("past-guidance" if plain else "past the guidance")
        if d["referred_to_cafcass_on"]:
            flags.append("CAFCASS")
        if "child's wishes not recorded" in d["missing"]:
            flags.append("wishes?")
        if "child not recorded as told the outcome" in d["missing"]:
            flags.append("told?")
        cells = [str(d["id"]), d["child"], d["protocol"], d["stage"], d["status"]]
        cells += [d["deadline"] or "-", d["formal_deadline"] or "-", " ".join(flags)]
        cells += [names(d.get("addressed_to")), d.get("owner") or "-",
                  short(d.get("summary") or "") or "-"]  # fmt: skip
        if plain:
            cells_of.append(cells)
            continue
        cells_of.append([visible(c, one_line=True) for c in cells])
        styles.append("bold red" if d["overdue"] else None)
    if plain:
        if rows:
            plain_table(LIST_HEADERS, cells_of)
    else:
        fit_table(LIST_HEADERS, cells_of, free=LIST_FREE_TEXT, styles=styles, drop=LIST_DROP,
                  heading=2)  # fmt: skip
    say(
        f"{len(rows)} concern{'s' if len(rows) != 1 else ''}. "
        "Flags: wishes? = child's wishes not recorded; told? = child not recorded as told the "
        "outcome."
        if rows
        else "No concerns match."
    )


def carer(args: list[str]) -> list[str]:
    """`drp open`'s arguments for a route about a foster carer: the reference is a carer's."""
    return [("--carer" if a == "--child" else a) for a in args]


@pytest.fixture
def varied(drp: Callable[..., Any]) -> None:
    """Four protocols, routes about a child and about a foster carer, one child with three
    concerns (wishes recorded on one), stages bypassed and due dates set, a referral, legal
    holds, an amended child reference, a redacted one, an owner handed over, resolved and
    withdrawn concerns, a step deadline, aims and firm deadlines passed; text that is not
    printable ASCII."""

    def ok(*args: str) -> None:
        result = drp(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)

    ok(*open_args(child="KN-1", on="2025-03-03"))  # 1
    ok(
        *open_args(
            child="KN-1",
            on="2025-03-04",
            summary="Second concern about KN-1 — the "
            "placement plan, with a summary longer than the table shows",
        )
    )  # 2
    ok(
        *open_args(
            child="KN-1", protocol="west-sussex", stage="stage-1", role="iro", on="2025-03-05"
        )
    )  # 3
    ok(*open_args(child="KN-2", on="2025-01-06", owner="Priya Shah", team="North"))  # 4
    ok(*open_args(child="KN-3", on="2025-02-03"))  # 5
    ok(
        *carer(
            open_args(
                child="NT-1", protocol="nottinghamshire-crp", route="foster-carer", on="2025-04-01"
            )
        )
    )  # 6
    ok(*open_args(child="NT-X", protocol="nottinghamshire-crp", on="2025-04-02"))  # 7
    ok(
        *open_args(
            child="WS-9",
            protocol="west-sussex",
            stage="stage-2",
            role="iro",
            reason="Immediate safety",
            on="2025-05-01",
        )
    )  # 8
    ok(*carer(open_args(child="SB-1", protocol="sbc-fciro", on="2025-05-12")))  # 9
    ok(
        *open_args(
            child="KN-5",
            on="2025-05-20",
            owner="sam patel",
            team="South",
            summary="Café: “résumé” ünïcode",
        )
    )  # 10
    ok(*open_args(child="KN-6", on="2025-05-27"))  # 11
    ok("wishes", "add", "2", "--text", "Wants to stay", "--how", "Seen alone",
       "--obtained-on", "2025-03-03", "--on", "2025-03-06")  # fmt: skip
    ok("wishes", "add", "6", "--text", "Carer's view", "--how", "Visit",
       "--obtained-on", "2025-04-02", "--on", "2025-04-03")  # fmt: skip
    ok("hold", "1", "--reason", "Inquiry", "--on", "2025-03-06")
    ok("assign", "2", "--to", "Priya Shah", "--reason", "Leave", "--on", "2025-03-07")
    ok("respond", "4", "--from", "TM", "--text", "Will allocate", "--on", "2025-01-08")
    ok("escalate", "4", "--on", "2025-01-20")
    ok("escalate", "5", "--to", "Stage 3", "--note", "x", "--on", "2025-02-20")
    ok("refer", "5", "--on", "2025-03-19")
    ok("voice", "1", "wishes-sought", "--text", "Seen alone", "--on", "2025-03-05")
    ok("resolve", "11", "--outcome", "Allocated", "--on", "2025-05-28")
    ok("withdraw", "9", "--reason", "Raised in error", "--on", "2025-05-13")
    ok("amend", "7", "--child", "NT-1", "--reason", "Typo", "--on", "2025-04-03")
    ok("redact", "10", "1", "--field", "child", "--reason", "Child's name as the reference")


def library_way(db: str, on: str | None, *, plain: bool, **filters: Any) -> str:
    """The table made the library's way: each concern's view and JSON shape
    (cli.reports._listed), laid out by :func:`reference_table`."""
    t = Tracker(db)
    try:
        rows = reports._listed(t, status=filters.pop("status", "open"), protocol=None,
                               stage=None, category=None, search=None, on=on,
                               as_json=False, **{"child": None, "raised_by": None,
                                                 "owner": None, "mine": False, "team": None,
                                                 "opened_from": None, "opened_to": None,
                                                 "overdue": False, **filters})  # fmt: skip
    finally:
        t.store.close()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        reference_table(rows, plain=plain)
    return out.getvalue()


CASES: list[tuple[list[str], dict[str, Any]]] = [
    ([], {}),
    (["--status", "open"], {"status": "open"}),
    (["--status", "all"], {"status": "all"}),
    (["--status", "resolved"], {"status": "resolved"}),
    (["--status", "withdrawn"], {"status": "withdrawn"}),
    (["--status", "all", "--owner", "PRIYA SHAH"], {"status": "all", "owner": "PRIYA SHAH"}),
    (["--status", "all", "--team", "south"], {"status": "all", "team": "south"}),
    (["--mine"], {"mine": True}),
    (["--status", "all", "--child", " KN-1 "], {"status": "all", "child": " KN-1 "}),
    (["--status", "all", "--raised-by", "test iro"], {"status": "all", "raised_by": "test iro"}),
    (["--status", "all", "--opened-from", "2025-03-04", "--opened-to", "04/04/2025"],
     {"status": "all", "opened_from": "2025-03-04", "opened_to": "04/04/2025"}),
    (["--overdue"], {"overdue": True}),
    (["--status", "all", "--overdue"], {"status": "all", "overdue": True}),
]  # fmt: skip


@pytest.mark.parametrize("terminal", [False, True], ids=["pipe", "terminal"])
@pytest.mark.parametrize("on", [ON, "2025-03-10", "2025-03-13", "2025-05-29", "2026-01-05"])
@pytest.mark.parametrize("args, filters", CASES)
def test_the_table_is_the_library_s_own(
    varied: None,
    drp: Callable[..., Any],
    db_target: str,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    filters: dict[str, Any],
    on: str,
    terminal: bool,
) -> None:
    monkeypatch.setattr(reports, "_is_terminal", lambda: terminal)
    r = drp("list", *args, "--on", on)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == library_way(db_target, on, plain=not terminal, **filters)


def test_the_record_is_as_varied_as_it_says(varied: None, drp: Callable[..., Any]) -> None:
    """The cases above meet every flag, and the lean read is the one that ran."""
    text = drp("list", "--status", "all", "--on", ON).stdout
    for flag in ("OVERDUE", "past-aim", "CAFCASS", "wishes?", "told?"):
        assert flag in text, flag
    lines = {line.split()[0]: line for line in text.splitlines()[2:-1]}
    assert len(lines) == 11
    assert "wishes?" not in lines["2"] and "wishes?" not in lines["3"]  # KN-1's, on 2
    assert "wishes?" not in lines["6"]  # a foster carer's review asks no child's voice
    assert "wishes?" in lines["7"]  # NT-1's wishes are on the carer's route: another subject
    assert "[redacted]" in lines["10"]


def test_the_table_never_loads_the_library(varied: None, drp: Callable[..., Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the table read the library's views")

    monkeypatch.setattr(Tracker, "concerns", refused)
    assert drp("list", "--status", "all", "--on", ON).exit_code == 0
    assert drp("list", "--json").exit_code == 70  # the library's way (it is patched away)


def test_concern_table_is_the_reference(varied: None, db_target: str) -> None:
    """cli.output.concern_table (show by a child's reference, and list's other filters)
    lays out what the reference does."""
    t = Tracker(db_target)
    try:
        views = t.concerns(status="all", with_events=False)
        from drp_cli.cli.output import concern_data

        rows = [concern_data(t, v, ON, timeline=False) for v in views]
    finally:
        t.store.close()
    for plain in (True, False):
        mine, theirs = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(mine):
            concern_table(rows, plain=plain)
        with contextlib.redirect_stdout(theirs):
            reference_table(rows, plain=plain)
        assert mine.getvalue() == theirs.getvalue()


@pytest.mark.parametrize(
    "args, said",
    [
        (["--status", "lost"], "Error: unknown status 'lost'; allowed: open, resolved, withdrawn, "
                               "all\n"),
        (["--owner", "  "], "Error: --owner is empty\n"),
        (["--owner", "x", "--mine"], "Error: give --owner or --mine, not both\n"),
        (["--opened-from", "2025-05-01", "--opened-to", "2025-04-01"],
         "Error: --opened-from is after --opened-to\n"),
        (["--owner", "Nobody Known"], None),
        (["--on", "soon"], None),
        (["--overdue", "--on", "soon", "--status", "lost"], None),
    ],
)  # fmt: skip
def test_the_same_refusals(varied: None, drp: Callable[..., Any], args: list[str],
                           said: str | None) -> None:  # fmt: skip
    lean = drp("list", *args)
    full = drp("list", *args, "--json")
    assert (lean.exit_code, lean.stderr) == (full.exit_code, full.stderr)
    assert lean.exit_code == 2
    if said is not None:
        assert lean.stderr == said


@pytest.mark.parametrize("few", [0, 1, 2000])
def test_wishes_looked_up_however_many_items(varied: None, drp: Callable[..., Any],
                                             db_target: str, monkeypatch: pytest.MonkeyPatch,
                                             few: int) -> None:  # fmt: skip
    """Where the record holds more items than the lean read counts (few), it asks each
    concern's child; where it holds fewer, it looks whether any is wishes and feelings."""
    from drp_cli.store import listing

    monkeypatch.setattr(listing, "_FEW_ITEMS", few)
    r = drp("list", "--status", "all", "--on", ON)
    assert r.stdout == library_way(db_target, ON, plain=True, status="all")


def test_a_record_with_no_wishes_recorded(drp: Callable[..., Any], db_target: str) -> None:
    for n in range(3):
        assert drp(*open_args(child=f"KN-{n % 2}", on="2025-03-03")).exit_code == 0
    assert (
        drp(
            "action", "add", "1", "--text", "Allocate", "--owner", "TM", "--due", "2025-03-20"
        ).exit_code
        == 0
    )
    assert drp("voice", "2", "wishes-sought", "--text", "Seen", "--on", "2025-03-05").exit_code == 0
    r = drp("list", "--status", "all", "--on", ON)
    assert r.stdout.count("wishes?") == 2 + 1  # two concerns, and the footnote
    assert r.stdout == library_way(db_target, ON, plain=True, status="all")
