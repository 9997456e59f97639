"""`obsbot invite --poster`: deep links and printable posters whose QR code opens the bot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from sandbox import LoopbackServer
from tests.cli.test_roster_cli import EXAMPLES, database, obsbot

__all__ = ["database"]  # the fixture, shared with the roster tests


@pytest.fixture
def roster(database: str) -> str:
    assert obsbot("roster", "import", str(EXAMPLES / "roster_sample.csv")).exit_code == 0
    return database


def _decoded(path: Path) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(path))]


def test_posters_carry_a_qr_code_of_each_codes_deep_link(roster: str, tmp_path: Path) -> None:
    result = obsbot(
        "invite",
        "--station",
        "GZ-YX-01",
        "--count",
        "2",
        "--poster",
        str(tmp_path / "out"),
        "--bot-username",
        "@gd_observer_bot",
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        code, link = line.split("\t")
        assert link == f"https://t.me/gd_observer_bot?start={code}"
        poster = tmp_path / "out" / f"GZ-YX-01-{code}.png"
        assert _decoded(poster) == [link]
        with Image.open(poster) as image:
            assert image.size == (874, 1240)


def test_without_a_username_posters_are_refused_with_what_to_do(
    roster: str, tmp_path: Path
) -> None:
    result = obsbot("invite", "--station", "GZ-YX-01", "--poster", str(tmp_path / "out"))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "BOT_USERNAME" in result.stderr
    assert not (tmp_path / "out").exists()


async def test_the_username_is_asked_of_the_bot_api_when_a_token_is_set(
    roster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with LoopbackServer(enforce_limits=False) as server:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", server.token)
        monkeypatch.setenv("TELEGRAM_API_BASE", server.base_url)
        result = await asyncio.to_thread(obsbot, "invite", "--station", "GZ-YX-01")
    assert result.exit_code == 0, result.stderr
    code, link = result.stdout.strip().split("\t")
    assert link == f"https://t.me/{server.world.bot.username}?start={code}"
    assert server.token not in result.output
