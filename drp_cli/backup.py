"""Backups: a consistent copy while others are writing.

* SQLite: ``backup(store, FILE)`` uses SQLite's online backup API; the copy is a working
  drp database (0600).
* Any engine: ``export_json(store, FILE)`` writes every table as portable JSON, read in one
  snapshot; ``restore_json(store, FILE)`` loads it into an empty database of either engine,
  so a service can move from SQLite to PostgreSQL and back.

Attached files live in the attachments folder (``Store.attachments_dir``): back it up with
the database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, func, insert, select, text

from drp_cli.db import Store
from drp_cli.errors import InvalidInput
from drp_cli.models import SCHEMA_REVISION
from drp_cli.outpaths import (
    BACKUPS,
    SQLITE_BACKUP_ID,
    check_output,
    check_source,
    protected_paths,
)

FORMAT = "drp-backup"
VERSION = 1
#: tables in an order that satisfies the foreign keys
TABLES = ("concern", "event", "item", "attachment", "closure_change", "chain_head")


def _private_target(store: Store, path: Path, force: bool) -> Path:
    """Where to write a backup (resolved): never the database, its side files or the
    attachment store; with ``force`` it replaces only an earlier backup drp wrote."""
    return check_output(
        path, protected_paths(store), force=force, kind="file", what="backup", replaces=BACKUPS
    )


def _write_atomically(path: Path, writer: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o600)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def backup_sqlite(store: Store, target: str | os.PathLike[str], *, force: bool = False) -> Path:
    """A consistent copy of a SQLite database, taken with the online backup API."""
    if store.path is None:
        raise InvalidInput("a server database is backed up with --format json")
    source = store.path
    path = Path(target)
    real = _private_target(store, path, force)

    def write(tmp: Path) -> None:
        src = sqlite3.connect(source)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            # marks the copy as a backup, so `--force` may replace it later
            dst.execute(f"PRAGMA application_id={SQLITE_BACKUP_ID}")
            dst.commit()
        finally:
            dst.close()
            src.close()

    _write_atomically(real, write)
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _tables(store: Store) -> dict[str, Table]:
    meta = MetaData()
    meta.reflect(store.engine, only=list(TABLES))
    return {name: meta.tables[name] for name in TABLES}


def export_data(store: Store) -> dict[str, Any]:
    tables = _tables(store)
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "schema": SCHEMA_REVISION}
    out: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        if not store.is_sqlite:
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        for name, table in tables.items():
            key = table.c.id
            rows = conn.execute(select(table).order_by(key)).mappings()
            out[name] = [{k: _jsonable(v) for k, v in row.items()} for row in rows]
    data["tables"] = out
    return data


def export_json(store: Store, target: str | os.PathLike[str], *, force: bool = False) -> Path:
    path = Path(target)
    real = _private_target(store, path, force)
    data = export_data(store)
    _write_atomically(
        real, lambda tmp: tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False))
    )
    return path


def _parse(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for column in table.columns:
        if column.name not in row:
            continue
        value = row[column.name]
        type_name = type(column.type).__name__.upper()
        if value is not None and ("DATETIME" in type_name or "TIMESTAMP" in type_name):
            value = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        elif value is not None and type_name == "DATE":
            value = dt.date.fromisoformat(value)
        parsed[column.name] = value
    return parsed


def restore_json(store: Store, source: str | os.PathLike[str]) -> dict[str, int]:
    """Load a JSON backup into an empty database; returns rows per table. The backup may
    not be the database itself nor lie in the attachment store."""
    path = Path(source)
    check_source(path, protected_paths(store), what="backup")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise InvalidInput(f"{path} is not a drp JSON backup") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(f"{path} is not a drp JSON backup")
    if data.get("schema") != SCHEMA_REVISION:
        raise InvalidInput(
            f"{path} is a backup of schema {data.get('schema')}; this drp restores "
            f"{SCHEMA_REVISION}"
        )
    if len(data.get("tables", {}).get("chain_head", [])) != 1:
        raise InvalidInput(f"{path} has no chain head: it is not a complete drp backup")
    tables = _tables(store)
    counts: dict[str, int] = {}
    with store.write_engine.begin() as conn:
        for name in ("concern", "event", "closure_change"):
            if conn.execute(select(func.count()).select_from(tables[name])).scalar():
                raise InvalidInput(
                    f"the database {store.label} is not empty; restore into a new database"
                )
        conn.execute(tables["chain_head"].delete())
        for name in TABLES:
            rows = [_parse(tables[name], r) for r in data["tables"].get(name, [])]
            if rows:
                conn.execute(insert(tables[name]), rows)
            counts[name] = len(rows)
            if not store.is_sqlite and rows and name != "chain_head":
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
    return counts
