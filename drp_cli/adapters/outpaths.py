"""Where drp may write, and what it will not overwrite.

Every writer of an output (``drp bundle``, ``drp alert -o``, ``drp export -o``,
``drp backup``) asks :func:`check_output` first. It refuses, whether or not ``--force`` is
given, a target that is, holds or lies inside the live record (the SQLite file and its
``-wal``, ``-shm`` and ``-journal`` files, and the attachment store); symbolic links are
resolved on both sides. Without ``--force`` an existing target is refused. With ``--force``
a target is replaced only when drp itself wrote it:

* a bundle folder: it holds the marker file :data:`BUNDLE_MARKER` and its ``SHA256SUMS``
  lists exactly the files present, with the same contents (an empty folder is replaced too);
* a document (an alert form, a CSV or JSON export): recognised by its first or last line;
  one of drp's other documents (an e-mail, a calendar file, an HTML page, a workbook, a Word
  document or a PDF) by the generator mark drp puts in it (:data:`GENERATOR`);
* a folder of flat files drp wrote (``drp export --format csv -o DIR``, ``drp report --csv``):
  like a bundle, it holds :data:`FOLDER_MARKER` and a ``SHA256SUMS`` of what it holds;
* a backup (a JSON backup, or a SQLite copy: a SQLite file with an ``alembic_version``
  table whose application id is :data:`SQLITE_BACKUP_ID`, which ``drp backup`` sets and a
  drp database never has).

Standard library only (and :mod:`drp_cli.core.errors`). Messages name the path the user gave,
never anything from the record.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from drp_cli.core.errors import InvalidInput, fld
from drp_cli.core.files import write_private
from drp_cli.core.textsafe import shown_path
from drp_cli.domain.chain import file_sha256
from drp_cli.store.dbfile import SIDE_FILES

if TYPE_CHECKING:
    from drp_cli.store.connection import Store

#: The file drp writes into every bundle folder, so ``--force`` knows the folder is drp's.
BUNDLE_MARKER = ".drp-bundle"
BUNDLE_MARKER_TEXT = "A CAFCASS referral bundle written by drp; see SHA256SUMS.\n"
MANIFEST = "SHA256SUMS"
#: The last line of every alert form drp renders (an HTML comment: invisible when rendered).
ALERT_MARKER = "<!-- drp alert form -->"
#: How the header line of a CSV export starts (``drp_cli.exchange.checks.COLUMNS``, which a test
#: holds to it); the line must also have an ``events`` column.
CSV_EXPORT_HEADER = (
    "protocol,child,category,summary,opened_on,stage,stage_started_on,status,external_ref,"
    "issue,impact,recommended,raised_by,role,formal_started_on,due,referred_on,closed_on,"
    "outcome,"
)

ALERT_FORM = "alert form"
CSV_EXPORT = "CSV export"
JSON_EXPORT = "JSON export"
JSON_BACKUP = "JSON backup"
SQLITE_BACKUP = "SQLite backup"
BUNDLE = "bundle"
#: drp's other documents, recognised by the generator mark drp writes into each.
EMAIL = "e-mail"
CALENDAR = "calendar file"
HTML_PAGE = "HTML page"
WORKBOOK = "workbook"
WORD_DOCUMENT = "Word document"
PDF_DOCUMENT = "PDF document"
FOLDER = "folder of files"
#: The generator mark: every e-mail, calendar file, HTML page, workbook, Word document and
#: PDF that drp writes names drp as its generator with this string, so that ``--force``
#: knows drp wrote it. Put it where each format names its generator:
#:
#: * an e-mail: a header ``X-Mailer: drp-cli`` (within its first 4 KiB);
#: * a calendar: ``PRODID:-//drp-cli//...``;
#: * an HTML page: ``<meta name="generator" content="drp-cli">`` in its head;
#: * a workbook or Word document: the creator (``dc:creator``) in ``docProps/core.xml``
#:   (openpyxl: ``wb.properties.creator``; python-docx: ``doc.core_properties.author``);
#: * a PDF: its ``/Creator`` or ``/Producer`` (pypdf: ``writer.add_metadata``).
GENERATOR = "drp-cli"
#: The marker file of a folder of flat files drp wrote (a bundle has its own).
FOLDER_MARKER = ".drp-folder"
FOLDER_MARKER_TEXT = "Files written by drp; see SHA256SUMS.\n"
#: What ``--force`` may replace, by family: a document only with a document, a backup only
#: with a backup (an export never replaces a backup).
DOCUMENTS = (
    ALERT_FORM,
    CSV_EXPORT,
    JSON_EXPORT,
    EMAIL,
    CALENDAR,
    HTML_PAGE,
    WORKBOOK,
    WORD_DOCUMENT,
    PDF_DOCUMENT,
)
BACKUPS = (JSON_BACKUP, SQLITE_BACKUP)

_JSON_FORMAT = re.compile(rb'\A\s*\{\s*"format"\s*:\s*"(drp-export|drp-backup)"')
_SQLITE_MAGIC = b"SQLite format 3\x00"
_TEXT_MARKS = (
    (re.compile(rb"^X-Mailer: drp-cli\b", re.M | re.I), EMAIL),
    (re.compile(rb"^PRODID:-//drp-cli//", re.M), CALENDAR),
    (re.compile(rb'<meta\s+name="generator"\s+content="drp-cli', re.I), HTML_PAGE),
)
#: ``PRAGMA application_id`` of a SQLite copy made by ``drp backup`` ("drpb").
SQLITE_BACKUP_ID = 0x64727062


def protected_paths(store: Store) -> list[Path]:
    """The paths no output may touch: the SQLite file with its ``-wal``, ``-shm`` and
    ``-journal`` files (none for a server database) and the attachment store."""
    paths: list[Path] = []
    if store.path is not None:
        db = Path(store.path).expanduser()
        paths += [db, *(db.with_name(db.name + s) for s in SIDE_FILES)]
    paths.append(Path(store.attachments_dir).expanduser())
    return paths


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _label(real: Path, original: Path) -> str:
    if original.name.endswith(SIDE_FILES):
        return "a file of drp's database"
    if real.is_dir():
        return "drp's attachment store"
    if real.exists():
        return "drp's database"
    return "drp's record (its database or attachment store)"


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _relation(target: Path, guarded: Path) -> str | None:
    """How ``target`` meets ``guarded`` (both resolved): "is", "holds", "inside" or None."""
    if _same(target, guarded):
        return "is"
    if any(_same(target, p) for p in guarded.parents):
        return "holds"
    if any(_same(p, guarded) for p in target.parents):
        return "inside"
    return None


def check_protected(
    target: str | os.PathLike[str], protected: Iterable[Path], *, what: str, verb: str = "write"
) -> Path:
    """Refuse ``target`` when it is, holds or is inside a protected path; returns it resolved."""
    real = _real(target)
    for original in protected:
        guarded = _real(original)
        relation = _relation(real, guarded)
        if relation is None:
            continue
        label = _label(guarded, Path(original))
        how = {"is": "it is", "holds": "it holds", "inside": "it is inside"}[relation]
        raise InvalidInput(f"will not {verb} the {what} {_shown(target)}: {how} {label}")
    return real


def check_source(source: str | os.PathLike[str], protected: Iterable[Path], *, what: str) -> Path:
    """A file to read from (a restore): not the live database nor inside the attachment
    store (reading the store's folder or a parent folder of it is refused too)."""
    return check_protected(source, protected, what=what, verb="read")


def _shown(path: str | os.PathLike[str]) -> str:
    """A path as a message shows it (control, escape and bidi characters made visible)."""
    return shown_path(path)


def check_output(
    target: str | os.PathLike[str],
    protected: Iterable[Path],
    *,
    force: bool,
    kind: Literal["file", "folder"],
    what: str,
    replaces: Collection[str] | None = None,
) -> Path:
    """Check that drp may write its ``what`` (a ``kind``) to ``target``; returns the
    resolved path to write to. ``replaces``: which of drp's own outputs ``--force`` may
    replace (default: a bundle for a folder, a document for a file)."""
    shown = _shown(target)
    real = check_protected(target, protected, what=what)
    given = Path(os.path.expanduser(os.fspath(target)))
    if not os.path.lexists(given):
        parent = real.parent
        if not parent.is_dir():
            folder = given.parent if str(given.parent) else Path(".")
            if os.path.lexists(folder) and not folder.is_dir():
                raise InvalidInput(f"{_shown(folder)} is not a folder")
            raise InvalidInput(f"folder {_shown(folder)} does not exist")
        return real
    if not force:
        raise InvalidInput(f"{shown} already exists; use {fld('force')} to replace it")
    if not os.path.exists(given):
        raise InvalidInput(f"will not replace {shown}: it is a broken symbolic link")
    default = (BUNDLE,) if kind == "folder" else DOCUMENTS
    accepted = tuple(replaces) if replaces is not None else default
    if kind == "folder":
        if not real.is_dir():
            raise InvalidInput(f"{shown} exists and is not a folder")
        marker = FOLDER_MARKER if FOLDER in accepted else BUNDLE_MARKER
        problem = _bundle_problem(real, marker)
        if problem is not None:
            raise InvalidInput(f"will not replace {shown}: {problem}")
        return real
    mode = os.stat(real).st_mode
    if stat.S_ISDIR(mode):
        raise InvalidInput(f"will not replace {shown}: it is a folder")
    if not stat.S_ISREG(mode):
        raise InvalidInput(f"will not replace {shown}: it is not a regular file")
    found = recognise_file(real)
    if found is None:
        raise InvalidInput(
            f"will not replace {shown}: drp did not write it ({fld('force')} replaces only an "
            f"earlier {_family(accepted)} written by drp)"
        )
    if found not in accepted:
        raise InvalidInput(f"will not replace {shown}: it is a {found} drp wrote, not a {what}")
    return real


def _family(accepted: tuple[str, ...]) -> str:
    if set(accepted) <= set(BACKUPS):
        return "backup"
    if set(accepted) <= set(DOCUMENTS):
        return "document (alert form or export)"
    return " or ".join(accepted)


# -- recognising drp's own outputs ---------------------------------------------------------
def recognise_text(text: str) -> str | None:
    """Which of drp's text outputs ``text`` is (from its first or last line), or None."""
    head = text[:200].encode("utf-8", "replace")
    return _recognise_bytes(head, text[-200:].encode("utf-8", "replace"))


def _recognise_bytes(head: bytes, tail: bytes) -> str | None:
    m = _JSON_FORMAT.match(head)
    if m:
        return JSON_EXPORT if m.group(1) == b"drp-export" else JSON_BACKUP
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(CSV_EXPORT_HEADER.encode()) and b"events" in first.split(b","):
        return CSV_EXPORT
    if tail.rstrip().endswith(ALERT_MARKER.encode()):
        return ALERT_FORM
    return None


def recognise_file(path: Path) -> str | None:
    """Which of drp's file outputs ``path`` (a regular file) is, or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
            size = os.fstat(fh.fileno()).st_size
            if size > 4096:
                fh.seek(max(size - 512, 0))
                tail = fh.read()
            else:
                tail = head
    except OSError:
        return None
    if head.startswith(_SQLITE_MAGIC):
        return SQLITE_BACKUP if _is_sqlite_backup(path, head) else None
    if head.startswith(b"PK\x03\x04"):
        return _recognise_zip(path)
    if head.startswith(b"%PDF-"):
        return _recognise_pdf(path)
    for pattern, kind in _TEXT_MARKS:
        if pattern.search(head):
            return kind
    return _recognise_bytes(head, tail)


def _recognise_zip(path: Path) -> str | None:
    """A workbook or Word document whose creator is drp (``docProps/core.xml``)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            core = z.read("docProps/core.xml")[:8192] if "docProps/core.xml" in names else b""
    except (OSError, zipfile.BadZipFile, KeyError, RuntimeError):
        return None
    if not re.search(
        rb"<dc:creator(\s[^>]*)?>\s*" + GENERATOR.encode() + rb"\s*</dc:creator>", core
    ):
        return None
    if "xl/workbook.xml" in names:
        return WORKBOOK
    if "word/document.xml" in names:
        return WORD_DOCUMENT
    return None


def _recognise_pdf(path: Path) -> str | None:
    """A PDF whose creator or producer is drp (read with pypdf, when it is installed)."""
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf is installed with drp's PDF support
        return None
    try:
        meta: dict[str, object] = dict(PdfReader(path).metadata or {})
        names = (str(meta.get("/Creator", "")), str(meta.get("/Producer", "")))
    except Exception:  # a damaged or encrypted PDF is not one drp wrote
        return None
    return PDF_DOCUMENT if any(n.startswith(GENERATOR) for n in names) else None


def _is_sqlite_backup(path: Path, head: bytes) -> bool:
    """A drp database copy made by ``drp backup``: its application id (header bytes 68-71)
    is :data:`SQLITE_BACKUP_ID`, and it has an Alembic table."""
    if len(head) < 100 or int.from_bytes(head[68:72], "big") != SQLITE_BACKUP_ID:
        return False
    from drp_cli.store.connection import is_drp_file

    return is_drp_file(path)


def _bundle_problem(folder: Path, marker: str = BUNDLE_MARKER) -> str | None:
    """Why ``folder`` is not a bundle (or, with :data:`FOLDER_MARKER`, a folder of files)
    drp wrote (None: it is one, or it is empty)."""
    present: set[str] = set()
    for root, dirs, files in os.walk(folder, followlinks=False):
        base = Path(root)
        for name in dirs:
            if (base / name).is_symlink():
                return "it holds a symbolic link drp did not write"
        for name in files:
            path = base / name
            if path.is_symlink() or not path.is_file():
                return "it holds something drp did not write"
            present.add(path.relative_to(folder).as_posix())
    if not present:
        return None
    if marker not in present or MANIFEST not in present:
        what = "bundle" if marker == BUNDLE_MARKER else "folder of files"
        return f"it is not a {what} drp wrote (only such a folder, or an empty one, is replaced)"
    listed: dict[str, str] = {}
    try:
        for line in (folder / MANIFEST).read_text(encoding="utf-8").splitlines():
            digest, sep, name = line.partition("  ")
            if not sep:
                return "its SHA256SUMS is not one drp wrote"
            listed[name] = digest
    except (OSError, UnicodeDecodeError):
        return "its SHA256SUMS cannot be read"
    if set(listed) != present - {marker, MANIFEST}:
        return "it holds files that are not in its SHA256SUMS (or lacks some listed there)"
    for name, digest in listed.items():
        if file_sha256(folder / name) != digest:
            return "files in it were changed after drp wrote them"
    return None


@dataclass(frozen=True)
class WriteResult:
    path: Path
    #: True when an earlier file drp wrote was replaced (``--force``)
    replaced: bool


def write_file(
    path: str | os.PathLike[str],
    text: str | bytes,
    *,
    protected: Iterable[Path] = (),
    force: bool = True,
    what: str = "file",
) -> WriteResult:
    """Write a document (an alert form, an export, or any of drp's documents as ``bytes``)
    owner-only (0600), atomically.

    Refused (:class:`InvalidInput`) when ``path`` is, holds or lies inside a ``protected``
    path (:func:`drp_cli.adapters.outpaths.protected_paths`), when its folder does not exist, and
    when it exists and is not a document drp wrote (an alert form or an export); without
    ``force``, when it exists at all."""
    protected = list(protected)
    target = check_output(path, protected, force=force, kind="file", what=what, replaces=DOCUMENTS)
    replaced = os.path.lexists(target)
    write_private(target, text)
    return WriteResult(Path(path), replaced)


def write_folder(
    out: str | os.PathLike[str],
    files: Mapping[str, str | bytes],
    *,
    protected: Iterable[Path] = (),
    force: bool = False,
    what: str = "folder of files",
) -> WriteResult:
    """Write ``files`` (relative name -> text or bytes) into the folder ``out``, owner-only
    (0700 folder, 0600 files) and atomically (a staging folder renamed into place), with
    :data:`FOLDER_MARKER` and a ``SHA256SUMS`` manifest so that a later ``--force`` knows
    drp wrote it. ``out`` must not exist, or (``force``) be an empty folder or one drp wrote
    this way; never the database or the attachment store."""
    import shutil

    protected = list(protected)
    target = check_output(out, protected, force=force, kind="folder", what=what, replaces=(FOLDER,))
    parent = target.parent
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        os.chmod(staging, 0o700)
        lines = []
        for name in sorted(files):
            rel = Path(name)
            if rel.is_absolute() or ".." in rel.parts or name in (FOLDER_MARKER, MANIFEST):
                raise InvalidInput(f"will not write {name!r} into a folder")  # a bug, not input
            path = staging / rel
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            data = files[name]
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "wb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            lines.append(f"{file_sha256(path)}  {rel.as_posix()}")
        for name, text in (
            (MANIFEST, "\n".join(lines) + "\n"),
            (FOLDER_MARKER, FOLDER_MARKER_TEXT),
        ):
            fd = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        check_output(out, protected, force=force, kind="folder", what=what, replaces=(FOLDER,))
        replaced = swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return WriteResult(Path(out), replaced)


def swap_in(staging: Path, target: Path) -> bool:
    """Put the finished folder ``staging`` where ``target`` is (both in one folder), the old
    one (already checked as drp's) moved aside first and then removed; True when one was
    replaced. Call :func:`check_output` again just before: the target may have changed."""
    import shutil

    if not target.exists():
        os.replace(staging, target)
        return False
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.replace(target, old / "folder")
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return True
