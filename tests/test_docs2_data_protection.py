"""The data-protection page (docs/data-protection.md) stays a page an information-governance
lead can rely on for a DPIA: every table drp's migrations create is described under "What
drp stores" (a new table, such as a read audit's, fails this test until the page says what
it holds), and the page is reached from the README."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "data-protection.md"
MIGRATIONS = ROOT / "drp_cli" / "store" / "migrations" / "versions"


def created_tables() -> set[str]:
    """Every table a migration creates (``op.create_table("name", ...)``), and Alembic's own."""
    found = {"alembic_version"}
    for migration in MIGRATIONS.glob("[0-9]*_*.py"):
        text = migration.read_text(encoding="utf-8")
        found |= set(re.findall(r'create_table\(\s*"(\w+)"', text))
    return found


def described_tables(page: str) -> set[str]:
    """The tables named in the first column of the "What drp stores" table."""
    section = page.split("## What drp stores", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}


def test_every_table_drp_creates_is_described_on_the_data_protection_page() -> None:
    tables = created_tables()
    assert {"concern", "event", "staff", "subject_access_request"} <= tables
    assert sorted(tables - described_tables(PAGE.read_text(encoding="utf-8"))) == []


def test_the_readme_and_the_manual_s_front_page_link_to_it() -> None:
    assert "](docs/data-protection.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](data-protection.md)" in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "data-protection.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
