"""Protocols as data: one TOML file per local authority, validated with msgspec.

Built-in protocols live in the package's ``protocols/`` folder (the repository's top-level
``protocols/``, shipped inside the wheel). A user adds their own authority's protocol by
dropping ``<slug>.toml`` into the user protocol folder
(``platformdirs.user_config_dir("drp")/protocols``, shown by ``drp protocols --paths``)
or into any folder named in ``DRP_PROTOCOLS`` (several folders separated by ``:``).
Files whose names start with ``_`` are not protocols (``_themes.toml`` holds the themes).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from drp_cli.errors import InvalidInput, NotFound, ProtocolFileError

# msgspec validates a protocol file in microseconds and loads in a few milliseconds: the
# protocols are read by every command, so their validation must not cost what the command
# itself costs (pydantic took ~0.1 s to import and build these models)
Slug = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Text = Annotated[str, Meta(min_length=1)]
Days = Annotated[int, Meta(ge=1, le=260)]

#: Roles of the person who raises a concern.
ROLES: dict[str, str] = {
    "iro": "Independent Reviewing Officer",
    "cp-chair": "Child protection chair",
    "cpa": "Child Protection Advisor (conference chair)",
    "cp-coordinator": "Child Protection Co-ordinator",
    "fciro": "Fostering IRO (foster carers' annual reviews)",
    "social-care": "Children's social care (concern about the chair service)",
}


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A record read from a TOML file: unknown fields are refused, nothing is coerced."""


