"""What `obsbot` answers a person at the desk: one Chinese line with the next step, never a
traceback, never an empty database file left behind, the shipped rules found from any folder.

Through the real entry points: ``python -m bot`` in a subprocess (as an installed ``obsbot``
runs, from a folder without the project's files) and click's runner on ``bot.cli.main``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.infra.config import SHIPPED_RULES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def obsbot(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="obsbot")


def installed(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `obsbot` as a process from ``cwd``, with only ``env`` set beyond PATH and HOME."""
    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**base, "LOG_LEVEL": "WARNING", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(stderr: str) -> str:
    """Return the single line of an error answer (and check it is single and in Chinese)."""
    assert "Traceback" not in stderr
    said = [line for line in stderr.splitlines() if line.strip()]
    lines = [line for line in said if not line.startswith("使用规则文件：")]  # which rules
    assert len(lines) == 1, stderr
    assert lines[0].startswith("错误：")
    return lines[0]


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder: no routing_rules.yaml, no .env, no database."""
    folder = tmp_path / "desk"
    folder.mkdir()
    monkeypatch.chdir(folder)
    for name in ("ROUTING_RULES", "DATABASE_URL", "BOT_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    return folder


def test_the_shipped_rules_are_found_from_any_folder_and_named(elsewhere: Path) -> None:
    done = installed("rules", "check", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert f"使用规则文件：{SHIPPED_RULES}" in done.stderr
    assert "检查通过（20 个部门" in done.stdout
    tried = installed("rules", "test", "河涌發臭冇人理", "--region", "440104", cwd=elsewhere)
    assert tried.returncode == 0 and "承办部门    水务局" in tried.stdout


def test_a_missing_rules_file_is_one_line_saying_what_to_do(elsewhere: Path) -> None:
    given = installed("rules", "check", "nope.yaml", cwd=elsewhere)
    assert given.returncode == 1
    assert "找不到规则文件 nope.yaml。请检查路径" in one_line(given.stderr)
    named = installed(
        "export",
        "--from",
        "2026-11-16",
        "--to",
        "2026-11-22",
        cwd=elsewhere,
        ROUTING_RULES="gone.yaml",
    )
    assert named.returncode == 1
    assert "找不到 ROUTING_RULES 指定的规则文件 gone.yaml" in one_line(named.stderr)


def test_a_failed_command_leaves_no_empty_database_behind(elsewhere: Path) -> None:
    target = elsewhere / "data" / "bot.sqlite"
    url = f"sqlite:///{target}"
    for args in (
        ("roster", "import", str(EXAMPLES / "roster_sample.csv")),
        ("invite", "--station", "GZ-YX-01"),
        ("export", "--from", "2026-11-16", "--to", "2026-11-22"),
        ("db", "status"),
    ):
        done = installed(*args, cwd=elsewhere, DATABASE_URL=url)
        assert done.returncode == 1, args
        assert f"数据库文件 {target} 不存在。请先运行 `obsbot db upgrade`" in one_line(done.stderr)
        assert not target.exists() and not target.parent.exists(), args
    assert installed("db", "upgrade", cwd=elsewhere, DATABASE_URL=url).returncode == 0
    assert target.is_file()


def test_a_database_that_cannot_be_reached_is_named_not_traced(elsewhere: Path) -> None:
    down = installed(
        "db", "status", cwd=elsewhere, DATABASE_URL="postgresql+psycopg://127.0.0.1:9/none"
    )
    assert down.returncode == 1
    assert "连不上数据库" in one_line(down.stderr) and "DATABASE_URL" in down.stderr
    garbage = elsewhere / "not-a-database.sqlite"
    garbage.write_bytes(b"this is no SQLite file" * 100)
    broken = installed("db", "status", cwd=elsewhere, DATABASE_URL=f"sqlite:///{garbage}")
    assert broken.returncode == 1 and "连不上数据库" in one_line(broken.stderr)


def test_a_broken_rules_file_stops_a_command_in_one_line(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = elsewhere / "rules.yaml"
    rules.write_text("dispatch: [social_work\n", encoding="utf-8")
    monkeypatch.setenv("ROUTING_RULES", str(rules))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{elsewhere / 'x.sqlite'}")
    result = obsbot("digest", "--out", str(elsewhere / "out"))
    assert result.exit_code == 1
    assert f"规则文件 {rules} 有 1 处问题。请运行 `obsbot rules check {rules}`" in one_line(
        result.stderr
    )


def test_rules_check_reports_every_problem_at_once_with_suggestions(elsewhere: Path) -> None:
    broken = elsewhere / "broken.yaml"
    broken.write_text(
        "dispatch: social_wrk\n"  # 1
        "sla_classes:\n"
        "  normal: {sign_for: 1 workdays, resolve: 5 fortnights}\n"  # 3
        "departments:\n"
        "  - {id: social_work, name: 社会工作部, levels: [province]}\n"
        "  - {id: housing, name: 住建局, levels: [city], colour: blue}\n"  # 6
        "tags:\n"
        "  - {id: rivers, name: 河涌, keywords: [河涌]}\n"
        "rules:\n"
        "  - id: r1\n"
        "    department: housng\n"  # 11
        "    tags: [river]\n"  # 12
        "    keywrds: [楼道]\n",  # 13
        encoding="utf-8",
    )
    result = obsbot("rules", "check", str(broken))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"{broken}：共 6 处问题（全部列出如下）"
    assert lines[1:7] == [
        "  第 1 行（dispatch）：不认识的部门 'social_wrk'，是不是想写 social_work？",
        "  第 3 行（sla_classes.normal.resolve）：时限“5 fortnights”写法不对，"
        "应写成“48h”或“5 workdays”",
        "  第 6 行（departments[1].colour）：不认识的键“colour”",
        "  第 11 行（rules[0].department）：不认识的部门 'housng'，是不是想写 housing？",
        "  第 12 行（rules[0].tags[0]）：不认识的标签 'river'，是不是想写 rivers？",
        "  第 13 行（rules[0].keywrds）：不认识的键“keywrds”，是不是想写 keywords？",
    ]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_rules_test_warns_on_an_unknown_region_and_category(elsewhere: Path) -> None:
    result = obsbot("rules", "test", "河涌发臭", "--region", "999999", "--category", "watr")
    assert result.exit_code == 0, result.stderr
    assert "注意：999999 不是广东省的行政区划代码" in result.stderr
    assert "注意：不认识的类别“watr”" in result.stderr
    assert "承办地区    999999（未知地区" in result.stdout


def test_usage_mistakes_are_answered_in_chinese(elsewhere: Path) -> None:
    unknown = obsbot("rule", "check")
    assert unknown.exit_code == 2
    assert one_line(unknown.stderr) == (
        "错误：没有“rule”这个命令，是不是想写 rules？运行 `obsbot --help` 查看用法。"
    )
    option = obsbot("invite", "--statoin", "GZ-YX-01")
    assert option.exit_code == 2
    assert "没有选项 --statoin，是不是想写 --station？" in one_line(option.stderr)
    count = obsbot("invite", "--station", "GZ-YX-01", "--count", "many")
    assert "--count 的值不对：应为 1～1000 之间的整数" in one_line(count.stderr)
    missing = obsbot("roster", "import", "nowhere.csv")
    assert "FILE 的值不对" in one_line(missing.stderr)


def test_roster_problems_name_the_files_own_column(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{elsewhere / 'roster.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert obsbot("db", "upgrade").exit_code == 0
    roster = elsewhere / "名册.csv"
    roster.write_text(
        "站点编号,站点,地市,区县,镇街,区划代码,姓名,电话\n"
        "GZ-YX-01,越秀区北京街社会工作观察站,广州市,越秀区,北京街道,999999,陈志强,13800138001\n",
        encoding="utf-8",
    )
    result = obsbot("roster", "import", str(roster))
    assert result.exit_code == 1
    assert (
        "名册.csv：第 2 行（区划代码）：行政区划代码 999999 不是广东省的地市或区县代码"
        in result.stderr
    )
    assert "共 1 行中有 1 行有问题，什么都没有写入" in result.stderr


def test_a_database_path_that_cannot_be_made_is_one_line(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = elsewhere / "notes.txt"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{blocker / 'bot.sqlite'}")
    result = obsbot("db", "upgrade")
    assert result.exit_code == 1
    assert f"无法读写文件 {blocker}" in one_line(result.stderr)
    assert blocker.read_text(encoding="utf-8") == "a file where a folder should be"
