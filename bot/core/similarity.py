"""Is this report probably the same issue as one already being handled?

When a street floods or a factory smokes, several observers of one station, or of neighbouring
stations, report it within hours and in different words — some in Mandarin, some in Cantonese.
This module compares a new report (a :class:`Probe`) with the open and recently closed reports
of its area (:class:`Candidate` rows, found by ``storage.similar``) and says which ones are
probably the same issue, with a score and a reason a person can check:
"同站点、2小时内、相似度 0.82：河涌、发臭".

How a pair is scored (pure, no database, ``now`` never read here):

1. **Place gate.** Only reports of the same county (the first six digits of the region code)
   are compared at all. Same station counts most, then the same town (nine digits), then the
   same county.
2. **Time gate.** Only reports filed within ``window_hours`` of each other; nearer is better.
3. **Text.** Both texts go through the router's :func:`bot.core.text.normalise` (Traditional ->
   Simplified, Cantonese -> Mandarin, so ``水浸`` and ``水淹`` meet), lose punctuation and filler
   characters, and are compared as sets of characters and of character bigrams (Dice
   coefficients, mixed by ``bigram_weight``).
4. **Department.** A pair routed to different departments is penalised (unless one of them
   waits at dispatch, where nothing was decided yet).

The score is the text similarity scaled by the context (place, time, department): a
near-identical text at the same station an hour later scores close to the text similarity
itself, the same text in a neighbouring town two days later somewhat less. A pair is "probably
the same" at ``threshold``, which the evaluation on the labelled pairs in
``corpus/same_issue_pairs.jsonl`` chose (see :mod:`bot.core.similarity_eval`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.core.text import normalise

# Characters that carry little of what a report is about: particles, pronouns, intensifiers
# and the words every report uses. Removed before comparing (after normalisation).
STOP_CHARS = frozenset(
    "的了在是有我你他她它们这那就都也还又很好太啊呀吧呢吗嘛哦喔啦咯噢哇个些一不没"
    "和与及或被把给让到从对向为着过得地去来说话讲要会能可以已经现再才只请帮忙"
    "大家人家里边下上面中里外其此该各每某乜嘢咩噉咁嗮晒"
)
# Words the router's normalisation leaves apart but that mean the same thing in a report
# (Cantonese, Hakka and Teochew words the router does not need, common typos). Applied after
# :func:`normalise`, longest first, for comparing texts only.
FOLD: dict[str, str] = {
    "浸": "淹",
    "死火": "熄火",
    "地盘": "工地",
    "瞓": "睡",
    "拉圾": "垃圾",
    "老细": "老板",
    "出粮": "发工资",
    "人工": "工资",
    "落大雨": "下大雨",
    "落大水": "下大雨",
    "落水": "下雨",
    "车辘": "车轮",
    "屋家": "家",
    "厝": "房子",
    "阿伯": "老人",
    "阿婆": "老人",
    "孤寡": "独居",
    "𠊎": "我",
    "毋": "不",
    "嚟": "来",
    "塌方": "崩",
    "滑坡": "崩",
    "塌": "崩",
    "臭味": "臭",
    "发臭": "臭",
}
_FOLD_RE = re.compile("|".join(sorted(map(re.escape, FOLD), key=len, reverse=True)))
_NON_CONTENT = re.compile(r"[^\u4e00-\u9fffa-z0-9]+")
_DROP_STOP = str.maketrans("", "", "".join(STOP_CHARS))

PLACE_KEYS = ("station", "town", "county")


@dataclass(frozen=True, slots=True)
class SimilarityConfig:
    """The knobs of the comparison; the defaults were tuned on the labelled pairs' dev part."""

    window_hours: float = 72.0  # reports filed further apart are not compared
    closed_days: float = 3.0  # closed reports stay candidates this long after closing
    threshold: float = 0.26  # a score at or above this means "probably the same issue"
    bigram_weight: float = 0.6  # text similarity = w * bigram Dice + (1 - w) * char Dice
    place_factor: tuple[float, float, float] = (1.0, 0.9, 0.8)  # station, town, county
    time_floor: float = 0.75  # the time factor at the edge of the window (1.0 at zero hours)
    other_department: float = 0.75  # factor when both reports were routed, to different depts
    limit: int = 3  # at most this many matches are returned, best first


