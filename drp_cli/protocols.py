"""Protocols as data: one TOML file per local authority, validated with pydantic.

Built-in protocols live in the package's ``protocols/`` folder (the repository's top-level
``protocols/``, shipped inside the wheel). A user adds their own authority's protocol by
dropping ``<slug>.toml`` into the user protocol folder
(``platformdirs.user_config_dir("drp")/protocols``, shown by ``drp protocols --paths``)
or into any folder named in ``DRP_PROTOCOLS`` (several folders separated by ``:``).
Files whose names start with ``_`` are not protocols (``_themes.toml`` holds the themes).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from drp_cli.errors import InvalidInput, NotFound, ProtocolFileError

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Text = Annotated[str, Field(min_length=1)]

#: Roles of the person who raises a concern.
ROLES: dict[str, str] = {
    "iro": "Independent Reviewing Officer",
    "cp-chair": "Child protection chair",
    "cpa": "Child Protection Advisor (conference chair)",
    "cp-coordinator": "Child Protection Co-ordinator",
    "fciro": "Fostering IRO (foster carers' annual reviews)",
    "social-care": "Children's social care (concern about the chair service)",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(_Strict):
    """One stage (or level) of a protocol."""

    slug: Slug
    title: Text
    formal: bool
    addressed_to: list[Text] = Field(min_length=1)
    copied_to: list[Text] = Field(default_factory=list)
    timescale_working_days: int | None = Field(default=None, ge=1, le=260)
    timescale_note: str = ""
    guidance: str = ""
    citation: Text

    @model_validator(mode="after")
    def _no_number_means_say_so(self) -> Stage:
        if self.timescale_working_days is None and not self.timescale_note.strip():
            raise ValueError(
                "timescale_note is required when timescale_working_days is absent: "
                "say that the source gives no timescale"
            )
        return self


class Protocol(_Strict):
    """A local authority's dispute resolution protocol."""

    slug: Slug
    title: Text
    authority: Text
    source: Text
    source_date: str = ""
    summary: str = ""
    roles: list[Slug] = Field(min_length=1)
    formal_cap_working_days: int | None = Field(default=None, ge=1, le=260)
    formal_cap_citation: Text
    bypass_citation: Text
    cafcass_citation: Text
    stages: list[Stage] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ValueError(f"unknown role {unknown[0]!r}; allowed: {', '.join(ROLES)}")
        return roles

    @model_validator(mode="after")
    def _stage_order(self) -> Protocol:
        slugs = [s.slug for s in self.stages]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ValueError(f"stage slug {dupes[0]!r} appears more than once")
        seen_formal = False
        for stage in self.stages:
            if seen_formal and not stage.formal:
                raise ValueError(f"stage {stage.slug!r} is informal but follows a formal stage")
            seen_formal = seen_formal or stage.formal
        return self

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


class Issue(_Strict):
    slug: Slug
    text: Text
    sources: list[Text] = Field(min_length=1)


class Theme(_Strict):
    slug: Slug
    title: Text
    citation: Text
    issues: list[Issue] = Field(default_factory=list)


class Themes(_Strict):
    themes: list[Theme] = Field(min_length=1)

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


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"field {loc}: {err['msg']}"


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
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ProtocolFileError(f"protocol file {path}: {_describe(dict(first))}{extra}") from None
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
        return Themes.model_validate(_read_toml(path))
    except ValidationError as exc:
        raise ProtocolFileError(f"themes file {path}: {_describe(dict(exc.errors()[0]))}") from None
