"""Sweep item 4: a staff-directory entry whose own link of the chain does not hold never
decides where mail goes. `alert --to NAME`, an alert's addressees from the directory,
`overdue --send` and the sender's own address check the entry's link (one row: its hash
recomputed from its content; keyed, its seal) before its address is used, and refuse with
exit 6, one line, naming the entry by its key, never the address."""

from __future__ import annotations

import datetime as dt

from drp_cli.domain.chain import mac, staff_hash, staff_link_problem
from tests.conftest import open_args
from tests.test_mail import caseload, concern, smtp  # noqa: F401  (smtp: a fixture)

EVIL = "evil@attacker.example"
FORGED = (
    "INSERT INTO staff (name, key, email, team, role, added_by, added_at) VALUES ('Mallory', "
    f"'mallory', '{EVIL}', 'IRO North', 'iro', 'x', '2026-12-06 10:00:00.000000')"
)


def refused(key: str, problem: str) -> str:
    return (
        f"Error: staff entry {key!r} {problem}: its e-mail address is not used; run `drp verify`\n"
    )


ALTERED = "was altered after it was recorded"
INSERTED = "was inserted out of band (it is not in the chain)"


def _priya(drp) -> None:
    assert drp(*open_args()).exit_code == 0
    r = drp("staff", "add", "Priya Shah", "--team", "IRO North", "--email", "p@example.org")
    assert r.exit_code == 0, r.stderr


def test_alert_to_a_name_uses_its_address_while_the_entry_holds(drp, tmp_path):
    _priya(drp)
    out = tmp_path / "a.eml"
    r = drp("alert", "1", "--eml", str(out), "--to", "Priya Shah", "--on", "2025-03-04")
    assert r.exit_code == 0, r.stderr
    assert "To: Priya Shah <p@example.org>" in out.read_text()


def test_alert_to_a_name_whose_address_was_changed_is_refused(drp, sql, tmp_path):
    _priya(drp)
    sql(f"UPDATE staff SET email = '{EVIL}'")
    out = tmp_path / "a.eml"
    r = drp("alert", "1", "--eml", str(out), "--to", "Priya Shah", "--on", "2025-03-04")
    assert (r.exit_code, r.stdout, r.stderr) == (6, "", refused("priya shah", ALTERED))
    assert not out.exists()
    assert EVIL not in r.stderr


def test_alert_to_an_entry_inserted_out_of_band_is_refused(drp, sql, tmp_path):
    _priya(drp)
    sql(FORGED)
    out = tmp_path / "a.eml"
    r = drp("alert", "1", "--eml", str(out), "--to", "Mallory", "--on", "2025-03-04")
    assert (r.exit_code, r.stdout, r.stderr) == (6, "", refused("mallory", INSERTED))
    assert not out.exists()


def test_alert_send_to_the_directory_addressees_is_refused(drp, sql, smtp):  # noqa: F811
    server, _port = smtp
    concern(drp)  # stage 1 goes to the Team Manager, whose address is the directory's
    sql(f"UPDATE staff SET email = '{EVIL}' WHERE key = 'team manager'")
    r = drp("alert", "1", "--send", "--cc", "bs@example.org")
    assert (r.exit_code, r.stdout, r.stderr) == (6, "", refused("team manager", ALTERED))
    assert server.envelopes == []


def test_overdue_send_to_an_owner_whose_address_was_changed_is_refused(
    drp,
    sql,
    smtp,  # noqa: F811
):
    server, _port = smtp
    caseload(drp)
    sql(f"UPDATE staff SET email = '{EVIL}' WHERE key = 'sam patel'")
    r = drp("overdue", "--on", "2025-03-11", "--send")
    assert (r.exit_code, r.stdout, r.stderr) == (6, "", refused("sam patel", ALTERED))
    assert server.envelopes == []


def test_one_entry_s_link_unit() -> None:
    row = {"name": "Priya Shah", "key": "priya shah", "email": "p@example.org", "team": None,
           "role": "iro", "added_by": "Test IRO",
           "added_at": dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)}  # fmt: skip
    digest = staff_hash(row, 4, "a" * 64)
    linked = {**row, "chain_seq": 4, "prev_hash": "a" * 64, "hash": digest, "mac": None}
    assert staff_link_problem(linked) is None
    assert staff_link_problem({**linked, "chain_seq": None}) == INSERTED
    assert staff_link_problem({**linked, "email": EVIL}) == ALTERED
    assert staff_link_problem({**linked, "prev_hash": "b" * 64}) == ALTERED
    key = b"k" * 32
    assert staff_link_problem(linked, key) == "is not sealed by the key"
    assert staff_link_problem({**linked, "mac": mac(key, digest)}, key) is None
