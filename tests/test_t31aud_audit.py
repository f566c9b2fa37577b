"""The audit of reads (issue 31 item 4): each reading command writes exactly one row (who,
when, what, which concern or how many, never a child's reference or a summary), `drp
audit` lists them (exact JSON, filters), the rows are a hash chain `drp verify` checks (a
deleted, edited or inserted row exits 6 naming it), keyed mode seals them, and the morning
check fails as an error (never an all-clear) when its row cannot be written."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import sqlite3
from pathlib import Path

import pytest

from drp_cli.services.tracker import Tracker
from tests.conftest import PG_URL, open_args

AT = dt.datetime(2025, 3, 17, 9, 30, tzinfo=dt.UTC)
CHILD, OTHER = "KN-2231", "KN-7781"
SUMMARY = "No allocated social worker since the review on 2025-02-20."


@pytest.fixture(autouse=True)
def audit_schema(monkeypatch, db_target):
    """drp at the schema with the audit (0011), until the store's revision is moved to it
    (then this changes nothing), with the audit in `drp verify` until the record's verify
    calls it; a PostgreSQL test database, cloned at the store's revision, is upgraded."""
    from drp_cli.store import connection, dbfile, migrate, record
    from drp_cli.store.audit import verify_audit

    revision = max(dbfile.SCHEMA_REVISION, "0011")
    for module in (dbfile, connection, migrate):
        monkeypatch.setattr(module, "SCHEMA_REVISION", revision)
    if "verify_audit" not in inspect.getsource(record):
        walk = record._verify_record

        def with_audit(conn, report, protocols, options, problem):
            walk(conn, report, protocols, options, problem)
            for message in verify_audit(conn, options.key):
                problem(message)

        monkeypatch.setattr(record, "_verify_record", with_audit)
    if PG_URL:
        from drp_cli.store.connection import Store

        store = Store(db_target, prepare=False)
        store.upgrade()
        store.close()


@pytest.fixture
def clock(monkeypatch):
    """Fix the moment reads are recorded at: ``clock(moment)``."""
    from drp_cli.core import dates

    def fix(moment: dt.datetime) -> None:
        monkeypatch.setattr(Tracker, "moment", lambda self: moment)
        monkeypatch.setattr(dates, "utc_now", lambda: moment)

    fix(AT)
    return fix


@pytest.fixture
def record(drp, clock):
    """Two concerns about one child and one about another; an attached file on the first."""
    for child in (CHILD, CHILD, OTHER):
        assert drp(*open_args(child=child)).exit_code == 0
    return drp


def rows(sql) -> list[tuple]:
    return sql(
        'SELECT "by", action, concern_id, read_count, detail FROM read_audit ORDER BY chain_seq'
    )


READS = {
    "show": (["show", "1"], ("show", 1, 1, "")),
    "show-child": (["show", CHILD], ("show", None, 2, "concerns 1, 2; by the child's reference")),
    "list": (["list", "--status", "all", "--owner", "test iro"],
             ("list", None, 3, "--status all --owner 'test iro'")),
    "list-private": (["list", "--child", CHILD, "--search", "social worker", "--json"],
                     ("list", None, 2, "--status open --child (withheld) --search (withheld)")),
    "overdue": (["overdue", "--on", "2025-03-17", "--within", "2"],
                ("overdue", None, 3, "--on 2025-03-17 --within 2")),
    "alert": (["alert", "1"], ("alert", 1, 1, "")),
    "alert-html": (["alert", "2", "--format", "html", "-o", "{tmp}/alert-KN-2231.html"],
                   ("alert", 2, 1, "--format html -o")),
    "bundle": (["bundle", "3", "-o", "{tmp}/bundle-KN-7781"], ("bundle", 3, 1, "-o")),
    "report": (["report", "--from", "2025-03-01", "--to", "2025-03-31", "--with-children",
                "--json"],
               ("report", None, 3, "--with-children --from 2025-03-01 --to 2025-03-31 "
                                   "--on 2025-03-31")),
    "subject-access": (["subject-access", CHILD, "-o", "{tmp}/sar-KN-2231", "--no-pdf"],
                       ("subject-access", None, 2, "concerns 1, 2; -o --no-pdf")),
    "audit": (["audit", "--by", "Test IRO"], ("audit", None, 0, "--by 'Test IRO'")),
}  # fmt: skip


