"""Every quote in a built-in protocol file is verbatim from the protocol's own source text.

Each protocol names its source in ``source_file`` (``000_0747aa0defc4ca03.txt`` ...). Every
non-empty quote field, found by walking the parsed TOML recursively (any key named ``quote``
or ending in ``_quote``, at any depth: stages, parties, steps, duties, routes, CAFCASS), must
occur in that text.

Cross-seed quotes: a quote may start with a seed number and ``": "``, as in
``"004: should have timescales in total of no more than 20 working days"``; it is then looked
up in that seed (``004_*.txt``) instead of the protocol's own. This is only for the IRO
Handbook's words where another seed quotes them (the West Sussex DRP §2 quotes the 20 working
days, §4 cites Handbook 6.2 for the bypass); the protocol's ``source_file`` stays its own.

Matching is case-sensitive, after normalising both the quote and the source text: whitespace
runs collapse to one space, curly quotes (U+2018, U+2019, U+201C, U+201D) become ' ' " ",
and ``*`` (markdown bold in the seed texts) is dropped.

The seed texts are read from ``tests/seeds/`` (a copy kept in the repository, so the test runs
from any clone), else ``<repository>/../shared/seeds``, else ``/work/shared/seeds``.

Besides the quotes, the structure must carry them: a stage with a timescale has a
``timescale_quote``; every party (addressed_to, attends, copied_to, notified) has a quote;
every step and duty has one; a whole-process limit has a ``formal_cap_quote``; an offered
CAFCASS referral has a quote.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drp_cli.domain.protocols import builtin_dir, load_protocol_file

REPO = Path(__file__).resolve().parents[1]
SEED_DIRS = [REPO / "tests" / "seeds", REPO.parent / "shared" / "seeds", Path("/work/shared/seeds")]
PROTOCOL_FILES = sorted(p for p in builtin_dir().glob("*.toml") if not p.name.startswith("_"))
PREFIX = re.compile(r"^(\d{3}): (.+)$", re.DOTALL)
_CHARS = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "*": None})


def normalise(text: str) -> str:
    return " ".join(text.translate(_CHARS).split())


def seed_dir() -> Path | None:
    return next((d for d in SEED_DIRS if d.is_dir() and any(d.glob("0*.txt"))), None)


def seed_text(folder: Path, number: str) -> str:
    found = sorted(folder.glob(f"{number}_*.txt"))
    assert found, f"no seed {number}_*.txt in {folder}"
    return normalise(found[0].read_text(encoding="utf-8"))


def quotes(data: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, quote) for every quote field, at any depth."""
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else key
            if (key == "quote" or key.endswith("_quote")) and isinstance(value, str):
                yield where, value
            else:
                yield from quotes(value, where)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from quotes(value, f"{path}.{i}")


@pytest.mark.parametrize("path", PROTOCOL_FILES, ids=lambda p: p.stem)
def test_every_quote_is_in_its_source(path: Path) -> None:
    folder = seed_dir()
    if folder is None:
        pytest.skip(f"no seed texts in any of {', '.join(map(str, SEED_DIRS))}")
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    own = data.get("source_file", "")
    assert re.fullmatch(r"\d{3}_[0-9a-f]+\.txt", own), f"{path.stem}: source_file {own!r}"
    assert (folder / own).is_file(), f"{path.stem}: source_file {own!r} not in {folder}"
    texts = {own[:3]: normalise((folder / own).read_text(encoding="utf-8"))}
    missing = []
    checked = 0
    for where, quote in quotes(data):
        if not quote.strip():
            continue
        number, words = own[:3], quote
        if m := PREFIX.match(quote):
            number, words = m.group(1), m.group(2)
        if number not in texts:
            texts[number] = seed_text(folder, number)
        checked += 1
        if normalise(words) not in texts[number]:
            missing.append(f"{path.stem}: {where}: {quote!r} is not in seed {number}")
    assert checked, f"{path.stem}: no quotes at all"
    assert not missing, "quotes not found verbatim in their source:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", PROTOCOL_FILES, ids=lambda p: p.stem)
def test_every_number_role_and_rule_carries_a_quote(path: Path) -> None:
    p = load_protocol_file(path)
    problems = []

    def need(where: str, value: str) -> None:
        if not value.strip():
            problems.append(f"{p.slug}: {where}: no quote")

    if p.formal_cap_working_days is not None:
        need("formal_cap_quote", p.formal_cap_quote)
    if p.cafcass is not None and p.cafcass.offered:
        need("cafcass.quote", p.cafcass.quote)
        if p.cafcass.notify_before:
            need("cafcass.notify_quote", p.cafcass.notify_quote)
        if p.cafcass.after_stage:
            need("cafcass.after_stage_quote", p.cafcass.after_stage_quote)
    for i, duty in enumerate(p.duties):
        need(f"duties.{i} ({duty.slug})", duty.quote)
    for r, route in enumerate(p.routes):
        need(f"routes.{r} ({route.slug})", route.quote)
        for i, step in enumerate(route.steps):
            need(f"routes.{r}.steps.{i} ({step.slug})", step.quote)
        for i, duty in enumerate(route.duties):
            need(f"routes.{r}.duties.{i} ({duty.slug})", duty.quote)
    for s, stage in enumerate(p.stages):
        at = f"stages.{s} ({stage.slug})"
        if stage.timescale_working_days is not None:
            need(f"{at}.timescale_quote", stage.timescale_quote)
        else:
            assert "no timescale" in stage.timescale_note, f"{p.slug}: {at}.timescale_note"
        for field in ("addressed_to", "attends", "copied_to", "notified"):
            for i, party in enumerate(getattr(stage, field)):
                if isinstance(party, str):
                    problems.append(f"{p.slug}: {at}.{field}.{i}: {party!r} is a bare name")
                else:
                    need(f"{at}.{field}.{i} ({party.who})", party.quote)
        for i, step in enumerate(stage.steps):
            need(f"{at}.steps.{i} ({step.slug})", step.quote)
        for i, duty in enumerate(stage.duties):
            need(f"{at}.duties.{i} ({duty.slug})", duty.quote)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", PROTOCOL_FILES, ids=lambda p: p.stem)
def test_citations_name_sections_not_seeds(path: Path) -> None:
    """Citations are for readers: they name the document's section, not "seed 004"."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    bad = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}" if where else k)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}.{i}")
        elif isinstance(value, str) and where != "source" and re.search(r"\bseed\b", value):
            bad.append(f"{path.stem}: {where}: {value!r}")

    walk(data, "")
    assert not bad, "\n".join(bad)


def test_normalise() -> None:
    raw = "the child\u2019s  **social**\n worker \u201cx\u201d"
    assert normalise(raw) == 'the child\'s social worker "x"'
