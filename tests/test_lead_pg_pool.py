"""The PostgreSQL pass's database kept between tests (tests/conftest.py): put back as the
template makes it, or dropped when a test changed how it is made."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests import conftest
from tests.conftest import PG_URL, open_args

pytestmark = pytest.mark.skipif(not PG_URL, reason="the PostgreSQL pass's own machinery")


def _run(url: str, *queries: str) -> list[list[tuple]]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return [
                [tuple(r) for r in result] if (result := conn.execute(text(q))).returns_rows else []
                for q in queries
            ]
    finally:
        engine.dispose()


def _database_exists(url: str) -> bool:
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = conftest._pg_admin
    assert admin is not None
    with admin.connect() as conn:
        return (
            conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            is not None
        )


def test_a_used_database_is_put_back_as_the_template_makes_it(drp, monkeypatch):
    other = conftest.pg_database()  # released below as a test's own would be
    try:
        monkeypatch.setenv("DRP_DB", other)
        assert drp(*open_args()).exit_code == 0
        assert drp(*open_args(child="B-2")).exit_code == 0
        assert _run(other, "SELECT count(*) FROM concern") == [[(2,)]]
        _run(other, "SELECT setval('purge_id_seq', 41)")
        conftest.release_pg_database(other)
        assert conftest._pooled == other
        counts, heads, seqs = _run(
            other,
            "SELECT (SELECT count(*) FROM concern), (SELECT count(*) FROM event), "
            "(SELECT count(*) FROM read_audit)",
            "SELECT id, seq, hash FROM chain_head",
            "SELECT last_value, is_called FROM concern_id_seq UNION ALL "
            "SELECT last_value, is_called FROM purge_id_seq",
        )
        assert counts == [(0, 0, 0)]
        assert heads == [(1, 0, "0" * 64)]
        assert seqs == [(1, False), (1, False)]
        # and drp takes it as a new database
        assert drp(*open_args()).stdout.startswith("Opened concern 1")
    finally:
        conftest._pooled = None
        conftest.drop_pg_database(other)


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE concern ADD COLUMN extra text",
        "CREATE INDEX ix_extra ON event (text)",
        "CREATE TABLE extra (id int)",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'",
        "ALTER TABLE event ALTER COLUMN text SET DEFAULT 'x'",
        "CREATE SCHEMA other",
        "DROP INDEX ix_concern_status_deadline",
    ],
)
def test_a_database_a_test_made_otherwise_is_dropped(change):
    other = conftest.pg_database()
    try:
        _run(other, change)
        conftest.release_pg_database(other)
        assert conftest._pooled is None
        assert not _database_exists(other)
    finally:
        conftest._pooled = None
        conftest.drop_pg_database(other)
