"""`drp calendar export`: the open concerns' deadlines as an iCalendar file, parsed back with
icalendar: one all-day event per stage deadline and per firm formal deadline, stable UIDs,
no child reference unless asked for."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from typing import Any

from tests.conftest import open_args


def events(path: Path) -> tuple[Any, list[Any]]:
    import icalendar

    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return cal, [c for c in cal.walk("VEVENT")]


def record(drp) -> None:
    """Concern 1 (Knowsley, KN-2231, Test IRO's) escalated to stage 2 on 10 March 2025:
    its stage-2 aim is 5 working days later (17 March), its firm formal limit 20 working days
    later (7 April). Concern 2 (Sam Patel's) at stage 1 from 3 March: aim 10 March.
    Concern 3 resolved: no events."""
    assert drp(*open_args()).exit_code == 0
    assert drp("escalate", "1", "--on", "2025-03-10").exit_code == 0
    assert drp(*open_args(child="KN-7000")).exit_code == 0
    assert drp("assign", "2", "--to", "Sam Patel", "--reason", "Caseload",
               "--on", "2025-03-04").exit_code == 0  # fmt: skip
    assert drp(*open_args(child="KN-9000")).exit_code == 0
    assert drp("resolve", "3", "--outcome", "Allocated", "--on", "2025-03-05").exit_code == 0


def test_export_mine(drp, tmp_path):
    record(drp)
    out = tmp_path / "deadlines.ics"
    r = drp("calendar", "export", "--mine", "-o", str(out))
    assert (r.exit_code, r.stdout, r.stderr) == (0, f"Wrote {out}: 2 deadlines.\n", "")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    cal, found = events(out)
    assert str(cal["PRODID"]) == "-//drp-cli//drp deadlines//EN"
    assert str(cal["VERSION"]) == "2.0"
    uid = drp("show", "1", "--json").json()["uid"]
    got = {str(e["UID"]): (e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"]))
           for e in found}  # fmt: skip
    assert got == {
        f"{uid}-stage@drp-cli": (dt.date(2025, 3, 17), dt.date(2025, 3, 18),
                                 "DRP resolution due (aim): concern 1"),
        f"{uid}-formal@drp-cli": (dt.date(2025, 4, 7), dt.date(2025, 4, 8),
                                  "DRP formal process limit: concern 1"),
    }  # fmt: skip
    text = out.read_text()
    assert "KN-2231" not in text and "KN-7000" not in text
    assert "No allocated social worker" not in text
    stage = next(e for e in found if str(e["UID"]).endswith("-stage@drp-cli"))
    description = str(stage["DESCRIPTION"])
    assert description.startswith(
        "The resolution at the Stage 2: Dispute Resolution is due (the protocol's aim).\n"
        "Addressed to: The Dispute Resolution recorded on ICS (the source names no addressee)\n"
    )
    assert description.endswith("\nOwner: Test IRO.\nIn drp: drp show 1")
    assert str(stage["TRANSP"]) == "TRANSPARENT"


def test_with_children_owner_and_everyone(drp, tmp_path):
    record(drp)
    out = tmp_path / "sam.ics"
    r = drp("calendar", "export", "--owner", "sam patel", "--with-children", "-o", str(out))
    assert r.stdout == f"Wrote {out}: 1 deadline.\n"
    [event] = events(out)[1]
    # Knowsley's timescales are to resolve ("aiming for 5 working days to resolve")
    assert str(event["SUMMARY"]) == "DRP resolution due (aim): KN-7000, concern 2"
    assert event.decoded("DTSTART") == dt.date(2025, 3, 10)
    everyone = tmp_path / "all.ics"
    r = drp("calendar", "export", "-o", str(everyone), "--json")
    assert r.json() == {"path": str(everyone), "events": 3}
    assert "KN-9000" not in everyone.read_text()  # nor the resolved concern's deadlines


def test_uids_are_stable_and_a_later_file_updates(drp, tmp_path):
    record(drp)
    first, second = tmp_path / "1.ics", tmp_path / "2.ics"
    assert drp("calendar", "export", "-o", str(first)).exit_code == 0
    assert drp("due", "1", "2025-03-19", "--reason", "Agreed with the Head of Service",
               "--on", "2025-03-11").exit_code == 0  # fmt: skip
    assert drp("calendar", "export", "-o", str(second)).exit_code == 0
    before = {str(e["UID"]): e for e in events(first)[1]}
    after = {str(e["UID"]): e for e in events(second)[1]}
    assert set(before) == set(after)
    uid = drp("show", "1", "--json").json()["uid"] + "-stage@drp-cli"
    assert before[uid].decoded("DTSTART") == dt.date(2025, 3, 17)
    assert after[uid].decoded("DTSTART") == dt.date(2025, 3, 19)
    assert int(after[uid]["SEQUENCE"]) > int(before[uid]["SEQUENCE"])
    # the file is drp's: --force replaces it, nothing else
    r = drp("calendar", "export", "-o", str(first))
    assert r.exit_code == 2 and "already exists" in r.stderr
    r = drp("calendar", "export", "-o", str(first), "--force")
    assert r.stdout.startswith(f"Replaced {first}:")
    theirs = tmp_path / "theirs.ics"
    theirs.write_text("BEGIN:VCALENDAR\nPRODID:-//Microsoft//Outlook//EN\nEND:VCALENDAR\n")
    r = drp("calendar", "export", "-o", str(theirs), "--force")
    assert r.exit_code == 2 and "drp did not write it" in r.stderr


def test_guidance_is_not_a_firm_deadline(drp, tmp_path):
    """West Sussex's 20 working days are the IRO Handbook's guidance, quoted in §2 (issue 28
    finding 7), and its informal stage has no deadline until the request to the Practice
    Manager is recorded: no event at all."""
    assert drp(*open_args(protocol="west-sussex", child="NT-1", role="iro")).exit_code == 0
    assert drp("escalate", "1", "--on", "2025-03-10", "--to", "stage-5").exit_code == 0
    shown = drp("show", "1", "--json").json()
    assert (shown["deadline"], shown["formal_deadline"], shown["formal_deadline_kind"]) == (
        None, "2025-04-07", "guidance"
    )  # fmt: skip
    out = tmp_path / "n.ics"
    r = drp("calendar", "export", "-o", str(out))
    assert r.stdout == f"Wrote {out}: 0 deadlines.\n"
    assert events(out)[1] == []