@pytest.mark.parametrize("read", list(READS))
def test_each_reading_command_writes_exactly_one_row(record, sql, tmp_path, read, monkeypatch):
    monkeypatch.setattr(Tracker, "today", lambda self: dt.date(2025, 4, 1))
    args, expected = READS[read]
    assert rows(sql) == []
    r = record(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert r.exit_code in (0, 1), (r.exit_code, r.stderr)  # 1: overdue found something
    assert rows(sql) == [("Test IRO", *expected)]
    # nothing of a child is in the audit: not a reference, not a summary, not a file name
    written = json.dumps(sql("SELECT * FROM read_audit"), default=str)
    assert CHILD not in written and OTHER not in written and "social worker" not in written


def test_commands_that_read_nothing_record_nothing(record, sql):
    for args in (["note", "1", "--text", "Rang the team manager", "--on", "2025-03-04"],
                 ["report", "--from", "2025-03-01", "--to", "2025-03-31"], ["verify"],
                 ["alert", "1", "--sent", "--to", "tm@example.org", "--on", "2025-03-04"],
                 ["show", "99"], ["alert", "99"], ["bundle", "99", "-o", "x"],
                 ["list", "--owner", "Nobody Known"]):  # fmt: skip
        r = record(*args)
        assert r.exit_code in (0, 2, 3), (args, r.exit_code, r.stderr)
    assert rows(sql) == []


def test_drp_audit_json_exactly(record, clock):
    clock(dt.datetime(2025, 3, 17, 9, 30, 5, tzinfo=dt.UTC))
    assert record("show", "2").exit_code == 0
    clock(dt.datetime(2025, 3, 18, 8, 0, tzinfo=dt.UTC))
    assert record("overdue", "--on", "2025-03-18", "--team", "North").exit_code == 2
    assert record("list", "--json").exit_code == 0
    r = record("audit", "--json")
    assert (r.exit_code, r.stderr) == (0, "")
    assert json.loads(r.stdout) == [
        {"at": "2025-03-17T09:30:05Z", "by": "Test IRO", "action": "show", "concern": 2,
         "count": 1, "detail": ""},
        {"at": "2025-03-18T08:00:00Z", "by": "Test IRO", "action": "list", "concern": None,
         "count": 3, "detail": "--status open"},
    ]  # fmt: skip
    assert list(json.loads(r.stdout)[0]) == ["at", "by", "action", "concern", "count", "detail"]
    # the listing itself was recorded, after it was read
    assert json.loads(record("audit", "--json").stdout)[-1] == {
        "at": "2025-03-18T08:00:00Z", "by": "Test IRO", "action": "audit", "concern": None,
        "count": 2, "detail": ""}  # fmt: skip


def test_drp_audit_filters(record, clock, monkeypatch):
    """--concern (its own reads and a child's that name it), --by whatever the case,
    --from and --to (local days, both included)."""
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    try:
        clock(dt.datetime(2025, 3, 17, 23, 59, 59, tzinfo=dt.UTC))
        record("show", "1")
        clock(dt.datetime(2025, 3, 18, 0, 0, tzinfo=dt.UTC))
        monkeypatch.setenv("DRP_USER", "Bea Jones")
        record("show", CHILD)
        record("show", "3")
        clock(dt.datetime(2025, 3, 19, 0, 0, tzinfo=dt.UTC))
        record("list")

        def audit(*args: str) -> list[tuple]:
            r = record("audit", "--json", *args)
            assert r.exit_code == 0, r.stderr
            return [(x["at"][:10], x["by"], x["action"], x["concern"]) for x in
                    json.loads(r.stdout)]  # fmt: skip

        assert audit("--concern", "1") == [("2025-03-17", "Test IRO", "show", 1),
                                           ("2025-03-18", "Bea Jones", "show", None)]  # fmt: skip
        assert audit("--concern", "3") == [("2025-03-18", "Bea Jones", "show", 3)]
        assert audit("--by", "BEA JONES") == [
            ("2025-03-18", "Bea Jones", "show", None), ("2025-03-18", "Bea Jones", "show", 3),
            ("2025-03-19", "Bea Jones", "list", None), ("2025-03-19", "Bea Jones", "audit", None),
            ("2025-03-19", "Bea Jones", "audit", None)]  # fmt: skip
        assert audit("--from", "2025-03-18", "--to", "18/03/2025") == [
            ("2025-03-18", "Bea Jones", "show", None),
            ("2025-03-18", "Bea Jones", "show", 3),
        ]
        assert audit("--to", "2025-03-17") == [("2025-03-17", "Test IRO", "show", 1)]
        assert audit("--concern", "2", "--by", "test iro") == []
        r = record("audit", "--from", "2025-03-19", "--to", "2025-03-18")
        assert (r.exit_code, r.stderr) == (2, "Error: --from is after --to\n")
        r = record("audit", "--from", "2025-02-30")
        assert r.exit_code == 2 and r.stderr.startswith("Error: --from ")
        r = record("audit", "--by", " ")
        assert (r.exit_code, r.stderr) == (2, "Error: --by is empty\n")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_drp_audit_as_a_table(record):
    record("show", "1")
    r = record("audit")
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [
        "At (UTC)             By        Action  Concern  Count  Detail",
        "-------------------  --------  ------  -------  -----  ------",
        "2025-03-17 09:30:00  Test IRO  show    1        1      -",
    ]
    r = record("audit", "--concern", "3")
    assert r.stdout == "No read is recorded for that choice.\n"


# -- tamper-evident ---------------------------------------------------------------------------
def _three_reads(record) -> None:
    for args in (["show", "1"], ["list"], ["show", "2"]):
        assert record(*args).exit_code == 0
    assert record("verify").exit_code == 0


TAMPERING = {
    "edited": ("UPDATE read_audit SET \"by\" = 'Someone Else' WHERE id = 2",
               "the audit of reads: audit row 2 was altered after it was recorded"),
    "edited-count": ("UPDATE read_audit SET read_count = 0 WHERE id = 3",
                     "the audit of reads: audit row 3 was altered after it was recorded"),
    "deleted": ("DELETE FROM read_audit WHERE id = 2",
                "the audit of reads: 1 link deleted before audit row 3 (chain position 2 is "
                "missing)"),
    "deleted-last": ("DELETE FROM read_audit WHERE id = 3",
                     "the audit of reads: the chain ends at position 2 but 3 links were "
                     "recorded: 1 latest link deleted"),
    "deleted-all": ("DELETE FROM read_audit",
                    "the audit of reads: the chain ends at position 0 but 3 links were "
                    "recorded: 3 latest links deleted"),
    "inserted": ("INSERT INTO read_audit (id, at, \"by\", action, concern_id, read_count, "
                 "detail, chain_seq, prev_hash, hash) SELECT 4, at, \"by\", action, "
                 "concern_id, read_count, detail, 4, hash, hash FROM read_audit WHERE id = 3",
                 "the audit of reads: audit row 4 was inserted out of band: its chain "
                 "position 4 is past the audit's head (3)"),
    "head": ("DELETE FROM read_audit_head",
             "the audit of reads: its head is missing (altered audit)"),
}  # fmt: skip


@pytest.mark.parametrize("how", list(TAMPERING))
def test_a_tampered_audit_fails_verify(record, sql, how):
    _three_reads(record)
    statement, problem = TAMPERING[how]
    sql(statement)
    r = record("verify", "--json")
    assert (r.exit_code, r.json()["problems"]) == (6, [problem])
    r = record("verify")
    assert (r.exit_code, r.stderr) == (6, f"TAMPERED: {problem}\n")


def test_a_row_rewritten_with_its_hash_and_head_is_caught_only_by_the_key(
    record, sql, tmp_path, monkeypatch
):
    """Keyed mode: each row carries the chain's MAC of its hash; someone who can write the
    database but not read the key can recompute a row's hash and the head, not its seal."""
    from drp_cli.domain.chain import mac
    from drp_cli.store.audit import audit_hash

    key = tmp_path / "drp.key"
    assert record("key", "create", str(key)).exit_code == 0
    monkeypatch.setenv("DRP_KEY_FILE", str(key))
    assert record("verify", "--seal").exit_code == 0  # the record's links
    for args in (["show", "1"], ["overdue", "--on", "2025-03-17"]):  # tracker, then store
        assert record(*args).exit_code in (0, 1)
    from drp_cli.store.record import load_key

    secret = load_key(key)
    sealed = sql("SELECT hash, mac FROM read_audit ORDER BY chain_seq")
    assert [m for _, m in sealed] == [mac(secret, h) for h, _ in sealed]
    assert record("verify").exit_code == 0
    names = ("at", "by", "action", "concern_id", "read_count", "detail", "chain_seq",
             "prev_hash")  # fmt: skip
    quoted = ", ".join(f'"{n}"' for n in names)
    (last,) = sql(f"SELECT {quoted} FROM read_audit WHERE id = 2")
    forged = dict(zip(names, last, strict=True))
    forged["by"] = "Someone Else"
    digest = audit_hash(forged, forged["chain_seq"], forged["prev_hash"])
    sql(f"UPDATE read_audit SET \"by\" = 'Someone Else', hash = '{digest}' WHERE id = 2")
    sql(f"UPDATE read_audit_head SET hash = '{digest}'")
    r = record("verify", "--json")
    assert (r.exit_code, r.json()["problems"]) == (6, [
        "the audit of reads: audit row 2 is not sealed by the key (chain position 2): the "
        "record was rewritten without the key, or the key is not the one this database was "
        "sealed with"])  # fmt: skip
    monkeypatch.delenv("DRP_KEY_FILE")
    assert record("verify").exit_code == 0  # without the key the forgery holds


def test_sealing_rows_written_before_the_key(record, sql, tmp_path, monkeypatch):
    from drp_cli.store.audit import seal_all, verify_audit
    from drp_cli.store.connection import Store
    from drp_cli.store.record import load_key

    record("show", "1")
    key = tmp_path / "drp.key"
    assert record("key", "create", str(key)).exit_code == 0
    secret = load_key(key)
    store = Store()
    try:
        with store.read() as conn:
            assert verify_audit(conn, secret) == [
                "the audit of reads: audit row 1 is not sealed by the key (chain position 1): "
                "the record was rewritten without the key, or the key is not the one this "
                "database was sealed with"]  # fmt: skip
        with store.write() as conn:
            assert seal_all(conn, secret) == 1
            assert seal_all(conn, secret) == 0
        with store.read() as conn:
            assert verify_audit(conn, secret) == []
    finally:
        store.close()


def test_one_hash_scheme_with_the_record():
    """The audit's canonical JSON, moments and seal are the chain's own, spelled without
    loading the chain's module (the morning check writes a row)."""
    from drp_cli.domain import chain
    from drp_cli.store import audit

    row = {"at": dt.datetime(2025, 3, 17, 10, 30, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))),
           "by": "Łukasz \"O'Brien\"", "action": "list", "concern_id": None, "read_count": 3,
           "detail": "--owner 'Ann Smith' ☃\n"}  # fmt: skip
    expected = chain._ENCODE({
        "action": "list", "at": chain._moment(row["at"]), "by": row["by"], "chain_seq": 7,
        "concern_id": None, "detail": row["detail"], "entry": "read",
        "prev_hash": chain.GENESIS, "read_count": 3})  # fmt: skip
    assert audit.audit_json(row, 7, chain.GENESIS) == expected
    assert '"at":"2025-03-17T09:30:01.000005"' in expected
    assert audit._moment("2025-03-17 09:30:01.000005") == chain._moment(row["at"])
    assert audit.seal(b"k" * 32, "ab" * 32) == chain.mac(b"k" * 32, "ab" * 32)
    assert audit.GENESIS == chain.GENESIS


