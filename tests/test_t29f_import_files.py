"""Hostile and awkward import files (issue 29 items 12-16, 23, 25; issue 30 "The sheet"):
each refused with exit 2 and one line naming what is wrong (never exit 70, never a hang,
never a cell), or read as the person who made it meant."""

from __future__ import annotations

import os
import shutil
import struct
import threading
import zipfile
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
XLSX = DATA / "council-log.xlsx"
CSV = DATA / "council-log.csv"
MAP = DATA / "council-log.map.toml"
OWN_HEADER = "protocol,child,category,summary,opened_on,stage,stage_started_on,status\n"


def one_line_error(r, code: int = 2) -> str:
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr)
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
    return r.stderr


def rewritten(tmp_path: Path, change, name: str = "log.xlsx") -> Path:
    """A copy of the council workbook with each part's bytes passed through ``change``."""
    out = tmp_path / name
    with zipfile.ZipFile(XLSX) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info)))
    return out


# -- item 13: an XML entity ------------------------------------------------------------------
ENTITY = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>\n'


@pytest.mark.parametrize(
    "part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "[Content_Types].xml"]
)
def test_a_workbook_declaring_an_xml_entity_is_refused(drp, tmp_path, part):
    def change(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        return ENTITY + data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else ENTITY + data

    path = rewritten(tmp_path, change)
    said = (f"Error: {path} declares an XML document type or entity, which a workbook never "
            "needs; drp does not read it (save it again from Excel)\n")  # fmt: skip
    assert one_line_error(drp("import", str(path), "--map", str(MAP))) == said
    assert one_line_error(drp("import", str(path), "--suggest-map")) == said
    assert not Path(os.environ["DRP_DB"]).exists()


# -- item 14: a bomb -------------------------------------------------------------------------
def test_a_workbook_that_says_it_inflates_to_a_gibibyte_is_refused_unread(
    drp, tmp_path, monkeypatch
):
    """The sizes the zip declares are checked before anything is inflated."""
    path = rewritten(tmp_path, lambda name, data: data)
    raw = bytearray(path.read_bytes())
    # every header of sheet1.xml: its uncompressed size becomes 1 GiB
    name = b"xl/worksheets/sheet1.xml"
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.find(sig)
        while at >= 0:
            name_at = at + (30 if sig == b"PK\x03\x04" else 46)
            if raw[name_at : name_at + len(name)] == name:
                struct.pack_into("<I", raw, at + size_at, 1 << 30)
            at = raw.find(sig, at + 4)
    path.write_bytes(bytes(raw))
    from drp_cli.exchange import sheets

    inflated: list[int] = []
    real_open = zipfile.ZipFile.open

    def counted_open(*args, **kwargs):
        inflated.append(1)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counted_open)
    r = drp("import", str(path), "--map", str(MAP))
    assert one_line_error(r) == (f"Error: {path} would inflate to more than 256 MB (or far more "
                                 "than its size): larger than any spreadsheet drp reads; drp did "
                                 "not open it\n")  # fmt: skip
    assert inflated == []  # refused on what it declares: nothing inflated
    assert sheets.MAX_INFLATED == 256 << 20


def test_a_workbook_that_lies_about_its_size_is_refused_as_it_inflates(drp, tmp_path, monkeypatch):
    """A zip can declare a small size and inflate to far more: what is inflated is counted
    (here against a bound of 2 MB, standing for the 256 MB one)."""
    from drp_cli.exchange import sheets

    monkeypatch.setattr(sheets, "MAX_INFLATED", 2 << 20)
    spaces = b" " * (3 << 20)  # 3 MB of white space in the sheet, compressing to a few KB

    def change(name: str, data: bytes) -> bytes:
        return data.replace(b"<sheetData>", b"<sheetData>" + spaces) if "sheet1" in name else data

    path = rewritten(tmp_path, change)
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")
    while at >= 0:  # the central directory says every part is 100 bytes
        struct.pack_into("<I", raw, at + 24, 100)
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))
    r = drp("import", str(path), "--map", str(MAP))
    assert "would inflate to more than 2 MB" in one_line_error(r)


def test_an_honest_workbook_passes_the_checks_once(tmp_path):
    from drp_cli.exchange import sheets

    copy = tmp_path / "log.xlsx"
    shutil.copy(XLSX, copy)
    sheets.check_workbook(copy)
    assert any(k[1] == copy.stat().st_ino for k in sheets._checked)


