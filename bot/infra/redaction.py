"""Secrets never reach a log: the bot token and phone numbers are redacted from every record.

Libraries log what they handle once their loggers are at DEBUG (or INFO): httpx the request URL
(which holds the token, ``/bot{token}/method``), python-telegram-bot every ``getUpdates`` result
(a shared contact's phone number included), SQLAlchemy its statements' parameters and result
rows (the roster's phone numbers). Turning their loggers down is not enough — an operator may
turn them up — so the record factory itself redacts: every record, from any logger, is rendered
once and its text (and traceback) stored with the token replaced and personal numbers (mobiles,
landlines, resident IDs, bank cards, in any spelling, also as ``repr`` or JSON escape them)
masked by ``bot.core.masking``, before any handler sees it. Every CLI process installs the
factory when it configures logging; the transports install it again with the token.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from bot.core.masking import mask_personal_numbers

REDACTED = "[redacted]"

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced and personal numbers masked."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return mask_personal_numbers(text)


def protect(*secrets: str) -> None:
    """Redact ``secrets`` (e.g. the bot token) from every log record from now on."""
    global _installed
    with _lock:
        for secret in secrets:
            if secret and len(secret) >= 8:
                _secrets.add(secret)
                # The part after "id:" is the actual secret of a bot token.
                _, _, tail = secret.partition(":")
                if len(tail) >= 8:
                    _secrets.add(tail)
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def _scrub(record: logging.LogRecord) -> None:
    """Render the record's message (and traceback) once, redacted, in place."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string is logging's problem, not ours
        return
    record.msg = redact(message)
    record.args = ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
