"""`obsbot deadline START WINDOW`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["deadline", *args])


def test_brief_example_prints_iso_8601_with_offset() -> None:
    result = run("2026-09-30T16:00+08:00", "5 workdays")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "2026-10-13T18:00:00+08:00\n"
    assert result.stderr == ""


def test_start_without_offset_is_shanghai_time() -> None:
    assert run("2026-09-30 16:00", "5 workdays").stdout == "2026-10-13T18:00:00+08:00\n"
    assert run("2026-09-30T16:00", "48h").stdout == "2026-10-02T16:00:00+08:00\n"


def test_start_in_another_offset_is_answered_in_shanghai() -> None:
    assert run("2026-09-30T08:00Z", "24 hours").stdout == "2026-10-01T16:00:00+08:00\n"


def test_close_of_business_option() -> None:
    result = run("2026-11-09T10:00+08:00", "1wd", "--close-of-business", "17:30")
    assert result.stdout == "2026-11-10T17:30:00+08:00\n"


def test_fallback_year_prints_a_note_on_stderr() -> None:
    result = run("2026-12-30T16:00+08:00", "5 workdays")
    assert result.exit_code == 0
    assert result.stdout == "2027-01-07T18:00:00+08:00\n"
    assert "使用了后备日历" in result.stderr
    assert "2027" in result.stderr


def test_holiday_file_replaces_the_fallback(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(
        "2027:\n  holidays: [{from: 2027-01-01, to: 2027-01-04}]\n"
        "2026:\n  holidays: [2026-11-09]\n",
        encoding="utf-8",
    )
    result = run("2026-12-30T16:00+08:00", "5 workdays", "--holidays", str(path))
    assert result.exit_code == 0
    assert result.stdout == "2027-01-08T18:00:00+08:00\n"
    assert "后备" not in result.stderr
    assert "2026 年的安排已忽略" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tomorrow", "5 workdays"), "开始时间“tomorrow”写法不对"),
        (("2026-09-30T16:00+08:00", "5 weeks"), "时限“5 weeks”写法不对"),
        (("2026-09-30T16:00+08:00", "0h"), "至少为 1"),
        (
            ("2026-09-30T16:00+08:00", "1wd", "--close-of-business", "6pm"),
            "--close-of-business “6pm”写法不对",
        ),
        (("2026-09-30T16:00+08:00", "1wd", "--tz", "Mars/Olympus"), "不认识的时区"),
        (("2026-09-30T16:00+08:00", "1wd", "--holidays", "/nonexistent/h.yaml"), "cannot read"),
        (("9999-12-31T16:00+08:00", "5 workdays"), "超出范围：只能是 2000–2999 年"),
        (("0001-01-01T00:00+08:00", "48h"), "超出范围：只能是 2000–2999 年"),
        (("2026-09-30T16:00+08:00", "99999999999 workdays"), "最多 366 个工作日"),
        (("2026-09-30T16:00+08:00", "999999999999h"), "最多 8784 小时"),
    ],
)
def test_bad_input_exits_2_with_a_message(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("错误：")
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_malformed_holiday_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text("2027:\n  holidays:\n    - 2027-02-30\n", encoding="utf-8")
    result = run("2026-12-30T16:00+08:00", "5 workdays", "--holidays", str(path))
    assert result.exit_code == 2
    assert f"{path}:3: 2027 holidays entry 1 '2027-02-30' is not a date" in result.stderr


def test_command_is_registered_with_obsbot() -> None:
    listing = CliRunner().invoke(main, ["--help"])
    assert "deadline" in listing.stdout
    completed = subprocess.run(
        [sys.executable, "-m", "bot", "deadline", "2026-02-13T10:00+08:00", "1 工作日"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "2026-02-14T18:00:00+08:00\n"
