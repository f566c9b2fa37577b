"""Issue 29 item 5: the staff directory (who owns what, where alerts and `overdue --send`
go) is inside the tamper-evident chain. An entry changed, added or deleted behind drp's back
makes `drp verify` exit 6 naming the entry by its key, never its address; keyed mode seals
the entries too; a database upgraded from schema 0008 verifies afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from drp_cli.domain.chain import staff_hash
from drp_cli.store.migrate import upgrade_to
from tests.conftest import open_args

NAMES = ("id", "name", "key", "email", "team", "role", "added_by", "added_at", "chain_seq",
         "prev_hash")  # fmt: skip


@pytest.fixture
def directory(drp, sql):
    assert drp(*open_args()).exit_code == 0
    r = drp("staff", "add", "Priya Shah", "--team", "IRO North", "--email", "p.shah@example.org")
    assert r.exit_code == 0, r.stderr
    assert drp("note", "1", "--text", "Phoned", "--on", "2025-03-04").exit_code == 0
    assert drp("staff", "add", "Alex Brown", "--role", "manager").exit_code == 0
    r = drp("verify")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == (
        "OK: 2 events, 2 staff-directory entries and 0 closure-day changes in an unbroken "
        "chain; 1 concerns match their events; 0 stored files match their SHA-256."
    )
    assert drp("verify", "--json").json()["staff"] == 2
    return sql


def tampered(drp, message):
    r = drp("verify")
    assert (r.exit_code, r.stderr) == (6, f"TAMPERED: {message}\n")
    assert "example.org" not in r.stderr + r.stdout


def test_an_address_changed_behind_drps_back(drp, directory):
    directory("UPDATE staff SET email = 'attacker@example.org' WHERE key = 'priya shah'")
    tampered(drp, "staff entry 'priya shah' was altered after it was recorded")


EDITS = [("team", "'IRO South'"), ("name", "'Priya Shahh'"), ("role", "'iro'"),
         ("email", "'ab@example.org'")]  # fmt: skip


@pytest.mark.parametrize("column, value", EDITS)
def test_every_column_is_covered(drp, directory, column, value):
    directory(f"UPDATE staff SET {column} = {value} WHERE key = 'alex brown'")
    tampered(drp, "staff entry 'alex brown' was altered after it was recorded")


def test_an_entry_added_behind_drps_back(drp, directory):
    directory("INSERT INTO staff (name, key, email, added_by, added_at) VALUES ('Eve', 'eve', "
              "'eve@example.org', 'Eve', '2025-03-04 10:00:00')")  # fmt: skip
    tampered(drp, "staff entry 'eve' was inserted out of band: it is not in the chain")


def test_an_entry_deleted_behind_drps_back(drp, directory):
    (seq,) = directory("SELECT chain_seq FROM staff WHERE key = 'priya shah'")[0]
    directory("DELETE FROM staff WHERE key = 'priya shah'")
    tampered(drp, f"1 link deleted before event 2 (concern 1, entry 2) (chain position {seq} "
                  "is missing)")  # fmt: skip


def test_keyed_mode_seals_the_directory(drp, directory, tmp_path, monkeypatch):
    """A forger who can write the database but has not the key recomputes the entry's hash
    and every link after it, and the head: only the MAC catches it."""
    key = tmp_path / "drp.key"
    assert drp("key", "create", str(key)).exit_code == 0
    monkeypatch.setenv("DRP_KEY_FILE", str(key))
    assert drp("verify", "--seal").exit_code == 0
    assert drp("verify").exit_code == 0
    quoted = ", ".join(f'"{n}"' for n in NAMES)
    (last,) = directory(f"SELECT {quoted} FROM staff WHERE key = 'alex brown'")
    row = dict(zip(NAMES, last, strict=True))
    assert directory("SELECT seq FROM chain_head")[0][0] == row["chain_seq"]  # the last link
    row["email"] = "attacker@example.org"
    digest = staff_hash(row, row["chain_seq"], row["prev_hash"])
    directory(f"UPDATE staff SET email = 'attacker@example.org', hash = '{digest}' "
              f"WHERE id = {row['id']}")  # fmt: skip
    directory(f"UPDATE chain_head SET hash = '{digest}'")
    r = drp("verify", "--json")
    assert (r.exit_code, r.json()["problems"]) == (6, [
        f"staff entry 'alex brown' is not sealed by the key (chain position {row['chain_seq']}): "
        "the record was rewritten without the key, or the key is not the one this database "
        "was sealed with"])  # fmt: skip
    monkeypatch.delenv("DRP_KEY_FILE")
    assert drp("verify").exit_code == 0  # without the key the forgery holds: the chain is whole


def test_an_upgraded_database_links_its_directory(drp, db_target, sql):
    if "://" in db_target:  # start from an empty PostgreSQL database
        sql("DROP SCHEMA public CASCADE")
        sql("CREATE SCHEMA public")
    engine = create_engine(db_target if "://" in db_target else f"sqlite:///{db_target}")
    with engine.begin() as conn:
        upgrade_to(conn, "0008")
    if "://" not in db_target:
        Path(db_target).chmod(0o600)
    engine.dispose()
    # a directory and a concern recorded by a drp at schema 0008 (its staff add wrote no link)
    sql(
        "INSERT INTO staff (name, key, email, team, added_by, added_at) VALUES ('Priya Shah', "
        "'priya shah', 'p.shah@example.org', 'IRO North', 'Old IRO', '2025-03-01 09:00:00')"
    )
    assert drp("db", "upgrade").exit_code == 0
    assert drp(*open_args()).exit_code == 0
    r = drp("verify")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("OK: 1 events, 1 staff-directory entry and 0 closure-day")
    sql("UPDATE staff SET email = 'attacker@example.org'")
    tampered(drp, "staff entry 'priya shah' was altered after it was recorded")
