"""Output paths with control characters are shown as escapes, never raw (issue 29 item 23)."""

from __future__ import annotations

import pytest

from drp_cli.adapters.outpaths import check_output
from drp_cli.core.errors import InvalidInput


def test_an_existing_target_with_an_escape_in_its_name_is_shown_escaped(tmp_path):
    target = tmp_path / "a\x1b]0;pwned\x07.md"
    target.write_text("x")
    with pytest.raises(InvalidInput) as info:
        check_output(target, [], force=False, kind="file", what="form")
    message = str(info.value)
    assert "\x1b" not in message and "\x07" not in message
    assert message.endswith("\\x1b]0;pwned\\x07.md already exists; use force to replace it")


def test_a_missing_folder_with_a_newline_in_its_name_is_shown_on_one_line(tmp_path):
    target = tmp_path / "no\nsuch" / "form.md"
    with pytest.raises(InvalidInput) as info:
        check_output(target, [], force=False, kind="file", what="form")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("folder ")