DEFAULT = SimilarityConfig()


@dataclass(frozen=True, slots=True)
class Probe:
    """The report being previewed or submitted."""

    text: str
    station_code: str
    region_code: str
    department: str
    created_at: dt.datetime
    dispatch: str = "social_work"


@dataclass(frozen=True, slots=True)
class Candidate:
    """An open or recently closed report of the probe's area."""

    id: int
    number: str
    status: str
    text: str
    station_code: str
    region_code: str
    department: str
    created_at: dt.datetime
    observer_id: int | None = None
    duplicate_of: int | None = None
    key: str | None = None  # the stored similarity key; computed from ``text`` when absent


@dataclass(frozen=True, slots=True)
class Match:
    """A candidate that is probably the same issue, with the score and why."""

    candidate: Candidate
    score: float
    text_similarity: float
    place: str  # "station" | "town" | "county"
    hours: float
    same_department: bool
    shared: tuple[str, ...] = field(default=())
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A text reduced for comparison: its phrases, content characters and their bigrams."""

    phrases: str  # the similarity key: normalised, punctuation and spaces turned into "|"
    chars: frozenset[str]
    bigrams: frozenset[str]


def similarity_key(text: str) -> str:
    """Return the text normalised for comparing (stored with a report, so read, not redone).

    Personal numbers are masked first: the key is stored and logged like any column, and its
    separators would otherwise split a number into groups the masking no longer recognises.
    """
    folded = _FOLD_RE.sub(lambda m: FOLD[m.group(0)], normalise(mask_personal_numbers(text)))
    return _NON_CONTENT.sub("|", folded).strip("|")


@lru_cache(maxsize=8192)
def fingerprint_of_key(key: str) -> Fingerprint:
    """Return the fingerprint of a similarity key (filler characters dropped)."""
    segments = key.translate(_DROP_STOP).split("|")
    bigrams = frozenset(pair for seg in segments for pair in map(str.__add__, seg, seg[1:]))
    return Fingerprint(key, frozenset("".join(segments)), bigrams)


@lru_cache(maxsize=4096)
def fingerprint(text: str) -> Fingerprint:
    """Return the comparable form of ``text``."""
    return fingerprint_of_key(similarity_key(text))


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    """Return the Dice coefficient of two sets (0 when both are empty)."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def similarity_of(fa: Fingerprint, fb: Fingerprint, config: SimilarityConfig = DEFAULT) -> float:
    """Return how alike two fingerprints are, 0..1."""
    w = config.bigram_weight
    return w * _dice(fa.bigrams, fb.bigrams) + (1 - w) * _dice(fa.chars, fb.chars)


def text_similarity(a: str, b: str, config: SimilarityConfig = DEFAULT) -> float:
    """Return how alike two report texts are, 0..1, after normalisation."""
    return similarity_of(fingerprint(a), fingerprint(b), config)


def _candidate_fingerprint(candidate: Candidate) -> Fingerprint:
    """Return a candidate's fingerprint from its stored key (or its text, for older rows)."""
    if candidate.key:
        return fingerprint_of_key(candidate.key)
    return fingerprint(candidate.text)


def place_of(a_station: str, a_region: str, b_station: str, b_region: str) -> str | None:
    """Return how near two reports' places are, or None when they are not neighbours."""
    if a_station == b_station:
        return "station"
    if a_region[:6] != b_region[:6]:
        return None
    if len(a_region) >= 9 and a_region[:9] == b_region[:9]:
        return "town"
    return "county"


def shared_words(a: str, b: str, *, limit: int = 3) -> tuple[str, ...]:
    """Return the longest phrases (two characters or more) both texts share, in ``a``'s order."""
    return shared_phrases(fingerprint(a).phrases, fingerprint(b).phrases, limit=limit)


