"""`drp retention`'s lines of held concerns wrap at a terminal's width (at spaces, never
inside an id); in a pipe they stay one line each, as scripts read them."""

from __future__ import annotations

import pytest

from tests.test_f5_sar import ON, closed, received  # noqa: F401 (closed: a fixture)
from tests.test_t30w_widths import on_terminal


@pytest.mark.parametrize("width", [60, 80])
def test_the_held_lines_fit_the_terminal(drp, closed, width):  # noqa: F811
    received(drp, "P-1", "2026-10-30")
    assert drp("hold", "3", "--reason", "Care proceedings", *ON).exit_code == 0
    status, shown = on_terminal(width, "retention", *ON)
    assert status == 0, shown
    lines = shown.splitlines()
    assert all(len(line) <= width for line in lines), lines
    said = " ".join(lines)
    assert "Kept under a legal hold though past their period: 3" in said
    assert (
        "Kept for a subject access request not yet answered though past their period: 1, 2" in said
    )
    piped = drp("retention", *ON).stdout.splitlines()
    assert piped[-1] == (
        "Kept for a subject access request not yet answered though past their period: 1, 2"
    )
