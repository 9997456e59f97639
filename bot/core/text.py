"""Text normalisation before tagging and routing.

Observers in Guangdong write on phones, in Simplified or Traditional characters, with
full-width digits and letters, emoji, English words and Cantonese colloquialisms. Everything
that is matched against keywords (report text, and the keywords of the rules file themselves)
goes through :func:`normalise` first, so ``水浸街``, ``水浸街`` and ``水浸街`` all meet.

Steps, in order:

1. Unicode NFKC: full-width ``ＡＢＣ１２３！`` becomes ``ABC123!``; compatibility forms unfold.
2. Letters are lower-cased (``WiFi`` and ``wifi`` meet).
3. Traditional -> Simplified with ``zhconv`` (``zh-cn``), only when the text holds a character
   that zhconv would change: most reports are Simplified already and skip the converter.
4. Cantonese, Hakka and Teochew wording -> standard written Mandarin, from the lexicon
   ``data/dialect_lexicon.tsv`` (about 600 entries: ``冇人理`` -> ``没人管``, ``人工冇出`` ->
   ``拖欠工资``, ``𠊎`` -> ``我``, ``火烧厝`` -> ``房子着火``), longest expression first, in one
   pass. Characters that are also ordinary Mandarin (话, 伊, 无, 厝 ...) are mapped only inside
   a longer expression that fixes their meaning (``大家都话``, ``伊讲``, ``无人管``, ``老厝``).
5. Runs of whitespace collapse to one space.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import zhconv

LEXICON_FILE = Path(__file__).parent / "data" / "dialect_lexicon.tsv"
IDF_FILE = Path(__file__).parent / "data" / "idf.txt"


def read_lexicon(path: Path = LEXICON_FILE) -> dict[str, str]:
    """Read a dialect lexicon (``words<TAB>mandarin<TAB>dialect`` a line, ``#`` comments)."""
    table: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if len(parts) < 2 or not parts[0].strip():
            raise ValueError(f"{path.name} line {number}: expected words<TAB>mandarin")
        # Keys meet text that is already NFKC, lower-case and Simplified.
        key = to_simplified(unicodedata.normalize("NFKC", parts[0].strip()).lower())
        table[key] = parts[1].strip()
    return table


_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Return the single characters zhconv changes when converting to zh-cn."""
    table = zhconv.zhconv.getdict("zh-cn")
    return frozenset(k for k, v in table.items() if len(k) == 1 and k != v)


def to_simplified(text: str) -> str:
    """Convert Traditional characters to Simplified (a no-op for Simplified text)."""
    if text.isascii() or _traditional_chars().isdisjoint(text):
        return text
    return str(zhconv.convert(text, "zh-cn"))


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, str], dict[str, tuple[str, ...]], frozenset[str]]:
    """Return the shipped lexicon, its keys by their rarest character, and those characters.

    An entry can only occur where its rarest character does (冇 in 人工冇出, 话 in 大家都话),
    so a text is searched only for the entries whose rarest character it holds. Rarity is the
    number of words of the IDF table (``data/idf.txt``) a character appears in.
    """
    table = read_lexicon()
    common = _character_counts()
    by_rare: dict[str, list[str]] = {}
    for key in table:
        rare = min(key, key=lambda c: common.get(c, 0))
        by_rare.setdefault(rare, []).append(key)
    return table, {c: tuple(keys) for c, keys in by_rare.items()}, frozenset(by_rare)


def _character_counts() -> dict[str, int]:
    """Return, for each character, how many words of the shipped IDF table hold it."""
    counts: dict[str, int] = {}
    with IDF_FILE.open(encoding="utf-8") as fh:
        for line in fh:
            for char in set(line.split(" ", 1)[0]):
                counts[char] = counts.get(char, 0) + 1
    return counts


def map_cantonese(text: str) -> str:
    """Replace Cantonese, Hakka and Teochew wording with standard written Mandarin.

    At each position the longest entry wins and the text is read left to right once, as a
    regex alternation would; the entries are looked up by the rare characters the text holds
    (a set intersection and a few ``str.find`` calls, all in C), which is several times faster
    than an alternation of 600 words.
    """
    table, by_rare, rare = _lexicon()
    present = rare.intersection(text)
    if not present:
        return text
    found: list[tuple[int, int, str]] = []
    find = text.find
    for char in present:
        for key in by_rare[char]:
            at = find(key)
            while at >= 0:
                found.append((at, -len(key), key))
                at = find(key, at + 1)
    if not found:
        return text
    found.sort()
    out: list[str] = []
    end = 0
    for at, _, key in found:
        if at >= end:
            out += (text[end:at], table[key])
            end = at + len(key)
    out.append(text[end:])
    return "".join(out)


def normalise(text: str) -> str:
    """Return ``text`` normalised for matching: NFKC, lower-case ASCII, Simplified, Mandarin."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    text = to_simplified(text)
    text = map_cantonese(text)
    return _SPACES.sub(" ", text).strip()


def has_content(text: str) -> bool:
    """Return True if ``text`` holds at least one letter, digit or CJK character."""
    return any(c.isalnum() for c in text)
