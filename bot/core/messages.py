"""The message catalogue: every sentence a Telegram user reads, in Simplified Chinese.

Texts live in ``data/messages_zh.yaml``, keyed by dotted names; ``t("observer.welcome",
name=...)`` formats one. A missing key or placeholder is a programming error and raises, and a
test formats every entry, so a typo never reaches a user as a traceback.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE = Path(__file__).with_name("data") / "messages_zh.yaml"


@cache
def catalogue() -> dict[str, str]:
    """Return the flattened catalogue: dotted key -> template."""
    raw = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            flat[prefix] = str(node).rstrip("\n")

    walk("", raw)
    return flat


def t(key: str, **values: Any) -> str:
    """Return the catalogue text for ``key`` with ``values`` filled in."""
    return catalogue()[key].format(**values)


def mention(user_id: int, name: str, *, offset: int = 0) -> dict[str, Any]:
    """Return a Bot API ``text_mention`` entity naming ``name`` at ``offset`` (UTF-16 units).

    A ``force_reply`` with ``selective`` opens the reply box only for users mentioned in the
    text (or the author of the message replied to): this is how a prompt reaches its user.
    """
    return {
        "type": "text_mention",
        "offset": offset,
        "length": len(name.encode("utf-16-le")) // 2,
        "user": {"id": user_id, "is_bot": False, "first_name": name or str(user_id)},
    }
