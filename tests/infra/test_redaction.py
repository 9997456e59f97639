"""Log records never carry the bot token or a phone number, whatever the logger's level."""

from __future__ import annotations

import logging

import pytest

from bot.infra.redaction import REDACTED, protect

TOKEN = "4242424242:AAredaction-test-token_0123456789"


def test_token_and_phones_are_redacted_from_messages_args_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    protect(TOKEN)
    logger = logging.getLogger("httpx.redaction-test")
    with caplog.at_level(logging.DEBUG, logger="httpx.redaction-test"):
        logger.debug("HTTP Request: POST http://127.0.0.1/bot%s/getMe", TOKEN)
        logger.info("params %r", ("+8613800138001", "138-0013-8001", "13800138001"))
        try:
            raise RuntimeError(f"cannot reach /bot{TOKEN}/sendMessage for 13800138001")
        except RuntimeError:
            logger.exception("call failed")
    rendered = [
        record.getMessage() + (record.exc_text or "") + repr(record.args)
        for record in caplog.records
    ]
    assert len(rendered) == 3
    assert REDACTED in rendered[0] and REDACTED in rendered[2]
    for text in rendered:
        assert TOKEN not in text and TOKEN.split(":")[1] not in text
        for phone in ("+8613800138001", "138-0013-8001", "13800138001"):
            assert phone not in text
    assert "138****8001" in rendered[1]
    assert "call failed" in caplog.text and "RuntimeError" in caplog.text
