"""The encrypted layout of a stored file (drp_cli.store.filestore): every size comes back as
it went in, and a chunk changed, dropped, repeated, moved, cut short, lengthened or taken
from another file, or a file put in another's place, never reads as the file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from drp_cli.core import dbkey
from drp_cli.core.errors import DatabaseError, InvalidInput
from drp_cli.store import filestore

KEY = bytes(range(32))
SMALL = 64  # the chunk size here, so that a file of a few chunks is a few hundred bytes


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filestore, "CHUNK", SMALL)


def _store(root: Path, data: bytes, key: bytes | None = KEY) -> tuple[str, Path]:
    source = root.parent / f"source-{len(data)}"
    source.write_bytes(data)
    sha, size = filestore.write_stored(root, source, key, limit=10_000)
    assert (sha, size) == (hashlib.sha256(data).hexdigest(), len(data))
    return sha, filestore.locate(root, sha, key)


def _read(path: Path, sha: str, key: bytes | None = KEY) -> bytes:
    return b"".join(filestore.read_stored(path, sha, key))


def _sealed_chunks(path: Path) -> tuple[bytes, list[bytes]]:
    data = path.read_bytes()
    size = SMALL + filestore.TAG_BYTES
    body = data[filestore.HEADER_BYTES :]
    return data[: filestore.HEADER_BYTES], [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("size", [0, 1, SMALL - 1, SMALL, SMALL + 1, 2 * SMALL, 3 * SMALL + 5])
def test_every_size_comes_back(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    sha, path = _store(tmp_path / "store", data)
    assert path.name.endswith(".enc") and sha not in str(path)
    chunks = -(-size // SMALL) or 1  # a file of none is one empty chunk
    assert path.stat().st_size == filestore.HEADER_BYTES + size + chunks * filestore.TAG_BYTES
    assert _read(path, sha) == data
    assert filestore.stored_sha256(tmp_path / "store", sha, KEY) == sha


def _refused(path: Path, sha: str) -> None:
    with pytest.raises(filestore.StoredFileDamaged):
        _read(path, sha)
    assert filestore.stored_sha256(path.parent.parent, sha, KEY) == filestore.UNREADABLE


def test_a_changed_byte_anywhere_is_refused(tmp_path: Path) -> None:
    sha, path = _store(tmp_path / "store", b"x" * (2 * SMALL + 9))
    original = path.read_bytes()
    for at in (len(filestore.MAGIC) + 1 + filestore.KEY_ID_BYTES, filestore.HEADER_BYTES,
               filestore.HEADER_BYTES + SMALL + 3, len(original) - 1):  # fmt: skip
        changed = bytearray(original)
        changed[at] ^= 0x80
        path.write_bytes(bytes(changed))
        _refused(path, sha)


def test_chunks_cannot_be_dropped_repeated_moved_or_the_file_cut_or_lengthened(
    tmp_path: Path,
) -> None:
    data = bytes(range(200)) + bytes(range(56)) + b"tail"  # four whole chunks and a bit
    sha, path = _store(tmp_path / "store", data)
    header, chunks = _sealed_chunks(path)
    assert len(chunks) == 5
    for name, body in {
        "cut at a chunk's end": chunks[:4],
        "cut inside a chunk": [*chunks[:4], chunks[4][:5]],
        "lengthened": [*chunks, chunks[4]],
        "a chunk dropped": [chunks[0], *chunks[2:]],
        "two chunks swapped": [chunks[1], chunks[0], *chunks[2:]],
        "a chunk repeated": [chunks[0], chunks[0], *chunks[2:]],
        "the last chunk alone": [chunks[4]],
        "nothing but the header": [],
    }.items():
        path.write_bytes(header + b"".join(body))
        with pytest.raises(filestore.StoredFileDamaged):
            _read(path, sha)
        assert filestore.stored_sha256(tmp_path / "store", sha, KEY) == filestore.UNREADABLE, name


def test_another_files_chunk_or_whole_file_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "store"
    a, path_a = _store(root, b"a" * (2 * SMALL))
    _b, path_b = _store(root, b"b" * (2 * SMALL))
    header_a, chunks_a = _sealed_chunks(path_a)
    _header_b, chunks_b = _sealed_chunks(path_b)
    original_a = path_a.read_bytes()
    path_a.write_bytes(header_a + chunks_a[0] + chunks_b[1])  # B's last chunk in A
    _refused(path_a, a)
    path_a.write_bytes(path_b.read_bytes())  # B in A's place
    _refused(path_a, a)
    path_a.write_bytes(original_a)
    assert _read(path_a, a) == b"a" * (2 * SMALL)


def test_another_key_is_a_database_error_naming_the_setting(tmp_path: Path) -> None:
    sha, path = _store(tmp_path / "store", b"secret plan")
    with pytest.raises(DatabaseError) as caught:
        _read(path, sha, dbkey.new_key())
    assert str(caught.value) == (
        "the key in the file named by DRP_DB_KEY_FILE (or the config's db_key_file) does not "
        "open the encrypted attached files: give the key they were encrypted with"
    )
    # nor is it found under another key's names
    other = dbkey.new_key()
    assert filestore.stored_sha256(tmp_path / "store", sha, other) is None
    with pytest.raises(DatabaseError) as caught:
        _read(path, sha, None)
    assert "set DRP_DB_KEY_FILE (or the config's db_key_file)" in str(caught.value)


def test_no_plain_byte_is_ever_written_to_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    marker = b"MARKER-OF-A-CARE-PLAN"
    root = tmp_path / "store"
    renamed: list[bytes] = []
    real = os.replace

    def watched(src: str, dst: str) -> None:  # the temporary file, as it is renamed
        renamed.append(Path(src).read_bytes())
        real(src, dst)

    monkeypatch.setattr(os, "replace", watched)
    _sha, path = _store(root, marker * 20)
    assert len(renamed) == 1 and marker not in renamed[0]
    assert renamed[0].startswith(filestore.MAGIC)
    assert [p.name for p in root.rglob("*") if p.is_file()] == [path.name]
    assert marker not in path.read_bytes()


def test_bytes_after_the_last_whole_chunk_are_refused(tmp_path: Path) -> None:
    sha, path = _store(tmp_path / "store", b"w" * (2 * SMALL))
    with path.open("ab") as fh:
        fh.write(b"xyz")
    _refused(path, sha)


def test_a_file_that_changes_while_it_is_copied_in_is_refused_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "store"
    source = tmp_path / "plan"
    source.write_bytes(b"first version " * 20)
    real = filestore._file_chunks
    calls = []

    def changing(fh):
        calls.append(1)
        if len(calls) == 2:  # between the hashing and the encrypting
            source.write_bytes(b"second version" * 20)
        return real(fh)

    monkeypatch.setattr(filestore, "_file_chunks", changing)
    with pytest.raises(InvalidInput) as caught:
        filestore.write_stored(root, source, KEY, limit=10_000)
    assert str(caught.value) == "the file changed while it was being copied in: try again"
    assert [p for p in root.rglob("*") if p.is_file()] == []


def test_too_large_is_refused_either_way(tmp_path: Path) -> None:
    source = tmp_path / "big"
    source.write_bytes(b"z" * 3 * 1024 * 1024)
    for key in (KEY, None):
        with pytest.raises(InvalidInput) as caught:
            filestore.write_stored(tmp_path / "store", source, key, limit=2 * 1024 * 1024)
        assert str(caught.value) == "the file is larger than 2 MB"
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == []


def test_a_plain_store_is_as_it_always_was(tmp_path: Path) -> None:
    root = tmp_path / "store"
    sha, path = _store(root, b"plain bytes", key=None)
    assert path == root / sha[:2] / sha
    assert path.read_bytes() == b"plain bytes"
    assert filestore.stored_sha256(root, sha, None) == sha
    assert filestore.plain_files(root) == [sha]
    assert filestore.remove_stored(root, sha, None) == [path]
    assert filestore.stored_sha256(root, sha, None) is None


def test_what_is_not_a_sha256_is_never_a_path_out_of_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "store"
    for value in ("../../etc/passwd", "", "A" * 64):
        assert filestore.plain_path(root, value) == root / filestore.NO_SUCH_FILE
        assert filestore.stored_sha256(root, value, None) is None
        assert filestore.stored_path(root, value, KEY).parent.parent == root


def test_something_not_a_regular_file_in_its_place(tmp_path: Path) -> None:
    import os

    root = tmp_path / "store"
    sha, path = _store(root, b"plan")
    path.unlink()
    os.mkfifo(path)
    assert filestore.stored_sha256(root, sha, KEY) == filestore.NOT_REGULAR
    path.unlink()
    path.symlink_to(tmp_path)
    assert filestore.stored_sha256(root, sha, KEY) == filestore.NOT_REGULAR
