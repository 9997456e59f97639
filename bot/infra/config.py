"""Settings from the environment and a ``.env`` file.

Every variable is documented in the README. A wrong value stops start-up with one line
naming the variable and what is allowed (``ConfigError``); the bot token is a secret that is
never printed or logged (``SecretStr`` shows it as stars).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.messages import t
from bot.errors import ConfigError

PUBLIC_BOT_API = "https://api.telegram.org"
LOCAL_RULES = Path("routing_rules.yaml")
# The rules shipped with the package (a link to the project's routing_rules.yaml, copied into
# an installed wheel as package data).
SHIPPED_RULES = Path(__file__).resolve().parents[1] / "core" / "data" / "routing_rules.yaml"


def default_rules_file() -> Path:
    """Return ./routing_rules.yaml when it exists, else the rules shipped with the package."""
    return LOCAL_RULES if LOCAL_RULES.is_file() else SHIPPED_RULES


class Settings(BaseSettings):
    """The application's configuration; see the README for each variable."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = PUBLIC_BOT_API
    # The bot's @username, for invite links (t.me/<username>?start=CODE); asked of the Bot API
    # (getMe) when unset and a token is.
    bot_username: str | None = None
    database_url: str = "sqlite:///observer-bot.sqlite"
    bot_runtime: Literal["ptb", "aiogram"] = "ptb"
    routing_rules: Path = Field(default_factory=default_rules_file)
    holidays_file: Path | None = None
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    digest_time: dt.time = dt.time(9, 0)  # Monday, local time: the weekly digest goes out
    digest_dir: Path = Path("digests")  # charts and workbooks sent to leaders are kept here
    sweep_interval: float = Field(default=60.0, gt=0, le=3600)
    # Messages per second this instance sends in all (Telegram allows about 30 per bot): with
    # several instances sharing one bot on PostgreSQL, give each its share, e.g. 14 for two.
    delivery_rate: float = Field(default=28.0, gt=0, le=30)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    # Platforms that route HTTP (Heroku-style) announce the port as PORT.
    webhook_port: int = Field(
        default=8080, ge=1, le=65535, validation_alias=AliasChoices("webhook_port", "port")
    )

    console_host: str = "127.0.0.1"
    console_port: int = Field(default=8090, ge=1, le=65535)
    # The address people open the console at (behind the reverse proxy): sign-in links start
    # with it. Unset: http://CONSOLE_HOST:CONSOLE_PORT.
    console_url: str | None = None
    # Signs sign-in links and session cookies; at least 32 characters. Unset: the console
    # refuses to start (and /web answers that the console is not set up).
    console_secret: SecretStr | None = None
    console_session_hours: float = Field(default=8.0, gt=0, le=24 * 7)

    @field_validator("telegram_api_base", "webhook_url", "console_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None if value == "" else value
        if not value.startswith(("http://", "https://")):
            raise ValueError(t("cli.setting_http"))
        return value.rstrip("/")

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        number, _, secret = value.get_secret_value().partition(":")
        if not (number.isdigit() and len(secret) >= 10):
            raise ValueError(t("cli.setting_token"))
        return value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError(t("cli.setting_database"))
        if value.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver we ship; spell it out so SQLAlchemy does not look
            # for psycopg2.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    def require_webhook(self) -> tuple[str, str]:
        """Return (WEBHOOK_URL, WEBHOOK_SECRET), or raise ConfigError saying what is missing."""
        if not self.webhook_url:
            raise ConfigError(t("cli.no_webhook_url"))
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if not (secret and all(c.isalnum() or c in "_-" for c in secret) and len(secret) <= 256):
            raise ConfigError(t("cli.bad_webhook_secret"))
        return self.webhook_url, secret

    def require_console_secret(self) -> str:
        """Return CONSOLE_SECRET, or raise ConfigError saying how to set it."""
        secret = self.console_secret.get_secret_value() if self.console_secret else ""
        if len(secret) < 32:
            raise ConfigError(t("cli.bad_console_secret"))
        return secret

    def console_base(self) -> str:
        """Return the address sign-in links start with."""
        return self.console_url or f"http://{self.console_host}:{self.console_port}"

    def require_token(self) -> str:
        """Return the bot token, or raise ConfigError saying how to set it."""
        if self.telegram_bot_token is None:
            raise ConfigError(t("cli.no_token"))
        return self.telegram_bot_token.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read settings; on a bad value raise ConfigError with one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "settings"
        expected = (error.get("ctx") or {}).get("expected")
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "literal_error" and expected:
            message = t("cli.setting_one_of", expected=expected)
        raise ConfigError(t("cli.bad_setting", name=field.upper(), detail=message)) from None
