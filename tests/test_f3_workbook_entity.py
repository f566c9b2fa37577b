"""A workbook whose XML declares or uses an entity (sweep item 6): any declaration after "<!"
(DOCTYPE, ENTITY, in any case, in UTF-8 or UTF-16) is refused before the workbook reader sees
the file, and the reader's own errors (an entity it does not know, a panic) are one line,
exit 2, naming the workbook: never exit 70, never the reader's words (they quote the cell)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
XLSX = DATA / "council-log.xlsx"
MAP = DATA / "council-log.map.toml"
SHEET = "xl/worksheets/sheet1.xml"
#: the sweep's declaration: three entities, each twice the one before
DECLARED = (b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "A"><!ENTITY b "&a;&a;">'
            b'<!ENTITY c "&b;&b;">]>\n')  # fmt: skip


def workbook(tmp_path: Path, head: bytes, cell: bytes = b"&c;", encoding: str = "") -> Path:
    """The council workbook with ``head`` before its sheet's XML and ``cell`` as the text of
    a header cell (``encoding``: the whole sheet re-encoded, with its mark)."""
    out = tmp_path / "f.xlsx"
    with zipfile.ZipFile(XLSX) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == SHEET:
                data = head + data.replace(b"<t>Child Initials</t>", b"<t>" + cell + b"</t>")
                if encoding:
                    data = data.decode().encode(encoding)
            dst.writestr(info.filename, data)
    return out


def one_line(r) -> str:
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
    return r.stderr


def declares(path: Path) -> str:
    return (f"Error: {path} declares an XML document type or entity, which a workbook never "
            "needs; drp does not read it (save it again from Excel)\n")  # fmt: skip


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        (DECLARED, ""),  # the sweep's file: declared and used
        (DECLARED.lower(), ""),  # "<!doctype": the reader takes it in any case
        (b'<!DocType x [<!Entity c "A">]>\n', ""),
        (b'<!ENTITY c "A">\n', ""),
        ("\ufeff".encode() + DECLARED.lower().replace(b'<?xml version="1.0"?>\n', b""), "utf-16"),
        (b'<!doctype x [<!entity c "A">]>\n', "utf-16-be"),
    ],
)
def test_a_declaration_is_refused_before_the_reader_sees_the_workbook(drp, tmp_path, head,
                                                                      encoding):  # fmt: skip
    path = workbook(tmp_path, head, encoding=encoding)
    for args in (("--dry-run",), ("--suggest-map",), ("--map", str(MAP), "--dry-run"), ()):
        assert one_line(drp("import", str(path), *args)) == declares(path), args
    assert not Path(os.environ["DRP_DB"]).exists()


def test_an_entity_used_but_never_declared_is_one_line_naming_the_workbook(drp, tmp_path):
    """No declaration to find: the reader's XmlError ("unrecognized entity `&c;`") is drp's
    one line, and neither the entity nor the reader's words are shown."""
    path = workbook(tmp_path, b"", cell=b"&secret;")
    said = (f"Error: the workbook {path} cannot be read: a part of it is not well-formed XML; "
            "save it again from Excel\n")  # fmt: skip
    for args in (("--dry-run",), ("--suggest-map",), ("--map", str(MAP), "--dry-run")):
        r = drp("import", str(path), *args)
        assert one_line(r) == said, args
        assert "secret" not in r.stderr and "unrecognized" not in r.stderr
    assert not Path(os.environ["DRP_DB"]).exists()


def test_comments_and_cdata_are_not_declarations(drp, tmp_path):
    path = workbook(tmp_path, b"<!-- saved by a tool -->\n", cell=b"<![CDATA[Child Initials]]>")
    r = drp("import", str(path), "--map", str(MAP), "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Would import ")


@pytest.mark.parametrize(
    ("seen", "final", "found"),
    [
        (b"<a/><!-- c -->", True, False),
        (b"<t><![CDATA[x]]></t>", True, False),
        (b"<a/><!doctype x>", True, True),
        (b"<a/><!ELEMENT x>", True, True),
        (b"<a/><!", False, False),  # too near the end to tell: left for the next look
        (b"<a/><!-", False, False),
        (b"<a/><![CDA", False, False),
        (b"<a/><!-", True, True),  # the part ends there: not a comment
        (b"<a/><!d", False, True),  # already not a comment nor CDATA
        ("<a/><!-- c --><!DOCTYPE".encode("utf-16-le"), True, True),
        ("<a/><!-- c -->".encode("utf-16-be"), True, False),
    ],
)
def test_what_follows_a_bang_decides(seen, final, found):
    from drp_cli.exchange.sheets import _declares

    assert _declares(seen, final=final) is found


def test_a_declaration_split_across_the_reads_is_found(drp, tmp_path, monkeypatch):
    """The scan reads a part a megabyte at a time: "<!" at the end of one read and
    "DOCTYPE" at the start of the next is still a declaration (here reads of 64 bytes)."""
    from drp_cli.exchange import sheets

    monkeypatch.setattr(sheets, "_CHUNK", 64)
    monkeypatch.setattr(sheets, "MAX_RATIO", 1 << 30)  # small reads: no bomb
    for pad in range(60, 70):  # "<!" at each place around the first read's end
        path = workbook(tmp_path, b" " * pad + b"<!DOCTYPE x>", cell=b"Child Initials")
        assert one_line(drp("import", str(path), "--suggest-map")) == declares(path), pad
    clean = workbook(tmp_path, b" " * 62 + b"<!-- c -->", cell=b"Child Initials")
    assert drp("import", str(clean), "--map", str(MAP), "--dry-run").exit_code == 0


def test_a_panic_in_the_reader_while_rows_are_read_is_one_line(tmp_path, monkeypatch):
    """pyo3 raises a Rust panic as PanicException, a BaseException: a row the reader
    panics on is drp's one line too, and an interrupt is still an interrupt."""
    from drp_cli.core.errors import InvalidInput
    from drp_cli.exchange import sheets

    class PanicException(BaseException):
        pass

    def broken(after: BaseException):
        def rows():
            yield ["Ref", "Child"]
            yield ["1", "K-1"]
            raise after

        class Sheet:
            start = (0, 0)

            def iter_rows(self):
                return rows()

        class Book:
            sheet_names = ("Log",)

            def get_sheet_by_name(self, name):
                return Sheet()

        return lambda path: Book()

    path = tmp_path / "log.xlsx"
    path.write_bytes(b"")
    monkeypatch.setattr(sheets, "_workbook", broken(PanicException("index out of bounds")))
    table = sheets.open_table(path)
    with pytest.raises(InvalidInput) as caught:
        list(table.rows())
    assert str(caught.value) == (f"the workbook {path} cannot be read: it is damaged or not a "
                                 "workbook; save it again from Excel")  # fmt: skip
    monkeypatch.setattr(sheets, "_workbook", broken(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        list(sheets.open_table(path).rows())
