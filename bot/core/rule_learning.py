"""Keyword proposals from labelled reports, for a person to review (`obsbot rules learn`).

Nothing here changes the rules. For each department that has a rule, it proposes

- **additions:** words (jieba words of 2-6 characters, not stop words, not yet a keyword or
  context word of any tag) that occur in at least ``min_count`` reports labelled for the
  department that the router sent elsewhere, and in few reports labelled for any other
  department (``min_precision`` of all labelled reports holding the word are the
  department's);
- **removals:** keywords of the department's tags that were found in at least ``min_count``
  reports the router sent to the department wrongly, more often than in reports it sent there
  rightly.

Each proposal carries its counts and up to ``examples`` report texts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.corpus import LabelledReport
from bot.core.routing import Router
from bot.core.rules import Rule
from bot.core.tagging import segment, stop_words

EXAMPLE_CHARS = 40


@dataclass(frozen=True)
class Proposal:
    """One proposed change to a department's keywords, with its evidence."""

    word: str
    missed: int  # addition: its reports routed elsewhere; removal: reports it sent here wrongly
    other: int  # addition: reports of other departments holding it; removal: sent here rightly
    examples: tuple[str, ...]


@dataclass
class DepartmentProposals:
    """The proposals for one department: its rule and tags, words to add and to remove."""

    department: str
    rule: str
    tags: tuple[str, ...]
    add: list[Proposal] = field(default_factory=list)
    remove: list[Proposal] = field(default_factory=list)


@dataclass(frozen=True)
class Learned:
    """Every department's proposals and what they were learned from."""

    reports: int
    misrouted: int
    departments: list[DepartmentProposals]


def _words(text: str, known: frozenset[str]) -> set[str]:
    """Return the candidate words of a report: new, 2-6 Chinese characters, not stop words."""
    stops = stop_words()
    return {
        w
        for w in segment(text)
        if 2 <= len(w) <= 6
        and all("\u4e00" <= c <= "\u9fff" for c in w)
        and w not in stops
        and w not in known
    }


def _example(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + "…"


def learn(
    reports: Sequence[LabelledReport],
    router: Router,
    *,
    min_count: int = 2,
    min_precision: float = 0.8,
    limit: int = 15,
    examples: int = 2,
) -> Learned:
    """Route every report and return, per department, the keyword changes worth a look."""
    rs = router.ruleset
    known = frozenset(w for tag in rs.tags.values() for w in (*tag.keywords, *tag.context_keywords))
    tag_words = {tag.id: frozenset(rs.tags[tag.id].keywords) for tag in rs.tags.values()}
    first_rule: dict[str, Rule] = {}
    for rule in rs.rules:
        first_rule.setdefault(rule.department, rule)
    holding: Counter[str] = Counter()  # word -> labelled reports holding it
    labelled: dict[str, Counter[str]] = defaultdict(Counter)  # dept -> word -> its reports
    missed: dict[str, Counter[str]] = defaultdict(Counter)
    missed_texts: dict[tuple[str, str], list[str]] = defaultdict(list)
    wrong: dict[str, Counter[str]] = defaultdict(Counter)
    wrong_texts: dict[tuple[str, str], list[str]] = defaultdict(list)
    right: dict[str, Counter[str]] = defaultdict(Counter)
    misrouted = 0
    for report in reports:
        decision = router.route(report.text)
        words = _words(report.text, known)
        holding.update(words)
        labelled[report.department].update(words)
        ok = decision.department in report.acceptable
        misrouted += not ok
        if not ok:
            missed[report.department].update(words)
            for w in words:
                missed_texts[(report.department, w)].append(report.text)
        routed_rule = first_rule.get(decision.department)
        if routed_rule is None or decision.dispatched:
            continue
        _, hits = router.scan(report.text)
        fired = {
            w
            for t in (*routed_rule.tags, *routed_rule.all_tags)
            for w in tag_words.get(t, ())
            if w in hits
        }
        (right if ok else wrong)[decision.department].update(fired)
        if not ok:
            for w in fired:
                wrong_texts[(decision.department, w)].append(report.text)
    result = []
    for dept, rule in first_rule.items():
        props = DepartmentProposals(
            dept, rule.id, tuple(dict.fromkeys([*rule.tags, *rule.all_tags]))
        )
        for w, n in missed[dept].most_common():
            if n >= min_count and labelled[dept][w] / holding[w] >= min_precision:
                texts = tuple(_example(t) for t in missed_texts[(dept, w)][:examples])
                props.add.append(Proposal(w, n, holding[w] - labelled[dept][w], texts))
        for w, n in wrong[dept].most_common():
            if n >= min_count and n > right[dept][w]:
                texts = tuple(_example(t) for t in wrong_texts[(dept, w)][:examples])
                props.remove.append(Proposal(w, n, right[dept][w], texts))
        props.add.sort(key=lambda p: (-p.missed, p.other, p.word))
        props.remove.sort(key=lambda p: (-p.missed, p.other, p.word))
        del props.add[limit:], props.remove[limit:]
        if props.add or props.remove:
            result.append(props)
    return Learned(len(reports), misrouted, result)