# -- cannot be turned off ---------------------------------------------------------------------
def test_the_morning_check_fails_when_its_row_cannot_be_written_busy(
    record, db_path, monkeypatch, sql
):
    import drp_cli.store.connection

    monkeypatch.setattr(drp_cli.store.connection, "BUSY_TIMEOUT_MS", 100)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        r = record("overdue", "--on", "2025-03-17")
        shown = record("show", "1")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    message = (
        f"Error: the database {db_path} is busy (another drp is writing); try again in a "
        "moment: drp records every read in the audit of reads and could not record this one, "
        "so nothing was shown or written\n"
    )
    assert (r.exit_code, r.stdout, r.stderr) == (5, "", message)
    assert (shown.exit_code, shown.stdout, shown.stderr) == (5, "", message)
    assert rows(sql) == []


def test_the_morning_check_on_a_read_only_database_is_an_error(record, db_path, monkeypatch):
    """The check reads, then cannot record its run: exit 4, nothing on stdout, never
    "Nothing overdue"."""
    import drp_cli.store.connection
    from drp_cli.store.dbfile import sqlite_uri

    assert record("resolve", "1", "--outcome", "x", "--on", "2025-03-04").exit_code == 0
    monkeypatch.setattr(
        drp_cli.store.connection, "sqlite_uri", lambda p: sqlite_uri(p)[: -len("rw")] + "ro"
    )
    for args in (["overdue", "--on", "2025-03-03"], ["list", "--json"], ["bundle", "1",
                 "-o", "b"], ["audit"]):  # fmt: skip
        r = record(*args)
        assert (r.exit_code, r.stdout, r.stderr) == (
            4,
            "",
            (
                f"Error: the database {db_path} is read-only: drp records every read in the audit "
                "of reads and could not record this one, so nothing was shown or written\n"
            ),
        ), args
    assert not Path("b").exists()