class Stage(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One stage (or level) of a protocol."""

    slug: Slug
    title: Text
    formal: bool
    addressed_to: Annotated[list[Text], Meta(min_length=1)]
    copied_to: list[Text] = msgspec.field(default_factory=list)
    timescale_working_days: Days | None = None
    timescale_note: str = ""
    guidance: str = ""
    citation: Text

    def __post_init__(self) -> None:
        if self.timescale_working_days is None and not self.timescale_note.strip():
            raise ValueError(
                "timescale_note is required when timescale_working_days is absent: "
                "say that the source gives no timescale"
            )


class Protocol(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A local authority's dispute resolution protocol."""

    slug: Slug
    title: Text
    authority: Text
    source: Text
    source_date: str = ""
    summary: str = ""
    roles: Annotated[list[Slug], Meta(min_length=1)]
    formal_cap_working_days: Days | None = None
    formal_cap_citation: Text
    bypass_citation: Text
    cafcass_citation: Text
    stages: Annotated[list[Stage], Meta(min_length=1)]

    def __post_init__(self) -> None:
        unknown = [r for r in self.roles if r not in ROLES]
        if unknown:
            raise ValueError(
                f"field roles: unknown role {unknown[0]!r}; allowed: {', '.join(ROLES)}"
            )
        slugs = [s.slug for s in self.stages]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ValueError(f"stage slug {dupes[0]!r} appears more than once")
        seen_formal = False
        for stage in self.stages:
            if seen_formal and not stage.formal:
                raise ValueError(f"stage {stage.slug!r} is informal but follows a formal stage")
            seen_formal = seen_formal or stage.formal

    # -- navigation ------------------------------------------------------------------
    @property
    def stage_slugs(self) -> list[str]:
        return [s.slug for s in self.stages]

    def stage(self, slug: str) -> Stage:
        for s in self.stages:
            if s.slug == slug:
                return s
        raise InvalidInput(
            f"protocol {self.slug!r} has no stage {slug!r}; stages: {', '.join(self.stage_slugs)}"
        )

    def has_stage(self, slug: str) -> bool:
        return slug in self.stage_slugs

    def index(self, slug: str) -> int:
        self.stage(slug)
        return self.stage_slugs.index(slug)

    def next_stage(self, slug: str) -> Stage | None:
        i = self.index(slug)
        return self.stages[i + 1] if i + 1 < len(self.stages) else None

    @property
    def first_stage(self) -> Stage:
        return self.stages[0]


class Issue(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    slug: Slug
    text: Text
    sources: Annotated[list[Text], Meta(min_length=1)]


class Theme(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    slug: Slug
    title: Text
    citation: Text
    issues: list[Issue] = msgspec.field(default_factory=list)


class Themes(_Strict, frozen=True, kw_only=True, forbid_unknown_fields=True):
    themes: Annotated[list[Theme], Meta(min_length=1)]

    def theme(self, slug: str) -> Theme:
        for t in self.themes:
            if t.slug == slug:
                return t
        raise InvalidInput(
            f"unknown category {slug!r}; allowed: {', '.join(t.slug for t in self.themes)}"
        )

    def check_issue(self, category: str, issue: str) -> Issue:
        theme = self.theme(category)
        for i in theme.issues:
            if i.slug == issue:
                return i
        raise InvalidInput(
            f"category {category!r} has no issue {issue!r}; "
            f"allowed: {', '.join(i.slug for i in theme.issues)}"
        )


def as_data(value: msgspec.Struct) -> Any:
    """A protocol (or the themes) as plain JSON-able data."""
    return msgspec.to_builtins(value)


# -- loading -----------------------------------------------------------------------------
def builtin_dir() -> Path:
    """The protocols shipped with drp: inside the wheel, or the repository's folder."""
    here = Path(__file__).resolve().parent
    packaged = here / "protocols"
    return packaged if packaged.is_dir() else here.parent / "protocols"


def user_dirs() -> list[Path]:
    """Folders searched for a user's own protocol files, in order."""
    env = os.environ.get("DRP_PROTOCOLS")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    import platformdirs

    return [Path(platformdirs.user_config_dir("drp")) / "protocols"]


_MISSING = re.compile(r"Object missing required field `(.+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(.+)`")


def _describe(exc: msgspec.ValidationError) -> str:
    """msgspec's message as ``field LOCATION: PROBLEM`` (``stages.1.title``)."""
    message, _, where = str(exc).partition(" - at `$")
    loc = re.sub(r"\[(\d+)\]", r".\1", where.rstrip("`")).lstrip(".")
    if m := _MISSING.fullmatch(message):
        loc, message = ".".join(filter(None, (loc, m.group(1)))), "required, but missing"
    elif m := _UNKNOWN.fullmatch(message):
        loc, message = ".".join(filter(None, (loc, m.group(1)))), "not a known field"
    elif message.startswith("field ") and ": " in message:  # a check naming its own field
        named, _, message = message[len("field ") :].partition(": ")
        loc = ".".join(filter(None, (loc, named)))
    return f"field {loc or '(top level)'}: {message}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ProtocolFileError(f"cannot read protocol file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolFileError(f"protocol file {path} is not valid TOML: {exc}") from None


def load_protocol_file(path: Path) -> Protocol:
    """Read and validate one protocol file; errors name the file and the field."""
    data = _read_toml(path)
    try:
        protocol = msgspec.convert(data, Protocol)
    except msgspec.ValidationError as exc:
        raise ProtocolFileError(f"protocol file {path}: {_describe(exc)}") from None
    if protocol.slug != path.stem:
        raise ProtocolFileError(
            f"protocol file {path}: field slug: {protocol.slug!r} must match the file name "
            f"{path.stem!r}"
        )
    return protocol


@dataclass(frozen=True)
class Registry:
    protocols: dict[str, Protocol]
    paths: dict[str, Path]

    def get(self, slug: str) -> Protocol:
        try:
            return self.protocols[slug]
        except KeyError:
            raise InvalidInput(
                f"unknown protocol {slug!r}; installed: {', '.join(sorted(self.protocols))}"
            ) from None

    def for_stored(self, slug: str) -> Protocol:
        """The protocol of a stored concern; its file may have been removed since."""
        try:
            return self.protocols[slug]
        except KeyError:
            raise NotFound(
                f"protocol {slug!r} of this concern is not installed; "
                f"installed: {', '.join(sorted(self.protocols))}"
            ) from None


def _protocol_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if not p.name.startswith("_"))


def load_registry(extra_dirs: Iterable[Path] | None = None) -> Registry:
    """All built-in protocols and the user's own; a slug defined twice is an error."""
    folders = [builtin_dir(), *(user_dirs() if extra_dirs is None else extra_dirs)]
    protocols: dict[str, Protocol] = {}
    paths: dict[str, Path] = {}
    for folder in folders:
        for path in _protocol_files(folder):
            protocol = load_protocol_file(path)
            if protocol.slug in protocols:
                raise ProtocolFileError(
                    f"protocol file {path}: field slug: {protocol.slug!r} is already defined "
                    f"by {paths[protocol.slug]}; give your protocol its own slug"
                )
            protocols[protocol.slug] = protocol
            paths[protocol.slug] = path
    return Registry(protocols, paths)


@lru_cache(maxsize=4)
def _cached_registry(key: tuple[str, ...]) -> Registry:
    return load_registry([Path(p) for p in key])


def registry() -> Registry:
    """The registry for the current ``DRP_PROTOCOLS`` setting (cached per setting)."""
    return _cached_registry(tuple(str(p) for p in user_dirs()))


@lru_cache(maxsize=1)
def themes() -> Themes:
    path = builtin_dir() / "_themes.toml"
    try:
        return msgspec.convert(_read_toml(path), Themes)
    except msgspec.ValidationError as exc:
        raise ProtocolFileError(f"themes file {path}: {_describe(exc)}") from None