def shared_phrases(pa: str, pb: str, *, limit: int = 3) -> tuple[str, ...]:
    """Return the longest runs two similarity keys share, in ``pa``'s order."""
    found: list[tuple[int, str]] = []
    i = 0
    while i < len(pa) - 1:
        length = 0
        while i + length < len(pa) and pa[i + length] != "|" and pa[i : i + length + 1] in pb:
            length += 1
        word = pa[i : i + length].strip("".join(STOP_CHARS))
        if len(word) >= 2 and word not in found_words(found):
            found.append((i, word))
        i += max(length, 1)
    longest = sorted(found, key=lambda f: (-len(f[1]), f[0]))[:limit]
    return tuple(word for _, word in sorted(longest))


def found_words(found: list[tuple[int, str]]) -> set[str]:
    """Return the words already found (a phrase is named once)."""
    return {word for _, word in found}


def _hours_label(hours: float) -> str:
    """Return "2小时内" or, from two days on, "3天内"."""
    if hours < 48:
        return t("similar.within_hours", n=max(1, math.ceil(hours)))
    return t("similar.within_days", n=math.ceil(hours / 24))


def reason_of(match: Match) -> str:
    """Return the short Chinese explanation of a match, as handlers and observers read it."""
    parts = [t(f"similar.place.{match.place}"), _hours_label(match.hours)]
    if not match.same_department:
        parts.append(t("similar.other_department"))
    text = "、".join(parts) + t("similar.score", score=f"{match.score:.2f}")
    if match.shared:
        text += "：" + "、".join(match.shared)
    return text


def _context(
    probe: Probe, candidate: Candidate, config: SimilarityConfig
) -> tuple[str, float, float, bool] | None:
    """Return (place, hours, factor, same department) of a pair, or None outside the gates."""
    place = place_of(
        probe.station_code, probe.region_code, candidate.station_code, candidate.region_code
    )
    hours = abs((probe.created_at - candidate.created_at).total_seconds()) / 3600
    if place is None or hours > config.window_hours:
        return None
    undecided = probe.dispatch in (probe.department, candidate.department)
    same_department = probe.department == candidate.department or undecided
    factor = config.place_factor[PLACE_KEYS.index(place)]
    factor *= 1 - (1 - config.time_floor) * hours / config.window_hours
    if not same_department:
        factor *= config.other_department
    return place, hours, factor, same_department


def _match(
    candidate: Candidate, similarity: float, context: tuple[str, float, float, bool]
) -> Match:
    """Return the match of a candidate with its text similarity and context."""
    place, hours, factor, same_department = context
    return Match(
        candidate=candidate,
        score=round(similarity * factor, 4),
        text_similarity=round(similarity, 4),
        place=place,
        hours=hours,
        same_department=same_department,
    )


def score_pair(
    probe: Probe, candidate: Candidate, config: SimilarityConfig = DEFAULT
) -> Match | None:
    """Score one candidate against the probe; None when place or time rule it out."""
    context = _context(probe, candidate, config)
    if context is None:
        return None
    similarity = similarity_of(fingerprint(probe.text), _candidate_fingerprint(candidate), config)
    return _match(candidate, similarity, context)


def explain(match: Match, probe_text: str) -> Match:
    """Return ``match`` with its shared words and reason filled in."""
    theirs = _candidate_fingerprint(match.candidate).phrases
    filled = replace(match, shared=shared_phrases(fingerprint(probe_text).phrases, theirs))
    return replace(filled, reason=reason_of(filled))


def find_similar(
    probe: Probe, candidates: Iterable[Candidate], config: SimilarityConfig = DEFAULT
) -> list[Match]:
    """Return the candidates that are probably the same issue, best first, explained.

    The same scores as :func:`score_pair`, without its objects for the many candidates that
    fall short: a candidate whose context alone keeps it under the threshold is not compared.
    """
    mine = fingerprint(probe.text)
    above = []
    for candidate in candidates:
        context = _context(probe, candidate, config)
        if context is None or context[2] < config.threshold:
            continue
        similarity = similarity_of(mine, _candidate_fingerprint(candidate), config)
        if round(similarity * context[2], 4) >= config.threshold:
            above.append(_match(candidate, similarity, context))
    above.sort(key=lambda m: (-m.score, m.hours, m.candidate.id))
    return [explain(m, probe.text) for m in above[: config.limit]]
