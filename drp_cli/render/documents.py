"""Documents rendered from Jinja2 templates as Markdown: the alert / dispute resolution form
for a concern's current stage, and the CAFCASS referral bundle.

Templates are looked up in the user's folder (``DRP_TEMPLATES`` or ``--templates``) before
the built-in ones, and for each document ``<protocol>/<name>`` before ``<name>``, so an
authority can use its own wording without touching code. Templates run with
``StrictUndefined``; every value a template prints is escaped for Markdown unless the
template marks it safe, so text a user typed (a summary starting with ``#`` or holding
``|``) stays text.

Escaping is done once, where a value is printed: the environment autoescapes, so what a
template itself produces (a block's ``{{ super() }}``, a macro's or ``caller()``'s output,
a ``{% set %}`` block) is :class:`markupsafe.Markup` and printed as it is, while every other
value goes through :func:`_finalize`, which escapes it for Markdown and returns it as
:class:`Safe` (a ``Markup``, so Jinja's own HTML escaping leaves it alone).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from drp_cli.adapters.outpaths import (
    ALERT_MARKER,
    BUNDLE_MARKER,
    BUNDLE_MARKER_TEXT,
    WriteResult,
    check_output,
    protected_paths,
    swap_in,
    write_file,
)
from drp_cli.core.dates import iso
from drp_cli.core.errors import DrpError, InvalidInput
from drp_cli.core.textsafe import split_lines, visible
from drp_cli.domain import wording
from drp_cli.domain.chain import file_sha256
from drp_cli.domain.protocols import ROLES, SUBJECTS, themes
from drp_cli.domain.views import BUNDLE_ITEMS, administrative, concern_dict, identification
from drp_cli.services import attachments as att
from drp_cli.services import details
from drp_cli.services.tracker import Tracker


class TemplateError(DrpError):
    """A template is missing or broken."""

    exit_code = 4


class Safe(Markup):
    """Text that is already Markdown (made by drp or a filter), printed as it is.

    Any :class:`~markupsafe.Markup` counts as already Markdown: it is what the template
    itself produced (a block, a macro), never a value a user typed."""


_INLINE = re.compile(r"([\\`*_{}\[\]<>|#~])")
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+(?=[.)]))")


def _escape_line_start(m: re.Match[str]) -> str:
    lead, mark = m.group(1), m.group(2)
    if mark[0].isdigit():  # "1." or "1)" starts a list: escape the punctuation after it
        return f"{lead}{mark}\\"
    return f"{lead}\\{mark}"


def _lines(value: Any) -> list[str]:
    """The value's lines, each escaped for Markdown: cut at every kind of line break
    (U+2028, U+2029 and U+0085 too), other control and bidi characters shown as visible
    escapes (``\\x1b``, ``\\u202e``), spaces at either end dropped (leading spaces would
    make code blocks, trailing ones line breaks)."""
    text = "" if value is None else str(value)
    lines = []
    for line in split_lines(text):
        line = visible(line).strip()
        line = line.replace("&", "&amp;")
        line = _INLINE.sub(r"\\\1", line)
        lines.append(_LINE_START.sub(_escape_line_start, line, count=1))
    return lines


def md(value: Any) -> Safe:
    """Escape text for Markdown: it renders as the same characters, never as structure.
    It stays on one line wherever the template puts it (a heading, a table row, a list
    item): line breaks in it become ``<br>``."""
    if isinstance(value, Markup):
        return value if isinstance(value, Safe) else Safe(value)
    return Safe("<br>".join(_trimmed(_lines(value))))


def _trimmed(lines: list[str]) -> list[str]:
    """Without the empty lines at either end."""
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


#: What an empty value shows: a dash, escaped, since a bare "-" starts a list
_EMPTY = "\\-"


def cell(value: Any) -> Safe:
    """Escape text for one table cell: line breaks become <br>; an empty cell shows "-"."""
    if isinstance(value, Markup):
        return Safe("<br>".join(line.strip() for line in value.splitlines()) or _EMPTY)
    return Safe(md(value) or _EMPTY)


def paragraphs(value: Any) -> Safe:
    """Escape multi-line text, keeping its line breaks (as Markdown hard breaks) in one
    paragraph: an empty line is shown as a non-breaking space, so it cannot end the
    paragraph and let the next line start a block of its own."""
    if isinstance(value, Markup):
        return Safe("  \n".join(value.splitlines()))
    lines = _trimmed(_lines(value))
    return Safe("  \n".join(line or "&nbsp;" for line in lines) or _EMPTY)


def long_date(value: Any) -> Safe:
    if value is None:
        return Safe("-")
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return Safe(f"{day:%a} {day.day} {day:%B %Y}")


def short_date(value: Any) -> Safe:
    """A date in a table's narrow column: "3 Mar 2025" (a dash when there is none)."""
    if value is None or value == "":
        return Safe("-")
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return Safe(f"{day.day}\u00a0{day:%b}\u00a0{day:%Y}")


