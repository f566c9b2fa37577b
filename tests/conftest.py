"""Every test gets its own database (DRP_DB under tmp_path), a fixed recorder (DRP_USER)
and an empty user protocol folder, so nothing outside the test is read or written."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drp_cli.cli import app
from drp_cli.protocols import _cached_registry
from drp_cli.tracker import Tracker


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    db = tmp_path / "drp.sqlite3"
    user_protocols = tmp_path / "user-protocols"
    user_protocols.mkdir()
    monkeypatch.setenv("DRP_DB", str(db))
    monkeypatch.setenv("DRP_USER", "Test IRO")
    monkeypatch.setenv("DRP_PROTOCOLS", str(user_protocols))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    _cached_registry.cache_clear()
    yield db
    _cached_registry.cache_clear()


@pytest.fixture
def db_path(isolated: Path) -> Path:
    return isolated


@pytest.fixture
def user_protocols(tmp_path: Path) -> Path:
    return tmp_path / "user-protocols"


@pytest.fixture
def tracker(db_path: Path) -> Iterator[Tracker]:
    t = Tracker(db_path)
    yield t
    t.store.close()


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def drp() -> Callable[..., Result]:
    """Run ``drp ARGS...`` in-process with Typer's CliRunner."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    return run


def open_args(**overrides: str) -> list[str]:
    """Arguments for a realistic `drp open`, overridable per test."""
    values = {
        "protocol": "knowsley",
        "child": "KN-2231",
        "category": "statutory",
        "summary": "No allocated social worker since the review on 2025-02-20.",
        "on": "2025-03-03",
    }
    values.update(overrides)
    args = ["open"]
    for key, value in values.items():
        args += [f"--{key.replace('_', '-')}", value]
    return args
