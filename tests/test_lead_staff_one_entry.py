"""One staff-directory entry changed behind drp's back refuses only the mail that would go
to it: the directory's other addresses are checked one by one as they are used, so the
rest of the team's alerts and morning checks still go (the last session's known leftover:
every directory mail was refused for one tampered entry)."""

from __future__ import annotations

from tests.test_f1_staff_address import ALTERED, EVIL, refused
from tests.test_mail import caseload, smtp  # noqa: F401  (smtp: a fixture)


def test_an_alert_to_a_sound_entry_goes_while_another_is_tampered(drp, sql, tmp_path):
    caseload(drp)
    sql(f"UPDATE staff SET email = '{EVIL}' WHERE key = 'sam patel'")
    out = tmp_path / "a.eml"
    r = drp("alert", "1", "--eml", str(out), "--to", "Test IRO", "--on", "2025-03-04")
    assert (r.exit_code, r.stderr) == (0, "")
    assert "To: Test IRO <iro@example.org>" in out.read_text()
    other = tmp_path / "b.eml"
    r = drp("alert", "1", "--eml", str(other), "--to", "Sam Patel", "--on", "2025-03-04")
    assert (r.exit_code, r.stdout, r.stderr) == (6, "", refused("sam patel", ALTERED))


def test_the_morning_mail_of_one_owner_goes_while_another_entry_is_tampered(
    drp,
    sql,
    smtp,  # noqa: F811
):
    server, _port = smtp
    caseload(drp)
    sql(f"UPDATE staff SET email = '{EVIL}' WHERE key = 'sam patel'")
    r = drp("overdue", "--on", "2025-03-11", "--owner", "Test IRO", "--send")
    assert r.exit_code in (0, 1), r.stderr
    assert [e.rcpt_tos for e in server.envelopes] == [["iro@example.org"]]
    r = drp("overdue", "--on", "2025-03-11", "--send")
    assert (r.exit_code, r.stderr) == (6, refused("sam patel", ALTERED))
    assert len(server.envelopes) == 1  # nothing more went
