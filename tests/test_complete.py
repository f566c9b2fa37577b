"""Shell completion of values, through click's completion machinery as a shell drives it
(`_DRP_COMPLETE=complete_bash` with COMP_WORDS and COMP_CWORD, or zsh's
`_TYPER_COMPLETE_ARGS`): protocols, stages, themes and issues from the protocol files,
open concerns' ids and owners from the database. It never fails and never offers a
child's reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from drp_cli.cli import app, complete
from drp_cli.services.tracker import Tracker

KNOWSLEY = ["stage-1", "stage-2", "stage-3", "stage-4"]
PROTOCOLS = ["knowsley", "nottinghamshire-2016", "nottinghamshire-crp", "sbc-fciro",
             "west-sussex"]  # fmt: skip


def bash(line: str, target: typer.Typer = app) -> list[str]:
    """What bash offers for ``line`` (the word being completed is its last one, empty if
    ``line`` ends with a space)."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    env = {"_DRP_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(cword)}
    r = CliRunner().invoke(target, [], env=env, prog_name="drp", catch_exceptions=False)
    assert (r.exit_code, r.stderr) == (0, ""), (line, r.stdout, r.stderr)
    return [line for line in r.stdout.splitlines() if line]


def zsh(line: str) -> str:
    """What zsh is told for ``line``: each value with its help."""
    env = {"_DRP_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line}
    r = CliRunner().invoke(app, [], env=env, prog_name="drp", catch_exceptions=False)
    assert (r.exit_code, r.stderr) == (0, ""), (line, r.stdout, r.stderr)
    return r.stdout


def open_concerns(tracker: Tracker, count: int) -> None:
    for n in range(1, count + 1):
        protocol = "west-sussex" if n == 2 else "knowsley"
        tracker.open(protocol=protocol, child=f"SECRET-CHILD-{n}", category="statutory",
                     summary="x", on="2025-03-03")  # fmt: skip


# from the protocol files --------------------------------------------------------------


def test_protocols():
    assert bash("drp open --protocol ") == PROTOCOLS
    assert bash("drp open --protocol not") == ["nottinghamshire-2016", "nottinghamshire-crp"]
    assert bash("drp list --protocol w") == ["west-sussex"]
    assert bash("drp protocols show k") == ["knowsley"]
    assert bash("drp open --protocol=s") == ["sbc-fciro"]


def test_stages_of_the_protocol_given_or_of_all():
    assert bash("drp open --protocol knowsley --stage ") == KNOWSLEY
    assert bash("drp list --protocol west-sussex --stage ") == [
        "informal", "stage-1", "stage-2", "stage-3", "stage-4", "stage-5"]  # fmt: skip
    assert bash("drp list --stage ") == [
        *KNOWSLEY, "alert", "discussion", "manager-review", "escalation", "informal",
        "level-1", "level-2", "level-3", "level-4", "stage-5",
    ]  # fmt: skip
    assert bash("drp escalate 1 --to l") == ["level-1", "level-2", "level-3", "level-4"]
    assert bash("drp open --protocol no-such --stage ") == []


def test_stage_help_names_its_title_or_protocols():
    given = zsh("drp open --protocol knowsley --stage ")
    assert r'"stage-2":"Stage 2\\: Dispute Resolution"' in given
    assert '"alert":"nottinghamshire-2016"' in zsh("drp list --stage a")


def test_categories_issues_roles_and_routes():
    assert bash("drp open --category ") == ["general", "statutory", "care-plan", "service"]
    assert bash("drp open --category statutory --issue p") == ["pep", "placement-plan"]
    assert bash("drp open --issue pl") == [
        "placement-plan", "plan-not-implemented", "plan-safeguarding", "plan-child-needs",
        "placement-suitability"]  # fmt: skip
    assert bash("drp open --protocol knowsley --role ") == ["iro", "cp-chair"]
    assert bash("drp open --role c") == ["cp-chair", "cpa", "cp-coordinator"]
    assert bash("drp open --protocol nottinghamshire-2016 --route ") == [
        "care-plan", "external-agency"]  # fmt: skip
    assert bash("drp open --route ") == []  # no protocol, no routes


def test_fixed_lists():
    assert bash("drp list --status ") == ["open", "resolved", "withdrawn", "all"]
    assert bash("drp cafcass 1 ") == ["senior-officer-notified", "helpline", "legal-advice",
                                      "confirmed-in-writing", "outcome"]  # fmt: skip
    assert bash("drp not-applicable 1 c") == ["care-order", "case-chronology", "care-plan"]
    assert bash("drp voice 1 w") == ["wishes-sought", "wishes-not-sought"]


def test_a_broken_protocol_file_gives_no_candidates(user_protocols: Path):
    (user_protocols / "mine.toml").write_text("slug = [not toml", encoding="utf-8")
    assert bash("drp open --protocol ") == []
    assert bash("drp open --category ") == ["general", "statutory", "care-plan", "service"]


# from the database ----------------------------------------------------------------------


def test_open_concern_ids(tracker: Tracker):
    open_concerns(tracker, 12)
    tracker.resolve(3, outcome="Done", on="2025-03-04")
    tracker.escalate(2, on="2025-03-05")
    tracker.store.close()
    everything = ["1", "2", "4", "5", "6", "7", "8", "9", "10", "11", "12"]
    assert bash("drp escalate ") == everything
    assert bash("drp show 1") == ["1", "10", "11", "12"]
    assert bash("drp note 3") == []  # resolved
    assert bash("drp action add ") == everything
    assert bash("drp escalate x") == []
    assert bash("drp escalate 1 --to stage-3 ") == []  # the id is given


def test_a_concern_is_offered_with_its_stage_never_its_child(tracker: Tracker):
    open_concerns(tracker, 2)
    tracker.escalate(2, on="2025-03-05")
    tracker.store.close()
    assert zsh("drp escalate ") == (
        '_arguments \'*: :(("1":"knowsley stage-1"\n"2":"west-sussex stage-1"))\'\n'
    )
    assert "SECRET" not in zsh("drp escalate ") + "\n".join(bash("drp escalate "))


def test_the_db_option_is_the_database_read(tracker: Tracker, tmp_path: Path):
    open_concerns(tracker, 2)
    tracker.store.close()
    other = Tracker(tmp_path / "other.sqlite3")
    open_concerns(other, 1)
    other.store.close()
    assert bash(f"drp --db {tmp_path / 'other.sqlite3'} escalate ") == ["1"]
    assert bash("drp escalate ") == ["1", "2"]


def test_no_database_no_candidates_and_none_created(db_path: Path):
    assert not db_path.exists()
    assert bash("drp escalate ") == []
    assert not db_path.exists()


@pytest.mark.parametrize("junk", [b"", b"this is not a database at all" * 40])
def test_a_database_that_cannot_be_read_gives_no_candidates(db_path: Path, junk: bytes):
    db_path.write_bytes(junk)
    db_path.chmod(0o600)
    assert bash("drp escalate ") == []
    assert bash("drp --db /nonexistent/folder/drp.sqlite3 escalate ") == []


def test_completion_values_from_the_tracker(tracker: Tracker, sql):
    assert tracker.completion_values("owner", "") == []
    open_concerns(tracker, 1)
    sql("INSERT INTO staff (name, key, team, added_by, added_at) VALUES "
        "('A. Smith', 'a-smith', 'North', 'Test IRO', '2025-03-03 09:00:00+00:00'), "
        "('Test IRO', 'test-iro', 'North', 'Test IRO', '2025-03-03 09:00:00+00:00'), "
        "('B. Jones', 'b-jones', NULL, 'Test IRO', '2025-03-03 09:00:00+00:00')")  # fmt: skip
    assert tracker.completion_values("owner", "") == [
        ("A. Smith", ""), ("B. Jones", ""), ("Test IRO", "")]  # fmt: skip
    assert tracker.completion_values("owner", "T") == [("Test IRO", "")]
    assert tracker.completion_values("concern", "1") == [("1", "knowsley stage-1")]
    with pytest.raises(ValueError):
        tracker.completion_values("child", "")


def test_owners_through_a_command(tracker: Tracker, sql):
    """An ``--owner`` option completed with :func:`drp_cli.cli.complete.owners`."""
    demo = typer.Typer()

    @demo.command()
    def assign(owner: Annotated[str, typer.Option(autocompletion=complete.owners)]) -> None:
        """Hand a concern over."""

    @demo.command()
    def other() -> None:
        """Another command, so that `assign` is a sub-command."""

    assert bash("drp assign --owner ", demo) == []  # no database yet
    open_concerns(tracker, 1)
    sql("INSERT INTO staff (name, key, added_by, added_at) VALUES "
        "('A. Smith', 'a-smith', 'Test IRO', '2025-03-03 09:00:00+00:00')")  # fmt: skip
    assert bash("drp assign --owner ", demo) == ["A. Smith", "Test IRO"]
    assert bash("drp assign --owner A", demo) == ["A. Smith"]


def test_completion_never_raises(monkeypatch):
    def boom(self, kind, prefix):
        raise RuntimeError("SECRET-CHILD-REF")

    monkeypatch.setattr(Tracker, "completion_values", boom)
    assert bash("drp escalate ") == []