def day_month_year(value: Any) -> Safe:
    """A date without its weekday, as a date of birth is written: "14 March 2015"."""
    from drp_cli.core.dates import in_words

    return Safe(in_words(value))


def stage_short(slug: Any, protocol: Any) -> str:
    """A stage's short name for a narrow column: its title up to the colon ("Stage 2" of
    "Stage 2: Dispute Resolution"), else the whole title."""
    title = stage_title(slug, protocol)
    head, colon, _ = title.partition(":")
    return head if colon and head.strip() else title


def stage_title(slug: Any, protocol: Any) -> str:
    """A stage's title for the reader (its slug if the protocol no longer has it)."""
    text = "" if slug is None else str(slug)
    return str(protocol.stage(text).title) if protocol.has_stage(text) else text


def _finalize(value: Any) -> Any:
    """Every printed value, escaped once: template output (``Markup``) as it is, ``None`` as
    a dash, anything else escaped for Markdown."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Safe("-")
    return md(value)


def template_dirs(user_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    here = Path(__file__).resolve().parent.parent  # the package: drp_cli/
    packaged = here / "templates"
    builtin = packaged if packaged.is_dir() else here.parent / "templates"
    chosen = user_dir if user_dir is not None else os.environ.get("DRP_TEMPLATES")
    dirs = [Path(chosen).expanduser()] if chosen else []
    if dirs and not dirs[0].is_dir():
        raise InvalidInput(f"template folder {dirs[0]} does not exist")
    return [*dirs, builtin]


def environment(user_dir: str | os.PathLike[str] | None = None) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(user_dir)]),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        # template output (blocks, macros) is Markup, so it is never escaped a second time;
        # values are escaped for Markdown by _finalize, and Safe passes Jinja's HTML escape
        autoescape=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        md=md, cell=cell, paragraphs=paragraphs, long_date=long_date, stage_title=stage_title,
        short_date=short_date, stage_short=stage_short, day_month_year=day_month_year,
        event_words=lambda e: wording.event_words(e["kind"], e.get("details")),
    )  # fmt: skip
    env.globals["Safe"] = Safe
    return env


def render(env: Any, protocol: str, name: str, context: dict[str, Any]) -> str:
    import jinja2

    try:
        template = env.select_template([f"{protocol}/{name}", name])
        text: str = template.render(**context)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"template {name!r} not found") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"template {name!r}: {exc.message}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"template {exc.name or name!r} line {exc.lineno}: {exc.message}"
        ) from None
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


# -- context -------------------------------------------------------------------------------
#: A stage's result and the formal process's in words (drp_cli.domain.wording, one place).
RESULT_WORDS = wording.RESULT_WORDS
FORMAL_RESULT_WORDS = wording.FORMAL_RESULT_WORDS


def voice_wishes(concern: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The child's wishes and feelings as the concern's ``wishes-sought`` records give them
    (``drp voice ID wishes-sought --text ...``), in the shape of a wishes item: when, how,
    what the child said. A record without words adds nothing to read."""
    return [
        {"kind": "wishes", "n": None, "obtained_on": e["on"], "text": e["text"],
         "how": "recorded with the dispute resolution process", "added_by": e["by"],
         "from_concern": None}
        for e in concern["events"]
        if e["kind"] == "wishes-sought" and not e.get("retracted") and e["text"].strip()
    ]  # fmt: skip


