"""`obsbot digest` and `obsbot export` against a migrated SQLite database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlmodel import Session

from bot.cli import main
from bot.infra.digest_render import CHART_SIZE_PX
from storage.db import make_engine, upgrade
from tests.services.test_digest import populate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite database with reports around 2026-W47."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'digest.sqlite'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ROUTING_RULES", str(ROOT / "routing_rules.yaml"))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    engine = make_engine(url)
    with Session(engine) as session:
        populate(session)
    engine.dispose()
    return url


def obsbot(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_digest_writes_text_chart_and_workbook(database: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font.*")  # never tofu boxes
        result = obsbot("digest", "--week", "2026-W47", "--scope", "440100", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert [p.suffix for p in paths] == [".txt", ".png", ".xlsx"]
    text = paths[0].read_text(encoding="utf-8")
    assert text.startswith("📊 广州市社会工作观察站周报")
    assert "2026-W47" in text and len(text) < 4096
    assert "新增 2 件" in text
    assert png_size(paths[1]) == CHART_SIZE_PX
    check_workbook(paths[2])


def check_workbook(path: Path) -> None:
    """The digest's workbook: five sheets, laid out, filtered, formatted and set up to print."""
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["汇总", "明细", "部门", "站点", "超期"]
    summary = workbook["汇总"]
    assert summary["A1"].value == "广州市社会工作观察站周报"
    assert "A1:E1" in {str(r) for r in summary.merged_cells.ranges}
    assert summary["A2"].value.startswith("周次：2026-W47（11月16日—11月22日）")
    figures = {row[0].value: row for row in summary.iter_rows(min_row=6, max_row=30)}
    assert [c.value for c in summary[6]] == ["项目", "本周", "上周", "变化", "说明"]
    assert figures["新增"][1].value == 2 and figures["新增"][2].value == 0
    assert figures["新增"][3].value == 2 and figures["新增"][3].number_format == "+0;-0;0"
    assert figures["按时签收率"][1].number_format == "0%"
    assert 0 <= figures["按时签收率"][1].value <= 1  # a fraction shown as a percentage
    assert "小时" not in str(figures["签收用时（一半在此之内）"][1].value) or "0.0" not in str(
        figures["签收用时（一半在此之内）"][1].value
    )
    trend = [row for row in summary.iter_rows(values_only=True) if str(row[0]).startswith("2026-W")]
    assert [row[0] for row in trend][-2:] == ["2026-W46", "2026-W47"] and len(trend) == 9
    assert trend[-1][2:5] == (2, 1, 2)  # new, resolved, overdue this week
    for sheet in workbook.worksheets:
        setup = sheet.page_setup
        assert setup.orientation == "landscape" and setup.paperSize == 9, sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and setup.fitToHeight == 0
        if sheet.title != "汇总":
            assert sheet.freeze_panes == "A2" and sheet.print_title_rows == "$1:$1"
            assert (
                sheet.auto_filter.ref
                == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
            )
    reports = workbook["明细"]
    header = [cell.value for cell in reports[1]]
    assert header[:3] == ["编号", "类型", "状态"]
    assert {"提交时间", "签收时限", "签收时间", "办结时间", "转办次数", "红牌督办"} <= set(header)
    assert reports.max_row == 1 + 3  # two new reports and one carried over from before
    created = reports.cell(2, header.index("提交时间") + 1)
    assert isinstance(created.value, dt.datetime) and created.value.second == 0
    assert created.number_format == "yyyy-mm-dd hh:mm"
    assert reports.column_dimensions["I"].width > 40
    departments = workbook["部门"]
    assert [c.value for c in departments[1]][:4] == ["承办部门", "按时率", "到期件数", "当前超期"]
    rates = [row[1] for row in departments.iter_rows(min_row=2)]
    assert all(cell.number_format == "0%" for cell in rates if cell.value is not None)
    overdue = workbook["超期"]
    assert overdue.max_row == 3 and overdue["E2"].number_format == "yyyy-mm-dd hh:mm"
    # A native Excel line chart of the trend, plotting the three columns of the trend table.
    with zipfile.ZipFile(path) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        chart = archive.read(charts[0]).decode()
    assert "<c:lineChart>" in chart and chart.count("<c:ser>") == 3
    assert "汇总!$C$" in chart and "汇总!$D$" in chart and "汇总!$E$" in chart


