"""The checked protocols are kept in the cache folder and read again only when a protocol
file changes; what the registry holds is the same either way (issue 32)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drp_cli.domain import protocols as P
from tests.test_protocols import GOOD


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("DRP_CACHE", str(folder))
    return folder / "protocols.msgpack"


def loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the registries read from their TOML files."""
    seen: list[int] = []
    real = P._load_registry

    def counted(folders: list[Path]) -> P.Registry:
        seen.append(1)
        return real(folders)

    monkeypatch.setattr(P, "_load_registry", counted)
    return seen


def test_read_once_then_from_the_cache(cache, tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "testshire.toml").write_text(GOOD.format(slug="testshire"))
    seen = loads(monkeypatch)
    first = P.load_registry([mine])
    assert seen == [1] and cache.exists()
    assert oct(cache.stat().st_mode & 0o777) == "0o600"
    again = P.load_registry([mine])
    assert seen == [1]  # from the cache
    assert again == first  # the same protocols, paths, order
    assert list(again.protocols) == list(first.protocols)
    assert "testshire" in again.protocols


def test_a_changed_file_is_read_again(cache, tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    path = mine / "testshire.toml"
    path.write_text(GOOD.format(slug="testshire"))
    seen = loads(monkeypatch)
    P.load_registry([mine])
    path.write_text(GOOD.format(slug="testshire") + "colour = 'red'\n")
    os.utime(path, ns=(1, 1))  # a different time, whatever the clock's grain
    with pytest.raises(P.ProtocolFileError):
        P.load_registry([mine])  # read again, and the error is the file's
    assert seen == [1, 1]
    path.unlink()
    assert "testshire" not in P.load_registry([mine]).protocols  # a removed file: read again
    assert seen == [1, 1, 1]


def test_a_damaged_cache_is_only_slower(cache, tmp_path, monkeypatch):
    seen = loads(monkeypatch)
    first = P.load_registry([])
    cache.write_bytes(b"\x93not msgpack")
    assert P.load_registry([]) == first
    assert seen == [1, 1]
    cache.unlink()
    cache.mkdir()  # cannot be read or written
    assert P.load_registry([]) == first
    assert seen == [1, 1, 1]


def test_themes_from_the_cache(cache, monkeypatch):
    P.themes.cache_clear()
    first = P.themes()
    kept = cache.parent / "themes.msgpack"
    assert kept.exists()
    P.themes.cache_clear()
    with monkeypatch.context() as m:
        m.setattr(P, "_read_toml", lambda path: pytest.fail("read again"))
        assert P.themes() == first
    P.themes.cache_clear()
    kept.write_bytes(b"damaged")
    assert P.themes() == first  # read again, and kept again
    assert kept.read_bytes() != b"damaged"
    P.themes.cache_clear()
