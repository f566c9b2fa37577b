"""The text checks answer printable ASCII without their patterns, and compile the patterns
only when first used; every answer is the pattern's own (issue 32)."""

from __future__ import annotations

import re
import subprocess
import sys

from hypothesis import example, given, settings
from hypothesis import strategies as st

from drp_cli.core import textsafe

# the definitions, written out again: what each check must answer
LINE = re.compile("[\x00-\x1f\x7f-\x9f" + textsafe.BIDI + textsafe.SEPARATORS + "]")
TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + textsafe.BIDI + textsafe.SEPARATORS + "]")
BREAK = re.compile("\r\n|[\r\x85\u2028\u2029]")


def escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# ASCII with every control, a few C1, bidi and separator characters, and other Unicode
TRICKY = st.text(
    st.one_of(
        st.characters(max_codepoint=0x7F),
        st.sampled_from(list("\x85\x9b\xa0é" + textsafe.BIDI + textsafe.SEPARATORS)),
        st.characters(),
    )
)


@settings(deadline=None)  # a busy machine's pause must not fail an example
@given(TRICKY)
@example("plain words")
@example("tab\there")
@example("line\nbreak")
@example("cr\r\nlf")
@example("del\x7f")
@example("esc\x1b[31m")
@example("")
def test_each_check_is_its_pattern(value: str) -> None:
    assert textsafe.is_one_line(value) is (LINE.search(value) is None)
    assert textsafe.is_safe_text(value) is (TEXT.search(value) is None)
    assert textsafe.visible(value, one_line=True) == LINE.sub(escape, value)
    assert textsafe.visible(value) == TEXT.sub(escape, value)
    assert textsafe.split_lines(value) == BREAK.sub("\n", value).split("\n")


def test_the_patterns_are_the_modules_attributes() -> None:
    assert textsafe.UNSAFE_IN_LINE.pattern == LINE.pattern
    assert textsafe.UNSAFE_IN_TEXT.pattern == TEXT.pattern
    from drp_cli.core.textsafe import UNSAFE_IN_LINE

    assert UNSAFE_IN_LINE is textsafe.UNSAFE_IN_LINE


def test_printable_ascii_compiles_no_pattern() -> None:
    code = (
        "from drp_cli.core import textsafe as t; "
        "t.clean_line(' C-123 ', 'child', 64); t.clean_text('a\\nb', 'text', required=True); "
        "t.visible('ok', one_line=True); t.split_lines('a\\nb'); print(sorted(t._compiled))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout == "['UNSAFE_IN_TEXT']\n"  # only for the text's newline