def test_a_county_is_broken_down_by_station(database: str, tmp_path: Path) -> None:
    result = obsbot("digest", "--week", "2026-W47", "--scope", "440104", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    text = Path(result.stdout.splitlines()[0]).read_text(encoding="utf-8")
    assert text.startswith("📊 越秀区") and "【分站点】" in text and "【分地区】" not in text


def test_digest_errors_are_one_line(database: str, tmp_path: Path) -> None:
    bad_week = obsbot("digest", "--week", "2026-47", "--out", str(tmp_path))
    assert bad_week.exit_code != 0
    assert bad_week.stderr.startswith("错误：--week") and bad_week.stderr.count("\n") == 1
    bad_scope = obsbot("digest", "--scope", "999999", "--out", str(tmp_path))
    assert bad_scope.exit_code != 0 and "--scope 999999" in bad_scope.stderr


@pytest.mark.parametrize(
    ("week", "says"),
    [
        ("9999-W52", "超出范围"),
        ("0001-W01", "超出范围"),
        ("1999-W52", "超出范围"),
        ("2026-W99", "不是有效的周次"),
        ("2026-W４７", "不是有效的周次"),
        ("2998-W10", "还没开始"),
    ],
)
def test_digest_refuses_weeks_out_of_range_in_one_line(
    database: str, tmp_path: Path, week: str, says: str
) -> None:
    result = obsbot("digest", "--week", week, "--out", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("错误：") and "周" in result.stderr
    assert result.stderr.count("\n") == 1
    assert says in result.stderr and "Traceback" not in result.output


def test_export_formats(database: str, tmp_path: Path) -> None:
    span = ("--from", "2026-11-16", "--to", "2026-11-22")
    as_csv = obsbot("export", *span, "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 3 and rows[0]["提交时间"] == "2026-11-16 09:00"
    assert rows[0]["类型"] == "问题反映" and rows[0]["状态"] == "已办结（待评价）"
    assert rows[0]["承办部门"] == "生态环境局"  # a department name, not its id
    raw = list(csv.DictReader(io.StringIO(obsbot("export", *span, "--raw").stdout)))
    assert raw[0]["created_at"] == "2026-11-16T09:00:00+08:00" and raw[0]["kind"] == "problem"
    lines = obsbot("export", *span, "--scope", "440300", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["station_code"] for line in lines] == ["SZ-FT"]
    target = tmp_path / "reports.xlsx"
    as_xlsx = obsbot(
        "export", *span, "--status", "resolved", "--format", "xlsx", "--out", str(target)
    )
    assert as_xlsx.exit_code == 0, as_xlsx.stderr
    sheet = load_workbook(target)["反映"]
    assert [c.value for c in sheet[1]][:3] == ["编号", "类型", "状态"]
    assert [c.value for c in sheet[2]][:3] == ["number", "kind", "status"]  # the stable ids
    assert sheet.max_row == 3 and sheet["C3"].value == "已办结（待评价）"
    assert sheet.freeze_panes == "A3" and sheet.print_title_rows == "$1:$2"
    assert sheet.auto_filter.ref == "A2:R3"
    assert sheet["J3"].value == dt.datetime(2026, 11, 16, 9, 0)  # noqa: DTZ001 - wall time
    assert sheet["J3"].number_format == "yyyy-mm-dd hh:mm"
    raw_target = tmp_path / "raw.xlsx"
    assert (
        obsbot("export", *span, "--format", "xlsx", "--raw", "--out", str(raw_target)).exit_code
        == 0
    )
    raw_sheet = load_workbook(raw_target)["反映"]
    assert raw_sheet["A1"].value == "number" and raw_sheet["B2"].value == "problem"


def test_export_refuses_bad_options(database: str) -> None:
    no_out = obsbot("export", "--from", "2026-11-16", "--to", "2026-11-22", "--format", "xlsx")
    assert no_out.exit_code != 0 and "--out" in no_out.stderr
    backwards = obsbot("export", "--from", "2026-11-22", "--to", "2026-11-16")
    assert backwards.exit_code != 0 and "早于" in backwards.stderr
    unknown = obsbot("export", "--from", "2026-11-16", "--to", "2026-11-22", "--department", "x")
    assert unknown.exit_code != 0 and "没有这个部门" in unknown.stderr


@pytest.mark.parametrize(
    ("first", "last", "says"),
    [
        ("0001-01-01", "2026-11-22", "--from 0001-01-01 超出范围"),
        ("2026-11-16", "9999-12-31", "--to 9999-12-31 超出范围"),
        ("1900-01-01", "1900-01-02", "--from 1900-01-01 超出范围"),
        ("2026-02-30", "2026-11-22", "应写成 2026-11-16 这样的日期"),
    ],
)
def test_export_refuses_dates_out_of_range_in_one_line(
    database: str, first: str, last: str, says: str
) -> None:
    result = obsbot("export", "--from", first, "--to", last)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("错误：") and result.stderr.count("\n") == 1
    assert says in result.stderr and "Traceback" not in result.output