@pytest.mark.skipif(not PG_URL, reason="needs the PostgreSQL engine")
def test_a_role_that_may_not_write_the_audit_reads_nothing(record, db_target, sql):
    import os

    from sqlalchemy import make_url

    role = f"drp_reader_{os.getpid()}"
    sql(f"DROP ROLE IF EXISTS {role}")
    sql(f"CREATE ROLE {role} LOGIN")
    try:
        sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        app = make_url(db_target).set(username=role).render_as_string(hide_password=False)
        r = record("--db", app, "overdue", "--on", "2025-03-17")
        assert (r.exit_code, r.stdout) == (4, "")
        assert r.stderr.endswith(
            ": drp records every read in the audit of reads and could not record this one, "
            "so nothing was shown or written\n"
        )
        assert rows(sql) == []
    finally:
        sql(f"REASSIGN OWNED BY {role} TO CURRENT_USER")
        sql(f"DROP OWNED BY {role}")
        sql(f"DROP ROLE {role}")


def test_a_system_account_s_read_is_recorded_as_it_is(record, sql, monkeypatch):
    """cron's root may run the morning check: its read is recorded as root, not refused (a
    change is refused: it must name a person)."""
    monkeypatch.setenv("DRP_USER", "root")
    assert record("overdue", "--on", "2025-03-17").exit_code in (0, 1)
    assert rows(sql)[0][:2] == ("root", "overdue")
    monkeypatch.setenv("DRP_USER", "Ann\x1b[2JSmith")
    r = record("show", "1")
    assert r.exit_code == 2 and r.stdout == ""
    assert len(rows(sql)) == 1


