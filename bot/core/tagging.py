"""Tagging: the words a report contains, its keywords with weights, and the tags they fire.

Two ways of finding words live here:

- :class:`Matcher`, a compiled dictionary scan used on the hot path of routing. It finds
  every occurrence of every dictionary word (the router's: rule keywords, negative and cue
  words, the learned model's vocabulary) in one pass over the normalised text, indexed by each
  word's first two characters. It is several times faster than a full segmentation
  and finds a keyword even where a segmenter would cut it differently (``河涌发臭`` holds both
  ``河涌`` and ``发臭``).
- :func:`segment`, jieba with the project user dictionary, for whole-text segmentation (used by
  the offline training script and by anything that wants word counts, e.g. digests). jieba
  initialises once per process, on first use, with its cache file in the temp directory.

Keyword weights are TF-IDF over the dictionary words found, with an IDF table fitted to
citizen messages about local government (``bot/core/data/idf.txt``).
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import marshal
import os
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from bot.core.text import normalise

log = logging.getLogger(__name__)

DATA_DIR = Path(str(resources.files("bot.core") / "data"))
USER_DICT = DATA_DIR / "user_dict.txt"
STOP_WORDS = DATA_DIR / "stop_words.txt"
IDF_FILE = DATA_DIR / "idf.txt"

_jieba_lock = threading.Lock()
_tokenizer: Any = None


def get_tokenizer() -> Any:
    """Return the process-wide jieba Tokenizer with the project user dictionary loaded."""
    global _tokenizer
    if _tokenizer is not None:
        return _tokenizer
    with _jieba_lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            digest = hashlib.sha1(str(Path(jieba.__file__).parent).encode()).hexdigest()[:10]
            tokenizer.cache_file = str(Path(tempfile.gettempdir()) / f"obsbot-jieba-{digest}.cache")
            tokenizer.initialize()
            for word, freq, tag in read_user_dict(USER_DICT):
                tokenizer.add_word(word, freq, tag)
            _tokenizer = tokenizer
            log.debug("jieba ready cache=%s", tokenizer.cache_file)
    return _tokenizer


def read_user_dict(path: Path) -> list[tuple[str, int | None, str | None]]:
    """Read a jieba-format user dictionary: ``word [freq] [tag]`` per line, ``#`` comments."""
    entries: list[tuple[str, int | None, str | None]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        word = normalise(parts[0])
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        entries.append((word, freq, tag))
    return entries


def segment(text: str, *, hmm: bool = True) -> list[str]:
    """Normalise ``text`` and cut it into words with jieba (spaces and punctuation dropped)."""
    norm = normalise(text)
    if not norm:
        return []
    return [w for w in get_tokenizer().lcut(norm, HMM=hmm) if any(c.isalnum() for c in w)]


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Return the project stop words (never reported as keywords)."""
    return frozenset(
        w.strip()
        for w in STOP_WORDS.read_text(encoding="utf-8").splitlines()
        if w.strip() and not w.startswith("#")
    )


def read_idf(path: Path = IDF_FILE) -> tuple[dict[str, float], float]:
    """Read a jieba-format IDF file (``word idf`` per line); return the table and its median."""
    table: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            table[parts[0]] = float(parts[1])
    values = sorted(table.values())
    median = values[len(values) // 2] if values else 10.0
    return table, median


@lru_cache(maxsize=4)
def default_idf() -> tuple[dict[str, float], float]:
    """Return the shipped IDF table and its median, read once per process."""
    return read_idf(IDF_FILE)


class Matcher:
    """Finds every occurrence of a fixed set of words in a (normalised) text in one pass."""

    __slots__ = ("_index", "_singles", "words")

    def __init__(self, words: Iterable[str]) -> None:
        self.words: frozenset[str] = frozenset(w for w in words if w)
        index: dict[str, list[str]] = {}
        for word in self.words:
            if len(word) >= 2:
                index.setdefault(word[:2], []).append(word)
        # first two characters -> (is itself a word, longer words starting with them)
        self._index: dict[str, tuple[bool, tuple[str, ...]]] = {
            key: (key in self.words, tuple(sorted((w for w in v if len(w) > 2), key=len)))
            for key, v in index.items()
        }
        self._singles: frozenset[str] = frozenset(w for w in self.words if len(w) == 1)

    def find(self, text: str) -> dict[str, int]:
        """Return each dictionary word found in ``text`` with its number of occurrences."""
        found: dict[str, int] = {}
        count = found.get
        get = self._index.get
        startswith = text.startswith
        for i in range(len(text) - 1):
            key = text[i : i + 2]
            entry = get(key)
            if entry is None:
                continue
            if entry[0]:
                found[key] = count(key, 0) + 1
            for word in entry[1]:
                if startswith(word, i):
                    found[word] = count(word, 0) + 1
        if self._singles:
            for char in self._singles.intersection(text):
                found[char] = text.count(char)
        return found


@dataclass(frozen=True, slots=True)
class Keyword:
    """A word of the report and its TF-IDF weight (the heaviest keyword weighs 1.0)."""

    word: str
    weight: float


def tfidf_keywords(
    counts: Mapping[str, int],
    idf: Mapping[str, float],
    *,
    default_idf: float,
    top: int = 8,
    extra: Iterable[str] = (),
) -> list[Keyword]:
    """Rank found words by count x IDF; only IDF words and ``extra`` words are candidates."""
    stops = stop_words()
    allowed = extra if isinstance(extra, frozenset | set) else frozenset(extra)
    scored: list[tuple[float, int, str]] = []
    for word, count in counts.items():
        weight = idf.get(word)
        if weight is None:
            if word not in allowed:
                continue
            weight = default_idf
        if word in stops or word.isdigit():
            continue
        scored.append((-count * weight, -len(word), word))
    # Drop words contained in a longer found word with at least the same count (河涌 in 河涌发臭).
    chosen: list[tuple[float, str]] = []
    for neg_score, _, word in heapq.nsmallest(top * 3, scored):
        score = -neg_score
        if any(word in longer and counts[longer] >= counts[word] for _, longer in chosen):
            continue
        chosen.append((score, word))
        if len(chosen) == top:
            break
    if not chosen:
        return []
    best = chosen[0][0]
    return [Keyword(word, round(score / best, 3)) for score, word in chosen]


# --------------------------------------------------------------------------- typos by sound

# Southern speakers type by sound and merge some sounds: zh/z, ch/c, sh/s, n/l, -ng/-n.
_MERGES = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FINAL_MERGES = (("ang", "an"), ("eng", "en"), ("ing", "in"), ("ong", "on"))
_SOUND_BASE = 0xF0000  # syllables are written as characters of a private-use plane
# Grammar characters are never the typo in a keyword (默的 is not 摩的, 是否 is not 市府).
_FUNCTION_CHARS = frozenset(
    "的地得了着过是在有和与就都也还又很么吗呢吧啊呀这那个们我你他她它不没于为之所以而及其被把从向对给由"
)


def _syllable(reading: str) -> str:
    """Return a toneless, accent-merged syllable (``zhāng`` -> ``zan``)."""
    decomposed = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
    plain = "".join(c for c in decomposed if c.isascii())
    for long, short in _MERGES:
        if plain.startswith(long):
            plain = short + plain[len(long) :]
    if plain.startswith("n"):
        plain = "l" + plain[1:]
    for long, short in _FINAL_MERGES:
        if plain.endswith(long):
            plain = plain[: -len(long)] + short
    return plain


@lru_cache(maxsize=1)
def sound_table() -> dict[int, str]:
    """Return a ``str.translate`` table: each Chinese character -> a character for its sound.

    Built from pypinyin's character readings (a 0.3 s import) once per pypinyin version and
    kept in a cache file in the temp directory, as jieba keeps its own, so that a restarted
    bot reads it in milliseconds.
    """
    from importlib.metadata import version

    cache = Path(tempfile.gettempdir()) / f"obsbot-sounds-{version('pypinyin')}.marshal"
    try:
        table = marshal.loads(cache.read_bytes())
        if isinstance(table, dict) and table:
            return table
    except (OSError, ValueError, EOFError, TypeError):
        pass
    table = _build_sound_table()
    try:
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(marshal.dumps(table))
        partial.replace(cache)
    except OSError:
        log.debug("cannot write the sound cache %s", cache)
    return table


def _build_sound_table() -> dict[int, str]:
    """Return the sound table computed from pypinyin's readings."""
    from pypinyin.pinyin_dict import pinyin_dict

    ids: dict[str, str] = {}
    table: dict[int, str] = {}
    for code, readings in pinyin_dict.items():
        syllable = _syllable(readings.split(",", 1)[0])
        table[code] = ids.setdefault(syllable, chr(_SOUND_BASE + len(ids)))
    return table


def sounds_like(text: str) -> str:
    """Return ``text`` with each Chinese character replaced by its sound (others unchanged)."""
    return text.translate(sound_table())


class TypoMatcher:
    """Finds keywords written with a homophone in place of one character (拉圾, 底保).

    Every keyword of two to six Chinese characters is indexed by its sound; the text is turned
    into sounds with one ``str.translate`` and scanned with a :class:`Matcher`. A stretch that
    sounds like a keyword counts as that keyword when it differs from it in one character (two
    for keywords of six), shares the rest, holds no grammar character, is not itself a known
    word (``公式`` is not a typo of ``公示``), is not part of a longer word found in the text
    (火花 in 火花四溅 is not 火化) and does not join the ends of two known words (``从事公务``
    holds 事公, which sounds like 施工): the known words are those the router scans for and the
    IDF table's.
    """

    __slots__ = ("_by_sound", "_known", "_matcher", "_table")

    def __init__(self, words: Iterable[str], *, exact: Iterable[str] = ()) -> None:
        self._table = sound_table()
        by_sound: dict[str, list[str]] = {}
        for word in words:
            if 2 <= len(word) <= 6 and all(ord(c) in self._table for c in word):
                by_sound.setdefault(word.translate(self._table), []).append(word)
        self._by_sound = by_sound
        self._matcher = Matcher(by_sound)
        self._known = frozenset(exact) | default_idf()[0].keys()

    def find(self, text: str, hits: Mapping[str, int]) -> list[str]:
        """Return the keywords that ``text`` holds only as a homophone typo (not in ``hits``)."""
        sound = text.translate(self._table)
        out: list[str] = []
        for key in self._matcher.find(sound):
            for word in self._by_sound[key]:
                if word not in hits and self._typo_at(text, sound, key, word, hits):
                    out.append(word)
        return out

    def _typo_at(self, text: str, sound: str, key: str, word: str, hits: Mapping[str, int]) -> bool:
        """Return True when some stretch of ``text`` sounding like ``word`` is a typo of it."""
        at = sound.find(key)
        while at >= 0:
            window = text[at : at + len(word)]
            differ = sum(1 for a, b in zip(window, word, strict=True) if a != b)
            if (
                0 < differ <= max(1, len(word) // 3)
                and window not in self._known
                and _FUNCTION_CHARS.isdisjoint(window)
                and not self._straddles(text, at, at + len(word))
                and not any(window in found for found in hits if len(found) > len(window))
            ):
                return True
            at = sound.find(key, at + 1)
        return False

    def _straddles(self, text: str, start: int, end: int) -> bool:
        """Return True when ``text[start:end]`` joins the ends of real words (从事|公务 in 事公)."""
        known = self._known
        return text[max(0, start - 1) : start + 1] in known or text[end - 1 : end + 1] in known
