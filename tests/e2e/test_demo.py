"""The offline demo plays its whole story and says what each participant saw."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main


@pytest.mark.parametrize("how", ["--runtime ptb", "BOT_RUNTIME=aiogram"])
def test_demo_runs_offline_and_writes_its_transcript(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args = ["demo", "--out", str(tmp_path / "out")]
    if how.startswith("BOT_RUNTIME="):
        monkeypatch.setenv("BOT_RUNTIME", how.partition("=")[2])  # honoured as `obsbot run` does
    else:
        args += how.split()
    monkeypatch.chdir(tmp_path)  # from any folder: the shipped rules and roster are found
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    runtime = how.rpartition("=")[2].rpartition(" ")[2]
    transcript = (tmp_path / "out" / "transcript.txt").read_text(encoding="utf-8")
    assert transcript.startswith(f"observer-bot demo — runtime: {runtime}\n")
    for heading in (
        "1. The administrator binds",
        "2. An observer registers",
        "2a. She says hello",
        "4. The water department signs",
        "5. It is resolved",
        "7a. A voice note on its own",
        "9. Nobody signs for",
        "10. The leaders' weekly digest",
        "11. An invitation poster",
    ):
        assert heading in transcript
    greeting = transcript.split("2a. She says hello")[1].split("\n===")[0]
    assert "◀" in greeting and "反映预览" not in greeting  # help, not a draft
    voice = transcript.split("7a. A voice note on its own")[1].split("\n===")[0]
    assert "反映预览" in voice and "已提交" in voice  # a voice note alone becomes a report
    assert "核验成功" in transcript and "✎ (edited) [水务群]" in transcript
    assert "problem/closed" in transcript and "sentiment/recorded" in transcript
    assert "签收提醒" in transcript and "已超时" in transcript and "黄牌" in transcript
    assert "广东省社会工作观察站周报" in transcript
    # the workbench: the department's to-do list, dispatch's queue with its reason, a 催办
    assert "▶ 水务·张工: /list" in transcript and "📋 本群待办" in transcript
    assert "▶ 社工部·陈姐: /queue" in transcript and "水务局退回：" in transcript
    assert "[住建群] 📣 社工部·陈姐催办：" in transcript
    assert "https://t.me/gd_observer_bot?start=" in transcript
    same = transcript[transcript.index("8b. Two observers") : transcript.index("9. Nobody")]
    assert "同一问题 ×2（2位观察员）" in same and "补充反映" in same
    assert "[观察员 罗淑仪] ✅ 您的反映" in same and "[观察员 黄芳] ✅ 您的反映" in same
    out = tmp_path / "out"
    assert len(list(out.glob("digest-440000-*.png"))) == 1
    assert len(list(out.glob("digest-440000-*.xlsx"))) == 1
    assert len(list(out.glob("invite-GZ-YX-01-*.png"))) == 1
    assert "Traceback" not in result.output
    assert "obsbot-demo-" not in result.output  # no path into the folder the demo deletes


def test_demo_without_out_names_no_file_it_deletes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--runtime", "ptb"])
    assert result.exit_code == 0, result.output
    assert "obsbot-demo-" not in result.output and "/tmp" not in result.output
    assert "give --out FOLDER to keep the digest's chart and workbook" in result.output
    assert "give --out FOLDER to write the printable poster" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written where it ran
