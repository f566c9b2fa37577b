"""The protocol files: each follows its seed, and bad files fail with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from drp_cli.errors import ProtocolFileError
from drp_cli.protocols import builtin_dir, load_protocol_file, load_registry, themes

EXPECTED = {
    # slug: [(stage, formal, working days)]
    "nottinghamshire-2016": [
        ("alert", False, 10), ("stage-1", True, 7), ("stage-2", True, 7), ("stage-3", True, 5),
    ],
    "sbc-fciro": [
        ("informal", False, 10), ("level-1", True, 5), ("level-2", True, 5),
        ("level-3", True, 5), ("level-4", True, 5),
    ],
    "knowsley": [
        ("stage-1", False, 5), ("stage-2", True, 5), ("stage-3", True, 5), ("stage-4", True, 5),
    ],
    "nottinghamshire-crp": [
        ("discussion", False, None), ("manager-review", True, None), ("escalation", True, None),
    ],
    "west-sussex": [
        ("informal", False, 5), ("stage-1", True, 5), ("stage-2", True, 5), ("stage-3", True, 5),
        ("stage-4", True, 5), ("stage-5", True, None),
    ],
}  # fmt: skip


def test_builtin_protocols_follow_the_seeds():
    reg = load_registry([])
    assert sorted(reg.protocols) == sorted(EXPECTED)
    for slug, stages in EXPECTED.items():
        p = reg.protocols[slug]
        assert [(s.slug, s.formal, s.timescale_working_days) for s in p.stages] == stages
        assert p.formal_cap_working_days == 20
        for s in p.stages:
            assert s.citation.strip(), (slug, s.slug)
            assert s.addressed_to
            if s.timescale_working_days is None:
                assert "no timescale" in s.timescale_note, (slug, s.slug)


def test_recipients_and_copy_lists_from_the_seeds():
    reg = load_registry([])
    sbc = reg.protocols["sbc-fciro"]
    assert sbc.stage("level-1").addressed_to == ["Team Manager"]
    assert "Board Director, Commissioning (DCS/DASS)" in sbc.stage("level-3").copied_to
    ws = reg.protocols["west-sussex"]
    assert ws.stage("stage-2").copied_to == ["IRO/CPA Team Manager"]
    assert ws.stage("stage-5").addressed_to == [
        "Deputy Director",
        "Executive Director Children's Services",
    ]
    assert "immediate safety" in ws.stage("informal").guidance
    kn = reg.protocols["knowsley"]
    assert "Standard 3.5" in kn.formal_cap_citation
    assert reg.protocols["nottinghamshire-2016"].stage("alert").copied_to == [
        "IRO Business Support (IRO alerts email address)"
    ]


def test_themes_are_the_four_of_the_seeds():
    t = themes()
    assert [x.slug for x in t.themes] == ["general", "statutory", "care-plan", "service"]
    assert t.check_issue("statutory", "no-social-worker").sources == ["001 Table 2", "004 App. 2"]


GOOD = """
slug = "{slug}"
title = "Test protocol"
authority = "Test Council"
source = "test"
roles = ["iro"]
formal_cap_working_days = 20
formal_cap_citation = "IRO Handbook"
bypass_citation = "IRO Handbook 6.2"
cafcass_citation = "s.25B(3)"

[[stages]]
slug = "informal"
title = "Informal"
formal = false
addressed_to = ["Team Manager"]
timescale_working_days = 3
citation = "para 1"

[[stages]]
slug = "formal"
title = "Formal"
formal = true
addressed_to = ["Service Manager"]
timescale_working_days = 4
citation = "para 2"
"""


def write(folder: Path, slug: str, text: str) -> Path:
    path = folder / f"{slug}.toml"
    path.write_text(text)
    return path


def test_user_protocol_is_loaded(user_protocols, drp):
    write(user_protocols, "testshire", GOOD.format(slug="testshire"))
    r = drp("protocols", "--json")
    assert r.exit_code == 0
    assert "testshire" in [p["slug"] for p in r.json()]
    r = drp(
        "open", "--protocol", "testshire", "--child", "T-1", "--category", "general",
        "--summary", "x", "--on", "2025-03-03", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert r.json()["deadline"] == "2025-03-06"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.format(slug="bad").replace('title = "Formal"\n', ""),
            "field stages.1.title: required, but missing",
        ),
        (
            GOOD.format(slug="bad").replace("days = 4", "days = 0"),
            "field stages.1.timescale_working_days: Expected `int` >= 1",
        ),
        (
            GOOD.format(slug="bad").replace("timescale_working_days = 4\n", ""),
            "field stages.1: timescale_note is required when "
            "timescale_working_days is absent: say that the source gives no timescale",
        ),
        (
            GOOD.format(slug="bad").replace('roles = ["iro"]', 'roles = ["judge"]'),
            "field roles: unknown role 'judge'; allowed: iro, cp-chair, cpa, "
            "cp-coordinator, fciro, social-care",
        ),
        (
            GOOD.format(slug="bad").replace('slug = "formal"', 'slug = "informal"'),
            "field (top level): stage slug 'informal' appears more than once",
        ),
        (
            GOOD.format(slug="bad")
            .replace("formal = false", "formal = true", 1)
            .replace('true\naddressed_to = ["Service', 'false\naddressed_to = ["Service'),
            "field (top level): stage 'formal' is informal but follows a formal stage",
        ),
        (GOOD.format(slug="other"), "field slug: 'other' must match the file name 'bad'"),
        (
            GOOD.format(slug="bad") + "colour = 'red'\n",
            "field stages.1.colour: not a known field",
        ),
    ],
)  # fmt: skip
def test_malformed_protocol_file(tmp_path, text, message):
    path = write(tmp_path, "bad", text)
    with pytest.raises(ProtocolFileError) as err:
        load_protocol_file(path)
    assert str(err.value) == f"protocol file {path}: {message}"


def test_invalid_toml_and_duplicate_slug(user_protocols, drp):
    path = write(user_protocols, "broken", "slug = ")
    r = drp("protocols")
    assert r.exit_code == 4
    assert r.stderr.startswith(f"Error: protocol file {path} is not valid TOML:")
    assert r.stderr.count("\n") == 1
    path.unlink()
    write(user_protocols, "knowsley", GOOD.format(slug="knowsley"))
    r = drp("protocols")
    assert r.exit_code == 4
    assert r.stderr == (
        f"Error: protocol file {user_protocols / 'knowsley.toml'}: field slug: 'knowsley' is "
        f"already defined by {builtin_dir() / 'knowsley.toml'}; give your protocol its own "
        "slug\n"
    )


def test_protocols_commands(drp):
    r = drp("protocols")
    assert r.exit_code == 0
    assert "west-sussex" in r.stdout and "informal (5) > stage-1 (5)" in r.stdout
    r = drp("protocols", "show", "west-sussex")
    assert r.exit_code == 0
    assert "stage-5" in r.stdout
    assert "none given" in r.stdout
    r = drp("protocols", "show", "west-sussex", "--json")
    assert r.json()["stages"][5]["timescale_working_days"] is None
    r = drp("protocols", "show", "nowhere")
    assert r.exit_code == 2
    assert r.stderr.startswith("Error: unknown protocol 'nowhere'; installed: knowsley, ")
    r = drp("protocols", "--paths")
    assert "built-in:" in r.stdout
    r = drp("themes")
    assert "no-social-worker" in r.stdout
