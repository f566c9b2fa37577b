"""The schema revision drp writes is the newest migration's, and the migrations are one line:
each file's revision is its four-digit prefix and revises the one before it."""

from __future__ import annotations

import ast
from pathlib import Path

from drp_cli.store.dbfile import SCHEMA_REVISION

VERSIONS = Path(__file__).parent.parent / "drp_cli" / "store" / "migrations" / "versions"


def _assigned(path: Path) -> dict[str, object]:
    tree = ast.parse(path.read_text())
    found: dict[str, object] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            found[target.id] = ast.literal_eval(node.value)
    return found


def test_the_migrations_are_one_line_ending_at_the_revision_drp_writes():
    files = sorted(p for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    previous = None
    for path in files:
        values = _assigned(path)
        assert values["revision"] == path.name[:4], path.name
        assert values["down_revision"] == previous, path.name
        previous = values["revision"]
    assert SCHEMA_REVISION == previous == files[-1].name[:4]
