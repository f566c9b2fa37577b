"""docs/internals/layers.md names every module of each layer's folder in that layer's row, so
the page a new developer reads first cannot drift from the package (it had: eight store
modules and five services were missing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("core", "domain", "store", "adapters", "services", "exchange", "render")


@pytest.mark.parametrize("layer", LAYERS)
def test_every_module_is_named_in_its_row(layer):
    page = (ROOT / "docs/internals/layers.md").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith(f"| `{layer}/` |"))
    named = set(re.findall(r"`([a-z_]+)`", row.split(" | ")[1]))
    modules = {p.stem for p in (ROOT / "drp_cli" / layer).glob("*.py") if p.stem != "__init__"}
    assert modules - named == set(), "add them to docs/internals/layers.md"
    assert named - modules == set(), "no such module"
