"""Documents attached to a concern for the CAFCASS bundle.

A file is copied into the store's attachment area (``<db>-attachments/ab/abcdef...``,
content-addressed by SHA-256, folders 0700, files 0600; for an encrypted database each file
is encrypted on its way in and named so that the name does not give its SHA-256 away: see
:mod:`drp_cli.store.filestore`, the one place that reads and writes them), so moving or
editing the original changes nothing. The row and its ``attached`` event are written in one
transaction after the copy is complete.

Documents belong to the child: every concern about the child lists those attached to any of
the child's concerns (``from_concern`` names the one it was attached to), and its bundle can
copy them from the store.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drp_cli.core.dates import iso, parse_date
from drp_cli.core.errors import DatabaseError, InvalidInput, NotFound, RecordTampered, fld
from drp_cli.core.textsafe import clean_line, clean_text
from drp_cli.services.tracker import Tracker, current_user
from drp_cli.store import filestore, record
from drp_cli.store.connection import Row
from drp_cli.store.record import check_id

KINDS: dict[str, str] = {
    "care-order": "Final Care Order",
    "final-care-plan": "Final Care Plan filed in proceedings",
    "care-plan": "Care Plan",
    "guardian-report": "Children's guardian's report",
    "review-record": "Review record",
    "case-chronology": "Chronology of the child's case",
    "other": "Other document",
}
MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class AttachmentView:
    n: int
    kind: str
    filename: str
    sha256: str
    size: int
    dated: dt.date | None
    description: str
    added_on: dt.date
    added_by: str
    path: Path  # the stored copy
    #: the child's other concern it was attached to; None: this concern's own
    from_concern: int | None = None
    #: the database key the stored copy is encrypted with (None: a plain copy)
    key: bytes | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "kind": self.kind,
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
            "dated": iso(self.dated),
            "description": self.description,
            "added_on": iso(self.added_on),
            "added_by": self.added_by,
            "from_concern": self.from_concern,
        }


def _files(tracker: Tracker) -> tuple[Path, bytes | None]:
    """The attachments folder and the database key its files are encrypted with (None: a
    plain database's files are kept as they are)."""
    return tracker.store.attachments_dir, tracker.store.encryption_key()


def _stored_path(tracker: Tracker, sha: str) -> Path:
    root, key = _files(tracker)
    return filestore.locate(root, sha, key)


def _copy_in(tracker: Tracker, source: Path) -> tuple[str, int]:
    """Copy ``source`` into the store (encrypted on its way in when the database is);
    return its SHA-256 and size."""
    root, key = _files(tracker)
    return filestore.write_stored(root, source, key, limit=MAX_BYTES)


def attach(
    tracker: Tracker,
    concern_id: int,
    path: str | os.PathLike[str],
    *,
    kind: str,
    dated: dt.date | str | None = None,
    description: str = "",
    on: dt.date | str | None = None,
    by: str | None = None,
) -> AttachmentView:
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    source = Path(path)
    dated_day = parse_date(dated, fld("dated")) if dated is not None else None
    text = clean_text(description, fld("description"), required=False)
    recorder = current_user(by)
    day = tracker.event_date(on)
    tracker.precheck(concern_id, "attached", day)  # before copying anything
    filename = clean_line(source.name, "the file name", 255)
    if not source.is_file():
        raise InvalidInput(f"cannot read {source}: not a file")
    try:
        sha, size = _copy_in(tracker, source)
    except PermissionError:
        raise InvalidInput(f"cannot read {source}: permission denied") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    with tracker.unit_of_work() as uow:
        loaded = uow.load(concern_id)
        n = max(loaded.state.attachments, default=0) + 1
        tracker.append_checked(
            uow, loaded, "attached", day, recorder,
            stage=tracker.stage_at(loaded, day),
            text=f"{KINDS[kind]}: {filename}",
            details={
                "n": n, "kind": kind, "sha256": sha, "dated": iso(dated_day),
                "filename": filename, "size": size, "description": text,
            },
        )  # fmt: skip
        a = loaded.state.attachments[n]
        return AttachmentView(n=a.n, kind=a.kind, filename=a.filename, sha256=a.sha256,
                              size=a.size, dated=a.dated, description=a.description,
                              added_on=a.added_on, added_by=a.added_by,
                              path=_stored_path(tracker, a.sha256),
                              key=tracker.store.encryption_key())  # fmt: skip


def _view(files: tuple[Path, bytes | None], row: Row, concern_id: int) -> AttachmentView:
    root, key = files
    return AttachmentView(
        n=row.n,
        kind=row.kind,
        filename=row.filename,
        sha256=row.sha256,
        size=row.size,
        dated=row.dated,
        description=row.description,
        added_on=row.added_on,
        added_by=row.added_by,
        path=filestore.locate(root, row.sha256, key),
        from_concern=None if row.concern_id == concern_id else row.concern_id,
        key=key,
    )


def attachments(tracker: Tracker, concern_id: int) -> list[AttachmentView]:
    """The documents of the child: the concern's own (by number), then those attached to
    the child's other concerns (by concern and number, each with ``from_concern``); the
    same file attached again as the same kind on another concern is listed once."""
    check_id(concern_id)
    with tracker.store.read() as conn:
        row = record.concern(conn, concern_id)
        if row is None:
            raise NotFound(f"no concern with id {concern_id}")
        own = record.attachments_of(conn, concern_id)
        ids = set(tracker.child_concern_ids(conn, row)) - {concern_id}
        others = [r for r in record.child_attachments(conn, row.child)
                  if r.concern_id in ids] if ids else []  # fmt: skip
    files = _files(tracker)
    found = [_view(files, r, concern_id) for r in own]
    seen = {(a.kind, a.sha256) for a in found}
    for r in others:
        if (r.kind, r.sha256) not in seen:
            seen.add((r.kind, r.sha256))
            found.append(_view(files, r, concern_id))
    return found


def _missing(name: str) -> NotFound:
    return NotFound(f"the stored copy of {name} is missing from the store")


def _altered(name: str) -> RecordTampered:
    """A stored copy that does not match its SHA-256 was changed outside drp: tampering, as
    ``drp verify`` says it (exit 6), not a file missing."""
    return RecordTampered(f"the stored copy of {name} does not match its SHA-256: "
                          "it was changed outside drp; run `drp verify`")  # fmt: skip


def chunks(view: AttachmentView) -> Iterator[bytes]:
    """The attached file's bytes, a megabyte at a time, decrypted if it is kept encrypted,
    checked against its SHA-256 (the last chunk is given only once the whole file matched):
    NotFound (exit 3) when the stored copy is missing, RecordTampered (exit 6) when altered."""
    return checked_chunks(view.path, view.sha256, view.key, f"attachment {view.n}")


def checked_chunks(path: Path, sha256: str, key: bytes | None, name: str) -> Iterator[bytes]:
    """:func:`chunks` of the stored copy at ``path`` (:func:`filestore.locate`) of the file of
    SHA-256 ``sha256``, for a reader with no view of it (an export carries the files of
    attachments later removed); ``name``: the attachment as an error names it."""
    if not path.is_file():
        raise _missing(name)
    import hashlib  # here: `show` lists attachments without starting OpenSSL

    digest = hashlib.sha256()
    held: bytes | None = None
    try:
        for chunk in filestore.read_stored(path, sha256, key):
            digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
    except FileNotFoundError:
        raise _missing(name) from None
    except (filestore.StoredFileDamaged, InvalidInput, DatabaseError):
        # DatabaseError: encrypted with a key other than the one that opened the database
        # (whose key the store's keys come from): another store's file put in its place
        raise _altered(name) from None
    if digest.hexdigest() != sha256:
        raise _altered(name)
    if held is not None:
        yield held


def read_bytes(view: AttachmentView) -> bytes:
    """The whole attached file (see :func:`chunks`)."""
    return b"".join(chunks(view))


def copy_out(view: AttachmentView, target: Path) -> None:
    """Copy a stored attachment to ``target`` (0600), decrypted if it is kept encrypted,
    checking its SHA-256 on the way (a copy that does not match is removed)."""
    if not view.path.is_file():
        raise _missing(f"attachment {view.n}")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(fd, "wb") as dst:
            for chunk in chunks(view):
                dst.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)  # the file this call made, never one that was there
        raise
