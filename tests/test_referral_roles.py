"""Who may refer to CAFCASS, by role, as each source gives the power (issue 28 finding 12).

`drp refer` and `drp cafcass` refuse a concern raised in a role its protocol's source does
not give the power to refer (exit 1, the source quoted, no personal data), and an import of
a history with such a referral is refused alike: the rule is the registry of transitions'.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from drp_cli.core.errors import ProtocolFileError
from drp_cli.domain.protocols import load_protocol_file, load_registry
from tests.conftest import open_args

CHILD = "RR-4417"  # never in a message

WS_QUOTE = (
    '"the IRO will determine, in consultation with independent legal advice and / or IRO '
    "Manager, Quality Assurance AD if there is a potential breach of human rights or immediacy "
    'and impact of concern on child that warrant further escalation / referral to Cafcass" '
    "(§6, Referral to Cafcass - Legal Advice)"
)
CRP_QUOTE = '"The IRO has the power to refer the matter to CAFCASS" (Scope of this chapter)'

#: protocol, role, who may refer (None: refused), the refusal's words after "Error: "
CASES = [
    # West Sussex §6: "the IRO will determine ... referral to Cafcass"; a CPA does not refer
    ("west-sussex", "iro", True, None),
    (
        "west-sussex",
        "cpa",
        False,
        "concern 1 was raised in the role 'cpa'; protocol 'west-sussex' gives the power to "
        f"refer to CAFCASS to 'iro' only: {WS_QUOTE}",
    ),
    # Nottinghamshire 2021: "The IRO has the power to refer the matter to CAFCASS"
    ("nottinghamshire-crp", "iro", True, None),
    (
        "nottinghamshire-crp",
        "cp-coordinator",
        False,
        "concern 1 was raised in the role 'cp-coordinator'; protocol 'nottinghamshire-crp' "
        f"gives the power to refer to CAFCASS to 'iro' only: {CRP_QUOTE}",
    ),
    (
        "nottinghamshire-crp",
        "fciro",
        False,
        "concern 1 was raised in the role 'fciro'; protocol 'nottinghamshire-crp' gives the "
        f"power to refer to CAFCASS to 'iro' only: {CRP_QUOTE}",
    ),
    # Knowsley 2.2: "The IRO/CP Chair has the power to refer the matter to Cafcass": both
    ("knowsley", "iro", True, None),
    ("knowsley", "cp-chair", True, None),
    # Nottinghamshire 2016: "The IRO has the power to refer": its only role
    ("nottinghamshire-2016", "iro", True, None),
    # SBC 1.6.3 never mentions CAFCASS
    (
        "sbc-fciro",
        "fciro",
        False,
        "protocol 'sbc-fciro' gives no CAFCASS referral: The source does not mention a "
        "referral to CAFCASS, so drp offers none under this protocol.",
    ),
]


def opened(drp: Any, protocol: str, role: str) -> None:
    args = open_args(protocol=protocol, child=CHILD, category="general", role=role)
    if protocol == "sbc-fciro":
        args = [a if a != "--child" else "--carer" for a in args]
    r = drp(*args)
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize(("protocol", "role", "allowed", "message"), CASES)
def test_refer_by_role(drp, protocol, role, allowed, message):
    opened(drp, protocol, role)
    r = drp("refer", "1", "--on", "2025-03-05", "--text", "Why now", "--json")
    if allowed:
        assert r.exit_code == 0, r.stderr
        assert r.json()["referred_to_cafcass_on"] == "2025-03-05"
        return
    assert (r.exit_code, r.stdout, r.stderr) == (1, "", f"Error: {message}\n")
    assert CHILD not in r.stderr and "Test IRO" not in r.stderr
    assert drp("show", "1", "--json").json()["referred_to_cafcass_on"] is None
    # the steps around a referral are refused alike
    r = drp("cafcass", "1", "helpline", "--on", "2025-03-05")
    assert (r.exit_code, r.stderr) == (1, f"Error: {message}\n")


def test_every_builtin_protocol_says_who_may_refer():
    for slug, p in load_registry([]).protocols.items():
        referral = p.referral
        assert referral.roles is not None, slug
        if referral.offered:
            assert referral.roles and referral.roles_quote and referral.roles_citation, slug
        else:
            assert referral.roles == [], slug
    reg = load_registry([]).protocols
    assert reg["west-sussex"].referral.roles == ["iro"]
    assert reg["nottinghamshire-crp"].referral.roles == ["iro"]
    assert reg["nottinghamshire-2016"].referral.roles == ["iro"]
    assert reg["knowsley"].referral.roles == ["iro", "cp-chair"]


USER = """
slug = "{slug}"
title = "T"
authority = "T"
source = "T"
roles = ["iro", "cpa"]
formal_cap_citation = "none"
bypass_citation = "none"

