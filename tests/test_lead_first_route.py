"""A concern with no route is on its protocol's first route (Protocol.route_or_none): where
that route addresses a stage to others (a letter to an external agency, say), the morning
check says so, as `show`, `list --json` and list's table do. It used to take the stage's own
addressees (the IRO Alert Form's), which no shipped protocol could show: none has a first
route that re-addresses a stage."""

from __future__ import annotations

from drp_cli.domain.protocols import _cached_registry, builtin_dir
from tests.conftest import open_args

LETTER = (
    "The professionals external to children's social care whose practice is of concern "
    "(e.g. adult services or outside organisations)"
)


def _letter_first(user_protocols):
    """Nottinghamshire 2016 with its care-plan route taken out: the external agency's route,
    which addresses the alert stage as a letter, is the first."""
    text = (builtin_dir() / "nottinghamshire-2016.toml").read_text(encoding="utf-8")
    start = text.index('[[routes]]\nslug = "care-plan"')
    end = text.index("[[routes]]", start + 1)
    text = text[:start] + text[end:]
    text = text.replace('slug = "nottinghamshire-2016"', 'slug = "notts-letter"', 1)
    (user_protocols / "notts-letter.toml").write_text(text, encoding="utf-8")
    _cached_registry.cache_clear()


def test_a_concern_with_no_route_is_addressed_as_its_first_route_has_it(drp, sql, user_protocols):
    _letter_first(user_protocols)
    assert drp(*open_args(protocol="notts-letter", child="N-1", category="general")).exit_code == 0
    sql("UPDATE concern SET route = NULL WHERE id = 1")  # written before routes were kept
    morning = drp("overdue", "--on", "2025-04-17", "--json")
    assert [i["addressed_to"] for i in morning.json()] == [[LETTER]]
    listed = drp("list", "--json", "--on", "2025-04-17")
    assert [c["addressed_to"] for c in listed.json()] == [[LETTER]]
    shown = drp("show", "1", "--json", "--on", "2025-04-17")
    assert shown.json()["addressed_to"] == [LETTER]
    table = drp("list", "--on", "2025-04-17")
    assert LETTER[:40] in table.stdout
    text = drp("overdue", "--on", "2025-04-17")
    assert LETTER[:40] in text.stdout and "Social worker" not in text.stdout


def test_on_the_route_it_names_it_is_the_same(drp, user_protocols):
    _letter_first(user_protocols)
    assert drp(*open_args(protocol="notts-letter", child="N-1", category="general")).exit_code == 0
    morning = drp("overdue", "--on", "2025-04-17", "--json")
    assert [i["addressed_to"] for i in morning.json()] == [[LETTER]]
