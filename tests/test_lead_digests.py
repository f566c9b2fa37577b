"""The hash chains' SHA-256 without OpenSSL (core/digests.py) gives hashlib's digests, and the
keyed seal is hmac's HMAC-SHA256: a link written by one reads back under the other."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from drp_cli.core import digests


@given(st.text())
def test_the_same_digest_as_hashlib(text: str) -> None:
    assert digests.sha256_hex(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()


@given(st.binary(min_size=32, max_size=32), st.text(alphabet="0123456789abcdef", max_size=64))
def test_the_same_seal_as_hmac(key: bytes, link: str) -> None:
    want = hmac.new(key, link.encode("ascii"), hashlib.sha256).hexdigest()
    assert digests.hmac_sha256_hex(key, link) == want


def test_known_answers() -> None:
    # FIPS 180-2's "abc" and RFC 4231's test case 2
    assert digests.sha256_hex("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert digests.hmac_sha256_hex(b"Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