[cafcass]
citation = "any point"
{extra}

[[stages]]
slug = "one"
title = "One"
formal = false
addressed_to = ["Team Manager"]
timescale_working_days = 5
citation = "para 1"
"""


def test_a_user_file_without_roles_lets_every_role_refer(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(USER.format(slug="mine", extra=""))
    p = load_protocol_file(path)
    assert p.referral.roles is None
    assert p.referral.may_refer("cpa") and p.referral.may_refer("iro")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('roles = ["judge"]', "field cafcass.roles: 'judge' is not one of this protocol's roles"),
        ("roles = []", "field cafcass.roles: empty, so no role may refer: give "
                       "offered = false instead"),
        ('offered = false\nroles = ["iro"]',
         "field cafcass.roles: the referral is not offered, so no role may refer"),
    ],
)  # fmt: skip
def test_cafcass_roles_are_checked_when_a_file_loads(tmp_path, extra, message):
    path = tmp_path / "bad.toml"
    path.write_text(USER.format(slug="bad", extra=extra))
    with pytest.raises(ProtocolFileError) as err:
        load_protocol_file(path)
    assert str(err.value).endswith(message), str(err.value)


def test_an_import_of_a_referral_by_a_role_without_the_power_is_refused(drp, tmp_path):
    opened(drp, "west-sussex", "iro")
    assert drp("refer", "1", "--on", "2025-03-05", "--text", "Why now").exit_code == 0
    out = tmp_path / "export.json"
    assert drp("export", "--format", "json", "-o", str(out)).exit_code == 0
    data = json.loads(out.read_text())
    row = data["concerns"][0]
    # the same history, raised by a CPA: a referral the commands would refuse
    row["role"] = row["events"][0]["details"]["role"] = "cpa"
    row["uid"] = row["events"][0]["details"]["uid"] = uuid.uuid4().hex
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    r = drp("import", str(path))
    expected = (
        "Error: 1 problem found; nothing was imported:\n"
        "  item 1, column events: event 2: the concern was raised in the role 'cpa'; protocol "
        f"'west-sussex' gives the power to refer to CAFCASS to 'iro' only: {WS_QUOTE}\n"
    )
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", expected)
    assert CHILD not in r.stderr
    # as the IRO's, the same file imports
    row["role"] = row["events"][0]["details"]["role"] = "iro"
    Path(path).write_text(json.dumps(data))
    r = drp("import", str(path))
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize(
    ("protocol", "asked"),
    [
        # "Prior to making a referral, the IRO should notify a nominated ... senior officer"
        ("nottinghamshire-crp", True),
        ("nottinghamshire-2016", True),
        # Knowsley and West Sussex ask for no such notification (issue 28 finding 13)
        ("knowsley", False),
        ("west-sussex", False),
    ],
)
def test_senior_officer_not_recorded_only_where_the_source_asks(drp, tmp_path, protocol, asked):
    opened(drp, protocol, "iro")
    assert drp("refer", "1", "--on", "2025-03-05", "--text", "Why now").exit_code == 0
    shown = drp("show", "1").stdout
    assert ("senior officer NOT RECORDED AS NOTIFIED" in shown) == asked
    assert "referred 2025-03-05" in shown
    out = tmp_path / "bundle"
    r = drp("bundle", "1", "-o", str(out), "--on", "2025-03-06")
    assert r.exit_code == 0, r.stderr
    index = (out / "index.md").read_text()
    row = next(line for line in index.splitlines() if "**Senior officer notified**" in line)
    if asked:
        assert "**NOT RECORDED**" in row
    else:
        assert row.endswith("| the protocol asks for no notification |"), row
