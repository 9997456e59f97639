"""`obsbot console --login-link USER_ID`: a one-time link for an administrator, and nobody else."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.core.signing import SIGN_IN, unsign

SECRET = "k" * 40


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv(
        "ROUTING_RULES", str(Path(__file__).resolve().parents[2] / "routing_rules.yaml")
    )
    monkeypatch.setenv("ADMIN_USER_IDS", "9001")
    monkeypatch.setenv("CONSOLE_URL", "https://console.example.gov.cn")


def test_login_link_for_an_administrator(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_SECRET", SECRET)
    result = CliRunner().invoke(main, ["console", "--login-link", "9001"])
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    assert link.startswith("https://console.example.gov.cn/login?token=")
    claims = unsign(SECRET, SIGN_IN, link.partition("token=")[2], now=dt.datetime.now(dt.UTC))
    assert claims is not None and claims["u"] == 9001
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
    assert unsign(SECRET, SIGN_IN, link.partition("token=")[2], now=later) is None


def test_no_link_for_anyone_else_or_without_a_secret(
    env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CliRunner().invoke(main, ["console", "--login-link", "9001"])
    assert result.exit_code != 0 and "CONSOLE_SECRET" in result.output
    monkeypatch.setenv("CONSOLE_SECRET", SECRET)
    result = CliRunner().invoke(main, ["console", "--login-link", "1234"])
    assert result.exit_code != 0 and "ADMIN_USER_IDS" in result.output
