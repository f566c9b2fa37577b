"""Sweep item 10 (minor): words and wrapping. A date in a form drp does not read is said to
be so, with the forms it reads (not "not a real date"); `drp calendar add` says "1 working
day"; on a terminal, free text in a table is folded at spaces, never mid-word."""

from __future__ import annotations

import pytest

from drp_cli.core.dates import parse_date
from drp_cli.core.errors import InvalidInput
from tests.conftest import open_args
from tests.test_t30w_widths import on_terminal

FORMS = "DD/MM/YYYY or YYYY-MM-DD, e.g. 14/03/2025 or 2025-03-14"


# -- a date in another form ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2026/11/02", f"--on '2026/11/02' is not in a form drp reads: use {FORMS}"),
        ("2026.11.02", f"--on '2026.11.02' is not in a form drp reads: use {FORMS}"),
        ("2026 11 02", f"--on '2026 11 02' is not in a form drp reads: use {FORMS}"),
        ("02/11-2026", f"--on '02/11-2026' is not in a form drp reads: use {FORMS}"),
        # in a form drp reads, but no day: not a real date
        ("31/02/2026", f"--on '31/02/2026' is not a real date: use {FORMS}"),
        ("2026-02-30", f"--on '2026-02-30' is not a real date: use {FORMS}"),
    ],
)  # fmt: skip
def test_a_date_in_a_form_drp_does_not_read_is_called_so(typed, message):
    with pytest.raises(InvalidInput) as caught:
        parse_date(typed, "--on")
    assert str(caught.value) == message


def test_the_command_says_the_forms_it_reads(drp):
    r = drp(*open_args(on="2026/11/02"))
    assert (r.exit_code, r.stderr, r.stdout) == (
        2, f"Error: --on '2026/11/02' is not in a form drp reads: use {FORMS}\n", "")  # fmt: skip


# -- one working day ---------------------------------------------------------------------------
def test_calendar_add_says_one_working_day(drp):
    r = drp("calendar", "add", "03/03/2025", "1")
    assert (r.exit_code, r.stdout) == (0, "1 working day after 2025-03-03: 2025-03-04 (Tue)\n")
    r = drp("calendar", "add", "03/03/2025", "2")
    assert r.stdout == "2 working days after 2025-03-03: 2025-03-05 (Wed)\n"
    r = drp("calendar", "add", "2199-12-31", "1")
    assert r.stderr == (
        "Error: 1 working day after 2199-12-31 is after 2199-12-31, the last day drp's "
        "calendar covers\n"
    )


# -- free text folded at spaces ----------------------------------------------------------------
@pytest.fixture
def five_deadlines(drp):
    """The sweep's caseload, in 2025: a foster carer's concern (sbc-fciro) addressed to the
    "Supervising social worker; Their supervisor/manager; ...", among states long enough that
    at 100 columns the morning check showed "Supervisin g" and "supervisor /manager;"."""
    for args in (
        open_args(category="care plan", issue="drift-delay", summary="S"),
        ["escalate", "1", "--to", "Stage 3", "--note", "x", "--on", "2025-03-11"],
        open_args(protocol="nottinghamshire-2016", child="NT-1", category="care plan",
                  issue="drift-delay", summary="S", on="2025-03-21"),
        ["open", "--protocol", "sbc-fciro", "--carer", "SB-1189", "--category", "service",
         "--role", "fciro", "--summary", "Annual review overdue by three months.", "--on",
         "2025-03-11"],
        open_args(protocol="west-sussex", stage="stage-1", reason="U", child="WS-1",
                  category="care plan", issue="drift-delay",
                  summary="Sibling contact has not happened"),
    ):  # fmt: skip
        r = drp(*args)
        assert r.exit_code == 0, r.stderr
    return drp


@pytest.mark.parametrize("width", (60, 80, 100, 120, 160))
def test_the_morning_check_folds_free_text_at_spaces(five_deadlines, width):
    code, text = on_terminal(width, "overdue", "--on", "2025-04-06")
    assert code == 1, text
    assert "Supervisin\n" not in text and "Supervisin " not in text
    words = text.replace("│", " ").replace("┃", " ").split()
    for word in ("Supervising", "supervisor/manager;", "Fostering", "Managers", "Assistant",
                 "Director", "Practice", "Manager", "Annual", "review", "overdue", "three",
                 "months.", "Sibling", "contact", "happened"):  # fmt: skip
        for k in range(1, len(word)):  # no word shown as two pieces
            assert word[:k] not in words or word[k:] not in words, (width, word, text)
    for line in text.splitlines():
        assert len(line) <= width, (width, line)


def test_a_word_longer_than_a_long_word_may_still_be_folded():
    """A web address in a summary does not push the table off the terminal: only such a
    word (longer than LONG_WORD) is folded within, down to FREE_TEXT_MIN."""
    from drp_cli.cli.output import FREE_TEXT_MIN, LONG_WORD, column_widths

    url = "https://example.org/" + "x" * 40
    assert len(url) > LONG_WORD
    widths = column_widths(["ID", "Summary"], [["1", f"See {url} and Supervising"]],
                           {"Summary"}, 2 + 11 + 7, whole=True)  # fmt: skip
    assert widths == [2, 11]  # "Supervising" whole, the address folded
    assert column_widths(["ID", "Summary"], [["1", f"See {url}"]], {"Summary"},
                         2 + FREE_TEXT_MIN + 7, whole=True) == [2, FREE_TEXT_MIN]  # fmt: skip
    assert column_widths(["ID", "Summary"], [["1", "Supervising"]], {"Summary"}, 2 + 10 + 7,
                         whole=True) is None  # fmt: skip


# -- a whole number in words ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("escalate", "abc"), "The concern's id is a whole number, such as 12."),
        (("escalate", "1.5"), "The concern's id is a whole number, such as 12."),
        (("retract", "1", "abc", "--reason", "x"), "The entry's number is a whole number, "
                                                    "such as 12."),
        (("calendar", "add", "03/03/2025", "two"), "How many working days is a whole number, "
                                                    "such as 12."),
        (("calendar", "holidays", "abc"), "A year is a whole number, such as 12."),
        (("overdue", "--within", "abc"), "--within is a whole number, such as 12."),
    ],
)  # fmt: skip
def test_a_whole_number_is_asked_for_in_words(drp, args, message):
    r = drp(*args)
    assert (r.exit_code, r.stderr.splitlines()[-1]) == (2, f"Error: {message}")
    assert "valid integer" not in r.stderr
