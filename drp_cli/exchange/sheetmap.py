"""A council's spreadsheet as drp's rows: the map file (``drp import FILE --map MAP``) and the
starting map drp suggests (``--suggest-map``).

A map is a TOML file::

    [sheet]
    name = "Challenge log"          # the sheet to read (default: the first)
    date_format = "%d/%m/%Y"        # dates typed as text (a list is allowed); Excel's date
                                    # cells are dates whatever this says
    [columns]                       # drp's field = the sheet's column
    child = "Child ID"
    opened_on = "Date raised"
    [defaults]                      # a field no column holds: the same for every row
    protocol = "west-sussex"
    [values.status]                 # the sheet's word = drp's
    "Closed" = "resolved"
    [values.stage.west-sussex]      # stages by protocol ([values.stage] for any protocol)
    "Stage 1" = "stage-1"
    [values.category]
    "Care Plan" = "care-plan"
    [values.yes_no]                 # what a yes/no cell says (referred_on may hold one)
    "Y" = true

Words are matched trimmed and whatever their case. A word the map does not name is taken
when it is drp's own slug or title ("Stage 1" is west-sussex's ``stage-1``, "Resolved" is
``resolved``). Columns the map does not use are kept on each concern as an imported note
(``--ignore-extra``, or ``ignore_extra = true`` under ``[sheet]``, leaves them out). Blank
rows, and rows that say "Total" with no child, are skipped and counted.

The map ``--suggest-map`` writes takes a column whose header is a field's own name
(``opened_on``, "Opened on") before any synonym, and its ``date_format`` is the sheet's: the
forms its dates typed as text are in (ISO, day/month/year with the separators seen), never
month/day/year (a date typed month first leaves ``date_format = "CHOOSE"``, which the import
refuses until it is edited).

No message here quotes a cell: it names the row, the column and the kind of value expected.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drp_cli.core.errors import InvalidInput
from drp_cli.domain.protocols import match_word, registry, themes, word_slug
from drp_cli.exchange.sheets import Table, is_workbook, open_table
from drp_cli.exchange.sources import MAX_MAP, shown

#: drp's fields a column may hold (as ``drp import`` takes them; ``notes`` are free text kept
#: as an imported note; ``response`` and ``responded_on``: the manager's latest response).
FIELDS = (
    "external_ref", "protocol", "child", "category", "issue", "summary", "impact",
    "recommended", "raised_by", "role", "opened_on", "stage", "stage_started_on",
    "formal_started_on", "due", "status", "referred_on", "closed_on", "outcome",
    "response", "responded_on", "notes", "owner", "team",
)  # fmt: skip
DATE_FIELDS = ("opened_on", "stage_started_on", "formal_started_on", "due", "referred_on",
               "closed_on", "responded_on")  # fmt: skip
#: The fields whose words the map translates.
WORD_FIELDS = ("protocol", "status", "stage", "category", "issue", "role")
STATUSES = ("open", "resolved", "withdrawn")
ISO_FORMAT = "%Y-%m-%d"
DEFAULT_DATE_FORMATS = (ISO_FORMAT, "%d/%m/%Y")
YES = ("yes", "y", "true")
NO = ("no", "n", "false", "n/a", "na", "none", "-")
_TOTAL = re.compile(r"^(grand\s+)?(sub\s*)?totals?\s*:?$", re.I)
MAP_KEYS = ("sheet", "columns", "defaults", "values")


#: How a word is matched, and a word as a slug: the domain's one rule (domain.protocols).
word = match_word
_slug = word_slug


# -- the map -------------------------------------------------------------------------------
@dataclass
class SheetMap:
    columns: dict[str, str] = field(default_factory=dict)  # field -> header
    defaults: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> word -> slug
    stages: dict[str, dict[str, str]] = field(default_factory=dict)  # protocol|"" -> word -> slug
    yes_no: dict[str, bool] = field(default_factory=dict)
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    sheet: str | None = None
    ignore_extra: bool = False


def _where(path: Path, key: str) -> str:
    return f"map {shown(path)}, {key}"


def load_map(path: str | os.PathLike[str]) -> SheetMap:
    """Read and check a map file (every mistake in it is named by its key)."""
    from drp_cli.core.files import read_regular

    path = Path(path)
    try:
        raw = read_regular(path, what=f"the map {shown(path)}", limit=MAX_MAP)
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read the map {shown(path)}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the map {shown(path)} is not valid TOML: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"the map {shown(path)} is nested too deeply to be a map") from None
    _no_choose_left(data, path)
    unknown = [k for k in data if k not in MAP_KEYS]
    if unknown:
        raise InvalidInput(f"{_where(path, unknown[0])}: not a part of a map; parts: "
                           f"{', '.join(MAP_KEYS)}")  # fmt: skip
    m = SheetMap()
    sheet = _table(data, "sheet", path)
    for key, value in sheet.items():
        if key == "name":
            m.sheet = _str(value, path, "sheet.name")
        elif key == "date_format":
            formats = [value] if isinstance(value, str) else value
            if (
                not isinstance(formats, list)
                or not formats
                or not all(isinstance(f, str) and "%" in f for f in formats)
            ):
                raise InvalidInput(f"{_where(path, 'sheet.date_format')}: give a format such as "
                                   '"%d/%m/%Y", or a list of them')  # fmt: skip
            m.date_formats = tuple(formats)
        elif key == "ignore_extra":
            if not isinstance(value, bool):
                raise InvalidInput(f"{_where(path, 'sheet.ignore_extra')}: true or false")
            m.ignore_extra = value
        else:
            raise InvalidInput(f"{_where(path, 'sheet.' + key)}: not a setting; settings: "
                               "name, date_format, ignore_extra")  # fmt: skip
    for part, target in (("columns", m.columns), ("defaults", m.defaults)):
        for name, value in _table(data, part, path).items():
            if name not in FIELDS:
                raise InvalidInput(f"{_where(path, f'{part}.{name}')}: not a drp field; "
                                   f"fields: {', '.join(FIELDS)}")  # fmt: skip
            target[name] = _str(value, path, f"{part}.{name}")
    for name, table in _table(data, "values", path).items():
        key = f"values.{name}"
        if not isinstance(table, dict):
            raise InvalidInput(f"{_where(path, key)}: a table of the sheet's words")
        if name == "yes_no":
            for w, v in table.items():
                if not isinstance(v, bool):
                    raise InvalidInput(f"{_where(path, key)}: each word = true or false")
                m.yes_no[word(w)] = v
        elif name == "stage":
            for w, v in table.items():
                if isinstance(v, dict):  # [values.stage.PROTOCOL]
                    m.stages[w] = {word(k): _str(s, path, f"{key}.{w}") for k, s in v.items()}
                else:
                    m.stages.setdefault("", {})[word(w)] = _str(v, path, key)
        elif name in WORD_FIELDS:
            m.values[name] = {word(w): _str(v, path, key) for w, v in table.items()}
        else:
            raise InvalidInput(f"{_where(path, key)}: words are mapped for "
                               f"{', '.join((*WORD_FIELDS, 'yes_no'))}")  # fmt: skip
    _check_targets(m, path)
    return m


CHOOSE = "CHOOSE"
#: ``formal_started_on = "infer"`` under ``[defaults]``: no column holds the formal
#: process's start, and drp is to date it from the current stage's start (said, not warned).
INFER = "infer"


def _no_choose_left(data: Mapping[str, Any], path: Path) -> None:
    """A suggested map's CHOOSE still in it: refused, naming the first such key."""
    for part in ("sheet", "columns", "defaults", "values"):
        stack: list[tuple[str, Any]] = [(part, data.get(part))]
        while stack:
            key, value = stack.pop(0)
            if isinstance(value, dict):
                stack += [(f"{key}.{k}", v) for k, v in value.items()]
            elif isinstance(value, str) and value.strip().upper().startswith(CHOOSE):
                raise InvalidInput(
                    f"{_where(path, key)}: still says CHOOSE; edit that line to say what the "
                    "sheet holds (or delete it), then import again"
                )


