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
from pathlib import Path
from typing import Any

from drp_cli.adapters.outpaths import (
    BACKUPS,
    SQLITE_BACKUP_ID,
    check_output,
    check_source,
    protected_paths,
)
from drp_cli.core.errors import InvalidInput, fld
from drp_cli.core.files import write_private
from drp_cli.store import record
from drp_cli.store.connection import TABLES, Store
from drp_cli.store.dbfile import SCHEMA_REVISION

FORMAT = "drp-backup"
VERSION = 1


def _private_target(store: Store, path: Path, force: bool) -> Path:
    """Where to write a backup (resolved): never the database, its side files or the
    attachment store; with ``force`` it replaces only an earlier backup drp wrote."""
    return check_output(
        path, protected_paths(store), force=force, kind="file", what="backup", replaces=BACKUPS
    )


def _write_atomically(path: Path, writer: Any) -> None:
    write_private(path, writer)


def backup_sqlite(store: Store, target: str | os.PathLike[str], *, force: bool = False) -> Path:
    """A consistent copy of a SQLite database, taken with the online backup API."""
    if store.path is None:
        raise InvalidInput(f"a server database is backed up with {fld('format')} json")
    path = Path(target)
    real = _private_target(store, path, force)

    def write(tmp: Path) -> None:
        # marked as a backup, so that `--force` may replace it later
        store.copy_to(tmp, SQLITE_BACKUP_ID)

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


def export_data(store: Store) -> dict[str, Any]:
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "schema": SCHEMA_REVISION}
    out: dict[str, list[dict[str, Any]]] = {}
    with store.read(snapshot=True) as conn:
        for name in TABLES:
            out[name] = [{k: _jsonable(v) for k, v in row.items()}
                         for row in record.table_rows(conn, name)]  # fmt: skip
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


def _parse(types: dict[str, str], row: dict[str, Any]) -> dict[str, Any]:
    """A backed-up row with its dates and times as the schema's columns take them."""
    parsed: dict[str, Any] = {}
    for name, kind in types.items():
        if name not in row:
            continue
        value = row[name]
        if value is not None and kind == "datetime":
            value = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        elif value is not None and kind == "date":
            value = dt.date.fromisoformat(value)
        parsed[name] = value
    return parsed


def restore_json(store: Store, source: str | os.PathLike[str]) -> dict[str, int]:
    """Load a JSON backup into an empty database (a SQLite file not there yet is created
    once the backup is read and checked, and removed again if the restore fails); returns
    rows per table. The backup may not be the database itself nor lie in the attachment
    store."""
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
    counts: dict[str, int] = {}
    # the write creates the file: one that was not there before is removed if it fails
    created = store.path is not None and not os.path.lexists(store.path)
    try:
        with store.write() as conn:
            if not record.is_empty(conn):
                raise InvalidInput(
                    f"the database {store.label} is not empty; restore into a new database"
                )
            for name in TABLES:
                types = conn.column_types(name)
                rows = [_parse(types, r) for r in data["tables"].get(name, [])]
                record.restore_rows(conn, name, rows)
                counts[name] = len(rows)
    except BaseException:
        if created:  # a refused restore leaves no empty database behind
            _remove_new_file(store)
        raise
    return counts


def _remove_new_file(store: Store) -> None:
    """Remove the SQLite file (and its side files) this restore created."""
    assert store.path is not None
    store.close()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{store.path}{suffix}").unlink(missing_ok=True)
