"""The recording commands and `drp show` load only what they need (issue 32): not the
retention schedule (only where the chain is walked or a hold asked), not the stored files'
module (only with attachments), not TOML (the protocols come from their compiled cache),
and a uid block of one, not 4,096."""

from pathlib import Path

import pytest

from drp_cli.domain.calendar import bank_holidays
from drp_cli.services.tracker import Tracker
from tests.test_command_weight import COMMANDS, drp_modules, imported

NEVER = {"drp_cli.domain.retention", "drp_cli.store.filestore"}


@pytest.fixture
def record(db_path: Path) -> Path:
    bank_holidays(2025)
    t = Tracker(db_path)
    for n in (1, 2, 3):
        t.open(protocol="knowsley", child=f"KN-{n}", category="statutory", summary="x",
               on="2025-03-03")  # fmt: skip
    t.store.close()
    imported(["show", "1"], db_path)  # the compiled protocol cache, as every later run has it
    return db_path


@pytest.mark.parametrize("command", ["open", "escalate", "respond", "note", "refer", "resolve",
                                     "show"])  # fmt: skip
def test_recording_commands_leave_out_what_they_do_not_use(record, command):
    code, mods = drp_modules(COMMANDS[command], record)
    assert code == 0, command
    assert "drp_cli.store.record" in mods  # the command did run
    never = NEVER - {"drp_cli.store.filestore"} if command == "show" else NEVER  # its files
    assert mods & never == set(), (command, sorted(mods & never))
    code, every = imported(COMMANDS[command], record)
    assert "tomllib" not in every and "dataclasses" in every  # (typer's, as ever)
