"""Settings: defaults, the .env file, one-line errors, and a token that is never shown."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.errors import ConfigError
from bot.infra.config import PUBLIC_BOT_API, SHIPPED_RULES, load_settings

TOKEN = "123456789:AAEexampleexampleexample"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_BASE",
        "DATABASE_URL",
        "BOT_RUNTIME",
        "ROUTING_RULES",
        "ADMIN_USER_IDS",
        "LOG_LEVEL",
        "WEBHOOK_PORT",
        "PORT",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
        "HOLIDAYS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_follow_the_design() -> None:
    settings = load_settings()
    assert settings.telegram_api_base == PUBLIC_BOT_API
    assert settings.database_url.startswith("sqlite:///")
    assert settings.bot_runtime == "ptb"
    # no ./routing_rules.yaml here: the rules shipped with the package
    assert settings.routing_rules == SHIPPED_RULES and SHIPPED_RULES.is_file()


def test_values_come_from_a_dotenv_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nBOT_RUNTIME=aiogram\nADMIN_USER_IDS=11, 22\n"
        "TELEGRAM_API_BASE=http://127.0.0.1:8081/\n"
        "DATABASE_URL=postgresql://postgres@127.0.0.1/test\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.bot_runtime == "aiogram"
    assert settings.admin_user_ids == [11, 22]
    assert settings.telegram_api_base == "http://127.0.0.1:8081"
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1/test"
    assert settings.require_token() == TOKEN


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BOT_RUNTIME", "telethon", "设置 BOT_RUNTIME 的值不对（只能是 'ptb' or 'aiogram' 之一）"),
        ("DATABASE_URL", "mysql://x", "设置 DATABASE_URL 的值不对（应是 sqlite:///"),
        ("TELEGRAM_API_BASE", "api.telegram.org", "设置 TELEGRAM_API_BASE 的值不对（应以 http"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "设置 TELEGRAM_BOT_TOKEN 的值不对（应形如"),
        ("WEBHOOK_PORT", "70000", "设置 WEBHOOK_PORT 的值不对"),
    ],
)
def test_a_wrong_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_the_token_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    settings = load_settings()
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
    assert "AAEexample" not in settings.model_dump_json()


def test_missing_token_says_how_to_set_it() -> None:
    with pytest.raises(ConfigError, match="没有设置 TELEGRAM_BOT_TOKEN"):
        load_settings().require_token()


def test_cli_reports_a_bad_setting_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_RUNTIME", "nope")
    result = CliRunner().invoke(main, ["db", "status"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "错误：设置 BOT_RUNTIME 的值不对（只能是 'ptb' or 'aiogram' 之一）。"
        "请改正环境变量或 .env 文件。"
    ]


def test_db_upgrade_then_status(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    missing = runner.invoke(main, ["db", "status"])
    assert missing.exit_code == 1 and "obsbot db upgrade" in missing.stderr
    assert not (tmp_path / "observer-bot.sqlite").exists()  # asking created nothing
    first = runner.invoke(main, ["db", "upgrade"])
    assert first.exit_code == 0 and "已从 空库 升级到" in first.output
    again = runner.invoke(main, ["db", "upgrade"])
    assert again.exit_code == 0 and "已是最新版本" in again.output
    status = runner.invoke(main, ["db", "status"])
    assert status.exit_code == 0 and "已是最新" in status.output
    assert (tmp_path / "observer-bot.sqlite").exists()


def test_help_lists_commands_and_python_m_bot_works() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=True
    )
    assert "db" in result.stdout and "命令" in result.stdout


def test_webhook_mode_needs_a_url_and_a_valid_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="没有设置 WEBHOOK_URL"):
        load_settings().require_webhook()
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/telegram/webhook")
    monkeypatch.setenv("WEBHOOK_SECRET", "has spaces!")
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET 应为"):
        load_settings().require_webhook()
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret_token-1")
    assert load_settings().require_webhook() == (
        "https://bot.example.org/telegram/webhook",
        "s3cret_token-1",
    )


def test_the_platform_port_is_used_for_the_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "5000")
    assert load_settings().webhook_port == 5000
