"""Documents attached to a concern for the CAFCASS bundle.

A file is copied into the store's attachment area (``<db>-attachments/ab/abcdef...``,
content-addressed by SHA-256, folders 0700, files 0600), so moving or editing the original
changes nothing. The row and its ``attached`` event are written in one transaction after the
copy is complete.

Documents belong to the child: every concern about the child lists those attached to any of
the child's concerns (``from_concern`` names the one it was attached to), and its bundle can
copy them from the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drp_cli.core.dates import iso, parse_date
from drp_cli.core.errors import InvalidInput, NotFound, fld
from drp_cli.core.textsafe import clean_line, clean_text
from drp_cli.services.tracker import Tracker, current_user
from drp_cli.store import record
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


def _stored_path(tracker: Tracker, sha: str) -> Path:
    return tracker.store.attachments_dir / sha[:2] / sha


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _copy_in(tracker: Tracker, source: Path) -> tuple[str, int]:
    """Copy ``source`` into the store; return its SHA-256 and size."""
    root = tracker.store.attachments_dir
    _private_dir(root)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".incoming-")
    try:
        with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
                digest.update(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        sha = digest.hexdigest()
        final = _stored_path(tracker, sha)
        _private_dir(final.parent)
        if final.exists():
            os.unlink(tmp_name)
        else:
            os.chmod(tmp_name, 0o600)
            os.replace(tmp_name, final)
        return sha, size
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


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
    tracker.get(concern_id)  # before copying anything
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
        uow.append(
            loaded, "attached", day, recorder,
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
                              path=_stored_path(tracker, a.sha256))  # fmt: skip


def _view(tracker: Tracker, row: Row, concern_id: int) -> AttachmentView:
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
        path=_stored_path(tracker, row.sha256),
        from_concern=None if row.concern_id == concern_id else row.concern_id,
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
    found = [_view(tracker, r, concern_id) for r in own]
    seen = {(a.kind, a.sha256) for a in found}
    for r in others:
        if (r.kind, r.sha256) not in seen:
            seen.add((r.kind, r.sha256))
            found.append(_view(tracker, r, concern_id))
    return found


def copy_out(view: AttachmentView, target: Path) -> None:
    """Copy a stored attachment to ``target`` (0600), checking its SHA-256 on the way."""
    if not view.path.is_file():
        raise NotFound(f"the stored copy of attachment {view.n} is missing from the store")
    digest = hashlib.sha256()
    with (
        view.path.open("rb") as src,
        open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as dst,
    ):
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            dst.write(chunk)
    if digest.hexdigest() != view.sha256:
        raise NotFound(f"the stored copy of attachment {view.n} does not match its SHA-256")
