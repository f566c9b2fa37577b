"""core.files.read_regular: the one check every reader of a user's file makes."""

from __future__ import annotations

import os

import pytest

from drp_cli.core.errors import InvalidInput
from drp_cli.core.files import read_regular


def test_a_regular_file_within_the_limit_is_read(tmp_path):
    p = tmp_path / "a.toml"
    p.write_bytes(b"x" * 10)
    assert read_regular(p, what="the map", limit=10) == b"x" * 10


def test_a_file_over_the_limit_is_refused(tmp_path):
    p = tmp_path / "a.toml"
    p.write_bytes(b"x" * 11)
    with pytest.raises(InvalidInput, match=r"^the map is over 10 bytes: larger than drp reads$"):
        read_regular(p, what="the map", limit=10)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_what_is_not_a_regular_file_is_refused_before_a_byte_is_read(tmp_path, kind):
    if kind == "fifo":
        p = tmp_path / "f"
        os.mkfifo(p)  # no writer: an open without O_NONBLOCK would hang here
    elif kind == "device":
        p = "/dev/zero"
    else:
        p = tmp_path
    with pytest.raises(InvalidInput) as info:
        read_regular(p, what="the backup", limit=1 << 20)
    assert str(info.value) == "the backup is not a regular file"
