"""Sweep sw8i (issue 32, wave 8's import speed work): what the hostile comparison of the
import before (8bb885b) and after (fb6a894) the rewrite found.

The import itself recorded the same rows, byte for byte, hashes and macs included (seeded
salts, uids and clock), and refused with the same messages, on every file tried; the one
defect found is older than the wave, met while building a realistic export to import: an
attachment recorded before its concern was opened, which drp's own export then cannot
bring back."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import open_args

BODY = b"care plan for sw8i\n"


def test_attach_refuses_a_day_before_the_concern_was_opened(drp, tmp_path: Path) -> None:
    assert drp(*open_args(on="2025-03-03")).exit_code == 0
    source = tmp_path / "given" / "care-plan.txt"
    source.parent.mkdir()
    source.write_bytes(BODY)
    # the same day given to a note is refused, and nothing is recorded
    note = drp("note", "1", "--text", "Phoned", "--on", "2025-03-01")
    assert (note.exit_code, note.stderr) == (
        2,
        "Error: --on 2025-03-01 is before the concern was opened (2025-03-03)\n",
    )
    r = drp("attach", "1", str(source), "--kind", "care-plan", "--on", "2025-03-01")
    assert (r.exit_code, r.stdout, r.stderr) == (
        2,
        "",
        "Error: --on 2025-03-01 is before the concern was opened (2025-03-03)\n",
    )
    shown = drp("attachments", "1", "--json")
    assert (shown.exit_code, shown.json()) == (0, [])
    # bad input changes nothing: no copy of the file kept anywhere
    copies = [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes() == BODY]
    assert copies == [source]
