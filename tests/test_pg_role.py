"""PostgreSQL: an application role that can only INSERT and SELECT on the event log (and the
closure-day log), as the README's "A whole service" section sets it up. drp works through it;
an UPDATE or DELETE of an event is refused by the server itself."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError

from tests.conftest import PG_URL, open_args

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs the PostgreSQL engine")

#: The grants in the README, word for word.
GRANTS = """
GRANT SELECT, INSERT ON event, closure_change, staff TO {role};
GRANT SELECT, INSERT, UPDATE ON concern, chain_head TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON item, attachment TO {role};
GRANT SELECT, INSERT ON read_audit TO {role};
GRANT SELECT, UPDATE ON read_audit_head TO {role};
GRANT SELECT, INSERT, UPDATE ON subject_access_request TO {role};
GRANT SELECT, INSERT ON subject_access_link TO {role};
GRANT SELECT, UPDATE ON subject_access_head TO {role};
GRANT SELECT ON purge, alembic_version TO {role};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role};
"""


def test_insert_and_select_only_role(db_target, drp, sql):
    assert drp("init").exit_code == 0  # the owner makes the schema
    role = f"drp_app_{os.getpid()}"
    sql(f"DROP ROLE IF EXISTS {role}")
    sql(f"CREATE ROLE {role} LOGIN")
    try:
        for statement in GRANTS.format(role=role).strip().splitlines():
            sql(statement)
        app = make_url(db_target).set(username=role).render_as_string(hide_password=False)
        assert drp("--db", app, *open_args()).exit_code == 0
        assert drp("--db", app, "escalate", "1", "--on", "2025-03-11").exit_code == 0
        assert drp("--db", app, "calendar", "close", "2025-03-14", "--reason", "x").exit_code == 0
        # a subject access request and its answer: each a link of the requests' chain
        r = drp("--db", app, "subject-access", "KN-2231", "--received", "2025-03-10")
        assert r.exit_code == 0, r.stderr
        r = drp("--db", app, "subject-access", "KN-2231", "--sent", "2025-03-20")
        assert r.exit_code == 0, r.stderr
        assert drp("--db", app, "verify").exit_code == 0
        engine = create_engine(app)
        try:
            for statement in ("UPDATE event SET text = 'x'", "DELETE FROM event",
                              "UPDATE closure_change SET reason = 'y'"):  # fmt: skip
                with (
                    pytest.raises(ProgrammingError, match="permission denied"),
                    engine.begin() as c,
                ):
                    c.execute(text(statement))
        finally:
            engine.dispose()
    finally:
        sql(f"REASSIGN OWNED BY {role} TO CURRENT_USER")
        sql(f"DROP OWNED BY {role}")
        sql(f"DROP ROLE {role}")
