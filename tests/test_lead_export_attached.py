"""An export reads each attached file as every reader does (services.attachments): a stored
copy missing is exit 3, one changed outside drp is tampering, exit 6, as verify, the bundle
and subject access say it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import open_args


def _store_of(db_target: str, tmp_path: Path) -> Path:
    """The attachments store: beside a SQLite file, DRP_ATTACHMENTS on PostgreSQL."""
    if db_target.startswith("postgresql"):
        return tmp_path / "attachments"
    return Path(db_target).parent / f"{Path(db_target).stem}-attachments"


def test_an_export_of_a_stored_file_changed_outside_drp_is_tampering(drp, db_target, tmp_path):
    assert drp(*open_args(on="2025-03-03")).exit_code == 0
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(b"%PDF-1.4 the care plan")
    assert drp("attach", "1", str(plan), "--kind", "care-plan", "--on", "2025-03-04").exit_code == 0
    (stored,) = [p for p in _store_of(db_target, tmp_path).rglob("*") if p.is_file()]
    stored.chmod(0o600)
    stored.write_bytes(b"%PDF-1.4 another plan")
    r = drp("export", "--format", "csv", "-o", str(tmp_path / "export"))
    assert (r.exit_code, r.stderr) == (
        6,
        "Error: the stored copy of an attachment of concern 1 does not match its SHA-256: it "
        "was changed outside drp; run `drp verify`\n",
    )
    assert not (tmp_path / "export").exists()


def test_an_export_of_a_stored_file_gone_is_not_found(drp, db_target, tmp_path):
    assert drp(*open_args(on="2025-03-03")).exit_code == 0
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(b"%PDF-1.4 the care plan")
    assert drp("attach", "1", str(plan), "--kind", "care-plan", "--on", "2025-03-04").exit_code == 0
    (stored,) = [p for p in _store_of(db_target, tmp_path).rglob("*") if p.is_file()]
    stored.unlink()
    r = drp("export", "--format", "csv", "-o", str(tmp_path / "export"))
    assert (r.exit_code, r.stderr) == (
        3,
        "Error: the stored copy of an attachment of concern 1 is missing from the store\n",
    )