def test_the_library_records_the_read_it_is_asked_to(tracker, clock):
    from drp_cli.core.errors import NotFound
    from drp_cli.services import audit

    tracker.open(protocol="knowsley", child=CHILD, category="statutory", summary="x",
                 on="2025-03-03")  # fmt: skip
    tracker.open(protocol="knowsley", child=OTHER, category="statutory", summary="y",
                 on="2025-03-03")  # fmt: skip
    # what drp export and drp backup call (every concern, counted as the row is written)
    audit.record_read(tracker, "export", whole=True, detail="--format json")
    audit.record_read(tracker.store, "backup", whole=True, detail="--format sqlite")
    with pytest.raises(NotFound, match=r"^no concern with id 5$"):
        audit.record_read(tracker, "show", concern=5, count=1)
    with pytest.raises(ValueError):
        audit.record_read(tracker, "peek")
    assert [r.to_dict() for r in audit.reads(tracker)] == [
        {"at": "2025-03-17T09:30:00Z", "by": "Test IRO", "action": "export", "concern": None,
         "count": 2, "detail": "--format json"},
        {"at": "2025-03-17T09:30:00Z", "by": "Test IRO", "action": "backup", "concern": None,
         "count": 2, "detail": "--format sqlite"},
    ]  # fmt: skip
    assert tracker.verify().ok


def test_options_detail():
    from drp_cli.services.audit import options_detail

    assert options_detail([("--status", "open"), ("--owner", "Ann O'Brien"), ("--mine", True),
                           ("--team", None), ("--json", False), ("--child", "KN-1"),
                           ("--on", dt.date(2025, 3, 17))], private={"--child"}) == (
        "--status open --owner 'Ann O'\"'\"'Brien' --mine --child (withheld) --on 2025-03-17"
    )  # fmt: skip


@pytest.mark.parametrize(
    "value",
    [
        "open",
        "",
        "Ann Smith",
        "O'Brien",
        "a$b",
        "Łukasz",
        "x\ty",
        "2025-03-17",
        "a,b.c/d:e=f+g%h@i_j-k",
        'it\'s "so"',
    ],
)
def test_quoted_as_shlex_quotes(value):
    import shlex

    from drp_cli.services.audit import quoted

    assert quoted(value) == shlex.quote(value)