def authority_name(protocol: Any) -> str:
    """The authority's name on documents: the ``authority`` setting (for the protocol, when
    it names one per protocol), else the protocol's."""
    from drp_cli.core import config

    return config.load().authority(str(protocol.slug)) or str(protocol.authority)


def _context(tracker: Tracker, concern_id: int, on: dt.date) -> dict[str, Any]:
    view = tracker.get(concern_id)
    protocol = tracker.protocols.for_stored(view.protocol)
    cal = tracker.calendar()
    concern = concern_dict(view, protocol, cal, on)
    theme = themes().theme(view.category)
    issue = next((i.text for i in theme.issues if i.slug == view.issue), None)
    all_items = details.items(tracker, concern_id)
    grouped: dict[str, list[dict[str, Any]]] = {k: [] for k in details.KINDS}
    for item in all_items:
        grouped[item.kind].append(item.to_dict())
    # the child's voice as `drp voice ID wishes-sought --text ...` recorded it is wishes and
    # feelings too: one model of the child's voice, whichever command recorded it
    grouped["wishes"] += voice_wishes(concern)
    grouped["wishes"].sort(key=lambda w: str(w.get("obtained_on") or ""))
    # the stage as the concern's route has it (an external agency's letter, say)
    stage = protocol.stage_for(view.stage, view.route) if protocol.has_stage(view.stage) else None
    next_stage = protocol.next_stage(view.stage) if stage else None
    # the clock the form shows for the stage: its own timescale, or the step's that stands
    # for it (a professionals' meeting), said as the source says it: what it is for, how
    # long, counted from when, how binding
    timescale = stage.clock if stage is not None else None
    own = stage is not None and stage.timescale is not None
    step_row = next((s for s in concern.get("steps") or []
                     if stage is not None and s["slug"] == stage.timescale_step), None)  # fmt: skip
    start_step = (
        stage.step(timescale.start) if stage is not None and timescale is not None else None
    )
    starts = {
        "stage": "",
        "escalation": "of the escalation to this stage",
        "previous-outcome": "following the outcome of the previous stage",
    }
    clock = {
        "label": timescale.label if timescale is not None else "Respond by",
        "due": concern["deadline"] if own or timescale is None else (step_row or {}).get("due"),
        "kind": (concern["deadline_kind"] if own or timescale is None else None)
        or (timescale.kind if timescale is not None else "firm"),
        "done_on": None if own or step_row is None else step_row.get("done_on"),
        "timescale": timescale,
        "words": timescale.words if timescale is not None else "",
        "start": (
            f'from the step "{start_step.title}"'
            if start_step is not None
            else starts.get(timescale.start, "")
            if timescale is not None
            else ""
        ),
        "waits_for": start_step.title if start_step is not None else "",
        "kind_word": {"aim": "aim", "guidance": "guidance"}.get(
            timescale.kind if timescale is not None else "", "limit"
        ),
    }
    if own and concern["deadline_kind"] in ("aim", "guidance"):
        clock["kind_word"] = concern["deadline_kind"]
    return {
        "concern": concern,
        # the bundle's: the chronology of substantive events, the administrative ones in an
        # annex, and the child's identification (`drp identify`), shown in the bundle alone
        "chronology": [e for e in concern["events"] if not administrative(e["kind"])],
        "annex": [e for e in concern["events"] if administrative(e["kind"])],
        "identification": identification(view),
        "authority": authority_name(protocol),
        "protocol": protocol,
        "stage": stage,
        "next_stage": next_stage,
        "clock": clock,
        "theme": theme,
        "issue_text": issue,
        "role_title": ROLES.get(view.role, view.role),
        "subject_label": SUBJECTS.get(concern.get("subject") or "child", SUBJECTS["child"]),
        "result_words": RESULT_WORDS,
        "formal_result_words": FORMAL_RESULT_WORDS,
        "actions": grouped["action"],
        "professionals": grouped["professional"],
        "important_people": grouped["important-person"],
        "wishes": grouped["wishes"],
        "needs": grouped["needs"],
        "generated_on": iso(on),
    }


