"""The XLSX reader (python-calamine), checked against openpyxl and an Excel-style workbook."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook as OpenpyxlWorkbook
from openpyxl import load_workbook

from bot.core import xlsx
from bot.core.roster import parse_roster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def openpyxl_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Rows as openpyxl sees them (values only, trailing blanks trimmed, blank rows dropped)."""
    book = load_workbook(path, read_only=True, data_only=True)
    rows = []
    for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
        cells = ["" if v is None else str(int(v) if isinstance(v, float) else v) for v in values]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.append((number, cells))
    book.close()
    return rows


def our_rows(path: Path) -> list[tuple[int, list[str]]]:
    with xlsx.Workbook(path) as book:
        return [(n, c) for n, c in book.rows(book.sheets[0], fill_merged=False) if c]


def test_same_values_as_openpyxl_on_the_sample() -> None:
    path = EXAMPLES / "roster_sample.xlsx"
    assert our_rows(path) == openpyxl_rows(path)


def test_numbers_booleans_and_sparse_cells_match_openpyxl(tmp_path: Path) -> None:
    book = OpenpyxlWorkbook()
    sheet = book.active
    sheet["A1"], sheet["C1"], sheet["E1"] = "手机号", 13800138001, True
    sheet["B3"], sheet["D3"] = 440104, "  越秀区  "
    sheet["AA5"] = "far column"
    path = tmp_path / "cells.xlsx"
    book.save(path)
    rows = our_rows(path)
    assert rows[0] == (1, ["手机号", "", "13800138001", "", "TRUE"])
    assert rows[1] == (3, ["", "440104", "", "越秀区"])
    assert rows[2][0] == 5 and len(rows[2][1]) == 27 and rows[2][1][26] == "far column"


def excel_style(path: Path, *, namespace: str = MAIN) -> Path:
    """Write a workbook as Excel does: shared strings (with a phonetic run), merges, no dims."""
    strings = [
        "站点编码",
        "站点名称",
        "行政区划代码",
        "观察员姓名",
        "手机号",
        "GZ-YX-01",
        "越秀区北京街社会工作观察站",
        "陈志强",
        "李丽娟",
    ]
    items = "".join(f"<si><t>{s}</t></si>" for s in strings[:-1])
    items += "<si><r><t>李</t></r><r><t>丽娟</t></r><rPh sb='0' eb='1'><t>り</t></rPh></si>"
    shared = f'<sst xmlns="{namespace}" count="9" uniqueCount="9">{items}</sst>'

    def s(ref: str, index: int) -> str:
        return f'<c r="{ref}" t="s"><v>{index}</v></c>'

    sheet = (
        f'<worksheet xmlns="{namespace}"><sheetData>'
        f'<row r="1">{s("A1", 0)}{s("B1", 1)}{s("C1", 2)}{s("D1", 3)}{s("E1", 4)}</row>'
        f'<row r="2">{s("A2", 5)}{s("B2", 6)}<c r="C2"><v>440104</v></c>{s("D2", 7)}'
        f'<c r="E2"><v>13800138001</v></c></row>'
        f'<row r="3">{s("D3", 8)}<c r="E3"><v>1.3800138002E10</v></c></row>'
        f'<row r="5"><c r="A5" t="str"><f>A2</f><v>GZ-YX-01</v></c></row>'
        "</sheetData>"
        '<mergeCells count="3"><mergeCell ref="A2:A3"/><mergeCell ref="B2:B3"/>'
        '<mergeCell ref="C2:C3"/></mergeCells></worksheet>'
    )
    workbook = (
        f'<workbook xmlns="{namespace}" xmlns:r="{REL}"><sheets>'
        '<sheet name="名册" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    rels = (
        f'<Relationships xmlns="{PKG}">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    package_rels = (
        f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
        f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("_rels/.rels", package_rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", rels)
        archive.writestr("xl/sharedStrings.xml", shared)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


@pytest.mark.parametrize("namespace", [MAIN, STRICT])
def test_excel_style_workbook_with_shared_strings_and_merges(
    tmp_path: Path, namespace: str
) -> None:
    path = excel_style(tmp_path / "excel.xlsx", namespace=namespace)
    with xlsx.Workbook(path) as book:
        assert [sheet.name for sheet in book.sheets] == ["名册"]
        rows = list(book.rows(book.sheets[0]))
    assert rows[1] == (
        2,
        ["GZ-YX-01", "越秀区北京街社会工作观察站", "440104", "陈志强", "13800138001"],
    )
    # Row 3 takes the station cells from the merged ranges above it; the phone was a float.
    assert rows[2] == (
        3,
        ["GZ-YX-01", "越秀区北京街社会工作观察站", "440104", "李丽娟", "13800138002"],
    )
    assert rows[3] == (5, ["GZ-YX-01"])  # a cached formula result

    roster = parse_roster(path)
    assert [(o.name, o.phone, o.row) for o in roster.observers] == [
        ("陈志强", "+8613800138001", 2),
        ("李丽娟", "+8613800138002", 3),
    ]


def test_hidden_sheets_come_last(tmp_path: Path) -> None:
    book = OpenpyxlWorkbook()
    book.active.title = "旧名册"
    book.active.sheet_state = "hidden"
    book.active.append(["站点编码", "站点名称", "行政区划代码", "观察员姓名", "手机号"])
    book.active.append(["OLD-01", "旧站", "440104", "旧人", "13800138009"])
    current = book.create_sheet("名册")
    current.append(["站点编码", "站点名称", "行政区划代码", "观察员姓名", "手机号"])
    current.append(["GZ-YX-01", "越秀区北京街社会工作观察站", "440104", "陈志强", "13800138001"])
    book.active = 1
    path = tmp_path / "hidden.xlsx"
    book.save(path)
    with xlsx.Workbook(path) as opened:
        assert [sheet.name for sheet in opened.sheets] == ["名册", "旧名册"]
    assert [o.name for o in parse_roster(path).observers] == ["陈志强"]


def test_damaged_files_raise_xlsx_error(tmp_path: Path) -> None:
    not_zip = tmp_path / "a.xlsx"
    not_zip.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(xlsx.XlsxError):
        xlsx.Workbook(not_zip)
    empty_zip = tmp_path / "b.xlsx"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(xlsx.XlsxError):
        xlsx.Workbook(empty_zip)


def test_column_index() -> None:
    assert [xlsx.column_index(c) for c in ("A", "Z", "AA", "AZ", "BA", "XFD")] == [
        1,
        26,
        27,
        52,
        53,
        16384,
    ]