# -- item 15 (the map) and item 25: nested TOML, files that are not regular files -----------
def test_a_deeply_nested_map_is_refused(drp, tmp_path):
    path = tmp_path / "deep.map.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    r = drp("import", str(XLSX), "--map", str(path))
    assert one_line_error(r) == f"Error: the map {path} is nested too deeply to be a map\n"


def test_dev_zero_is_not_a_regular_file(drp):
    r = drp("import", "/dev/zero")
    assert one_line_error(r) == "Error: /dev/zero is not a regular file\n"
    r = drp("import", str(XLSX), "--map", "/dev/zero")
    assert one_line_error(r) == "Error: the map /dev/zero is not a regular file\n"
    r = drp("import", "/dev/zero", "--sheet", "x")
    assert one_line_error(r) == "Error: /dev/zero is not a regular file\n"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json", ".toml"])
def test_a_fifo_does_not_hang_the_import(drp, tmp_path, suffix):
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    result: list = []
    args = ["import", str(XLSX), "--map", str(fifo)] if suffix == ".toml" else ["import", str(fifo)]
    worker = threading.Thread(target=lambda: result.append(drp(*args)), daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # let it go: open a writer so that the reader sees the end
        with open(fifo, "wb"):
            pass
        worker.join(5)
        pytest.fail("the import waited on a FIFO")
    assert "is not a regular file" in one_line_error(result[0])


def test_a_folder_that_is_not_drps_export(drp, tmp_path):
    r = drp("import", str(tmp_path))
    assert one_line_error(r) == f"Error: {tmp_path} is not a regular file\n"


# -- item 16: a file mixing encodings ---------------------------------------------------------
def test_a_csv_mixing_utf8_and_windows_1252_rows_is_refused_with_the_row(drp, tmp_path):
    text = CSV.read_bytes()  # Windows-1252 ("Zoë" on row 4)
    path = tmp_path / "mixed.csv"
    # a row of UTF-8 ("Siân") added at the end: row 11 (the file has 10 rows)
    assert text.count(b"\r\n") == 10
    path.write_bytes(text + "WS-0199,CH-1099,S.J.,01/07/2025,Tom Reed,Statutory,Siân has no "
                     "plan,Stage 1,01/07/2025,Open,,,No,\r\n".encode())  # fmt: skip
    r = drp("import", str(path), "--map", str(MAP))
    assert one_line_error(r) == (f"Error: {path}, row 11: UTF-8 text in a file whose other rows "
                                 "are Windows-1252; the file mixes encodings: save it again as "
                                 "CSV UTF-8\n")  # fmt: skip
    # drp's own columns: the same
    own = tmp_path / "own.csv"
    own.write_bytes(OWN_HEADER.encode() + "knowsley,K-1,statutory,Zoë,2025-03-03,stage-1,"
                    "2025-03-03,open\n".encode("cp1252") + "knowsley,K-2,statutory,Siân,"
                    "2025-03-03,stage-1,2025-03-03,open\n".encode())  # fmt: skip
    r = drp("import", str(own))
    assert one_line_error(r) == (f"Error: {own}, row 3: UTF-8 text in a file whose other rows "
                                 "are Windows-1252; the file mixes encodings: save it again as "
                                 "CSV UTF-8\n")  # fmt: skip
    assert not Path(os.environ["DRP_DB"]).exists()


def test_a_utf8_file_with_a_windows_row_after_its_start_names_the_row(drp, tmp_path):
    own = tmp_path / "own.csv"
    rows = "".join(f"knowsley,K-{n},statutory,Siân,2025-03-03,stage-1,2025-03-03,open\n"
                   for n in range(5000))  # fmt: skip
    own.write_bytes(OWN_HEADER.encode() + rows.encode() + "knowsley,K-x,statutory,Zoë,"
                    "2025-03-03,stage-1,2025-03-03,open\n".encode("cp1252"))  # fmt: skip
    r = drp("import", str(own))
    assert one_line_error(r) == (
        f"Error: {own}, row 5002: not UTF-8 text as the rows before "
        "it are; the file mixes encodings: save it again as CSV UTF-8\n"
    )


# -- issue 30: a Windows-1252 CSV in drp's own columns ---------------------------------------
def test_a_windows_csv_in_drps_own_columns_is_read_as_such(drp, tmp_path):
    own = tmp_path / "own.csv"
    own.write_bytes((OWN_HEADER + "knowsley,K-1,statutory,No PEP for Zoë,2025-03-03,stage-1,"
                     "2025-03-03,open\n").encode("cp1252"))  # fmt: skip
    r = drp("import", str(own))
    assert (r.exit_code, r.stdout) == (0, "Imported 1 of 1 rows.\n")
    assert drp("show", "1", "--json").json()["summary"] == "No PEP for Zoë"


# -- item 25: an unclosed quote, an encoding drp does not read -------------------------------
def test_an_unclosed_quote_is_said_as_such(drp, tmp_path):
    own = tmp_path / "own.csv"
    own.write_text(
        OWN_HEADER + 'knowsley,K-1,statutory,"No PEP,2025-03-03,stage-1,'
        "2025-03-03,open\nknowsley,K-2,statutory,x,2025-03-03,stage-1,2025-03-03,open\n"
    )
    r = drp("import", str(own))
    assert one_line_error(r) == (f'Error: {own}, row 2: a quoted cell is never closed (a " opens '
                                 'a cell on that row and no " closes it before the end of the '
                                 "file)\n")  # fmt: skip
    sheet = tmp_path / "sheet.csv"
    lines = CSV.read_bytes().split(b"\r\n")
    assert b",Stage 1," in lines[3]
    lines[3] = lines[3].replace(b",Stage 1,", b',"Stage 1,')
    sheet.write_bytes(b"\r\n".join(lines))
    r = drp("import", str(sheet), "--map", str(MAP))
    assert "row 4: a quoted cell is not closed where it ends" in one_line_error(r)


@pytest.mark.parametrize(("encoding", "said"), [
    ("utf-32", "UTF-32"), ("utf-16-le", "UTF-16 or UTF-32 (it has NUL bytes)"),
    ("utf-32-be", "UTF-16 or UTF-32 (it has NUL bytes)"),
])  # fmt: skip
def test_an_encoding_drp_does_not_read_is_named(drp, tmp_path, encoding, said):
    path = tmp_path / "log.csv"
    path.write_bytes(CSV.read_bytes().decode("cp1252").encode(encoding))
    r = drp("import", str(path), "--map", str(MAP))
    assert one_line_error(r) == (f"Error: {path} is {said} text, an encoding drp does not read; "
                                 "save it again as CSV UTF-8\n")  # fmt: skip
    own = tmp_path / "own.csv"
    own.write_bytes(OWN_HEADER.encode(encoding))
    assert "an encoding drp does not read" in one_line_error(drp("import", str(own)))


def test_utf16_with_its_mark_is_read(drp, tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(CSV.read_bytes().decode("cp1252").encode("utf-16"))
    r = drp("import", str(path), "--map", str(MAP), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["imported"] == 6


# -- item 12: dates outside 1990..2199 on every path ----------------------------------------
def _sheet_with(tmp_path: Path, column: str, value) -> Path:
    import openpyxl

    wb = openpyxl.load_workbook(XLSX)
    ws = wb["Challenge log"]
    header = [c.value for c in ws[2]]
    cell = ws.cell(row=3, column=header.index(column) + 1)
    cell.value = value
    if isinstance(value, int):
        cell.number_format = "dd/mm/yyyy"
    out = tmp_path / "dated.xlsx"
    wb.save(out)
    return out


@pytest.mark.parametrize(
    ("column", "field"),
    [("Date raised", "opened_on"), ("Date of current stage", "stage_started_on")],
)
@pytest.mark.parametrize("value", ["31/12/1989", "01/01/2200", 59, 60, 1])
def test_a_workbook_date_outside_the_days_drp_handles(drp, tmp_path, column, field, value):
    """A date typed as text, and Excel's serials 59 and 60 (1900-02-28 and Excel's 29
    February 1900, which never was) and 1: refused, never stored as 1900-02-28."""
    path = _sheet_with(tmp_path, column, value)
    r = drp("import", str(path), "--map", str(MAP))
    assert r.exit_code == 2, r.stderr
    assert f"row 3, column '{column}' ({field}): is outside the dates drp handles" in r.stderr or (
        f"row 3, column {field}: is outside the dates drp handles" in r.stderr
    ), r.stderr
    assert not Path(os.environ["DRP_DB"]).exists()


def test_a_mapped_csv_date_outside_the_days_drp_handles(drp, tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(CSV.read_bytes().replace(b"07/04/2025,Priya", b"31/12/1899,Priya"))
    r = drp("import", str(path), "--map", str(MAP))
    assert r.exit_code == 2
    assert (
        "row 3, column opened_on: is outside the dates drp handles (1990-01-01 to "
        "2199-12-31)" in r.stderr
    )


# -- item 23: paths echoed raw ---------------------------------------------------------------
def test_a_path_with_control_characters_is_shown_escaped(drp, tmp_path):
    bad = tmp_path / "a\x1b]0;owned\x07\u202eb"
    r = drp("import", str(bad))
    assert r.exit_code == 2
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr and "\u202e" not in r.stderr
    assert (
        r.stderr
        == f"Error: cannot read {tmp_path}/a\\x1b]0;owned\\x07\\u202eb: No such file or directory\n"
    )
    target = tmp_path / "out\x1b[2J\nx.csv"
    assert drp("open", "--protocol", "knowsley", "--child", "K-1", "--category", "statutory",
               "--summary", "x", "--on", "2025-03-03").exit_code == 0  # fmt: skip
    r = drp("export", "-o", str(target))
    assert (r.exit_code, r.stdout) == (
        0,
        f"Exported 1 concerns to {tmp_path}/out\\x1b[2J\\x0ax.csv.\n",
    )


# -- issue 30: --suggest-map always writes a map ---------------------------------------------
def test_suggest_map_writes_a_map_when_a_required_column_is_not_recognised(drp, tmp_path):
    sheet = tmp_path / "log.csv"
    sheet.write_bytes(CSV.read_bytes().replace(b"Date of current stage", b"Moved on"))
    r = drp("import", str(sheet), "--suggest-map", "--protocol", "west-sussex")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == (
        "2 words and 1 required field need a choice (marked CHOOSE): "
        "stage_started_on; edit the lines marked CHOOSE in the map\n"
    )
    line = next(x for x in r.stdout.splitlines() if x.startswith("stage_started_on"))
    assert line == (
        'stage_started_on = "CHOOSE"  # CHOOSE the column that holds it (required); '
        'candidates: "Moved on", "Child Initials", "Allocated SW"'
    )
    path = tmp_path / "log.map.toml"
    path.write_text(r.stdout)
    r = drp("import", str(sheet), "--map", str(path))
    assert one_line_error(r) == (f"Error: map {path}, columns.stage_started_on: still says "
                                 "CHOOSE; edit that line to say what the sheet holds (or delete "
                                 "it), then import again\n")  # fmt: skip
    path.write_text(r_text := path.read_text().replace('"CHOOSE"', '"Moved on"', 1)
                    .replace('"Stage Two" = ""', '"Stage Two" = "stage-2"')
                    .replace('"Ongoing" = ""', '"Ongoing" = "open"'))  # fmt: skip
    assert "CHOOSE:" in r_text  # the comments stay; only the values are read
    r = drp("import", str(sheet), "--map", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["imported"] == 6


# -- issue 30: the formal start inferred -----------------------------------------------------
def test_an_inferred_formal_start_is_warned_once_per_import(drp, tmp_path):
    r = drp("import", str(XLSX), "--map", str(MAP), "--dry-run")
    assert r.exit_code == 0
    assert r.stderr.count("Warning") == 1
    assert r.stderr.endswith(
        "Warning: 2 rows at a formal stage after the first give no formal start: drp dated "
        "the formal process from the current stage's start. Name the column that holds it in "
        'the map ([columns] formal_started_on), or say formal_started_on = "infer" under '
        "[defaults].\n"
    )
    said = tmp_path / "infer.map.toml"
    said.write_text(MAP.read_text().replace('protocol = "west-sussex"', 'protocol = "west-sussex"'
                                            '\nformal_started_on = "infer"'))  # fmt: skip
    r = drp("import", str(XLSX), "--map", str(said), "--json")
    assert (r.exit_code, "Warning" in r.stderr, r.json()["formal_inferred"]) == (0, False, 0)
    wrong = tmp_path / "wrong.map.toml"
    wrong.write_text(said.read_text().replace('"infer"', '"2025-01-01"'))
    r = drp("import", str(XLSX), "--map", str(wrong))
    assert one_line_error(r) == (
        f'Error: map {wrong}, defaults.formal_started_on: only "infer" (date the formal process '
        "from the current stage's start); a column that holds it goes under [columns]\n"
    )


def test_export_help_names_every_format(drp):
    r = drp("export", "--help")
    assert "Export every concern with its events (CSV, JSON or xlsx)" in " ".join(r.stdout.split())
