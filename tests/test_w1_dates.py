"""`parse_date` reads a date in ISO form without a regular expression (its patterns are
compiled on first use, not at import: issue 32): every answer and every refusal is the
one the patterns gave (the reference below is the parser as it was)."""

import datetime as dt
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from drp_cli.core.dates import DATE_FORMS, check_range, parse_date
from drp_cli.core.errors import InvalidInput

_DATE_LIKE = re.compile(r"[0-9./ -]{1,12}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DMY = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})")
_DMY_SHORT_YEAR = re.compile(r"[0-9]{1,2}([/.-])[0-9]{1,2}\1[0-9]{2}")
_THREE_NUMBERS = re.compile(r"[0-9]{1,4}[/. -][0-9]{1,2}[/. -][0-9]{1,4}")


def reference(value: str, what: str = "date") -> dt.date:
    text = value.strip()
    shown = f" {text!r}" if _DATE_LIKE.fullmatch(text) else ""
    if _DMY_SHORT_YEAR.fullmatch(text):
        raise InvalidInput(
            f"{what}{shown} has a two-digit year: give the year in full ({DATE_FORMS})"
        )
    try:
        if _ISO_DAY.fullmatch(text):
            day = dt.date.fromisoformat(text)
        elif m := _DMY.fullmatch(text):
            day = dt.date(int(m[4]), int(m[3]), int(m[1]))
        elif _THREE_NUMBERS.fullmatch(text):
            raise InvalidInput(f"{what}{shown} is not in a form drp reads: use {DATE_FORMS}")
        else:
            raise ValueError
    except ValueError:
        raise InvalidInput(f"{what}{shown} is not a real date: use {DATE_FORMS}") from None
    return check_range(day, what)


def outcome(parse, text: str) -> object:
    try:
        return parse(text, "--on")
    except InvalidInput as exc:
        return ("refused", str(exc), exc.exit_code)


TEXTS = st.text(alphabet="0123456789-/. \t\u0661\u0969\uff10x", max_size=14)
ISO_LIKE = st.builds(
    lambda y, m, d, pad: f"{pad}{y:04d}-{m:02d}-{d:02d}{pad}",
    st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99), st.sampled_from(["", " ", "\n"]),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.one_of(TEXTS, ISO_LIKE))
@example("2026-06-01")
@example("2026-02-30")
@example("1989-12-31")
@example("2200-01-01")
@example("0000-01-01")
@example("\uff12\uff10\uff12\uff16-06-01")
@example("2026-\u0660\u0666-01")
@example("14/03/2025")
@example("2025-W10-1")
@example(" 2025-03-14 ")
def test_the_same_answer_as_the_patterns(text: str) -> None:
    assert outcome(parse_date, text) == outcome(reference, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-02-30", "--on '2026-02-30' is not a real date: use " + DATE_FORMS),
        ("1989-12-31", "--on 1989-12-31 is outside the dates drp handles: use a date from "
                       "1990-01-01 to 2199-12-31"),
    ],
)  # fmt: skip
def test_iso_refusals_in_words(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_date(text, "--on")
    assert str(exc.value) == message


def test_an_iso_date_is_read() -> None:
    assert parse_date("2026-06-01") == dt.date(2026, 6, 1)
    assert parse_date(" 2026-06-01\n") == dt.date(2026, 6, 1)
