"""Creating and upgrading the schema with Alembic (``drp_cli/migrations``), built from the
SQLModel classes in :mod:`drp_cli.store.models`.

Only :meth:`drp_cli.store.connection.Store.create` and
:meth:`~drp_cli.store.connection.Store.upgrade` load this
module (and SQLAlchemy with it, where they need it): no everyday command does.

A new plain SQLite file is made by :data:`FRESH_SQLITE`, the statements Alembic's whole
chain of migrations leaves in a new file, run in one transaction: the same tables, indexes,
rows and revision (tests/test_w6i_fresh_schema.py compares the two, table by table), in a
fiftieth of the time and without loading SQLAlchemy or Alembic (an import into a new
database makes one while its helpers start). Upgrades, PostgreSQL and encrypted files go
through Alembic.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drp_cli.core.errors import DatabaseError
from drp_cli.store.dbfile import BUSY_TIMEOUT_MS, SCHEMA_REVISION, sqlite_uri, translate

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.exc import OperationalError


def engine_for(target: str, path: Path | None, key: bytes | None = None) -> Engine:
    """A SQLAlchemy engine on the database (for Alembic). A SQLite file is never created
    here; every transaction on it starts with ``BEGIN IMMEDIATE``. ``key``: the file is
    encrypted (SQLCipher) with it, or will be when its tables are made."""
    from sqlalchemy import create_engine, event

    if path is None:
        try:
            return create_engine(target, hide_parameters=True)
        except ModuleNotFoundError as exc:
            raise DatabaseError(
                f"the driver for this database is not installed ({exc.name}): "
                "pip install 'drp-cli[postgres]'"
            ) from None
        except Exception as exc:
            raise DatabaseError(f"cannot use the database URL: {type(exc).__name__}") from None
    uri = sqlite_uri(path)

    def connect() -> sqlite3.Connection:
        if key is not None:
            from drp_cli.store import cipher

            made: sqlite3.Connection = cipher.connect(
                uri, key, str(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )  # fmt: skip
            return made
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               check_same_thread=False)  # fmt: skip

    engine = create_engine(f"sqlite:///{path}", hide_parameters=True, creator=connect)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_to(connection: Connection, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def create_schema(target: str, path: Path | None, label: str, key: bytes | None = None) -> bool:
    """Create the tables at this program's revision unless some are there (another drp
    created them meanwhile); returns whether it created them."""
    if path is not None and key is None and SCHEMA_REVISION == FRESH_REVISION:
        return _create_fresh_sqlite(path, label)
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import DatabaseError as SADatabaseError
    from sqlalchemy.exc import OperationalError

    engine = engine_for(target, path, key)
    try:
        with engine.begin() as conn:
            if path is None:  # two first writers at once: one migrates
                conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
            if inspect(conn).get_table_names():
                return False
            upgrade_to(conn, SCHEMA_REVISION)
            return True
    except OperationalError as exc:
        raise _translate(exc, label) from None
    except SADatabaseError:
        raise DatabaseError(f"{label} is not a drp database") from None
    finally:
        engine.dispose()


def _create_fresh_sqlite(path: Path, label: str) -> bool:
    """:func:`create_schema` of a plain SQLite file by :data:`FRESH_SQLITE`: the connection
    set up as :func:`engine_for` sets it up (the write-ahead log, a flush at the commit),
    one ``BEGIN IMMEDIATE`` transaction, nothing made when any table is there."""
    try:
        conn = sqlite3.connect(sqlite_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None)  # fmt: skip
    except sqlite3.OperationalError as exc:
        raise translate(str(exc), type(exc).__name__, label) from None
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name "
                            "NOT LIKE 'sqlite~_%' ESCAPE '~' LIMIT 1").fetchone():  # fmt: skip
                return False
            for statement in FRESH_SQLITE:
                conn.execute(statement)
            conn.execute("COMMIT")
            return True
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        raise translate(str(exc), type(exc).__name__, label) from None
    except sqlite3.DatabaseError:
        raise DatabaseError(f"{label} is not a drp database") from None
    finally:
        conn.close()


def upgrade_schema(target: str, path: Path | None, label: str, key: bytes | None = None) -> None:
    from sqlalchemy.exc import OperationalError

    engine = engine_for(target, path, key)
    try:
        with engine.begin() as conn:
            upgrade_to(conn, SCHEMA_REVISION)
    except OperationalError as exc:
        raise _translate(exc, label) from None
    finally:
        engine.dispose()


def _translate(exc: OperationalError, label: str) -> Exception:
    return translate(str(exc.orig) if exc.orig is not None else "", type(exc.orig).__name__, label)


#: The revision :data:`FRESH_SQLITE` makes; a newer migration: Alembic makes new files until
#: the statements are made again from its new file (tests/test_w6i_fresh_schema.py says how)
FRESH_REVISION = "0013"
#: What Alembic's migrations up to FRESH_REVISION leave in a new SQLite file, in the order
#: sqlite_master holds it: its tables and indexes (their text as SQLite keeps it), then
#: the rows the migrations write (the revision, the three chains' heads at their start)
FRESH_SQLITE: tuple[str, ...] = (
    (
        "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n"
        "\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)"
    ),
    (
        "CREATE TABLE concern (\n\tid INTEGER NOT NULL, \n\tprotocol VARCHAR NOT NULL, \n"
        "\tchild VARCHAR NOT NULL, \n\tcategory VARCHAR NOT NULL, \n\tissue VARCHAR, \n"
        "\tsummary VARCHAR NOT NULL, \n\timpact VARCHAR NOT NULL, \n"
        "\trecommended VARCHAR NOT NULL, \n\traised_by VARCHAR NOT NULL, \n"
        "\trole VARCHAR NOT NULL, \n\tstatus VARCHAR NOT NULL, \n\tstage VARCHAR NOT NULL, \n"
        "\tstage_started_on DATE NOT NULL, \n\tstage_due_override DATE, \n\tdeadline DATE, \n"
        "\tformal_started_on DATE, \n\tformal_deadline DATE, \n\treferred_on DATE, \n"
        "\tsenior_officer_notified_on DATE, \n\twishes VARCHAR, \n\ttold_outcome VARCHAR, \n"
        "\topened_on DATE NOT NULL, \n\tclosed_on DATE, \n\toutcome VARCHAR, \n"
        "\tevent_count INTEGER NOT NULL, \n\tcreated_at DATETIME NOT NULL, \n"
        "\tupdated_at DATETIME NOT NULL, external_ref VARCHAR, stage_responded_on DATE, "
        "uid VARCHAR, route VARCHAR, deadline_kind VARCHAR, formal_deadline_kind VARCHAR, "
        "step VARCHAR, step_deadline DATE, step_deadline_kind VARCHAR, owner VARCHAR, "
        "team VARCHAR, \n\tPRIMARY KEY (id)\n)"
    ),
    "CREATE INDEX ix_concern_child ON concern (child)",
    "CREATE INDEX ix_concern_raised_by ON concern (raised_by)",
    "CREATE INDEX ix_concern_protocol ON concern (protocol)",
    "CREATE INDEX ix_concern_status_deadline ON concern (status, deadline)",
    "CREATE INDEX ix_concern_status_formal_deadline ON concern (status, formal_deadline)",
    (
        "CREATE TABLE item (\n\tid INTEGER NOT NULL, \n\tconcern_id INTEGER NOT NULL, \n"
        "\tkind VARCHAR NOT NULL, \n\tn INTEGER NOT NULL, \n\tposition INTEGER NOT NULL, \n"
        "\tdata VARCHAR NOT NULL, \n\tadded_on DATE NOT NULL, \n\tadded_by VARCHAR NOT NULL, \n"
        "\tdone_on DATE, \n\tdone_by VARCHAR, \n\tremoved_on DATE, \n\tremoved_by VARCHAR, \n"
        "\tPRIMARY KEY (id), \n\tFOREIGN KEY(concern_id) REFERENCES concern (id)\n)"
    ),
    "CREATE INDEX ix_item_concern_id ON item (concern_id)",
    (
        "CREATE TABLE attachment (\n\tid INTEGER NOT NULL, \n\tconcern_id INTEGER NOT NULL, \n"
        "\tn INTEGER NOT NULL, \n\tkind VARCHAR NOT NULL, \n\tfilename VARCHAR NOT NULL, \n"
        "\tsha256 VARCHAR NOT NULL, \n\tsize INTEGER NOT NULL, \n\tdated DATE, \n"
        "\tdescription VARCHAR NOT NULL, \n\tadded_on DATE NOT NULL, \n"
        "\tadded_by VARCHAR NOT NULL, \n\tPRIMARY KEY (id), \n"
        "\tFOREIGN KEY(concern_id) REFERENCES concern (id)\n)"
    ),
    "CREATE INDEX ix_attachment_concern_id ON attachment (concern_id)",
    (
        'CREATE TABLE "event" (\n\tid INTEGER NOT NULL, \n\tconcern_id INTEGER NOT NULL, \n'
        "\tseq INTEGER NOT NULL, \n\tkind VARCHAR NOT NULL, \n\teffective_on DATE NOT NULL, \n"
        '\tstage VARCHAR NOT NULL, \n\tfrom_stage VARCHAR, \n\t"by" VARCHAR NOT NULL, \n'
        "\trecorded_at DATETIME NOT NULL, \n\ttext VARCHAR NOT NULL, \n"
        "\tdetails VARCHAR NOT NULL, \n\tchain_seq INTEGER, \n\tprev_hash VARCHAR, \n"
        "\thash VARCHAR, imported_by VARCHAR, imported_at DATETIME, mac VARCHAR, salt VARCHAR, "
        "content VARCHAR, \n\tPRIMARY KEY (id), \n"
        "\tCONSTRAINT uq_event_chain_seq UNIQUE (chain_seq), \n"
        "\tFOREIGN KEY(concern_id) REFERENCES concern (id)\n)"
    ),
    "CREATE INDEX ix_event_concern_id ON event (concern_id)",
    (
        "CREATE TABLE chain_head (\n\tid INTEGER NOT NULL, \n\tseq INTEGER NOT NULL, \n"
        "\thash VARCHAR NOT NULL, \n\tPRIMARY KEY (id)\n)"
    ),
    "CREATE UNIQUE INDEX ix_concern_external_ref ON concern (external_ref)",
    "CREATE UNIQUE INDEX ix_concern_uid ON concern (uid)",
    (
        'CREATE TABLE "closure_change" (\n\tid INTEGER NOT NULL, \n\tday DATE NOT NULL, \n'
        '\taction VARCHAR NOT NULL, \n\treason VARCHAR NOT NULL, \n\t"by" VARCHAR NOT NULL, \n'
        "\trecorded_at DATETIME NOT NULL, \n\tchain_seq INTEGER, \n\tprev_hash VARCHAR, \n"
        "\thash VARCHAR, \n\tmac VARCHAR, \n\tPRIMARY KEY (id), \n"
        "\tCONSTRAINT uq_closure_change_chain_seq UNIQUE (chain_seq)\n)"
    ),
    "CREATE INDEX ix_closure_change_day ON closure_change (day)",
    "CREATE INDEX ix_concern_status_step_deadline ON concern (status, step_deadline)",
    "CREATE INDEX ix_concern_owner ON concern (owner)",
    "CREATE INDEX ix_concern_team ON concern (team)",
    (
        'CREATE TABLE "staff" (\n\tid INTEGER NOT NULL, \n\tname VARCHAR NOT NULL, \n'
        '\t"key" VARCHAR NOT NULL, \n\temail VARCHAR, \n\tteam VARCHAR, \n\trole VARCHAR, \n'
        "\tadded_by VARCHAR NOT NULL, \n\tadded_at DATETIME NOT NULL, \n\tchain_seq INTEGER, \n"
        "\tprev_hash VARCHAR, \n\thash VARCHAR, \n\tmac VARCHAR, \n\tPRIMARY KEY (id), \n"
        '\tCONSTRAINT uq_staff_chain_seq UNIQUE (chain_seq), \n\tUNIQUE ("key")\n)'
    ),
    (
        "CREATE TABLE subject_access_request (\n\tid INTEGER NOT NULL, \n"
        "\tchild VARCHAR NOT NULL, \n\treceived_on DATE NOT NULL, \n"
        "\trecorded_by VARCHAR NOT NULL, \n\trecorded_at DATETIME NOT NULL, \n"
        "\textended_on DATE, \n\textended_by VARCHAR, \n\textension_reason VARCHAR, \n"
        "\tsent_on DATE, \n\tsent_by VARCHAR, salt VARCHAR, \n\tPRIMARY KEY (id)\n)"
    ),
    "CREATE INDEX ix_subject_access_request_child ON subject_access_request (child)",
    (
        "CREATE TABLE read_audit (\n\tid INTEGER NOT NULL, \n\tat DATETIME NOT NULL, \n"
        '\t"by" VARCHAR NOT NULL, \n\taction VARCHAR NOT NULL, \n\tconcern_id INTEGER, \n'
        "\tread_count INTEGER, \n\tdetail VARCHAR NOT NULL, \n\tchain_seq INTEGER NOT NULL, \n"
        "\tprev_hash VARCHAR NOT NULL, \n\thash VARCHAR NOT NULL, \n\tmac VARCHAR, \n"
        "\tPRIMARY KEY (id), \n\tCONSTRAINT uq_read_audit_chain_seq UNIQUE (chain_seq)\n)"
    ),
    "CREATE INDEX ix_read_audit_concern_id ON read_audit (concern_id)",
    "CREATE INDEX ix_read_audit_at ON read_audit (at)",
    (
        "CREATE TABLE read_audit_head (\n\tid INTEGER NOT NULL, \n\tseq INTEGER NOT NULL, \n"
        "\thash VARCHAR NOT NULL, \n\tPRIMARY KEY (id)\n)"
    ),
    (
        "CREATE TABLE purge (\n\tid INTEGER NOT NULL, \n\tpurged_on DATE NOT NULL, \n"
        '\t"by" VARCHAR NOT NULL, \n\trecorded_at DATETIME NOT NULL, \n'
        "\tdetail VARCHAR NOT NULL, \n\tchain_seq INTEGER NOT NULL, \n"
        "\tprev_hash VARCHAR NOT NULL, \n\thash VARCHAR NOT NULL, \n\tmac VARCHAR, \n"
        "\tPRIMARY KEY (id), \n\tCONSTRAINT uq_purge_chain_seq UNIQUE (chain_seq)\n)"
    ),
    (
        "CREATE TABLE subject_access_link (\n\tid INTEGER NOT NULL, \n"
        "\trequest_id INTEGER NOT NULL, \n\tchange VARCHAR NOT NULL, \n\trow_digest VARCHAR, \n"
        "\tchain_seq INTEGER NOT NULL, \n\tprev_hash VARCHAR NOT NULL, \n"
        "\thash VARCHAR NOT NULL, \n\tmac VARCHAR, \n\tPRIMARY KEY (id), \n"
        "\tCONSTRAINT uq_subject_access_link_chain_seq UNIQUE (chain_seq)\n)"
    ),
    "CREATE INDEX ix_subject_access_link_request_id ON subject_access_link (request_id)",
    (
        "CREATE TABLE subject_access_head (\n\tid INTEGER NOT NULL, \n\tseq INTEGER NOT NULL, "
        "\n\thash VARCHAR NOT NULL, \n\tPRIMARY KEY (id)\n)"
    ),
    "INSERT INTO alembic_version VALUES ('0013')",
    (
        "INSERT INTO chain_head VALUES (1, 0, "
        "'0000000000000000000000000000000000000000000000000000000000000000')"
    ),
    (
        "INSERT INTO read_audit_head VALUES (1, 0, "
        "'0000000000000000000000000000000000000000000000000000000000000000')"
    ),
    (
        "INSERT INTO subject_access_head VALUES (1, 0, "
        "'0000000000000000000000000000000000000000000000000000000000000000')"
    ),
)