def _table(data: Mapping[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InvalidInput(f"{_where(path, key)}: must be a table ([{key}])")
    return value


def _str(value: Any, path: Path, key: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{_where(path, key)}: must be text in quotes")
    return value


def _check_targets(m: SheetMap, path: Path) -> None:
    """Every word the map gives must become one of drp's own."""
    reg = registry()
    allowed: dict[str, set[str]] = {
        "protocol": set(reg.protocols),
        "status": set(STATUSES),
        "category": {t.slug for t in themes().themes},
        "issue": {i.slug for t in themes().themes for i in t.issues},
        "role": {r for p in reg.protocols.values() for r in p.roles},
    }
    for name, table in m.values.items():
        for w, target in table.items():
            if target and target not in allowed[name]:
                raise InvalidInput(f"{_where(path, 'values.' + name)}: {w!r} maps to something "
                                   f"that is not a {name} drp knows; allowed: "
                                   f"{', '.join(sorted(allowed[name]))}")  # fmt: skip
    for proto, table in m.stages.items():
        stages = (set(reg.protocols[proto].stage_slugs) if proto in reg.protocols
                  else {s for p in reg.protocols.values() for s in p.stage_slugs})  # fmt: skip
        key = f"values.stage.{proto}" if proto else "values.stage"
        if proto and proto not in reg.protocols:
            raise InvalidInput(f"{_where(path, key)}: not an installed protocol; installed: "
                               f"{', '.join(sorted(reg.protocols))}")  # fmt: skip
        for w, target in table.items():
            if target and target not in stages:
                raise InvalidInput(f"{_where(path, key)}: {w!r} maps to something that is not "
                                   f"a stage of {proto or 'any protocol'}")  # fmt: skip
    if m.defaults.get("formal_started_on", INFER) != INFER:
        raise InvalidInput(f"{_where(path, 'defaults.formal_started_on')}: only \"{INFER}\" "
                           "(date the formal process from the current stage's start); a column "
                           "that holds it goes under [columns]")  # fmt: skip
    for name, value in m.defaults.items():
        if name in allowed and value not in allowed[name]:
            raise InvalidInput(f"{_where(path, 'defaults.' + name)}: not a {name} drp knows; "
                               f"allowed: {', '.join(sorted(allowed[name]))}")  # fmt: skip


# -- reading rows through a map ------------------------------------------------------------
@dataclass
class Counts:
    blank: int = 0
    total: int = 0
    #: rows at a formal stage after the first that give no formal start: drp dates the
    #: formal process from the current stage's start (a warning, unless the map says infer)
    formal_inferred: int = 0


class MappedSource:
    """The rows of a table as drp's import rows (drp's field names, ISO dates, drp's slugs),
    read afresh at each :meth:`rows` call. A row the map cannot translate carries its
    problems under the key ``_problems`` (each "column NAME: message"), so that the import
    lists them with everything else and writes nothing."""

    fmt = "sheet"

    def __init__(self, table: Table, m: SheetMap, *, ignore_extra: bool = False,
                 suggesting: bool = False) -> None:  # fmt: skip
        self.table, self.map = table, m
        self.ignore_extra = ignore_extra or m.ignore_extra
        self._iso = ISO_FORMAT in m.date_formats
        self.closures: list[tuple[dt.date, str]] = []
        self.counts = Counts()
        index = {word(h): i for i, h in enumerate(table.header) if h}
        self.where: dict[str, int] = {}
        missing = []
        for name, header in m.columns.items():
            i = index.get(word(header))
            if i is None:
                missing.append(header)
            else:
                self.where[name] = i
        if missing:
            raise InvalidInput(
                f"{shown(table.path)}: the map names column{'s' if len(missing) > 1 else ''} "
                f"the sheet does not have: {', '.join(repr(h) for h in missing)}; its columns: "
                f"{', '.join(repr(h) for h in table.header if h)}"
            )
        lacking = [f for f in REQUIRED if f not in self.where and f not in m.defaults]
        if lacking and not suggesting:
            raise InvalidInput(
                f"{shown(table.path)}: no column holds {', '.join(lacking)}; write a map that says "
                f"which do (`drp import {shown(table.path.name)} --suggest-map` starts one)"
            )
        used = set(self.where.values())
        self.extra = [(i, h) for i, h in enumerate(table.header) if h and i not in used]
        reg = registry()
        self.protocols = reg.protocols
        self._themes = themes()
        #: per protocol, its formal stages after the first (where a formal start is inferred)
        self._later_formal: dict[str, set[str]] = {}
        if "formal_started_on" not in m.columns and m.defaults.get("formal_started_on") != INFER:
            for slug, p in reg.protocols.items():
                formal = [s.slug for s in p.stages if s.formal]
                self._later_formal[slug] = set(formal[1:])

    def header_of(self, name: str) -> str:
        return self.table.header[self.where[name]] if name in self.where else name

    def rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        counts = Counts()
        for number, cells in self.table.rows():
            if not any(_filled(c) for c in cells):
                counts.blank += 1
                continue
            if self._is_total(cells):
                counts.total += 1
                continue
            row = self.row(cells)
            if self._later_formal and row.get("stage") in self._later_formal.get(
                row.get("protocol", ""), ()
            ):
                counts.formal_inferred += 1
            yield f"row {number}", row
        self.counts = counts

    def _is_total(self, cells: list[Any]) -> bool:
        child = self.where.get("child")
        if child is not None and _filled(cells[child]):
            return False
        return any(isinstance(c, str) and _TOTAL.match(c.strip()) for c in cells)

    def row(self, cells: list[Any]) -> dict[str, Any]:
        problems: list[str] = []
        out: dict[str, Any] = {}
        for name in FIELDS:
            i = self.where.get(name)
            value: Any = cells[i] if i is not None else self.map.defaults.get(name, "")
            if value == INFER and i is None:
                value = ""
            out[name] = value
        for name in DATE_FIELDS:
            out[name] = self._date(name, out[name], problems)
        protocol = self._word("protocol", out["protocol"], problems)
        out["protocol"] = protocol
        out["status"] = self._word("status", out["status"], problems)
        if "status" not in self.where and "status" not in self.map.defaults:
            # no status column: closed where the row has a closing date, else open; not a
            # value the row gave, so a re-import does not compare it
            out["status"] = "resolved" if out["closed_on"] else "open"
            out["_defaulted"] = ["status"]
        out["category"] = self._word("category", out["category"], problems)
        out["issue"] = self._word("issue", out["issue"], problems)
        out["role"] = self._word("role", out["role"], problems)
        out["stage"] = self._stage(protocol, out["stage"], problems)
        for name in FIELDS:
            if name not in DATE_FIELDS and not isinstance(out[name], str):
                out[name] = _number_text(out[name])
        if not self.ignore_extra and self.extra:
            lines = [f"{h}: {_cell_text(cells[i])}" for i, h in self.extra if _filled(cells[i])]
            if lines:
                extra = "From the spreadsheet:\n" + "\n".join(lines)
                out["notes"] = f"{out['notes']}\n{extra}" if out.get("notes") else extra
        out = {k: v for k, v in out.items() if v not in ("", None, [])}
        if problems:
            out["_problems"] = problems
            out["_bad"] = [f for f in FIELDS if any(f"({f})" in p or p.startswith(
                f"column {f!r}") for p in problems)]  # fmt: skip
        return out

    # the cells -------------------------------------------------------------------------
    def _column(self, name: str) -> str:
        return f"column {self.header_of(name)!r}" + (
            f" ({name})" if self.header_of(name) != name else ""
        )

    def _date(self, name: str, value: Any, problems: list[str]) -> str:
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        text = _cell_text(value)
        if not text:
            return ""
        if name == "referred_on":
            yes = self.map.yes_no.get(word(text))
            if yes is None:
                yes = True if word(text) in YES else False if word(text) in NO else None
            if yes is False:
                return ""
            if yes is True:
                problems.append(f"{self._column(name)}: says referred but gives no date "
                                "(drp needs the date of the referral)")  # fmt: skip
                return ""
        if len(text) == 10 and text[4] == "-" and text[7] == "-" and self._iso:
            try:  # the commonest, a hundred times faster than strptime
                return dt.date.fromisoformat(text).isoformat()
            except ValueError:
                pass
        for fmt in self.map.date_formats:
            try:
                return dt.datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
        shown = " or ".join(_format_shown(f) for f in self.map.date_formats)
        problems.append(f"{self._column(name)}: is not a date (expected {shown}, or a date cell)")
        return ""

    def _word(self, name: str, value: Any, problems: list[str]) -> str:
        text = _cell_text(value)
        if not text:
            return ""
        w = word(text)
        mapped = self.map.values.get(name, {}).get(w)
        if mapped:
            return mapped
        own = self._own_words(name)
        if w in own:
            return own[w]
        if _slug(text) in own:
            return own[_slug(text)]
        problems.append(
            f"{self._column(name)}: is not a {name} drp knows and the map does not say which "
            f"it is (add it under [values.{name}]; allowed: {', '.join(sorted(set(own.values())))})"
        )
        return ""

    def _own_words(self, name: str) -> dict[str, str]:
        if name == "status":
            return {s: s for s in STATUSES}
        if name == "protocol":
            return {**{word(p.title): s for s, p in self.protocols.items()},
                    **{s: s for s in self.protocols}}  # fmt: skip
        if name == "category":
            return {**{word(t.title): t.slug for t in self._themes.themes},
                    **{t.slug: t.slug for t in self._themes.themes}}  # fmt: skip
        if name == "issue":
            return {**{word(i.text): i.slug for t in self._themes.themes for i in t.issues},
                    **{i.slug: i.slug for t in self._themes.themes for i in t.issues}}  # fmt: skip
        if name == "role":
            return {r: r for p in self.protocols.values() for r in p.roles}
        raise AssertionError(name)

    def _stage(self, protocol: str, value: Any, problems: list[str]) -> str:
        text = _cell_text(value)
        if not text:
            return ""
        w = word(text)
        for key in (protocol, ""):
            mapped = self.map.stages.get(key, {}).get(w)
            if mapped:
                return mapped
        p = self.protocols.get(protocol)
        if p is None:
            return text  # the protocol's own problem is reported
        found = p.stage_named(text)
        if found:
            return found
        problems.append(
            f"{self._column('stage')}: is not a stage of {protocol} and the map does not say "
            f"which it is (add it under [values.stage.{protocol}]; stages: "
            f"{', '.join(p.stage_slugs)})"
        )
        return ""


def _filled(value: Any) -> bool:
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


def _number_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _cell_text(value: Any) -> str:
    return _number_text(value).strip() if not isinstance(value, str) else value.strip()


def _format_shown(fmt: str) -> str:
    return (fmt.replace("%d", "dd").replace("%m", "mm").replace("%Y", "yyyy")
            .replace("%y", "yy").replace("%b", "Mon").replace("%B", "Month"))  # fmt: skip


def mapped_source(
    path: str | os.PathLike[str],
    map_path: str | os.PathLike[str] | None,
    *,
    sheet: str | None = None,
    ignore_extra: bool = False,
) -> MappedSource:
    """The table at ``path`` read through the map at ``map_path`` (no map: the sheet's
    headers are drp's field names)."""
    m = load_map(map_path) if map_path is not None else SheetMap()
    # a map made for the workbook serves its CSV copy too: only a workbook has sheets
    table = open_table(path, sheet=sheet or (m.sheet if is_workbook(path) else None))
    if map_path is None:
        names = {word(f): f for f in FIELDS}
        m.columns = {names[word(h)]: h for h in table.header if word(h) in names}
    return MappedSource(table, m, ignore_extra=ignore_extra)


# -- suggesting a map ----------------------------------------------------------------------
#: Headers councils use for each field (matched like words; a header that is drp's field
#: name, with spaces or underscores, matches too).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_ref": (
        "ref",
        "ref no",
        "reference",
        "ref number",
        "id",
        "challenge id",
        "drp ref",
        "log ref",
        "case ref",
        "challenge ref",
    ),
    "protocol": ("protocol", "process", "service", "procedure"),
    "child": (
        "child",
        "child id",
        "child ref",
        "child reference",
        "lcs id",
        "mosaic id",
        "liquidlogic id",
        "child no",
        "child number",
        "cin",
        "person id",
    ),
    "category": (
        "category",
        "theme",
        "area of concern",
        "type",
        "concern type",
        "type of concern",
        "issue type",
    ),
    "issue": ("issue", "sub theme", "subtheme", "sub-theme", "specific issue", "detail"),
    "summary": (
        "summary",
        "concern",
        "description",
        "details of concern",
        "issue raised",
        "concern raised",
        "nature of concern",
    ),
    "impact": ("impact", "impact on child", "impact on the child"),
    "recommended": (
        "recommended",
        "recommended action",
        "action required",
        "recommendation",
        "action requested",
    ),
    "raised_by": ("raised by", "iro", "iro name", "chair", "cp chair", "raised by iro"),
    "role": ("role",),
    "opened_on": (
        "opened on",
        "date raised",
        "date opened",
        "raised on",
        "date of concern",
        "date",
        "start date",
        "date logged",
    ),
    "stage": ("stage", "current stage", "stage reached", "level", "current level"),
    "stage_started_on": (
        "stage started",
        "stage date",
        "date of current stage",
        "stage start",
        "date escalated",
        "escalated on",
        "stage started on",
    ),
    "formal_started_on": ("formal started", "formal start", "date formal"),
    "due": ("due", "due date", "response due", "deadline", "respond by"),
    "status": ("status", "state", "open/closed", "outcome status"),
    "referred_on": (
        "referred on",
        "referred to cafcass",
        "cafcass referral",
        "cafcass referral date",
        "cafcass",
        "date referred to cafcass",
    ),
    "closed_on": (
        "closed on",
        "date resolved",
        "date closed",
        "resolved on",
        "closed date",
        "resolution date",
        "end date",
    ),
    "outcome": ("outcome", "resolution", "result", "outcome of challenge"),
    "response": ("response", "manager response", "response received"),
    "responded_on": ("responded on", "date of response", "response date"),
    "owner": ("owner", "allocated iro", "iro allocated", "held by"),
    "team": ("team", "iro team", "service area"),
}


@dataclass
class Suggestion:
    text: str  # the map, as TOML
    columns: dict[str, str]  # field -> header
    unmapped: dict[str, list[str]]  # "status", "stage.PROTOCOL", ... -> the sheet's words
    unused: list[str]  # headers no field takes (kept as notes)
    missing: list[str]  # required fields no column holds


REQUIRED = ("protocol", "child", "category", "summary", "opened_on", "stage",
            "stage_started_on")  # fmt: skip
MAX_WORDS = 200  # distinct words listed per field


def suggest(path: str | os.PathLike[str], *, sheet: str | None = None,
            protocol: str | None = None) -> Suggestion:  # fmt: skip
    """A starting map for the table at ``path``: columns guessed from their headers, and
    every word of the word columns mapped where drp knows it, listed where it does not."""
    table = open_table(path, sheet=sheet)
    columns = _columns_named(table.header)
    m = SheetMap(columns=dict(columns))
    defaults: dict[str, str] = {}
    if "protocol" not in columns:
        defaults["protocol"] = protocol or "CHOOSE: " + ", ".join(sorted(registry().protocols))
        m.defaults["protocol"] = protocol or ""
    src = MappedSource(table, m, suggesting=True)
    seen: dict[str, dict[str, str]] = {}  # key -> word -> first spelling
    dates = DateForms()
    dated = [src.where[n] for n in DATE_FIELDS if n in src.where]
    counts = Counts()
    for number, cells in table.rows():
        if not any(_filled(c) for c in cells):
            counts.blank += 1
            continue
        if src._is_total(cells):
            counts.total += 1
            continue
        for i in dated:
            if isinstance(cells[i], str):
                dates.add(cells[i], number)
        proto = ""
        if "protocol" in src.where:
            proto = src._word("protocol", cells[src.where["protocol"]], [])
        else:
            proto = protocol or ""
        for name in (*WORD_FIELDS, "referred_on"):
            if name not in src.where:
                continue
            text = _cell_text(cells[src.where[name]])
            if not text:
                continue
            key = f"stage.{proto}" if name == "stage" else name
            if name == "referred_on":
                if word(text) in (*YES, *NO):
                    seen.setdefault("yes_no", {}).setdefault(word(text), text)
                continue
            bucket = seen.setdefault(key, {})
            if len(bucket) < MAX_WORDS:
                bucket.setdefault(word(text), text)
    mapped: dict[str, dict[str, str]] = {}
    unmapped: dict[str, list[str]] = {}
    for key, words in sorted(seen.items()):
        for w, spelling in sorted(words.items()):
            if key == "yes_no":
                mapped.setdefault(key, {})[spelling] = "true" if w in YES else "false"
                continue
            problems: list[str] = []
            if key.startswith("stage."):
                proto = key.split(".", 1)[1]
                found = src._stage(proto, spelling, problems) if proto else ""
                if not proto:
                    problems.append("no protocol")
            else:
                found = src._word(key, spelling, problems)
            if found and not problems:
                mapped.setdefault(key, {})[spelling] = found
            else:
                unmapped.setdefault(key, []).append(spelling)
    used = set(columns.values())
    unused = [h for h in table.header if h and h not in used]
    missing = [f for f in REQUIRED if f not in columns and f not in defaults]
    text = _map_text(table, columns, defaults, mapped, unmapped, unused, missing, dates)
    if dates.formats() is None:
        missing.append("date_format")
    return Suggestion(text, columns, unmapped, unused, missing)


def _columns_named(header: tuple[str, ...]) -> dict[str, str]:
    """drp's field -> the sheet's column, guessed from the headers: a header that is a
    field's own name (``opened_on``, "Opened on") is that field's, before any synonym is
    tried (so "opened_on" is never left for "date" to take); then :data:`SYNONYMS`."""
    key = {h: _header_key(h) for h in header if h}
    columns: dict[str, str] = {}
    for name in FIELDS:
        for h, k in key.items():
            if k == _header_key(name) and h not in columns.values():
                columns[name] = h
                break
    for name in FIELDS:
        if name in columns:
            continue
        options = {_header_key(s) for s in SYNONYMS.get(name, ())}
        for h, k in key.items():
            if k in options and h not in columns.values():
                columns[name] = h
                break
    return {name: columns[name] for name in FIELDS if name in columns}


def _header_key(text: str) -> str:
    """A header as it is matched: a word (:func:`match_word`), underscores as spaces."""
    return word(text.replace("_", " "))


_ISO_TEXT = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_DMY_TEXT = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})")


