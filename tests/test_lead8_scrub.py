"""A redaction or a purge is committed, then the database rewritten so no copy of the
removed text is left (Store.scrub). Where that rewrite meets a busy database (PostgreSQL's
VACUUM FULL waits until no other session reads the tables; now at most 10 s), the command
says what is recorded and how to finish, exit 5, rather than "try again" (which a redaction
would refuse: "already redacted"); `drp db scrub` finishes it."""

from __future__ import annotations

import pytest

import drp_cli.store.connection
from drp_cli.core.errors import DatabaseBusy
from drp_cli.store.connection import Store
from tests.conftest import PG_URL, open_args
from tests.test_p8l_pg_busy import LIMIT_MS, hold
from tests.test_t31ret_purge import record
from tests.test_t31ret_retention import schedule_settings

__all__ = ["hold", "record", "schedule_settings"]  # fixtures of other tests, used here

CHILD = "KN-ZEBRA-4471"
SCRUB = Store.scrub


def left(done: str, label: str) -> str:
    return (
        f"Error: {done} is recorded, but the database {label} is busy (another drp is using "
        "it), so copies of the removed text may still be in its free space: run `drp db "
        "scrub` when it is free\n"
    )


def scrubbed(label: str) -> str:
    return f"Scrubbed {label}: no copy of redacted or purged text is left in its free space.\n"


@pytest.fixture
def busy_scrub(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Store.scrub meets a busy database (as DatabaseBusy, what the store raises)."""
    calls: list[str] = []

    def refuse(self: Store) -> None:
        calls.append(self.label)
        raise DatabaseBusy(f"the database {self.label} is busy")

    monkeypatch.setattr(Store, "scrub", refuse)
    return calls


def _child(drp) -> str:
    shown = drp("show", "1", "--json")
    assert shown.exit_code == 0, shown.stderr
    return shown.json()["child"]


def test_a_redaction_left_unscrubbed_says_so_and_db_scrub_finishes_it(
    drp, db_label, busy_scrub, monkeypatch
):
    assert drp(*open_args(child=CHILD)).exit_code == 0
    r = drp("redact", "1", "1", "--field", "child", "--reason", "Typed in error")
    assert (r.exit_code, r.stdout, r.stderr) == (5, "", left("the redaction", db_label))
    assert busy_scrub == [db_label]
    assert _child(drp) != CHILD  # recorded: the reference is gone from every view
    again = drp("redact", "1", "1", "--field", "child", "--reason", "Typed in error")
    assert again.stderr == "Error: --field 'child' of entry 1 is already redacted\n"
    monkeypatch.setattr(Store, "scrub", SCRUB)  # the database is free again
    r = drp("db", "scrub")
    assert (r.exit_code, r.stdout, r.stderr) == (0, scrubbed(db_label), "")
    assert drp("verify").exit_code == 0


def test_a_purge_left_unscrubbed_says_so(drp, record, db_label, busy_scrub, sql):
    r = drp("purge", "--on", "2031-03-12", "--yes", "--by", "Records Officer")
    assert (r.exit_code, r.stdout, r.stderr) == (5, "", left("the purge", db_label))
    assert sql("SELECT id FROM concern ORDER BY id") == [(2,), (3,)]  # recorded


def test_db_scrub_on_a_database_in_use_rewrites_it(drp, db_label, sql):
    assert drp(*open_args(child=CHILD)).exit_code == 0
    before = sql("SELECT count(*) FROM event")[0][0]
    r = drp("db", "scrub")
    assert (r.exit_code, r.stdout, r.stderr) == (0, scrubbed(db_label), "")
    r = drp("db", "scrub")  # again: harmless
    assert (r.exit_code, r.stderr) == (0, "")
    assert sql("SELECT count(*) FROM event")[0][0] == before
    assert drp("verify").exit_code == 0


def test_db_scrub_creates_no_database(drp, db_path):
    if PG_URL:
        pytest.skip("a SQLite file")
    r = drp("db", "scrub")
    assert r.exit_code == 4
    assert r.stderr.startswith("Error: no drp database at ")
    assert not db_path.exists()


def test_on_postgresql_a_reader_makes_the_redaction_say_so(
    drp,
    db_target,
    db_label,
    hold,
    monkeypatch,
):
    """The real thing: another session reading the events holds off VACUUM FULL."""
    if not PG_URL:
        pytest.skip("PostgreSQL's VACUUM FULL (SQLite's VACUUM runs beside a reader)")
    monkeypatch.setattr(drp_cli.store.connection, "BUSY_TIMEOUT_MS", LIMIT_MS)
    assert drp(*open_args(child=CHILD)).exit_code == 0
    reader = hold(db_target, "SELECT count(*) FROM event")
    r = drp("redact", "1", "1", "--field", "child", "--reason", "Typed in error")
    assert (r.exit_code, r.stdout, r.stderr) == (5, "", left("the redaction", db_label))
    reader.release()
    r = drp("db", "scrub")
    assert (r.exit_code, r.stdout, r.stderr) == (0, scrubbed(db_label), "")
    assert _child(drp) != CHILD
