"""Search terms of a report's text: Chinese as overlapping character pairs (bigrams).

Chinese has no spaces between words, and the words people search for (河涌, 路灯, 低保) are
mostly two or three characters long. Every pair of neighbouring Chinese characters becomes a
term, so a search for any word of two characters or more finds every text containing it: the
search's terms must all be present, and the database then confirms the exact wording. Latin
letters and digits make one term per run. Each Chinese pair is written as ``c`` and the hex of
its two code points (河涌 -> ``c6cb36d8c``), so SQLite's FTS5 and PostgreSQL's ``simple``
configuration split the terms identically whatever the database's locale.

The terms are taken from the text with personal numbers masked: a search cannot find a report
by the phone or ID number it holds.
"""

from __future__ import annotations

import re

from bot.core.masking import mask_personal_numbers

_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")


def _terms(text: str) -> list[str]:
    """Return the terms of ``text`` in order, repeats included."""
    found: list[str] = []
    for run in _RUNS.findall(text.lower()):
        if run.isascii():
            found.append(f"w{run}")
        else:
            found.extend(f"c{ord(run[i]):x}{ord(run[i + 1]):x}" for i in range(len(run) - 1))
    return found


def search_terms(text: str) -> str:
    """Return the terms of a report's (masked) text, each once, separated by spaces."""
    return " ".join(dict.fromkeys(_terms(mask_personal_numbers(text))))


def query_terms(words: str) -> list[str]:
    """Return the terms a text must hold to contain ``words`` (none for a single character)."""
    return list(dict.fromkeys(_terms(words)))