@dataclass
class DateForms:
    """How a sheet types its dates (the text cells of its date columns), for the suggested
    map's ``date_format``: year-month-day (ISO), day/month/year (with the separators seen),
    and month/day/year, which drp never guesses (a day after the 12th in the second place:
    the map is left to say, CHOOSE)."""

    iso: bool = False
    separators: list[str] = field(default_factory=list)  # day/month/year's, in order seen
    month_first: int = 0  # the first row typed month first (0: none)

    def add(self, text: str, row: int) -> None:
        text = text.strip()
        if _ISO_TEXT.fullmatch(text):
            self.iso = True
        elif m := _DMY_TEXT.fullmatch(text):
            first, second = int(m[1]), int(m[3])
            if second > 12 >= first and not self.month_first:
                self.month_first = row
            elif m[2] not in self.separators:
                self.separators.append(m[2])

    def formats(self) -> list[str] | None:
        """The formats the sheet's dates are in (None: month first, not guessed)."""
        if self.month_first:
            return None
        found = ([ISO_FORMAT] if self.iso else []) + [f"%d{s}%m{s}%Y" for s in self.separators]
        return found or list(DEFAULT_DATE_FORMATS)

    def line(self) -> str:
        formats = self.formats()
        if formats is None:
            return (f'date_format = "{CHOOSE}"  # CHOOSE: row {self.month_first} has a date '
                    "typed month first (mm/dd/yyyy), which drp never guesses; if every date "
                    'in the sheet is, write "%m/%d/%Y"')  # fmt: skip
        said = " or ".join(_format_shown(f) for f in formats)
        value = _q(formats[0]) if len(formats) == 1 else f"[{', '.join(map(_q, formats))}]"
        if not self.iso and not self.separators:
            return (f"date_format = {value}  # no date typed as text was found; date cells "
                    "are read as dates")  # fmt: skip
        return (f"date_format = {value}  # the sheet's dates typed as text are {said}; date "
                "cells are read as dates")  # fmt: skip


