"""`obsbot console --login-link USER_ID`: a one-time link for an administrator, and nobody else."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.core.messages import t
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


def test_the_demo_leaves_the_console_running_on_its_database(tmp_path: Path) -> None:
    """`obsbot demo --console`: the story, then the console on its database, a link printed."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSOLE_", "DATABASE_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--console", "--port", str(port)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        link, kept = "", ""
        kept_prefix = t("cli.demo_kept", path="").strip()
        serving = t("cli.console_on", host="", port="").split("http")[0]
        watchdog = threading.Timer(600, process.kill)  # a demo that never serves fails, not hangs
        watchdog.start()
        for line in process.stdout:  # waits for each line; ends if the demo exits
            found = re.search(r"(http://127\.0\.0\.1:\d+/login\?token=\S+)", line)
            link = found.group(1) if found else link
            kept = line.removeprefix(kept_prefix).strip() if kept_prefix in line else kept
            if line.startswith(serving):
                break
        watchdog.cancel()
        assert link, "no sign-in link printed"
        with httpx.Client() as client:
            for _ in range(100):  # uvicorn binds just after the line is printed
                try:
                    signed = client.get(link, follow_redirects=False)
                    break
                except httpx.ConnectError:
                    threading.Event().wait(0.1)
            assert signed.status_code == 303
            listing = client.get(f"http://127.0.0.1:{port}/reports")
            assert listing.status_code == 200 and "自来水发黄" in listing.text
    finally:
        process.terminate()
        process.wait(timeout=30)
        if kept.startswith(tempfile.gettempdir()):
            shutil.rmtree(kept, ignore_errors=True)