def test_the_row_is_committed_without_a_flush_and_the_record_keeps_its_own(tracker, sql):
    """The audit's transaction alone is synchronous=NORMAL (WAL); the store's connection is
    back at FULL for the record's writes after it, and the row is there."""
    if PG_URL:
        pytest.skip("SQLite's synchronous setting")
    from drp_cli.services import audit

    tracker.open(protocol="knowsley", child=CHILD, category="statutory", summary="x",
                 on="2025-03-03")  # fmt: skip
    audit.record_read(tracker, "show", concern=1, count=1)
    with tracker.store.read() as conn:
        assert conn.scalar("PRAGMA synchronous") == 2  # FULL
    assert sql("SELECT action, concern_id FROM read_audit") == [("show", 1)]


#: The README's grants for the application role, with the audit's: it may add a read and
#: move the head, never edit or delete a read (SELECT on every table, for the tables other
#: items added since the README's list, which verify reads).
GRANTS = """
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
GRANT SELECT, INSERT ON event, closure_change, staff TO {role};
GRANT SELECT, INSERT, UPDATE ON concern, chain_head TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON item, attachment TO {role};
GRANT SELECT ON alembic_version TO {role};
GRANT SELECT, INSERT ON read_audit TO {role};
GRANT SELECT, UPDATE ON read_audit_head TO {role};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role};
"""


@pytest.mark.skipif(not PG_URL, reason="needs the PostgreSQL engine")
def test_the_application_role_adds_reads_and_never_edits_them(record, db_target, sql):
    import os

    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import ProgrammingError

    role = f"drp_app_{os.getpid()}"
    sql(f"DROP ROLE IF EXISTS {role}")
    sql(f"CREATE ROLE {role} LOGIN")
    try:
        for statement in GRANTS.format(role=role).strip().splitlines():
            sql(statement)
        app = make_url(db_target).set(username=role).render_as_string(hide_password=False)
        assert record("--db", app, "show", "1").exit_code == 0
        assert record("--db", app, "overdue", "--on", "2025-03-17").exit_code in (0, 1)
        assert [r[1] for r in rows(sql)] == ["show", "overdue"]
        assert record("--db", app, "verify").exit_code == 0
        engine = create_engine(app)
        try:
            for statement in ("UPDATE read_audit SET detail = 'x'", "DELETE FROM read_audit"):
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


BAD = {
    "at": ["2025-02-30 10:00:00", "yesterday", "", 5],
    "by": ["", "\x1b[31mred", 7],
    "action": ["", "peek", 3],
    "concern_id": [-1, 2**53 + 1, "abc"],
    "read_count": [-1, "7", "many"],
    "detail": ["x" * 5000, 0],
    "chain_seq": [0, -1, 2**53 + 1, "abc"],
    "prev_hash": ["abc", "0" * 64, 5],
    "hash": ["abc", "f" * 64, 5],
}  # fmt: skip
HEAD_BAD = {"seq": [-1, 0, 5, "abc", 2**53 + 1], "hash": ["x", "f" * 64, 5]}


@pytest.mark.parametrize(
    "table, column, value",
    [("read_audit", c, v) for c, vs in BAD.items() for v in vs]
    + [("read_audit_head", c, v) for c, vs in HEAD_BAD.items() for v in vs],
)
def test_a_malformed_audit_value_fails_verify_and_crashes_nothing(record, sql, table, column,
                                                                  value):  # fmt: skip
    """Any value written behind drp's back into the audit (of the type its column holds on
    SQLite, or another) fails verify (exit 6); the reads after it never crash (exit 70)."""
    if PG_URL and isinstance(value, str) and column in ("at", "concern_id", "read_count",
                                                        "chain_seq", "seq"):  # fmt: skip
        pytest.skip("PostgreSQL's types refuse it")
    _three_reads(record)
    first = f"(SELECT min(id) FROM {table})"
    (before,) = sql(f'SELECT "{column}" FROM {table} WHERE id = {first}')[0]
    if before == value:
        pytest.skip("the value it holds already")
    try:
        sql(f'UPDATE {table} SET "{column}" = :v WHERE id = {first}', v=value)
    except Exception:
        pytest.skip("the database refuses the value itself")
    r = record("verify")
    assert r.exit_code == 6, (r.stdout, r.stderr)
    assert "audit" in r.stderr
    for args in (["show", "1"], ["overdue", "--on", "2025-03-17"], ["audit"],
                 ["audit", "--json"], ["list"]):  # fmt: skip
        r = record(*args)
        assert r.exit_code in (0, 1, 4), (args, r.exit_code, r.stderr)
