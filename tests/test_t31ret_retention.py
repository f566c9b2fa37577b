"""drp hold / unhold / retention: legal holds recorded as events, and what the council's
retention schedule says is past its period (issue 31 item 2). The settings are set through
the config API (``drp config set``); until core/config.py declares them, the test declares
them itself (``schedule_settings``)."""

from __future__ import annotations

import pytest

from drp_cli.core import config
from tests.conftest import open_args

SETTINGS = ("retention_years", "retention_by_route", "retention_by_role")


@pytest.fixture
def schedule_settings():
    """The retention settings are the config's own (`drp config set` takes them)."""
    assert set(SETTINGS) <= set(config.KEYS)


@pytest.fixture
def closed(drp, schedule_settings):
    """Concern 1 (KN-A) resolved 2025-03-10, 2 (KN-B) withdrawn 2025-03-12, 3 (KN-C) open."""
    for child in ("KN-A", "KN-B", "KN-C"):
        r = drp(*open_args(child=child, on="2025-03-03"))
        assert r.exit_code == 0, r.stderr
    assert drp("resolve", "1", "--outcome", "Allocated", "--on", "2025-03-10").exit_code == 0
    assert drp("withdraw", "2", "--reason", "Raised in error", "--on", "2025-03-12").exit_code == 0


def test_nothing_is_due_without_a_schedule(drp, closed):
    r = drp("retention", "--on", "2090-01-01")
    assert (r.exit_code, r.stderr) == (0, "")
    assert r.stdout.startswith("No retention schedule is set: nothing is ever due for disposal.")
    assert drp("retention", "--on", "2090-01-01", "--json").json() == []


def test_retention_lists_what_is_past_its_period(drp, closed):
    assert drp("config", "set", "retention_years", "6").exit_code == 0
    assert drp("retention", "--on", "2031-03-09", "--json").json() == []
    due = drp("retention", "--on", "2031-03-10", "--json")
    assert due.json() == [
        {"id": 1, "closed_on": "2025-03-10", "rule": "retention_years=6",
         "due_for_disposal_on": "2031-03-10"},
    ]  # fmt: skip
    r = drp("retention", "--on", "2031-03-12")
    assert r.exit_code == 0
    assert r.stdout == (
        "2 concerns past the retention period on 2031-03-12 and not held:\n"
        "       1  closed 2025-03-10  due for disposal 2031-03-10  (retention_years=6)\n"
        "       2  closed 2025-03-12  due for disposal 2031-03-12  (retention_years=6)\n"
    )


def test_an_override_by_role_replaces_the_default(drp, closed):
    role = drp("show", "2", "--json").json()["role"]
    assert drp("config", "set", "retention_years", "6").exit_code == 0
    assert drp("config", "set", "retention_by_role", f"{role}=35").exit_code == 0
    # both concerns were raised in the same role: 35 years for each
    assert drp("retention", "--on", "2059-12-31", "--json").json() == []
    assert [d["rule"] for d in drp("retention", "--on", "2060-03-12", "--json").json()] == [
        f"retention_by_role:{role}=35", f"retention_by_role:{role}=35",
    ]  # fmt: skip


def test_a_malformed_setting_is_named(drp, closed):
    # written by hand into the file (`drp config set` may refuse it)
    config.path().write_text('retention_by_route = "stage-2 = twenty"\n')
    r = drp("retention")
    assert (r.exit_code, r.stdout) == (4, "")
    assert r.stderr == (
        "Error: the retention schedule in the config: value for retention_by_route is a whole "
        "number of years, 1 to 200; set it with `drp config set KEY VALUE`\n"
    )


def test_a_held_concern_is_kept_and_shown_as_held(drp, closed):
    assert drp("config", "set", "retention_years", "6").exit_code == 0
    r = drp("hold", "2", "--reason", "Inquiry preservation notice", "--on", "2026-01-05")
    assert (r.exit_code, r.stderr) == (0, "")
    assert r.stdout.startswith("Placed a legal hold on concern 2")
    shown = drp("show", "2", "--json").json()
    assert shown["legal_hold"] == {"since": "2026-01-05", "reason": "Inquiry preservation notice"}
    assert shown["notices"][0] == (
        "under a legal hold since 2026-01-05: kept whatever the retention schedule says "
        "until the hold is lifted (`drp unhold`)"
    )
    assert "under a legal hold since 2026-01-05" in drp("show", "2").stdout
    assert drp("show", "1", "--json").json()["legal_hold"] is None
    r = drp("retention", "--on", "2031-03-12")
    assert r.stdout.endswith("Kept under a legal hold though past their period: 2\n")
    assert [d["id"] for d in drp("retention", "--on", "2031-03-12", "--json").json()] == [1]
    # a hold on a held concern is refused; so is lifting one not held, or retracting one
    r = drp("hold", "2", "--reason", "Again", "--on", "2026-01-06")
    assert (r.exit_code, r.stderr) == (
        1, "Error: concern 2 is already under a legal hold (since 2026-01-05)\n"
    )  # fmt: skip
    r = drp("unhold", "1", "--reason", "Not held", "--on", "2026-01-06")
    assert (r.exit_code, r.stderr) == (1, "Error: concern 1 is not under a legal hold\n")
    seq = drp("show", "2", "--json").json()["events"][-1]["seq"]
    r = drp("retract", "2", str(seq), "--reason", "In error")
    assert r.exit_code == 1
    assert r.stderr == (
        f"Error: entry {seq} of concern 2 (held): a legal hold is lifted (`drp unhold`), "
        "never retracted\n"
    )
    r = drp("unhold", "2", "--reason", "Notice released", "--on", "2026-01-04")
    assert (r.exit_code, r.stderr) == (
        2, "Error: --on 2026-01-04 is before the hold was placed (2026-01-05)\n"
    )  # fmt: skip
    r = drp("unhold", "2", "--reason", "Notice released", "--on", "2026-02-01")
    assert (r.exit_code, r.stderr) == (0, "")
    assert drp("show", "2", "--json").json()["legal_hold"] is None
    assert [d["id"] for d in drp("retention", "--on", "2031-03-12", "--json").json()] == [1, 2]
    # an open concern can be held too, and a reason is required
    assert drp("hold", "3", "--reason", "Claim", "--on", "2026-01-05").exit_code == 0
    r = drp("hold", "1", "--reason", "  ")
    assert (r.exit_code, r.stderr) == (2, "Error: --reason must not be empty\n")
    assert drp("verify").exit_code == 0
