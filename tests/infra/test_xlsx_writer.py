"""The streaming XLSX writer produces workbooks openpyxl reads back exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import load_workbook

from bot.infra.xlsx_writer import XlsxWriter, column_letter


def test_values_header_freeze_and_widths_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    moment = dt.datetime(2026, 11, 16, 9, 30)  # noqa: DTZ001 - a local wall time for Excel
    with XlsxWriter(path) as book:
        first = book.add_sheet(
            "汇总",
            ["编号", "数量", "时间", "内容"],
            [20, 8, 18, 50],
            [
                ["GD-1", 3, moment, "a < b & c > d\x07 换行\n第二行"],
                ["GD-2", 0.5, None, ""],
            ],
            wrap=[3],
        )
        second = book.add_sheet("汇总", ["x"], [10], [])
        third = book.add_sheet("a/b:c" + "长" * 40, ["y"], [10], [[True]])
    assert (first, second) == ("汇总", "汇总(2)")
    assert len(third) == 31 and "/" not in third
    workbook = load_workbook(path)
    assert workbook.sheetnames == [first, second, third]
    sheet = workbook[first]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == ["编号", "数量", "时间", "内容"]
    assert sheet[1][0].font.bold
    assert [c.value for c in sheet[2]] == ["GD-1", 3, moment, "a < b & c > d 换行\n第二行"]
    assert [c.value for c in sheet[3]] == ["GD-2", 0.5, None, None]
    assert sheet.column_dimensions["D"].width == 50
    assert sheet["C2"].number_format == "yyyy-mm-dd hh:mm"
    assert workbook[third]["A2"].value is True


def test_column_letters() -> None:
    assert [column_letter(i) for i in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]
