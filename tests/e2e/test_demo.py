"""The offline demo plays its whole story and says what each participant saw."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main


def test_demo_runs_offline_and_writes_its_transcript(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    transcript = (tmp_path / "out" / "transcript.txt").read_text(encoding="utf-8")
    for heading in (
        "1. The administrator binds",
        "2. An observer registers",
        "4. The water department signs",
        "5. It is resolved",
        "9. Nobody signs for",
        "10. The leaders' weekly digest",
    ):
        assert heading in transcript
    assert "核验成功" in transcript and "✎ (edited) [水务群]" in transcript
    assert "problem/closed" in transcript and "sentiment/recorded" in transcript
    assert "签收提醒" in transcript and "已超时" in transcript and "黄牌" in transcript
    assert "广东省社会工作观察站周报" in transcript
    out = tmp_path / "out"
    assert len(list(out.glob("digest-440000-*.png"))) == 1
    assert len(list(out.glob("digest-440000-*.xlsx"))) == 1
    assert "Traceback" not in result.output
