"""`obsbot digest` and `obsbot export` against a migrated SQLite database."""

from __future__ import annotations

import csv
import io
import json
import struct
import warnings
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
    workbook = load_workbook(paths[2])
    assert workbook.sheetnames[:5] == [
        "汇总",
        "汇总-承办部门",
        "汇总-地区",
        "汇总-站点",
        "本周反映",
    ]
    assert {"超期清单", "站点", "社情民意", "意见建议", "生态环境局"} <= set(workbook.sheetnames)
    reports = workbook["本周反映"]
    assert reports.freeze_panes == "A2"
    header = [cell.value for cell in reports[1]]
    assert header[:3] == ["编号", "类型", "状态"]
    assert {"提交时间", "签收时限", "签收时间", "办结时间", "转办次数"} <= set(header)
    assert reports.max_row == 1 + 3  # two new reports and one carried over from before
    assert reports.column_dimensions["I"].width == 50


def test_a_county_is_broken_down_by_station(database: str, tmp_path: Path) -> None:
    result = obsbot("digest", "--week", "2026-W47", "--scope", "440104", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    text = Path(result.stdout.splitlines()[0]).read_text(encoding="utf-8")
    assert text.startswith("📊 越秀区") and "【分站点】" in text and "【分地区】" not in text


def test_digest_errors_are_one_line(database: str, tmp_path: Path) -> None:
    bad_week = obsbot("digest", "--week", "2026-47", "--out", str(tmp_path))
    assert bad_week.exit_code != 0
    assert bad_week.stderr.startswith("error: --week") and bad_week.stderr.count("\n") == 1
    bad_scope = obsbot("digest", "--scope", "999999", "--out", str(tmp_path))
    assert bad_scope.exit_code != 0 and "--scope 999999" in bad_scope.stderr


def test_export_formats(database: str, tmp_path: Path) -> None:
    span = ("--from", "2026-11-16", "--to", "2026-11-22")
    as_csv = obsbot("export", *span, "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 3 and rows[0]["created_at"].endswith("+08:00")
    lines = obsbot("export", *span, "--scope", "440300", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["station_code"] for line in lines] == ["SZ-FT"]
    target = tmp_path / "reports.xlsx"
    as_xlsx = obsbot(
        "export", *span, "--status", "resolved", "--format", "xlsx", "--out", str(target)
    )
    assert as_xlsx.exit_code == 0, as_xlsx.stderr
    sheet = load_workbook(target)["reports"]
    assert sheet.max_row == 2 and sheet["C2"].value == "resolved"


def test_export_refuses_bad_options(database: str) -> None:
    no_out = obsbot("export", "--from", "2026-11-16", "--to", "2026-11-22", "--format", "xlsx")
    assert no_out.exit_code != 0 and "--out" in no_out.stderr
    backwards = obsbot("export", "--from", "2026-11-22", "--to", "2026-11-16")
    assert backwards.exit_code != 0 and "before" in backwards.stderr
    unknown = obsbot("export", "--from", "2026-11-16", "--to", "2026-11-22", "--department", "x")
    assert unknown.exit_code != 0 and "unknown" in unknown.stderr
