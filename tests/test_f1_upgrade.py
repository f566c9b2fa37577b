"""Sweep item 1: `drp db upgrade` never chains or folds again a record that does not verify.

It checks the record first (as `drp verify` does, as far as the database's schema goes) and
refuses with exit 6, naming what it found and changing nothing; at this drp's schema it does
nothing but that check. Unchained staff entries and closure changes are linked only by the
upgrade that applies the migration which chained them (0009, 0005); concerns are folded again
only from before 0008 (the rule's change)."""

from __future__ import annotations

import pytest

from drp_cli.store import record
from drp_cli.store.connection import SCHEMA_REVISION
from tests.conftest import PG_URL, open_args

FORGED_STAFF = (
    "INSERT INTO staff (name, key, email, team, role, added_by, added_at) VALUES ('Mallory', "
    "'mallory', 'm@evil.example', 'IRO North', 'iro', 'x', '2026-12-06 10:00:00.000000')"
)
FORGED_CLOSURE = (
    'INSERT INTO closure_change (day, action, reason, "by", recorded_at) VALUES '
    "('2026-12-07', 'add', 'x', 'x', '2026-12-06 10:00:00.000000')"
)
STATUS = "UPDATE concern SET status = 'resolved' WHERE id = 1"
DEADLINE = "UPDATE concern SET deadline = '2027-06-01' WHERE id = 1"


def _at(monkeypatch: pytest.MonkeyPatch, revision: str) -> None:
    """This drp stands in for one whose schema is ``revision``."""
    from drp_cli.store import connection, dbfile, migrate

    for module in (dbfile, connection, migrate):
        monkeypatch.setattr(module, "SCHEMA_REVISION", revision)


def _record(drp) -> None:
    assert drp(*open_args(on="2026-11-02")).exit_code == 0
    r = drp("escalate", "1", "--to", "stage-2", "--note", "x", "--on", "2026-11-10")
    assert r.exit_code == 0, r.stderr


def _state(sql) -> list:
    """Everything the upgrade could change: the chain's head, the rows it links or folds."""
    return [
        sql("SELECT seq, hash FROM chain_head"),
        sql("SELECT * FROM concern ORDER BY id"),
        sql("SELECT * FROM staff ORDER BY id"),
        sql("SELECT * FROM closure_change ORDER BY id"),
        sql("SELECT count(*) FROM event"),
    ]


@pytest.mark.parametrize(
    ("statement", "found"),
    [
        (FORGED_STAFF, "staff entry 'mallory' was inserted out of band: it is not in the chain"),
        (
            FORGED_CLOSURE,
            # the closure day moves concern 1's deadline too: its row no longer matches
            "closure change 1 (add 2026-12-07) was inserted out of band: it is not in the chain"
            " (and 1 more problem)",
        ),
        (STATUS, "concern 1: stored status does not match its events"),
        (DEADLINE, "concern 1: stored deadline does not match its events"),
    ],
)
def test_upgrade_at_this_schema_refuses_a_record_that_does_not_verify(
    drp, sql, db_label, statement, found
):
    _record(drp)
    r = drp("staff", "add", "Priya Shah", "--team", "IRO North", "--email", "p@example.org")
    assert r.exit_code == 0, r.stderr
    sql(statement)
    before = _state(sql)
    r = drp("db", "upgrade")
    assert (r.exit_code, r.stdout) == (6, "")
    assert r.stderr == (
        f"Error: {db_label} is already at schema {SCHEMA_REVISION}, but the record does not "
        f"verify (nothing was changed): {found}; run `drp verify`\n"
    )
    assert _state(sql) == before  # nothing linked, nothing folded
    r = drp("verify")
    assert r.exit_code == 6
    assert f"TAMPERED: {found.split(' (and ')[0]}" in r.stderr


def test_upgrade_at_this_schema_changes_nothing(drp, sql, db_label):
    _record(drp)
    assert drp("staff", "add", "Priya Shah", "--email", "p@example.org").exit_code == 0
    before = _state(sql)
    r = drp("db", "upgrade")
    assert (r.exit_code, r.stdout) == (0, f"{db_label} is already at schema {SCHEMA_REVISION}.\n")
    assert _state(sql) == before
    assert drp("verify").exit_code == 0


def _old_database(monkeypatch, drp, sql, revision: str) -> None:
    """A database written by a drp at schema ``revision``: a concern, and (before 0009) a
    staff entry added as that drp added it, with no link."""
    if PG_URL:  # start from an empty PostgreSQL database
        sql("DROP SCHEMA public CASCADE")
        sql("CREATE SCHEMA public")
    _at(monkeypatch, revision)
    _record(drp)
    if revision < "0009":
        sql(
            "INSERT INTO staff (name, key, email, team, added_by, added_at) VALUES ('Priya "
            "Shah', 'priya shah', 'p@example.org', 'IRO North', 'Old IRO', "
            "'2025-03-01 09:00:00')"
        )
    else:
        assert drp("staff", "add", "Priya Shah", "--email", "p@example.org").exit_code == 0
    assert sql("SELECT version_num FROM alembic_version") == [(revision,)]
    _at(monkeypatch, SCHEMA_REVISION)


def test_a_genuine_0008_database_upgrades_links_its_staff_and_is_not_folded_again(
    monkeypatch, drp, sql, db_label
):
    _old_database(monkeypatch, drp, sql, "0008")
    concern = sql("SELECT * FROM concern")
    folded: list[int] = []
    refold = record.UnitOfWork.refold

    def counted(uow: record.UnitOfWork, loaded: record.Loaded) -> None:
        folded.append(loaded.id)
        refold(uow, loaded)

    monkeypatch.setattr(record.UnitOfWork, "refold", counted)
    r = drp("db", "upgrade")
    assert (r.exit_code, r.stdout, r.stderr) == (
        0, f"Upgraded {db_label} from schema 0008 to {SCHEMA_REVISION}.\n", ""
    )  # fmt: skip
    assert sql("SELECT chain_seq FROM staff") == [(3,)]  # linked after the two events
    assert sql("SELECT * FROM concern") == concern  # 0008's rule is today's: no refold
    assert folded == []
    r = drp("verify")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("OK: 2 events, 1 staff-directory entry and 0 closure-day")


@pytest.mark.parametrize(
    ("revision", "statement", "found"),
    [
        ("0008", STATUS, "concern 1: stored status does not match its events"),
        ("0008", DEADLINE, "concern 1: stored deadline does not match its events"),
        (
            "0008",
            FORGED_CLOSURE,
            # the closure day moves concern 1's deadline too: its row no longer matches
            "closure change 1 (add 2026-12-07) was inserted out of band: it is not in the chain"
            " (and 1 more problem)",
        ),
        (
            "0009",
            FORGED_STAFF,
            "staff entry 'mallory' was inserted out of band: it is not in the chain",
        ),
    ],
)
def test_an_older_database_that_does_not_verify_is_not_upgraded(
    monkeypatch, drp, sql, revision, statement, found
):
    _old_database(monkeypatch, drp, sql, revision)
    sql(statement)
    before = _state(sql)
    r = drp("db", "upgrade")
    assert (r.exit_code, r.stdout) == (6, "")
    assert r.stderr == (
        f"Error: the record at schema {revision} does not verify, so it was not upgraded "
        f"(nothing was changed): {found}\n"
    )
    assert sql("SELECT version_num FROM alembic_version") == [(revision,)]
    assert _state(sql) == before
