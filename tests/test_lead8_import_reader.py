"""The import's fast JSON reader stops at an item that is wrong in what it holds, rather
than read the rest of the file looking for its end (fl8: `[` and 6 GiB of NUL bytes grew to
15.5 GB and was killed; 200 MB peaked at 710 MB); an item cut at a block's end, or a long
string, is still read on. Either way the file's message is ijson's, as before."""

from __future__ import annotations

import io
import json

import pytest

from drp_cli.exchange import readers

MB = 1 << 20


class Counting(io.BytesIO):
    """A file that counts the bytes read from it."""

    taken = 0

    def read(self, size: int | None = -1) -> bytes:
        block = super().read(size)
        self.taken += len(block)
        return block


@pytest.mark.parametrize(
    "body",
    [b"[" + b"\0" * (8 * MB), b'[{"a": 1}, \x01' + b" " * (8 * MB),
     b'[{"a": "b\0' + b"x" * (8 * MB), b"[{]" + b"}" * (8 * MB)],
    ids=["NUL bytes", "a control character", "NUL in a string", "a stray bracket"],
)  # fmt: skip
def test_a_wrong_item_stops_the_reader_within_two_blocks(body):
    f = Counting(body)
    with pytest.raises(readers._Unplain):
        list(readers._array_items(f))
    assert f.taken <= 2 * readers.JSON_BLOCK + 4096


def test_an_item_longer_than_a_block_is_read_whole():
    """A string three blocks long (an unterminated string is reported where it starts) and
    items cut at every block's end: read, as before."""
    long = "x" * (3 * readers.JSON_BLOCK)
    items = [{"text": long}, *({"n": i, "t": "é" * (i % 7)} for i in range(20_000))]
    f = Counting(json.dumps(items).encode("utf-8"))
    assert list(readers._array_items(f)) == items


def test_the_import_of_such_a_file_says_what_ijson_says(drp, tmp_path):
    path = tmp_path / "rows.json"
    path.write_bytes(b"[" + b"\0" * (4 * MB))
    r = drp("import", str(path))
    assert (r.exit_code, r.stdout) == (2, "")
    wrong = "is not valid JSON (after item 0): invalid char in json text"
    assert r.stderr == f"Error: {path} {wrong}\n"
