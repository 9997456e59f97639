"""`obsbot roster import` and `obsbot invite` against a migrated SQLite database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session

from bot.cli import main
from storage.db import make_engine, upgrade
from storage.roster import count_rows

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = "站点编码,站点名称,地市,区县,镇街,行政区划代码,观察员姓名,手机号\n"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite database named by DATABASE_URL, in an empty working directory."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'roster.sqlite'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return url


def obsbot(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def stored(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return count_rows(session=session)
    finally:
        engine.dispose()


def test_sample_imports_twice_with_the_same_counts(database: str) -> None:
    first = obsbot("roster", "import", str(EXAMPLES / "roster_sample.csv"))
    assert first.exit_code == 0, first.stderr
    assert "站点：新增 48，更新 0，未变 0" in first.stdout
    assert "观察员：新增 110，更新 0，未变 0" in first.stdout
    second = obsbot("roster", "import", str(EXAMPLES / "roster_sample.csv"))
    assert second.exit_code == 0, second.stderr
    assert "站点：新增 0，更新 0，未变 48" in second.stdout
    assert "观察员：新增 0，更新 0，未变 110" in second.stdout
    assert stored(database) == (48, 110)
    # The XLSX sample is the same roster: nothing changes.
    third = obsbot("roster", "import", str(EXAMPLES / "roster_sample.xlsx"))
    assert third.exit_code == 0, third.stderr
    assert "观察员：新增 0，更新 0，未变 110" in third.stdout
    assert stored(database) == (48, 110)


def test_broken_roster_names_every_bad_row_and_writes_nothing(database: str) -> None:
    result = obsbot("roster", "import", str(EXAMPLES / "roster_broken.csv"))
    assert result.exit_code == 1
    named = {int(n) for n in re.findall(r"roster_broken\.csv：第 (\d+) 行", result.stderr)}
    assert named == {3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15}
    assert "共 14 行中有 12 行有问题，什么都没有写入" in result.stderr
    assert "--skip-bad" in result.stderr
    assert result.stdout == ""
    assert stored(database) == (0, 0)


def test_skip_bad_imports_the_good_rows(database: str) -> None:
    result = obsbot("roster", "import", "--skip-bad", str(EXAMPLES / "roster_broken.csv"))
    assert result.exit_code == 0, result.stderr
    assert "读取 14 行，有问题 12 行（已跳过）" in result.stdout
    assert "站点：新增 2，" in result.stdout
    assert "观察员：新增 2，" in result.stdout
    # still listed, the column named as the file's own header names it
    assert "roster_broken.csv：第 3 行（行政区划代码）：" in result.stderr
    assert stored(database) == (2, 2)


def test_dry_run_writes_nothing(database: str) -> None:
    result = obsbot("roster", "import", "--dry-run", str(EXAMPLES / "roster_sample.xlsx"))
    assert result.exit_code == 0, result.stderr
    assert "观察员：新增 110，" in result.stdout
    assert "试运行：什么都没有写入" in result.stdout
    assert stored(database) == (0, 0)


def test_gbk_roster_with_traditional_and_full_width_values(database: str, tmp_path: Path) -> None:
    station = "GZ-TH-01,天河區石牌街社會工作觀察站,廣州市,天河區,石牌街道,440106"
    text = HEADER + station + ",陳志強,１３８-００１３-８８８８\n"
    path = tmp_path / "gbk.csv"
    path.write_bytes(text.encode("gbk"))
    result = obsbot("roster", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "观察员：新增 1，" in result.stdout
    assert stored(database) == (1, 1)


def test_large_file_shows_progress_on_stderr(database: str, tmp_path: Path) -> None:
    lines = [HEADER]
    for n in range(2500):
        lines.append(
            f"ST-{n // 5:04d},测试站{n // 5},广州市,越秀区,,440104,观察员{n},1380000{n:04d}\n"
        )
    path = tmp_path / "big.csv"
    path.write_text("".join(lines), encoding="utf-8")
    result = obsbot("roster", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "正在读取 big.csv" in result.stderr
    assert "观察员：新增 2500，" in result.stdout
    assert stored(database) == (500, 2500)


def test_unreadable_file_and_missing_schema_say_what_to_do(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "roster.xls"
    bad.write_bytes(b"\xd0\xcf\x11\xe0")
    result = obsbot("roster", "import", str(bad))
    assert result.exit_code == 1
    assert "请另存为 .xlsx 或 CSV" in result.stderr
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    result = obsbot("roster", "import", str(EXAMPLES / "roster_sample.csv"))
    assert result.exit_code == 1
    assert "obsbot db upgrade" in result.stderr


def test_invite_prints_one_code_per_line(database: str) -> None:
    assert obsbot("roster", "import", str(EXAMPLES / "roster_sample.csv")).exit_code == 0
    result = obsbot("invite", "--station", "gz-yx-01", "--count", "5", "--days", "3")
    assert result.exit_code == 0, result.stderr
    codes = result.stdout.splitlines()
    assert len(codes) == 5 and len(set(codes)) == 5
    assert all(re.fullmatch(r"[A-HJKMNP-Z2-9]{8}", code) for code in codes)
    assert "GZ-YX-01" in result.stderr and "有效期至" in result.stderr
    default = obsbot("invite", "--station", "GZ-YX-01")
    assert default.exit_code == 0 and len(default.stdout.splitlines()) == 1


def test_invite_for_unknown_station_fails(database: str) -> None:
    result = obsbot("invite", "--station", "NOPE")
    assert result.exit_code == 1
    assert "没有站点 NOPE：请先用 `obsbot roster import` 导入名册" in result.stderr
    assert result.stdout == ""