def _candidates(name: str, headers: list[str]) -> str:
    """The sheet's unused columns that might hold ``name``, likeliest first (a date field:
    the columns whose names speak of dates)."""
    if not headers:
        return "the sheet has no unused column"
    dated = name in DATE_FIELDS
    hints = (
        ("date", " on", "start", "when")
        if dated
        else tuple(w for s in SYNONYMS.get(name, ()) for w in s.split())
    )
    likely = [h for h in headers if any(x in f" {word(h)}" for x in hints)]
    ranked = likely + [h for h in headers if h not in likely]
    shown_ = ", ".join(_q(h) for h in ranked[:8]) + (", ..." if len(ranked) > 8 else "")
    return f"candidates: {shown_}"


def _q(value: str) -> str:
    """A TOML basic string (JSON's spelling is one)."""
    return json.dumps(value, ensure_ascii=False)


def _map_text(table: Table, columns: dict[str, str], defaults: dict[str, str],
              mapped: dict[str, dict[str, str]], unmapped: dict[str, list[str]],
              unused: list[str], missing: list[str], dates: DateForms) -> str:  # fmt: skip
    reg = registry()
    out = [
        f"# drp import map for {shown(table.path.name)}, suggested by drp import --suggest-map.",
        "# Check every line; fill in what is marked CHOOSE, then:",
        f"#   drp import {shown(table.path.name)} --map THIS-FILE --dry-run",
        "",
        "[sheet]",
    ]
    if table.sheet:
        out.append(f"name = {_q(table.sheet)}")
    out += [dates.line(), ""]
    out.append("[columns]  # drp's field = the sheet's column")
    for name in FIELDS:
        if name in columns:
            out.append(f"{name} = {_q(columns[name])}")
    for name in missing:
        out.append(f"{name} = {_q(CHOOSE)}  # CHOOSE the column that holds it (required); "
                   f"{_candidates(name, unused)}")  # fmt: skip
    if "formal_started_on" not in columns:
        out += [
            "# No column looked like the formal process's start: without one, a concern at",
            "# a later formal stage is dated from that stage's start (the import warns).",
            '# Name the column here, or put formal_started_on = "infer" under [defaults]:',
            f'# formal_started_on = ""  # {_candidates("formal_started_on", unused)}',
        ]
    if unused:
        out.append("# The sheet's other columns are kept on each concern as an imported note")
        out.append("# (drp import --ignore-extra leaves them out):")
        out += [f"#   {_q(h)}" for h in unused]
    if defaults:
        out += ["", "[defaults]  # the same for every row"]
        for name, value in defaults.items():
            out.append(f"{name} = {_q(value)}")
    allowed = {
        "status": ", ".join(STATUSES),
        "category": ", ".join(t.slug for t in themes().themes),
        "issue": "see drp themes",
        "role": ", ".join(sorted({r for p in reg.protocols.values() for r in p.roles})),
        "protocol": ", ".join(sorted(reg.protocols)),
    }
    keys = sorted(set(mapped) | set(unmapped))
    for key in keys:
        if key == "yes_no":
            out += ["", "[values.yes_no]"]
            out += [f"{_q(w)} = {v}" for w, v in mapped[key].items()]
            continue
        proto = key.split(".", 1)[1] if key.startswith("stage.") else None
        if proto is not None:
            out += ["", f"[values.stage.{_q(proto)}]" if proto else "[values.stage]"]
            choice = (", ".join(reg.protocols[proto].stage_slugs) if proto in reg.protocols
                      else "the protocol's stages")  # fmt: skip
        else:
            out += ["", f"[values.{key}]"]
            choice = allowed.get(key, "")
        out += [f"{_q(w)} = {_q(v)}" for w, v in mapped.get(key, {}).items()]
        for w in unmapped.get(key, []):
            out.append(f'{_q(w)} = ""  # CHOOSE: {choice}')
    return "\n".join(out) + "\n"


def problems_of(row: Mapping[str, Any]) -> list[str]:
    return list(row.get("_problems", ()))


Reader = Callable[[], Iterator[tuple[str, dict[str, Any]]]]