def alert(
    tracker: Tracker,
    concern_id: int,
    *,
    on: dt.date | str | None = None,
    templates: str | os.PathLike[str] | None = None,
) -> str:
    """The alert / challenge / dispute resolution form for the concern's current stage."""
    day = tracker.judge_day(on)
    context = _context(tracker, concern_id, day)
    text = render(environment(templates), context["protocol"].slug, "alert.md.j2", context)
    # the last line tells `--force` later that drp wrote the file (invisible when rendered)
    return f"{text}\n{ALERT_MARKER}\n"


def write_alert(
    tracker: Tracker,
    concern_id: int,
    output: str | os.PathLike[str],
    *,
    force: bool = False,
    on: dt.date | str | None = None,
    templates: str | os.PathLike[str] | None = None,
) -> WriteResult:
    """Render the alert form and write it to ``output`` (see :func:`write_file`), never over
    the database or into the attachment store."""
    protected = protected_paths(tracker.store)
    check_output(output, protected, force=force, kind="file", what="alert form")
    text = alert(tracker, concern_id, on=on, templates=templates)
    return write_file(output, text, protected=protected, force=force, what="alert form")


# -- the CAFCASS bundle -------------------------------------------------------------------
def referral_of(c: Mapping[str, Any]) -> dict[str, Any] | None:
    """The CAFCASS referral that counts (not retracted), its text the reason as corrected
    (`drp amend --referral-reason`)."""
    found = next((e for e in c["events"] if e["kind"] == "referred" and not e.get("retracted")),
                 None)  # fmt: skip
    if found is None:
        return None
    return {**found, "text": c.get("referral_reason") or found["text"]}


#: Where the list of what should accompany a referral comes from (the same list in both).
BUNDLE_SOURCE = (
    "IRO Dispute Resolution Process (NSCB 11.3.4), §1.2 item 7; the same list is in the "
    "Independent Chair Service Concerns Resolution Process (Nottinghamshire, v6)"
)
BUNDLE_FILES = {
    "iro-report": "01-iro-report.md",
    "statement-of-issues": "02-statement-of-issues.md",
    "chronology": "03-chronology.md",  # drp's record of the process, not the case chronology
    "wishes-and-feelings": "04-wishes-and-feelings.md",
    "professionals": "05-professionals.md",
    "important-people": "06-important-people.md",
    "diversity-and-communication": "07-diversity-and-communication.md",
}


@dataclass(frozen=True)
class BundleResult:
    path: Path
    files: list[str]
    missing: list[str]
    #: True when an earlier bundle drp wrote was replaced (``--force``)
    replaced: bool = False


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def _key(f: att.AttachmentView) -> tuple[int, int]:
    """An attachment among the child's: the concern it was attached to (0: this one), its
    number there."""
    return (f.from_concern or 0, f.n)


def _safe_name(n: int, kind: str, filename: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-.") or "file"
    return f"{n:02d}-{kind}-{stem}"[:120]


def checklist(
    context: dict[str, Any], files: list[att.AttachmentView], window_start: dt.date
) -> list[dict[str, Any]]:
    """Every item that should accompany a referral (:data:`BUNDLE_ITEMS`, from
    :data:`BUNDLE_SOURCE`), in that order, each present, missing (with what is missing, in
    words for the reader) or marked not applicable (with the IRO's reason).

    The chronology the source means is the chronology of the child's case, an attached
    document; drp's own record of the process is supporting material, not that item."""
    c = context["concern"]
    not_applicable: dict[str, str] = c.get("not_applicable") or {}

    def of_kind(kind: str) -> list[att.AttachmentView]:
        return [f for f in files if f.kind == kind]

    def newest(kind: str) -> list[att.AttachmentView]:
        found = of_kind(kind)
        if not found:
            return []
        return [max(found, key=lambda f: (f.dated or dt.date.min, f.n))]

    reviews = [f for f in of_kind("review-record") if f.dated and f.dated >= window_start]
    referral = referral_of(c)
    why_now = bool(referral and referral["text"].strip())
    found: dict[str, dict[str, Any]] = {
        "care-order": {"files": of_kind("care-order")},
        "final-care-plan": {"files": of_kind("final-care-plan")},
        "guardian-report": {"files": of_kind("guardian-report")},
        "review-records": {
            "files": reviews,
            "why_missing": "no review record dated in the 12 months before the referral",
        },
        "iro-report": {
            "generated": BUNDLE_FILES["iro-report"],
            "present": why_now,
            "why_missing": "the reason for referring now is not recorded",
        },
        "wishes-feelings": {
            "generated": BUNDLE_FILES["wishes-and-feelings"],
            "present": bool(context["wishes"]) or c["child_wishes"] == "not-sought",
            "why_missing": "no wishes and feelings recorded",
        },
        "professionals": {
            "generated": BUNDLE_FILES["professionals"],
            "present": bool(context["professionals"]),
            "why_missing": "no professionals recorded",
        },
        "case-chronology": {
            "files": of_kind("case-chronology"),
            "why_missing": "no chronology of the child's case attached",
        },
        "statement-of-issues": {
            "generated": BUNDLE_FILES["statement-of-issues"],
            "present": True,
        },
        "important-people": {
            "generated": BUNDLE_FILES["important-people"],
            "present": bool(context["important_people"]),
            "why_missing": "no important people recorded",
        },
        "diversity": {
            "generated": BUNDLE_FILES["diversity-and-communication"],
            "present": bool(context["needs"]),
            "why_missing": "no diversity issues or communication needs recorded",
        },
        "care-plan": {"files": newest("care-plan")},
    }
    items: list[dict[str, Any]] = []
    for slug, title in BUNDLE_ITEMS.items():
        entry = {"slug": slug, "item": title, **found.get(slug, {})}
        if "files" in entry:
            entry["present"] = bool(entry["files"])
            entry.setdefault("why_missing", "no document attached")
        entry.setdefault("files", [])
        entry.setdefault("generated", None)
        entry.setdefault("present", False)
        entry.setdefault("why_missing", "not provided")
        reason = not_applicable.get(slug)
        entry["not_applicable"] = reason if reason is not None and not entry["present"] else None
        if entry["present"] or entry["not_applicable"] is not None:
            entry["why_missing"] = ""
        items.append(entry)
    return items


@dataclass
class BundleContent:
    """What goes into a CAFCASS referral bundle, rendered once for both of its forms (the
    Markdown folder of :func:`bundle` and the PDF of :mod:`drp_cli.render.pdfbundle`): the
    templates' context (with the checklist), the documents included and left out, and the
    sections as Markdown (file name -> text, :data:`BUNDLE_FILES` order)."""

    context: dict[str, Any]
    #: the checklist (:func:`checklist`), each entry with ``file_names`` in the folder
    items: list[dict[str, Any]]
    #: the attached documents in the bundle, each with its file name in the folder
    included: list[tuple[att.AttachmentView, str]]
    left_out: list[att.AttachmentView]
    #: ``index.md`` and the sections, Markdown, by their file names in the folder
    documents: dict[str, str]
    env: Any
    day: dt.date

    @property
    def protocol(self) -> str:
        return str(self.context["concern"]["protocol"])

    @property
    def missing(self) -> list[str]:
        """The checklist's items that are neither present nor marked not applicable."""
        return [e["item"] for e in self.items if not e["present"] and e["not_applicable"] is None]


def bundle_content(
    tracker: Tracker,
    concern_id: int,
    *,
    on: dt.date | str | None = None,
    templates: str | os.PathLike[str] | None = None,
) -> BundleContent:
    """Everything in the concern's CAFCASS referral bundle, rendered (nothing written)."""
    day = tracker.judge_day(on)
    context = _context(tracker, concern_id, day)
    c = context["concern"]
    referred_on = (
        dt.date.fromisoformat(c["referred_to_cafcass_on"]) if c["referred_to_cafcass_on"] else None
    )
    anchor = referred_on or day
    window_start = _months_before(anchor, 12)
    # the child's documents: the concern's own keep their numbers, those attached to the
    # child's other concerns are numbered after them (the store holds every file by SHA-256)
    files = att.attachments(tracker, concern_id)
    own = [f for f in files if f.from_concern is None]
    others = [f for f in files if f.from_concern is not None]
    last = max((f.n for f in own), default=0)
    numbers = {_key(f): f.n for f in own} | {_key(f): last + i for i, f in enumerate(others, 1)}
    included: list[tuple[att.AttachmentView, str]] = []
    left_out: list[att.AttachmentView] = []
    for f in files:
        if f.kind == "review-record" and (f.dated is None or f.dated < window_start):
            left_out.append(f)
        else:
            name = _safe_name(numbers[_key(f)], f.kind, f.filename)
            included.append((f, "attachments/" + name))
    items = checklist(context, [f for f, _ in included], window_start)
    names = {_key(f): name for f, name in included}
    for entry in items:
        entry["file_names"] = [names[_key(f)] for f in entry["files"]]
    context.update(
        checklist=items,
        included=[{**f.to_dict(), "path": name} for f, name in included],
        left_out=[f.to_dict() for f in left_out],
        window_start=iso(window_start),
        anchor=iso(anchor),
        referral=referral_of(c),
        files=BUNDLE_FILES,
        kind_titles=att.KINDS,
        bundle_source=BUNDLE_SOURCE,
    )
    env = environment(templates)
    documents = {"index.md": render(env, c["protocol"], "bundle/index.md.j2", context)}
    for key, filename in BUNDLE_FILES.items():
        documents[filename] = render(env, c["protocol"], f"bundle/{key}.md.j2", context)
    return BundleContent(context, items, included, left_out, documents, env, day)


def check_bundle_folder(
    tracker: Tracker, out: str | os.PathLike[str], *, force: bool = False
) -> None:
    """Refuse (:class:`InvalidInput`) a folder :func:`bundle` would refuse, before anything
    is written (so ``drp bundle -o DIR --pdf FILE`` writes both or neither)."""
    check_output(out, protected_paths(tracker.store), force=force, kind="folder", what="bundle")


def bundle(
    tracker: Tracker,
    concern_id: int,
    out: str | os.PathLike[str],
    *,
    force: bool = False,
    on: dt.date | str | None = None,
    templates: str | os.PathLike[str] | None = None,
    content: BundleContent | None = None,
) -> BundleResult:
    """Write the CAFCASS referral bundle to the folder ``out``, atomically, owner-only.

    ``out`` may not be, hold or lie inside the database or the attachment store; with
    ``force`` it replaces only an earlier bundle drp wrote (or an empty folder). ``content``:
    the bundle already rendered (:func:`bundle_content`), so that the folder and the PDF
    are the same bundle."""
    shown = Path(out)
    protected = protected_paths(tracker.store)
    target = check_output(out, protected, force=force, kind="folder", what="bundle")
    if content is None:
        content = bundle_content(tracker, concern_id, on=on, templates=templates)

    parent = target.parent
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        os.chmod(staging, 0o700)
        for filename, text in content.documents.items():
            _write_private(staging / filename, text)
        if content.included:
            (staging / "attachments").mkdir(mode=0o700)
            for f, name in content.included:
                att.copy_out(f, staging / name)
        manifest_lines = []
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            rel = path.relative_to(staging).as_posix()
            manifest_lines.append(f"{file_sha256(path)}  {rel}")
        _write_private(staging / "SHA256SUMS", "\n".join(manifest_lines) + "\n")
        _write_private(staging / BUNDLE_MARKER, BUNDLE_MARKER_TEXT)
        # checked again just before the old folder goes: it may have changed meanwhile
        check_output(out, protected, force=force, kind="folder", what="bundle")
        replaced = swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    written = sorted(
        p.relative_to(target).as_posix()
        for p in target.rglob("*")
        if p.is_file() and p.name != BUNDLE_MARKER
    )
    return BundleResult(shown, written, content.missing, replaced)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
